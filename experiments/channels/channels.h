/* The channels experiment's plan, points and results, shared by its files:
 * channels.c (options, plan, descriptor), channels_session.c (one point: the
 * two processes), channels_run.c (budget, rounds of points),
 * channels_report.c (CSV rows, summary, headline, meta.json). */
#ifndef COHMAP_EXPERIMENT_CHANNELS_H
#define COHMAP_EXPERIMENT_CHANNELS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/common.h"
#include "base/csv.h"
#include "base/stats.h"
#include "base/timing.h"
#include "harness/results.h"
#include "kernels/channels.h"
#include "topology/topology.h"

/* Every point is measured in ROUNDS rounds, each round visiting all points
 * in a new shuffled order, and its samples are pooled: the host moves this
 * machine's vCPUs every few seconds, and other programs come and go, so a
 * point measured at one moment only would compare channels across
 * different machines. Per round at least MIN_SAMPLES samples; a long one (a
 * large message) may stop at FEW_SAMPLES, so a point has at least
 * ROUNDS * FEW_SAMPLES, enough for a median. */
#define ROUNDS 3
#define MIN_SAMPLES 2
#define FEW_SAMPLES 1
#define MAX_SAMPLES 4096
#define MAX_SIZES 64
#define MAX_CHANNELS 16
#define MAX_BATCH (1ul << 24)
/* The messages of the default run: 64 B to 64 MiB, every fourth power of
 * two (`--sizes 64-64M` for every one). */
#define DEFAULT_SMALLEST 64
#define DEFAULT_LARGEST (64ul << 20)
#define DEFAULT_STEP 4
/* A slow machine moves a message well faster than this per GiB; used only
 * for the watchdog, which must not fire while a large message is on its way. */
#define WORST_SECONDS_PER_GIB 10.0

enum mode { MODE_LATENCY, MODE_BANDWIDTH, MODE_COUNT };
extern const char *const channels_mode_names[MODE_COUNT];

struct cpu_pair {
	int a, b;
	enum pair_class cls;
};

struct channels_plan {
	const struct channel *channels[MAX_CHANNELS];
	int nchannels;
	uint64_t sizes[MAX_SIZES];
	int nsizes;
	bool sizes_given;
	struct cpu_pair pairs[PAIR_CLASS_COUNT];
	int npairs;
	long fixed_samples;
	double precision, time_limit_s, sample_target_ns, watchdog_s;
	size_t window_bytes, page_bytes, line_bytes;
	unsigned long seed;
	const char *stat;
	json_t *budget;   /* how the plan was fitted into `cohmap run`'s budget */
	uint64_t deadline_ns; /* under a budget: no point starts after this (monotonic) */
};

struct point {
	const struct channel *channel;
	enum mode mode;
	struct cpu_pair pair;
	size_t bytes;
};

struct point_result {
	enum { POINT_OK, POINT_FAILED, POINT_WRONG_DATA, POINT_INTERRUPTED } status;
	char reason[ERRLEN];
	struct summary ns;             /* per message: one-way latency, or time per streamed message */
	unsigned long batch;
	size_t capacity_bytes;
	double *samples;               /* ns per message, of every round so far (malloc'd) */
	long nsamples;
	int rounds;                    /* rounds that measured it */
};

/* channels_session.c: measures one point (samples of one round) in two
 * fresh processes; out->samples is malloc'd. */
void channels_run_point(const struct channels_plan *p, const struct point *pt,
			const struct clock_info *clock, struct point_result *out);

/* channels_run.c: the experiment's measure(). */
int channels_measure(struct run *r, void *arg, double budget_s);

/* channels_report.c */
extern const char *const channels_columns[];
extern const int channels_ncolumns;
int channels_write_row(struct csv_writer *w, const struct point *pt, const struct point_result *r,
		       char *err);
void channels_print_summary(const struct channels_plan *p, const struct point *pts,
			    const struct point_result *res, long n);
void channels_headline(const struct channels_plan *p, const struct point *pts,
		       const struct point_result *res, long n, char *out, size_t size);
json_t *channels_plan_description(const struct channels_plan *p);
/* Where Linux shows DMA copy engines: what was checked and found, and a
 * one-line summary. */
json_t *channels_find_copy_engines(char *summary, size_t size);

#endif
