/* The start line of N pinned threads that run one timed loop each (false
 * sharing, contention): every thread waits until the last one is ready, and
 * that one sets the end of the run and raises the flag, so no thread's
 * operations overlap another's start-up. It lives in the memory the threads
 * share (a shared mapping when the agents are processes). */
#ifndef COHMAP_START_LINE_H
#define COHMAP_START_LINE_H

#include <stdatomic.h>
#include <stdint.h>

#include "base/timing.h"

struct start_line {
	atomic_int ready;
	atomic_int start;
	uint64_t end_tick; /* written before start is raised, read after */
};

/* Arrives at the line as one of n threads. Returns KERNEL_OK when the run
 * starts, KERNEL_TIMEOUT when *abort is set or the others are not all there
 * within watchdog_ticks. */
int start_line_wait(struct start_line *line, int n, const struct clock_info *clock,
		    uint64_t run_ticks, uint64_t watchdog_ticks, atomic_int *abort);

/* CPU time of the calling thread, in ns: a thread that got less of its CPU
 * than the run lasted was disturbed. */
uint64_t thread_cpu_ns(void);

#endif
