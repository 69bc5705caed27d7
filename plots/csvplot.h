/* Figures drawn by a gnuplot script straight from a tidy CSV of a results
 * directory: the script gets data='DIR/x.csv' and out='DIR/y.png', plus any
 * assignments the caller adds (which statistic, which series), so the same
 * command line redraws or restyles the figure without cohmap. */
#ifndef COHMAP_CSVPLOT_H
#define COHMAP_CSVPLOT_H

/* Runs plots/<script> on DIR/<csv> into DIR/<image> (.png: pngcairo), through
 * a temporary name so a failed drawing never leaves half an image. extra is a
 * NULL-terminated list of gnuplot assignments ("stat='median'"), may be NULL.
 * Returns 0, or -1 with a message. */
int plot_csv_figure(const char *script, const char *dir, const char *csv, const char *image,
		    const char *const *extra, char *err);

/* The figures of one CSV, one image per entry of images, each drawn with its
 * own assignment (own[i]) after stat='STAT' and, when list is not NULL,
 * LIST_NAME='LIST'. A CSV without an ok row draws nothing (a run whose
 * budget ran out before the first point). Fills drawn with the images made,
 * NULL-terminated; returns how many, or -1 with a message. */
int plot_csv_figures(const char *script, const char *dir, const char *csv, const char *list_name,
		      const char *list, const char *stat, const char *const *images,
		      const char *const *own, int count, const char **drawn, char *err);

#endif
