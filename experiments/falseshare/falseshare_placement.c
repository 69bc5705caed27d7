/* Where the false-sharing threads run: the placements (SMT siblings, one L3
 * group, L3 groups round robin, sockets round robin) and their names. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "experiments/falseshare/falseshare.h"

const char *fs_placement_name(enum fs_placement p)
{
	static const char *const names[] = { "smt", "l3", "spread-l3", "cross-socket" };
	return p < FS_PLACEMENT_COUNT ? names[p] : "?";
}

const char *fs_placement_description(enum fs_placement p)
{
	static const char *const text[] = {
		"SMT siblings of one core",
		"distinct cores of one L3 group",
		"L3 groups of one socket, round robin",
		"sockets, round robin",
	};
	return p < FS_PLACEMENT_COUNT ? text[p] : "?";
}

const char *fs_pairs_name(enum fs_pairs p)
{
	return p == FS_PAIRS_ALL ? "all" : p == FS_PAIRS_CLASSES ? "classes" : "none";
}

/* ---- placements ---- */

typedef int (*place_key)(const struct cpu_place *p);
static int key_core(const struct cpu_place *p) { return p->core; }
static int key_l3(const struct cpu_place *p) { return p->l3_group; }
static int key_socket(const struct cpu_place *p) { return p->socket; }

/* Distinct values of key among the CPUs, in order of first appearance. */
static int distinct(const struct topology *t, const int *cpus, int n, place_key key, int *values)
{
	int nv = 0;
	for (int i = 0; i < n; i++) {
		int v = key(topology_find(t, cpus[i]));
		int j = 0;
		while (j < nv && values[j] != v)
			j++;
		if (j == nv)
			values[nv++] = v;
	}
	return nv;
}

/* Takes CPUs round robin over the buckets of `key` (in topology order), and
 * within a bucket the first SMT thread of every core before any second one,
 * so threads land on distinct cores for as long as there are cores. */
static int round_robin(const struct topology *t, const int *cpus, int n, place_key key,
		       int max, int *out)
{
	if (n == 0)
		return 0;
	int *buckets = malloc((size_t)n * sizeof *buckets), nb, taken = 0;
	bool *used = calloc((size_t)n, sizeof *used);
	if (buckets == NULL || used == NULL)
		goto out;
	nb = distinct(t, cpus, n, key, buckets);
	for (bool progress = true; progress && taken < max;) {
		progress = false;
		for (int b = 0; b < nb && taken < max; b++) {
			int best = -1;
			for (int i = 0; i < n; i++) {
				const struct cpu_place *p = topology_find(t, cpus[i]);
				if (used[i] || key(p) != buckets[b])
					continue;
				if (best < 0 || p->smt < topology_find(t, cpus[best])->smt)
					best = i;
			}
			if (best >= 0) {
				used[best] = true;
				out[taken++] = cpus[best];
				progress = true;
			}
		}
	}
out:
	free(buckets);
	free(used);
	return taken;
}

/* The CPUs of cpus[] whose key is v. */
static int members(const struct topology *t, const int *cpus, int n, place_key key, int v, int *out)
{
	int m = 0;
	for (int i = 0; i < n; i++)
		if (key(topology_find(t, cpus[i])) == v)
			out[m++] = cpus[i];
	return m;
}

/* The value of `outer` whose CPUs among cpus[] hold the most distinct values
 * of `inner` (inner NULL: the most CPUs), the first one on a tie; -1 when
 * there is none. *score is that most. values, group and scratch hold n. */
static int richest(const struct topology *t, const int *cpus, int n, place_key outer,
		   place_key inner, int *values, int *group, int *scratch, int *score)
{
	int best = -1, nv = distinct(t, cpus, n, outer, values);
	*score = 0;
	for (int v = 0; v < nv; v++) {
		int m = members(t, cpus, n, outer, values[v], group);
		int s = inner ? distinct(t, group, m, inner, scratch) : m;
		if (s > *score)
			best = values[v], *score = s;
	}
	return best;
}

int fs_place(const struct topology *t, const int *cpus, int n, enum fs_placement p, int threads,
	     int *out, char *why)
{
	int *values = malloc((size_t)n * sizeof *values), *group = malloc((size_t)n * sizeof *group);
	int *inner = malloc((size_t)n * sizeof *inner);
	int got = 0, best = -1, best_score = 0;
	if (values == NULL || group == NULL || inner == NULL) {
		set_error(why, "out of memory");
		goto out;
	}
	switch (p) {
	case FS_SMT: { /* the core with the most selected threads */
		best = richest(t, cpus, n, key_core, NULL, values, group, inner, &best_score);
		if (best_score < 2) {
			set_error(why, "no core has two selected SMT threads");
			break;
		}
		got = members(t, cpus, n, key_core, best, group);
		got = got < threads ? got : threads;
		memcpy(out, group, (size_t)got * sizeof *out);
		break;
	}
	case FS_L3:          /* the L3 group with the most selected cores */
	case FS_SPREAD_L3: { /* the socket with the most selected L3 groups */
		place_key outer = p == FS_L3 ? key_l3 : key_socket;
		place_key spread = p == FS_L3 ? key_core : key_l3;
		best = richest(t, cpus, n, outer, spread, values, group, inner, &best_score);
		if (best_score < 2) {
			set_error(why, p == FS_L3 ? "no L3 group holds two selected cores"
						  : "no socket has selected CPUs in two L3 groups");
			break;
		}
		int m = members(t, cpus, n, outer, best, group);
		got = round_robin(t, group, m, spread, threads, out);
		break;
	}
	case FS_CROSS_SOCKET:
		if (distinct(t, cpus, n, key_socket, values) < 2) {
			set_error(why, "the selected CPUs are all on one socket");
			break;
		}
		got = round_robin(t, cpus, n, key_socket, threads, out);
		break;
	case FS_PLACEMENT_COUNT:
		break;
	}
out:
	free(values);
	free(group);
	free(inner);
	return got >= 2 ? got : 0;
}
