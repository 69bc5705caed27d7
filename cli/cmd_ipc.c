/* `cohmap ipc`: threads against processes sharing memory. */
#include <stdio.h>

#include "cli/commands.h"
#include "base/common.h"
#include "experiments/experiment.h"

static int compare_sharing(const struct command *cmd, struct options *o, int argc, char **argv)
{
	if (argc > 0) {
		fprintf(stderr, "cohmap %s: unexpected argument '%s'\n", cmd->name, argv[0]);
		return EXIT_USAGE;
	}
	const struct experiment *list[] = { &experiment_ipc };
	return run_experiments(cmd->name, o, list, 1, 0);
}

static const char *const ipc_options[] = {
	"cpus", "kernel", "agents", "rounds", "sizes", "home", "pause", "samples", "precision",
	"time-limit", "sample-us", "watchdog", "seed", "output", "topology", "quiet", "help", NULL,
};

const struct command command_ipc = {
	.name = "ipc",
	.summary = "threads against processes (fork-shared, sysv, posix, memfd): latency and stream copy "
		   "bandwidth, interleaved (ipc.csv, ipc.png, ipc-bandwidth.png)",
	.options = ipc_options,
	.examples = "  cohmap ipc                              # all kinds, one pair per class, 8 rounds\n"
		    "  cohmap ipc --agents thread,sysv --rounds 20\n"
		    "  cohmap ipc -k cas_bounce -c S0:0-3\n"
		    "  cohmap ipc --sizes 8M                  # the stream copy through an 8 MiB ring (default 1M)\n",
	.run = compare_sharing,
};
