/* Event counts around exactly a timed region, per agent, on its own CPU.
 *
 * PAPI counts what it can: presets (PAPI_CA_SNP), native events
 * (MEM_LOAD_L3_HIT_RETIRED:XSNP_HITM) and the perf software events
 * (perf::PAGE-FAULTS). When PAPI's perf_event component is disabled — libpfm4
 * does not know the CPU, as on new CPUs or some virtual machines — the perf
 * software events are read with perf_event_open(2) instead, so page faults,
 * migrations and context switches are still counted. An event that cannot be
 * counted is NA with a one-line reason, never 0. */
#ifndef COHMAP_COUNTERS_H
#define COHMAP_COUNTERS_H

#include <stdbool.h>

#include <jansson.h>

#include "topology/topology.h"

#define MAX_EVENTS 16
#define EVENT_NAME_LEN 96

enum event_backend { EVENT_NONE, EVENT_PAPI, EVENT_PERF };

/* What a kernel's cost model can be compared with: events that count lines
 * filled from another core's cache. */
enum event_meaning { MEANS_OTHER, MEANS_FILL_FROM_OTHER_CORE, MEANS_DISTURBANCE };

struct event_request {
	int n;
	char names[MAX_EVENTS][EVENT_NAME_LEN];
	char columns[MAX_EVENTS][EVENT_NAME_LEN + 16]; /* CSV column: perf_PAGE_FAULTS_per_handoff */
	enum event_backend backend[MAX_EVENTS];       /* EVENT_NONE: not countable here */
	enum event_meaning meaning[MAX_EVENTS];
	int papi_code[MAX_EVENTS];
	unsigned long long perf_config[MAX_EVENTS];
	char reason[MAX_EVENTS][160];                 /* why NA */
	int migrations, context_switches;             /* indices, -1 when not counted */
	char auto_label[96];                          /* which row of the auto table, if any */
};

/* Parses --events: "auto" (coherence events for this CPU from the table in
 * counters.c) or a comma list of PAPI presets, native and perf:: names. The
 * software events perf::CPU-MIGRATIONS and perf::CONTEXT-SWITCHES are always
 * added: a sample during which an agent migrated or was switched out is
 * flagged as disturbed. An unknown name is a usage error naming it (-1);
 * an event that exists but cannot be counted here gets EVENT_NONE and a
 * reason. list may be NULL: only the two software events. */
int events_parse(const char *list, const struct topology *t, struct event_request *req, char *err);

/* One agent's counters, opened in the agent's thread on its CPU. */
struct counter_set {
	const struct event_request *req;
	int papi_eventset;
	int papi_slot[MAX_EVENTS]; /* index into PAPI's values, -1 */
	int perf_fd[MAX_EVENTS];
	int papi_count;
};
/* Starts counting; events that fail to start become NA in `failed` (one
 * reason per event, written into failed_reason) — the measurement goes on. */
void counter_set_open(struct counter_set *cs, const struct event_request *req,
		      bool failed[MAX_EVENTS], char failed_reason[MAX_EVENTS][160]);
/* Cumulative counts since open; NA events read 0 here, callers use `failed`. */
void counter_set_read(struct counter_set *cs, long long values[MAX_EVENTS]);
void counter_set_close(struct counter_set *cs);

/* The protocol model against the counters, one row per kernel: what the
 * kernel's cost model expects, and the sum of the fill-from-another-core
 * events over its n measured pairs (NAN when one could not be counted). */
struct model_row {
	const char *kernel;
	double expected;
	double measured_sum;
	long n;
	const char *model;
};
/* Prints "protocol model against counters (...): line fills from another
 * core per UNIT", the rows, and the first reason a fill event is NA. Prints
 * nothing when no event of req counts fills. */
void counters_print_model(const struct event_request *req, const char *unit, int name_width,
			  const struct model_row *rows, int nrows, char reasons[MAX_EVENTS][160]);
/* The first of req's events that counts fills from another core, or -1. */
int counters_first_fill(const struct event_request *req);

struct run;
/* Records the events of req that could not be counted (reasons[e] set, not
 * yet warned) in the JSON object into, event name -> reason, and warns once
 * in r for all of them: the reason is usually the same. */
void counters_warn_unavailable(struct run *r, const struct event_request *req,
			       char reasons[MAX_EVENTS][160], bool warned[MAX_EVENTS], json_t *into);

#endif
