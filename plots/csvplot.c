#include "plots/csvplot.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/common.h"
#include "base/csv.h"
#include "plots/plot.h"

int plot_csv_figure(const char *script, const char *dir, const char *csv, const char *image,
		    const char *const *extra, char *err)
{
	char script_path[PATH_MAX], data[PATH_MAX], out[PATH_MAX];

	if (plot_script_path(script, script_path, sizeof script_path, err) != 0)
		return -1;
	if ((size_t)snprintf(data, sizeof data, "%s/%s", dir, csv) >= sizeof data ||
	    (size_t)snprintf(out, sizeof out, "%s/%s", dir, image) >= sizeof out) {
		set_error(err, "path too long: %s", dir);
		return -1;
	}
	return plot_render(script_path, data, NULL, extra, out, err);
}

/* Draws each image with its own assignment after the shared ones. */
int plot_csv_figures(const char *script, const char *dir, const char *csv, const char *list_name,
		      const char *list, const char *stat, const char *const *images,
		      const char *const *own, int count, const char **drawn, char *err)
{
	char a_list[600], a_stat[64], path[4096];
	int n = 0;
	/* A run whose budget ran out before the first point, or whose points all
	 * failed, wrote a valid CSV with no ok row: nothing to draw, no error. */
	struct csv rows;
	snprintf(path, sizeof path, "%s/%s", dir, csv);
	if (csv_read(path, &rows, err) != 0)
		return -1;
	bool any_ok = false;
	for (int r = 0; r < rows.nrows && !any_ok; r++) {
		const char *status = csv_cell(&rows, r, "status");
		any_ok = status && strcmp(status, "ok") == 0;
	}
	csv_free(&rows);
	drawn[0] = NULL;
	if (!any_ok)
		return 0;
	snprintf(a_list, sizeof a_list, "%s='%s'", list_name, list ? list : "");
	snprintf(a_stat, sizeof a_stat, "stat='%s'", stat);
	for (int i = 0; i < count; i++) {
		const char *extra[] = { a_stat, own[i], list ? a_list : NULL, NULL };
		if (plot_csv_figure(script, dir, csv, images[i], extra, err) != 0)
			return -1;
		drawn[n++] = images[i];
		drawn[n] = NULL;
	}
	return n;
}
