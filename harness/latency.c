#include "harness/latency.h"

#include <errno.h>
#include <math.h>
#include <numa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/common.h"
#include "harness/csv.h"
#include "harness/experiment.h"
#include "harness/progress.h"
#include "plots/plot.h"

/* The reference pair is measured again after this long (or this many pairs),
 * so a run that outlasts a change of the host's placement of the vCPUs, or of
 * the clock frequency, says so instead of mixing two machines in one matrix. */
#define REFERENCE_INTERVAL_S 1.0
#define REFERENCE_INTERVAL_PAIRS 32
#define DRIFT_LIMIT 0.10

static const char *const latency_columns[] = {
	"kernel", "agents", "cpu_a", "cpu_b", "pair_class", "home_node", "status", "samples",
	"round_trips_per_sample", "min_ns", "p10_ns", "median_ns", "p90_ns", "mean_ns",
	"stddev_ns", "ci95_low_ns", "ci95_high_ns", "reason",
};
enum { LATENCY_COLUMNS = ARRAY_SIZE(latency_columns) };

struct job {
	const struct kernel *kernel;
	int cpu_a, cpu_b;
};

int parse_home(const char *text, const struct topology *t, enum home_policy *policy,
	       int *node, char *err)
{
	if (strcmp(text, "first") == 0) {
		*policy = HOME_FIRST;
		return 0;
	}
	if (strcmp(text, "second") == 0) {
		*policy = HOME_SECOND;
		return 0;
	}
	char *end;
	errno = 0;
	long n = strtol(text, &end, 10);
	bool known = false;
	for (int i = 0; i < t->ncpus && !errno && *end == '\0' && end != text; i++)
		known |= t->cpus[i].numa_node == n;
	if (!known) {
		set_error(err, "--home must be first, second or a NUMA node of this machine (got '%s')", text);
		return -1;
	}
	*policy = HOME_NODE;
	*node = (int)n;
	return 0;
}

static int home_of(const struct latency_plan *p, const struct topology *t, int cpu_a, int cpu_b)
{
	if (numa_available() < 0)
		return -1;
	if (p->home == HOME_NODE)
		return p->home_node;
	const struct cpu_place *place = topology_find(t, p->home == HOME_FIRST ? cpu_a : cpu_b);
	return place ? place->numa_node : -1;
}

/* splitmix64: a small, well-mixed generator, so a recorded seed replays the
 * same pair order on any libc. */
static uint64_t next_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Shuffled so that slow drift (thermal, the host moving vCPUs) spreads over
 * the matrix as noise instead of painting one region of it. */
static void shuffle_jobs(struct job *jobs, long n, unsigned long seed)
{
	uint64_t state = seed;
	for (long i = n - 1; i > 0; i--) {
		long j = (long)(next_random(&state) % (uint64_t)(i + 1));
		struct job tmp = jobs[i];
		jobs[i] = jobs[j];
		jobs[j] = tmp;
	}
}

static void format_number(char *buf, size_t size, double value)
{
	if (isnan(value))
		snprintf(buf, size, "NA");
	else
		snprintf(buf, size, "%.2f", value);
}

static int write_row(struct csv_writer *w, const struct run *r, const struct job *job,
		     const struct measure_options *mo, const struct pair_measurement *m, char *err)
{
	char cells[LATENCY_COLUMNS][ERRLEN];
	const struct summary *s = &m->one_way_ns;
	bool ok = m->status == PAIR_OK;
	double values[] = { s->min, s->p10, s->median, s->p90, s->mean, s->stddev,
			    s->ci95_low, s->ci95_high };
	snprintf(cells[0], ERRLEN, "%s", job->kernel->name);
	snprintf(cells[1], ERRLEN, "%s", agent_kind_name(mo->agents));
	snprintf(cells[2], ERRLEN, "%d", job->cpu_a);
	snprintf(cells[3], ERRLEN, "%d", job->cpu_b);
	snprintf(cells[4], ERRLEN, "%s",
		 pair_class_name(topology_pair_class(&r->topology, job->cpu_a, job->cpu_b)));
	snprintf(cells[5], ERRLEN, "%d", m->home_node);
	snprintf(cells[6], ERRLEN, "%s", ok ? "ok" : "failed");
	snprintf(cells[7], ERRLEN, "%ld", ok ? s->n : 0);
	snprintf(cells[8], ERRLEN, "%lu", m->round_trips_per_sample);
	for (size_t i = 0; i < ARRAY_SIZE(values); i++)
		format_number(cells[9 + i], ERRLEN, ok ? values[i] : NAN);
	snprintf(cells[17], ERRLEN, "%s", ok ? "" : m->reason);
	for (char *c = cells[17]; *c; c++) /* a reason is prose; keep it one cell */
		if (*c == ',' || *c == '"' || *c == '\n')
			*c = ';';
	const char *row[LATENCY_COLUMNS];
	for (int i = 0; i < LATENCY_COLUMNS; i++)
		row[i] = cells[i];
	return csv_writer_row(w, row, err);
}

struct reference {
	json_t *log;          /* [{elapsed_s, median_ns}] */
	double first_ns;
	double worst_change;  /* largest relative move seen */
	uint64_t run_started, last_ns;
	long pairs_since;
};

static void measure_reference(struct run *r, const struct latency_plan *p, struct reference *ref)
{
	struct pair_measurement m;
	int a = p->cpus[0], b = p->cpus[1];
	measure_pair(p->kernels[0], a, b, home_of(p, &r->topology, a, b), &p->measure, &r->clock, &m);
	uint64_t now = monotonic_ns();
	ref->last_ns = now;
	ref->pairs_since = 0;
	if (m.status != PAIR_OK)
		return;
	double median = m.one_way_ns.median;
	json_array_append_new(ref->log, json_pack("{s:f, s:f}", "elapsed_s",
		(double)(now - ref->run_started) / 1e9, "median_ns", median));
	if (ref->first_ns == 0) {
		ref->first_ns = median;
		return;
	}
	double change = median / ref->first_ns - 1;
	if (fabs(change) > DRIFT_LIMIT && fabs(change) > fabs(ref->worst_change)) {
		if (ref->worst_change == 0)
			run_warn(r, "drift: reference pair %d->%d (%s) moved from %.1f to %.1f ns "
				 "(%+.0f%%) during the run; compare only pairs measured close in time "
				 "(the host may have moved the vCPUs, or the clock frequency changed)",
				 a, b, p->kernels[0]->name, ref->first_ns, median, 100 * change);
		ref->worst_change = change;
	}
}

/* Median over pairs of the pair medians, for one kernel and class; NAN if none. */
static double class_median(const struct run *r, const struct kernel *k, int c, const struct job *jobs,
			   const struct pair_measurement *results, long njobs, double *scratch)
{
	long n = 0;
	for (long j = 0; j < njobs; j++)
		if (jobs[j].kernel == k && results[j].status == PAIR_OK &&
		    (int)topology_pair_class(&r->topology, jobs[j].cpu_a, jobs[j].cpu_b) == c)
			scratch[n++] = results[j].one_way_ns.median;
	struct summary s;
	if (n == 0)
		return NAN;
	summarize(scratch, n, &s);
	return s.median;
}

/* "load_store: median one-way latency 48 ns (l3) to 131 ns (cross-socket)" */
static void describe(struct run *r, const struct latency_plan *p, const struct job *jobs,
		     const struct pair_measurement *results, long njobs, bool plotted)
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

	char names[64][80];
	const char *plots[65] = { NULL };
	for (int k = 0; plotted && k < p->nkernels && k < 64; k++) {
		snprintf(names[k], sizeof names[k], "latency-%s.png", p->kernels[k]->name);
		plots[k] = names[k];
	}
	const char *csv[] = { "latency.csv", NULL };
	experiment_describe(r, "latency", csv, plots, headline);
}

/* Per kernel and pair class: min / median / max of the pair medians. */
static void print_summary(const struct run *r, const struct latency_plan *p, const struct job *jobs,
			  const struct pair_measurement *results, long njobs)
{
	printf("\none-way latency [ns]: per pair the median of its samples; per class the "
	       "min / median / max over pairs\n");
	printf("%-12s %-13s %6s %9s %9s %9s  %s\n", "kernel", "class", "pairs", "min", "median",
	       "max", "");
	double *values = malloc((size_t)njobs * sizeof *values);
	if (values == NULL)
		return;
	for (int k = 0; k < p->nkernels; k++) {
		for (int c = 0; c < PAIR_CLASS_COUNT; c++) {
			long n = 0, failed = 0;
			for (long j = 0; j < njobs; j++) {
				if (jobs[j].kernel != p->kernels[k] ||
				    (int)topology_pair_class(&r->topology, jobs[j].cpu_a, jobs[j].cpu_b) != c)
					continue;
				if (results[j].status == PAIR_OK)
					values[n++] = results[j].one_way_ns.median;
				else
					failed++;
			}
			if (n + failed == 0)
				continue;
			struct summary s = { 0 };
			if (n > 0)
				summarize(values, n, &s);
			char note[64] = "";
			if (failed)
				snprintf(note, sizeof note, "(%ld failed)", failed);
			printf("%-12s %-13s %6ld %9.1f %9.1f %9.1f  %s\n", p->kernels[k]->name,
			       pair_class_name(c), n, n ? s.min : NAN, n ? s.median : NAN,
			       n ? s.max : NAN, note);
		}
	}
	free(values);
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
	return json_pack("{s:o, s:o, s:s, s:i, s:I, s:s, s:b, s:I, s:f, s:f, s:f, s:f, s:s, s:s}",
			 "kernels", kernels, "cpus_topology_order", cpus, "home", home,
			 "home_node", p->home == HOME_NODE ? p->home_node : -1,
			 "seed", (json_int_t)p->seed, "agents", agent_kind_name(m->agents),
			 "pause", m->pause,
			 "fixed_samples", (json_int_t)m->fixed_samples,
			 "precision", m->precision, "time_limit_s", m->time_limit_s,
			 "sample_target_ns", m->sample_target_ns, "watchdog_s", m->watchdog_s,
			 "statistic_plotted", p->stat,
			 "values", "one-way latency = round trip / 2, in ns");
}

int latency_experiment(struct run *r, const struct latency_plan *p)
{
	char err[ERRLEN], path[PATH_MAX];
	long njobs = (long)p->nkernels * p->ncpus * (p->ncpus - 1), done = 0, failed = 0;
	struct job *jobs = calloc((size_t)njobs, sizeof *jobs);
	struct pair_measurement *results = calloc((size_t)njobs, sizeof *results);
	struct csv_writer csv = { .fd = -1 };
	struct reference ref = { .log = json_array(), .run_started = monotonic_ns() };
	json_t *experiment = plan_description(p);
	int exit_code = EXIT_RUNTIME;

	json_object_set_new(json_object_get(r->meta, "experiments"), "latency", experiment);
	json_object_set_new(experiment, "reference_pair", ref.log);
	json_object_set_new(experiment, "status", json_string("running"));
	if (jobs == NULL || results == NULL) {
		fprintf(stderr, "cohmap: out of memory for %ld pairs\n", njobs);
		goto out;
	}
	long n = 0;
	for (int k = 0; k < p->nkernels; k++)
		for (int a = 0; a < p->ncpus; a++)
			for (int b = 0; b < p->ncpus; b++)
				if (a != b)
					jobs[n++] = (struct job){ p->kernels[k], p->cpus[a], p->cpus[b] };
	shuffle_jobs(jobs, njobs, p->seed);
	if (numa_available() < 0)
		run_warn(r, "libnuma reports no NUMA support: shared lines are not placed");
	if (csv_writer_open(&csv, run_path(r, "latency.csv", path, sizeof path), latency_columns,
			    LATENCY_COLUMNS, false, err) != 0 || run_save_meta(r) != 0) {
		fprintf(stderr, "cohmap: %s\n", err);
		goto out;
	}

	struct progress bar;
	progress_start(&bar, r->progress, "latency", njobs);
	measure_reference(r, p, &ref);
	for (long j = 0; j < njobs && !cohmap_interrupted; j++) {
		const struct job *job = &jobs[j];
		measure_pair(job->kernel, job->cpu_a, job->cpu_b,
			     home_of(p, &r->topology, job->cpu_a, job->cpu_b), &p->measure, &r->clock,
			     &results[j]);
		if (results[j].status == PAIR_INTERRUPTED)
			break;
		if (results[j].status == PAIR_FAILED) {
			failed++;
			run_warn(r, "%s %d->%d failed: %s", job->kernel->name, job->cpu_a, job->cpu_b,
				 results[j].reason);
		}
		if (write_row(&csv, r, job, &p->measure, &results[j], err) != 0) {
			fprintf(stderr, "cohmap: %s\n", err);
			goto out;
		}
		progress_update(&bar, ++done);
		if (++ref.pairs_since >= REFERENCE_INTERVAL_PAIRS ||
		    (double)(monotonic_ns() - ref.last_ns) > REFERENCE_INTERVAL_S * 1e9)
			measure_reference(r, p, &ref);
	}
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
		fprintf(stderr, "cohmap: interrupted after %ld of %ld pairs; they are in %s\n", done,
			njobs, r->dir);
		exit_code = EXIT_INTERRUPTED;
		goto out;
	}
	json_object_set_new(experiment, "status", json_string("complete"));
	if (!r->quiet)
		print_summary(r, p, jobs, results, done);
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
	}
	describe(r, p, jobs, results, done, plotted);
out:
	if (csv.fd >= 0)
		csv_writer_close(&csv, err);
	free(jobs);
	free(results);
	return exit_code;
}
