/* Sampling one measurement point until it is precise enough, and fitting a
 * plan into `cohmap run`'s budget from probes measured at run time: what the
 * experiments that take their samples in child processes (channels, attach)
 * share. */
#ifndef COHMAP_POINT_SAMPLER_H
#define COHMAP_POINT_SAMPLER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "harness/procs.h"

/* When a point has samples enough. */
struct sample_rule {
	long capacity;        /* never more than this many */
	long fixed;           /* > 0: exactly this many (-n), nothing else counts */
	long least;           /* fewer never stop on time or precision */
	long least_precise;   /* fewer never stop on precision */
	double time_limit_s;  /* from the start of sampling */
	double precision;     /* the median's 95% interval within +-precision of it */
};

/* True when the n samples in values are enough; started_ns is when sampling
 * began (monotonic_ns). scratch holds n doubles; values stay as they are. */
bool sample_rule_enough(const struct sample_rule *r, const double *values, long n,
			uint64_t started_ns, double *scratch);

/* Runs the n children of one sample: starts them, sets their heartbeats
 * (heartbeat[i] for child i, NULL: not watched), calls started(procs, ctx)
 * when non-NULL (to hand them their pids, say go), then waits, allowing
 * stall_s without a heartbeat. Every child is reaped on return. A failed
 * start is PROCS_FAILED too, with procs->failed -1; err says why. */
enum procs_outcome point_children_run(struct procs *procs, const struct proc_spec *spec, int n,
				      const _Atomic uint64_t *const *heartbeat,
				      void (*started)(const struct procs *procs, void *ctx), void *ctx,
				      double stall_s, char *err);

/* A plan fitted to a budget from probes. */
struct probed_budget {
	double budget_s;
	uint64_t started_ns;  /* before the first probe (monotonic) */
};

/* Call before the first probe. */
void probed_budget_start(struct probed_budget *b, double budget_s);
/* After the probes: what the plan may spend, BUDGET_PROBED_SHARE
 * (base/budget.h) of the budget less the time the probes took. */
double probed_budget_target_s(const struct probed_budget *b);
/* No point starts after this (monotonic ns): BUDGET_DEADLINE_FACTOR x the
 * budget from the start of the probes. */
uint64_t probed_budget_deadline_ns(const struct probed_budget *b);
/* The time limit per point that spends on sampling what the fixed costs
 * (fixed_s) leave of target_s, shared by points; within [floor_s, wanted_s]. */
double probed_time_limit(double wanted_s, double floor_s, double target_s, double fixed_s,
			 double points);

#endif
