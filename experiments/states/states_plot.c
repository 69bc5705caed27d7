/* states.csv into pictures. cohmap aggregates (per pair class: the median
 * over its pairs) and lays out (topology order, domain borders); the gnuplot
 * scripts do all the drawing and work on their own. */
#include "experiments/states/states_plot.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/common.h"
#include "base/options.h"
#include "base/csv.h"
#include "base/stats.h"
#include "kernels/states.h"
#include "plots/plot.h"


static int add_file(struct states_plot_files *files, const char *name, char *err)
{
	char **bigger = realloc(files->names, (size_t)(files->n + 2) * sizeof *bigger);
	if (bigger == NULL || (bigger[files->n] = strdup(name)) == NULL) {
		if (bigger)
			files->names = bigger;
		set_error(err, "out of memory");
		return -1;
	}
	files->names = bigger;
	files->names[++files->n] = NULL;
	return 0;
}

void states_plot_files_free(struct states_plot_files *files)
{
	for (int i = 0; i < files->n; i++)
		free(files->names[i]);
	free(files->names);
	*files = (struct states_plot_files){ 0 };
}

/* ---- reading states.csv ---- */

struct row {
	int kernel;                 /* index in the state registry */
	int owner, requester;
	int sharer;                 /* -1: not a shared-state row (or not recorded) */
	int pair_class;
	double value, p10, p90;     /* NaN for a failed row */
};

static int read_rows(const char *dir, const struct topology *t, const char *column, struct row **out,
		     int *nout, char *err)
{
	char path[PATH_MAX];
	struct csv c = { 0 };
	snprintf(path, sizeof path, "%s/states.csv", dir);
	if (csv_read(path, &c, err) < 0)
		return -1;
	static const char *const needed[] = { "kernel", "cpu_owner", "cpu_requester", "pair_class",
					      "status", "p10_ns", "p90_ns" };
	for (size_t i = 0; i <= ARRAY_SIZE(needed); i++) {
		const char *name = i < ARRAY_SIZE(needed) ? needed[i] : column;
		if (csv_column(&c, name) < 0) {
			set_error(err, "%s: no column %s", path, name);
			csv_free(&c);
			return -1;
		}
	}
	struct row *rows = calloc((size_t)c.nrows + 1, sizeof *rows);
	if (rows == NULL) {
		set_error(err, "%s: out of memory", path);
		csv_free(&c);
		return -1;
	}
	for (int r = 0; r < c.nrows; r++) {
		const struct state_kernel *k = state_kernel_find(csv_cell(&c, r, "kernel"));
		double owner, requester;
		int cls = pair_class_from_name(csv_cell(&c, r, "pair_class"));
		if (k == NULL || cls < 0 || !csv_number(&c, r, "cpu_owner", &owner) ||
		    !csv_number(&c, r, "cpu_requester", &requester) || !(owner >= 0) ||
		    !(requester >= 0) || owner > INT_MAX || requester > INT_MAX) {
			set_error(err, "%s:%d: not a row of a states run (kernel, CPUs or pair class)",
				  path, r + 2);
			free(rows);
			csv_free(&c);
			return -1;
		}
		if (!topology_find(t, (int)owner) || !topology_find(t, (int)requester)) {
			set_error(err, "%s:%d: CPU %d or %d is not in the topology (%s)", path, r + 2,
				  (int)owner, (int)requester, t->source);
			free(rows);
			csv_free(&c);
			return -1;
		}
		struct row *w = &rows[r];
		double sharer;
		*w = (struct row){ .owner = (int)owner, .requester = (int)requester, .pair_class = cls,
				   .sharer = csv_number(&c, r, "cpu_sharer", &sharer) && sharer >= 0 &&
					     sharer <= INT_MAX ? (int)sharer : -1,
				   .value = NAN, .p10 = NAN, .p90 = NAN };
		for (int i = 0; i < state_kernel_count; i++)
			if (state_kernel_registry[i] == k)
				w->kernel = i;
		if (strcmp(csv_cell(&c, r, "status"), "ok") == 0 &&
		    (!csv_number(&c, r, column, &w->value) || !csv_number(&c, r, "p10_ns", &w->p10) ||
		     !csv_number(&c, r, "p90_ns", &w->p90))) {
			set_error(err, "%s:%d: a statistic is not a number", path, r + 2);
			free(rows);
			csv_free(&c);
			return -1;
		}
	}
	*out = rows;
	*nout = c.nrows;
	csv_free(&c);
	return 0;
}

/* Median of the values of the rows of one kernel and class; NaN if none. */
static double median_over(const struct row *rows, int n, int kernel, int cls, size_t field,
			  double *scratch)
{
	int m = 0;
	for (int i = 0; i < n; i++) {
		double v = *(const double *)((const char *)&rows[i] + field);
		if (rows[i].kernel == kernel && rows[i].pair_class == cls && !isnan(v))
			scratch[m++] = v;
	}
	if (m == 0)
		return NAN;
	struct summary s;
	summarize(scratch, m, &s);
	return s.median;
}

static int registry_index(enum line_state st, enum line_op op)
{
	for (int i = 0; i < state_kernel_count; i++)
		if (state_kernel_registry[i]->state == st && state_kernel_registry[i]->op == op)
			return i;
	return -1;
}

/* ---- the bar chart ---- */

static int bar_chart(const char *dir, const struct topology *t, const char *stat,
		     const struct row *rows, int n, struct states_plot_files *files, char *err)
{
	char dat[PATH_MAX], vars[PATH_MAX], image[PATH_MAX], tmp[PATH_MAX + 8];
	double *scratch = malloc((size_t)(n + 1) * sizeof *scratch);
	int classes[PAIR_CLASS_COUNT], nclasses = 0, ret = -1;
	double ymax = 0;
	FILE *f = NULL;

	if (scratch == NULL) {
		set_error(err, "out of memory");
		return -1;
	}
	for (int c = 0; c < PAIR_CLASS_COUNT; c++) {
		bool present = false;
		for (int i = 0; i < n; i++)
			present |= rows[i].pair_class == c;
		if (present)
			classes[nclasses++] = c;
	}
	snprintf(dat, sizeof dat, "%s/states-bars.dat", dir);
	snprintf(vars, sizeof vars, "%s/states-bars.gpvars", dir);
	snprintf(image, sizeof image, "%s/states.png", dir);
	if ((f = plot_file_begin(dat, tmp, sizeof tmp, err)) == NULL)
		goto out;
	fprintf(f, "# cohmap states: ns per access by line state and operation: %s of samples, then "
		   "p10 and p90;\n# per pair class the median over its pairs. One block per class: ",
		stat);
	for (int i = 0; i < nclasses; i++)
		fprintf(f, "%s%s", i ? ", " : "", pair_class_name(classes[i]));
	fputs("\n# state", f);
	for (int op = 0; op < OP_COUNT; op++)
		fprintf(f, " %s %s_p10 %s_p90", line_op_name(op), line_op_name(op), line_op_name(op));
	fputc('\n', f);
	/* Only the states and operations that were measured: a group or a
	 * series without any value would be an empty gap in every panel. */
	bool state_seen[STATE_COUNT] = { false }, op_seen[OP_COUNT] = { false };
	for (int i = 0; i < n; i++) {
		state_seen[state_kernel_registry[rows[i].kernel]->state] = true;
		op_seen[state_kernel_registry[rows[i].kernel]->op] = true;
	}
	for (int i = 0; i < nclasses; i++) {
		if (i)
			fputs("\n\n", f);
		for (int st = 0; st < STATE_COUNT; st++) {
			if (!state_seen[st])
				continue;
			fprintf(f, "%s", line_state_name(st));
			for (int op = 0; op < OP_COUNT; op++) {
				int k = registry_index(st, op);
				double v[3] = {
					median_over(rows, n, k, classes[i], offsetof(struct row, value), scratch),
					median_over(rows, n, k, classes[i], offsetof(struct row, p10), scratch),
					median_over(rows, n, k, classes[i], offsetof(struct row, p90), scratch),
				};
				for (int j = 0; j < 3; j++) {
					if (isnan(v[j]))
						fputs(" NaN", f);
					else
						fprintf(f, " %.4g", v[j]);
					if (!isnan(v[j]) && v[j] > ymax)
						ymax = v[j];
				}
			}
			fputc('\n', f);
		}
	}
	if (plot_file_finish(f, tmp, dat, err) < 0)
		goto out;

	if ((f = plot_file_begin(vars, tmp, sizeof tmp, err)) == NULL)
		goto out;
	fputs("# written by cohmap from states.csv for experiments/states/states.gp\n", f);
	fprintf(f, "nclasses = %d\n", nclasses);
	fputs("ops_plotted = \"", f);
	for (int op = 0, first = 1; op < OP_COUNT; op++)
		if (op_seen[op]) {
			fprintf(f, "%s%d", first ? "" : " ", op + 1);
			first = 0;
		}
	fputs("\"\n", f);
	/* Room above the tallest whisker for its label. */
	fprintf(f, "if (!exists(\"ymax\")) { ymax = %.6g }\n", ymax > 0 ? ymax * 1.15 : 1);
	fprintf(f, "array class_title[%d]\n", nclasses);
	for (int i = 0; i < nclasses; i++) {
		int pairs = 0, first = -1, sharer = -2;
		for (int r = 0; r < n; r++) {
			if (rows[r].pair_class != classes[i])
				continue;
			if (rows[r].kernel == rows[0].kernel && pairs++ == 0)
				first = r;
			if (rows[r].sharer >= 0 && sharer == -2)
				sharer = rows[r].sharer == rows[r].requester ? -1 : rows[r].sharer;
		}
		char title[256], shared[64] = "";
		if (sharer == -1)
			snprintf(shared, sizeof shared, "; Shared by A and B");
		else if (sharer >= 0 && pairs == 1)
			snprintf(shared, sizeof shared, "; Shared by A and C = CPU %d", sharer);
		if (pairs == 1)
			snprintf(title, sizeof title, "%s: %s (owner A = CPU %d, requester B = CPU %d%s)",
				 pair_class_name(classes[i]), pair_class_description(classes[i]),
				 rows[first].owner, rows[first].requester, shared);
		else
			snprintf(title, sizeof title, "%s: %s (median over %d pairs%s)",
				 pair_class_name(classes[i]), pair_class_description(classes[i]), pairs,
				 sharer == -1 ? "; Shared by A and B" : "");
		fprintf(f, "class_title[%d] = ", i + 1);
		plot_put_string(f, title);
		fputc('\n', f);
	}
	char title[256];
	snprintf(title, sizeof title, "cost of an access by the state of the line%s%s",
		 t->cpu_model[0] ? " on " : "", t->cpu_model);
	fputs("figure_title = ", f);
	plot_put_string(f, title);
	fprintf(f, "\nstat = \"%s\"\n", strcmp(stat, "min") == 0 ? "minimum" : "median");
	if (plot_file_finish(f, tmp, vars, err) < 0)
		goto out;
	if (plot_draw("states.gp", dat, vars, image, err) < 0 || add_file(files, "states.png", err) < 0)
		goto out;
	ret = 0;
out:
	free(scratch);
	return ret;
}

/* ---- heatmaps (every ordered pair present) ---- */

/* Lines between the cells of different sockets (style 1) and L3 groups
 * (style 2), as plots/heatmap.gp defines them. */
static int put_borders(FILE *f, const struct topology *t, const int *cpus, int n)
{
	int *sockets = malloc((size_t)n * sizeof *sockets), *l3 = malloc((size_t)n * sizeof *l3);
	if (sockets == NULL || l3 == NULL) {
		free(sockets);
		free(l3);
		return -1;
	}
	int ns = topology_borders(t, cpus, n, true, sockets, n);
	int nl = topology_borders(t, cpus, n, false, l3, n);
	plot_put_borders(f, sockets, ns, l3, nl, n);
	free(sockets);
	free(l3);
	return 0;
}

static int cpu_position(const int *cpus, int n, int cpu)
{
	for (int i = 0; i < n; i++)
		if (cpus[i] == cpu)
			return i;
	return -1;
}

/* One kernel's matrix, if its rows cover every ordered pair of their CPUs.
 * Returns 1 when drawn, 0 when the rows are not a full matrix, -1 on error. */
static int heatmap(const char *dir, const struct topology *t, const char *stat, int kernel,
		   const struct row *rows, int n, struct states_plot_files *files, char *err)
{
	const struct state_kernel *k = state_kernel_registry[kernel];
	char dat[PATH_MAX], vars[PATH_MAX], image[PATH_MAX], tmp[PATH_MAX + 8], name[128];
	int *cpus = malloc((size_t)(2 * n + 1) * sizeof *cpus), m = 0, ret = -1;
	double *value = NULL;
	FILE *f = NULL;
	if (cpus == NULL) {
		set_error(err, "out of memory");
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (rows[i].kernel != kernel)
			continue;
		if (cpu_position(cpus, m, rows[i].owner) < 0)
			cpus[m++] = rows[i].owner;
		if (cpu_position(cpus, m, rows[i].requester) < 0)
			cpus[m++] = rows[i].requester;
	}
	topology_sort(t, cpus, m);
	if (m < 2 || !(value = malloc((size_t)m * (size_t)m * sizeof *value))) {
		ret = m < 2 ? 0 : -1;
		if (ret < 0)
			set_error(err, "out of memory");
		goto out;
	}
	int cells = 0;
	double hi = 0;
	for (int i = 0; i < m * m; i++)
		value[i] = INFINITY; /* not measured; NaN: measured and failed */
	for (int i = 0; i < n; i++) {
		if (rows[i].kernel != kernel)
			continue;
		int y = cpu_position(cpus, m, rows[i].owner), x = cpu_position(cpus, m, rows[i].requester);
		if (isinf(value[y * m + x]))
			cells++;
		value[y * m + x] = rows[i].value; /* a repeated pair: the later row wins */
		if (!isnan(rows[i].value) && rows[i].value > hi)
			hi = rows[i].value;
	}
	if (cells < m * (m - 1)) {
		ret = 0;
		goto out;
	}
	snprintf(name, sizeof name, "states-%s.png", k->name);
	snprintf(dat, sizeof dat, "%s/states-%s.dat", dir, k->name);
	snprintf(vars, sizeof vars, "%s/states-%s.gpvars", dir, k->name);
	snprintf(image, sizeof image, "%s/%s", dir, name);
	if ((f = plot_file_begin(dat, tmp, sizeof tmp, err)) == NULL)
		goto out;
	fprintf(f, "# cohmap states matrix, kernel %s: ns per access, %s of samples\n"
		   "# x = requester index, y = owner index, in topology order; NaN: no value\n# index:cpu",
		k->name, stat);
	for (int i = 0; i < m; i++)
		fprintf(f, " %d:%d", i, cpus[i]);
	fputc('\n', f);
	for (int y = 0; y < m; y++) {
		for (int x = 0; x < m; x++) {
			double v = value[y * m + x];
			if (isfinite(v))
				fprintf(f, "%d %d %.6g\n", x, y, v);
			else
				fprintf(f, "%d %d NaN\n", x, y);
		}
		fputc('\n', f);
	}
	if (plot_file_finish(f, tmp, dat, err) < 0)
		goto out;
	if ((f = plot_file_begin(vars, tmp, sizeof tmp, err)) == NULL)
		goto out;
	char title[256];
	snprintf(title, sizeof title, "%s: %s", k->name, k->summary);
	fprintf(f, "# written by cohmap from states.csv for plots/heatmap.gp\nncpus = %d\n", m);
	fprintf(f, "if (!exists(\"cbmin\")) { cbmin = 0 }\n");
	fprintf(f, "if (!exists(\"cbmax\")) { cbmax = %.6g }\n", hi > 0 ? hi : 1);
	fputs("set title ", f);
	plot_put_string(f, title);
	fprintf(f, "\nset xlabel \"requester CPU B (topology order)\"\n"
		   "set ylabel \"owner CPU A\"\n"
		   "set cblabel \"ns per access, %s of samples\"\n",
		strcmp(stat, "min") == 0 ? "minimum" : "median");
	plot_put_cpu_tics(f, t, cpus, m);
	if (put_borders(f, t, cpus, m) < 0) {
		fclose(f);
		unlink(tmp);
		set_error(err, "out of memory");
		f = NULL;
		goto out;
	}
	if (plot_file_finish(f, tmp, vars, err) < 0)
		goto out;
	if (plot_draw("heatmap.gp", dat, vars, image, err) < 0 || add_file(files, name, err) < 0)
		goto out;
	ret = 1;
out:
	free(cpus);
	free(value);
	return ret;
}

int plot_states(const char *dir, const struct topology *t, const char *stat,
		struct states_plot_files *files, char *err)
{
	const char *column = strcmp(stat, "min") == 0 ? "min_ns" : "median_ns";
	struct row *rows = NULL;
	int n = 0;
	*files = (struct states_plot_files){ 0 };
	if (!option_stat_known(stat)) {
		set_error(err, "unknown statistic '%s' (median or min)", stat);
		return -1;
	}
	if (strlen(dir) > PATH_MAX - 128) {
		set_error(err, "path too long: %s", dir);
		return -1;
	}
	if (read_rows(dir, t, column, &rows, &n, err) < 0)
		return -1;
	if (n == 0) {
		set_error(err, "%s/states.csv holds no rows", dir);
		goto fail;
	}
	if (bar_chart(dir, t, stat, rows, n, files, err) < 0)
		goto fail;
	for (int k = 0; k < state_kernel_count; k++)
		if (heatmap(dir, t, stat, k, rows, n, files, err) < 0)
			goto fail;
	free(rows);
	return files->n;
fail:
	free(rows);
	states_plot_files_free(files);
	return -1;
}
