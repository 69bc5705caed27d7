/* Counters: parsing --events, per-event fallback, and real counts of the
 * software events this machine has. */
#include <errno.h>
#include <linux/perf_event.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/arch.h"
#include "harness/counters.h"

static struct topology machine = { .vendor = "AuthenticAMD", .family = 26, .model = 2 };

static void the_disturbance_events_are_always_there(void **state)
{
	(void)state;
	struct event_request req;
	char err[ERRLEN];
	assert_int_equal(events_parse(NULL, &machine, &req, err), 0);
	assert_int_equal(req.n, 2);
	assert_string_equal(req.names[req.migrations], "perf::CPU-MIGRATIONS");
	assert_string_equal(req.names[req.context_switches], "perf::CONTEXT-SWITCHES");
	assert_string_equal(req.columns[req.migrations], "perf_CPU_MIGRATIONS_per_handoff");
	/* PAPI or perf_event_open: one of them counts software events on Linux */
	assert_int_not_equal(req.backend[req.migrations], EVENT_NONE);
}

static void unknown_and_repeated_names_are_usage_errors(void **state)
{
	(void)state;
	struct event_request req;
	char err[ERRLEN];
	assert_int_equal(events_parse("perf::NO-SUCH-EVENT", &machine, &req, err), -1);
	assert_non_null(strstr(err, "perf::NO-SUCH-EVENT"));
	assert_int_equal(events_parse("PAPI_NO_SUCH_PRESET", &machine, &req, err), -1);
	assert_non_null(strstr(err, "PAPI_NO_SUCH_PRESET"));
	assert_int_equal(events_parse("perf::PAGE-FAULTS,perf::PAGE-FAULTS", &machine, &req, err), -1);
	assert_non_null(strstr(err, "twice"));
	assert_int_equal(events_parse(",", &machine, &req, err), -1);
}

static bool hardware_counters_work(void)
{
	struct perf_event_attr attr = { .type = PERF_TYPE_HARDWARE, .size = sizeof attr,
					 .config = PERF_COUNT_HW_CPU_CYCLES, .exclude_kernel = 1 };
	int fd = (int)syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

/* perf_event_open itself: missing (ENOSYS) under QEMU's user mode, where
 * no event counts and the tests of counting have nothing to check. */
static bool perf_events_exist(void)
{
	struct perf_event_attr attr = { .type = PERF_TYPE_SOFTWARE, .size = sizeof attr,
					 .config = PERF_COUNT_SW_PAGE_FAULTS };
	int fd = (int)syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
	if (fd >= 0)
		close(fd);
	return fd >= 0 || errno != ENOSYS;
}

static void an_unavailable_hardware_event_is_na_with_a_reason(void **state)
{
	(void)state;
	if (!perf_events_exist())
		skip();
	struct event_request req;
	struct counter_set cs;
	bool failed[MAX_EVENTS];
	char reason[MAX_EVENTS][160], err[ERRLEN];
	assert_int_equal(events_parse("PAPI_TOT_CYC", &machine, &req, err), 0);
	assert_string_equal(req.names[0], "PAPI_TOT_CYC");
	counter_set_open(&cs, &req, failed, reason);
	if (!hardware_counters_work()) {
		assert_true(failed[0]);
		assert_true(strlen(reason[0]) > 0);
		assert_non_null(strstr(reason[0], "PAPI_TOT_CYC"));
	}
	/* the software events still count, whatever happened to the other */
	assert_false(failed[req.context_switches]);
	counter_set_close(&cs);
}

static void touching_new_pages_counts_page_faults(void **state)
{
	(void)state;
	struct event_request req;
	struct counter_set cs;
	bool failed[MAX_EVENTS];
	char reason[MAX_EVENTS][160], err[ERRLEN];
	long long before[MAX_EVENTS], after[MAX_EVENTS];
	enum { PAGES = 256 };
	long page = sysconf(_SC_PAGESIZE);
	if (!perf_events_exist())
		skip();

	assert_int_equal(events_parse("perf::PAGE-FAULTS", &machine, &req, err), 0);
	counter_set_open(&cs, &req, failed, reason);
	assert_false(failed[0]);
	/* MADV_NOHUGEPAGE: one fault per 4 KiB page, not one per 2 MiB */
	unsigned char *p = mmap(NULL, PAGES * (size_t)page, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	madvise(p, PAGES * (size_t)page, MADV_NOHUGEPAGE);
	counter_set_read(&cs, before);
	for (int i = 0; i < PAGES; i++)
		p[(size_t)i * (size_t)page] = 1;
	counter_set_read(&cs, after);
	assert_true(after[0] - before[0] >= PAGES);
	munmap(p, PAGES * (size_t)page);
	counter_set_close(&cs);
}

static void auto_picks_a_row_or_says_none(void **state)
{
	(void)state;
	struct event_request req;
	char err[ERRLEN];
	struct topology skylake = { .vendor = "GenuineIntel", .family = 6, .model = 85 };
	assert_int_equal(events_parse("auto", &skylake, &req, err), 0);
	assert_string_equal(req.auto_label, "Intel Skylake-SP / Cascade Lake");
	assert_string_equal(req.names[0], "MEM_LOAD_L3_HIT_RETIRED:XSNP_HITM");
	assert_int_equal(req.meaning[0], MEANS_FILL_FROM_OTHER_CORE);
	struct topology unknown = { .vendor = "GenuineIntel", .family = 6, .model = 1 };
	assert_int_equal(events_parse("auto", &unknown, &req, err), 0);
	/* every aarch64 CPU gets the architected events' row */
	if (strcmp(ARCH_NAME, "aarch64") == 0)
		assert_string_equal(req.auto_label, "Arm Neoverse");
	else
		assert_non_null(strstr(req.auto_label, "no row"));
	assert_true(req.migrations >= 0 && req.context_switches >= 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_disturbance_events_are_always_there),
		cmocka_unit_test(unknown_and_repeated_names_are_usage_errors),
		cmocka_unit_test(an_unavailable_hardware_event_is_na_with_a_reason),
		cmocka_unit_test(touching_new_pages_counts_page_faults),
		cmocka_unit_test(auto_picks_a_row_or_says_none),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
