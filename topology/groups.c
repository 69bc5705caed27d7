/* Naming groups of CPUs (cores, L2 and L3 groups, dies) after their lowest
 * CPU, and ranking the threads of a core: shared by the topology sources
 * (topology/likwid_source.c, topology/sysfs_source.c). */
#include <stdint.h>
#include <stdlib.h>

#include "topology/groups.h"

struct keyed {
	uint64_t key;
	int index;
};

static int cmp_keyed(const void *pa, const void *pb)
{
	const struct keyed *a = pa, *b = pb;

	if (a->key != b->key)
		return a->key > b->key ? 1 : -1;
	return (a->index > b->index) - (a->index < b->index);
}

uint64_t topology_key2(uint32_t hi, uint32_t lo)
{
	return (uint64_t)hi << 32 | lo;
}

/* Each group is named after its lowest CPU: the ids are then global, the same
 * under any cpuset, and readable ("core 20" is the core CPU 20 sits on). */
int topology_name_groups(struct cpu_place *cpus, int n, const uint64_t *keys, size_t field)
{
	struct keyed *k = malloc((size_t)n * sizeof(*k));

	if (!k)
		return -1;
	for (int i = 0; i < n; i++)
		k[i] = (struct keyed){ keys[i], i };
	qsort(k, (size_t)n, sizeof(*k), cmp_keyed);
	for (int i = 0, first = 0; i < n; i++) {
		if (i > 0 && k[i].key != k[i - 1].key)
			first = i;
		*(int *)(void *)((char *)&cpus[k[i].index] + field) = cpus[k[first].index].cpu;
	}
	free(k);
	return 0;
}

/* likwid's thread id is hwloc's sibling_rank of the PU: its rank among the
 * children of its parent object, which is the core only when no cache is
 * private to one thread. QEMU 7.2 (TCG, -cpu Skylake-Server, threads=2) reports
 * in CPUID leaf 4 an L1 per thread, so hwloc hangs each PU below its own L1
 * and every thread of a core gets sibling_rank 0: likwid says both threads of
 * each core are thread 0 while the kernel lists them as siblings. So the SMT
 * index is the thread's rank within its core, ordered by likwid's thread id
 * and then by OS CPU id, the order of the kernel's thread_siblings_list. Where
 * likwid's ids are right (0, 1, ... per core) this changes none of them. */
int topology_rank_smt(struct cpu_place *cpus, int n)
{
	struct keyed *k = malloc((size_t)(n > 0 ? n : 1) * sizeof(*k));

	if (!k)
		return -1;
	for (int i = 0; i < n; i++)
		k[i] = (struct keyed){ topology_key2((uint32_t)cpus[i].core, (uint32_t)cpus[i].smt), i };
	/* Ties (equal thread ids in one core) fall back to the index, and cpus
	 * is sorted by CPU id. */
	qsort(k, (size_t)n, sizeof(*k), cmp_keyed);
	for (int i = 0, first = 0; i < n; i++) {
		if (i > 0 && k[i].key >> 32 != k[i - 1].key >> 32)
			first = i;
		cpus[k[i].index].smt = i - first;
	}
	free(k);
	return 0;
}

