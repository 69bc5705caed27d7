#include "plots/csvplot.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness/common.h"
#include "plots/plot.h"

#define MAX_EXTRA 16

int plot_csv_figure(const char *script, const char *dir, const char *csv, const char *image,
		    const char *const *extra, char *err)
{
	char script_path[PATH_MAX], data[PATH_MAX], out[PATH_MAX], tmp[PATH_MAX], e[ERRLEN];
	char a_data[2 * PATH_MAX + 8], a_out[2 * PATH_MAX + 8];
	const char *assign[MAX_EXTRA + 3];
	int n = 0;

	if (plot_script_path(script, script_path, sizeof script_path, err) != 0)
		return -1;
	if ((size_t)snprintf(data, sizeof data, "%s/%s", dir, csv) >= sizeof data ||
	    (size_t)snprintf(out, sizeof out, "%s/%s", dir, image) >= sizeof out ||
	    (size_t)snprintf(tmp, sizeof tmp, "%s.tmp.png", out) >= sizeof tmp) {
		set_error(err, "path too long: %s", dir);
		return -1;
	}
	strcpy(a_data, "data=");
	strcpy(a_out, "out=");
	if (plot_gnuplot_quote(a_data + 5, sizeof a_data - 5, data) < 0 ||
	    plot_gnuplot_quote(a_out + 4, sizeof a_out - 4, tmp) < 0) {
		set_error(err, "%s: gnuplot cannot take this path (newline or too long)", out);
		return -1;
	}
	assign[n++] = a_data;
	assign[n++] = a_out;
	for (; extra && *extra && n < MAX_EXTRA + 2; extra++)
		assign[n++] = *extra;
	assign[n] = NULL;
	if (plot_run_gnuplot(script_path, assign, e) != 0) {
		unlink(tmp);
		set_error(err, "drawing %s: %s", image, e);
		return -1;
	}
	if (rename(tmp, out) != 0) {
		set_error(err, "renaming %s: %s", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}
