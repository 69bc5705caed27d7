#include "experiments/channels/channels_plot.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/common.h"
#include "base/csv.h"
#include "plots/csvplot.h"

/* Draws each image with its own assignment after the shared ones. */
static int draw(const char *script, const char *dir, const char *csv, const char *list_name,
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

int plot_channels_figures(const char *dir, const char *channels, const char *stat,
			  const char **images, char *err)
{
	static const char *const names[] = { "channels-latency.png", "channels-bandwidth.png" };
	static const char *const modes[] = { "mode='latency'", "mode='bandwidth'" };
	images[0] = NULL;
	return draw("channels.gp", dir, "channels.csv", "channels", channels, stat, names, modes,
		    ARRAY_SIZE(names), images, err);
}

int plot_attach_figures(const char *dir, const char *mappings, const char *stat,
			const char **images, char *err)
{
	static const char *const names[] = { "attach.png", "attach-phases.png" };
	static const char *const figures[] = { "figure='total'", "figure='phases'" };
	images[0] = NULL;
	return draw("attach.gp", dir, "attach.csv", "mappings", mappings, stat, names, figures,
		    ARRAY_SIZE(names), images, err);
}
