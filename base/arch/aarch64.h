/* aarch64: yield, isb + cntvct_el0, dc civac, and the two forms of every
 * atomic read-modify-write: the LSE instructions (ARMv8.1: casal, ldaddal,
 * swpal) and the load-linked/store-conditional loop (ldaxr/stlxr) that every
 * ARMv8 CPU has. Included by base/arch.h only.
 *
 * The atomics are inline asm in both forms: with C11 atomics gcc picks one
 * form at build time (-march) or at run time (-moutline-atomics), and the
 * kernel's name could not say which one ran. The LSE mnemonics are accepted
 * by the assembler through `.arch_extension lse` in the asm itself, so the
 * rest of cohmap is still built for plain ARMv8.0 and the compiler never
 * emits an LSE instruction of its own choice; an LSE kernel runs only after
 * arch_atomic_available() said yes (HWCAP_ATOMICS), so a CPU without them
 * skips it and never takes a SIGILL. */
#ifndef COHMAP_ARCH_AARCH64_H
#define COHMAP_ARCH_AARCH64_H

#include <stdatomic.h>
#include <stdio.h>
#include <sys/auxv.h>

#define ARCH_NAME "aarch64"

/* The spin hint: a no-op on most cores, a hint to an SMT sibling or a
 * hypervisor on the others. */
static inline void arch_relax(void)
{
	__asm__ __volatile__("yield" ::: "memory");
}

static inline void arch_full_fence(void)
{
	__asm__ __volatile__("dmb ish" ::: "memory");
}

/* ---- the timer: the generic timer's virtual count ---- */

#define ARCH_TIMER "cntvct_el0"
#define ARCH_TIMER_SOURCE "generic timer (cntvct_el0)"

/* Linux lets user space read cntvct_el0 on every arm64 machine (it traps and
 * emulates the read on the few with an erratum), so the timer is usable
 * whenever its frequency register says what a tick is. */
static inline uint64_t arch_timer_hz(void)
{
	uint64_t hz;
	__asm__ __volatile__("mrs %0, cntfrq_el0" : "=r"(hz));
	return hz;
}

static inline bool arch_timer_usable(char *why, size_t size)
{
	if (arch_timer_hz() > 0)
		return true;
	snprintf(why, size, "cntfrq_el0 reads 0: the firmware did not set the timer's frequency");
	return false;
}

/* isb: the count is read after every earlier instruction has completed, the
 * counterpart of lfence before rdtsc (the timer read is not ordered with
 * anything otherwise, and may be taken early). */
static inline uint64_t arch_timer_ticks(void)
{
	uint64_t ticks;
	__asm__ __volatile__("isb\n\tmrs %0, cntvct_el0" : "=r"(ticks)::"memory");
	return ticks;
}

/* The CPU does not name a hypervisor to user space here: the caller asks
 * the kernel. */
static inline bool arch_hypervisor_name(char *buf, size_t size)
{
	(void)buf, (void)size;
	return false;
}

/* The smallest data cache line of the CPU, from CTR_EL0.DminLine (log2 of
 * words), which Linux lets user space read: glibc's sysconf does not know
 * it on arm64. */
static inline int arch_line_size(void)
{
	uint64_t ctr;
	__asm__ __volatile__("mrs %0, ctr_el0" : "=r"(ctr));
	return 4 << ((ctr >> 16) & 0xf);
}

/* ---- flushing lines ---- */

/* One instruction: dc civac cleans and invalidates the line to the point of
 * coherence, out of every cache of the coherence domain. Linux lets user
 * space run it (SCTLR_EL1.UCI). The flushes of a set overlap, and
 * arch_flush_wait's dsb waits for all of them: the overlapped kind. */
static inline const char *arch_flush_name(enum arch_flush kind)
{
	return kind == ARCH_FLUSH_OVERLAPPED ? "dc_civac" : NULL;
}

static inline bool arch_flush_available(enum arch_flush kind, char *why, size_t size)
{
	if (kind == ARCH_FLUSH_OVERLAPPED)
		return true;
	snprintf(why, size, "aarch64 has no flush ordered with every store; try --invalidate dc_civac or evict");
	return false;
}

static inline void arch_flush_line(enum arch_flush kind, void *line)
{
	(void)kind;
	__asm__ __volatile__("dc civac, %0" : : "r"(line) : "memory");
}

static inline void arch_flush_wait(void)
{
	__asm__ __volatile__("dsb ish" ::: "memory");
}

/* ---- atomics ---- */

static inline bool arch_supports_lse(char *why, size_t size)
{
	if (getauxval(AT_HWCAP) & HWCAP_ATOMICS)
		return true;
	snprintf(why, size, "this CPU has no LSE atomics (ARMv8.1; HWCAP_ATOMICS is not set)");
	return false;
}

/* The forms every atomic kernel comes in; ARCH_ATOMIC_FORMS(X) calls
 * X(name suffix, form, what its CAS, fetch-and-add and exchange run: the end
 * of each kernel's summary). */
enum arch_atomic_form { ARCH_ATOMIC_LSE, ARCH_ATOMIC_LLSC };
#define ARCH_ATOMIC_FORMS(X)                                                             \
	X(_lse, ARCH_ATOMIC_LSE, " (LSE: casal)", " (LSE: ldaddal)", " (LSE: swpal)")   \
	X(_llsc, ARCH_ATOMIC_LLSC, " (LL/SC: ldaxr, cmp, stlxr loop)",                  \
	  " (LL/SC: ldaxr, add, stlxr loop)", " (LL/SC: ldaxr, stlxr loop)")
#define ARCH_ATOMIC_KERNELS(X, base) X(base##_lse) X(base##_llsc)

static inline bool arch_atomic_available(enum arch_atomic_form form, char *why, size_t size)
{
	return form == ARCH_ATOMIC_LLSC || arch_supports_lse(why, size);
}

/* Compare-and-swap with acquire and release semantics; returns the value
 * the instruction loaded (equal to expected when it stored). */
static inline uint64_t arch_cas(enum arch_atomic_form form, _Atomic uint64_t *word,
				uint64_t expected, uint64_t desired)
{
	uint64_t *p = (uint64_t *)word, old;
	if (form == ARCH_ATOMIC_LSE) {
		old = expected;
		__asm__ __volatile__(".arch_extension lse\n\tcasal %[old], %[desired], %[mem]"
				     : [old] "+r"(old), [mem] "+Q"(*p)
				     : [desired] "r"(desired)
				     : "memory");
		return old;
	}
	uint32_t failed;
	__asm__ __volatile__("1:	ldaxr	%[old], %[mem]\n"
			     "	cmp	%[old], %[expected]\n"
			     "	b.ne	2f\n"
			     "	stlxr	%w[failed], %[desired], %[mem]\n"
			     "	cbnz	%w[failed], 1b\n"
			     "2:"
			     : [old] "=&r"(old), [failed] "=&r"(failed), [mem] "+Q"(*p)
			     : [expected] "r"(expected), [desired] "r"(desired)
			     : "cc", "memory");
	return old;
}

/* Fetch-and-add, acquire and release; returns the value before the add. */
static inline uint64_t arch_fetch_add(enum arch_atomic_form form, _Atomic uint64_t *word,
				      uint64_t add)
{
	uint64_t *p = (uint64_t *)word, old, sum;
	if (form == ARCH_ATOMIC_LSE) {
		__asm__ __volatile__(".arch_extension lse\n\tldaddal %[add], %[old], %[mem]"
				     : [old] "=r"(old), [mem] "+Q"(*p)
				     : [add] "r"(add)
				     : "memory");
		return old;
	}
	uint32_t failed;
	__asm__ __volatile__("1:	ldaxr	%[old], %[mem]\n"
			     "	add	%[sum], %[old], %[add]\n"
			     "	stlxr	%w[failed], %[sum], %[mem]\n"
			     "	cbnz	%w[failed], 1b"
			     : [old] "=&r"(old), [sum] "=&r"(sum), [failed] "=&r"(failed), [mem] "+Q"(*p)
			     : [add] "r"(add)
			     : "memory");
	return old;
}

/* Exchange, acquire and release; returns the value replaced. */
static inline uint64_t arch_exchange(enum arch_atomic_form form, _Atomic uint64_t *word,
				     uint64_t value)
{
	uint64_t *p = (uint64_t *)word, old;
	if (form == ARCH_ATOMIC_LSE) {
		__asm__ __volatile__(".arch_extension lse\n\tswpal %[value], %[old], %[mem]"
				     : [old] "=r"(old), [mem] "+Q"(*p)
				     : [value] "r"(value)
				     : "memory");
		return old;
	}
	uint32_t failed;
	__asm__ __volatile__("1:	ldaxr	%[old], %[mem]\n"
			     "	stlxr	%w[failed], %[value], %[mem]\n"
			     "	cbnz	%w[failed], 1b"
			     : [old] "=&r"(old), [failed] "=&r"(failed), [mem] "+Q"(*p)
			     : [value] "r"(value)
			     : "memory");
	return old;
}

/* The states experiment's CAS of a chain word: its next address must come
 * from the register the instruction loaded (see base/arch/x86_64.h). The
 * form is the CPU's best: LSE where it has them. */
static inline bool arch_cas_returning(_Atomic uintptr_t *word, uintptr_t *seen)
{
	char why[8];
	uintptr_t expected = *seen;
	*seen = arch_cas(arch_supports_lse(why, sizeof why) ? ARCH_ATOMIC_LSE : ARCH_ATOMIC_LLSC,
			 (_Atomic uint64_t *)word, expected, expected);
	return *seen == expected;
}

/* Split locks are an x86 matter. */
#define ARCH_SPLIT_LOCK 0
static inline void arch_locked_add32(uint32_t *word)
{
	(void)word;
	__builtin_unreachable(); /* never called: callers test ARCH_SPLIT_LOCK first */
}
#define ARCH_NO_SPLIT_LOCK_REASON \
	"split locks are an x86 matter: aarch64 has no locked access across two lines"

/* ---- the stream kernels' vectors ---- */

/* cohmap is built for ARMv8.0, whose vectors are Advanced SIMD (NEON): the
 * loops are vectorised for 128-bit registers. SVE, where the CPU has it, is
 * not used (the build would need a second clone per loop, as on x86). */
#define ARCH_VECTOR_CLONES

static inline const char *arch_vector_isa(void)
{
	return getauxval(AT_HWCAP) & HWCAP_SVE ? "asimd (neon; the CPU also has sve, not used)"
					       : "asimd (neon)";
}

/* stnp: a store pair with a non-temporal hint, in every ARMv8 CPU. */
#define ARCH_NONTEMPORAL 1
static inline bool arch_nontemporal_available(char *why, size_t size)
{
	(void)why, (void)size;
	return true;
}

static inline void arch_store_nt2(uint64_t *dst, uint64_t first, uint64_t second)
{
	__asm__ __volatile__("stnp %[a], %[b], [%[dst]]"
			     : : [a] "r"(first), [b] "r"(second), [dst] "r"(dst) : "memory");
}

static inline void arch_copy_nt2(uint64_t *dst, const uint64_t *src)
{
	arch_store_nt2(dst, src[0], src[1]);
}

/* A later release store orders the stnp stores before it too; the barrier
 * makes the chunk's end explicit, as sfence does on x86. */
static inline void arch_nt_fence(void)
{
	__asm__ __volatile__("dmb ishst" ::: "memory");
}

/* What the atomics of C11 code run here, for meta.json: gcc's outline
 * atomics (on by default for arm64) pick LSE when the CPU has it. The atomic
 * latency kernels name their form themselves (cas_bounce_lse, _llsc). */
static inline const char *arch_atomics_description(void)
{
	char why[8];
	return arch_supports_lse(why, sizeof why)
		       ? "LSE (ARMv8.1): C11 atomics run LSE instructions (gcc's outline atomics)"
		       : "LL/SC only (no LSE): C11 atomics run ldaxr/stlxr loops";
}

#endif
