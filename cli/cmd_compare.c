/* `cohmap compare DIR_A DIR_B`: two runs' latency matrices against each other. */
#include <stdio.h>

#include "cli/commands.h"
#include "base/common.h"
#include "cli/compare.h"

static int compare(const struct command *cmd, struct options *o, int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "cohmap %s: needs two results directories, A and B (got %d arguments)\n",
			cmd->name, argc);
		return EXIT_USAGE;
	}
	struct compare_request q = { .cmd = cmd->name, .dir_a = argv[0], .dir_b = argv[1],
				     .output = o->output, .stat = o->stat, .quiet = o->quiet };
	return compare_runs(&q);
}

static const char *const compare_options[] = { "output", "stat", "quiet", "help", NULL };

const struct command command_compare = {
	.name = "compare",
	.args = "DIR_A DIR_B",
	.summary = "B/A and B-A heatmaps of two runs' latency, and a table by pair class",
	.options = compare_options,
	.examples = "  cohmap compare results/before results/after\n"
		    "  cohmap compare results/hostA results/hostB --stat min -o results/a-vs-b\n",
	.run = compare,
};
