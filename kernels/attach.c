/* The attach kinds of `cohmap attach`. See kernels/attach.h. */
#include "kernels/attach.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/shm.h>
#include <unistd.h>

#include "base/common.h"

static const char *const variant_names[VARIANT_COUNT] = {
	[VARIANT_PLAIN] = "plain",
	[VARIANT_POPULATE] = "populate",
	[VARIANT_THP] = "thp",
	[VARIANT_HUGETLB] = "hugetlb",
};

const char *attach_variant_name(enum attach_variant v)
{
	return v < VARIANT_COUNT ? variant_names[v] : "?";
}

int attach_variant_from_name(const char *name)
{
	for (int v = 0; v < VARIANT_COUNT; v++)
		if (strcmp(variant_names[v], name) == 0)
			return v;
	return -1;
}

void attach_touch(struct attachment *a, size_t page_bytes, _Atomic uint64_t *progress)
{
	size_t stride = page_bytes * ATTACH_PAGES_PER_BEAT;
	for (size_t block = 0; block < a->bytes; block += stride) {
		size_t end = a->bytes - block < stride ? a->bytes : block + stride;
		for (size_t at = block; at < end; at += page_bytes)
			((volatile unsigned char *)a->base)[at] = 1;
		if (progress)
			atomic_fetch_add_explicit(progress, 1, memory_order_relaxed);
	}
}

/* Asks for transparent huge pages on the part of [p, p + bytes) that whole
 * pages cover (malloc's block does not start on a page). */
static int advise_huge(void *p, size_t bytes, char *err)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uintptr_t lo = ((uintptr_t)p + page - 1) & ~(uintptr_t)(page - 1);
	uintptr_t hi = ((uintptr_t)p + bytes) & ~(uintptr_t)(page - 1);
	if (hi > lo && madvise((void *)lo, hi - lo, MADV_HUGEPAGE) != 0) {
		set_error(err, "madvise(MADV_HUGEPAGE): %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int map_flags(enum attach_variant v)
{
	return v == VARIANT_POPULATE ? MAP_POPULATE : v == VARIANT_HUGETLB ? MAP_HUGETLB : 0;
}

/* Maps fd (or anonymous memory for fd -1), then the THP advice if asked. */
static int map(struct attachment *a, size_t bytes, int flags, int fd, enum attach_variant v,
	       char *err)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, flags | map_flags(v), fd, 0);
	if (p == MAP_FAILED) {
		set_error(err, "mmap of %zu bytes: %s", bytes, strerror(errno));
		return -1;
	}
	*a = (struct attachment){ .base = p, .bytes = bytes, .shmid = -1 };
	if (v == VARIANT_THP && advise_huge(p, bytes, err) != 0) {
		munmap(p, bytes);
		a->base = NULL;
		return -1;
	}
	return 0;
}

static void unmap(struct attachment *a)
{
	if (a->base)
		munmap(a->base, a->bytes);
	a->base = NULL;
}

/* ---- malloc ---- */

static int malloc_create(struct attachment *a, size_t bytes, enum attach_variant v, char *err)
{
	*a = (struct attachment){ .block = malloc(bytes), .bytes = bytes, .shmid = -1 };
	if (a->block == NULL) {
		set_error(err, "malloc of %zu bytes failed", bytes);
		return -1;
	}
	a->base = a->block;
	if (v == VARIANT_THP && advise_huge(a->block, bytes, err) != 0) {
		free(a->block);
		a->block = a->base = NULL;
		return -1;
	}
	return 0;
}

static void malloc_release(struct attachment *a)
{
	free(a->block);
	a->block = a->base = NULL;
}

const struct attach_kind attach_malloc = {
	.name = "malloc",
	.summary = "malloc (glibc: the heap below M_MMAP_THRESHOLD, its own mmap above)",
	.shmem = false,
	.why_not = {
		[VARIANT_POPULATE] = "malloc takes no mmap flags (MAP_POPULATE)",
		[VARIANT_HUGETLB] = "glibc's malloc uses hugetlb only through the glibc.malloc.hugetlb tunable",
	},
	.create = malloc_create,
	.release = malloc_release,
};

/* ---- anonymous mmap, private and shared ---- */

static int private_create(struct attachment *a, size_t bytes, enum attach_variant v, char *err)
{
	return map(a, bytes, MAP_PRIVATE | MAP_ANONYMOUS, -1, v, err);
}

const struct attach_kind attach_mmap_private = {
	.name = "mmap_private",
	.summary = "mmap(MAP_PRIVATE | MAP_ANONYMOUS)",
	.shmem = false,
	.create = private_create,
	.release = unmap,
};

static int shared_create(struct attachment *a, size_t bytes, enum attach_variant v, char *err)
{
	return map(a, bytes, MAP_SHARED | MAP_ANONYMOUS, -1, v, err);
}

const struct attach_kind attach_mmap_shared = {
	.name = "mmap_shared",
	.summary = "mmap(MAP_SHARED | MAP_ANONYMOUS) (shmem, shared with children after fork)",
	.shmem = true,
	.create = shared_create,
	.release = unmap,
};

/* ---- SysV: shmget + shmat ---- */

/* Holds the signals that end a run (Ctrl-C reaches every process of the
 * group) while a named or keyed object exists that nothing would remove;
 * *before gets the mask to restore. */
static void hold_termination(sigset_t *before)
{
	sigset_t terminate;
	sigemptyset(&terminate);
	sigaddset(&terminate, SIGINT);
	sigaddset(&terminate, SIGTERM);
	sigaddset(&terminate, SIGHUP);
	sigaddset(&terminate, SIGQUIT);
	pthread_sigmask(SIG_BLOCK, &terminate, before);
}

static void *sysv_shm_create_unguarded(size_t bytes, int extra_flags, void *address, int attach_flags,
				       int *id, char *err);


void *sysv_shm_create(size_t bytes, int extra_flags, void *address, int attach_flags, int *id,
		      char *err)
{
	/* Between shmget and IPC_RMID the segment belongs to nobody: a Ctrl-C
	 * there (it reaches every process of the group) would leave it in
	 * `ipcs -m` for good. The termination signals wait until it is marked
	 * (seen: a 32 MiB segment left by an interrupted `cohmap attach`). */
	sigset_t before;
	hold_termination(&before);
	void *p = sysv_shm_create_unguarded(bytes, extra_flags, address, attach_flags, id, err);
	pthread_sigmask(SIG_SETMASK, &before, NULL);
	return p;
}

static void *sysv_shm_create_unguarded(size_t bytes, int extra_flags, void *address, int attach_flags,
				       int *id, char *err)
{
	*id = shmget(IPC_PRIVATE, bytes, IPC_CREAT | IPC_EXCL | 0600 | extra_flags);
	if (*id < 0) {
		set_error(err, "shmget of %zu bytes: %s%s", bytes, strerror(errno),
			  errno == EINVAL ? " (more than kernel.shmmax?)"
			  : errno == ENOSPC ? " (kernel.shmall or shmmni reached)" : "");
		return NULL;
	}
	void *p = shmat(*id, address, attach_flags);
	int saved = errno;
	/* Marked for removal the moment it is attached (whether or not that
	 * worked): the segment lives while attached and goes with the last
	 * detach, so no crash or kill can leave it behind. */
	shmctl(*id, IPC_RMID, NULL);
	if (p == (void *)-1) {
		set_error(err, "shmat: %s", strerror(saved));
		return NULL;
	}
	return p;
}

static int sysv_create(struct attachment *a, size_t bytes, enum attach_variant v, char *err)
{
	int id;
	void *p = sysv_shm_create(bytes, v == VARIANT_HUGETLB ? SHM_HUGETLB : 0, NULL, 0, &id, err);
	if (p == NULL)
		return -1;
	*a = (struct attachment){ .base = p, .bytes = bytes, .shmid = id };
	if (v == VARIANT_THP && advise_huge(p, bytes, err) != 0) {
		shmdt(p);
		a->base = NULL;
		return -1;
	}
	return 0;
}

static void sysv_release(struct attachment *a)
{
	if (a->base)
		shmdt(a->base);
	a->base = NULL;
}

const struct attach_kind attach_sysv = {
	.name = "sysv",
	.summary = "shmget + shmat (System V), IPC_RMID right after attaching",
	.shmem = true,
	.why_not = { [VARIANT_POPULATE] = "shmat takes no MAP_POPULATE" },
	.create = sysv_create,
	.release = sysv_release,
};

/* ---- POSIX: shm_open + mmap ---- */

static int posix_shm_create_unguarded(size_t bytes, char *name, char *err);

int posix_shm_create(size_t bytes, char *name, char *err)
{
	/* between shm_open and shm_unlink the name is in /dev/shm */
	sigset_t before;
	hold_termination(&before);
	int fd = posix_shm_create_unguarded(bytes, name, err);
	pthread_sigmask(SIG_SETMASK, &before, NULL);
	return fd;
}

static int posix_shm_create_unguarded(size_t bytes, char *name, char *err)
{
	int fd = -1;
	/* Random, so no other process can guess it in the moment it exists;
	 * O_EXCL, so we never open someone else's object; 0600, so no other
	 * user could open it either; unlinked at once, so it never outlives us. */
	for (int attempt = 0; attempt < 8 && fd < 0; attempt++) {
		uint64_t r;
		if (getrandom(&r, sizeof r, 0) != sizeof r) {
			set_error(err, "getrandom: %s", strerror(errno));
			return -1;
		}
		snprintf(name, 64, "/cohmap-%d-%016llx", (int)getpid(), (unsigned long long)r);
		fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST) {
			set_error(err, "shm_open: %s", strerror(errno));
			return -1;
		}
	}
	if (fd < 0) {
		set_error(err, "shm_open: no free random name in 8 attempts");
		return -1;
	}
	shm_unlink(name);
	if (ftruncate(fd, (off_t)bytes) != 0) {
		set_error(err, "ftruncate of the POSIX shm object to %zu bytes: %s", bytes, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int posix_create(struct attachment *a, size_t bytes, enum attach_variant v, char *err)
{
	char name[64];
	int fd = posix_shm_create(bytes, name, err);
	if (fd < 0)
		return -1;
	int rc = map(a, bytes, MAP_SHARED, fd, v, err);
	close(fd); /* the mapping keeps the object */
	return rc;
}

const struct attach_kind attach_posix = {
	.name = "posix",
	.summary = "shm_open (random name, O_EXCL, 0600, unlinked at once) + ftruncate + mmap",
	.shmem = true,
	.why_not = { [VARIANT_HUGETLB] = "shm_open makes its objects on tmpfs (/dev/shm), not hugetlbfs" },
	.create = posix_create,
	.release = unmap,
};

/* ---- memfd_create + mmap ---- */

static int memfd_attach(struct attachment *a, size_t bytes, enum attach_variant v, char *err)
{
	int fd = memfd_create("cohmap-attach", MFD_CLOEXEC | (v == VARIANT_HUGETLB ? MFD_HUGETLB : 0));
	if (fd < 0) {
		set_error(err, "memfd_create: %s", strerror(errno));
		return -1;
	}
	int rc = -1;
	if (ftruncate(fd, (off_t)bytes) != 0)
		set_error(err, "ftruncate of the memfd to %zu bytes: %s", bytes, strerror(errno));
	else
		/* MAP_HUGETLB is implied by the file; the flag would be refused. */
		rc = map(a, bytes, MAP_SHARED, fd, v == VARIANT_HUGETLB ? VARIANT_PLAIN : v, err);
	close(fd);
	return rc;
}

const struct attach_kind attach_memfd = {
	.name = "memfd",
	.summary = "memfd_create + ftruncate + mmap (anonymous file, no name in any directory)",
	.shmem = true,
	.create = memfd_attach,
	.release = unmap,
};

#define ATTACH_ENTRY(name) &attach_##name,
const struct attach_kind *const attach_registry[] = { COHMAP_ATTACH_KINDS(ATTACH_ENTRY) };
#undef ATTACH_ENTRY
const int attach_kind_count = ARRAY_SIZE(attach_registry);

const struct attach_kind *attach_kind_find(const char *name)
{
	for (int i = 0; i < attach_kind_count; i++)
		if (strcmp(attach_registry[i]->name, name) == 0)
			return attach_registry[i];
	return NULL;
}
