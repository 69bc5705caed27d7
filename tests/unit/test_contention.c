/* The contention ladder: every lock's counter is exact (the counter it
 * guards equals the acquisitions) at 2 threads and at all allowed CPUs, every
 * operation's word matches the threads' work, the checks catch a lost
 * update, Jain's index and the wait histogram do their arithmetic, and the
 * ladder order on a two-socket fixture goes up one level at a time. Nothing
 * here depends on how fast anything is. */
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arch.h"
#include "experiments/contention/contention.h"
#include "harness/agents.h"

static struct clock_info clock_;
static int cpus[CPU_SETSIZE];
static int ncpus;

static int setup(void **state)
{
	(void)state;
	clock_calibrate(&clock_);
	cpu_set_t allowed;
	sched_getaffinity(0, sizeof allowed, &allowed);
	for (int c = 0; c < CPU_SETSIZE && ncpus < MAX_AGENTS; c++)
		if (CPU_ISSET(c, &allowed))
			cpus[ncpus++] = c;
	return ncpus >= 2 ? 0 : -1;
}

static enum ct_run_status run_item(const struct ct_item *it, int n, struct ct_thread_result *res,
				   char *reason)
{
	struct ct_run_request q = { .item = it, .cpus = cpus, .n = n, .line_size = 64, .run_ms = 5,
				    .watchdog_s = 5, .clock = &clock_ };
	return ct_run(&q, res, reason);
}

/* A lock's run is OK only when ct_run found the guarded counter equal to the
 * sum of the threads' acquisitions (verify() in contention_run.c). */
static void lock_counts_exact(int n)
{
	struct ct_thread_result *res = calloc((size_t)n, sizeof *res);
	char reason[ERRLEN];
	assert_non_null(res);
	for (int l = 0; l < ct_lock_count; l++) {
		const struct ct_lock *lock = ct_lock_registry[l];
		struct ct_item it = { CT_LOCK, NULL, lock, lock->name };
		enum ct_run_status st = run_item(&it, n, res, reason);
		if (st != CT_RUN_OK)
			fail_msg("%s at %d threads: %s", lock->name, n, reason);
		uint64_t total = 0;
		for (int i = 0; i < n; i++) {
			assert_true(res[i].ops > 0); /* every thread did at least one chunk */
			total += res[i].ops;
		}
		uint64_t waits = 0;
		for (int i = 0; i < n; i++)
			for (int b = 0; b < CT_WAIT_BUCKETS; b++)
				waits += res[i].waits[b];
		assert_int_equal(waits, total); /* one wait recorded per acquisition */
	}
	free(res);
}

static void each_lock_is_exact_at_two_threads(void **state)
{
	(void)state;
	lock_counts_exact(2);
}

static void each_lock_is_exact_at_all_threads(void **state)
{
	(void)state;
	lock_counts_exact(ncpus);
}

static void each_op_matches_its_word(void **state)
{
	(void)state;
	int counts[] = { 1, 2, ncpus };
	struct ct_thread_result *res = calloc((size_t)ncpus, sizeof *res);
	char reason[ERRLEN];
	for (size_t c = 0; c < ARRAY_SIZE(counts); c++)
		for (int o = 0; o < ct_op_count; o++) {
			const struct ct_op *op = ct_op_registry[o];
			struct ct_item it = { op->kind, op, NULL, op->name };
			/* split locks are x86's, LSE forms need LSE: the sweep
			 * skips them elsewhere */
			if ((!ARCH_SPLIT_LOCK && op->kind == CT_SPLIT_LOCK) ||
			    (op->available && !op->available(reason, sizeof reason)))
				continue;
			enum ct_run_status st = run_item(&it, counts[c], res, reason);
			/* a kernel that kills split locks makes them skipped */
			if (st == CT_RUN_SKIPPED && op->kind == CT_SPLIT_LOCK)
				continue;
			if (st != CT_RUN_OK)
				fail_msg("%s at %d threads: %s", op->name, counts[c], reason);
		}
	free(res);
}

static void checks_catch_a_lost_update(void **state)
{
	(void)state;
	struct ct_guarded g = { .counter = 999 };
	assert_int_equal(ct_lock_check(&g, 999), KERNEL_OK);
	assert_int_equal(ct_lock_check(&g, 1000), KERNEL_WRONG_DATA);

	_Atomic uint64_t word;
	uint32_t split;
	struct ct_agent a, b;
	/* fetch_add in the first form this CPU runs (fetch_add_lse or _llsc on aarch64) */
	const struct ct_op *faa = NULL;
	char why[ERRLEN];
	for (int o = 0; o < ct_op_count && !faa; o++)
		if (strcmp(ct_op_registry[o]->base, "fetch_add") == 0 &&
		    (!ct_op_registry[o]->available || ct_op_registry[o]->available(why, sizeof why)))
			faa = ct_op_registry[o];
	if (faa == NULL) {
		fail_msg("no fetch_add form runs on this CPU");
		return;
	}
	ct_agent_init(&a, faa, &word, &split, 0, 2);
	ct_agent_init(&b, faa, &word, &split, 1, 2);
	assert_int_equal(faa->run(&a, 100), KERNEL_OK);
	assert_int_equal(faa->run(&b, 50), KERNEL_OK);
	const struct ct_agent *both[] = { &a, &b };
	assert_int_equal(faa->check(atomic_load(&word), both, 2), KERNEL_OK);
	assert_int_equal(faa->check(atomic_load(&word) - 1, both, 2), KERNEL_WRONG_DATA);
	/* a store's word must be the last value one of the threads wrote */
	ct_agent_init(&a, &ct_op_store, &word, &split, 0, 2);
	ct_agent_init(&b, &ct_op_store, &word, &split, 1, 2);
	assert_int_equal(ct_op_store.run(&a, 10), KERNEL_OK);
	assert_int_equal(ct_op_store.check(atomic_load(&word), both, 2), KERNEL_OK);
	assert_int_equal(ct_op_store.check((UINT64_C(7) << CT_TAG_SHIFT) | 3, both, 2), KERNEL_WRONG_DATA);
	/* a load that sees anything but the initial value fails at once */
	ct_agent_init(&a, &ct_op_load, &word, &split, 0, 1);
	atomic_store(&word, 42);
	assert_int_equal(ct_op_load.run(&a, 10), KERNEL_WRONG_DATA);
}

static void jains_index(void **state)
{
	(void)state;
	double equal[] = { 5, 5, 5, 5 }, one[] = { 8, 0, 0, 0 }, some[] = { 1, 2, 3 };
	assert_float_equal(jain_index(equal, 4), 1.0, 1e-12);
	assert_float_equal(jain_index(one, 4), 0.25, 1e-12);
	assert_float_equal(jain_index(some, 3), 36.0 / 42.0, 1e-12);
	assert_true(isnan(jain_index(one, 0)));
	double zero[] = { 0, 0 };
	assert_true(isnan(jain_index(zero, 2)));
}

static void wait_histogram(void **state)
{
	(void)state;
	int last = -1;
	for (uint64_t t = 0; t < (UINT64_C(1) << 40); t = t < 64 ? t + 1 : t + t / 7) {
		int b = ct_wait_bucket(t);
		assert_true(b >= last && b < CT_WAIT_BUCKETS);
		last = b;
		/* the bucket's middle is within 7% of every value in it */
		double mid = ct_wait_bucket_ticks(b);
		assert_true(t < 16 ? mid == (double)t : fabs(mid - (double)t) <= 0.07 * (double)t);
	}
	assert_int_equal(ct_wait_bucket(UINT64_MAX), CT_WAIT_BUCKETS - 1);
	uint64_t hist[CT_WAIT_BUCKETS] = { 0 };
	assert_true(isnan(ct_wait_quantile(hist, 0.5)));
	hist[ct_wait_bucket(10)] = 98;
	hist[ct_wait_bucket(1000)] = 2;
	assert_float_equal(ct_wait_quantile(hist, 0.5), 10, 1e-9);
	assert_float_equal(ct_wait_quantile(hist, 0.98), 10, 1e-9);
	assert_true(ct_wait_quantile(hist, 0.99) > 900);
}

static void ladder_goes_up_one_level_at_a_time(void **state)
{
	(void)state;
	struct topology t;
	char path[4096], err[ERRLEN];
	const char *src = getenv("COHMAP_SRCDIR");
	snprintf(path, sizeof path, "%s/topology/fixtures/intel-2s-smt.topo", src ? src : ".");
	if (topology_load(&t, path, err) != 0)
		fail_msg("%s", err);
	int *order = malloc((size_t)t.ncpus * sizeof *order);
	for (int i = 0; i < t.ncpus; i++)
		order[i] = t.cpus[i].cpu;
	topology_sort(&t, order, t.ncpus);
	int first = order[0];
	assert_int_equal(topology_ladder(&t, order, t.ncpus, false), 0);
	assert_int_equal(order[0], first);
	/* the span of the first k CPUs never shrinks, the second CPU is the
	 * SMT sibling, and the other socket comes last */
	enum pair_class span = PAIR_SELF;
	for (int k = 2; k <= t.ncpus; k++) {
		enum pair_class s = topology_span_class(&t, order, k);
		assert_true(s >= span);
		span = s;
	}
	assert_int_equal(topology_pair_class(&t, order[0], order[1]), PAIR_SMT);
	assert_true(topology_span_class(&t, order, t.ncpus / 2) < PAIR_CROSS_SOCKET);
	assert_int_equal(topology_nearest_class(&t, order, t.ncpus / 2, order[t.ncpus / 2]),
			 PAIR_CROSS_SOCKET);
	/* spread: the second CPU is on the other socket */
	assert_int_equal(topology_ladder(&t, order, t.ncpus, true), 0);
	assert_int_equal(topology_pair_class(&t, order[0], order[1]), PAIR_CROSS_SOCKET);
	free(order);
	topology_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(each_lock_is_exact_at_two_threads),
		cmocka_unit_test(each_lock_is_exact_at_all_threads),
		cmocka_unit_test(each_op_matches_its_word),
		cmocka_unit_test(checks_catch_a_lost_update),
		cmocka_unit_test(jains_index),
		cmocka_unit_test(wait_histogram),
		cmocka_unit_test(ladder_goes_up_one_level_at_a_time),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
