#include "harness/latency_pair.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/common.h"

/* Samples kept at most when no --samples is given; precise medians need far
 * fewer on any machine we have seen. */
#define MAX_SAMPLES 20000
#define MIN_SAMPLES 20
#define WARMUP_SAMPLES 3
#define MAX_BATCH (1ul << 24)

/* The agents' meeting point, in the shared region after the kernel's lines.
 * A posts a command (a batch size, 0 to finish) and B acknowledges it before
 * A starts the clock, so a batch never times B's wake-up. Command and
 * acknowledgement are on their own lines, away from the kernel's. */
struct control {
	_Atomic uint64_t command_seq;
	uint64_t batch;
	long sample;        /* index of the sample this batch is, -1 for warm-up */
};

/* Samples whose agents were disturbed are dropped from the statistics only
 * when at least this many undisturbed ones remain. */
#define MIN_UNDISTURBED 5

/* One agent's counts over the sampled batches, and which events failed. */
struct agent_counts {
	long long total[MAX_EVENTS];
	bool failed[MAX_EVENTS];
	char reason[MAX_EVENTS][160];
	unsigned char *disturbed;   /* per sample */
};

struct session {
	const struct kernel *kernel;
	const struct measure_options *options;
	const struct clock_info *clock;
	struct control *control;
	_Atomic uint64_t *ack_seq;
	unsigned char *kernel_lines;
	atomic_int abort;
	atomic_ulong heartbeat;
	/* results, written by agent A */
	double *samples;
	double *scratch;    /* for the stopping rule's sort */
	struct agent_counts counts[2]; /* A, B */
	long nsamples;
	unsigned long batch;
	int failure;        /* kernel_status of the agent that failed first */
	int failed_agent;   /* AGENT_A, AGENT_B, or -1 */
	double waited_ns;       /* the failed agent's wait, by the clock */
	double descheduled_ns;  /* ... and how much of it that agent did not run */
};

enum { AGENT_A, AGENT_B };

/* When an agent armed its watchdog, by the clock and by its own CPU time.
 * A wait that times out lasted W ns by the clock, of which the agent ran R:
 * it was descheduled (a busy neighbour, the hypervisor) for W - R. If that
 * is half the limit or more, the timeout says the waiter was not running to
 * see an answer, not that its partner gave none. */
struct watch {
	uint64_t armed_ticks;
	uint64_t armed_cpu_ns;
};

static uint64_t own_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct kernel_ctx agent_ctx(struct session *s)
{
	return (struct kernel_ctx){
		.lines = s->kernel_lines,
		.line_stride = 2 * s->options->line_size,
		.pause = s->options->pause,
		.clock = s->clock,
		.abort = &s->abort,
	};
}

static void arm_watchdog(struct session *s, struct kernel_ctx *ctx, struct watch *w)
{
	w->armed_cpu_ns = own_cpu_ns();
	w->armed_ticks = clock_ticks(s->clock);
	ctx->deadline = w->armed_ticks + ns_to_ticks(s->clock, s->options->watchdog_s * 1e9);
}

static void record_failure(struct session *s, int status, int agent, const struct watch *w)
{
	double waited = ticks_to_ns(s->clock, clock_ticks(s->clock) - w->armed_ticks);
	double ran = (double)(own_cpu_ns() - w->armed_cpu_ns);
	/* Both agents can fail at once (one times out while the other sees the
	 * abort): the first to swap KERNEL_OK out is the one reported. */
	int expected = KERNEL_OK;
	if (__atomic_compare_exchange_n(&s->failure, &expected, status, false, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE)) {
		s->failed_agent = agent;
		s->waited_ns = waited;
		s->descheduled_ns = waited > ran ? waited - ran : 0;
	}
	atomic_store(&s->abort, 1);
}

/* Counting brackets exactly one batch; reads happen outside the timed
 * window, so they cost the sample's wall time, not its measured time. */
struct batch_counting {
	struct counter_set set;
	bool on;
	long long before[MAX_EVENTS];
};

static void counting_start(struct session *s, struct batch_counting *c, struct agent_counts *counts)
{
	c->on = s->options->events != NULL;
	if (c->on)
		counter_set_open(&c->set, s->options->events, counts->failed, counts->reason);
}

static void counting_before(struct batch_counting *c, long sample)
{
	if (c->on && sample >= 0)
		counter_set_read(&c->set, c->before);
}

static void counting_after(struct session *s, struct batch_counting *c, struct agent_counts *counts,
			   long sample)
{
	if (!c->on || sample < 0)
		return;
	long long after[MAX_EVENTS];
	counter_set_read(&c->set, after);
	const struct event_request *req = s->options->events;
	bool disturbed = false;
	for (int e = 0; e < req->n; e++) {
		long long delta = after[e] - c->before[e];
		counts->total[e] += delta;
		if ((e == req->migrations || e == req->context_switches) && !counts->failed[e] && delta > 0)
			disturbed = true;
	}
	counts->disturbed[sample] = disturbed;
}

static void counting_end(struct batch_counting *c)
{
	if (c->on)
		counter_set_close(&c->set);
}

/* Agent B: answers batches until told to finish. */
static int responder_role(void *arg)
{
	struct session *s = arg;
	struct kernel_ctx ctx = agent_ctx(s);
	struct batch_counting counting;
	struct watch watch = { 0 };
	uint64_t seen = 0;
	int rc = KERNEL_OK;
	counting_start(s, &counting, &s->counts[1]);
	for (;;) {
		arm_watchdog(s, &ctx, &watch);
		if (wait_until_equal(&ctx, &s->control->command_seq, seen + 1)) {
			/* A sent no command: it is stuck, or not running */
			rc = KERNEL_TIMEOUT;
			record_failure(s, rc, AGENT_B, &watch);
			break;
		}
		seen++;
		uint64_t batch = s->control->batch;
		long sample = s->control->sample;
		if (batch == 0)
			break;
		counting_before(&counting, sample);
		/* Armed before the acknowledgement: A's clock starts when it sees
		 * it, and reading our CPU time must not be inside A's batch. */
		arm_watchdog(s, &ctx, &watch);
		atomic_store_explicit(s->ack_seq, seen, memory_order_release);
		rc = s->kernel->responder(&ctx, batch);
		counting_after(s, &counting, &s->counts[1], sample);
		if (rc != KERNEL_OK) {
			record_failure(s, rc, AGENT_B, &watch);
			break;
		}
	}
	counting_end(&counting);
	return rc;
}

/* One timed batch, as agent A; returns ns per round trip or a negative status. */
static int timed_batch(struct session *s, struct kernel_ctx *ctx, struct watch *watch,
		       struct batch_counting *counting, uint64_t seq, unsigned long batch, long sample,
		       double *ns_per_round_trip)
{
	s->control->batch = batch;
	s->control->sample = sample;
	atomic_store_explicit(&s->control->command_seq, seq, memory_order_release);
	arm_watchdog(s, ctx, watch);
	if (wait_until_equal(ctx, s->ack_seq, seq))
		return KERNEL_TIMEOUT;
	counting_before(counting, sample);
	uint64_t t0 = clock_ticks(s->clock);
	int rc = s->kernel->initiator(ctx, batch);
	uint64_t t1 = clock_ticks(s->clock);
	counting_after(s, counting, &s->counts[0], sample);
	atomic_fetch_add(&s->heartbeat, 1);
	if (rc != KERNEL_OK)
		return rc;
	*ns_per_round_trip = (ticks_to_ns(s->clock, t1 - t0) - s->clock->overhead_ns) / (double)batch;
	return KERNEL_OK;
}

static bool enough_samples(struct session *s, double *scratch, uint64_t started)
{
	const struct measure_options *o = s->options;
	if (o->fixed_samples > 0)
		return s->nsamples >= o->fixed_samples;
	if (s->nsamples >= MAX_SAMPLES)
		return true;
	if (s->nsamples < MIN_SAMPLES)
		return false;
	if ((double)(monotonic_ns() - started) > o->time_limit_s * 1e9)
		return true;
	/* Re-checking precision every few samples keeps the sort cheap. */
	if (s->nsamples % 8 != 0)
		return false;
	struct summary sum;
	memcpy(scratch, s->samples, (size_t)s->nsamples * sizeof *scratch);
	summarize(scratch, s->nsamples, &sum);
	return median_is_precise(&sum, o->precision);
}

/* Agent A: sizes the batch, warms up, samples, then tells B to finish. */
static int initiator_role(void *arg)
{
	struct session *s = arg;
	struct kernel_ctx ctx = agent_ctx(s);
	struct batch_counting counting;
	struct watch watch = { 0 };
	uint64_t seq = 0;
	double ns, target = s->options->sample_target_ns;
	int rc;
	counting_start(s, &counting, &s->counts[0]);

	/* Grow the batch until one lasts the target time: long enough that the
	 * clock's cost and resolution vanish, short enough that an interruption
	 * by the hypervisor spoils one sample, not the median. These batches
	 * are also the warm-up. */
	unsigned long batch = 1;
	for (;;) {
		if ((rc = timed_batch(s, &ctx, &watch, &counting, ++seq, batch, -1, &ns)) != KERNEL_OK)
			goto finish;
		if (ns * (double)batch >= target || batch >= MAX_BATCH)
			break;
		batch *= 2;
	}
	s->batch = batch;
	for (int i = 0; i < WARMUP_SAMPLES; i++)
		if ((rc = timed_batch(s, &ctx, &watch, &counting, ++seq, batch, -1, &ns)) != KERNEL_OK)
			goto finish;

	uint64_t started = monotonic_ns();
	while (!enough_samples(s, s->scratch, started) && !atomic_load(&s->abort)) {
		rc = timed_batch(s, &ctx, &watch, &counting, ++seq, batch, s->nsamples, &ns);
		if (rc != KERNEL_OK)
			goto finish;
		s->samples[s->nsamples++] = ns / 2; /* one way */
	}
finish:
	if (rc != KERNEL_OK)
		record_failure(s, rc, AGENT_A, &watch);
	counting_end(&counting);
	if (rc != KERNEL_OK)
		return rc;
	s->control->batch = 0;
	atomic_store_explicit(&s->control->command_seq, ++seq, memory_order_release);
	return KERNEL_OK;
}

static void describe_failure(const struct session *s, int cpu_a, int cpu_b, char *reason,
			     size_t size)
{
	bool by_b = s->failed_agent == AGENT_B;
	int self = by_b ? cpu_b : cpu_a, other = by_b ? cpu_a : cpu_b;
	double limit_s = s->options->watchdog_s;
	if (s->failed_agent < 0)
		snprintf(reason, size, "watchdog: the agents on CPUs %d and %d stopped making progress",
			 cpu_a, cpu_b);
	else if (s->failure == KERNEL_WRONG_DATA)
		snprintf(reason, size, "%s found wrong data in the shared line on CPU %d",
			 s->kernel->name, self);
	else if (s->descheduled_ns >= limit_s * 1e9 / 2)
		snprintf(reason, size, "watchdog: the agent on CPU %d was descheduled for %.0f ms of its "
			 "%.0f ms wait for CPU %d (limit %.3g s)", self, s->descheduled_ns / 1e6,
			 s->waited_ns / 1e6, other, limit_s);
	else
		snprintf(reason, size, "watchdog: no answer from CPU %d to CPU %d within %.3g s",
			 other, self, limit_s);
}

/* Drops disturbed samples (when enough remain), summarises, and turns the
 * agents' counts into counts per handoff. */
static void conclude(const struct session *s, struct pair_measurement *out,
		     char event_reasons[MAX_EVENTS][160])
{
	long kept = 0;
	for (long i = 0; i < s->nsamples; i++)
		if (!s->counts[0].disturbed[i] && !s->counts[1].disturbed[i])
			s->scratch[kept++] = s->samples[i];
	out->disturbed_samples = s->nsamples - kept;
	out->disturbed_kept = kept < MIN_UNDISTURBED && out->disturbed_samples > 0;
	if (out->disturbed_kept)
		summarize(s->samples, s->nsamples, &out->one_way_ns);
	else
		summarize(s->scratch, kept, &out->one_way_ns);

	const struct event_request *req = s->options->events;
	int handoffs = s->kernel->cost.handoffs > 0 ? s->kernel->cost.handoffs : 1;
	double per = (double)s->nsamples * (double)s->batch * handoffs;
	for (int e = 0; e < MAX_EVENTS; e++) {
		out->per_handoff[e] = NAN;
		if (!req || e >= req->n)
			continue;
		for (int agent = 0; agent < 2; agent++)
			if (s->counts[agent].failed[e] && event_reasons && !event_reasons[e][0])
				snprintf(event_reasons[e], 160, "%s", s->counts[agent].reason[e]);
		if (!s->counts[0].failed[e] && !s->counts[1].failed[e])
			out->per_handoff[e] = (double)(s->counts[0].total[e] + s->counts[1].total[e]) / per;
	}
}

void measure_pair(const struct kernel *k, int cpu_a, int cpu_b, int home_node,
		  const struct measure_options *o, const struct clock_info *clock,
		  struct pair_measurement *out, char event_reasons[MAX_EVENTS][160])
{
	measure_pair_at(k, cpu_a, cpu_b, home_node, 0, o, clock, out, event_reasons);
}

void measure_pair_at(const struct kernel *k, int cpu_a, int cpu_b, int home_node,
		     size_t line_offset, const struct measure_options *o,
		     const struct clock_info *clock, struct pair_measurement *out,
		     char event_reasons[MAX_EVENTS][160])
{
	*out = (struct pair_measurement){ .status = PAIR_FAILED, .home_node = -1 };
	for (int e = 0; e < MAX_EVENTS; e++)
		out->per_handoff[e] = NAN;
	size_t stride = 2 * o->line_size;
	size_t kernel_bytes = (size_t)k->shared_lines * stride;
	long capacity = o->fixed_samples > 0 ? o->fixed_samples : MAX_SAMPLES;
	size_t session_bytes = (sizeof(struct session) + stride - 1) / stride * stride;
	size_t size = line_offset + kernel_bytes + 2 * stride + session_bytes +
		      2 * (size_t)capacity * sizeof(double) + 2 * (size_t)capacity;
	struct shared_region region;
	char err[ERRLEN];

	if (shared_region_create_for(&region, size, home_node, o->agents, err) != 0) {
		snprintf(out->reason, sizeof out->reason, "%s", err);
		return;
	}
	/* Everything the agents touch lives in the region, not on this stack: an
	 * abandoned agent may wake up after we have returned. */
	unsigned char *base = (unsigned char *)region.base + line_offset;
	struct session *s = (struct session *)(base + kernel_bytes + 2 * stride);
	*s = (struct session){
		.kernel = k,
		.options = o,
		.clock = clock,
		.kernel_lines = base,
		.control = (struct control *)(base + kernel_bytes),
		.ack_seq = (_Atomic uint64_t *)(base + kernel_bytes + stride),
		.samples = (double *)(base + kernel_bytes + 2 * stride + session_bytes),
		.failed_agent = -1,
	};
	s->scratch = s->samples + capacity;
	s->counts[0].disturbed = (unsigned char *)(s->scratch + capacity);
	s->counts[1].disturbed = s->counts[0].disturbed + capacity;
	struct agent_spec spec[2] = {
		{ .cpu = cpu_a, .role = initiator_role, .arg = s },
		{ .cpu = cpu_b, .role = responder_role, .arg = s },
	};
	struct supervision sv = { .heartbeat = &s->heartbeat, .abort = &s->abort,
				  .stall_limit_s = o->watchdog_s + 0.5, .region = &region };
	int results[2];
	enum agents_outcome outcome = agents_run(o->agents, spec, 2, &sv, results, err);

	out->home_node = region.actual_node;
	out->same_page = region.same_page;
	snprintf(out->pagemap_note, sizeof out->pagemap_note, "%s", region.pagemap_note);
	out->round_trips_per_sample = s->batch;
	switch (agents_verdict(outcome, err, out->reason, sizeof out->reason)) {
	case AGENTS_LEFT_RUNNING:
		/* A thread may still touch the session and region: keep them. */
		return;
	case AGENTS_FAILED:
		break;
	case AGENTS_STOPPED:
		out->status = PAIR_INTERRUPTED;
		break;
	case AGENTS_JUDGE:
		if (s->failure != KERNEL_OK || outcome == AGENTS_STALLED ||
		    results[0] != KERNEL_OK || results[1] != KERNEL_OK) {
			describe_failure(s, cpu_a, cpu_b, out->reason, sizeof out->reason);
			break;
		}
		if (s->nsamples == 0) {
			snprintf(out->reason, sizeof out->reason, "no samples were taken");
			break;
		}
		conclude(s, out, event_reasons);
		out->status = PAIR_OK;
		break;
	}
	shared_region_destroy(&region);
}

struct measure_options measure_options_from(const struct options *o, enum agent_kind agents,
					    size_t line_size)
{
	return (struct measure_options){
		.agents = agents,
		.pause = o->pause,
		.fixed_samples = o->samples,
		.precision = o->precision_pct / 100,
		.time_limit_s = o->time_limit_s,
		.sample_target_ns = o->sample_us * 1000,
		.watchdog_s = o->watchdog_s,
		.line_size = line_size,
	};
}
