#include "base/stats.h"

#include <math.h>
#include <stdlib.h>

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double quantile_sorted(const double *sorted, long n, double q)
{
	if (n <= 0)
		return NAN;
	double pos = q * (double)(n - 1);
	long below = (long)floor(pos);
	if (below >= n - 1)
		return sorted[n - 1];
	double frac = pos - (double)below;
	return sorted[below] + frac * (sorted[below + 1] - sorted[below]);
}

void median_ci95_ranks(long n, long *low, long *high)
{
	if (n < 6) {
		*low = 0;
		*high = n - 1;
		return;
	}
	/* The number of samples below the median is Binomial(n, 1/2); with 1-based
	 * ranks the interval is [n/2 - 1.96 sqrt(n)/2, 1 + n/2 + 1.96 sqrt(n)/2]. */
	double half_width = 0.98 * sqrt((double)n);
	long lo = (long)floor((double)n / 2 - half_width);
	long hi = (long)ceil(1 + (double)n / 2 + half_width);
	if (lo < 1)
		lo = 1;
	if (hi > n)
		hi = n;
	*low = lo - 1;
	*high = hi - 1;
}

void summarize(double *values, long n, struct summary *s)
{
	qsort(values, (size_t)n, sizeof values[0], compare_doubles);
	double sum = 0;
	for (long i = 0; i < n; i++)
		sum += values[i];
	double mean = sum / (double)n, squares = 0;
	for (long i = 0; i < n; i++)
		squares += (values[i] - mean) * (values[i] - mean);
	long lo, hi;
	median_ci95_ranks(n, &lo, &hi);
	*s = (struct summary){
		.n = n,
		.min = values[0],
		.p10 = quantile_sorted(values, n, 0.10),
		.median = quantile_sorted(values, n, 0.50),
		.p90 = quantile_sorted(values, n, 0.90),
		.max = values[n - 1],
		.mean = mean,
		.stddev = n > 1 ? sqrt(squares / (double)(n - 1)) : 0,
		.ci95_low = values[lo],
		.ci95_high = values[hi],
	};
}

bool median_is_precise(const struct summary *s, double rel)
{
	return s->ci95_low >= s->median * (1 - rel) && s->ci95_high <= s->median * (1 + rel);
}

double median_of(double *values, long n)
{
	if (n <= 0)
		return NAN;
	struct summary s;
	summarize(values, n, &s);
	return s.median;
}
