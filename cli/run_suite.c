/* `cohmap run` and the body of every measuring command: one results
 * directory, each experiment prepared before anything is written, then
 * measured in its share of the time budget, then the report. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness/agents.h"
#include "cli/commands.h"
#include "harness/selection.h"
#include "base/common.h"
#include "cli/report.h"
#include "harness/selection.h"

/* Which of two exit codes describes the run better. */
static int worse(int a, int b)
{
	static const int rank[] = { [EXIT_DONE] = 0, [EXIT_SKIPPED] = 1, [EXIT_PARTIAL] = 2,
				    [EXIT_RUNTIME] = 3, [EXIT_USAGE] = 4 };
	int ra = a == EXIT_INTERRUPTED ? 5 : a < (int)ARRAY_SIZE(rank) ? rank[a] : 3;
	int rb = b == EXIT_INTERRUPTED ? 5 : b < (int)ARRAY_SIZE(rank) ? rank[b] : 3;
	return ra >= rb ? a : b;
}

/* What each experiment still gets of a budget that is already spent. */
#define SPENT_BUDGET_SHARE_S 0.001

int run_experiments(const char *cmd, struct options *o, const struct experiment *const *list,
		    void *const *settings, int n, double budget_s)
{
	char err[ERRLEN];
	struct topology t = { 0 };
	struct run r = { 0 };
	void **plans = calloc((size_t)n, sizeof *plans);
	char (*skipped)[ERRLEN] = calloc((size_t)n, sizeof *skipped);
	int rc, prepared = 0, measured = 0;

	if (plans == NULL || skipped == NULL) {
		fprintf(stderr, "cohmap %s: out of memory\n", cmd);
		rc = EXIT_RUNTIME;
		goto out;
	}
	/* A resumed run keeps the topology it started with. */
	char resume_topology[PATH_MAX];
	if (o->resume) {
		snprintf(resume_topology, sizeof resume_topology, "%s/topology.txt", o->resume);
		o->topology = resume_topology;
	}
	if ((rc = load_topology(cmd, o, &t)) != EXIT_DONE)
		goto out;
	for (; prepared < n; prepared++) {
		int p = list[prepared]->prepare(cmd, o, settings[prepared], &t, &plans[prepared],
						  skipped[prepared]);
		if (p != EXIT_DONE && p != EXIT_SKIPPED) {
			rc = p;
			goto out;
		}
		if (p == EXIT_DONE)
			skipped[prepared][0] = '\0';
		else if (n == 1) { /* the only experiment asked for cannot run here */
			fprintf(stderr, "cohmap %s: skipped: %s\n", cmd, skipped[prepared]);
			rc = EXIT_SKIPPED;
			goto out;
		}
	}

	struct clock_info clock;
	clock_calibrate(&clock);
	if (o->resume ? run_reopen(&r, o->resume, &t, &clock, o->command_argc, o->command_argv,
				   o->quiet, err)
		      : run_begin(&r, o->output, &t, &clock, o->command_argc, o->command_argv,
				  o->quiet, err)) {
		fprintf(stderr, "cohmap %s: %s\n", cmd, err);
		rc = o->output || o->resume ? EXIT_USAGE : EXIT_RUNTIME;
		goto out;
	}
	install_interrupt_handlers();
	if (!o->quiet)
		printf("cohmap %s: results in %s\n", cmd, r.dir);
	rc = EXIT_DONE;
	int runnable = 0;
	bool budgeted = budget_s > 0;
	for (int i = 0; i < n; i++)
		runnable += skipped[i][0] == '\0';
	for (int i = 0; i < n && !cohmap_interrupted; i++) {
		json_t *experiments = json_object_get(r.meta, "experiments");
		if (skipped[i][0]) {
			json_object_set_new(experiments, list[i]->name,
					    json_pack("{s:s, s:s}", "status", "skipped", "reason", skipped[i]));
			if (!o->quiet)
				printf("\n%s: skipped: %s\n", list[i]->name, skipped[i]);
			continue;
		}
		/* A share of 0 means "no budget" to an experiment (channels and
		 * attach then sweep every size, fork plans for 10 minutes), so once
		 * earlier experiments have overrun the suite's budget the rest get
		 * the smallest share: each runs its smallest plan, never an
		 * unbounded one. */
		double share = budgeted ? budget_s / (runnable - measured) : 0;
		if (budgeted && share < SPENT_BUDGET_SHARE_S)
			share = SPENT_BUDGET_SHARE_S;
		uint64_t started = monotonic_ns();
		int code = list[i]->measure(&r, plans[i], share);
		rc = worse(rc, code);
		budget_s -= (double)(monotonic_ns() - started) / 1e9;
		/* An experiment that did not say how it ended gets the status its
		 * exit code means, so the report never shows one as unknown. */
		json_t *entry = json_object_get(experiments, list[i]->name);
		if (entry && json_object_get(entry, "status") == NULL)
			json_object_set_new(entry, "status",
					    json_string(code == EXIT_INTERRUPTED ? "interrupted"
							: code == EXIT_RUNTIME	  ? "failed"
										  : "complete"));
		measured++;
		run_save_meta(&r);
	}
	if (cohmap_interrupted)
		rc = EXIT_INTERRUPTED;
	/* meta.json is the run's record. When its final version cannot be
	 * written (a full disk) the directory keeps the last one that fit, which
	 * says "running": the run failed, whatever its experiments did, and a
	 * page drawn from a record that is not on disk would contradict it. */
	if (run_end(&r, rc == EXIT_INTERRUPTED ? "interrupted"
			: rc == EXIT_RUNTIME ? "failed" : "complete") != 0) {
		rc = EXIT_RUNTIME;
		goto out;
	}
	/* The page is written last, from the final meta.json, so it shows the
	 * run's status and every warning; it is rewritable by `cohmap report`. */
	if (report_write(r.dir, r.meta, err) != 0) {
		fprintf(stderr, "cohmap %s: warning: no report written: %s\n", cmd, err);
		rc = worse(rc, EXIT_PARTIAL);
	} else if (!o->quiet) {
		printf("\nreport: %s/index.html\n", r.dir);
	}
out:
	for (int i = 0; i < prepared && plans; i++)
		if (plans[i])
			list[i]->release(plans[i]);
	free(plans);
	free(skipped);
	run_free(&r);
	topology_free(&t);
	return rc;
}
