/* The one list of kernels. The CLI, the tests and the docs all read it.
 * Adding a kernel: write its file in kernels/ defining `const struct kernel
 * kernel_<name>`, and add one X(<name>) line here.
 *
 * An atomic kernel comes in every form of atomics the architecture has
 * (ARCH_ATOMIC_KERNELS, base/arch.h): one on x86-64, under its plain name
 * (cas_bounce); two on aarch64, cas_bounce_lse and cas_bounce_llsc, so the
 * CSV's kernel column says which instructions ran. */
#ifndef COHMAP_REGISTRY_H
#define COHMAP_REGISTRY_H

#include "kernels/kernel.h"

#define COHMAP_KERNELS(X)                   \
	X(load_store)                       \
	ARCH_ATOMIC_KERNELS(X, cas_bounce)  \
	ARCH_ATOMIC_KERNELS(X, faa_bounce)  \
	ARCH_ATOMIC_KERNELS(X, xchg_bounce) \
	X(null)

#define DECLARE_KERNEL(name) extern const struct kernel kernel_##name;
COHMAP_KERNELS(DECLARE_KERNEL)
#undef DECLARE_KERNEL

extern const struct kernel *const kernel_registry[];
extern const int kernel_count;

const struct kernel *kernel_find(const char *name);

#endif
