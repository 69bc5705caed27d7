/* The line-state experiment (`cohmap states`): for an owner CPU A and a
 * requester CPU B (and a third CPU C that shares lines with A, where the
 * selection has one), the cost of B's load, store, CAS and fetch-and-add on
 * lines A holds Modified, Exclusive, Shared, on lines nobody caches, and on
 * B's own lines. experiments/states/states_measure.c measures one pair; experiments/states/states.c
 * turns options into a plan, runs the pairs and writes states.csv, meta.json
 * and the plots (experiments/states/states_plot.c). */
#ifndef COHMAP_STATES_H
#define COHMAP_STATES_H

#include <stdbool.h>

#include "harness/agents.h"
#include "harness/counters.h"
#include "harness/latency_pair.h"
#include "base/stats.h"
#include "base/timing.h"
#include "kernels/states.h"

/* How one pair is measured. */
struct states_options {
	enum agent_kind agents;
	bool pause;              /* waiting agents spin with the CPU's pause hint */
	long lines;              /* lines per sample: the length of the chain */
	size_t line_size;        /* from the topology; lines sit two of these apart */
	long fixed_samples;      /* > 0: exactly this many samples of every kernel */
	double precision;        /* else stop when every median's 95% CI is within +-precision */
	double time_limit_s;     /* ... or after this long per kernel */
	double watchdog_s;       /* an agent that makes no progress this long fails the pair */
	enum invalidation invalidate;
	const unsigned char *evict_buffer; /* INVALIDATE_EVICT: streamed by every agent */
	size_t evict_bytes;
	uint64_t seed;           /* chain order and kernel order within each round */
	/* Counted on the requester around each timed walk; NULL: none. */
	const struct event_request *events;
};

/* Who does what. sharer == requester when the selection has no third CPU:
 * then A and B themselves hold the Shared lines. */
struct states_pair {
	int owner, requester, sharer;
	int home_node;           /* NUMA node for the lines, -1 for no placement */
};

struct states_result {
	enum pair_status status;
	struct summary ns_per_access;
	char reason[ERRLEN];
	/* Samples during which the requester migrated or was switched out are
	 * left out, unless too few would remain (then all are kept). */
	long disturbed_samples;
	bool disturbed_kept;
	double per_access[MAX_EVENTS];  /* the requester's counts per access; NAN: NA */
	bool abandoned;   /* an agent did not stop: memory it may touch must stay */
};

/* Measures every kernel on one pair, interleaved: each round prepares and
 * times every kernel once, in a shuffled order, so a change of the machine
 * during the pair (the host moving a vCPU) touches all kernels alike.
 * results[i] belongs to kernels[i]; *actual_home is where the lines landed
 * (-1 unknown); event_reasons[e] receives why event e could not be counted
 * (left alone when it could). Returns PAIR_OK when every kernel has samples. */
enum pair_status states_measure_pair(const struct state_kernel *const *kernels, int nkernels,
				     const struct states_pair *pair, const struct states_options *o,
				     const struct clock_info *clock, struct states_result *results,
				     int *actual_home, char event_reasons[MAX_EVENTS][160]);

/* The pairs to measure: every ordered pair of cpus (topology order), or the
 * first ordered pair of each pair class present. Each gets a sharer: a third
 * CPU as far from the requester as the owner is (else the nearest farther,
 * else the farthest nearer one), or the requester itself when there is no
 * third CPU. out has room for ncpus * (ncpus - 1) pairs. Returns how many. */
int states_choose_pairs(const struct topology *t, const int *cpus, int ncpus, bool all_pairs,
			struct states_pair *out);

/* The steps of one kernel's round: who does what, in order; the last step
 * is the requester's timed walk. */
enum states_role { ROLE_OWNER, ROLE_REQUESTER, ROLE_SHARER, ROLE_COUNT };
enum states_action { ACT_WRITE, ACT_READ, ACT_FLUSH, ACT_EVICT, ACT_TIME };
struct states_step {
	enum states_role role;
	enum states_action action;
};
#define STATES_MAX_STEPS 6
/* Fills steps and returns their number. third_sharer: the sharer is a CPU
 * of its own (else the requester plays it). */
int states_script(enum line_state state, bool third_sharer, enum invalidation m,
		  struct states_step steps[STATES_MAX_STEPS]);
/* Whether a state's preparation invalidates the lines (and so which rows
 * name an invalidation method). */
bool states_uses_invalidation(enum line_state state);

#endif
