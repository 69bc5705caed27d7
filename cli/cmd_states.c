/* `cohmap states`: the cost of an access by the state of the line. */
#include <stdio.h>

#include "cli/commands.h"
#include "base/common.h"
#include "experiments/experiment.h"

static int measure_states(const struct command *cmd, struct options *o, int argc, char **argv)
{
	if (argc > 0) {
		fprintf(stderr, "cohmap %s: unexpected argument '%s'\n", cmd->name, argv[0]);
		return EXIT_USAGE;
	}
	const struct experiment *list[] = { &experiment_states };
	return run_experiments(cmd->name, o, list, 1, 0);
}

static const char *const states_options[] = {
	"cpus", "kernel", "all-pairs", "invalidate", "lines", "home", "pause", "samples", "precision",
	"time-limit", "watchdog", "stat", "seed", "events", "output", "topology", "quiet", "help", NULL,
};

const struct command command_states = {
	.name = "states",
	.summary = "cost of load/store/CAS/fetch-and-add by line state: M, E, S, I, local (states.csv, states.png)",
	.options = states_options,
	.examples = "  cohmap states                           # one pair per pair class, every state kernel\n"
		    "  cohmap states -c 0,1 -n 200 --seed 7\n"
		    "  cohmap states -k load_from_modified,load_from_invalid,load_local --all-pairs\n"
		    "  cohmap states -c S0:0-7 --invalidate evict --lines 64\n"
		    "  cohmap states -c 0,1 --events auto      # the requester's coherence counters per access\n"
		    "-n and --time-limit count per kernel of a pair: each round measures every kernel once.\n",
	.run = measure_states,
};
