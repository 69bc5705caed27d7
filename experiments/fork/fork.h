/* The fork experiment: what fork() costs against the size and kind of the
 * mappings the parent holds, what the child pays later when it reads and
 * writes them, fork+exec against vfork and posix_spawn, and how much
 * page-table memory N processes spend mapping one shared segment (fork.csv,
 * pagetables.csv, meta.json's experiments.fork, PNGs).
 *
 * The primitives (one timed fork, one child task, one spawn, one page-table
 * census) are exported for the unit tests. */
#ifndef COHMAP_FORK_H
#define COHMAP_FORK_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "base/memory.h"
#include "harness/results.h"
#include "kernels/mappings.h"

#define FORK_MAX_SIZES 32

struct fork_plan {
	const struct mapping_kind **kinds;
	int nkinds;
	uint64_t sizes[FORK_MAX_SIZES];  /* ascending; 0 is the no-mapping baseline */
	int nsizes;
	bool sizes_given;                /* by --sizes or --max-size: never cut for time */
	int repeat;                      /* forks and spawns timed per cell */
	int processes;                   /* page-table census: up to this many */
	bool processes_given;
	uint64_t segment;                /* page-table census: segment size */
	bool segment_given;
	char exec_path[PATH_MAX];        /* what fork+exec, vfork and posix_spawn run */
	bool in_suite;                   /* the budget is a share of `cohmap run`'s */
	long long mem_available;         /* MemAvailable when the plan was made */
};

/* Memory a cell needs besides the hugetlb pool: the mapping itself, the
 * child's copies when it writes a private mapping, both page tables. */
uint64_t fork_cell_memory(const struct mapping_kind *k, uint64_t bytes);
/* The part of MemAvailable the experiment allows itself: this share. */
#define FORK_MEMORY_SHARE 0.75
uint64_t fork_memory_allowance(long long mem_available);

/* ---- primitives ---- */

enum child_task {
	CHILD_EXIT,   /* stamp the time and exit: fork() timing */
	CHILD_VMPTE,  /* report VmPTE right after fork */
	CHILD_READ,   /* read every page, checking the parent's values */
	CHILD_WRITE,  /* write every page */
};

/* The page a forked child reports through (MAP_SHARED, made before fork). */
struct child_report {
	uint64_t started_ns;     /* CLOCK_MONOTONIC_RAW as the child first ran */
	uint64_t task_ns;
	long long vmpte_bytes;
	struct fault_count faults; /* during the task */
	uint64_t wrong;          /* pages that did not hold the expected value */
	int finished;
};

struct fork_sample {
	double return_ns;        /* fork() called -> returned in the parent */
	double child_start_ns;   /* fork() called -> the child's first timestamp */
	double task_ns;
	long long child_vmpte_bytes;
	struct fault_count task_faults;
	struct fault_count child_faults; /* the child's whole life (wait4) */
	uint64_t wrong;
};

enum spawn_method { SPAWN_FORK_EXEC, SPAWN_VFORK_EXEC, SPAWN_POSIX_SPAWN, SPAWN_METHODS };
extern const char *const spawn_method_names[SPAWN_METHODS];

/* A shared report page; NULL with the reason on failure. */
struct child_report *child_report_open(char *err);
void child_report_close(struct child_report *r);

/* Waits for pid for at most timeout_s (and not past Ctrl-C), then kills
 * and reaps it. Returns 0 when it exited by itself (status and usage
 * filled), -1 with the reason otherwise; the child is reaped either way. */
int reap_child(pid_t pid, double timeout_s, int *status, struct rusage *usage, char *err);

/* Forks once with m mapped (m may be NULL), the child does task and exits.
 * Returns 0, or -1 with the reason (the child was killed and reaped). */
int fork_sample(struct child_report *report, struct mapping *m, enum child_task task,
		double timeout_s, struct fork_sample *out, char *err);

/* Starts exec_path (which must exit 0 at once) by method and waits for it:
 * the time from the call until it is reaped, in ns. Returns 0 or -1. */
int spawn_sample(enum spawn_method method, const char *exec_path, double timeout_s,
		 double *ns, char *err);

/* The program the spawn measurements run: `true` from the standard PATH
 * (confstr _CS_PATH). Returns 0, or -1 with the reason. */
int find_exec_target(char *path, size_t size, char *err);

/* One census of page-table memory: n processes each map a segment of
 * segment bytes (hugetlb or base pages) and fault all of it in. */
struct pagetable_census {
	bool hugetlb;
	uint64_t segment;
	int processes;
	size_t page_bytes;
	long long vmpte_before;       /* sum over the processes, before mapping */
	long long vmpte_after;        /* ... after mapping and faulting in */
	long long vmpte_growth_median;/* per process */
	/* /proc/meminfo PageTables after - before: every process of the
	 * machine, exact only when the per-CPU counters could be folded first
	 * (root), and only as quiet as the machine is. */
	long long system_growth;
	bool system_known, system_exact;
	long first_faults;            /* faults of the process that mapped first */
	long other_faults_median;     /* faults of each later one (-1 with one process) */
	bool tables_shared;           /* later processes found the tables built */
	uint64_t wrong;               /* checkpoints that did not hold the expected value */
	double elapsed_s;
};
/* The segment a census maps: a memfd (hugetlb or not) of bytes, allocated
 * and written once, mapped by every census process of every count. Returns
 * 0, 1 with the reason when the machine cannot (no huge pages reserved), -1
 * with the reason on failure. */
struct census_segment {
	int fd;
	bool hugetlb;
	uint64_t bytes;
	size_t page_bytes;
};
int census_segment_open(struct census_segment *seg, bool hugetlb, uint64_t bytes, char *reason);
void census_segment_close(struct census_segment *seg);
/* n processes each map the segment, fault all of it in and wait while their
 * VmPTE is read. Returns 0, or -1 with the reason (every process reaped). */
int pagetable_census(const struct census_segment *seg, int processes, double timeout_s,
		     struct pagetable_census *out, char *reason);
/* Page-table bytes one process needs for segment bytes of page_bytes pages
 * when nothing is shared: the PTE (or PMD) entries, in whole table pages. */
uint64_t pagetable_model_bytes(uint64_t segment, size_t page_bytes);

/* Runs the experiment into r (budget_s > 0: fit in it). Returns an exit code. */
int fork_experiment(struct run *r, struct fork_plan *plan, double budget_s);

#endif
