#include "experiments/latency/pair_schedule.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/shuffle.h"

/* Jobs past the first free one looked at for an L3 group the round does not
 * have yet, per pair of the round's width, before taking any disjoint job. */
#define SPREAD_LOOKAHEAD 64

static int distinct(const struct topology *t, const int *cpus, int ncpus, size_t field)
{
	int n = 0, *seen = malloc((size_t)(ncpus ? ncpus : 1) * sizeof *seen);
	if (seen == NULL)
		return 1;
	for (int i = 0; i < ncpus; i++) {
		const struct cpu_place *p = topology_find(t, cpus[i]);
		int v = p ? *(const int *)((const char *)p + field) : -1 - i;
		int k = 0;
		while (k < n && seen[k] != v)
			k++;
		if (k == n)
			seen[n++] = v;
	}
	free(seen);
	return n;
}

#define FIELD(name) offsetof(struct cpu_place, name)

int schedule_max_parallel(const struct topology *t, const int *cpus, int ncpus)
{
	if (ncpus < 2)
		return 0;
	int cores = distinct(t, cpus, ncpus, FIELD(core));
	return cores / 2 > 1 ? cores / 2 : 1;
}

int schedule_auto_parallel(const struct topology *t, const int *cpus, int ncpus)
{
	int most = distinct(t, cpus, ncpus, FIELD(l3_group));
	int dies = distinct(t, cpus, ncpus, FIELD(die)), sockets = distinct(t, cpus, ncpus, FIELD(socket));
	if (dies > most)
		most = dies;
	if (sockets > most)
		most = sockets;
	int max = schedule_max_parallel(t, cpus, ncpus);
	return most < max ? most : max;
}

/* Dense indices for the core and L3 group of every CPU a job names. */
struct place_index {
	int core_a, core_b, l3_a, l3_b;
};

static int value_index(int *values, int *n, int v)
{
	for (int i = 0; i < *n; i++)
		if (values[i] == v)
			return i;
	values[*n] = v;
	return (*n)++;
}

long schedule_rounds(const struct topology *t, const struct sched_job *jobs, long n, int width,
		     long *round)
{
	struct place_index *ix = malloc((size_t)(n ? n : 1) * sizeof *ix);
	int *cores = malloc((size_t)t->ncpus * sizeof *cores), ncores = 0;
	int *l3s = malloc((size_t)t->ncpus * sizeof *l3s), nl3 = 0;
	long *core_stamp = NULL, *l3_stamp = NULL, rounds = 0;
	if (ix == NULL || cores == NULL || l3s == NULL)
		goto fail;
	for (long i = 0; i < n; i++) {
		const struct cpu_place *a = topology_find(t, jobs[i].cpu_a), *b = topology_find(t, jobs[i].cpu_b);
		/* A CPU the topology does not know is its own core and group. */
		ix[i].core_a = value_index(cores, &ncores, a ? a->core : -1 - jobs[i].cpu_a);
		ix[i].core_b = value_index(cores, &ncores, b ? b->core : -1 - jobs[i].cpu_b);
		ix[i].l3_a = value_index(l3s, &nl3, a ? a->l3_group : -1 - jobs[i].cpu_a);
		ix[i].l3_b = value_index(l3s, &nl3, b ? b->l3_group : -1 - jobs[i].cpu_b);
		round[i] = -1;
	}
	core_stamp = malloc((size_t)(ncores ? ncores : 1) * sizeof *core_stamp);
	l3_stamp = malloc((size_t)(nl3 ? nl3 : 1) * sizeof *l3_stamp);
	if (core_stamp == NULL || l3_stamp == NULL)
		goto fail;
	for (int i = 0; i < ncores; i++)
		core_stamp[i] = -1;
	for (int i = 0; i < nl3; i++)
		l3_stamp[i] = -1;
	if (width < 1)
		width = 1;
	long first = 0, left = n;
	while (left > 0) {
		while (round[first] >= 0)
			first++;
		int in_round = 0;
		/* Pass 0 also keeps L3 groups apart, within a lookahead so a
		 * large list costs no quadratic scan; pass 1 only cores. */
		for (int pass = 0; pass < 2 && in_round < width; pass++) {
			long looked = 0, limit = pass == 0 ? (long)SPREAD_LOOKAHEAD * width : n;
			for (long i = first; i < n && in_round < width && looked < limit; i++) {
				if (round[i] >= 0)
					continue;
				looked++;
				const struct place_index *p = &ix[i];
				if (core_stamp[p->core_a] == rounds || core_stamp[p->core_b] == rounds)
					continue;
				if (pass == 0 && (l3_stamp[p->l3_a] == rounds || l3_stamp[p->l3_b] == rounds))
					continue;
				core_stamp[p->core_a] = core_stamp[p->core_b] = rounds;
				l3_stamp[p->l3_a] = l3_stamp[p->l3_b] = rounds;
				round[i] = rounds;
				in_round++;
				left--;
			}
		}
		rounds++;
	}
	free(ix);
	free(cores);
	free(l3s);
	free(core_stamp);
	free(l3_stamp);
	return rounds;
fail:
	free(ix);
	free(cores);
	free(l3s);
	free(core_stamp);
	free(l3_stamp);
	return -1;
}

long schedule_controls(const struct topology *t, const struct sched_job *jobs, long n,
		       unsigned long seed, bool *control)
{
	long *order = malloc((size_t)(n ? n : 1) * sizeof *order), marked = 0;
	if (order == NULL)
		return -1;
	for (long i = 0; i < n; i++) {
		order[i] = i;
		control[i] = false;
	}
	shuffle(order, (size_t)n, sizeof *order, seed ^ 0x5e71a1ull);
	/* The first of each (kernel, class) in the shuffled order. */
	struct { int kernel; enum pair_class c; } *seen = malloc(sizeof *seen * (size_t)(n ? n : 1));
	long nseen = 0;
	if (seen == NULL) {
		free(order);
		return -1;
	}
	for (long k = 0; k < n; k++) {
		long i = order[k], s = 0;
		enum pair_class c = topology_pair_class(t, jobs[i].cpu_a, jobs[i].cpu_b);
		while (s < nseen && !(seen[s].kernel == jobs[i].kernel && seen[s].c == c))
			s++;
		if (s == nseen) {
			seen[nseen].kernel = jobs[i].kernel;
			seen[nseen++].c = c;
			control[i] = true;
			marked++;
		}
	}
	free(seen);
	long want = (long)ceil(SCHEDULE_CONTROL_SHARE * (double)n);
	for (long k = 0; k < n && marked < want; k++)
		if (!control[order[k]]) {
			control[order[k]] = true;
			marked++;
		}
	free(order);
	return marked;
}
