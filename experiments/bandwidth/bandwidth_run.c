/* The bandwidth experiment's run: the job list (size sweep per pair class
 * and the CPU-pair matrix), the budget plan, the reference job measured again
 * to catch drift, bandwidth.csv, meta.json, the summary and the plots. One
 * job is measured by harness/stream_ring.c.
 *
 * One file: the plan, the drift check and the rows walk the same jobs array. */
#include "experiments/bandwidth/bandwidth.h"

#include <errno.h>
#include <math.h>
#include <numa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/budget.h"
#include "base/common.h"
#include "base/csv.h"
#include "experiments/experiment.h"
#include "base/memory.h"
#include "base/progress.h"
#include "base/shuffle.h"
#include "experiments/bandwidth/bandwidth_plot.h"
#include "plots/plot.h"

/* The reference job is measured again after this long, so a run that
 * outlasts a change of the host's placement of the vCPUs (or of the clock)
 * says so instead of mixing two machines in one plot. */
#define REFERENCE_INTERVAL_S 2.0
#define DRIFT_LIMIT 0.10
#define MIN_TIME_LIMIT_S 0.005

static const char *const bandwidth_columns[] = {
	"series", "producer", "consumer", "agents", "cpu_a", "cpu_b", "pair_class",
	"buffer_bytes", "chunk_bytes", "home_node", "pages_on_home_pct", "status", "samples",
	"passes_per_sample", "checked_pct", "read_bytes_per_element", "written_bytes_per_element", "min_gbps",
	"p10_gbps", "median_gbps", "p90_gbps", "max_gbps", "mean_gbps", "stddev_gbps",
	"ci95_low_gbps", "ci95_high_gbps", "traffic_median_gbps", "reason",
};
enum { BANDWIDTH_COLUMNS = ARRAY_SIZE(bandwidth_columns) };

static const char *const series_names[] = { [SERIES_SWEEP] = "sweep", [SERIES_MATRIX] = "matrix" };

/* ---- planning ---- */

static int compare_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

/* Distinct groups of one cache level among the CPUs: how many instances of
 * it the measured CPUs can fill between them. */
static int groups_of(const struct topology *t, const int *cpus, int n, bool l3)
{
	int count = 0;
	for (int i = 0; i < n; i++) {
		const struct cpu_place *p = topology_find(t, cpus[i]);
		bool seen = false;
		for (int j = 0; j < i && p; j++) {
			const struct cpu_place *q = topology_find(t, cpus[j]);
			seen |= q && (l3 ? q->l3_group == p->l3_group : q->l2_group == p->l2_group);
		}
		count += p && !seen;
	}
	return count > 0 ? count : 1;
}

int bandwidth_default_sizes(const struct topology *t, const int *cpus, int ncpus, size_t *sizes,
			    int max)
{
	size_t anchors[16];
	int n = 0;
	size_t levels[3] = { t->l1d_bytes, t->l2_bytes, t->l3_bytes };
	size_t last = 0;
	for (int i = 0; i < 3; i++) {
		if (levels[i] == 0)
			continue;
		if (n == 0)
			anchors[n++] = levels[i] / 4; /* well inside L1 */
		anchors[n++] = levels[i] / 2;
		anchors[n++] = levels[i];
		anchors[n++] = 2 * levels[i];
		last = i;
	}
	if (n == 0) {
		/* No cache sizes known (a hand-written topology file): 64 lines to
		 * 1 GiB in steps of 4. */
		size_t s = 64 * (size_t)(t->line_size > 0 ? t->line_size : 64);
		for (; s <= ((size_t)1 << 30) && n < max; s *= 4)
			sizes[n++] = s;
		return n;
	}
	/* Beyond the last level: twice what all the measured CPUs' instances of
	 * it hold together, at least four times one instance, so that most of
	 * the buffer must come from memory. */
	size_t total = levels[last] * (size_t)groups_of(t, cpus, ncpus, last == 2);
	anchors[n++] = 2 * total > 4 * levels[last] ? 2 * total : 4 * levels[last];
	qsort(anchors, (size_t)n, sizeof *anchors, compare_size);

	int count = 0;
	for (int i = 0; i < n && count < max; i++) {
		if (anchors[i] == 0 || (count > 0 && anchors[i] == sizes[count - 1]))
			continue;
		/* Steps of 4x across a wide gap between two anchors. */
		for (size_t s = count > 0 ? sizes[count - 1] * 4 : anchors[i];
		     count > 0 && s < anchors[i] && count < max; s *= 4)
			sizes[count++] = s;
		if (count < max)
			sizes[count++] = anchors[i];
	}
	return count;
}


int bandwidth_parse_test_hook(const char *text, struct ring_test_hook *hook, char *err)
{
	*hook = (struct ring_test_hook){ 0 };
	if (text == NULL || *text == '\0')
		return 0;
	char *end;
	const char *colon = strchr(text, ':');
	errno = 0;
	unsigned long long n = colon ? strtoull(colon + 1, &end, 10) : 0;
	if (colon == NULL || errno || end == colon + 1 || *end || n == 0) {
		set_error(err, "COHMAP_TEST_CORRUPT must be payload:N or sequence:N (N >= 1), got '%s'", text);
		return -1;
	}
	if (strncmp(text, "payload:", 8) == 0)
		hook->corrupt_payload_from = n;
	else if (strncmp(text, "sequence:", 9) == 0)
		hook->misnumber_chunk = n;
	else {
		set_error(err, "COHMAP_TEST_CORRUPT must be payload:N or sequence:N (N >= 1), got '%s'", text);
		return -1;
	}
	return 0;
}

/* One pair per class, producer cpus[0] where possible. */
static int class_pairs(const struct topology *t, const int *cpus, int n, int pairs[][2])
{
	int count = 0;
	for (int c = PAIR_SELF + 1; c < PAIR_CLASS_COUNT; c++) {
		int a = -1, b = -1;
		for (int i = 0; i < n && a < 0; i++)
			for (int j = 0; j < n && a < 0; j++)
				if (i != j && (int)topology_pair_class(t, cpus[i], cpus[j]) == c)
					a = cpus[i], b = cpus[j];
		if (a >= 0) {
			pairs[count][0] = a;
			pairs[count][1] = b;
			count++;
		}
	}
	return count;
}

long bandwidth_plan_jobs(const struct bandwidth_plan *p, const struct topology *t,
			 struct bandwidth_job **jobs)
{
	int pairs[PAIR_CLASS_COUNT][2];
	int npairs = class_pairs(t, p->cpus, p->ncpus, pairs);
	size_t line = (size_t)t->line_size;
	long per_consumer = (long)p->nsizes * (npairs + 1) + (long)p->ncpus * p->ncpus;
	long n = 0;
	*jobs = calloc((size_t)(per_consumer * p->nconsumers), sizeof **jobs);
	if (*jobs == NULL)
		return -1;
	for (int k = 0; k < p->nconsumers; k++) {
		for (int s = 0; s < p->nsizes; s++) {
			size_t chunk, bytes = ring_fit(p->sizes[s], p->chunk_bytes, line, &chunk);
			for (int i = -1; i < npairs; i++)
				(*jobs)[n++] = (struct bandwidth_job){
					.series = SERIES_SWEEP, .consumer = p->consumers[k],
					.cpu_a = i < 0 ? p->cpus[0] : pairs[i][0],
					.cpu_b = i < 0 ? p->cpus[0] : pairs[i][1],
					.bytes = bytes, .chunk = chunk,
				};
		}
		size_t chunk, bytes = ring_fit(p->matrix_bytes, p->chunk_bytes, line, &chunk);
		for (int a = 0; a < p->ncpus; a++)
			for (int b = 0; b < p->ncpus; b++)
				(*jobs)[n++] = (struct bandwidth_job){
					.series = SERIES_MATRIX, .consumer = p->consumers[k],
					.cpu_a = p->cpus[a], .cpu_b = p->cpus[b], .bytes = bytes, .chunk = chunk,
				};
	}
	return n;
}

static int node_of(const struct topology *t, int cpu)
{
	const struct cpu_place *place = topology_find(t, cpu);
	return numa_available() >= 0 && place ? place->numa_node : -1;
}

static int home_of(const struct bandwidth_plan *p, const struct topology *t, int cpu_a, int cpu_b)
{
	if (numa_available() < 0)
		return -1;
	if (p->home == HOME_NODE)
		return p->home_node;
	return node_of(t, p->home == HOME_FIRST ? cpu_a : cpu_b);
}

static struct ring_job ring_job_of(const struct bandwidth_plan *p, const struct topology *t,
				   const struct bandwidth_job *j)
{
	return (struct ring_job){
		.producer = p->producer, .consumer = j->consumer, .cpu_a = j->cpu_a, .cpu_b = j->cpu_b,
		.buffer_bytes = j->bytes, .chunk_bytes = j->chunk,
		.home_node = home_of(p, t, j->cpu_a, j->cpu_b), .private_node = node_of(t, j->cpu_b),
	};
}

/* Ordered so that the jobs of one size run together (classes compared at
 * one size are measured close in time, in shuffled order, so drift spreads
 * as noise) and, within a size, those sharing NUMA nodes run together (the
 * memory pool is placed again only when a node changes). */
struct ordered_job {
	struct bandwidth_job job;
	uint64_t size_rank, node_key, random;
};

static int compare_ordered(const void *a, const void *b)
{
	const struct ordered_job *x = a, *y = b;
	if (x->size_rank != y->size_rank)
		return x->size_rank < y->size_rank ? -1 : 1;
	if (x->node_key != y->node_key)
		return x->node_key < y->node_key ? -1 : 1;
	return x->random < y->random ? -1 : x->random > y->random;
}

static int order_jobs(const struct bandwidth_plan *p, const struct topology *t,
		      struct bandwidth_job *jobs, long n)
{
	struct ordered_job *o = calloc((size_t)n, sizeof *o);
	size_t *sizes = calloc((size_t)n, sizeof *sizes);
	uint64_t *rank = calloc((size_t)n, sizeof *rank);
	uint64_t state = p->seed;
	long distinct = 0;
	if (o == NULL || sizes == NULL || rank == NULL) {
		free(o);
		free(sizes);
		free(rank);
		return -1;
	}
	for (long i = 0; i < n; i++)
		sizes[i] = jobs[i].bytes;
	qsort(sizes, (size_t)n, sizeof *sizes, compare_size);
	for (long i = 0; i < n; i++)
		if (distinct == 0 || sizes[i] != sizes[distinct - 1])
			sizes[distinct++] = sizes[i];
	for (long i = 0; i < distinct; i++)
		rank[i] = shuffle_next(&state);
	for (long i = 0; i < n; i++) {
		size_t *at = bsearch(&jobs[i].bytes, sizes, (size_t)distinct, sizeof *sizes, compare_size);
		int home = home_of(p, t, jobs[i].cpu_a, jobs[i].cpu_b), own = node_of(t, jobs[i].cpu_b);
		o[i] = (struct ordered_job){
			.job = jobs[i], .size_rank = rank[at - sizes],
			.node_key = ((uint64_t)(home + 1) << 32) | (uint32_t)(own + 1),
			.random = shuffle_next(&state),
		};
	}
	qsort(o, (size_t)n, sizeof *o, compare_ordered);
	for (long i = 0; i < n; i++)
		jobs[i] = o[i].job;
	free(o);
	free(sizes);
	free(rank);
	return 0;
}

/* ---- fitting a time budget ---- */

struct rates {
	double touch_gbps; /* first touch of fresh memory */
	double copy_gbps;  /* memcpy between two buffers, counting the bytes copied once */
};

/* A quick look at how fast this machine gets fresh memory and copies it,
 * for the budget estimate (~0.1 s). */
static void probe_rates(size_t line_size, struct rates *r)
{
	size_t bytes = (size_t)32 << 20;
	*r = (struct rates){ .touch_gbps = 0.5, .copy_gbps = 2 };
	unsigned char *a = mmap(NULL, 2 * bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				-1, 0);
	if (a == MAP_FAILED)
		return;
	uint64_t t0 = monotonic_ns();
	memset(a, 1, 2 * bytes);
	uint64_t t1 = monotonic_ns();
	for (int i = 0; i < 3; i++)
		memcpy(a + bytes, a + (i % 2) * line_size, bytes - line_size);
	uint64_t t2 = monotonic_ns();
	munmap(a, 2 * bytes);
	if (t1 > t0)
		r->touch_gbps = (double)(2 * bytes) / (double)(t1 - t0);
	if (t2 > t1)
		r->copy_gbps = 3.0 * (double)bytes / (double)(t2 - t1);
}

/* Rough seconds for one job: sizing and warm-up windows, then the samples
 * (at least MIN samples of a window, at most the time limit unless a window
 * is longer). Between cores a stream is assumed 4x slower than a same-core
 * memcpy: pessimistic on purpose. */
static double job_seconds(size_t bytes, const struct measure_options *o, const struct rates *r)
{
	double pass_s = (double)bytes / (r->copy_gbps / 4 * 1e9);
	double window_s = fmax(o->sample_target_ns / 1e9, pass_s);
	double sampling = o->fixed_samples > 0 ? (double)o->fixed_samples * window_s
					       : fmax(o->time_limit_s, 5 * window_s);
	return 3 * window_s + sampling + 0.002;
}

struct budget_plan {
	double estimate_s;
	json_t *dropped_sizes;  /* [bytes] */
	json_t *dropped_consumers;
	double time_limit_s;
};

static double plan_seconds(const struct bandwidth_plan *p, const struct topology *t,
			   const struct rates *r)
{
	struct bandwidth_job *jobs = NULL;
	long n = bandwidth_plan_jobs(p, t, &jobs);
	double total = 0, biggest = 0;
	bool copies = false;
	for (long i = 0; i < n; i++) {
		total += job_seconds(jobs[i].bytes, &p->measure, r);
		biggest = fmax(biggest, (double)jobs[i].bytes);
		copies |= jobs[i].consumer->op == STREAM_COPY;
	}
	free(jobs);
	/* The memory pool is touched once, at the largest size. */
	total += biggest * (copies ? 2 : 1) / (r->touch_gbps * 1e9);
	/* Reference re-measurements, one every REFERENCE_INTERVAL_S. */
	return total * (1 + job_seconds(p->matrix_bytes, &p->measure, r) / REFERENCE_INTERVAL_S);
}

/* The sweep keeps the sizes just inside and just outside each cache level
 * longest: the one nearest below half of it and the one nearest above twice
 * it. Returns the index of the size to drop next: the largest non-essential
 * one, else the largest. */
static int size_to_drop(const struct bandwidth_plan *p, const struct topology *t)
{
	size_t levels[3] = { t->l1d_bytes, t->l2_bytes, t->l3_bytes };
	bool essential[BANDWIDTH_MAX_SIZES] = { false };
	for (int l = 0; l < 3; l++) {
		if (levels[l] == 0)
			continue;
		int inside = -1, outside = -1;
		for (int i = 0; i < p->nsizes; i++) {
			if (p->sizes[i] <= levels[l] / 2)
				inside = i;
			if (p->sizes[i] >= 2 * levels[l] && outside < 0)
				outside = i;
		}
		if (inside >= 0)
			essential[inside] = true;
		if (outside >= 0)
			essential[outside] = true;
	}
	for (int i = p->nsizes - 1; i >= 0; i--)
		if (!essential[i])
			return i;
	return p->nsizes - 1;
}

static void fit_budget(struct bandwidth_plan *p, const struct topology *t, double budget_s,
		       const struct rates *r, struct budget_plan *b)
{
	double target = budget_s * BUDGET_PLANNED_SHARE;
	*b = (struct budget_plan){ .dropped_sizes = json_array(), .dropped_consumers = json_array() };
	/* In a suite, one consumer kernel tells the story; the others are for
	 * `cohmap bandwidth --consumer`. */
	while (p->nconsumers > 1) {
		json_array_append_new(b->dropped_consumers, json_string(p->consumers[--p->nconsumers]->name));
	}
	while (p->nsizes > 1 && plan_seconds(p, t, r) > target) {
		int drop = size_to_drop(p, t);
		json_array_append_new(b->dropped_sizes, json_integer((json_int_t)p->sizes[drop]));
		memmove(&p->sizes[drop], &p->sizes[drop + 1], (size_t)(p->nsizes - drop - 1) * sizeof *p->sizes);
		p->nsizes--;
	}
	/* Still too long (many CPUs in the matrix): shorter samples per job. */
	double estimate = plan_seconds(p, t, r);
	if (estimate > target && p->measure.fixed_samples == 0) {
		double limit = p->measure.time_limit_s * target / estimate;
		p->measure.time_limit_s = limit < MIN_TIME_LIMIT_S ? MIN_TIME_LIMIT_S : limit;
		estimate = plan_seconds(p, t, r);
	}
	b->estimate_s = estimate;
	b->time_limit_s = p->measure.time_limit_s;
}

/* ---- writing ---- */

/* Three decimals; a rate too small for them (a ring whose agents mostly wait
 * for their CPUs, on a loaded machine) keeps three significant digits
 * instead of reading as 0. */
static void format_number(char *buf, size_t size, double value)
{
	if (isnan(value))
		snprintf(buf, size, "NA");
	else if (value != 0 && fabs(value) < 0.0005)
		snprintf(buf, size, "%.3g", value);
	else
		snprintf(buf, size, "%.3f", value);
}

static int write_row(struct csv_writer *w, const struct run *r, const struct bandwidth_plan *p,
		     const struct bandwidth_job *job, const struct ring_result *m, char *err)
{
	char cells[BANDWIDTH_COLUMNS][ERRLEN];
	const struct summary *s = &m->gbps;
	const struct stream_kernel *k = job->consumer;
	bool ok = m->status == PAIR_OK;
	double traffic = (double)(k->read_bytes + k->written_bytes) / sizeof(uint64_t);
	double values[] = { s->min, s->p10, s->median, s->p90, s->max, s->mean, s->stddev,
			    s->ci95_low, s->ci95_high, s->median * traffic };
	int c = 0;
	snprintf(cells[c++], ERRLEN, "%s", series_names[job->series]);
	snprintf(cells[c++], ERRLEN, "%s", job->cpu_a == job->cpu_b ? "none" : p->producer->name);
	snprintf(cells[c++], ERRLEN, "%s", k->name);
	snprintf(cells[c++], ERRLEN, "%s", agent_kind_name(p->measure.agents));
	snprintf(cells[c++], ERRLEN, "%d", job->cpu_a);
	snprintf(cells[c++], ERRLEN, "%d", job->cpu_b);
	snprintf(cells[c++], ERRLEN, "%s",
		 pair_class_name(topology_pair_class(&r->topology, job->cpu_a, job->cpu_b)));
	snprintf(cells[c++], ERRLEN, "%zu", job->bytes);
	snprintf(cells[c++], ERRLEN, "%zu", job->chunk);
	snprintf(cells[c++], ERRLEN, "%d", m->home_node);
	format_number(cells[c++], ERRLEN, m->pages_on_home_pct);
	snprintf(cells[c++], ERRLEN, "%s", ok ? "ok" : m->wrong_data ? "wrong_data" : "failed");
	snprintf(cells[c++], ERRLEN, "%ld", ok ? s->n : 0);
	snprintf(cells[c++], ERRLEN, "%lu", m->passes_per_sample);
	format_number(cells[c++], ERRLEN, ok ? m->checked_pct : NAN);
	snprintf(cells[c++], ERRLEN, "%u", k->read_bytes);
	snprintf(cells[c++], ERRLEN, "%u", k->written_bytes);
	for (size_t i = 0; i < ARRAY_SIZE(values); i++)
		format_number(cells[c++], ERRLEN, ok ? values[i] : NAN);
	snprintf(cells[c], ERRLEN, "%s", ok ? "" : m->reason);
	for (char *ch = cells[c]; *ch; ch++) /* a reason is prose; keep it one cell */
		if (*ch == ',' || *ch == '"' || *ch == '\n')
			*ch = ';';
	const char *row[BANDWIDTH_COLUMNS];
	for (int i = 0; i < BANDWIDTH_COLUMNS; i++)
		row[i] = cells[i];
	return csv_writer_row(w, row, err);
}

struct outcome {
	struct bandwidth_job job;
	struct ring_result result;
};

static double value_of(const struct bandwidth_plan *p, const struct ring_result *m)
{
	return strcmp(p->stat, "min") == 0 ? m->gbps.max : m->gbps.median;
}

static const struct outcome *find_outcome(const struct outcome *done, long n,
					   enum bandwidth_series series,
					   const struct stream_kernel *k, int a, int b, size_t bytes)
{
	for (long i = 0; i < n; i++)
		if (done[i].job.series == series && done[i].job.consumer == k && done[i].job.cpu_a == a &&
		    done[i].job.cpu_b == b && done[i].job.bytes == bytes && done[i].result.status == PAIR_OK)
			return &done[i];
	return NULL;
}

/* Per consumer: a row per size, a column per pair (same core first). */
static void print_summary(const struct run *r, const struct bandwidth_plan *p,
			  const struct outcome *done, long n)
{
	int pairs[PAIR_CLASS_COUNT][2];
	int npairs = class_pairs(&r->topology, p->cpus, p->ncpus, pairs);
	const char *stat = strcmp(p->stat, "min") == 0 ? "fastest sample" : "median of samples";
	for (int k = 0; k < p->nconsumers; k++) {
		const struct stream_kernel *ck = p->consumers[k];
		printf("\nbandwidth seen by the consumer [GB/s, %s]: consumer %s, producer %s\n", stat,
		       ck->name, p->producer->name);
		printf("%-10s %14s", "buffer", "same core");
		for (int i = 0; i < npairs; i++) {
			char head[32];
			snprintf(head, sizeof head, "%s %d->%d",
				 pair_class_name(topology_pair_class(&r->topology, pairs[i][0], pairs[i][1])),
				 pairs[i][0], pairs[i][1]);
			printf(" %14s", head);
		}
		printf("\n");
		for (int s = 0; s < p->nsizes; s++) {
			size_t chunk, bytes = ring_fit(p->sizes[s], p->chunk_bytes,
							    (size_t)r->topology.line_size, &chunk);
			char label[32];
			format_bytes(bytes, label, sizeof label);
			printf("%-10s", label);
			for (int i = -1; i < npairs; i++) {
				int a = i < 0 ? p->cpus[0] : pairs[i][0], b = i < 0 ? p->cpus[0] : pairs[i][1];
				const struct outcome *o = find_outcome(done, n, SERIES_SWEEP, ck, a, b, bytes);
				if (o)
					printf(" %14.2f", value_of(p, &o->result));
				else
					printf(" %14s", "-");
			}
			printf("\n");
		}
	}
}

static json_t *plan_description(const struct bandwidth_plan *p)
{
	json_t *consumers = json_array(), *cpus = json_array(), *sizes = json_array();
	for (int i = 0; i < p->nconsumers; i++)
		json_array_append_new(consumers, json_string(p->consumers[i]->name));
	for (int i = 0; i < p->ncpus; i++)
		json_array_append_new(cpus, json_integer(p->cpus[i]));
	for (int i = 0; i < p->nsizes; i++)
		json_array_append_new(sizes, json_integer((json_int_t)p->sizes[i]));
	const char *home = p->home == HOME_FIRST ? "first" : p->home == HOME_SECOND ? "second" : "node";
	const struct measure_options *m = &p->measure;
	json_t *d = json_pack("{s:s, s:o, s:o, s:o, s:s, s:I, s:I, s:s, s:i, s:I, s:s, s:b, s:I, "
			      "s:f, s:f, s:f, s:f, s:s, s:s, s:s}",
			      "producer", p->producer->name, "consumers", consumers,
			      "cpus_topology_order", cpus, "sizes_requested", sizes,
			      "sizes_from", p->sizes_given ? "--sizes" : "the cache sizes of the topology",
			      "matrix_bytes", (json_int_t)p->matrix_bytes,
			      "chunk_bytes", (json_int_t)p->chunk_bytes, "home", home,
			      "home_node", p->home == HOME_NODE ? p->home_node : -1,
			      "seed", (json_int_t)p->seed, "agents", agent_kind_name(m->agents),
			      "pause", m->pause, "fixed_samples", (json_int_t)m->fixed_samples,
			      "precision", m->precision, "time_limit_s", m->time_limit_s,
			      "sample_target_ns", m->sample_target_ns, "watchdog_s", m->watchdog_s,
			      "statistic_plotted", strcmp(p->stat, "min") == 0 ? "fastest sample (max_gbps)"
									      : "median (median_gbps)",
			      "values", "GB/s (1e9 bytes/s) seen by the consumer: buffer bytes it consumed / time",
			      "vector_isa", stream_vector_isa());
	json_object_set_new(d, "data_check", json_string(
		"read: every chunk's sum (the kernel's own result, no extra load) and sequence number, "
		"in the timed windows; copies: the sequence number and last element of every chunk in "
		"the windows, every element of the last copy through each ring slot after the timing "
		"(same core: the whole copy, after the timing); checked_pct in bandwidth.csv: the share "
		"of consumed elements compared"));
	json_object_set_new(d, "memory_available_bytes", json_integer(p->memory_available));
	json_object_set_new(d, "memory_needed_bytes", json_integer((json_int_t)p->memory_needed));
	if (p->sizes_note[0])
		json_object_set_new(d, "sizes_note", json_string(p->sizes_note));
	if (p->hook.corrupt_payload_from || p->hook.misnumber_chunk)
		json_object_set_new(d, "test_hook", json_pack("{s:I, s:I}", "corrupt_payload_from",
			(json_int_t)p->hook.corrupt_payload_from, "misnumber_chunk",
			(json_int_t)p->hook.misnumber_chunk));
	return d;
}

/* ---- drift ---- */

struct reference {
	json_t *log;            /* [{elapsed_s, median_gbps}] */
	struct bandwidth_job job;
	double first_gbps, worst_change;
	uint64_t run_started, last_ns;
};

static void measure_reference(struct run *r, const struct bandwidth_plan *p, struct ring_pool *pool,
			      struct reference *ref)
{
	struct ring_result m;
	struct ring_job job = ring_job_of(p, &r->topology, &ref->job);
	ring_measure(&job, &p->measure, &r->clock, NULL, pool, &m);
	uint64_t now = monotonic_ns();
	ref->last_ns = now;
	if (m.status != PAIR_OK)
		return;
	json_array_append_new(ref->log, json_pack("{s:f, s:f}", "elapsed_s",
		(double)(now - ref->run_started) / 1e9, "median_gbps", m.gbps.median));
	if (ref->first_gbps == 0) {
		ref->first_gbps = m.gbps.median;
		return;
	}
	double change = m.gbps.median / ref->first_gbps - 1;
	if (fabs(change) > DRIFT_LIMIT && fabs(change) > fabs(ref->worst_change)) {
		if (ref->worst_change == 0)
			run_warn(r, "drift: reference %d->%d (%s, %zu bytes) moved from %.2f to %.2f GB/s "
				 "(%+.0f%%) during the run; compare only rows measured close in time "
				 "(the host may have moved the vCPUs, or the clock frequency changed)",
				 job.cpu_a, job.cpu_b, job.consumer->name, job.buffer_bytes,
				 ref->first_gbps, m.gbps.median, 100 * change);
		ref->worst_change = change;
	}
}

/* "copy: 5.6 GB/s between cores (die) vs 82 GB/s on one core at 256 KiB; 16 GB/s at 2 GiB (same core)" */
static void describe(struct run *r, const struct bandwidth_plan *p, const struct outcome *done,
		     long n, const char *const *plots)
{
	char headline[ERRLEN] = "no measurement succeeded";
	const struct stream_kernel *k = p->consumers[0];
	const struct topology *t = &r->topology;
	size_t chunk, bytes = ring_fit(p->matrix_bytes, p->chunk_bytes, (size_t)t->line_size, &chunk);
	double lo = INFINITY, hi = -INFINITY, self = NAN;
	int lo_class = -1, hi_class = -1;
	for (long i = 0; i < n; i++) {
		const struct outcome *o = &done[i];
		if (o->job.series != SERIES_MATRIX || o->job.consumer != k || o->result.status != PAIR_OK)
			continue;
		double v = o->result.gbps.median;
		int c = (int)topology_pair_class(t, o->job.cpu_a, o->job.cpu_b);
		if (c == PAIR_SELF) {
			self = isnan(self) ? v : fmax(self, v);
			continue;
		}
		if (v < lo)
			lo = v, lo_class = c;
		if (v > hi)
			hi = v, hi_class = c;
	}
	char size[32];
	format_bytes(bytes, size, sizeof size);
	if (lo_class >= 0 && lo_class != hi_class)
		snprintf(headline, sizeof headline,
			 "%s at %s: median %.1f GB/s (%s) to %.1f GB/s (%s) between cores, %.1f GB/s on one core",
			 k->name, size, lo, pair_class_name(lo_class), hi, pair_class_name(hi_class), self);
	else if (lo_class >= 0)
		snprintf(headline, sizeof headline,
			 "%s at %s: median %.1f to %.1f GB/s between cores (%s), %.1f GB/s on one core",
			 k->name, size, lo, hi, pair_class_name(lo_class), self);
	else if (!isnan(self))
		snprintf(headline, sizeof headline, "%s at %s: median %.1f GB/s on one core", k->name,
			 size, self);
	const char *csv[] = { "bandwidth.csv", NULL };
	experiment_describe(r, "bandwidth", csv, plots, headline);
}

/* ---- the run ---- */

int bandwidth_experiment(struct run *r, struct bandwidth_plan *p, double budget_s)
{
	char err[ERRLEN], path[PATH_MAX];
	struct csv_writer csv = { .fd = -1 };
	struct bandwidth_job *jobs = NULL;
	struct outcome *done = NULL;
	struct ring_pool pool = { .ring_node = -1, .priv_node = -1 };
	json_t *experiment = json_object();
	int exit_code = EXIT_RUNTIME;
	long ndone = 0, failed = 0, wrong = 0, misplaced = 0;

	json_object_set_new(json_object_get(r->meta, "experiments"), "bandwidth", experiment);
	json_object_set_new(experiment, "status", json_string("running"));
	if (budget_s > 0) {
		struct rates rates;
		struct budget_plan b;
		probe_rates((size_t)r->topology.line_size, &rates);
		fit_budget(p, &r->topology, budget_s, &rates, &b);
		json_object_set_new(experiment, "budget", json_pack(
			"{s:f, s:f, s:o, s:o, s:f, s:{s:f, s:f}, s:s}", "budget_s", budget_s,
			"estimated_s", b.estimate_s, "sizes_dropped", b.dropped_sizes,
			"consumers_dropped", b.dropped_consumers, "time_limit_s", b.time_limit_s,
			"probe", "first_touch_gbps", rates.touch_gbps, "memcpy_gbps", rates.copy_gbps,
			"note", "in a time budget the sweep keeps fewer sizes and one consumer kernel"));
		if (!r->quiet)
			printf("\nbandwidth: fitting a %.0f s budget: %d sizes, one consumer, %.3g s per job "
			       "(estimated %.0f s; see meta.json budget)", budget_s, p->nsizes,
			       p->measure.time_limit_s, b.estimate_s);
	}
	if (!r->quiet) {
		char consumers[128] = "", matrix_label[32];
		for (int k = 0; k < p->nconsumers; k++)
			snprintf(consumers + strlen(consumers), sizeof consumers - strlen(consumers), "%s%s",
				 k ? "," : "", p->consumers[k]->name);
		format_bytes(p->matrix_bytes, matrix_label, sizeof matrix_label);
		printf("\nbandwidth: producer %s, consumer %s, %d CPUs, %d sizes, matrix at %s\n",
		       p->producer->name, consumers, p->ncpus, p->nsizes, matrix_label);
	}
	json_t *description = plan_description(p);
	json_object_update(experiment, description);
	json_decref(description);

	long njobs = bandwidth_plan_jobs(p, &r->topology, &jobs);
	done = calloc((size_t)(njobs > 0 ? njobs : 1), sizeof *done);
	if (njobs < 0 || done == NULL || order_jobs(p, &r->topology, jobs, njobs) != 0) {
		fprintf(stderr, "cohmap: out of memory for the bandwidth plan\n");
		goto out;
	}
	/* One pool for every job: the largest buffer once, not once per job. */
	for (long i = 0; i < njobs; i++)
		pool.capacity = jobs[i].bytes > pool.capacity ? jobs[i].bytes : pool.capacity;
	if (numa_available() < 0)
		run_warn(r, "libnuma reports no NUMA support: the ring is not placed (--home ignored)");
	if (p->sizes_note[0])
		run_warn(r, "%s", p->sizes_note);
	if (p->hook.corrupt_payload_from || p->hook.misnumber_chunk)
		run_warn(r, "test hook COHMAP_TEST_CORRUPT is set: chunks are corrupted on purpose");
	if (csv_writer_open(&csv, run_path(r, "bandwidth.csv", path, sizeof path), bandwidth_columns,
			    BANDWIDTH_COLUMNS, false, err) != 0 || run_save_meta(r) != 0) {
		fprintf(stderr, "cohmap: %s\n", err);
		goto out;
	}

	size_t chunk, matrix = ring_fit(p->matrix_bytes, p->chunk_bytes,
					     (size_t)r->topology.line_size, &chunk);
	struct reference ref = {
		.log = json_array(), .run_started = monotonic_ns(),
		.job = { .series = SERIES_MATRIX, .consumer = p->consumers[0], .cpu_a = p->cpus[0],
			 .cpu_b = p->cpus[p->ncpus > 1 ? 1 : 0], .bytes = matrix, .chunk = chunk },
	};
	json_object_set_new(experiment, "reference", ref.log);
	struct progress bar;
	progress_start(&bar, r->progress, "bandwidth", njobs);
	measure_reference(r, p, &pool, &ref);
	for (long j = 0; j < njobs && !cohmap_interrupted; j++) {
		struct ring_job job = ring_job_of(p, &r->topology, &jobs[j]);
		struct ring_result *m = &done[ndone].result;
		ring_measure(&job, &p->measure, &r->clock, &p->hook, &pool, m);
		if (m->status == PAIR_INTERRUPTED)
			break;
		done[ndone].job = jobs[j];
		if (m->status == PAIR_FAILED) {
			failed++;
			wrong += m->wrong_data;
			run_warn(r, "%s %d->%d at %zu bytes failed: %s", job.consumer->name, job.cpu_a,
				 job.cpu_b, job.buffer_bytes, m->reason);
		}
		bool elsewhere = job.home_node >= 0 && !isnan(m->pages_on_home_pct) &&
				 m->pages_on_home_pct < 100;
		if (elsewhere && misplaced++ == 0)
			run_warn(r, "placement: only %.0f%% of the %zu-byte ring for %d->%d is on node %d "
				 "(the kernel put the rest elsewhere, e.g. out of memory on that node); "
				 "pages_on_home_pct in bandwidth.csv says it per row",
				 m->pages_on_home_pct, job.buffer_bytes, job.cpu_a, job.cpu_b, job.home_node);
		if (write_row(&csv, r, p, &jobs[j], m, err) != 0) {
			fprintf(stderr, "cohmap: %s\n", err);
			goto out;
		}
		progress_update(&bar, ++ndone);
		if ((double)(monotonic_ns() - ref.last_ns) > REFERENCE_INTERVAL_S * 1e9)
			measure_reference(r, p, &pool, &ref);
	}
	if (!cohmap_interrupted)
		measure_reference(r, p, &pool, &ref);
	progress_end(&bar);
	if (csv_writer_close(&csv, err) != 0) {
		fprintf(stderr, "cohmap: %s\n", err);
		goto out;
	}

	json_object_set_new(experiment, "jobs_planned", json_integer(njobs));
	json_object_set_new(experiment, "jobs_measured", json_integer(ndone));
	json_object_set_new(experiment, "jobs_failed", json_integer(failed));
	json_object_set_new(experiment, "jobs_wrong_data", json_integer(wrong));
	json_object_set_new(experiment, "jobs_misplaced", json_integer(misplaced));
	json_object_set_new(experiment, "drift_max", json_real(ref.worst_change));
	if (cohmap_interrupted) {
		json_object_set_new(experiment, "status", json_string("interrupted"));
		fprintf(stderr, "cohmap: interrupted after %ld of %ld bandwidth jobs; they are in %s\n",
			ndone, njobs, r->dir);
		exit_code = EXIT_INTERRUPTED;
		goto out;
	}
	if (!r->quiet)
		print_summary(r, p, done, ndone);
	/* A bandwidth measured over wrong data is a bug, never a result. */
	exit_code = wrong > 0 || failed == njobs ? EXIT_RUNTIME : EXIT_DONE;
	json_object_set_new(experiment, "status", json_string(wrong > 0 ? "failed" : "complete"));
	if (wrong > 0)
		fprintf(stderr, "cohmap: %ld bandwidth jobs received wrong data (a bug, see meta.json "
			"warnings); their rows have no numbers\n", wrong);

	char images[2 * ARRAY_SIZE(p->consumers)][BANDWIDTH_PLOT_NAME], why[ERRLEN];
	const char *plots[2 * ARRAY_SIZE(p->consumers) + 1] = { NULL };
	int nplots = 0;
	if (!plot_gnuplot_available(why, sizeof why)) {
		run_warn(r, "no plots drawn: %s; bandwidth.csv is complete, draw it later with: cohmap plot %s",
			 why, r->dir);
		exit_code = exit_code == EXIT_DONE ? EXIT_PARTIAL : exit_code;
	} else if ((nplots = plot_bandwidth(r->dir, &r->topology, p->stat, images,
					    (int)ARRAY_SIZE(images), err)) < 0) {
		run_warn(r, "bandwidth plots not drawn: %s", err);
		exit_code = exit_code == EXIT_DONE ? EXIT_PARTIAL : exit_code;
		nplots = 0;
	}
	for (int i = 0; i < nplots; i++) {
		plots[i] = images[i];
		if (!r->quiet)
			printf("%s %s/%s\n", i == 0 ? "\nplots:" : "      ", r->dir, images[i]);
	}
	describe(r, p, done, ndone, plots);
out:
	if (csv.fd >= 0)
		csv_writer_close(&csv, err);
	ring_pool_release(&pool);
	free(jobs);
	free(done);
	return exit_code;
}
