/* One false-sharing run: n threads, each pinned to its CPU, start together and
 * update their counters until a common end time (or until their fixed work is
 * done), then each thread's counter is checked against its own count.
 *
 * The "threads" may be processes (--agents): the region is then shared memory
 * of that kind, and everything a thread writes — its counter, its record, its
 * results — is in the region, so the parent reads the children's work from it
 * as it reads the threads'. Pointers into the region stay valid in a child:
 * fork keeps the mapping at the same address, and a memfd child maps its file
 * there again (harness/agents.c). What the session points to outside the
 * region (kind, clock, events) is read-only, and the child's copy is the same.
 *
 * Layout of the run's memory (one region, first touched on the home node).
 * Every item below starts a block of two lines, so nothing the harness touches
 * shares a line with a counter or with another thread's data; only the
 * counters themselves are placed `stride` bytes apart:
 *   session   read-only while the threads run
 *   control   ready count, start flag, end time: written only while starting
 *   abort     read by every thread once per chunk (stays Shared: no traffic)
 *   heartbeat written by thread 0 only, read by the supervisor
 *   thread i  each thread's private record
 *   counters  n counters (structs) `stride` bytes apart, from a block boundary */
#include "experiments/falseshare/falseshare.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "harness/agents.h"
#include "harness/start_line.h"

/* A chunk of operations runs between two clock reads. It starts small and is
 * doubled until one lasts this long: long enough that reading the clock
 * (tens of ns) is noise next to it, short enough that all threads stop
 * within a few µs of the common end time. */
#define CHUNK_TARGET_NS 10000.0
#define FIRST_CHUNK 64u
#define MAX_CHUNK (1u << 22)
/* A run whose threads' windows overlap for less than this share of the
 * longest window measured some threads partly alone. */
#define MIN_OVERLAP 0.9
/* A thread that ran for less than this share of its window lost the rest to
 * another task (or the supervisor's wake-ups, which cost far less). */
#define MIN_ON_CPU 0.95

struct fs_control {
	struct start_line line;
};

struct fs_session {
	const struct fs_kind *kind;
	const struct fs_workload *workload;
	const struct clock_info *clock;
	const struct event_request *events;
	int n;
	uint64_t run_ticks, items, chunk_ticks, watchdog_ticks;
	struct fs_control *control;
	atomic_int *abort;
	atomic_ulong *heartbeat;
	fs_counter *shared_word;
};

struct fs_thread {
	struct fs_session *s;
	int index;
	struct fs_agent agent;
	struct worker_stats *stats;
	struct tally_state tally;
	uint64_t ops, start_tick, end_tick, cpu_ns;
	bool timed_out;
	long long event_delta[MAX_EVENTS];
	bool event_failed[MAX_EVENTS];
	char event_reason[MAX_EVENTS][160];
};

static size_t round_up(size_t x, size_t to)
{
	return (x + to - 1) / to * to;
}

/* Waits for every thread; the last one to arrive sets the end time and
 * raises the start flag, so no thread's operations overlap another's start-up. */
static int start_together(struct fs_thread *me)
{
	struct fs_session *s = me->s;
	return start_line_wait(&s->control->line, s->n, s->clock, s->run_ticks, s->watchdog_ticks,
			       s->abort);
}

static int fs_thread_role(void *arg)
{
	struct fs_thread *me = arg;
	struct fs_session *s = me->s;
	const struct clock_info *clock = s->clock;
	struct counter_set counters;
	long long before[MAX_EVENTS] = { 0 }, after[MAX_EVENTS] = { 0 };
	/* Opened on the thread's own CPU before the start, read just outside
	 * its timed window: opening costs far more than a chunk. */
	if (s->events)
		counter_set_open(&counters, s->events, me->event_failed, me->event_reason);
	int rc = start_together(me);
	if (rc != KERNEL_OK) {
		me->timed_out = true;
		goto out;
	}
	if (s->events)
		counter_set_read(&counters, before);
	uint64_t end = s->control->line.end_tick, beats = 0;
	/* Switched out for another task, a thread runs neither its own updates
	 * nor against its neighbour's: its CPU time against its wall time shows
	 * it, and such runs are repeated. */
	uint64_t cpu0 = thread_cpu_ns();
	uint64_t t0 = clock_ticks(clock), now = t0, chunk = FIRST_CHUNK;
	for (;;) {
		if (atomic_load_explicit(s->abort, memory_order_relaxed)) {
			me->timed_out = true;
			rc = KERNEL_TIMEOUT;
			break;
		}
		if (s->kind) {
			/* Every thread does at least one chunk, even one that saw
			 * the start late: it then counts as disturbed, not as zero. */
			if (now >= end && now != t0)
				break;
			rc = s->kind->run[me->agent.role](&me->agent, chunk);
		} else {
			if (me->tally.items >= s->items)
				break;
			uint64_t left = s->items - me->tally.items;
			s->workload->tally(me->stats, &me->tally, left < chunk ? left : chunk);
		}
		if (rc != KERNEL_OK)
			break;
		uint64_t t = clock_ticks(clock);
		/* Shrink as well as grow: a chunk sized while the neighbour was
		 * not yet running would overshoot the end once it is. */
		if (t - now < s->chunk_ticks && chunk < MAX_CHUNK)
			chunk *= 2;
		else if (t - now > 4 * s->chunk_ticks && chunk > FIRST_CHUNK)
			chunk /= 2;
		now = t;
		if (me->index == 0)
			atomic_store_explicit(s->heartbeat, ++beats, memory_order_relaxed);
	}
	me->cpu_ns = thread_cpu_ns() - cpu0;
	me->start_tick = t0;
	me->end_tick = now;
	me->ops = s->kind ? me->agent.ops : me->tally.items;
	if (s->events) {
		counter_set_read(&counters, after);
		for (int e = 0; e < s->events->n; e++)
			me->event_delta[e] = after[e] - before[e];
	}
out:
	if (s->events)
		counter_set_close(&counters);
	return rc;
}

/* The final check of every counter; reason names the first thread at fault. */
static bool verify(const struct fs_run_request *q, struct fs_thread *const *threads,
		   const struct fs_session *s, char *reason)
{
	if (q->workload) {
		for (int i = 0; i < q->n; i++)
			if (q->workload->check(threads[i]->stats, &threads[i]->tally) != KERNEL_OK) {
				set_error(reason, "%s: the struct of the worker on CPU %d does not "
					  "match the work it did", q->workload->name, q->cpus[i]);
				return false;
			}
		return true;
	}
	if (q->stride == 0) {
		const struct fs_agent *agents[MAX_AGENTS];
		for (int i = 0; i < q->n; i++)
			agents[i] = &threads[i]->agent;
		uint32_t word = atomic_load(s->shared_word);
		if (q->kind->check_shared(word, agents, q->n) != KERNEL_OK) {
			set_error(reason, "%s: the shared word holds %u, which the threads' "
				  "work cannot explain", q->kind->name, word);
			return false;
		}
		return true;
	}
	for (int i = 0; i < q->n; i++)
		if (q->kind->check_own(&threads[i]->agent) != KERNEL_OK) {
			set_error(reason, "%s: the counter of the thread on CPU %d holds %u after "
				  "%llu operations", q->kind->name, q->cpus[i],
				  atomic_load(threads[i]->agent.counter),
				  (unsigned long long)threads[i]->agent.ops);
			return false;
		}
	return true;
}

enum fs_run_status fs_run(const struct fs_run_request *q, struct fs_thread_result *out,
			  int *home_node, char *reason)
{
	size_t block = 2 * q->line_size;
	size_t thread_bytes = round_up(sizeof(struct fs_thread), block);
	size_t unit = q->workload ? q->workload->struct_bytes : FS_COUNTER_BYTES;
	size_t counter_bytes = round_up((size_t)(q->n - 1) * q->stride + unit, block);
	size_t harness_bytes = 4 * block + (size_t)q->n * thread_bytes;
	struct shared_region region;
	struct agent_spec spec[MAX_AGENTS];
	struct fs_thread *threads[MAX_AGENTS];
	int results[MAX_AGENTS];
	char err[ERRLEN];
	enum fs_run_status status = FS_RUN_FAILED;

	*home_node = -1;
	reason[0] = '\0';
	if (q->n < 1 || q->n > MAX_AGENTS || sizeof(struct fs_session) > block ||
	    sizeof(struct fs_control) > block) {
		set_error(reason, "cannot run %d threads with %zu-byte lines", q->n, q->line_size);
		return FS_RUN_FAILED;
	}
	if (shared_region_create_for(&region, harness_bytes + counter_bytes, q->home_node, q->agents,
				     err) != 0) {
		set_error(reason, "%s", err);
		return FS_RUN_FAILED;
	}
	/* Everything the threads touch is in the region, not on this stack: an
	 * abandoned thread may wake up after we have returned. */
	unsigned char *base = region.base, *counters = base + harness_bytes;
	struct fs_session *s = (struct fs_session *)base;
	*s = (struct fs_session){
		.kind = q->kind,
		.workload = q->workload,
		.clock = q->clock,
		.events = q->events,
		.n = q->n,
		.run_ticks = ns_to_ticks(q->clock, q->run_ms * 1e6),
		.items = q->items,
		.chunk_ticks = ns_to_ticks(q->clock, CHUNK_TARGET_NS),
		.watchdog_ticks = ns_to_ticks(q->clock, q->watchdog_s * 1e9),
		.control = (struct fs_control *)(base + block),
		.abort = (atomic_int *)(base + 2 * block),
		.heartbeat = (atomic_ulong *)(base + 3 * block),
		.shared_word = (fs_counter *)counters,
	};
	for (int i = 0; i < q->n; i++) {
		struct fs_thread *t = (struct fs_thread *)(base + 4 * block + (size_t)i * thread_bytes);
		*t = (struct fs_thread){ .s = s, .index = i };
		unsigned char *mine = counters + (size_t)i * q->stride;
		if (q->workload) {
			t->stats = (struct worker_stats *)mine;
			q->workload->init(t->stats, &t->tally, 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1));
		} else {
			enum fs_role role = !q->kind->one_writer ? FS_UPDATER
					    : i == 0 ? FS_WRITER : FS_READER;
			/* A reader's own counter holds a value no update could
			 * produce in a short run, so a stray write shows. */
			fs_agent_init(&t->agent, (fs_counter *)mine, q->stride == 0, role,
				      0xfa15e000u + (uint32_t)i);
		}
		threads[i] = t;
		spec[i] = (struct agent_spec){ .cpu = q->cpus[i], .role = fs_thread_role, .arg = t };
	}
	struct supervision sv = { .heartbeat = s->heartbeat, .abort = s->abort,
				  .stall_limit_s = q->watchdog_s + 0.5, .region = &region };
	enum agents_outcome outcome = agents_run(q->agents, spec, q->n, &sv, results, err);
	*home_node = region.actual_node;
	switch (outcome) {
	case AGENTS_ABANDONED:
		/* A thread may still touch the region: keep it. */
		set_error(reason, "%s", err);
		return FS_RUN_FAILED;
	case AGENTS_NOT_STARTED:
		set_error(reason, "%s", err);
		break;
	case AGENTS_INTERRUPTED:
		set_error(reason, "interrupted");
		status = FS_RUN_INTERRUPTED;
		break;
	case AGENTS_STALLED:
	case AGENTS_FINISHED:
		for (int i = 0; i < q->n && status == FS_RUN_FAILED && reason[0] == '\0'; i++) {
			if (threads[i]->timed_out || outcome == AGENTS_STALLED)
				set_error(reason, "watchdog: the thread on CPU %d made no progress "
					  "within %.3g s", q->cpus[i], q->watchdog_s);
			else if (results[i] == KERNEL_WRONG_DATA)
				set_error(reason, "%s: the thread on CPU %d found a value in its "
					  "counter that its own work cannot explain",
					  q->kind ? q->kind->name : q->workload->name, q->cpus[i]);
			else if (results[i] != KERNEL_OK)
				set_error(reason, "the thread on CPU %d failed", q->cpus[i]);
		}
		if (reason[0] != '\0' || !verify(q, threads, s, reason))
			break;
		uint64_t first = threads[0]->start_tick;
		for (int i = 1; i < q->n; i++)
			first = threads[i]->start_tick < first ? threads[i]->start_tick : first;
		for (int i = 0; i < q->n; i++)
			out[i] = (struct fs_thread_result){
				.ops = threads[i]->ops,
				.counter = q->workload ? (uint32_t)atomic_load(&threads[i]->stats->items)
					   : atomic_load(threads[i]->agent.counter),
				.seconds = ticks_to_ns(q->clock, threads[i]->end_tick -
							     threads[i]->start_tick) / 1e9,
				.start_s = ticks_to_ns(q->clock, threads[i]->start_tick - first) / 1e9,
			};
		for (int i = 0; i < q->n; i++) {
			out[i].on_cpu = out[i].seconds > 0 ? (double)threads[i]->cpu_ns / 1e9 /
								     out[i].seconds : 1;
			memcpy(out[i].events, threads[i]->event_delta, sizeof out[i].events);
			memcpy(out[i].event_failed, threads[i]->event_failed, sizeof out[i].event_failed);
			memcpy(out[i].event_reason, threads[i]->event_reason, sizeof out[i].event_reason);
		}
		status = FS_RUN_OK;
		break;
	}
	shared_region_destroy(&region);
	return status;
}

bool fs_run_disturbed(const struct fs_thread_result *res, int n, const int *cpus, bool timed,
		      char *why, size_t size)
{
	double last_start = 0, first_end = INFINITY, last_end = 0;
	for (int i = 0; i < n; i++) {
		if (res[i].on_cpu < MIN_ON_CPU) {
			snprintf(why, size, "the thread on CPU %d ran only %.0f%% of its window",
				 cpus[i], 100 * res[i].on_cpu);
			return true;
		}
		double end = res[i].start_s + res[i].seconds;
		last_start = res[i].start_s > last_start ? res[i].start_s : last_start;
		first_end = end < first_end ? end : first_end;
		last_end = end > last_end ? end : last_end;
	}
	double overlap = last_end > 0 ? (first_end - last_start) / last_end : 1;
	if (timed && overlap < MIN_OVERLAP) {
		snprintf(why, size, "the threads ran together for only %.0f%% of the run",
			 100 * (overlap > 0 ? overlap : 0));
		return true;
	}
	return false;
}
