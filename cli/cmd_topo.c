/* `cohmap topo`: where each CPU sits and how many pairs fall in each class. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/commands.h"
#include "harness/selection.h"
#include "base/common.h"

static int show_topology(const struct command *cmd, struct options *o, int argc, char **argv)
{
	char err[ERRLEN];
	struct topology t = { 0 };
	int rc, n, *cpus = NULL;

	if (argc > 0) {
		fprintf(stderr, "cohmap %s: unexpected argument '%s'\n", cmd->name, argv[0]);
		return EXIT_USAGE;
	}
	if ((rc = load_topology(cmd->name, o, &t)) != EXIT_DONE)
		return rc;
	rc = EXIT_USAGE;
	cpus = calloc((size_t)t.ncpus, sizeof *cpus);
	/* With a topology file and no -c, show all its CPUs: the file may describe
	 * another machine, whose CPUs this process cannot use. */
	if (cpus == NULL)
		goto out;
	if (o->topology && !o->cpus) {
		for (n = 0; n < t.ncpus; n++)
			cpus[n] = t.cpus[n].cpu;
		topology_sort(&t, cpus, n);
	} else if (o->topology) {
		/* Only -c is resolved on this machine; the places shown are the file's. */
		if ((n = topology_select(&t, o->cpus, cpus, t.ncpus, err)) < 0) {
			fprintf(stderr, "cohmap %s: %s\n", cmd->name, err);
			goto out;
		}
		topology_sort(&t, cpus, n);
	} else if ((n = choose_cpus(cmd->name, o, &t, cpus, t.ncpus, 1)) < 0) {
		goto out;
	}
	/* Saved before the table is printed, so that a place it cannot be
	 * written to gives one line, not the table and then the error. */
	if (o->save && topology_save(&t, o->save, err) != 0) {
		fprintf(stderr, "cohmap %s: %s\n", cmd->name, err);
		goto out;
	}
	topology_print(&t, cpus, n, stdout);
	if (o->save)
		printf("\ntopology written to %s\n", o->save);
	rc = EXIT_DONE;
out:
	free(cpus);
	topology_free(&t);
	return rc;
}

static const char *const topo_options[] = { "cpus", "topology", "save", "help", NULL };

const struct command command_topo = {
	.name = "topo",
	.summary = "print the topology (likwid): each CPU's place, caches, pairs per class",
	.options = topo_options,
	.examples = "  cohmap topo\n"
		    "  cohmap topo -c S0:0-3\n"
		    "  cohmap topo --save mymachine.topo\n"
		    "  cohmap topo --topology topology/fixtures/intel-2s-smt.topo\n",
	.run = show_topology,
};
