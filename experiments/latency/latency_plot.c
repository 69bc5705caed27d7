/* The latency experiment's figures. latency.csv is read by latency_table
 * (experiments/latency/latency_table.c); each kernel's matrix, and each
 * counter column with a value, is handed to the shared heatmap of plots/. */
#include "experiments/latency/latency_plot.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/common.h"
#include "experiments/latency/latency_table.h"
#include "plots/plot.h"

/* Draws (when script is not NULL) kernel k's figures: latency, then each
 * counter column that has a value for it. */
static int kernel_heatmaps(const char *dir, const struct topology *t,
			   const struct latency_table *lt, int k, const char *column,
			   const char *stat, const char *script, char *err)
{
	char stem[PATH_MAX], title[256], dat_comment[512], vars_comment[256];
	int *cpus = NULL, n = latency_table_cpus(lt, k, &cpus), ret = -1;
	double *value = NULL;
	const char *kernel = lt->kernels[k];

	if (n < 0 || !(value = malloc(((size_t)n * n + 1) * sizeof(double)))) {
		set_error(err, "%s/latency.csv: out of memory", dir);
		goto out;
	}
	topology_sort(t, cpus, n);
	for (int col = -1; col < lt->ncounters; col++) {
		const char *event = col < 0 ? NULL : lt->counters[col];
		bool any = false;
		for (int y = 0; y < n; y++)
			for (int x = 0; x < n; x++) {
				const struct latency_pair *p = latency_table_find(lt, k, cpus[y], cpus[x]);
				double v = !p || !p->ok ? NAN
				       : event ? lt->counts[(size_t)(p - lt->pairs) * lt->ncounters + col]
					       : p->value;
				value[y * n + x] = v;
				any |= !isnan(v);
			}
		if (event && !any)
			continue;
		if (event) {
			snprintf(stem, sizeof(stem), "%s/latency-%s-%s", dir, kernel, event);
			snprintf(dat_comment, sizeof(dat_comment),
				 "# cohmap counter matrix, kernel %s: %s (count per handoff)\n", kernel,
				 event);
		} else {
			snprintf(stem, sizeof(stem), "%s/latency-%s", dir, kernel);
			snprintf(dat_comment, sizeof(dat_comment),
				 "# cohmap latency matrix, kernel %s: one-way latency, %s of samples [ns] (%s)\n",
				 kernel, stat, column);
		}
		strncat(dat_comment, "# x = responder index, y = initiator index, in topology order; "
				     "NaN: no value\n", sizeof(dat_comment) - strlen(dat_comment) - 1);
		snprintf(vars_comment, sizeof(vars_comment),
			 "# written by cohmap from latency.csv (%s) for plots/heatmap.gp\n", column);
		const char *what = event ? event : "core-to-core latency";
		if (t->cpu_model[0])
			snprintf(title, sizeof(title), "%s (%s) on %s", what, kernel, t->cpu_model);
		else
			snprintf(title, sizeof(title), "%s (%s)", what, kernel);
		char cblabel[128];
		snprintf(cblabel, sizeof(cblabel), "one-way latency, %s of samples [ns]", stat);
		struct plot_matrix m = {
			.title = title,
			.xlabel = "responder CPU (topology order)",
			.ylabel = "initiator CPU",
			.cblabel = event ? event : cblabel,
			.n = n,
			.cpus = cpus,
			.value = value,
			.dat_comment = dat_comment,
			.vars_comment = vars_comment,
			.cblabel_note = event ? "# counts per handoff, both agents, undisturbed samples"
					      : NULL,
		};
		if (plot_heatmap_files(stem, t, &m, script, err) < 0)
			goto out;
	}
	ret = 0;
out:
	free(cpus);
	free(value);
	return ret;
}

/* --lines: kernel k's requester x owner matrix once per home node of the
 * lines (small multiples in one figure, experiments/latency/latency-homes.gp):
 * each cell the median over the pair's lines homed on that node. A common
 * colour range, so that a node that costs more looks it. */
static int homes_heatmap(const char *dir, const struct topology *t, const struct latency_table *lt,
			 int k, const char *stat, const char *script, char *err)
{
	char stem[PATH_MAX], dat[PATH_MAX + 8], vars[PATH_MAX + 8], png[PATH_MAX + 8];
	char tmp[PATH_MAX + 16], title[256];
	int *cpus = NULL, n = latency_table_cpus(lt, k, &cpus), ret = -1;
	int *nodes = malloc(((size_t)lt->nlines + 1) * sizeof *nodes);
	double *value = n > 0 ? malloc(((size_t)n * n + 1) * sizeof *value) : NULL;
	FILE *f = NULL;
	if (n < 0 || nodes == NULL || value == NULL) {
		set_error(err, "%s/latency.csv: out of memory", dir);
		goto out;
	}
	topology_sort(t, cpus, n);
	int nhomes = latency_line_homes(lt, nodes);
	snprintf(stem, sizeof stem, "%s/latency-%s-homes", dir, lt->kernels[k]);
	snprintf(dat, sizeof dat, "%s.dat", stem);
	snprintf(vars, sizeof vars, "%s.gpvars", stem);
	snprintf(png, sizeof png, "%s.png", stem);
	if ((f = plot_file_begin(dat, tmp, sizeof tmp, err)) == NULL)
		goto out;
	fprintf(f, "# cohmap latency matrix per home node, kernel %s: one-way latency, %s of samples "
		   "[ns], median over the pair's lines homed on the node\n# one data set (gnuplot "
		   "index) per home node, in the order of `homes` in the .gpvars; x = responder "
		   "index, y = initiator index, in topology order; NaN: no value\n", lt->kernels[k], stat);
	double top = 0;
	for (int h = 0; h < nhomes; h++) {
		for (int y = 0; y < n; y++)
			for (int x = 0; x < n; x++) {
				double v = latency_pair_on_home(lt, k, cpus[y], cpus[x], nodes[h]);
				value[y * n + x] = v;
				if (v > top)
					top = v;
			}
		fprintf(f, "# home node %d\n", nodes[h]);
		plot_put_matrix(f, cpus, n, value);
		fputs("\n\n", f);
	}
	if (plot_file_finish(f, tmp, dat, err) != 0)
		goto out;
	if ((f = plot_file_begin(vars, tmp, sizeof tmp, err)) == NULL)
		goto out;
	fprintf(f, "# written by cohmap from latency.csv for latency-homes.gp\nncpus = %d\n"
		   "nhomes = %d\nhomes = \"", n, nhomes);
	for (int h = 0; h < nhomes; h++)
		fprintf(f, "%s%d", h ? " " : "", nodes[h]);
	fprintf(f, "\"\nif (!exists(\"cbmin\")) { cbmin = 0 }\nif (!exists(\"cbmax\")) { cbmax = %.6g }\n",
		top);
	if (t->cpu_model[0])
		snprintf(title, sizeof title, "core-to-core latency (%s) by the line's home node on %s",
			 lt->kernels[k], t->cpu_model);
	else
		snprintf(title, sizeof title, "core-to-core latency (%s) by the line's home node",
			 lt->kernels[k]);
	fputs("maintitle = ", f);
	plot_put_string(f, title);
	fprintf(f, "\nset xlabel \"responder CPU\"\nset ylabel \"initiator CPU\"\n"
		   "cbtext = \"colour: one-way latency, %s of samples [ns]\"\n", stat);
	if (plot_put_axes(f, t, cpus, n, false) < 0) {
		fclose(f);
		unlink(tmp);
		set_error(err, "%s: out of memory", vars);
		goto out;
	}
	if (plot_file_finish(f, tmp, vars, err) != 0)
		goto out;
	f = NULL;
	if (script && plot_render(script, dat, vars, NULL, png, err) != 0)
		goto out;
	ret = 0;
out:
	free(cpus);
	free(nodes);
	free(value);
	return ret;
}

static int latency_heatmaps(const char *dir, const struct topology *t, const char *stat,
			    bool draw, char *err)
{
	struct latency_table lt;
	char script[PATH_MAX];
	const char *column, *stat_name;
	int ret = -1;

	if (strcmp(stat, "median") == 0) {
		column = "median_ns";
		stat_name = "median";
	} else if (strcmp(stat, "min") == 0) {
		column = "min_ns";
		stat_name = "minimum";
	} else {
		set_error(err, "unknown statistic '%s' for a heatmap (median or min)", stat);
		return -1;
	}
	/* Room for "/latency-<kernel>.gpvars.tmp" with the longest kernel name
	 * plot_safe_name allows, so no file name below is ever cut short. */
	if (strlen(dir) > PATH_MAX - 128) {
		set_error(err, "path too long: %s", dir);
		return -1;
	}
	char homes_script[PATH_MAX];
	if (draw && (plot_script_path("heatmap.gp", script, sizeof(script), err) < 0 ||
		     plot_script_path("latency-homes.gp", homes_script, sizeof(homes_script), err) < 0))
		return -1;
	/* Every row is checked before anything is written. */
	if (latency_table_read_plot(dir, column, t, &lt, err) < 0)
		return -1;
	for (int k = 0; k < lt.nkernels; k++)
		if (kernel_heatmaps(dir, t, &lt, k, column, stat_name, draw ? script : NULL, err) < 0 ||
		    (lt.max_lines > 1 &&
		     homes_heatmap(dir, t, &lt, k, stat_name, draw ? homes_script : NULL, err) < 0))
			goto out;
	ret = lt.nkernels;
out:
	latency_table_free(&lt);
	return ret;
}

int plot_latency_data(const char *dir, const struct topology *t, const char *stat, char *err)
{
	return latency_heatmaps(dir, t, stat, false, err);
}

int plot_latency_heatmaps(const char *dir, const struct topology *t, const char *stat,
			  char *err)
{
	return latency_heatmaps(dir, t, stat, true, err);
}
