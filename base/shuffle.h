/* A reproducible shuffle: measurements are taken in a shuffled order so that
 * slow drift (thermal, the host moving vCPUs) spreads over the results as
 * noise instead of painting one region of a plot; the seed is recorded so an
 * order can be replayed. splitmix64 mixes well and gives the same order on
 * any libc. */
#ifndef COHMAP_SHUFFLE_H
#define COHMAP_SHUFFLE_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t shuffle_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Fisher-Yates over n elements of elem bytes each (elem at most 256). */
static inline void shuffle(void *base, size_t n, size_t elem, uint64_t seed)
{
	unsigned char *b = base, tmp[256];
	uint64_t state = seed;
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(shuffle_next(&state) % i);
		__builtin_memcpy(tmp, b + (i - 1) * elem, elem);
		__builtin_memcpy(b + (i - 1) * elem, b + j * elem, elem);
		__builtin_memcpy(b + j * elem, tmp, elem);
	}
}

#endif
