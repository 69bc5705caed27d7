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

/* One line of a pair (--lines; experiments/latency/line_plan.h). A file
 * from before --lines has one per pair: line 0, address class -1 (not
 * recorded). */
struct latency_line {
	int pair;            /* index into latency_table.pairs */
	int line;
	int address_class;   /* -1: not recorded */
	int home_node;       /* observed; -1: unknown */
	bool ok;
	double value;        /* ns; NaN unless ok */
	double ci95_low, ci95_high; /* of the median; NaN when not recorded */
};

struct latency_table {
	int nkernels;
	char **kernels;      /* in order of first appearance */
	int npairs;
	/* sorted by kernel, cpu_a, cpu_b; each once. With several lines, a
	 * pair's value is the median over its ok lines, and it is ok when one is. */
	struct latency_pair *pairs;
	int nlines;
	struct latency_line *lines; /* sorted by pair, then line; each once */
	int max_lines;       /* most lines any pair has: 1 before --lines */
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

/* The spread by address of kernel k's pairs of class cls (--lines). */
struct line_spread {
	int pairs;           /* ok pairs with at least two ok lines */
	int lines;           /* distinct line indices among them */
	/* Per line index, the median over the pairs; then min / median / max of
	 * these across the line indices. */
	double line_min, line_median, line_max;
	double widest;       /* the largest (max - min across its lines) of one pair */
	/* Pairs whose cost depends on the address by more than the CI: the 95%
	 * CIs of the medians of two of its lines do not overlap. */
	int flagged;
};
/* Lines of one pair latency_pair_on_home looks at, at most (--lines allows 64). */
#define LATENCY_TABLE_LINES_MAX 256
/* Returns spread->pairs; -1 when out of memory. */
int latency_line_spread(const struct latency_table *lt, int k, int cls, struct line_spread *spread);
/* Whether pair i (index into lt->pairs) depends on the address by more than
 * the CI; *lo_line and *hi_line get its cheapest and dearest line (may be NULL). */
bool latency_pair_address_dependent(const struct latency_table *lt, int i,
				    const struct latency_line **lo_line,
				    const struct latency_line **hi_line);

/* The home nodes lt's ok lines were observed on, ascending, each once, into
 * nodes (room for lt->nlines). Returns how many. */
int latency_line_homes(const struct latency_table *lt, int *nodes);
/* Kernel k's pair (a, b) on the lines homed on node: the median of their
 * values, NaN when none of them is ok. */
double latency_pair_on_home(const struct latency_table *lt, int k, int a, int b, int node);

#endif
