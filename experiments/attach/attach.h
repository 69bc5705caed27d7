/* The attach experiment's plan, points and results, shared by its files:
 * attach.c (options, plan, descriptor), attach_machine.c (what this machine
 * allows), attach_run.c (samples in fresh children, budget, the points),
 * attach_report.c (CSV rows, summary, headline, meta.json). */
#ifndef COHMAP_EXPERIMENT_ATTACH_H
#define COHMAP_EXPERIMENT_ATTACH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/common.h"
#include "base/csv.h"
#include "base/memory.h"
#include "base/stats.h"
#include "harness/results.h"
#include "kernels/attach.h"

#define MAX_SIZES 48
#define MAX_KINDS 16
#define MIN_SAMPLES 3
#define MAX_SAMPLES 1000
#define GIB (1024.0 * 1024 * 1024)
/* The cap: MemAvailable / 64, rounded down to a power of two: far from
 * reclaim (which would be measured), and the largest sizes, whose samples
 * take seconds on a virtual machine, do not take most of the run. Larger
 * sizes, up to half of MemAvailable, with --sizes. */
#define CAP_FRACTION 64
/* The default sizes: every fourth power of two from a page to the cap
 * (`--sizes 4K-1G` for every one). */
#define DEFAULT_STEP 4
/* The watchdog's allowance per GiB for the steps that are one system call
 * and cannot report progress (mmap with MAP_POPULATE, munmap): far more than
 * any machine needs, even one whose CPUs are shared with other work; the
 * first touch reports progress as it goes. */
#define WORST_SECONDS_PER_GIB 60.0

struct attach_plan {
	const struct attach_kind *kinds[MAX_KINDS];
	int nkinds;
	bool variant[VARIANT_COUNT];
	uint64_t sizes[MAX_SIZES];
	int nsizes;
	bool sizes_given;
	uint64_t cap;
	long long mem_available;
	int cpu;
	size_t page_bytes;
	struct hugetlb_pool pool;
	char thp_enabled[32], thp_shmem[32], thp_defrag[32];
	long fixed_samples;
	double precision, time_limit_s, watchdog_s;
	unsigned long seed;
	const char *stat;
	json_t *budget;
	uint64_t deadline_ns;  /* under a budget: no point starts after this (monotonic) */
};

struct point {
	const struct attach_kind *kind;
	enum attach_variant variant;
	uint64_t bytes;
};

struct point_result {
	enum { POINT_OK, POINT_FAILED, POINT_INTERRUPTED } status;
	char reason[ERRLEN];
	struct summary create, touch, release, total;
	double faults_create, faults_touch, pte_bytes, huge_bytes; /* medians */
};

/* attach_machine.c: the bracketed word of a THP setting file ("always
 * [madvise] never" -> madvise), "absent" without one. */
void attach_thp_setting(const char *file, char *out, size_t size);
/* attach_machine.c: why the point cannot be measured here, or NULL. */
const char *attach_point_refused(const struct attach_plan *p, const struct attach_kind *k,
				 enum attach_variant v, uint64_t bytes, char *why, size_t size);

/* attach_run.c: the experiment's measure(). */
int attach_measure(struct run *r, void *arg, double budget_s);

/* attach_report.c */
extern const char *const attach_columns[];
extern const int attach_ncolumns;
int attach_write_row(struct csv_writer *w, const struct point *pt, const struct point_result *r,
		     char *err);
json_t *attach_plan_description(const struct attach_plan *p);
/* Per skipped (mapping, variant): the reason and the sizes it covers. */
void attach_note_skip(json_t *skipped, const struct point *pt, const char *reason);
void attach_print_summary(const struct attach_plan *p, const struct point *pts,
			  const struct point_result *res, long n, json_t *skipped);
void attach_headline(const struct attach_plan *p, const struct point *pts,
		     const struct point_result *res, long n, char *out, size_t size);

#endif
