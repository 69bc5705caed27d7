/* The --parallel engine without rounds: N lanes (threads), each measuring one
 * pair at a time; when a lane finishes, the dispatcher (pair_schedule.h)
 * gives it the next pending pair that shares no core with a running one, so
 * no lane waits for the slowest pair of a round. Every so often the lanes
 * drain (no new pair starts until the running ones end) and the caller
 * measures, alone, what must be measured alone: the interference controls
 * and the drift reference. What a lane measures and how a result is kept are
 * the caller's (callbacks), so tests/unit/test_schedule.c runs this engine
 * with a fake measurement. */
#ifndef COHMAP_LANES_H
#define COHMAP_LANES_H

#include <stdbool.h>

#include "experiments/latency/pair_schedule.h"

struct lanes_work {
	void *ctx;
	/* In lane `lane`'s thread (0 .. lanes-1): measure job i. Jobs that run
	 * at the same moment share no core; each lane runs one at a time. */
	void (*measure)(void *ctx, long i, int lane);
	/* In the caller's thread, once for every measured job, before its lane
	 * takes another: keep the result. 0 go on; 1 start no more jobs (the
	 * running ones end and are kept, no drain follows); -1 the same, and
	 * lanes_run returns -1. */
	int (*finished)(void *ctx, long i, int lane);
	/* In the caller's thread while no job runs (may be NULL): the drain's
	 * work. The same returns as finished. */
	int (*drain)(void *ctx);
	/* Asked between jobs (may be NULL): start no more (Ctrl-C). */
	bool (*stop)(void *ctx);
};

/* A drain is due when both have passed since the last one ended (and once
 * at the end, when every job is done). */
struct lanes_cadence {
	long min_jobs;
	double min_s;
};

struct lanes_report {
	int lanes;            /* lanes that ran (fewer than asked if threads could not start) */
	long measured, drains;
	double busy_s;        /* sum of the jobs' measuring times */
	double wall_s;        /* wall time outside the drains' work (waits for a drain included) */
	double mean_running;  /* busy_s / wall_s: jobs running at once, on average */
};

/* Runs jobs[0..n) on up to `lanes` lanes. Returns 0 when every job was
 * measured or a callback asked to stop with 1, -1 when one returned -1 or no
 * lane thread could start (said on stderr). */
int lanes_run(const struct topology *t, const struct sched_job *jobs, long n, int lanes,
	      const struct lanes_cadence *cadence, const struct lanes_work *work,
	      struct lanes_report *report);

#endif
