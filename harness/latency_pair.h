/* Measuring one kernel on one ordered pair of CPUs: batches of round trips
 * timed by agent A, until the median is precise enough or time runs out. */
#ifndef COHMAP_MEASURE_H
#define COHMAP_MEASURE_H

#include <stdbool.h>

#include "harness/agents.h"
#include "base/common.h"
#include "base/options.h"
#include "harness/counters.h"
#include "base/stats.h"
#include "base/timing.h"
#include "kernels/kernel.h"

struct measure_options {
	enum agent_kind agents;
	bool pause;
	long fixed_samples;      /* > 0: exactly this many samples, no stopping rule */
	double precision;        /* stop when the median's 95% CI is within +-precision */
	double time_limit_s;     /* ... or when the pair has been sampled this long */
	double sample_target_ns; /* batch size is grown until a sample lasts this long */
	double watchdog_s;       /* an agent silent this long fails the pair */
	size_t line_size;        /* from the topology */
	const struct event_request *events; /* counted by each agent; NULL: none */
};

/* The protocol options from the shared command line (-n, --precision,
 * --time-limit, --sample-us, --watchdog, --pause); no events. */
struct measure_options measure_options_from(const struct options *o, enum agent_kind agents,
					    size_t line_size);

enum pair_status {
	PAIR_OK,
	PAIR_FAILED,
	PAIR_INTERRUPTED,
	PAIR_PENDING,      /* not measured (yet) */
};

struct pair_measurement {
	enum pair_status status;
	char reason[ERRLEN];
	struct summary one_way_ns;   /* one-way latency: round trip / 2 */
	unsigned long round_trips_per_sample;
	int home_node;               /* where the shared lines really are, -1 unknown */
	/* Samples during which an agent migrated or was switched out: left out
	 * of the statistics when enough others remain (see measure.c). */
	long disturbed_samples;
	bool disturbed_kept;         /* too few undisturbed samples: all were used */
	double per_handoff[MAX_EVENTS]; /* both agents' counts per handoff; NAN: NA */
	int same_page;               /* process agents: see struct shared_region */
	char pagemap_note[128];
};

/* home_node: NUMA node for the shared lines, -1 for no placement.
 * event_reasons (may be NULL): why an event is NA, filled where still empty. */
void measure_pair(const struct kernel *k, int cpu_a, int cpu_b, int home_node,
		  const struct measure_options *o, const struct clock_info *clock,
		  struct pair_measurement *out, char event_reasons[MAX_EVENTS][160]);
/* The same with the kernel's lines line_offset bytes into the region's first
 * page (a multiple of the line size; see experiments/latency/line_plan.h):
 * the region is page-aligned, so this chooses the lines' address bits below
 * the page size. The meeting point and samples follow the kernel's lines. */
void measure_pair_at(const struct kernel *k, int cpu_a, int cpu_b, int home_node,
		     size_t line_offset, const struct measure_options *o,
		     const struct clock_info *clock, struct pair_measurement *out,
		     char event_reasons[MAX_EVENTS][160]);

#endif
