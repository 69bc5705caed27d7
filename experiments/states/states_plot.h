/* The pictures of the line-state experiment, drawn from states.csv alone (so
 * `cohmap plot DIR` redraws them): a grouped bar chart, states.png (state x
 * operation, one panel per pair class, by experiments/states/states.gp), and, when the CSV
 * holds every ordered pair of its CPUs (--all-pairs), one heatmap per kernel,
 * states-<kernel>.png (by plots/heatmap.gp). */
#ifndef COHMAP_STATES_PLOT_H
#define COHMAP_STATES_PLOT_H

#include "topology/topology.h"

struct states_plot_files {
	int n;
	char **names;   /* n file names inside DIR, then NULL */
};

/* Writes the data and variables files next to the images (states-bars.dat,
 * .gpvars; states-<kernel>.dat, .gpvars) and draws them. stat is "median" or
 * "min" (the column <stat>_ns). Returns the number of images, -1 with a
 * message; files lists them (free with states_plot_files_free) on success. */
int plot_states(const char *dir, const struct topology *t, const char *stat,
		struct states_plot_files *files, char *err);
void states_plot_files_free(struct states_plot_files *files);

#endif
