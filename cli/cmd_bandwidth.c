/* `cohmap bandwidth`: producer -> consumer stream bandwidth. */
#include <stdio.h>

#include "cli/commands.h"
#include "base/common.h"
#include "experiments/experiment.h"

static int measure_bandwidth(const struct command *cmd, struct options *o, int argc, char **argv)
{
	if (argc > 0) {
		fprintf(stderr, "cohmap %s: unexpected argument '%s'\n", cmd->name, argv[0]);
		return EXIT_USAGE;
	}
	const struct experiment *list[] = { &experiment_bandwidth };
	return run_experiments(cmd->name, o, list, 1, 0);
}

static const char *const bandwidth_options[] = {
	"cpus", "sizes", "matrix-size", "chunk", "producer", "consumer", "home", "agents", "pause",
	"samples", "precision", "time-limit", "sample-us", "watchdog", "stat", "seed", "output",
	"topology", "quiet", "help", NULL,
};

const struct command command_bandwidth = {
	.name = "bandwidth",
	.summary = "producer -> consumer bandwidth by buffer size and CPU pair, with the same-core "
		   "baseline (bandwidth.csv, bandwidth-*.png)",
	.options = bandwidth_options,
	.examples = "  cohmap bandwidth                        # sizes from the caches, every pair class\n"
		    "  cohmap bandwidth -c 0,1 --consumer copy,memcpy,copy_nt --sizes 16K,256K,64M\n"
		    "  cohmap bandwidth -c 0 --consumer copy --sizes 256K -n 20   # same core only\n"
		    "  cohmap bandwidth -c S0:0-7 --matrix-size 64K --home second --stat min\n",
	.run = measure_bandwidth,
};
