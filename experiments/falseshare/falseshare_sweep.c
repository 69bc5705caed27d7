/* Measuring the false-sharing plan: the distance sweep on every placement,
 * the pair heatmap, the packed-vs-padded demo; falseshare.csv (one row per
 * thread and point, appended as points finish), meta.json, the tables, the
 * plots and the summary line.
 *
 * Every point is a series of rounds, each one run with the counters `d`
 * bytes apart and one with every counter in its own 2-line block, in
 * alternating order. The slowdown of a thread is the median over rounds of
 * the ratio of its two rates: the two runs of a round are milliseconds apart,
 * so a host that moves the vCPUs (this kind of machine does, every few
 * seconds) changes both and cancels out of the ratio. */
#include "experiments/falseshare/falseshare.h"

#include <math.h>
#include <numa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/agents.h"
#include "base/csv.h"
#include "experiments/experiment.h"
#include "base/progress.h"
#include "base/stats.h"
#include "experiments/falseshare/falseshare_plot.h"
#include "plots/plot.h"

/* The fix demo's work is sized so that the packed struct takes about one run
 * length, starting from this many items per thread. */
#define FIX_CALIBRATION_ITEMS 4096u
#define FIX_MAX_ITEMS ((uint64_t)1 << 32)
/* A disturbed run (a thread switched out, threads not running together) is
 * repeated at most this many times, then kept and counted: on a busy
 * machine every run may be disturbed, and the point must still finish. */
#define MAX_REPEATS 2

static const char *const fs_columns[] = {
	"sweep", "placement", "pair_class", "threads", "cpus", "kind", "role", "thread", "cpu",
	"distance_bytes", "padded_stride_bytes", "counter_bytes", "line_size_bytes", "home_node",
	"agents", "rounds", "rounds_used", "repeated_runs", "disturbed_runs", "run_ms", "status",
	"false_shared_ops", "padded_ops", "false_shared_ops_per_s", "padded_ops_per_s",
	"slowdown", "slowdown_min", "slowdown_max",
	/* coherence events per operation (harness/counters.h), NA with a reason */
	"counter_event", "false_shared_events_per_op", "padded_events_per_op", "counter_reason",
	"reason",
};
enum { FS_COLUMNS = ARRAY_SIZE(fs_columns) };

struct point {
	const char *sweep;          /* "distance", "pairs", "fix" */
	int group;                  /* enum fs_placement; -1 for a heatmap pair */
	const struct fs_kind *kind; /* NULL for the fix demo */
	size_t distance;            /* bytes between neighbours; the fix: struct size */
	int n;
	const int *cpus;
};

struct thread_outcome {
	enum fs_role role;
	double shared_rate, padded_rate;    /* ops/s, median over rounds */
	double slowdown, slowdown_min, slowdown_max;
	double shared_events, padded_events; /* coherence events per operation, median of rounds */
	uint64_t shared_ops, padded_ops;
};

struct point_outcome {
	bool measured;
	enum fs_run_status status;
	char reason[ERRLEN];
	int home_node;
	int repeated, disturbed;            /* runs repeated; runs kept although disturbed */
	int rounds_used;                    /* rounds the medians are taken over */
	char disturbance[ERRLEN];           /* the last one, for the warning */
	char counter_event[ERRLEN];         /* the coherence events summed, "+"-joined */
	char counter_reason[ERRLEN];        /* why (some of) them are NA; "" when all counted */
	/* The fix demo: the median over rounds of the packed / padded time of
	 * the whole job, and the round whose ratio is nearest to it, so that the
	 * times and rates printed beside it are one round's and agree with it. */
	double job_ratio;
	double shared_job_s, padded_job_s;       /* in that round */
	double shared_item_rate, padded_item_rate; /* items/s, median over threads, that round */
	struct thread_outcome *threads;
};

struct sweep {
	struct run *r;
	const struct falseshare_plan *p;
	struct csv_writer csv;
	struct point *points;
	struct point_outcome *outcomes;
	long npoints, nsweep;               /* sweep points first, then pairs, then the fix */
	long measured, failed;
	long runs, repeated, disturbed;     /* runs kept; repeated; kept although disturbed */
	char disturbance[ERRLEN];
	uint64_t fix_items;
};

/* splitmix64, as in latency.c: a recorded seed replays the same order. */
static uint64_t next_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Shuffled so that slow drift spreads over the sweep as noise instead of
 * bending the curve along the distance axis. */
static void shuffle(long *order, long n, uint64_t seed)
{
	uint64_t state = seed;
	for (long i = n - 1; i > 0; i--) {
		long j = (long)(next_random(&state) % (uint64_t)(i + 1));
		long tmp = order[i];
		order[i] = order[j];
		order[j] = tmp;
	}
}

static int home_of(const struct falseshare_plan *p, const struct topology *t, const int *cpus)
{
	if (numa_available() < 0)
		return -1;
	if (p->home == HOME_NODE)
		return p->home_node;
	const struct cpu_place *place = topology_find(t, cpus[p->home == HOME_SECOND ? 1 : 0]);
	return place ? place->numa_node : -1;
}

/* The farthest class among the threads' CPUs: for two threads, their pair's. */
static enum pair_class farthest_class(const struct topology *t, const int *cpus, int n)
{
	enum pair_class worst = PAIR_SELF;
	for (int a = 0; a < n; a++)
		for (int b = a + 1; b < n; b++) {
			enum pair_class c = topology_pair_class(t, cpus[a], cpus[b]);
			if (c != PAIR_CLASS_COUNT && c > worst)
				worst = c;
		}
	return worst;
}

static void cpu_list(const int *cpus, int n, const char *sep, char *buf, size_t size)
{
	size_t used = 0;
	buf[0] = '\0';
	for (int i = 0; i < n && used + 1 < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%d", i ? sep : "", cpus[i]);
}

static const char *point_kind_name(const struct point *pt)
{
	return pt->kind ? pt->kind->name : fs_workload_worker_stats.name;
}

static const char *point_placement(const struct point *pt)
{
	return pt->group >= 0 ? fs_placement_name(pt->group) : "pair";
}

/* Median of the finite values among v[0], v[stride], ...; NAN if none. */
static double finite_median(const double *v, int n, int stride, double *scratch, double *lo,
			    double *hi)
{
	long m = 0;
	for (int i = 0; i < n; i++)
		if (isfinite(v[i * stride]))
			scratch[m++] = v[i * stride];
	if (m == 0) {
		if (lo)
			*lo = *hi = NAN;
		return NAN;
	}
	struct summary s;
	summarize(scratch, m, &s);
	if (lo) {
		*lo = s.min;
		*hi = s.max;
	}
	return s.median;
}

/* ---- counters ---- */

/* Coherence events per operation of one thread's run: the sum of the plan's
 * coherence events that counted; NAN when none did. */
static double events_per_op(const struct falseshare_plan *p, const struct fs_thread_result *r)
{
	long long sum = 0;
	int counted = 0;
	for (int k = 0; k < p->ncoherence; k++) {
		int e = p->coherence[k];
		if (!r->event_failed[e]) {
			sum += r->events[e];
			counted++;
		}
	}
	return counted > 0 && r->ops > 0 ? (double)sum / (double)r->ops : NAN;
}

/* Names the events a point's counter columns hold, and why any are NA. */
static void describe_counters(const struct falseshare_plan *p, const bool *failed,
			      char reasons[][160], struct point_outcome *out)
{
	size_t used = 0, why = 0;
	out->counter_event[0] = out->counter_reason[0] = '\0';
	if (p->events.n == 0) {
		snprintf(out->counter_event, ERRLEN, "NA");
		snprintf(out->counter_reason, ERRLEN, "not counted (--events none)");
		return;
	}
	if (p->ncoherence == 0) {
		snprintf(out->counter_event, ERRLEN, "NA");
		snprintf(out->counter_reason, ERRLEN, "no coherence event known for this CPU (%s)",
			 p->events.auto_label[0] ? p->events.auto_label : "none asked for");
		return;
	}
	bool any = false;
	for (int k = 0; k < p->ncoherence; k++)
		any |= !failed[p->coherence[k]];
	for (int k = 0; k < p->ncoherence; k++) {
		int e = p->coherence[k];
		if (any && failed[e])
			continue;
		used += (size_t)snprintf(out->counter_event + used, ERRLEN - used, "%s%s",
					 used ? "+" : "", p->events.names[e]);
	}
	/* Reasons read "EVENT: why"; events failing for the same reason (no
	 * PMU in a virtual machine) are named once, before the shared why. */
	const char *common = NULL;
	int nfailed = 0;
	bool same = true;
	for (int k = 0; k < p->ncoherence; k++) {
		int e = p->coherence[k];
		if (!failed[e])
			continue;
		size_t len = strlen(p->events.names[e]);
		const char *tail = strncmp(reasons[e], p->events.names[e], len) == 0 &&
					   reasons[e][len] == ':' ? reasons[e] + len + 2 : reasons[e];
		same &= common == NULL || strcmp(common, tail) == 0;
		common = common ? common : tail;
		nfailed++;
	}
	for (int k = 0; k < p->ncoherence && nfailed > 0 && why < ERRLEN; k++) {
		int e = p->coherence[k];
		if (!failed[e])
			continue;
		if (same)
			why += (size_t)snprintf(out->counter_reason + why, ERRLEN - why, "%s%s",
						why ? " and " : "", p->events.names[e]);
		else
			why += (size_t)snprintf(out->counter_reason + why, ERRLEN - why, "%s%s",
						why ? "; " : "", reasons[e]);
	}
	if (same && nfailed > 0 && why < ERRLEN)
		snprintf(out->counter_reason + why, ERRLEN - why, ": %s", common);
}

/* ---- measuring ---- */

/* allow_repeats: disturbed runs may be repeated (false when the budget is
 * running short: then every run is kept, and counted if disturbed). */
static void measure_point(struct sweep *sw, const struct point *pt, struct point_outcome *out,
			  bool allow_repeats)
{
	const struct falseshare_plan *p = sw->p;
	int n = pt->n, rounds = (int)p->rounds;
	size_t cells = (size_t)n * (size_t)rounds;
	double *shared = calloc(cells, sizeof *shared), *padded = calloc(cells, sizeof *padded);
	/* scratch holds one value per round, or one per thread (the item rates
	 * of the median round): the larger of the two */
	double *ratio = calloc(cells, sizeof *ratio),
	       *scratch = calloc((size_t)(n > rounds ? n : rounds), sizeof *scratch);
	double *shared_ev = calloc(cells, sizeof *shared_ev), *padded_ev = calloc(cells, sizeof *padded_ev);
	double *shared_job = calloc((size_t)rounds, sizeof *shared_job);
	double *padded_job = calloc((size_t)rounds, sizeof *padded_job);
	double *job_ratio = calloc((size_t)rounds, sizeof *job_ratio);
	struct fs_thread_result *res = calloc((size_t)n, sizeof *res);

	*out = (struct point_outcome){ .measured = true, .status = FS_RUN_FAILED, .home_node = -1,
				       .job_ratio = NAN, .shared_job_s = NAN, .padded_job_s = NAN,
				       .shared_item_rate = NAN, .padded_item_rate = NAN };
	out->threads = calloc((size_t)n, sizeof *out->threads);
	bool event_failed[MAX_EVENTS] = { false };
	bool *round_disturbed = calloc((size_t)rounds, sizeof *round_disturbed);
	char (*event_reason)[160] = calloc(MAX_EVENTS, sizeof *event_reason);
	if (!shared || !padded || !ratio || !scratch || !shared_ev || !padded_ev || !shared_job ||
	    !padded_job || !job_ratio || !res || !out->threads || !event_reason || !round_disturbed) {
		set_error(out->reason, "out of memory");
		goto done;
	}
	for (int i = 0; i < n; i++)
		out->threads[i].role = pt->kind == NULL ? FS_UPDATER
				       : !pt->kind->one_writer ? FS_UPDATER
				       : i == 0 ? FS_WRITER : FS_READER;
	struct fs_run_request q = {
		.kind = pt->kind,
		.workload = pt->kind ? NULL : &fs_workload_worker_stats,
		.cpus = pt->cpus,
		.n = n,
		.line_size = p->line_size,
		.run_ms = p->run_ms,
		.items = sw->fix_items,
		.home_node = home_of(p, &sw->r->topology, pt->cpus),
		.watchdog_s = p->watchdog_s,
		.clock = &sw->r->clock,
		.events = p->events.n > 0 ? &p->events : NULL,
		.agents = p->agents,
	};
	for (int round = 0; round < rounds; round++) {
		/* Alternating which layout goes first keeps a steady drift
		 * within a round from favouring one of them. */
		for (int half = 0; half < 2; half++) {
			bool false_shared = (half == 0) == (round % 2 == 0);
			q.stride = false_shared ? pt->distance : p->padded_stride;
			for (int attempt = 0;; attempt++) {
				char why[ERRLEN];
				out->status = fs_run(&q, res, &out->home_node, out->reason);
				if (out->status != FS_RUN_OK)
					goto done;
				if (!fs_run_disturbed(res, n, pt->cpus, pt->kind != NULL, why, sizeof why))
					break;
				if (attempt == MAX_REPEATS || !allow_repeats || cohmap_interrupted) {
					out->disturbed++;
					round_disturbed[round] = true;
					snprintf(out->disturbance, sizeof out->disturbance, "%s", why);
					break;
				}
				out->repeated++;
			}
			double job = 0;
			for (int i = 0; i < n; i++) {
				double rate = res[i].seconds > 0 && res[i].ops > 0
						      ? (double)res[i].ops / res[i].seconds : NAN;
				(false_shared ? shared : padded)[i * rounds + round] = rate;
				(false_shared ? shared_ev : padded_ev)[i * rounds + round] =
					events_per_op(p, &res[i]);
				for (int e = 0; e < p->events.n; e++)
					if (res[i].event_failed[e] && !event_failed[e]) {
						event_failed[e] = true;
						snprintf(event_reason[e], 160, "%s", res[i].event_reason[e]);
					}
				if (false_shared)
					out->threads[i].shared_ops += res[i].ops;
				else
					out->threads[i].padded_ops += res[i].ops;
				job = res[i].seconds > job ? res[i].seconds : job;
			}
			(false_shared ? shared_job : padded_job)[round] = job;
		}
		for (int i = 0; i < n; i++)
			ratio[i * rounds + round] = padded[i * rounds + round] / shared[i * rounds + round];
	}
	/* Disturbed rounds are left out of the medians when at least half the
	 * rounds are clean; on a machine too busy for that, all are used (and
	 * the disturbed_runs column says so). */
	int clean = 0;
	for (int round = 0; round < rounds; round++)
		clean += !round_disturbed[round];
	out->rounds_used = rounds;
	if (clean > 0 && 2 * clean >= rounds) {
		out->rounds_used = clean;
		for (int round = 0; round < rounds; round++)
			if (round_disturbed[round])
				for (int i = 0; i < n; i++)
					shared[i * rounds + round] = padded[i * rounds + round] =
						ratio[i * rounds + round] = shared_ev[i * rounds + round] =
							padded_ev[i * rounds + round] = NAN;
		for (int round = 0; round < rounds; round++)
			if (round_disturbed[round])
				shared_job[round] = padded_job[round] = NAN;
	}
	for (int i = 0; i < n; i++) {
		struct thread_outcome *th = &out->threads[i];
		th->shared_rate = finite_median(shared + i * rounds, rounds, 1, scratch, NULL, NULL);
		th->padded_rate = finite_median(padded + i * rounds, rounds, 1, scratch, NULL, NULL);
		th->slowdown = finite_median(ratio + i * rounds, rounds, 1, scratch, &th->slowdown_min,
					     &th->slowdown_max);
		th->shared_events = finite_median(shared_ev + i * rounds, rounds, 1, scratch, NULL, NULL);
		th->padded_events = finite_median(padded_ev + i * rounds, rounds, 1, scratch, NULL, NULL);
		if (isnan(th->slowdown)) {
			out->status = FS_RUN_FAILED;
			set_error(out->reason, "the thread on CPU %d did not run in any round's "
				  "window (its CPU was busy elsewhere)", pt->cpus[i]);
		}
	}
	if (pt->kind == NULL) {
		for (int k = 0; k < rounds; k++)
			job_ratio[k] = shared_job[k] / padded_job[k];
		out->job_ratio = finite_median(job_ratio, rounds, 1, scratch, NULL, NULL);
		int mid = -1;
		for (int k = 0; k < rounds; k++)
			if (isfinite(job_ratio[k]) && (mid < 0 || fabs(job_ratio[k] - out->job_ratio) <
								   fabs(job_ratio[mid] - out->job_ratio)))
				mid = k;
		if (mid >= 0) {
			out->shared_job_s = shared_job[mid];
			out->padded_job_s = padded_job[mid];
			out->shared_item_rate = finite_median(shared + mid, n, rounds, scratch, NULL, NULL);
			out->padded_item_rate = finite_median(padded + mid, n, rounds, scratch, NULL, NULL);
		}
	}
done:
	if (event_reason)
		describe_counters(p, event_failed, event_reason, out);
	free(event_reason);
	free(round_disturbed);
	free(shared_ev);
	free(padded_ev);
	free(shared);
	free(padded);
	free(ratio);
	free(scratch);
	free(shared_job);
	free(padded_job);
	free(job_ratio);
	free(res);
}

/* Items per thread for the fix demo: about one run length of packed work.
 * The first guess is grown until a run is long enough (an eighth of the
 * target) that the clock's resolution and the start no longer dominate it,
 * then scaled. */
static uint64_t size_fix_work(const struct sweep *sw, const struct fs_group *g)
{
	const struct falseshare_plan *p = sw->p;
	struct fs_thread_result *res = calloc((size_t)g->n, sizeof *res);
	char reason[ERRLEN];
	int home;
	struct fs_run_request q = {
		.workload = &fs_workload_worker_stats, .cpus = g->cpus, .n = g->n,
		.stride = fs_workload_worker_stats.struct_bytes, .line_size = p->line_size,
		.items = FIX_CALIBRATION_ITEMS, .home_node = home_of(p, &sw->r->topology, g->cpus),
		.watchdog_s = p->watchdog_s, .clock = &sw->r->clock, .agents = p->agents,
	};
	double target_s = p->run_ms / 1e3, slowest = 0;
	while (res && fs_run(&q, res, &home, reason) == FS_RUN_OK) {
		/* CPU time, not wall time: on a busy machine a thread switched
		 * out mid-run would make the work look slower than it is. */
		slowest = 0;
		for (int i = 0; i < g->n; i++) {
			double ran = res[i].seconds * res[i].on_cpu;
			slowest = ran > slowest ? ran : slowest;
		}
		if (slowest >= target_s / 8 || q.items >= FIX_MAX_ITEMS / 4)
			break;
		q.items *= 4;
	}
	free(res);
	double items = slowest > 0 ? (double)q.items * target_s / slowest : (double)q.items;
	return items < FIX_CALIBRATION_ITEMS ? FIX_CALIBRATION_ITEMS
	       : items > FIX_MAX_ITEMS ? FIX_MAX_ITEMS : (uint64_t)items;
}

/* ---- the CSV ---- */

static void number(char *cell, double v, const char *format)
{
	if (isfinite(v))
		snprintf(cell, ERRLEN, format, v);
	else
		snprintf(cell, ERRLEN, "NA");
}

static int write_rows(struct sweep *sw, const struct point *pt, const struct point_outcome *o,
		      char *err)
{
	const struct falseshare_plan *p = sw->p;
	const struct topology *t = &sw->r->topology;
	char cells[FS_COLUMNS][ERRLEN], cpus[ERRLEN];
	const char *row[FS_COLUMNS];
	bool ok = o->status == FS_RUN_OK;
	cpu_list(pt->cpus, pt->n, " ", cpus, sizeof cpus);
	for (int i = 0; i < pt->n; i++) {
		const struct thread_outcome *th = &o->threads[i];
		int c = 0;
		snprintf(cells[c++], ERRLEN, "%s", pt->sweep);
		snprintf(cells[c++], ERRLEN, "%s", point_placement(pt));
		snprintf(cells[c++], ERRLEN, "%s", pair_class_name(farthest_class(t, pt->cpus, pt->n)));
		snprintf(cells[c++], ERRLEN, "%d", pt->n);
		snprintf(cells[c++], ERRLEN, "%s", cpus);
		snprintf(cells[c++], ERRLEN, "%s", point_kind_name(pt));
		snprintf(cells[c++], ERRLEN, "%s", fs_role_name(th->role));
		snprintf(cells[c++], ERRLEN, "%d", i);
		snprintf(cells[c++], ERRLEN, "%d", pt->cpus[i]);
		snprintf(cells[c++], ERRLEN, "%zu", pt->distance);
		snprintf(cells[c++], ERRLEN, "%zu", p->padded_stride);
		snprintf(cells[c++], ERRLEN, "%zu",
			 pt->kind ? FS_COUNTER_BYTES : fs_workload_worker_stats.struct_bytes);
		snprintf(cells[c++], ERRLEN, "%zu", p->line_size);
		snprintf(cells[c++], ERRLEN, "%d", o->home_node);
		snprintf(cells[c++], ERRLEN, "%s", agent_kind_name(p->agents));
		snprintf(cells[c++], ERRLEN, "%ld", p->rounds);
		snprintf(cells[c++], ERRLEN, "%d", o->rounds_used);
		snprintf(cells[c++], ERRLEN, "%d", o->repeated);
		snprintf(cells[c++], ERRLEN, "%d", o->disturbed);
		/* The fix demo runs a fixed amount of work, not a fixed time. */
		number(cells[c++], pt->kind ? p->run_ms : NAN, "%g");
		snprintf(cells[c++], ERRLEN, "%s", ok ? "ok" : "failed");
		snprintf(cells[c++], ERRLEN, "%llu", (unsigned long long)th->shared_ops);
		snprintf(cells[c++], ERRLEN, "%llu", (unsigned long long)th->padded_ops);
		number(cells[c++], ok ? th->shared_rate : NAN, "%.6g");
		number(cells[c++], ok ? th->padded_rate : NAN, "%.6g");
		number(cells[c++], ok ? th->slowdown : NAN, "%.4g");
		number(cells[c++], ok ? th->slowdown_min : NAN, "%.4g");
		number(cells[c++], ok ? th->slowdown_max : NAN, "%.4g");
		snprintf(cells[c++], ERRLEN, "%s", o->counter_event[0] ? o->counter_event : "NA");
		number(cells[c++], ok ? th->shared_events : NAN, "%.4g");
		number(cells[c++], ok ? th->padded_events : NAN, "%.4g");
		snprintf(cells[c++], ERRLEN, "%s", o->counter_reason);
		snprintf(cells[c++], ERRLEN, "%s", ok ? "" : o->reason);
		for (int k = c - 5; k < c; k++) /* names and reasons: keep each one cell */
			for (char *ch = cells[k]; *ch; ch++)
				if (*ch == ',' || *ch == '"' || *ch == '\n')
					*ch = ';';
		for (int k = 0; k < FS_COLUMNS; k++)
			row[k] = cells[k];
		if (csv_writer_row(&sw->csv, row, err) != 0)
			return -1;
	}
	return 0;
}

/* ---- the tables ---- */

/* The median over the threads of one role of one point (all threads for
 * the updater kinds), of the slowdown or of a rate. */
enum statistic { SLOWDOWN, SHARED_RATE, PADDED_RATE, SHARED_EVENTS };

static double role_median(const struct point *pt, const struct point_outcome *o, enum fs_role role,
			  enum statistic what)
{
	double v[MAX_AGENTS], scratch[MAX_AGENTS];
	int m = 0;
	if (!o->measured || o->status != FS_RUN_OK)
		return NAN;
	for (int i = 0; i < pt->n; i++)
		if (o->threads[i].role == role)
			v[m++] = what == SLOWDOWN ? o->threads[i].slowdown
				 : what == SHARED_RATE ? o->threads[i].shared_rate
				 : what == PADDED_RATE ? o->threads[i].padded_rate
						       : o->threads[i].shared_events;
	return m ? finite_median(v, m, 1, scratch, NULL, NULL) : NAN;
}

static long find_point(const struct sweep *sw, int group, const struct fs_kind *k, size_t d)
{
	for (long i = 0; i < sw->nsweep; i++)
		if (sw->points[i].group == group && sw->points[i].kind == k &&
		    sw->points[i].distance == d)
			return i;
	return -1;
}

static void print_value(double v, enum statistic what)
{
	if (isnan(v))
		printf(" %7s", "-");
	else if (what == SLOWDOWN || what == SHARED_EVENTS)
		printf(" %7.2f", v);
	else
		printf(" %7.3g", v / 1e6);
}

static void print_sweep_table(const struct sweep *sw, enum statistic what)
{
	const struct falseshare_plan *p = sw->p;
	printf("%-13s %-22s", "placement", "kind / role");
	for (int d = 0; d < p->ndistances; d++) {
		char head[16];
		snprintf(head, sizeof head, "%s%zu", d == 0 ? "d=" : "", p->distances[d]);
		printf(" %7s", head);
	}
	printf("\n");
	for (int g = 0; g < FS_PLACEMENT_COUNT; g++) {
		if (p->groups[g].n == 0)
			continue;
		bool first = true;
		for (int k = 0; k < p->nkinds; k++)
			for (int role = 0; role < FS_ROLE_COUNT; role++) {
				if ((role == FS_UPDATER) == p->kinds[k]->one_writer)
					continue;
				char label[48];
				snprintf(label, sizeof label, "%s%s%s", p->kinds[k]->name,
					 role == FS_UPDATER ? "" : " ",
					 role == FS_UPDATER ? "" : fs_role_name(role));
				printf("%-13s %-22s", first ? fs_placement_name(g) : "", label);
				first = false;
				for (int d = 0; d < p->ndistances; d++) {
					long i = find_point(sw, g, p->kinds[k], p->distances[d]);
					print_value(i < 0 ? NAN : role_median(&sw->points[i],
						    &sw->outcomes[i], role, what), what);
				}
				printf("\n");
			}
	}
}

/* Coherence events per update next to the slowdowns, or why there are none. */
static void print_events(const struct sweep *sw)
{
	bool any = false;
	const char *why = "";
	for (long i = 0; i < sw->nsweep; i++) {
		const struct point_outcome *o = &sw->outcomes[i];
		if (!o->measured || o->status != FS_RUN_OK)
			continue;
		for (int k = 0; k < sw->points[i].n; k++)
			any |= isfinite(o->threads[k].shared_events);
		if (o->counter_reason[0])
			why = o->counter_reason;
	}
	if (!any) {
		printf("\ncoherence events per update: NA (%s)\n", why);
		return;
	}
	long first = 0;
	while (first < sw->nsweep && !sw->outcomes[first].measured)
		first++;
	printf("\ncoherence events per update, false-shared (%s), median over rounds and threads\n",
	       first < sw->nsweep ? sw->outcomes[first].counter_event : "");
	print_sweep_table(sw, SHARED_EVENTS);
}

static void print_pairs(const struct sweep *sw)
{
	const struct topology *t = &sw->r->topology;
	long measured = 0;
	for (long i = sw->nsweep; i < sw->npoints; i++)
		measured += sw->points[i].group == -1 && sw->outcomes[i].measured;
	if (measured == 0)
		return;
	printf("\npair heatmap (%s, d = %d B): each thread's slowdown, per pair class min / median "
	       "/ max over threads\n", sw->p->pair_kind->name, FS_PAIR_DISTANCE);
	printf("%-13s %6s %8s %8s %8s\n", "class", "pairs", "min", "median", "max");
	double *v = malloc((size_t)(2 * (sw->npoints - sw->nsweep) + 1) * sizeof *v);
	for (int c = 0; c < PAIR_CLASS_COUNT && v; c++) {
		long pairs = 0, m = 0, failed = 0;
		for (long i = sw->nsweep; i < sw->npoints; i++) {
			const struct point *pt = &sw->points[i];
			if (pt->group != -1 || !sw->outcomes[i].measured ||
			    (int)topology_pair_class(t, pt->cpus[0], pt->cpus[1]) != c)
				continue;
			pairs++;
			if (sw->outcomes[i].status != FS_RUN_OK) {
				failed++;
				continue;
			}
			for (int k = 0; k < 2; k++)
				if (isfinite(sw->outcomes[i].threads[k].slowdown))
					v[m++] = sw->outcomes[i].threads[k].slowdown;
		}
		if (pairs == 0)
			continue;
		struct summary s = { .min = NAN, .median = NAN, .max = NAN };
		if (m > 0)
			summarize(v, m, &s);
		printf("%-13s %6ld %8.2f %8.2f %8.2f%s\n", pair_class_name(c), pairs, s.min, s.median,
		       s.max, failed ? "  (some failed)" : "");
	}
	free(v);
}

static void print_fix(const struct sweep *sw, const struct point *pt, const struct point_outcome *o)
{
	const struct falseshare_plan *p = sw->p;
	char cpus[256];
	cpu_list(pt->cpus, pt->n, ",", cpus, sizeof cpus);
	printf("\nthe fix: the same work on a packed and on a padded struct (%s placement, %d "
	       "threads on CPUs %s,\n%llu items each, %ld interleaved rounds)\n",
	       fs_placement_name(pt->group), pt->n, cpus, (unsigned long long)sw->fix_items,
	       p->rounds);
	printf("  struct worker_stats { _Atomic uint64_t items, total; };  /* %zu bytes */\n",
	       fs_workload_worker_stats.struct_bytes);
	printf("  packed: struct worker_stats stats[%d];   padded: each in its own %zu-byte block, "
	       "%zu-byte aligned (2 x %zu-byte line)\n\n", pt->n, p->padded_stride,
	       p->padded_stride, p->line_size);
	if (o->status != FS_RUN_OK) {
		printf("  failed: %s\n", o->reason);
		return;
	}
	char left[64], right[64];
	printf("  %-34s %-24s %-24s\n", "", "packed", "padded");
	snprintf(left, sizeof left, "%zu B apart", fs_workload_worker_stats.struct_bytes);
	snprintf(right, sizeof right, "%zu B apart", p->padded_stride);
	printf("  %-34s %-24s %-24s\n", "neighbouring structs", left, right);
	snprintf(left, sizeof left, "%.2f", o->shared_job_s * 1e3);
	snprintf(right, sizeof right, "%.2f", o->padded_job_s * 1e3);
	printf("  %-34s %-24s %-24s\n", "time for the whole job [ms]", left, right);
	snprintf(left, sizeof left, "%.3g", o->shared_item_rate / 1e6);
	snprintf(right, sizeof right, "%.3g", o->padded_item_rate / 1e6);
	printf("  %-34s %-24s %-24s\n", "items/s per thread [millions]", left, right);
	printf("  %-34s %-24s %-24s\n", "every struct matches its work", "yes", "yes");
	printf("  padding makes the job %.2fx as fast: the median over rounds of packed / padded "
	       "time;\n  the times and rates above are the round nearest to that median\n",
	       o->job_ratio);
}

/* ---- meta.json ---- */

static json_t *plan_description(const struct sweep *sw)
{
	const struct falseshare_plan *p = sw->p;
	const struct topology *t = &sw->r->topology;
	json_t *kinds = json_array(), *distances = json_array(), *placements = json_object();
	for (int k = 0; k < p->nkinds; k++)
		json_array_append_new(kinds, json_string(p->kinds[k]->name));
	for (int d = 0; d < p->ndistances; d++)
		json_array_append_new(distances, json_integer((json_int_t)p->distances[d]));
	for (int g = 0; g < FS_PLACEMENT_COUNT; g++) {
		const struct fs_group *grp = &p->groups[g];
		if (!grp->requested)
			continue;
		if (grp->n == 0) {
			json_object_set_new(placements, fs_placement_name(g),
					    json_pack("{s:s}", "skipped", grp->why));
			continue;
		}
		json_t *cpus = json_array();
		for (int i = 0; i < grp->n; i++)
			json_array_append_new(cpus, json_integer(grp->cpus[i]));
		json_object_set_new(placements, fs_placement_name(g),
			json_pack("{s:s, s:i, s:o, s:s}", "description", fs_placement_description(g),
				  "threads", grp->n, "cpus", cpus, "pair_class",
				  pair_class_name(farthest_class(t, grp->cpus, grp->n))));
	}
	const char *home = p->home == HOME_FIRST ? "first" : p->home == HOME_SECOND ? "second" : "node";
	return json_pack(
		"{s:s, s:i, s:s, s:o, s:o, s:o, s:s, s:I, s:s, s:I, s:f, s:f, s:I, s:s, s:i, s:I, s:s,"
		" s:I, s:s, s:I, s:I, s:s}",
		"status", "running", "threads_requested", p->threads,
		"agents", agent_kind_name(p->agents), "kinds", kinds,
		"distances_bytes", distances, "placements", placements,
		"pairs", fs_pairs_name(p->pairs), "pairs_planned", (json_int_t)p->npairs,
		"pair_kind", p->pair_kind->name, "pair_distance_bytes", (json_int_t)FS_PAIR_DISTANCE,
		"run_ms", p->run_ms, "watchdog_s", p->watchdog_s, "rounds", (json_int_t)p->rounds,
		"home", home, "home_node", p->home == HOME_NODE ? p->home_node : -1,
		"seed", (json_int_t)p->seed, "line_size_source", t->source,
		"line_size_bytes", (json_int_t)p->line_size,
		"padding", "padded baseline and fix demo: blocks of 2 lines (the adjacent-line "
			   "prefetcher's pair), from the topology's line size",
		"padded_stride_bytes", (json_int_t)p->padded_stride,
		"counter_bytes", (json_int_t)FS_COUNTER_BYTES,
		"statistic", "slowdown of a thread = median over interleaved rounds of (padded "
			     "ops/s / false-shared ops/s); ops/s = median over rounds; rounds with a "
			     "disturbed run are left out when at least half are clean (rounds_used); "
			     "plots and tables: median over the threads of a role");
}

static json_t *counters_description(const struct falseshare_plan *p)
{
	if (p->events.n == 0)
		return json_pack("{s:b, s:s}", "counted", 0, "reason", "--events none");
	json_t *events = json_array();
	for (int k = 0; k < p->ncoherence; k++) {
		int e = p->coherence[k];
		json_t *one = json_pack("{s:s, s:b}", "name", p->events.names[e], "countable",
					p->events.backend[e] != EVENT_NONE);
		if (p->events.backend[e] == EVENT_NONE)
			json_object_set_new(one, "reason", json_string(p->events.reason[e]));
		json_array_append_new(events, one);
	}
	return json_pack("{s:b, s:s, s:s, s:o}", "counted", p->ncoherence > 0,
			 "auto_table_row", p->events.auto_label,
			 "columns", "false_shared_events_per_op, padded_events_per_op: the sum of these "
				    "events over a thread's timed window divided by its operations, "
				    "median of rounds; NA with counter_reason when not countable",
			 "coherence_events", events);
}

/* The worst per-thread slowdown among the sweep and the pairs. */
static long worst_point(const struct sweep *sw, int *thread)
{
	long best = -1;
	double worst = -1;
	for (long i = 0; i < sw->npoints; i++) {
		const struct point_outcome *o = &sw->outcomes[i];
		if (sw->points[i].kind == NULL || !o->measured || o->status != FS_RUN_OK)
			continue;
		for (int k = 0; k < sw->points[i].n; k++)
			if (o->threads[k].slowdown > worst) {
				worst = o->threads[k].slowdown;
				best = i;
				*thread = k;
			}
	}
	return best;
}

static void describe_worst(const struct sweep *sw, long i, int k, char *buf, size_t size)
{
	const struct point *pt = &sw->points[i];
	const struct thread_outcome *th = &sw->outcomes[i].threads[k];
	char cpus[256];
	cpu_list(pt->cpus, pt->n, ",", cpus, sizeof cpus);
	snprintf(buf, size, "worst slowdown %.1fx: %s%s%s on CPU %d at d = %zu B, %s%s (CPUs %s, %s)",
		 th->slowdown, pt->kind->name, pt->kind->one_writer ? " " : "",
		 pt->kind->one_writer ? fs_role_name(th->role) : "", pt->cpus[k], pt->distance,
		 pt->group >= 0 ? "placement " : "", point_placement(pt), cpus,
		 pair_class_name(farthest_class(&sw->r->topology, pt->cpus, pt->n)));
}

/* ---- the experiment ---- */

static long build_points(struct sweep *sw)
{
	const struct falseshare_plan *p = sw->p;
	long n = 0;
	for (int g = 0; g < FS_PLACEMENT_COUNT; g++)
		for (int k = 0; k < p->nkinds && p->groups[g].n > 0; k++)
			for (int d = 0; d < p->ndistances; d++)
				sw->points[n++] = (struct point){
					.sweep = "distance", .group = g, .kind = p->kinds[k],
					.distance = p->distances[d], .n = p->groups[g].n,
					.cpus = p->groups[g].cpus };
	sw->nsweep = n;
	for (long i = 0; i < p->npairs; i++)
		sw->points[n++] = (struct point){ .sweep = "pairs", .group = -1, .kind = p->pair_kind,
						  .distance = FS_PAIR_DISTANCE, .n = 2,
						  .cpus = &p->pair_cpus[2 * i] };
	if (p->fix_group >= 0)
		sw->points[n++] = (struct point){
			.sweep = "fix", .group = p->fix_group,
			.distance = fs_workload_worker_stats.struct_bytes,
			.n = p->groups[p->fix_group].n, .cpus = p->groups[p->fix_group].cpus };
	return n;
}

static void print_plan(const struct sweep *sw)
{
	const struct falseshare_plan *p = sw->p;
	const struct topology *t = &sw->r->topology;
	printf("\nfalseshare: %d %s per run; line %zu B (%s); padded baseline: counters %zu B "
	       "apart (2 lines); counters %zu B\n", p->threads,
	       p->agents == AGENTS_THREADS ? "threads" : "processes", p->line_size, t->source,
	       p->padded_stride, FS_COUNTER_BYTES);
	if (p->agents != AGENTS_THREADS)
		printf("  agents: processes sharing the counters through %s memory\n",
		       agent_kind_name(p->agents));
	for (int g = 0; g < FS_PLACEMENT_COUNT; g++) {
		const struct fs_group *grp = &p->groups[g];
		if (!grp->requested)
			continue;
		char cpus[256];
		cpu_list(grp->cpus, grp->n, ",", cpus, sizeof cpus);
		if (grp->n > 0)
			printf("  placement %-13s %d threads on CPUs %s (%s; farthest pair: %s)\n",
			       fs_placement_name(g), grp->n, cpus, fs_placement_description(g),
			       pair_class_name(farthest_class(t, grp->cpus, grp->n)));
		else
			printf("  placement %-13s skipped: %s\n", fs_placement_name(g), grp->why);
	}
	printf("  pair heatmap: %ld pair%s (%s), %s at d = %d B\n", p->npairs,
	       p->npairs == 1 ? "" : "s", fs_pairs_name(p->pairs), p->pair_kind->name,
	       FS_PAIR_DISTANCE);
}

int falseshare_experiment(struct run *r, const struct falseshare_plan *p, double budget_s)
{
	char err[ERRLEN], path[PATH_MAX];
	struct sweep sw = { .r = r, .p = p, .csv = { .fd = -1 } };
	long capacity = FS_PLACEMENT_COUNT * p->nkinds * p->ndistances + p->npairs + 1;
	json_t *experiment = plan_description(&sw);
	int exit_code = EXIT_RUNTIME;
	uint64_t started = monotonic_ns();
	long not_measured = 0, *order = NULL;

	json_object_set_new(json_object_get(r->meta, "experiments"), "falseshare", experiment);
	json_object_set_new(experiment, "budget_reductions",
			    json_string(p->reductions[0] ? p->reductions : "none"));
	json_object_set_new(experiment, "counters", counters_description(p));
	sw.points = calloc((size_t)capacity, sizeof *sw.points);
	sw.outcomes = calloc((size_t)capacity, sizeof *sw.outcomes);
	if (sw.points == NULL || sw.outcomes == NULL) {
		fprintf(stderr, "cohmap: out of memory for %ld false-sharing points\n", capacity);
		goto out;
	}
	/* The count is fixed from here on: a local, which no call given &sw
	 * can be suspected of changing. */
	const long npoints = sw.npoints = build_points(&sw);
	/* The fix demo first (one point, and the one a small budget should not
	 * lose), then the sweep and the heatmap's pairs in one shuffled order. */
	if ((order = malloc((size_t)npoints * sizeof *order)) == NULL) {
		fprintf(stderr, "cohmap: out of memory for %ld false-sharing points\n", npoints);
		goto out;
	}
	bool has_fix = p->fix_group >= 0;
	long k = 0;
	if (has_fix)
		order[k++] = npoints - 1;
	for (long i = 0; i < npoints - has_fix; i++)
		order[k++] = i;
	shuffle(order + has_fix, npoints - has_fix, p->seed);
	if (numa_available() < 0)
		run_warn(r, "libnuma reports no NUMA support: counters are not placed");
	if (csv_writer_open(&sw.csv, run_path(r, "falseshare.csv", path, sizeof path), fs_columns,
			    FS_COLUMNS, false, err) != 0 || run_save_meta(r) != 0) {
		fprintf(stderr, "cohmap: %s\n", err);
		goto out;
	}
	if (!r->quiet)
		print_plan(&sw);

	struct progress bar;
	progress_start(&bar, r->progress, "falseshare", npoints);
	for (long done = 0; done < npoints && !cohmap_interrupted; done++) {
		long i = order[done];
		const struct point *pt = &sw.points[i];
		double elapsed = (double)(monotonic_ns() - started) / 1e9;
		if (budget_s > 0 && elapsed > budget_s) {
			not_measured = npoints - done;
			run_warn(r, "falseshare: the %.0f s budget ran out; %ld of %ld points were "
				 "not measured", budget_s, not_measured, npoints);
			break;
		}
		if (pt->kind == NULL)
			sw.fix_items = size_fix_work(&sw, &p->groups[pt->group]);
		bool on_schedule = budget_s <= 0 ||
				   elapsed <= budget_s * (double)(done + 1) / (double)npoints;
		measure_point(&sw, pt, &sw.outcomes[i], on_schedule);
		if (sw.outcomes[i].status == FS_RUN_INTERRUPTED) {
			sw.outcomes[i].measured = false;
			break;
		}
		sw.measured++;
		sw.repeated += sw.outcomes[i].repeated;
		sw.disturbed += sw.outcomes[i].disturbed;
		if (sw.outcomes[i].disturbed)
			snprintf(sw.disturbance, sizeof sw.disturbance, "%s", sw.outcomes[i].disturbance);
		if (sw.outcomes[i].status == FS_RUN_FAILED) {
			char cpus[256];
			cpu_list(pt->cpus, pt->n, ",", cpus, sizeof cpus);
			sw.failed++;
			run_warn(r, "falseshare: %s %s d = %zu B on CPUs %s failed: %s",
				 point_placement(pt), point_kind_name(pt), pt->distance, cpus,
				 sw.outcomes[i].reason);
		} else {
			sw.runs += 2 * p->rounds;
		}
		if (write_rows(&sw, pt, &sw.outcomes[i], err) != 0) {
			fprintf(stderr, "cohmap: %s\n", err);
			goto out;
		}
		progress_update(&bar, done + 1);
	}
	progress_end(&bar);
	if (csv_writer_close(&sw.csv, err) != 0) {
		fprintf(stderr, "cohmap: %s\n", err);
		goto out;
	}
	json_object_set_new(experiment, "points_planned", json_integer(npoints));
	json_object_set_new(experiment, "points_measured", json_integer(sw.measured));
	json_object_set_new(experiment, "points_failed", json_integer(sw.failed));
	json_object_set_new(experiment, "points_not_measured_budget", json_integer(not_measured));
	json_object_set_new(experiment, "runs_kept", json_integer(sw.runs));
	json_object_set_new(experiment, "runs_repeated_disturbed", json_integer(sw.repeated));
	json_object_set_new(experiment, "runs_kept_disturbed", json_integer(sw.disturbed));
	if (sw.disturbed > 0)
		run_warn(r, "falseshare: %ld of %ld runs were still disturbed after %d repeats (last: "
			 "%s): other tasks share these CPUs, so those points are noisy",
			 sw.disturbed, sw.runs, MAX_REPEATS, sw.disturbance);
	if (cohmap_interrupted) {
		json_object_set_new(experiment, "status", json_string("interrupted"));
		fprintf(stderr, "cohmap: interrupted after %ld of %ld false-sharing points; they are "
			"in %s\n", sw.measured, npoints, r->dir);
		exit_code = EXIT_INTERRUPTED;
		goto out;
	}
	json_object_set_new(experiment, "status", json_string("complete"));
	exit_code = sw.measured > 0 && sw.failed == sw.measured ? EXIT_RUNTIME : EXIT_DONE;

	long fix = npoints - 1;
	bool have_fix = p->fix_group >= 0 && sw.outcomes[fix].measured;
	if (!r->quiet && sw.nsweep > 0) {
		printf("\nslowdown per thread = padded ops/s / false-shared ops/s, median of %ld "
		       "interleaved rounds of %g ms;\nshown: median over the threads of a role; "
		       "d in bytes (0: one shared counter)\n", p->rounds, p->run_ms);
		print_sweep_table(&sw, SLOWDOWN);
		printf("\nfalse-shared ops/s per thread [millions], median over rounds and threads\n");
		print_sweep_table(&sw, SHARED_RATE);
		printf("\npadded ops/s per thread [millions] (counters %zu B apart), the same runs' "
		       "partners\n", p->padded_stride);
		print_sweep_table(&sw, PADDED_RATE);
		print_events(&sw);
	}
	if (!r->quiet)
		printf("\nruns: %ld kept, %ld more repeated because a thread was switched out or the "
		       "threads did not run together; %ld kept disturbed\n", sw.runs, sw.repeated,
		       sw.disturbed);
	if (!r->quiet && p->npairs > 0)
		print_pairs(&sw);
	if (!r->quiet && have_fix)
		print_fix(&sw, &sw.points[fix], &sw.outcomes[fix]);
	if (have_fix && sw.outcomes[fix].status == FS_RUN_OK) {
		const struct point_outcome *o = &sw.outcomes[fix];
		json_object_set_new(experiment, "fix", json_pack(
			"{s:s, s:s, s:I, s:I, s:I, s:f, s:f, s:f}", "workload",
			fs_workload_worker_stats.name, "placement", fs_placement_name(p->fix_group),
			"items_per_thread", (json_int_t)sw.fix_items,
			"packed_stride_bytes", (json_int_t)fs_workload_worker_stats.struct_bytes,
			"padded_stride_bytes", (json_int_t)p->padded_stride,
			"packed_job_ms", o->shared_job_s * 1e3, "padded_job_ms", o->padded_job_s * 1e3,
			"speedup", o->job_ratio));
	}

	char headline[ERRLEN] = "no point was measured";
	int worst_thread = 0;
	long worst = worst_point(&sw, &worst_thread);
	if (worst >= 0) {
		describe_worst(&sw, worst, worst_thread, headline, sizeof headline);
		const struct point *pt = &sw.points[worst];
		json_object_set_new(experiment, "worst", json_pack(
			"{s:f, s:s, s:s, s:s, s:i, s:I}", "slowdown",
			sw.outcomes[worst].threads[worst_thread].slowdown, "kind", pt->kind->name,
			"role", fs_role_name(sw.outcomes[worst].threads[worst_thread].role),
			"placement", point_placement(pt), "cpu", pt->cpus[worst_thread],
			"distance_bytes", (json_int_t)pt->distance));
		if (have_fix && sw.outcomes[fix].status == FS_RUN_OK) {
			size_t used = strlen(headline);
			snprintf(headline + used, sizeof headline - used,
				 "; padding to %zu B makes the fix demo %.2fx as fast", p->padded_stride,
				 sw.outcomes[fix].job_ratio);
		}
	}

	char why[ERRLEN];
	struct fs_plots drawn = { 0 };
	if (!plot_gnuplot_available(why, sizeof why)) {
		run_warn(r, "no false-sharing plot drawn: %s; falseshare.csv is complete", why);
		exit_code = exit_code == EXIT_DONE ? EXIT_PARTIAL : exit_code;
	} else if (plot_falseshare(r->dir, &r->topology, true, &drawn, err) < 0) {
		run_warn(r, "no false-sharing plot drawn: %s", err);
		exit_code = exit_code == EXIT_DONE ? EXIT_PARTIAL : exit_code;
	}
	const char *plots[3] = { NULL };
	int np = 0;
	if (drawn.distance)
		plots[np++] = "falseshare-distance.png";
	if (drawn.pairs)
		plots[np++] = "falseshare-pairs.png";
	if (!r->quiet && np > 0)
		for (int i = 0; i < np; i++)
			printf("%s %s/%s\n", i == 0 ? "\nplots:" : "      ", r->dir, plots[i]);
	const char *csv[] = { "falseshare.csv", NULL };
	experiment_describe(r, "falseshare", csv, plots, headline);
	if (!r->quiet)
		printf("\nsummary: %s\n", headline);
out:
	if (sw.csv.fd >= 0)
		csv_writer_close(&sw.csv, err);
	for (long i = 0; sw.outcomes && i < sw.npoints; i++)
		free(sw.outcomes[i].threads);
	free(sw.points);
	free(sw.outcomes);
	free(order);
	return exit_code;
}
