/* The false-sharing experiment's plan: which update kinds, distances and
 * placements, the CPU pairs of the heatmap, and how it fits a time budget.
 * Everything is checked here, before a results directory exists. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/budget.h"
#include "base/notes.h"
#include "harness/agents.h"
#include "harness/selection.h"
#include "experiments/experiment.h"
#include "experiments/falseshare/falseshare.h"
#include "experiments/falseshare/falseshare_plot.h"

/* The falseshare experiment's own options. */
struct falseshare_settings {
	long threads;
	const char *fs_kinds;
	const char *distances;
	const char *placements;
	const char *pairs;
	long rounds;
	double run_ms;
};

#define AT(field) offsetof(struct falseshare_settings, field)
static const struct option_def falseshare_options[] = {
	{ "threads", 0, OPT_LONG, "N", "2", 2, 1024,
	  "threads per false-sharing run, one per CPU (a placement may hold fewer)", AT(threads) },
	{ "kind", 0, OPT_STRING, "LIST", NULL, 0, 0,
	  "false-sharing update kinds: store, fetch_add, writer_readers (default: all)", AT(fs_kinds) },
	{ "distances", 0, OPT_STRING, "LIST", NULL, 0, 0,
	  "bytes between neighbouring counters; 0 = one shared counter (default: 0, then 4 to 4 lines, doubling)", AT(distances) },
	{ "placement", 0, OPT_STRING, "LIST", NULL, 0, 0,
	  "where the threads run: smt, l3, spread-l3, cross-socket (default: every one this machine has)", AT(placements) },
	{ "pairs", 0, OPT_STRING, "WHICH", "all", 0, 0,
	  "CPU pairs of the slowdown heatmap: all, classes (one pair per pair class) or none", AT(pairs) },
	{ "rounds", 0, OPT_LONG, "N", NULL, 1, 1000,
	  "interleaved rounds per point: false-shared/padded run pairs, slowdown = median of their "
	  "ratios (default: 5)", AT(rounds) },
	{ "run-ms", 0, OPT_DOUBLE, "MS", "20", 1, 10000, "length of one timed run", AT(run_ms) },
};
#undef AT

static const char *const falseshare_shared_options[] = {
	"cpus", "events", "agents", "home", "watchdog", "seed", "output", "topology", "quiet", "help", NULL,
};

static const char *const falseshare_csv[] = { "falseshare.csv", NULL };
static const char *const falseshare_figures[] = { "falseshare-distance.png", "falseshare-pairs.png", NULL };


/* The distances the sweep covers unless told otherwise: true sharing, then
 * from one counter's width up to this many lines, doubling. Four lines reach
 * past the 2-line pair the adjacent-line prefetcher couples. */
#define DEFAULT_MAX_DISTANCE_LINES 4
/* --rounds is shared with other commands, so this experiment's default lives
 * here: five rounds give a median that one disturbed round cannot move. */
#define DEFAULT_ROUNDS 5
/* A bound on what --distances accepts: far beyond any line or prefetch pair,
 * small enough that n threads' counters stay a modest allocation. */
#define MAX_DISTANCE_BYTES 65536

/* ---- parsing ---- */

static const char *fs_kind_name(int i)
{
	return fs_kind_registry[i]->name;
}

static int parse_kinds(const char *cmd, const char *list, struct falseshare_plan *p)
{
	if (list == NULL) {
		for (int i = 0; i < fs_kind_count && i < (int)ARRAY_SIZE(p->kinds); i++)
			p->kinds[p->nkinds++] = fs_kind_registry[i];
		return 0;
	}
	const struct name_choice c = { "update kind", "--kind", "update kind", "update kinds",
				       fs_kind_count, fs_kind_name };
	int index[ARRAY_SIZE(p->kinds)];
	int n = choose_names(cmd, &c, list, index, (int)ARRAY_SIZE(p->kinds));
	for (int i = 0; i < n; i++)
		p->kinds[p->nkinds++] = fs_kind_registry[index[i]];
	return n < 0 ? -1 : 0;
}

static int compare_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

static int parse_distances(const char *cmd, const char *list, struct falseshare_plan *p)
{
	if (list == NULL) {
		p->distances[p->ndistances++] = 0;
		for (size_t d = FS_COUNTER_BYTES; d <= DEFAULT_MAX_DISTANCE_LINES * p->line_size &&
		     p->ndistances < (int)ARRAY_SIZE(p->distances); d *= 2)
			p->distances[p->ndistances++] = d;
		return 0;
	}
	char copy[512], *save = NULL;
	snprintf(copy, sizeof copy, "%s", list);
	for (char *word = strtok_r(copy, ",", &save); word; word = strtok_r(NULL, ",", &save)) {
		char *end;
		errno = 0;
		long d = strtol(word, &end, 10);
		if (errno || end == word || *end || d < 0 || d > MAX_DISTANCE_BYTES ||
		    d % (long)FS_COUNTER_BYTES != 0) {
			fprintf(stderr, "cohmap %s: --distances: '%s' is not 0 or a multiple of %zu "
				"bytes (the counter's width) up to %d\n", cmd, word, FS_COUNTER_BYTES,
				MAX_DISTANCE_BYTES);
			return -1;
		}
		for (int i = 0; i < p->ndistances; i++)
			if (p->distances[i] == (size_t)d) {
				fprintf(stderr, "cohmap %s: --distances names %ld twice\n", cmd, d);
				return -1;
			}
		if (p->ndistances == (int)ARRAY_SIZE(p->distances)) {
			fprintf(stderr, "cohmap %s: --distances: at most %zu distances\n", cmd,
				ARRAY_SIZE(p->distances));
			return -1;
		}
		p->distances[p->ndistances++] = (size_t)d;
	}
	if (p->ndistances == 0) {
		fprintf(stderr, "cohmap %s: --distances names no distance\n", cmd);
		return -1;
	}
	qsort(p->distances, (size_t)p->ndistances, sizeof p->distances[0], compare_size);
	return 0;
}

static const char *placement_name(int i)
{
	return fs_placement_name((enum fs_placement)i);
}

static int parse_placements(const char *cmd, const char *list, struct falseshare_plan *p)
{
	if (list == NULL) {
		for (int i = 0; i < FS_PLACEMENT_COUNT; i++)
			p->groups[i].requested = true;
		return 0;
	}
	const struct name_choice c = { "placement", "--placement", "placement", "placements",
				       FS_PLACEMENT_COUNT, placement_name };
	int index[FS_PLACEMENT_COUNT];
	int n = choose_names(cmd, &c, list, index, FS_PLACEMENT_COUNT);
	for (int i = 0; i < n; i++)
		p->groups[index[i]].requested = true;
	return n < 0 ? -1 : 0;
}

/* ---- counters ---- */

static void choose_coherence_events(struct falseshare_plan *p)
{
	const struct event_request *req = &p->events;
	p->ncoherence = 0;
	for (int e = 0; e < req->n; e++)
		if (req->meaning[e] == MEANS_FILL_FROM_OTHER_CORE)
			p->coherence[p->ncoherence++] = e;
	for (int e = 0; e < req->n && p->ncoherence == 0; e++)
		if (req->meaning[e] != MEANS_DISTURBANCE)
			p->coherence[p->ncoherence++] = e;
}

/* ---- pairs ---- */

/* All pairs of the selection, and one pair of each class present (the
 * first in topology order), for when the budget is small. */
static int choose_pairs(const struct topology *t, struct falseshare_plan *p)
{
	long all = (long)p->ncpus * (p->ncpus - 1) / 2;
	p->pair_cpus = malloc((size_t)(2 * all + 2) * sizeof *p->pair_cpus);
	p->class_pairs = malloc(2 * PAIR_CLASS_COUNT * sizeof *p->class_pairs);
	if (p->pair_cpus == NULL || p->class_pairs == NULL)
		return -1;
	bool seen[PAIR_CLASS_COUNT + 1] = { false };
	for (int a = 0; a < p->ncpus; a++)
		for (int b = a + 1; b < p->ncpus; b++) {
			p->pair_cpus[2 * p->npairs] = p->cpus[a];
			p->pair_cpus[2 * p->npairs + 1] = p->cpus[b];
			p->npairs++;
			enum pair_class c = topology_pair_class(t, p->cpus[a], p->cpus[b]);
			if (!seen[c]) {
				seen[c] = true;
				p->class_pairs[2 * p->nclass_pairs] = p->cpus[a];
				p->class_pairs[2 * p->nclass_pairs + 1] = p->cpus[b];
				p->nclass_pairs++;
			}
		}
	if (p->pairs == FS_PAIRS_CLASSES) {
		memcpy(p->pair_cpus, p->class_pairs, (size_t)(2 * p->nclass_pairs) * sizeof(int));
		p->npairs = p->nclass_pairs;
	} else if (p->pairs == FS_PAIRS_NONE) {
		p->npairs = 0;
	}
	return 0;
}

/* ---- the budget ---- */

long fs_run_count(const struct falseshare_plan *p)
{
	long groups = 0;
	for (int g = 0; g < FS_PLACEMENT_COUNT; g++)
		groups += p->groups[g].n > 0;
	long sweep = groups * p->nkinds * p->ndistances;
	long fix = p->fix_group >= 0 ? 1 : 0;
	/* Two runs per round (false-shared and padded), and one to size the fix demo. */
	return (sweep + p->npairs + fix) * p->rounds * 2 + fix;
}

double fs_estimate_s(const struct falseshare_plan *p, double overhead_per_run_s)
{
	return (double)fs_run_count(p) * (p->run_ms / 1e3 + overhead_per_run_s);
}

/* The distances that carry the story: true sharing, the heatmap's distance,
 * half a line, one line, the 2-line pair, and the farthest asked for. */
static bool essential_distance(const struct falseshare_plan *p, size_t d)
{
	return d == 0 || d == FS_PAIR_DISTANCE || d == p->line_size / 2 || d == p->line_size ||
	       d == 2 * p->line_size || d == p->distances[p->ndistances - 1];
}

static void format_distances(const struct falseshare_plan *p, char *buf, size_t size)
{
	size_t used = 0;
	buf[0] = '\0';
	for (int i = 0; i < p->ndistances && used + 1 < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%zu", i ? "," : "", p->distances[i]);
}

double fs_fit_budget(struct falseshare_plan *p, double budget_s, double overhead_per_run_s)
{
	/* Room for the plots, the tables and the estimate being optimistic. */
	double target = budget_s * BUDGET_PLANNED_SHARE;
	if (fs_estimate_s(p, overhead_per_run_s) > target && p->rounds > 3) {
		note_append(p->reductions, sizeof p->reductions, "rounds %ld -> 3", p->rounds);
		p->rounds = 3;
	}
	if (fs_estimate_s(p, overhead_per_run_s) > target && p->npairs > p->nclass_pairs) {
		note_append(p->reductions, sizeof p->reductions, "heatmap pairs %ld -> %ld (one per pair class)", p->npairs, p->nclass_pairs);
		memcpy(p->pair_cpus, p->class_pairs, (size_t)(2 * p->nclass_pairs) * sizeof(int));
		p->npairs = p->nclass_pairs;
	}
	double run_ms = p->run_ms;
	while (fs_estimate_s(p, overhead_per_run_s) > target && p->run_ms > 5)
		p->run_ms = p->run_ms / 2 < 5 ? 5 : p->run_ms / 2;
	if (p->run_ms != run_ms)
		note_append(p->reductions, sizeof p->reductions, "run length %.3g -> %.3g ms", run_ms, p->run_ms);
	if (fs_estimate_s(p, overhead_per_run_s) > target) {
		char before[512], after[512];
		format_distances(p, before, sizeof before);
		int kept = 0;
		for (int i = 0; i < p->ndistances; i++)
			if (essential_distance(p, p->distances[i]))
				p->distances[kept++] = p->distances[i];
		if (kept < p->ndistances) {
			p->ndistances = kept;
			format_distances(p, after, sizeof after);
			note_append(p->reductions, sizeof p->reductions, "distances %s -> %s bytes", before, after);
		}
	}
	if (fs_estimate_s(p, overhead_per_run_s) > target && p->rounds > 1) {
		note_append(p->reductions, sizeof p->reductions, "rounds %ld -> 1", p->rounds);
		p->rounds = 1;
	}
	run_ms = p->run_ms;
	while (fs_estimate_s(p, overhead_per_run_s) > target && p->run_ms > 2)
		p->run_ms = p->run_ms / 2 < 2 ? 2 : p->run_ms / 2;
	if (p->run_ms != run_ms)
		note_append(p->reductions, sizeof p->reductions, "run length %.3g -> %.3g ms", run_ms, p->run_ms);
	if (fs_estimate_s(p, overhead_per_run_s) > target && p->npairs > 0) {
		note_append(p->reductions, sizeof p->reductions, "no pair heatmap");
		p->npairs = 0;
	}
	return fs_estimate_s(p, overhead_per_run_s);
}

/* ---- the experiment ---- */

static void release(void *arg)
{
	struct falseshare_plan *p = arg;
	for (int g = 0; g < FS_PLACEMENT_COUNT; g++)
		free(p->groups[g].cpus);
	free(p->cpus);
	free(p->pair_cpus);
	free(p->class_pairs);
	free(p);
}

static int prepare(const char *cmd, const struct options *o, const void *settings,
		   const struct topology *t, void **out, char *skip_reason)
{
	const struct falseshare_settings *own = settings;
	char err[ERRLEN];
	struct falseshare_plan *p = calloc(1, sizeof *p);
	if (p == NULL || (p->cpus = calloc((size_t)t->ncpus, sizeof *p->cpus)) == NULL) {
		fprintf(stderr, "cohmap %s: out of memory\n", cmd);
		goto usage;
	}
	p->line_size = (size_t)t->line_size;
	p->padded_stride = 2 * p->line_size;
	p->threads = (int)own->threads;
	p->rounds = own->rounds > 0 ? own->rounds : DEFAULT_ROUNDS;
	p->run_ms = own->run_ms;
	p->watchdog_s = o->watchdog_s;
	p->fix_group = -1;
	if (p->line_size < FS_COUNTER_BYTES) {
		fprintf(stderr, "cohmap %s: the topology's line size (%zu bytes) is smaller than "
			"a counter\n", cmd, p->line_size);
		goto usage;
	}
	if (parse_kinds(cmd, own->fs_kinds, p) != 0 || parse_distances(cmd, own->distances, p) != 0 ||
	    parse_placements(cmd, own->placements, p) != 0)
		goto usage;
	/* The heatmap shows fetch_add when it is measured: a locked add cannot
	 * hide the line's trips behind the store buffer as plain stores can. */
	p->pair_kind = p->kinds[0];
	for (int k = 0; k < p->nkinds; k++)
		if (p->kinds[k] == &fs_kind_fetch_add)
			p->pair_kind = p->kinds[k];
	if (strcmp(own->pairs, "all") == 0)
		p->pairs = FS_PAIRS_ALL;
	else if (strcmp(own->pairs, "classes") == 0)
		p->pairs = FS_PAIRS_CLASSES;
	else if (strcmp(own->pairs, "none") == 0)
		p->pairs = FS_PAIRS_NONE;
	else {
		fprintf(stderr, "cohmap %s: --pairs must be all, classes or none (got '%s')\n", cmd,
			own->pairs);
		goto usage;
	}
	/* Coherence events per update: the CPU's fill-from-another-core events
	 * by default (counters.c's auto table); "none" counts nothing. */
	if (o->events == NULL || strcmp(o->events, "none") != 0) {
		if (events_parse(o->events ? o->events : "auto", t, &p->events, err) != 0) {
			fprintf(stderr, "cohmap %s: %s\n", cmd, err);
			goto usage;
		}
		choose_coherence_events(p);
	}
	if (parse_home(o->home, t, &p->home, &p->home_node, err) != 0) {
		fprintf(stderr, "cohmap %s: %s\n", cmd, err);
		goto usage;
	}
	int agents = o->agents ? agent_kind_from_name(o->agents) : AGENTS_THREADS;
	if (agents < 0) {
		fprintf(stderr, "cohmap %s: --agents must be thread, fork-shared, sysv, posix or memfd (got '%s')\n",
			cmd, o->agents);
		goto usage;
	}
	p->agents = (enum agent_kind)agents;
	if ((p->ncpus = choose_cpus(cmd, o, t, p->cpus, t->ncpus, 2)) < 0)
		goto usage;
	if (p->threads > p->ncpus) {
		fprintf(stderr, "cohmap %s: --threads %d needs %d CPUs, the selection has %d\n", cmd,
			p->threads, p->threads, p->ncpus);
		goto usage;
	}
	int available = 0, requested = 0;
	char skipped[ERRLEN] = "";
	for (int g = 0; g < FS_PLACEMENT_COUNT; g++) {
		struct fs_group *grp = &p->groups[g];
		if (!grp->requested)
			continue;
		requested++;
		if ((grp->cpus = calloc((size_t)p->threads, sizeof *grp->cpus)) == NULL) {
			fprintf(stderr, "cohmap %s: out of memory\n", cmd);
			goto usage;
		}
		grp->n = fs_place(t, p->cpus, p->ncpus, g, p->threads, grp->cpus, grp->why);
		if (grp->n > 0)
			available++;
		else
			snprintf(skipped + strlen(skipped), sizeof skipped - strlen(skipped),
				 "%s%s: %s", skipped[0] ? "; " : "", fs_placement_name(g), grp->why);
	}
	if (available == 0) {
		/* Only reachable when --placement names what this selection lacks. */
		snprintf(skip_reason, ERRLEN, "placement %s", skipped);
		release(p);
		return requested ? EXIT_SKIPPED : EXIT_USAGE;
	}
	/* The fix demo on the nearest distinct cores the machine has: SMT
	 * siblings share their L1, which hides the very effect it shows. */
	static const enum fs_placement fix_order[] = { FS_L3, FS_SPREAD_L3, FS_CROSS_SOCKET, FS_SMT };
	for (size_t i = 0; i < ARRAY_SIZE(fix_order) && p->fix_group < 0; i++)
		if (p->groups[fix_order[i]].n > 0)
			p->fix_group = fix_order[i];
	if (choose_pairs(t, p) != 0) {
		fprintf(stderr, "cohmap %s: out of memory\n", cmd);
		goto usage;
	}
	p->seed = o->seed >= 0 ? (unsigned long)o->seed
			       : (unsigned long)((monotonic_ns() ^ (uint64_t)getpid()) & 0xffffffffu);
	*out = p;
	return EXIT_DONE;
usage:
	if (p)
		release(p);
	return EXIT_USAGE;
}

/* What one run costs beyond its run time (starting and joining the threads,
 * or forking the processes, allocating and placing the memory), timed with
 * one short padded run of the agents the plan uses. */
static double run_overhead_s(const struct falseshare_plan *p, const struct run *r)
{
	const struct fs_group *g = NULL;
	for (int i = 0; i < FS_PLACEMENT_COUNT && g == NULL; i++)
		if (p->groups[i].n > 0)
			g = &p->groups[i];
	struct fs_thread_result *res = calloc((size_t)g->n, sizeof *res);
	char reason[ERRLEN];
	int home;
	double run_ms = 1;
	struct fs_run_request q = { .kind = p->kinds[0], .cpus = g->cpus, .n = g->n,
				    .stride = p->padded_stride, .line_size = p->line_size,
				    .run_ms = run_ms, .home_node = -1,
				    .watchdog_s = p->watchdog_s, .clock = &r->clock,
				    .events = p->events.n > 0 ? &p->events : NULL,
				    .agents = p->agents };
	uint64_t t0 = monotonic_ns();
	if (res)
		fs_run(&q, res, &home, reason);
	double overhead = (double)(monotonic_ns() - t0) / 1e9 - run_ms / 1e3;
	free(res);
	return overhead > 0 ? overhead : 0;
}

static int measure(struct run *r, void *arg, double budget_s)
{
	struct falseshare_plan *p = arg;
	if (budget_s > 0) {
		double overhead = run_overhead_s(p, r);
		double estimate = fs_fit_budget(p, budget_s, overhead);
		if (!r->quiet && p->reductions[0])
			printf("\nfalseshare: to fit its %.0f s budget: %s (estimate %.1f s)\n",
			       budget_s, p->reductions, estimate);
	}
	return falseshare_experiment(r, p, budget_s);
}

static int draw(const char *dir, const struct topology *t, const char *stat, char *err)
{
	(void)stat;
	struct fs_plots images;
	return plot_falseshare(dir, t, true, &images, err);
}

const struct experiment experiment_falseshare = {
	.name = "falseshare",
	.summary = "threads whose counters share a line: slowdown against distance, per placement "
		   "and CPU pair, and the padding fix (falseshare.csv, falseshare-*.png)",
	.examples = "  cohmap falseshare                       # 2 threads, every kind, distance and placement\n"
		    "  cohmap falseshare -c 0,1 --kind store --distances 0,8,64,128 --pairs none\n"
		    "  cohmap falseshare --threads 8 --placement l3,cross-socket --rounds 9\n"
		    "  cohmap falseshare -c S0:0-7 --pairs classes --run-ms 50 -o results/fs\n"
		    "  cohmap falseshare -c 0,1 --agents sysv  # processes sharing SysV shm, not threads\n"
		    "  cohmap falseshare --events MACHINE_CLEARS:MEMORY_ORDERING   # default: auto; none\n",
	.shared_options = falseshare_shared_options,
	.options = falseshare_options,
	.option_count = ARRAY_SIZE(falseshare_options),
	.settings_size = sizeof(struct falseshare_settings),
	.title = "False sharing",
	.shows = "Threads on different CPUs each update only their own counter; what changes is how far "
		 "apart neighbouring counters lie. Closer than a cache line they share one line, and every "
		 "update steals it from the other cores; padded apart, the threads run independently. "
		 "Slowdown = time with the counters at that distance / time with them padded apart, the "
		 "median over interleaved rounds.",
	.read = "On the distance plot the slowdown should drop to about 1 once the distance reaches the "
		 "line size (or twice it, when the adjacent-line prefetcher pairs lines). On the pair "
		 "heatmap each cell is the slowdown of two threads on that pair of CPUs: expect the block "
		 "pattern of the latency heatmap.",
	.csv = falseshare_csv,
	.figures = falseshare_figures,
	.prepare = prepare,
	.measure = measure,
	.release = release,
	.draw = draw,
};

