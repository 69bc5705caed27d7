/* The command table, generated: `run`, one command per experiment of
 * COHMAP_EXPERIMENTS, then the tools of COHMAP_TOOLS. A measuring command is
 * its experiment's descriptor; this file is the only code between it and
 * main(). */
#include "cli/commands.h"

#include <stdlib.h>
#include <string.h>

#include "base/common.h"

/* `cohmap <experiment>`: that one experiment, no budget. */
static int measure_one(const struct command *cmd, struct options *o, int argc, char **argv)
{
	if (argc > 0) {
		fprintf(stderr, "cohmap %s: unexpected argument '%s'\n", cmd->name, argv[0]);
		return EXIT_USAGE;
	}
	const struct experiment *list[] = { cmd->experiment };
	void *settings[] = { o->settings };
	return run_experiments(cmd->name, o, list, settings, 1, 0);
}

#define EXPERIMENT_COMMAND(x) \
	static const struct command command_##x = { .name = #x, .run = measure_one, .experiment = &experiment_##x };
COHMAP_EXPERIMENTS(EXPERIMENT_COMMAND)
#undef EXPERIMENT_COMMAND

#define COMMAND_ENTRY(name) &command_##name,
const struct command *const command_table[] = {
	&command_run,
	COHMAP_EXPERIMENTS(COMMAND_ENTRY)
	COHMAP_TOOLS(COMMAND_ENTRY)
};
#undef COMMAND_ENTRY
const int command_count = ARRAY_SIZE(command_table);

const struct command *command_find(const char *name)
{
	for (int i = 0; i < command_count; i++)
		if (strcmp(command_table[i]->name, name) == 0)
			return command_table[i];
	return NULL;
}

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
		if (options_parse(c->name, sets, n, 1, name_only, first_arg) != 0)
			return -1;
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

const char *command_names(void)
{
	static char names[512];
	if (names[0] == '\0')
		for (int i = 0; i < command_count; i++) {
			size_t used = strlen(names);
			snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "",
				 command_table[i]->name);
		}
	return names;
}
