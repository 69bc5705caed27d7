/* The core-to-core latency experiment: every selected kernel on every ordered
 * pair of the selected CPUs, in shuffled order, with a reference pair
 * re-measured to catch drift; latency.csv, meta.json, heatmaps. */
#ifndef COHMAP_LATENCY_H
#define COHMAP_LATENCY_H

#include "harness/latency_pair.h"
#include "harness/placement.h"
#include "harness/results.h"

/* Room for every kernel of the registry. */
#define LATENCY_MAX_SKIPPED 16

struct latency_plan {
	const struct kernel **kernels;
	int nkernels;
	const int *cpus;          /* in topology order */
	int ncpus;
	enum home_policy home;
	int home_node;            /* for HOME_NODE */
	struct measure_options measure;
	unsigned long seed;
	const char *stat;         /* what the heatmap shows */
	bool resume;              /* keep the ok rows of an existing latency.csv */
	int parallel;             /* pairs measured at once (--parallel); 0: one after another */
	int lines;                /* cache lines each pair is measured on (--lines; line_plan.h) */
	size_t line_reserve_bytes; /* room a kernel's lines need in their page: the largest kernel's */
	long max_pairs;           /* per kernel; 0: every ordered pair (see experiments/latency/pair_plan.h) */
	const char *events_option;  /* --events as given (NULL: only disturbance events) */
	bool owns_events_option;    /* copied from a resumed run's meta.json */
	struct event_request events;
	/* kernels asked for that this CPU cannot run, and why (not measured) */
	const struct kernel *skipped[LATENCY_MAX_SKIPPED];
	char skipped_reason[LATENCY_MAX_SKIPPED][ERRLEN];
	int nskipped;
	char skipped_summary[ERRLEN]; /* "cas_bounce_lse, ...: why" */
};


/* Rebuilds the plan of an earlier run from its meta.json (for --resume).
 * Returns 0, or -1 with a message. */
int latency_plan_from_meta(const json_t *meta, const struct topology *t, struct latency_plan *p,
			   char *err);

/* -k LIST (NULL: every kernel of the latency family) into chosen, at most
 * max. Returns how many, or -1 after one line on stderr. */
int latency_choose_kernels(const char *cmd, const char *list, const struct kernel **chosen, int max);

/* Runs the experiment into r's directory. Returns an exit code. */
int latency_experiment(struct run *r, const struct latency_plan *plan);

#endif
