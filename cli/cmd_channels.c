/* `cohmap channels`: copying against sharing between two processes. */
#include <stdio.h>

#include "cli/commands.h"
#include "base/common.h"
#include "experiments/experiment.h"

static int measure_channels(const struct command *cmd, struct options *o, int argc, char **argv)
{
	if (argc > 0) {
		fprintf(stderr, "cohmap %s: unexpected argument '%s'\n", cmd->name, argv[0]);
		return EXIT_USAGE;
	}
	const struct experiment *list[] = { &experiment_channels };
	return run_experiments(cmd->name, o, list, 1, 0);
}

static const char *const channels_options[] = {
	"cpus", "channel", "sizes", "samples", "precision", "time-limit", "sample-us", "watchdog",
	"stat", "seed", "output", "topology", "quiet", "help", NULL,
};

const struct command command_channels = {
	.name = "channels",
	.summary = "copying against sharing: messages between two processes through a shared ring, "
		   "a pipe, vmsplice, a socket, process_vm_readv or a pointer (channels.csv, "
		   "channels-latency.png, channels-bandwidth.png)",
	.options = channels_options,
	.examples = "  cohmap channels                          # 64 B to 64 MiB, every channel, one pair per class\n"
		    "  cohmap channels -c 0,1 --channel pipe,ring,handover --sizes 64-1M\n"
		    "  cohmap channels --sizes 64,4K,256K,16M -n 9 --seed 7\n",
	.run = measure_channels,
};
