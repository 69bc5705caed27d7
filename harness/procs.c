#include "harness/procs.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness/agents.h"
#include "base/timing.h"

/* The parent looks at the heartbeats this often at most: rarely enough that
 * its wake-ups do not disturb the agents, often enough for Ctrl-C to feel
 * immediate. A child's exit wakes it at once (pidfd). */
#define POLL_INTERVAL_MS 100

static int pidfd_open_or_none(pid_t pid)
{
#ifdef SYS_pidfd_open
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd >= 0)
		return fd;
#endif
	(void)pid;
	return -1;
}

static void child_main(const struct proc_spec *spec, pid_t parent)
{
	/* SIGKILL cannot be caught or ignored: whatever the child is doing
	 * (spinning, blocked in read), it ends when the parent goes. The
	 * request only covers a parent that dies after it, hence the check. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		_exit(PROC_EXIT_ORPHANED);
	/* Ctrl-C reaches the whole process group; the parent alone decides
	 * what it means and kills the children itself. */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	if (spec->cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(spec->cpu, &set);
		/* The kernel migrates us before sched_setaffinity returns; a CPU
		 * taken away meanwhile shows up in the check. */
		if (sched_setaffinity(0, sizeof set, &set) != 0 || sched_getcpu() != spec->cpu)
			_exit(PROC_EXIT_NOT_PINNED);
	}
	_exit(spec->body(spec->arg));
}

int procs_start(struct procs *p, const struct proc_spec *spec, int n, char *err)
{
	*p = (struct procs){ .n = 0, .failed = -1 };
	if (n < 1 || n > PROCS_MAX) {
		set_error(err, "cannot start %d processes (at most %d)", n, PROCS_MAX);
		return -1;
	}
	pid_t parent = getpid();
	/* Anything buffered would be written twice if a child flushed it. */
	fflush(stdout);
	fflush(stderr);
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			set_error(err, "cannot start a process: fork: %s", strerror(errno));
			procs_kill(p);
			return -1;
		}
		if (pid == 0)
			child_main(&spec[i], parent);
		p->pid[i] = pid;
		p->cpu[i] = spec[i].cpu;
		p->pidfd[i] = pidfd_open_or_none(pid);
		p->reaped[i] = 0;
		p->heartbeat[i] = NULL;
		p->n = i + 1;
	}
	return 0;
}

static void describe_exit(const struct procs *p, int i, char *err)
{
	int st = p->status[i];
	char where[32] = "";
	if (p->cpu[i] >= 0)
		snprintf(where, sizeof where, " on CPU %d", p->cpu[i]);
	if (WIFEXITED(st) && WEXITSTATUS(st) == PROC_EXIT_NOT_PINNED)
		set_error(err, "the process%s could not be pinned to its CPU", where);
	else if (WIFEXITED(st) && WEXITSTATUS(st) == PROC_EXIT_ORPHANED)
		set_error(err, "the process%s found its parent gone", where);
	else if (WIFEXITED(st))
		set_error(err, "the process%s exited with status %d", where, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		set_error(err, "the process%s was killed by signal %d (%s)", where, WTERMSIG(st),
			  strsignal(WTERMSIG(st)));
	else
		set_error(err, "the process%s ended with wait status %#x", where, st);
}

static void reap(struct procs *p, int i, int options)
{
	if (p->reaped[i])
		return;
	int st;
	pid_t r;
	while ((r = waitpid(p->pid[i], &st, options)) < 0 && errno == EINTR)
		;
	if (r == p->pid[i] || (r < 0 && errno == ECHILD)) {
		p->status[i] = r == p->pid[i] ? st : 0;
		p->reaped[i] = 1;
		if (p->pidfd[i] >= 0)
			close(p->pidfd[i]);
		p->pidfd[i] = -1;
	}
}

void procs_kill(struct procs *p)
{
	for (int i = 0; i < p->n; i++)
		if (!p->reaped[i])
			kill(p->pid[i], SIGKILL);
	for (int i = 0; i < p->n; i++)
		reap(p, i, 0);
}

static uint64_t beats(const struct procs *p)
{
	uint64_t sum = 0;
	for (int i = 0; i < p->n; i++)
		if (p->heartbeat[i])
			sum += atomic_load_explicit(p->heartbeat[i], memory_order_relaxed);
	return sum;
}

enum procs_outcome procs_wait(struct procs *p, double stall_s, char *err)
{
	uint64_t last_beat = beats(p), last_change = monotonic_ns();
	int timeout_ms = (int)(stall_s * 1000 / 4);
	if (timeout_ms > POLL_INTERVAL_MS)
		timeout_ms = POLL_INTERVAL_MS;
	if (timeout_ms < 1)
		timeout_ms = 1;

	for (;;) {
		if (cohmap_interrupted) {
			procs_kill(p);
			set_error(err, "interrupted");
			return PROCS_INTERRUPTED;
		}
		int live = 0;
		for (int i = 0; i < p->n; i++) {
			reap(p, i, WNOHANG);
			if (!p->reaped[i]) {
				live++;
				continue;
			}
			if (WIFEXITED(p->status[i]) && WEXITSTATUS(p->status[i]) == 0)
				continue;
			/* One agent gone wrong: the other may wait for it forever. */
			describe_exit(p, i, err);
			p->failed = i;
			procs_kill(p);
			return cohmap_interrupted ? PROCS_INTERRUPTED : PROCS_FAILED;
		}
		if (live == 0)
			return PROCS_FINISHED;
		uint64_t now = monotonic_ns(), beat = beats(p);
		if (beat != last_beat) {
			last_beat = beat;
			last_change = now;
		} else if ((double)(now - last_change) > stall_s * 1e9) {
			procs_kill(p);
			set_error(err, "watchdog: no progress for %.3g s; the processes were killed", stall_s);
			return PROCS_STALLED;
		}
		struct pollfd fds[PROCS_MAX];
		nfds_t nfds = 0;
		for (int i = 0; i < p->n; i++)
			if (!p->reaped[i] && p->pidfd[i] >= 0)
				fds[nfds++] = (struct pollfd){ .fd = p->pidfd[i], .events = POLLIN };
		/* EINTR (Ctrl-C) is the point: the loop looks at the flag next. */
		poll(fds, nfds, timeout_ms);
	}
}

double procs_busy_tasks(void)
{
	enum { READINGS = 5 };
	double v[READINGS];
	int n = 0;
	for (int i = 0; i < READINGS; i++) {
		FILE *f = fopen("/proc/loadavg", "re");
		int running, total;
		if (f && fscanf(f, "%*f %*f %*f %d/%d", &running, &total) == 2)
			v[n++] = running - 1;
		if (f)
			fclose(f);
		struct timespec nap = { 0, 10000000 };
		nanosleep(&nap, NULL);
	}
	if (n == 0)
		return -1;
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			double t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[n / 2];
}
