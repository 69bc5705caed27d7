/* attach.png and attach-phases.png, drawn by attach.gp from attach.csv. */
#include "experiments/attach/attach_plot.h"

#include <stdio.h>

#include "base/common.h"
#include "plots/csvplot.h"

int plot_attach_figures(const char *dir, const char *mappings, const char *stat,
			const char **images, char *err)
{
	static const char *const names[] = { "attach.png", "attach-phases.png" };
	static const char *const figures[] = { "figure='total'", "figure='phases'" };
	images[0] = NULL;
	return plot_csv_figures("attach.gp", dir, "attach.csv", "mappings", mappings, stat, names, figures,
		    ARRAY_SIZE(names), images, err);
}
