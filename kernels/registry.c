#include "kernels/registry.h"

#include <string.h>

#define KERNEL_ENTRY(name) &kernel_##name,
const struct kernel *const kernel_registry[] = { COHMAP_KERNELS(KERNEL_ENTRY) };
#undef KERNEL_ENTRY
const int kernel_count = sizeof kernel_registry / sizeof kernel_registry[0];

const struct kernel *kernel_find(const char *name)
{
	for (int i = 0; i < kernel_count; i++)
		if (strcmp(kernel_registry[i]->name, name) == 0)
			return kernel_registry[i];
	return NULL;
}
