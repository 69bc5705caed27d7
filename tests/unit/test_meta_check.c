/* meta.json as plot, report and compare read it back: a run's own passes,
 * each member of the wrong type is named with where it is. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/common.h"
#include "experiments/experiment.h"
#include "harness/meta_check.h"
#include "harness/results.h"

#define TMPDIR_NAME "meta-check"
#include "tests/unit/tmpdir.h"

/* Every member run_begin writes, a warning, an experiment described as the
 * experiments are, a resumption and the final status. */
static void the_meta_json_of_a_run_passes(void **state)
{
	(void)state;
	struct topology t;
	struct run r;
	struct clock_info clock = { .source = "test clock", .ns_per_tick = 0.5, .overhead_ns = 20 };
	char err[ERRLEN], dir[PATH_MAX], path[PATH_MAX];
	char *argv[] = { "cohmap", "latency" };
	const char *src = getenv("COHMAP_SRCDIR");

	snprintf(path, sizeof path, "%s/topology/fixtures/intel-2s-smt.topo", src ? src : ".");
	if (topology_load(&t, path, err) != 0)
		fail_msg("%s", err);
	snprintf(dir, sizeof dir, "%s/run", tmpdir);
	assert_int_equal(run_begin(&r, dir, &t, &clock, 2, argv, true, err), 0);
	run_warn(&r, "a warning");
	const char *csv[] = { "latency.csv", NULL }, *plots[] = { "latency-load_store.png", NULL };
	experiment_describe(&r, "latency", csv, plots, "48 ns");
	json_object_set_new(json_object_get(json_object_get(r.meta, "experiments"), "latency"),
			    "status", json_string("interrupted"));
	assert_int_equal(run_end(&r, "interrupted"), 0);
	run_free(&r);

	snprintf(path, sizeof path, "%s/meta.json", dir);
	json_t *meta = meta_load_checked(path, err);
	if (meta == NULL)
		fail_msg("%s", err);
	json_decref(meta);

	assert_int_equal(run_reopen(&r, dir, &t, &clock, 2, argv, true, err), 0);
	assert_int_equal(run_end(&r, "complete"), 0);
	run_free(&r);
	if ((meta = meta_load_checked(path, err)) == NULL)
		fail_msg("after a resumption: %s", err);
	json_decref(meta);
}

static void each_wrong_member_is_named(void **state)
{
	(void)state;
	static const struct {
		const char *json, *message;
	} cases[] = {
		{ "{\"warnings\": []}", "x/meta.json: no \"experiments\" member" },
		{ "{\"experiments\": {}}", "x/meta.json: no \"warnings\" member" },
		{ "{\"experiments\": [], \"warnings\": []}",
		  "x/meta.json: experiments must be an object (it is a list)" },
		{ "{\"experiments\": {\"latency\": 3}, \"warnings\": []}",
		  "x/meta.json: experiments.latency must be an object (it is a whole number)" },
		{ "{\"experiments\": {\"latency\": {\"csv\": [\"a.csv\", 7]}}, \"warnings\": []}",
		  "x/meta.json: experiments.latency.csv[1] must be a string (it is a whole number)" },
		{ "{\"experiments\": {}, \"warnings\": [null]}",
		  "x/meta.json: warnings[0] must be a string (it is null)" },
		{ "{\"experiments\": {}, \"warnings\": [], \"machine\": {\"family\": 2.5}}",
		  "x/meta.json: machine.family must be a whole number (it is a number)" },
		{ "{\"experiments\": {}, \"warnings\": [], \"clock\": {\"ns_per_tick\": \"0.4\"}}",
		  "x/meta.json: clock.ns_per_tick must be a number (it is a string)" },
		{ "{\"experiments\": {}, \"warnings\": [], \"topology\": {\"cpus\": [{\"online\": 1}]}}",
		  "x/meta.json: topology.cpus[0].online must be true or false (it is a whole number)" },
		{ "{\"experiments\": {\"a\\nb\": []}, \"warnings\": []}",
		  "x/meta.json: experiments.a?b must be an object (it is a list)" },
		{ "[]", "x/meta.json: not a JSON object" },
	};
	char err[ERRLEN];
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_error_t jerr;
		json_t *j = json_loads(cases[i].json, 0, &jerr);
		if (j == NULL)
			fail_msg("case %zu: %s", i, jerr.text);
		err[0] = '\0';
		assert_int_equal(meta_check(j, "x/meta.json", err), -1);
		if (strncmp(err, cases[i].message, strlen(cases[i].message)) != 0)
			fail_msg("case %zu: '%s', expected '%s'", i, err, cases[i].message);
		json_decref(j);
	}
	/* what a run may lack: everything but experiments and warnings */
	json_t *minimal = json_loads("{\"experiments\": {\"x\": {}}, \"warnings\": [], \"extra\": 1}", 0, NULL);
	assert_int_equal(meta_check(minimal, "x/meta.json", err), 0);
	json_decref(minimal);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_meta_json_of_a_run_passes),
		cmocka_unit_test(each_wrong_member_is_named),
	};
	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
