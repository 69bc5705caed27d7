/* `cohmap list`: the kernels, from the one registry. */
#include <stdio.h>

#include "harness/commands.h"
#include "harness/common.h"
#include "kernels/registry.h"

static int list_kernels(const struct command *cmd, struct options *o, int argc, char **argv)
{
	(void)o;
	if (argc > 0) {
		fprintf(stderr, "cohmap %s: unexpected argument '%s'\n", cmd->name, argv[0]);
		return EXIT_USAGE;
	}
	printf("%-12s %-8s %s\n", "kernel", "family", "what one round trip does");
	for (int i = 0; i < kernel_count; i++) {
		const struct kernel *k = kernel_registry[i];
		printf("%-12s %-8s %s\n", k->name, k->family, k->summary);
		printf("%-21s expected: %d handoffs, %.0f line fill(s) per handoff: %s\n", "",
		       k->cost.handoffs, k->cost.fills_per_handoff, k->cost.model);
	}
	return EXIT_DONE;
}

static const char *const list_options[] = { "help", NULL };

const struct command command_list = {
	.name = "list",
	.summary = "list the kernels and what each should cost in protocol terms",
	.options = list_options,
	.examples = "  cohmap list\n",
	.run = list_kernels,
};
