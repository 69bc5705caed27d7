/* The fork experiment's page-table census: one segment per page kind
 * (base pages, hugetlb), mapped by 1, 2, 4, ... up to --processes
 * processes, each count predicted from the last against the budget; a row
 * of pagetables.csv per count and kind (fork_rows.c). */
#include "experiments/fork/fork_run.h"

#include <stdio.h>

#include "base/progress.h"
#include "experiments/experiment.h"
#include "harness/agents.h"

int fork_census_run(struct fork_ctx *c, double budget_s, json_t *census)
{
	char reason[2][ERRLEN];
	struct fork_plan *p = c->p;
	struct census_segment seg[2];
	int opened[2], levels[32], nlevels = 0, rc = -1;
	for (int n = 1; n < p->processes && nlevels < 31; n *= 2)
		levels[nlevels++] = n;
	levels[nlevels++] = p->processes;
	/* One segment per page kind for every process count: made (allocated
	 * and written) once, it is the same pages every census maps. */
	for (int h = 0; h < 2; h++) {
		opened[h] = census_segment_open(&seg[h], h == 1, p->segment, reason[h]);
		if (opened[h] < 0)
			run_warn(c->r, "fork: page-table census (%s): %s", h ? "hugetlb" : "base pages",
				 reason[h]);
	}
	uint64_t started = monotonic_ns();
	double last_level_s = 0;
	int measured = 0;
	struct progress bar;
	progress_start(&bar, c->r->progress, "fork: page tables", nlevels);
	for (int l = 0; l < nlevels && !cohmap_interrupted; l++) {
		double elapsed = (double)(monotonic_ns() - started) / 1e9;
		/* Twice the processes, about twice the time. */
		double predicted = last_level_s * (double)levels[l] / (l ? levels[l - 1] : 1) * 1.1;
		if (budget_s > 0 && l > 0 && elapsed + predicted > budget_s) {
			char text[ERRLEN];
			snprintf(text, sizeof text, "process counts from %d up were not measured: %d "
				 "processes were predicted to take %.1f s, %.1f s of the %.1f s budget were left",
				 levels[l], levels[l], predicted, budget_s - elapsed, budget_s);
			json_object_set_new(census, "scaled_for_budget", json_string(text));
			break;
		}
		uint64_t level_start = monotonic_ns();
		for (int h = 0; h < 2 && !cohmap_interrupted; h++) {
			struct pagetable_census pc = { .page_bytes = seg[h].page_bytes };
			char why[ERRLEN];
			double timeout = 60 + 10.0 * levels[l] * (double)p->segment / (double)(1ull << 30);
			int result = opened[h];
			snprintf(why, sizeof why, "%s", reason[h]);
			if (opened[h] == 0) {
				result = pagetable_census(&seg[h], levels[l], timeout, &pc, why);
				if (cohmap_interrupted)
					break;
				if (result < 0)
					run_warn(c->r, "fork: page-table census (%s, %d processes) failed: %s",
						 h ? "hugetlb" : "base pages", levels[l], why);
			}
			if (fork_emit_census(c, h == 1, p->segment, levels[l], result, &pc, why) != 0)
				goto out;
		}
		last_level_s = (double)(monotonic_ns() - level_start) / 1e9;
		measured = levels[l];
		progress_update(&bar, l + 1);
	}
	rc = 0;
out:
	progress_end(&bar);
	json_object_set_new(census, "processes_measured", json_integer(measured));
	for (int h = 0; h < 2; h++)
		census_segment_close(&seg[h]);
	return rc;
}
