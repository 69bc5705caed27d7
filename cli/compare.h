/* `cohmap compare A B`: two runs' latency matrices against each other (two
 * machines, or one machine before and after a BIOS, kernel or setting
 * change). Per kernel and ordered pair B/A and B-A of the chosen statistic,
 * drawn as heatmaps in A's topology order, and a table by pair class. */
#ifndef COHMAP_COMPARE_H
#define COHMAP_COMPARE_H

#include <stdbool.h>

struct compare_request {
	const char *cmd;       /* for error messages: "cohmap CMD: ..." */
	const char *dir_a, *dir_b;
	const char *output;    /* NULL: results/compare-<A>-vs-<B> */
	const char *stat;      /* "median" or "min" */
	bool quiet;
};

/* Checks both runs completely before writing anything (one line on stderr
 * and EXIT_USAGE when they cannot be compared), then writes the output
 * directory: compare.csv, compare-classes.csv, compare-<kernel>-{ratio,diff}
 * .png (with their .dat and .gpvars), compare.json and index.html. Returns
 * an exit code (EXIT_PARTIAL when the numbers are written but not the plots). */
int compare_runs(const struct compare_request *q);

/* Rewrites DIR/index.html of a comparison from DIR/compare.json. */
int compare_report_rewrite(const char *dir, char *err);

#endif
