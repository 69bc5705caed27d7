/* What a command selects from its options, each step printing its own
 * one-line error: the topology, the CPUs, names from a registry. */
#ifndef COHMAP_SELECTION_H
#define COHMAP_SELECTION_H

#include "base/options.h"
#include "topology/topology.h"

/* From --topology FILE, else from likwid. Returns an exit code. */
int load_topology(const char *cmd, const struct options *o, struct topology *t);
/* CPUs to measure from -c (likwid syntax) or all usable ones, in topology
 * order; with --topology, only those of the file that are usable here.
 * Returns the count, or -1 after printing the error. */
int choose_cpus(const char *cmd, const struct options *o, const struct topology *t, int *cpus,
		 int max, int at_least);

/* A comma-separated list of names from one registry (-k, --channel, --mapping,
 * --kind): entry i of the registry is named name(i). */
struct name_choice {
	const char *what;        /* "kernel": "unknown kernel 'x'", "kernel 'x' is named twice" */
	const char *option;      /* "--kernel" ... */
	const char *none;        /* ... "names no kernel" */
	const char *known_label; /* "channels": "(channels: ring pipe ...)"; NULL: "(see cohmap list)" */
	int count;
	const char *(*name)(int i);
};

/* Registry indices of the names in list, in its order, into chosen (at most
 * max). An unknown name, a name given twice or an empty list is one line on
 * stderr. Returns how many, or -1. */
int choose_names(const char *cmd, const struct name_choice *c, const char *list, int *chosen,
		   int max);

#endif
