/* What the false-sharing sweep shares between its two halves: the points
 * it measures and their outcomes (falseshare_sweep.c measures them,
 * falseshare_report.c writes their CSV rows, tables, meta.json and summary).
 * Private to experiments/falseshare/. */
#ifndef COHMAP_FALSESHARE_SWEEP_H
#define COHMAP_FALSESHARE_SWEEP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/csv.h"
#include "experiments/falseshare/falseshare.h"

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


static inline const char *point_kind_name(const struct point *pt)
{
	return pt->kind ? pt->kind->name : fs_workload_worker_stats.name;
}

static inline const char *point_placement(const struct point *pt)
{
	return pt->group >= 0 ? fs_placement_name(pt->group) : "pair";
}

/* The CPUs, "0,1" or "0 1" with sep. */
void fs_cpu_list(const int *cpus, int n, const char *sep, char *buf, size_t size);
/* The farthest class among the threads' CPUs: for two threads, their pair's. */
enum pair_class fs_farthest_class(const struct topology *t, const int *cpus, int n);
/* Median of the finite values among v[0], v[stride], ...; NAN if none
 * (then *lo and *hi too, when lo is given). scratch holds n values. */
double fs_finite_median(const double *v, int n, int stride, double *scratch, double *lo,
			double *hi);

/* ---- falseshare_report.c ---- */

/* Creates falseshare.csv in the run's directory, with its header. */
int fs_sweep_csv_open(struct sweep *sw, char *err);
/* One row per thread of a finished point. */
int fs_sweep_write_rows(struct sweep *sw, const struct point *pt, const struct point_outcome *o,
			char *err);
/* meta.json's experiments.falseshare, and its "counters" member. */
json_t *fs_sweep_plan_description(const struct sweep *sw);
json_t *fs_sweep_counters_description(const struct falseshare_plan *p);
/* The placements and the heatmap, before measuring. */
void fs_sweep_print_plan(const struct sweep *sw);
/* After a complete sweep: the tables, the fix demo, the worst point, the
 * plots and the summary line, into experiment. Returns exit_code, made
 * EXIT_PARTIAL when a plot could not be drawn. */
int fs_sweep_report(struct sweep *sw, json_t *experiment, int exit_code);

#endif
