/* Measuring one producer -> consumer stream: a producer on CPU A writes a
 * buffer chunk by chunk into a shared ring, a consumer on CPU B reads or
 * copies each chunk as soon as it is published; the consumer times windows of
 * the continuous stream. With A == B it measures the same-core baseline
 * instead: the consumer kernel alone over the whole buffer (a plain copy).
 *
 * The ring is the buffer: buffer_bytes split into slots of chunk_bytes (at
 * least two, so producer and consumer can work at once). The handoff is two
 * counters, each on its own pair of cache lines: `produced` (chunks the
 * producer has published) and `consumed` (chunks the consumer is done with).
 * Each side re-reads the other's counter only when it has run out of what it
 * knew, so a handoff costs one line transfer per chunk at most.
 *
 * The consumer checks what it received: the sequence number in the first
 * element of every chunk (and the last element for copies); the checksum of
 * every chunk for `read`; for copies, every element of the private buffer at
 * the end of the run. Wrong data fails the measurement: it is a bug, never a
 * result. What the check costs inside the timed windows is kept small on
 * purpose: `read` compares the sum its kernel computes anyway (no extra
 * load), a copy loads two elements of a chunk it is about to copy (one load
 * per 64 B line or fewer at the smallest chunk); the full comparison of a
 * copy runs after the timing. checked_pct says how much of what was consumed
 * the check covered. */
#ifndef COHMAP_RING_H
#define COHMAP_RING_H

#include "harness/latency_pair.h"
#include "kernels/stream.h"

struct ring_job {
	const struct stream_kernel *producer; /* unused when cpu_a == cpu_b */
	const struct stream_kernel *consumer;
	int cpu_a, cpu_b;                     /* producer, consumer */
	size_t buffer_bytes;                  /* a multiple of chunk_bytes, >= 2 chunks */
	size_t chunk_bytes;                   /* a multiple of two cache lines */
	int home_node;                        /* NUMA node of the ring, -1: no placement */
	int private_node;                     /* of the consumer's private buffer: its own node */
};

/* Deliberate corruption, for the tests of the data check: 0 is off. */
struct ring_test_hook {
	uint64_t corrupt_payload_from; /* every chunk from this sequence number on gets one wrong element */
	uint64_t misnumber_chunk;      /* this chunk carries the next chunk's sequence number */
};

struct ring_result {
	enum pair_status status;
	bool wrong_data;               /* the data check failed: reason says where */
	char reason[ERRLEN];
	struct summary gbps;           /* per sample: buffer bytes consumed / time, in GB/s (1e9 B/s) */
	unsigned long passes_per_sample; /* passes over the buffer per sample */
	uint64_t chunks_consumed;      /* over the whole run, warm-up included */
	/* Share of the consumed elements (warm-up included) compared with the
	 * pattern, in the timed windows or after them: 100 for read (every
	 * chunk's sum); for a copy, the last copy through each slot in full plus
	 * two elements of every chunk. NAN when the run failed. */
	double checked_pct;
	int home_node;                 /* node holding most of the ring, -1: unknown */
	double pages_on_home_pct;      /* of the ring's pages checked with move_pages; NAN: not checked */
	long pages_checked;
};

/* Memory kept from one job to the next. First touch of fresh memory is slow
 * (on the KVM development machine 1 to 4 s per GiB, the host backing each
 * page as it is first written), so a run allocates the ring and the
 * consumer's private buffer once, at the largest size it will need, and
 * reuses them while the NUMA node stays the same. */
struct ring_pool {
	size_t capacity;            /* buffer bytes to reserve: the largest job's */
	struct shared_region ring;  /* control lines, session, samples, then the ring */
	int ring_node;
	struct shared_region priv;  /* the consumer's private buffer, on its node */
	int priv_node;
	uint64_t jobs;              /* run so far: each job tags its chunks differently */
};
/* Frees what the pool holds (not what an abandoned agent may still touch). */
void ring_pool_release(struct ring_pool *pool);

/* Smallest chunk the ring allows: two cache lines, so a chunk never shares a
 * line (or the adjacent-line prefetcher's pair) with the next one. */
size_t ring_min_chunk(size_t line_size);

/* The chunk used for a buffer: `wanted`, rounded down to whole line pairs,
 * and at most half the buffer; 0 when the buffer is too small for two chunks. */
size_t ring_chunk_for(size_t buffer_bytes, size_t wanted, size_t line_size);

/* Memory a job needs: the shared ring with its control lines and samples,
 * and the consumer's private copy. */
size_t ring_memory_needed(const struct ring_job *job, const struct measure_options *o);

/* Runs one job. status is PAIR_OK with gbps filled, PAIR_FAILED with a reason
 * (wrong_data set when the data check failed), or PAIR_INTERRUPTED. hook may
 * be NULL; pool may be NULL (memory for this job only). */
void ring_measure(const struct ring_job *job, const struct measure_options *o,
		  const struct clock_info *clock, const struct ring_test_hook *hook,
		  struct ring_pool *pool, struct ring_result *out);

/* The ring geometry for a requested size: the chunk (wanted, or half the
 * size when smaller) and the size rounded down to whole chunks. Returns the
 * buffer size, 0 when it cannot hold two chunks. */
size_t ring_fit(size_t requested, size_t wanted_chunk, size_t line_size, size_t *chunk);

#endif
