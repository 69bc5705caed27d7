/* Naming groups of CPUs after their lowest CPU. Internal to topology/. */
#ifndef COHMAP_GROUPS_H
#define COHMAP_GROUPS_H

#include <stddef.h>
#include <stdint.h>

#include "topology/topology.h"

/* Two 32-bit ids as one sortable key. */
uint64_t topology_key2(uint32_t hi, uint32_t lo);
/* Sets the int at `field` of every cpus[i] to the lowest CPU id among the
 * CPUs with the same keys[i]. 0, or -1 when out of memory. */
int topology_name_groups(struct cpu_place *cpus, int n, const uint64_t *keys, size_t field);

#endif
