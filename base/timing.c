#include "base/timing.h"

#include <stdio.h>
#include <stdlib.h>

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

/* The smallest step the clock is seen to take: the tick where the counter
 * counts every tick, more where it is updated in larger steps (QEMU's user
 * mode derives cntvct_el0 from a microsecond clock, so its 16 ns ticks come
 * in steps of about 1 us). The median of a few steps; 0 when the clock did
 * not move within a bounded number of reads. */
static double observed_step_ns(const struct clock_info *c)
{
	enum { STEPS = 21, MAX_READS = 1 << 20 };
	double step[STEPS];
	for (int i = 0; i < STEPS; i++) {
		uint64_t t0 = clock_ticks(c), t1 = t0;
		for (int reads = 0; t1 == t0 && reads < MAX_READS; reads++)
			t1 = clock_ticks(c);
		/* the first change ends a partial step: time the next whole one */
		uint64_t t2 = t1;
		for (int reads = 0; t2 == t1 && reads < MAX_READS; reads++)
			t2 = clock_ticks(c);
		step[i] = ticks_to_ns(c, t2 - t1);
	}
	qsort(step, STEPS, sizeof step[0], compare_doubles);
	return step[STEPS / 2];
}

/* Sets c up for the cycle timer (use_timer) or clock_gettime. */
static void clock_choose(struct clock_info *c, bool use_timer)
{
	uint64_t hz = arch_timer_hz();
	c->use_timer = use_timer;
	c->timer = use_timer ? ARCH_TIMER : "clock_gettime";
	c->source = use_timer ? ARCH_TIMER_SOURCE : "CLOCK_MONOTONIC_RAW";
	if (use_timer && hz > 0) {
		/* The generic timer's rate is architected (cntfrq_el0, set by the
		 * firmware): exact, where a calibration would carry the noise of
		 * its window. */
		c->ns_per_tick = 1e9 / (double)hz;
		c->rate = "cntfrq_el0";
	} else if (use_timer) {
		c->ns_per_tick = calibrate_rate(c);
		c->rate = "calibrated against CLOCK_MONOTONIC_RAW";
	} else {
		c->ns_per_tick = 1.0;
		c->rate = "1 ns (clock_gettime counts nanoseconds)";
	}
	struct timespec res;
	c->resolution_ns = use_timer ? c->ns_per_tick
			   : clock_getres(CLOCK_MONOTONIC_RAW, &res) == 0
				   ? (double)res.tv_sec * 1e9 + (double)res.tv_nsec
				   : 1.0;
	c->observed_step_ns = observed_step_ns(c);
}

/* A timer seen stepping far more coarsely than clock_gettime is not used:
 * an emulator's (QEMU's user mode updates cntvct_el0 about once a
 * microsecond) would time every short batch as 0 or one step. On hardware
 * both clocks step alike (arm64's vDSO clock_gettime reads cntvct_el0 too;
 * on x86 both steps are about the cost of one read), so this never fires
 * there. */
enum { COARSE_FACTOR = 4, COARSE_FLOOR_NS = 100 };

void clock_calibrate(struct clock_info *c)
{
	char why[128];
	c->rejected_timer[0] = '\0';
	clock_choose(c, arch_timer_usable(why, sizeof why));
	if (c->use_timer && c->observed_step_ns > COARSE_FLOOR_NS) {
		double timer_step = c->observed_step_ns, tick = c->ns_per_tick;
		clock_choose(c, false);
		if (timer_step > COARSE_FACTOR * c->observed_step_ns)
			snprintf(c->rejected_timer, sizeof c->rejected_timer,
				 "%s: seen stepping by %.0f ns (ticks of %.2f ns), clock_gettime by %.0f ns "
				 "(an emulator?)", ARCH_TIMER, timer_step, tick, c->observed_step_ns);
		else
			clock_choose(c, true);
	}
	measure_overhead(c);
}
