/* The state kernels: one descriptor per (state, operation), the chain walks
 * that are timed, and what the agents do to put lines into a state. */
#include "kernels/states.h"

#include <string.h>

#include "base/shuffle.h"


const char *line_state_name(enum line_state s)
{
	static const char *const names[STATE_COUNT] = {
		[STATE_LOCAL] = "local", [STATE_MODIFIED] = "modified",
		[STATE_EXCLUSIVE] = "exclusive", [STATE_SHARED] = "shared",
		[STATE_INVALID] = "invalid",
	};
	return (unsigned)s < STATE_COUNT ? names[s] : "?";
}

const char *line_op_name(enum line_op op)
{
	static const char *const names[OP_COUNT] = {
		[OP_LOAD] = "load", [OP_STORE] = "store", [OP_CAS] = "cas", [OP_FAA] = "faa",
	};
	return (unsigned)op < OP_COUNT ? names[op] : "?";
}

const char *invalidation_name(enum invalidation m)
{
	switch (m) {
	case INVALIDATE_FLUSH_ORDERED:
	case INVALIDATE_FLUSH_OVERLAPPED:
		return arch_flush_name((enum arch_flush)m);
	case INVALIDATE_EVICT:
		return "evict";
	}
	return "?";
}

int invalidation_from_name(const char *name)
{
	static const enum invalidation all[] = { INVALIDATE_FLUSH_OVERLAPPED, INVALIDATE_FLUSH_ORDERED,
						 INVALIDATE_EVICT };
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		const char *known = invalidation_name(all[i]);
		if (known && strcmp(known, name) == 0)
			return (int)all[i];
	}
	return -1;
}

bool states_invalidation_available(enum invalidation m, char *why, size_t size)
{
	return m == INVALIDATE_EVICT || arch_flush_available((enum arch_flush)m, why, size);
}

enum invalidation states_best_invalidation(void)
{
	char why[160];
	if (states_invalidation_available(INVALIDATE_FLUSH_OVERLAPPED, why, sizeof why))
		return INVALIDATE_FLUSH_OVERLAPPED;
	if (states_invalidation_available(INVALIDATE_FLUSH_ORDERED, why, sizeof why))
		return INVALIDATE_FLUSH_ORDERED;
	return INVALIDATE_EVICT;
}

/* ---- the descriptors ---- */

/* The protocol stories, shared by the three operations that need the line in
 * Modified state (store, CAS, fetch-and-add): all three are a
 * read-for-ownership; the atomics then hold the line locked while they run. */
#define RFO_FROM_MODIFIED "read-for-ownership: A's dirty copy moves to B and A's copy is invalidated"
#define RFO_FROM_EXCLUSIVE "read-for-ownership: A's clean copy is invalidated; the data comes from A's cache or a shared L3"
#define RFO_FROM_SHARED "read-for-ownership: both sharers' copies are invalidated (when B is itself the other sharer: an upgrade, no data, one invalidation)"
#define RFO_FROM_INVALID "read-for-ownership from memory; no other copy to invalidate"
#define LOCAL_HIT "B's own Modified line: completes in B's L1, no coherence traffic"

#define NO_TRAFFIC(story) { .fills_from_cache = 0, .fills_from_memory = 0, .invalidations = 0, .model = story }
#define FROM_CACHE(inv, story) { .fills_from_cache = 1, .fills_from_memory = 0, .invalidations = inv, .model = story }
#define FROM_MEMORY(story) { .fills_from_cache = 0, .fills_from_memory = 1, .invalidations = 0, .model = story }

const struct state_kernel state_kernel_load_local = {
	.name = "load_local", .state = STATE_LOCAL, .op = OP_LOAD,
	.summary = "B loads its own cached lines (the baseline)",
	.cost = NO_TRAFFIC("a hit in B's L1: no coherence traffic"),
};
const struct state_kernel state_kernel_load_from_modified = {
	.name = "load_from_modified", .state = STATE_MODIFIED, .op = OP_LOAD,
	.summary = "B loads lines A holds Modified",
	.cost = FROM_CACHE(0, "A supplies its dirty line and keeps a copy: Shared after a write-back (MESI) "
			      "or Owned, still dirty (MOESI); B gets it Shared"),
};
const struct state_kernel state_kernel_load_from_exclusive = {
	.name = "load_from_exclusive", .state = STATE_EXCLUSIVE, .op = OP_LOAD,
	.summary = "B loads lines A holds Exclusive (clean, A's only)",
	.cost = FROM_CACHE(0, "A's clean Exclusive copy is probed and drops to Shared; the data comes "
			      "from A's cache or a shared inclusive L3"),
};
const struct state_kernel state_kernel_load_from_shared = {
	.name = "load_from_shared", .state = STATE_SHARED, .op = OP_LOAD,
	.summary = "B loads lines A and a third CPU hold Shared (or B itself with A, on 2 CPUs)",
	.cost = FROM_CACHE(0, "a clean shared line: a sharer (MESIF's Forward copy), a shared L3 or "
			      "memory supplies it, and nobody changes state; a hit when B is a sharer"),
};
const struct state_kernel state_kernel_load_from_invalid = {
	.name = "load_from_invalid", .state = STATE_INVALID, .op = OP_LOAD,
	.summary = "B loads lines no cache holds (flushed or evicted)",
	.cost = FROM_MEMORY("nobody has the line: B fills it from memory, in state Exclusive"),
};

const struct state_kernel state_kernel_store_local = {
	.name = "store_local", .state = STATE_LOCAL, .op = OP_STORE,
	.summary = "B stores to its own Modified lines (the baseline)",
	.cost = NO_TRAFFIC(LOCAL_HIT),
};
const struct state_kernel state_kernel_store_on_modified = {
	.name = "store_on_modified", .state = STATE_MODIFIED, .op = OP_STORE,
	.summary = "B stores to lines A holds Modified",
	.cost = FROM_CACHE(1, RFO_FROM_MODIFIED),
};
const struct state_kernel state_kernel_store_on_exclusive = {
	.name = "store_on_exclusive", .state = STATE_EXCLUSIVE, .op = OP_STORE,
	.summary = "B stores to lines A holds Exclusive",
	.cost = FROM_CACHE(1, RFO_FROM_EXCLUSIVE),
};
const struct state_kernel state_kernel_store_on_shared = {
	.name = "store_on_shared", .state = STATE_SHARED, .op = OP_STORE,
	.summary = "B stores to lines A and a third CPU (or B) hold Shared",
	.cost = FROM_CACHE(2, RFO_FROM_SHARED),
};
const struct state_kernel state_kernel_store_on_invalid = {
	.name = "store_on_invalid", .state = STATE_INVALID, .op = OP_STORE,
	.summary = "B stores to lines no cache holds",
	.cost = FROM_MEMORY(RFO_FROM_INVALID),
};

const struct state_kernel state_kernel_cas_local = {
	.name = "cas_local", .state = STATE_LOCAL, .op = OP_CAS,
	.summary = "B compare-and-swaps its own Modified lines (the baseline)",
	.cost = NO_TRAFFIC(LOCAL_HIT),
};
const struct state_kernel state_kernel_cas_on_modified = {
	.name = "cas_on_modified", .state = STATE_MODIFIED, .op = OP_CAS,
	.summary = "B compare-and-swaps lines A holds Modified",
	.cost = FROM_CACHE(1, RFO_FROM_MODIFIED),
};
const struct state_kernel state_kernel_cas_on_exclusive = {
	.name = "cas_on_exclusive", .state = STATE_EXCLUSIVE, .op = OP_CAS,
	.summary = "B compare-and-swaps lines A holds Exclusive",
	.cost = FROM_CACHE(1, RFO_FROM_EXCLUSIVE),
};
const struct state_kernel state_kernel_cas_on_shared = {
	.name = "cas_on_shared", .state = STATE_SHARED, .op = OP_CAS,
	.summary = "B compare-and-swaps lines A and a third CPU (or B) hold Shared",
	.cost = FROM_CACHE(2, RFO_FROM_SHARED),
};
const struct state_kernel state_kernel_cas_on_invalid = {
	.name = "cas_on_invalid", .state = STATE_INVALID, .op = OP_CAS,
	.summary = "B compare-and-swaps lines no cache holds",
	.cost = FROM_MEMORY(RFO_FROM_INVALID),
};

const struct state_kernel state_kernel_faa_local = {
	.name = "faa_local", .state = STATE_LOCAL, .op = OP_FAA,
	.summary = "B fetch-and-adds its own Modified lines (the baseline)",
	.cost = NO_TRAFFIC(LOCAL_HIT),
};
const struct state_kernel state_kernel_faa_on_modified = {
	.name = "faa_on_modified", .state = STATE_MODIFIED, .op = OP_FAA,
	.summary = "B fetch-and-adds lines A holds Modified",
	.cost = FROM_CACHE(1, RFO_FROM_MODIFIED),
};
const struct state_kernel state_kernel_faa_on_exclusive = {
	.name = "faa_on_exclusive", .state = STATE_EXCLUSIVE, .op = OP_FAA,
	.summary = "B fetch-and-adds lines A holds Exclusive",
	.cost = FROM_CACHE(1, RFO_FROM_EXCLUSIVE),
};
const struct state_kernel state_kernel_faa_on_shared = {
	.name = "faa_on_shared", .state = STATE_SHARED, .op = OP_FAA,
	.summary = "B fetch-and-adds lines A and a third CPU (or B) hold Shared",
	.cost = FROM_CACHE(2, RFO_FROM_SHARED),
};
const struct state_kernel state_kernel_faa_on_invalid = {
	.name = "faa_on_invalid", .state = STATE_INVALID, .op = OP_FAA,
	.summary = "B fetch-and-adds lines no cache holds",
	.cost = FROM_MEMORY(RFO_FROM_INVALID),
};

#define STATE_KERNEL_ENTRY(name) &state_kernel_##name,
const struct state_kernel *const state_kernel_registry[] = {
	COHMAP_STATE_KERNELS(STATE_KERNEL_ENTRY)
};
#undef STATE_KERNEL_ENTRY
const int state_kernel_count = sizeof state_kernel_registry / sizeof state_kernel_registry[0];

const struct state_kernel *state_kernel_find(const char *name)
{
	for (int i = 0; i < state_kernel_count; i++)
		if (strcmp(state_kernel_registry[i]->name, name) == 0)
			return state_kernel_registry[i];
	return NULL;
}

/* ---- the chain ---- */

size_t line_set_init(struct line_set *set, unsigned char *base, size_t stride, size_t page_size,
		     long n)
{
	long slots = (long)(page_size / stride);
	/* A page too small for two slots (never seen) gets one line and no
	 * TLB slot of its own: line_at then still skips slot 0. */
	*set = (struct line_set){ .base = base, .stride = stride, .page_size = page_size, .n = n,
				  .per_page = slots > 1 ? slots - 1 : 1 };
	if (slots < 2)
		set->page_size = 2 * stride;
	long pages = (n + set->per_page - 1) / set->per_page;
	return (size_t)pages * set->page_size;
}

struct chain_line *states_chain_build(const struct line_set *set, uint64_t seed, long *order)
{
	long n = set->n;
	for (long i = 0; i < n; i++)
		order[i] = i;
	/* A random visiting order: the stride prefetchers see no pattern, and
	 * lines that follow each other in the walk are rarely neighbours in
	 * memory (or in one DRAM page in the same order twice). splitmix64
	 * (base/shuffle.h), so a recorded seed rebuilds the same chain on any
	 * libc. */
	shuffle(order, (size_t)n, sizeof *order, seed);
	for (long k = 0; k < n; k++) {
		struct chain_line *line = line_at(set, order[k]);
		atomic_store_explicit(&line->next, (uintptr_t)line_at(set, order[(k + 1) % n]),
				      memory_order_relaxed);
		atomic_store_explicit(&line->payload, 0, memory_order_relaxed);
	}
	return line_at(set, order[0]);
}

/* ---- the timed walks ----
 * Relaxed atomics make each access exactly one memory instruction the
 * compiler may neither merge nor drop; the ordering comes from the data
 * dependency (and, for stores, from the fence). */

static bool walk_load(struct chain_walk *w)
{
	uintptr_t bias = w->faa_walks;
	struct chain_line *p = w->head;
	for (long k = 0, n = w->n; k < n; k++)
		p = (struct chain_line *)(atomic_load_explicit(&p->next, memory_order_relaxed) - bias);
	return p == w->head;
}

/* A store has no result to depend on, and the store buffer would retire a
 * whole walk of them while their read-for-ownership requests are still in
 * flight. The fence holds each store until it has its line in Modified state
 * and is globally visible; the next address is then read from the line just
 * written. So one step is "store, made visible" and the local baseline pays
 * the same fence. */
static bool walk_store(struct chain_walk *w)
{
	uintptr_t bias = w->faa_walks;
	uint64_t value = w->store_value;
	struct chain_line *p = w->head;
	for (long k = 0, n = w->n; k < n; k++) {
		atomic_store_explicit(&p->payload, value, memory_order_relaxed);
		atomic_thread_fence(memory_order_seq_cst);
		p = (struct chain_line *)(atomic_load_explicit(&p->next, memory_order_relaxed) - bias);
	}
	return p == w->head;
}

/* Compare-and-swap of the chain word with itself (expected == desired), so
 * it succeeds, writes, and leaves the chain intact. The next address is the
 * value the CAS returned. */
/* Compare-and-swap of the chain word with itself (expected == desired), so
 * it succeeds, writes, and leaves the chain intact. The next address is the
 * value the CAS returned: base/arch.h's arch_cas_returning makes the loaded
 * register its only source. */
static inline bool cas_word(_Atomic uintptr_t *word, uintptr_t *seen)
{
	return arch_cas_returning(word, seen);
}

static bool walk_cas(struct chain_walk *w)
{
	uintptr_t bias = w->faa_walks;
	const uintptr_t *expected = w->expected;
	struct chain_line *p = w->head;
	for (long k = 0, n = w->n; k < n; k++) {
		uintptr_t seen = expected[k] + bias;
		if (!cas_word(&p->next, &seen))
			return false;
		p = (struct chain_line *)(seen - bias);
	}
	return p == w->head;
}

/* Adds 1 to every chain word and follows the value it returned; every walk
 * (of any kind) subtracts the number of these walks done so far. */
static bool walk_faa(struct chain_walk *w)
{
	uintptr_t bias = w->faa_walks;
	struct chain_line *p = w->head;
	for (long k = 0, n = w->n; k < n; k++)
		p = (struct chain_line *)(atomic_fetch_add_explicit(&p->next, 1, memory_order_seq_cst) - bias);
	w->faa_walks++;
	return p == w->head;
}

bool states_walk(enum line_op op, struct chain_walk *w)
{
	switch (op) {
	case OP_LOAD:
		return walk_load(w);
	case OP_STORE:
		return walk_store(w);
	case OP_CAS:
		return walk_cas(w);
	case OP_FAA:
		return walk_faa(w);
	case OP_COUNT:
		break;
	}
	return false;
}

/* ---- preparing states ---- */

void states_write_all(const struct line_set *set, uint64_t value)
{
	for (long i = 0; i < set->n; i++)
		atomic_store_explicit(&line_at(set, i)->payload, value, memory_order_relaxed);
	/* Stores may wait in the store buffer for their lines long after the
	 * loop ends; the step is done only when they are in the cache. Else the
	 * requester's own preparation (local) would still be fetching lines
	 * while its walk is timed. */
	atomic_thread_fence(memory_order_seq_cst);
}

uint64_t states_read_all(const struct line_set *set)
{
	uint64_t sum = 0;
	for (long i = 0; i < set->n; i++)
		sum += atomic_load_explicit(&line_at(set, i)->next, memory_order_relaxed);
	return sum;
}

uint64_t states_touch_pages(const struct line_set *set)
{
	uint64_t sum = 0;
	for (long i = 0; i < set->n; i += set->per_page)
		sum += *(const volatile uint64_t *)(set->base + (size_t)(i / set->per_page) * set->page_size);
	return sum;
}

void states_flush_all(const struct line_set *set, enum invalidation m)
{
	/* clflush is ordered with every other store and flush, so each one
	 * waits for the last; clflushopt and dc civac are not, so the flushes
	 * of the set overlap, and arch_flush_wait waits for all of them. Either
	 * way the line leaves every cache of the coherence domain, not just
	 * ours. */
	for (long i = 0; i < set->n; i++)
		arch_flush_line((enum arch_flush)m, line_at(set, i));
	arch_flush_wait();
}

uint64_t states_stream(const unsigned char *buf, size_t bytes, size_t line_size,
		       void (*beat)(void *arg), void *arg)
{
	enum { BEAT_BYTES = 4 << 20 };
	uint64_t sum = 0;
	for (size_t off = 0; off < bytes; off += line_size) {
		sum += *(const volatile uint64_t *)(buf + off);
		if (beat && off % BEAT_BYTES == 0)
			beat(arg);
	}
	return sum;
}
