/* Mapping kinds are data: one const descriptor per way a process can get
 * memory (private or shared, anonymous or file, 4 KiB pages or huge pages),
 * with what it takes to make one and how the kernel treats it. The fork
 * experiment measures each kind; any experiment about mappings (attach cost,
 * first touch) can walk the same list.
 *
 * A mapping is made in three steps that every kind shares: reserve an
 * address range aligned to the span of one upper-level page table (so the
 * mapping's page tables are its own and their count is exactly
 * size / span-per-table, and so hugetlb can share them), map the kind there,
 * and for the touched kinds write a known value into every page (so a
 * reader can check it sees the creator's data). Adding a kind: one
 * descriptor in kernels/mappings.c and one X(<name>) line below. */
#ifndef COHMAP_MAPPINGS_H
#define COHMAP_MAPPINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mapping_pages {
	PAGES_BASE,     /* the base page size (sysconf) */
	PAGES_THP,      /* transparent huge pages (MADV_HUGEPAGE) */
	PAGES_HUGETLB,  /* huge pages from the reserved hugetlb pool */
};

struct mapping_kind;

/* One mapping as made by mapping_create(). */
struct mapping {
	const struct mapping_kind *kind;
	unsigned char *base;       /* aligned start; `bytes` long */
	size_t bytes;
	size_t page_bytes;         /* the page size the kind asks for */
	size_t base_page_bytes;    /* stride of fill, check and write: every base page */
	void *reservation;         /* the address range held around the mapping */
	size_t reservation_bytes;
	int fd;                    /* tmpfs file, else -1 */
	int shmid;                 /* SysV segment (already IPC_RMID), else -1 */
};

struct mapping_kind {
	const char *name;
	const char *summary;
	bool shared;     /* writes are seen by every process mapping it */
	bool touched;    /* mapping_create() writes every page before returning */
	enum mapping_pages pages;
	/* What fork() does with its page tables, in one sentence. */
	const char *fork_model;
	/* NULL when any size can be made; otherwise false with the reason, and
	 * the command that would make it possible, when this machine cannot. */
	bool (*available)(size_t bytes, char *reason);
	/* Maps m->bytes at m->base, replacing that part of the reservation.
	 * Returns 0, or -1 with the reason. */
	int (*map)(struct mapping *m, char *err);
	/* Undoes map (the reservation is released by the caller). */
	void (*unmap)(struct mapping *m);
};

#define COHMAP_MAPPINGS(X)   \
	X(private_untouched) \
	X(private_touched)   \
	X(private_thp)       \
	X(shared_anon)       \
	X(sysv_shm)          \
	X(tmpfs_shared)      \
	X(hugetlb_shared)

#define DECLARE_MAPPING(name) extern const struct mapping_kind mapping_##name;
COHMAP_MAPPINGS(DECLARE_MAPPING)
#undef DECLARE_MAPPING

extern const struct mapping_kind *const mapping_registry[];
extern const int mapping_count;

/* The page size a kind's mappings use on this machine; 0 when the machine
 * has no such pages (no THP, no hugetlb). */
size_t mapping_kind_page_bytes(const struct mapping_kind *k);

/* The address span whose page tables hang off one upper-level entry (one
 * PMD table: 1 GiB with 4 KiB pages and 8-byte entries). Mappings start on
 * this boundary. */
size_t mapping_table_span(void);

/* Reserves (PROT_NONE, no memory) a range of at least bytes whose start is
 * aligned to mapping_table_span() and whose table spans hold nothing else.
 * Returns the aligned start, or NULL with the reason. */
void *mapping_reserve(size_t bytes, void **reservation, size_t *reservation_bytes, char *err);

enum mapping_result { MAPPING_OK = 0, MAPPING_SKIPPED = 1, MAPPING_FAILED = -1 };

/* Makes a mapping of the kind: checks the size fits the kind's page size and
 * the machine (SKIPPED with the reason otherwise), reserves, maps, and for
 * touched kinds fills every page (FAILED with the reason when a system call
 * fails). On anything but OK nothing is left mapped. */
enum mapping_result mapping_create(const struct mapping_kind *k, size_t bytes, struct mapping *m,
				   char *reason);
void mapping_destroy(struct mapping *m);

/* The value the creator writes at the start of base page i; a reader of an
 * untouched mapping expects 0, a reader after mapping_write_complement()
 * expects its complement. */
static inline uint64_t mapping_pattern(size_t page)
{
	return ((uint64_t)page + 1) * 0x9e3779b97f4a7c15ull;
}

/* Faults in every page for writing (MADV_POPULATE_WRITE where the kernel has
 * it, else a store per page) and writes mapping_pattern into each. */
int mapping_fill(struct mapping *m, char *err);

/* Reads the first word of every base page (this IS the read pass a child is
 * timed on) and returns how many differ from what is expected: the pattern
 * (0 for an untouched kind), or its complement when complemented.
 * max_pages > 0 checks only that many pages, evenly spread. */
size_t mapping_check(const struct mapping *m, bool complemented, size_t max_pages);

/* Writes the pattern, or its complement, into the first word of every base
 * page (the write pass: copy-on-write for private kinds). */
void mapping_write(struct mapping *m, bool complemented);

#endif
