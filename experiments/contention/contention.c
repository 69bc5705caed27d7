/* The contention experiment's plan: which operations and locks, which CPUs in
 * which order (the ladder), which thread counts, and how it fits a time
 * budget. Everything is checked here, before a results directory exists. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/budget.h"
#include "base/notes.h"
#include "experiments/contention/contention.h"
#include "experiments/experiment.h"
#include "harness/selection.h"

struct contention_settings {
	const char *ops;
	const char *locks;
	const char *threads;
	const char *order;
	long rounds;
	double run_ms;
};

#define AT(field) offsetof(struct contention_settings, field)
static const struct option_def contention_options[] = {
	{ "op", 0, OPT_STRING, "LIST", NULL, 0, 0,
	  "operations on the shared line: load, store, fetch_add, cas_loop, exchange, fetch_add_padded "
	  "(baseline), split_lock_add, aligned_lock_add (default: all, or none when --lock is given)",
	  AT(ops) },
	{ "lock", 0, OPT_STRING, "LIST", NULL, 0, 0,
	  "locks: tas, ttas_backoff, ticket, mcs, pthread_mutex, pthread_spin (default: all, or none "
	  "when --op is given)", AT(locks) },
	{ "threads", 0, OPT_STRING, "LIST", NULL, 0, 0,
	  "thread counts, ascending (default: 1, 2, ... up to every selected CPU)", AT(threads) },
	{ "order", 0, OPT_STRING, "ORDER", "topology", 0, 0,
	  "order CPUs are added in: topology (nearest first: SMT sibling, L3 group, other L3 groups, "
	  "other socket), spread (farthest first) or list (the -c list as given)", AT(order) },
	{ "rounds", 0, OPT_LONG, "N", "5", 1, 1000,
	  "interleaved rounds per step: every item once per round, in shuffled order", AT(rounds) },
	{ "run-ms", 0, OPT_DOUBLE, "MS", "20", 1, 10000, "length of one timed run", AT(run_ms) },
};
#undef AT

static const char *const contention_shared[] = {
	"cpus", "events", "watchdog", "seed", "output", "topology", "quiet", "help", NULL,
};
static const char *const contention_csv[] = { "contention.csv", "contention-ladder.csv", NULL };
static const char *const contention_figures[] = { "contention.png", "contention-fairness.png", NULL };

/* ---- parsing ---- */

static const char *op_name(int i)
{
	return ct_op_registry[i]->name;
}

static const char *lock_name(int i)
{
	return ct_lock_registry[i]->name;
}

static int parse_items(const char *cmd, const struct contention_settings *own,
		       struct contention_plan *p)
{
	int index[CT_MAX_ITEMS];
	bool all = own->ops == NULL && own->locks == NULL;
	if (all || own->ops) {
		int n = ct_op_count;
		for (int i = 0; i < n; i++)
			index[i] = i;
		if (own->ops) {
			const struct name_choice c = { "operation", "--op", "operation", "operations",
						       ct_op_count, op_name };
			if ((n = choose_names(cmd, &c, own->ops, index, CT_MAX_ITEMS / 2)) < 0)
				return -1;
		}
		for (int i = 0; i < n; i++) {
			const struct ct_op *op = ct_op_registry[index[i]];
			p->items[p->nitems++] = (struct ct_item){ op->kind, op, NULL, op->name };
		}
	}
	if (all || own->locks) {
		int n = ct_lock_count;
		for (int i = 0; i < n; i++)
			index[i] = i;
		if (own->locks) {
			const struct name_choice c = { "lock", "--lock", "lock", "locks", ct_lock_count,
						       lock_name };
			if ((n = choose_names(cmd, &c, own->locks, index, CT_MAX_ITEMS / 2)) < 0)
				return -1;
		}
		for (int i = 0; i < n; i++) {
			const struct ct_lock *l = ct_lock_registry[index[i]];
			p->items[p->nitems++] = (struct ct_item){ CT_LOCK, NULL, l, l->name };
		}
	}
	return 0;
}

static int parse_threads(const char *cmd, const char *list, struct contention_plan *p)
{
	if ((p->steps = calloc((size_t)p->ncpus, sizeof *p->steps)) == NULL) {
		fprintf(stderr, "cohmap %s: out of memory\n", cmd);
		return -1;
	}
	if (list == NULL) {
		for (int k = 1; k <= p->ncpus; k++)
			p->steps[p->nsteps++].threads = k;
		return 0;
	}
	char copy[512], *save = NULL;
	snprintf(copy, sizeof copy, "%s", list);
	for (char *word = strtok_r(copy, ",", &save); word; word = strtok_r(NULL, ",", &save)) {
		char *end;
		errno = 0;
		long k = strtol(word, &end, 10);
		if (errno || end == word || *end || k < 1) {
			fprintf(stderr, "cohmap %s: --threads: '%s' is not a thread count\n", cmd, word);
			return -1;
		}
		if (k > p->ncpus) {
			fprintf(stderr, "cohmap %s: --threads %ld is more threads than the %d allowed CPUs "
				"of the selection\n", cmd, k, p->ncpus);
			return -1;
		}
		if (p->nsteps > 0 && k <= p->steps[p->nsteps - 1].threads) {
			fprintf(stderr, "cohmap %s: --threads must be ascending, each count once (got "
				"%ld after %d)\n", cmd, k, p->steps[p->nsteps - 1].threads);
			return -1;
		}
		p->steps[p->nsteps++].threads = (int)k;
	}
	if (p->nsteps == 0) {
		fprintf(stderr, "cohmap %s: --threads names no thread count\n", cmd);
		return -1;
	}
	return 0;
}

/* The CPUs in ladder order: topology order rearranged nearest- or
 * farthest-first, or the -c list as written. */
static int choose_ladder(const char *cmd, const struct options *o, const struct topology *t,
			 struct contention_plan *p)
{
	char err[ERRLEN];
	if ((p->ncpus = choose_cpus(cmd, o, t, p->cpus, t->ncpus, 1)) < 0)
		return -1;
	if (p->order == CT_ORDER_LIST) {
		if (o->cpus == NULL) {
			fprintf(stderr, "cohmap %s: --order list needs a -c list\n", cmd);
			return -1;
		}
		/* choose_cpus checked the list; its order is the expression's */
		int n = topology_select(t, o->cpus, p->cpus, t->ncpus, err);
		if (n > 0 && o->topology)
			n = topology_keep_here(t, p->cpus, n, err);
		if (n != p->ncpus) {
			fprintf(stderr, "cohmap %s: %s\n", cmd, err);
			return -1;
		}
		return 0;
	}
	if (topology_ladder(t, p->cpus, p->ncpus, p->order == CT_ORDER_SPREAD) != 0) {
		fprintf(stderr, "cohmap %s: out of memory\n", cmd);
		return -1;
	}
	return 0;
}

static void describe_steps(const struct topology *t, struct contention_plan *p)
{
	for (int k = 0; k < p->nsteps; k++) {
		struct ct_step *s = &p->steps[k];
		s->cpu_added = p->cpus[s->threads - 1];
		s->added = s->threads == 1 ? PAIR_SELF
			   : topology_nearest_class(t, p->cpus, s->threads - 1, s->cpu_added);
		s->span = topology_span_class(t, p->cpus, s->threads);
	}
}

static void choose_coherence_events(struct contention_plan *p)
{
	const struct event_request *req = &p->events;
	for (int e = 0; e < req->n; e++)
		if (req->meaning[e] == MEANS_FILL_FROM_OTHER_CORE)
			p->coherence[p->ncoherence++] = e;
	for (int e = 0; e < req->n && p->ncoherence == 0; e++)
		if (req->meaning[e] != MEANS_DISTURBANCE)
			p->coherence[p->ncoherence++] = e;
}

/* ---- the budget ---- */

double ct_estimate_s(const struct contention_plan *p, double overhead_per_run_s)
{
	return (double)p->nsteps * p->nitems * p->rounds * (p->run_ms / 1e3 + overhead_per_run_s);
}

/* Steps that carry the story: the first, every one that crosses a level the
 * step before did not, and the last. */
static bool essential_step(const struct contention_plan *p, int k)
{
	return k == 0 || k == p->nsteps - 1 || p->steps[k].span != p->steps[k - 1].span;
}

double ct_fit_budget(struct contention_plan *p, double budget_s, double overhead_per_run_s)
{
	double target = budget_s * BUDGET_PLANNED_SHARE;
	if (ct_estimate_s(p, overhead_per_run_s) > target && p->rounds > 3) {
		note_append(p->reductions, sizeof p->reductions, "rounds %ld -> 3", p->rounds);
		p->rounds = 3;
	}
	double run_ms = p->run_ms;
	while (ct_estimate_s(p, overhead_per_run_s) > target && p->run_ms > 5)
		p->run_ms = p->run_ms / 2 < 5 ? 5 : p->run_ms / 2;
	if (p->run_ms != run_ms)
		note_append(p->reductions, sizeof p->reductions, "run length %.3g -> %.3g ms", run_ms, p->run_ms);
	if (ct_estimate_s(p, overhead_per_run_s) > target) {
		int kept = 0, before = p->nsteps;
		for (int k = 0; k < p->nsteps; k++)
			if (essential_step(p, k))
				p->steps[kept++] = p->steps[k];
		p->nsteps = kept;
		if (kept < before)
			note_append(p->reductions, sizeof p->reductions, "steps %d -> %d (those that cross a level)", before, kept);
	}
	if (ct_estimate_s(p, overhead_per_run_s) > target && p->rounds > 1) {
		note_append(p->reductions, sizeof p->reductions, "rounds %ld -> 1", p->rounds);
		p->rounds = 1;
	}
	run_ms = p->run_ms;
	while (ct_estimate_s(p, overhead_per_run_s) > target && p->run_ms > 2)
		p->run_ms = p->run_ms / 2 < 2 ? 2 : p->run_ms / 2;
	if (p->run_ms != run_ms)
		note_append(p->reductions, sizeof p->reductions, "run length %.3g -> %.3g ms", run_ms, p->run_ms);
	return ct_estimate_s(p, overhead_per_run_s);
}

/* ---- the experiment ---- */

static void release(void *arg)
{
	struct contention_plan *p = arg;
	free(p->cpus);
	free(p->steps);
	free(p);
}

static int prepare(const char *cmd, const struct options *o, const void *settings,
		   const struct topology *t, void **out, char *skip_reason)
{
	(void)skip_reason;
	const struct contention_settings *own = settings;
	char err[ERRLEN];
	struct contention_plan *p = calloc(1, sizeof *p);
	if (p == NULL || (p->cpus = calloc((size_t)t->ncpus, sizeof *p->cpus)) == NULL) {
		fprintf(stderr, "cohmap %s: out of memory\n", cmd);
		goto usage;
	}
	p->line_size = (size_t)t->line_size;
	p->rounds = own->rounds;
	p->run_ms = own->run_ms;
	p->watchdog_s = o->watchdog_s;
	if (p->line_size < 8) {
		fprintf(stderr, "cohmap %s: the topology's line size (%zu bytes) is too small\n", cmd,
			p->line_size);
		goto usage;
	}
	if (strcmp(own->order, "topology") == 0)
		p->order = CT_ORDER_TOPOLOGY;
	else if (strcmp(own->order, "spread") == 0)
		p->order = CT_ORDER_SPREAD;
	else if (strcmp(own->order, "list") == 0)
		p->order = CT_ORDER_LIST;
	else {
		fprintf(stderr, "cohmap %s: --order must be topology, spread or list (got '%s')\n", cmd,
			own->order);
		goto usage;
	}
	if (parse_items(cmd, own, p) != 0 || choose_ladder(cmd, o, t, p) != 0 ||
	    parse_threads(cmd, own->threads, p) != 0)
		goto usage;
	describe_steps(t, p);
	if (o->events == NULL || strcmp(o->events, "none") != 0) {
		if (events_parse(o->events ? o->events : "auto", t, &p->events, err) != 0) {
			fprintf(stderr, "cohmap %s: %s\n", cmd, err);
			goto usage;
		}
		choose_coherence_events(p);
	}
	ct_split_state_read(&p->split);
	p->seed = options_seed(o);
	*out = p;
	return EXIT_DONE;
usage:
	if (p)
		release(p);
	return EXIT_USAGE;
}

/* What one run costs beyond its run time (starting and joining the
 * threads, the region), timed with one short run of the widest step. */
static double run_overhead_s(const struct contention_plan *p, const struct run *r)
{
	const struct ct_step *s = &p->steps[p->nsteps - 1];
	struct ct_thread_result *res = calloc((size_t)s->threads, sizeof *res);
	char reason[ERRLEN];
	double run_ms = 1;
	struct ct_run_request q = { .item = &p->items[0], .cpus = p->cpus, .n = s->threads,
				    .line_size = p->line_size, .run_ms = run_ms,
				    .watchdog_s = p->watchdog_s, .clock = &r->clock,
				    .events = p->events.n > 0 ? &p->events : NULL };
	uint64_t t0 = monotonic_ns();
	if (res)
		ct_run(&q, res, reason);
	double overhead = (double)(monotonic_ns() - t0) / 1e9 - run_ms / 1e3;
	free(res);
	return overhead > 0 ? overhead : 0;
}

static int measure(struct run *r, void *arg, double budget_s)
{
	struct contention_plan *p = arg;
	if (budget_s > 0) {
		double overhead = run_overhead_s(p, r);
		double estimate = ct_fit_budget(p, budget_s, overhead);
		if (!r->quiet && p->reductions[0])
			printf("\ncontention: to fit its %.0f s budget: %s (estimate %.1f s)\n", budget_s,
			       p->reductions, estimate);
	}
	return contention_experiment(r, p, budget_s);
}

static int draw(const char *dir, const struct topology *t, const char *stat, char *err)
{
	(void)t;
	const char *images[3];
	return plot_contention(dir, stat, images, err);
}

const struct experiment experiment_contention = {
	.name = "contention",
	.summary = "1, 2, 3, ... threads on one line, added level by level: atomics, locks, split "
		   "locks; throughput, fairness, waits (contention.csv, contention*.png)",
	.examples = "  cohmap contention                          # every op and lock, 1..all CPUs\n"
		    "  cohmap contention -c 0-3 --lock ticket,mcs,tas\n"
		    "  cohmap contention --op fetch_add,cas_loop,fetch_add_padded --threads 1,2,4,8\n"
		    "  cohmap contention --order spread --rounds 9 --run-ms 50 -o results/ct\n"
		    "  cohmap contention -c 3,0,2,1 --order list --op split_lock_add,aligned_lock_add\n",
	.shared_options = contention_shared,
	.options = contention_options,
	.option_count = ARRAY_SIZE(contention_options),
	.settings_size = sizeof(struct contention_settings),
	.title = "Contention: many threads on one line",
	.shows = "Threads are added one at a time, nearest first (the SMT sibling, then the same L3 "
		 "group, then other L3 groups, then the other socket), so each step of the ladder "
		 "crosses one level of the machine. At every step all threads hammer one shared word "
		 "(load, store, fetch-and-add, a CAS loop, exchange), the same adds on private padded "
		 "words (the no-sharing baseline), a locked add split across two lines against an "
		 "aligned one, or take one of six locks around a critical section whose counter is "
		 "checked against the acquisitions. Throughput is the median over interleaved rounds; "
		 "fairness is Jain's index of the threads' rates.",
	.read = "On contention.png the baseline rises with the threads and everything on the shared "
		"line does not: the step where a curve falls most is the level whose handoff costs "
		"most (the ladder table names the level each step crosses). On "
		"contention-fairness.png, 1 means every thread got the same share: ticket and MCS "
		"hand the lock over in arrival order and stay near 1; test-and-set lets whoever is "
		"nearest the line win again and falls towards 1/threads. A split lock is the "
		"hardware's cost only when the headline says the kernel does not trap it.",
	.csv = contention_csv,
	.figures = contention_figures,
	.prepare = prepare,
	.measure = measure,
	.release = release,
	.draw = draw,
};
