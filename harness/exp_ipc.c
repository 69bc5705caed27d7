/* `cohmap ipc`: is memory shared between processes any slower than memory
 * shared between threads, once attached? The same handoff kernel, on the same
 * CPU pairs (one per pair class), with its agents as threads and as processes
 * sharing through fork + MAP_SHARED, SysV shm, POSIX shm and a memfd —
 * interleaved round by round, so that the hypervisor moving vCPUs or a
 * frequency change lands on every kind alike. The answer is the difference to
 * threads in each round, and its spread over the rounds: a spread that
 * straddles zero means no difference could be measured. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/commands.h"
#include "harness/common.h"
#include "harness/csv.h"
#include "harness/experiment.h"
#include "harness/latency.h"
#include "harness/progress.h"
#include "kernels/registry.h"
#include "plots/csvplot.h"
#include "plots/plot.h"

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

static int prepare(const char *cmd, const struct options *o, const struct topology *t, void **out,
		   char *skip_reason)
{
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
	if ((n = command_cpus(cmd, o, t, cpus, t->ncpus, 2)) < 0) {
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
	p->rounds = o->rounds > 0 ? o->rounds : 8;
	p->seed = o->seed >= 0 ? (unsigned long)o->seed : (unsigned long)(monotonic_ns() & 0xffffffffu);
	p->measure = (struct measure_options){
		.pause = o->pause,
		.fixed_samples = o->samples,
		.precision = o->precision_pct / 100,
		.time_limit_s = o->time_limit_s,
		.sample_target_ns = o->sample_us * 1000,
		.watchdog_s = o->watchdog_s,
		.line_size = (size_t)t->line_size,
	};
	free(cpus);
	*out = p;
	return EXIT_DONE;
fail:
	free(cpus);
	free(p);
	return rc;
}

static const char *const ipc_columns[] = {
	"round", "agents", "kernel", "cpu_a", "cpu_b", "pair_class", "home_node", "status",
	"samples", "min_ns", "p10_ns", "median_ns", "p90_ns", "same_physical_page", "reason",
};
static const char *const summary_columns[] = {
	"agents", "pair_class", "cpu_a", "cpu_b", "rounds", "median_ns", "round_min_ns",
	"round_max_ns", "diff_to_thread_ns", "diff_min_ns", "diff_max_ns", "verdict",
};

static uint64_t next_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int write_cells(struct csv_writer *w, char cells[][ERRLEN], int n, char *err)
{
	const char *row[32];
	for (int i = 0; i < n; i++) {
		for (char *c = cells[i]; *c; c++)
			if (*c == ',' || *c == '"' || *c == '\n')
				*c = ';';
		row[i] = cells[i];
	}
	return csv_writer_row(w, row, err);
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

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median_of(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, compare_doubles);
	return n == 0 ? NAN : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int measure(struct run *r, void *arg, double budget_s)
{
	struct ipc_plan *p = arg;
	char err[ERRLEN], path[PATH_MAX], cells[16][ERRLEN];
	int nk = p->nkinds, np = p->npairs;
	long rounds = p->rounds;
	/* median[round][pair][kind] */
	double *median = malloc(sizeof(double) * (size_t)(rounds * np * nk));
	struct csv_writer csv = { .fd = -1 }, summary = { .fd = -1 };
	int rc = EXIT_RUNTIME;
	long failed = 0, measured = 0;
	json_t *pagemap = json_object();

	if (budget_s > 0 && p->measure.fixed_samples == 0) {
		double share = budget_s * 0.8 / (double)(rounds * np * nk);
		if (share < p->measure.time_limit_s)
			p->measure.time_limit_s = share < 0.005 ? 0.005 : share;
	}
	json_t *e = json_pack("{s:s, s:s, s:I, s:I, s:f}", "status", "running", "kernel", p->kernel->name,
			      "rounds", (json_int_t)rounds, "seed", (json_int_t)p->seed,
			      "time_limit_s", p->measure.time_limit_s);
	json_object_set_new(json_object_get(r->meta, "experiments"), "ipc", e);
	json_object_set_new(e, "pagemap", pagemap);
	if (median == NULL || csv_writer_open(&csv, run_path(r, "ipc.csv", path, sizeof path), ipc_columns,
					      ARRAY_SIZE(ipc_columns), false, err) != 0) {
		fprintf(stderr, "cohmap: %s\n", median ? err : "out of memory");
		goto out;
	}
	if (!r->quiet)
		printf("\nipc: %s kernel, %d sharing kinds x %d pair%s, %ld interleaved rounds\n",
		       p->kernel->name, nk, np, np == 1 ? "" : "s", rounds);

	struct progress bar;
	progress_start(&bar, r->progress, "ipc", rounds * np * nk);
	uint64_t random = p->seed;
	long done = 0;
	for (long round = 0; round < rounds && !cohmap_interrupted; round++) {
		for (int pi = 0; pi < np && !cohmap_interrupted; pi++) {
			/* A fresh order each round: no kind always runs first. */
			int order[AGENT_KIND_COUNT];
			for (int k = 0; k < nk; k++)
				order[k] = k;
			for (int k = nk - 1; k > 0; k--) {
				int j = (int)(next_random(&random) % (uint64_t)(k + 1)), tmp = order[k];
				order[k] = order[j];
				order[j] = tmp;
			}
			for (int oi = 0; oi < nk && !cohmap_interrupted; oi++) {
				int k = order[oi];
				const struct ipc_pair *pair = &p->pairs[pi];
				struct measure_options mo = p->measure;
				mo.agents = p->kinds[k];
				int home = p->home == HOME_NODE ? p->home_node : -1;
				if (p->home != HOME_NODE) {
					const struct cpu_place *place = topology_find(&r->topology,
						p->home == HOME_FIRST ? pair->cpu_a : pair->cpu_b);
					home = place ? place->numa_node : -1;
				}
				struct pair_measurement m;
				measure_pair(p->kernel, pair->cpu_a, pair->cpu_b, home, &mo, &r->clock, &m, NULL);
				if (m.status == PAIR_INTERRUPTED)
					break;
				bool ok = m.status == PAIR_OK;
				median[(round * np + pi) * nk + k] = ok ? m.one_way_ns.median : NAN;
				failed += !ok;
				measured++;
				if (!ok)
					run_warn(r, "ipc %s %d->%d failed: %s", agent_kind_name(mo.agents),
						 pair->cpu_a, pair->cpu_b, m.reason);
				if (mo.agents != AGENTS_THREADS && !json_object_get(pagemap, agent_kind_name(mo.agents)))
					json_object_set_new(pagemap, agent_kind_name(mo.agents),
							    json_string(m.pagemap_note));
				int c = 0;
				snprintf(cells[c++], ERRLEN, "%ld", round + 1);
				snprintf(cells[c++], ERRLEN, "%s", agent_kind_name(mo.agents));
				snprintf(cells[c++], ERRLEN, "%s", p->kernel->name);
				snprintf(cells[c++], ERRLEN, "%d", pair->cpu_a);
				snprintf(cells[c++], ERRLEN, "%d", pair->cpu_b);
				snprintf(cells[c++], ERRLEN, "%s", pair_class_name(pair->class));
				snprintf(cells[c++], ERRLEN, "%d", m.home_node);
				snprintf(cells[c++], ERRLEN, "%s", ok ? "ok" : "failed");
				snprintf(cells[c++], ERRLEN, "%ld", ok ? m.one_way_ns.n : 0);
				double values[] = { m.one_way_ns.min, m.one_way_ns.p10, m.one_way_ns.median,
						    m.one_way_ns.p90 };
				for (int v = 0; v < 4; v++)
					snprintf(cells[c++], ERRLEN, ok ? "%.2f" : "NA", values[v]);
				snprintf(cells[c++], ERRLEN, "%s",
					 mo.agents == AGENTS_THREADS ? "NA"
					 : m.same_page == 1 ? "yes" : m.same_page == 0 ? "no" : "not checked");
				snprintf(cells[c++], ERRLEN, "%s", ok ? "" : m.reason);
				if (write_cells(&csv, cells, c, err) != 0) {
					fprintf(stderr, "cohmap: %s\n", err);
					goto out;
				}
				if (m.same_page == 0)
					run_warn(r, "ipc %s: %s", agent_kind_name(mo.agents), m.pagemap_note);
				progress_update(&bar, ++done);
			}
		}
	}
	progress_end(&bar);
	csv_writer_close(&csv, err);
	if (cohmap_interrupted) {
		json_object_set_new(e, "status", json_string("interrupted"));
		rc = EXIT_INTERRUPTED;
		goto out;
	}

	/* Per pair and kind: the median over rounds, and the per-round
	 * difference to threads with its spread. */
	if (csv_writer_open(&summary, run_path(r, "ipc-summary.csv", path, sizeof path), summary_columns,
			    ARRAY_SIZE(summary_columns), false, err) != 0) {
		fprintf(stderr, "cohmap: %s\n", err);
		goto out;
	}
	int thread_k = 0;
	while (p->kinds[thread_k] != AGENTS_THREADS)
		thread_k++;
	if (!r->quiet)
		printf("\none-way latency [ns], median over %ld rounds of each round's median; difference to "
		       "threads per round: median [min, max]\n%-12s %-13s %9s %28s  %s\n", rounds, "agents",
		       "class", "median", "difference to threads", "verdict");
	char headline[ERRLEN] = "";
	for (int pi = 0; pi < np; pi++)
		for (int k = 0; k < nk; k++) {
			double values[1024], diffs[1024];
			int nv = 0, nd = 0;
			for (long round = 0; round < rounds && round < 1024; round++) {
				double v = median[(round * np + pi) * nk + k];
				double t = median[(round * np + pi) * nk + thread_k];
				if (!isnan(v))
					values[nv++] = v;
				if (!isnan(v) && !isnan(t))
					diffs[nd++] = v - t;
			}
			double p_value = sign_test_p(diffs, nd);
			double med = median_of(values, nv), lo = nv ? values[0] : NAN, hi = nv ? values[nv - 1] : NAN;
			double dmed = median_of(diffs, nd), dlo = nd ? diffs[0] : NAN, dhi = nd ? diffs[nd - 1] : NAN;
			char verdict[96];
			if (k == thread_k)
				snprintf(verdict, sizeof verdict, "reference");
			else if (nd < 6)
				snprintf(verdict, sizeof verdict, "cannot tell from %d rounds (a sign test needs 6+)", nd);
			else if (p_value < 0.05)
				snprintf(verdict, sizeof verdict, "%s than threads (sign test p=%.3f)",
					 dmed > 0 ? "slower" : "faster", p_value);
			else
				snprintf(verdict, sizeof verdict, "no measurable difference (sign test p=%.2f)", p_value);
			int c = 0;
			snprintf(cells[c++], ERRLEN, "%s", agent_kind_name(p->kinds[k]));
			snprintf(cells[c++], ERRLEN, "%s", pair_class_name(p->pairs[pi].class));
			snprintf(cells[c++], ERRLEN, "%d", p->pairs[pi].cpu_a);
			snprintf(cells[c++], ERRLEN, "%d", p->pairs[pi].cpu_b);
			snprintf(cells[c++], ERRLEN, "%d", nv);
			double numbers[] = { med, lo, hi, dmed, dlo, dhi };
			for (int v = 0; v < 6; v++)
				snprintf(cells[c++], ERRLEN, isnan(numbers[v]) ? "NA" : "%.2f", numbers[v]);
			snprintf(cells[c++], ERRLEN, "%s", verdict);
			if (write_cells(&summary, cells, c, err) != 0) {
				fprintf(stderr, "cohmap: %s\n", err);
				goto out;
			}
			if (!r->quiet) {
				char diff[64] = "";
				if (k != thread_k && nd > 0)
					snprintf(diff, sizeof diff, "%+.1f [%+.1f, %+.1f]", dmed, dlo, dhi);
				printf("%-12s %-13s %9.1f %28s  %s\n", agent_kind_name(p->kinds[k]),
				       pair_class_name(p->pairs[pi].class), med, diff, verdict);
			}
			if (pi == 0 && k != thread_k) {
				size_t used = strlen(headline);
				snprintf(headline + used, sizeof headline - used, "%s%s %+.0f ns", used ? ", " : "",
					 agent_kind_name(p->kinds[k]), dmed);
			}
		}
	csv_writer_close(&summary, err);
	char sentence[ERRLEN];
	snprintf(sentence, sizeof sentence, "%s pair, difference to threads (median over %ld rounds): %s",
		 np ? pair_class_name(p->pairs[0].class) : "no", rounds, headline);

	rc = failed == measured && measured > 0 ? EXIT_RUNTIME : EXIT_DONE;
	char why[ERRLEN];
	const char *plots[] = { "ipc.png", NULL }, *csvs[] = { "ipc.csv", "ipc-summary.csv", NULL };
	bool drawn = false;
	if (!plot_gnuplot_available(why, sizeof why)) {
		run_warn(r, "no ipc chart drawn: %s; draw it later with: cohmap plot %s", why, r->dir);
		rc = rc == EXIT_DONE ? EXIT_PARTIAL : rc;
	} else if (plot_csv_figure("ipc.gp", r->dir, "ipc-summary.csv", "ipc.png", NULL, err) != 0) {
		run_warn(r, "no ipc chart drawn: %s", err);
		rc = rc == EXIT_DONE ? EXIT_PARTIAL : rc;
	} else {
		drawn = true;
		if (!r->quiet)
			printf("\nchart: %s/ipc.png\n", r->dir);
	}
	if (!drawn)
		plots[0] = NULL;
	experiment_describe(r, "ipc", csvs, plots, sentence);
	json_object_set_new(e, "status", json_string("complete"));
out:
	if (csv.fd >= 0)
		csv_writer_close(&csv, err);
	if (summary.fd >= 0)
		csv_writer_close(&summary, err);
	free(median);
	return rc;
}

const struct experiment experiment_ipc = {
	.name = "ipc",
	.summary = "threads against processes: the same handoff with each kind of shared memory",
	.prepare = prepare,
	.measure = measure,
	.release = release,
};
