/* One step of the contention ladder for one item: n threads, each pinned to
 * its CPU, start together and hammer the shared word (or take the lock) until
 * a common end time; then the word, or the lock's counter, is checked against
 * what every thread did.
 *
 * Layout of the run's memory (one region; every item starts a block of two
 * lines, so nothing the harness touches shares a line with the word, the
 * lock or the data it guards, and the adjacent-line prefetcher cannot pair
 * them either):
 *   session   read-only while the threads run
 *   control   ready count, start flag, end time: written only while starting
 *   abort     read by every thread once per chunk (stays Shared: no traffic)
 *   heartbeat written by thread 0 only, read by the supervisor
 *   lock      the lock's state
 *   guarded   the counter the lock protects
 *   word      the shared word; a split word straddles this block's two lines
 *   thread i  each thread's private record, then its own block (the
 *             baseline's word, or its MCS queue node) */
#include "experiments/contention/contention.h"

#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "harness/agents.h"
#include "harness/start_line.h"

/* A chunk of operations runs between two clock reads, sized as in
 * falseshare: long enough that the clock is noise, short enough that every
 * thread stops within microseconds of the common end. */
#define CHUNK_TARGET_NS 10000.0
#define FIRST_CHUNK 16u
#define MAX_CHUNK (1u << 20)

struct ct_control {
	struct start_line line;
};

struct ct_session {
	const struct ct_item *item;
	const struct clock_info *clock;
	const struct event_request *events;
	int n;
	uint64_t run_ticks, chunk_ticks, watchdog_ticks;
	struct ct_control *control;
	atomic_int *abort;
	atomic_ulong *heartbeat;
	void *lock;
	struct ct_guarded *guarded;
};

struct ct_thread {
	struct ct_session *s;
	int index;
	struct ct_agent agent;
	struct ct_waiter waiter;
	uint64_t start_tick, end_tick, cpu_ns, wait_max;
	bool timed_out, sigbus;
	int rc;
	uint32_t waits[CT_WAIT_BUCKETS];
	long long event_delta[MAX_EVENTS];
	bool event_failed[MAX_EVENTS];
	char event_reason[MAX_EVENTS][160];
};

/* ---- the wait histogram ---- */

int ct_wait_bucket(uint64_t ticks)
{
	if (ticks < 16)
		return (int)ticks;
	int e = 63 - __builtin_clzll(ticks);  /* 4 .. 63 */
	return 16 + (e - 4) * 8 + (int)((ticks >> (e - 3)) & 7);
}

double ct_wait_bucket_ticks(int bucket)
{
	if (bucket < 16)
		return bucket;
	int e = 4 + (bucket - 16) / 8, m = (bucket - 16) % 8;
	return ldexp(8 + m + 0.5, e - 3);
}

double ct_wait_quantile(const uint64_t *hist, double q)
{
	uint64_t total = 0;
	for (int b = 0; b < CT_WAIT_BUCKETS; b++)
		total += hist[b];
	if (total == 0)
		return NAN;
	/* the smallest bucket holding the ceil(q * total)-th wait */
	uint64_t rank = (uint64_t)ceil(q * (double)total), seen = 0;
	rank = rank < 1 ? 1 : rank;
	for (int b = 0; b < CT_WAIT_BUCKETS; b++) {
		seen += hist[b];
		if (seen >= rank)
			return ct_wait_bucket_ticks(b);
	}
	return NAN;
}

double jain_index(const double *x, int n)
{
	double sum = 0, squares = 0;
	for (int i = 0; i < n; i++) {
		sum += x[i];
		squares += x[i] * x[i];
	}
	return n < 1 || squares <= 0 ? NAN : sum * sum / ((double)n * squares);
}

/* ---- split locks that the kernel answers with SIGBUS ---- */

/* Set by a measuring thread around a split-lock run: the handler jumps back
 * into that thread, which reports the row skipped instead of the process
 * dying. Any other SIGBUS is a real fault and kills as before. */
static __thread sigjmp_buf *sigbus_jump;

static void on_sigbus(int sig)
{
	if (sigbus_jump)
		siglongjmp(*sigbus_jump, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* ---- the threads ---- */

static int start_together(struct ct_thread *me)
{
	struct ct_session *s = me->s;
	return start_line_wait(&s->control->line, s->n, s->clock, s->run_ticks, s->watchdog_ticks,
			       s->abort);
}

/* n acquisitions, each timed from the call to acquire to holding the lock:
 * the wait includes one clock read (tens of ns), the same for every lock. */
static int take_lock(struct ct_thread *me, uint64_t n)
{
	const struct ct_lock *lock = me->s->item->lock;
	const struct clock_info *clock = me->s->clock;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t t0 = clock_ticks(clock);
		int rc = lock->acquire(me->s->lock, &me->waiter);
		if (rc != KERNEL_OK)
			return rc;
		uint64_t waited = clock_ticks(clock) - t0;
		rc = ct_critical_section(me->s->guarded, me->agent.tag);
		lock->release(me->s->lock, &me->waiter);
		if (rc != KERNEL_OK)
			return rc;
		me->waits[ct_wait_bucket(waited)]++;
		me->wait_max = waited > me->wait_max ? waited : me->wait_max;
		me->agent.ops++;
	}
	return KERNEL_OK;
}

static void measure_loop(struct ct_thread *me)
{
	struct ct_session *s = me->s;
	uint64_t end = s->control->line.end_tick, beats = 0;
	uint64_t t0 = clock_ticks(s->clock), now = t0, chunk = FIRST_CHUNK;
	me->start_tick = t0;
	for (;;) {
		if (atomic_load_explicit(s->abort, memory_order_relaxed)) {
			me->timed_out = true;
			me->rc = KERNEL_TIMEOUT;
			break;
		}
		/* every thread does at least one chunk, even one that saw the
		 * start late: it then shows in the fairness, not as zero */
		if (now >= end && now != t0)
			break;
		me->rc = s->item->op ? s->item->op->run(&me->agent, chunk) : take_lock(me, chunk);
		if (me->rc != KERNEL_OK) {
			me->timed_out = me->rc == KERNEL_TIMEOUT;
			break;
		}
		uint64_t t = clock_ticks(s->clock);
		if (t - now < s->chunk_ticks && chunk < MAX_CHUNK)
			chunk *= 2;
		else if (t - now > 4 * s->chunk_ticks && chunk > FIRST_CHUNK)
			chunk /= 2;
		now = t;
		me->end_tick = now;
		if (me->index == 0)
			atomic_store_explicit(s->heartbeat, ++beats, memory_order_relaxed);
	}
}

static int ct_thread_role(void *arg)
{
	struct ct_thread *me = arg;
	struct ct_session *s = me->s;
	struct counter_set counters;
	long long before[MAX_EVENTS] = { 0 }, after[MAX_EVENTS] = { 0 };
	sigjmp_buf jump;
	if (s->events)
		counter_set_open(&counters, s->events, me->event_failed, me->event_reason);
	if (s->item->kind == CT_SPLIT_LOCK) {
		if (sigsetjmp(jump, 1)) {
			/* the kernel refused the split lock: nothing after the
			 * jump point ran, the counters are closed below */
			sigbus_jump = NULL;
			me->sigbus = true;
			goto out;
		}
		sigbus_jump = &jump;
	}
	me->rc = start_together(me);
	if (me->rc != KERNEL_OK) {
		me->timed_out = true;
		goto out;
	}
	if (s->events)
		counter_set_read(&counters, before);
	uint64_t cpu0 = thread_cpu_ns();
	measure_loop(me);
	me->cpu_ns = thread_cpu_ns() - cpu0;
	if (s->events) {
		counter_set_read(&counters, after);
		for (int e = 0; e < s->events->n; e++)
			me->event_delta[e] = after[e] - before[e];
	}
out:
	sigbus_jump = NULL;
	if (s->events)
		counter_set_close(&counters);
	return me->sigbus ? KERNEL_OK : me->rc;
}

/* ---- the run ---- */

static size_t round_up(size_t x, size_t to)
{
	return (x + to - 1) / to * to;
}

static uint64_t read_split(const uint32_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof v);
	return v;
}

/* The final check; reason names what is wrong, in numbers. */
static bool verify(const struct ct_run_request *q, struct ct_thread *const *threads,
		   const struct ct_session *s, _Atomic uint64_t *word, uint32_t *split, char *reason)
{
	const struct ct_item *it = q->item;
	uint64_t total = 0;
	for (int i = 0; i < q->n; i++)
		total += threads[i]->agent.ops;
	if (it->lock) {
		if (ct_lock_check(s->guarded, total) == KERNEL_OK)
			return true;
		set_error(reason, "lock %s lost updates: the counter it guards holds %llu after %llu "
			  "acquisitions by %d threads", it->name,
			  (unsigned long long)s->guarded->counter, (unsigned long long)total, q->n);
		return false;
	}
	if (it->op == NULL) { /* an item is a lock or an op: never neither */
		set_error(reason, "%s is neither a lock nor an operation", it->name);
		return false;
	}
	const struct ct_agent *agents[MAX_AGENTS];
	for (int i = 0; i < q->n; i++)
		agents[i] = &threads[i]->agent;
	if (it->op->own_word) {
		for (int i = 0; i < q->n; i++)
			if (it->op->check(atomic_load(threads[i]->agent.word), &agents[i], 1) != KERNEL_OK) {
				set_error(reason, "%s: the word of the thread on CPU %d holds %llu after "
					  "%llu operations", it->name, q->cpus[i],
					  (unsigned long long)atomic_load(threads[i]->agent.word),
					  (unsigned long long)threads[i]->agent.ops);
				return false;
			}
		return true;
	}
	uint64_t value = it->op->kind == CT_SPLIT_LOCK ? read_split(split) : atomic_load(word);
	if (it->op->check(value, agents, q->n) == KERNEL_OK)
		return true;
	set_error(reason, "%s: the shared word holds %llu (0x%llx) after %llu operations by %d "
		  "threads, which their work cannot explain", it->name, (unsigned long long)value,
		  (unsigned long long)value, (unsigned long long)total, q->n);
	return false;
}

static void results_of(const struct ct_run_request *q, struct ct_thread *const *threads,
		       struct ct_thread_result *out)
{
	for (int i = 0; i < q->n; i++) {
		const struct ct_thread *t = threads[i];
		struct ct_thread_result *o = &out[i];
		o->ops = t->agent.ops;
		o->retries = t->agent.retries;
		o->seconds = ticks_to_ns(q->clock, t->end_tick - t->start_tick) / 1e9;
		o->on_cpu = o->seconds > 0 ? (double)t->cpu_ns / 1e9 / o->seconds : 1;
		o->wait_max_ticks = t->wait_max;
		memcpy(o->waits, t->waits, sizeof o->waits);
		memcpy(o->events, t->event_delta, sizeof o->events);
		memcpy(o->event_failed, t->event_failed, sizeof o->event_failed);
		memcpy(o->event_reason, t->event_reason, sizeof o->event_reason);
	}
}

enum ct_run_status ct_run(const struct ct_run_request *q, struct ct_thread_result *out,
			  char *reason)
{
	const struct ct_item *it = q->item;
	size_t block = 2 * q->line_size;
	size_t lock_bytes = round_up(it->lock ? it->lock->bytes : 1, block);
	size_t thread_bytes = round_up(sizeof(struct ct_thread), block) + block;
	size_t fixed = 4 * block + lock_bytes + 2 * block;
	struct shared_region region;
	struct agent_spec spec[MAX_AGENTS];
	struct ct_thread *threads[MAX_AGENTS];
	int results[MAX_AGENTS];
	char err[ERRLEN];
	enum ct_run_status status = CT_RUN_FAILED;
	struct sigaction old, bus = { .sa_handler = on_sigbus };

	reason[0] = '\0';
	if (q->n < 1 || q->n > MAX_AGENTS || sizeof(struct ct_session) > block ||
	    sizeof(struct ct_control) > block || (it->lock && it->lock->node_bytes > block)) {
		set_error(reason, "cannot run %d threads with %zu-byte lines", q->n, q->line_size);
		return CT_RUN_FAILED;
	}
	if (shared_region_create(&region, fixed + (size_t)q->n * thread_bytes, -1, err) != 0) {
		set_error(reason, "%s", err);
		return CT_RUN_FAILED;
	}
	/* Everything the threads touch is in the region, not on this stack: an
	 * abandoned thread may wake up after we have returned. */
	unsigned char *base = region.base;
	unsigned char *word_block = base + 4 * block + lock_bytes + block;
	struct ct_session *s = (struct ct_session *)base;
	*s = (struct ct_session){
		.item = it,
		.clock = q->clock,
		.events = q->events,
		.n = q->n,
		.run_ticks = ns_to_ticks(q->clock, q->run_ms * 1e6),
		.chunk_ticks = ns_to_ticks(q->clock, CHUNK_TARGET_NS),
		.watchdog_ticks = ns_to_ticks(q->clock, q->watchdog_s * 1e9),
		.control = (struct ct_control *)(base + block),
		.abort = (atomic_int *)(base + 2 * block),
		.heartbeat = (atomic_ulong *)(base + 3 * block),
		.lock = base + 4 * block,
		.guarded = (struct ct_guarded *)(base + 4 * block + lock_bytes),
	};
	_Atomic uint64_t *word = (_Atomic uint64_t *)word_block;
	/* Two bytes before the end of the first line: the 32-bit word has two
	 * bytes in each line. */
	uint32_t *split = (uint32_t *)(word_block + (it->op && it->op->straddles ? q->line_size - 2 : 0));
	if (it->lock && it->lock->init(s->lock) != 0) {
		set_error(reason, "lock %s: cannot be initialized", it->name);
		shared_region_destroy(&region);
		return CT_RUN_FAILED;
	}
	for (int i = 0; i < q->n; i++) {
		unsigned char *rec = base + fixed + (size_t)i * thread_bytes;
		struct ct_thread *t = (struct ct_thread *)rec;
		unsigned char *own = rec + thread_bytes - block;
		*t = (struct ct_thread){ .s = s, .index = i };
		if (it->op)
			ct_agent_init(&t->agent, it->op, it->op->own_word ? (_Atomic uint64_t *)own : word,
				      split, i, q->n);
		else
			t->agent = (struct ct_agent){ .tag = (uint64_t)(i + 1) << CT_TAG_SHIFT,
						      .threads = q->n };
		t->waiter = (struct ct_waiter){ .abort = s->abort, .node = own };
		threads[i] = t;
		spec[i] = (struct agent_spec){ .cpu = q->cpus[i], .role = ct_thread_role, .arg = t };
	}
	if (it->kind == CT_SPLIT_LOCK)
		sigaction(SIGBUS, &bus, &old);
	struct supervision sv = { .heartbeat = s->heartbeat, .abort = s->abort,
				  .stall_limit_s = q->watchdog_s + 0.5, .region = &region };
	enum agents_outcome outcome = agents_run(AGENTS_THREADS, spec, q->n, &sv, results, err);
	if (it->kind == CT_SPLIT_LOCK)
		sigaction(SIGBUS, &old, NULL);
	char why[ERRLEN] = "";
	switch (agents_verdict(outcome, err, why, sizeof why)) {
	case AGENTS_LEFT_RUNNING:
		set_error(reason, "%s", why);
		return CT_RUN_FAILED; /* a thread may still touch the region: keep it */
	case AGENTS_FAILED:
		set_error(reason, "%s", why);
		break;
	case AGENTS_STOPPED:
		set_error(reason, "interrupted");
		status = CT_RUN_INTERRUPTED;
		break;
	case AGENTS_JUDGE:
		for (int i = 0; i < q->n && reason[0] == '\0'; i++) {
			if (threads[i]->sigbus) {
				set_error(reason, "the kernel sent SIGBUS for the split lock on CPU %d "
					  "(split_lock_detect=fatal?)", q->cpus[i]);
				status = CT_RUN_SKIPPED;
			} else if (threads[i]->timed_out || outcome == AGENTS_STALLED)
				set_error(reason, "watchdog: the thread on CPU %d made no progress within "
					  "%.3g s", q->cpus[i], q->watchdog_s);
			else if (results[i] == KERNEL_WRONG_DATA)
				set_error(reason, "%s: the thread on CPU %d found a value that no thread "
					  "wrote%s", it->name, q->cpus[i],
					  it->lock ? " (mutual exclusion broken)" : "");
			else if (results[i] != KERNEL_OK)
				set_error(reason, "the thread on CPU %d failed", q->cpus[i]);
		}
		if (reason[0] != '\0' || !verify(q, threads, s, word, split, reason))
			break;
		results_of(q, threads, out);
		status = CT_RUN_OK;
		break;
	}
	if (it->lock)
		it->lock->destroy(s->lock);
	shared_region_destroy(&region);
	return status;
}
