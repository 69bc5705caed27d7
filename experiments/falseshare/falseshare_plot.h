/* The false-sharing plots, drawn from DIR/falseshare.csv alone (so they can be
 * redrawn without measuring): slowdown against distance (experiments/falseshare/falseshare.gp)
 * and the pair heatmap at d = 8 B (experiments/falseshare/falseshare-pairs.gp). */
#ifndef COHMAP_FALSESHARE_PLOTS_H
#define COHMAP_FALSESHARE_PLOTS_H

#include <stdbool.h>

#include "topology/topology.h"

struct fs_plots {
	bool distance;  /* falseshare-distance.png (and .svg) */
	bool pairs;     /* falseshare-pairs.png (and .svg) */
};

/* Writes falseshare-distance.dat, falseshare-pairs.dat and .gpvars for the
 * rows present, and when draw is true runs gnuplot on them. Returns the
 * number of figures written, -1 with a message. */
int plot_falseshare(const char *dir, const struct topology *t, bool draw, struct fs_plots *drawn,
		    char *err);

#endif
