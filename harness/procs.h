/* Pinned child processes, for experiments whose agents must live in separate
 * address spaces (channels between processes) or in a fresh one (the cost of
 * attaching memory, which a long-lived process would blur with its own
 * allocator state).
 *
 * The hygiene every experiment relies on is here, in one place: a child
 * dies with its parent (PR_SET_PDEATHSIG, then a getppid() check for a parent
 * that died before the request took effect), is pinned before its body runs,
 * leaves SIGINT and SIGTERM to the parent (which decides whether a run was
 * interrupted), and is reaped on every path: procs_wait reaps them all, and
 * procs_kill is the one way out of a failure. */
#ifndef COHMAP_PROCS_H
#define COHMAP_PROCS_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/common.h"

#define PROCS_MAX 2

/* Exit codes of a child beyond its body's own (0 done, 1 failed with a
 * reason the body wrote into memory it shares with the parent). */
enum {
	PROC_EXIT_ORPHANED = 120,   /* the parent died before the child started */
	PROC_EXIT_NOT_PINNED = 121, /* the kernel would not keep it on its CPU */
};

/* The body runs in the child and returns its exit code. */
typedef int (*proc_body)(void *arg);

struct proc_spec {
	int cpu;                  /* -1: not pinned */
	proc_body body;
	void *arg;
};

struct procs {
	int n;
	pid_t pid[PROCS_MAX];
	int pidfd[PROCS_MAX];     /* -1 where pidfd_open is unavailable */
	int status[PROCS_MAX];    /* wait status, once reaped */
	int cpu[PROCS_MAX];
	int reaped[PROCS_MAX];
	/* Counters the children bump as they make progress (one each, on its
	 * own cache line, so bumping never moves a line between the agents);
	 * NULL: that child is not watched for stalls. */
	const _Atomic uint64_t *heartbeat[PROCS_MAX];
	int failed;               /* after PROCS_FAILED: the child that failed */
};

/* Forks n children. On failure kills and reaps those already started. */
int procs_start(struct procs *p, const struct proc_spec *spec, int n, char *err);

enum procs_outcome {
	PROCS_FINISHED,    /* every child exited with 0 */
	PROCS_FAILED,      /* one exited otherwise: err says which and how */
	PROCS_STALLED,     /* no heartbeat moved for stall_s: all were killed */
	PROCS_INTERRUPTED, /* SIGINT/SIGTERM reached cohmap: all were killed */
};

/* Waits for every child, sleeping in poll(2) between checks so that the
 * parent does not take CPU time from the agents it watches. When one fails,
 * the others are killed. Every child is reaped when this returns. */
enum procs_outcome procs_wait(struct procs *p, double stall_s, char *err);

/* SIGKILL and reap every child not yet reaped. Safe to call twice. */
void procs_kill(struct procs *p);

/* How many other tasks want a CPU right now: the median of a few readings,
 * 10 ms apart, of the running tasks in /proc/loadavg, less the reader; -1
 * when unknown. (The load average would remember the previous minute,
 * including cohmap's own agents.) Pinned agents that must wait for their
 * CPU measure the wait, so experiments record this. */
double procs_busy_tasks(void);

#endif
