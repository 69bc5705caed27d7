/* Agents are roles, not threads: a measurement names what agent A and agent B
 * do and on which CPUs; this module decides how they run (threads in this
 * process today; the process-based kinds plug in here) and where the memory
 * they share lives. */
#ifndef COHMAP_AGENTS_H
#define COHMAP_AGENTS_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

enum agent_kind {
	AGENTS_THREADS,
};
const char *agent_kind_name(enum agent_kind kind);

/* Memory both agents see, placed on a NUMA node by first touch under a
 * binding policy, and where it really landed (checked with move_pages). */
struct shared_region {
	void *base;
	size_t size;
	int requested_node; /* -1: no placement asked (no NUMA support) */
	int actual_node;    /* -1: could not be checked */
};
int shared_region_create(struct shared_region *r, size_t size, int node, char *err);
void shared_region_destroy(struct shared_region *r);

/* An agent's role; it returns 0 or a negative kernel_status. The supervisor
 * watches `heartbeat` (which roles bump as they progress) and raises `abort`
 * when it stalls for longer than the stall limit or when the user interrupts. */
typedef int (*agent_role)(void *arg);

struct agent_spec {
	int cpu;
	agent_role role;
	void *arg;
};

struct supervision {
	atomic_ulong *heartbeat;
	atomic_int *abort;
	double stall_limit_s;
};

enum agents_outcome {
	AGENTS_FINISHED,     /* both roles returned (look at their results) */
	AGENTS_STALLED,      /* no heartbeat within the limit: roles were told to stop */
	AGENTS_INTERRUPTED,  /* the user asked to stop */
	AGENTS_ABANDONED,    /* an agent never stopped (its CPU was taken away) */
	AGENTS_NOT_STARTED,  /* could not start or pin an agent: see err */
};

#define MAX_AGENTS 1024

/* Runs n roles at once (2 for a pair; more for false sharing), each pinned to
 * its CPU from its first instruction. results[i] is role i's return value when
 * the outcome is FINISHED or STALLED. */
enum agents_outcome agents_run(enum agent_kind kind, const struct agent_spec *spec, int n,
			       const struct supervision *sv, int *results, char *err);

/* Set by the SIGINT/SIGTERM handler; everything that loops polls it. */
extern volatile sig_atomic_t cohmap_interrupted;
void install_interrupt_handlers(void);

#endif
