/* `cohmap falseshare`: false sharing triggered, swept over distance and
 * placement, mapped over CPU pairs, and fixed by padding. */
#include <stdio.h>

#include "cli/commands.h"
#include "base/common.h"
#include "experiments/experiment.h"

static int measure_falseshare(const struct command *cmd, struct options *o, int argc, char **argv)
{
	if (argc > 0) {
		fprintf(stderr, "cohmap %s: unexpected argument '%s'\n", cmd->name, argv[0]);
		return EXIT_USAGE;
	}
	const struct experiment *list[] = { &experiment_falseshare };
	return run_experiments(cmd->name, o, list, 1, 0);
}

static const char *const falseshare_options[] = {
	"cpus", "threads", "kind", "distances", "placement", "pairs", "rounds", "run-ms", "events",
	"agents", "home", "watchdog", "seed", "output", "topology", "quiet", "help", NULL,
};

const struct command command_falseshare = {
	.name = "falseshare",
	.summary = "threads whose counters share a line: slowdown against distance, per placement "
		   "and CPU pair, and the padding fix (falseshare.csv, falseshare-*.png)",
	.options = falseshare_options,
	.examples = "  cohmap falseshare                       # 2 threads, every kind, distance and placement\n"
		    "  cohmap falseshare -c 0,1 --kind store --distances 0,8,64,128 --pairs none\n"
		    "  cohmap falseshare --threads 8 --placement l3,cross-socket --rounds 9\n"
		    "  cohmap falseshare -c S0:0-7 --pairs classes --run-ms 50 -o results/fs\n"
		    "  cohmap falseshare -c 0,1 --agents sysv  # processes sharing SysV shm, not threads\n"
		    "  cohmap falseshare --events MACHINE_CLEARS:MEMORY_ORDERING   # default: auto; none\n",
	.run = measure_falseshare,
};
