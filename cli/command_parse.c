/* Parsing a command's arguments and writing its --help: what main() and
 * the commands that run another command (`fleet node`) share. Apart from
 * cli/commands.c, which holds the command table, so that a tool may parse
 * for a measuring command without importing the table that lists the tool. */
#include "cli/commands.h"

#include <stdlib.h>
#include <string.h>

#include "base/common.h"

const char *command_summary(const struct command *c)
{
	return c->experiment ? c->experiment->summary : c->summary;
}

const char *command_examples(const struct command *c)
{
	return c->experiment ? c->experiment->examples : c->examples;
}

int command_option_sets(const struct command *c, struct options *o, void *settings,
			struct option_set sets[2])
{
	const char *const *shared = c->experiment ? c->experiment->shared_options : c->options;
	sets[0] = (struct option_set){ .names = shared, .values = o };
	if (c->experiment == NULL || c->experiment->option_count == 0)
		return 1;
	sets[1] = (struct option_set){ .rows = c->experiment->options,
				       .count = c->experiment->option_count,
				       .values = settings };
	return 2;
}

int command_parse(const struct command *c, int argc, char **argv, struct options *o, int *first_arg)
{
	struct option_set sets[2];
	void *settings = NULL;
	if (c->experiment && c->experiment->settings_size > 0 &&
	    (settings = calloc(1, c->experiment->settings_size)) == NULL) {
		fprintf(stderr, "cohmap %s: out of memory\n", c->name);
		return -1;
	}
	int n = command_option_sets(c, o, settings, sets);
	if (c->own_arguments) {
		/* the shared options' defaults, then only --help is ours */
		char *name_only[] = { argv[0], NULL };
		if (options_parse(c->name, sets, n, 1, name_only, first_arg) != 0) {
			free(settings);
			return -1;
		}
		o->help = argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
		*first_arg = 1;
		o->settings = settings;
		return 0;
	}
	if (options_parse(c->name, sets, n, argc, argv, first_arg) != 0) {
		free(settings);
		o->settings = NULL;
		return -1;
	}
	o->settings = settings;
	return 0;
}

void command_usage(const struct command *c, FILE *out)
{
	struct option_set sets[2];
	int n = command_option_sets(c, &(struct options){ 0 }, NULL, sets);
	options_usage(c->name, c->args, command_summary(c), sets, n, command_examples(c), out);
}

