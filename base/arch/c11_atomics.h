/* The atomic kernels' operations as C11 atomics: the form of an architecture
 * whose read-modify-writes come in one kind only (x86-64: one locked
 * instruction each), and of the portable fallback. Included by base/arch/
 * files only. */
#ifndef COHMAP_ARCH_C11_ATOMICS_H
#define COHMAP_ARCH_C11_ATOMICS_H

#include <stdatomic.h>

/* One form, without a suffix or a note: the kernels keep their plain names
 * and summaries. */
enum arch_atomic_form { ARCH_ATOMIC_C11 };
#define ARCH_ATOMIC_FORMS(X) X(, ARCH_ATOMIC_C11, "", "", "")
#define ARCH_ATOMIC_KERNELS(X, base) X(base)

static inline bool arch_atomic_available(enum arch_atomic_form form, char *why, size_t size)
{
	(void)form, (void)why, (void)size;
	return true;
}

static inline uint64_t arch_cas(enum arch_atomic_form form, _Atomic uint64_t *word,
				uint64_t expected, uint64_t desired)
{
	(void)form;
	atomic_compare_exchange_strong_explicit(word, &expected, desired, memory_order_acq_rel,
						memory_order_acquire);
	return expected;
}

static inline uint64_t arch_fetch_add(enum arch_atomic_form form, _Atomic uint64_t *word,
				      uint64_t add)
{
	(void)form;
	return atomic_fetch_add_explicit(word, add, memory_order_acq_rel);
}

static inline uint64_t arch_exchange(enum arch_atomic_form form, _Atomic uint64_t *word,
				     uint64_t value)
{
	(void)form;
	return atomic_exchange_explicit(word, value, memory_order_acq_rel);
}

#endif
