/* An experiment is what a measuring command runs: it checks its options
 * against the topology first (so bad input leaves nothing behind), then
 * measures into a results directory. `cohmap run` runs them all, in one
 * directory, each in its share of the time budget.
 *
 * Adding an experiment: write harness/exp_<name>.c defining `const struct
 * experiment experiment_<name>` and add X(<name>) to COHMAP_EXPERIMENTS. Its
 * command (cmd_<name>.c) is a few lines around run_experiments(). */
#ifndef COHMAP_EXPERIMENT_H
#define COHMAP_EXPERIMENT_H

#include "base/options.h"
#include "harness/results.h"

struct experiment {
	const char *name;
	const char *summary;
	/* Validates o against t and builds *plan. On bad input prints one line
	 * on stderr ("cohmap CMD: ...") and returns EXIT_USAGE; EXIT_SKIPPED
	 * with a reason in skip_reason when the machine lacks what it needs. */
	int (*prepare)(const char *cmd, const struct options *o, const struct topology *t,
		       void **plan, char *skip_reason);
	/* Measures into r: its CSV, meta.json's experiments.<name>, its plots.
	 * budget_s > 0 asks it to fit in that many seconds. Returns an exit code.
	 * experiments.<name> in meta.json holds at least: "status" (complete,
	 * interrupted, failed), "csv" (file names), "plots" (file names of the
	 * PNGs, for the report) and "headline" (one sentence with the key
	 * numbers, e.g. "median one-way latency 48 ns (same L3) to 130 ns (cross
	 * socket)"); experiment_describe() sets the last three. */
	int (*measure)(struct run *r, void *plan, double budget_s);
	void (*release)(void *plan);
};

#define COHMAP_EXPERIMENTS(X) \
	X(latency)            \
	X(states)             \
	X(ipc)                \
	X(falseshare)          \
	X(bandwidth)          \
	X(channels)           \
	X(attach)              \
	X(fork)

#define DECLARE_EXPERIMENT(name) extern const struct experiment experiment_##name;
COHMAP_EXPERIMENTS(DECLARE_EXPERIMENT)
#undef DECLARE_EXPERIMENT

/* Records an experiment's files and headline in meta.json. */
void experiment_describe(struct run *r, const char *name, const char *const *csv_files,
			 const char *const *plot_files, const char *headline);

extern const struct experiment *const experiment_registry[];
extern const int experiment_count;

/* The body of every measuring command: topology, prepare all, clock, results
 * directory, measure each (a skipped one is recorded with its reason), final
 * status. budget_s > 0 is shared among the experiments. Returns the worst exit
 * code (interrupted > failure > partial > done; skipped only if all skipped). */
int run_experiments(const char *cmd, struct options *o, const struct experiment *const *list,
		    int n, double budget_s);

#endif
