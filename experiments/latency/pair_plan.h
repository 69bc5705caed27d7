/* Which ordered CPU pairs a matrix measures: all of them, or, when a time
 * budget cannot hold all of them (a 256-CPU machine has 65,280 ordered pairs
 * per kernel), a sample that still shows every pair class. */
#ifndef COHMAP_PAIRS_H
#define COHMAP_PAIRS_H

#include "topology/topology.h"

struct cpu_pair {
	int a, b;
};

/* Ordered pairs of distinct CPUs from cpus[0..ncpus). With max_pairs <= 0 or
 * at least all of them: every pair, row by row. Otherwise max_pairs of them,
 * taken from the pair classes in turn (one smt pair, one l3 pair, one
 * cross-socket pair, ...), each class's pairs in a shuffled order from seed,
 * so a small budget still covers every class, and classes with many pairs get
 * the rest. out must hold ncpus * (ncpus - 1) pairs (the sample is built in
 * place). per_class[c], when not NULL, gets how many of class c were taken.
 * Returns the number of pairs written, -1 when out of memory. */
long pairs_choose(const struct topology *t, const int *cpus, int ncpus, long max_pairs,
		  unsigned long seed, struct cpu_pair *out, long per_class[PAIR_CLASS_COUNT]);

#endif
