/* What an experiment that measures a list of points one by one (channels,
 * attach) records around them: the note on a busy machine, the tally and the
 * interruption in meta.json, its figures drawn and listed, and the CSV cells
 * that may hold no number or free text. */
#ifndef COHMAP_POINT_REPORT_H
#define COHMAP_POINT_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "harness/results.h"

/* Records the other tasks running now in exp and warns ("NAME: the machine
 * is busy ...") when they are at least half the online CPUs. */
void points_note_busy(struct run *r, json_t *exp, const char *name);
/* points_planned, points_measured, points_failed, points_left_out_by_budget */
void points_tally(json_t *exp, long planned, long measured, long failed, long left_out);
/* After Ctrl-C: status "interrupted", the message on stderr; returns true.
 * Otherwise false. */
bool points_interrupted(const struct run *r, json_t *exp, long done, long planned);

/* Draws an experiment's figures: figures(dir, legend, stat, plots, err). */
typedef int (*points_figures)(const char *dir, const char *legend, const char *stat,
			      const char **images, char *err);
/* Returns 0, or -1 after a warning ("NAME: ...") when gnuplot is missing or a
 * figure failed. legend: the names in order, space-separated. */
int points_draw(struct run *r, const char *name, points_figures figures, const char *legend,
		const char *stat, const char **plots);
/* Appends name to a space-separated list. */
void points_legend_add(char *legend, size_t size, const char *name);
/* Prints the figures drawn, one per line, unless the run is quiet. */
void points_list_plots(const struct run *r, const char *const *plots);

/* A cell of ERRLEN bytes: v in fmt, or NA when it is not a number. */
void points_cell_number(char *cell, double v, const char *fmt);
/* A cell of ERRLEN bytes holding prose, kept one cell (, " and newlines
 * become ;). */
void points_cell_prose(char *cell, const char *text);

#endif
