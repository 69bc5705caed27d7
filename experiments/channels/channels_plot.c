#include "experiments/channels/channels_plot.h"

#include <stdio.h>

#include "base/common.h"
#include "plots/csvplot.h"

int plot_channels_figures(const char *dir, const char *channels, const char *stat,
			  const char **images, char *err)
{
	static const char *const names[] = { "channels-latency.png", "channels-bandwidth.png" };
	static const char *const modes[] = { "mode='latency'", "mode='bandwidth'" };
	images[0] = NULL;
	return plot_csv_figures("channels.gp", dir, "channels.csv", "channels", channels, stat, names, modes,
		    ARRAY_SIZE(names), images, err);
}
