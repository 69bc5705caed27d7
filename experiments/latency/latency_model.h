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
/* With --parallel, the lanes drain (no new pair starts until the running ones
 * end; then the control pairs and the reference are measured alone) once
 * both have passed since the last drain: this long, and this many pairs per
 * lane. Once a second keeps a control pair within about a second of its
 * parallel measurement, on the drift reference's own cadence, so drift does
 * not pass for interference; the pairs-per-lane floor keeps a drain's wait
 * (for the longest running pair) small against the work between drains
 * when pairs are slow. */
#define PARALLEL_DRAIN_INTERVAL_S REFERENCE_INTERVAL_S
#define PARALLEL_DRAIN_PAIRS_PER_LANE 8
/* The dry run of the dispatcher behind the model shuffles its pairs with
 * this seed, so a plan prints the same figures every time. */
#define PLAN_SEED 1

/* What one pair costs, measured at the protocol options it records. */
struct pair_cost {
	double pair_s;     /* mean wall time of one measure_pair(): agents started, pinned,
			    * batch sized, warmed up, sampled, stopped */
	double slowest_s;  /* the slowest pair seen: a drain of the lanes waits for the longest running pair */
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
/* The q quantile of one pair's time (0 <= q <= 1), interpolated through
 * what the probe measured: the time before sampling (at q = 0, or the median
 * if lower), the median, the 90th percentile and the slowest pair. */
double pair_cost_quantile(const struct pair_cost *c, double q);
/* What waiting for the slowest of n pairs running at once costs: about the
 * n/(n+1) quantile of one pair's time, never less than the mean. */
double pair_cost_round(const struct pair_cost *c, int n);
/* The cost of a pair whose sampling is cut at limit_s (a budget's limit). */
double pair_cost_at_limit(const struct pair_cost *c, double limit_s);

/* A full matrix, term by term, so the arithmetic can be printed. */
struct matrix_estimate {
	long pairs_per_kernel;
	int nkernels;
	long pairs;          /* pairs_per_kernel x nkernels */
	int parallel;        /* lanes; 1: one pair after another */
	double work_s;       /* pairs x the mean pair time */
	double utilisation;  /* the share of lane time the dispatcher keeps busy (1 serial) */
	double measure_s;    /* work_s / (parallel x utilisation) */
	long drains;         /* parallel: the lanes drained for the controls and reference */
	double drain_wait_s; /* one drain's wait for the longest of the running pairs */
	double drain_s;      /* drains x drain_wait_s */
	long checks;         /* pairs measured again alone (parallel > 1) */
	double check_s;
	long references;     /* re-measurements of the reference pair */
	double reference_s;
	double total_s;
};
/* The estimate at a given utilisation (1 for the serial engine). */
void matrix_estimate(const struct pair_cost *c, long pairs_per_kernel, int nkernels, int parallel,
		     double utilisation, struct matrix_estimate *e);
/* The dispatcher of --parallel (pair_schedule.c) run dry on every ordered
 * pair of cpus[0..n) x nkernels, shuffled with PLAN_SEED, each pair's time
 * drawn from the probe's quantiles (pair_cost_quantile): the share of lane
 * time it keeps busy. 1 for parallel <= 1; -1 when out of memory. */
double matrix_utilisation(const struct pair_cost *c, const struct topology *t, const int *cpus,
			  int n, int nkernels, int parallel);
/* Both: the estimate of the full matrix of cpus[0..n) on this topology.
 * Returns 0, -1 when out of memory. */
int matrix_plan(const struct pair_cost *c, const struct topology *t, const int *cpus, int n,
		int nkernels, int parallel, struct matrix_estimate *e);
/* The smallest parallelism up to max_parallel whose estimate is within
 * target_s (a bisection: more lanes never cost more time in this model), or
 * 0 when none is; -1 when out of memory. */
int parallel_needed(const struct pair_cost *c, const struct topology *t, const int *cpus, int n,
		    int nkernels, int max_parallel, double target_s);

/* How many pairs can run at once without sharing a core: one per two cores. */
int parallel_max(const struct topology *t, const int *cpus, int n);
/* --parallel auto: one pair per L3 group (or die, or socket, whichever the
 * CPUs have most of), at most parallel_max: the rule of `cohmap latency
 * --parallel auto` (schedule_auto_parallel, experiments/latency/pair_schedule.c). */
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
