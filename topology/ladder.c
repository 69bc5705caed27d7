/* Orders for adding threads one at a time (the contention ladder): nearest
 * first, so that each new CPU crosses at most one level more than the last
 * (SMT sibling, same L3 group, other L3 groups, other socket), or farthest
 * first, spreading over sockets and L3 groups before doubling up. */
#include <stdlib.h>

#include "topology/topology.h"

int topology_ladder(const struct topology *t, int *cpus, int n, bool spread)
{
	if (n <= 1)
		return 0;
	int *in = malloc((size_t)n * sizeof *in);
	/* nearest[i]: the closest class between cpus[i] and any CPU already
	 * placed; one pass per step keeps the whole order O(n^2). */
	enum pair_class *nearest = malloc((size_t)n * sizeof *nearest);
	if (in == NULL || nearest == NULL) {
		free(in);
		free(nearest);
		return -1;
	}
	for (int i = 0; i < n; i++)
		in[i] = cpus[i];
	for (int i = 1; i < n; i++)
		nearest[i] = topology_pair_class(t, in[0], in[i]);
	/* in[0..k) is placed; in[k..n) waits, in its original order. */
	for (int k = 1; k < n; k++) {
		int best = k;
		for (int i = k + 1; i < n; i++)
			if (spread ? nearest[i] > nearest[best] : nearest[i] < nearest[best])
				best = i;
		/* Move best to k, keeping the rest in order (ties go to the
		 * first in the given order, which is topology order). */
		int cpu = in[best];
		enum pair_class c = nearest[best];
		for (int i = best; i > k; i--) {
			in[i] = in[i - 1];
			nearest[i] = nearest[i - 1];
		}
		in[k] = cpu;
		nearest[k] = c;
		for (int i = k + 1; i < n; i++) {
			enum pair_class d = topology_pair_class(t, cpu, in[i]);
			if (d < nearest[i])
				nearest[i] = d;
		}
	}
	for (int i = 0; i < n; i++)
		cpus[i] = in[i];
	free(in);
	free(nearest);
	return 0;
}

enum pair_class topology_nearest_class(const struct topology *t, const int *set, int n, int cpu)
{
	enum pair_class best = PAIR_CLASS_COUNT;
	for (int i = 0; i < n; i++) {
		enum pair_class c = topology_pair_class(t, set[i], cpu);
		if (set[i] != cpu && c < best)
			best = c;
	}
	return best;
}

enum pair_class topology_span_class(const struct topology *t, const int *set, int n)
{
	enum pair_class span = PAIR_SELF;
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++) {
			enum pair_class c = topology_pair_class(t, set[i], set[j]);
			if (c != PAIR_CLASS_COUNT && c > span)
				span = c;
		}
	return span;
}
