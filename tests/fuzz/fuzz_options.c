/* libFuzzer target: the command line (base/options.c). The input is the
 * command's name, then its arguments, separated by NUL bytes (a first word
 * that names no command picks one by its first byte). Whatever the
 * arguments, parsing either fails (after one line on stderr, which the runner
 * discards with -close_fd_mask) or leaves every number inside its row's range
 * and the first positional argument inside argv. It is run twice per input,
 * because getopt keeps state between calls in one process. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "base/common.h"
#include "base/options.h"

#define MAX_ARGS 64

/* Every number of every set, shared and the experiment's own. */
static void check_ranges(const struct command *cmd, struct options *o)
{
	struct option_set sets[2];
	int n = command_option_sets(cmd, o, o->settings, sets);
	for (int k = 0; k < n; k++) {
		int count = sets[k].names ? 0 : sets[k].count;
		while (sets[k].names && sets[k].names[count])
			count++;
		for (int i = 0; i < count; i++) {
			const struct option_def *d = sets[k].names ? option_find(sets[k].names[i])
								   : &sets[k].rows[i];
			if (d->type != OPT_LONG && d->type != OPT_DOUBLE)
				continue;
			double v = option_number(d, sets[k].values);
			/* Unset (0, or -1 for --seed) or inside the row's range. */
			if (!(v == 0 || v == -1 || (v >= d->min && v <= d->max)) || isnan(v))
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char *text = malloc(size + 1), *argv[MAX_ARGS + 2];
	int argc = 0;
	if (text == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	const struct command *cmd = command_table[data[0] % command_count];
	if (command_find(text))
		cmd = command_find(text);
	argv[argc++] = (char *)cmd->name;
	char *p = text + strlen(text) + 1; /* past the command word */
	for (; p < text + size && argc < MAX_ARGS + 1; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;

	for (int round = 0; round < 2; round++) {
		struct options o;
		int first = -1;
		char *copy[MAX_ARGS + 2];
		/* getopt permutes argv; each round gets the original order. */
		memcpy(copy, argv, sizeof copy);
		if (command_parse(cmd, argc, copy, &o, &first) == 0) {
			if (first < 1 || first > argc)
				abort();
			check_ranges(cmd, &o);
			free(o.settings);
		}
	}
	free(text);
	return 0;
}
