/* Agents are roles, not threads: a measurement names what agent A and agent B
 * do and on which CPUs; this module decides how they run — threads of this
 * process, or child processes sharing memory through fork + MAP_SHARED, SysV
 * shm, POSIX shm or a memfd passed over a Unix socket — and where the memory
 * they share lives. "Threads against processes" is this one switch. */
#ifndef COHMAP_AGENTS_H
#define COHMAP_AGENTS_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

enum agent_kind {
	AGENTS_THREADS,
	AGENTS_FORK_SHARED,   /* fork + mmap(MAP_SHARED | MAP_ANONYMOUS) */
	AGENTS_SYSV,          /* shmget + shmat */
	AGENTS_POSIX,         /* shm_open + mmap */
	AGENTS_MEMFD,         /* memfd_create; the child maps the fd it receives */
	AGENT_KIND_COUNT
};
const char *agent_kind_name(enum agent_kind kind); /* "thread", "fork-shared", ... */
int agent_kind_from_name(const char *name);         /* -1 when unknown */

/* Memory both agents see, placed on a NUMA node by first touch under a
 * binding policy, and where it really landed (checked with move_pages). */
struct shared_region {
	void *base;
	size_t size;
	enum agent_kind kind;
	int requested_node; /* -1: no placement asked (no NUMA support) */
	int actual_node;    /* -1: could not be checked */
	int memfd;          /* AGENTS_MEMFD: the file the child maps; else -1 */
	/* Process kinds: do both agents reach the same physical page? 1 yes,
	 * 0 no (a bug), -1 not checked (pagemap_note says why). */
	int same_page;
	char pagemap_note[128];
};
/* Memory for agents of the given kind. SysV segments are marked for removal
 * and POSIX names unlinked before this returns, so nothing can leak. */
int shared_region_create_for(struct shared_region *r, size_t size, int node, enum agent_kind kind,
			     char *err);
/* The same, for threads. */
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

/* heartbeat and abort must live in the shared region for process kinds. */
struct supervision {
	atomic_ulong *heartbeat;
	atomic_int *abort;
	double stall_limit_s;
	struct shared_region *region; /* required for process kinds, else may be NULL */
};

enum agents_outcome {
	AGENTS_FINISHED,     /* both roles returned (look at their results) */
	AGENTS_STALLED,      /* no heartbeat within the limit: roles were told to stop */
	AGENTS_INTERRUPTED,  /* the user asked to stop */
	AGENTS_ABANDONED,    /* an agent never stopped (its CPU was taken away) */
	AGENTS_NOT_STARTED,  /* could not start or pin an agent: see err */
};

/* The part of judging an outcome that every engine shares: what to do with
 * the measurement, and its reason (err when an agent did not start or never
 * stopped, "interrupted" when the user asked to stop). */
enum agents_verdict {
	AGENTS_JUDGE,        /* finished or stalled: the engine checks its roles' results */
	AGENTS_FAILED,       /* not started */
	AGENTS_STOPPED,      /* interrupted */
	AGENTS_LEFT_RUNNING, /* abandoned: memory an agent may touch must stay mapped */
};
enum agents_verdict agents_verdict(enum agents_outcome outcome, const char *err, char *reason,
				   size_t size);

#define MAX_AGENTS 1024

/* Runs n roles at once (2 for a pair; more for false sharing), each pinned to
 * its CPU from its first instruction. results[i] is role i's return value when
 * the outcome is FINISHED or STALLED. With a process kind every role runs in a
 * child (its arg must point into sv->region); children die with the parent
 * (PR_SET_PDEATHSIG) and are always reaped; one that does not stop is killed. */
enum agents_outcome agents_run(enum agent_kind kind, const struct agent_spec *spec, int n,
			       const struct supervision *sv, int *results, char *err);

/* Set by the SIGINT/SIGTERM handler; everything that loops polls it. */
extern volatile sig_atomic_t cohmap_interrupted;
void install_interrupt_handlers(void);

#endif
