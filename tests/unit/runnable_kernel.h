/* The atomic kernels are named by their form on aarch64 (cas_bounce_lse,
 * cas_bounce_llsc) and plainly on x86-64 (cas_bounce): a test that needs "the
 * CAS kernel" takes the first form this CPU can run. */
#ifndef COHMAP_TEST_RUNNABLE_KERNEL_H
#define COHMAP_TEST_RUNNABLE_KERNEL_H

#include <string.h>

#include "kernels/registry.h"

static inline const struct kernel *runnable_kernel(const char *base)
{
	char why[256];
	size_t len = strlen(base);
	for (int i = 0; i < kernel_count; i++) {
		const char *name = kernel_registry[i]->name;
		if (strncmp(name, base, len) == 0 && (name[len] == '\0' || name[len] == '_') &&
		    kernel_available(kernel_registry[i], why, sizeof why))
			return kernel_registry[i];
	}
	return NULL;
}

#endif
