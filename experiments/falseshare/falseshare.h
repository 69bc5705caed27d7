/* The false-sharing experiment: T pinned threads each update their own
 * counter, with neighbouring counters d bytes apart, against the same threads
 * with every counter in its own block of lines; placements from the topology;
 * a pair heatmap; the packed-vs-padded struct demo. kernels/falseshare.c holds
 * the update loops; in experiments/falseshare/, falseshare_run.c runs them on
 * pinned threads, falseshare_placement.c places the threads,
 * falseshare_sweep.c measures the plan, falseshare_report.c writes and prints
 * the results, falseshare.c turns options into a plan. */
#ifndef COHMAP_FALSESHARE_H
#define COHMAP_FALSESHARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/agents.h"
#include "base/common.h"
#include "harness/counters.h"
#include "harness/placement.h"
#include "harness/results.h"
#include "kernels/falseshare.h"

/* ---- one run: n pinned agents (threads or processes), started together ---- */

struct fs_run_request {
	const struct fs_kind *kind;          /* the update loop, or NULL for... */
	const struct fs_workload *workload;  /* ... the fix demo's fixed work */
	const int *cpus;                     /* thread i runs on cpus[i] */
	int n;
	size_t stride;          /* bytes between neighbouring counters (structs); 0: one shared word */
	size_t line_size;       /* from the topology: blocks of 2 lines keep harness data apart */
	double run_ms;          /* kind: every thread runs until this much time has passed */
	uint64_t items;         /* workload: every thread tallies this many items */
	int home_node;          /* NUMA node of the memory, -1 for no placement */
	double watchdog_s;
	const struct clock_info *clock;
	const struct event_request *events;  /* counted per thread around its window; NULL: none */
	/* Threads (the default), or processes with the counters in shared
	 * memory of this kind: the same lines, reached through another
	 * process's page tables. */
	enum agent_kind agents;
};

struct fs_thread_result {
	uint64_t ops;        /* updates (loads, items) the thread did and verified */
	uint32_t counter;    /* what its counter held at the end (at distance 0: the shared word) */
	double seconds;      /* from the start signal to its last operation */
	double start_s;      /* when it saw the start signal, from the earliest thread's */
	double on_cpu;       /* share of its window the thread really ran (CPU time / wall time) */
	long long events[MAX_EVENTS];        /* counts over its window, per requested event */
	bool event_failed[MAX_EVENTS];       /* NA: see event_reason */
	char event_reason[MAX_EVENTS][160];
};

enum fs_run_status { FS_RUN_OK, FS_RUN_FAILED, FS_RUN_INTERRUPTED };

/* Runs the threads; out[i] for thread i. On failure reason says why (a
 * watchdog, a thread that found wrong data in its counter). *home_node is
 * where the memory landed (-1 unknown). */
enum fs_run_status fs_run(const struct fs_run_request *q, struct fs_thread_result *out,
			  int *home_node, char *reason);

/* Whether the threads of a run were disturbed: a thread that lost part of
 * its window to another task, or (timed runs) windows that overlap for less
 * than most of the run (a thread that started or stopped late ran part of the time alone,
 * without its neighbour). why says which. */
bool fs_run_disturbed(const struct fs_thread_result *res, int n, const int *cpus, bool timed,
		      char *why, size_t size);

/* ---- placements ---- */

enum fs_placement {
	FS_SMT,           /* SMT siblings of one core */
	FS_L3,            /* distinct cores of one L3 group */
	FS_SPREAD_L3,     /* L3 groups of one socket, round robin */
	FS_CROSS_SOCKET,  /* sockets, round robin */
	FS_PLACEMENT_COUNT
};
const char *fs_placement_name(enum fs_placement p);         /* "smt", "l3", ... */
const char *fs_placement_description(enum fs_placement p);  /* "SMT siblings of one core" */

/* Up to `threads` CPUs of `cpus` (the selection, topology order) for
 * placement p, into out. Returns how many (at least 2), or 0 with the reason
 * this selection cannot host p in why. */
int fs_place(const struct topology *t, const int *cpus, int n, enum fs_placement p, int threads,
	     int *out, char *why);

/* ---- the plan ---- */

enum fs_pairs { FS_PAIRS_ALL, FS_PAIRS_CLASSES, FS_PAIRS_NONE };
const char *fs_pairs_name(enum fs_pairs p);   /* "all", "classes", "none" */

struct fs_group {
	bool requested;
	int n;              /* threads it runs; 0: skipped, see why */
	int *cpus;          /* thread i on cpus[i] */
	char why[ERRLEN];
};

/* The distance at which the pair heatmap is measured: two counters 8 bytes
 * apart, like two adjacent 64-bit fields of one struct. */
#define FS_PAIR_DISTANCE 8

struct falseshare_plan {
	const struct fs_kind *kinds[16];
	int nkinds;
	size_t distances[64];       /* ascending, 0 first when present */
	int ndistances;
	struct fs_group groups[FS_PLACEMENT_COUNT];
	int *cpus;                  /* the selection, topology order */
	int ncpus;
	enum fs_pairs pairs;
	int *pair_cpus;             /* pairs for the heatmap: [2k], [2k+1] */
	long npairs;
	int *class_pairs;           /* one pair per pair class, for a small budget */
	long nclass_pairs;
	const struct fs_kind *pair_kind;
	int threads;                /* asked for; a placement may hold fewer */
	enum agent_kind agents;     /* threads, or processes over one kind of shared memory */
	long rounds;
	double run_ms;
	double watchdog_s;
	enum home_policy home;
	int home_node;
	unsigned long seed;
	size_t line_size;
	/* Blocks of two lines: the padded baseline, and the padding of the fix
	 * demo (the destructive interference size). Two, not one: the
	 * adjacent-line prefetcher of many x86 cores fetches lines in aligned
	 * pairs, so one line of padding can still share. */
	size_t padded_stride;
	int fix_group;              /* placement the fix demo runs on, -1: none */
	struct event_request events;
	/* The events whose sum per update is reported as coherence events: the
	 * fills from another core's cache when the request has them, else the
	 * first event asked for; none when nothing can be asked for. */
	int coherence[MAX_EVENTS];
	int ncoherence;
	char reductions[1024];      /* what the budget removed, "" when nothing */
};

/* The runs the plan makes, and their estimated seconds given the harness's
 * cost of one run (thread start, memory) beside its run time. */
long fs_run_count(const struct falseshare_plan *p);
double fs_estimate_s(const struct falseshare_plan *p, double overhead_per_run_s);
/* Shrinks the plan until the estimate fits budget_s: rounds, pairs, run
 * length, distances, in that order, writing what it removed into
 * p->reductions. Returns the new estimate. */
double fs_fit_budget(struct falseshare_plan *p, double budget_s, double overhead_per_run_s);

/* Measures the plan into r. Returns an exit code. budget_s > 0: stop
 * measuring (and say so) when it runs out. */
int falseshare_experiment(struct run *r, const struct falseshare_plan *p, double budget_s);

#endif
