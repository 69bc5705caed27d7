/* Which pairs are measured at the same moment (--parallel): rounds of pairs
 * that share no core (so no SMT sibling either), spread over L3 groups, and
 * the random subset measured again alone to show what running them side by
 * side did to the numbers. Pure functions of the topology, the job list and
 * the seed: tests/unit/test_schedule.c checks them on the fixtures. */
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

/* Puts each of jobs[0..n) in exactly one round of at most width jobs, in
 * which no two jobs share a core; first from jobs in other L3 groups than the
 * round's, then from any. Jobs keep their order within the list (shuffle it
 * first). round[i] gets job i's round, numbered from 0. Returns the number
 * of rounds, -1 when out of memory. */
long schedule_rounds(const struct topology *t, const struct sched_job *jobs, long n, int width,
		     long *round);

/* Marks control[i] for the jobs measured again alone: at least one of every
 * (kernel, pair class) present, then random ones up to at least 5 % of n
 * (rounded up). Returns how many were marked, -1 when out of memory. */
long schedule_controls(const struct topology *t, const struct sched_job *jobs, long n,
		       unsigned long seed, bool *control);

/* The share of jobs the serial subset holds at least. */
#define SCHEDULE_CONTROL_SHARE 0.05

#endif
