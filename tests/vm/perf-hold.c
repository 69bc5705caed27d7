/* Runs in the test guest from boot to power-off, holding one of each perf
 * software event open. Why: the first software event of a kind enables a
 * static key, and the last one closed disables it; each switch patches kernel
 * text with int3 breakpoints and IPIs to every CPU. Under QEMU TCG with
 * thread=multi that patching deadlocks now and then (seen: CPU stuck 48 s in
 * smp_call_function_many_cond from perf_swevent_init, called by cohmap's
 * per-pair counters), which no real machine does. Held open, the keys stay
 * on and nothing is patched while cohmap runs. */
#include <linux/perf_event.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	int held = 0;
	for (unsigned id = 0; id < PERF_COUNT_SW_MAX; id++) {
		struct perf_event_attr a;
		memset(&a, 0, sizeof a);
		a.size = sizeof a;
		a.type = PERF_TYPE_SOFTWARE;
		a.config = id;
		/* The whole system on CPU 0: counts nothing we read, keeps the key on. */
		if (syscall(SYS_perf_event_open, &a, -1, 0, -1, 0) >= 0)
			held++;
	}
	fprintf(stderr, "perf-hold: %d software events held open\n", held);
	for (;;)
		pause();
}
