/* `cohmap attach`: what creating, attaching and first touching memory costs. */
#include <stdio.h>

#include "cli/commands.h"
#include "base/common.h"
#include "experiments/experiment.h"

static int measure_attach(const struct command *cmd, struct options *o, int argc, char **argv)
{
	if (argc > 0) {
		fprintf(stderr, "cohmap %s: unexpected argument '%s'\n", cmd->name, argv[0]);
		return EXIT_USAGE;
	}
	const struct experiment *list[] = { &experiment_attach };
	return run_experiments(cmd->name, o, list, 1, 0);
}

static const char *const attach_options[] = {
	"cpus", "mapping", "variant", "sizes", "samples", "precision", "time-limit", "watchdog",
	"stat", "seed", "output", "topology", "quiet", "help", NULL,
};

const struct command command_attach = {
	.name = "attach",
	.summary = "what getting memory costs: malloc, mmap, SysV, POSIX shm, memfd; create, first "
		   "touch, page faults, page tables; 4 KiB pages, MAP_POPULATE, THP, hugetlb "
		   "(attach.csv, attach.png, attach-phases.png)",
	.options = attach_options,
	.examples = "  cohmap attach                            # a page to MemAvailable/64, every mapping and variant\n"
		    "  cohmap attach --mapping mmap_private,sysv --variant plain,thp --sizes 4K-256M\n"
		    "  cohmap attach -c 1 --sizes 1G -n 5 --stat min\n",
	.run = measure_attach,
};
