/* The primitives of the fork experiment: one timed fork with a task for the
 * child, one spawn, reaping with a deadline, and the page-table census,
 * with the page-table and memory model a plan is checked against.
 * Every child is reaped on every path, dies with the parent
 * (PR_SET_PDEATHSIG), and between fork and _exit calls only system calls
 * and the mapping's own loops (no stdio, no malloc: the parent may have had
 * threads).
 *
 * One file: these rules hold for every function here, and keeping them
 * together is what lets a reader check them in one place. */
#include "experiments/fork/fork.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/agents.h"
#include "base/common.h"
#include "base/stats.h"
#include "base/timing.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 /* Linux 5.14 */
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif

extern char **environ;

const char *const spawn_method_names[SPAWN_METHODS] = {
	[SPAWN_FORK_EXEC] = "fork_exec",
	[SPAWN_VFORK_EXEC] = "vfork_exec",
	[SPAWN_POSIX_SPAWN] = "posix_spawn",
};

struct child_report *child_report_open(char *err)
{
	void *p = mmap(NULL, (size_t)sysconf(_SC_PAGESIZE), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		set_error(err, "cannot map the child report page: %s", strerror(errno));
		return NULL;
	}
	return p;
}

void child_report_close(struct child_report *r)
{
	if (r)
		munmap(r, (size_t)sysconf(_SC_PAGESIZE));
}

/* ---- reaping ---- */

static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

int reap_child(pid_t pid, double timeout_s, int *status, struct rusage *usage, char *err)
{
	/* A pidfd becomes readable the moment the child exits, so the parent
	 * wakes at once (the spawn timings end at the reap) and can still give
	 * up after the deadline or on Ctrl-C. */
	int pidfd = open_pidfd(pid), rc = -1;
	uint64_t deadline = monotonic_ns() + (uint64_t)(timeout_s * 1e9);
	const char *why = NULL;
	for (;;) {
		pid_t got = wait4(pid, status, WNOHANG, usage);
		if (got == pid) {
			rc = 0;
			goto out;
		}
		if (got < 0 && errno != EINTR) {
			set_error(err, "waitpid: %s", strerror(errno));
			goto out;
		}
		if (cohmap_interrupted) {
			why = "interrupted";
			break;
		}
		uint64_t now = monotonic_ns();
		if (now >= deadline) {
			why = "timeout";
			break;
		}
		int wait_ms = (int)((deadline - now) / 1000000) + 1;
		if (pidfd >= 0) {
			struct pollfd p = { .fd = pidfd, .events = POLLIN };
			poll(&p, 1, wait_ms < 100 ? wait_ms : 100);
		} else {
			/* Kernels before 5.3 have no pidfd: poll the child. */
			struct timespec ts = { 0, 200000 };
			nanosleep(&ts, NULL);
		}
	}
	kill(pid, SIGKILL);
	while (wait4(pid, status, 0, usage) < 0 && errno == EINTR)
		;
	if (strcmp(why, "timeout") == 0)
		set_error(err, "the child did not finish within %.0f s and was killed", timeout_s);
	else
		set_error(err, "interrupted");
out:
	if (pidfd >= 0)
		close(pidfd);
	return rc;
}

/* ---- one timed fork ---- */

/* VmPTE from /proc/self/status with system calls only (see the top). */
static long long child_own_vmpte(void)
{
	char buf[8192];
	size_t used = 0;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (;;) {
		ssize_t n = read(fd, buf + used, sizeof buf - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	close(fd);
	buf[used] = '\0';
	char *at = strstr(buf, "\nVmPTE:");
	if (at == NULL)
		return -1;
	at += strlen("\nVmPTE:");
	while (*at == ' ' || *at == '\t')
		at++;
	long long kb = 0;
	while (*at >= '0' && *at <= '9')
		kb = kb * 10 + (*at++ - '0');
	return kb * 1024;
}

/* The child's side; never returns. */
static void run_child(struct child_report *report, struct mapping *m, enum child_task task,
		      pid_t parent)
{
	/* The timestamp comes first, before anything the child does for
	 * itself: "until the child runs" is fork() up to this line. */
	report->started_ns = monotonic_ns();
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	struct fault_count before, after;
	uint64_t t0;
	switch (task) {
	case CHILD_EXIT:
		break;
	case CHILD_VMPTE:
		report->vmpte_bytes = child_own_vmpte();
		break;
	case CHILD_READ:
	case CHILD_WRITE:
		fault_count_read(&before);
		t0 = monotonic_ns();
		if (task == CHILD_READ)
			report->wrong = mapping_check(m, false, 0);
		else
			mapping_write(m, true);
		report->task_ns = monotonic_ns() - t0;
		fault_count_read(&after);
		report->faults = fault_count_since(&before, &after);
		break;
	}
	report->finished = 1;
	_exit(0);
}

int fork_sample(struct child_report *report, struct mapping *m, enum child_task task,
		double timeout_s, struct fork_sample *out, char *err)
{
	int status;
	struct rusage usage;
	pid_t parent = getpid();
	*report = (struct child_report){ .vmpte_bytes = -1 };
	*out = (struct fork_sample){ .child_vmpte_bytes = -1 };
	if ((task == CHILD_READ || task == CHILD_WRITE) && m == NULL) {
		set_error(err, "a read or write task needs a mapping");
		return -1;
	}

	uint64_t t0 = monotonic_ns();
	pid_t pid = fork();
	uint64_t t1 = monotonic_ns();
	if (pid == 0)
		run_child(report, m, task, parent);
	if (pid < 0) {
		set_error(err, "fork: %s", strerror(errno));
		return -1;
	}
	if (reap_child(pid, timeout_s, &status, &usage, err) != 0)
		return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !report->finished) {
		if (WIFSIGNALED(status))
			set_error(err, "the child was killed by signal %d (%s)", WTERMSIG(status),
				  strsignal(WTERMSIG(status)));
		else
			set_error(err, "the child exited with status %d", WEXITSTATUS(status));
		return -1;
	}
	out->return_ns = (double)(t1 - t0);
	out->child_start_ns = (double)(report->started_ns - t0);
	out->task_ns = (double)report->task_ns;
	out->child_vmpte_bytes = report->vmpte_bytes;
	out->task_faults = report->faults;
	out->child_faults = (struct fault_count){ usage.ru_minflt, usage.ru_majflt };
	out->wrong = report->wrong;
	return 0;
}

/* ---- spawning a program ---- */

int find_exec_target(char *path, size_t size, char *err)
{
	char dirs[1024], *save = NULL;
	size_t n = confstr(_CS_PATH, dirs, sizeof dirs);
	if (n == 0 || n > sizeof dirs)
		snprintf(dirs, sizeof dirs, "/bin:/usr/bin");
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(path, size, "%s/true", d);
		if (access(path, X_OK) == 0)
			return 0;
	}
	set_error(err, "no 'true' program in the standard PATH to spawn");
	return -1;
}

int spawn_sample(enum spawn_method method, const char *exec_path, double timeout_s, double *ns,
		 char *err)
{
	char *const argv[] = { (char *)exec_path, NULL };
	int status;
	struct rusage usage;
	pid_t pid = -1;
	int rc;
	uint64_t t0 = monotonic_ns();
	switch (method) {
	case SPAWN_FORK_EXEC:
		pid = fork();
		if (pid == 0) {
			execve(exec_path, argv, environ);
			_exit(127);
		}
		break;
	case SPAWN_VFORK_EXEC:
		/* The child borrows the parent's memory until execve: nothing is
		 * copied, and the parent sleeps until the exec is done. */
		pid = vfork();
		if (pid == 0) {
			execve(exec_path, argv, environ);
			_exit(127);
		}
		break;
	case SPAWN_POSIX_SPAWN:
		rc = posix_spawn(&pid, exec_path, NULL, NULL, argv, environ);
		if (rc != 0) {
			set_error(err, "posix_spawn %s: %s", exec_path, strerror(rc));
			return -1;
		}
		break;
	default:
		set_error(err, "unknown spawn method");
		return -1;
	}
	if (pid < 0) {
		set_error(err, "%s: %s", spawn_method_names[method], strerror(errno));
		return -1;
	}
	if (reap_child(pid, timeout_s, &status, &usage, err) != 0)
		return -1;
	*ns = (double)(monotonic_ns() - t0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		set_error(err, "%s did not exit 0 (status 0x%x)", exec_path, status);
		return -1;
	}
	return 0;
}

/* ---- the page-table census ---- */

uint64_t pagetable_model_bytes(uint64_t segment, size_t page_bytes)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), entries = page / sizeof(void *);
	uint64_t pte_span = page * entries, pmd_span = pte_span * entries;
	uint64_t pmd_tables = (segment + pmd_span - 1) / pmd_span;
	uint64_t pte_tables = page_bytes < pte_span ? (segment + pte_span - 1) / pte_span : 0;
	return (pmd_tables + pte_tables) * page;
}

uint64_t fork_cell_memory(const struct mapping_kind *k, uint64_t bytes)
{
	uint64_t need = 0;
	if (k->touched && k->pages != PAGES_HUGETLB)
		need += bytes;              /* the mapping itself */
	if (!k->shared)
		need += bytes;              /* the child's copies when it writes */
	return need + 2 * pagetable_model_bytes(bytes, (size_t)sysconf(_SC_PAGESIZE));
}

uint64_t fork_memory_allowance(long long mem_available)
{
	return mem_available > 0 ? (uint64_t)((double)mem_available * FORK_MEMORY_SHARE) : 0;
}

/* Evenly spread pages the parent writes and every process checks: enough
 * to prove each maps the one segment, cheap at any size. */
#define CENSUS_CHECKPOINTS 64
/* Faults a census process may take besides its page-table entries. */
#define CENSUS_FAULT_SLACK 2

struct census_slot {
	int order;           /* 0 for the process that mapped first */
	int error;           /* errno of a failed step, 0 */
	long faults;
	uint64_t wrong;
	uint64_t elapsed_ns;
};

/* What the census processes share with the parent. */
struct census_board {
	_Atomic int next_order;
	struct census_slot slots[];
};

static size_t checkpoint_page(uint64_t segment, size_t page, int i)
{
	size_t pages = (size_t)(segment / page);
	return (size_t)((uint64_t)i * (pages - 1) / (CENSUS_CHECKPOINTS - 1));
}

/* A census child; never returns. The token pipe lets one process map at a
 * time, so "the first" is well defined and every later process finds the
 * segment's pages (and, for hugetlb, maybe its page tables) already there. */
static void census_child(int fd, bool hugetlb, uint64_t segment, struct census_slot *slot,
			 _Atomic int *next_order, int ready_w, int token_r, int token_w, int release_r,
			 pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	char byte = 'r';
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	if (write(ready_w, &byte, 1) != 1)
		_exit(1);
	while (read(token_r, &byte, 1) != 1)
		if (errno != EINTR)
			_exit(1);
	slot->order = atomic_fetch_add(next_order, 1);
	void *reservation;
	size_t reservation_bytes;
	char err[ERRLEN];
	unsigned char *base = mapping_reserve(segment, &reservation, &reservation_bytes, err);
	struct fault_count before, after;
	fault_count_read(&before);
	uint64_t t0 = monotonic_ns();
	errno = 0;
	if (base == NULL ||
	    mmap(base, segment, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED) {
		slot->error = errno ? errno : ENOMEM;
	} else {
		if (!hugetlb)
			madvise(base, segment, MADV_NOHUGEPAGE);
		/* Populating builds every page-table entry without one trap per
		 * page; where the kernel lacks it, a load per page does the same. */
		if (madvise(base, segment, MADV_POPULATE_READ) != 0) {
			volatile unsigned char sink = 0;
			for (uint64_t off = 0; off < segment; off += page)
				sink ^= base[off];
			(void)sink;
		}
		fault_count_read(&after);
		slot->elapsed_ns = monotonic_ns() - t0;
		slot->faults = fault_count_since(&before, &after).minor;
		for (int i = 0; i < CENSUS_CHECKPOINTS; i++) {
			size_t p = checkpoint_page(segment, page, i);
			slot->wrong += *(volatile uint64_t *)(base + p * page) != mapping_pattern(p);
		}
	}
	byte = 't';
	if (write(token_w, &byte, 1) != 1 || write(ready_w, "d", 1) != 1)
		_exit(1);
	/* Stay mapped until the parent has read VmPTE; EOF is the release. */
	while (read(release_r, &byte, 1) != 0 && errno == EINTR)
		;
	_exit(0);
}

/* Reads count bytes from fd, giving up at the deadline or on Ctrl-C. */
static int await_bytes(int fd, int count, uint64_t deadline, char *err)
{
	char buf[64];
	while (count > 0) {
		if (cohmap_interrupted) {
			set_error(err, "interrupted");
			return -1;
		}
		uint64_t now = monotonic_ns();
		if (now >= deadline) {
			set_error(err, "the processes did not answer in time");
			return -1;
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int ms = (int)((deadline - now) / 1000000) + 1;
		if (poll(&p, 1, ms < 100 ? ms : 100) <= 0)
			continue;
		ssize_t n = read(fd, buf, (size_t)count < sizeof buf ? (size_t)count : sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			set_error(err, "a process of the census died");
			return -1;
		}
		count -= (int)n;
	}
	return 0;
}

/* Fills the segment's checkpoints through a short-lived mapping of the
 * parent, which it unmaps again: the parent holds no page tables for it. */
static int write_checkpoints(int fd, uint64_t segment, char *err)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	unsigned char *p = mmap(NULL, segment, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		set_error(err, "mmap of the segment: %s", strerror(errno));
		return -1;
	}
	/* Written once by the parent, every page is up to date in the page
	 * cache, so the first census process maps it like the later ones
	 * (fallocated tmpfs pages are not, and would be faulted one by one). */
	madvise(p, segment, MADV_POPULATE_WRITE);
	for (int i = 0; i < CENSUS_CHECKPOINTS; i++) {
		size_t pg = checkpoint_page(segment, page, i);
		*(uint64_t *)(p + pg * page) = mapping_pattern(pg);
	}
	munmap(p, segment);
	return 0;
}

static int compare_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

static int compare_llong(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

int census_segment_open(struct census_segment *seg, bool hugetlb, uint64_t bytes, char *reason)
{
	char err[ERRLEN];
	struct hugetlb_pool pool;
	hugetlb_pool_read(&pool);
	*seg = (struct census_segment){ .fd = -1, .hugetlb = hugetlb, .bytes = bytes,
					.page_bytes = hugetlb ? pool.page_bytes : (size_t)sysconf(_SC_PAGESIZE) };
	if (hugetlb && !mapping_hugetlb_shared.available(bytes, reason))
		return 1;
	if (bytes == 0 || bytes % seg->page_bytes != 0) {
		char s[32], p[32];
		set_error(reason, "a segment of %s is not a whole number of %s pages",
			  format_bytes(bytes, s, sizeof s), format_bytes(seg->page_bytes, p, sizeof p));
		return 1;
	}
	seg->fd = memfd_create("cohmap-pagetables", MFD_CLOEXEC | (hugetlb ? MFD_HUGETLB : 0));
	if (seg->fd < 0 || ftruncate(seg->fd, (off_t)bytes) != 0) {
		set_error(reason, "memfd of %llu bytes: %s", (unsigned long long)bytes, strerror(errno));
		census_segment_close(seg);
		return -1;
	}
	/* Allocating the pages up front: every process then maps pages that
	 * exist, and only page tables are new; a short pool or full memory
	 * fails here instead of with SIGBUS in a child. */
	if (fallocate(seg->fd, 0, 0, (off_t)bytes) != 0) {
		int e = errno;
		set_error(reason, "cannot allocate the %s segment: %s", hugetlb ? "hugetlb" : "shared",
			  strerror(e));
		census_segment_close(seg);
		return hugetlb && (e == ENOSPC || e == ENOMEM) ? 1 : -1;
	}
	if (write_checkpoints(seg->fd, bytes, err) != 0) {
		set_error(reason, "%s", err);
		census_segment_close(seg);
		return -1;
	}
	return 0;
}

void census_segment_close(struct census_segment *seg)
{
	if (seg->fd >= 0)
		close(seg->fd);
	seg->fd = -1;
}

int pagetable_census(const struct census_segment *seg, int n, double timeout_s,
		     struct pagetable_census *out, char *reason)
{
	char err[ERRLEN];
	int fd = seg->fd, ready[2] = { -1, -1 }, token[2] = { -1, -1 }, release[2] = { -1, -1 };
	int started = 0, rc = -1;
	bool hugetlb = seg->hugetlb;
	uint64_t segment = seg->bytes;
	pid_t *pids = calloc((size_t)n, sizeof *pids);
	long long *before = calloc((size_t)n, sizeof *before);
	long *faults = calloc((size_t)n, sizeof *faults);
	size_t slots_bytes = sizeof(struct census_board) + (size_t)n * sizeof(struct census_slot);
	void *shared = MAP_FAILED;
	uint64_t t_start = monotonic_ns();

	*out = (struct pagetable_census){ .hugetlb = hugetlb, .segment = segment, .processes = n,
					  .page_bytes = seg->page_bytes, .system_growth = -1,
					  .other_faults_median = -1 };
	if (pids == NULL || before == NULL || faults == NULL) {
		set_error(reason, "out of memory");
		goto out;
	}
	if (fd < 0) {
		set_error(reason, "the segment is not open");
		goto out;
	}
	shared = mmap(NULL, slots_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED || pipe2(ready, O_CLOEXEC) != 0 || pipe2(token, O_CLOEXEC) != 0 ||
	    pipe2(release, O_CLOEXEC) != 0) {
		set_error(reason, "cannot set up the census: %s", strerror(errno));
		goto out;
	}
	struct census_board *board = shared;
	_Atomic int *next_order = &board->next_order;
	struct census_slot *slots = board->slots;
	pid_t parent = getpid();
	for (; started < n; started++) {
		pid_t pid = fork();
		if (pid == 0) {
			close(ready[0]);
			close(release[1]);
			census_child(fd, hugetlb, segment, &slots[started], next_order, ready[1],
				     token[0], token[1], release[0], parent);
		}
		if (pid < 0) {
			set_error(reason, "fork of census process %d: %s", started + 1, strerror(errno));
			goto out;
		}
		pids[started] = pid;
	}
	close(ready[1]);
	ready[1] = -1;
	uint64_t deadline = monotonic_ns() + (uint64_t)(timeout_s * 1e9);
	if (await_bytes(ready[0], n, deadline, reason) != 0)
		goto out;
	for (int i = 0; i < n; i++)
		if ((before[i] = vmpte_bytes(pids[i])) < 0) {
			set_error(reason, "cannot read VmPTE of process %d", (int)pids[i]);
			goto out;
		}
	out->system_exact = meminfo_refresh();
	long long system_before = meminfo_field("PageTables");
	if (write(token[1], "t", 1) != 1 || await_bytes(ready[0], n, deadline, reason) != 0)
		goto out;
	long long *growth = calloc((size_t)n, sizeof *growth);
	if (growth == NULL) {
		set_error(reason, "out of memory");
		goto out;
	}
	out->vmpte_before = out->vmpte_after = 0;
	for (int i = 0; i < n; i++) {
		long long after = vmpte_bytes(pids[i]);
		growth[i] = after - before[i];
		out->vmpte_before += before[i];
		out->vmpte_after += after;
	}
	meminfo_refresh();
	long long system_after = meminfo_field("PageTables");
	if (system_before >= 0 && system_after >= 0) {
		out->system_growth = system_after - system_before;
		out->system_known = true;
	}
	qsort(growth, (size_t)n, sizeof *growth, compare_llong);
	out->vmpte_growth_median = growth[n / 2];
	free(growth);

	int nother = 0, failed = -1;
	for (int i = 0; i < n; i++) {
		if (slots[i].error && failed < 0)
			failed = i;
		out->wrong += slots[i].wrong;
		if (slots[i].order == 0)
			out->first_faults = slots[i].faults;
		else
			faults[nother++] = slots[i].faults;
	}
	if (failed >= 0) {
		set_error(reason, "a census process could not map the segment: %s",
			  strerror(slots[failed].error));
		goto out;
	}
	if (nother > 0) {
		qsort(faults, (size_t)nother, sizeof *faults, compare_long);
		out->other_faults_median = faults[nother / 2];
		/* A process that finds a table already built links it with one
		 * fault per table span instead of faulting its entries in; fault-
		 * around (16 base pages per fault) must not pass for that, hence
		 * both tests. */
		uint64_t spans = (segment + mapping_table_span() - 1) / mapping_table_span();
		out->tables_shared = (uint64_t)out->other_faults_median <= spans + CENSUS_FAULT_SLACK &&
				     out->other_faults_median * 4 < out->first_faults;
	}
	rc = 0;
out:
	if (release[1] >= 0)
		close(release[1]); /* EOF: the census processes exit */
	for (int i = 0; i < started; i++) {
		int status;
		struct rusage usage;
		/* After an error some may still wait for the token: kill them. */
		if (rc != 0)
			kill(pids[i], SIGKILL);
		reap_child(pids[i], 10, &status, &usage, err);
	}
	for (int i = 0; i < 2; i++) {
		if (ready[i] >= 0)
			close(ready[i]);
		if (token[i] >= 0)
			close(token[i]);
		if (release[i] >= 0 && i == 0)
			close(release[i]);
	}
	if (shared != MAP_FAILED)
		munmap(shared, slots_bytes);
	free(pids);
	free(before);
	free(faults);
	out->elapsed_s = (double)(monotonic_ns() - t_start) / 1e9;
	return rc;
}
