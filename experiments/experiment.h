/* An experiment is one folder, experiments/<name>/, and one line in
 * COHMAP_EXPERIMENTS below. Its descriptor is the only place that says what
 * the experiment is: the command, its --help, the man page and reference, the
 * `cohmap plot` redraw, the report's section and the `cohmap run` suite are
 * all generated from this list (cli/).
 *
 * Life of a run: options are parsed into the shared struct options and the
 * experiment's own settings (its option rows point into them); prepare()
 * checks them against the topology before anything is written, so bad input
 * leaves nothing behind; measure() writes its CSV, meta.json's entry and its
 * plots into the run's directory; release() frees the plan. draw() redraws
 * the plots from the CSV alone (`cohmap plot DIR`).
 *
 * HACKING.md walks through adding one. */
#ifndef COHMAP_EXPERIMENT_H
#define COHMAP_EXPERIMENT_H

#include <stddef.h>

#include "base/options.h"
#include "harness/results.h"
#include "topology/topology.h"

struct experiment {
	const char *name;
	const char *summary;   /* one line: `cohmap --help`, and the report when it has no prose */
	const char *examples;  /* the end of `cohmap <name> --help`, one "  cohmap ..." per line */

	/* Options: the shared rows it accepts (by name; base/options.c), and
	 * its own rows, whose offsets point into a settings struct of
	 * settings_size bytes that prepare() receives. */
	const char *const *shared_options;
	const struct option_def *options;
	int option_count;
	size_t settings_size;

	/* The report's section: a title, what the experiment does and how to
	 * read its pictures, for a reader who knows what a cache line is but
	 * not this tool. */
	const char *title;
	const char *shows;
	const char *read;

	/* The files: csv[0] is the one whose presence says the experiment ran
	 * (`cohmap plot` redraws what it finds); figures are the PNG names,
	 * "%s" standing for a kernel or series. Both NULL-terminated. */
	const char *const *csv;
	const char *const *figures;

	/* Validates o and settings against t and builds *plan. On bad input
	 * prints one line on stderr ("cohmap CMD: ...") and returns
	 * EXIT_USAGE; EXIT_SKIPPED with a reason in skip_reason when the
	 * machine lacks what it needs. */
	int (*prepare)(const char *cmd, const struct options *o, const void *settings,
		       const struct topology *t, void **plan, char *skip_reason);
	/* Measures into r: its CSV, meta.json's experiments.<name>, its plots.
	 * budget_s > 0 asks it to fit in that many seconds (the suite's share).
	 * Returns an exit code. experiments.<name> in meta.json holds at least
	 * "status" (complete, interrupted, failed), "csv", "plots" and
	 * "headline" (one sentence with the key numbers); experiment_describe()
	 * in harness/results.h sets the last three. */
	int (*measure)(struct run *r, void *plan, double budget_s);
	void (*release)(void *plan);
	/* Redraws the plots of a results directory from its files. Returns the
	 * number of images drawn, or -1 with a message in err. */
	int (*draw)(const char *dir, const struct topology *t, const char *stat, char *err);
};

/* The registry, in the order of `cohmap --help`, the suite and the report. */
#define COHMAP_EXPERIMENTS(X) \
	X(latency)            \
	X(states)             \
	X(ipc)                \
	X(falseshare)         \
	X(contention)         \
	X(bandwidth)          \
	X(channels)           \
	X(attach)             \
	X(fork)

#define DECLARE_EXPERIMENT(name) extern const struct experiment experiment_##name;
COHMAP_EXPERIMENTS(DECLARE_EXPERIMENT)
#undef DECLARE_EXPERIMENT

#endif
