#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/selection.h"
#include "base/common.h"

int load_topology(const char *cmd, const struct options *o, struct topology *t)
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

int choose_cpus(const char *cmd, const struct options *o, const struct topology *t, int *cpus,
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

int choose_names(const char *cmd, const struct name_choice *c, const char *list, int *chosen,
		   int max)
{
	char *copy = strdup(list), *save = NULL;
	int n = 0;
	if (copy == NULL) {
		fprintf(stderr, "cohmap %s: out of memory\n", cmd);
		return -1;
	}
	for (char *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		int found = -1;
		for (int i = 0; i < c->count && found < 0; i++)
			if (strcmp(c->name(i), name) == 0)
				found = i;
		if (found < 0) {
			fprintf(stderr, "cohmap %s: unknown %s '%s' (", cmd, c->what, name);
			if (c->known_label == NULL)
				fprintf(stderr, "see cohmap list");
			else
				for (int i = 0; i < c->count; i++)
					if (i == 0)
						fprintf(stderr, "%s: %s", c->known_label, c->name(i));
					else
						fprintf(stderr, " %s", c->name(i));
			fprintf(stderr, ")\n");
			n = -1;
			break;
		}
		bool twice = false;
		for (int i = 0; i < n; i++)
			twice |= chosen[i] == found;
		if (twice || n == max) {
			if (twice)
				fprintf(stderr, "cohmap %s: %s '%s' is named twice\n", cmd, c->what, name);
			else
				fprintf(stderr, "cohmap %s: %s lists more than %d\n", cmd, c->option, max);
			n = -1;
			break;
		}
		chosen[n++] = found;
	}
	free(copy);
	if (n == 0)
		fprintf(stderr, "cohmap %s: %s names no %s\n", cmd, c->option, c->none);
	return n > 0 ? n : -1;
}
