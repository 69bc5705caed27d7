/* Options are data: one row per option (name, type, default, range, help),
 * one struct holding every value. Each command lists the options it accepts;
 * parsing, range checks, defaults and --help all come from the rows. */
#ifndef COHMAP_OPTIONS_H
#define COHMAP_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct options {
	const char *cpus;
	const char *kernels;
	const char *home;
	bool pause;
	long samples;
	double precision_pct;
	double time_limit_s;
	double sample_us;
	double watchdog_s;
	const char *stat;
	long seed;
	const char *output;
	const char *topology;
	const char *save;
	const char *resume;
	const char *events;
	const char *agents;
	double budget_s;
	/* falseshare */
	long threads;
	const char *fs_kinds;
	const char *distances;
	const char *placements;
	const char *pairs;
	long rounds;
	double run_ms;
	/* channels, attach */
	const char *sizes;
	const char *channels;
	const char *mappings;
	const char *variants;
	/* states */
	bool all_pairs;
	const char *invalidate;
	long lines;
	/* fork */
	const char *max_size;
	long repeat;
	long processes;
	const char *segment;
	/* bandwidth */
	const char *matrix_size;
	const char *chunk;
	const char *producer;
	const char *consumers;
	bool quiet;
	bool help;
	/* the whole command line, for meta.json */
	int command_argc;
	char **command_argv;
};

enum option_type { OPT_FLAG, OPT_LONG, OPT_DOUBLE, OPT_STRING };

struct option_def {
	const char *name;
	char short_name;
	enum option_type type;
	const char *metavar;
	const char *default_value;  /* NULL: unset */
	double min, max;            /* for numbers */
	const char *help;
	size_t offset;              /* into struct options */
};

struct command {
	const char *name;
	const char *args;           /* positional arguments, for usage */
	const char *summary;
	const char *const *options; /* names of accepted options, NULL-terminated */
	const char *examples;
	int (*run)(const struct command *cmd, struct options *o, int argc, char **argv);
};

/* Fills o from defaults and argv (argv[0] is the command name). On success,
 * *first_arg is the index of the first positional argument. On a usage error
 * prints one line on stderr and returns -1. */
int options_parse(const struct command *cmd, int argc, char **argv, struct options *o,
		  int *first_arg);
void options_usage(const struct command *cmd, FILE *out);
const struct option_def *option_find(const char *name);

#endif
