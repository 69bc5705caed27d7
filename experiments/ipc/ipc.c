/* `cohmap ipc`: is memory shared between processes any slower than memory
 * shared between threads, once attached? Two kernels answer it on the same
 * CPU pairs (one per pair class): the handoff kernel (one-way latency of a
 * cache line) and the stream copy (a producer writes a ring, the consumer
 * copies it out: bandwidth), each with its agents as threads and as processes
 * sharing through fork + MAP_SHARED, SysV shm, POSIX shm and a memfd. Every
 * measurement of a round — each kind, each kernel — runs in one shuffled
 * order, so that the hypervisor moving vCPUs or a frequency change lands on
 * every kind alike. The answer is the difference to threads in each round,
 * and its spread over the rounds: a spread that straddles zero means no
 * difference could be measured.
 *
 * One file: the plan, the interleaved rounds and the per-round differences
 * are one loop over the same table of measurements; the engines themselves
 * are harness/latency_pair.c and harness/stream_ring.c. */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "experiments/bandwidth/bandwidth.h"
#include "harness/selection.h"
#include "base/budget.h"
#include "base/common.h"
#include "base/shuffle.h"
#include "base/stats.h"
#include "base/csv.h"
#include "experiments/experiment.h"
#include "harness/placement.h"
#include "base/memory.h"
#include "base/progress.h"
#include "harness/stream_ring.h"
#include "base/sizelist.h"
#include "kernels/registry.h"
#include "kernels/stream.h"
#include "plots/csvplot.h"
#include "experiments/ipc/ipc_plot.h"
#include "plots/plot.h"

/* The ipc experiment's own options. */
struct ipc_settings {
	long rounds;
	const char *sizes;
};

#define AT(field) offsetof(struct ipc_settings, field)
static const struct option_def ipc_options[] = {
	{ "rounds", 0, OPT_LONG, "N", "8", 1, 1000,
	  "interleaved rounds: every sharing kind, latency and bandwidth, once per round", AT(rounds) },
	{ "sizes", 0, OPT_STRING, "SIZES", NULL, 0, 0,
	  "the stream copy's ring, one size in bytes; K, M, G are KiB, MiB, GiB (default 1M)", AT(sizes) },
};
#undef AT

static const char *const ipc_shared_options[] = {
	"cpus", "kernel", "agents", "home", "pause", "samples", "precision", "time-limit", "sample-us", "watchdog", "seed", "output", "topology", "quiet", "help", NULL,
};

static const char *const ipc_csv[] = { "ipc-summary.csv", "ipc.csv", NULL };
static const char *const ipc_figures[] = { "ipc.png", "ipc-bandwidth.png", NULL };


/* The stream copy's ring unless --sizes names another size. 1 MiB spans 256
 * base pages, more than an L1 TLB maps, so a difference in page size between
 * the kinds of memory (a thread's private memory may get transparent huge
 * pages, shared memory mostly does not) has room to show; the ring and the
 * consumer's private copy (2 MiB together) stay in the last-level cache of
 * most machines, so what moves is lines between cores and not DRAM traffic,
 * whose noise would hide a small difference; and one pass takes tens to
 * hundreds of µs, so a sample spans whole passes within the short time each
 * of the rounds x kinds x kernels measurements gets. */
#define IPC_STREAM_BYTES ((size_t)1 << 20)

enum ipc_metric { IPC_LATENCY, IPC_BANDWIDTH, IPC_METRICS };
static const char *const metric_names[IPC_METRICS] = { "latency", "bandwidth" };

struct ipc_pair {
	int cpu_a, cpu_b;
	enum pair_class class;
};

struct ipc_plan {
	const struct kernel *kernel;
	enum agent_kind kinds[AGENT_KIND_COUNT];
	int nkinds;
	struct ipc_pair pairs[PAIR_CLASS_COUNT];
	int npairs;
	long rounds;
	struct measure_options measure;
	enum home_policy home;
	int home_node;
	unsigned long seed;
	size_t stream_bytes, stream_chunk; /* the stream copy's ring and chunk */
};

static void release(void *arg)
{
	free(arg);
}

/* The first pair of each class, in topology order: what the class costs,
 * without measuring every pair of a big machine. */
static int representative_pairs(const struct topology *t, const int *cpus, int n,
				struct ipc_pair *pairs)
{
	int count = 0;
	bool seen[PAIR_CLASS_COUNT] = { false };
	for (int a = 0; a < n; a++)
		for (int b = 0; b < n; b++) {
			if (a == b)
				continue;
			enum pair_class c = topology_pair_class(t, cpus[a], cpus[b]);
			if (c < PAIR_CLASS_COUNT && !seen[c]) {
				seen[c] = true;
				pairs[count++] = (struct ipc_pair){ cpus[a], cpus[b], c };
			}
		}
	return count;
}

static int parse_kinds(const char *cmd, const char *list, struct ipc_plan *p)
{
	if (list == NULL) {
		for (int k = 0; k < AGENT_KIND_COUNT; k++)
			p->kinds[p->nkinds++] = (enum agent_kind)k;
		return 0;
	}
	char copy[256], *save = NULL;
	snprintf(copy, sizeof copy, "%s", list);
	bool threads = false;
	for (char *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		int k = agent_kind_from_name(name);
		if (k < 0) {
			fprintf(stderr, "cohmap %s: --agents names '%s'; kinds: thread, fork-shared, sysv, posix, memfd\n",
				cmd, name);
			return -1;
		}
		for (int i = 0; i < p->nkinds; i++)
			if (p->kinds[i] == (enum agent_kind)k) {
				fprintf(stderr, "cohmap %s: --agents names '%s' twice\n", cmd, name);
				return -1;
			}
		threads |= k == AGENTS_THREADS;
		p->kinds[p->nkinds++] = (enum agent_kind)k;
	}
	if (!threads) { /* every difference is taken against threads */
		fprintf(stderr, "cohmap %s: --agents must include thread, the reference\n", cmd);
		return -1;
	}
	return 0;
}

/* The stream copy's geometry: the ring (--sizes, one size; default
 * IPC_STREAM_BYTES) and the chunk handed over at a time, chosen as `cohmap
 * bandwidth` chooses it: a power of two up to a quarter of L1d, so the chunk
 * just written and the consumer's copy of it both fit in L1. */
static int choose_stream(const char *cmd, const struct ipc_settings *own, const struct topology *t,
			 struct ipc_plan *p, char *skip_reason, int *rc)
{
	char err[ERRLEN], label[32];
	size_t line = (size_t)t->line_size, wanted = ring_min_chunk(line);
	size_t requested = IPC_STREAM_BYTES;
	while (wanted * 2 <= (t->l1d_bytes ? t->l1d_bytes / 4 : 64 * line))
		wanted *= 2;
	if (own->sizes) {
		uint64_t sizes[64];
		int n = sizes_parse(own->sizes, sizes, 64, err);
		if (n < 0) {
			fprintf(stderr, "cohmap %s: %s\n", cmd, err);
			return -1;
		}
		if (n != 1) {
			fprintf(stderr, "cohmap %s: --sizes takes one size here, the stream copy's ring "
				"(got '%s')\n", cmd, own->sizes);
			return -1;
		}
		requested = (size_t)sizes[0];
	}
	p->stream_bytes = ring_fit(requested, wanted, line, &p->stream_chunk);
	if (p->stream_bytes == 0) {
		format_bytes(2 * ring_min_chunk(line), label, sizeof label);
		fprintf(stderr, "cohmap %s: --sizes %s is below the smallest ring (%s: two chunks of two "
			"cache lines)\n", cmd, own->sizes, label);
		return -1;
	}
	struct ring_job job = { .consumer = &stream_copy, .buffer_bytes = p->stream_bytes,
				.chunk_bytes = p->stream_chunk };
	long long available = meminfo_field("MemAvailable");
	size_t need = ring_memory_needed(&job, &p->measure);
	if (available >= 0 && need > (size_t)available / 2) {
		char needed[32];
		format_bytes(p->stream_bytes, label, sizeof label);
		format_bytes(need, needed, sizeof needed);
		fprintf(stderr, "cohmap %s: --sizes: a %s ring needs %s with the consumer's copy, more "
			"than half of what is available (MemAvailable)\n", cmd, label, needed);
		return -1;
	}
	if (!stream_kernel_available(&stream_write, err, sizeof err) ||
	    !stream_kernel_available(&stream_copy, err, sizeof err)) {
		snprintf(skip_reason, ERRLEN, "stream copy: %s", err);
		*rc = EXIT_SKIPPED;
		return -1;
	}
	return 0;
}

static int prepare(const char *cmd, const struct options *o, const void *settings,
		   const struct topology *t, void **out, char *skip_reason)
{
	const struct ipc_settings *own = settings;
	char err[ERRLEN];
	struct ipc_plan *p = calloc(1, sizeof *p);
	int *cpus = calloc((size_t)t->ncpus, sizeof *cpus);
	int n, rc = EXIT_USAGE;
	if (p == NULL || cpus == NULL) {
		fprintf(stderr, "cohmap %s: out of memory\n", cmd);
		goto fail;
	}
	p->kernel = o->kernels ? kernel_find(o->kernels) : &kernel_load_store;
	if (p->kernel == NULL || strcmp(p->kernel->family, "latency") != 0) {
		fprintf(stderr, "cohmap %s: --kernel must name one latency kernel (see cohmap list), got '%s'\n",
			cmd, o->kernels);
		goto fail;
	}
	if (parse_kinds(cmd, o->agents, p) != 0)
		goto fail;
	if ((n = choose_cpus(cmd, o, t, cpus, t->ncpus, 2)) < 0) {
		/* The suite on a one-CPU machine skips; asked for directly, it fails. */
		snprintf(skip_reason, ERRLEN, "needs two usable CPUs");
		goto fail;
	}
	if (parse_home(o->home, t, &p->home, &p->home_node, err) != 0) {
		fprintf(stderr, "cohmap %s: %s\n", cmd, err);
		goto fail;
	}
	p->npairs = representative_pairs(t, cpus, n, p->pairs);
	/* Fewer than 6 rounds can never pass a sign test at 5%: unless told
	 * otherwise, take 8. */
	p->rounds = own->rounds;
	p->seed = options_seed(o);
	p->measure = measure_options_from(o, AGENTS_THREADS, (size_t)t->line_size);
	if (choose_stream(cmd, own, t, p, skip_reason, &rc) != 0)
		goto fail;
	/* An LSE kernel on a CPU without LSE: skipped, never a SIGILL. */
	if (!kernel_available(p->kernel, err, sizeof err)) {
		snprintf(skip_reason, ERRLEN, "%s: %s", p->kernel->name, err);
		rc = EXIT_SKIPPED;
		goto fail;
	}
	free(cpus);
	*out = p;
	return EXIT_DONE;
fail:
	free(cpus);
	free(p);
	return rc;
}

/* One row per measurement: a kind of agents, a kernel, a pair, a round. The
 * value columns carry their unit in the name, so a latency row leaves the
 * GB/s columns NA and a bandwidth row the ns columns. */
static const char *const ipc_columns[] = {
	"round", "agents", "metric", "kernel", "cpu_a", "cpu_b", "pair_class", "home_node", "status",
	"samples", "buffer_bytes", "min_ns", "p10_ns", "median_ns", "p90_ns", "min_gbps", "p10_gbps",
	"median_gbps", "p90_gbps", "same_physical_page", "reason",
};
static const char *const summary_columns[] = {
	"agents", "pair_class", "cpu_a", "cpu_b", "metric", "rounds", "median_ns", "round_min_ns",
	"round_max_ns", "diff_to_thread_ns", "diff_min_ns", "diff_max_ns", "median_gbps",
	"round_min_gbps", "round_max_gbps", "diff_to_thread_gbps", "diff_min_gbps", "diff_max_gbps",
	"sign_test_p", "verdict",
};
enum { MAX_CELLS = 24 };

static int write_cells(struct csv_writer *w, char cells[][ERRLEN], int n, char *err)
{
	const char *row[MAX_CELLS];
	for (int i = 0; i < n; i++) {
		for (char *c = cells[i]; *c; c++)
			if (*c == ',' || *c == '"' || *c == '\n')
				*c = ';';
		row[i] = cells[i];
	}
	return csv_writer_row(w, row, err);
}

static void number(char *cell, double v, const char *format)
{
	if (isfinite(v))
		snprintf(cell, ERRLEN, format, v);
	else
		snprintf(cell, ERRLEN, "NA");
}

/* Two-sided sign test: how likely n differences split this unevenly between
 * positive and negative if the kind made no difference. It assumes nothing
 * about the distribution of the differences — only that rounds are
 * independent, which interleaving is for. */
static double sign_test_p(const double *diffs, int n)
{
	int positive = 0, negative = 0;
	for (int i = 0; i < n; i++)
		positive += diffs[i] > 0, negative += diffs[i] < 0;
	int m = positive + negative, fewer = positive < negative ? positive : negative;
	double p = 0, choose = 1; /* C(m, i) */
	for (int i = 0; i <= fewer; i++) {
		p += choose * pow(0.5, m);
		choose = choose * (m - i) / (i + 1);
	}
	p *= 2;
	return m == 0 ? 1 : p > 1 ? 1 : p;
}

/* ---- one measurement ---- */

struct ipc_outcome {
	enum pair_status status;
	char reason[ERRLEN];
	int home_node;
	int same_page;             /* process kinds: see struct shared_region */
	char pagemap_note[128];
	struct summary value;      /* one-way ns (latency) or GB/s (bandwidth), per sample */
};

static int node_of(const struct topology *t, int cpu)
{
	const struct cpu_place *place = topology_find(t, cpu);
	return place ? place->numa_node : -1;
}

static int home_for(const struct ipc_plan *p, const struct topology *t, const struct ipc_pair *pair)
{
	if (p->home == HOME_NODE)
		return p->home_node;
	return node_of(t, p->home == HOME_FIRST ? pair->cpu_a : pair->cpu_b);
}

static void measure_latency(const struct ipc_plan *p, struct run *r, const struct ipc_pair *pair,
			    enum agent_kind kind, struct ipc_outcome *out)
{
	struct measure_options mo = p->measure;
	struct pair_measurement m;
	mo.agents = kind;
	measure_pair(p->kernel, pair->cpu_a, pair->cpu_b, home_for(p, &r->topology, pair), &mo,
		     &r->clock, &m, NULL);
	*out = (struct ipc_outcome){ .status = m.status, .home_node = m.home_node,
				     .same_page = m.same_page, .value = m.one_way_ns };
	snprintf(out->reason, sizeof out->reason, "%s", m.reason);
	snprintf(out->pagemap_note, sizeof out->pagemap_note, "%s", m.pagemap_note);
}

/* The producer on cpu_a writes the ring, the consumer on cpu_b copies every
 * chunk out of it: the direction of the handoff's initiator -> responder.
 * Fresh memory for every measurement (no ring_pool kept across them): reused
 * memory would give a kind the same pages, placement and page sizes in every
 * round, and one unlucky allocation would then look like a property of the
 * kind instead of averaging out over the rounds. */
static void measure_bandwidth(const struct ipc_plan *p, struct run *r, const struct ipc_pair *pair,
			      enum agent_kind kind, struct ipc_outcome *out)
{
	struct measure_options mo = p->measure;
	struct ring_pool pool = { .ring_node = -1, .priv_node = -1 };
	struct ring_result m;
	mo.agents = kind;
	struct ring_job job = {
		.producer = &stream_write, .consumer = &stream_copy,
		.cpu_a = pair->cpu_a, .cpu_b = pair->cpu_b,
		.buffer_bytes = p->stream_bytes, .chunk_bytes = p->stream_chunk,
		.home_node = home_for(p, &r->topology, pair),
		.private_node = node_of(&r->topology, pair->cpu_b),
	};
	ring_measure(&job, &mo, &r->clock, NULL, &pool, &m);
	*out = (struct ipc_outcome){ .status = m.status, .home_node = m.home_node,
				     .same_page = pool.ring.size ? pool.ring.same_page : -1,
				     .value = m.gbps };
	snprintf(out->reason, sizeof out->reason, "%s", m.reason);
	snprintf(out->pagemap_note, sizeof out->pagemap_note, "%s",
		 pool.ring.size ? pool.ring.pagemap_note : "not checked: no memory was made");
	ring_pool_release(&pool);
}

static int write_row(struct csv_writer *w, long round, enum agent_kind kind, enum ipc_metric metric,
		     const struct ipc_plan *p, const struct ipc_pair *pair,
		     const struct ipc_outcome *m, char *err)
{
	char cells[MAX_CELLS][ERRLEN];
	bool ok = m->status == PAIR_OK;
	int c = 0;
	snprintf(cells[c++], ERRLEN, "%ld", round + 1);
	snprintf(cells[c++], ERRLEN, "%s", agent_kind_name(kind));
	snprintf(cells[c++], ERRLEN, "%s", metric_names[metric]);
	snprintf(cells[c++], ERRLEN, "%s", metric == IPC_LATENCY ? p->kernel->name : stream_copy.name);
	snprintf(cells[c++], ERRLEN, "%d", pair->cpu_a);
	snprintf(cells[c++], ERRLEN, "%d", pair->cpu_b);
	snprintf(cells[c++], ERRLEN, "%s", pair_class_name(pair->class));
	snprintf(cells[c++], ERRLEN, "%d", m->home_node);
	snprintf(cells[c++], ERRLEN, "%s", ok ? "ok" : "failed");
	snprintf(cells[c++], ERRLEN, "%ld", ok ? m->value.n : 0);
	number(cells[c++], metric == IPC_BANDWIDTH ? (double)p->stream_bytes : NAN, "%.0f");
	double values[] = { m->value.min, m->value.p10, m->value.median, m->value.p90 };
	for (int set = 0; set < IPC_METRICS; set++)
		for (int v = 0; v < 4; v++)
			number(cells[c++], ok && set == (int)metric ? values[v] : NAN,
			       set == IPC_LATENCY ? "%.2f" : "%.3f");
	snprintf(cells[c++], ERRLEN, "%s",
		 kind == AGENTS_THREADS ? "NA"
		 : m->same_page == 1 ? "yes" : m->same_page == 0 ? "no" : "not checked");
	snprintf(cells[c++], ERRLEN, "%s", ok ? "" : m->reason);
	return write_cells(w, cells, c, err);
}

/* ---- the summary ---- */

/* "slower" for latency is more ns, for bandwidth fewer GB/s. */
static void verdict_of(enum ipc_metric metric, bool reference, int nd, double p_value, double dmed,
		       char *buf, size_t size)
{
	bool slower = metric == IPC_LATENCY ? dmed > 0 : dmed < 0;
	if (reference)
		snprintf(buf, size, "reference");
	else if (nd < 6)
		snprintf(buf, size, "cannot tell from %d rounds (a sign test needs 6+)", nd);
	else if (p_value < 0.05)
		snprintf(buf, size, "%s than threads (sign test p=%.3f)", slower ? "slower" : "faster",
			 p_value);
	else
		snprintf(buf, size, "no measurable difference (sign test p=%.2f)", p_value);
}

/* value[((round * np + pair) * nk + kind) * IPC_METRICS + metric]: each
 * round's median, NAN when that measurement failed or was not made. */
static size_t cell_index(const struct ipc_plan *p, long round, int pair, int kind, int metric)
{
	return (((size_t)round * (size_t)p->npairs + (size_t)pair) * (size_t)p->nkinds + (size_t)kind) *
		       IPC_METRICS + (size_t)metric;
}

/* Per pair, metric and kind: the median over rounds, and the per-round
 * difference to threads with its spread and a sign test; the table on
 * stdout and the headline. */
static int summarize_rounds(struct run *r, const struct ipc_plan *p, const double *value, long rounds,
			    char *headline, size_t headline_size, char *err)
{
	char path[PATH_MAX], cells[MAX_CELLS][ERRLEN], label[32];
	struct csv_writer summary = { .fd = -1 };
	int nk = p->nkinds, np = p->npairs, thread_k = 0;
	if (csv_writer_open(&summary, run_path(r, "ipc-summary.csv", path, sizeof path), summary_columns,
			    ARRAY_SIZE(summary_columns), false, err) != 0)
		return -1;
	while (p->kinds[thread_k] != AGENTS_THREADS)
		thread_k++;
	format_bytes(p->stream_bytes, label, sizeof label);
	headline[0] = '\0';
	for (int metric = 0; metric < IPC_METRICS; metric++) {
		bool lat = metric == IPC_LATENCY;
		const char *unit = lat ? "ns" : "GB/s";
		if (!r->quiet) {
			if (lat)
				printf("\none-way latency [ns] (%s)", p->kernel->name);
			else
				printf("\nstream copy bandwidth [GB/s] (write -> copy through a %s ring)", label);
			printf(", median over %ld rounds of each round's median;\ndifference to threads per "
			       "round: median [min, max]\n%-12s %-13s %9s %28s  %s\n", rounds, "agents",
			       "class", "median", "difference to threads", "verdict");
		}
		size_t used = strlen(headline);
		snprintf(headline + used, headline_size - used, "%s%s", used ? "; " : "",
			 metric_names[metric]);
		for (int pi = 0; pi < np; pi++)
			for (int k = 0; k < nk; k++) {
				double values[1024], diffs[1024];
				int nv = 0, nd = 0;
				for (long round = 0; round < rounds && round < 1024; round++) {
					double v = value[cell_index(p, round, pi, k, metric)];
					double t = value[cell_index(p, round, pi, thread_k, metric)];
					if (!isnan(v))
						values[nv++] = v;
					if (!isnan(v) && !isnan(t))
						diffs[nd++] = v - t;
				}
				double p_value = sign_test_p(diffs, nd);
				double med = median_of(values, nv), lo = nv ? values[0] : NAN;
				double hi = nv ? values[nv - 1] : NAN;
				double dmed = median_of(diffs, nd), dlo = nd ? diffs[0] : NAN;
				double dhi = nd ? diffs[nd - 1] : NAN;
				char verdict[96];
				verdict_of(metric, k == thread_k, nd, p_value, dmed, verdict, sizeof verdict);
				int c = 0;
				snprintf(cells[c++], ERRLEN, "%s", agent_kind_name(p->kinds[k]));
				snprintf(cells[c++], ERRLEN, "%s", pair_class_name(p->pairs[pi].class));
				snprintf(cells[c++], ERRLEN, "%d", p->pairs[pi].cpu_a);
				snprintf(cells[c++], ERRLEN, "%d", p->pairs[pi].cpu_b);
				snprintf(cells[c++], ERRLEN, "%s", metric_names[metric]);
				snprintf(cells[c++], ERRLEN, "%d", nv);
				double numbers[] = { med, lo, hi, dmed, dlo, dhi };
				for (int set = 0; set < IPC_METRICS; set++)
					for (int v = 0; v < 6; v++)
						number(cells[c++], set == metric ? numbers[v] : NAN,
						       set == IPC_LATENCY ? "%.2f" : "%.3f");
				number(cells[c++], k == thread_k ? NAN : p_value, "%.4f");
				snprintf(cells[c++], ERRLEN, "%s", verdict);
				if (write_cells(&summary, cells, c, err) != 0) {
					csv_writer_close(&summary, err);
					return -1;
				}
				if (!r->quiet) {
					char diff[64] = "";
					if (k != thread_k && nd > 0)
						snprintf(diff, sizeof diff, lat ? "%+.1f [%+.1f, %+.1f]"
									 : "%+.2f [%+.2f, %+.2f]",
							 dmed, dlo, dhi);
					printf(lat ? "%-12s %-13s %9.1f %28s  %s\n" : "%-12s %-13s %9.2f %28s  %s\n",
					       agent_kind_name(p->kinds[k]), pair_class_name(p->pairs[pi].class),
					       med, diff, verdict);
				}
				if (pi == 0 && k != thread_k) {
					used = strlen(headline);
					snprintf(headline + used, headline_size - used, lat ? " %s %+.0f %s," : " %s %+.2f %s,",
						 agent_kind_name(p->kinds[k]), dmed, unit);
				}
			}
		used = strlen(headline);
		if (used > 0 && headline[used - 1] == ',')
			headline[used - 1] = '\0';
	}
	return csv_writer_close(&summary, err);
}

/* Draws ipc.png (latency) and ipc-bandwidth.png from the summary with the
 * same script; plots[] gets the ones drawn. Returns false when one is missing. */
static bool draw(struct run *r, const char **plots)
{
	char why[ERRLEN], err[ERRLEN];
	if (!plot_gnuplot_available(why, sizeof why)) {
		run_warn(r, "no ipc chart drawn: %s; draw it later with: cohmap plot %s", why, r->dir);
		plots[0] = NULL;
		return false;
	}
	int drawn = plot_ipc_charts(r->dir, plots, err);
	if (drawn < IPC_CHART_COUNT)
		run_warn(r, "not every ipc chart drawn: %s", err);
	for (int i = 0; !r->quiet && i < drawn; i++)
		printf("%s%s/%s", i == 0 ? "\ncharts: " : ", ", r->dir, plots[i]);
	if (!r->quiet && drawn > 0)
		printf("\n");
	return drawn == IPC_CHART_COUNT;
}

/* ---- the experiment ---- */

struct ipc_task {
	int kind;
	enum ipc_metric metric;
};

static int measure(struct run *r, void *arg, double budget_s)
{
	struct ipc_plan *p = arg;
	char err[ERRLEN], path[PATH_MAX], label[32];
	int nk = p->nkinds, np = p->npairs, ntasks = nk * IPC_METRICS;
	long rounds = p->rounds, rounds_done = 0;
	size_t ncells = (size_t)rounds * (size_t)np * (size_t)ntasks;
	/* calloc: no cell is ever undefined, even before the loop below marks
	 * them all not measured (NAN). */
	double *value = calloc(ncells, sizeof *value);
	struct csv_writer csv = { .fd = -1 };
	int rc = EXIT_RUNTIME;
	long failed = 0, measured = 0;
	json_t *pagemap = json_object();
	uint64_t started = monotonic_ns();

	if (budget_s > 0 && p->measure.fixed_samples == 0) {
		double share = budget_s * BUDGET_PLANNED_SHARE / (double)(rounds * np * ntasks);
		if (share < p->measure.time_limit_s)
			p->measure.time_limit_s = share < 0.005 ? 0.005 : share;
	}
	format_bytes(p->stream_bytes, label, sizeof label);
	json_t *e = json_pack("{s:s, s:s, s:I, s:I, s:f, s:{s:s, s:s, s:I, s:I, s:s}}", "status", "running",
			      "kernel", p->kernel->name, "rounds", (json_int_t)rounds, "seed",
			      (json_int_t)p->seed, "time_limit_s", p->measure.time_limit_s, "stream",
			      "producer", stream_write.name, "consumer", stream_copy.name,
			      "buffer_bytes", (json_int_t)p->stream_bytes, "chunk_bytes",
			      (json_int_t)p->stream_chunk, "why",
			      "spans more base pages than an L1 TLB maps, stays in the last-level cache "
			      "with the consumer's copy, and streams many passes in a short time");
	json_object_set_new(json_object_get(r->meta, "experiments"), "ipc", e);
	json_object_set_new(e, "pagemap", pagemap);
	if (value == NULL || csv_writer_open(&csv, run_path(r, "ipc.csv", path, sizeof path), ipc_columns,
					     ARRAY_SIZE(ipc_columns), false, err) != 0) {
		fprintf(stderr, "cohmap: %s\n", value ? err : "out of memory");
		goto out;
	}
	for (size_t i = 0; i < ncells; i++)
		value[i] = NAN;
	if (!r->quiet)
		printf("\nipc: %s kernel and the stream copy (%s ring), %d sharing kinds x %d pair%s, "
		       "%ld interleaved rounds\n", p->kernel->name, label, nk, np, np == 1 ? "" : "s",
		       rounds);

	struct progress bar;
	progress_start(&bar, r->progress, "ipc", rounds * np * ntasks);
	uint64_t random = p->seed;
	long done = 0;
	for (long round = 0; round < rounds && !cohmap_interrupted; round++) {
		for (int pi = 0; pi < np && !cohmap_interrupted; pi++) {
			/* A fresh order each round over every kind and both
			 * kernels: no kind always runs first, or right after
			 * the other kernel warmed the caches. */
			struct ipc_task order[AGENT_KIND_COUNT * IPC_METRICS];
			for (int t = 0; t < ntasks; t++)
				order[t] = (struct ipc_task){ t / IPC_METRICS, (enum ipc_metric)(t % IPC_METRICS) };
			for (int t = ntasks - 1; t > 0; t--) {
				int j = (int)(shuffle_next(&random) % (uint64_t)(t + 1));
				struct ipc_task tmp = order[t];
				order[t] = order[j];
				order[j] = tmp;
			}
			for (int oi = 0; oi < ntasks && !cohmap_interrupted; oi++) {
				int k = order[oi].kind;
				enum ipc_metric metric = order[oi].metric;
				enum agent_kind kind = p->kinds[k];
				const struct ipc_pair *pair = &p->pairs[pi];
				struct ipc_outcome m;
				if (metric == IPC_LATENCY)
					measure_latency(p, r, pair, kind, &m);
				else
					measure_bandwidth(p, r, pair, kind, &m);
				if (m.status == PAIR_INTERRUPTED)
					break;
				bool ok = m.status == PAIR_OK;
				value[cell_index(p, round, pi, k, metric)] = ok ? m.value.median : NAN;
				failed += !ok;
				measured++;
				if (!ok)
					run_warn(r, "ipc %s %s %d->%d failed: %s", agent_kind_name(kind),
						 metric_names[metric], pair->cpu_a, pair->cpu_b, m.reason);
				if (kind != AGENTS_THREADS && !json_object_get(pagemap, agent_kind_name(kind)))
					json_object_set_new(pagemap, agent_kind_name(kind),
							    json_string(m.pagemap_note));
				if (write_row(&csv, round, kind, metric, p, pair, &m, err) != 0) {
					fprintf(stderr, "cohmap: %s\n", err);
					goto out;
				}
				if (m.same_page == 0)
					run_warn(r, "ipc %s: %s", agent_kind_name(kind), m.pagemap_note);
				progress_update(&bar, ++done);
			}
		}
		if (cohmap_interrupted)
			break;
		rounds_done = round + 1;
		/* A suite budget: stop before a round that would not fit. */
		double elapsed = (double)(monotonic_ns() - started) / 1e9;
		if (budget_s > 0 && rounds_done < rounds && elapsed / (double)rounds_done * (double)(rounds_done + 1) > budget_s) {
			run_warn(r, "ipc: the %.0f s budget allowed %ld of %ld rounds", budget_s, rounds_done,
				 rounds);
			break;
		}
	}
	progress_end(&bar);
	csv_writer_close(&csv, err);
	json_object_set_new(e, "rounds_done", json_integer(rounds_done));
	if (cohmap_interrupted) {
		json_object_set_new(e, "status", json_string("interrupted"));
		rc = EXIT_INTERRUPTED;
		goto out;
	}

	char headline[ERRLEN], sentence[ERRLEN];
	if (summarize_rounds(r, p, value, rounds_done, headline, sizeof headline, err) != 0) {
		fprintf(stderr, "cohmap: %s\n", err);
		goto out;
	}
	snprintf(sentence, sizeof sentence, "%s pair, difference to threads (median over %ld rounds): %s",
		 np ? pair_class_name(p->pairs[0].class) : "no", rounds_done, headline);

	rc = failed == measured && measured > 0 ? EXIT_RUNTIME : EXIT_DONE;
	const char *plots[IPC_METRICS + 1], *csvs[] = { "ipc.csv", "ipc-summary.csv", NULL };
	if (!draw(r, plots))
		rc = rc == EXIT_DONE ? EXIT_PARTIAL : rc;
	experiment_describe(r, "ipc", csvs, plots, sentence);
	json_object_set_new(e, "status", json_string("complete"));
out:
	if (csv.fd >= 0)
		csv_writer_close(&csv, err);
	free(value);
	return rc;
}

static int redraw(const char *dir, const struct topology *t, const char *stat, char *err)
{
	(void)t, (void)stat;
	const char *images[IPC_CHART_COUNT + 1];
	return plot_ipc_charts(dir, images, err) == IPC_CHART_COUNT ? IPC_CHART_COUNT : -1;
}

const struct experiment experiment_ipc = {
	.name = "ipc",
	.summary = "threads against processes (fork-shared, sysv, posix, memfd): latency and stream copy "
		   "bandwidth, interleaved (ipc.csv, ipc.png, ipc-bandwidth.png)",
	.examples = "  cohmap ipc                              # all kinds, one pair per class, 8 rounds\n"
		    "  cohmap ipc --agents thread,sysv --rounds 20\n"
		    "  cohmap ipc -k cas_bounce -c S0:0-3\n"
		    "  cohmap ipc --sizes 8M                  # the stream copy through an 8 MiB ring (default 1M)\n",
	.shared_options = ipc_shared_options,
	.options = ipc_options,
	.option_count = ARRAY_SIZE(ipc_options),
	.settings_size = sizeof(struct ipc_settings),
	.title = "Threads against processes",
	.shows = "The same cache-line handoff (latency) and the same stream copy (a producer writes a "
		 "ring, the consumer copies it out: bandwidth) on the same CPU pairs, with the two agents "
		 "as threads of one process and as processes sharing memory through fork + MAP_SHARED, "
		 "SysV shm, POSIX shm and a memfd, all interleaved round by round in a shuffled order so "
		 "that a change of the machine touches every kind alike. The result is each kind's "
		 "difference to threads in the same round, one chart per measure.",
	.read = "A difference whose spread over the rounds straddles zero, or a sign test that finds "
		 "none, means none could be measured: the coherence protocol moves cache lines and does "
		 "not know which process owns them. A real difference points at placement (NUMA node, "
		 "page size), not at threads or processes.",
	.csv = ipc_csv,
	.figures = ipc_figures,
	.prepare = prepare,
	.measure = measure,
	.release = release,
	.draw = redraw,
};

