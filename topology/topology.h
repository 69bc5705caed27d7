/* The machine's topology: where each CPU sits, how two CPUs relate, and the
 * order in which plots lay them out. Filled from liblikwid or from a topology
 * file (tests, offline plotting); every CPU id cohmap prints comes from here. */
#ifndef COHMAP_TOPOLOGY_H
#define COHMAP_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* How close two CPUs are, nearest first. A pair gets the first class that
 * applies: other socket; same socket but other NUMA node (sub-NUMA clustering,
 * AMD NPS); same core (SMT siblings); same L2; same L3 group; same die; else
 * same socket. */
enum pair_class {
	PAIR_SELF,
	PAIR_SMT,
	PAIR_L2,
	PAIR_L3,
	PAIR_DIE,
	PAIR_SOCKET,
	PAIR_NUMA,
	PAIR_CROSS_SOCKET,
	PAIR_CLASS_COUNT
};

/* Where one hardware thread sits. Every id is global (unique across the
 * machine, not per socket), so "same X" is a plain comparison. */
struct cpu_place {
	int cpu;        /* the OS CPU id (what taskset and /proc/cpuinfo call it) */
	int socket;
	int die;
	int numa_node;
	int l3_group;   /* CPUs sharing one last-level cache */
	int l2_group;
	int core;
	int smt;        /* index of this thread within its core: 0, 1, ... */
	bool online;
	bool allowed;   /* in this process's affinity mask */
};

struct topology {
	char cpu_model[128];
	char vendor[32];
	int family, model, stepping;
	int line_size;                /* bytes, from the system */
	size_t l1d_bytes, l2_bytes, l3_bytes; /* size of one instance of each */
	int ncpus;
	struct cpu_place *cpus;       /* sorted by cpu id */
	char source[256];             /* "likwid 5.2" or the topology file's path */
};

const char *pair_class_name(enum pair_class c);        /* "smt", "l2", ..., "cross-socket" */
const char *pair_class_description(enum pair_class c); /* "SMT siblings (same core)", ... */
int pair_class_from_name(const char *name);             /* -1 when unknown */

/* Fill from liblikwid (CPUs, caches, NUMA) plus the process's affinity mask
 * and /sys/devices/system/cpu/online; from sysfs alone where liblikwid cannot
 * (its source then says "sysfs (likwid: why)"). */
int topology_detect(struct topology *t, char *err);
/* The same from /sys/devices/system/cpu alone (topology/sysfs_source.c):
 * topology_detect's fallback where liblikwid cannot read the machine. */
int sysfs_topology_detect(struct topology *t, char *err);
/* Whether this build has liblikwid (make NO_LIKWID=1 builds without). */
bool topology_likwid_built(void);
/* Number the threads of each core 0, 1, ... in the order of their current
 * smt values, then of their CPU ids (cpus sorted by cpu id, cores named):
 * repairs thread ids that liblikwid repeats within a core. -1 when out of
 * memory. */
int topology_rank_smt(struct cpu_place *cpus, int n);
/* Read and write the topology file format (see topology/fixtures/README). */
int topology_load(struct topology *t, const char *path, char *err);
int topology_save(const struct topology *t, const char *path, char *err);
void topology_free(struct topology *t);

/* The invariants sorting and pair classes rely on: cpus sorted by id, each id
 * once, no negative id, and core within one L2 group, L2 group within one L3
 * group, L3 group within one die, die within one socket, core within one NUMA
 * node, smt unique within a core. Returns 0, or -1 with a message and *bad set
 * to the index in t->cpus of the CPU at fault (-1 if none); bad may be NULL. */
int topology_check(const struct topology *t, int *bad, char *err);

const struct cpu_place *topology_find(const struct topology *t, int cpu);
/* PAIR_CLASS_COUNT when a CPU is not in t (pair_class_name() gives "unknown"). */
enum pair_class topology_pair_class(const struct topology *t, int cpu_a, int cpu_b);

/* Sort CPU ids into topology order: socket, die, L3 group, core, SMT thread,
 * so that each domain is one contiguous block whatever the numbering. */
void topology_sort(const struct topology *t, int *cpus, int n);

/* Reorders cpus (given in topology order) for adding threads one at a time:
 * nearest first (each next CPU the closest to those already placed: the SMT
 * sibling, then the same L3 group, other L3 groups, the other socket), or
 * with spread, farthest first. cpus[0] stays first. -1 when out of memory. */
int topology_ladder(const struct topology *t, int *cpus, int n, bool spread);
/* The closest class between cpu and any other CPU of set[0..n) (the level a
 * thread on cpu adds); PAIR_CLASS_COUNT when set holds no other CPU. */
enum pair_class topology_nearest_class(const struct topology *t, const int *set, int n, int cpu);
/* The farthest class between two CPUs of set (PAIR_SELF for one CPU). */
enum pair_class topology_span_class(const struct topology *t, const int *set, int n);

/* CPUs that are online and allowed, in topology order. Returns the count. */
int topology_usable(const struct topology *t, int *cpus, int max);

/* Resolve a likwid CPU expression ("0,2,4", "S0:0-3", "N:0-7", "E:N:4")
 * with liblikwid, then check each CPU is known, online and allowed. Returns the
 * number of CPUs (in the expression's order), -1 with a message otherwise. */
int topology_select(const struct topology *t, const char *expr, int *cpus, int max, char *err);

/* For a topology read from a file, which may describe another machine: keeps
 * those of cpus[0..n) that are online and in this process's affinity mask
 * here, in order. Returns the new count, or -1 with a message when one of
 * them does not exist here or sits on another NUMA node here. */
int topology_keep_here(const struct topology *t, int *cpus, int n, char *err);

/* Indices i in an ordered CPU list where a new socket (or L3 group) starts,
 * i.e. ordered[i-1] and ordered[i] differ. Returns how many were written. */
int topology_borders(const struct topology *t, const int *ordered, int n,
		     bool by_socket, int *borders, int max);

/* How many different sockets, dies, NUMA nodes, L3 groups and cores the
 * given CPUs sit on (cpus == NULL: all of t's). */
struct topology_domains {
	int cpus, sockets, dies, numa_nodes, l3_groups, cores;
};
void topology_domains(const struct topology *t, const int *cpus, int n, struct topology_domains *d);

/* Count ordered pairs (a != b) of the given CPUs in each class. */
void topology_count_pairs(const struct topology *t, const int *cpus, int n,
			  long counts[PAIR_CLASS_COUNT]);

/* The table `cohmap topo` prints: one line per CPU with its place, then the
 * caches and the number of pairs per class. cpus == NULL prints every CPU. */
void topology_print(const struct topology *t, const int *cpus, int n, FILE *out);

#endif
