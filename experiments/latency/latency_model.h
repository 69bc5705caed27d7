/* The latency matrix's time model, beside what it models: what one ordered
 * pair costs (measured: a probe of a few pairs on this machine, or the file
 * such a probe wrote), what a matrix of P pairs x K kernels costs from it at
 * a parallelism N, and how a time budget shrinks the matrix (the plan
 * `cohmap latency` and `cohmap run` follow). `cohmap plan` prints it. */
#ifndef COHMAP_LATENCY_MODEL_H
#define COHMAP_LATENCY_MODEL_H

#include "harness/latency_pair.h"
#include "kernels/kernel.h"
#include "topology/topology.h"

/* The reference pair is measured again after this long (or this many pairs),
 * so a run that outlasts a change of the host's placement of the vCPUs, or of
 * the clock frequency, says so instead of mixing two machines in one matrix. */
#define REFERENCE_INTERVAL_S 1.0
#define REFERENCE_INTERVAL_PAIRS 32
/* With --parallel, this share of the pairs (and at least one of every class)
 * is measured again alone, interleaved, to see whether neighbours disturb. */
#define PARALLEL_CHECK_SHARE 0.05

/* What one pair costs, measured at the protocol options it records. */
struct pair_cost {
	double pair_s;     /* mean wall time of one measure_pair(): agents started, pinned,
			    * batch sized, warmed up, sampled, stopped */
	double slowest_s;  /* the slowest pair seen: a parallel round waits for its slowest pair */
	double q50_s, q90_s; /* median and 90th percentile of the pairs' times */
	double samples;    /* mean samples per pair */
	/* pair_s = fixed_s + samples x per_sample_s, fitted over the probe's
	 * pairs (their sample counts differ): what a pair costs before its first
	 * sample (agents started and pinned, batch sized, warm-up), and the wall
	 * time of one sample, handshake included (more than the sample length
	 * when the agents wait for each other or the hypervisor). */
	double fixed_s, per_sample_s;
	long pairs;        /* how many pairs were measured */
	double precision_pct, time_limit_s, sample_us; /* the options they were measured at */
	char source[256];  /* where the numbers come from */
};

/* Measures kernels[0..nkernels) on cpu_a -> cpu_b and back, round after round,
 * until max_s has passed (every kernel at least once in each direction).
 * Returns 0, or -1 with a message when a pair failed. */
int pair_cost_probe(const struct kernel *const *kernels, int nkernels, int cpu_a, int cpu_b,
		    const struct measure_options *mo, const struct clock_info *clock, double max_s,
		    struct pair_cost *out, char *err);
/* The cost file ("# cohmap pair cost v1", then "key value" lines): the
 * probe's numbers for offline use. Returns 0, or -1 with one line naming the
 * file and the line. */
int pair_cost_save(const struct pair_cost *c, const char *path, char *err);
int pair_cost_load(struct pair_cost *c, const char *path, char *err);
/* What a round of n pairs at once costs: it waits for the slowest of n, whose
 * expected time is about the n/(n+1) quantile of one pair's time
 * (interpolated between the median, the 90th percentile and the slowest). */
double pair_cost_round(const struct pair_cost *c, int n);
/* The cost of a pair whose sampling is cut at limit_s (a budget's limit). */
double pair_cost_at_limit(const struct pair_cost *c, double limit_s);

/* A full matrix, term by term, so the arithmetic can be printed. */
struct matrix_estimate {
	long pairs_per_kernel;
	int nkernels;
	long pairs;          /* pairs_per_kernel x nkernels */
	int parallel;
	long rounds;         /* ceil(pairs / parallel) */
	double round_s;      /* a pair's cost alone; with parallel > 1 the slowest of a round's */
	double measure_s;    /* rounds x round_s */
	long checks;         /* pairs measured again alone (parallel > 1) */
	double check_s;
	long references;     /* re-measurements of the reference pair */
	double reference_s;
	double total_s;
};
void matrix_estimate(const struct pair_cost *c, long pairs_per_kernel, int nkernels, int parallel,
		     struct matrix_estimate *e);
/* The smallest parallelism whose estimate is within target_s, or 0 when none
 * up to max_parallel is. */
int parallel_needed(const struct pair_cost *c, long pairs_per_kernel, int nkernels,
		    int max_parallel, double target_s);

/* How many pairs can run at once without sharing a core: one per two cores. */
int parallel_max(const struct topology *t, const int *cpus, int n);
/* --parallel auto: one pair per L3 group (or die, or socket, whichever the
 * CPUs have most of), at most parallel_max: the rule of `cohmap latency
 * --parallel auto` (schedule_auto_parallel, experiments/latency/pair_schedule.c
 * on branch parallel; one call to it once both are merged). */
int parallel_auto(const struct topology *t, const int *cpus, int n);

/* How `cohmap latency` spends a budget (cohmap run's share): the per-pair time
 * limit shrinks to fit; below MIN_PAIR_LIMIT_S a sample of max_pairs pairs per
 * kernel is measured instead (0: every pair). */
struct latency_budget {
	double time_limit_s;
	long max_pairs;
};
void latency_budget_plan(double budget_s, int nkernels, int ncpus, double time_limit_s,
			 bool resume, struct latency_budget *b);

/* The smallest budget at which latency_budget_plan measures every pair. */
double latency_budget_for_full_matrix(int nkernels, int ncpus);

#endif
