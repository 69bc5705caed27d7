/* The kernel's own view of the CPUs, read without liblikwid: sysfs files and
 * CPU lists, the L2 sharing of a CPU, and this process's affinity mask.
 * Internal to topology/. */
#ifndef COHMAP_SYSFS_CPUS_H
#define COHMAP_SYSFS_CPUS_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>

#include <numa.h>

#define SYS_CPU "/sys/devices/system/cpu"

/* The file's text without trailing blanks. 0, or -1 when it cannot be read. */
int sysfs_read_text(const char *path, char *buf, size_t size);
/* A kernel CPU list ("0-3,8-11") read with libnuma's parser; NULL when the
 * file cannot be read. Free with numa_bitmask_free. */
struct bitmask *sysfs_read_cpulist(const char *path);
bool sysfs_in_mask(const struct bitmask *m, int cpu);
/* The CPUs sharing cpu's L2 from sysfs, named by the lowest; -1 when sysfs
 * does not say. */
int sysfs_l2(int cpu);
/* The same for the data or unified cache of any level; *bytes (if not NULL)
 * gets its size when sysfs says it. */
int sysfs_cache(int cpu, int level, size_t *bytes);
/* The lowest CPU of a mask, -1 when it is empty. */
int sysfs_lowest(const struct bitmask *m);

/* The first "name : value" line of /proc/cpuinfo with this name (the value
 * without blanks around it). 0, or -1 when there is none. */
int proc_cpuinfo_field(const char *name, char *buf, size_t size);

struct affinity {
	cpu_set_t *set;
	size_t size;
};

/* This process's affinity mask (a->set to CPU_FREE). 0, or -1 with a message. */
int affinity_read(struct affinity *a, char *err);
bool affinity_has(const struct affinity *a, int cpu);
/* "0-3,8" for error messages. */
void affinity_format(const struct affinity *a, char *buf, size_t size);

#endif
