/* What the serial engine (latency_matrix.c) and the parallel one
 * (latency_parallel.c) share: the job list, each job's outcome, and the
 * steps every measured pair goes through — measure it, record its row, let
 * the reference pair be measured again when it is due. */
#ifndef COHMAP_LATENCY_MATRIX_H
#define COHMAP_LATENCY_MATRIX_H

#include "base/csv.h"
#include "base/progress.h"
#include "experiments/latency/latency.h"

struct job {
	const struct kernel *kernel;
	int cpu_a, cpu_b;
	int line;                 /* 0 .. plan->lines - 1 (see line_plan.h) */
};

/* Where line `line` of the plan sits in its page: its address class
 * (line_plan.h), in cache lines from the page's start. */
int job_address_class(const struct latency_plan *p, int line);

/* What the summary, headline and model check need of a measured pair; the
 * rest goes to latency.csv at once. Kept small: a 256-CPU matrix has a
 * quarter of a million of them. */
struct outcome {
	enum pair_status status;
	double median_ns;
	double fills_per_handoff; /* sum of the fill events; NAN when any is NA */
};

/* latency.csv's columns for a plan: the base ones, one per counted event,
 * disturbed_samples and reason. */
enum { LATENCY_MAX_COLUMNS = 19 + MAX_EVENTS + 2 }; /* checked in latency_rows.c */
struct columns {
	int n;
	const char *names[LATENCY_MAX_COLUMNS];
};
void latency_columns(const struct latency_plan *p, struct columns *c);

/* Sum of the events that count line fills from another core; NAN when one
 * of them is NA, or none was asked for. */
double fills_of(const struct latency_plan *p, const double *per_handoff);

/* The reference pair's record: measured again every so often to catch drift. */
struct reference {
	json_t *log;          /* [{elapsed_s, median_ns}] */
	double first_ns;
	double worst_change;  /* largest relative move seen */
	uint64_t run_started, last_ns;
	long pairs_since;
};
void measure_reference(struct run *r, const struct latency_plan *p, struct reference *ref);

struct matrix {
	struct run *r;
	const struct latency_plan *p;
	struct job *jobs;
	struct outcome *results;  /* PAIR_OK when kept from a resumed run */
	long njobs;
	json_t *experiment;       /* meta.json's experiments.latency */
	long done, failed;
	/* latency.csv: its path, columns and the open writer (append) */
	const char *path;
	const char *const *columns;
	int ncolumns;
	struct csv_writer *csv;
	struct progress *bar;
	struct reference *ref;
	char (*event_reasons)[160];
	bool *warned;
	/* --lines: the NUMA nodes the lines are homed on in turn (line_plan.h) */
	const int *nodes;
	int nnodes;
};

/* Measures one job alone; reasons gets why an event is NA (may be m->event_reasons). */
void matrix_measure(struct matrix *m, const struct job *job, struct pair_measurement *out,
		    char reasons[MAX_EVENTS][160]);
/* Records job j's measurement: its row, its outcome, the progress bar, a
 * warning when it failed. Not for PAIR_INTERRUPTED. -1 when the row could
 * not be written (said on stderr). */
int matrix_record(struct matrix *m, long j, const struct pair_measurement *pm);
/* Measures the reference pair again if it is due. */
void matrix_between(struct matrix *m);

/* The parallel engine (--parallel): measures the pending jobs on lanes of
 * disjoint pairs (lanes.h). Returns 0, -1 when latency.csv could not be
 * written or no lane could start. */
int latency_parallel(struct matrix *m);

/* What a complete run prints (latency_summary.c): per kernel and class the
 * min / median / max over the pairs; the counters against each kernel's
 * protocol model; with --lines, the spread by address and the flagged pairs. */
void print_summary(const struct run *r, const struct latency_plan *p, const struct job *jobs,
		   const struct outcome *results, long njobs);
void print_expected_vs_measured(const struct latency_plan *p, const struct job *jobs,
				const struct outcome *results, long njobs,
				char reasons[MAX_EVENTS][160]);
void print_line_spread(const struct run *r, const struct latency_plan *p);

#endif
