/* Stream kernels: the loops that move a buffer in the bandwidth experiment.
 * A producer kernel writes a chunk of the shared ring, a consumer kernel
 * reads (sums) it or copies it to a private buffer. Each kernel is a const
 * descriptor that states the bytes it reads and writes per element, so a
 * bandwidth can be given as the traffic the kernel really causes (counted
 * like likwid-bench and STREAM do: the loads and stores of the loop, not the
 * write-allocate reads the cache adds for ordinary stores).
 *
 * Elements are 64-bit words. The data is a pattern the consumer can check
 * without reading anything else: element i of the chunk tagged T holds T + i,
 * and a chunk's tag is its sequence number << 32 (stream_tag), so the first
 * element names the chunk and the chunk's sum is known in closed form.
 *
 * Adding a kernel: a function and one descriptor in kernels/stream.c, one
 * X(<name>) line in STREAM_KERNELS. */
#ifndef COHMAP_STREAM_H
#define COHMAP_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum stream_op {
	STREAM_WRITE,  /* producer: fills a chunk with the pattern */
	STREAM_READ,   /* consumer: sums a chunk */
	STREAM_COPY,   /* consumer: copies a chunk to a private buffer */
};

struct stream_kernel {
	const char *name;
	enum stream_op op;
	const char *summary;
	unsigned read_bytes;     /* per element, by the loop's loads */
	unsigned written_bytes;  /* per element, by the loop's stores */
	bool nontemporal;        /* stores bypass the caches (ordered by a fence at the end) */
	/* NULL: runs on every CPU. Otherwise false, with the reason, when this
	 * CPU lacks what the kernel needs (checked at run time, not at build time). */
	bool (*available)(char *why, size_t size);
	/* The one of these that op names. n elements; pointers aligned to a
	 * cache line; dst and src never overlap. */
	void (*write)(uint64_t *restrict dst, size_t n, uint64_t tag);
	uint64_t (*read)(const uint64_t *restrict src, size_t n);
	void (*copy)(uint64_t *restrict dst, const uint64_t *restrict src, size_t n);
};

#define STREAM_KERNELS(X) \
	X(write)          \
	X(write_nt)       \
	X(read)           \
	X(copy)           \
	X(memcpy)         \
	X(copy_nt)

#define DECLARE_STREAM_KERNEL(name) extern const struct stream_kernel stream_##name;
STREAM_KERNELS(DECLARE_STREAM_KERNEL)
#undef DECLARE_STREAM_KERNEL

extern const struct stream_kernel *const stream_registry[];
extern const int stream_kernel_count;

const struct stream_kernel *stream_kernel_find(const char *name);
bool stream_kernel_available(const struct stream_kernel *k, char *why, size_t size);
static inline bool stream_is_producer(const struct stream_kernel *k)
{
	return k->op == STREAM_WRITE;
}

/* The vector instruction set the plain loops run with on this CPU. */
const char *stream_vector_isa(void);

/* The tag of the chunk with this sequence number (1, 2, ...). */
static inline uint64_t stream_tag(uint64_t seq)
{
	return seq << 32;
}

/* Sum (mod 2^64) of a chunk of n elements written with tag. */
static inline uint64_t stream_expected_sum(uint64_t tag, size_t n)
{
	uint64_t count = n;
	/* n(n-1)/2 without overflowing first: halve the even factor. */
	uint64_t triangle = count % 2 == 0 ? count / 2 * (count - 1) : (count - 1) / 2 * count;
	return count * tag + triangle;
}

/* Index of the first element of [src, src+n) that does not hold tag + i, or
 * n when all do. */
size_t stream_find_mismatch(const uint64_t *src, size_t n, uint64_t tag);

#endif
