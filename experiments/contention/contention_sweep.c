/* Measuring the contention plan: step by step up the ladder; within a step,
 * rounds, and within a round every item once in a shuffled order, so the
 * items of a step are compared milliseconds apart (a host moving the vCPUs
 * moves all of them). A step's rows are written as soon as its rounds are
 * done: an interrupted run keeps every finished step. A lock that loses an
 * update fails the whole run: it is a bug, never a data point. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

#include "base/arch.h"
#include "base/budget.h"
#include "base/csv.h"
#include "base/progress.h"
#include "base/shuffle.h"
#include "base/stats.h"
#include "experiments/contention/contention.h"
#include "harness/agents.h"

/* What the rounds of one point add up to before their medians are taken. */
struct ct_acc {
	double *rate, *jain, *tmin, *tmax, *ns;   /* per round */
	int rounds;
	uint64_t ops, retries, wait_max;
	uint64_t waits[CT_WAIT_BUCKETS];
	long long events;
	int events_counted;
	bool event_failed[MAX_EVENTS];
	char event_reason[MAX_EVENTS][160];
};


static void accumulate(const struct contention_plan *p, struct ct_acc *a,
		       const struct ct_thread_result *res, int n)
{
	double window = 0, ops = 0, rates[MAX_AGENTS];
	for (int i = 0; i < n; i++) {
		window = res[i].seconds > window ? res[i].seconds : window;
		ops += (double)res[i].ops;
		rates[i] = res[i].seconds > 0 ? (double)res[i].ops / res[i].seconds : 0;
		a->ops += res[i].ops;
		a->retries += res[i].retries;
		a->wait_max = res[i].wait_max_ticks > a->wait_max ? res[i].wait_max_ticks : a->wait_max;
		for (int b = 0; b < CT_WAIT_BUCKETS; b++)
			a->waits[b] += res[i].waits[b];
		for (int k = 0; k < p->ncoherence; k++) {
			int e = p->coherence[k];
			if (res[i].event_failed[e]) {
				a->event_failed[e] = true;
				snprintf(a->event_reason[e], sizeof a->event_reason[e], "%s",
					 res[i].event_reason[e]);
			} else {
				a->events += res[i].events[e];
				a->events_counted++;
			}
		}
	}
	double lo = INFINITY, hi = 0;
	for (int i = 0; i < n; i++) {
		lo = rates[i] < lo ? rates[i] : lo;
		hi = rates[i] > hi ? rates[i] : hi;
	}
	int k = a->rounds++;
	a->rate[k] = window > 0 ? ops / window : 0;
	a->ns[k] = ops > 0 ? (double)n * window / ops * 1e9 : NAN;
	a->jain[k] = jain_index(rates, n);
	a->tmin[k] = lo;
	a->tmax[k] = hi;
}

/* A point still to measure: set "ok" for every point before the first step. */
static bool point_ok(const struct ct_point *pt)
{
	return pt->status != NULL && strcmp(pt->status, "ok") == 0;
}

static void finish_point(const struct contention_plan *p, const struct clock_info *clock,
			 struct ct_acc *a, struct ct_point *pt)
{
	pt->rounds = a->rounds;
	if (!point_ok(pt))
		return;
	double lo = INFINITY, hi = 0;
	for (int k = 0; k < a->rounds; k++) {
		lo = a->rate[k] < lo ? a->rate[k] : lo;
		hi = a->rate[k] > hi ? a->rate[k] : hi;
	}
	pt->ops = a->ops;
	pt->ops_per_s_min = lo;
	pt->ops_per_s_max = hi;
	pt->ops_per_s = median_of(a->rate, a->rounds);
	pt->ns_per_op = median_of(a->ns, a->rounds);
	pt->jain = median_of(a->jain, a->rounds);
	pt->thread_min = median_of(a->tmin, a->rounds);
	pt->thread_max = median_of(a->tmax, a->rounds);
	bool lock = pt->item->lock != NULL;
	pt->wait_p50_ns = lock ? ticks_to_ns(clock, (uint64_t)ct_wait_quantile(a->waits, 0.5)) : NAN;
	pt->wait_p99_ns = lock ? ticks_to_ns(clock, (uint64_t)ct_wait_quantile(a->waits, 0.99)) : NAN;
	pt->wait_max_ns = lock ? ticks_to_ns(clock, a->wait_max) : NAN;
	pt->retries_per_success = pt->item->op && pt->item->op->counts_retries && a->ops > 0
				  ? (double)a->retries / (double)a->ops : NAN;
	/* counters: the plan's coherence events summed, per operation */
	pt->events_per_op = NAN;
	snprintf(pt->counter_event, ERRLEN, "NA");
	pt->counter_reason[0] = '\0';
	if (p->events.n == 0)
		snprintf(pt->counter_reason, ERRLEN, "not counted (--events none)");
	else if (p->ncoherence == 0)
		snprintf(pt->counter_reason, ERRLEN, "no coherence event known for this CPU");
	else {
		size_t used = 0;
		for (int k = 0; k < p->ncoherence; k++) {
			int e = p->coherence[k];
			used += (size_t)snprintf(pt->counter_event + (k ? used : 0), ERRLEN - used, "%s%s",
						 k ? "+" : "", p->events.names[e]);
			if (a->event_failed[e] && !pt->counter_reason[0])
				snprintf(pt->counter_reason, ERRLEN, "%s", a->event_reason[e]);
		}
		if (a->events_counted > 0 && !pt->counter_reason[0] && a->ops > 0)
			pt->events_per_op = (double)a->events / (double)a->ops;
	}
}

/* Why this CPU cannot run an item (NULL when it can): a split lock off x86,
 * an LSE form on a CPU without LSE (never run into a SIGILL). */
static const char *skip_reason_of(const struct ct_item *it, char *why)
{
	if (!ARCH_SPLIT_LOCK && it->kind == CT_SPLIT_LOCK)
		return ARCH_NO_SPLIT_LOCK_REASON;
	if (it->op && it->op->available && !it->op->available(why, ERRLEN))
		return why;
	return NULL;
}

int contention_experiment(struct run *r, struct contention_plan *p, double budget_s)
{
	int npoints = p->nsteps * p->nitems, rc = EXIT_DONE, measured = 0, written = 0;
	struct ct_point *points = calloc((size_t)npoints, sizeof *points);
	struct ct_acc *acc = calloc((size_t)npoints, sizeof *acc);
	double *rounds_buf = calloc((size_t)npoints * (size_t)p->rounds * 5, sizeof *rounds_buf);
	struct ct_thread_result *res = calloc((size_t)p->ncpus, sizeof *res);
	int *order = calloc((size_t)p->nitems, sizeof *order);
	struct csv_writer w = { .fd = -1 };
	char err[ERRLEN], reason[ERRLEN];
	bool failed = false;
	uint64_t started = monotonic_ns();
	if (!points || !acc || !rounds_buf || !res || !order) {
		fprintf(stderr, "cohmap contention: out of memory\n");
		rc = EXIT_RUNTIME;
		goto out;
	}
	if (ct_rows_open(r, &w, err) != 0) {
		fprintf(stderr, "cohmap contention: %s\n", err);
		rc = EXIT_RUNTIME;
		goto out;
	}
	for (int i = 0; i < npoints; i++) {
		double *b = rounds_buf + (size_t)i * (size_t)p->rounds * 5;
		acc[i] = (struct ct_acc){ .rate = b, .jain = b + p->rounds, .tmin = b + 2 * p->rounds,
					  .tmax = b + 3 * p->rounds, .ns = b + 4 * p->rounds };
		points[i] = (struct ct_point){ .item = &p->items[i % p->nitems],
					       .step = &p->steps[i / p->nitems], .status = "ok" };
		const char *why = skip_reason_of(points[i].item, reason);
		if (why) {
			points[i].status = "skipped";
			snprintf(points[i].reason, ERRLEN, "%s", why);
		}
	}
	if (!r->quiet)
		printf("\ncontention: %d steps (%s order) x %d items x %ld rounds of %.3g ms\n", p->nsteps,
		       ct_order_name(p->order), p->nitems, p->rounds, p->run_ms);
	struct progress bar;
	progress_start(&bar, r->progress, "contention", (long)npoints * p->rounds);
	uint64_t seed = p->seed;
	long done = 0;
	int k = 0;
	for (; k < p->nsteps && !failed && !cohmap_interrupted; k++) {
		const struct ct_step *step = &p->steps[k];
		if (budget_s > 0 && (double)(monotonic_ns() - started) / 1e9 > budget_s * BUDGET_LAST_STEP_SHARE)
			break;
		for (int round = 0; round < p->rounds && !failed && !cohmap_interrupted; round++) {
			for (int i = 0; i < p->nitems; i++)
				order[i] = i;
			shuffle(order, (size_t)p->nitems, sizeof *order, shuffle_next(&seed));
			for (int j = 0; j < p->nitems && !failed && !cohmap_interrupted; j++) {
				int idx = k * p->nitems + order[j];
				struct ct_point *pt = &points[idx];
				progress_update(&bar, ++done);
				if (!point_ok(pt))
					continue;
				struct ct_run_request q = {
					.item = pt->item, .cpus = p->cpus, .n = step->threads,
					.line_size = p->line_size, .run_ms = p->run_ms,
					.watchdog_s = p->watchdog_s, .clock = &r->clock,
					.events = p->events.n > 0 ? &p->events : NULL,
				};
				switch (ct_run(&q, res, reason)) {
				case CT_RUN_OK:
					accumulate(p, &acc[idx], res, step->threads);
					break;
				case CT_RUN_SKIPPED:
					pt->status = "skipped";
					snprintf(pt->reason, ERRLEN, "%s", reason);
					break;
				case CT_RUN_INTERRUPTED:
					break;
				case CT_RUN_FAILED:
					pt->status = "failed";
					snprintf(pt->reason, ERRLEN, "%s", reason);
					progress_end(&bar);
					fprintf(stderr, "cohmap contention: %d threads: %s\n", step->threads,
						reason);
					failed = true;
					break;
				}
			}
		}
		if (cohmap_interrupted && !failed)
			break; /* the step is unfinished: not written */
		for (int i = 0; i < p->nitems; i++) {
			struct ct_point *pt = &points[k * p->nitems + i];
			if (point_ok(pt) && acc[k * p->nitems + i].rounds == 0)
				continue; /* not reached before a failure */
			finish_point(p, &r->clock, &acc[k * p->nitems + i], pt);
			if (ct_row_write(&w, p, &r->topology, pt, err) != 0) {
				fprintf(stderr, "cohmap contention: %s\n", err);
				rc = EXIT_RUNTIME;
			}
			written++;
		}
		measured = k + 1;
	}
	progress_end(&bar);
	if (csv_writer_close(&w, err) != 0) {
		fprintf(stderr, "cohmap contention: %s\n", err);
		rc = EXIT_RUNTIME;
	}
	const char *status = failed ? "failed" : cohmap_interrupted ? "interrupted" : "complete";
	if (failed)
		rc = EXIT_RUNTIME;
	else if (cohmap_interrupted)
		rc = EXIT_INTERRUPTED;
	if (measured < p->nsteps && !failed && !cohmap_interrupted)
		run_warn(r, "contention: the budget ran out after %d of %d steps", measured, p->nsteps);
	ct_report(r, p, points, written > 0 ? measured * p->nitems : 0, status);
out:
	free(points);
	free(acc);
	free(rounds_buf);
	free(res);
	free(order);
	return rc;
}
