/* The figures of `cohmap channels` and `cohmap attach`, drawn straight from
 * their CSV files by experiments/channels/channels.gp and experiments/attach/attach.gp (which work on
 * their own too; see their headers). */
#ifndef COHMAP_CHANNELS_PLOTS_H
#define COHMAP_CHANNELS_PLOTS_H

/* DIR/channels.csv -> DIR/channels-latency.png, DIR/channels-bandwidth.png.
 * channels: the legend's order ("ring pipe ..."), NULL for the script's.
 * stat: median or min. Fills images (NULL-terminated, at least 3 slots) with
 * the file names drawn. Returns how many, or -1 with a message. */
int plot_channels_figures(const char *dir, const char *channels, const char *stat,
			  const char **images, char *err);


#endif
