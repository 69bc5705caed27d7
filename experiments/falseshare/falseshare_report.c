/* What the false-sharing sweep reports: falseshare.csv (one row per thread
 * and point, appended as points finish), the tables of slowdowns, rates,
 * coherence events, pairs and the fix demo, meta.json's description of the
 * plan, the worst point, the plots and the summary line. falseshare_sweep.c
 * measures the points. */
#include "experiments/falseshare/falseshare_sweep.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/csv.h"
#include "base/stats.h"
#include "experiments/experiment.h"
#include "experiments/falseshare/falseshare_plot.h"
#include "harness/agents.h"
#include "plots/plot.h"

static const char *const fs_columns[] = {
	"sweep", "placement", "pair_class", "threads", "cpus", "kind", "role", "thread", "cpu",
	"distance_bytes", "padded_stride_bytes", "counter_bytes", "line_size_bytes", "home_node",
	"agents", "rounds", "rounds_used", "repeated_runs", "disturbed_runs", "run_ms", "status",
	"false_shared_ops", "padded_ops", "false_shared_ops_per_s", "padded_ops_per_s",
	"slowdown", "slowdown_min", "slowdown_max",
	/* coherence events per operation (harness/counters.h), NA with a reason */
	"counter_event", "false_shared_events_per_op", "padded_events_per_op", "counter_reason",
	"reason",
};
enum { FS_COLUMNS = ARRAY_SIZE(fs_columns) };

/* ---- helpers the sweep shares ---- */

/* Median of the finite values among v[0], v[stride], ...; NAN if none. */
double fs_finite_median(const double *v, int n, int stride, double *scratch, double *lo,
			double *hi)
{
	long m = 0;
	for (int i = 0; i < n; i++)
		if (isfinite(v[i * stride]))
			scratch[m++] = v[i * stride];
	if (m == 0) {
		if (lo)
			*lo = *hi = NAN;
		return NAN;
	}
	struct summary s;
	summarize(scratch, m, &s);
	if (lo) {
		*lo = s.min;
		*hi = s.max;
	}
	return s.median;
}

enum pair_class fs_farthest_class(const struct topology *t, const int *cpus, int n)
{
	enum pair_class worst = PAIR_SELF;
	for (int a = 0; a < n; a++)
		for (int b = a + 1; b < n; b++) {
			enum pair_class c = topology_pair_class(t, cpus[a], cpus[b]);
			if (c != PAIR_CLASS_COUNT && c > worst)
				worst = c;
		}
	return worst;
}

void fs_cpu_list(const int *cpus, int n, const char *sep, char *buf, size_t size)
{
	size_t used = 0;
	buf[0] = '\0';
	for (int i = 0; i < n && used + 1 < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%d", i ? sep : "", cpus[i]);
}

/* ---- the CSV ---- */

static void number(char *cell, double v, const char *format)
{
	if (isfinite(v))
		snprintf(cell, ERRLEN, format, v);
	else
		snprintf(cell, ERRLEN, "NA");
}

int fs_sweep_csv_open(struct sweep *sw, char *err)
{
	char path[PATH_MAX];
	return csv_writer_open(&sw->csv, run_path(sw->r, "falseshare.csv", path, sizeof path),
			       fs_columns, FS_COLUMNS, false, err);
}

int fs_sweep_write_rows(struct sweep *sw, const struct point *pt, const struct point_outcome *o,
			char *err)
{
	const struct falseshare_plan *p = sw->p;
	const struct topology *t = &sw->r->topology;
	char cells[FS_COLUMNS][ERRLEN], cpus[ERRLEN];
	const char *row[FS_COLUMNS];
	bool ok = o->status == FS_RUN_OK;
	fs_cpu_list(pt->cpus, pt->n, " ", cpus, sizeof cpus);
	for (int i = 0; i < pt->n; i++) {
		const struct thread_outcome *th = &o->threads[i];
		int c = 0;
		snprintf(cells[c++], ERRLEN, "%s", pt->sweep);
		snprintf(cells[c++], ERRLEN, "%s", point_placement(pt));
		snprintf(cells[c++], ERRLEN, "%s", pair_class_name(fs_farthest_class(t, pt->cpus, pt->n)));
		snprintf(cells[c++], ERRLEN, "%d", pt->n);
		snprintf(cells[c++], ERRLEN, "%s", cpus);
		snprintf(cells[c++], ERRLEN, "%s", point_kind_name(pt));
		snprintf(cells[c++], ERRLEN, "%s", fs_role_name(th->role));
		snprintf(cells[c++], ERRLEN, "%d", i);
		snprintf(cells[c++], ERRLEN, "%d", pt->cpus[i]);
		snprintf(cells[c++], ERRLEN, "%zu", pt->distance);
		snprintf(cells[c++], ERRLEN, "%zu", p->padded_stride);
		snprintf(cells[c++], ERRLEN, "%zu",
			 pt->kind ? FS_COUNTER_BYTES : fs_workload_worker_stats.struct_bytes);
		snprintf(cells[c++], ERRLEN, "%zu", p->line_size);
		snprintf(cells[c++], ERRLEN, "%d", o->home_node);
		snprintf(cells[c++], ERRLEN, "%s", agent_kind_name(p->agents));
		snprintf(cells[c++], ERRLEN, "%ld", p->rounds);
		snprintf(cells[c++], ERRLEN, "%d", o->rounds_used);
		snprintf(cells[c++], ERRLEN, "%d", o->repeated);
		snprintf(cells[c++], ERRLEN, "%d", o->disturbed);
		/* The fix demo runs a fixed amount of work, not a fixed time. */
		number(cells[c++], pt->kind ? p->run_ms : NAN, "%g");
		snprintf(cells[c++], ERRLEN, "%s", ok ? "ok" : "failed");
		snprintf(cells[c++], ERRLEN, "%llu", (unsigned long long)th->shared_ops);
		snprintf(cells[c++], ERRLEN, "%llu", (unsigned long long)th->padded_ops);
		number(cells[c++], ok ? th->shared_rate : NAN, "%.6g");
		number(cells[c++], ok ? th->padded_rate : NAN, "%.6g");
		number(cells[c++], ok ? th->slowdown : NAN, "%.4g");
		number(cells[c++], ok ? th->slowdown_min : NAN, "%.4g");
		number(cells[c++], ok ? th->slowdown_max : NAN, "%.4g");
		snprintf(cells[c++], ERRLEN, "%s", o->counter_event[0] ? o->counter_event : "NA");
		number(cells[c++], ok ? th->shared_events : NAN, "%.4g");
		number(cells[c++], ok ? th->padded_events : NAN, "%.4g");
		snprintf(cells[c++], ERRLEN, "%s", o->counter_reason);
		snprintf(cells[c++], ERRLEN, "%s", ok ? "" : o->reason);
		for (int k = c - 5; k < c; k++) /* names and reasons: keep each one cell */
			for (char *ch = cells[k]; *ch; ch++)
				if (*ch == ',' || *ch == '"' || *ch == '\n')
					*ch = ';';
		for (int k = 0; k < FS_COLUMNS; k++)
			row[k] = cells[k];
		if (csv_writer_row(&sw->csv, row, err) != 0)
			return -1;
	}
	return 0;
}

/* ---- the tables ---- */

/* The median over the threads of one role of one point (all threads for
 * the updater kinds), of the slowdown or of a rate. */
enum statistic { SLOWDOWN, SHARED_RATE, PADDED_RATE, SHARED_EVENTS };

static double role_median(const struct point *pt, const struct point_outcome *o, enum fs_role role,
			  enum statistic what)
{
	double v[MAX_AGENTS], scratch[MAX_AGENTS];
	int m = 0;
	if (!o->measured || o->status != FS_RUN_OK)
		return NAN;
	for (int i = 0; i < pt->n; i++)
		if (o->threads[i].role == role)
			v[m++] = what == SLOWDOWN ? o->threads[i].slowdown
				 : what == SHARED_RATE ? o->threads[i].shared_rate
				 : what == PADDED_RATE ? o->threads[i].padded_rate
						       : o->threads[i].shared_events;
	return m ? fs_finite_median(v, m, 1, scratch, NULL, NULL) : NAN;
}

static long find_point(const struct sweep *sw, int group, const struct fs_kind *k, size_t d)
{
	for (long i = 0; i < sw->nsweep; i++)
		if (sw->points[i].group == group && sw->points[i].kind == k &&
		    sw->points[i].distance == d)
			return i;
	return -1;
}

static void print_value(double v, enum statistic what)
{
	if (isnan(v))
		printf(" %7s", "-");
	else if (what == SLOWDOWN || what == SHARED_EVENTS)
		printf(" %7.2f", v);
	else
		printf(" %7.3g", v / 1e6);
}

static void print_sweep_table(const struct sweep *sw, enum statistic what)
{
	const struct falseshare_plan *p = sw->p;
	printf("%-13s %-22s", "placement", "kind / role");
	for (int d = 0; d < p->ndistances; d++) {
		char head[16];
		snprintf(head, sizeof head, "%s%zu", d == 0 ? "d=" : "", p->distances[d]);
		printf(" %7s", head);
	}
	printf("\n");
	for (int g = 0; g < FS_PLACEMENT_COUNT; g++) {
		if (p->groups[g].n == 0)
			continue;
		bool first = true;
		for (int k = 0; k < p->nkinds; k++)
			for (int role = 0; role < FS_ROLE_COUNT; role++) {
				if ((role == FS_UPDATER) == p->kinds[k]->one_writer)
					continue;
				char label[48];
				snprintf(label, sizeof label, "%s%s%s", p->kinds[k]->name,
					 role == FS_UPDATER ? "" : " ",
					 role == FS_UPDATER ? "" : fs_role_name(role));
				printf("%-13s %-22s", first ? fs_placement_name(g) : "", label);
				first = false;
				for (int d = 0; d < p->ndistances; d++) {
					long i = find_point(sw, g, p->kinds[k], p->distances[d]);
					print_value(i < 0 ? NAN : role_median(&sw->points[i],
						    &sw->outcomes[i], role, what), what);
				}
				printf("\n");
			}
	}
}

/* Coherence events per update next to the slowdowns, or why there are none. */
static void print_events(const struct sweep *sw)
{
	bool any = false;
	const char *why = "";
	for (long i = 0; i < sw->nsweep; i++) {
		const struct point_outcome *o = &sw->outcomes[i];
		if (!o->measured || o->status != FS_RUN_OK)
			continue;
		for (int k = 0; k < sw->points[i].n; k++)
			any |= isfinite(o->threads[k].shared_events);
		if (o->counter_reason[0])
			why = o->counter_reason;
	}
	if (!any) {
		printf("\ncoherence events per update: NA (%s)\n", why);
		return;
	}
	long first = 0;
	while (first < sw->nsweep && !sw->outcomes[first].measured)
		first++;
	printf("\ncoherence events per update, false-shared (%s), median over rounds and threads\n",
	       first < sw->nsweep ? sw->outcomes[first].counter_event : "");
	print_sweep_table(sw, SHARED_EVENTS);
}

static void print_pairs(const struct sweep *sw)
{
	const struct topology *t = &sw->r->topology;
	long measured = 0;
	for (long i = sw->nsweep; i < sw->npoints; i++)
		measured += sw->points[i].group == -1 && sw->outcomes[i].measured;
	if (measured == 0)
		return;
	printf("\npair heatmap (%s, d = %d B): each thread's slowdown, per pair class min / median "
	       "/ max over threads\n", sw->p->pair_kind->name, FS_PAIR_DISTANCE);
	printf("%-13s %6s %8s %8s %8s\n", "class", "pairs", "min", "median", "max");
	double *v = malloc((size_t)(2 * (sw->npoints - sw->nsweep) + 1) * sizeof *v);
	for (int c = 0; c < PAIR_CLASS_COUNT && v; c++) {
		long pairs = 0, m = 0, failed = 0;
		for (long i = sw->nsweep; i < sw->npoints; i++) {
			const struct point *pt = &sw->points[i];
			if (pt->group != -1 || !sw->outcomes[i].measured ||
			    (int)topology_pair_class(t, pt->cpus[0], pt->cpus[1]) != c)
				continue;
			pairs++;
			if (sw->outcomes[i].status != FS_RUN_OK) {
				failed++;
				continue;
			}
			for (int k = 0; k < 2; k++)
				if (isfinite(sw->outcomes[i].threads[k].slowdown))
					v[m++] = sw->outcomes[i].threads[k].slowdown;
		}
		if (pairs == 0)
			continue;
		struct summary s = { .min = NAN, .median = NAN, .max = NAN };
		if (m > 0)
			summarize(v, m, &s);
		printf("%-13s %6ld %8.2f %8.2f %8.2f%s\n", pair_class_name(c), pairs, s.min, s.median,
		       s.max, failed ? "  (some failed)" : "");
	}
	free(v);
}

static void print_fix(const struct sweep *sw, const struct point *pt, const struct point_outcome *o)
{
	const struct falseshare_plan *p = sw->p;
	char cpus[256];
	fs_cpu_list(pt->cpus, pt->n, ",", cpus, sizeof cpus);
	printf("\nthe fix: the same work on a packed and on a padded struct (%s placement, %d "
	       "threads on CPUs %s,\n%llu items each, %ld interleaved rounds)\n",
	       fs_placement_name(pt->group), pt->n, cpus, (unsigned long long)sw->fix_items,
	       p->rounds);
	printf("  struct worker_stats { _Atomic uint64_t items, total; };  /* %zu bytes */\n",
	       fs_workload_worker_stats.struct_bytes);
	printf("  packed: struct worker_stats stats[%d];   padded: each in its own %zu-byte block, "
	       "%zu-byte aligned (2 x %zu-byte line)\n\n", pt->n, p->padded_stride,
	       p->padded_stride, p->line_size);
	if (o->status != FS_RUN_OK) {
		printf("  failed: %s\n", o->reason);
		return;
	}
	char left[64], right[64];
	printf("  %-34s %-24s %-24s\n", "", "packed", "padded");
	snprintf(left, sizeof left, "%zu B apart", fs_workload_worker_stats.struct_bytes);
	snprintf(right, sizeof right, "%zu B apart", p->padded_stride);
	printf("  %-34s %-24s %-24s\n", "neighbouring structs", left, right);
	snprintf(left, sizeof left, "%.2f", o->shared_job_s * 1e3);
	snprintf(right, sizeof right, "%.2f", o->padded_job_s * 1e3);
	printf("  %-34s %-24s %-24s\n", "time for the whole job [ms]", left, right);
	snprintf(left, sizeof left, "%.3g", o->shared_item_rate / 1e6);
	snprintf(right, sizeof right, "%.3g", o->padded_item_rate / 1e6);
	printf("  %-34s %-24s %-24s\n", "items/s per thread [millions]", left, right);
	printf("  %-34s %-24s %-24s\n", "every struct matches its work", "yes", "yes");
	printf("  padding makes the job %.2fx as fast: the median over rounds of packed / padded "
	       "time;\n  the times and rates above are the round nearest to that median\n",
	       o->job_ratio);
}

/* ---- meta.json ---- */

json_t *fs_sweep_plan_description(const struct sweep *sw)
{
	const struct falseshare_plan *p = sw->p;
	const struct topology *t = &sw->r->topology;
	json_t *kinds = json_array(), *distances = json_array(), *placements = json_object();
	for (int k = 0; k < p->nkinds; k++)
		json_array_append_new(kinds, json_string(p->kinds[k]->name));
	for (int d = 0; d < p->ndistances; d++)
		json_array_append_new(distances, json_integer((json_int_t)p->distances[d]));
	for (int g = 0; g < FS_PLACEMENT_COUNT; g++) {
		const struct fs_group *grp = &p->groups[g];
		if (!grp->requested)
			continue;
		if (grp->n == 0) {
			json_object_set_new(placements, fs_placement_name(g),
					    json_pack("{s:s}", "skipped", grp->why));
			continue;
		}
		json_t *cpus = json_array();
		for (int i = 0; i < grp->n; i++)
			json_array_append_new(cpus, json_integer(grp->cpus[i]));
		json_object_set_new(placements, fs_placement_name(g),
			json_pack("{s:s, s:i, s:o, s:s}", "description", fs_placement_description(g),
				  "threads", grp->n, "cpus", cpus, "pair_class",
				  pair_class_name(fs_farthest_class(t, grp->cpus, grp->n))));
	}
	const char *home = p->home == HOME_FIRST ? "first" : p->home == HOME_SECOND ? "second" : "node";
	return json_pack(
		"{s:s, s:i, s:s, s:o, s:o, s:o, s:s, s:I, s:s, s:I, s:f, s:f, s:I, s:s, s:i, s:I, s:s,"
		" s:I, s:s, s:I, s:I, s:s}",
		"status", "running", "threads_requested", p->threads,
		"agents", agent_kind_name(p->agents), "kinds", kinds,
		"distances_bytes", distances, "placements", placements,
		"pairs", fs_pairs_name(p->pairs), "pairs_planned", (json_int_t)p->npairs,
		"pair_kind", p->pair_kind->name, "pair_distance_bytes", (json_int_t)FS_PAIR_DISTANCE,
		"run_ms", p->run_ms, "watchdog_s", p->watchdog_s, "rounds", (json_int_t)p->rounds,
		"home", home, "home_node", p->home == HOME_NODE ? p->home_node : -1,
		"seed", (json_int_t)p->seed, "line_size_source", t->source,
		"line_size_bytes", (json_int_t)p->line_size,
		"padding", "padded baseline and fix demo: blocks of 2 lines (the adjacent-line "
			   "prefetcher's pair), from the topology's line size",
		"padded_stride_bytes", (json_int_t)p->padded_stride,
		"counter_bytes", (json_int_t)FS_COUNTER_BYTES,
		"statistic", "slowdown of a thread = median over interleaved rounds of (padded "
			     "ops/s / false-shared ops/s); ops/s = median over rounds; rounds with a "
			     "disturbed run are left out when at least half are clean (rounds_used); "
			     "plots and tables: median over the threads of a role");
}

json_t *fs_sweep_counters_description(const struct falseshare_plan *p)
{
	if (p->events.n == 0)
		return json_pack("{s:b, s:s}", "counted", 0, "reason", "--events none");
	json_t *events = json_array();
	for (int k = 0; k < p->ncoherence; k++) {
		int e = p->coherence[k];
		json_t *one = json_pack("{s:s, s:b}", "name", p->events.names[e], "countable",
					p->events.backend[e] != EVENT_NONE);
		if (p->events.backend[e] == EVENT_NONE)
			json_object_set_new(one, "reason", json_string(p->events.reason[e]));
		json_array_append_new(events, one);
	}
	return json_pack("{s:b, s:s, s:s, s:o}", "counted", p->ncoherence > 0,
			 "auto_table_row", p->events.auto_label,
			 "columns", "false_shared_events_per_op, padded_events_per_op: the sum of these "
				    "events over a thread's timed window divided by its operations, "
				    "median of rounds; NA with counter_reason when not countable",
			 "coherence_events", events);
}

/* The worst per-thread slowdown among the sweep and the pairs. */
static long worst_point(const struct sweep *sw, int *thread)
{
	long best = -1;
	double worst = -1;
	for (long i = 0; i < sw->npoints; i++) {
		const struct point_outcome *o = &sw->outcomes[i];
		if (sw->points[i].kind == NULL || !o->measured || o->status != FS_RUN_OK)
			continue;
		for (int k = 0; k < sw->points[i].n; k++)
			if (o->threads[k].slowdown > worst) {
				worst = o->threads[k].slowdown;
				best = i;
				*thread = k;
			}
	}
	return best;
}

static void describe_worst(const struct sweep *sw, long i, int k, char *buf, size_t size)
{
	const struct point *pt = &sw->points[i];
	const struct thread_outcome *th = &sw->outcomes[i].threads[k];
	char cpus[256];
	fs_cpu_list(pt->cpus, pt->n, ",", cpus, sizeof cpus);
	snprintf(buf, size, "worst slowdown %.1fx: %s%s%s on CPU %d at d = %zu B, %s%s (CPUs %s, %s)",
		 th->slowdown, pt->kind->name, pt->kind->one_writer ? " " : "",
		 pt->kind->one_writer ? fs_role_name(th->role) : "", pt->cpus[k], pt->distance,
		 pt->group >= 0 ? "placement " : "", point_placement(pt), cpus,
		 pair_class_name(fs_farthest_class(&sw->r->topology, pt->cpus, pt->n)));
}

/* ---- the experiment ---- */
void fs_sweep_print_plan(const struct sweep *sw)
{
	const struct falseshare_plan *p = sw->p;
	const struct topology *t = &sw->r->topology;
	printf("\nfalseshare: %d %s per run; line %zu B (%s); padded baseline: counters %zu B "
	       "apart (2 lines); counters %zu B\n", p->threads,
	       p->agents == AGENTS_THREADS ? "threads" : "processes", p->line_size, t->source,
	       p->padded_stride, FS_COUNTER_BYTES);
	if (p->agents != AGENTS_THREADS)
		printf("  agents: processes sharing the counters through %s memory\n",
		       agent_kind_name(p->agents));
	for (int g = 0; g < FS_PLACEMENT_COUNT; g++) {
		const struct fs_group *grp = &p->groups[g];
		if (!grp->requested)
			continue;
		char cpus[256];
		fs_cpu_list(grp->cpus, grp->n, ",", cpus, sizeof cpus);
		if (grp->n > 0)
			printf("  placement %-13s %d threads on CPUs %s (%s; farthest pair: %s)\n",
			       fs_placement_name(g), grp->n, cpus, fs_placement_description(g),
			       pair_class_name(fs_farthest_class(t, grp->cpus, grp->n)));
		else
			printf("  placement %-13s skipped: %s\n", fs_placement_name(g), grp->why);
	}
	printf("  pair heatmap: %ld pair%s (%s), %s at d = %d B\n", p->npairs,
	       p->npairs == 1 ? "" : "s", fs_pairs_name(p->pairs), p->pair_kind->name,
	       FS_PAIR_DISTANCE);
}
int fs_sweep_report(struct sweep *sw, json_t *experiment, int exit_code)
{
	struct run *r = sw->r;
	const struct falseshare_plan *p = sw->p;
	const long npoints = sw->npoints;
	char err[ERRLEN];

	long fix = npoints - 1;
	bool have_fix = p->fix_group >= 0 && sw->outcomes[fix].measured;
	if (!r->quiet && sw->nsweep > 0) {
		printf("\nslowdown per thread = padded ops/s / false-shared ops/s, median of %ld "
		       "interleaved rounds of %g ms;\nshown: median over the threads of a role; "
		       "d in bytes (0: one shared counter)\n", p->rounds, p->run_ms);
		print_sweep_table(sw, SLOWDOWN);
		printf("\nfalse-shared ops/s per thread [millions], median over rounds and threads\n");
		print_sweep_table(sw, SHARED_RATE);
		printf("\npadded ops/s per thread [millions] (counters %zu B apart), the same runs' "
		       "partners\n", p->padded_stride);
		print_sweep_table(sw, PADDED_RATE);
		print_events(sw);
	}
	if (!r->quiet)
		printf("\nruns: %ld kept, %ld more repeated because a thread was switched out or the "
		       "threads did not run together; %ld kept disturbed\n", sw->runs, sw->repeated,
		       sw->disturbed);
	if (!r->quiet && p->npairs > 0)
		print_pairs(sw);
	if (!r->quiet && have_fix)
		print_fix(sw, &sw->points[fix], &sw->outcomes[fix]);
	if (have_fix && sw->outcomes[fix].status == FS_RUN_OK) {
		const struct point_outcome *o = &sw->outcomes[fix];
		json_object_set_new(experiment, "fix", json_pack(
			"{s:s, s:s, s:I, s:I, s:I, s:f, s:f, s:f}", "workload",
			fs_workload_worker_stats.name, "placement", fs_placement_name(p->fix_group),
			"items_per_thread", (json_int_t)sw->fix_items,
			"packed_stride_bytes", (json_int_t)fs_workload_worker_stats.struct_bytes,
			"padded_stride_bytes", (json_int_t)p->padded_stride,
			"packed_job_ms", o->shared_job_s * 1e3, "padded_job_ms", o->padded_job_s * 1e3,
			"speedup", o->job_ratio));
	}

	char headline[ERRLEN] = "no point was measured";
	int worst_thread = 0;
	long worst = worst_point(sw, &worst_thread);
	if (worst >= 0) {
		describe_worst(sw, worst, worst_thread, headline, sizeof headline);
		const struct point *pt = &sw->points[worst];
		json_object_set_new(experiment, "worst", json_pack(
			"{s:f, s:s, s:s, s:s, s:i, s:I}", "slowdown",
			sw->outcomes[worst].threads[worst_thread].slowdown, "kind", pt->kind->name,
			"role", fs_role_name(sw->outcomes[worst].threads[worst_thread].role),
			"placement", point_placement(pt), "cpu", pt->cpus[worst_thread],
			"distance_bytes", (json_int_t)pt->distance));
		if (have_fix && sw->outcomes[fix].status == FS_RUN_OK) {
			size_t used = strlen(headline);
			snprintf(headline + used, sizeof headline - used,
				 "; padding to %zu B makes the fix demo %.2fx as fast", p->padded_stride,
				 sw->outcomes[fix].job_ratio);
		}
	}

	char why[ERRLEN];
	struct fs_plots drawn = { 0 };
	if (!plot_gnuplot_available(why, sizeof why)) {
		run_warn(r, "no false-sharing plot drawn: %s; falseshare.csv is complete", why);
		exit_code = exit_code == EXIT_DONE ? EXIT_PARTIAL : exit_code;
	} else if (plot_falseshare(r->dir, &r->topology, true, &drawn, err) < 0) {
		run_warn(r, "no false-sharing plot drawn: %s", err);
		exit_code = exit_code == EXIT_DONE ? EXIT_PARTIAL : exit_code;
	}
	const char *plots[3] = { NULL };
	int np = 0;
	if (drawn.distance)
		plots[np++] = "falseshare-distance.png";
	if (drawn.pairs)
		plots[np++] = "falseshare-pairs.png";
	if (!r->quiet && np > 0)
		for (int i = 0; i < np; i++)
			printf("%s %s/%s\n", i == 0 ? "\nplots:" : "      ", r->dir, plots[i]);
	const char *csv[] = { "falseshare.csv", NULL };
	experiment_describe(r, "falseshare", csv, plots, headline);
	if (!r->quiet)
		printf("\nsummary: %s\n", headline);
	return exit_code;
}
