/* The stream ring, the engine of `cohmap bandwidth` and of ipc's copy: a
 * producer agent writes chunks into a shared ring, the consumer agent reads
 * or copies them out, every chunk's sequence number and checksum checked;
 * samples are timed passes over the ring until the median is precise.
 *
 * One file: the two agents, the ring's memory and the sampling loop share
 * one session struct and its protocol. */
#include "harness/stream_ring.h"

#include <math.h>
#include <numa.h>
#include <numaif.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/common.h"

/* Samples kept at most when no --samples is given. A bandwidth sample is a
 * window of the stream long enough to hide the clock (--sample-us), so even
 * the largest buffers give a median from a handful of them. */
#define MAX_SAMPLES 20000
#define MIN_SAMPLES 5
#define MAX_PASSES_PER_SAMPLE (1ul << 24)
/* A window shorter than this gets one more warm-up window after the ones
 * that sized it: caches, TLB and branch predictors settle within a few
 * milliseconds; a longer window is its own warm-up. */
#define SHORT_WINDOW_NS 10e6
/* A same-core pass runs in pieces of this size, each followed by a
 * heartbeat, so the supervisor never takes a long pass over a big buffer for
 * a hung agent (a pipeline consumer beats once per chunk). */
#define HEARTBEAT_PIECE_BYTES ((size_t)64 << 20)
/* move_pages is asked about at most this many of the ring's pages, spread
 * evenly: enough to see a partial misplacement, cheap for any buffer. */
#define MAX_PAGES_CHECKED 4096

/* The start of the shared region: control lines, each on its own pair of
 * cache lines, then the session and the samples; the ring follows at the
 * next page boundary. */
enum control_slot {
	SLOT_PRODUCED,    /* chunks published by the producer */
	SLOT_CONSUMED,    /* chunks the consumer is done with */
	SLOT_CONTROL,     /* [0] consumer ready, [1] stop: written once each by the consumer */
	SLOT_SUPERVISION, /* heartbeat and abort, for agents_run's supervisor */
	CONTROL_SLOTS
};

/* Everything the agents share lives in the region (control lines, this
 * session, the samples, the ring), never on a stack: an abandoned agent may
 * still touch it after ring_measure returned, and agents that are processes
 * see only shared memory. Addresses in the region are derived from the
 * session's own address; only the private buffer is a pointer. */
struct ring_session {
	struct ring_job job;
	struct measure_options options;
	struct clock_info clock;
	struct ring_test_hook hook;
	size_t nslots, chunk_elems, stride;
	size_t ring_offset;       /* from the start of the region */
	size_t session_bytes;     /* this struct, rounded up to whole strides */
	long capacity;            /* of the samples array */
	uint64_t *priv;           /* the consumer's private buffer (copy kernels) */
	uint64_t epoch;           /* added to sequence numbers in the tags */
	/* results, written by the consumer (or the same-core agent) */
	long nsamples;
	unsigned long passes;
	uint64_t chunks;
	uint64_t elements_checked; /* compared with the pattern, timed or after (checked_pct) */
	int failure;              /* kernel_status of the first failure */
	bool wrong_data;
	char detail[ERRLEN];
};

static unsigned char *region_start(struct ring_session *s)
{
	return (unsigned char *)s - CONTROL_SLOTS * s->stride;
}

static uint64_t *ring_base(struct ring_session *s)
{
	return (uint64_t *)(region_start(s) + s->ring_offset);
}

static _Atomic uint64_t *control(struct ring_session *s, enum control_slot slot, int word)
{
	return (_Atomic uint64_t *)(region_start(s) + slot * s->stride) + word;
}

static atomic_ulong *heartbeat(struct ring_session *s)
{
	return (atomic_ulong *)control(s, SLOT_SUPERVISION, 0);
}

static atomic_int *abort_flag(struct ring_session *s)
{
	return (atomic_int *)control(s, SLOT_SUPERVISION, 1);
}

static double *samples(struct ring_session *s)
{
	return (double *)((unsigned char *)s + s->session_bytes);
}

/* The tag of chunk seq in this job. The epoch differs from job to job, so a
 * chunk a previous job left in a reused ring never passes for a new one. */
static uint64_t chunk_tag(const struct ring_session *s, uint64_t seq)
{
	return stream_tag((seq + s->epoch) & 0xffffffffu);
}

/* The sequence number a chunk's first element claims. */
static uint64_t seq_of(const struct ring_session *s, uint64_t first)
{
	return ((first >> 32) - s->epoch) & 0xffffffffu;
}

static uint64_t *slot_of(struct ring_session *s, uint64_t seq)
{
	return ring_base(s) + ((seq - 1) % s->nslots) * s->chunk_elems;
}

size_t ring_min_chunk(size_t line_size)
{
	return 2 * line_size;
}

size_t ring_chunk_for(size_t buffer_bytes, size_t wanted, size_t line_size)
{
	size_t unit = ring_min_chunk(line_size);
	size_t chunk = wanted < buffer_bytes / 2 ? wanted : buffer_bytes / 2;
	return chunk / unit * unit;
}

static size_t session_bytes(size_t stride)
{
	return (sizeof(struct ring_session) + stride - 1) / stride * stride;
}

static long sample_capacity(const struct measure_options *o)
{
	return o->fixed_samples > 0 ? o->fixed_samples : MAX_SAMPLES;
}

/* Where the ring starts in the region: after the control lines, session and
 * samples, at a page boundary so the placement check sees only ring pages. */
static size_t ring_offset(const struct measure_options *o)
{
	size_t stride = 2 * o->line_size, page = (size_t)sysconf(_SC_PAGESIZE);
	size_t header = CONTROL_SLOTS * stride + session_bytes(stride) +
			2 * (size_t)sample_capacity(o) * sizeof(double);
	return (header + page - 1) / page * page;
}

size_t ring_memory_needed(const struct ring_job *job, const struct measure_options *o)
{
	return ring_offset(o) + job->buffer_bytes +
	       (job->consumer->op == STREAM_COPY ? job->buffer_bytes : 0);
}

void ring_pool_release(struct ring_pool *pool)
{
	shared_region_destroy(&pool->ring);
	shared_region_destroy(&pool->priv);
}

/* Makes region hold at least size bytes on node, for agents of this kind,
 * reusing what it has. Both regions come from shared_region_create_for: with
 * process agents a private anonymous mapping would be copy-on-write in the
 * child, and the first write to each page would fault inside a timed window. */
static int pool_region(struct shared_region *region, int *region_node, size_t size, int node,
		       enum agent_kind kind, char *err)
{
	if (region->base && region->size >= size && *region_node == node && region->kind == kind)
		return 0;
	shared_region_destroy(region);
	*region_node = node;
	return shared_region_create_for(region, size, node, kind, err);
}

static struct kernel_ctx wait_ctx(struct ring_session *s)
{
	return (struct kernel_ctx){
		.pause = s->options.pause,
		.clock = &s->clock,
		.deadline = UINT64_MAX,
		.abort = abort_flag(s),
	};
}

static void arm_watchdog(struct ring_session *s, struct kernel_ctx *ctx)
{
	ctx->deadline = clock_ticks(&s->clock) + ns_to_ticks(&s->clock, s->options.watchdog_s * 1e9);
}

/* The first failure is the one reported; raising abort stops the other agent. */
static int fail(struct ring_session *s, int status, bool wrong_data, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(struct ring_session *s, int status, bool wrong_data, const char *fmt, ...)
{
	if (s->failure == KERNEL_OK) {
		s->failure = status;
		s->wrong_data = wrong_data;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(s->detail, sizeof s->detail, fmt, ap);
		va_end(ap);
	}
	atomic_store(abort_flag(s), 1);
	return status;
}

/* Waits until *word >= want; false on the watchdog or abort. */
static bool wait_at_least(struct kernel_ctx *ctx, _Atomic uint64_t *word, uint64_t want,
			  uint64_t *seen)
{
	unsigned spins = 0;
	while ((*seen = atomic_load_explicit(word, memory_order_acquire)) < want)
		if (spin_gives_up(ctx, &spins))
			return false;
	return true;
}

static void apply_test_hook(const struct ring_session *s, uint64_t *chunk, uint64_t seq)
{
	size_t n = s->chunk_elems;
	if (s->hook.corrupt_payload_from && seq >= s->hook.corrupt_payload_from)
		chunk[n / 2] ^= 1;
	if (s->hook.misnumber_chunk && seq == s->hook.misnumber_chunk)
		chunk[0] = chunk_tag(s, seq + 1);
}

/* ---- the pipeline: producer on A, consumer on B ---- */

static int producer_role(void *arg)
{
	struct ring_session *s = arg;
	struct kernel_ctx ctx = wait_ctx(s);
	_Atomic uint64_t *produced = control(s, SLOT_PRODUCED, 0);
	_Atomic uint64_t *consumed = control(s, SLOT_CONSUMED, 0);
	_Atomic uint64_t *ready = control(s, SLOT_CONTROL, 0), *stop = control(s, SLOT_CONTROL, 1);
	uint64_t seen, writable = s->nslots; /* highest sequence number the ring has room for */

	arm_watchdog(s, &ctx);
	if (!wait_at_least(&ctx, ready, 1, &seen)) {
		if (atomic_load(abort_flag(s)))
			return KERNEL_TIMEOUT;
		return fail(s, KERNEL_TIMEOUT, false, "watchdog: the consumer on CPU %d did not start within %.3g s",
			    s->job.cpu_b, s->options.watchdog_s);
	}
	for (uint64_t seq = 1;; seq++) {
		if (atomic_load_explicit(stop, memory_order_relaxed))
			return KERNEL_OK;
		if (seq > writable) {
			/* The consumer is a whole ring behind: its slot is not free yet. */
			writable = atomic_load_explicit(consumed, memory_order_acquire) + s->nslots;
			unsigned spins = 0;
			if (seq > writable)
				arm_watchdog(s, &ctx);
			while (seq > writable) {
				if (atomic_load_explicit(stop, memory_order_relaxed))
					return KERNEL_OK;
				if (spin_gives_up(&ctx, &spins)) {
					if (atomic_load(abort_flag(s)))
						return KERNEL_TIMEOUT; /* told to stop: not our failure */
					return fail(s, KERNEL_TIMEOUT, false,
						    "watchdog: CPU %d (consumer) freed no slot for CPU %d within %.3g s",
						    s->job.cpu_b, s->job.cpu_a, s->options.watchdog_s);
				}
				writable = atomic_load_explicit(consumed, memory_order_acquire) + s->nslots;
			}
		}
		uint64_t *chunk = slot_of(s, seq);
		s->job.producer->write(chunk, s->chunk_elems, chunk_tag(s, seq));
		apply_test_hook(s, chunk, seq);
		/* Release: the chunk's stores are visible before the count that
		 * publishes it (write_nt fences its streaming stores itself). */
		atomic_store_explicit(produced, seq, memory_order_release);
	}
}

struct consumer_state {
	struct kernel_ctx ctx;
	uint64_t seq;       /* last chunk consumed */
	uint64_t published; /* last value of `produced` seen */
	uint64_t *priv;     /* private copy, for copy kernels */
};

/* what is "the sequence number" (shown in decimal) or a data word (hex). */
static int wrong_chunk(struct ring_session *s, uint64_t seq, const char *what, uint64_t got,
		       uint64_t want)
{
	bool number = strstr(what, "sequence") != NULL;
	return fail(s, KERNEL_WRONG_DATA, true,
		    number ? "wrong data: chunk %llu (ring slot %llu) from CPU %d: %s is %llu, expected %llu"
			   : "wrong data: chunk %llu (ring slot %llu) from CPU %d: %s is %#llx, expected %#llx",
		    (unsigned long long)seq, (unsigned long long)((seq - 1) % s->nslots), s->job.cpu_a,
		    what, (unsigned long long)got, (unsigned long long)want);
}

/* Consumes the next n chunks. */
static int consume(struct ring_session *s, struct consumer_state *c, uint64_t n)
{
	_Atomic uint64_t *produced = control(s, SLOT_PRODUCED, 0);
	_Atomic uint64_t *consumed = control(s, SLOT_CONSUMED, 0);
	const struct stream_kernel *k = s->job.consumer;
	size_t elems = s->chunk_elems;
	for (uint64_t end = c->seq + n; c->seq < end;) {
		uint64_t seq = c->seq + 1;
		if (seq > c->published) {
			c->published = atomic_load_explicit(produced, memory_order_acquire);
			if (seq > c->published) {
				arm_watchdog(s, &c->ctx);
				if (!wait_at_least(&c->ctx, produced, seq, &c->published)) {
					if (atomic_load(abort_flag(s)))
						return KERNEL_TIMEOUT; /* told to stop: not our failure */
					return fail(s, KERNEL_TIMEOUT, false,
						    "watchdog: CPU %d (producer) published no chunk for CPU %d within %.3g s",
						    s->job.cpu_a, s->job.cpu_b, s->options.watchdog_s);
				}
			}
		}
		const uint64_t *chunk = slot_of(s, seq);
		uint64_t tag = chunk_tag(s, seq);
		if (k->op == STREAM_READ) {
			uint64_t sum = k->read(chunk, elems);
			if (chunk[0] != tag)
				return wrong_chunk(s, seq, "the sequence number", seq_of(s, chunk[0]), seq);
			if (sum != stream_expected_sum(tag, elems))
				return wrong_chunk(s, seq, "the checksum", sum, stream_expected_sum(tag, elems));
			s->elements_checked += elems; /* the sum covers every element */
		} else {
			/* The first and last element name the chunk: a stale,
			 * misnumbered or half-published chunk fails here; the
			 * copy itself is checked in full at the end of the run. */
			if (chunk[0] != tag)
				return wrong_chunk(s, seq, "the sequence number", seq_of(s, chunk[0]), seq);
			if (chunk[elems - 1] != tag + elems - 1)
				return wrong_chunk(s, seq, "the last element", chunk[elems - 1],
						   tag + elems - 1);
			k->copy(c->priv + ((seq - 1) % s->nslots) * elems, chunk, elems);
			s->elements_checked += 2;
		}
		atomic_store_explicit(consumed, seq, memory_order_release);
		c->seq = seq;
		atomic_fetch_add_explicit(heartbeat(s), 1, memory_order_relaxed);
	}
	return KERNEL_OK;
}

static bool enough_samples(struct ring_session *s, uint64_t started_ns)
{
	const struct measure_options *o = &s->options;
	long n = s->nsamples;
	if (o->fixed_samples > 0)
		return n >= o->fixed_samples;
	if (n >= s->capacity)
		return true;
	if (n < MIN_SAMPLES)
		return false;
	if ((double)(monotonic_ns() - started_ns) > o->time_limit_s * 1e9)
		return true;
	/* The precision check sorts a copy of the samples; doing it at
	 * geometrically spaced counts keeps its cost a small share of the run. */
	if (n % 8 != 0 || (n > 64 && n % (n / 8 / 8 * 8) != 0))
		return false;
	double *scratch = samples(s) + s->capacity;
	struct summary sum;
	memcpy(scratch, samples(s), (size_t)n * sizeof *scratch);
	summarize(scratch, n, &sum);
	return median_is_precise(&sum, o->precision);
}

/* Sizes the window, warms up, then samples the continuous stream: each
 * sample is the time between two window ends, so no gap between windows
 * escapes the clock and the total of the samples is the total time. */
typedef int (*window_fn)(struct ring_session *s, void *state, unsigned long passes);

static int sample_windows(struct ring_session *s, void *state, window_fn window)
{
	double target = s->options.sample_target_ns;
	double bytes_per_pass = (double)s->job.buffer_bytes;
	unsigned long passes = 1;
	uint64_t t0, t1;
	int rc;

	for (;;) {
		t0 = clock_ticks(&s->clock);
		if ((rc = window(s, state, passes)) != KERNEL_OK)
			return rc;
		t1 = clock_ticks(&s->clock);
		if (ticks_to_ns(&s->clock, t1 - t0) >= target || passes >= MAX_PASSES_PER_SAMPLE)
			break;
		passes *= 2;
	}
	s->passes = passes;
	if (ticks_to_ns(&s->clock, t1 - t0) < SHORT_WINDOW_NS &&
	    (rc = window(s, state, passes)) != KERNEL_OK)
		return rc;

	uint64_t started = monotonic_ns(), previous = clock_ticks(&s->clock);
	while (!enough_samples(s, started)) {
		if (atomic_load_explicit(abort_flag(s), memory_order_relaxed))
			return KERNEL_TIMEOUT;
		if ((rc = window(s, state, passes)) != KERNEL_OK)
			return rc;
		uint64_t now = clock_ticks(&s->clock);
		samples(s)[s->nsamples++] = bytes_per_pass * passes / ticks_to_ns(&s->clock, now - previous);
		previous = now;
	}
	return KERNEL_OK;
}

static int pipeline_window(struct ring_session *s, void *state, unsigned long passes)
{
	return consume(s, state, (uint64_t)passes * s->nslots);
}

/* After the run the private buffer holds, in each slot, the last chunk that
 * went through that slot: every element is checked against the pattern. */
static int verify_copy(struct ring_session *s, const uint64_t *priv, uint64_t last_seq)
{
	for (size_t slot = 0; slot < s->nslots && slot < last_seq; slot++) {
		/* The largest seq <= last_seq with (seq - 1) % nslots == slot. */
		uint64_t seq = last_seq - ((last_seq - 1 - slot) % s->nslots);
		const uint64_t *chunk = priv + slot * s->chunk_elems;
		size_t bad = stream_find_mismatch(chunk, s->chunk_elems, chunk_tag(s, seq));
		if (bad < s->chunk_elems)
			return fail(s, KERNEL_WRONG_DATA, true,
				    "wrong data: the private copy of chunk %llu (ring slot %zu) from CPU %d "
				    "differs at element %zu: %#llx, expected %#llx",
				    (unsigned long long)seq, slot, s->job.cpu_a, bad,
				    (unsigned long long)chunk[bad],
				    (unsigned long long)(chunk_tag(s, seq) + bad));
		/* Its first and last element were counted when it was consumed. */
		s->elements_checked += s->chunk_elems - 2;
		atomic_fetch_add_explicit(heartbeat(s), 1, memory_order_relaxed);
	}
	return KERNEL_OK;
}

static int consumer_role(void *arg)
{
	struct ring_session *s = arg;
	struct consumer_state c = { .ctx = wait_ctx(s), .priv = s->priv };

	atomic_store_explicit(control(s, SLOT_CONTROL, 0), 1, memory_order_release);
	int rc = sample_windows(s, &c, pipeline_window);
	s->chunks = c.seq;
	atomic_store(control(s, SLOT_CONTROL, 1), 1); /* stop the producer */
	if (rc == KERNEL_OK && c.priv)
		rc = verify_copy(s, c.priv, c.seq);
	return rc;
}

/* ---- the same-core baseline: A == B, the consumer kernel alone ---- */

struct same_core_state {
	uint64_t *priv;
	uint64_t expected_sum;
};

static int same_core_window(struct ring_session *s, void *arg, unsigned long passes)
{
	struct same_core_state *st = arg;
	const struct stream_kernel *k = s->job.consumer;
	uint64_t *ring = ring_base(s);
	size_t total = s->job.buffer_bytes / sizeof(uint64_t);
	size_t piece = HEARTBEAT_PIECE_BYTES / sizeof(uint64_t);
	for (unsigned long p = 0; p < passes; p++) {
		uint64_t sum = 0;
		for (size_t at = 0; at < total; at += piece) {
			size_t n = total - at < piece ? total - at : piece;
			if (k->op == STREAM_READ)
				sum += k->read(ring + at, n);
			else
				k->copy(st->priv + at, ring + at, n);
			atomic_fetch_add_explicit(heartbeat(s), 1, memory_order_relaxed);
		}
		if (k->op == STREAM_READ && sum != st->expected_sum) {
			for (uint64_t seq = 1; seq <= s->nslots; seq++) {
				const uint64_t *chunk = slot_of(s, seq);
				size_t bad = stream_find_mismatch(chunk, s->chunk_elems, chunk_tag(s, seq));
				if (bad < s->chunk_elems)
					return fail(s, KERNEL_WRONG_DATA, true,
						    "wrong data: chunk %llu of the buffer differs at element %zu: "
						    "%#llx, expected %#llx (checksum %#llx, expected %#llx)",
						    (unsigned long long)seq, bad, (unsigned long long)chunk[bad],
						    (unsigned long long)(chunk_tag(s, seq) + bad),
						    (unsigned long long)sum, (unsigned long long)st->expected_sum);
			}
			return fail(s, KERNEL_WRONG_DATA, true,
				    "wrong data: checksum %#llx, expected %#llx", (unsigned long long)sum,
				    (unsigned long long)st->expected_sum);
		}
		if (k->op == STREAM_READ)
			s->elements_checked += total;
		s->chunks += s->nslots;
	}
	return KERNEL_OK;
}

static int same_core_role(void *arg)
{
	struct ring_session *s = arg;
	struct same_core_state st = { .priv = s->priv };
	int rc;

	/* The buffer is written by this core, chunk by chunk as a producer
	 * would, so it starts where a producer on the same core leaves it. */
	for (uint64_t seq = 1; seq <= s->nslots; seq++) {
		uint64_t *chunk = slot_of(s, seq);
		stream_write.write(chunk, s->chunk_elems, chunk_tag(s, seq));
		apply_test_hook(s, chunk, seq);
		st.expected_sum += stream_expected_sum(chunk_tag(s, seq), s->chunk_elems);
		atomic_fetch_add_explicit(heartbeat(s), 1, memory_order_relaxed);
	}
	rc = sample_windows(s, &st, same_core_window);
	for (uint64_t seq = 1; rc == KERNEL_OK && st.priv && seq <= s->nslots; seq++) {
		/* The copy of chunk seq sits where the chunk sits in the buffer. */
		const uint64_t *copy = st.priv + (seq - 1) * s->chunk_elems;
		size_t bad = stream_find_mismatch(copy, s->chunk_elems, chunk_tag(s, seq));
		atomic_fetch_add_explicit(heartbeat(s), 1, memory_order_relaxed);
		if (bad < s->chunk_elems)
			rc = fail(s, KERNEL_WRONG_DATA, true,
				  "wrong data: the copy of chunk %llu differs at element %zu: %#llx, expected %#llx",
				  (unsigned long long)seq, bad, (unsigned long long)copy[bad],
				  (unsigned long long)(chunk_tag(s, seq) + bad));
		s->elements_checked += s->chunk_elems;
	}
	return rc;
}

/* ---- placement check and the measurement ---- */

/* Where the ring's pages are: a spread of up to MAX_PAGES_CHECKED pages. */
static void check_placement(const void *ring, size_t ring_bytes, int requested_node,
			    struct ring_result *out)
{
	if (numa_available() < 0)
		return;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t pages = (ring_bytes + page - 1) / page;
	long n = pages < MAX_PAGES_CHECKED ? (long)pages : MAX_PAGES_CHECKED;
	int max_node = numa_max_node();
	void **addr = calloc((size_t)n, sizeof *addr);
	int *status = calloc((size_t)n, sizeof *status);
	long *per_node = calloc((size_t)max_node + 1, sizeof *per_node);
	if (addr == NULL || status == NULL || per_node == NULL)
		goto out;
	for (long i = 0; i < n; i++)
		addr[i] = (unsigned char *)ring + (size_t)i * pages / (size_t)n * page;
	if (numa_move_pages(0, (unsigned long)n, addr, NULL, status, 0) != 0)
		goto out;
	long known = 0;
	int best = -1;
	for (long i = 0; i < n; i++)
		if (status[i] >= 0 && status[i] <= max_node) {
			per_node[status[i]]++;
			known++;
		}
	for (int node = 0; node <= max_node; node++)
		if (per_node[node] > 0 && (best < 0 || per_node[node] > per_node[best]))
			best = node;
	out->pages_checked = known;
	out->home_node = best;
	if (requested_node >= 0 && requested_node <= max_node && known > 0)
		out->pages_on_home_pct = 100.0 * (double)per_node[requested_node] / (double)known;
out:
	free(addr);
	free(status);
	free(per_node);
}

static bool valid_geometry(const struct ring_job *job, size_t line_size)
{
	size_t unit = ring_min_chunk(line_size);
	return job->chunk_bytes >= unit && job->chunk_bytes % unit == 0 &&
	       job->buffer_bytes >= 2 * job->chunk_bytes && job->buffer_bytes % job->chunk_bytes == 0;
}

void ring_measure(const struct ring_job *job, const struct measure_options *o,
		  const struct clock_info *clock, const struct ring_test_hook *hook,
		  struct ring_pool *pool, struct ring_result *out)
{
	*out = (struct ring_result){ .status = PAIR_FAILED, .home_node = -1,
				     .pages_on_home_pct = NAN, .checked_pct = NAN };
	struct ring_pool own = { .ring_node = -1, .priv_node = -1 };
	bool copies = job->consumer->op == STREAM_COPY;
	size_t stride = 2 * o->line_size, offset = ring_offset(o);
	char err[ERRLEN];

	if (!valid_geometry(job, o->line_size)) {
		snprintf(out->reason, sizeof out->reason,
			 "a ring of %zu bytes cannot hold two or more chunks of %zu bytes (a multiple of %zu)",
			 job->buffer_bytes, job->chunk_bytes, ring_min_chunk(o->line_size));
		return;
	}
	if (pool == NULL)
		pool = &own;
	size_t reserve = pool->capacity > job->buffer_bytes ? pool->capacity : job->buffer_bytes;
	if (pool_region(&pool->ring, &pool->ring_node, offset + reserve, job->home_node, o->agents,
			err) != 0 ||
	    (copies && pool_region(&pool->priv, &pool->priv_node, reserve, job->private_node, o->agents,
				   err) != 0)) {
		snprintf(out->reason, sizeof out->reason, "%s", err);
		goto out;
	}
	unsigned char *base = pool->ring.base;
	check_placement(base + offset, job->buffer_bytes, pool->ring.requested_node, out);

	/* The previous job's counters must not leak into this one. */
	memset(base, 0, CONTROL_SLOTS * stride);
	struct ring_session *s = (struct ring_session *)(base + CONTROL_SLOTS * stride);
	*s = (struct ring_session){
		.job = *job,
		.options = *o,
		.clock = *clock,
		.hook = hook ? *hook : (struct ring_test_hook){ 0 },
		.nslots = job->buffer_bytes / job->chunk_bytes,
		.chunk_elems = job->chunk_bytes / sizeof(uint64_t),
		.stride = stride,
		.ring_offset = offset,
		.session_bytes = session_bytes(stride),
		.capacity = sample_capacity(o),
		.priv = copies ? pool->priv.base : NULL,
		/* Any odd multiplier spreads consecutive jobs over the 32-bit space. */
		.epoch = (pool->jobs++ * 0x9e3779b1u) & 0xffffffffu,
	};
	bool same_core = job->cpu_a == job->cpu_b;
	struct agent_spec spec[2] = {
		{ .cpu = job->cpu_b, .role = same_core ? same_core_role : consumer_role, .arg = s },
		{ .cpu = job->cpu_a, .role = producer_role, .arg = s },
	};
	struct supervision sv = { .heartbeat = heartbeat(s), .abort = abort_flag(s),
				  .stall_limit_s = o->watchdog_s + 0.5, .region = &pool->ring };
	int results[2];
	enum agents_outcome outcome = agents_run(o->agents, spec, same_core ? 1 : 2, &sv, results, err);

	out->passes_per_sample = s->passes;
	out->chunks_consumed = s->chunks;
	switch (agents_verdict(outcome, err, out->reason, sizeof out->reason)) {
	case AGENTS_LEFT_RUNNING:
		/* An agent may still touch the memory: forget it, never free it. */
		pool->ring.base = pool->priv.base = NULL;
		return;
	case AGENTS_FAILED:
		break;
	case AGENTS_STOPPED:
		out->status = PAIR_INTERRUPTED;
		break;
	case AGENTS_JUDGE:
		if (s->failure != KERNEL_OK) {
			out->wrong_data = s->wrong_data;
			snprintf(out->reason, sizeof out->reason, "%s", s->detail);
			break;
		}
		if (outcome == AGENTS_STALLED || results[0] != KERNEL_OK ||
		    (!same_core && results[1] != KERNEL_OK)) {
			snprintf(out->reason, sizeof out->reason,
				 "watchdog: no progress from CPU %d or CPU %d within %.3g s", job->cpu_a,
				 job->cpu_b, sv.stall_limit_s);
			break;
		}
		if (s->nsamples == 0) {
			snprintf(out->reason, sizeof out->reason, "no samples were taken");
			break;
		}
		summarize(samples(s), s->nsamples, &out->gbps);
		out->checked_pct = s->chunks ? 100.0 * (double)s->elements_checked /
						       ((double)s->chunks * (double)s->chunk_elems)
					     : NAN;
		out->status = PAIR_OK;
		break;
	}
out:
	if (pool == &own)
		ring_pool_release(&own);
}

size_t ring_fit(size_t requested, size_t wanted_chunk, size_t line_size, size_t *chunk)
{
	*chunk = ring_chunk_for(requested, wanted_chunk, line_size);
	if (*chunk == 0)
		return 0;
	return requested / *chunk * *chunk;
}
