/* latency.csv read back for summaries: the report's table by pair class and
 * `cohmap compare`. One value per kernel and ordered pair (the statistic
 * asked for: median_ns or min_ns); when a pair appears more than once (a
 * resumed run appends), the later row wins, as in the heatmaps. */
#ifndef COHMAP_LATENCY_TABLE_H
#define COHMAP_LATENCY_TABLE_H

#include <stdbool.h>

#include "topology/topology.h"

struct latency_pair {
	int kernel;          /* index into latency_table.kernels */
	int cpu_a, cpu_b;    /* initiator, responder */
	int pair_class;      /* enum pair_class */
	bool ok;             /* status "ok"; value is NaN otherwise */
	double value;        /* ns */
};

struct latency_table {
	int nkernels;
	char **kernels;      /* in order of first appearance */
	int npairs;
	struct latency_pair *pairs; /* sorted by kernel, cpu_a, cpu_b; each once */
	/* Only from latency_table_read_plot: the counter columns shown beside
	 * latency (*_per_handoff), and counts[pair * ncounters + j]. */
	int ncounters;
	char **counters;
	double *counts;
};

/* Reads dir/latency.csv, taking the column `column` ("median_ns", "min_ns").
 * With t, each pair's class comes from t (its CPUs must be in t); without,
 * from the pair_class column. Returns 0, or -1 with "FILE:LINE: what" in err. */
int latency_table_read(const char *dir, const char *column, const struct topology *t,
		       struct latency_table *lt, char *err);
/* latency_table_read for the heatmaps, whose kernel names become file names:
 * t is required, every kernel name must be one plot_safe_name accepts, each
 * CPU is checked on its own, a CPU may pair with itself and a value need only
 * be a number (all with the heatmaps' messages). The counter columns are kept.
 * A pair seen twice keeps the later ok row: a failed row, or a counter cell
 * that is not a number, leaves the earlier values. */
int latency_table_read_plot(const char *dir, const char *column, const struct topology *t,
			    struct latency_table *lt, char *err);
void latency_table_free(struct latency_table *lt);

/* The pair of kernel k and (a, b), or NULL. */
const struct latency_pair *latency_table_find(const struct latency_table *lt, int k, int a, int b);

/* CPUs that appear in kernel k's pairs (any status), ascending, in a new
 * array *cpus for the caller to free. Returns the count, -1 when out of memory. */
int latency_table_cpus(const struct latency_table *lt, int k, int **cpus);

/* Over the ok pairs of kernel k in class cls: count, min, median, max (NaN
 * when there is none). Returns the count. */
int latency_table_class(const struct latency_table *lt, int k, int cls, double *min,
			double *median, double *max);

#endif
