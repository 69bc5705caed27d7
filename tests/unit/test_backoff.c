/* kernels/kernel.h: a waiter whose partner never answers backs off — it
 * ends up sleeping (voluntary context switches) instead of spinning — and
 * its watchdog still ends the wait; a partner that answers is seen at once.
 * Nothing here asserts a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <pthread.h>
#include <sys/resource.h>
#include <cmocka.h>

#include "kernels/kernel.h"

static struct clock_info clock_;

static struct kernel_ctx ctx_with_deadline(const atomic_int *abort, double ns)
{
	return (struct kernel_ctx){ .clock = &clock_, .abort = abort,
				    .deadline = clock_ticks(&clock_) + ns_to_ticks(&clock_, ns) };
}

static long voluntary_switches(void)
{
	struct rusage u;
	getrusage(RUSAGE_THREAD, &u);
	return u.ru_nvcsw;
}

static void a_silent_partner_makes_the_waiter_sleep_until_the_watchdog(void **state)
{
	(void)state;
	atomic_int abort = 0;
	_Atomic uint64_t flag = 0;
	/* 1.5 s: the back-off gives up the CPU after 2^18 spins, the last 2^17
	 * with the spin hint, which QEMU's user mode (make check-aarch64)
	 * emulates by leaving its CPU loop (about 1 us each): 0.15 s there on a
	 * quiet host, several times that on a loaded one. */
	struct kernel_ctx ctx = ctx_with_deadline(&abort, 1.5e9);
	long before = voluntary_switches();
	assert_int_equal(wait_until_equal(&ctx, &flag, 1), KERNEL_TIMEOUT);
	assert_true(voluntary_switches() - before >= 1);
}

static void the_back_off_counts_never_wrap_to_fast_spinning(void **state)
{
	(void)state;
	atomic_int abort = 0;
	struct kernel_ctx ctx = ctx_with_deadline(&abort, 10e9);
	unsigned spins = (1u << 30) + 5;
	for (int i = 0; i < 3; i++) {
		assert_false(spin_gives_up(&ctx, &spins));
		assert_true(spins >= SPINS_BEFORE_SLEEP);
		assert_int_equal(spins % SPINS_PER_WATCHDOG_CHECK, 0);
	}
	atomic_store(&abort, 1);
	assert_true(spin_gives_up(&ctx, &spins)); /* each back-off asks the watchdog */
}

static _Atomic uint64_t shared_flag;

static void *answer(void *arg)
{
	(void)arg;
	atomic_store(&shared_flag, 1);
	return NULL;
}

static void an_answer_ends_the_wait(void **state)
{
	(void)state;
	atomic_int abort = 0;
	struct kernel_ctx ctx = ctx_with_deadline(&abort, 30e9);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, answer, NULL), 0);
	assert_int_equal(wait_until_equal(&ctx, &shared_flag, 1), KERNEL_OK);
	pthread_join(t, NULL);
}

int main(void)
{
	clock_calibrate(&clock_);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_silent_partner_makes_the_waiter_sleep_until_the_watchdog),
		cmocka_unit_test(the_back_off_counts_never_wrap_to_fast_spinning),
		cmocka_unit_test(an_answer_ends_the_wait),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
