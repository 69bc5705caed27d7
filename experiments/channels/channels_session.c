/* One point of `cohmap channels`: two fresh processes, A pinned to one CPU
 * and B to another (or the same), attach to a channel and move messages of
 * one size from A to B, A timing samples until the stopping rule
 * (harness/point_sampler.h) is met; ping-pong for latency, a stream for
 * bandwidth. The parent watches both through their heartbeats. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/common.h"
#include "base/stats.h"
#include "base/timing.h"
#include "experiments/channels/channels.h"
#include "harness/point_sampler.h"
#include "harness/procs.h"
#include "kernels/channels.h"

/* Meeting points of A, B and the parent, each alone in two cache lines. */
enum control_line {
	LINE_START,    /* parent -> both: the pids are in, go */
	LINE_COMMAND,  /* A -> B: sample number; data->batch says how long */
	LINE_READY,    /* B -> A: saw the command (so A starts the clock on a B that is listening) */
	LINE_DONE,     /* B -> A: received the whole sample (streaming) */
	LINE_BEAT_A,
	LINE_BEAT_B,
	CONTROL_LINES
};

struct control_data {
	uint64_t batch;            /* messages (streaming) or round trips (ping-pong); 0: finish */
	pid_t pid[2];
	int failure[2];            /* channel_status of a side that gave up */
	char reason[2][ERRLEN];
	long nsamples;
	unsigned long batch_used;
	double samples[];          /* ns per message */
};

struct session {
	const struct channels_plan *plan;
	const struct point *point;
	const struct clock_info *clock;
	unsigned char *lines;
	size_t line_stride;
	struct control_data *data;
	size_t control_bytes;
	long capacity;
	bool yield;
	struct channel_link forward, back; /* back: B -> A, for the ping-pong */
};

static _Atomic uint64_t *control_line(const struct session *s, enum control_line i)
{
	return (_Atomic uint64_t *)(s->lines + (size_t)i * s->line_stride);
}

static uint64_t wait_line(const struct session *s, enum control_line i, uint64_t want)
{
	uint64_t v;
	/* No pause hint when spinning: see wait_a_moment() in kernels/channels.c. */
	while ((v = atomic_load_explicit(control_line(s, i), memory_order_acquire)) < want)
		if (s->yield)
			sched_yield();
	return v;
}

static void post_line(const struct session *s, enum control_line i, uint64_t value)
{
	atomic_store_explicit(control_line(s, i), value, memory_order_release);
}

static int give_up(struct session *s, int side, int status, const char *reason)
{
	s->data->failure[side] = status;
	snprintf(s->data->reason[side], ERRLEN, "%s", reason);
	return 1;
}

/* Fills in the side of a link this process plays, and attaches it. */
static int attach_side(struct session *s, struct channel_link *l, enum channel_side side, int self)
{
	char err[ERRLEN];
	l->side = side;
	l->peer = s->data->pid[1 - self];
	l->heartbeat = control_line(s, self == 0 ? LINE_BEAT_A : LINE_BEAT_B);
	if (l->channel->attach(l, err) != 0)
		return give_up(s, self, CHANNEL_FAILED, err);
	return 0;
}

static int run_on_a(struct session *s, unsigned long n, uint64_t sample)
{
	bool ping_pong = s->point->mode == MODE_LATENCY;
	for (unsigned long i = 0; i < n; i++) {
		int rc = s->forward.channel->send(&s->forward);
		if (rc == CHANNEL_OK && ping_pong)
			rc = s->back.channel->receive(&s->back);
		if (rc != CHANNEL_OK)
			return give_up(s, 0, rc, s->back.reason[0] ? s->back.reason : s->forward.reason);
	}
	if (!ping_pong)
		wait_line(s, LINE_DONE, sample);
	return 0;
}

/* One timed sample; returns 0 and ns per message, or 1 after give_up. */
static int timed_sample(struct session *s, uint64_t sample, unsigned long n, double *ns)
{
	s->data->batch = n;
	post_line(s, LINE_COMMAND, sample);
	wait_line(s, LINE_READY, sample);
	uint64_t t0 = clock_ticks(s->clock);
	if (run_on_a(s, n, sample) != 0)
		return 1;
	uint64_t t1 = clock_ticks(s->clock);
	double per = (ticks_to_ns(s->clock, t1 - t0) - s->clock->overhead_ns) / (double)n;
	*ns = s->point->mode == MODE_LATENCY ? per / 2 : per;
	return 0;
}

static bool enough(const struct session *s, uint64_t started, double sample_s, double *scratch)
{
	const struct channels_plan *p = s->plan;
	const struct sample_rule rule = {
		.capacity = s->capacity,
		.fixed = p->fixed_samples,
		.least = sample_s * MIN_SAMPLES > p->time_limit_s ? FEW_SAMPLES : MIN_SAMPLES,
		.time_limit_s = p->time_limit_s,
		.precision = p->precision,
	};
	return sample_rule_enough(&rule, s->data->samples, s->data->nsamples, started, scratch);
}

/* Process A's work: sizes the batch, samples, then tells B to finish;
 * scratch holds capacity doubles for enough()'s summary. */
static int initiate(struct session *s, double *scratch)
{
	bool ping_pong = s->point->mode == MODE_LATENCY;
	uint64_t sample = 0;
	double ns;
	wait_line(s, LINE_START, 1);
	if (attach_side(s, &s->forward, CHANNEL_SENDER, 0) != 0 ||
	    (ping_pong && attach_side(s, &s->back, CHANNEL_RECEIVER, 0) != 0))
		return 1;
	/* Grow the batch until a sample lasts the target time (the clock's cost
	 * vanishes, one hypervisor interruption spoils one sample); these
	 * batches are the warm-up. A stream starts at two messages
	 * and a window's worth of bytes: otherwise a sample is one message and
	 * the receiver's wake-up, a latency, not a rate, and it never sees the
	 * sender held up by a full ring or pipe. */
	unsigned long n = 1;
	if (!ping_pong) {
		size_t bytes = s->point->bytes, window = s->plan->window_bytes;
		n = (unsigned long)((window + bytes - 1) / bytes);
		if (n < 2)
			n = 2;
	}
	for (;;) {
		if (timed_sample(s, ++sample, n, &ns) != 0)
			return 1;
		if (ns * (ping_pong ? 2 : 1) * (double)n >= s->plan->sample_target_ns || n >= MAX_BATCH)
			break;
		n *= 2;
	}
	/* One more at the final batch size, unless a sample is long: then the
	 * calibration's was a warm-up of a whole message already. */
	double sample_s = ns * (ping_pong ? 2 : 1) * (double)n / 1e9;
	if (sample_s < s->plan->time_limit_s / 10 && timed_sample(s, ++sample, n, &ns) != 0)
		return 1;
	s->data->batch_used = n;
	uint64_t started = monotonic_ns();
	while (!enough(s, started, sample_s, scratch)) {
		if (timed_sample(s, ++sample, n, &ns) != 0)
			return 1;
		s->data->samples[s->data->nsamples++] = ns;
	}
	s->data->batch = 0;
	post_line(s, LINE_COMMAND, ++sample);
	return 0;
}

/* Process A: the sender. */
static int initiator(void *arg)
{
	struct session *s = arg;
	double *scratch = malloc((size_t)s->capacity * sizeof *scratch);
	if (scratch == NULL)
		return give_up(s, 0, CHANNEL_FAILED, "out of memory");
	int rc = initiate(s, scratch);
	free(scratch);
	return rc;
}

/* Process B: the receiver, answering (ping-pong) or acknowledging samples. */
static int responder(void *arg)
{
	struct session *s = arg;
	bool ping_pong = s->point->mode == MODE_LATENCY;
	wait_line(s, LINE_START, 1);
	if (attach_side(s, &s->forward, CHANNEL_RECEIVER, 1) != 0 ||
	    (ping_pong && attach_side(s, &s->back, CHANNEL_SENDER, 1) != 0))
		return 1;
	for (uint64_t seen = 1;; seen++) {
		wait_line(s, LINE_COMMAND, seen);
		uint64_t n = s->data->batch;
		if (n == 0)
			return 0;
		post_line(s, LINE_READY, seen);
		for (uint64_t i = 0; i < n; i++) {
			int rc = s->forward.channel->receive(&s->forward);
			if (rc == CHANNEL_OK && ping_pong)
				rc = s->back.channel->send(&s->back);
			if (rc != CHANNEL_OK)
				return give_up(s, 1, rc, s->forward.reason[0] ? s->forward.reason
									: s->back.reason);
		}
		if (!ping_pong)
			post_line(s, LINE_DONE, seen);
	}
}

static int session_create(struct session *s, const struct channels_plan *p, const struct point *pt,
			  const struct clock_info *clock, char *err)
{
	*s = (struct session){ .plan = p, .point = pt, .clock = clock };
	s->line_stride = 2 * p->line_bytes;
	s->capacity = p->fixed_samples > 0 ? p->fixed_samples : MAX_SAMPLES;
	s->yield = pt->pair.a == pt->pair.b;
	size_t lines = CONTROL_LINES * s->line_stride;
	s->control_bytes = lines + sizeof *s->data + (size_t)s->capacity * sizeof(double);
	void *m = mmap(NULL, s->control_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		set_error(err, "cannot map the control block: %s", strerror(errno));
		return -1;
	}
	s->lines = m;
	s->data = (struct control_data *)(s->lines + lines);
	struct channel_params params = {
		.message_bytes = pt->bytes,
		.window_bytes = p->window_bytes,
		.page_bytes = p->page_bytes,
		.line_bytes = p->line_bytes,
		.yield = s->yield,
	};
	channel_link_init(&s->forward, pt->channel, &params);
	channel_link_init(&s->back, pt->channel, &params);
	if (pt->channel->setup(&s->forward, err) != 0)
		return -1;
	if (pt->mode == MODE_LATENCY && pt->channel->setup(&s->back, err) != 0)
		return -1;
	return 0;
}

static void session_destroy(struct session *s)
{
	if (s->forward.channel)
		s->forward.channel->teardown(&s->forward);
	if (s->back.channel)
		s->back.channel->teardown(&s->back);
	if (s->lines)
		munmap(s->lines, s->control_bytes);
	s->lines = NULL;
}

/* Both processes exist: tell them each other's pid, and go. */
static void started(const struct procs *procs, void *arg)
{
	struct session *s = arg;
	s->data->pid[0] = procs->pid[0];
	s->data->pid[1] = procs->pid[1];
	post_line(s, LINE_START, 1);
}

void channels_run_point(const struct channels_plan *p, const struct point *pt,
			const struct clock_info *clock, struct point_result *out)
{
	struct session s;
	struct procs procs = { .n = 0 };
	char err[ERRLEN];
	*out = (struct point_result){ .status = POINT_FAILED };

	if (session_create(&s, p, pt, clock, err) != 0) {
		snprintf(out->reason, sizeof out->reason, "%s", err);
		goto out;
	}
	out->capacity_bytes = s.forward.capacity_bytes;
	const struct proc_spec spec[2] = {
		{ .cpu = pt->pair.a, .body = initiator, .arg = &s },
		{ .cpu = pt->pair.b, .body = responder, .arg = &s },
	};
	const _Atomic uint64_t *beats[2] = { control_line(&s, LINE_BEAT_A), control_line(&s, LINE_BEAT_B) };
	/* Heartbeats come once per message, and before the first one each
	 * process first-touches its buffers: a few times the message. */
	double stall_s = p->watchdog_s + WORST_SECONDS_PER_GIB * 8 * (double)pt->bytes / (1 << 30);
	switch (point_children_run(&procs, spec, 2, beats, started, &s, stall_s, err)) {
	case PROCS_FINISHED:
		break;
	case PROCS_INTERRUPTED:
		out->status = POINT_INTERRUPTED;
		goto out;
	case PROCS_FAILED: {
		int who = procs.failed;
		if (who >= 0 && s.data->reason[who][0]) {
			snprintf(out->reason, sizeof out->reason, "%s: %s", who == 0 ? "A" : "B",
				 s.data->reason[who]);
			if (s.data->failure[who] == CHANNEL_WRONG_DATA)
				out->status = POINT_WRONG_DATA;
		} else {
			snprintf(out->reason, sizeof out->reason, "%s", err);
		}
		goto out;
	}
	case PROCS_STALLED:
		snprintf(out->reason, sizeof out->reason, "%s", err);
		goto out;
	}
	if (s.data->nsamples < 1) {
		snprintf(out->reason, sizeof out->reason, "no sample was taken");
		goto out;
	}
	out->samples = malloc((size_t)s.data->nsamples * sizeof *out->samples);
	if (out->samples == NULL) {
		snprintf(out->reason, sizeof out->reason, "out of memory");
		goto out;
	}
	memcpy(out->samples, s.data->samples, (size_t)s.data->nsamples * sizeof *out->samples);
	out->nsamples = s.data->nsamples;
	summarize(s.data->samples, s.data->nsamples, &out->ns);
	out->batch = s.data->batch_used;
	out->status = POINT_OK;
out:
	procs_kill(&procs);
	session_destroy(&s);
}
