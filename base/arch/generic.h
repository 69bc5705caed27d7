/* Any other architecture: no cycle timer (clock_gettime times everything),
 * no flush instruction (lines are evicted), C11 atomics, scalar stream
 * loops. cohmap builds and runs; what it cannot do there it skips with a
 * reason. Included by base/arch.h only. */
#ifndef COHMAP_ARCH_GENERIC_H
#define COHMAP_ARCH_GENERIC_H

#include <stdatomic.h>
#include <stdio.h>

#include "base/arch/c11_atomics.h"

#define ARCH_NAME "generic"

static inline void arch_relax(void)
{
}

static inline void arch_full_fence(void)
{
	atomic_thread_fence(memory_order_seq_cst);
}

#define ARCH_TIMER "clock_gettime"
#define ARCH_TIMER_SOURCE "CLOCK_MONOTONIC_RAW"

static inline bool arch_timer_usable(char *why, size_t size)
{
	snprintf(why, size, "no cycle timer is known for this architecture");
	return false;
}

static inline uint64_t arch_timer_ticks(void)
{
	return 0; /* never called: arch_timer_usable() says no */
}

static inline uint64_t arch_timer_hz(void)
{
	return 0;
}

/* The CPU does not name a hypervisor to user space here: the caller asks
 * the kernel. */
static inline bool arch_hypervisor_name(char *buf, size_t size)
{
	(void)buf, (void)size;
	return false;
}

/* The cache line size where only the CPU says it; 0: ask sysconf. */
static inline int arch_line_size(void)
{
	return 0;
}

static inline const char *arch_flush_name(enum arch_flush kind)
{
	(void)kind;
	return NULL;
}

static inline bool arch_flush_available(enum arch_flush kind, char *why, size_t size)
{
	(void)kind;
	snprintf(why, size, "no user-level flush instruction is known for this architecture; try --invalidate evict");
	return false;
}

static inline void arch_flush_line(enum arch_flush kind, void *line)
{
	(void)kind, (void)line;
}

static inline void arch_flush_wait(void)
{
}

static inline bool arch_supports_lse(char *why, size_t size)
{
	snprintf(why, size, "LSE atomics are an aarch64 extension");
	return false;
}

static inline bool arch_cas_returning(_Atomic uintptr_t *word, uintptr_t *seen)
{
	uintptr_t desired = *seen;
	return atomic_compare_exchange_strong_explicit(word, seen, desired, memory_order_seq_cst,
						       memory_order_seq_cst);
}

#define ARCH_SPLIT_LOCK 0
static inline void arch_locked_add32(uint32_t *word)
{
	(void)word;
	__builtin_unreachable(); /* never called: callers test ARCH_SPLIT_LOCK first */
}
#define ARCH_NO_SPLIT_LOCK_REASON \
	"split locks are an x86 matter: lock add is not available on this architecture"

#define ARCH_VECTOR_CLONES

static inline const char *arch_vector_isa(void)
{
	return "the compiler's default";
}

#define ARCH_NONTEMPORAL 0
static inline bool arch_nontemporal_available(char *why, size_t size)
{
	snprintf(why, size, "non-temporal stores are not implemented for this architecture");
	return false;
}

static inline void arch_store_nt2(uint64_t *dst, uint64_t first, uint64_t second)
{
	dst[0] = first;
	dst[1] = second;
}

static inline void arch_copy_nt2(uint64_t *dst, const uint64_t *src)
{
	dst[0] = src[0];
	dst[1] = src[1];
}

static inline void arch_nt_fence(void)
{
}

static inline const char *arch_atomics_description(void)
{
	return "C11 atomics as the compiler builds them";
}

#endif
