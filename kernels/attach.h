/* The ways a process gets memory, for `cohmap attach`: each a const
 * descriptor that creates (or attaches) size bytes and releases them again,
 * in one of four variants of how the pages come.
 *
 * kernels/mappings.c (the fork experiment's table) describes mappings as they
 * sit in a process when it forks: made inside an aligned reservation and
 * already filled. Attaching is the other end of a mapping's life: what the
 * very calls a program makes cost (malloc, mmap, shmget + shmat, shm_open,
 * memfd_create), and what its first touch of each page costs after them, so
 * nothing may happen in between. The two tables describe different moments;
 * a merge would give mapping_kind an `attach` step without the reservation.
 *
 * Hygiene lives here too, since every kind that has a name or an id is made
 * here: SysV segments are marked IPC_RMID as soon as they are attached, POSIX
 * names are random, created O_EXCL with mode 0600 and unlinked at once. */
#ifndef COHMAP_ATTACH_H
#define COHMAP_ATTACH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

enum attach_variant {
	VARIANT_PLAIN,     /* what the call gives by default */
	VARIANT_POPULATE,  /* MAP_POPULATE: the kernel faults every page in at mmap */
	VARIANT_THP,       /* madvise(MADV_HUGEPAGE) before the first touch */
	VARIANT_HUGETLB,   /* MAP_HUGETLB / SHM_HUGETLB / MFD_HUGETLB: the reserved pool */
	VARIANT_COUNT
};
const char *attach_variant_name(enum attach_variant v);
int attach_variant_from_name(const char *name); /* -1 when unknown */

/* One piece of memory as a kind made it. */
struct attachment {
	unsigned char *base;   /* page-aligned where the kind allows */
	size_t bytes;
	void *block;           /* malloc's pointer, for free */
	int shmid;             /* SysV: the id (already IPC_RMID), else -1 */
};

struct attach_kind {
	const char *name;
	const char *summary;
	bool shmem;            /* pages come from shmem: THP follows shmem_enabled */
	/* For each variant the kind cannot do, why not; NULL where it can. */
	const char *why_not[VARIANT_COUNT];
	/* Creates or attaches bytes (a multiple of the page size the variant
	 * uses). Returns 0, or -1 with the reason; nothing is left on failure. */
	int (*create)(struct attachment *a, size_t bytes, enum attach_variant v, char *err);
	void (*release)(struct attachment *a);
};

#define COHMAP_ATTACH_KINDS(X) \
	X(malloc)            \
	X(mmap_private)      \
	X(mmap_shared)       \
	X(sysv)              \
	X(posix)             \
	X(memfd)

#define DECLARE_ATTACH_KIND(name) extern const struct attach_kind attach_##name;
COHMAP_ATTACH_KINDS(DECLARE_ATTACH_KIND)
#undef DECLARE_ATTACH_KIND

extern const struct attach_kind *const attach_registry[];
extern const int attach_kind_count;
const struct attach_kind *attach_kind_find(const char *name);

static inline bool attach_kind_can(const struct attach_kind *k, enum attach_variant v)
{
	return k->why_not[v] == NULL;
}

/* Writes one byte into every base page: the first touch. A write, not a
 * read: reading an untouched anonymous page maps the shared zero page and
 * allocates nothing. progress (may be NULL) is bumped every
 * ATTACH_PAGES_PER_BEAT pages, so a watchdog sees a long touch advance. */
#define ATTACH_PAGES_PER_BEAT 4096
void attach_touch(struct attachment *a, size_t page_bytes, _Atomic uint64_t *progress);

/* ---- hygiene, exported for the tests ---- */

/* A POSIX shared memory object of bytes: a random name (written into name,
 * at least 64 bytes), created O_EXCL with mode 0600 and unlinked before this
 * returns. Returns the file descriptor, or -1 with the reason. */
int posix_shm_create(size_t bytes, char *name, char *err);

/* A SysV segment of bytes (extra shmget flags, e.g. SHM_HUGETLB) attached
 * once (at address with attach_flags, e.g. SHM_REMAP; NULL and 0: anywhere)
 * and marked IPC_RMID at once, with SIGINT, SIGTERM, SIGHUP and SIGQUIT held
 * in between: it lives until the last detach, and no interruption can leave
 * it behind. Returns the address and sets *id, or NULL with the reason. */
void *sysv_shm_create(size_t bytes, int extra_flags, void *address, int attach_flags, int *id,
		      char *err);

#endif
