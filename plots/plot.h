/* The gnuplot engine: turning results into pictures with gnuplot. The scripts
 * work on their own; this code writes their input files (atomically) and runs
 * them, and writes the CPU-by-CPU heatmap several experiments and `cohmap
 * compare` share. What each experiment draws is in experiments/<name>/. */
#ifndef COHMAP_PLOT_H
#define COHMAP_PLOT_H

#include <stdio.h>

#include "topology/topology.h"

/* Path of a gnuplot script shipped with cohmap ("heatmap.gp"), found next to
 * the source tree the binary was built in, or under the install prefix.
 * Returns 0 and fills path, -1 with a message. */
int plot_script_path(const char *script, char *path, size_t size, char *err);

/* True when a gnuplot with the pngcairo terminal can be run. */
bool plot_gnuplot_available(char *why, size_t size);

/* Runs gnuplot (no shell) on script, after the commands in assignments (a
 * NULL-terminated list such as "data='x.dat'", each passed with -e); script
 * may be NULL. stdin and stdout are /dev/null, stderr is captured. Returns 0,
 * or -1 with gnuplot's error line in err. Every plot of cohmap goes through here. */
int plot_run_gnuplot(const char *script, const char *const *assignments, char *err);

/* Writes s as a gnuplot single-quoted string ('it''s', no other escapes) into
 * out. Returns -1 when it does not fit or s holds a newline, which no gnuplot
 * string literal can. */
int plot_gnuplot_quote(char *out, size_t size, const char *s);

/* Data and variable files are written atomically: plot_file_begin opens
 * PATH.tmp (tmp gets its name), plot_file_finish closes it and renames it over
 * PATH only when every write worked, so a reader never sees half a file.
 * NULL / -1 with a message. */
FILE *plot_file_begin(const char *path, char *tmp, size_t size, char *err);
int plot_file_finish(FILE *f, const char *tmp, const char *path, char *err);
/* Writes s as a gnuplot double-quoted string: \ and " escaped, control
 * characters dropped. */
void plot_put_string(FILE *f, const char *s);
/* Runs the script (a path from plot_script_path) with data=DAT, vars=VARS
 * (when not NULL), the NULL-terminated extra assignments (may be NULL) and
 * out=IMAGE, through a temporary image name with the same extension (the
 * scripts pick their terminal from it), so a failed plot leaves no half
 * image. 0, or -1 with a message. */
int plot_render(const char *script, const char *dat, const char *vars, const char *const *extra,
		const char *image, char *err);
/* Up to this many CPUs a heatmap labels every CPU and prints every cell's
 * value; past it, the axes name sockets (or dies, L3 groups) and the cells
 * are colour only. The scripts use the same number. */
#define PLOT_CPU_LABELS_MAX 32

/* The heatmap axes every CPU-by-CPU figure shares: tick labels (CPU ids in
 * topology order) on axis ("xtics", "ytics"), and border lines between the
 * cells of different sockets and L3 groups (topology_borders' output, n CPUs). */
void plot_put_tics(FILE *f, const char *axis, const int *cpus, int n);
void plot_put_borders(FILE *f, const int *sockets, int ns, const int *l3, int nl, int n);
/* Both axes' tick labels: one per CPU (x rotated past 16) up to
 * PLOT_CPU_LABELS_MAX CPUs, the sockets (or dies, L3 groups) past it. */
void plot_put_cpu_tics(FILE *f, const struct topology *t, const int *cpus, int n);
/* plot_render of plots/<script_name>, found with plot_script_path. */
int plot_draw(const char *script_name, const char *dat, const char *vars, const char *image,
	      char *err);

/* Any CPU x CPU matrix, drawn by plots/heatmap.gp like the latency heatmaps
 * (axes in topology order, socket and L3 borders). */
struct plot_matrix {
	const char *title, *xlabel, *ylabel;
	const char *cblabel;      /* what a value is: statistic and unit */
	const char *cell_format;  /* printf format of the value printed in each cell
				     ("%.1f"); NULL: the script's whole numbers */
	int n;
	const int *cpus;          /* the n CPUs in topology order */
	const double *value;      /* value[row * n + column]; NaN: no value */
	/* Optional; NULL for the defaults. */
	const char *dat_comment;  /* the .dat's first lines ("# ...\n"), before the
				     index:cpu line; default "# cohmap matrix NAME: ..." */
	const char *vars_comment; /* the .gpvars' first line ("# ...\n") */
	const char *cblabel_note; /* a gnuplot comment after the cblabel ("# ...") */
};
/* Writes DIR/<name>.dat and .gpvars (each through a .tmp name) and, when
 * draw, DIR/<name>.png and .svg. name: letters, digits, '_', '-', '.'.
 * Returns 0, or -1 with a message. */
int plot_matrix_heatmap(const char *dir, const char *name, const struct topology *t,
			const struct plot_matrix *m, bool draw, char *err);
/* The same for any STEM: STEM.dat and STEM.gpvars and, when script (a path
 * from plot_script_path) is not NULL, STEM.png and .svg drawn with it. */
int plot_heatmap_files(const char *stem, const struct topology *t, const struct plot_matrix *m,
		       const char *script, char *err);
/* Names a plot file may take: letters, digits, '_', '-', '.', at most 64,
 * not starting with a dot. */
bool plot_safe_name(const char *s);

/* Pieces of a heatmap's files, for a script other than heatmap.gp: the
 * "# index:cpu" line and the matrix as "x y value" lines, a blank line after
 * each row (NaN: no value); and the axes: CPU tick labels on both (rotated
 * past 16 CPUs), with blocks the socket (or L3) names along the top, and the
 * borders; past PLOT_CPU_LABELS_MAX CPUs the tick labels name the sockets
 * (or dies, L3 groups) instead of the CPUs. plot_put_axes returns -1 when out of memory. */
void plot_put_matrix(FILE *f, const int *cpus, int n, const double *value);
int plot_put_axes(FILE *f, const struct topology *t, const int *cpus, int n, bool blocks);

#endif
