/* The charts of `cohmap ipc`, drawn from DIR/ipc-summary.csv by experiments/ipc/ipc.gp. */
#ifndef COHMAP_IPC_PLOTS_H
#define COHMAP_IPC_PLOTS_H

#define IPC_CHART_COUNT 2

/* ipc.png (latency) and ipc-bandwidth.png: images[] gets the names drawn,
 * NULL-terminated (room for IPC_CHART_COUNT + 1). Returns how many were drawn;
 * err holds the last failure when fewer than IPC_CHART_COUNT. */
int plot_ipc_charts(const char *dir, const char **images, char *err);

#endif
