/* The subcommands: `run`, one per experiment (generated from
 * COHMAP_EXPERIMENTS in experiments/experiment.h), then the tools that read
 * results or the machine. A tool lives in cli/cmd_<name>.c as one const
 * struct command. */
#ifndef COHMAP_COMMANDS_H
#define COHMAP_COMMANDS_H

#include <stdbool.h>
#include <stdio.h>

#include "base/options.h"
#include "experiments/experiment.h"

struct command {
	const char *name;
	const char *args;                /* positional arguments, for usage */
	const char *summary;
	const char *const *options;      /* shared options it accepts, NULL-terminated */
	const char *examples;
	int (*run)(const struct command *cmd, struct options *o, int argc, char **argv);
	/* A measuring command: summary, examples and its own options come from
	 * the experiment's descriptor. */
	const struct experiment *experiment;
	/* The command reads its own arguments (main still answers --help):
	 * `fleet submit` passes sbatch's options, which no table here knows,
	 * through to sbatch. */
	bool own_arguments;
};

/* The tools, in --help order after the experiments. */
#define COHMAP_TOOLS(X) \
	X(topo)         \
	X(plan)         \
	X(plot)         \
	X(report)       \
	X(compare)      \
	X(fleet)        \
	X(list)

#define DECLARE_COMMAND(name) extern const struct command command_##name;
DECLARE_COMMAND(run)
COHMAP_TOOLS(DECLARE_COMMAND)
#undef DECLARE_COMMAND

/* Every command, in --help order: run, the experiments, the tools. */
extern const struct command *const command_table[];
extern const int command_count;
const struct command *command_find(const char *name);

/* The experiments, in registry order. */
extern const struct experiment *const experiment_registry[];
extern const int experiment_count;

const char *command_summary(const struct command *c);
const char *command_examples(const struct command *c);
/* The option sets of c: sets[0] the shared rows into o, sets[1] the
 * experiment's own rows into settings. Returns how many. */
int command_option_sets(const struct command *c, struct options *o, void *settings,
			struct option_set sets[2]);
/* Parses argv (argv[0] = the command's name) into o and, for an
 * experiment, a settings struct it allocates into o->settings (free it with
 * free()). Returns 0, or -1 after one line on stderr. */
int command_parse(const struct command *c, int argc, char **argv, struct options *o, int *first_arg);
void command_usage(const struct command *c, FILE *out);
/* "run, latency, ..., list": the names, for error messages. */
const char *command_names(void);

/* The body of every measuring command: topology, prepare all, clock, results
 * directory, measure each (a skipped one is recorded with its reason), final
 * status, report. settings[i] are list[i]'s own settings. budget_s > 0 is
 * shared among the experiments. Returns the worst exit code (interrupted >
 * failure > partial > done; skipped only if all skipped). */
int run_experiments(const char *cmd, struct options *o, const struct experiment *const *list,
		    void *const *settings, int n, double budget_s);

#endif
