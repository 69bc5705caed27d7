#include "base/timing.h"

#include <stdlib.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

/* CPUID 0x80000007 EDX bit 8: the TSC runs at a constant rate in all P-, C-
 * and T-states, on Intel and AMD alike. Without it TSC ticks are not time. */
static bool cpu_has_invariant_tsc(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(0x80000007, &a, &b, &c, &d))
		return false;
	return (d >> 8) & 1;
}
#else
static bool cpu_has_invariant_tsc(void)
{
	return false;
}
#endif

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Ticks per nanosecond over a 10 ms window, three times; the median resists a
 * window in which the hypervisor descheduled us. */
static double calibrate_rate(const struct clock_info *c)
{
	double rates[3];
	for (int round = 0; round < 3; round++) {
		uint64_t ns0 = monotonic_ns(), t0 = clock_ticks(c), ns1;
		do
			ns1 = monotonic_ns();
		while (ns1 - ns0 < 10000000u);
		uint64_t t1 = clock_ticks(c);
		rates[round] = (double)(ns1 - ns0) / (double)(t1 - t0);
	}
	qsort(rates, 3, sizeof rates[0], compare_doubles);
	return rates[1];
}

static void measure_overhead(struct clock_info *c)
{
	enum { READS = 1001 };
	static double cost[READS]; /* calibration runs once, before any agent */
	for (int i = 0; i < READS; i++) {
		uint64_t t0 = clock_ticks(c);
		uint64_t t1 = clock_ticks(c);
		cost[i] = ticks_to_ns(c, t1 - t0);
	}
	qsort(cost, READS, sizeof cost[0], compare_doubles);
	c->overhead_min_ns = cost[0];
	c->overhead_ns = cost[READS / 2];
}

void clock_calibrate(struct clock_info *c)
{
	c->use_tsc = cpu_has_invariant_tsc();
	c->source = c->use_tsc ? "invariant TSC" : "CLOCK_MONOTONIC_RAW";
	c->ns_per_tick = c->use_tsc ? calibrate_rate(c) : 1.0;
	measure_overhead(c);
}
