/* The clock samples are timed with: the invariant TSC when the CPU has one
 * (cheap, and constant-rate across frequency changes and cores), otherwise
 * CLOCK_MONOTONIC_RAW. Either way the ticks are converted with a rate
 * calibrated against CLOCK_MONOTONIC_RAW, and the cost of reading the clock
 * is measured so it can be subtracted and recorded. */
#ifndef COHMAP_TIMING_H
#define COHMAP_TIMING_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct clock_info {
	bool use_tsc;
	double ns_per_tick;
	double overhead_ns;      /* median cost of two back-to-back reads */
	double overhead_min_ns;
	const char *source;      /* "invariant TSC" or "CLOCK_MONOTONIC_RAW" */
};

static inline uint64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t clock_ticks(const struct clock_info *c)
{
#if defined(__x86_64__) || defined(__i386__)
	if (c->use_tsc) {
		uint32_t lo, hi;
		/* lfence keeps earlier loads and stores of the timed batch from
		 * drifting past the read (dispatch-serialising on Intel and on AMD
		 * with Linux's default settings). */
		__asm__ __volatile__("lfence\n\trdtsc" : "=a"(lo), "=d"(hi)::"memory");
		return ((uint64_t)hi << 32) | lo;
	}
#endif
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

/* Calibrates the clock (about 30 ms). Never fails: without an invariant TSC it
 * falls back to clock_gettime. */
void clock_calibrate(struct clock_info *c);

#endif
