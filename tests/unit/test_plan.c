/* The latency time model (experiments/latency/latency_model.c): its
 * arithmetic on a given per-pair cost, the cost file's round trip and
 * refusals, --parallel auto on the large fixtures, and the budget plan.
 * Nothing here is timed: the costs are given, not measured. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/common.h"
#include "experiments/latency/latency_model.h"
#include "topology/topology.h"

static const struct pair_cost cost = {
	.pair_s = 0.010, .slowest_s = 0.020, .q50_s = 0.009, .q90_s = 0.015, .samples = 40, .fixed_s = 0.006,
	.per_sample_s = 0.0001, .pairs = 16, .precision_pct = 2, .time_limit_s = 0.1,
	.sample_us = 50, .source = "given",
};

static void test_serial(void **state)
{
	(void)state;
	struct matrix_estimate e;
	matrix_estimate(&cost, 256L * 255, 4, 1, 0.5, &e);
	assert_int_equal(e.pairs, 261120);
	assert_true(e.utilisation == 1);        /* one pair at a time: no lane to leave idle */
	assert_int_equal(e.checks, 0);          /* no interference check when serial */
	assert_int_equal(e.drains, 0);
	assert_true(fabs(e.measure_s - 2611.2) < 1e-6);
	/* 32 pairs take 0.32 s < 1 s: a reference every 32 pairs */
	assert_int_equal(e.references, 261120 / 32);
	assert_true(fabs(e.total_s - (e.measure_s + e.reference_s)) < 1e-9);
}

static void test_quantiles(void **state)
{
	(void)state;
	/* through the time before sampling, the median, the 90th percentile, the slowest */
	assert_true(fabs(pair_cost_quantile(&cost, 0) - 0.006) < 1e-12);
	assert_true(fabs(pair_cost_quantile(&cost, 0.25) - 0.0075) < 1e-12);
	assert_true(fabs(pair_cost_quantile(&cost, 0.5) - 0.009) < 1e-12);
	assert_true(fabs(pair_cost_quantile(&cost, 0.7) - 0.012) < 1e-12);
	assert_true(fabs(pair_cost_quantile(&cost, 0.9) - 0.015) < 1e-12);
	assert_true(fabs(pair_cost_quantile(&cost, 1) - 0.020) < 1e-12);
	assert_true(fabs(pair_cost_round(&cost, 1) - cost.pair_s) < 1e-12);
	assert_true(fabs(pair_cost_round(&cost, 9) - cost.q90_s) < 1e-12); /* 9/10 */
	assert_true(fabs(pair_cost_round(&cost, 2) - 0.0115) < 1e-12);   /* the 2/3 quantile */
	struct pair_cost skewed = cost;
	skewed.pair_s = 0.012;                                            /* a mean above it */
	assert_true(fabs(pair_cost_round(&skewed, 2) - 0.012) < 1e-12);   /* never below the mean */
	assert_true(fabs(pair_cost_round(&cost, 64) - (0.015 + 0.005 * (64.0 / 65 - 0.9) / 0.1)) < 1e-12);
}

static void test_parallel(void **state)
{
	(void)state;
	struct matrix_estimate e;
	/* 64 lanes kept 80 % busy */
	matrix_estimate(&cost, 256L * 255, 4, 64, 0.8, &e);
	assert_true(fabs(e.work_s - 2611.2) < 1e-6);
	assert_true(fabs(e.measure_s - 2611.2 / (64 * 0.8)) < 1e-9);   /* 51.0 s */
	/* a drain once 8 x 64 pairs and 1 s have passed: min(510, 51.0) + 1 */
	assert_int_equal(e.drains, 52);
	double wait = 0.015 + 0.005 * (64.0 / 65 - 0.9) / 0.1;           /* the slowest of 64 */
	assert_true(fabs(e.drain_wait_s - wait) < 1e-12);
	assert_true(fabs(e.drain_s - 52 * wait) < 1e-9);
	assert_int_equal(e.checks, 13056);                                /* 5 % of 261,120 */
	assert_true(fabs(e.check_s - 130.56) < 1e-9);
	assert_int_equal(e.references, 52);                               /* one per drain */
	assert_true(fabs(e.total_s - (51.0 + 52 * wait + 130.56 + 0.52)) < 1e-9);
	/* slow pairs: the pairs-per-lane floor sets the drains (261120 / 128 = 2040) */
	struct pair_cost slow = cost;
	slow.pair_s = 1.0;
	matrix_estimate(&slow, 256L * 255, 4, 16, 1, &e);
	assert_int_equal(e.drains, 2041);
	/* more lanes never cost more at the same utilisation */
	struct matrix_estimate fewer;
	matrix_estimate(&cost, 256L * 255, 4, 8, 0.8, &fewer);
	matrix_estimate(&cost, 256L * 255, 4, 64, 0.8, &e);
	assert_true(fewer.total_s >= e.total_s);
}

/* The utilisation comes from the dispatcher run dry on the fixture. */
static void test_dry_run_on_fixtures(void **state)
{
	(void)state;
	struct topology t = { 0 };
	int *cpus;
	char path[512], err[ERRLEN] = "";
	const char *src = getenv("COHMAP_SRCDIR");
	snprintf(path, sizeof path, "%s/topology/fixtures/%s", src ? src : ".", "intel-2s-smt.topo");
	if (topology_load(&t, path, err) != 0)
		fail_msg("%s", err);
	cpus = malloc((size_t)t.ncpus * sizeof *cpus);
	for (int i = 0; i < t.ncpus; i++)
		cpus[i] = t.cpus[i].cpu;
	assert_true(matrix_utilisation(&cost, &t, cpus, t.ncpus, 4, 1) == 1);
	/* 40 CPUs on 20 cores: 2 lanes (auto) are kept busy; with the most, 10
	 * lanes on 20 cores, a lane now and then finds every pending pair on a
	 * busy core (0.972 of the lane time used) */
	double two = matrix_utilisation(&cost, &t, cpus, t.ncpus, 4, 2);
	double most = matrix_utilisation(&cost, &t, cpus, t.ncpus, 4, 10);
	assert_true(two > 0.99 && two <= 1);
	assert_true(most > 0.95 && most < 0.99 && most < two);
	struct matrix_estimate e;
	assert_int_equal(matrix_plan(&cost, &t, cpus, t.ncpus, 4, 10, &e), 0);
	assert_true(fabs(e.utilisation - most) < 1e-12);
	assert_true(fabs(e.measure_s - 40 * 39 * 4 * cost.pair_s / (10 * most)) < 1e-9);
	/* the least parallelism within a target, and the one below it is not */
	/* the estimates run 64.4 s (1 lane), 35.0, 24.4, 19.1, 15.9, 13.8, 12.3,
	 * 11.2 (8 lanes), 10.3, 9.7 s (10): 12 s needs 8 */
	int need = parallel_needed(&cost, &t, cpus, t.ncpus, 4, 10, 12.0);
	assert_int_equal(need, 8);
	assert_int_equal(matrix_plan(&cost, &t, cpus, t.ncpus, 4, need, &e), 0);
	assert_true(e.total_s <= 12.0);
	assert_int_equal(matrix_plan(&cost, &t, cpus, t.ncpus, 4, need - 1, &e), 0);
	assert_true(e.total_s > 12.0);
	assert_int_equal(parallel_needed(&cost, &t, cpus, t.ncpus, 4, 10, 1.0), 0);
	free(cpus);
	topology_free(&t);
}

static void test_at_limit(void **state)
{
	(void)state;
	/* 40 samples x 0.1 ms = 4 ms of sampling: a 5 ms limit does not cut it, 1 ms does */
	assert_true(fabs(pair_cost_at_limit(&cost, 0.005) - 0.010) < 1e-12);
	assert_true(fabs(pair_cost_at_limit(&cost, 0.001) - 0.007) < 1e-12);
}

static void test_cost_file(void **state)
{
	(void)state;
	char path[] = "/tmp/cohmap-test-plan-XXXXXX", err[ERRLEN] = "";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(pair_cost_save(&cost, path, err), 0);
	struct pair_cost back;
	assert_int_equal(pair_cost_load(&back, path, err), 0);
	assert_true(fabs(back.pair_s - cost.pair_s) < 1e-6);
	assert_true(fabs(back.per_sample_s - cost.per_sample_s) < 1e-7);
	assert_int_equal(back.pairs, cost.pairs);
	assert_non_null(strstr(back.source, "given"));

	static const char *const bad[][2] = {
		{ "cpu 0 0 0\n", "not a cohmap cost file" },
		{ "# cohmap pair cost v1\npair_s x\n", ":2: expected 'key number'" },
		{ "# cohmap pair cost v1\nwhat 1\n", ":2: expected 'key number'" },
		{ "# cohmap pair cost v1\npair_s 0.01\n", "no 'slowest_s' line" },
		{ "# cohmap pair cost v1\npair_s 0.01\nslowest_s 0.02\nq50_s 0.03\nq90_s 0.01\nsamples 1\n"
		  "fixed_s 0\nper_sample_s 0\npairs 1\nprecision_pct 2\ntime_limit_s 0.1\nsample_us 50\n",
		  "needs pair_s > 0 and q50_s <= q90_s" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fputs(bad[i][0], f);
		fclose(f);
		assert_int_equal(pair_cost_load(&back, path, err), -1);
		if (strstr(err, bad[i][1]) == NULL)
			fail_msg("case %zu: '%s' lacks '%s'", i, err, bad[i][1]);
	}
	unlink(path);
}

static void load(const char *name, struct topology *t, int **cpus)
{
	char path[512], err[ERRLEN] = "";
	const char *src = getenv("COHMAP_SRCDIR");
	snprintf(path, sizeof path, "%s/topology/fixtures/%s", src ? src : ".", name);
	if (topology_load(t, path, err) != 0)
		fail_msg("%s", err);
	*cpus = malloc((size_t)t->ncpus * sizeof **cpus);
	assert_non_null(*cpus);
	for (int i = 0; i < t->ncpus; i++)
		(*cpus)[i] = t->cpus[i].cpu;
}

static void test_parallel_auto(void **state)
{
	(void)state;
	static const struct { const char *file; int most, auto_n; } cases[] = {
		{ "amd-2s-9654-smt.topo", 96, 24 },  /* 24 CCDs */
		{ "amd-2s-9554-smt.topo", 64, 16 },  /* 16 CCDs */
		{ "intel-2s-8480p.topo", 56, 2 },    /* one L3 per socket */
		{ "nvidia-grace-144.topo", 72, 2 },  /* two dies */
		{ "intel-4s-8380h.topo", 56, 4 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct topology t = { 0 };
		int *cpus;
		load(cases[i].file, &t, &cpus);
		assert_int_equal(parallel_max(&t, cpus, t.ncpus), cases[i].most);
		assert_int_equal(parallel_auto(&t, cpus, t.ncpus), cases[i].auto_n);
		free(cpus);
		topology_free(&t);
	}
}

static void test_budget_plan(void **state)
{
	(void)state;
	struct latency_budget b;
	latency_budget_plan(0, 4, 256, 0.1, false, &b); /* no budget: nothing changes */
	assert_true(b.time_limit_s == 0.1 && b.max_pairs == 0);
	double full = latency_budget_for_full_matrix(4, 256);
	latency_budget_plan(full * 1.01, 4, 256, 0.1, false, &b);
	assert_int_equal(b.max_pairs, 0);       /* just enough: every pair */
	latency_budget_plan(full * 0.5, 4, 256, 0.1, false, &b);
	assert_true(b.max_pairs > 0 && b.max_pairs < 256L * 255); /* a sample */
	latency_budget_plan(full * 0.5, 4, 256, 0.1, true, &b);
	assert_int_equal(b.max_pairs, 0);       /* --resume keeps the plan it had */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serial),
		cmocka_unit_test(test_quantiles),
		cmocka_unit_test(test_parallel),
		cmocka_unit_test(test_dry_run_on_fixtures),
		cmocka_unit_test(test_at_limit),
		cmocka_unit_test(test_cost_file),
		cmocka_unit_test(test_parallel_auto),
		cmocka_unit_test(test_budget_plan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
