/* contention.png and contention-fairness.png, drawn by contention.gp from
 * contention.csv. */
#include <stdio.h>

#include "base/common.h"
#include "experiments/contention/contention.h"
#include "plots/csvplot.h"

int plot_contention(const char *dir, const char *stat, const char **images, char *err)
{
	static const char *const names[] = { "contention.png", "contention-fairness.png" };
	static const char *const figures[] = { "figure='throughput'", "figure='fairness'" };
	images[0] = NULL;
	return plot_csv_figures("contention.gp", dir, "contention.csv", NULL, NULL, stat ? stat : "median",
				names, figures, ARRAY_SIZE(names), images, err);
}
