/* cohmap: measure and draw what cache coherence costs between cores. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "base/common.h"

#define COMMAND_ENTRY(name) &command_##name,
static const struct command *const commands[] = { COHMAP_COMMANDS(COMMAND_ENTRY) };
#undef COMMAND_ENTRY

static void usage(FILE *out)
{
	fprintf(out, "usage: cohmap <command> [options]\n\n"
		     "Measures what cache coherence costs between the cores of this machine and\n"
		     "draws it: core-to-core latency heatmaps in topology order (from likwid).\n\n"
		     "commands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
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
		fprintf(stderr, "cohmap: no command given (commands: run, latency, states, falseshare, bandwidth, channels, attach, fork, topo, plot, report, compare, list; see cohmap --help)\n");
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
		for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
			if (strcmp(commands[i]->name, name) == 0) {
				options_usage(commands[i], stdout);
				return EXIT_DONE;
			}
	}
	if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
		printf("cohmap %s\n", COHMAP_VERSION);
		return EXIT_DONE;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (strcmp(commands[i]->name, name) != 0)
			continue;
		struct options o;
		int first_arg;
		if (options_parse(commands[i], argc - 1, argv + 1, &o, &first_arg) != 0)
			return EXIT_USAGE;
		o.command_argc = argc;
		o.command_argv = argv;
		if (o.help) {
			options_usage(commands[i], stdout);
			return EXIT_DONE;
		}
		return commands[i]->run(commands[i], &o, argc - 1 - first_arg, argv + 1 + first_arg);
	}
	fprintf(stderr, "cohmap: unknown command '%s' (commands: run, latency, states, falseshare, bandwidth, channels, attach, fork, topo, plot, report, compare, list; see cohmap --help)\n",
		name);
	return EXIT_USAGE;
}
