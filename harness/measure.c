#include "harness/measure.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/common.h"

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
	long nsamples;
	unsigned long batch;
	int failure;        /* kernel_status of the agent that failed first */
	const char *failed_agent;
};

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

static void arm_watchdog(struct session *s, struct kernel_ctx *ctx)
{
	ctx->deadline = clock_ticks(s->clock) + ns_to_ticks(s->clock, s->options->watchdog_s * 1e9);
}

static void record_failure(struct session *s, int status, const char *agent)
{
	if (s->failure == KERNEL_OK) {
		s->failure = status;
		s->failed_agent = agent;
	}
	atomic_store(&s->abort, 1);
}

/* Agent B: answers batches until told to finish. */
static int responder_role(void *arg)
{
	struct session *s = arg;
	struct kernel_ctx ctx = agent_ctx(s);
	uint64_t seen = 0;
	for (;;) {
		arm_watchdog(s, &ctx);
		if (wait_until_equal(&ctx, &s->control->command_seq, seen + 1))
			return KERNEL_TIMEOUT;
		seen++;
		uint64_t batch = s->control->batch;
		if (batch == 0)
			return KERNEL_OK;
		atomic_store_explicit(s->ack_seq, seen, memory_order_release);
		arm_watchdog(s, &ctx);
		int rc = s->kernel->responder(&ctx, batch);
		if (rc != KERNEL_OK) {
			record_failure(s, rc, "B");
			return rc;
		}
	}
}

/* One timed batch, as agent A; returns ns per round trip or a negative status. */
static int timed_batch(struct session *s, struct kernel_ctx *ctx, uint64_t seq,
		       unsigned long batch, double *ns_per_round_trip)
{
	s->control->batch = batch;
	atomic_store_explicit(&s->control->command_seq, seq, memory_order_release);
	arm_watchdog(s, ctx);
	if (wait_until_equal(ctx, s->ack_seq, seq))
		return KERNEL_TIMEOUT;
	uint64_t t0 = clock_ticks(s->clock);
	int rc = s->kernel->initiator(ctx, batch);
	uint64_t t1 = clock_ticks(s->clock);
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
	uint64_t seq = 0;
	double ns, target = s->options->sample_target_ns;
	int rc;

	/* Grow the batch until one lasts the target time: long enough that the
	 * clock's cost and resolution vanish, short enough that an interruption
	 * by the hypervisor spoils one sample, not the median. These batches
	 * are also the warm-up. */
	unsigned long batch = 1;
	for (;;) {
		if ((rc = timed_batch(s, &ctx, ++seq, batch, &ns)) != KERNEL_OK)
			goto finish;
		if (ns * (double)batch >= target || batch >= MAX_BATCH)
			break;
		batch *= 2;
	}
	s->batch = batch;
	for (int i = 0; i < WARMUP_SAMPLES; i++)
		if ((rc = timed_batch(s, &ctx, ++seq, batch, &ns)) != KERNEL_OK)
			goto finish;

	uint64_t started = monotonic_ns();
	while (!enough_samples(s, s->scratch, started) && !atomic_load(&s->abort)) {
		if ((rc = timed_batch(s, &ctx, ++seq, batch, &ns)) != KERNEL_OK)
			goto finish;
		s->samples[s->nsamples++] = ns / 2; /* one way */
	}
finish:
	if (rc != KERNEL_OK) {
		record_failure(s, rc, "A");
		return rc;
	}
	s->control->batch = 0;
	atomic_store_explicit(&s->control->command_seq, ++seq, memory_order_release);
	return KERNEL_OK;
}

static void describe_failure(const struct session *s, int cpu_a, int cpu_b, char *reason,
			     size_t size)
{
	bool by_b = s->failed_agent && s->failed_agent[0] == 'B';
	int self = by_b ? cpu_b : cpu_a, other = by_b ? cpu_a : cpu_b;
	if (s->failure == KERNEL_WRONG_DATA)
		snprintf(reason, size, "%s found wrong data in the shared line on CPU %d",
			 s->kernel->name, self);
	else
		snprintf(reason, size, "watchdog: no answer from CPU %d to CPU %d within %.3g s",
			 other, self, s->options->watchdog_s);
}

void measure_pair(const struct kernel *k, int cpu_a, int cpu_b, int home_node,
		  const struct measure_options *o, const struct clock_info *clock,
		  struct pair_measurement *out)
{
	*out = (struct pair_measurement){ .status = PAIR_FAILED, .home_node = -1 };
	size_t stride = 2 * o->line_size;
	size_t kernel_bytes = (size_t)k->shared_lines * stride;
	long capacity = o->fixed_samples > 0 ? o->fixed_samples : MAX_SAMPLES;
	size_t session_bytes = (sizeof(struct session) + stride - 1) / stride * stride;
	size_t size = kernel_bytes + 2 * stride + session_bytes + 2 * (size_t)capacity * sizeof(double);
	struct shared_region region;
	char err[ERRLEN];

	if (shared_region_create(&region, size, home_node, err) != 0) {
		snprintf(out->reason, sizeof out->reason, "%s", err);
		return;
	}
	/* Everything the agents touch lives in the region, not on this stack: an
	 * abandoned agent may wake up after we have returned. */
	unsigned char *base = region.base;
	struct session *s = (struct session *)(base + kernel_bytes + 2 * stride);
	*s = (struct session){
		.kernel = k,
		.options = o,
		.clock = clock,
		.kernel_lines = base,
		.control = (struct control *)(base + kernel_bytes),
		.ack_seq = (_Atomic uint64_t *)(base + kernel_bytes + stride),
		.samples = (double *)(base + kernel_bytes + 2 * stride + session_bytes),
	};
	s->scratch = s->samples + capacity;
	struct agent_spec spec[2] = {
		{ .cpu = cpu_a, .role = initiator_role, .arg = s },
		{ .cpu = cpu_b, .role = responder_role, .arg = s },
	};
	struct supervision sv = { .heartbeat = &s->heartbeat, .abort = &s->abort,
				  .stall_limit_s = o->watchdog_s + 0.5 };
	int results[2];
	enum agents_outcome outcome = agents_run(o->agents, spec, 2, &sv, results, err);

	out->home_node = region.actual_node;
	out->round_trips_per_sample = s->batch;
	switch (outcome) {
	case AGENTS_ABANDONED:
		/* A thread may still touch the session and region: keep them. */
		snprintf(out->reason, sizeof out->reason, "%s", err);
		return;
	case AGENTS_NOT_STARTED:
		snprintf(out->reason, sizeof out->reason, "%s", err);
		break;
	case AGENTS_INTERRUPTED:
		out->status = PAIR_INTERRUPTED;
		snprintf(out->reason, sizeof out->reason, "interrupted");
		break;
	case AGENTS_STALLED:
	case AGENTS_FINISHED:
		if (s->failure != KERNEL_OK || outcome == AGENTS_STALLED ||
		    results[0] != KERNEL_OK || results[1] != KERNEL_OK) {
			describe_failure(s, cpu_a, cpu_b, out->reason, sizeof out->reason);
			break;
		}
		if (s->nsamples == 0) {
			snprintf(out->reason, sizeof out->reason, "no samples were taken");
			break;
		}
		summarize(s->samples, s->nsamples, &out->one_way_ns);
		out->status = PAIR_OK;
		break;
	}
	shared_region_destroy(&region);
}
