/* Measuring the false-sharing plan: the points (the distance sweep on every
 * placement, the pair heatmap, the packed-vs-padded demo) in a shuffled
 * order within the budget, each one's rounds and medians, the coherence
 * counters, and the fix demo's work size. falseshare_report.c writes what
 * comes out: the CSV rows, the tables, meta.json, the plots and the summary.
 *
 * Every point is a series of rounds, each one run with the counters `d`
 * bytes apart and one with every counter in its own 2-line block, in
 * alternating order. The slowdown of a thread is the median over rounds of
 * the ratio of its two rates: the two runs of a round are milliseconds apart,
 * so a host that moves the vCPUs (this kind of machine does, every few
 * seconds) changes both and cancels out of the ratio. */
#include "experiments/falseshare/falseshare_sweep.h"

#include <math.h>
#include <numa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/progress.h"
#include "base/shuffle.h"
#include "experiments/experiment.h"
#include "harness/agents.h"

/* The fix demo's work is sized so that the packed struct takes about one run
 * length, starting from this many items per thread. */
#define FIX_CALIBRATION_ITEMS 4096u
#define FIX_MAX_ITEMS ((uint64_t)1 << 32)
/* A disturbed run (a thread switched out, threads not running together) is
 * repeated at most this many times, then kept and counted: on a busy
 * machine every run may be disturbed, and the point must still finish. */
#define MAX_REPEATS 2

static int home_of(const struct falseshare_plan *p, const struct topology *t, const int *cpus)
{
	if (numa_available() < 0)
		return -1;
	if (p->home == HOME_NODE)
		return p->home_node;
	const struct cpu_place *place = topology_find(t, cpus[p->home == HOME_SECOND ? 1 : 0]);
	return place ? place->numa_node : -1;
}

/* ---- counters ---- */

/* Coherence events per operation of one thread's run: the sum of the plan's
 * coherence events that counted; NAN when none did. */
static double events_per_op(const struct falseshare_plan *p, const struct fs_thread_result *r)
{
	long long sum = 0;
	int counted = 0;
	for (int k = 0; k < p->ncoherence; k++) {
		int e = p->coherence[k];
		if (!r->event_failed[e]) {
			sum += r->events[e];
			counted++;
		}
	}
	return counted > 0 && r->ops > 0 ? (double)sum / (double)r->ops : NAN;
}

/* Names the events a point's counter columns hold, and why any are NA. */
static void describe_counters(const struct falseshare_plan *p, const bool *failed,
			      char reasons[][160], struct point_outcome *out)
{
	size_t used = 0, why = 0;
	out->counter_event[0] = out->counter_reason[0] = '\0';
	if (p->events.n == 0) {
		snprintf(out->counter_event, ERRLEN, "NA");
		snprintf(out->counter_reason, ERRLEN, "not counted (--events none)");
		return;
	}
	if (p->ncoherence == 0) {
		snprintf(out->counter_event, ERRLEN, "NA");
		snprintf(out->counter_reason, ERRLEN, "no coherence event known for this CPU (%s)",
			 p->events.auto_label[0] ? p->events.auto_label : "none asked for");
		return;
	}
	bool any = false;
	for (int k = 0; k < p->ncoherence; k++)
		any |= !failed[p->coherence[k]];
	for (int k = 0; k < p->ncoherence; k++) {
		int e = p->coherence[k];
		if (any && failed[e])
			continue;
		used += (size_t)snprintf(out->counter_event + used, ERRLEN - used, "%s%s",
					 used ? "+" : "", p->events.names[e]);
	}
	/* Reasons read "EVENT: why"; events failing for the same reason (no
	 * PMU in a virtual machine) are named once, before the shared why. */
	const char *common = NULL;
	int nfailed = 0;
	bool same = true;
	for (int k = 0; k < p->ncoherence; k++) {
		int e = p->coherence[k];
		if (!failed[e])
			continue;
		size_t len = strlen(p->events.names[e]);
		const char *tail = strncmp(reasons[e], p->events.names[e], len) == 0 &&
					   reasons[e][len] == ':' ? reasons[e] + len + 2 : reasons[e];
		same &= common == NULL || strcmp(common, tail) == 0;
		common = common ? common : tail;
		nfailed++;
	}
	for (int k = 0; k < p->ncoherence && nfailed > 0 && why < ERRLEN; k++) {
		int e = p->coherence[k];
		if (!failed[e])
			continue;
		if (same)
			why += (size_t)snprintf(out->counter_reason + why, ERRLEN - why, "%s%s",
						why ? " and " : "", p->events.names[e]);
		else
			why += (size_t)snprintf(out->counter_reason + why, ERRLEN - why, "%s%s",
						why ? "; " : "", reasons[e]);
	}
	if (same && nfailed > 0 && why < ERRLEN)
		snprintf(out->counter_reason + why, ERRLEN - why, ": %s", common);
}

/* ---- measuring ---- */

/* allow_repeats: disturbed runs may be repeated (false when the budget is
 * running short: then every run is kept, and counted if disturbed). */
static void measure_point(struct sweep *sw, const struct point *pt, struct point_outcome *out,
			  bool allow_repeats)
{
	const struct falseshare_plan *p = sw->p;
	int n = pt->n, rounds = (int)p->rounds;
	size_t cells = (size_t)n * (size_t)rounds;
	double *shared = calloc(cells, sizeof *shared), *padded = calloc(cells, sizeof *padded);
	/* scratch holds one value per round, or one per thread (the item rates
	 * of the median round): the larger of the two */
	double *ratio = calloc(cells, sizeof *ratio),
	       *scratch = calloc((size_t)(n > rounds ? n : rounds), sizeof *scratch);
	double *shared_ev = calloc(cells, sizeof *shared_ev), *padded_ev = calloc(cells, sizeof *padded_ev);
	double *shared_job = calloc((size_t)rounds, sizeof *shared_job);
	double *padded_job = calloc((size_t)rounds, sizeof *padded_job);
	double *job_ratio = calloc((size_t)rounds, sizeof *job_ratio);
	struct fs_thread_result *res = calloc((size_t)n, sizeof *res);

	*out = (struct point_outcome){ .measured = true, .status = FS_RUN_FAILED, .home_node = -1,
				       .job_ratio = NAN, .shared_job_s = NAN, .padded_job_s = NAN,
				       .shared_item_rate = NAN, .padded_item_rate = NAN };
	out->threads = calloc((size_t)n, sizeof *out->threads);
	bool event_failed[MAX_EVENTS] = { false };
	bool *round_disturbed = calloc((size_t)rounds, sizeof *round_disturbed);
	char (*event_reason)[160] = calloc(MAX_EVENTS, sizeof *event_reason);
	if (!shared || !padded || !ratio || !scratch || !shared_ev || !padded_ev || !shared_job ||
	    !padded_job || !job_ratio || !res || !out->threads || !event_reason || !round_disturbed) {
		set_error(out->reason, "out of memory");
		goto done;
	}
	for (int i = 0; i < n; i++)
		out->threads[i].role = pt->kind == NULL ? FS_UPDATER
				       : !pt->kind->one_writer ? FS_UPDATER
				       : i == 0 ? FS_WRITER : FS_READER;
	struct fs_run_request q = {
		.kind = pt->kind,
		.workload = pt->kind ? NULL : &fs_workload_worker_stats,
		.cpus = pt->cpus,
		.n = n,
		.line_size = p->line_size,
		.run_ms = p->run_ms,
		.items = sw->fix_items,
		.home_node = home_of(p, &sw->r->topology, pt->cpus),
		.watchdog_s = p->watchdog_s,
		.clock = &sw->r->clock,
		.events = p->events.n > 0 ? &p->events : NULL,
		.agents = p->agents,
	};
	for (int round = 0; round < rounds; round++) {
		/* Alternating which layout goes first keeps a steady drift
		 * within a round from favouring one of them. */
		for (int half = 0; half < 2; half++) {
			bool false_shared = (half == 0) == (round % 2 == 0);
			q.stride = false_shared ? pt->distance : p->padded_stride;
			for (int attempt = 0;; attempt++) {
				char why[ERRLEN];
				out->status = fs_run(&q, res, &out->home_node, out->reason);
				if (out->status != FS_RUN_OK)
					goto done;
				if (!fs_run_disturbed(res, n, pt->cpus, pt->kind != NULL, why, sizeof why))
					break;
				if (attempt == MAX_REPEATS || !allow_repeats || cohmap_interrupted) {
					out->disturbed++;
					round_disturbed[round] = true;
					snprintf(out->disturbance, sizeof out->disturbance, "%s", why);
					break;
				}
				out->repeated++;
			}
			double job = 0;
			for (int i = 0; i < n; i++) {
				double rate = res[i].seconds > 0 && res[i].ops > 0
						      ? (double)res[i].ops / res[i].seconds : NAN;
				(false_shared ? shared : padded)[i * rounds + round] = rate;
				(false_shared ? shared_ev : padded_ev)[i * rounds + round] =
					events_per_op(p, &res[i]);
				for (int e = 0; e < p->events.n; e++)
					if (res[i].event_failed[e] && !event_failed[e]) {
						event_failed[e] = true;
						snprintf(event_reason[e], 160, "%s", res[i].event_reason[e]);
					}
				if (false_shared)
					out->threads[i].shared_ops += res[i].ops;
				else
					out->threads[i].padded_ops += res[i].ops;
				job = res[i].seconds > job ? res[i].seconds : job;
			}
			(false_shared ? shared_job : padded_job)[round] = job;
		}
		for (int i = 0; i < n; i++)
			ratio[i * rounds + round] = padded[i * rounds + round] / shared[i * rounds + round];
	}
	/* Disturbed rounds are left out of the medians when at least half the
	 * rounds are clean; on a machine too busy for that, all are used (and
	 * the disturbed_runs column says so). */
	int clean = 0;
	for (int round = 0; round < rounds; round++)
		clean += !round_disturbed[round];
	out->rounds_used = rounds;
	if (clean > 0 && 2 * clean >= rounds) {
		out->rounds_used = clean;
		for (int round = 0; round < rounds; round++)
			if (round_disturbed[round])
				for (int i = 0; i < n; i++)
					shared[i * rounds + round] = padded[i * rounds + round] =
						ratio[i * rounds + round] = shared_ev[i * rounds + round] =
							padded_ev[i * rounds + round] = NAN;
		for (int round = 0; round < rounds; round++)
			if (round_disturbed[round])
				shared_job[round] = padded_job[round] = NAN;
	}
	for (int i = 0; i < n; i++) {
		struct thread_outcome *th = &out->threads[i];
		th->shared_rate = fs_finite_median(shared + i * rounds, rounds, 1, scratch, NULL, NULL);
		th->padded_rate = fs_finite_median(padded + i * rounds, rounds, 1, scratch, NULL, NULL);
		th->slowdown = fs_finite_median(ratio + i * rounds, rounds, 1, scratch, &th->slowdown_min,
					     &th->slowdown_max);
		th->shared_events = fs_finite_median(shared_ev + i * rounds, rounds, 1, scratch, NULL, NULL);
		th->padded_events = fs_finite_median(padded_ev + i * rounds, rounds, 1, scratch, NULL, NULL);
		if (isnan(th->slowdown)) {
			out->status = FS_RUN_FAILED;
			set_error(out->reason, "the thread on CPU %d did not run in any round's "
				  "window (its CPU was busy elsewhere)", pt->cpus[i]);
		}
	}
	if (pt->kind == NULL) {
		for (int k = 0; k < rounds; k++)
			job_ratio[k] = shared_job[k] / padded_job[k];
		out->job_ratio = fs_finite_median(job_ratio, rounds, 1, scratch, NULL, NULL);
		int mid = -1;
		for (int k = 0; k < rounds; k++)
			if (isfinite(job_ratio[k]) && (mid < 0 || fabs(job_ratio[k] - out->job_ratio) <
								   fabs(job_ratio[mid] - out->job_ratio)))
				mid = k;
		if (mid >= 0) {
			out->shared_job_s = shared_job[mid];
			out->padded_job_s = padded_job[mid];
			out->shared_item_rate = fs_finite_median(shared + mid, n, rounds, scratch, NULL, NULL);
			out->padded_item_rate = fs_finite_median(padded + mid, n, rounds, scratch, NULL, NULL);
		}
	}
done:
	if (event_reason)
		describe_counters(p, event_failed, event_reason, out);
	free(event_reason);
	free(round_disturbed);
	free(shared_ev);
	free(padded_ev);
	free(shared);
	free(padded);
	free(ratio);
	free(scratch);
	free(shared_job);
	free(padded_job);
	free(job_ratio);
	free(res);
}

/* Items per thread for the fix demo: about one run length of packed work.
 * The first guess is grown until a run is long enough (an eighth of the
 * target) that the clock's resolution and the start no longer dominate it,
 * then scaled. */
static uint64_t size_fix_work(const struct sweep *sw, const struct fs_group *g)
{
	const struct falseshare_plan *p = sw->p;
	struct fs_thread_result *res = calloc((size_t)g->n, sizeof *res);
	char reason[ERRLEN];
	int home;
	struct fs_run_request q = {
		.workload = &fs_workload_worker_stats, .cpus = g->cpus, .n = g->n,
		.stride = fs_workload_worker_stats.struct_bytes, .line_size = p->line_size,
		.items = FIX_CALIBRATION_ITEMS, .home_node = home_of(p, &sw->r->topology, g->cpus),
		.watchdog_s = p->watchdog_s, .clock = &sw->r->clock, .agents = p->agents,
	};
	double target_s = p->run_ms / 1e3, slowest = 0;
	while (res && fs_run(&q, res, &home, reason) == FS_RUN_OK) {
		/* CPU time, not wall time: on a busy machine a thread switched
		 * out mid-run would make the work look slower than it is. */
		slowest = 0;
		for (int i = 0; i < g->n; i++) {
			double ran = res[i].seconds * res[i].on_cpu;
			slowest = ran > slowest ? ran : slowest;
		}
		if (slowest >= target_s / 8 || q.items >= FIX_MAX_ITEMS / 4)
			break;
		q.items *= 4;
	}
	free(res);
	double items = slowest > 0 ? (double)q.items * target_s / slowest : (double)q.items;
	return items < FIX_CALIBRATION_ITEMS ? FIX_CALIBRATION_ITEMS
	       : items > FIX_MAX_ITEMS ? FIX_MAX_ITEMS : (uint64_t)items;
}

/* ---- the experiment ---- */

static long build_points(struct sweep *sw)
{
	const struct falseshare_plan *p = sw->p;
	long n = 0;
	for (int g = 0; g < FS_PLACEMENT_COUNT; g++)
		for (int k = 0; k < p->nkinds && p->groups[g].n > 0; k++)
			for (int d = 0; d < p->ndistances; d++)
				sw->points[n++] = (struct point){
					.sweep = "distance", .group = g, .kind = p->kinds[k],
					.distance = p->distances[d], .n = p->groups[g].n,
					.cpus = p->groups[g].cpus };
	sw->nsweep = n;
	for (long i = 0; i < p->npairs; i++)
		sw->points[n++] = (struct point){ .sweep = "pairs", .group = -1, .kind = p->pair_kind,
						  .distance = FS_PAIR_DISTANCE, .n = 2,
						  .cpus = &p->pair_cpus[2 * i] };
	if (p->fix_group >= 0)
		sw->points[n++] = (struct point){
			.sweep = "fix", .group = p->fix_group,
			.distance = fs_workload_worker_stats.struct_bytes,
			.n = p->groups[p->fix_group].n, .cpus = p->groups[p->fix_group].cpus };
	return n;
}

int falseshare_experiment(struct run *r, const struct falseshare_plan *p, double budget_s)
{
	char err[ERRLEN];
	struct sweep sw = { .r = r, .p = p, .csv = { .fd = -1 } };
	long capacity = FS_PLACEMENT_COUNT * p->nkinds * p->ndistances + p->npairs + 1;
	json_t *experiment = fs_sweep_plan_description(&sw);
	int exit_code = EXIT_RUNTIME;
	uint64_t started = monotonic_ns();
	long not_measured = 0, *order = NULL;

	json_object_set_new(json_object_get(r->meta, "experiments"), "falseshare", experiment);
	json_object_set_new(experiment, "budget_reductions",
			    json_string(p->reductions[0] ? p->reductions : "none"));
	json_object_set_new(experiment, "counters", fs_sweep_counters_description(p));
	sw.points = calloc((size_t)capacity, sizeof *sw.points);
	sw.outcomes = calloc((size_t)capacity, sizeof *sw.outcomes);
	if (sw.points == NULL || sw.outcomes == NULL) {
		fprintf(stderr, "cohmap: out of memory for %ld false-sharing points\n", capacity);
		goto out;
	}
	/* The count is fixed from here on: a local, which no call given &sw
	 * can be suspected of changing. */
	const long npoints = sw.npoints = build_points(&sw);
	/* The fix demo first (one point, and the one a small budget should not
	 * lose), then the sweep and the heatmap's pairs in one shuffled order. */
	if ((order = malloc((size_t)npoints * sizeof *order)) == NULL) {
		fprintf(stderr, "cohmap: out of memory for %ld false-sharing points\n", npoints);
		goto out;
	}
	bool has_fix = p->fix_group >= 0;
	long k = 0;
	if (has_fix)
		order[k++] = npoints - 1;
	for (long i = 0; i < npoints - has_fix; i++)
		order[k++] = i;
	/* Shuffled so that slow drift spreads over the sweep as noise instead of
	 * bending the curve along the distance axis. */
	shuffle(order + has_fix, (size_t)(npoints - has_fix), sizeof *order, p->seed);
	if (numa_available() < 0)
		run_warn(r, "libnuma reports no NUMA support: counters are not placed");
	if (fs_sweep_csv_open(&sw, err) != 0 || run_save_meta(r) != 0) {
		fprintf(stderr, "cohmap: %s\n", err);
		goto out;
	}
	if (!r->quiet)
		fs_sweep_print_plan(&sw);

	struct progress bar;
	progress_start(&bar, r->progress, "falseshare", npoints);
	for (long done = 0; done < npoints && !cohmap_interrupted; done++) {
		long i = order[done];
		const struct point *pt = &sw.points[i];
		double elapsed = (double)(monotonic_ns() - started) / 1e9;
		if (budget_s > 0 && elapsed > budget_s) {
			not_measured = npoints - done;
			run_warn(r, "falseshare: the %.0f s budget ran out; %ld of %ld points were "
				 "not measured", budget_s, not_measured, npoints);
			break;
		}
		if (pt->kind == NULL)
			sw.fix_items = size_fix_work(&sw, &p->groups[pt->group]);
		bool on_schedule = budget_s <= 0 ||
				   elapsed <= budget_s * (double)(done + 1) / (double)npoints;
		measure_point(&sw, pt, &sw.outcomes[i], on_schedule);
		if (sw.outcomes[i].status == FS_RUN_INTERRUPTED) {
			sw.outcomes[i].measured = false;
			break;
		}
		sw.measured++;
		sw.repeated += sw.outcomes[i].repeated;
		sw.disturbed += sw.outcomes[i].disturbed;
		if (sw.outcomes[i].disturbed)
			snprintf(sw.disturbance, sizeof sw.disturbance, "%s", sw.outcomes[i].disturbance);
		if (sw.outcomes[i].status == FS_RUN_FAILED) {
			char cpus[256];
			fs_cpu_list(pt->cpus, pt->n, ",", cpus, sizeof cpus);
			sw.failed++;
			run_warn(r, "falseshare: %s %s d = %zu B on CPUs %s failed: %s",
				 point_placement(pt), point_kind_name(pt), pt->distance, cpus,
				 sw.outcomes[i].reason);
		} else {
			sw.runs += 2 * p->rounds;
		}
		if (fs_sweep_write_rows(&sw, pt, &sw.outcomes[i], err) != 0) {
			fprintf(stderr, "cohmap: %s\n", err);
			goto out;
		}
		progress_update(&bar, done + 1);
	}
	progress_end(&bar);
	if (csv_writer_close(&sw.csv, err) != 0) {
		fprintf(stderr, "cohmap: %s\n", err);
		goto out;
	}
	json_object_set_new(experiment, "points_planned", json_integer(npoints));
	json_object_set_new(experiment, "points_measured", json_integer(sw.measured));
	json_object_set_new(experiment, "points_failed", json_integer(sw.failed));
	json_object_set_new(experiment, "points_not_measured_budget", json_integer(not_measured));
	json_object_set_new(experiment, "runs_kept", json_integer(sw.runs));
	json_object_set_new(experiment, "runs_repeated_disturbed", json_integer(sw.repeated));
	json_object_set_new(experiment, "runs_kept_disturbed", json_integer(sw.disturbed));
	if (sw.disturbed > 0)
		run_warn(r, "falseshare: %ld of %ld runs were still disturbed after %d repeats (last: "
			 "%s): other tasks share these CPUs, so those points are noisy",
			 sw.disturbed, sw.runs, MAX_REPEATS, sw.disturbance);
	if (cohmap_interrupted) {
		json_object_set_new(experiment, "status", json_string("interrupted"));
		fprintf(stderr, "cohmap: interrupted after %ld of %ld false-sharing points; they are "
			"in %s\n", sw.measured, npoints, r->dir);
		exit_code = EXIT_INTERRUPTED;
		goto out;
	}
	json_object_set_new(experiment, "status", json_string("complete"));
	exit_code = sw.measured > 0 && sw.failed == sw.measured ? EXIT_RUNTIME : EXIT_DONE;
	exit_code = fs_sweep_report(&sw, experiment, exit_code);
out:
	if (sw.csv.fd >= 0)
		csv_writer_close(&sw.csv, err);
	for (long i = 0; sw.outcomes && i < sw.npoints; i++)
		free(sw.outcomes[i].threads);
	free(sw.points);
	free(sw.outcomes);
	free(order);
	return exit_code;
}
