/* Everything cohmap does that depends on the instruction set, behind one
 * small interface: the spin hint, fences, the cycle timer, flushing a line
 * and the atomic instructions that have no portable spelling. Each
 * architecture lives in one file under base/arch/; nothing else in cohmap
 * tests __x86_64__ or __aarch64__.
 *
 * Every file defines:
 *   ARCH_NAME                     "x86_64", "aarch64" or "generic"
 *   arch_relax()                  the spin-wait hint (pause, yield)
 *   arch_full_fence()             orders every earlier access before every later one
 *   ARCH_TIMER, ARCH_TIMER_SOURCE the cycle timer's short and long names
 *   arch_timer_usable(why)        whether it counts time here (else clock_gettime)
 *   arch_timer_ticks()            one read, after every earlier instruction
 *   arch_timer_hz()               its architected rate, 0 when it must be calibrated
 *   arch_flush_name[], arch_flush_available(), arch_flush_line(), arch_flush_wait():
 *                                 taking a line out of every cache of the coherence domain
 *   arch_cas_returning()          a CAS whose next use depends on the value it loaded
 *   ARCH_SPLIT_LOCK, arch_locked_add32(): a locked add across two lines (x86 only)
 *   ARCH_VECTOR_CLONES            the stream kernels' function multi-versioning
 *   arch_vector_isa()             the vector ISA the stream kernels run with
 *   ARCH_NONTEMPORAL, arch_store_nt2(), arch_copy_nt2(), arch_nt_fence(): streaming stores
 *   arch_supports_lse(why)        the LSE atomics (aarch64; false elsewhere)
 */
#ifndef COHMAP_ARCH_H
#define COHMAP_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How lines are taken out of the caches: two instructions on x86 (clflush,
 * ordered with every store; clflushopt, which overlaps with the next), one on
 * aarch64 (dc civac, ordered only by the dsb after the set). */
enum arch_flush { ARCH_FLUSH_ORDERED, ARCH_FLUSH_OVERLAPPED, ARCH_FLUSH_KINDS };

#if defined(__x86_64__)
#include "base/arch/x86_64.h"
#elif defined(__aarch64__)
#include "base/arch/aarch64.h"
#else
#include "base/arch/generic.h"
#endif

#endif
