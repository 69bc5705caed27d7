/* experiments/latency/pair_plan.c: which pairs a matrix measures when the budget cannot hold
 * all of them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "base/common.h"
#include "experiments/latency/pair_plan.h"

static void load(const char *name, struct topology *t, int *cpus, int *ncpus)
{
	char path[512], err[ERRLEN];
	const char *src = getenv("COHMAP_SRCDIR");
	snprintf(path, sizeof path, "%s/topology/fixtures/%s", src ? src : ".", name);
	assert_int_equal(topology_load(t, path, err), 0);
	*ncpus = t->ncpus;
	for (int i = 0; i < t->ncpus; i++)
		cpus[i] = t->cpus[i].cpu;
	topology_sort(t, cpus, *ncpus);
}

static void without_a_limit_every_ordered_pair_once(void **state)
{
	(void)state;
	struct topology t;
	int cpus[512], n;
	load("intel-2s-smt.topo", &t, cpus, &n);
	long total = (long)n * (n - 1), per_class[PAIR_CLASS_COUNT];
	struct cpu_pair *pairs = calloc((size_t)total, sizeof *pairs);
	assert_int_equal(pairs_choose(&t, cpus, n, 0, 1, pairs, per_class), total);
	long sum = 0;
	for (int c = 0; c < PAIR_CLASS_COUNT; c++)
		sum += per_class[c];
	assert_int_equal(sum, total);
	assert_int_equal(per_class[PAIR_SELF], 0);
	for (long i = 0; i < total; i++)
		assert_int_not_equal(pairs[i].a, pairs[i].b);
	free(pairs);
	topology_free(&t);
}

static void a_small_limit_still_covers_every_class(void **state)
{
	(void)state;
	struct topology t;
	int cpus[512], n;
	load("amd-2s-ccx.topo", &t, cpus, &n);
	long total = (long)n * (n - 1), all[PAIR_CLASS_COUNT], some[PAIR_CLASS_COUNT];
	struct cpu_pair *pairs = calloc((size_t)total, sizeof *pairs);
	pairs_choose(&t, cpus, n, 0, 1, pairs, all);
	int classes = 0;
	for (int c = 0; c < PAIR_CLASS_COUNT; c++)
		classes += all[c] > 0;
	assert_true(classes >= 3); /* smt, l3, cross-socket at least */

	long limit = classes + 5;
	assert_int_equal(pairs_choose(&t, cpus, n, limit, 7, pairs, some), limit);
	for (int c = 0; c < PAIR_CLASS_COUNT; c++) {
		if (all[c])
			assert_true(some[c] >= 1);
		else
			assert_int_equal(some[c], 0);
	}
	/* the sample is what per_class says, and no pair twice */
	long counted[PAIR_CLASS_COUNT] = { 0 };
	for (long i = 0; i < limit; i++) {
		counted[topology_pair_class(&t, pairs[i].a, pairs[i].b)]++;
		for (long j = 0; j < i; j++)
			assert_false(pairs[i].a == pairs[j].a && pairs[i].b == pairs[j].b);
	}
	for (int c = 0; c < PAIR_CLASS_COUNT; c++)
		assert_int_equal(counted[c], some[c]);
	free(pairs);
	topology_free(&t);
}

static void the_same_seed_chooses_the_same_sample(void **state)
{
	(void)state;
	struct topology t;
	int cpus[512], n;
	load("intel-2s-smt.topo", &t, cpus, &n);
	long total = (long)n * (n - 1);
	if (total < 40) { /* the fixture must hold the sample of 40 pairs compared below */
		fail_msg("intel-2s-smt.topo has %d CPUs: %ld ordered pairs, fewer than 40", n, total);
		return;
	}
	struct cpu_pair *x = calloc((size_t)total, sizeof *x), *y = calloc((size_t)total, sizeof *y);
	assert_int_equal(pairs_choose(&t, cpus, n, 40, 3, x, NULL), 40);
	assert_int_equal(pairs_choose(&t, cpus, n, 40, 3, y, NULL), 40);
	for (int i = 0; i < 40; i++) {
		assert_int_equal(x[i].a, y[i].a);
		assert_int_equal(x[i].b, y[i].b);
	}
	pairs_choose(&t, cpus, n, 40, 4, y, NULL);
	int same = 0;
	for (int i = 0; i < 40; i++)
		same += x[i].a == y[i].a && x[i].b == y[i].b;
	assert_true(same < 40); /* another seed, another sample */
	free(x);
	free(y);
	topology_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(without_a_limit_every_ordered_pair_once),
		cmocka_unit_test(a_small_limit_still_covers_every_class),
		cmocka_unit_test(the_same_seed_chooses_the_same_sample),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
