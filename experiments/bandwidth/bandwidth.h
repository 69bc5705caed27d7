/* The bandwidth experiment: how fast a buffer streams from a producer core to
 * a consumer core through a shared ring (harness/stream_ring.h), by buffer size and
 * pair class, with the same-core baseline (A = B) beside it; a size sweep and
 * a matrix of every ordered pair at one size. bandwidth.csv, meta.json,
 * plots. */
#ifndef COHMAP_BANDWIDTH_H
#define COHMAP_BANDWIDTH_H

#include "harness/placement.h"
#include "harness/results.h"
#include "harness/stream_ring.h"

#define BANDWIDTH_MAX_SIZES 64

struct bandwidth_plan {
	const int *cpus;                /* in topology order */
	int ncpus;
	size_t sizes[BANDWIDTH_MAX_SIZES]; /* the sweep, ascending, each a whole number of chunks */
	int nsizes;
	bool sizes_given;               /* --sizes, not derived from the caches */
	size_t matrix_bytes;            /* the size of the matrix */
	size_t chunk_bytes;             /* wanted chunk; a size smaller than two of them uses half its size */
	const struct stream_kernel *producer;
	const struct stream_kernel *consumers[8];
	int nconsumers;
	enum home_policy home;
	int home_node;                  /* for HOME_NODE */
	struct measure_options measure;
	unsigned long seed;
	const char *stat;               /* median, or min: the fastest sample */
	struct ring_test_hook hook;     /* from COHMAP_TEST_CORRUPT (tests only) */
	long long memory_available;     /* bytes, from /proc/meminfo; -1 unknown */
	size_t memory_needed;           /* by the largest job */
	char sizes_note[ERRLEN];        /* why derived sizes were left out, or "" */
};

/* The default sweep from the caches the topology reports for these CPUs:
 * from inside L1 to beyond the last-level cache, with sizes just inside and
 * just outside each level (half of it, it, twice it) and steps of 4x between.
 * Returns the count (ascending, distinct). */
int bandwidth_default_sizes(const struct topology *t, const int *cpus, int ncpus, size_t *sizes,
			    int max);


/* Parses COHMAP_TEST_CORRUPT ("payload:N" or "sequence:N"), the test hook
 * that corrupts chunks on purpose. Returns 0 (hook zeroed when unset), -1
 * with a message. */
int bandwidth_parse_test_hook(const char *text, struct ring_test_hook *hook, char *err);

/* One measurement the experiment plans. */
enum bandwidth_series { SERIES_SWEEP, SERIES_MATRIX };

struct bandwidth_job {
	enum bandwidth_series series;
	const struct stream_kernel *consumer;
	int cpu_a, cpu_b;               /* equal: the same-core baseline */
	size_t bytes, chunk;
};

/* Every job of the plan: for each consumer, the sweep (one pair per pair
 * class among the CPUs, plus the same-core baseline, at every size) and the
 * matrix (every ordered pair, the diagonal being the same-core baseline).
 * Returns the count and a malloc'ed array in *jobs, -1 when out of memory. */
long bandwidth_plan_jobs(const struct bandwidth_plan *p, const struct topology *t,
			 struct bandwidth_job **jobs);

/* Runs the experiment into r's directory, fitting budget_s when > 0.
 * Returns an exit code. */
int bandwidth_experiment(struct run *r, struct bandwidth_plan *plan, double budget_s);

#endif
