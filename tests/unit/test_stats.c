/* Statistics against values computed by hand (and by R / numpy, type 7). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/stats.h"

static void quantiles_interpolate_between_ranks(void **state)
{
	(void)state;
	double v[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	assert_float_equal(quantile_sorted(v, 10, 0.5), 5.5, 1e-12);
	assert_float_equal(quantile_sorted(v, 10, 0.1), 1.9, 1e-12);  /* numpy: 1.9 */
	assert_float_equal(quantile_sorted(v, 10, 0.9), 9.1, 1e-12);
	assert_float_equal(quantile_sorted(v, 10, 0.0), 1, 1e-12);
	assert_float_equal(quantile_sorted(v, 10, 1.0), 10, 1e-12);
	assert_float_equal(quantile_sorted(v, 1, 0.5), 1, 1e-12);
}

static void summary_of_a_known_vector(void **state)
{
	(void)state;
	double v[] = { 9, 2, 5, 4, 12, 7, 8, 11, 9, 3, 7, 4, 12, 5, 4, 10, 9, 6, 9, 4 };
	struct summary s;
	summarize(v, 20, &s);
	assert_int_equal(s.n, 20);
	assert_float_equal(s.min, 2, 1e-12);
	assert_float_equal(s.max, 12, 1e-12);
	assert_float_equal(s.mean, 7, 1e-12);
	/* sample standard deviation: sqrt(178/19) */
	assert_float_equal(s.stddev, sqrt(178.0 / 19.0), 1e-12);
	assert_float_equal(s.median, 7, 1e-12);
	assert_float_equal(s.p10, 3.9, 1e-12);
	assert_float_equal(s.p90, 11.1, 1e-12);
	/* sorted in place */
	for (int i = 1; i < 20; i++)
		assert_true(v[i - 1] <= v[i]);
}

static void median_interval_uses_binomial_ranks(void **state)
{
	(void)state;
	long lo, hi;
	/* Tables of the distribution-free 95% interval give ranks 40 and 61 for
	 * n = 100 (1-based), i.e. 39 and 60 here. */
	median_ci95_ranks(100, &lo, &hi);
	assert_int_equal(lo, 39);
	assert_int_equal(hi, 60);
	median_ci95_ranks(5, &lo, &hi);
	assert_int_equal(lo, 0);
	assert_int_equal(hi, 4);
	median_ci95_ranks(1000, &lo, &hi);
	assert_true(lo < 500 && hi > 500 && hi - lo < 70);
}

static void precision_rule_accepts_tight_and_rejects_wide(void **state)
{
	(void)state;
	double tight[100], wide[100];
	for (int i = 0; i < 100; i++) {
		tight[i] = 100 + (i % 10) * 0.1;   /* spread 1% */
		wide[i] = 50 + i;                  /* spread 100% */
	}
	struct summary s;
	summarize(tight, 100, &s);
	assert_true(median_is_precise(&s, 0.02));
	summarize(wide, 100, &s);
	assert_false(median_is_precise(&s, 0.02));
	assert_true(s.ci95_low < s.median && s.ci95_high > s.median);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(quantiles_interpolate_between_ranks),
		cmocka_unit_test(summary_of_a_known_vector),
		cmocka_unit_test(median_interval_uses_binomial_ranks),
		cmocka_unit_test(precision_rule_accepts_tight_and_rejects_wide),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
