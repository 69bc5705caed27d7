/* Which pairs are measured at the same moment (--parallel): a dispatcher
 * that, whenever one of N lanes is free, hands it the next pending pair that
 * shares no core (so no SMT sibling either) with a running pair, preferring
 * pairs in L3 groups the running pairs use least; the random subset measured
 * again alone to show what running side by side did to the numbers; and a
 * dry run of the dispatcher on given pair times, which the time model
 * (latency_model.c) uses so that it predicts the scheduler that measures.
 * Pure functions of the topology, the job list and the seed, no threads:
 * lanes.c runs the dispatcher with threads, tests/unit/test_schedule.c checks
 * both on the fixtures. */
#ifndef COHMAP_PAIR_SCHEDULE_H
#define COHMAP_PAIR_SCHEDULE_H

#include <stdbool.h>

#include "topology/topology.h"

/* One pair to measure; kernel is any grouping the caller wants kept apart in
 * the serial subset (the index of the kernel). */
struct sched_job {
	int cpu_a, cpu_b;
	int kernel;
};

/* The most pairs that can run at once on distinct cores of cpus: half the
 * distinct cores (at least 1 when there are two CPUs). 0 for fewer than two
 * CPUs. */
int schedule_max_parallel(const struct topology *t, const int *cpus, int ncpus);

/* --parallel auto: one pair per L3 group (or die, or socket, whichever the
 * selection has most of), at most schedule_max_parallel(). */
int schedule_auto_parallel(const struct topology *t, const int *cpus, int ncpus);

/* The dispatcher over jobs[0..n) (shuffled by the caller: the order is kept
 * where the rules allow). Not thread-safe: one caller at a time. */
struct dispatcher;
struct dispatcher *dispatcher_new(const struct topology *t, const struct sched_job *jobs, long n);
/* The job to start now: the first pending one whose cores no running job
 * uses, or among the next few such jobs the one whose L3 groups the running
 * jobs use least. Marks it running. -1 when none can start now (every
 * pending job shares a core with a running one) or none is pending. */
long dispatcher_next(struct dispatcher *d);
/* Job i (returned by dispatcher_next) has finished: its cores are free. */
void dispatcher_done(struct dispatcher *d, long i);
long dispatcher_pending(const struct dispatcher *d);
void dispatcher_free(struct dispatcher *d);

/* Whether jobs a and b may run at the same moment: no core in common. */
bool schedule_disjoint(const struct topology *t, const struct sched_job *a,
		       const struct sched_job *b);

/* The dispatcher run dry with `lanes` lanes on the given pair times
 * (seconds; job i takes seconds[i]), no measurement: lanes take jobs as they
 * free up, in simulated time. */
struct schedule_dry_run {
	double makespan_s;   /* from the first start to the last end */
	double busy_s;       /* the sum of the jobs' times */
	double utilisation;  /* busy_s / (lanes x makespan_s): the share of lane time used */
	double mean_running; /* busy_s / makespan_s: jobs running at once, on average */
};
/* What a caller may watch of a dry run (tests/unit/test_schedule.c checks
 * the dispatcher's rules with it); each callback may be NULL. */
struct dry_run_watch {
	void *ctx;
	void (*started)(void *ctx, long i);
	/* after the free lanes took what could start: the running jobs */
	void (*filled)(void *ctx, const long *running, int nrunning, long pending);
};
int schedule_dry_run(const struct topology *t, const struct sched_job *jobs, long n, int lanes,
		     const double *seconds, const struct dry_run_watch *watch,
		     struct schedule_dry_run *out);

/* Marks control[i] for the jobs measured again alone: at least one of every
 * (kernel, pair class) present, then random ones up to at least 5 % of n
 * (rounded up). Returns how many were marked, -1 when out of memory. */
long schedule_controls(const struct topology *t, const struct sched_job *jobs, long n,
		       unsigned long seed, bool *control);

/* The share of jobs the serial subset holds at least. */
#define SCHEDULE_CONTROL_SHARE 0.05

#endif
