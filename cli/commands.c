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
