/* The latency experiment's figures: one heatmap per kernel of latency.csv
 * (latency-<kernel>.png and .svg), and one per counter column beside it. */
#ifndef COHMAP_LATENCY_PLOT_H
#define COHMAP_LATENCY_PLOT_H

#include "topology/topology.h"

/* One heatmap per kernel found in DIR/latency.csv: DIR/latency-<kernel>.png and
 * .svg, axes in topology order. stat is "median" or "min" (the column
 * <stat>_ns). Returns the number of kernels, -1 with a message. */
int plot_latency_heatmaps(const char *dir, const struct topology *t, const char *stat,
			  char *err);

/* The data and variables files of plot_latency_heatmaps without running
 * gnuplot: DIR/latency-<kernel>.dat and .gpvars, each written to a .tmp name
 * and renamed. Returns the number of kernels, -1 with a message. */
int plot_latency_data(const char *dir, const struct topology *t, const char *stat, char *err);

#endif
