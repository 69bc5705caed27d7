/* False-sharing kernels: each thread updates its own counter, and the harness
 * decides how far apart the counters sit (harness/falseshare.c). A kernel is
 * the inner loop of one thread and the check of what that loop left behind;
 * it never allocates, pins or times anything itself.
 *
 * The counters are 32-bit so that the smallest distance the sweep asks for
 * (4 bytes) holds one counter; every distance uses the same type, so only the
 * distance changes between two points of the sweep. A counter wraps after 2^32
 * updates; every check compares modulo 2^32, which still catches any lost or
 * foreign update short of exactly 2^32 of them. */
#ifndef COHMAP_KERNELS_FALSESHARE_H
#define COHMAP_KERNELS_FALSESHARE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/kernel.h"

typedef _Atomic uint32_t fs_counter;
#define FS_COUNTER_BYTES sizeof(fs_counter)

enum fs_role {
	FS_UPDATER, /* updates its own counter (every thread of store, fetch_add) */
	FS_WRITER,  /* thread 0 of writer_readers: stores its count */
	FS_READER,  /* the other threads of writer_readers: only load */
	FS_ROLE_COUNT
};
const char *fs_role_name(enum fs_role role); /* "updater", "writer", "reader" */

/* One thread's view of its counter. Private to the thread (the harness keeps
 * each agent in its own block of lines); only *counter is shared. */
struct fs_agent {
	fs_counter *counter;  /* its own counter, or with true sharing the one word */
	bool true_sharing;    /* every thread's counter is the same word (distance 0) */
	enum fs_role role;
	uint32_t count;       /* updater, writer: its private count of updates */
	uint32_t expected;    /* reader of its own counter: the value put there */
	uint32_t last_seen;   /* reader of the shared word: the last value it read */
	uint64_t ops;         /* updates (or loads) done */
};

/* An update kind: what every thread does to its counter, as one loop per role. */
struct fs_kind {
	const char *name;
	const char *summary;
	bool one_writer;      /* thread 0 is FS_WRITER and the others FS_READER */
	const char *model;    /* what the protocol does per update when counters share a line */
	/* n more operations; KERNEL_OK, or KERNEL_WRONG_DATA when the counter did
	 * not hold what this thread's own work says it must */
	int (*run[FS_ROLE_COUNT])(struct fs_agent *a, uint64_t n);
	/* After the run: one thread's own counter (no true sharing)... */
	int (*check_own)(const struct fs_agent *a);
	/* ... or, with true sharing, the one word against all threads' work. */
	int (*check_shared)(uint32_t word, const struct fs_agent *const *agents, int n);
};

/* The one list of update kinds; the CLI, the tests and the docs read it. */
#define FALSESHARE_KINDS(X) \
	X(store)            \
	X(fetch_add)        \
	X(writer_readers)

#define DECLARE_FS_KIND(name) extern const struct fs_kind fs_kind_##name;
FALSESHARE_KINDS(DECLARE_FS_KIND)
#undef DECLARE_FS_KIND

extern const struct fs_kind *const fs_kind_registry[];
extern const int fs_kind_count;

/* Prepares a's counter before the threads start: readers of their own
 * counter find `expected` there, everyone else starts from 0. */
void fs_agent_init(struct fs_agent *a, fs_counter *counter, bool true_sharing,
		   enum fs_role role, uint32_t reader_value);

/* ---- the "fix" demo: the same work on a packed and on a padded struct ---- */

/* What a worker publishes about its progress, as in countless thread pools:
 * written by its own worker only, read by whoever wants statistics. Packed in
 * an array, neighbouring workers' structs share a line. */
struct worker_stats {
	_Atomic uint64_t items;
	_Atomic uint64_t total;
};

/* The worker's private record of the same work, to check the struct against. */
struct tally_state {
	uint64_t rng;
	uint64_t items;
	uint64_t total;
};

struct fs_workload {
	const char *name;
	const char *summary;
	size_t struct_bytes;  /* sizeof the struct each worker updates */
	void (*init)(struct worker_stats *s, struct tally_state *st, uint64_t seed);
	/* tallies n more items into *s (and into st, privately) */
	void (*tally)(struct worker_stats *s, struct tally_state *st, uint64_t n);
	int (*check)(const struct worker_stats *s, const struct tally_state *st);
};
extern const struct fs_workload fs_workload_worker_stats;

#endif
