/* Statistics of a set of samples (each sample: a batch of operations timed
 * together, divided by the batch size). */
#ifndef COHMAP_STATS_H
#define COHMAP_STATS_H

#include <stdbool.h>

struct summary {
	long n;
	double min, p10, median, p90, max, mean, stddev;
	double ci95_low, ci95_high; /* distribution-free 95% interval of the median */
};

/* Linear interpolation between closest ranks (R type 7, numpy's default). */
double quantile_sorted(const double *sorted, long n, double q);

/* Ranks (0-based, inclusive) bounding the 95% confidence interval of the
 * median: the order-statistic interval from the binomial distribution, in its
 * normal approximation (n >= 6; smaller n gives the whole range). */
void median_ci95_ranks(long n, long *low, long *high);

/* Sorts values in place and fills s. n must be at least 1. */
void summarize(double *values, long n, struct summary *s);

/* True when the 95% interval of the median lies within +-rel of the median. */
bool median_is_precise(const struct summary *s, double rel);
/* The median of n values (sorted in place), NAN when n <= 0. */
double median_of(double *values, long n);

#endif
