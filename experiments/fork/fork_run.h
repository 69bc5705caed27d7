/* What the fork experiment's files share: the measures of a cell, their
 * samples, the run's context and the rows it writes. fork_run.c measures
 * the sizes, fork_census.c the page tables of N processes, fork_rows.c
 * writes fork.csv and pagetables.csv, fork_summary.c reads them back for
 * the tables, the headline and meta.json. Private to experiments/fork/. */
#ifndef COHMAP_FORK_RUN_H
#define COHMAP_FORK_RUN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/common.h"
#include "base/csv.h"
#include "experiments/fork/fork.h"

enum measure {
	M_FORK_RETURN, M_FORK_CHILD_START, M_PARENT_WRITE, M_CHILD_READ, M_CHILD_WRITE,
	M_FORK_EXEC, M_VFORK_EXEC, M_POSIX_SPAWN, M_COUNT
};

/* Samples of one measure of one cell. */
struct series {
	long n;
	double *ns, *minor, *major;
	bool failed, skipped;
	uint64_t wrong;
	bool checked;
	char reason[ERRLEN];
};

struct fork_ctx {
	struct run *r;
	struct fork_plan *p;
	struct csv_writer csv, census_csv;
	struct child_report *report;
	json_t *experiment;
	struct series s[M_COUNT];
	long rows, rows_failed, rows_skipped;
	long data_failures;
	/* For predicting the next size level: the size ratio to it, the time
	 * the touch passes of this level took and their prediction for the
	 * next, and what one no-mapping cell took. */
	double next_ratio, touch_spent_s, touch_next_s, baseline_s;
};

/* What every row of one cell shares. */
struct cell {
	const char *kind;
	size_t page_bytes;        /* 0: NA */
	uint64_t bytes;
	long long parent_vmpte, child_vmpte, huge_backed;
};

/* ---- fork_rows.c ---- */

/* Creates fork.csv and pagetables.csv in the run's directory. */
int fork_csv_open(struct fork_ctx *c, char *err);
/* The rows of one cell: every measure it has, from c->s. */
int fork_emit_cell(struct fork_ctx *c, const struct cell *cell, bool baseline, bool touched);
/* One pagetables.csv row; result: 0 measured, 1 skipped, -1 failed. */
int fork_emit_census(struct fork_ctx *c, bool hugetlb, uint64_t segment, int processes,
		     int result, const struct pagetable_census *pc, const char *reason);

/* ---- fork_census.c ---- */

/* The page-table census at 1, 2, 4, ... up to p->processes processes,
 * within budget_s (0: no limit); what it did into census. */
int fork_census_run(struct fork_ctx *c, double budget_s, json_t *census);

/* ---- fork_summary.c ---- */

/* meta.json's experiments.fork as planned. */
json_t *fork_plan_description(const struct fork_plan *p);
/* After a complete run: reads the CSVs back for the tables and the
 * headline, draws the plots, describes the run. Returns exit_code, made
 * EXIT_PARTIAL when the plots could not be drawn. */
int fork_report(struct run *r, const struct fork_plan *p, int exit_code);

#endif
