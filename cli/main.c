/* cohmap: measure and draw what cache coherence costs between cores. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "base/common.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: cohmap <command> [options]\n\n"
		     "Measures what cache coherence costs between the cores of this machine and\n"
		     "draws it: core-to-core latency heatmaps in topology order (from likwid).\n\n"
		     "commands:\n");
	for (int i = 0; i < command_count; i++)
		fprintf(out, "  %-10s %s\n", command_table[i]->name, command_summary(command_table[i]));
	fprintf(out, "\n'cohmap <command> --help' shows a command's options.\n"
		     "exit codes: 0 done, 1 runtime failure, 2 usage error, 3 skipped (feature\n"
		     "unavailable), 4 partial (results written, plots not), 130 interrupted.\n\n"
		     "examples:\n"
		     "  cohmap run                      # the whole suite, results in results/\n"
		     "  cohmap topo                     # where each CPU sits, pairs per class\n"
		     "  cohmap latency -c S0:0-7 -k cas_bounce\n"
		     "  cohmap plot results/myhost-20261123T190000Z --stat min\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "cohmap: no command given (commands: %s; see cohmap --help)\n",
			command_names());
		return EXIT_USAGE;
	}
	const char *name = argv[1];
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
		if (argc > 2 && strcmp(name, "help") == 0)
			name = argv[2];
		else {
			usage(stdout);
			return EXIT_DONE;
		}
		const struct command *c = command_find(name);
		if (c) {
			command_usage(c, stdout);
			return EXIT_DONE;
		}
	}
	if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
		printf("cohmap %s\n", COHMAP_VERSION);
		return EXIT_DONE;
	}
	const struct command *c = command_find(name);
	if (c == NULL) {
		fprintf(stderr, "cohmap: unknown command '%s' (commands: %s; see cohmap --help)\n", name,
			command_names());
		return EXIT_USAGE;
	}
	struct options o;
	int first_arg;
	if (command_parse(c, argc - 1, argv + 1, &o, &first_arg) != 0)
		return EXIT_USAGE;
	o.command_argc = argc;
	o.command_argv = argv;
	int rc = EXIT_DONE;
	if (o.help)
		command_usage(c, stdout);
	else
		rc = c->run(c, &o, argc - 1 - first_arg, argv + 1 + first_arg);
	free(o.settings);
	return rc;
}
