/* Options are data: one row per option (name, type, default, range, help),
 * one struct holding every value. Each command lists the options it accepts;
 * parsing, range checks, defaults and --help all come from the rows. */
#ifndef COHMAP_OPTIONS_H
#define COHMAP_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The options that mean the same in every command that takes them. An
 * experiment's own options (sizes, mapping kinds, ...) are rows of its
 * descriptor, stored in its own settings struct (experiments/experiment.h). */
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
	const char *parallel;
	const char *cost;
	const char *save_cost;
	double probe_s;
	const char *fleet;
	bool no_wait;
	double threshold;
	bool quiet;
	bool help;
	/* the command's experiment's own settings (NULL for other commands) */
	void *settings;
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

/* Rows and where their values go: the shared rows that a command names
 * (names != NULL; values is a struct options), or all of an experiment's own
 * rows (names == NULL; values is its settings struct). */
struct option_set {
	const struct option_def *rows;
	int count;
	const char *const *names; /* NULL-terminated */
	void *values;
};

/* Fills every set's values with the defaults, then from argv (argv[0] is the
 * command name). On success, *first_arg is the index of the first positional
 * argument. On a usage error prints one line on stderr and returns -1. */
int options_parse(const char *cmd, const struct option_set *sets, int nsets, int argc, char **argv,
		  int *first_arg);
/* The defaults of rows into values. */
void options_defaults(const struct option_def *rows, int count, void *values);
/* usage, summary, the rows of every set, then the examples */
void options_usage(const char *cmd, const char *args, const char *summary,
		   const struct option_set *sets, int nsets, const char *examples, FILE *out);
/* A shared row by name, or NULL. */
const struct option_def *option_find(const char *name);
/* The row of a set by option name, or NULL. */
const struct option_def *option_set_find(const struct option_set *set, const char *name);
/* --stat: the statistic a plot shows, median or min. Returns 0, or -1
 * after "cohmap CMD: --stat must be median or min (got 'x')" on stderr. */
int option_check_stat(const char *cmd, const char *stat);
/* The same test without the message, for code that reports its own way. */
bool option_stat_known(const char *stat);
/* The seed of a run's shuffles: --seed, else from the clock and the pid
 * (recorded in meta.json, so any order can be replayed). */
unsigned long options_seed(const struct options *o);
/* A row's value in values, as a number (for range checks). */
double option_number(const struct option_def *d, const void *values);

#endif
