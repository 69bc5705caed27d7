/* The clock samples are timed with: the architecture's cycle timer when it
 * counts time here (x86-64: the invariant TSC, cheap and constant-rate across
 * frequency changes and cores; aarch64: the generic timer's cntvct_el0, see
 * base/arch.h), otherwise CLOCK_MONOTONIC_RAW. The ticks are converted with
 * the timer's architected rate where it has one (cntfrq_el0), else with a
 * rate calibrated against CLOCK_MONOTONIC_RAW, and the cost of reading the
 * clock is measured so it can be subtracted and recorded. */
#ifndef COHMAP_TIMING_H
#define COHMAP_TIMING_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "base/arch.h"

struct clock_info {
	bool use_timer;          /* the cycle timer, else clock_gettime */
	double ns_per_tick;
	double resolution_ns;    /* one tick, or clock_getres's answer */
	double observed_step_ns; /* the smallest step seen between two reads (a coarse clock) */
	double overhead_ns;      /* median cost of two back-to-back reads */
	double overhead_min_ns;
	const char *timer;       /* "tsc", "cntvct_el0" or "clock_gettime" */
	const char *source;      /* "invariant TSC", "generic timer (cntvct_el0)" or "CLOCK_MONOTONIC_RAW" */
	const char *rate;        /* how ns_per_tick was found: "calibrated", "cntfrq_el0", "1 ns" */
	char rejected_timer[192]; /* why the cycle timer is not used although it exists ("" if it is) */
};

static inline uint64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t clock_ticks(const struct clock_info *c)
{
	if (c->use_timer)
		return arch_timer_ticks();
	return monotonic_ns();
}

static inline double ticks_to_ns(const struct clock_info *c, uint64_t ticks)
{
	return (double)ticks * c->ns_per_tick;
}

static inline uint64_t ns_to_ticks(const struct clock_info *c, double ns)
{
	return (uint64_t)(ns / c->ns_per_tick);
}

/* Calibrates the clock (about 30 ms). Never fails: without a usable cycle
 * timer it falls back to clock_gettime. */
void clock_calibrate(struct clock_info *c);

#endif
