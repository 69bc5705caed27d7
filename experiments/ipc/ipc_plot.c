#include "experiments/ipc/ipc_plot.h"

#include <stdio.h>

#include "plots/csvplot.h"

int plot_ipc_charts(const char *dir, const char **images, char *err)
{
	static const char *const names[IPC_CHART_COUNT] = { "ipc.png", "ipc-bandwidth.png" };
	static const char *const metrics[IPC_CHART_COUNT] = { "metric='latency'", "metric='bandwidth'" };
	int drawn = 0;
	for (int i = 0; i < IPC_CHART_COUNT; i++) {
		const char *extra[] = { metrics[i], NULL };
		if (plot_csv_figure("ipc.gp", dir, "ipc-summary.csv", names[i], extra, err) == 0)
			images[drawn++] = names[i];
	}
	images[drawn] = NULL;
	return drawn;
}
