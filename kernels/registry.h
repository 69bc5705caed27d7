/* The one list of kernels. The CLI, the tests and the docs all read it.
 * Adding a kernel: write its file in kernels/ defining `const struct kernel
 * kernel_<name>`, and add one X(<name>) line here. */
#ifndef COHMAP_REGISTRY_H
#define COHMAP_REGISTRY_H

#include "kernels/kernel.h"

#define COHMAP_KERNELS(X) \
	X(load_store)     \
	X(cas_bounce)     \
	X(faa_bounce)     \
	X(xchg_bounce)    \
	X(null)

#define DECLARE_KERNEL(name) extern const struct kernel kernel_##name;
COHMAP_KERNELS(DECLARE_KERNEL)
#undef DECLARE_KERNEL

extern const struct kernel *const kernel_registry[];
extern const int kernel_count;

const struct kernel *kernel_find(const char *name);

#endif
