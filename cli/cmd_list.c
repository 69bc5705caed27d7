/* `cohmap list`: the kernels, from the one registry. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "base/common.h"
#include "kernels/attach.h"
#include "kernels/channels.h"
#include "kernels/registry.h"
#include "kernels/states.h"

static int list_kernels(const struct command *cmd, struct options *o, int argc, char **argv)
{
	(void)o;
	if (argc > 0) {
		fprintf(stderr, "cohmap %s: unexpected argument '%s'\n", cmd->name, argv[0]);
		return EXIT_USAGE;
	}
	/* The name column fits the longest name (cas_bounce_llsc on aarch64). */
	int width = 12;
	for (int i = 0; i < kernel_count; i++)
		if ((int)strlen(kernel_registry[i]->name) > width)
			width = (int)strlen(kernel_registry[i]->name);
	printf("%-*s %-8s %s\n", width, "kernel", "family", "what one round trip does");
	for (int i = 0; i < kernel_count; i++) {
		const struct kernel *k = kernel_registry[i];
		printf("%-*s %-8s %s\n", width, k->name, k->family, k->summary);
		printf("%-*s expected: %d handoffs, %.0f line fill(s) per handoff: %s\n", width + 9, "",
		       k->cost.handoffs, k->cost.fills_per_handoff, k->cost.model);
	}
	/* The state kernels (cohmap states): one access of requester B to a
	 * line that owner A has put into a state. */
	printf("\n%-20s %-8s %s\n", "kernel", "family", "what requester B does (owner A prepares the lines)");
	for (int i = 0; i < state_kernel_count; i++) {
		const struct state_kernel *k = state_kernel_registry[i];
		printf("%-20s %-8s %s\n", k->name, "states", k->summary);
		printf("%-29s expected per access: %.0f fill(s) from another cache, %.0f from memory, "
		       "%.0f invalidation(s): %s\n", "", k->cost.fills_from_cache,
		       k->cost.fills_from_memory, k->cost.invalidations, k->cost.model);
	}
	/* The channels (cohmap channels) and the ways to get memory (cohmap attach). */
	printf("\n%-17s %-6s %s\n", "channel", "copies", "how a message goes from A to B; how B waits");
	for (int i = 0; i < channel_count; i++) {
		const struct channel *ch = channel_registry[i];
		printf("%-17s %6d %s; %s\n", ch->name, ch->copies, ch->summary, ch->wait);
	}
	printf("\n%-13s %s\n", "mapping", "how memory is created or attached (cohmap attach)");
	for (int i = 0; i < attach_kind_count; i++) {
		const struct attach_kind *k = attach_registry[i];
		printf("%-13s %s\n", k->name, k->summary);
		for (int v = 0; v < VARIANT_COUNT; v++)
			if (!attach_kind_can(k, v))
				printf("%-13s   no %s: %s\n", "", attach_variant_name(v), k->why_not[v]);
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
