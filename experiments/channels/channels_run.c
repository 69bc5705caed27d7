/* `cohmap channels` measuring: the plan fitted to `cohmap run`'s budget from
 * probe points, then rounds over every point in a new order each, the
 * samples of a point pooled over the rounds, then the CSV, the summary and
 * the figures. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/csv.h"
#include "base/progress.h"
#include "base/shuffle.h"
#include "base/stats.h"
#include "base/timing.h"
#include "experiments/channels/channels.h"
#include "experiments/channels/channels_plot.h"
#include "experiments/experiment.h"
#include "harness/agents.h"
#include "harness/point_report.h"
#include "harness/point_sampler.h"
#include "kernels/channels.h"

/* ---- fitting a budget ------------------------------------------------------ */

/* What points cost here and now, for planning only: three real points with
 * one sample each, through the pipe on the first pair (a slow channel, so the
 * plan errs on the long side): a small message one way, a stream of small
 * messages, a stream of large ones. */
struct costs {
	double point_s;         /* starting the processes, touching the buffers */
	double latency_ns;      /* one small message, one way */
	double stream_ns;       /* one small message in a stream */
	double ns_per_byte;     /* each further byte */
};

static double probe(const struct channels_plan *p, const struct clock_info *clock, enum mode m,
		    size_t bytes, double *wall_s)
{
	struct channels_plan one = *p;
	struct point pt = { &channel_pipe, m, p->pairs[0], bytes };
	struct point_result r;
	one.fixed_samples = 1;
	uint64_t t0 = monotonic_ns();
	channels_run_point(&one, &pt, clock, &r);
	*wall_s = (double)(monotonic_ns() - t0) / 1e9;
	free(r.samples);
	return r.status == POINT_OK ? r.ns.median : NAN;
}

static void probe_costs(const struct channels_plan *p, const struct clock_info *clock, struct costs *c)
{
	double wall, large = 8 * (double)p->window_bytes;
	c->latency_ns = probe(p, clock, MODE_LATENCY, MESSAGE_MIN_BYTES, &wall);
	c->point_s = wall;
	c->stream_ns = probe(p, clock, MODE_BANDWIDTH, MESSAGE_MIN_BYTES, &wall);
	c->ns_per_byte = probe(p, clock, MODE_BANDWIDTH, (size_t)large, &wall) / large;
	/* Without an answer (a failing pipe), a slow machine's numbers. */
	if (isnan(c->latency_ns))
		c->latency_ns = 100e3;
	if (isnan(c->stream_ns))
		c->stream_ns = 10e3;
	if (isnan(c->ns_per_byte))
		c->ns_per_byte = 5;
}

/* A point: per round the fixed cost and the calibration (about two samples'
 * worth); then samples until the time limit, at least as many as the
 * stopping rule wants in every round. */
static double estimate_point_s(const struct channels_plan *p, const struct costs *c, size_t bytes,
			       enum mode m, double time_limit_s)
{
	double sample_ns;
	if (m == MODE_LATENCY) {
		sample_ns = 2 * (c->latency_ns + (double)bytes * c->ns_per_byte);
	} else {
		double n = fmax(2, ceil((double)p->window_bytes / (double)bytes));
		sample_ns = n * (c->stream_ns + (double)bytes * c->ns_per_byte);
	}
	sample_ns = fmax(p->sample_target_ns, sample_ns);
	double sample_s = sample_ns / 1e9;
	int least = sample_s * MIN_SAMPLES > time_limit_s / ROUNDS ? FEW_SAMPLES : MIN_SAMPLES;
	return ROUNDS * (c->point_s + 2 * sample_s) + fmax(time_limit_s, ROUNDS * least * sample_s);
}

static double estimate_s(const struct channels_plan *p, const struct costs *c, const uint64_t *sizes,
			 int nsizes, int npairs, double time_limit_s)
{
	double total = 0;
	for (int i = 0; i < nsizes; i++)
		for (int m = 0; m < MODE_COUNT; m++)
			total += estimate_point_s(p, c, sizes[i], m, time_limit_s);
	return total * p->nchannels * npairs;
}

/* Inside `cohmap run`: keep the range of sizes as long as possible, then the
 * same-CPU pair, then resolution; shorten the time per point to fit. */
static void channels_fit_budget(struct channels_plan *p, const struct clock_info *clock, double budget_s)
{
	static const uint64_t largest[] = { DEFAULT_LARGEST, DEFAULT_LARGEST / 4, DEFAULT_LARGEST / 16,
					    DEFAULT_LARGEST / 64, DEFAULT_LARGEST / 256 };
	static const int steps[] = { DEFAULT_STEP, 16, 64 };
	struct costs c;
	struct probed_budget b;
	probed_budget_start(&b, budget_s);
	probe_costs(p, clock, &c);
	double target = probed_budget_target_s(&b), planned = 0;
	uint64_t sizes[MAX_SIZES];
	int nsizes = 0, npairs = p->npairs;
	double limit = p->time_limit_s;
	bool fitted = false, has_self = p->npairs > 1 && p->pairs[p->npairs - 1].cls == PAIR_SELF;

	for (size_t l = 0; l < ARRAY_SIZE(largest) && !fitted; l++)
		for (int self = has_self; self >= 0 && !fitted; self--)
			for (size_t s = 0; s < ARRAY_SIZE(steps) && !fitted; s++) {
				nsizes = 0;
				for (uint64_t b = DEFAULT_SMALLEST; b < largest[l] && nsizes < MAX_SIZES - 1;
				     b *= (uint64_t)steps[s])
					sizes[nsizes++] = b;
				sizes[nsizes++] = largest[l];
				npairs = p->npairs - (has_self && !self);
				/* The time limit that spends what is left on sampling. */
				double fixed = estimate_s(p, &c, sizes, nsizes, npairs, 0);
				double points = (double)nsizes * MODE_COUNT * p->nchannels * npairs;
				limit = probed_time_limit(p->time_limit_s, 0.002, target, fixed, points);
				planned = estimate_s(p, &c, sizes, nsizes, npairs, limit);
				fitted = planned <= target;
			}
	memcpy(p->sizes, sizes, (size_t)nsizes * sizeof *sizes);
	p->nsizes = nsizes;
	p->npairs = npairs;
	p->time_limit_s = limit;
	p->deadline_ns = probed_budget_deadline_ns(&b);
	p->budget = json_pack("{s:f, s:f, s:b, s:{s:f, s:f, s:f, s:f}, s:s}", "budget_s", budget_s,
		"planned_s", planned, "fits", fitted, "probed",
		"point_overhead_s", c.point_s, "pipe_latency_ns", c.latency_ns,
		"pipe_stream_ns_per_message", c.stream_ns, "pipe_ns_per_byte", c.ns_per_byte,
		"note", "sizes, pairs and the time per point were reduced to fit `cohmap run`'s "
			"budget, planned from three probe points through the pipe; points still "
			"unmeasured at 1.2 x the budget are left out");
}

/* ---- measuring ------------------------------------------------------------- */

static int draw(struct run *r, const struct channels_plan *p, const char **plots)
{
	char legend[512] = "";
	for (int i = 0; i < p->nchannels; i++)
		points_legend_add(legend, sizeof legend, p->channels[i]->name);
	return points_draw(r, "channels", plot_channels_figures, legend, p->stat, plots);
}

int channels_measure(struct run *r, void *arg, double budget_s)
{
	struct channels_plan *p = arg;
	char err[ERRLEN], path[PATH_MAX], engines[ERRLEN], line[ERRLEN];
	struct csv_writer csv = { .fd = -1 };
	int exit_code = EXIT_RUNTIME;
	long npoints = 0, done = 0, failed = 0, wrong = 0;

	if (budget_s > 0 && !p->sizes_given && p->fixed_samples == 0)
		channels_fit_budget(p, &r->clock, budget_s);
	long planned = (long)p->nchannels * p->nsizes * p->npairs * MODE_COUNT;
	struct point *pts = calloc((size_t)planned, sizeof *pts);
	struct point_result *res = calloc((size_t)planned, sizeof *res);
	json_t *exp = channels_plan_description(p);
	json_object_set_new(json_object_get(r->meta, "experiments"), "channels", exp);
	points_note_busy(r, exp, "channels");
	if (p->budget)
		json_object_set(exp, "budget", p->budget);
	json_object_set_new(exp, "copy_engines", channels_find_copy_engines(engines, sizeof engines));
	if (pts == NULL || res == NULL) {
		fprintf(stderr, "cohmap: out of memory for %ld points\n", planned);
		goto out;
	}
	/* npoints counts the points built (all `planned` of them): every loop
	 * below visits only these. */
	for (int q = 0; q < p->npairs; q++)
		for (int c = 0; c < p->nchannels; c++)
			for (int s = 0; s < p->nsizes; s++)
				for (int m = 0; m < MODE_COUNT; m++)
					pts[npoints++] = (struct point){ p->channels[c], m, p->pairs[q],
									 p->sizes[s] };
	if (csv_writer_open(&csv, run_path(r, "channels.csv", path, sizeof path), channels_columns, channels_ncolumns,
			    false, err) != 0 || run_save_meta(r) != 0) {
		fprintf(stderr, "cohmap: %s\n", err);
		goto out;
	}
	if (!r->quiet)
		printf("\nchannels: %d channels x %d sizes x %d CPU pairs x latency and bandwidth; %s\n",
		       p->nchannels, p->nsizes, p->npairs, engines);

	struct progress bar;
	progress_start(&bar, r->progress, "channels", npoints * ROUNDS);
	json_t *capacities = json_object();
	json_object_set_new(exp, "capacity_bytes", capacities);
	long skipped = 0, visits = 0;
	bool stop = false;
	/* Round after round, every point in a new order; a point that failed
	 * (or found wrong data) is not visited again. */
	for (int round = 0; round < ROUNDS && !stop; round++) {
		struct channels_plan share = *p;
		share.time_limit_s = p->time_limit_s / ROUNDS;
		if (p->fixed_samples > 0) /* exactly N in all: spread over the rounds */
			share.fixed_samples = p->fixed_samples / ROUNDS + (round < p->fixed_samples % ROUNDS);
		long *order = malloc((size_t)(npoints ? npoints : 1) * sizeof *order);
		if (order == NULL) {
			fprintf(stderr, "cohmap: out of memory\n");
			goto out;
		}
		for (long i = 0; i < npoints; i++)
			order[i] = i;
		shuffle(order, (size_t)npoints, sizeof *order, p->seed + (unsigned long)round);
		for (long k = 0; k < npoints && !stop; k++) {
			long i = order[k];
			struct point_result *acc = &res[i], one;
			if (cohmap_interrupted) {
				stop = true;
				break;
			}
			if (p->deadline_ns && monotonic_ns() > p->deadline_ns) {
				skipped = npoints * ROUNDS - visits;
				run_warn(r, "channels: the time budget ran out in round %d of %d; the points "
					 "keep the rounds they had", round + 1, ROUNDS);
				stop = true;
				break;
			}
			if (acc->status != POINT_OK)
				continue;
			if (share.fixed_samples == 0 && p->fixed_samples > 0)
				continue;
			channels_run_point(&share, &pts[i], &r->clock, &one);
			progress_update(&bar, ++visits);
			if (one.status == POINT_INTERRUPTED) {
				stop = true;
				break;
			}
			if (one.capacity_bytes)
				json_object_set_new(capacities, pts[i].channel->name,
						    json_integer((json_int_t)one.capacity_bytes));
			if (one.status != POINT_OK) {
				acc->status = one.status;
				snprintf(acc->reason, sizeof acc->reason, "round %d: %s", round + 1, one.reason);
				failed++;
				wrong += one.status == POINT_WRONG_DATA;
				run_warn(r, "channels: %s %s %zu B on %d->%d %s: %s",
					 one.status == POINT_WRONG_DATA ? "WRONG DATA (a bug in cohmap) in"
									: "failed:",
					 pts[i].channel->name, pts[i].bytes, pts[i].pair.a, pts[i].pair.b,
					 channels_mode_names[pts[i].mode], acc->reason);
				continue;
			}
			double *grown = realloc(acc->samples, (size_t)(acc->nsamples + one.nsamples) *
							       sizeof *grown);
			if (grown == NULL) {
				free(one.samples);
				fprintf(stderr, "cohmap: out of memory\n");
				free(order);
				goto out;
			}
			memcpy(grown + acc->nsamples, one.samples, (size_t)one.nsamples * sizeof *grown);
			acc->samples = grown;
			acc->nsamples += one.nsamples;
			acc->batch = one.batch;
			acc->rounds++;
			free(one.samples);
		}
		free(order);
	}
	/* One row per point that any round measured: the pooled samples. */
	for (long i = 0; i < npoints; i++) {
		struct point_result *acc = &res[i];
		if (acc->status == POINT_OK && acc->nsamples == 0)
			continue; /* never reached: interrupted or out of budget */
		if (acc->status == POINT_OK)
			summarize(acc->samples, acc->nsamples, &acc->ns);
		if (channels_write_row(&csv, &pts[i], acc, err) != 0) {
			fprintf(stderr, "cohmap: %s\n", err);
			goto out;
		}
		done++;
	}
	progress_end(&bar);
	if (csv_writer_close(&csv, err) != 0) {
		fprintf(stderr, "cohmap: %s\n", err);
		goto out;
	}
	points_tally(exp, npoints, done, failed, skipped);
	if (points_interrupted(r, exp, done, npoints)) {
		exit_code = EXIT_INTERRUPTED;
		goto out;
	}
	json_object_set_new(exp, "status", json_string(wrong ? "failed" : "complete"));
	if (!r->quiet)
		channels_print_summary(p, pts, res, done);
	exit_code = wrong || failed == npoints ? EXIT_RUNTIME : EXIT_DONE;

	const char *plots[MODE_COUNT + 1] = { NULL };
	if (draw(r, p, plots) != 0 && exit_code == EXIT_DONE)
		exit_code = EXIT_PARTIAL;
	points_list_plots(r, plots);
	channels_headline(p, pts, res, done, line, sizeof line);
	const char *csvs[] = { "channels.csv", NULL };
	experiment_describe(r, "channels", csvs, plots, line);
out:
	if (csv.fd >= 0)
		csv_writer_close(&csv, err);
	for (long i = 0; res && i < npoints; i++)
		free(res[i].samples);
	free(pts);
	free(res);
	return exit_code;
}
