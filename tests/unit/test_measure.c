/* The harness and the kernels, on this machine's first two usable CPUs.
 * Nothing here depends on how fast anything is: only on what happened. */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "harness/latency_pair.h"
#include "kernels/registry.h"
#include "tests/unit/runnable_kernel.h"

static struct clock_info clock_;
static int cpu_a = -1, cpu_b = -1;

static int setup(void **state)
{
	(void)state;
	clock_calibrate(&clock_);
	cpu_set_t allowed;
	sched_getaffinity(0, sizeof allowed, &allowed);
	for (int c = 0; c < CPU_SETSIZE && cpu_b < 0; c++)
		if (CPU_ISSET(c, &allowed)) {
			if (cpu_a < 0)
				cpu_a = c;
			else
				cpu_b = c;
		}
	return cpu_b < 0 ? -1 : 0;
}

static struct measure_options options(long samples)
{
	return (struct measure_options){
		.agents = AGENTS_THREADS,
		.fixed_samples = samples,
		.precision = 0.02,
		.time_limit_s = 0.05,
		.sample_target_ns = 20000,
		/* a hang guard where a pair must succeed: an agent of a loaded
		 * machine can wait for its CPU longer than any small limit; the
		 * tests of the watchdog itself set 0.2 s */
		.watchdog_s = 60,
		.line_size = 64,
	};
}

/* Runs both roles of a kernel directly, unpinned, and returns the shared
 * lines for inspection. */
struct direct_run {
	const struct kernel *kernel;
	struct kernel_ctx ctx[2];
	int rc[2];
	uint64_t round_trips;
};

static void *run_responder(void *arg)
{
	struct direct_run *run = arg;
	run->rc[1] = run->kernel->responder(&run->ctx[1], run->round_trips);
	return NULL;
}

static void each_latency_kernel_keeps_its_protocol(void **state)
{
	(void)state;
	static _Alignas(128) unsigned char lines[4 * 128];
	static atomic_int no_abort;
	for (int i = 0; i < kernel_count; i++) {
		const struct kernel *k = kernel_registry[i];
		memset(lines, 0, sizeof lines);
		struct direct_run run = { .kernel = k, .round_trips = 1000 };
		for (int agent = 0; agent < 2; agent++)
			run.ctx[agent] = (struct kernel_ctx){
				.lines = lines, .line_stride = 128, .clock = &clock_,
				/* generous: the threads are not pinned, and on a loaded
				 * 2-CPU machine (or under ThreadSanitizer) each handoff
				 * can wait for a time slice; this test is about the
				 * protocol, never about time */
				.deadline = clock_ticks(&clock_) + ns_to_ticks(&clock_, 120e9),
				.abort = &no_abort,
			};
		pthread_t responder;
		pthread_create(&responder, NULL, run_responder, &run);
		run.rc[0] = k->initiator(&run.ctx[0], run.round_trips);
		pthread_join(responder, NULL);
		assert_int_equal(run.rc[0], KERNEL_OK);
		assert_int_equal(run.rc[1], KERNEL_OK);
		assert_int_equal(run.ctx[0].round, 1000);
		assert_int_equal(run.ctx[1].round, 1000);
		uint64_t first = *(uint64_t *)lines, second = *(uint64_t *)(lines + 128);
		if (strcmp(k->name, "load_store") == 0) {
			assert_int_equal(first, 1000);   /* last ping */
			assert_int_equal(second, 1000);  /* last pong */
		} else if (strcmp(k->family, "latency") == 0) {
			assert_int_equal(first, 2000);   /* one turn per handoff */
		}
	}
}

static void a_lone_initiator_times_out_instead_of_hanging(void **state)
{
	(void)state;
	static _Alignas(128) unsigned char lines[2 * 128];
	static atomic_int no_abort;
	struct kernel_ctx ctx = {
		.lines = lines, .line_stride = 128, .clock = &clock_, .abort = &no_abort,
		.deadline = clock_ticks(&clock_) + ns_to_ticks(&clock_, 50e6),
	};
	assert_int_equal(kernel_load_store.initiator(&ctx, 10), KERNEL_TIMEOUT);
	atomic_int aborted = 1;
	ctx.abort = &aborted;
	ctx.deadline = UINT64_MAX;
	assert_int_equal(runnable_kernel("cas_bounce")->initiator(&ctx, 10), KERNEL_TIMEOUT);
}

static void every_latency_kernel_measures_a_pair(void **state)
{
	(void)state;
	struct measure_options o = options(30);
	for (int i = 0; i < kernel_count; i++) {
		struct pair_measurement m;
		char why[256];
		if (!kernel_available(kernel_registry[i], why, sizeof why)) {
			printf("  %s: not on this CPU: %s\n", kernel_registry[i]->name, why);
			continue;
		}
		measure_pair(kernel_registry[i], cpu_a, cpu_b, -1, &o, &clock_, &m, NULL);
		assert_int_equal(m.status, PAIR_OK);
		assert_int_equal(m.one_way_ns.n, 30);
		assert_true(m.round_trips_per_sample >= 1);
		assert_true(m.one_way_ns.min <= m.one_way_ns.median);
		assert_true(m.one_way_ns.median <= m.one_way_ns.p90);
		if (strcmp(kernel_registry[i]->family, "latency") == 0)
			assert_true(m.one_way_ns.median > 0);
	}
}

static void every_agent_kind_measures_a_pair(void **state)
{
	(void)state;
	struct measure_options o = options(20);
	for (int kind = 0; kind < AGENT_KIND_COUNT; kind++) {
		struct pair_measurement m;
		o.agents = (enum agent_kind)kind;
		measure_pair(&kernel_load_store, cpu_a, cpu_b, -1, &o, &clock_, &m, NULL);
		assert_int_equal(m.status, PAIR_OK);
		assert_int_equal(m.one_way_ns.n, 20);
		/* a kind that maps different pages would be measuring nothing */
		assert_int_not_equal(m.same_page, 0);
		assert_non_null(m.pagemap_note);
	}
	assert_int_equal(agent_kind_from_name("sysv"), AGENTS_SYSV);
	assert_string_equal(agent_kind_name(AGENTS_FORK_SHARED), "fork-shared");
	assert_int_equal(agent_kind_from_name("shared"), -1);
}

static int silent_responder(struct kernel_ctx *ctx, uint64_t n)
{
	(void)ctx;
	(void)n;
	return KERNEL_OK;
}

static int lying_initiator(struct kernel_ctx *ctx, uint64_t n)
{
	(void)ctx;
	(void)n;
	return KERNEL_WRONG_DATA;
}

static void a_silent_agent_fails_the_pair_with_a_reason(void **state)
{
	(void)state;
	struct kernel silent = kernel_load_store;
	silent.responder = silent_responder;
	struct measure_options o = options(10);
	o.watchdog_s = 0.2;
	struct pair_measurement m;
	measure_pair(&silent, cpu_a, cpu_b, -1, &o, &clock_, &m, NULL);
	assert_int_equal(m.status, PAIR_FAILED);
	assert_non_null(strstr(m.reason, "watchdog"));

	/* the same with the agents as processes: the silent one is stopped,
	 * or killed, and reaped */
	o.agents = AGENTS_SYSV;
	measure_pair(&silent, cpu_a, cpu_b, -1, &o, &clock_, &m, NULL);
	assert_int_equal(m.status, PAIR_FAILED);
	assert_non_null(strstr(m.reason, "watchdog"));
	o.agents = AGENTS_THREADS;

	struct kernel lying = kernel_load_store;
	lying.initiator = lying_initiator;
	measure_pair(&lying, cpu_a, cpu_b, -1, &o, &clock_, &m, NULL);
	assert_int_equal(m.status, PAIR_FAILED);
	assert_non_null(strstr(m.reason, "wrong data"));
}

/* Off its CPU for three watchdog limits (a nap stands in for a busy
 * neighbour or the hypervisor taking the CPU), then waits for an answer
 * whose deadline has long passed. */
static int dozing_initiator(struct kernel_ctx *ctx, uint64_t n)
{
	nanosleep(&(struct timespec){ .tv_nsec = 600000000 }, NULL);
	return kernel_load_store.initiator(ctx, n);
}

/* Off its CPU for longer still, so that it is not waiting when A wakes. */
static int dozing_responder(struct kernel_ctx *ctx, uint64_t n)
{
	(void)ctx, (void)n;
	nanosleep(&(struct timespec){ .tv_sec = 1 }, NULL);
	return KERNEL_OK;
}

/* A wakes past its deadline without B's answer: its timeout says A was not
 * running, never that CPU B did not answer (B's own wait, should it expire
 * first, blames A, which is also true). Whichever agent notices first, the
 * reason names CPU A. */
static void a_descheduled_agent_does_not_blame_its_partner(void **state)
{
	(void)state;
	struct kernel dozing = kernel_load_store;
	dozing.initiator = dozing_initiator;
	dozing.responder = dozing_responder;
	struct measure_options o = options(10);
	o.watchdog_s = 0.2;
	struct pair_measurement m;
	char descheduled[64], silent_a[64], silent_b[64];
	snprintf(descheduled, sizeof descheduled, "the agent on CPU %d was descheduled for", cpu_a);
	snprintf(silent_a, sizeof silent_a, "no answer from CPU %d ", cpu_a);
	snprintf(silent_b, sizeof silent_b, "no answer from CPU %d ", cpu_b);
	measure_pair(&dozing, cpu_a, cpu_b, -1, &o, &clock_, &m, NULL);
	assert_int_equal(m.status, PAIR_FAILED);
	if (strstr(m.reason, silent_b) || !(strstr(m.reason, descheduled) || strstr(m.reason, silent_a)))
		fail_msg("blames the wrong CPU: %s", m.reason);
}

static void an_unusable_cpu_fails_the_pair(void **state)
{
	(void)state;
	struct measure_options o = options(10);
	struct pair_measurement m;
	measure_pair(&kernel_load_store, cpu_a, CPU_SETSIZE - 1, -1, &o, &clock_, &m, NULL);
	assert_int_equal(m.status, PAIR_FAILED);
	assert_non_null(strstr(m.reason, "CPU"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(each_latency_kernel_keeps_its_protocol),
		cmocka_unit_test(a_lone_initiator_times_out_instead_of_hanging),
		cmocka_unit_test(every_latency_kernel_measures_a_pair),
		cmocka_unit_test(every_agent_kind_measures_a_pair),
		cmocka_unit_test(a_silent_agent_fails_the_pair_with_a_reason),
		cmocka_unit_test(a_descheduled_agent_does_not_blame_its_partner),
		cmocka_unit_test(an_unusable_cpu_fails_the_pair),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
