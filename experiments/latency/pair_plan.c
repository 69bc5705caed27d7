#include "experiments/latency/pair_plan.h"

#include <stdlib.h>
#include <string.h>

#include "base/shuffle.h"

long pairs_choose(const struct topology *t, const int *cpus, int ncpus, long max_pairs,
		  unsigned long seed, struct cpu_pair *out, long per_class[PAIR_CLASS_COUNT])
{
	long total = (long)ncpus * (ncpus - 1), n = 0;
	long counts[PAIR_CLASS_COUNT] = { 0 };
	for (int a = 0; a < ncpus; a++)
		for (int b = 0; b < ncpus; b++)
			if (a != b)
				out[n++] = (struct cpu_pair){ cpus[a], cpus[b] };
	if (max_pairs <= 0 || max_pairs >= total) {
		for (long i = 0; per_class && i < PAIR_CLASS_COUNT; i++)
			per_class[i] = 0;
		for (long i = 0; per_class && i < total; i++)
			per_class[topology_pair_class(t, out[i].a, out[i].b)]++;
		return total;
	}

	/* Bucket the pairs by class, shuffle each bucket, then deal. */
	struct cpu_pair *bucket[PAIR_CLASS_COUNT] = { 0 };
	long fill[PAIR_CLASS_COUNT] = { 0 }, taken[PAIR_CLASS_COUNT] = { 0 };
	for (long i = 0; i < total; i++)
		counts[topology_pair_class(t, out[i].a, out[i].b)]++;
	for (int c = 0; c < PAIR_CLASS_COUNT; c++)
		if (counts[c] && !(bucket[c] = malloc((size_t)counts[c] * sizeof *bucket[c]))) {
			for (int k = 0; k < c; k++)
				free(bucket[k]);
			return -1;
		}
	for (long i = 0; i < total; i++) {
		int c = (int)topology_pair_class(t, out[i].a, out[i].b);
		bucket[c][fill[c]++] = out[i];
	}
	for (int c = 0; c < PAIR_CLASS_COUNT; c++)
		if (counts[c])
			shuffle(bucket[c], (size_t)counts[c], sizeof *bucket[c], seed + (uint64_t)c);
	n = 0;
	while (n < max_pairs) {
		for (int c = 0; c < PAIR_CLASS_COUNT && n < max_pairs; c++)
			if (taken[c] < counts[c])
				out[n++] = bucket[c][taken[c]++];
	}
	for (int c = 0; c < PAIR_CLASS_COUNT; c++) {
		free(bucket[c]);
		if (per_class)
			per_class[c] = taken[c];
	}
	return n;
}
