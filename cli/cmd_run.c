/* `cohmap run`: every experiment, one results directory, one time budget. */
#include <stdio.h>

#include "cli/commands.h"
#include "base/common.h"
#include "experiments/experiment.h"

static int run_suite(const struct command *cmd, struct options *o, int argc, char **argv)
{
	if (argc > 0) {
		fprintf(stderr, "cohmap %s: unexpected argument '%s'\n", cmd->name, argv[0]);
		return EXIT_USAGE;
	}
	return run_experiments(cmd->name, o, experiment_registry, experiment_count, o->budget_s);
}

static const char *const run_options[] = {
	"cpus", "home", "pause", "stat", "seed", "output", "topology", "budget", "quiet", "help", NULL,
};

const struct command command_run = {
	.name = "run",
	.summary = "every experiment into one results directory, in a time budget (what `make run` calls)",
	.options = run_options,
	.examples = "  cohmap run\n"
		    "  cohmap run --budget 600 -c S0:0-7 -o results/socket0\n",
	.run = run_suite,
};
