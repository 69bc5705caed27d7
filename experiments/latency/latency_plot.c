/* The latency experiment's figures. latency.csv is read by latency_table
 * (experiments/latency/latency_table.c); each kernel's matrix, and each
 * counter column with a value, is handed to the shared heatmap of plots/. */
#include "experiments/latency/latency_plot.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	if (draw && plot_script_path("heatmap.gp", script, sizeof(script), err) < 0)
		return -1;
	/* Every row is checked before anything is written. */
	if (latency_table_read_plot(dir, column, t, &lt, err) < 0)
		return -1;
	for (int k = 0; k < lt.nkernels; k++)
		if (kernel_heatmaps(dir, t, &lt, k, column, stat_name, draw ? script : NULL, err) < 0)
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
