/* The bandwidth plots, drawn from DIR/bandwidth.csv alone (so `cohmap plot
 * DIR` redraws them without measuring): per consumer kernel, bandwidth
 * against buffer size with one line per pair class (experiments/bandwidth/bandwidth.gp, read
 * straight from the CSV) and the CPU-pair matrix at one size (plots/heatmap.gp). */
#ifndef COHMAP_BANDWIDTH_PLOTS_H
#define COHMAP_BANDWIDTH_PLOTS_H

#include "topology/topology.h"

#define BANDWIDTH_PLOT_NAME 96

/* stat: "median" (median_gbps) or "min" (the fastest sample: max_gbps).
 * Writes the file names of the PNGs drawn into images (at most max).
 * Returns how many, or -1 with a message. */
int plot_bandwidth(const char *dir, const struct topology *t, const char *stat,
		   char (*images)[BANDWIDTH_PLOT_NAME], int max, char *err);

#endif
