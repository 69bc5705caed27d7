/* --parallel N: the matrix measured by N lanes at the same moment (lanes.c):
 * when a lane's pair ends, the lane takes the next pending pair that shares
 * no core (so no SMT sibling) with a running one, so no lane waits for the
 * slowest pair of a round. Each pair has its own shared region (its own page,
 * homed as --home says) and runs through matrix_measure in its lane's thread,
 * so the watchdog, Ctrl-C and the pair's failure stay the pair's own: a
 * failed pair costs no other pair its row.
 *
 * Running pairs side by side can still cost them something they share (a
 * mesh link, a memory controller, the power budget). So a random subset of
 * the pairs, every (kernel, pair class) among them, is measured again alone:
 * about once a second the lanes drain (no new pair starts, the running ones
 * end), and the control pairs measured in parallel since the last drain are
 * measured alone, then the drift reference; close in time to their parallel
 * measurement, so drift does not pass for interference. The parallel/serial
 * ratio per class goes to meta.json and the summary. A class whose ratio
 * leaves [0.95, 1.05] is measured again, alone, pair by pair. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/stats.h"
#include "experiments/latency/lanes.h"
#include "experiments/latency/latency_matrix.h"
#include "experiments/latency/latency_model.h"
#include "experiments/latency/pair_schedule.h"

#define RATIO_LOW 0.95
#define RATIO_HIGH 1.05

static enum pair_class class_of(const struct matrix *m, long j)
{
	return topology_pair_class(&m->r->topology, m->jobs[j].cpu_a, m->jobs[j].cpu_b);
}

/* latency.csv without the rows of class c (rewritten atomically), the writer
 * reopened for appending. */
static int drop_class_rows(struct matrix *m, enum pair_class c)
{
	char err[ERRLEN];
	struct csv old;
	int rc = -1;
	if (csv_writer_close(m->csv, err) != 0 || csv_read(m->path, &old, err) != 0) {
		fprintf(stderr, "cohmap: %s\n", err);
		return -1;
	}
	size_t cap = 4096, len = 0;
	char *text = malloc(cap);
	for (int row = -1; row < old.nrows && text; row++) {
		char **cells = row < 0 ? old.header : old.cells[row];
		const char *cls = row < 0 ? NULL : csv_cell(&old, row, "pair_class");
		if (cls && strcmp(cls, pair_class_name(c)) == 0)
			continue;
		for (int k = 0; k < old.ncols && text; k++) {
			size_t need = strlen(cells[k]) + 2;
			while (text && len + need + 1 > cap) {
				char *bigger = realloc(text, cap *= 2);
				if (bigger == NULL)
					free(text);
				text = bigger;
			}
			if (text)
				len += (size_t)sprintf(text + len, "%s%s", cells[k], k + 1 < old.ncols ? "," : "\n");
		}
	}
	if (text == NULL)
		set_error(err, "out of memory rewriting %s", m->path);
	else if (write_file_atomic(m->path, text, len, err) == 0 &&
		 csv_writer_open(m->csv, m->path, m->columns, m->ncolumns, true, err) == 0)
		rc = 0;
	if (rc != 0)
		fprintf(stderr, "cohmap: %s\n", err);
	free(text);
	csv_free(&old);
	return rc;
}

/* Every job of class c measured again alone; its rows replace the parallel ones. */
static int remeasure_class(struct matrix *m, enum pair_class c)
{
	if (drop_class_rows(m, c) != 0)
		return -1;
	for (long j = 0; j < m->njobs && !cohmap_interrupted; j++) {
		if (class_of(m, j) != c)
			continue;
		struct pair_measurement pm;
		matrix_measure(m, &m->jobs[j], &pm, m->event_reasons);
		if (pm.status == PAIR_INTERRUPTED)
			break;
		if (matrix_record(m, j, &pm) != 0)
			return -1;
		matrix_between(m);
	}
	return 0;
}

/* Per class: the parallel/serial ratios of the control pairs, summarised,
 * into meta.json and the summary; the classes out of range measured again. */
static int judge_interference(struct matrix *m, const double *ratio, const long *control_jobs,
			      long ncontrols)
{
	double *values = malloc((size_t)(ncontrols ? ncontrols : 1) * sizeof *values);
	json_t *classes = json_object();
	bool again[PAIR_CLASS_COUNT] = { false };
	if (values == NULL)
		return -1;
	/* Test hook: every controlled class taken as out of band, so the tests
	 * reach the serial remeasurement on a machine where parallel pairs do
	 * not disturb each other. */
	const char *hook = getenv("COHMAP_TEST_INTERFERENCE");
	bool forced = hook && strcmp(hook, "remeasure") == 0;
	if (forced)
		run_warn(m->r, "test hook COHMAP_TEST_INTERFERENCE=remeasure is set: every controlled "
			 "class is measured again alone");
	if (!m->r->quiet && ncontrols > 0)
		printf("\n--parallel %d: parallel/serial ratio of the one-way median per pair class "
		       "(pairs measured again alone; median over pairs, 95%% CI)\n%-13s %6s %8s %17s\n",
		       m->p->parallel, "class", "pairs", "ratio", "ci95");
	for (int c = 0; c < PAIR_CLASS_COUNT; c++) {
		long n = 0, controlled = 0;
		for (long k = 0; k < ncontrols; k++)
			if ((int)class_of(m, control_jobs[k]) == c) {
				controlled++;
				if (!isnan(ratio[k]))
					values[n++] = ratio[k];
			}
		if (controlled == 0)
			continue;
		struct summary s = { 0 };
		if (n > 0)
			summarize(values, n, &s);
		again[c] = (n > 0 && (s.median < RATIO_LOW || s.median > RATIO_HIGH)) || forced;
		json_object_set_new(classes, pair_class_name(c),
			json_pack("{s:I, s:I, s:o, s:o, s:o, s:b}", "control_pairs", (json_int_t)controlled,
				  "ratios", (json_int_t)n,
				  "ratio_median", n ? json_real(s.median) : json_null(),
				  "ci95_low", n && !isnan(s.ci95_low) ? json_real(s.ci95_low) : json_null(),
				  "ci95_high", n && !isnan(s.ci95_high) ? json_real(s.ci95_high) : json_null(),
				  "remeasured_serially", again[c]));
		if (!m->r->quiet)
			printf("%-13s %6ld %8.3f   [%6.3f, %6.3f]%s\n", pair_class_name(c), n,
			       n ? s.median : NAN, n ? s.ci95_low : NAN, n ? s.ci95_high : NAN,
			       again[c] ? "  out of [0.95, 1.05]: measured again alone" : "");
		if (again[c])
			run_warn(m->r, "--parallel %d: %s pairs measured %.3f times their serial median "
				 "(95%% CI %.3f-%.3f over %ld pairs), %s [%.2f, %.2f]: the class was "
				 "measured again, one pair at a time", m->p->parallel, pair_class_name(c),
				 s.median, s.ci95_low, s.ci95_high, n,
				 forced ? "taken by the test hook as outside" : "outside", RATIO_LOW, RATIO_HIGH);
	}
	free(values);
	json_object_set_new(m->experiment, "interference", classes);
	run_save_meta(m->r);
	for (int c = 0; c < PAIR_CLASS_COUNT && !cohmap_interrupted; c++)
		if (again[c] && remeasure_class(m, (enum pair_class)c) != 0)
			return -1;
	return 0;
}

/* What the lanes share with the callbacks below; per lane its measurement
 * and its reasons for NA events, per pending job its index in m->jobs. */
struct parallel_run {
	struct matrix *m;
	const long *pending;
	const bool *control;
	struct pair_measurement *pm;
	char (*reasons)[MAX_EVENTS][160];
	long *due, ndue;            /* control jobs measured in parallel since the last drain */
	long *control_jobs, ncontrols;
	double *ratio;
};

static void lane_measure(void *ctx, long i, int lane)
{
	struct parallel_run *pr = ctx;
	memset(pr->reasons[lane], 0, sizeof pr->reasons[lane]);
	matrix_measure(pr->m, &pr->m->jobs[pr->pending[i]], &pr->pm[lane], pr->reasons[lane]);
}

static int lane_finished(void *ctx, long i, int lane)
{
	struct parallel_run *pr = ctx;
	struct matrix *m = pr->m;
	for (int e = 0; e < MAX_EVENTS; e++)
		if (!m->event_reasons[e][0] && pr->reasons[lane][e][0])
			snprintf(m->event_reasons[e], 160, "%s", pr->reasons[lane][e]);
	if (pr->pm[lane].status == PAIR_INTERRUPTED)
		return 1;
	if (matrix_record(m, pr->pending[i], &pr->pm[lane]) != 0)
		return -1;
	if (pr->control[i])
		pr->due[pr->ndue++] = pr->pending[i];
	return 0;
}

/* No pair runs: the due control pairs alone, then the reference pair. */
static int lanes_drained(void *ctx)
{
	struct parallel_run *pr = ctx;
	struct matrix *m = pr->m;
	for (long k = 0; k < pr->ndue; k++) {
		long j = pr->due[k];
		struct pair_measurement alone;
		if (cohmap_interrupted)
			return 1;
		matrix_measure(m, &m->jobs[j], &alone, m->event_reasons);
		if (alone.status == PAIR_INTERRUPTED)
			return 1;
		pr->control_jobs[pr->ncontrols] = j;
		pr->ratio[pr->ncontrols++] = alone.status == PAIR_OK && m->results[j].status == PAIR_OK &&
						     alone.one_way_ns.median > 0
					     ? m->results[j].median_ns / alone.one_way_ns.median
					     : NAN;
	}
	pr->ndue = 0;
	matrix_between(m);
	return cohmap_interrupted ? 1 : 0;
}

static bool lanes_interrupted(void *ctx)
{
	(void)ctx;
	return cohmap_interrupted;
}

int latency_parallel(struct matrix *m)
{
	const struct latency_plan *p = m->p;
	size_t room = (size_t)(m->njobs ? m->njobs : 1);
	long npending = 0;
	long *pending = malloc(room * sizeof *pending);
	struct sched_job *sj = malloc(room * sizeof *sj);
	bool *control = malloc(room * sizeof *control);
	long *due = malloc(room * sizeof *due);
	long *control_jobs = malloc(room * sizeof *control_jobs);
	double *ratio = malloc(room * sizeof *ratio);
	struct pair_measurement *pm = calloc((size_t)p->parallel, sizeof *pm);
	char (*reasons)[MAX_EVENTS][160] = calloc((size_t)p->parallel, sizeof *reasons);
	int rc = -1;
	if (!pending || !sj || !control || !due || !control_jobs || !ratio || !pm || !reasons) {
		fprintf(stderr, "cohmap: out of memory scheduling %ld pairs\n", m->njobs);
		goto out;
	}
	for (long j = 0; j < m->njobs; j++) {
		if (m->results[j].status == PAIR_OK) /* kept from the run being resumed */
			continue;
		int k = 0;
		while (k < p->nkernels && p->kernels[k] != m->jobs[j].kernel)
			k++;
		sj[npending] = (struct sched_job){ m->jobs[j].cpu_a, m->jobs[j].cpu_b, k };
		pending[npending++] = j;
	}
	if (schedule_controls(&m->r->topology, sj, npending, p->seed, control) < 0) {
		fprintf(stderr, "cohmap: out of memory scheduling %ld pairs\n", m->njobs);
		goto out;
	}
	struct parallel_run pr = { .m = m, .pending = pending, .control = control, .pm = pm,
				   .reasons = reasons, .due = due, .control_jobs = control_jobs,
				   .ratio = ratio };
	struct lanes_work work = { .ctx = &pr, .measure = lane_measure, .finished = lane_finished,
				   .drain = lanes_drained, .stop = lanes_interrupted };
	struct lanes_cadence cadence = { .min_jobs = (long)PARALLEL_DRAIN_PAIRS_PER_LANE * p->parallel,
					 .min_s = PARALLEL_DRAIN_INTERVAL_S };
	struct lanes_report report;
	int ran = lanes_run(&m->r->topology, sj, npending, p->parallel, &cadence, &work, &report);
	json_object_set_new(m->experiment, "parallel_lanes", json_integer(report.lanes));
	json_object_set_new(m->experiment, "parallel_mean_concurrency",
			    json_real(round(report.mean_running * 1000) / 1000));
	json_object_set_new(m->experiment, "parallel_drains", json_integer(report.drains));
	json_object_set_new(m->experiment, "serial_control_pairs", json_integer(pr.ncontrols));
	if (ran != 0)
		goto out;
	if (!m->r->quiet && report.measured > 0)
		printf("\n--parallel %d: %d lane%s, %.2f pairs measuring at once on average (%.1f s of "
		       "pair time in %.1f s); %ld drain%s, at which %ld control pairs were measured alone\n",
		       p->parallel, report.lanes, report.lanes == 1 ? "" : "s", report.mean_running,
		       report.busy_s, report.wall_s, report.drains, report.drains == 1 ? "" : "s",
		       pr.ncontrols);
	rc = cohmap_interrupted ? 0 : judge_interference(m, ratio, control_jobs, pr.ncontrols);
out:
	free(pending);
	free(sj);
	free(control);
	free(due);
	free(control_jobs);
	free(ratio);
	free(pm);
	free(reasons);
	return rc;
}
