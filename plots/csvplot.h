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

#endif
