/* --parallel N: the matrix measured in rounds of up to N pairs at the same
 * moment, each pair on cores no other pair of its round uses, each with its
 * own shared region (its own page, homed as --home says), each run by its own
 * coordinator thread through measure_pair, so the watchdog, Ctrl-C and the
 * pair's failure stay the pair's own: a failed pair costs no other pair its
 * row.
 *
 * Running pairs side by side can still cost them something they share (a
 * mesh link, a memory controller, the power budget). So a random subset of
 * the pairs, every (kernel, pair class) among them, is measured again alone
 * right after its round, and the parallel/serial ratio per class goes to
 * meta.json and the summary. A class whose ratio leaves [0.95, 1.05] is
 * measured again, alone, pair by pair. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/stats.h"
#include "experiments/latency/latency_matrix.h"
#include "experiments/latency/pair_schedule.h"

#define RATIO_LOW 0.95
#define RATIO_HIGH 1.05

struct slot {
	struct matrix *m;
	long j;
	struct pair_measurement pm;
	char reasons[MAX_EVENTS][160];
	pthread_t thread;
	bool started;
};

static void *slot_main(void *arg)
{
	struct slot *s = arg;
	matrix_measure(s->m, &s->m->jobs[s->j], &s->pm, s->reasons);
	return NULL;
}

/* A pair that could not be started in a thread is measured right here. */
static void run_round(struct matrix *m, struct slot *slots, int n)
{
	for (int i = 0; i < n; i++) {
		memset(slots[i].reasons, 0, sizeof slots[i].reasons);
		slots[i].started = pthread_create(&slots[i].thread, NULL, slot_main, &slots[i]) == 0;
	}
	for (int i = 0; i < n; i++) {
		if (slots[i].started)
			pthread_join(slots[i].thread, NULL);
		else
			slot_main(&slots[i]);
		for (int e = 0; e < MAX_EVENTS; e++)
			if (!m->event_reasons[e][0] && slots[i].reasons[e][0])
				snprintf(m->event_reasons[e], 160, "%s", slots[i].reasons[e]);
	}
}

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
		again[c] = n > 0 && (s.median < RATIO_LOW || s.median > RATIO_HIGH);
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
				 "(95%% CI %.3f-%.3f over %ld pairs), outside [%.2f, %.2f]: the class was "
				 "measured again, one pair at a time", m->p->parallel, pair_class_name(c),
				 s.median, s.ci95_low, s.ci95_high, n, RATIO_LOW, RATIO_HIGH);
	}
	free(values);
	json_object_set_new(m->experiment, "interference", classes);
	run_save_meta(m->r);
	for (int c = 0; c < PAIR_CLASS_COUNT && !cohmap_interrupted; c++)
		if (again[c] && remeasure_class(m, (enum pair_class)c) != 0)
			return -1;
	return 0;
}

int latency_parallel(struct matrix *m)
{
	const struct latency_plan *p = m->p;
	long npending = 0, ncontrols = 0, rounds = 0;
	long *pending = malloc((size_t)(m->njobs ? m->njobs : 1) * sizeof *pending);
	struct sched_job *sj = malloc((size_t)(m->njobs ? m->njobs : 1) * sizeof *sj);
	long *round = malloc((size_t)(m->njobs ? m->njobs : 1) * sizeof *round);
	long *by_round = malloc((size_t)(m->njobs ? m->njobs : 1) * sizeof *by_round);
	bool *control = malloc((size_t)(m->njobs ? m->njobs : 1) * sizeof *control);
	long *control_jobs = malloc((size_t)(m->njobs ? m->njobs : 1) * sizeof *control_jobs);
	double *ratio = malloc((size_t)(m->njobs ? m->njobs : 1) * sizeof *ratio);
	long *start = NULL;
	struct slot *slots = calloc((size_t)p->parallel, sizeof *slots);
	int rc = -1;
	bool oom = true;
	if (!pending || !sj || !round || !by_round || !control || !control_jobs || !ratio || !slots)
		goto out;
	for (long j = 0; j < m->njobs; j++) {
		if (m->results[j].status == PAIR_OK) /* kept from the run being resumed */
			continue;
		int k = 0;
		while (k < p->nkernels && p->kernels[k] != m->jobs[j].kernel)
			k++;
		sj[npending] = (struct sched_job){ m->jobs[j].cpu_a, m->jobs[j].cpu_b, k };
		pending[npending++] = j;
	}
	if ((rounds = schedule_rounds(&m->r->topology, sj, npending, p->parallel, round)) < 0 ||
	    schedule_controls(&m->r->topology, sj, npending, p->seed, control) < 0 ||
	    (start = calloc((size_t)rounds + 1, sizeof *start)) == NULL)
		goto out;
	/* Jobs grouped by round, each round in the shuffled order of its jobs. */
	for (long i = 0; i < npending; i++)
		start[round[i] + 1]++;
	for (long r = 0; r < rounds; r++)
		start[r + 1] += start[r];
	long *fill = calloc((size_t)rounds + 1, sizeof *fill);
	if (fill == NULL)
		goto out;
	for (long i = 0; i < npending; i++)
		by_round[start[round[i]] + fill[round[i]]++] = i;
	free(fill);
	oom = false;
	json_object_set_new(m->experiment, "parallel_rounds", json_integer(rounds));

	for (long r = 0; r < rounds && !cohmap_interrupted; r++) {
		int n = 0;
		for (long k = start[r]; k < start[r + 1]; k++)
			slots[n++] = (struct slot){ .m = m, .j = pending[by_round[k]] };
		run_round(m, slots, n);
		bool stop = false;
		for (int i = 0; i < n; i++) {
			if (slots[i].pm.status == PAIR_INTERRUPTED) {
				stop = true;
				continue;
			}
			if (matrix_record(m, slots[i].j, &slots[i].pm) != 0)
				goto out;
		}
		if (stop)
			break;
		/* The round's control pairs, alone, while the machine is as it was. */
		for (long k = start[r]; k < start[r + 1] && !cohmap_interrupted; k++) {
			long i = by_round[k], j = pending[i];
			if (!control[i])
				continue;
			struct pair_measurement alone;
			matrix_measure(m, &m->jobs[j], &alone, m->event_reasons);
			if (alone.status == PAIR_INTERRUPTED)
				break;
			control_jobs[ncontrols] = j;
			ratio[ncontrols++] = alone.status == PAIR_OK && m->results[j].status == PAIR_OK &&
						     alone.one_way_ns.median > 0
					     ? m->results[j].median_ns / alone.one_way_ns.median
					     : NAN;
		}
		matrix_between(m);
	}
	json_object_set_new(m->experiment, "serial_control_pairs", json_integer(ncontrols));
	rc = cohmap_interrupted ? 0 : judge_interference(m, ratio, control_jobs, ncontrols);
out:
	if (oom)
		fprintf(stderr, "cohmap: out of memory scheduling %ld pairs\n", m->njobs);
	free(pending);
	free(sj);
	free(round);
	free(by_round);
	free(control);
	free(control_jobs);
	free(ratio);
	free(start);
	free(slots);
	return rc;
}
