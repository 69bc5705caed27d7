/* The latency matrix: every selected kernel on every ordered pair of the
 * selected CPUs, in shuffled order, with a reference pair measured again to
 * catch drift; --resume keeps the finished rows; latency.csv, meta.json, the
 * summary tables and the heatmaps. One pair is measured by
 * harness/latency_pair.c; each pair's row and the reference pair are in
 * latency_rows.c, shared with the engine of --parallel (latency_parallel.c). */
#include "experiments/latency/latency.h"
#include "experiments/latency/latency_matrix.h"
#include "experiments/latency/latency_plot.h"
#include "experiments/latency/pair_plan.h"
#include "experiments/latency/latency_model.h"
#include "experiments/latency/line_plan.h"
#include "base/shuffle.h"

#include <errno.h>
#include <math.h>
#include <numa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/csv.h"
#include "experiments/experiment.h"
#include "base/progress.h"
#include "kernels/registry.h"
#include "plots/plot.h"

/* Shuffled so that slow drift (thermal, the host moving vCPUs) spreads over
 * the matrix as noise instead of painting one region of it. With --lines,
 * the lines of one kernel and pair stay together (jobs holds them as runs of
 * `lines`), in a shuffled order of their own: they are measured one after
 * another, so what tells them apart is their address, not the drift of the
 * minutes between them. Returns -1 when out of memory. */
static int shuffle_jobs(struct job *jobs, long n, int lines, unsigned long seed)
{
	if (lines <= 1) {
		shuffle(jobs, (size_t)n, sizeof *jobs, seed);
		return 0;
	}
	long groups = n / lines;
	long *order = malloc((size_t)(groups ? groups : 1) * sizeof *order);
	struct job *copy = malloc((size_t)(n ? n : 1) * sizeof *copy);
	if (order == NULL || copy == NULL) {
		free(order);
		free(copy);
		return -1;
	}
	for (long g = 0; g < groups; g++)
		order[g] = g;
	shuffle(order, (size_t)groups, sizeof *order, seed);
	memcpy(copy, jobs, (size_t)n * sizeof *jobs);
	for (long g = 0; g < groups; g++) {
		memcpy(&jobs[g * lines], &copy[order[g] * lines], (size_t)lines * sizeof *jobs);
		shuffle(&jobs[g * lines], (size_t)lines, sizeof *jobs, seed + 1 + (unsigned long)g);
	}
	free(order);
	free(copy);
	return 0;
}

/* Median over pairs of the pair medians, for one kernel and class; NAN if none. */
static double class_median(const struct run *r, const struct kernel *k, int c, const struct job *jobs,
			   const struct outcome *results, long njobs, double *scratch)
{
	long n = 0;
	for (long j = 0; j < njobs; j++)
		if (jobs[j].kernel == k && results[j].status == PAIR_OK &&
		    (int)topology_pair_class(&r->topology, jobs[j].cpu_a, jobs[j].cpu_b) == c)
			scratch[n++] = results[j].median_ns;
	struct summary s;
	if (n == 0)
		return NAN;
	summarize(scratch, n, &s);
	return s.median;
}

/* "load_store: median one-way latency 48 ns (l3) to 131 ns (cross-socket)" */
static void describe(struct run *r, const struct latency_plan *p, const struct job *jobs,
		     const struct outcome *results, long njobs, bool plotted)
{
	char headline[ERRLEN] = "no pair was measured";
	double *scratch = malloc((size_t)(njobs ? njobs : 1) * sizeof *scratch);
	int nearest = -1, farthest = -1;
	double lo = NAN, hi = NAN;
	for (int c = 0; c < PAIR_CLASS_COUNT && scratch; c++) {
		double m = class_median(r, p->kernels[0], c, jobs, results, njobs, scratch);
		if (isnan(m))
			continue;
		if (nearest < 0)
			nearest = c, lo = m;
		farthest = c, hi = m;
	}
	if (nearest >= 0 && nearest == farthest)
		snprintf(headline, sizeof headline, "%s: median one-way latency %.0f ns (%s pairs)",
			 p->kernels[0]->name, lo, pair_class_name(nearest));
	else if (nearest >= 0)
		snprintf(headline, sizeof headline,
			 "%s: median one-way latency %.0f ns (%s) to %.0f ns (%s)", p->kernels[0]->name,
			 lo, pair_class_name(nearest), hi, pair_class_name(farthest));
	free(scratch);

	char names[128][80];
	const char *plots[129] = { NULL };
	for (int k = 0, n = 0; plotted && k < p->nkernels && k < 64; k++) {
		snprintf(names[n], sizeof names[n], "latency-%s.png", p->kernels[k]->name);
		plots[n] = names[n];
		n++;
		if (p->lines > 1) { /* one panel per home node of the lines */
			snprintf(names[n], sizeof names[n], "latency-%s-homes.png", p->kernels[k]->name);
			plots[n] = names[n];
			n++;
		}
	}
	/* --parallel: what measuring side by side did, per class. */
	json_t *classes = json_object_get(json_object_get(json_object_get(r->meta, "experiments"),
							  "latency"), "interference");
	const char *name;
	json_t *c;
	size_t used = strlen(headline);
	bool first = true;
	json_object_foreach(classes, name, c) {
		json_t *ratio = json_object_get(c, "ratio_median");
		if (!json_is_number(ratio) || used >= sizeof headline)
			continue;
		char pre[80];
		snprintf(pre, sizeof pre, "; %d pairs at once, parallel/serial median ratio: ", p->parallel);
		used += (size_t)snprintf(headline + used, sizeof headline - used,
			"%s%s %.3f (95%% CI %.3f-%.3f)%s", first ? pre : ", ", name,
			json_number_value(ratio), json_number_value(json_object_get(c, "ci95_low")),
			json_number_value(json_object_get(c, "ci95_high")),
			json_is_true(json_object_get(c, "remeasured_serially")) ? ", measured again alone" : "");
		first = false;
	}
	const char *csv[] = { "latency.csv", NULL };
	experiment_describe(r, "latency", csv, plots, headline);
}

static json_t *counters_description(const struct event_request *req)
{
	json_t *events = json_array(), *columns = json_object();
	for (int e = 0; e < req->n; e++) {
		static const char *const backend[] = { "none", "PAPI", "perf_event_open" };
		json_array_append_new(events, json_pack("{s:s, s:s, s:s}", "event", req->names[e],
			"column", req->columns[e], "counted_by", backend[req->backend[e]]));
		json_object_set_new(columns, req->columns[e], json_string(req->names[e]));
	}
	return json_pack("{s:o, s:o, s:s, s:{}, s:s}", "events", events, "columns", columns,
			 "auto_table_row", req->auto_label, "unavailable", "normalised",
			 "counts of both agents over the sampled batches / (samples x round trips x handoffs)");
}

static json_t *plan_description(const struct latency_plan *p)
{
	json_t *kernels = json_array(), *cpus = json_array();
	for (int i = 0; i < p->nkernels; i++)
		json_array_append_new(kernels, json_string(p->kernels[i]->name));
	for (int i = 0; i < p->ncpus; i++)
		json_array_append_new(cpus, json_integer(p->cpus[i]));
	const char *home = p->home == HOME_FIRST ? "first" : p->home == HOME_SECOND ? "second" : "node";
	const struct measure_options *m = &p->measure;
	return json_pack("{s:o, s:o, s:s, s:i, s:I, s:s, s:b, s:I, s:f, s:f, s:f, s:f, s:s, s:I, s:I, s:s, s:I, s:s}",
			 "kernels", kernels, "cpus_topology_order", cpus, "home", home,
			 "home_node", p->home == HOME_NODE ? p->home_node : -1,
			 "seed", (json_int_t)p->seed, "agents", agent_kind_name(m->agents),
			 "pause", m->pause,
			 "fixed_samples", (json_int_t)m->fixed_samples,
			 "precision", m->precision, "time_limit_s", m->time_limit_s,
			 "sample_target_ns", m->sample_target_ns, "watchdog_s", m->watchdog_s,
			 "statistic_plotted", p->stat, "max_pairs", (json_int_t)p->max_pairs,
			 "parallel", (json_int_t)p->parallel,
			 "values", "one-way latency = round trip / 2, in ns",
			 "lines", (json_int_t)p->lines,
			 "address_class", "the line's position in its page, in cache lines "
			 "(address bits 6-11 with 64-byte lines and 4 KiB pages)");
}

int latency_plan_from_meta(const json_t *meta, const struct topology *t, struct latency_plan *p,
			   char *err)
{
	json_t *e = json_object_get(json_object_get(meta, "experiments"), "latency");
	json_t *kernels = json_object_get(e, "kernels"), *cpus = json_object_get(e, "cpus_topology_order");
	const char *home = json_string_value(json_object_get(e, "home"));
	const char *stat = json_string_value(json_object_get(e, "statistic_plotted"));
	json_int_t seed = json_integer_value(json_object_get(e, "seed"));
	if (!json_is_object(e) || !json_is_array(kernels) || !json_is_array(cpus) || !home || !stat ||
	    !json_is_integer(json_object_get(e, "seed")) || json_array_size(cpus) < 2 ||
	    json_array_size(kernels) == 0 || json_array_size(cpus) > (size_t)t->ncpus) {
		set_error(err, "meta.json has no usable record of a latency run");
		return -1;
	}
	const struct kernel **chosen = (const struct kernel **)p->kernels;
	int *chosen_cpus = (int *)p->cpus;
	size_t i;
	json_t *v;
	json_array_foreach(kernels, i, v) {
		const struct kernel *k = json_is_string(v) ? kernel_find(json_string_value(v)) : NULL;
		if (k == NULL || i >= (size_t)kernel_count) {
			set_error(err, "meta.json names a kernel this cohmap does not have");
			return -1;
		}
		chosen[i] = k;
	}
	p->nkernels = (int)json_array_size(kernels);
	json_array_foreach(cpus, i, v) {
		const struct cpu_place *place = json_is_integer(v) ? topology_find(t, (int)json_integer_value(v)) : NULL;
		if (place == NULL || !place->online || !place->allowed) {
			set_error(err, "meta.json names CPU %lld, which this process cannot use",
				  json_is_integer(v) ? (long long)json_integer_value(v) : -1LL);
			return -1;
		}
		chosen_cpus[i] = place->cpu;
	}
	p->ncpus = (int)json_array_size(cpus);
	p->home = strcmp(home, "second") == 0 ? HOME_SECOND : strcmp(home, "node") == 0 ? HOME_NODE : HOME_FIRST;
	p->home_node = (int)json_integer_value(json_object_get(e, "home_node"));
	p->seed = (unsigned long)seed;
	p->stat = strcmp(stat, "min") == 0 ? "min" : "median";
	struct measure_options *m = &p->measure;
	m->pause = json_is_true(json_object_get(e, "pause"));
	m->fixed_samples = (long)json_integer_value(json_object_get(e, "fixed_samples"));
	/* the same seed and limit choose the same sample of pairs again */
	p->max_pairs = (long)json_integer_value(json_object_get(e, "max_pairs"));
	/* absent before --parallel existed: one pair at a time */
	p->parallel = (int)json_integer_value(json_object_get(e, "parallel"));
	/* absent before --lines existed: one line per pair */
	json_int_t lines = json_integer_value(json_object_get(e, "lines"));
	p->lines = lines >= 1 && lines <= LINES_MAX ? (int)lines : 1;
	m->precision = json_number_value(json_object_get(e, "precision"));
	m->time_limit_s = json_number_value(json_object_get(e, "time_limit_s"));
	m->sample_target_ns = json_number_value(json_object_get(e, "sample_target_ns"));
	m->watchdog_s = json_number_value(json_object_get(e, "watchdog_s"));
	m->line_size = (size_t)t->line_size;
	const char *agents = json_string_value(json_object_get(e, "agents"));
	m->agents = agents && agent_kind_from_name(agents) >= 0 ? (enum agent_kind)agent_kind_from_name(agents)
								 : AGENTS_THREADS;
	if (m->precision <= 0 || m->time_limit_s <= 0 || m->sample_target_ns <= 0 || m->watchdog_s <= 0 ||
	    m->fixed_samples < 0) {
		set_error(err, "meta.json records measurement options out of range");
		return -1;
	}
	p->resume = true;
	return 0;
}

static bool same_job(const struct job *j, const char *kernel, int a, int b, int line)
{
	return j->cpu_a == a && j->cpu_b == b && j->line == line && strcmp(j->kernel->name, kernel) == 0;
}

/* For --resume: keeps the ok rows of latency.csv (rewritten atomically without
 * the failed ones, which are measured again) and marks their jobs done, with
 * their statistics, so the summary and plots cover the whole matrix. A run
 * from before --lines has no line and address_class columns: its rows are
 * line 0, at class 0, where every line was then. Returns the number of jobs
 * already done, -1 with a message. */
static long keep_finished_rows(const char *path, const struct latency_plan *p,
			       const struct columns *columns, struct job *jobs, struct outcome *results,
			       long njobs, char *err)
{
	struct csv old;
	if (csv_read(path, &old, err) != 0)
		return -1;
	long kept = 0;
	size_t cap = 4096, len = 0;
	char *text = malloc(cap);
	int from[LATENCY_MAX_COLUMNS], found = 0;
	for (int c = 0; c < columns->n; c++) {
		from[c] = csv_column(&old, columns->names[c]);
		found += from[c] >= 0;
		if (from[c] < 0 && strcmp(columns->names[c], "line") != 0 &&
		    strcmp(columns->names[c], "address_class") != 0) {
			set_error(err, "%s has other columns than this cohmap writes", path);
			goto fail;
		}
	}
	if (found != old.ncols) {
		set_error(err, "%s has other columns than this cohmap writes", path);
		goto fail;
	}
	for (int row = -1; row < old.nrows && text; row++) {
		if (row >= 0) {
			const char *status = csv_cell(&old, row, "status");
			double a, b, line = 0;
			if (!status || strcmp(status, "ok") != 0 || !csv_number(&old, row, "cpu_a", &a) ||
			    !csv_number(&old, row, "cpu_b", &b) ||
			    (csv_column(&old, "line") >= 0 && !csv_number(&old, row, "line", &line)))
				continue;
			long j = 0;
			while (j < njobs && !same_job(&jobs[j], csv_cell(&old, row, "kernel"), (int)a, (int)b,
						      (int)line))
				j++;
			if (j == njobs || results[j].status == PAIR_OK)
				continue; /* not in the plan, or a repeat */
			double per_handoff[MAX_EVENTS];
			csv_number(&old, row, "median_ns", &results[j].median_ns);
			for (int e = 0; e < p->events.n; e++)
				if (!csv_number(&old, row, p->events.columns[e], &per_handoff[e]))
					per_handoff[e] = NAN;
			results[j].fills_per_handoff = fills_of(p, per_handoff);
			results[j].status = PAIR_OK;
			kept++;
		}
		for (int c = 0; c < columns->n; c++) {
			const char *cell = row < 0 ? columns->names[c]
					 : from[c] >= 0 ? old.cells[row][from[c]] : "0";
			size_t need = strlen(cell) + 2;
			if (len + need + 1 > cap) {
				char *bigger = realloc(text, cap *= 2);
				if (bigger == NULL)
					break;
				text = bigger;
			}
			len += (size_t)sprintf(text + len, "%s%s", cell, c + 1 < columns->n ? "," : "\n");
		}
	}
	if (text == NULL) {
		set_error(err, "out of memory reading %s", path);
		goto fail;
	}
	if (write_file_atomic(path, text, len, err) != 0)
		goto fail;
	free(text);
	csv_free(&old);
	return kept;
fail:
	free(text);
	csv_free(&old);
	return -1;
}

int latency_experiment(struct run *r, const struct latency_plan *p)
{
	char err[ERRLEN], path[PATH_MAX];
	long all_pairs = (long)p->ncpus * (p->ncpus - 1), per_class[PAIR_CLASS_COUNT];
	struct cpu_pair *pairs = calloc((size_t)all_pairs, sizeof *pairs);
	long npairs = pairs ? pairs_choose(&r->topology, p->cpus, p->ncpus, p->max_pairs, p->seed, pairs,
					   per_class)
			    : -1;
	int lines = p->lines > 0 ? p->lines : 1;
	long planned = (long)p->nkernels * lines * (npairs > 0 ? npairs : 0), njobs = 0, done = 0,
	     failed = 0;
	struct job *jobs = calloc((size_t)(planned ? planned : 1), sizeof *jobs);
	struct outcome *results = calloc((size_t)(planned ? planned : 1), sizeof *results);
	struct csv_writer csv = { .fd = -1 };
	struct reference ref = { .run_started = monotonic_ns() };
	json_t *experiments = json_object_get(r->meta, "experiments");
	json_t *experiment = p->resume ? json_object_get(experiments, "latency") : NULL;
	int exit_code = EXIT_RUNTIME;
	long already = 0;
	int *nodes = NULL;

	/* A resumed run continues the record of the first: same plan, and the
	 * reference pair's log goes on (drift across the pause shows). */
	if (experiment == NULL) {
		experiment = plan_description(p);
		json_object_set_new(experiments, "latency", experiment);
		json_object_set_new(experiment, "counters", counters_description(&p->events));
		json_object_set_new(experiment, "events_option",
				    p->events_option ? json_string(p->events_option) : json_null());
	}
	char event_reasons[MAX_EVENTS][160] = { { 0 } };
	bool warned[MAX_EVENTS] = { false };
	for (int e = 0; e < p->events.n; e++)
		snprintf(event_reasons[e], 160, "%s", p->events.reason[e]);
	ref.log = json_object_get(experiment, "reference_pair");
	if (!json_is_array(ref.log)) {
		ref.log = json_array();
		json_object_set_new(experiment, "reference_pair", ref.log);
	}
	if (json_array_size(ref.log) > 0)
		ref.first_ns = json_number_value(json_object_get(json_array_get(ref.log, 0), "median_ns"));
	json_object_set_new(experiment, "status", json_string("running"));
	if (npairs < 0 || jobs == NULL || results == NULL) {
		fprintf(stderr, "cohmap: out of memory for %ld pairs\n", all_pairs * p->nkernels);
		goto out;
	}
	if (npairs < all_pairs) {
		char classes[ERRLEN] = "";
		size_t used = 0;
		json_t *sample = json_object();
		for (int c = 0; c < PAIR_CLASS_COUNT; c++)
			if (per_class[c]) {
				used += (size_t)snprintf(classes + used, used < sizeof classes ? sizeof classes - used : 0,
							 "%s%s %ld", used ? ", " : "", pair_class_name(c), per_class[c]);
				if (used >= sizeof classes)
					used = sizeof classes - 1;
				json_object_set_new(sample, pair_class_name(c), json_integer(per_class[c]));
			}
		json_object_set_new(experiment, "pairs_sampled_per_class", sample);
		run_warn(r, "latency: the time budget holds %ld of the %ld ordered pairs per kernel: measured a "
			 "sample that covers every pair class (%s); the heatmaps leave the other cells empty. "
			 "For the full matrix: cohmap latency with the same -c (it has no budget), or a larger --budget",
			 npairs, all_pairs, classes);
	}
	/* njobs counts the jobs as they are built (all `planned` of them), so
	 * every loop below reads only filled ones. */
	for (int k = 0; k < p->nkernels; k++)
		for (long i = 0; i < npairs; i++)
			for (int line = 0; line < lines; line++)
				jobs[njobs++] = (struct job){ p->kernels[k], pairs[i].a, pairs[i].b, line };
	if (shuffle_jobs(jobs, njobs, lines, p->seed) != 0) {
		fprintf(stderr, "cohmap: out of memory for %ld pairs\n", njobs);
		goto out;
	}
	for (long j = 0; j < njobs; j++)
		results[j].status = PAIR_PENDING;
	if (numa_available() < 0)
		run_warn(r, "libnuma reports no NUMA support: shared lines are not placed");
	run_path(r, "latency.csv", path, sizeof path);
	struct columns columns;
	latency_columns(p, &columns);
	if (p->resume && (already = keep_finished_rows(path, p, &columns, jobs, results, njobs, err)) < 0) {
		fprintf(stderr, "cohmap: %s\n", err);
		goto out;
	}
	if (csv_writer_open(&csv, path, columns.names, columns.n, p->resume, err) != 0 ||
	    run_save_meta(r) != 0) {
		fprintf(stderr, "cohmap: %s\n", err);
		goto out;
	}
	done = already;

	nodes = calloc((size_t)r->topology.ncpus + 1, sizeof *nodes);
	if (nodes == NULL) {
		fprintf(stderr, "cohmap: out of memory\n");
		goto out;
	}
	int nnodes = line_nodes(&r->topology, nodes);
	if (lines > 1 && lines < nnodes)
		run_warn(r, "latency: --lines %d is fewer than the %d NUMA nodes: lines are homed on "
			 "nodes %d to %d only; --lines %d homes one on each", lines, nnodes, nodes[0],
			 nodes[lines - 1], nnodes);
	struct progress bar;
	progress_start(&bar, r->progress, "latency", njobs);
	struct matrix m = { .r = r, .p = p, .jobs = jobs, .results = results, .njobs = njobs,
			    .experiment = experiment, .done = done, .path = path,
			    .columns = columns.names, .ncolumns = columns.n, .csv = &csv, .bar = &bar,
			    .ref = &ref, .event_reasons = event_reasons, .warned = warned,
			    .nodes = nodes, .nnodes = nnodes };
	measure_reference(r, p, &ref);
	if (p->parallel > 0) {
		if (latency_parallel(&m) != 0)
			goto out;
	} else {
		for (long j = 0; j < njobs && !cohmap_interrupted; j++) {
			if (results[j].status == PAIR_OK) /* kept from the run being resumed */
				continue;
			struct pair_measurement pm;
			matrix_measure(&m, &jobs[j], &pm, event_reasons);
			if (pm.status == PAIR_INTERRUPTED)
				break;
			if (matrix_record(&m, j, &pm) != 0)
				goto out;
			matrix_between(&m);
		}
	}
	done = m.done;
	failed = m.failed;
	if (!cohmap_interrupted)
		measure_reference(r, p, &ref);
	progress_end(&bar);
	if (csv_writer_close(&csv, err) != 0) {
		fprintf(stderr, "cohmap: %s\n", err);
		goto out;
	}

	json_object_set_new(experiment, "pairs_measured", json_integer(done));
	json_object_set_new(experiment, "pairs_failed", json_integer(failed));
	json_object_set_new(experiment, "pairs_planned", json_integer(njobs));
	json_object_set_new(experiment, "drift_max", json_real(ref.worst_change));
	if (cohmap_interrupted) {
		json_object_set_new(experiment, "status", json_string("interrupted"));
		fprintf(stderr, "cohmap: interrupted after %ld of %ld pairs, kept in %s; finish with: "
			"cohmap latency --resume %s\n", done, njobs, r->dir, r->dir);
		exit_code = EXIT_INTERRUPTED;
		goto out;
	}
	json_object_set_new(experiment, "status", json_string("complete"));
	if (!r->quiet) {
		print_summary(r, p, jobs, results, njobs);
		print_line_spread(r, p);
		print_expected_vs_measured(p, jobs, results, njobs, event_reasons);
	}
	exit_code = failed == njobs ? EXIT_RUNTIME : EXIT_DONE;

	char why[ERRLEN];
	bool plotted = false;
	if (!plot_gnuplot_available(why, sizeof why)) {
		run_warn(r, "no heatmap drawn: %s; the CSV is complete, draw it later with: cohmap plot %s",
			 why, r->dir);
		exit_code = EXIT_PARTIAL;
	} else if (plot_latency_heatmaps(r->dir, &r->topology, p->stat, err) < 0) {
		run_warn(r, "no heatmap drawn: %s", err);
		exit_code = EXIT_PARTIAL;
	} else if ((plotted = true) && !r->quiet) {
		for (int k = 0; k < p->nkernels; k++)
			printf("%s %s/latency-%s.png\n", k == 0 ? "\nheatmaps:" : "         ",
			       r->dir, p->kernels[k]->name);
		for (int k = 0; k < p->nkernels && p->lines > 1; k++)
			printf("          %s/latency-%s-homes.png (one panel per home node)\n", r->dir,
			       p->kernels[k]->name);
	}
	describe(r, p, jobs, results, njobs, plotted);
out:
	if (csv.fd >= 0)
		csv_writer_close(&csv, err);
	free(nodes);
	free(pairs);
	free(jobs);
	free(results);
	return exit_code;
}
