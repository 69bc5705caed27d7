/* From falseshare.csv to the two false-sharing figures. cohmap does what
 * needs the topology and the kinds (which series, CPU order, domain borders)
 * and writes plain files; the gnuplot scripts in plots/ do all the drawing. */
#include "experiments/falseshare/falseshare_plot.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/common.h"
#include "base/csv.h"
#include "base/stats.h"
#include "kernels/falseshare.h"
#include "plots/plot.h"

static const char *const placement_order[] = { "smt", "l3", "spread-l3", "cross-socket", "pair" };


static int render_both(const char *script, const char *stem, const char *dat, const char *vars,
		       char *err)
{
	static const char *const formats[] = { "png", "svg" };
	char image[PATH_MAX];
	for (size_t i = 0; i < ARRAY_SIZE(formats); i++) {
		snprintf(image, sizeof image, "%s.%s", stem, formats[i]);
		if (plot_draw(script, dat, vars, image, err) < 0)
			return -1;
	}
	return 0;
}

static int placement_rank(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(placement_order); i++)
		if (strcmp(placement_order[i], name) == 0)
			return (int)i;
	return (int)ARRAY_SIZE(placement_order);
}

/* Colour index of a kind and role, stable across runs: in registry order,
 * one colour per role a kind has. */
static int colour_of(const char *kind, const char *role)
{
	int c = 0;
	for (int i = 0; i < fs_kind_count; i++) {
		const struct fs_kind *k = fs_kind_registry[i];
		if (strcmp(k->name, kind) == 0)
			return c + (k->one_writer && strcmp(role, fs_role_name(FS_READER)) == 0);
		c += k->one_writer ? 2 : 1;
	}
	return c;
}

static bool parse_size(const char *s, size_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = s ? strtoull(s, &end, 10) : 0;
	if (s == NULL || *s == '\0' || *s == '-' || *end || errno)
		return false;
	*out = (size_t)v;
	return true;
}

/* ---- slowdown against distance ---- */

struct series {
	const char *placement, *kind, *role;
	int rank, colour;
};

static int compare_series(const void *a, const void *b)
{
	const struct series *x = a, *y = b;
	if (x->rank != y->rank)
		return x->rank - y->rank;
	if (x->colour != y->colour)
		return x->colour - y->colour;
	return strcmp(x->placement, y->placement);
}

static int compare_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

static bool is_distance_row(const struct csv *c, int r)
{
	return strcmp(csv_cell(c, r, "sweep"), "distance") == 0 &&
	       strcmp(csv_cell(c, r, "status"), "ok") == 0;
}

/* Returns 1 when written, 0 when the CSV has no distance rows, -1 on error. */
static int write_distance(const struct csv *c, const struct topology *t, const char *path,
			  const char *vars_path, char *err)
{
	struct series *series = calloc((size_t)c->nrows + 1, sizeof *series);
	size_t *distances = calloc((size_t)c->nrows + 1, sizeof *distances);
	double *values = calloc((size_t)c->nrows + 1, sizeof *values);
	double *events = calloc((size_t)c->nrows + 1, sizeof *events);
	int nseries = 0, ndist = 0, ret = -1, styles[ARRAY_SIZE(placement_order) + 1];
	size_t line_size = 0;
	char tmp[PATH_MAX];
	FILE *f = NULL;

	if (!series || !distances || !values || !events) {
		set_error(err, "%s: out of memory", path);
		goto out;
	}
	for (int r = 0; r < c->nrows; r++) {
		size_t d;
		if (!is_distance_row(c, r))
			continue;
		if (!parse_size(csv_cell(c, r, "distance_bytes"), &d) ||
		    !parse_size(csv_cell(c, r, "line_size_bytes"), &line_size) || line_size == 0) {
			set_error(err, "falseshare.csv:%d: distance_bytes or line_size_bytes is not a "
				  "size", r + 2);
			goto out;
		}
		const char *pl = csv_cell(c, r, "placement"), *k = csv_cell(c, r, "kind"),
			   *role = csv_cell(c, r, "role");
		int s = 0;
		while (s < nseries && (strcmp(series[s].placement, pl) || strcmp(series[s].kind, k) ||
				       strcmp(series[s].role, role)))
			s++;
		if (s == nseries)
			series[nseries++] = (struct series){ pl, k, role, placement_rank(pl),
							     colour_of(k, role) };
		int j = 0;
		while (j < ndist && distances[j] != d)
			j++;
		if (j == ndist)
			distances[ndist++] = d;
	}
	if (nseries == 0) {
		ret = 0;
		goto out;
	}
	qsort(series, (size_t)nseries, sizeof *series, compare_series);
	qsort(distances, (size_t)ndist, sizeof *distances, compare_size);
	/* The first placement present is drawn solid, the next dashed, ... */
	int nstyles = 0;
	for (size_t i = 0; i <= ARRAY_SIZE(placement_order); i++)
		styles[i] = -1;
	for (int s = 0; s < nseries; s++)
		if (styles[series[s].rank] < 0)
			styles[series[s].rank] = nstyles++;
	double x_shared = ndist > 1 && distances[0] == 0 ? log2((double)distances[1]) - 1.5 : 0;

	if ((f = plot_file_begin(path, tmp, sizeof tmp, err)) == NULL)
		goto out;
	fputs("# cohmap falseshare: slowdown against the distance between neighbouring counters,\n"
	      "# from falseshare.csv (rows sweep=distance, status=ok); one block per series.\n"
	      "# slowdown: median over the series' threads of each thread's slowdown; min/max:\n"
	      "# their range; events_per_op: median coherence events per update (NaN: not counted)\n",
	      f);
	for (int s = 0; s < nseries; s++) {
		char title[256];
		bool one_role = strcmp(series[s].role, fs_role_name(FS_UPDATER)) == 0;
		snprintf(title, sizeof title, "%s: %s%s%s", series[s].placement, series[s].kind,
			 one_role ? "" : ", ", one_role ? "" : series[s].role);
		if (s > 0)
			fputs("\n\n", f);
		plot_put_string(f, title);
		fputs(" x distance_bytes slowdown slowdown_min slowdown_max events_per_op colour "
		      "placement line_size_bytes label\n", f);
		for (int j = 0; j < ndist; j++) {
			int m = 0, e = 0;
			for (int r = 0; r < c->nrows; r++) {
				size_t d;
				double v;
				if (!is_distance_row(c, r) ||
				    strcmp(csv_cell(c, r, "placement"), series[s].placement) ||
				    strcmp(csv_cell(c, r, "kind"), series[s].kind) ||
				    strcmp(csv_cell(c, r, "role"), series[s].role) ||
				    !parse_size(csv_cell(c, r, "distance_bytes"), &d) || d != distances[j])
					continue;
				if (csv_number(c, r, "slowdown", &v) && isfinite(v))
					values[m++] = v;
				if (csv_number(c, r, "false_shared_events_per_op", &v) && isfinite(v))
					events[e++] = v;
			}
			if (m == 0)
				continue;
			struct summary sv, se = { .median = NAN };
			summarize(values, m, &sv);
			if (e > 0)
				summarize(events, e, &se);
			double x = distances[j] == 0 ? x_shared : log2((double)distances[j]);
			char label[48];
			if (distances[j] == 0)
				snprintf(label, sizeof label, "0 (one word)");
			else
				snprintf(label, sizeof label, "%zu", distances[j]);
			fprintf(f, "%.4f %zu %.6g %.6g %.6g ", x, distances[j], sv.median, sv.min, sv.max);
			if (isfinite(se.median))
				fprintf(f, "%.4g", se.median);
			else
				fputs("NaN", f);
			fprintf(f, " %d %d %zu \"%s\"\n", series[s].colour, styles[series[s].rank],
				line_size, label);
		}
	}
	if (plot_file_finish(f, tmp, path, err) != 0)
		goto out;

	if ((f = plot_file_begin(vars_path, tmp, sizeof tmp, err)) == NULL)
		goto out;
	fputs("# written by cohmap from falseshare.csv for experiments/falseshare/falseshare.gp\n", f);
	fprintf(f, "if (!exists(\"line_size\")) { line_size = %zu }\n", line_size);
	if (t->cpu_model[0]) {
		fputs("machine = ", f);
		plot_put_string(f, t->cpu_model);
		fputc('\n', f);
	}
	ret = plot_file_finish(f, tmp, vars_path, err) == 0 ? 1 : -1;
out:
	free(series);
	free(distances);
	free(values);
	free(events);
	return ret;
}

/* ---- the pair heatmap ---- */

/* The CPU of the other thread of a pair row ("cpus" holds both). */
static bool partner_of(const char *cpus, int cpu, int *partner)
{
	int a, b;
	if (cpus == NULL || sscanf(cpus, "%d %d", &a, &b) != 2)
		return false;
	if (a == cpu)
		*partner = b;
	else if (b == cpu)
		*partner = a;
	else
		return false;
	return true;
}

/* Tick labels, block names on the top axis and border lines, as the latency
 * heatmaps have them (plots/plot.c), for the arrow styles the script defines. */
static void put_axes(FILE *f, const struct topology *t, const int *cpus, int n)
{
	int *sockets = malloc((size_t)n * sizeof *sockets), *l3 = malloc((size_t)n * sizeof *l3);
	plot_put_cpu_tics(f, t, cpus, n);
	if (sockets == NULL || l3 == NULL)
		goto out;
	int ns = topology_borders(t, cpus, n, true, sockets, n);
	int nl = topology_borders(t, cpus, n, false, l3, n);
	/* Name the blocks on the top axis when each is at least 3 cells wide. */
	const int *b = ns > 0 ? sockets : l3;
	int nb = ns > 0 ? ns : nl, start = 0;
	bool wide = nb > 0;
	for (int i = 0; i <= nb && wide; i++) {
		int end = i < nb ? b[i] : n;
		wide = end - start >= 3;
		start = end;
	}
	if (wide) {
		fputs("set x2tics scale 0 (", f);
		start = 0;
		for (int i = 0; i <= nb; i++) {
			int end = i < nb ? b[i] : n;
			const struct cpu_place *p = topology_find(t, cpus[start]);
			fprintf(f, "%s\"%s %d\" %.1f", i ? ", " : "", ns > 0 ? "socket" : "L3",
				ns > 0 ? p->socket : p->l3_group, (start + end - 1) / 2.0);
			start = end;
		}
		fputs(")\n", f);
	}
	plot_put_borders(f, sockets, ns, l3, nl, n);
out:
	free(sockets);
	free(l3);
}

/* Returns 1 when written, 0 when the CSV has no pair rows, -1 on error. */
static int write_pairs(const struct csv *c, const struct topology *t, const char *path,
		       const char *vars_path, char *err)
{
	int max_cpu = -1, n = 0, ret = -1;
	int *cpus = NULL, *pos = NULL;
	double *value = NULL, lo = INFINITY, hi = -INFINITY;
	const char *kind = "", *distance = "";
	char tmp[PATH_MAX];
	FILE *f = NULL;

	for (int i = 0; i < t->ncpus; i++)
		max_cpu = t->cpus[i].cpu > max_cpu ? t->cpus[i].cpu : max_cpu;
	cpus = malloc((size_t)(max_cpu + 2) * sizeof *cpus);
	pos = malloc((size_t)(max_cpu + 2) * sizeof *pos);
	if (cpus == NULL || pos == NULL) {
		set_error(err, "%s: out of memory", path);
		goto out;
	}
	for (int i = 0; i <= max_cpu; i++)
		pos[i] = -1;
	/* Every row is checked before anything is written. */
	for (int r = 0; r < c->nrows; r++) {
		int cpu, partner;
		if (strcmp(csv_cell(c, r, "sweep"), "pairs") != 0)
			continue;
		const char *cell = csv_cell(c, r, "cpu");
		if (cell == NULL || sscanf(cell, "%d", &cpu) != 1 ||
		    !partner_of(csv_cell(c, r, "cpus"), cpu, &partner) ||
		    !topology_find(t, cpu) || !topology_find(t, partner)) {
			set_error(err, "falseshare.csv:%d: the pair's CPUs are not in the topology (%s)",
				  r + 2, t->source);
			goto out;
		}
		kind = csv_cell(c, r, "kind");
		distance = csv_cell(c, r, "distance_bytes");
		for (int k = 0; k < 2; k++) {
			int id = k ? partner : cpu;
			if (pos[id] < 0) {
				pos[id] = n;
				cpus[n++] = id;
			}
		}
	}
	if (n == 0) {
		ret = 0;
		goto out;
	}
	topology_sort(t, cpus, n);
	for (int i = 0; i < n; i++)
		pos[cpus[i]] = i;
	value = malloc((size_t)n * (size_t)n * sizeof *value);
	if (value == NULL) {
		set_error(err, "%s: out of memory", path);
		goto out;
	}
	for (int i = 0; i < n * n; i++)
		value[i] = NAN;
	for (int r = 0; r < c->nrows; r++) {
		int cpu, partner;
		double v;
		if (strcmp(csv_cell(c, r, "sweep"), "pairs") != 0 ||
		    strcmp(csv_cell(c, r, "status"), "ok") != 0 ||
		    !csv_number(c, r, "slowdown", &v) || !isfinite(v) ||
		    sscanf(csv_cell(c, r, "cpu"), "%d", &cpu) != 1 ||
		    !partner_of(csv_cell(c, r, "cpus"), cpu, &partner))
			continue;
		value[pos[cpu] * n + pos[partner]] = v;
		lo = fmin(lo, v);
		hi = fmax(hi, v);
	}

	if ((f = plot_file_begin(path, tmp, sizeof tmp, err)) == NULL)
		goto out;
	fputs("# cohmap falseshare pair heatmap: slowdown of the thread on CPU y with its\n"
	      "# neighbouring counter's thread on CPU x (indices in topology order); NaN: none\n"
	      "# index:cpu", f);
	for (int i = 0; i < n; i++)
		fprintf(f, " %d:%d", i, cpus[i]);
	fputc('\n', f);
	for (int y = 0; y < n; y++) {
		for (int x = 0; x < n; x++) {
			double v = value[y * n + x];
			if (isfinite(v))
				fprintf(f, "%d %d %.4g\n", x, y, v);
			else
				fprintf(f, "%d %d NaN\n", x, y);
		}
		fputc('\n', f);
	}
	if (plot_file_finish(f, tmp, path, err) != 0)
		goto out;

	if ((f = plot_file_begin(vars_path, tmp, sizeof tmp, err)) == NULL)
		goto out;
	char text[512];
	fputs("# written by cohmap from falseshare.csv for experiments/falseshare/falseshare-pairs.gp\n", f);
	fprintf(f, "ncpus = %d\n", n);
	/* From 1 (no slowdown) to at least 2, so noise around 1 stays one
	 * colour instead of spanning the palette; see falseshare-pairs.gp. */
	fprintf(f, "if (!exists(\"cbmin\")) { cbmin = %.4g }\n", lo <= hi && lo < 1 ? lo : 1);
	fprintf(f, "if (!exists(\"cbmax\")) { cbmax = %.4g }\n", lo <= hi && hi > 2 ? hi : 2);
	snprintf(text, sizeof text, "false sharing of CPU pairs: %s, counters %s B apart", kind,
		 distance);
	fputs("set title ", f);
	plot_put_string(f, text);
	if (t->cpu_model[0]) {
		fputs(" . \"\\n\" . ", f);
		plot_put_string(f, t->cpu_model);
	}
	fputs("\nset cblabel \"slowdown: padded / false-shared ops/s, median of rounds\"\n", f);
	put_axes(f, t, cpus, n);
	ret = plot_file_finish(f, tmp, vars_path, err) == 0 ? 1 : -1;
out:
	free(cpus);
	free(pos);
	free(value);
	return ret;
}

int plot_falseshare(const char *dir, const struct topology *t, bool draw, struct fs_plots *drawn,
		    char *err)
{
	struct csv c = { 0 };
	char csv_path[PATH_MAX], stem[PATH_MAX], dat[PATH_MAX], vars[PATH_MAX];
	int ret = -1, figures = 0;
	static const char *const needed[] = {
		"sweep", "placement", "kind", "role", "cpu", "cpus", "distance_bytes",
		"line_size_bytes", "status", "slowdown", "false_shared_events_per_op",
	};

	*drawn = (struct fs_plots){ false, false };
	if (strlen(dir) > PATH_MAX - 64) {
		set_error(err, "path too long: %s", dir);
		return -1;
	}
	snprintf(csv_path, sizeof csv_path, "%s/falseshare.csv", dir);
	if (csv_read(csv_path, &c, err) < 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(needed); i++)
		if (csv_column(&c, needed[i]) < 0) {
			set_error(err, "%s: no column %s", csv_path, needed[i]);
			goto out;
		}

	snprintf(stem, sizeof stem, "%s/falseshare-distance", dir);
	snprintf(dat, sizeof dat, "%s.dat", stem);
	snprintf(vars, sizeof vars, "%s.gpvars", stem);
	int have = write_distance(&c, t, dat, vars, err);
	if (have < 0 || (have && draw && render_both("falseshare.gp", stem, dat, vars, err) < 0))
		goto out;
	drawn->distance = have && draw;
	figures += have;

	snprintf(stem, sizeof stem, "%s/falseshare-pairs", dir);
	snprintf(dat, sizeof dat, "%s.dat", stem);
	snprintf(vars, sizeof vars, "%s.gpvars", stem);
	have = write_pairs(&c, t, dat, vars, err);
	if (have < 0 || (have && draw && render_both("falseshare-pairs.gp", stem, dat, vars, err) < 0))
		goto out;
	drawn->pairs = have && draw;
	figures += have;
	ret = figures;
out:
	csv_free(&c);
	return ret;
}
