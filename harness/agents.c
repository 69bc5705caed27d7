#include "harness/agents.h"

#include <errno.h>
#include <numa.h>
#include <numaif.h>
#include <stdlib.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "harness/common.h"
#include "harness/timing.h"

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

const char *agent_kind_name(enum agent_kind kind)
{
	switch (kind) {
	case AGENTS_THREADS:
		return "thread";
	}
	return "?";
}

int shared_region_create(struct shared_region *r, size_t size, int node, char *err)
{
	long page = sysconf(_SC_PAGESIZE);
	size = (size + (size_t)page - 1) / (size_t)page * (size_t)page;
	*r = (struct shared_region){ .size = size, .requested_node = -1, .actual_node = -1 };
	bool place = node >= 0 && numa_available() >= 0;
	r->base = place ? numa_alloc_onnode(size, node)
			: mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->base == NULL || r->base == MAP_FAILED) {
		r->base = NULL;
		set_error(err, "cannot allocate %zu bytes of shared memory%s", size,
			  place ? " on the requested NUMA node" : "");
		return -1;
	}
	if (place)
		r->requested_node = node;
	/* First touch under the node binding is what places the pages; doing it
	 * here, before any agent runs, keeps page faults out of the timed batches. */
	memset(r->base, 0, size);
	int status = -1;
	void *first_page = r->base;
	if (place && numa_move_pages(0, 1, &first_page, NULL, &status, 0) == 0 && status >= 0)
		r->actual_node = status;
	return 0;
}

void shared_region_destroy(struct shared_region *r)
{
	if (r->base == NULL)
		return;
	if (r->requested_node >= 0)
		numa_free(r->base, r->size);
	else
		munmap(r->base, r->size);
	r->base = NULL;
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
	(void)kind; /* threads are the only kind so far */
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
