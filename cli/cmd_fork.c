/* `cohmap fork`: fork() against mapping size and kind, the child's later
 * touches, fork+exec against vfork and posix_spawn, page-table memory. */
#include <stdio.h>

#include "cli/commands.h"
#include "base/common.h"
#include "experiments/experiment.h"

static int measure_fork(const struct command *cmd, struct options *o, int argc, char **argv)
{
	if (argc > 0) {
		fprintf(stderr, "cohmap %s: unexpected argument '%s'\n", cmd->name, argv[0]);
		return EXIT_USAGE;
	}
	const struct experiment *list[] = { &experiment_fork };
	return run_experiments(cmd->name, o, list, 1, 0);
}

static const char *const fork_options[] = {
	"mapping", "sizes", "max-size", "repeat", "processes", "segment", "output", "topology",
	"quiet", "help", NULL,
};

const struct command command_fork = {
	.name = "fork",
	.summary = "fork() against mapping size and kind, the child's later touches, spawning, "
		   "page tables of N processes (fork.csv, pagetables.csv, PNGs)",
	.options = fork_options,
	.examples = "  cohmap fork                                  # every kind, 1 MiB to 4 GiB: minutes on a VM\n"
		    "  cohmap fork --sizes 1M,64M,1G --repeat 5\n"
		    "  cohmap fork --mapping private_touched,shared_anon --max-size 1G\n"
		    "  cohmap fork --sizes 4M --processes 16 --segment 256M -o results/pagetables\n"
		    "  echo 600 > /proc/sys/vm/nr_hugepages   # as root: hugetlb_shared and the hugetlb census\n",
	.run = measure_fork,
};
