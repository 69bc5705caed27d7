/* Contention kernels: many threads on one line. An operation kernel is the
 * inner loop of one thread on the shared word (load, store, fetch_add, a CAS
 * loop, exchange), on its own padded word (the no-sharing baseline), or on a
 * word that straddles two lines (a split lock). A lock kernel is acquire and
 * release of one lock, around the critical section below. Each declares what
 * one operation costs in protocol terms and checks what its threads left
 * behind; none allocates, pins or times anything (experiments/contention/
 * does, and times each acquisition from outside). */
#ifndef COHMAP_KERNELS_CONTENTION_H
#define COHMAP_KERNELS_CONTENTION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arch.h"
#include "kernels/kernel.h"

enum ct_kind { CT_ATOMIC, CT_BASELINE, CT_SPLIT_LOCK, CT_LOCK, CT_KIND_COUNT };
const char *ct_kind_name(enum ct_kind kind); /* "atomic", "baseline", "split_lock", "lock" */

/* One thread's view of its word. Private to the thread (the harness keeps it
 * in the thread's own block of lines); only *word is shared. Stores and
 * exchanges write tag | count, so a value names the thread that wrote it. */
struct ct_agent {
	_Atomic uint64_t *word;   /* the shared word, or the thread's own (baseline) */
	uint32_t *split;          /* split_lock_add, aligned_lock_add: a 32-bit word, maybe straddling */
	uint64_t tag;             /* (thread index + 1) << CT_TAG_SHIFT */
	int threads;              /* how many threads share the word */
	uint64_t ops;             /* operations done (CAS loop: successes) */
	uint64_t retries;         /* CAS loop: failed attempts */
	uint64_t last;            /* store, exchange: the last value it wrote */
	uint64_t seen;            /* fetch_add: the last value it got back */
};
#define CT_TAG_SHIFT 48
#define CT_COUNT_MASK ((UINT64_C(1) << CT_TAG_SHIFT) - 1)
/* What the word holds before a run: load checks every value against it. */
#define CT_INITIAL UINT64_C(0x5eed)

struct ct_op {
	const char *name;
	const char *base;         /* the operation whatever its atomic form: fetch_add for fetch_add_lse */
	const char *summary;
	enum ct_kind kind;
	bool own_word;            /* every thread on its own padded word (baseline) */
	bool straddles;           /* the word crosses a line boundary (split lock) */
	/* The cost model: lines moved to this core per operation when other
	 * threads hammer the same line, and the story in one sentence. */
	double lines_per_op;
	const char *model;
	/* n more operations; KERNEL_WRONG_DATA when a value read could not
	 * have been written by any thread */
	int (*run)(struct ct_agent *a, uint64_t n);
	/* After the run: the word against every thread's work (own_word: one
	 * thread's own word, n == 1). */
	int (*check)(uint64_t word, const struct ct_agent *const *agents, int n);
	bool counts_retries;      /* a CAS loop: retries per success are reported */
	/* NULL when every CPU of the architecture runs it; else whether this
	 * one does (an LSE form on an ARMv8.0 CPU), and if not why */
	bool (*available)(char *why, size_t size);
};

/* The read-modify-writes come in every form of atomics the architecture has
 * (base/arch.h): fetch_add on x86-64, fetch_add_lse and fetch_add_llsc on
 * aarch64, so the CSV says which instructions contended. */
#define CONTENTION_OPS(X)                          \
	X(load)                                    \
	X(store)                                   \
	ARCH_ATOMIC_KERNELS(X, fetch_add)          \
	ARCH_ATOMIC_KERNELS(X, cas_loop)           \
	ARCH_ATOMIC_KERNELS(X, exchange)           \
	ARCH_ATOMIC_KERNELS(X, fetch_add_padded)   \
	X(split_lock_add)                          \
	X(aligned_lock_add)

#define DECLARE_CT_OP(name) extern const struct ct_op ct_op_##name;
CONTENTION_OPS(DECLARE_CT_OP)
#undef DECLARE_CT_OP
extern const struct ct_op *const ct_op_registry[];
extern const int ct_op_count;

/* Puts a's word (or split word) in its state before the run. */
void ct_agent_init(struct ct_agent *a, const struct ct_op *op, _Atomic uint64_t *word,
		   uint32_t *split, int index, int threads);

/* ---- locks ---- */

/* What every lock protects: a counter incremented with plain loads and
 * stores, and the holder's tag. Outside a lock both would lose updates; the
 * counter must equal the acquisitions at the end. Lives on its own lines,
 * apart from the lock, as data guarded by a lock usually does. */
struct ct_guarded {
	uint64_t counter;
	uint64_t holder;
};

/* The critical section: KERNEL_WRONG_DATA when another thread wrote the
 * holder while this one held the lock (mutual exclusion broken). */
static inline int ct_critical_section(struct ct_guarded *g, uint64_t me)
{
	volatile struct ct_guarded *v = g;
	v->holder = me;
	v->counter = v->counter + 1;
	__asm__ __volatile__("" ::: "memory");
	return v->holder == me ? KERNEL_OK : KERNEL_WRONG_DATA;
}

/* How a waiting thread gives up: the supervisor raises *abort when the
 * heartbeat stalls or the user interrupts. */
struct ct_waiter {
	const atomic_int *abort;
	void *node;               /* the thread's queue node (MCS), in its own lines */
};

struct ct_lock {
	const char *name;
	const char *summary;
	size_t bytes;             /* the lock's state, at the start of its own block of lines */
	size_t node_bytes;        /* per-thread queue node (0: none) */
	bool fair;                /* FIFO hand-over: every waiter gets its turn */
	double lines_per_op;      /* lines moved per acquisition under contention, lock and data */
	const char *model;
	int (*init)(void *lock);  /* 0, or -1 */
	void (*destroy)(void *lock);
	/* KERNEL_OK with the lock held, or KERNEL_TIMEOUT when *abort was raised */
	int (*acquire)(void *lock, struct ct_waiter *w);
	void (*release)(void *lock, struct ct_waiter *w);
};

#define CONTENTION_LOCKS(X) \
	X(tas)                  \
	X(ttas_backoff)         \
	X(ticket)               \
	X(mcs)                  \
	X(pthread_mutex)        \
	X(pthread_spin)

#define DECLARE_CT_LOCK(name) extern const struct ct_lock ct_lock_##name;
CONTENTION_LOCKS(DECLARE_CT_LOCK)
#undef DECLARE_CT_LOCK
extern const struct ct_lock *const ct_lock_registry[];
extern const int ct_lock_count;

/* The count check every lock shares: the counter equals the acquisitions. */
int ct_lock_check(const struct ct_guarded *g, uint64_t acquisitions);

#endif
