/* x86-64: pause, lfence + rdtsc, clflush/clflushopt, lock-prefixed
 * instructions, and the AVX clones of the stream kernels. Included by
 * base/arch.h only. */
#ifndef COHMAP_ARCH_X86_64_H
#define COHMAP_ARCH_X86_64_H

#include <cpuid.h>
#include <emmintrin.h>
#include <stdio.h>

#include "base/arch/c11_atomics.h"

#define ARCH_NAME "x86_64"

static inline void arch_relax(void)
{
	__builtin_ia32_pause();
}

static inline void arch_full_fence(void)
{
	__asm__ __volatile__("mfence" ::: "memory");
}

/* ---- the timer: the time-stamp counter ---- */

#define ARCH_TIMER "tsc"
#define ARCH_TIMER_SOURCE "invariant TSC"

/* CPUID 0x80000007 EDX bit 8: the TSC runs at a constant rate in all P-, C-
 * and T-states, on Intel and AMD alike. Without it TSC ticks are not time. */
static inline bool arch_timer_usable(char *why, size_t size)
{
	unsigned a, b, c, d;
	if (__get_cpuid(0x80000007, &a, &b, &c, &d) && (d >> 8) & 1)
		return true;
	snprintf(why, size, "the TSC is not invariant (CPUID 0x80000007 EDX bit 8)");
	return false;
}

static inline uint64_t arch_timer_ticks(void)
{
	uint32_t lo, hi;
	/* lfence keeps earlier loads and stores of the timed batch from
	 * drifting past the read (dispatch-serialising on Intel and on AMD
	 * with Linux's default settings). */
	__asm__ __volatile__("lfence\n\trdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

/* The TSC's rate is not architected in a register user space can read: it
 * is calibrated against CLOCK_MONOTONIC_RAW. */
static inline uint64_t arch_timer_hz(void)
{
	return 0;
}

/* CPUID leaf 1 ECX bit 31 is set by every hypervisor; leaf 0x40000000 names
 * it. False when no hypervisor says so: "none". */
static inline bool arch_hypervisor_name(char *buf, size_t size)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c >> 31)) {
		snprintf(buf, size, "none");
		return true;
	}
	__cpuid(0x40000000, a, b, c, d);
	char sig[13];
	__builtin_memcpy(sig, &b, 4);
	__builtin_memcpy(sig + 4, &c, 4);
	__builtin_memcpy(sig + 8, &d, 4);
	sig[12] = '\0';
	for (int i = 11; i >= 0 && (sig[i] == ' ' || sig[i] == '\0'); i--)
		sig[i] = '\0';
	snprintf(buf, size, "%s", sig[0] ? sig : "unknown");
	return true;
}

/* The cache line size where only the CPU says it; 0: ask sysconf. */
static inline int arch_line_size(void)
{
	return 0;
}

/* ---- flushing lines ---- */

static inline const char *arch_flush_name(enum arch_flush kind)
{
	return kind == ARCH_FLUSH_ORDERED ? "clflush" : "clflushopt";
}

static inline bool arch_flush_available(enum arch_flush kind, char *why, size_t size)
{
	unsigned a, b, c, d;
	if (kind == ARCH_FLUSH_ORDERED) {
		if (__get_cpuid(1, &a, &b, &c, &d) && (d >> 19) & 1) /* CPUID.1:EDX.CLFSH */
			return true;
		snprintf(why, size, "this CPU has no clflush (CPUID leaf 1, EDX bit 19); try --invalidate evict");
		return false;
	}
	if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (b >> 23) & 1) /* CPUID.7.0:EBX.CLFLUSHOPT */
		return true;
	snprintf(why, size, "this CPU has no clflushopt (CPUID leaf 7, EBX bit 23); try --invalidate clflush or evict");
	return false;
}

/* clflush is ordered with every other store and flush, so each one waits for
 * the last; clflushopt is not, so the flushes of a set overlap, and
 * arch_flush_wait waits for all of them. Either way the line leaves every
 * cache of the coherence domain, not just ours. */
static inline void arch_flush_line(enum arch_flush kind, void *line)
{
	char *p = line;
	if (kind == ARCH_FLUSH_OVERLAPPED)
		__asm__ __volatile__("clflushopt %0" : "+m"(*p)::"memory");
	else
		__asm__ __volatile__("clflush %0" : "+m"(*p)::"memory");
}

static inline void arch_flush_wait(void)
{
	__asm__ __volatile__("mfence" ::: "memory");
}

/* ---- atomics without a portable spelling ---- */

/* In C, a successful CAS leaves `expected` as it was, so the compiler may
 * compute the next address from the private copy instead of from what the
 * instruction returned; the asm makes the returned register the only source.
 * (A locked instruction also orders every later load.) *seen holds the
 * expected value and receives the loaded one. */
static inline bool arch_cas_returning(_Atomic uintptr_t *word, uintptr_t *seen)
{
	bool ok;
	uintptr_t desired = *seen;
	__asm__ __volatile__("lock cmpxchgq %[desired], %[word]"
			     : "+a"(*seen), [word] "+m"(*word), "=@ccz"(ok)
			     : [desired] "r"(desired)
			     : "memory");
	return ok;
}

/* A locked add on a 32-bit word that may straddle two lines (a split lock):
 * the compiler's atomics assume alignment, `lock addl` says exactly what the
 * CPU gets. */
#define ARCH_SPLIT_LOCK 1
#define ARCH_NO_SPLIT_LOCK_REASON NULL
static inline void arch_locked_add32(uint32_t *word)
{
	__asm__ __volatile__("lock addl $1, %0" : "+m"(*word) : : "memory");
}

/* Every x86-64 atomic read-modify-write is one locked instruction: there is
 * no second form to compare with (see base/arch/aarch64.h), so the atomic
 * kernels have one form, C11 atomics (base/arch/c11_atomics.h). */
static inline bool arch_supports_lse(char *why, size_t size)
{
	snprintf(why, size, "LSE atomics are an aarch64 extension");
	return false;
}

/* ---- the stream kernels' vectors ---- */

/* Each plain loop is built for the widest vectors this CPU has (the dynamic
 * loader picks the clone, as it does for libc's memcpy). The clones follow
 * likwid-bench's kernel widths (copy_avx512, copy_avx, copy_sse), so
 * bench/bandwidth-vs-likwid compares like with like: "avx" gives 256-bit
 * moves to a CPU with AVX but no AVX2 (its integer adds stay 128-bit). */
#define ARCH_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "avx", "default")))

/* The clone that runs, in the order target_clones prefers. */
static inline const char *arch_vector_isa(void)
{
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f"))
		return "avx512f";
	if (__builtin_cpu_supports("avx2"))
		return "avx2";
	if (__builtin_cpu_supports("avx"))
		return "avx";
	return "x86-64 baseline (sse2)";
}

/* Non-temporal stores of two words (SSE2, part of x86-64). */
#define ARCH_NONTEMPORAL 1
static inline bool arch_nontemporal_available(char *why, size_t size)
{
	__builtin_cpu_init();
	if (__builtin_cpu_supports("sse2"))
		return true;
	snprintf(why, size, "non-temporal stores need SSE2, which this CPU lacks");
	return false;
}

static inline void arch_store_nt2(uint64_t *dst, uint64_t first, uint64_t second)
{
	_mm_stream_si128((__m128i *)dst, _mm_set_epi64x((long long)second, (long long)first));
}

static inline void arch_copy_nt2(uint64_t *dst, const uint64_t *src)
{
	_mm_stream_si128((__m128i *)dst, _mm_load_si128((const __m128i *)src));
}

/* Streaming stores are weakly ordered: the fence makes the whole chunk
 * visible before the caller publishes it with a release store. */
static inline void arch_nt_fence(void)
{
	_mm_sfence();
}

/* What the atomics of C11 code run here, for meta.json. */
static inline const char *arch_atomics_description(void)
{
	return "lock-prefixed read-modify-writes";
}

#endif
