/* The stopping rule of a sampled point, the children of one sample, and the
 * planning of points from probes under a budget (harness/point_sampler.h). */
#include "harness/point_sampler.h"

#include <math.h>
#include <string.h>

#include "base/budget.h"
#include "base/stats.h"
#include "base/timing.h"

bool sample_rule_enough(const struct sample_rule *r, const double *values, long n,
			uint64_t started_ns, double *scratch)
{
	if (n >= r->capacity)
		return true;
	if (r->fixed > 0)
		return n >= r->fixed;
	if (n < r->least)
		return false;
	if ((double)(monotonic_ns() - started_ns) > r->time_limit_s * 1e9)
		return true;
	if (n < r->least_precise)
		return false;
	struct summary s;
	memcpy(scratch, values, (size_t)n * sizeof *scratch);
	summarize(scratch, n, &s);
	return median_is_precise(&s, r->precision);
}

enum procs_outcome point_children_run(struct procs *procs, const struct proc_spec *spec, int n,
				      const _Atomic uint64_t *const *heartbeat,
				      void (*started)(const struct procs *procs, void *ctx), void *ctx,
				      double stall_s, char *err)
{
	if (procs_start(procs, spec, n, err) != 0) {
		procs->failed = -1;
		return PROCS_FAILED;
	}
	if (started)
		started(procs, ctx);
	for (int i = 0; i < n; i++)
		procs->heartbeat[i] = heartbeat[i];
	return procs_wait(procs, stall_s, err);
}

void probed_budget_start(struct probed_budget *b, double budget_s)
{
	*b = (struct probed_budget){ .budget_s = budget_s, .started_ns = monotonic_ns() };
}

double probed_budget_target_s(const struct probed_budget *b)
{
	return b->budget_s * BUDGET_PROBED_SHARE - (double)(monotonic_ns() - b->started_ns) / 1e9;
}

uint64_t probed_budget_deadline_ns(const struct probed_budget *b)
{
	return b->started_ns + (uint64_t)(b->budget_s * BUDGET_DEADLINE_FACTOR * 1e9);
}

double probed_time_limit(double wanted_s, double floor_s, double target_s, double fixed_s,
			 double points)
{
	return fmin(wanted_s, fmax(floor_s, (target_s - fixed_s) / points));
}
