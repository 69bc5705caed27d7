/* Results directories: meta.json and topology.txt written, read back, and
 * refused when they cannot be written; the latency plan round-trips through
 * meta.json (what --resume relies on). */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/common.h"
#include "experiments/latency/latency.h"
#include "harness/results.h"
#include "kernels/registry.h"
#include "tests/unit/runnable_kernel.h"

#define TMPDIR_NAME "results"
#include "tests/unit/tmpdir.h"

static void load_fixture(struct topology *t)
{
	char path[PATH_MAX], err[ERRLEN];
	const char *src = getenv("COHMAP_SRCDIR");
	snprintf(path, sizeof path, "%s/topology/fixtures/intel-2s-smt.topo", src ? src : ".");
	if (topology_load(t, path, err) != 0)
		fail_msg("%s", err);
}

static void meta_json_round_trips(void **state)
{
	(void)state;
	struct topology t;
	struct run r;
	struct clock_info clock = { .source = "test clock", .ns_per_tick = 0.5, .overhead_ns = 20 };
	char err[ERRLEN], dir[PATH_MAX], path[PATH_MAX];
	char *argv[] = { "cohmap", "latency", "-c", "0,1" };

	load_fixture(&t);
	snprintf(dir, sizeof dir, "%s/run", tmpdir);
	assert_int_equal(run_begin(&r, dir, &t, &clock, 4, argv, true, err), 0);
	run_warn(&r, "drift: a test warning with \"quotes\", commas, and a\\backslash");
	assert_int_equal(run_end(&r, "complete"), 0);
	run_free(&r);

	snprintf(path, sizeof path, "%s/meta.json", dir);
	json_t *meta = json_load_object(path, err);
	assert_non_null(meta);
	assert_string_equal(json_string_value(json_object_get(meta, "status")), "complete");
	assert_string_equal(json_string_value(json_array_get(json_object_get(meta, "command"), 3)), "0,1");
	assert_string_equal(json_string_value(json_array_get(json_object_get(meta, "warnings"), 0)),
			    "drift: a test warning with \"quotes\", commas, and a\\backslash");
	json_t *machine = json_object_get(meta, "machine");
	assert_string_equal(json_string_value(json_object_get(machine, "cpu_model")),
			    "Intel(R) Xeon(R) Silver 4114 CPU @ 2.20GHz");
	assert_int_equal(json_integer_value(json_object_get(machine, "line_size")), 64);
	json_t *cpus = json_object_get(json_object_get(meta, "topology"), "cpus");
	assert_int_equal(json_array_size(cpus), 40);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(cpus, 20), "socket")), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(meta, "clock"), "source")),
			    "test clock");
	json_decref(meta);

	/* topology.txt is the same topology */
	struct topology back;
	snprintf(path, sizeof path, "%s/topology.txt", dir);
	assert_int_equal(topology_load(&back, path, err), 0);
	assert_int_equal(back.ncpus, 40);
	assert_int_equal(topology_pair_class(&back, 0, 20), PAIR_SMT);
	topology_free(&back);

	/* an existing directory is never reused */
	load_fixture(&t);
	assert_int_equal(run_begin(&r, dir, &t, &clock, 4, argv, true, err), -1);
	assert_non_null(strstr(err, "File exists"));
	run_free(&r);
	topology_free(&t);
}

static void an_unwritable_place_leaves_nothing(void **state)
{
	(void)state;
	struct topology t;
	struct run r;
	struct clock_info clock = { .source = "test clock", .ns_per_tick = 1 };
	char err[ERRLEN];
	char *argv[] = { "cohmap" };
	load_fixture(&t);
	assert_int_equal(run_begin(&r, "/proc/cohmap-test/run", &t, &clock, 1, argv, true, err), -1);
	assert_non_null(strstr(err, "cannot create"));
	run_free(&r);
	topology_free(&t);
}

static void a_latency_plan_round_trips_through_meta(void **state)
{
	(void)state;
	struct topology t;
	char err[ERRLEN];
	load_fixture(&t);
	/* The fixture's CPUs are not this machine's: mark two usable so the
	 * plan can name them. */
	for (int i = 0; i < t.ncpus; i++)
		t.cpus[i].online = t.cpus[i].allowed = true;
	const struct kernel *cas = runnable_kernel("cas_bounce");
	char text[1024];
	snprintf(text, sizeof text,
		"{\"experiments\": {\"latency\": {\"kernels\": [\"%s\", \"load_store\"],"
		" \"cpus_topology_order\": [0, 20, 1], \"home\": \"second\", \"home_node\": -1,"
		" \"seed\": 99, \"pause\": true, \"fixed_samples\": 0, \"precision\": 0.02,"
		" \"time_limit_s\": 0.1, \"sample_target_ns\": 50000, \"watchdog_s\": 1,"
		" \"statistic_plotted\": \"min\"}}}", cas->name);
	json_t *meta = json_loads(text, 0, NULL);
	const struct kernel *kernels[16];
	int cpus[64];
	struct latency_plan p = { .kernels = kernels, .cpus = cpus };
	assert_int_equal(latency_plan_from_meta(meta, &t, &p, err), 0);
	assert_int_equal(p.nkernels, 2);
	assert_ptr_equal(p.kernels[0], cas);
	assert_int_equal(p.ncpus, 3);
	assert_int_equal(p.cpus[1], 20);
	assert_int_equal(p.home, HOME_SECOND);
	assert_int_equal(p.seed, 99);
	assert_true(p.measure.pause);
	assert_string_equal(p.stat, "min");
	assert_int_equal(p.measure.line_size, 64);
	assert_true(p.resume);
	json_decref(meta);

	meta = json_loads("{\"experiments\": {\"latency\": {\"kernels\": [\"no_such_kernel\"]}}}", 0, NULL);
	assert_int_equal(latency_plan_from_meta(meta, &t, &p, err), -1);
	json_decref(meta);
	topology_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(meta_json_round_trips),
		cmocka_unit_test(an_unwritable_place_leaves_nothing),
		cmocka_unit_test(a_latency_plan_round_trips_through_meta),
	};
	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
