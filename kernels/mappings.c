/* The mapping kinds: private and shared, anonymous, SysV and file-backed,
 * 4 KiB pages, transparent huge pages and hugetlb. See kernels/mappings.h. */
#include "kernels/mappings.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "base/common.h"
#include "base/memory.h"
#include "kernels/attach.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/* tmpfs is where POSIX shared memory lives on Linux (glibc's shm_open). */
#define TMPFS_DIR "/dev/shm"
#define THP_ENABLED "/sys/kernel/mm/transparent_hugepage/enabled"
#define THP_PAGE_SIZE "/sys/kernel/mm/transparent_hugepage/hpage_pmd_size"

static size_t base_page_bytes(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

size_t mapping_table_span(void)
{
	/* A page-table page holds page/entry entries, and an entry is one
	 * pointer wide on every 64-bit architecture Linux runs on: a PTE table
	 * maps page * entries bytes, the PMD table above it entries times that. */
	size_t page = base_page_bytes(), entries = page / sizeof(void *);
	return page * entries * entries;
}

static size_t thp_page_bytes(void)
{
	FILE *f = fopen(THP_PAGE_SIZE, "re");
	unsigned long long bytes = 0;
	if (f) {
		if (fscanf(f, "%llu", &bytes) != 1)
			bytes = 0;
		fclose(f);
	}
	return (size_t)bytes;
}

size_t mapping_kind_page_bytes(const struct mapping_kind *k)
{
	struct hugetlb_pool pool;
	switch (k->pages) {
	case PAGES_THP:
		return thp_page_bytes();
	case PAGES_HUGETLB:
		hugetlb_pool_read(&pool);
		return pool.page_bytes;
	case PAGES_BASE:
		break;
	}
	return base_page_bytes();
}

void *mapping_reserve(size_t bytes, void **reservation, size_t *reservation_bytes, char *err)
{
	size_t span = mapping_table_span();
	/* Whole spans plus one for the alignment slack: the mapping's table
	 * spans then contain nothing else (no library, no other mapping whose
	 * page tables would already be there and hide the mapping's own). */
	size_t spans = (bytes + span - 1) / span;
	size_t len = (spans + 1) * span;
	void *r = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (r == MAP_FAILED) {
		set_error(err, "cannot reserve %zu bytes of address space: %s", len, strerror(errno));
		return NULL;
	}
	*reservation = r;
	*reservation_bytes = len;
	return (void *)(((uintptr_t)r + span - 1) & ~(uintptr_t)(span - 1));
}

/* ---- the kinds ---- */

static int map_anonymous(struct mapping *m, int flags, int advice, char *err)
{
	void *p = mmap(m->base, m->bytes, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS | MAP_FIXED,
		       -1, 0);
	if (p == MAP_FAILED) {
		set_error(err, "mmap: %s", strerror(errno));
		return -1;
	}
	/* Say which page size we mean instead of inheriting the system's THP
	 * policy: with enabled=always a "4 KiB" mapping would be huge. */
	if (advice >= 0 && madvise(m->base, m->bytes, advice) != 0 && errno != EINVAL) {
		set_error(err, "madvise: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void unmap_plain(struct mapping *m)
{
	/* The caller unmaps the whole reservation, which covers the mapping. */
	(void)m;
}

static int map_private_base(struct mapping *m, char *err)
{
	return map_anonymous(m, MAP_PRIVATE, MADV_NOHUGEPAGE, err);
}

static int map_private_thp(struct mapping *m, char *err)
{
	return map_anonymous(m, MAP_PRIVATE, MADV_HUGEPAGE, err);
}

static int map_shared_anon(struct mapping *m, char *err)
{
	return map_anonymous(m, MAP_SHARED, MADV_NOHUGEPAGE, err);
}

static int map_hugetlb(struct mapping *m, char *err)
{
	return map_anonymous(m, MAP_SHARED | MAP_HUGETLB, -1, err);
}

static bool thp_available(size_t bytes, char *reason)
{
	(void)bytes;
	FILE *f = fopen(THP_ENABLED, "re");
	char line[128] = "";
	if (f == NULL) {
		set_error(reason, "this kernel has no transparent huge pages (%s is missing)", THP_ENABLED);
		return false;
	}
	if (fgets(line, sizeof line, f) == NULL)
		line[0] = '\0';
	fclose(f);
	if (strstr(line, "[never]")) {
		set_error(reason, "transparent huge pages are off (%s is never); as root: "
			  "echo madvise > %s", THP_ENABLED, THP_ENABLED);
		return false;
	}
	return true;
}

static bool hugetlb_available(size_t bytes, char *reason)
{
	struct hugetlb_pool pool;
	hugetlb_pool_read(&pool);
	if (pool.page_bytes == 0) {
		set_error(reason, "this kernel has no hugetlb pages (no Hugepagesize in /proc/meminfo)");
		return false;
	}
	long need = (long)((bytes + pool.page_bytes - 1) / pool.page_bytes);
	long have = hugetlb_pool_available(&pool);
	if (have < need) {
		char size[32];
		set_error(reason, "needs %ld huge pages of %s, %ld free in the pool; reserve them as "
			  "root: echo %ld > /proc/sys/vm/nr_hugepages", need,
			  format_bytes(pool.page_bytes, size, sizeof size), have,
			  (pool.total > 0 ? pool.total : 0) + need - have);
		return false;
	}
	return true;
}

static int map_sysv(struct mapping *m, char *err)
{
	int id;
	/* SHM_REMAP lets the segment replace our reservation at the aligned
	 * address instead of landing wherever the kernel likes. */
	if (sysv_shm_create(m->bytes, 0, m->base, SHM_REMAP, &id, err) == NULL)
		return -1;
	m->shmid = id;
	if (madvise(m->base, m->bytes, MADV_NOHUGEPAGE) != 0 && errno != EINVAL) {
		set_error(err, "madvise: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void unmap_sysv(struct mapping *m)
{
	if (m->shmid >= 0)
		shmdt(m->base);
	m->shmid = -1;
}

static bool tmpfs_available(size_t bytes, char *reason)
{
	struct statfs fs;
	struct statvfs vfs;
	if (statfs(TMPFS_DIR, &fs) != 0 || fs.f_type != TMPFS_MAGIC) {
		set_error(reason, "%s is not a tmpfs here", TMPFS_DIR);
		return false;
	}
	if (statvfs(TMPFS_DIR, &vfs) == 0 && (unsigned long long)vfs.f_bavail * vfs.f_frsize < bytes) {
		char have[32], need[32];
		set_error(reason, "%s has %s free, the file needs %s", TMPFS_DIR,
			  format_bytes((uint64_t)vfs.f_bavail * vfs.f_frsize, have, sizeof have),
			  format_bytes(bytes, need, sizeof need));
		return false;
	}
	return true;
}

static int map_tmpfs(struct mapping *m, char *err)
{
	/* O_TMPFILE: the file has no name, so nothing is left in /dev/shm
	 * whatever happens to this process. */
	int fd = open(TMPFS_DIR, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		set_error(err, "cannot create a file in %s: %s", TMPFS_DIR, strerror(errno));
		return -1;
	}
	m->fd = fd;
	/* fallocate, not ftruncate: a full tmpfs then fails here, cleanly,
	 * instead of with SIGBUS in the middle of a measurement. */
	int rc = fallocate(fd, 0, 0, (off_t)m->bytes);
	if (rc != 0) {
		set_error(err, "cannot allocate %zu bytes in %s: %s", m->bytes, TMPFS_DIR, strerror(rc < 0 ? errno : rc));
		return -1;
	}
	void *p = mmap(m->base, m->bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED) {
		set_error(err, "mmap of the %s file: %s", TMPFS_DIR, strerror(errno));
		return -1;
	}
	if (madvise(m->base, m->bytes, MADV_NOHUGEPAGE) != 0 && errno != EINVAL) {
		set_error(err, "madvise: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void unmap_tmpfs(struct mapping *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
}

const struct mapping_kind mapping_private_untouched = {
	.name = "private_untouched",
	.summary = "private anonymous memory, never touched (MAP_PRIVATE|MAP_ANONYMOUS)",
	.shared = false, .touched = false, .pages = PAGES_BASE,
	.fork_model = "no page was ever touched, so there are no page tables to copy",
	.map = map_private_base, .unmap = unmap_plain,
};

const struct mapping_kind mapping_private_touched = {
	.name = "private_touched",
	.summary = "private anonymous memory, every page written, base pages (MADV_NOHUGEPAGE)",
	.shared = false, .touched = true, .pages = PAGES_BASE,
	.fork_model = "every PTE is copied and write-protected in both processes (copy-on-write)",
	.map = map_private_base, .unmap = unmap_plain,
};

const struct mapping_kind mapping_private_thp = {
	.name = "private_thp",
	.summary = "private anonymous memory, every page written, transparent huge pages (MADV_HUGEPAGE)",
	.shared = false, .touched = true, .pages = PAGES_THP,
	.fork_model = "one PMD entry per huge page is copied and write-protected",
	.available = thp_available, .map = map_private_thp, .unmap = unmap_plain,
};

const struct mapping_kind mapping_shared_anon = {
	.name = "shared_anon",
	.summary = "shared anonymous memory, every page written (MAP_SHARED|MAP_ANONYMOUS)",
	.shared = true, .touched = true, .pages = PAGES_BASE,
	.fork_model = "no page table is copied: the child refills them on fault from the shared pages (since 2.6.14)",
	.map = map_shared_anon, .unmap = unmap_plain,
};

const struct mapping_kind mapping_sysv_shm = {
	.name = "sysv_shm",
	.summary = "System V shared memory (shmget + shmat, IPC_RMID at once), every page written",
	.shared = true, .touched = true, .pages = PAGES_BASE,
	.fork_model = "as shared_anon: the child inherits the attachment, not the page tables",
	.map = map_sysv, .unmap = unmap_sysv,
};

const struct mapping_kind mapping_tmpfs_shared = {
	.name = "tmpfs_shared",
	.summary = "a file on tmpfs (" TMPFS_DIR ") mapped MAP_SHARED, every page written",
	.shared = true, .touched = true, .pages = PAGES_BASE,
	.fork_model = "as shared_anon: file pages are found again through the page cache on fault",
	.available = tmpfs_available, .map = map_tmpfs, .unmap = unmap_tmpfs,
};

const struct mapping_kind mapping_hugetlb_shared = {
	.name = "hugetlb_shared",
	.summary = "shared anonymous memory on hugetlb pages (MAP_SHARED|MAP_HUGETLB), every page written",
	.shared = true, .touched = true, .pages = PAGES_HUGETLB,
	.fork_model = "no entry is copied (the mapping has no anonymous pages); the child faults in one entry per huge page, or links the whole PMD table at once when the mapping covers an aligned table span (hugetlb page-table sharing)",
	.available = hugetlb_available, .map = map_hugetlb, .unmap = unmap_plain,
};

#define MAPPING_ENTRY(name) &mapping_##name,
const struct mapping_kind *const mapping_registry[] = { COHMAP_MAPPINGS(MAPPING_ENTRY) };
#undef MAPPING_ENTRY
const int mapping_count = ARRAY_SIZE(mapping_registry);

/* ---- making, filling, checking ---- */

enum mapping_result mapping_create(const struct mapping_kind *k, size_t bytes, struct mapping *m,
				   char *reason)
{
	char err[ERRLEN], size[32], page[32];
	*m = (struct mapping){ .kind = k, .bytes = bytes, .fd = -1, .shmid = -1,
			       .base_page_bytes = base_page_bytes(),
			       .page_bytes = mapping_kind_page_bytes(k) };
	if (m->page_bytes == 0) {
		if (k->available && !k->available(bytes, reason))
			return MAPPING_SKIPPED;
		set_error(reason, "this machine has no pages of the kind %s needs", k->name);
		return MAPPING_SKIPPED;
	}
	if (bytes == 0 || bytes % m->page_bytes != 0) {
		set_error(reason, "%s is not a whole number of %s pages", format_bytes(bytes, size, sizeof size),
			  format_bytes(m->page_bytes, page, sizeof page));
		return MAPPING_SKIPPED;
	}
	if (k->available && !k->available(bytes, reason))
		return MAPPING_SKIPPED;
	m->base = mapping_reserve(bytes, &m->reservation, &m->reservation_bytes, err);
	if (m->base == NULL) {
		set_error(reason, "%s", err);
		return MAPPING_FAILED;
	}
	if (k->map(m, err) != 0 || (k->touched && mapping_fill(m, err) != 0)) {
		/* hugetlb reserves its pages at mmap time: running short there is
		 * the pool being too small, a skip rather than a failure. */
		bool pool_short = k->pages == PAGES_HUGETLB && strstr(err, strerror(ENOMEM));
		set_error(reason, "%s", err);
		mapping_destroy(m);
		return pool_short ? MAPPING_SKIPPED : MAPPING_FAILED;
	}
	return MAPPING_OK;
}

void mapping_destroy(struct mapping *m)
{
	if (m->kind && m->kind->unmap)
		m->kind->unmap(m);
	if (m->reservation)
		munmap(m->reservation, m->reservation_bytes);
	m->reservation = NULL;
	m->base = NULL;
}

int mapping_fill(struct mapping *m, char *err)
{
	/* Populating in the kernel allocates every page without taking one
	 * fault per page: setting up is not what is measured, so it may be fast. */
	if (madvise(m->base, m->bytes, MADV_POPULATE_WRITE) != 0) {
		if (errno == ENOMEM || errno == EFAULT || errno == EHWPOISON) {
			set_error(err, "cannot populate %zu bytes: %s", m->bytes, strerror(errno));
			return -1;
		}
		/* EINVAL: a kernel older than 5.14; the stores below fault it in. */
	}
	mapping_write(m, false);
	return 0;
}

size_t mapping_check(const struct mapping *m, bool complemented, size_t max_pages)
{
	size_t step = m->base_page_bytes, pages = m->bytes / step, wrong = 0;
	size_t checked = max_pages > 0 && max_pages < pages ? max_pages : pages;
	for (size_t j = 0; j < checked; j++) {
		size_t i = checked == pages ? j : (checked > 1 ? j * (pages - 1) / (checked - 1) : 0);
		uint64_t want = complemented ? ~mapping_pattern(i)
				: m->kind->touched ? mapping_pattern(i) : 0;
		wrong += *(volatile const uint64_t *)(m->base + i * step) != want;
	}
	return wrong;
}

void mapping_write(struct mapping *m, bool complemented)
{
	size_t step = m->base_page_bytes, pages = m->bytes / step;
	for (size_t i = 0; i < pages; i++)
		*(volatile uint64_t *)(m->base + i * step) =
			complemented ? ~mapping_pattern(i) : mapping_pattern(i);
}
