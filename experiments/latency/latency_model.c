/* The latency matrix's time model: the measured cost of a pair, a full
 * matrix from it, and the budget plan (see latency_model.h). */
#include "experiments/latency/latency_model.h"
#include "experiments/latency/pair_schedule.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/budget.h"
#include "base/common.h"
#include "base/shuffle.h"
#include "base/stats.h"
#include "base/timing.h"

#define COST_HEADER "# cohmap pair cost v1"

int pair_cost_probe(const struct kernel *const *kernels, int nkernels, int cpu_a, int cpu_b,
		    const struct measure_options *mo, const struct clock_info *clock, double max_s,
		    struct pair_cost *out, char *err)
{
	double sum_s = 0, sum_samples = 0, sum_ss = 0, sum_sw = 0, slowest = 0;
	long n = 0;
	uint64_t started = monotonic_ns();
	struct pair_measurement *m = malloc(sizeof *m);
	size_t cap = 64;
	double *times = malloc(cap * sizeof *times);
	if (m == NULL || times == NULL) {
		free(m);
		free(times);
		set_error(err, "out of memory");
		return -1;
	}
	/* Round after round over every kernel in both directions, so a change of
	 * the machine's state during the probe spreads over all of them. */
	for (int round = 0; round == 0 || (double)(monotonic_ns() - started) < max_s * 1e9; round++)
		for (int k = 0; k < nkernels; k++)
			for (int dir = 0; dir < 2; dir++) {
				uint64_t t0 = monotonic_ns();
				measure_pair(kernels[k], dir ? cpu_b : cpu_a, dir ? cpu_a : cpu_b, -1,
					     mo, clock, m, NULL);
				double s = (double)(monotonic_ns() - t0) / 1e9;
				if (m->status != PAIR_OK) {
					set_error(err, "probe pair %d->%d (%s) failed: %s",
						  dir ? cpu_b : cpu_a, dir ? cpu_a : cpu_b,
						  kernels[k]->name, m->reason);
					free(m);
					free(times);
					return -1;
				}
				if ((size_t)n == cap) {
					double *more = realloc(times, 2 * cap * sizeof *times);
					if (more == NULL) {
						set_error(err, "out of memory");
						free(m);
						free(times);
						return -1;
					}
					times = more, cap *= 2;
				}
				times[n] = s;
				sum_s += s;
				double k_samples = (double)m->one_way_ns.n;
				sum_samples += k_samples;
				sum_ss += k_samples * k_samples;
				sum_sw += k_samples * s;
				slowest = s > slowest ? s : slowest;
				n++;
			}
	free(m);
	struct summary sum;
	summarize(times, n, &sum);
	free(times);
	*out = (struct pair_cost){
		.q50_s = sum.median,
		.q90_s = sum.p90,
		.pair_s = sum_s / (double)n,
		.slowest_s = slowest,
		.samples = sum_samples / (double)n,
		.pairs = n,
		.precision_pct = mo->precision * 100,
		.time_limit_s = mo->time_limit_s,
		.sample_us = mo->sample_target_ns / 1000,
	};
	/* Least squares of wall time on sample count; when the counts do not
	 * differ enough to fit (or the fit says a sample costs less than its
	 * length), a sample costs its length and the rest is fixed. */
	double var = sum_ss / (double)n - out->samples * out->samples;
	double cov = sum_sw / (double)n - out->samples * out->pair_s;
	double length = out->sample_us / 1e6;
	out->per_sample_s = var > 1 ? cov / var : length;
	if (out->per_sample_s < length)
		out->per_sample_s = length;
	out->fixed_s = out->pair_s - out->samples * out->per_sample_s;
	if (out->fixed_s < 0) {
		out->fixed_s = 0;
		out->per_sample_s = out->pair_s / out->samples;
	}
	return 0;
}

int pair_cost_save(const struct pair_cost *c, const char *path, char *err)
{
	FILE *f = fopen(path, "w");
	if (f == NULL) {
		set_error(err, "cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(f, "%s\n# what one ordered pair of `cohmap latency` costs, measured by `cohmap plan`\n",
		COST_HEADER);
	fprintf(f, "source %s\npair_s %.6f\nslowest_s %.6f\nq50_s %.6f\nq90_s %.6f\nsamples %.2f\nfixed_s %.6f\nper_sample_s %.7f\n"
		"pairs %ld\nprecision_pct %g\ntime_limit_s %g\nsample_us %g\n",
		c->source, c->pair_s, c->slowest_s, c->q50_s, c->q90_s, c->samples, c->fixed_s, c->per_sample_s, c->pairs,
		c->precision_pct, c->time_limit_s, c->sample_us);
	if (fclose(f) != 0) {
		set_error(err, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int pair_cost_load(struct pair_cost *c, const char *path, char *err)
{
	static const char *const keys[] = { "pair_s", "slowest_s", "samples", "fixed_s", "per_sample_s",
					    "pairs", "precision_pct", "time_limit_s", "sample_us",
					    "q50_s", "q90_s" };
	double values[ARRAY_SIZE(keys)];
	bool seen[ARRAY_SIZE(keys)] = { false };
	char line[512];
	int lineno = 0;
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		set_error(err, "cannot open cost file %s: %s", path, strerror(errno));
		return -1;
	}
	*c = (struct pair_cost){ 0 };
	snprintf(c->source, sizeof c->source, "%s", path);
	while (fgets(line, sizeof line, f)) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (lineno == 1 && strcmp(line, COST_HEADER) != 0) {
			set_error(err, "%s:1: not a cohmap cost file (the first line must be '%s')", path,
				  COST_HEADER);
			goto fail;
		}
		if (line[0] == '#' || line[0] == '\0')
			continue;
		char *value = strchr(line, ' ');
		if (value)
			*value++ = '\0';
		if (strcmp(line, "source") == 0) {
			snprintf(c->source, sizeof c->source, "%s (%s)", value ? value : "", path);
			continue;
		}
		size_t k = 0;
		while (k < ARRAY_SIZE(keys) && strcmp(line, keys[k]) != 0)
			k++;
		char *end = NULL;
		if (k < ARRAY_SIZE(keys) && value)
			values[k] = strtod(value, &end);
		if (k == ARRAY_SIZE(keys) || !value || end == value || *end != '\0' ||
		    !isfinite(values[k]) || values[k] < 0) {
			set_error(err, "%s:%d: expected 'key number' with a key of pair_s slowest_s "
				  "q50_s q90_s samples fixed_s per_sample_s pairs precision_pct time_limit_s sample_us", path, lineno);
			goto fail;
		}
		seen[k] = true;
	}
	for (size_t k = 0; k < ARRAY_SIZE(keys); k++)
		if (!seen[k]) {
			set_error(err, "%s: no '%s' line", path, lineno ? keys[k] : keys[0]);
			goto fail;
		}
	fclose(f);
	c->pair_s = values[0], c->slowest_s = values[1], c->samples = values[2];
	c->fixed_s = values[3], c->per_sample_s = values[4], c->pairs = (long)values[5];
	c->precision_pct = values[6], c->time_limit_s = values[7], c->sample_us = values[8];
	c->q50_s = values[9], c->q90_s = values[10];
	if (c->pair_s <= 0 || c->slowest_s < c->pair_s || c->q50_s > c->q90_s || c->q90_s > c->slowest_s) {
		set_error(err, "%s: needs pair_s > 0 and q50_s <= q90_s <= slowest_s >= pair_s", path);
		return -1;
	}
	return 0;
fail:
	fclose(f);
	return -1;
}

double pair_cost_quantile(const struct pair_cost *c, double q)
{
	double low = c->fixed_s < c->q50_s ? c->fixed_s : c->q50_s;
	if (q <= 0.5)
		return low + (c->q50_s - low) * (q < 0 ? 0 : q) / 0.5;
	if (q <= 0.9)
		return c->q50_s + (c->q90_s - c->q50_s) * (q - 0.5) / 0.4;
	return c->q90_s + (c->slowest_s - c->q90_s) * ((q > 1 ? 1 : q) - 0.9) / 0.1;
}

double pair_cost_round(const struct pair_cost *c, int n)
{
	if (n <= 1)
		return c->pair_s;
	double t = pair_cost_quantile(c, (double)n / (n + 1));
	/* never below what a pair costs on average */
	return t > c->pair_s ? t : c->pair_s;
}

double pair_cost_at_limit(const struct pair_cost *c, double limit_s)
{
	double sampling = c->samples * c->per_sample_s;
	return c->fixed_s + (sampling < limit_s ? sampling : limit_s);
}

void matrix_estimate(const struct pair_cost *c, long pairs_per_kernel, int nkernels, int parallel,
		     double utilisation, struct matrix_estimate *e)
{
	*e = (struct matrix_estimate){ .pairs_per_kernel = pairs_per_kernel, .nkernels = nkernels,
				       .parallel = parallel < 1 ? 1 : parallel };
	e->pairs = pairs_per_kernel * nkernels;
	e->utilisation = e->parallel > 1 && utilisation > 0 && utilisation < 1 ? utilisation : 1;
	e->work_s = (double)e->pairs * c->pair_s;
	e->measure_s = e->work_s / (e->parallel * e->utilisation);
	if (e->parallel == 1) {
		/* Whichever comes first: REFERENCE_INTERVAL_PAIRS pairs or
		 * REFERENCE_INTERVAL_S seconds. */
		double by_pairs = (double)e->pairs / REFERENCE_INTERVAL_PAIRS;
		double by_time = e->measure_s / REFERENCE_INTERVAL_S;
		e->references = (long)ceil(by_pairs > by_time ? by_pairs : by_time);
	} else {
		/* A drain once both PARALLEL_DRAIN_PAIRS_PER_LANE pairs per lane
		 * and PARALLEL_DRAIN_INTERVAL_S of measuring have passed, and one
		 * at the end; the reference is measured at each (they are at
		 * least REFERENCE_INTERVAL_S apart, so it is due every time). */
		double by_pairs = (double)e->pairs / ((double)PARALLEL_DRAIN_PAIRS_PER_LANE * e->parallel);
		double by_time = e->measure_s / PARALLEL_DRAIN_INTERVAL_S;
		e->drains = (long)floor(by_pairs < by_time ? by_pairs : by_time) + 1;
		e->drain_wait_s = pair_cost_round(c, e->parallel);
		e->drain_s = (double)e->drains * e->drain_wait_s;
		e->checks = (long)ceil(PARALLEL_CHECK_SHARE * (double)e->pairs);
		e->check_s = (double)e->checks * c->pair_s;
		e->references = e->drains;
	}
	e->reference_s = (double)e->references * c->pair_s;
	e->total_s = e->measure_s + e->drain_s + e->check_s + e->reference_s;
}

double matrix_utilisation(const struct pair_cost *c, const struct topology *t, const int *cpus,
			  int n, int nkernels, int parallel)
{
	if (parallel <= 1)
		return 1;
	long njobs = (long)n * (n - 1) * nkernels, k = 0;
	struct sched_job *jobs = malloc((size_t)(njobs ? njobs : 1) * sizeof *jobs);
	double *seconds = malloc((size_t)(njobs ? njobs : 1) * sizeof *seconds);
	double u = -1;
	if (jobs == NULL || seconds == NULL)
		goto out;
	for (int kernel = 0; kernel < nkernels; kernel++)
		for (int a = 0; a < n; a++)
			for (int b = 0; b < n; b++)
				if (a != b)
					jobs[k++] = (struct sched_job){ cpus[a], cpus[b], kernel };
	shuffle(jobs, (size_t)njobs, sizeof *jobs, PLAN_SEED);
	uint64_t state = PLAN_SEED;
	for (long i = 0; i < njobs; i++)
		seconds[i] = pair_cost_quantile(c, (double)(shuffle_next(&state) >> 11) / 9007199254740992.0);
	struct schedule_dry_run dry;
	if (schedule_dry_run(t, jobs, njobs, parallel, seconds, NULL, &dry) == 0)
		u = dry.utilisation;
out:
	free(jobs);
	free(seconds);
	return u;
}

int matrix_plan(const struct pair_cost *c, const struct topology *t, const int *cpus, int n,
		int nkernels, int parallel, struct matrix_estimate *e)
{
	double u = matrix_utilisation(c, t, cpus, n, nkernels, parallel);
	if (u < 0)
		return -1;
	matrix_estimate(c, (long)n * (n - 1), nkernels, parallel, u, e);
	return 0;
}

int parallel_needed(const struct pair_cost *c, const struct topology *t, const int *cpus, int n,
		    int nkernels, int max_parallel, double target_s)
{
	struct matrix_estimate e;
	int lo = 1, hi = max_parallel;
	if (max_parallel < 1 || matrix_plan(c, t, cpus, n, nkernels, max_parallel, &e) != 0)
		return max_parallel < 1 ? 0 : -1;
	if (e.total_s > target_s)
		return 0;
	while (lo < hi) { /* the answer is in [lo, hi] */
		int mid = lo + (hi - lo) / 2;
		if (matrix_plan(c, t, cpus, n, nkernels, mid, &e) != 0)
			return -1;
		if (e.total_s <= target_s)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* The planner models the scheduler that measures: the same rules. */
int parallel_max(const struct topology *t, const int *cpus, int n)
{
	return schedule_max_parallel(t, cpus, n);
}

int parallel_auto(const struct topology *t, const int *cpus, int n)
{
	return schedule_auto_parallel(t, cpus, n);
}

/* Below this per-pair limit the stopping rule has too few samples to work with. */
#define MIN_PAIR_LIMIT_S 0.005
/* What a pair costs beyond its sampling in the budget plan: starting and
 * pinning the agents, warm-up, writing the row (seen here: 8 pairs at the
 * 5 ms limit, plots included, took 0.5-0.7 s). `cohmap plan` prints the
 * measured overhead beside it. */
#define PAIR_OVERHEAD_S 0.02

void latency_budget_plan(double budget_s, int nkernels, int ncpus, double time_limit_s,
			 bool resume, struct latency_budget *b)
{
	*b = (struct latency_budget){ .time_limit_s = time_limit_s, .max_pairs = 0 };
	if (budget_s <= 0)
		return;
	/* Shrink the per-pair limit so the matrix, reference pairs included,
	 * fits in the budget; never below a few ms, where the stopping rule
	 * would have no samples to work with. */
	double pairs = (double)nkernels * ncpus * (ncpus - 1);
	double share = budget_s * BUDGET_PLANNED_SHARE / (pairs * 1.1);
	if (share < b->time_limit_s)
		b->time_limit_s = share < MIN_PAIR_LIMIT_S ? MIN_PAIR_LIMIT_S : share;
	/* Still too many pairs (a large machine): measure a sample that covers
	 * every pair class rather than overrun the budget. */
	double affordable = budget_s * BUDGET_PLANNED_SHARE / (1.1 * (MIN_PAIR_LIMIT_S + PAIR_OVERHEAD_S));
	if (share < MIN_PAIR_LIMIT_S && !resume) {
		long per_kernel = (long)(affordable / nkernels);
		b->max_pairs = per_kernel < PAIR_CLASS_COUNT ? PAIR_CLASS_COUNT : per_kernel;
	}
}

double latency_budget_for_full_matrix(int nkernels, int ncpus)
{
	double pairs = (double)nkernels * ncpus * (ncpus - 1);
	return MIN_PAIR_LIMIT_S * pairs * 1.1 / BUDGET_PLANNED_SHARE;
}
