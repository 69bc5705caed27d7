#include "harness/agents.h"

#include <errno.h>
#include <fcntl.h>
#include <numa.h>
#include <numaif.h>
#include <stdlib.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/common.h"
#include "kernels/attach.h"
#include "base/timing.h"

volatile sig_atomic_t cohmap_interrupted;

static void on_interrupt(int sig)
{
	(void)sig;
	cohmap_interrupted = 1;
}

void install_interrupt_handlers(void)
{
	struct sigaction sa = { .sa_handler = on_interrupt };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static const char *const kind_names[AGENT_KIND_COUNT] = {
	[AGENTS_THREADS] = "thread",
	[AGENTS_FORK_SHARED] = "fork-shared",
	[AGENTS_SYSV] = "sysv",
	[AGENTS_POSIX] = "posix",
	[AGENTS_MEMFD] = "memfd",
};

const char *agent_kind_name(enum agent_kind kind)
{
	return kind < AGENT_KIND_COUNT ? kind_names[kind] : "?";
}

int agent_kind_from_name(const char *name)
{
	for (int k = 0; k < AGENT_KIND_COUNT; k++)
		if (strcmp(kind_names[k], name) == 0)
			return k;
	return -1;
}

/* The mapping itself, by kind. On success r->base is mapped read-write and
 * shared as the kind demands; nothing is left behind on failure. */
static int map_region(struct shared_region *r, bool place, char *err)
{
	void *p = MAP_FAILED;
	switch (r->kind) {
	case AGENTS_THREADS:
		p = place ? numa_alloc_onnode(r->size, r->requested_node)
			  : mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == NULL)
			p = MAP_FAILED;
		break;
	case AGENTS_FORK_SHARED:
		p = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		break;
	case AGENTS_SYSV: {
		/* Marked for removal as soon as it is attached (the child inherits
		 * the attachment), with termination signals held until then:
		 * it vanishes with the last detach, even when we are killed. */
		int id;
		char ignored[ERRLEN];
		p = sysv_shm_create(r->size, 0, NULL, 0, &id, ignored);
		if (p == NULL)
			p = MAP_FAILED;
		break;
	}
	case AGENTS_POSIX: {
		/* A random name, created exclusively, private, and unlinked as
		 * soon as it exists: no other process can open it, and no
		 * /dev/shm entry survives us. */
		char name[64], ignored[ERRLEN];
		int fd = posix_shm_create(r->size, name, ignored);
		if (fd < 0)
			break;
		p = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		close(fd);
		break;
	}
	case AGENTS_MEMFD:
		r->memfd = memfd_create("cohmap-agents", MFD_CLOEXEC);
		if (r->memfd < 0)
			break;
		if (ftruncate(r->memfd, (off_t)r->size) == 0)
			p = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED, r->memfd, 0);
		if (p == MAP_FAILED) {
			close(r->memfd);
			r->memfd = -1;
		}
		break;
	case AGENT_KIND_COUNT:
		break;
	}
	if (p == MAP_FAILED) {
		set_error(err, "cannot allocate %zu bytes of %s shared memory: %s", r->size,
			  agent_kind_name(r->kind), strerror(errno));
		return -1;
	}
	r->base = p;
	/* numa_alloc_onnode already binds; the shared kinds get the same policy
	 * on their mapping (shmem honours mbind), before the first touch. */
	if (place && r->kind != AGENTS_THREADS)
		numa_tonode_memory(r->base, r->size, r->requested_node);
	return 0;
}

int shared_region_create_for(struct shared_region *r, size_t size, int node, enum agent_kind kind,
			     char *err)
{
	long page = sysconf(_SC_PAGESIZE);
	size = (size + (size_t)page - 1) / (size_t)page * (size_t)page;
	*r = (struct shared_region){ .size = size, .kind = kind, .requested_node = -1,
				     .actual_node = -1, .memfd = -1, .same_page = -1 };
	snprintf(r->pagemap_note, sizeof r->pagemap_note, "%s",
		 kind == AGENTS_THREADS ? "threads share one address space" : "not checked yet");
	bool place = node >= 0 && numa_available() >= 0;
	if (place)
		r->requested_node = node;
	if (map_region(r, place, err) != 0)
		return -1;
	/* First touch under the node binding is what places the pages; doing it
	 * here, before any agent runs, keeps page faults out of the timed batches. */
	memset(r->base, 0, size);
	int status = -1;
	void *first_page = r->base;
	if (place && numa_move_pages(0, 1, &first_page, NULL, &status, 0) == 0 && status >= 0)
		r->actual_node = status;
	return 0;
}

int shared_region_create(struct shared_region *r, size_t size, int node, char *err)
{
	return shared_region_create_for(r, size, node, AGENTS_THREADS, err);
}

void shared_region_destroy(struct shared_region *r)
{
	if (r->base == NULL)
		return;
	if (r->kind == AGENTS_THREADS && r->requested_node >= 0)
		numa_free(r->base, r->size);
	else if (r->kind == AGENTS_SYSV)
		shmdt(r->base);
	else
		munmap(r->base, r->size);
	if (r->memfd >= 0)
		close(r->memfd);
	r->base = NULL;
	r->memfd = -1;
}

/* ---- agents as child processes -------------------------------------------- */

/* Physical frame of the page at addr, 0 when hidden (PFNs need
 * CAP_SYS_ADMIN) or not present. */
static uint64_t physical_frame(const void *addr, char *why, size_t size)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t entry = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, size, "/proc/self/pagemap: %s", strerror(errno));
		return 0;
	}
	off_t at = (off_t)((uintptr_t)addr / (uintptr_t)page * sizeof entry);
	if (pread(fd, &entry, sizeof entry, at) != sizeof entry)
		snprintf(why, size, "/proc/self/pagemap: %s", strerror(errno));
	close(fd);
	uint64_t pfn = entry & ((1ull << 55) - 1);
	if ((entry >> 63) && pfn == 0)
		snprintf(why, size, "physical frames are hidden without CAP_SYS_ADMIN");
	return (entry >> 63) ? pfn : 0;
}

static int send_fd(int sock, int fd)
{
	char byte = 0, control[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			      .msg_controllen = sizeof control };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof fd);
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

static int receive_fd(int sock)
{
	char byte, control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			      .msg_controllen = sizeof control };
	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (c == NULL || c->cmsg_type != SCM_RIGHTS)
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof fd);
	return fd;
}

/* Exit codes of an agent child: its role's result, or why it never ran. */
enum child_exit { CHILD_OK, CHILD_TIMEOUT, CHILD_WRONG_DATA, CHILD_PIN_FAILED, CHILD_ORPHANED,
		  CHILD_MAP_FAILED };

static void agent_child(const struct agent_spec *spec, const struct shared_region *region,
			pid_t parent, int sock)
{
	/* Never outlive the parent, even if it is SIGKILLed: and if it already
	 * died between fork and here, the signal would never come. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(CHILD_ORPHANED);
	/* Ctrl-C reaches the whole process group; the parent decides. */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	cpu_set_t cpus;
	CPU_ZERO(&cpus);
	CPU_SET(spec->cpu, &cpus);
	if (sched_setaffinity(0, sizeof cpus, &cpus) != 0 || sched_getcpu() != spec->cpu)
		_exit(CHILD_PIN_FAILED);
	if (region->kind == AGENTS_MEMFD) {
		/* Like an unrelated process: drop the mapping fork gave us and
		 * map the file we are handed, at the same address so pointers
		 * into the region stay valid. */
		int fd = receive_fd(sock);
		munmap(region->base, region->size);
		void *p = fd < 0 ? MAP_FAILED
				 : mmap(region->base, region->size, PROT_READ | PROT_WRITE,
					MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
		if (p != region->base)
			_exit(CHILD_MAP_FAILED);
		close(fd);
	}
	char why[128] = "";
	volatile unsigned char touch = *(volatile unsigned char *)region->base;
	(void)touch;
	uint64_t frame = physical_frame(region->base, why, sizeof why);
	if (write(sock, &frame, sizeof frame) != sizeof frame)
		_exit(CHILD_MAP_FAILED);
	close(sock);
	int rc = spec->role(spec->arg);
	_exit(rc == 0 ? CHILD_OK : rc == -2 ? CHILD_WRONG_DATA : CHILD_TIMEOUT);
}

static int child_result(int status)
{
	if (!WIFEXITED(status))
		return -1;
	switch (WEXITSTATUS(status)) {
	case CHILD_OK:
		return 0;
	case CHILD_WRONG_DATA:
		return -2;
	default:
		return -1;
	}
}

static const char *child_failure(int status)
{
	if (WIFSIGNALED(status))
		return strsignal(WTERMSIG(status));
	switch (WEXITSTATUS(status)) {
	case CHILD_PIN_FAILED:
		return "could not pin the agent process to its CPU";
	case CHILD_ORPHANED:
		return "the parent went away before the agent started";
	case CHILD_MAP_FAILED:
		return "the agent process could not map the shared memory";
	}
	return NULL;
}

static void check_same_page(struct shared_region *region, const uint64_t *child_frames, int n)
{
	char why[128] = "";
	uint64_t mine = physical_frame(region->base, why, sizeof why);
	region->same_page = -1;
	if (mine == 0) {
		snprintf(region->pagemap_note, sizeof region->pagemap_note, "not checked: %s",
			 why[0] ? why : "no frame number");
		return;
	}
	for (int i = 0; i < n; i++)
		if (child_frames[i] == 0) {
			snprintf(region->pagemap_note, sizeof region->pagemap_note,
				 "not checked: an agent could not read its frame number");
			return;
		} else if (child_frames[i] != mine) {
			region->same_page = 0;
			snprintf(region->pagemap_note, sizeof region->pagemap_note,
				 "agents map different physical pages (frames %llx and %llx)",
				 (unsigned long long)mine, (unsigned long long)child_frames[i]);
			return;
		}
	region->same_page = 1;
	snprintf(region->pagemap_note, sizeof region->pagemap_note,
		 "checked: every agent maps physical frame %llx", (unsigned long long)mine);
}

static enum agents_outcome run_processes(const struct agent_spec *spec, int n,
					 const struct supervision *sv, int *results, char *err)
{
	struct shared_region *region = sv->region;
	pid_t *pids = calloc((size_t)n, sizeof *pids);
	int *socks = calloc((size_t)n, sizeof *socks);
	uint64_t *frames = calloc((size_t)n, sizeof *frames);
	int *status = calloc((size_t)n, sizeof *status);
	bool *reaped = calloc((size_t)n, sizeof *reaped);
	enum agents_outcome outcome = AGENTS_FINISHED;
	int started = 0;

	if (!pids || !socks || !frames || !status || !reaped) {
		set_error(err, "cannot start %d agent processes: out of memory", n);
		outcome = AGENTS_NOT_STARTED;
		goto out;
	}
	fflush(NULL); /* no buffered output duplicated into the children */
	for (; started < n; started++) {
		int pair[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
			set_error(err, "cannot start an agent process: socketpair: %s", strerror(errno));
			break;
		}
		pid_t parent = getpid(), pid = fork();
		if (pid == 0) {
			close(pair[0]);
			agent_child(&spec[started], region, parent, pair[1]);
		}
		close(pair[1]);
		socks[started] = pair[0];
		if (pid < 0) {
			close(pair[0]);
			set_error(err, "cannot start an agent process: fork: %s", strerror(errno));
			break;
		}
		pids[started] = pid;
		if (region->kind == AGENTS_MEMFD && send_fd(pair[0], region->memfd) != 0) {
			set_error(err, "cannot hand the memfd to the agent process");
			started++;
			break;
		}
	}
	if (started < n) {
		atomic_store(sv->abort, 1);
		outcome = AGENTS_NOT_STARTED;
	}
	for (int i = 0; i < started; i++) {
		struct pollfd pfd = { .fd = socks[i], .events = POLLIN };
		if (poll(&pfd, 1, (int)(sv->stall_limit_s * 1000)) != 1 ||
		    read(socks[i], &frames[i], sizeof frames[i]) != sizeof frames[i])
			frames[i] = 0;
		close(socks[i]);
	}
	if (outcome == AGENTS_FINISHED)
		check_same_page(region, frames, started);

	/* Supervise: the same heartbeat rule as for threads, but a child that
	 * does not stop can be killed, so nothing is ever abandoned. */
	unsigned long last_beat = atomic_load(sv->heartbeat);
	uint64_t last_change = monotonic_ns();
	bool told_to_stop = false, killed = false;
	for (int alive = started; alive > 0;) {
		for (int i = 0; i < started; i++)
			if (!reaped[i] && waitpid(pids[i], &status[i], WNOHANG) == pids[i]) {
				reaped[i] = true;
				alive--;
				if (child_result(status[i]) != 0 && !told_to_stop)
					atomic_store(sv->abort, 1); /* the others stop waiting */
			}
		if (alive == 0)
			break;
		struct timespec nap = { 0, 5000000 };
		nanosleep(&nap, NULL);
		uint64_t now = monotonic_ns();
		unsigned long beat = atomic_load(sv->heartbeat);
		if (beat != last_beat) {
			last_beat = beat;
			last_change = now;
		}
		double quiet_s = (double)(now - last_change) / 1e9;
		if (cohmap_interrupted && outcome != AGENTS_INTERRUPTED) {
			outcome = AGENTS_INTERRUPTED;
			told_to_stop = true;
			atomic_store(sv->abort, 1);
			last_change = now;
		} else if (!told_to_stop && quiet_s > sv->stall_limit_s) {
			told_to_stop = true;
			if (outcome == AGENTS_FINISHED)
				outcome = AGENTS_STALLED;
			atomic_store(sv->abort, 1);
			last_change = now;
		} else if (told_to_stop && quiet_s > sv->stall_limit_s && !killed) {
			for (int i = 0; i < started; i++)
				if (!reaped[i])
					kill(pids[i], SIGKILL);
			killed = true;
		}
	}
	for (int i = 0; i < n; i++) {
		results[i] = i < started ? child_result(status[i]) : -1;
		const char *why = i < started ? child_failure(status[i]) : NULL;
		if (why && outcome == AGENTS_FINISHED) {
			set_error(err, "agent on CPU %d: %s", spec[i].cpu, why);
			outcome = AGENTS_NOT_STARTED;
		}
	}
	if (killed && outcome == AGENTS_STALLED)
		set_error(err, "an agent process did not stop when told; it was killed");
out:
	free(pids);
	free(socks);
	free(frames);
	free(status);
	free(reaped);
	return outcome;
}

struct thread_start {
	const struct agent_spec *spec;
	atomic_int *abort;
	int result;
	char pin_error[128];
};

static void *agent_thread(void *arg)
{
	struct thread_start *start = arg;
	/* The attribute already pinned us; a CPU that went offline between the
	 * check and now would leave us elsewhere, and then nothing we measure
	 * would be about the requested pair. */
	if (sched_getcpu() != start->spec->cpu) {
		snprintf(start->pin_error, sizeof start->pin_error,
			 "agent runs on CPU %d, not on CPU %d", sched_getcpu(), start->spec->cpu);
		start->result = -1;
		atomic_store(start->abort, 1); /* so the other agent stops waiting */
		return NULL;
	}
	start->result = start->spec->role(start->spec->arg);
	return NULL;
}

static void add_ms(struct timespec *ts, long ms)
{
	ts->tv_nsec += ms * 1000000L;
	ts->tv_sec += ts->tv_nsec / 1000000000L;
	ts->tv_nsec %= 1000000000L;
}

/* Waits for one thread while watching the heartbeat. */
static enum agents_outcome supervise(pthread_t thread, const struct supervision *sv)
{
	unsigned long last_beat = atomic_load(sv->heartbeat);
	uint64_t last_change = monotonic_ns();
	bool told_to_stop = false, interrupted = false;
	for (;;) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		add_ms(&until, 10);
		if (pthread_timedjoin_np(thread, NULL, &until) == 0)
			return interrupted ? AGENTS_INTERRUPTED
			       : told_to_stop ? AGENTS_STALLED : AGENTS_FINISHED;
		uint64_t now = monotonic_ns();
		unsigned long beat = atomic_load(sv->heartbeat);
		if (beat != last_beat) {
			last_beat = beat;
			last_change = now;
		}
		double quiet_s = (double)(now - last_change) / 1e9;
		if (cohmap_interrupted && !told_to_stop) {
			interrupted = told_to_stop = true;
			atomic_store(sv->abort, 1);
			last_change = now;
		} else if (!told_to_stop && quiet_s > sv->stall_limit_s) {
			told_to_stop = true;
			atomic_store(sv->abort, 1);
			last_change = now;
		} else if (told_to_stop && quiet_s > sv->stall_limit_s) {
			/* Told to stop and still not back: its CPU is not running
			 * it. It will exit on its own once it runs (it checks the
			 * abort flag); we cannot wait for that. */
			pthread_detach(thread);
			return AGENTS_ABANDONED;
		}
	}
}

enum agents_outcome agents_run(enum agent_kind kind, const struct agent_spec *spec, int n,
			       const struct supervision *sv, int *results, char *err)
{
	if (kind != AGENTS_THREADS) {
		if (sv->region == NULL || sv->region->kind != kind) {
			set_error(err, "agents as %s processes need memory made for them "
				  "(shared_region_create_for)", agent_kind_name(kind));
			return AGENTS_NOT_STARTED;
		}
		if (n < 1 || n > MAX_AGENTS) {
			set_error(err, "cannot start %d agents", n);
			return AGENTS_NOT_STARTED;
		}
		return run_processes(spec, n, sv, results, err);
	}
	struct thread_start *start = calloc((size_t)n, sizeof *start);
	pthread_t *thread = calloc((size_t)n, sizeof *thread);
	int started = 0;
	enum agents_outcome outcome = AGENTS_FINISHED;

	if (n < 1 || n > MAX_AGENTS || start == NULL || thread == NULL) {
		set_error(err, "cannot start %d agents", n);
		free(start);
		free(thread);
		return AGENTS_NOT_STARTED;
	}
	for (; started < n; started++) {
		pthread_attr_t attr;
		cpu_set_t cpus;
		start[started] = (struct thread_start){ .spec = &spec[started], .abort = sv->abort };
		CPU_ZERO(&cpus);
		CPU_SET(spec[started].cpu, &cpus);
		pthread_attr_init(&attr);
		int rc = pthread_attr_setaffinity_np(&attr, sizeof cpus, &cpus);
		if (rc == 0)
			rc = pthread_create(&thread[started], &attr, agent_thread, &start[started]);
		pthread_attr_destroy(&attr);
		if (rc != 0) {
			set_error(err, "cannot start an agent on CPU %d: %s", spec[started].cpu,
				  strerror(rc));
			atomic_store(sv->abort, 1);
			outcome = AGENTS_NOT_STARTED;
			break;
		}
	}
	/* The worst outcome wins (the enum is ordered by severity). */
	bool abandoned = false;
	for (int i = 0; i < started; i++) {
		enum agents_outcome o = supervise(thread[i], sv);
		if (o == AGENTS_ABANDONED)
			set_error(err, "the agent on CPU %d did not stop; abandoned it",
				  spec[i].cpu);
		abandoned |= o == AGENTS_ABANDONED;
		if (o > outcome)
			outcome = o;
	}
	for (int i = 0; i < n; i++) {
		results[i] = i < started ? start[i].result : -1;
		if (outcome != AGENTS_ABANDONED && start[i].pin_error[0]) {
			set_error(err, "%s", start[i].pin_error);
			outcome = AGENTS_NOT_STARTED;
		}
	}
	free(thread);
	/* An abandoned thread still holds its start record. */
	if (!abandoned)
		free(start);
	return outcome;
}

enum agents_verdict agents_verdict(enum agents_outcome outcome, const char *err, char *reason,
				   size_t size)
{
	switch (outcome) {
	case AGENTS_ABANDONED:
		snprintf(reason, size, "%s", err);
		return AGENTS_LEFT_RUNNING;
	case AGENTS_NOT_STARTED:
		snprintf(reason, size, "%s", err);
		return AGENTS_FAILED;
	case AGENTS_INTERRUPTED:
		snprintf(reason, size, "interrupted");
		return AGENTS_STOPPED;
	case AGENTS_STALLED:
	case AGENTS_FINISHED:
		break;
	}
	return AGENTS_JUDGE;
}
