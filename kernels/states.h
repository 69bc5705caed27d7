/* Access cost by line state: agent A (the owner) puts a set of lines into a
 * coherence state, then agent B (the requester) walks them with one kind of
 * access and is timed. A kernel is one (state, operation) transition, named by
 * what the protocol does: load_from_modified, store_on_shared, cas_local, ...
 *
 * The lines form one shuffled pointer chain (states_chain_build): every access
 * needs the address the previous one produced, so neither the prefetchers nor
 * out-of-order execution can overlap two of them, and the time of a walk
 * divided by its length is the cost of one access. The harness
 * (experiments/states/states_measure.c) decides who prepares what, on which CPUs, and when;
 * this file holds what each agent does to the lines. */
#ifndef COHMAP_KERNELS_STATES_H
#define COHMAP_KERNELS_STATES_H

#include "base/arch.h"
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The state the requester finds each line in. LOCAL is the baseline: the
 * requester's own line, Modified in its own cache. */
enum line_state {
	STATE_LOCAL,
	STATE_MODIFIED,
	STATE_EXCLUSIVE,
	STATE_SHARED,
	STATE_INVALID,
	STATE_COUNT
};

enum line_op { OP_LOAD, OP_STORE, OP_CAS, OP_FAA, OP_COUNT };

const char *line_state_name(enum line_state s); /* "local", "modified", ... */
const char *line_op_name(enum line_op op);      /* "load", "store", "cas", "faa" */

/* What one access should cost in protocol terms, in the canonical setting
 * (owner A, a third CPU as the other sharer), so counter readings can be
 * compared with the model. */
struct access_cost {
	double fills_from_cache;   /* lines the requester fills from another core's cache */
	double fills_from_memory;  /* lines the requester fills from memory */
	double invalidations;      /* copies in other caches the access invalidates */
	const char *model;         /* the protocol story in one sentence */
};

struct state_kernel {
	const char *name;
	enum line_state state;
	enum line_op op;
	const char *summary;
	struct access_cost cost;
};

/* The one list of state kernels; the CLI (`cohmap list`, -k), the tests and
 * the docs read it. Adding one: a descriptor in kernels/states.c and a line here. */
#define COHMAP_STATE_KERNELS(X) \
	X(load_local)           \
	X(load_from_modified)   \
	X(load_from_exclusive)  \
	X(load_from_shared)     \
	X(load_from_invalid)    \
	X(store_local)          \
	X(store_on_modified)    \
	X(store_on_exclusive)   \
	X(store_on_shared)      \
	X(store_on_invalid)     \
	X(cas_local)            \
	X(cas_on_modified)      \
	X(cas_on_exclusive)     \
	X(cas_on_shared)        \
	X(cas_on_invalid)       \
	X(faa_local)            \
	X(faa_on_modified)      \
	X(faa_on_exclusive)     \
	X(faa_on_shared)        \
	X(faa_on_invalid)

#define DECLARE_STATE_KERNEL(name) extern const struct state_kernel state_kernel_##name;
COHMAP_STATE_KERNELS(DECLARE_STATE_KERNEL)
#undef DECLARE_STATE_KERNEL

extern const struct state_kernel *const state_kernel_registry[];
extern const int state_kernel_count;
const struct state_kernel *state_kernel_find(const char *name);

/* ---- the chain ---- */

/* One measured line: the chain pointer and a word the stores write, so a
 * store never breaks the chain. The rest of the line (and the line after it,
 * see states_run.c) is never touched. */
struct chain_line {
	/* Address of the next line in the walk, plus the number of
	 * fetch-and-add walks done so far (each adds 1 to every line). */
	_Atomic uintptr_t next;
	_Atomic uint64_t payload;
};

/* Where the measured lines are. Each line is the first of a slot of
 * `stride` bytes (two cache lines, so the adjacent-line prefetcher, which
 * fetches the other line of an aligned pair, only ever brings in a line
 * nobody uses). The first slot of every page is not a measured line: reading
 * it reloads the page's TLB entry without touching any line of the set (see
 * states_touch_pages). */
struct line_set {
	unsigned char *base;   /* page-aligned */
	size_t stride;
	size_t page_size;
	long n;                /* measured lines */
	long per_page;         /* measured lines per page */
};

/* A set of n lines from base; returns the bytes it spans (whole pages). */
size_t line_set_init(struct line_set *set, unsigned char *base, size_t stride, size_t page_size,
		     long n);

static inline struct chain_line *line_at(const struct line_set *set, long i)
{
	long page = i / set->per_page, slot = 1 + i % set->per_page;
	return (struct chain_line *)(set->base + (size_t)page * set->page_size +
				     (size_t)slot * set->stride);
}

/* Links the lines of set into one cycle in a shuffled order (a seeded
 * Fisher-Yates shuffle, so a seed replays the same chain). order[k] receives
 * the index of the k-th line visited; the walk starts at order[0]. Returns
 * the first line. */
struct chain_line *states_chain_build(const struct line_set *set, uint64_t seed, long *order);

/* The requester's private view of the chain. */
struct chain_walk {
	struct chain_line *head;
	long n;
	uint64_t faa_walks;        /* fetch-and-add walks done: what each next is off by */
	const uintptr_t *expected; /* for CAS: expected[k] = true address of line k+1 of the walk */
	uint64_t store_value;
};

/* One walk of the whole chain with op, ending where it started. Returns
 * false when a line did not hold what the chain says it must (a broken
 * chain, never a result). Only this call is timed. */
bool states_walk(enum line_op op, struct chain_walk *w);

/* ---- preparing a state (never timed) ---- */

/* Every line of the set in address order; write_all returns once its stores
 * are in the cache. */
void states_write_all(const struct line_set *set, uint64_t value);
uint64_t states_read_all(const struct line_set *set);
/* Reads the first (unmeasured) slot of every page of the set: the TLB holds
 * the set's pages again after a system call flushed it (page-table isolation
 * without PCIDs does that on every kernel entry). */
uint64_t states_touch_pages(const struct line_set *set);

/* How a line is made Invalid in every cache: with one of the architecture's
 * flush instructions (base/arch.h: clflushopt or clflush on x86-64, dc civac
 * on aarch64), or by eviction. */
enum invalidation {
	INVALIDATE_FLUSH_ORDERED = ARCH_FLUSH_ORDERED,       /* clflush */
	INVALIDATE_FLUSH_OVERLAPPED = ARCH_FLUSH_OVERLAPPED, /* clflushopt, dc_civac */
	INVALIDATE_EVICT,
};
/* "clflushopt", "clflush", "dc_civac", "evict"; NULL for a flush this
 * architecture does not have. */
const char *invalidation_name(enum invalidation m);
/* The method a name means here; -1 when unknown. */
int invalidation_from_name(const char *name);
/* Whether this CPU has it (CPUID on x86-64), and if not why. Eviction is
 * always available. */
bool states_invalidation_available(enum invalidation m, char *why, size_t size);
/* What auto picks: the overlapped flush, else the ordered one, else eviction. */
enum invalidation states_best_invalidation(void);
/* Flushes every line of the set from every cache of the coherence domain
 * (m is a flush the CPU has), then waits until the flushes are done. */
void states_flush_all(const struct line_set *set, enum invalidation m);
/* Reads one word of every line of buf, so this CPU's caches fill with it
 * and drop whatever they held; calls beat(arg) every few MiB so a
 * supervisor sees progress. Returns a sum the caller can keep. */
uint64_t states_stream(const unsigned char *buf, size_t bytes, size_t line_size,
		       void (*beat)(void *arg), void *arg);

#endif
