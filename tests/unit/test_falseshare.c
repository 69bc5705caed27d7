/* The false-sharing experiment: the update loops check their own counters,
 * real runs on this machine's first two CPUs verify every thread's counter
 * against its ops at every distance and kind, placements on the fixtures,
 * the budget, and the plot files drawn from a CSV. Nothing here depends on
 * how fast anything is. */
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "experiments/falseshare/falseshare.h"
#include "experiments/falseshare/falseshare_plot.h"

static struct clock_info clock_;
static int cpus[2] = { -1, -1 };

static int setup(void **state)
{
	(void)state;
	clock_calibrate(&clock_);
	cpu_set_t allowed;
	sched_getaffinity(0, sizeof allowed, &allowed);
	int n = 0;
	for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
		if (CPU_ISSET(c, &allowed))
			cpus[n++] = c;
	return n == 2 ? 0 : -1;
}

/* ---- the kernels on their own ---- */

static void each_kind_counts_exactly_its_own_updates(void **state)
{
	(void)state;
	static _Alignas(128) fs_counter counters[64];
	for (int k = 0; k < fs_kind_count; k++) {
		const struct fs_kind *kind = fs_kind_registry[k];
		for (int role = 0; role < FS_ROLE_COUNT; role++) {
			if (kind->run[role] == NULL)
				continue;
			struct fs_agent a;
			fs_agent_init(&a, &counters[0], false, role, 0xfa15e000u);
			/* in several calls, as the harness's chunks make them */
			assert_int_equal(kind->run[role](&a, 1000), KERNEL_OK);
			assert_int_equal(kind->run[role](&a, 234), KERNEL_OK);
			assert_int_equal(a.ops, 1234);
			uint32_t word = atomic_load(&counters[0]);
			assert_int_equal(word, role == FS_READER ? 0xfa15e000u : 1234);
			assert_int_equal(kind->check_own(&a), KERNEL_OK);
			/* a stray write into the counter is caught */
			atomic_store(&counters[0], word + 7);
			assert_int_equal(kind->check_own(&a), KERNEL_WRONG_DATA);
		}
	}
}

static void a_neighbour_writing_into_the_counter_is_caught_while_running(void **state)
{
	(void)state;
	static _Alignas(128) fs_counter counter;
	struct fs_agent a;
	fs_agent_init(&a, &counter, false, FS_UPDATER, 0);
	assert_int_equal(fs_kind_fetch_add.run[FS_UPDATER](&a, 10), KERNEL_OK);
	atomic_fetch_add(&counter, 1); /* someone else's add */
	assert_int_equal(fs_kind_fetch_add.run[FS_UPDATER](&a, 1), KERNEL_WRONG_DATA);

	fs_agent_init(&a, &counter, false, FS_READER, 42);
	assert_int_equal(fs_kind_writer_readers.run[FS_READER](&a, 10), KERNEL_OK);
	atomic_store(&counter, 43);
	assert_int_equal(fs_kind_writer_readers.run[FS_READER](&a, 1), KERNEL_WRONG_DATA);
}

static void one_shared_word_holds_what_all_threads_did(void **state)
{
	(void)state;
	static _Alignas(128) fs_counter word;
	struct fs_agent a, b;
	const struct fs_agent *both[2] = { &a, &b };

	fs_agent_init(&a, &word, true, FS_UPDATER, 0);
	fs_agent_init(&b, &word, true, FS_UPDATER, 0);
	atomic_store(&word, 0);
	assert_int_equal(fs_kind_fetch_add.run[FS_UPDATER](&a, 500), KERNEL_OK);
	assert_int_equal(fs_kind_fetch_add.run[FS_UPDATER](&b, 700), KERNEL_OK);
	assert_int_equal(atomic_load(&word), 1200);
	assert_int_equal(fs_kind_fetch_add.check_shared(1200, both, 2), KERNEL_OK);
	assert_int_equal(fs_kind_fetch_add.check_shared(1199, both, 2), KERNEL_WRONG_DATA);

	/* stores: the word ends as whichever thread stored last */
	fs_agent_init(&a, &word, true, FS_UPDATER, 0);
	fs_agent_init(&b, &word, true, FS_UPDATER, 0);
	assert_int_equal(fs_kind_store.run[FS_UPDATER](&a, 300), KERNEL_OK);
	assert_int_equal(fs_kind_store.run[FS_UPDATER](&b, 100), KERNEL_OK);
	assert_int_equal(fs_kind_store.check_shared(atomic_load(&word), both, 2), KERNEL_OK);
	assert_int_equal(fs_kind_store.check_shared(250, both, 2), KERNEL_WRONG_DATA);

	/* a reader of the writer's word sees it only grow */
	fs_agent_init(&a, &word, true, FS_WRITER, 0);
	fs_agent_init(&b, &word, true, FS_READER, 0);
	assert_int_equal(fs_kind_writer_readers.run[FS_WRITER](&a, 50), KERNEL_OK);
	assert_int_equal(fs_kind_writer_readers.run[FS_READER](&b, 10), KERNEL_OK);
	assert_int_equal(b.last_seen, 50);
	assert_int_equal(fs_kind_writer_readers.check_shared(50, both, 2), KERNEL_OK);
	atomic_store(&word, 20); /* went backwards */
	assert_int_equal(fs_kind_writer_readers.run[FS_READER](&b, 1), KERNEL_WRONG_DATA);
}

static void the_fix_workload_checks_its_struct(void **state)
{
	(void)state;
	struct worker_stats s;
	struct tally_state st;
	fs_workload_worker_stats.init(&s, &st, 7);
	fs_workload_worker_stats.tally(&s, &st, 1000);
	assert_int_equal(atomic_load(&s.items), 1000);
	assert_int_equal(st.items, 1000);
	assert_true(st.total > 0);
	assert_int_equal(fs_workload_worker_stats.check(&s, &st), KERNEL_OK);
	atomic_fetch_add(&s.total, 1);
	assert_int_equal(fs_workload_worker_stats.check(&s, &st), KERNEL_WRONG_DATA);
}

/* ---- real runs: every distance and kind, every counter verified ---- */

static void every_kind_and_distance_runs_and_verifies_each_counter(void **state)
{
	(void)state;
	static const size_t distances[] = { 0, 4, 8, 16, 32, 64, 128, 256 };
	for (int k = 0; k < fs_kind_count; k++)
		for (size_t d = 0; d < sizeof distances / sizeof distances[0]; d++) {
			struct fs_thread_result res[2];
			char reason[ERRLEN];
			int home;
			struct fs_run_request q = {
				.kind = fs_kind_registry[k], .cpus = cpus, .n = 2,
				.stride = distances[d], .line_size = 64, .run_ms = 1,
				.home_node = -1, .watchdog_s = 60, .clock = &clock_,
			};
			/* FS_RUN_OK means fs_run checked every thread's counter
			 * against the operations it counted (or the shared word
			 * against all of them) */
			enum fs_run_status st = fs_run(&q, res, &home, reason);
			if (st != FS_RUN_OK)
				fail_msg("%s at %zu B: %s", fs_kind_registry[k]->name, distances[d],
					 reason);
			for (int i = 0; i < 2; i++) {
				assert_true(res[i].ops > 0);
				assert_true(res[i].seconds > 0);
			}
		}
}

static void the_fix_demo_does_the_same_work_packed_and_padded(void **state)
{
	(void)state;
	for (int padded = 0; padded < 2; padded++) {
		struct fs_thread_result res[2];
		char reason[ERRLEN];
		int home;
		struct fs_run_request q = {
			.workload = &fs_workload_worker_stats, .cpus = cpus, .n = 2,
			.stride = padded ? 128 : fs_workload_worker_stats.struct_bytes,
			.line_size = 64, .items = 20000, .home_node = -1, .watchdog_s = 60,
			.clock = &clock_,
		};
		assert_int_equal(fs_run(&q, res, &home, reason), FS_RUN_OK);
		assert_int_equal(res[0].ops, 20000);
		assert_int_equal(res[1].ops, 20000);
	}
}

/* Shared memory of this process that outlives a run: a SysV attachment, a
 * POSIX shm file or a memfd still mapped (all show in /proc/self/maps). */
static int leftover_shared_mappings(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;
	while (f && fgets(line, sizeof line, f))
		n += strstr(line, "SYSV") != NULL || strstr(line, "/dev/shm/") != NULL ||
		     strstr(line, "memfd:cohmap") != NULL;
	if (f)
		fclose(f);
	return n;
}

/* The agents as processes: each child's updates must reach the parent
 * through the shared memory kind, so the totals the parent reads are the
 * children's work: at distance 0 the one word holds every fetch_add of both,
 * apart each counter holds its own process's count. */
static void processes_share_the_counters_through_each_kind(void **state)
{
	(void)state;
	static const enum agent_kind kinds[] = { AGENTS_FORK_SHARED, AGENTS_SYSV, AGENTS_POSIX,
						 AGENTS_MEMFD };
	int before = leftover_shared_mappings();
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
		for (size_t stride = 0; stride <= 8; stride += 8) {
			struct fs_thread_result res[2];
			char reason[ERRLEN];
			int home;
			struct fs_run_request q = {
				.kind = &fs_kind_fetch_add, .cpus = cpus, .n = 2, .stride = stride,
				.line_size = 64, .run_ms = 1, .home_node = -1, .watchdog_s = 60,
				.clock = &clock_, .agents = kinds[k],
			};
			enum fs_run_status st = fs_run(&q, res, &home, reason);
			if (st != FS_RUN_OK)
				fail_msg("%s at %zu B: %s", agent_kind_name(kinds[k]), stride, reason);
			assert_true(res[0].ops > 0 && res[1].ops > 0);
			if (stride == 0) {
				assert_int_equal(res[0].counter, (uint32_t)(res[0].ops + res[1].ops));
				assert_int_equal(res[1].counter, res[0].counter);
			} else {
				assert_int_equal(res[0].counter, (uint32_t)res[0].ops);
				assert_int_equal(res[1].counter, (uint32_t)res[1].ops);
			}
		}
	/* the fix demo's fixed work, in SysV memory */
	struct fs_thread_result res[2];
	char reason[ERRLEN];
	int home;
	struct fs_run_request q = {
		.workload = &fs_workload_worker_stats, .cpus = cpus, .n = 2,
		.stride = fs_workload_worker_stats.struct_bytes, .line_size = 64, .items = 20000,
		.home_node = -1, .watchdog_s = 60, .clock = &clock_, .agents = AGENTS_SYSV,
	};
	assert_int_equal(fs_run(&q, res, &home, reason), FS_RUN_OK);
	assert_int_equal(res[0].ops, 20000);
	assert_int_equal(res[1].counter, 20000);
	assert_int_equal(leftover_shared_mappings(), before);
}

static void disturbance_is_named(void **state)
{
	(void)state;
	char why[ERRLEN];
	int ids[2] = { 3, 5 };
	struct fs_thread_result calm[2] = {
		{ .ops = 10, .seconds = 0.02, .start_s = 0, .on_cpu = 1.0 },
		{ .ops = 10, .seconds = 0.02, .start_s = 0.0001, .on_cpu = 0.99 },
	};
	assert_false(fs_run_disturbed(calm, 2, ids, true, why, sizeof why));
	struct fs_thread_result busy[2] = {
		{ .ops = 10, .seconds = 0.02, .start_s = 0, .on_cpu = 1.0 },
		{ .ops = 10, .seconds = 0.02, .start_s = 0, .on_cpu = 0.4 },
	};
	assert_true(fs_run_disturbed(busy, 2, ids, true, why, sizeof why));
	assert_non_null(strstr(why, "CPU 5 ran only 40%"));
	struct fs_thread_result late[2] = {
		{ .ops = 10, .seconds = 0.02, .start_s = 0, .on_cpu = 1.0 },
		{ .ops = 10, .seconds = 0.01, .start_s = 0.015, .on_cpu = 1.0 },
	};
	assert_true(fs_run_disturbed(late, 2, ids, true, why, sizeof why));
	assert_non_null(strstr(why, "together"));
	/* fixed work ends when it is done, not together */
	assert_false(fs_run_disturbed(late, 2, ids, false, why, sizeof why));
}

/* ---- placements on the fixtures ---- */

static void load_fixture(const char *name, struct topology *t)
{
	char path[PATH_MAX], err[ERRLEN];
	const char *src = getenv("COHMAP_SRCDIR");
	snprintf(path, sizeof path, "%s/topology/fixtures/%s", src ? src : ".", name);
	if (topology_load(t, path, err) != 0)
		fail_msg("%s", err);
}

static const struct cpu_place *at(const struct topology *t, int cpu)
{
	return topology_find(t, cpu);
}

static void placements_follow_the_topology(void **state)
{
	(void)state;
	struct topology t;
	int all[128], out[128], n;
	char why[ERRLEN];

	/* two sockets, one L3 group each, 2-way SMT */
	load_fixture("intel-2s-smt.topo", &t);
	n = topology_usable(&t, all, 128);
	assert_int_equal(fs_place(&t, all, n, FS_SMT, 4, out, why), 2); /* a core has 2 */
	assert_int_equal(at(&t, out[0])->core, at(&t, out[1])->core);
	assert_int_equal(fs_place(&t, all, n, FS_L3, 4, out, why), 4);
	for (int i = 1; i < 4; i++) {
		assert_int_equal(at(&t, out[i])->l3_group, at(&t, out[0])->l3_group);
		for (int j = 0; j < i; j++) /* distinct cores while there are cores */
			assert_int_not_equal(at(&t, out[i])->core, at(&t, out[j])->core);
	}
	assert_int_equal(fs_place(&t, all, n, FS_SPREAD_L3, 4, out, why), 0);
	assert_non_null(strstr(why, "two L3 groups"));
	assert_int_equal(fs_place(&t, all, n, FS_CROSS_SOCKET, 4, out, why), 4);
	assert_int_not_equal(at(&t, out[0])->socket, at(&t, out[1])->socket);
	assert_int_not_equal(at(&t, out[2])->socket, at(&t, out[3])->socket);
	topology_free(&t);

	/* two sockets of four L3 groups (CCXs) each */
	load_fixture("amd-2s-ccx.topo", &t);
	n = topology_usable(&t, all, 128);
	assert_int_equal(fs_place(&t, all, n, FS_SPREAD_L3, 4, out, why), 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(at(&t, out[i])->socket, at(&t, out[0])->socket);
		for (int j = 0; j < i; j++)
			assert_int_not_equal(at(&t, out[i])->l3_group, at(&t, out[j])->l3_group);
	}
	assert_int_equal(fs_place(&t, all, n, FS_L3, 2, out, why), 2);
	assert_int_equal(topology_pair_class(&t, out[0], out[1]), PAIR_L3);
	/* a selection of two CPUs in different L3 groups of one socket */
	int two[2] = { 0, 4 };
	assert_int_equal(fs_place(&t, two, 2, FS_L3, 2, out, why), 0);
	assert_int_equal(fs_place(&t, two, 2, FS_CROSS_SOCKET, 2, out, why), 0);
	assert_non_null(strstr(why, "one socket"));
	assert_int_equal(fs_place(&t, two, 2, FS_SPREAD_L3, 2, out, why), 2);
	topology_free(&t);
}

/* ---- the budget ---- */

static void a_small_budget_shrinks_the_plan_and_says_how(void **state)
{
	(void)state;
	static int group[2] = { 0, 1 }, pairs[2 * 4950], class_pairs[4] = { 0, 1, 0, 2 };
	struct falseshare_plan p = {
		.nkinds = 3, .kinds = { &fs_kind_store, &fs_kind_fetch_add, &fs_kind_writer_readers },
		.ndistances = 8, .distances = { 0, 4, 8, 16, 32, 64, 128, 256 },
		.npairs = 4950, .pair_cpus = pairs, .nclass_pairs = 2, .class_pairs = class_pairs,
		.rounds = 5, .run_ms = 20, .line_size = 64, .padded_stride = 128, .fix_group = FS_L3,
	};
	p.groups[FS_L3] = (struct fs_group){ .requested = true, .n = 2, .cpus = group };
	double before = fs_estimate_s(&p, 0.001);
	assert_true(before > 1000);
	double after = fs_fit_budget(&p, 20, 0.001);
	assert_true(after <= 20 * 0.8);
	assert_true(p.rounds <= 3);
	assert_int_equal(p.npairs, 2);
	assert_non_null(strstr(p.reductions, "one per pair class"));
	/* the distances that carry the story survive */
	bool has[4] = { false };
	for (int i = 0; i < p.ndistances; i++) {
		has[0] |= p.distances[i] == 0;
		has[1] |= p.distances[i] == 8;
		has[2] |= p.distances[i] == 64;
		has[3] |= p.distances[i] == 128;
	}
	assert_true(has[0] && has[1] && has[2] && has[3]);

	/* a generous budget changes nothing */
	struct falseshare_plan q = p;
	q.reductions[0] = '\0';
	fs_fit_budget(&q, 1e6, 0.001);
	assert_string_equal(q.reductions, "");
	assert_int_equal(q.rounds, p.rounds);
}

/* ---- the plot files ---- */

static void plot_files_come_from_the_csv(void **state)
{
	(void)state;
	char dir[] = "/tmp/cohmap test falseshare XXXXXX", path[PATH_MAX], err[ERRLEN], line[512];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/falseshare.csv", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("sweep,placement,kind,role,cpu,cpus,distance_bytes,line_size_bytes,status,slowdown,"
	      "false_shared_events_per_op\n", f);
	static const char *const rows[] = {
		"distance,l3,store,updater,0,0 1,0,64,ok,3.0,NA",
		"distance,l3,store,updater,1,0 1,0,64,ok,5.0,NA",
		"distance,l3,store,updater,0,0 1,8,64,ok,4.0,2.5",
		"distance,l3,store,updater,1,0 1,8,64,ok,6.0,3.5",
		"distance,l3,store,updater,0,0 1,128,64,ok,1.0,NA",
		"distance,l3,store,updater,1,0 1,128,64,failed,NA,NA",
		"distance,l3,writer_readers,reader,1,0 1,8,64,ok,9.0,NA",
		"pairs,pair,fetch_add,updater,0,0 1,8,64,ok,2.5,NA",
		"pairs,pair,fetch_add,updater,1,0 1,8,64,ok,1.5,NA",
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		fprintf(f, "%s\n", rows[i]);
	fclose(f);

	struct topology t;
	load_fixture("intel-2s-smt.topo", &t);
	struct fs_plots drawn;
	assert_int_equal(plot_falseshare(dir, &t, false, &drawn, err), 2);
	assert_false(drawn.distance); /* not drawn: only the files */

	snprintf(path, sizeof path, "%s/falseshare-distance.dat", dir);
	f = fopen(path, "r");
	assert_non_null(f);
	int blocks = 0;
	bool median8 = false, range8 = false, shared_left = false;
	while (fgets(line, sizeof line, f)) {
		blocks += line[0] == '"';
		/* d = 8: median of 4 and 6, range 4..6, events median 3 */
		median8 |= strncmp(line, "3.0000 8 5 4 6 3 0 0 64 \"8\"", 27) == 0;
		range8 |= strstr(line, " 8 5 4 6 ") != NULL;
		/* the shared word sits 1.5 steps left of the smallest distance */
		shared_left |= strncmp(line, "1.5000 0 4 3 5 NaN", 18) == 0;
	}
	fclose(f);
	assert_int_equal(blocks, 2); /* store; writer_readers reader */
	assert_true(median8);
	assert_true(range8);
	assert_true(shared_left);

	snprintf(path, sizeof path, "%s/falseshare-pairs.dat", dir);
	f = fopen(path, "r");
	assert_non_null(f);
	bool cell01 = false, cell10 = false, diagonal_nan = false;
	while (fgets(line, sizeof line, f)) {
		cell01 |= strcmp(line, "1 0 2.5\n") == 0;  /* thread on 0, neighbour on 1 */
		cell10 |= strcmp(line, "0 1 1.5\n") == 0;
		diagonal_nan |= strcmp(line, "0 0 NaN\n") == 0;
	}
	fclose(f);
	assert_true(cell01 && cell10 && diagonal_nan);

	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
			unlink(path);
		}
	if (d)
		closedir(d);
	rmdir(dir);
	topology_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(each_kind_counts_exactly_its_own_updates),
		cmocka_unit_test(a_neighbour_writing_into_the_counter_is_caught_while_running),
		cmocka_unit_test(one_shared_word_holds_what_all_threads_did),
		cmocka_unit_test(the_fix_workload_checks_its_struct),
		cmocka_unit_test(every_kind_and_distance_runs_and_verifies_each_counter),
		cmocka_unit_test(the_fix_demo_does_the_same_work_packed_and_padded),
		cmocka_unit_test(processes_share_the_counters_through_each_kind),
		cmocka_unit_test(disturbance_is_named),
		cmocka_unit_test(placements_follow_the_topology),
		cmocka_unit_test(a_small_budget_shrinks_the_plan_and_says_how),
		cmocka_unit_test(plot_files_come_from_the_csv),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
