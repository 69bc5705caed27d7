/* `cohmap latency`: the core-to-core latency matrix. */
#include <stdio.h>

#include "cli/commands.h"
#include "base/common.h"
#include "experiments/experiment.h"

static int measure_latency(const struct command *cmd, struct options *o, int argc, char **argv)
{
	if (argc > 0) {
		fprintf(stderr, "cohmap %s: unexpected argument '%s'\n", cmd->name, argv[0]);
		return EXIT_USAGE;
	}
	const struct experiment *list[] = { &experiment_latency };
	return run_experiments(cmd->name, o, list, 1, 0);
}

static const char *const latency_options[] = {
	"cpus", "kernel", "home", "pause", "samples", "precision", "time-limit", "sample-us",
	"watchdog", "stat", "seed", "events", "agents", "output", "topology", "resume", "quiet", "help", NULL,
};

const struct command command_latency = {
	.name = "latency",
	.summary = "core-to-core latency matrix and heatmaps (latency.csv, latency-<kernel>.png)",
	.options = latency_options,
	.examples = "  cohmap latency                          # all CPUs, all latency kernels\n"
		    "  cohmap latency -c 0,1 -k load_store -n 200 --seed 7\n"
		    "  cohmap latency -c S0:0-7 --home second --stat min\n"
		    "  cohmap latency -c 0,1 --events auto      # coherence counters against the model\n"
		    "  cohmap latency -c 0,1 --agents sysv      # agents as processes sharing SysV shm\n"
		    "  cohmap latency -c N:0-15 --precision 1 --time-limit 0.5 -o results/quiet-box\n"
		    "  cohmap latency --resume results/quiet-box   # after Ctrl-C: measure what is missing\n",
	.run = measure_latency,
};
