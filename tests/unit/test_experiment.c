/* run_experiments, the body of every measuring command, with stand-in
 * experiments that record the budget share they are handed. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/common.h"
#include "cli/commands.h"
#include "harness/results.h"
#include "base/timing.h"

#define TMPDIR_NAME "experiment"
#include "tests/unit/tmpdir.h"

/* What each stand-in was handed, in the order they ran. */
static double shares[4];
static int measured;

static int prepare(const char *cmd, const struct options *o, const void *settings,
		   const struct topology *t, void **plan, char *skip_reason)
{
	(void)cmd, (void)o, (void)settings, (void)t, (void)skip_reason;
	*plan = NULL;
	return EXIT_DONE;
}

static void release(void *plan)
{
	(void)plan;
}

/* Waits 60 ms, more than the whole 50 ms budget of the suite: when it
 * returns the budget is spent, however fast the machine. */
static int overrun(struct run *r, void *plan, double budget_s)
{
	(void)r, (void)plan;
	shares[measured++] = budget_s;
	uint64_t until = monotonic_ns() + (uint64_t)(0.06 * 1e9);
	while (monotonic_ns() < until)
		nanosleep(&(struct timespec){ .tv_nsec = 5000000 }, NULL);
	return EXIT_DONE;
}

static int record(struct run *r, void *plan, double budget_s)
{
	(void)r, (void)plan;
	shares[measured++] = budget_s;
	return EXIT_DONE;
}

static const struct experiment overrunning = { .name = "overrun",
					       .summary = "spends more than the budget",
					       .prepare = prepare,
					       .measure = overrun,
					       .release = release };
static const struct experiment recording = { .name = "record",
					     .summary = "records its share",
					     .prepare = prepare,
					     .measure = record,
					     .release = release };

static int run_suite(const char *name, double budget_s)
{
	char topology[PATH_MAX], output[PATH_MAX];
	const char *src = getenv("COHMAP_SRCDIR");
	char *argv[] = { "cohmap", "run" };
	const struct experiment *const list[] = { &overrunning, &recording, &recording };

	snprintf(topology, sizeof topology, "%s/topology/fixtures/intel-2s-smt.topo", src ? src : ".");
	snprintf(output, sizeof output, "%s/%s", tmpdir, name);
	struct options o = { .topology = topology, .output = output, .quiet = true,
			     .command_argc = 2, .command_argv = argv };
	measured = 0;
	void *const settings[] = { NULL, NULL, NULL };
	return run_experiments("run", &o, list, settings, 3, budget_s);
}

/* A share of 0 tells an experiment it has no budget at all (fork then plans
 * for 10 minutes): once the suite's budget is spent the experiments left
 * must still get a positive share, the smallest one. */
static void spent_budget_leaves_a_positive_share(void **state)
{
	(void)state;
	assert_int_equal(run_suite("budgeted", 0.05), EXIT_DONE);
	assert_int_equal(measured, 3);
	assert_true(shares[0] > 0.016 && shares[0] < 0.017); /* 50 ms over three */
	for (int i = 1; i < 3; i++)
		if (!(shares[i] > 0 && shares[i] <= 0.001))
			fail_msg("experiment %d after the budget was spent got %g s", i + 1, shares[i]);
}

static void no_budget_stays_no_budget(void **state)
{
	(void)state;
	assert_int_equal(run_suite("unbudgeted", 0), EXIT_DONE);
	assert_int_equal(measured, 3);
	for (int i = 0; i < 3; i++)
		assert_true(shares[i] == 0);
}

/* Measures, then finds meta.json unwritable (a directory where its
 * temporary file goes: the write fails as on a full disk) and misses a plot. */
static int partial_then_unwritable(struct run *r, void *plan, double budget_s)
{
	(void)plan, (void)budget_s;
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/meta.json.tmp", r->dir);
	return mkdir(path, 0755) == 0 ? EXIT_PARTIAL : EXIT_DONE;
}

static const struct experiment unwritable = { .name = "unwritable", .summary = "blocks meta.json", .prepare = prepare,
						.measure = partial_then_unwritable, .release = release };

/* "Partial" is for pictures missing next to complete results; a run whose
 * meta.json cannot be finished has no complete record: exit 1, the error
 * said once (not after the experiment and again at the end), no page. */
static void a_final_meta_json_that_cannot_be_written_fails_the_run(void **state)
{
	(void)state;
	char topology[PATH_MAX], output[PATH_MAX], path[PATH_MAX], errors[PATH_MAX], line[1024];
	const char *src = getenv("COHMAP_SRCDIR");
	char *argv[] = { "cohmap", "run" };
	const struct experiment *const list[] = { &unwritable };

	snprintf(topology, sizeof topology, "%s/topology/fixtures/intel-2s-smt.topo", src ? src : ".");
	snprintf(output, sizeof output, "%s/unwritable", tmpdir);
	snprintf(errors, sizeof errors, "%s/stderr", tmpdir);
	struct options o = { .topology = topology, .output = output, .quiet = true,
			     .command_argc = 2, .command_argv = argv };
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	assert_non_null(freopen(errors, "w", stderr));
	void *const settings[] = { NULL };
	int rc = run_experiments("run", &o, list, settings, 1, 0);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);

	assert_int_equal(rc, EXIT_RUNTIME);
	FILE *f = fopen(errors, "r");
	assert_non_null(f);
	int lines = 0, naming = 0;
	while (fgets(line, sizeof line, f)) {
		lines++;
		naming += strstr(line, "cannot write") && strstr(line, "meta.json: Is a directory");
	}
	fclose(f);
	assert_int_equal(lines, 1);
	assert_int_equal(naming, 1);
	/* the last meta.json that could be written is still there, whole */
	char err[ERRLEN];
	snprintf(path, sizeof path, "%s/meta.json", output);
	json_t *meta = json_load_object(path, err);
	assert_non_null(meta);
	assert_string_equal(json_string_value(json_object_get(meta, "status")), "running");
	json_decref(meta);
	snprintf(path, sizeof path, "%s/index.html", output);
	assert_int_not_equal(access(path, F_OK), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(spent_budget_leaves_a_positive_share),
		cmocka_unit_test(no_budget_stays_no_budget),
		cmocka_unit_test(a_final_meta_json_that_cannot_be_written_fails_the_run),
	};
	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
