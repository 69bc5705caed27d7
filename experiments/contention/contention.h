/* The contention ladder: 1, 2, 3, ... threads on one cache line, added in
 * topology order so that each step crosses one level (SMT sibling, L3 group,
 * other L3 groups, other socket), doing atomic operations, taking locks or
 * split locks; throughput, fairness and waits per step. kernels/contention.h
 * holds the operations and locks; here contention.c turns options into a
 * plan, contention_run.c runs one step of one item on pinned threads,
 * contention_sweep.c measures the plan in interleaved rounds,
 * contention_report.c writes the rows, meta.json and the headline,
 * contention_splitlock.c reads the kernel's split lock state, and
 * contention_plot.c draws contention.gp and contention-fairness.gp. */
#ifndef COHMAP_CONTENTION_H
#define COHMAP_CONTENTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/common.h"
#include "harness/counters.h"
#include "harness/results.h"
#include "kernels/contention.h"
#include "topology/topology.h"

/* What one row measures: an operation kernel or a lock. */
struct ct_item {
	enum ct_kind kind;
	const struct ct_op *op;     /* NULL for a lock */
	const struct ct_lock *lock; /* NULL for an operation */
	const char *name;
};

/* ---- one run: n pinned threads on one item, for run_ms ---- */

/* Acquisition waits in ticks, on a log scale with 8 buckets per power of
 * two (12% wide): p50 and p99 from counts, without storing every wait. */
#define CT_WAIT_BUCKETS 496
int ct_wait_bucket(uint64_t ticks);
double ct_wait_bucket_ticks(int bucket);    /* the middle of the bucket */
/* The q-quantile (0..1) of a histogram, in ticks; NAN when it is empty. */
double ct_wait_quantile(const uint64_t *hist, double q);

struct ct_run_request {
	const struct ct_item *item;
	const int *cpus;            /* thread i runs on cpus[i] */
	int n;
	size_t line_size;
	double run_ms;
	double watchdog_s;
	const struct clock_info *clock;
	const struct event_request *events; /* NULL: none */
};

struct ct_thread_result {
	uint64_t ops;               /* operations, or acquisitions */
	uint64_t retries;           /* CAS loop: failed attempts */
	double seconds;             /* its window, from the start signal to its last operation */
	double on_cpu;              /* share of the window it really ran */
	uint64_t wait_max_ticks;    /* locks: the longest acquisition */
	uint32_t waits[CT_WAIT_BUCKETS];
	long long events[MAX_EVENTS];
	bool event_failed[MAX_EVENTS];
	char event_reason[MAX_EVENTS][160];
};

enum ct_run_status { CT_RUN_OK, CT_RUN_FAILED, CT_RUN_INTERRUPTED, CT_RUN_SKIPPED };

/* Runs the threads and checks the word or the lock's counter; out[i] for
 * thread i. FAILED: reason says why (a watchdog, a lost update: "the counter
 * holds X after Y acquisitions"); SKIPPED: the kernel stopped a split lock
 * with SIGBUS. */
enum ct_run_status ct_run(const struct ct_run_request *q, struct ct_thread_result *out,
			  char *reason);

/* Jain's fairness index of n rates: (sum x)^2 / (n sum x^2); 1 when every
 * thread got the same share, 1/n when one got everything. NAN for n < 1 or
 * all zero. */
double jain_index(const double *x, int n);

/* ---- split locks ---- */

struct ct_split_state {
	char mitigate[32];          /* /proc/sys/kernel/split_lock_mitigate, "NA" */
	bool cpu_detects;           /* /proc/cpuinfo: split_lock_detect */
	bool cpu_bus_lock_detect;   /* /proc/cpuinfo: bus_lock_detect */
	char cmdline[48];           /* split_lock_detect= on the kernel command line, "" */
	bool kernel_interferes;     /* the kernel traps, slows or kills split locks */
	char summary[320];          /* one sentence for the report */
};
void ct_split_state_read(struct ct_split_state *s);
struct json_t;
struct json_t *ct_split_state_json(const struct ct_split_state *s);

/* ---- the plan ---- */

enum ct_order { CT_ORDER_TOPOLOGY, CT_ORDER_SPREAD, CT_ORDER_LIST };
const char *ct_order_name(enum ct_order o);

struct ct_step {
	int threads;
	int cpu_added;               /* the CPU this step adds */
	enum pair_class added;       /* its nearest class to the CPUs before it (PAIR_SELF: step 1) */
	enum pair_class span;        /* the farthest pair of the step's CPUs */
};

#define CT_MAX_ITEMS 32

struct contention_plan {
	struct ct_item items[CT_MAX_ITEMS];
	int nitems;
	int *cpus;                   /* the ladder: step k uses cpus[0..threads) */
	int ncpus;
	struct ct_step *steps;
	int nsteps;
	enum ct_order order;
	long rounds;
	double run_ms;
	double watchdog_s;
	unsigned long seed;
	size_t line_size;
	struct event_request events;
	int coherence[MAX_EVENTS];   /* the events summed per operation */
	int ncoherence;
	struct ct_split_state split;
	char reductions[512];        /* what the budget removed, "" when nothing */
};

double ct_estimate_s(const struct contention_plan *p, double overhead_per_run_s);
double ct_fit_budget(struct contention_plan *p, double budget_s, double overhead_per_run_s);

/* ---- measuring and reporting ---- */

/* What a step of one item came to over its rounds. */
struct ct_point {
	const struct ct_item *item;
	const struct ct_step *step;
	const char *status;          /* "ok", "failed", "skipped" */
	char reason[ERRLEN];
	int rounds;
	double ops_per_s, ops_per_s_min, ops_per_s_max; /* median, min, max over rounds */
	double ns_per_op;            /* threads x window / operations (median round) */
	uint64_t ops;                /* operations over every round */
	double thread_min, thread_max; /* per-thread operations per second, median round */
	double jain;                 /* median over rounds */
	double wait_p50_ns, wait_p99_ns, wait_max_ns;
	double retries_per_success;  /* CAS loop; NAN otherwise */
	double events_per_op;        /* NAN: not counted */
	char counter_event[ERRLEN], counter_reason[ERRLEN];
};

int contention_experiment(struct run *r, struct contention_plan *p, double budget_s);

/* contention_report.c: the rows of contention.csv as points finish */
struct csv_writer;
int ct_rows_open(const struct run *r, struct csv_writer *w, char *err);
int ct_row_write(struct csv_writer *w, const struct contention_plan *p, const struct topology *t,
		 const struct ct_point *pt, char *err);
void ct_report(struct run *r, const struct contention_plan *p, const struct ct_point *points,
	       int npoints, const char *status);

/* contention_plot.c */
int plot_contention(const char *dir, const char *stat, const char **images, char *err);

#endif
