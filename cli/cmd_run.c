/* `cohmap run`: every experiment into one results directory, in a budget. */
#include <stdio.h>
#include <stdlib.h>

#include "base/common.h"
#include "cli/commands.h"

/* `cohmap run`: every experiment of the registry with its own default
 * settings, in one directory and one budget. */
static int run_suite(const struct command *cmd, struct options *o, int argc, char **argv)
{
	if (argc > 0) {
		fprintf(stderr, "cohmap %s: unexpected argument '%s'\n", cmd->name, argv[0]);
		return EXIT_USAGE;
	}
	void **settings = calloc((size_t)experiment_count, sizeof *settings);
	int rc = settings ? EXIT_DONE : EXIT_RUNTIME;
	for (int i = 0; i < experiment_count && rc == EXIT_DONE; i++) {
		const struct experiment *e = experiment_registry[i];
		if (e->settings_size == 0)
			continue;
		if ((settings[i] = calloc(1, e->settings_size)) == NULL)
			rc = EXIT_RUNTIME;
		else
			options_defaults(e->options, e->option_count, settings[i]);
	}
	if (rc == EXIT_DONE)
		rc = run_experiments(cmd->name, o, experiment_registry, settings, experiment_count,
				     o->budget_s);
	else
		fprintf(stderr, "cohmap %s: out of memory\n", cmd->name);
	for (int i = 0; settings && i < experiment_count; i++)
		free(settings[i]);
	free(settings);
	return rc;
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
