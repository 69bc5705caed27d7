#include "harness/start_line.h"

#include <time.h>

#include "kernels/kernel.h"

int start_line_wait(struct start_line *line, int n, const struct clock_info *clock,
		    uint64_t run_ticks, uint64_t watchdog_ticks, atomic_int *abort)
{
	if (atomic_fetch_add(&line->ready, 1) + 1 == n) {
		line->end_tick = clock_ticks(clock) + run_ticks;
		atomic_store_explicit(&line->start, 1, memory_order_release);
		return KERNEL_OK;
	}
	uint64_t deadline = clock_ticks(clock) + watchdog_ticks;
	unsigned spins = 0;
	while (!atomic_load_explicit(&line->start, memory_order_acquire)) {
		cpu_relax();
		if (++spins % SPINS_PER_WATCHDOG_CHECK == 0 &&
		    (atomic_load(abort) || clock_ticks(clock) > deadline))
			return KERNEL_TIMEOUT;
	}
	return KERNEL_OK;
}

uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
