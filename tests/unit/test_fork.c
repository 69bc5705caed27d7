/* The fork experiment's parts on this machine: every mapping kind is made,
 * keeps the values its creator wrote, and a forked child reads them (or,
 * for a kind the machine cannot make, is skipped with the reason); a child's
 * writes reach the parent exactly for the shared kinds; a wrong value is
 * caught; right after fork the child's VmPTE has grown with a touched private
 * mapping (its page tables were copied) and not with a shared one (they are
 * rebuilt on fault, Linux 2.6.14 on); a SysV segment is gone once detached;
 * reaping gives up on a stuck child; each spawn method runs a program; the
 * page-table census matches the model. Nothing here depends on a timing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/common.h"
#include "experiments/fork/fork.h"
#include "base/memory.h"
#include "kernels/mappings.h"

static struct child_report *report;

static int open_report(void **state)
{
	(void)state;
	char err[ERRLEN];
	report = child_report_open(err);
	return report ? 0 : -1;
}

static int close_report(void **state)
{
	(void)state;
	child_report_close(report);
	return 0;
}

/* The smallest size every kind can make: a few of its own pages. */
static size_t small_size(const struct mapping_kind *k)
{
	size_t page = mapping_kind_page_bytes(k);
	return 4 * (page ? page : (size_t)sysconf(_SC_PAGESIZE));
}

static void every_kind_keeps_its_data_across_fork(void **state)
{
	(void)state;
	char reason[ERRLEN], err[ERRLEN];
	for (int i = 0; i < mapping_count; i++) {
		const struct mapping_kind *k = mapping_registry[i];
		struct mapping m;
		enum mapping_result made = mapping_create(k, small_size(k), &m, reason);
		if (made == MAPPING_SKIPPED) {
			/* Only the kinds that need something of the machine may skip,
			 * and they say what to do about it. */
			print_message("%s skipped: %s\n", k->name, reason);
			assert_non_null(k->available);
			if (k->pages == PAGES_HUGETLB)
				assert_non_null(strstr(reason, "nr_hugepages"));
			continue;
		}
		assert_int_equal(made, MAPPING_OK);
		assert_true(((uintptr_t)m.base & (mapping_table_span() - 1)) == 0);
		assert_int_equal(mapping_check(&m, false, 0), 0);

		struct fork_sample f;
		assert_int_equal(fork_sample(report, &m, CHILD_READ, 30, &f, err), 0);
		assert_int_equal(f.wrong, 0);             /* the child saw the parent's values */
		assert_true(f.return_ns > 0 && f.child_start_ns > 0);

		assert_int_equal(fork_sample(report, &m, CHILD_WRITE, 30, &f, err), 0);
		/* Shared: the parent now sees the complement the child wrote;
		 * private: copy-on-write kept its own values. */
		assert_int_equal(mapping_check(&m, k->shared, 0), 0);
		assert_int_equal(mapping_check(&m, !k->shared, 0), m.bytes / m.base_page_bytes);
		mapping_destroy(&m);
	}
}

static void a_wrong_value_is_caught(void **state)
{
	(void)state;
	char reason[ERRLEN], err[ERRLEN];
	struct mapping m;
	assert_int_equal(mapping_create(&mapping_private_touched, 16 * (size_t)sysconf(_SC_PAGESIZE),
					&m, reason), MAPPING_OK);
	*(uint64_t *)(m.base + 3 * m.base_page_bytes) ^= 1;
	struct fork_sample f;
	assert_int_equal(fork_sample(report, &m, CHILD_READ, 30, &f, err), 0);
	assert_int_equal(f.wrong, 1);
	mapping_destroy(&m);
}

static void sizes_that_do_not_fit_the_kind_are_skipped(void **state)
{
	(void)state;
	char reason[ERRLEN];
	struct mapping m;
	size_t huge = mapping_kind_page_bytes(&mapping_private_thp);
	if (huge == 0)
		skip();
	assert_int_equal(mapping_create(&mapping_private_thp, huge / 2, &m, reason), MAPPING_SKIPPED);
	assert_non_null(strstr(reason, "not a whole number"));
}

static long long child_vmpte_with(const struct mapping_kind *k, size_t bytes)
{
	char reason[ERRLEN], err[ERRLEN];
	struct mapping m;
	struct fork_sample f;
	struct mapping *mp = NULL;
	if (k) {
		assert_int_equal(mapping_create(k, bytes, &m, reason), MAPPING_OK);
		mp = &m;
	}
	assert_int_equal(fork_sample(report, mp, CHILD_VMPTE, 30, &f, err), 0);
	if (k)
		mapping_destroy(&m);
	assert_true(f.child_vmpte_bytes > 0);
	return f.child_vmpte_bytes;
}

/* 256 MiB of 4 KiB pages need 512 KiB of PTE pages: a difference no noise
 * of a few page-table pages can fake or hide. */
static void fork_copies_page_tables_of_private_memory_only(void **state)
{
	(void)state;
	const size_t bytes = 256ull << 20;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	long long tables = (long long)pagetable_model_bytes(bytes, page);
	long long available = meminfo_field("MemAvailable");
	if (available >= 0 && (uint64_t)available < 4 * bytes)
		skip();
	long long none = child_vmpte_with(NULL, 0);
	long long private = child_vmpte_with(&mapping_private_touched, bytes);
	long long shared = child_vmpte_with(&mapping_shared_anon, bytes);
	print_message("child VmPTE: no mapping %lld KiB, 256 MiB private touched %lld KiB, "
		      "shared %lld KiB (PTEs of 256 MiB: %lld KiB)\n", none >> 10, private >> 10,
		      shared >> 10, tables >> 10);
	assert_true(private - none >= tables * 9 / 10);
	/* A quarter, not zero: built with AddressSanitizer the parent also
	 * holds the mapping's shadow (an eighth of its size), whose page
	 * tables are private and copied. */
	assert_true(shared - none < tables / 4);
}

static void a_sysv_segment_is_gone_once_detached(void **state)
{
	(void)state;
	char reason[ERRLEN];
	struct mapping m;
	struct shmid_ds ds;
	assert_int_equal(mapping_create(&mapping_sysv_shm, 4 * (size_t)sysconf(_SC_PAGESIZE), &m,
					reason), MAPPING_OK);
	int id = m.shmid;
	/* Marked for removal from the start: no crash can leak it. */
	assert_int_equal(shmctl(id, IPC_STAT, &ds), 0);
	assert_true(ds.shm_perm.mode & SHM_DEST);
	mapping_destroy(&m);
	assert_int_equal(shmctl(id, IPC_STAT, &ds), -1);
}

static void reaping_gives_up_on_a_stuck_child(void **state)
{
	(void)state;
	char err[ERRLEN];
	int status;
	struct rusage usage;
	pid_t pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(reap_child(pid, 0.2, &status, &usage, err), -1);
	assert_non_null(strstr(err, "did not finish"));
	assert_int_equal(waitpid(pid, &status, WNOHANG), -1); /* already reaped */
	assert_int_equal(errno, ECHILD);
}

static void every_spawn_method_runs_a_program(void **state)
{
	(void)state;
	char path[4096], err[ERRLEN];
	assert_int_equal(find_exec_target(path, sizeof path, err), 0);
	for (int method = 0; method < SPAWN_METHODS; method++) {
		double ns = 0;
		assert_int_equal(spawn_sample(method, path, 30, &ns, err), 0);
		assert_true(ns > 0);
	}
	assert_int_equal(spawn_sample(SPAWN_POSIX_SPAWN, "/nonexistent/program", 30, &(double){ 0 }, err), -1);
}

static void the_census_matches_the_page_table_model(void **state)
{
	(void)state;
	char reason[ERRLEN];
	struct pagetable_census pc;
	struct census_segment seg;
	const uint64_t segment = 8ull << 20;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	assert_int_equal(census_segment_open(&seg, false, segment, reason), 0);
	assert_int_equal(pagetable_census(&seg, 2, 60, &pc, reason), 0);
	long long model = (long long)pagetable_model_bytes(segment, page);
	/* Every process holds the model's tables: the PTE pages of 8 MiB and
	 * the PMD page above them (the segment has its own table span). */
	assert_int_equal(pc.vmpte_growth_median, model);
	assert_int_equal(pc.vmpte_after - pc.vmpte_before, 2 * model);
	assert_int_equal(pc.wrong, 0);
	assert_false(pc.tables_shared);
	/* The same segment again: the census leaves nothing mapped behind. */
	assert_int_equal(pagetable_census(&seg, 1, 60, &pc, reason), 0);
	assert_int_equal(pc.vmpte_growth_median, model);
	census_segment_close(&seg);

	int rc = census_segment_open(&seg, true, segment, reason);
	if (rc == 1) {
		assert_non_null(strstr(reason, "nr_hugepages"));
		return;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(pagetable_census(&seg, 2, 60, &pc, reason), 0);
	assert_int_equal(pc.vmpte_growth_median, (long long)pagetable_model_bytes(segment, pc.page_bytes));
	assert_int_equal(pc.wrong, 0);
	census_segment_close(&seg);
}

static void sizes_parse_as_people_write_them(void **state)
{
	(void)state;
	char err[ERRLEN], text[32];
	uint64_t b;
	assert_int_equal(parse_bytes("64M", &b, err), 0);
	assert_int_equal(b, 64ull << 20);
	assert_int_equal(parse_bytes("1GiB", &b, err), 0);
	assert_int_equal(b, 1ull << 30);
	assert_int_equal(parse_bytes("1.5K", &b, err), 0);
	assert_int_equal(b, 1536);
	assert_int_equal(parse_bytes("0", &b, err), 0);
	assert_int_equal(b, 0);
	assert_int_equal(parse_bytes("-1M", &b, err), -1);
	assert_int_equal(parse_bytes("12Q", &b, err), -1);
	assert_string_equal(format_bytes(1ull << 30, text, sizeof text), "1 GiB");
	assert_string_equal(format_bytes(3 << 19, text, sizeof text), "1.5 MiB");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_kind_keeps_its_data_across_fork),
		cmocka_unit_test(a_wrong_value_is_caught),
		cmocka_unit_test(sizes_that_do_not_fit_the_kind_are_skipped),
		cmocka_unit_test(fork_copies_page_tables_of_private_memory_only),
		cmocka_unit_test(a_sysv_segment_is_gone_once_detached),
		cmocka_unit_test(reaping_gives_up_on_a_stuck_child),
		cmocka_unit_test(every_spawn_method_runs_a_program),
		cmocka_unit_test(the_census_matches_the_page_table_model),
		cmocka_unit_test(sizes_parse_as_people_write_them),
	};
	return cmocka_run_group_tests(tests, open_report, close_report);
}
