/* The stream kernels: plain C loops that the compiler vectorises (this file is
 * built with -O3, see the Makefile), libc's memcpy as a baseline, and
 * non-temporal variants where the CPU has such stores. */
#include "kernels/stream.h"

#include <stdio.h>
#include <string.h>

#include "base/arch.h"

/* Each plain loop is built for the widest vectors this CPU has where the
 * architecture has several (x86-64: the AVX clones of ARCH_VECTOR_CLONES,
 * picked by the dynamic loader as it does for libc's memcpy), so the
 * same-core baseline shows what one core can move, not what the baseline
 * ISA allows. stream_vector_isa() names the one that runs. */
#define VECTOR_CLONES ARCH_VECTOR_CLONES

/* restrict tells the compiler the buffers do not overlap, so it vectorises
 * without a run-time overlap check and without a scalar fallback copy. */
VECTOR_CLONES
static void write_pattern(uint64_t *restrict dst, size_t n, uint64_t tag)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = tag + i;
}

/* The sum is split over STREAM_READ_LANES independent accumulators, which
 * the vectoriser turns into several vector registers (4 zmm, 8 ymm, 16 xmm):
 * with one accumulator every vector add waits for the previous one, and the
 * loop runs at one load per add latency instead of the two or three loads a
 * cycle the core can issue. Integer addition is associative, so this changes
 * no bit of the result (and needs no -ffast-math). */
enum { STREAM_READ_LANES = 32 };

VECTOR_CLONES
static uint64_t read_sum(const uint64_t *restrict src, size_t n)
{
	src = __builtin_assume_aligned(src, 64); /* the kernels' contract: cache-line aligned */
	uint64_t lane[STREAM_READ_LANES] = { 0 }, sum = 0;
	size_t i = 0;
	for (; i + STREAM_READ_LANES <= n; i += STREAM_READ_LANES)
		for (int j = 0; j < STREAM_READ_LANES; j++)
			lane[j] += src[i + j];
	for (; i < n; i++)
		sum += src[i];
	for (int j = 0; j < STREAM_READ_LANES; j++)
		sum += lane[j];
	return sum;
}

/* The Makefile keeps gcc from replacing this loop by a call to memcpy
 * (-fno-tree-loop-distribute-patterns): memcpy is its own kernel. */
/* Unrolled four times (four vector loads and stores per iteration, as
 * likwid-bench's copy kernels do), so the loop's own add, compare and branch
 * take one issue slot in twelve instead of one in four; aligned moves, as the
 * contract promises cache-line aligned buffers. */
VECTOR_CLONES
static void copy_loop(uint64_t *restrict dst, const uint64_t *restrict src, size_t n)
{
	dst = __builtin_assume_aligned(dst, 64);
	src = __builtin_assume_aligned(src, 64);
#pragma GCC unroll 4
	for (size_t i = 0; i < n; i++)
		dst[i] = src[i];
}

static void copy_memcpy(uint64_t *restrict dst, const uint64_t *restrict src, size_t n)
{
	memcpy(dst, src, n * sizeof *dst);
}

static bool have_streaming_stores(char *why, size_t size)
{
	return arch_nontemporal_available(why, size);
}

/* Non-temporal stores, two words at a time (base/arch.h: movntdq on x86-64,
 * stnp on aarch64). They are weakly ordered: the fence at the end makes the
 * whole chunk visible before the caller publishes it with a release store. */
static void write_pattern_nt(uint64_t *restrict dst, size_t n, uint64_t tag)
{
	size_t i = 0;
	for (; i + 2 <= n; i += 2)
		arch_store_nt2(dst + i, tag + i, tag + i + 1);
	for (; i < n; i++)
		dst[i] = tag + i;
	arch_nt_fence();
}

static void copy_nt(uint64_t *restrict dst, const uint64_t *restrict src, size_t n)
{
	size_t i = 0;
	for (; i + 2 <= n; i += 2)
		arch_copy_nt2(dst + i, src + i);
	for (; i < n; i++)
		dst[i] = src[i];
	arch_nt_fence();
}

const struct stream_kernel stream_write = {
	.name = "write",
	.op = STREAM_WRITE,
	.summary = "producer: stores the pattern into the chunk (plain stores)",
	.read_bytes = 0,
	.written_bytes = 8,
	.write = write_pattern,
};

const struct stream_kernel stream_write_nt = {
	.name = "write_nt",
	.op = STREAM_WRITE,
	.summary = "producer: stores the pattern with non-temporal stores (past the caches)",
	.read_bytes = 0,
	.written_bytes = 8,
	.nontemporal = true,
	.available = have_streaming_stores,
	.write = write_pattern_nt,
};

const struct stream_kernel stream_read = {
	.name = "read",
	.op = STREAM_READ,
	.summary = "consumer: sums the chunk",
	.read_bytes = 8,
	.written_bytes = 0,
	.read = read_sum,
};

const struct stream_kernel stream_copy = {
	.name = "copy",
	.op = STREAM_COPY,
	.summary = "consumer: copies the chunk to its private buffer (plain C loop)",
	.read_bytes = 8,
	.written_bytes = 8,
	.copy = copy_loop,
};

const struct stream_kernel stream_memcpy = {
	.name = "memcpy",
	.op = STREAM_COPY,
	.summary = "consumer: copies the chunk with libc's memcpy (baseline)",
	.read_bytes = 8,
	.written_bytes = 8,
	.copy = copy_memcpy,
};

const struct stream_kernel stream_copy_nt = {
	.name = "copy_nt",
	.op = STREAM_COPY,
	.summary = "consumer: copies the chunk with non-temporal stores",
	.read_bytes = 8,
	.written_bytes = 8,
	.nontemporal = true,
	.available = have_streaming_stores,
	.copy = copy_nt,
};

#define STREAM_ENTRY(name) &stream_##name,
const struct stream_kernel *const stream_registry[] = { STREAM_KERNELS(STREAM_ENTRY) };
#undef STREAM_ENTRY
const int stream_kernel_count = sizeof stream_registry / sizeof stream_registry[0];

const struct stream_kernel *stream_kernel_find(const char *name)
{
	for (int i = 0; i < stream_kernel_count; i++)
		if (strcmp(stream_registry[i]->name, name) == 0)
			return stream_registry[i];
	return NULL;
}

bool stream_kernel_available(const struct stream_kernel *k, char *why, size_t size)
{
	return k->available == NULL || k->available(why, size);
}

const char *stream_vector_isa(void)
{
	return arch_vector_isa();
}

size_t stream_find_mismatch(const uint64_t *src, size_t n, uint64_t tag)
{
	for (size_t i = 0; i < n; i++)
		if (src[i] != tag + i)
			return i;
	return n;
}
