#include "experiments/fork/fork_plot.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/common.h"
#include "base/csv.h"
#include "plots/plot.h"

static const struct {
	const char *script, *csv, *image;
	const char *measures;   /* fork.csv: a row of one of these must be ok */
} fork_figures[FORK_FIGURES] = {
	{ "fork.gp", "fork.csv", "fork.png", " fork_return " },
	{ "fork-touch.gp", "fork.csv", "fork-touch.png", " child_read child_write parent_write " },
	{ "fork-spawn.gp", "fork.csv", "fork-spawn.png", " fork_exec vfork_exec posix_spawn " },
	{ "pagetables.gp", "pagetables.csv", "pagetables.png", NULL },
};

/* True when the table has an ok row the figure can show (for fork.csv, a
 * row of a mapping kind, not only the no-mapping baseline). */
static bool has_rows(const struct csv *t, const char *measures)
{
	for (int i = 0; i < t->nrows; i++) {
		const char *status = csv_cell(t, i, "status");
		if (status == NULL || strcmp(status, "ok") != 0)
			continue;
		if (measures == NULL)
			return true;
		const char *kind = csv_cell(t, i, "kind"), *m = csv_cell(t, i, "measure");
		char word[64];
		snprintf(word, sizeof word, " %s ", m ? m : "");
		if (kind && strcmp(kind, "none") != 0 && strstr(measures, word))
			return true;
	}
	return false;
}

int plot_fork_figures(const char *dir, const char **drawn, char *err)
{
	int n = 0;
	if (drawn)
		drawn[0] = NULL;
	for (size_t i = 0; i < FORK_FIGURES; i++) {
		char script[PATH_MAX], csv[PATH_MAX], image[PATH_MAX];
		char data_q[PATH_MAX + 16], out_q[PATH_MAX + 16];
		char data_set[PATH_MAX + 32], out_set[PATH_MAX + 32];
		struct csv table;
		snprintf(csv, sizeof csv, "%s/%s", dir, fork_figures[i].csv);
		snprintf(image, sizeof image, "%s/%s", dir, fork_figures[i].image);
		if (access(csv, R_OK) != 0)
			continue;
		if (csv_read(csv, &table, err) != 0)
			return -1;
		bool worth = has_rows(&table, fork_figures[i].measures);
		csv_free(&table);
		if (!worth)
			continue;
		if (plot_script_path(fork_figures[i].script, script, sizeof script, err) != 0)
			return -1;
		if (plot_gnuplot_quote(data_q, sizeof data_q, csv) != 0 ||
		    plot_gnuplot_quote(out_q, sizeof out_q, image) != 0) {
			set_error(err, "%s: a path gnuplot cannot quote", dir);
			return -1;
		}
		snprintf(data_set, sizeof data_set, "data=%s", data_q);
		snprintf(out_set, sizeof out_set, "out=%s", out_q);
		const char *assignments[] = { data_set, out_set, NULL };
		if (plot_run_gnuplot(script, assignments, err) != 0)
			return -1;
		if (drawn) {
			drawn[n] = fork_figures[i].image;
			drawn[n + 1] = NULL;
		}
		n++;
	}
	return n;
}
