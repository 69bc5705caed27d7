/* What the kernel says about memory: MemAvailable and the huge page pool
 * (/proc/meminfo), one process's page-table memory (VmPTE in
 * /proc/PID/status), the huge-page backing of one mapping (/proc/self/smaps),
 * page faults, and byte sizes as people write them (64M, 1G).
 *
 * Every number here is read at run time; nothing assumes a page size. */
#ifndef COHMAP_MEMORY_H
#define COHMAP_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A field of /proc/meminfo ("MemAvailable", "HugePages_Free"), in bytes for
 * the fields in kB and as a count for the others. -1 when absent. */
long long meminfo_field(const char *name);

/* The huge page pool (hugetlb) of the default huge page size. */
struct hugetlb_pool {
	size_t page_bytes;   /* Hugepagesize; 0 when the kernel has no hugetlb */
	long total, free, reserved;
};
void hugetlb_pool_read(struct hugetlb_pool *p);
/* Pages that a new mapping can still get: free minus reserved. */
long hugetlb_pool_available(const struct hugetlb_pool *p);

/* A "Name:  123 kB" field of /proc/PID/status (pid 0: this process), in
 * bytes; -1 when the process or the field is gone. */
long long proc_status_bytes(pid_t pid, const char *name);

/* Page-table memory of a process: VmPTE, which counts every page-table page
 * (PTE and PMD levels) the process's mm holds. */
static inline long long vmpte_bytes(pid_t pid) { return proc_status_bytes(pid, "VmPTE"); }

/* Sum of a "Name: 123 kB" field over the smaps entries of this process that
 * overlap [start, start + len): e.g. AnonHugePages of one mapping. -1 when
 * smaps cannot be read. */
long long smaps_bytes(const void *start, size_t len, const char *name);

/* Asks the kernel to fold its per-CPU counters into /proc/meminfo
 * (vm/stat_refresh; root only), so a system-wide count such as PageTables is
 * exact at this moment rather than off by the per-CPU batches. Returns
 * false when it may not. */
bool meminfo_refresh(void);

/* Page faults of the calling process so far. getrusage counts the same
 * events as PAPI's perf::PAGE-FAULTS software counter; when PAPI counting
 * is added to cohmap, this is the one place to read it instead. */
struct fault_count {
	long minor, major;
};
void fault_count_read(struct fault_count *f);
/* Faults between two readings. */
static inline struct fault_count fault_count_since(const struct fault_count *before,
						    const struct fault_count *after)
{
	return (struct fault_count){ after->minor - before->minor, after->major - before->major };
}

/* "64M", "1G", "4096", "1.5G", "0" with binary suffixes K, M, G, T (KiB...,
 * an optional trailing "iB" or "B" is accepted). Returns 0, or -1 with a
 * message naming text. */
int parse_bytes(const char *text, uint64_t *bytes, char *err);
/* A comma-separated list of sizes; at most max. Returns the count or -1. */
int parse_bytes_list(const char *text, uint64_t *sizes, int max, char *err);
/* "1 GiB", "512 MiB", "3 KiB", "12 B", "1.5 GiB" into buf. */
const char *format_bytes(uint64_t bytes, char *buf, size_t size);

#endif
