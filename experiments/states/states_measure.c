/* One pair of the line-state experiment: the owner, the requester and the
 * sharer (when there is a third CPU) run as pinned agents and take turns. A
 * round walks every kernel's script once: the owner (and the sharer) put the
 * lines into the kernel's state, then the requester times one walk of the
 * chain. Only that walk is timed; the preparation never is.
 *
 * Turns: one counter on a line of its own. Every agent computes the same
 * sequence of steps (the kernel order of each round comes from the seed), so
 * step number t belongs to exactly one agent: it waits until the counter
 * reads t, does its step, and stores t + 1 when step t + 1 is another
 * agent's. Waiting agents spin (with the pause hint under --pause) on that
 * counter only, which stays in their own cache while the requester times its
 * walk. */
#include "experiments/states/states.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/common.h"
#include "base/shuffle.h"

/* Rounds whose samples are dropped: the first walks fault in the requester's
 * TLB entries and its private arrays. */
#define WARMUP_ROUNDS 2
/* Without --samples: at least this many samples of every kernel, at most
 * MAX_SAMPLES (plenty for a precise median on any machine we have seen). */
#define MIN_SAMPLES 10
#define MAX_SAMPLES 5000
#define MAX_KERNELS 64
/* The counter value that ends the session. */
#define TURN_STOP UINT64_MAX
/* How many spins between looks at the clock and the abort flag. */
#define SPINS_PER_CHECK 1024u
/* Disturbed samples are left out only when at least this many remain. */
#define MIN_UNDISTURBED 5

bool states_uses_invalidation(enum line_state state)
{
	return state == STATE_EXCLUSIVE || state == STATE_SHARED || state == STATE_INVALID;
}

int states_script(enum line_state state, bool third_sharer, enum invalidation m,
		  struct states_step steps[STATES_MAX_STEPS])
{
	int n = 0;
	if (states_uses_invalidation(state)) {
		/* A flush leaves every cache, so one agent suffices. Eviction only
		 * empties the caches of the CPU that streams, so everybody who may
		 * hold the lines streams, the requester included (its last walk
		 * left them in its cache). */
		if (m != INVALIDATE_EVICT) {
			steps[n++] = (struct states_step){ ROLE_OWNER, ACT_FLUSH };
		} else {
			steps[n++] = (struct states_step){ ROLE_OWNER, ACT_EVICT };
			steps[n++] = (struct states_step){ ROLE_REQUESTER, ACT_EVICT };
			if (third_sharer)
				steps[n++] = (struct states_step){ ROLE_SHARER, ACT_EVICT };
		}
	}
	switch (state) {
	case STATE_LOCAL:
		/* B's own lines, written by B: Modified in B's L1. */
		steps[n++] = (struct states_step){ ROLE_REQUESTER, ACT_WRITE };
		break;
	case STATE_MODIFIED:
		/* A's stores take each line for ownership: Modified in A,
		 * Invalid everywhere else. */
		steps[n++] = (struct states_step){ ROLE_OWNER, ACT_WRITE };
		break;
	case STATE_EXCLUSIVE:
		/* Exclusive is reached by reading a line no other cache holds:
		 * after the invalidation nobody has it, so A's read miss is
		 * answered by memory with "no sharers", and A's cache takes the
		 * line Exclusive (clean, and A's alone). */
		steps[n++] = (struct states_step){ ROLE_OWNER, ACT_READ };
		break;
	case STATE_SHARED:
		/* Clean sharing: A reads (Exclusive), then the sharer reads, which
		 * demotes A's copy to Shared. Reading from a clean line keeps
		 * MOESI's Owned state out of it; that would need A to write first. */
		steps[n++] = (struct states_step){ ROLE_OWNER, ACT_READ };
		steps[n++] = (struct states_step){ third_sharer ? ROLE_SHARER : ROLE_REQUESTER, ACT_READ };
		break;
	case STATE_INVALID:
	case STATE_COUNT:
		break;
	}
	steps[n++] = (struct states_step){ ROLE_REQUESTER, ACT_TIME };
	return n;
}

/* One round as the flat list of its steps, in the order they happen. */
struct program {
	int n;
	struct {
		int kernel;
		struct states_step step;
	} at[MAX_KERNELS * STATES_MAX_STEPS];
};

struct agent_arg {
	struct session *session;
	enum states_role role;
	int cpu;
	struct program programs[2];   /* this round's and the next one's */
};

/* What the supervisor watches, on a line of its own: the agents bump the
 * heartbeat when they pass the turn, never inside a timed walk. */
struct watch {
	atomic_int abort;
	atomic_ulong heartbeat;
};

/* Everything the agents touch lives in the shared region, not on a stack:
 * an abandoned agent may wake up after measure_pair has returned. */
struct session {
	const struct states_options *o;
	const struct clock_info *clock;
	const struct state_kernel *const *kernels;
	int nkernels;
	bool third_sharer;
	struct states_step steps[MAX_KERNELS][STATES_MAX_STEPS];
	int nsteps[MAX_KERNELS];
	struct agent_arg args[ROLE_COUNT];
	struct line_set set;
	_Atomic uint64_t *turn;
	long *order;
	uintptr_t *expected;
	double *samples;      /* samples[k * capacity + i] */
	double *scratch;
	long capacity;
	long nsamples;        /* of every kernel: complete rounds after the warm-up */
	/* the requester's counters: totals per kernel, disturbed[k * capacity + i] */
	long long (*totals)[MAX_EVENTS];
	unsigned char *disturbed;
	bool event_failed[MAX_EVENTS];
	char event_reason[MAX_EVENTS][160];
	struct watch *watch;
	/* the first failure */
	atomic_int failed;
	int failure;          /* kernel_status */
	enum states_role failed_role;
	int failed_kernel;    /* -1: not during a kernel's step */
	uint64_t sink;        /* keeps the preparation reads alive */
};

static const char *role_name(enum states_role r)
{
	static const char *const names[ROLE_COUNT] = { "owner", "requester", "sharer" };
	return (unsigned)r < ROLE_COUNT ? names[r] : "?";
}

static void record_failure(struct session *s, int status, enum states_role role, int kernel)
{
	int expected = 0;
	if (atomic_compare_exchange_strong(&s->failed, &expected, 1)) {
		s->failure = status;
		s->failed_role = role;
		s->failed_kernel = kernel;
	}
	atomic_store(&s->watch->abort, 1);
}

static void beat(void *arg)
{
	struct session *s = arg;
	atomic_fetch_add_explicit(&s->watch->heartbeat, 1, memory_order_relaxed);
}

enum wait_result { WAIT_OK, WAIT_STOP, WAIT_ABORT, WAIT_TIMEOUT };

/* Waits for turn `want`. Gives up when nobody has made progress (no
 * heartbeat) for the watchdog time: a long step, such as streaming a large
 * eviction buffer, beats as it goes and is never mistaken for a hang. */
static enum wait_result wait_turn(struct session *s, uint64_t want)
{
	unsigned spins = 0;
	unsigned long last_beat = atomic_load(&s->watch->heartbeat);
	uint64_t last_change = monotonic_ns();
	for (;;) {
		uint64_t now_turn = atomic_load_explicit(s->turn, memory_order_acquire);
		if (now_turn == want)
			return WAIT_OK;
		if (now_turn == TURN_STOP)
			return WAIT_STOP;
		if (s->o->pause)
			cpu_relax();
		if (++spins % SPINS_PER_CHECK)
			continue;
		if (atomic_load_explicit(&s->watch->abort, memory_order_relaxed))
			return WAIT_ABORT;
		unsigned long b = atomic_load_explicit(&s->watch->heartbeat, memory_order_relaxed);
		uint64_t now = monotonic_ns();
		if (b != last_beat) {
			last_beat = b;
			last_change = now;
		} else if ((double)(now - last_change) > s->o->watchdog_s * 1e9) {
			return WAIT_TIMEOUT;
		}
	}
}

static void pass_turn(struct session *s, uint64_t next)
{
	atomic_fetch_add_explicit(&s->watch->heartbeat, 1, memory_order_relaxed);
	atomic_store_explicit(s->turn, next, memory_order_release);
}

/* The kernel order of one round, the same in every agent. */
static void round_order(const struct session *s, long round, int *order)
{
	for (int i = 0; i < s->nkernels; i++)
		order[i] = i;
	shuffle(order, (size_t)s->nkernels, sizeof *order,
		s->o->seed ^ (0x9e3779b97f4a7c15ull * (uint64_t)(round + 1)));
}

static bool enough_samples(struct session *s, uint64_t started_ns)
{
	const struct states_options *o = s->o;
	long n = s->nsamples;
	if (o->fixed_samples > 0)
		return n >= o->fixed_samples;
	if (n >= MAX_SAMPLES)
		return true;
	if (n < MIN_SAMPLES)
		return false;
	if ((double)(monotonic_ns() - started_ns) > o->time_limit_s * 1e9 * s->nkernels)
		return true;
	if (n % 8 != 0) /* re-checking every few rounds keeps the sorting cheap */
		return false;
	for (int k = 0; k < s->nkernels; k++) {
		struct summary sum;
		memcpy(s->scratch, s->samples + (size_t)k * s->capacity, (size_t)n * sizeof *s->scratch);
		summarize(s->scratch, n, &sum);
		if (!median_is_precise(&sum, o->precision))
			return false;
	}
	return true;
}

/* The requester's counters, read just outside its timed walks. */
struct walk_counting {
	struct counter_set set;
	bool on;
};

/* The requester's one timed walk. */
static int timed_walk(struct session *s, int k, long round, struct chain_walk *walk,
		      struct walk_counting *c)
{
	long sample = round - WARMUP_ROUNDS;
	long long before[MAX_EVENTS], after[MAX_EVENTS];
	if (c->on && sample >= 0)
		counter_set_read(&c->set, before);
	/* Reading the counters entered the kernel, and without PCIDs the
	 * return flushed the TLB: the set's pages are looked up again here, so
	 * the walk pays for cache lines, not page walks. */
	s->sink += states_touch_pages(&s->set);
	enum line_op op = s->kernels[k]->op;
	walk->store_value = (uint64_t)round;
	/* The walk starts with the requester's store buffer empty: nothing it
	 * wrote before (its own preparation, the turn counter) is still on its
	 * way to the cache and competing with the accesses being timed. */
	atomic_thread_fence(memory_order_seq_cst);
	uint64_t t0 = clock_ticks(s->clock);
	bool intact = states_walk(op, walk);
	uint64_t t1 = clock_ticks(s->clock);
	beat(s);
	if (!intact)
		return KERNEL_WRONG_DATA;
	if (sample < 0)
		return KERNEL_OK;
	double ns = ticks_to_ns(s->clock, t1 - t0) - s->clock->overhead_ns;
	s->samples[(size_t)k * s->capacity + sample] = ns / (double)walk->n;
	if (c->on) {
		counter_set_read(&c->set, after);
		const struct event_request *req = s->o->events;
		bool disturbed = false;
		for (int e = 0; e < req->n; e++) {
			long long delta = after[e] - before[e];
			s->totals[k][e] += delta;
			if ((e == req->migrations || e == req->context_switches) &&
			    !s->event_failed[e] && delta > 0)
				disturbed = true;
		}
		s->disturbed[(size_t)k * s->capacity + sample] = disturbed;
	}
	return KERNEL_OK;
}

static int do_step(struct session *s, enum states_action action, int k, long round,
		   struct chain_walk *walk, struct walk_counting *counting)
{
	const struct states_options *o = s->o;
	switch (action) {
	case ACT_WRITE:
		states_write_all(&s->set, (uint64_t)round);
		break;
	case ACT_READ:
		s->sink += states_read_all(&s->set);
		break;
	case ACT_FLUSH:
		states_flush_all(&s->set, o->invalidate);
		break;
	case ACT_EVICT:
		s->sink += states_stream(o->evict_buffer, o->evict_bytes, o->line_size, beat, s);
		break;
	case ACT_TIME:
		return timed_walk(s, k, round, walk, counting);
	}
	return KERNEL_OK;
}

static void round_program(const struct session *s, long round, struct program *p)
{
	int order[MAX_KERNELS];
	round_order(s, round, order);
	p->n = 0;
	for (int i = 0; i < s->nkernels; i++)
		for (int j = 0; j < s->nsteps[order[i]]; j++)
			p->at[p->n++] = (typeof(p->at[0])){ order[i], s->steps[order[i]][j] };
}

static int play_role(void *arg)
{
	struct agent_arg *me = arg;
	struct session *s = me->session;
	const long n = s->o->lines;
	struct chain_walk walk = { .n = n, .expected = s->expected };
	struct walk_counting counting = { .on = false };
	struct program *now = &me->programs[0], *next = &me->programs[1], *spare;
	int rc = KERNEL_OK;
	uint64_t turn = 1, started = 0;

	/* Turn 0 is the requester's: it builds the chain, so the lines start
	 * in its cache and in no other. Its counters count on its own CPU, so
	 * they are opened here, in its thread. */
	round_program(s, 0, now);
	if (me->role == ROLE_REQUESTER) {
		if ((counting.on = s->o->events != NULL))
			counter_set_open(&counting.set, s->o->events, s->event_failed, s->event_reason);
		walk.head = states_chain_build(&s->set, s->o->seed, s->order);
		for (long k = 0; k < n; k++)
			s->expected[k] = (uintptr_t)line_at(&s->set, s->order[(k + 1) % n]);
		started = monotonic_ns();
		if (now->at[0].step.role != ROLE_REQUESTER)
			pass_turn(s, turn);
	}
	/* An agent without a step in any kernel (the owner when only local
	 * kernels run) just waits for the end. */
	int mine = 0;
	for (int i = 0; i < now->n; i++)
		mine += now->at[i].step.role == me->role;
	if (mine == 0) {
		if (wait_turn(s, TURN_STOP - 1) == WAIT_TIMEOUT) {
			rc = KERNEL_TIMEOUT;
			record_failure(s, rc, me->role, -1);
		}
		goto out;
	}
	for (long round = 0;; round++) {
		round_program(s, round + 1, next);
		for (int i = 0; i < now->n; i++, turn++) {
			if (now->at[i].step.role != me->role)
				continue;
			/* An agent that did the step before (always the requester at
			 * the start of a round: every round ends with its walk) still
			 * has the turn. Passing it on only to another agent means
			 * nothing is written to the shared counter between the
			 * requester's own preparation and its timed walk. */
			enum states_role before = i > 0 ? now->at[i - 1].step.role : ROLE_REQUESTER;
			if (before != me->role) {
				switch (wait_turn(s, turn)) {
				case WAIT_OK:
					break;
				case WAIT_STOP:
				case WAIT_ABORT:
					goto out;
				case WAIT_TIMEOUT:
					rc = KERNEL_TIMEOUT;
					record_failure(s, rc, me->role, -1);
					goto out;
				}
			}
			int k = now->at[i].kernel;
			rc = do_step(s, now->at[i].step.action, k, round, &walk, &counting);
			if (rc != KERNEL_OK) {
				record_failure(s, rc, me->role, k);
				goto out;
			}
			/* Every round ends with the requester's walk of its last
			 * kernel: there it decides whether to go on. */
			if (i == now->n - 1) {
				if (round >= WARMUP_ROUNDS)
					s->nsamples = round - WARMUP_ROUNDS + 1;
				if (atomic_load(&s->watch->abort) ||
				    (round >= WARMUP_ROUNDS && enough_samples(s, started))) {
					pass_turn(s, TURN_STOP);
					goto out;
				}
			}
			enum states_role after = i + 1 < now->n ? now->at[i + 1].step.role
								: next->at[0].step.role;
			if (after != me->role)
				pass_turn(s, turn + 1);
		}
		spare = now;
		now = next;
		next = spare;
	}
out:
	if (counting.on)
		counter_set_close(&counting.set);
	return rc;
}

static size_t round_up(size_t n, size_t to)
{
	return (n + to - 1) / to * to;
}

static void describe_failure(const struct session *s, const struct states_pair *pair,
			     char *reason, size_t size)
{
	const int cpus[ROLE_COUNT] = { pair->owner, pair->requester, pair->sharer };
	int cpu = cpus[s->failed_role];
	if (s->failure == KERNEL_WRONG_DATA)
		snprintf(reason, size, "%s: the chain was broken when CPU %d (%s) walked it",
			 s->kernels[s->failed_kernel]->name, cpu, role_name(s->failed_role));
	else
		snprintf(reason, size, "watchdog: CPU %d (%s) saw no progress for %.3g s", cpu,
			 role_name(s->failed_role), s->o->watchdog_s);
}

/* One kernel's statistics without its disturbed samples (when enough
 * remain), and the requester's counts per access. */
static void conclude(const struct session *s, int k, struct states_result *out)
{
	const double *samples = s->samples + (size_t)k * s->capacity;
	const unsigned char *disturbed = s->disturbed + (size_t)k * s->capacity;
	long kept = 0;
	for (long i = 0; i < s->nsamples; i++)
		if (!disturbed[i])
			s->scratch[kept++] = samples[i];
	out->disturbed_samples = s->nsamples - kept;
	out->disturbed_kept = kept < MIN_UNDISTURBED && out->disturbed_samples > 0;
	if (out->disturbed_kept) {
		memcpy(s->scratch, samples, (size_t)s->nsamples * sizeof *s->scratch);
		kept = s->nsamples;
	}
	summarize(s->scratch, kept, &out->ns_per_access);
	const struct event_request *req = s->o->events;
	double accesses = (double)s->nsamples * (double)s->o->lines;
	for (int e = 0; e < MAX_EVENTS; e++)
		out->per_access[e] = req && e < req->n && !s->event_failed[e]
				     ? (double)s->totals[k][e] / accesses : NAN;
	out->status = PAIR_OK;
	out->reason[0] = '\0';
}

static void fail_all(struct states_result *results, int nkernels, enum pair_status status,
		     const char *reason)
{
	for (int k = 0; k < nkernels; k++) {
		results[k] = (struct states_result){ .status = status };
		for (int e = 0; e < MAX_EVENTS; e++)
			results[k].per_access[e] = NAN;
		snprintf(results[k].reason, sizeof results[k].reason, "%s", reason);
	}
}

enum pair_status states_measure_pair(const struct state_kernel *const *kernels, int nkernels,
				     const struct states_pair *pair, const struct states_options *o,
				     const struct clock_info *clock, struct states_result *results,
				     int *actual_home, char event_reasons[MAX_EVENTS][160])
{
	char err[ERRLEN];
	*actual_home = -1;
	if (nkernels < 1 || nkernels > MAX_KERNELS || o->lines < 1) {
		fail_all(results, nkernels, PAIR_FAILED, "no kernels or no lines to measure");
		return PAIR_FAILED;
	}
	/* Each measured line is the first of a pair of lines, and the pair is
	 * aligned to its size (the region starts on a page): the adjacent-line
	 * prefetcher, which fetches the other line of an aligned pair, only ever
	 * brings in a line nobody uses. */
	size_t stride = 2 * o->line_size;
	long capacity = o->fixed_samples > 0 ? o->fixed_samples : MAX_SAMPLES;
	struct line_set set;
	size_t lines_bytes = line_set_init(&set, NULL, stride, (size_t)sysconf(_SC_PAGESIZE), o->lines);
	size_t session_bytes = round_up(sizeof(struct session), stride);
	size_t order_bytes = round_up((size_t)o->lines * sizeof(long), stride);
	size_t expected_bytes = round_up((size_t)o->lines * sizeof(uintptr_t), stride);
	size_t samples_bytes = (size_t)(nkernels + 1) * (size_t)capacity * sizeof(double);
	size_t totals_bytes = (size_t)nkernels * MAX_EVENTS * sizeof(long long);
	size_t disturbed_bytes = (size_t)nkernels * (size_t)capacity;
	/* A guard pair of lines between the set and the turn counter, so the
	 * owner's sequential preparation never prefetches the counter. */
	size_t size = lines_bytes + 3 * stride + session_bytes + order_bytes + expected_bytes +
		      samples_bytes + totals_bytes + disturbed_bytes;
	struct shared_region region;
	if (shared_region_create(&region, size, pair->home_node, err) != 0) {
		fail_all(results, nkernels, PAIR_FAILED, err);
		return PAIR_FAILED;
	}
	unsigned char *base = region.base, *at = base + lines_bytes + stride;
	line_set_init(&set, base, stride, set.page_size, o->lines);
	_Atomic uint64_t *turn = (_Atomic uint64_t *)at;
	at += stride;
	struct watch *watch = (struct watch *)at;
	at += stride;
	struct session *s = (struct session *)at;
	at += session_bytes;
	*s = (struct session){
		.o = o,
		.clock = clock,
		.kernels = kernels,
		.nkernels = nkernels,
		.third_sharer = pair->sharer != pair->requester,
		.set = set,
		.turn = turn,
		.watch = watch,
		.order = (long *)at,
		.expected = (uintptr_t *)(at + order_bytes),
		.samples = (double *)(at + order_bytes + expected_bytes),
		.capacity = capacity,
		.failed_kernel = -1,
	};
	s->scratch = s->samples + (size_t)nkernels * (size_t)capacity;
	s->totals = (long long (*)[MAX_EVENTS])(s->scratch + capacity);
	s->disturbed = (unsigned char *)(s->totals + nkernels);
	for (int k = 0; k < nkernels; k++)
		s->nsteps[k] = states_script(kernels[k]->state, s->third_sharer, o->invalidate,
					     s->steps[k]);

	struct agent_spec spec[ROLE_COUNT];
	int nagents = s->third_sharer ? 3 : 2, cpus[ROLE_COUNT] = { pair->owner, pair->requester,
								     pair->sharer };
	for (int r = 0; r < nagents; r++) {
		s->args[r] = (struct agent_arg){ .session = s, .role = (enum states_role)r, .cpu = cpus[r] };
		spec[r] = (struct agent_spec){ .cpu = cpus[r], .role = play_role, .arg = &s->args[r] };
	}
	struct supervision sv = { .heartbeat = &watch->heartbeat, .abort = &watch->abort,
				  .stall_limit_s = o->watchdog_s + 0.5 };
	int rc[ROLE_COUNT];
	enum agents_outcome outcome = agents_run(o->agents, spec, nagents, &sv, rc, err);
	enum pair_status status = PAIR_FAILED;
	*actual_home = region.actual_node;

	char why[ERRLEN];
	switch (agents_verdict(outcome, err, why, sizeof why)) {
	case AGENTS_LEFT_RUNNING:
		/* An agent may still touch the region: it stays mapped. */
		fail_all(results, nkernels, PAIR_FAILED, why);
		for (int k = 0; k < nkernels; k++)
			results[k].abandoned = true;
		return PAIR_FAILED;
	case AGENTS_FAILED:
		fail_all(results, nkernels, PAIR_FAILED, why);
		break;
	case AGENTS_STOPPED:
		status = PAIR_INTERRUPTED;
		fail_all(results, nkernels, PAIR_INTERRUPTED, why);
		break;
	case AGENTS_JUDGE: {
		bool ok = outcome == AGENTS_FINISHED && !atomic_load(&s->failed);
		for (int r = 0; r < nagents; r++)
			ok &= rc[r] == KERNEL_OK;
		char reason[ERRLEN] = "no samples were taken";
		if (!ok) {
			if (atomic_load(&s->failed))
				describe_failure(s, pair, reason, sizeof reason);
			else
				snprintf(reason, sizeof reason, "watchdog: the agents stopped answering "
					 "for %.3g s", sv.stall_limit_s);
		}
		if (!ok || s->nsamples == 0) {
			fail_all(results, nkernels, PAIR_FAILED, reason);
			break;
		}
		for (int k = 0; k < nkernels; k++)
			conclude(s, k, &results[k]);
		if (o->events)
			for (int e = 0; e < o->events->n; e++)
				if (s->event_failed[e] && !event_reasons[e][0])
					snprintf(event_reasons[e], 160, "%s", s->event_reason[e]);
		status = PAIR_OK;
		break;
	}
	}
	shared_region_destroy(&region);
	return status;
}
