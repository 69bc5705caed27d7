/* The bookkeeping around a point-by-point experiment's points: meta.json,
 * warnings, figures and CSV cells (harness/point_report.h). */
#include "harness/point_report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/common.h"
#include "harness/agents.h"
#include "harness/procs.h"
#include "plots/plot.h"

void points_note_busy(struct run *r, json_t *exp, const char *name)
{
	/* Other programs running now would share the agents' CPUs: say so. */
	double busy = procs_busy_tasks();
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	json_object_set_new(exp, "other_running_tasks_at_start", json_real(busy));
	if (online > 0 && busy >= 0.5 * (double)online)
		run_warn(r, "%s: the machine is busy (%.0f other tasks running on %ld CPUs): they "
			 "share the CPUs, and the times measured include waiting for them", name, busy,
			 online);
}

void points_tally(json_t *exp, long planned, long measured, long failed, long left_out)
{
	json_object_set_new(exp, "points_planned", json_integer(planned));
	json_object_set_new(exp, "points_measured", json_integer(measured));
	json_object_set_new(exp, "points_failed", json_integer(failed));
	json_object_set_new(exp, "points_left_out_by_budget", json_integer(left_out));
}

bool points_interrupted(const struct run *r, json_t *exp, long done, long planned)
{
	if (!cohmap_interrupted)
		return false;
	json_object_set_new(exp, "status", json_string("interrupted"));
	fprintf(stderr, "cohmap: interrupted after %ld of %ld points; they are in %s\n", done, planned,
		r->dir);
	return true;
}

int points_draw(struct run *r, const char *name, points_figures figures, const char *legend,
		const char *stat, const char **plots)
{
	char err[ERRLEN], why[ERRLEN];
	if (!plot_gnuplot_available(why, sizeof why)) {
		run_warn(r, "%s: no plot drawn: %s; the CSV is complete", name, why);
		return -1;
	}
	if (figures(r->dir, legend, stat, plots, err) < 0) {
		run_warn(r, "%s: %s", name, err);
		return -1;
	}
	return 0;
}

void points_legend_add(char *legend, size_t size, const char *name)
{
	size_t used = strlen(legend);
	snprintf(legend + used, size - used, "%s%s", used ? " " : "", name);
}

void points_list_plots(const struct run *r, const char *const *plots)
{
	if (!r->quiet)
		for (int i = 0; plots[i]; i++)
			printf("%s %s/%s\n", i == 0 ? "\nplots:" : "      ", r->dir, plots[i]);
}

void points_cell_number(char *cell, double v, const char *fmt)
{
	if (isnan(v) || isinf(v))
		snprintf(cell, ERRLEN, "NA");
	else
		snprintf(cell, ERRLEN, fmt, v);
}

void points_cell_prose(char *cell, const char *text)
{
	snprintf(cell, ERRLEN, "%s", text);
	for (char *c = cell; *c; c++)
		if (*c == ',' || *c == '"' || *c == '\n')
			*c = ';';
}
