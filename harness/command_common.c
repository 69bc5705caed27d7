#include <stdio.h>

#include "harness/commands.h"
#include "harness/common.h"

int command_topology(const char *cmd, const struct options *o, struct topology *t)
{
	char err[ERRLEN];
	if (o->topology) {
		if (topology_load(t, o->topology, err) != 0) {
			fprintf(stderr, "cohmap %s: %s\n", cmd, err);
			return EXIT_USAGE;
		}
		return EXIT_DONE;
	}
	if (topology_detect(t, err) != 0) {
		fprintf(stderr, "cohmap %s: cannot read the topology: %s\n", cmd, err);
		return EXIT_RUNTIME;
	}
	return EXIT_DONE;
}

int command_cpus(const char *cmd, const struct options *o, const struct topology *t, int *cpus,
		 int max, int at_least)
{
	char err[ERRLEN];
	int n;
	if (o->cpus) {
		n = topology_select(t, o->cpus, cpus, max, err);
		if (n < 0) {
			fprintf(stderr, "cohmap %s: %s\n", cmd, err);
			return -1;
		}
	} else {
		n = topology_usable(t, cpus, max);
	}
	/* A topology file may describe another machine: only CPUs that are
	 * here, where the file puts them, can be measured. */
	if (o->topology && n > 0 && (n = topology_keep_here(t, cpus, n, err)) < 0) {
		fprintf(stderr, "cohmap %s: %s\n", cmd, err);
		return -1;
	}
	if (n < at_least) {
		fprintf(stderr, "cohmap %s: needs at least %d CPUs, %s %d\n", cmd, at_least,
			o->cpus ? "the expression selects" : "this process may use only", n);
		return -1;
	}
	topology_sort(t, cpus, n);
	return n;
}
