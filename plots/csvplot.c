#include "plots/csvplot.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "base/common.h"
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
