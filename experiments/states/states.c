/* The line-state experiment: options checked against the topology (which
 * kernels, CPUs, pairs, how lines are invalidated), then the pairs in a
 * shuffled order into states.csv, meta.json, a summary table and the plots.
 * One pair is measured by experiments/states/states_measure.c.
 *
 * One file: the plan, the summary table and the headline read the same
 * results array, pair class by pair class. */
#include <errno.h>
#include <math.h>
#include <numa.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness/selection.h"
#include "base/budget.h"
#include "base/common.h"
#include "base/shuffle.h"
#include "base/csv.h"
#include "experiments/experiment.h"
#include "harness/placement.h"
#include "base/progress.h"
#include "experiments/states/states.h"
#include "plots/plot.h"
#include "experiments/states/states_plot.h"

/* The states experiment's own options. */
struct states_settings {
	bool all_pairs;
	const char *invalidate;
	long lines;
};

#define AT(field) offsetof(struct states_settings, field)
static const struct option_def states_options[] = {
	{ "all-pairs", 0, OPT_FLAG, NULL, NULL, 0, 0,
	  "every ordered pair of the CPUs, one heatmap per kernel (default: one pair per pair class)", AT(all_pairs) },
	{ "invalidate", 0, OPT_STRING, "HOW", "auto", 0, 0,
	  "how lines are made Invalid: auto (clflushopt, else clflush, by CPUID; dc_civac on aarch64), "
	  "clflushopt, clflush, dc_civac, or evict (stream a buffer twice the LLC)", AT(invalidate) },
	{ "lines", 0, OPT_LONG, "N", NULL, 1, 65536,
	  "lines per sample, the length of the timed chain (default: a quarter of the L1d's lines)", AT(lines) },
};
#undef AT

static const char *const states_shared_options[] = {
	"cpus", "kernel", "home", "pause", "samples", "precision", "time-limit", "watchdog", "stat", "seed", "events", "output", "topology", "quiet", "help", NULL,
};

static const char *const states_csv[] = { "states.csv", NULL };
static const char *const states_figures[] = { "states.png", "states-%s.png", NULL };


/* Lines per sample: a quarter of the L1d's lines. The lines sit two apart,
 * so they use half the L1's sets; a quarter keeps the owner's whole set in
 * its L1 with room to spare, and a walk of them lasts long enough (hundreds
 * of accesses) that the clock's cost and resolution vanish. */
#define LINES_PER_L1D_FRACTION 4
#define LINES_MIN 16
#define LINES_MAX 1024
#define LINES_WITHOUT_L1D_SIZE 64

struct states_plan {
	const struct state_kernel **kernels;
	int nkernels;
	int *cpus;                 /* in topology order */
	int ncpus;
	struct states_pair *pairs;
	int npairs;
	bool all_pairs;
	enum home_policy home;
	int home_node;
	struct states_options options;
	const char *invalidate_option;
	bool needs_invalidation;   /* some kernel's state is prepared by invalidating */
	const char *stat;
	struct event_request events;
	const char *events_option;
};

static const char *const base_columns[] = {
	"kernel", "state", "operation", "cpu_owner", "cpu_requester", "cpu_sharer", "pair_class",
	"sharer_class", "home_node", "invalidation_method", "agents", "status", "lines_per_sample",
	"line_stride_bytes", "samples", "disturbed_samples", "min_ns", "p10_ns", "median_ns",
	"p90_ns", "mean_ns", "stddev_ns", "ci95_low_ns", "ci95_high_ns", "reason",
};
enum { BASE_COLUMNS = ARRAY_SIZE(base_columns), MAX_COLUMNS = BASE_COLUMNS + MAX_EVENTS };

/* ---- the plan ---- */

static void release(void *arg)
{
	struct states_plan *p = arg;
	free(p->kernels);
	free(p->cpus);
	free(p->pairs);
	free(p);
}

static const char *state_kernel_name(int i)
{
	return state_kernel_registry[i]->name;
}

/* -k LIST from the state kernels, or all of them. */
static int choose_kernels(const char *cmd, const char *list, struct states_plan *p)
{
	if (list == NULL) {
		for (int i = 0; i < state_kernel_count; i++)
			p->kernels[p->nkernels++] = state_kernel_registry[i];
		return 0;
	}
	const struct name_choice c = { "state kernel", "--kernel", "kernel", NULL, state_kernel_count,
				       state_kernel_name };
	int *index = malloc((size_t)state_kernel_count * sizeof *index);
	int n = index ? choose_names(cmd, &c, list, index, state_kernel_count) : -1;
	for (int i = 0; i < n; i++)
		p->kernels[p->nkernels++] = state_kernel_registry[index[i]];
	free(index);
	return n < 0 ? -1 : 0;
}

/* The CPU that shares the lines with the owner: one whose distance to the
 * requester is the owner's (so the pair class still says how far the data
 * is), else the nearest farther one, else the farthest nearer one. The
 * requester itself when there is no third CPU. */
static int choose_sharer(const struct topology *t, const int *cpus, int n, int owner,
			 int requester)
{
	int want = (int)topology_pair_class(t, owner, requester), best = requester, best_score = 0;
	for (int i = 0; i < n; i++) {
		int c = cpus[i];
		if (c == owner || c == requester)
			continue;
		int got = (int)topology_pair_class(t, c, requester);
		int score = got == want ? 1 : got > want ? 2 + (got - want) : 100 + (want - got);
		if (best_score == 0 || score < best_score) {
			best = c;
			best_score = score;
		}
	}
	return best;
}

int states_choose_pairs(const struct topology *t, const int *cpus, int ncpus, bool all_pairs,
			struct states_pair *out)
{
	bool seen[PAIR_CLASS_COUNT + 1] = { false };
	int n = 0;
	for (int a = 0; a < ncpus; a++)
		for (int b = 0; b < ncpus; b++) {
			if (a == b)
				continue;
			int owner = cpus[a], requester = cpus[b];
			enum pair_class c = topology_pair_class(t, owner, requester);
			if (!all_pairs) {
				if (seen[c])
					continue;
				seen[c] = true;
			}
			out[n++] = (struct states_pair){
				.owner = owner, .requester = requester,
				.sharer = choose_sharer(t, cpus, ncpus, owner, requester),
				.home_node = -1,
			};
		}
	return n;
}

/* --invalidate: what CPUID offers, or what was asked for if the CPU has it.
 * Returns EXIT_DONE, EXIT_USAGE (printed) or EXIT_SKIPPED (reason). */
static int choose_invalidation(const char *cmd, const char *text, const struct topology *t,
			       struct states_options *o, char *skip_reason)
{
	int asked = strcmp(text, "auto") == 0 ? (int)states_best_invalidation()
						: invalidation_from_name(text);
	if (asked < 0) {
		char known[96] = "auto";
		const char *names[] = { invalidation_name(INVALIDATE_FLUSH_OVERLAPPED),
					invalidation_name(INVALIDATE_FLUSH_ORDERED) };
		for (size_t i = 0; i < ARRAY_SIZE(names); i++)
			if (names[i])
				snprintf(known + strlen(known), sizeof known - strlen(known), ", %s", names[i]);
		fprintf(stderr, "cohmap %s: --invalidate must be %s or evict (got '%s')\n", cmd, known,
			text);
		return EXIT_USAGE;
	}
	o->invalidate = (enum invalidation)asked;
	if (!states_invalidation_available(o->invalidate, skip_reason, ERRLEN))
		return EXIT_SKIPPED;
	if (o->invalidate == INVALIDATE_EVICT) {
		/* Twice the last-level cache: one pass of a buffer just the LLC's
		 * size leaves lines behind under any replacement policy that is
		 * not exactly LRU. */
		size_t llc = t->l3_bytes ? t->l3_bytes : t->l2_bytes;
		if (llc == 0) {
			set_error(skip_reason, "the topology does not know the last-level cache's size, "
				  "so no eviction buffer can be sized");
			return EXIT_SKIPPED;
		}
		o->evict_bytes = 2 * llc;
	}
	return EXIT_DONE;
}

static int prepare(const char *cmd, const struct options *o, const void *settings,
		   const struct topology *t, void **out, char *skip_reason)
{
	const struct states_settings *own = settings;
	char err[ERRLEN];
	struct states_plan *p = calloc(1, sizeof *p);
	if (p == NULL || !(p->kernels = calloc((size_t)state_kernel_count, sizeof *p->kernels)) ||
	    !(p->cpus = calloc((size_t)t->ncpus, sizeof *p->cpus)) ||
	    !(p->pairs = calloc((size_t)t->ncpus * (size_t)t->ncpus, sizeof *p->pairs))) {
		fprintf(stderr, "cohmap %s: out of memory\n", cmd);
		goto fail;
	}
	if (option_check_stat(cmd, o->stat) != 0)
		goto fail;
	p->stat = o->stat;
	if (choose_kernels(cmd, o->kernels, p) != 0)
		goto fail;
	if ((p->ncpus = choose_cpus(cmd, o, t, p->cpus, t->ncpus, 2)) < 0)
		goto fail;
	if (parse_home(o->home, t, &p->home, &p->home_node, err) != 0) {
		fprintf(stderr, "cohmap %s: %s\n", cmd, err);
		goto fail;
	}
	if (events_parse(o->events, t, &p->events, err) != 0) {
		fprintf(stderr, "cohmap %s: %s\n", cmd, err);
		goto fail;
	}
	p->events_option = o->events;
	long lines = own->lines;
	if (lines == 0) {
		lines = t->l1d_bytes ? (long)(t->l1d_bytes / LINES_PER_L1D_FRACTION / (size_t)t->line_size)
				     : LINES_WITHOUT_L1D_SIZE;
		lines = lines < LINES_MIN ? LINES_MIN : lines > LINES_MAX ? LINES_MAX : lines;
	}
	p->options = (struct states_options){
		.agents = AGENTS_THREADS,
		.pause = o->pause,
		.lines = lines,
		.line_size = (size_t)t->line_size,
		.fixed_samples = o->samples,
		.precision = o->precision_pct / 100,
		.time_limit_s = o->time_limit_s,
		.watchdog_s = o->watchdog_s,
		.seed = options_seed(o),
		.events = &p->events,
	};
	p->invalidate_option = own->invalidate;
	int rc = choose_invalidation(cmd, own->invalidate, t, &p->options, skip_reason);
	for (int i = 0; i < p->nkernels; i++)
		p->needs_invalidation |= states_uses_invalidation(p->kernels[i]->state);
	if (rc == EXIT_USAGE)
		goto fail;
	if (rc == EXIT_SKIPPED && p->needs_invalidation) {
		release(p);
		return EXIT_SKIPPED;
	}
	p->all_pairs = own->all_pairs;
	p->npairs = states_choose_pairs(t, p->cpus, p->ncpus, p->all_pairs, p->pairs);
	*out = p;
	return EXIT_DONE;
fail:
	if (p)
		release(p);
	return EXIT_USAGE;
}

/* ---- running it ---- */

static int home_of(const struct states_plan *p, const struct topology *t, const struct states_pair *pair)
{
	if (numa_available() < 0)
		return -1;
	if (p->home == HOME_NODE)
		return p->home_node;
	const struct cpu_place *place = topology_find(t, p->home == HOME_FIRST ? pair->owner
									      : pair->requester);
	return place ? place->numa_node : -1;
}

/* The order pairs are measured in: shuffled, so that slow drift spreads
 * over the matrix as noise instead of painting one region of it. */
static void shuffled_indices(int *index, int n, uint64_t seed)
{
	for (int i = 0; i < n; i++)
		index[i] = i;
	shuffle(index, (size_t)n, sizeof *index, seed);
}

static void format_number(char *buf, size_t size, double value, const char *format)
{
	if (isnan(value))
		snprintf(buf, size, "NA");
	else
		snprintf(buf, size, format, value);
}

static int write_row(struct csv_writer *w, const struct run *r, const struct states_plan *p,
		     const struct states_pair *pair, const struct state_kernel *k,
		     const struct states_result *m, char *err)
{
	char cells[MAX_COLUMNS][ERRLEN];
	const struct summary *s = &m->ns_per_access;
	bool ok = m->status == PAIR_OK, shared = k->state == STATE_SHARED;
	int c = 0;
	snprintf(cells[c++], ERRLEN, "%s", k->name);
	snprintf(cells[c++], ERRLEN, "%s", line_state_name(k->state));
	snprintf(cells[c++], ERRLEN, "%s", line_op_name(k->op));
	snprintf(cells[c++], ERRLEN, "%d", pair->owner);
	snprintf(cells[c++], ERRLEN, "%d", pair->requester);
	if (shared)
		snprintf(cells[c++], ERRLEN, "%d", pair->sharer);
	else
		snprintf(cells[c++], ERRLEN, "NA");
	snprintf(cells[c++], ERRLEN, "%s",
		 pair_class_name(topology_pair_class(&r->topology, pair->owner, pair->requester)));
	snprintf(cells[c++], ERRLEN, "%s", shared ? pair_class_name(topology_pair_class(
						    &r->topology, pair->sharer, pair->requester)) : "NA");
	snprintf(cells[c++], ERRLEN, "%d", pair->home_node);
	snprintf(cells[c++], ERRLEN, "%s", states_uses_invalidation(k->state)
					   ? invalidation_name(p->options.invalidate) : "NA");
	snprintf(cells[c++], ERRLEN, "%s", agent_kind_name(p->options.agents));
	snprintf(cells[c++], ERRLEN, "%s", ok ? "ok" : "failed");
	snprintf(cells[c++], ERRLEN, "%ld", p->options.lines);
	snprintf(cells[c++], ERRLEN, "%zu", 2 * p->options.line_size);
	snprintf(cells[c++], ERRLEN, "%ld", ok ? s->n : 0);
	snprintf(cells[c++], ERRLEN, "%ld", ok ? m->disturbed_samples : 0);
	double values[] = { s->min, s->p10, s->median, s->p90, s->mean, s->stddev, s->ci95_low,
			    s->ci95_high };
	for (size_t i = 0; i < ARRAY_SIZE(values); i++)
		format_number(cells[c++], ERRLEN, ok ? values[i] : NAN, "%.2f");
	snprintf(cells[c], ERRLEN, "%s", ok ? "" : m->reason);
	for (char *ch = cells[c]; *ch; ch++) /* a reason is prose; keep it one cell */
		if (*ch == ',' || *ch == '"' || *ch == '\n')
			*ch = ';';
	c++;
	for (int e = 0; e < p->events.n; e++)
		format_number(cells[c++], ERRLEN, ok ? m->per_access[e] : NAN, "%.4g");
	const char *row[MAX_COLUMNS];
	for (int i = 0; i < c; i++)
		row[i] = cells[i];
	return csv_writer_row(w, row, err);
}

/* "ANY_DATA_CACHE_FILLS_FROM_SYSTEM:LOCAL_CCX" -> its latency column with
 * "_per_access" instead of "_per_handoff": the same names in both CSVs. */
static void event_column(const struct event_request *req, int e, char *out, size_t size)
{
	const char *col = req->columns[e], *suffix = "_per_handoff";
	size_t len = strlen(col), slen = strlen(suffix);
	if (len > slen && strcmp(col + len - slen, suffix) == 0)
		len -= slen;
	snprintf(out, size, "%.*s_per_access", (int)len, col);
}

/* How lines are invalidated, as the summary says it. */
static const char *method(const struct states_plan *p)
{
	if (!p->needs_invalidation)
		return "none needed";
	return p->options.invalidate == INVALIDATE_EVICT ? "evict (every agent streams 2 x LLC)"
							   : invalidation_name(p->options.invalidate);
}

static json_t *plan_description(const struct states_plan *p)
{
	json_t *kernels = json_array(), *cpus = json_array(), *pairs = json_array();
	for (int i = 0; i < p->nkernels; i++)
		json_array_append_new(kernels, json_string(p->kernels[i]->name));
	for (int i = 0; i < p->ncpus; i++)
		json_array_append_new(cpus, json_integer(p->cpus[i]));
	for (int i = 0; i < p->npairs; i++)
		json_array_append_new(pairs, json_pack("{s:i, s:i, s:i}", "owner", p->pairs[i].owner,
						       "requester", p->pairs[i].requester,
						       "sharer", p->pairs[i].sharer));
	const struct states_options *o = &p->options;
	const char *home = p->home == HOME_FIRST ? "first" : p->home == HOME_SECOND ? "second" : "node";
	json_t *e = json_pack("{s:o, s:o, s:o, s:b, s:s, s:i, s:I, s:s, s:I, s:I, s:I, s:f, s:f, s:f, s:s, s:s}",
		"kernels", kernels, "cpus_topology_order", cpus, "pairs", pairs,
		"all_pairs", p->all_pairs, "home", home, "home_node", p->home == HOME_NODE ? p->home_node : -1,
		"seed", (json_int_t)o->seed,
		"invalidation_method", p->needs_invalidation ? invalidation_name(o->invalidate) : "none",
		"evict_bytes", (json_int_t)(p->needs_invalidation ? o->evict_bytes : 0), "lines_per_sample", (json_int_t)o->lines,
		"fixed_samples", (json_int_t)o->fixed_samples, "precision", o->precision,
		"time_limit_s_per_kernel", o->time_limit_s, "watchdog_s", o->watchdog_s,
		"statistic_plotted", p->stat,
		"values", "ns per access = (time of one walk of the chain - clock overhead) / lines_per_sample");
	json_object_set_new(e, "invalidate_option", json_string(p->invalidate_option));
	json_object_set_new(e, "line_stride_bytes", json_integer((json_int_t)(2 * o->line_size)));
	json_object_set_new(e, "events_option", p->events_option ? json_string(p->events_option) : json_null());
	json_t *counters = json_array();
	for (int i = 0; i < p->events.n; i++) {
		char col[EVENT_NAME_LEN + 32];
		event_column(&p->events, i, col, sizeof col);
		json_array_append_new(counters, json_pack("{s:s, s:s}", "event", p->events.names[i],
							  "column", col));
	}
	json_object_set_new(e, "counters", counters);
	return e;
}

/* Statistic of the kernel over the pairs of class c: the median of their
 * per-pair values (the median or the minimum of each pair's samples). */
static double class_value(const struct states_plan *p, const struct states_result *results, int k,
			  int c, const struct topology *t, bool use_min, int *npairs)
{
	double values[p->npairs > 0 ? p->npairs : 1];
	int n = 0;
	for (int i = 0; i < p->npairs; i++) {
		const struct states_result *m = &results[(size_t)i * p->nkernels + k];
		if (m->status == PAIR_OK &&
		    (int)topology_pair_class(t, p->pairs[i].owner, p->pairs[i].requester) == c)
			values[n++] = use_min ? m->ns_per_access.min : m->ns_per_access.median;
	}
	if (npairs)
		*npairs = n;
	if (n == 0)
		return NAN;
	struct summary s;
	summarize(values, n, &s);
	return s.median;
}

static int kernel_index(const struct states_plan *p, enum line_state st, enum line_op op)
{
	for (int k = 0; k < p->nkernels; k++)
		if (p->kernels[k]->state == st && p->kernels[k]->op == op)
			return k;
	return -1;
}

static void print_summary(const struct run *r, const struct states_plan *p,
			  const struct states_result *results)
{
	bool use_min = strcmp(p->stat, "min") == 0;
	printf("\nns per access, %s of samples (per class: median over its pairs); "
	       "invalidation: %s\n", use_min ? "minimum" : "median", method(p));
	for (int c = 0; c < PAIR_CLASS_COUNT; c++) {
		int pairs = 0, example = -1;
		for (int i = 0; i < p->npairs; i++)
			if ((int)topology_pair_class(&r->topology, p->pairs[i].owner, p->pairs[i].requester) == c) {
				pairs++;
				if (example < 0)
					example = i;
			}
		if (pairs == 0)
			continue;
		const struct states_pair *e = &p->pairs[example];
		char sharer[64] = "";
		bool shared = false;
		for (int op = 0; op < OP_COUNT; op++)
			shared |= kernel_index(p, STATE_SHARED, op) >= 0;
		if (shared && e->sharer == e->requester)
			snprintf(sharer, sizeof sharer, "; no third CPU: A and B share");
		else if (shared)
			snprintf(sharer, sizeof sharer, ", sharer C=%d", e->sharer);
		printf("\n%s: %s; %d pair%s, e.g. owner A=%d, requester B=%d%s\n", pair_class_name(c),
		       pair_class_description(c), pairs, pairs == 1 ? "" : "s", e->owner, e->requester,
		       sharer);
		printf("  %-10s", "state");
		for (int op = 0; op < OP_COUNT; op++)
			printf(" %9s", line_op_name(op));
		printf("\n");
		for (int st = 0; st < STATE_COUNT; st++) {
			bool any = false;
			for (int op = 0; op < OP_COUNT; op++)
				any |= kernel_index(p, st, op) >= 0;
			if (!any)
				continue;
			printf("  %-10s", line_state_name(st));
			for (int op = 0; op < OP_COUNT; op++) {
				int k = kernel_index(p, st, op);
				double v = k < 0 ? NAN : class_value(p, results, k, c, &r->topology, use_min, NULL);
				if (isnan(v))
					printf(" %9s", "-");
				else
					printf(" %9.1f", v);
			}
			printf("\n");
		}
	}
}

/* Where the counters count line fills from another core: the kernels'
 * model (fills per access) against the requester's counts, so a reader sees
 * whether the protocol story holds. NA where the events cannot be counted. */
static void print_expected_vs_measured(const struct states_plan *p,
				       const struct states_result *results,
				       char reasons[MAX_EVENTS][160])
{
	struct model_row *rows = calloc((size_t)p->nkernels, sizeof *rows);
	if (rows == NULL)
		return;
	for (int k = 0; k < p->nkernels; k++) {
		rows[k] = (struct model_row){ .kernel = p->kernels[k]->name,
					      .expected = p->kernels[k]->cost.fills_from_cache,
					      .model = p->kernels[k]->cost.model };
		for (int i = 0; i < p->npairs; i++) {
			const struct states_result *m = &results[(size_t)i * p->nkernels + k];
			if (m->status != PAIR_OK)
				continue;
			for (int e = 0; e < p->events.n; e++)
				if (p->events.meaning[e] == MEANS_FILL_FROM_OTHER_CORE)
					rows[k].measured_sum += m->per_access[e]; /* NAN spreads: NA */
			rows[k].n++;
		}
	}
	counters_print_model(&p->events, "access", 20, rows, p->nkernels, reasons);
	free(rows);
}

/* "load: local 1.1 ns, from modified 96, from exclusive 88, from shared 1.2,
 * from invalid 131 (median per access, die pairs)" */
static void describe(struct run *r, const struct states_plan *p, const struct states_result *results,
		     const char *const *plots)
{
	char headline[ERRLEN] = "no pair was measured";
	bool use_min = strcmp(p->stat, "min") == 0;
	for (int c = 0; c < PAIR_CLASS_COUNT; c++) {
		int op = -1;
		for (int o = 0; o < OP_COUNT && op < 0; o++)
			for (int st = 0; st < STATE_COUNT; st++)
				if (kernel_index(p, st, o) >= 0 &&
				    !isnan(class_value(p, results, kernel_index(p, st, o), c, &r->topology,
						       use_min, NULL)))
					op = o;
		if (op < 0)
			continue;
		size_t used = (size_t)snprintf(headline, sizeof headline, "%s:", line_op_name(op));
		bool first = true;
		for (int st = 0; st < STATE_COUNT && used < sizeof headline; st++) {
			int k = kernel_index(p, st, op);
			double v = k < 0 ? NAN : class_value(p, results, k, c, &r->topology, use_min, NULL);
			if (isnan(v))
				continue;
			used += (size_t)snprintf(headline + used, sizeof headline - used, "%s %s%s %.*f%s",
						 first ? "" : ",", st == STATE_LOCAL ? "" : "from ",
						 line_state_name(st), v < 10 ? 1 : 0, v, first ? " ns" : "");
			first = false;
		}
		if (used < sizeof headline)
			snprintf(headline + used, sizeof headline - used, " (%s per access, %s pairs)",
				 use_min ? "minimum" : "median", pair_class_name(c));
		break;
	}
	const char *csv[] = { "states.csv", NULL };
	experiment_describe(r, "states", csv, plots, headline);
}

/* Each event that cannot be counted is said once, on stderr and in
 * meta.json, in one line however many events: the reason is usually the same. */
static void report_unavailable_events(struct run *r, const struct states_plan *p, json_t *experiment,
				      char reasons[MAX_EVENTS][160], bool warned[MAX_EVENTS])
{
	json_t *na = json_object_get(experiment, "counters_unavailable");
	if (na == NULL) {
		na = json_object();
		json_object_set_new(experiment, "counters_unavailable", na);
	}
	counters_warn_unavailable(r, &p->events, reasons, warned, na);
}

/* Shrinks the per-kernel time limit so all pairs fit in the budget; never
 * below a few ms, where the stopping rule has nothing to work with. */
static void fit_budget(struct states_plan *p, double budget_s)
{
	if (budget_s <= 0 || p->options.fixed_samples > 0)
		return;
	double share = budget_s * BUDGET_PLANNED_SHARE / ((double)p->npairs * p->nkernels);
	if (share < p->options.time_limit_s)
		p->options.time_limit_s = share < 0.002 ? 0.002 : share;
}

static int measure(struct run *r, void *arg, double budget_s)
{
	struct states_plan *p = arg;
	char err[ERRLEN], path[PATH_MAX];
	struct csv_writer csv = { .fd = -1 };
	struct states_result *results = calloc((size_t)p->npairs * (size_t)p->nkernels, sizeof *results);
	unsigned char *evict = MAP_FAILED;
	json_t *experiment = plan_description(p);
	int exit_code = EXIT_RUNTIME, done = 0, failed = 0;
	char event_reasons[MAX_EVENTS][160] = { { 0 } };
	bool warned[MAX_EVENTS] = { false }, abandoned = false;
	int *index = NULL;

	json_object_set_new(json_object_get(r->meta, "experiments"), "states", experiment);
	json_object_set_new(experiment, "status", json_string("running"));
	fit_budget(p, budget_s);
	json_object_set_new(experiment, "time_limit_s_per_kernel", json_real(p->options.time_limit_s));
	if (!r->quiet)
		printf("\nstates: %d kernels x %d pair%s (%s), %ld lines per sample, invalidation: %s\n",
		       p->nkernels, p->npairs, p->npairs == 1 ? "" : "s",
		       p->all_pairs ? "every ordered pair" : "one per pair class", p->options.lines,
		       method(p));
	if (results == NULL) {
		fprintf(stderr, "cohmap: out of memory for %d pairs\n", p->npairs);
		goto out;
	}
	if (p->options.invalidate == INVALIDATE_EVICT && p->needs_invalidation) {
		/* One buffer for the whole run, its pages touched once here so
		 * no agent takes a page fault while streaming it. */
		evict = mmap(NULL, p->options.evict_bytes, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (evict == MAP_FAILED) {
			fprintf(stderr, "cohmap: cannot allocate the %zu-byte eviction buffer: %s\n",
				p->options.evict_bytes, strerror(errno));
			goto out;
		}
		memset(evict, 1, p->options.evict_bytes);
		p->options.evict_buffer = evict;
	}
	if (numa_available() < 0)
		run_warn(r, "libnuma reports no NUMA support: the lines are not placed");
	for (int e = 0; e < p->events.n; e++)
		snprintf(event_reasons[e], 160, "%s", p->events.reason[e]);

	char event_columns[MAX_EVENTS][EVENT_NAME_LEN + 32];
	const char *columns[MAX_COLUMNS];
	int ncolumns = 0;
	for (int i = 0; i < BASE_COLUMNS; i++)
		columns[ncolumns++] = base_columns[i];
	for (int e = 0; e < p->events.n; e++) {
		event_column(&p->events, e, event_columns[e], sizeof event_columns[e]);
		columns[ncolumns++] = event_columns[e];
	}
	run_path(r, "states.csv", path, sizeof path);
	if (csv_writer_open(&csv, path, columns, ncolumns, false, err) != 0 || run_save_meta(r) != 0) {
		fprintf(stderr, "cohmap: %s\n", err);
		goto out;
	}

	/* Measured in a shuffled order; the plan keeps topology order for the
	 * summary and meta.json. */
	index = malloc((size_t)p->npairs * sizeof *index);
	if (index == NULL) {
		fprintf(stderr, "cohmap: out of memory\n");
		goto out;
	}
	shuffled_indices(index, p->npairs, p->options.seed);
	for (int i = 0; i < p->npairs; i++)
		p->pairs[i].home_node = home_of(p, &r->topology, &p->pairs[i]);

	struct progress bar;
	progress_start(&bar, r->progress, "states", p->npairs);
	for (int j = 0; j < p->npairs && !cohmap_interrupted; j++) {
		struct states_pair *pair = &p->pairs[index[j]];
		struct states_result *res = &results[(size_t)index[j] * p->nkernels];
		int actual_home;
		enum pair_status st = states_measure_pair(p->kernels, p->nkernels, pair, &p->options,
							  &r->clock, res, &actual_home, event_reasons);
		abandoned |= res[0].abandoned;
		if (st == PAIR_INTERRUPTED)
			break;
		pair->home_node = actual_home;
		if (st == PAIR_FAILED) {
			failed++;
			run_warn(r, "states %d->%d failed: %s", pair->owner, pair->requester, res[0].reason);
		}
		for (int k = 0; k < p->nkernels; k++)
			if (write_row(&csv, r, p, pair, p->kernels[k], &res[k], err) != 0) {
				fprintf(stderr, "cohmap: %s\n", err);
				goto out;
			}
		report_unavailable_events(r, p, experiment, event_reasons, warned);
		progress_update(&bar, ++done);
	}
	progress_end(&bar);
	if (csv_writer_close(&csv, err) != 0) {
		fprintf(stderr, "cohmap: %s\n", err);
		goto out;
	}
	json_object_set_new(experiment, "pairs_measured", json_integer(done));
	json_object_set_new(experiment, "pairs_failed", json_integer(failed));
	json_object_set_new(experiment, "pairs_planned", json_integer(p->npairs));
	if (cohmap_interrupted) {
		json_object_set_new(experiment, "status", json_string("interrupted"));
		fprintf(stderr, "cohmap: interrupted after %d of %d pairs, kept in %s\n", done,
			p->npairs, r->dir);
		exit_code = EXIT_INTERRUPTED;
		goto out;
	}
	json_object_set_new(experiment, "status", json_string("complete"));
	if (!r->quiet) {
		print_summary(r, p, results);
		print_expected_vs_measured(p, results, event_reasons);
	}
	exit_code = failed == p->npairs ? EXIT_RUNTIME : EXIT_DONE;

	char why[ERRLEN];
	struct states_plot_files files;
	const char *none[] = { NULL };
	const char *const *plots = none;
	if (!plot_gnuplot_available(why, sizeof why)) {
		run_warn(r, "no states chart drawn: %s; the CSV is complete, draw it later with: cohmap plot %s",
			 why, r->dir);
		exit_code = EXIT_PARTIAL;
	} else if (plot_states(r->dir, &r->topology, p->stat, &files, err) < 0) {
		run_warn(r, "no states chart drawn: %s", err);
		exit_code = EXIT_PARTIAL;
	} else {
		plots = (const char *const *)files.names;
		if (!r->quiet)
			for (int i = 0; files.names[i]; i++)
				printf("%s %s/%s\n", i == 0 ? "\nstates plots:" : "             ", r->dir,
				       files.names[i]);
	}
	describe(r, p, results, plots);
	if (plots != none)
		states_plot_files_free(&files);
out:
	if (csv.fd >= 0)
		csv_writer_close(&csv, err);
	/* An abandoned agent may still be streaming the buffer: it stays. */
	if (evict != MAP_FAILED && !abandoned)
		munmap(evict, p->options.evict_bytes);
	free(index);
	p->options.evict_buffer = NULL;
	free(results);
	return exit_code;
}

static int draw(const char *dir, const struct topology *t, const char *stat, char *err)
{
	struct states_plot_files files;
	int n = plot_states(dir, t, stat, &files, err);
	if (n >= 0)
		states_plot_files_free(&files);
	return n;
}

const struct experiment experiment_states = {
	.name = "states",
	.summary = "cost of load/store/CAS/fetch-and-add by line state: M, E, S, I, local (states.csv, states.png)",
	.examples = "  cohmap states                           # one pair per pair class, every state kernel\n"
		    "  cohmap states -c 0,1 -n 200 --seed 7\n"
		    "  cohmap states -k load_from_modified,load_from_invalid,load_local --all-pairs\n"
		    "  cohmap states -c S0:0-7 --invalidate evict --lines 64\n"
		    "  cohmap states -c 0,1 --events auto      # the requester's coherence counters per access\n"
		    "-n and --time-limit count per kernel of a pair: each round measures every kernel once.\n",
	.shared_options = states_shared_options,
	.options = states_options,
	.option_count = ARRAY_SIZE(states_options),
	.settings_size = sizeof(struct states_settings),
	.title = "Cost by line state (MESI)",
	.shows = "A requester CPU loads, stores, compare-and-swaps or fetch-and-adds lines that an owner "
		 "CPU holds Modified, Exclusive or Shared, lines no cache holds (Invalid), and its own "
		 "lines, in nanoseconds per access.",
	.read = "Compare one access across states: the requester's own lines are the floor; a load from "
		 "a Modified line must fetch the dirty data from the owner's cache; a store to a Shared "
		 "line must first invalidate every other copy; an Invalid line comes from memory or the "
		 "last-level cache. The gaps between the bars are the protocol's work.",
	.csv = states_csv,
	.figures = states_figures,
	.prepare = prepare,
	.measure = measure,
	.release = release,
	.draw = draw,
};

