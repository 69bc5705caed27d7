/* The latency experiment's options: which kernels, CPUs, home node, and how
 * precisely to measure. The measuring itself is in experiments/latency/latency_matrix.c. */
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/budget.h"
#include "base/common.h"
#include "harness/selection.h"
#include "experiments/experiment.h"
#include "experiments/latency/latency.h"
#include "experiments/latency/latency_model.h"
#include "experiments/latency/latency_plot.h"
#include "experiments/latency/line_plan.h"
#include "experiments/latency/pair_schedule.h"
#include "kernels/registry.h"

/* Its own option: on how many cache lines each pair is measured. */
struct latency_settings {
	long lines;
};
static const struct option_def latency_options[] = {
	{ "lines", 0, OPT_LONG, "N", "1", 1, LINES_MAX,
	  "measure each pair on N cache lines, each in its own page, homed on the NUMA nodes in "
	  "turn (from --home's) and at a different place in its page (its address class)",
	  offsetof(struct latency_settings, lines) },
};

static const char *const latency_shared_options[] = {
	"cpus", "kernel", "parallel", "home", "pause", "samples", "precision", "time-limit", "sample-us", "watchdog", "stat", "seed", "events", "agents", "output", "topology", "resume", "quiet", "help", NULL,
};

/* --parallel N|auto against the selected CPUs; 0 when not given, -1 on bad
 * input (said on stderr). */
static int choose_parallel(const char *cmd, const char *given, const struct topology *t,
			   const int *cpus, int ncpus)
{
	if (given == NULL)
		return 0;
	int max = schedule_max_parallel(t, cpus, ncpus);
	if (ncpus < 2) {
		fprintf(stderr, "cohmap %s: --parallel needs at least 2 CPUs, -c selects %d\n", cmd, ncpus);
		return -1;
	}
	if (strcmp(given, "auto") == 0)
		return schedule_auto_parallel(t, cpus, ncpus);
	char *end;
	long n = strtol(given, &end, 10);
	if (end == given || *end != '\0' || n < 1) {
		fprintf(stderr, "cohmap %s: --parallel must be a number of pairs (1 or more) or auto (got '%s')\n",
			cmd, given);
		return -1;
	}
	if (n > max) {
		fprintf(stderr, "cohmap %s: --parallel %ld is more than the %d selected CPUs allow: at most "
			"%d pair%s at once on distinct cores\n", cmd, n, ncpus, max, max == 1 ? "" : "s");
		return -1;
	}
	return (int)n;
}

static const char *const latency_csv[] = { "latency.csv", NULL };
static const char *const latency_figures[] = { "latency-%s.png", NULL };


static const char *kernel_name(int i)
{
	return kernel_registry[i]->name;
}

/* -k LIST, or every kernel of the latency family. */
int latency_choose_kernels(const char *cmd, const char *list, const struct kernel **chosen, int max)
{
	int n = 0;
	if (list == NULL) {
		for (int i = 0; i < kernel_count && n < max; i++)
			if (strcmp(kernel_registry[i]->family, "latency") == 0)
				chosen[n++] = kernel_registry[i];
		return n;
	}
	const struct name_choice c = { "kernel", "--kernel", "kernel", NULL, kernel_count, kernel_name };
	int index[64];
	n = choose_names(cmd, &c, list, index, max < 64 ? max : 64);
	for (int i = 0; i < n; i++)
		chosen[i] = kernel_registry[index[i]];
	return n;
}

/* Room the largest kernel's lines take from their position in the page:
 * the same for every kernel, so line i has one address class in the whole run. */
static size_t line_reserve_bytes(size_t line_size)
{
	size_t most = 0;
	for (int i = 0; i < kernel_count; i++) {
		size_t bytes = (size_t)kernel_registry[i]->shared_lines * 2 * line_size;
		if (bytes > most)
			most = bytes;
	}
	return most;
}

static void release(void *arg)
{
	struct latency_plan *plan = arg;
	if (plan->owns_events_option)
		free((void *)plan->events_option);
	free((void *)plan->cpus);
	free((void *)plan->kernels);
	free(plan);
}

/* A kernel this CPU cannot run (an LSE kernel on an ARMv8.0 CPU) is left
 * out with its reason (a warning and meta.json's skipped_kernels), and never
 * run into a SIGILL. Returns how many kernels are left; with none, skip_reason
 * says why. */
static int leave_out_unavailable(struct latency_plan *plan, char *skip_reason)
{
	char names[ERRLEN] = "", why[ERRLEN] = "";
	int kept = 0;
	plan->nskipped = 0;
	for (int i = 0; i < plan->nkernels; i++) {
		const struct kernel *k = plan->kernels[i];
		if (kernel_available(k, why, sizeof why)) {
			plan->kernels[kept++] = k;
			continue;
		}
		if (plan->nskipped < LATENCY_MAX_SKIPPED) {
			plan->skipped[plan->nskipped] = k;
			snprintf(plan->skipped_reason[plan->nskipped++], ERRLEN, "%s", why);
		}
		snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
			 names[0] ? ", " : "", k->name);
	}
	plan->nkernels = kept;
	if (plan->nskipped == 0)
		return kept;
	/* The reasons of one CPU are one: it lacks LSE. With kernels left
	 * the run goes on and says so once (record_unavailable). */
	snprintf(plan->skipped_summary, sizeof plan->skipped_summary, "%s: %s", names, why);
	if (kept == 0)
		set_error(skip_reason, "%s", plan->skipped_summary);
	return kept;
}

/* meta.json's experiments.latency.skipped_kernels: [{kernel, reason}]. */
static void record_unavailable(struct run *r, const struct latency_plan *plan)
{
	json_t *entry = json_object_get(json_object_get(r->meta, "experiments"), "latency");
	if (plan->nskipped == 0 || entry == NULL)
		return;
	json_t *list = json_array();
	for (int i = 0; i < plan->nskipped; i++)
		json_array_append_new(list, json_pack("{s:s, s:s}", "kernel", plan->skipped[i]->name,
						      "reason", plan->skipped_reason[i]));
	run_warn(r, "latency: skipped %s", plan->skipped_summary);
	json_object_set_new(entry, "skipped_kernels", list);
	run_save_meta(r);
}

static int prepare(const char *cmd, const struct options *o, const void *settings,
		   const struct topology *t, void **out, char *skip_reason)
{
	const struct latency_settings *own = settings;
	const char *parallel = o->parallel;
	char err[ERRLEN];
	struct latency_plan *plan = calloc(1, sizeof *plan);
	const struct kernel **kernels = calloc((size_t)kernel_count, sizeof *kernels);
	int *cpus = calloc((size_t)t->ncpus, sizeof *cpus);
	if (plan == NULL || kernels == NULL || cpus == NULL) {
		fprintf(stderr, "cohmap %s: out of memory\n", cmd);
		free(plan);
		free(kernels);
		free(cpus);
		return EXIT_USAGE;
	}
	/* From here the plan owns both arrays: release() frees them. */
	plan->kernels = kernels;
	plan->cpus = cpus;
	if (o->resume) {
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/meta.json", o->resume);
		json_t *meta = json_load_object(path, err);
		const char *status = meta ? json_string_value(json_object_get(meta, "status")) : NULL;
		int rc = meta ? latency_plan_from_meta(meta, t, plan, err) : -1;
		if (rc == 0 && status && strcmp(status, "complete") == 0) {
			set_error(err, "%s is complete: nothing to resume", o->resume);
			rc = -1;
		}
		if (rc != 0) {
			json_decref(meta);
			fprintf(stderr, "cohmap %s: %s\n", cmd, err);
			goto fail;
		}
		/* The options string lives as long as the plan, not the JSON. */
		const char *events = json_string_value(json_object_get(json_object_get(
			json_object_get(meta, "experiments"), "latency"), "events_option"));
		plan->events_option = events ? strdup(events) : NULL;
		plan->owns_events_option = true;
		json_decref(meta);
		if (events_parse(plan->events_option, t, &plan->events, err) != 0) {
			fprintf(stderr, "cohmap %s: %s: %s\n", cmd, path, err);
			goto fail;
		}
		plan->measure.events = &plan->events;
		plan->line_reserve_bytes = line_reserve_bytes(plan->measure.line_size);
		*out = plan;
		return EXIT_DONE;
	}
	if (option_check_stat(cmd, o->stat) != 0)
		goto fail;
	plan->stat = o->stat;
	if ((plan->nkernels = latency_choose_kernels(cmd, o->kernels, kernels, kernel_count)) < 0)
		goto fail;
	if ((plan->ncpus = choose_cpus(cmd, o, t, cpus, t->ncpus, parallel ? 1 : 2)) < 0 ||
	    (plan->parallel = choose_parallel(cmd, parallel, t, cpus, plan->ncpus)) < 0)
		goto fail;
	if (parse_home(o->home, t, &plan->home, &plan->home_node, err) != 0) {
		fprintf(stderr, "cohmap %s: %s\n", cmd, err);
		goto fail;
	}
	plan->seed = options_seed(o);
	plan->lines = own ? (int)own->lines : 1;
	if (events_parse(o->events, t, &plan->events, err) != 0) {
		fprintf(stderr, "cohmap %s: %s\n", cmd, err);
		goto fail;
	}
	plan->events_option = o->events;
	int agents = o->agents ? agent_kind_from_name(o->agents) : AGENTS_THREADS;
	if (agents < 0) {
		fprintf(stderr, "cohmap %s: --agents must be thread, fork-shared, sysv, posix or memfd (got '%s')\n",
			cmd, o->agents);
		goto fail;
	}
	plan->measure = measure_options_from(o, (enum agent_kind)agents, (size_t)t->line_size);
	plan->measure.events = &plan->events;
	plan->line_reserve_bytes = line_reserve_bytes(plan->measure.line_size);
	if (leave_out_unavailable(plan, skip_reason) == 0) {
		release(plan);
		return EXIT_SKIPPED;
	}
	*out = plan;
	return EXIT_DONE;
fail:
	release(plan);
	return EXIT_USAGE;
}

static int measure(struct run *r, void *arg, double budget_s)
{
	struct latency_plan *plan = arg;
	if (budget_s > 0 && plan->measure.fixed_samples == 0) {
		struct latency_budget b;
		latency_budget_plan(budget_s, plan->nkernels * plan->lines, plan->ncpus, plan->measure.time_limit_s,
				    plan->resume, &b);
		plan->measure.time_limit_s = b.time_limit_s;
		if (b.max_pairs > 0)
			plan->max_pairs = b.max_pairs;
	}
	if (!r->quiet && plan->lines > 1)
		printf("\nlatency: %d kernels x %d CPUs (%d ordered pairs each) x %d lines\n",
		       plan->nkernels, plan->ncpus, plan->ncpus * (plan->ncpus - 1), plan->lines);
	else if (!r->quiet)
		printf("\nlatency: %d kernels x %d CPUs (%d ordered pairs each)\n", plan->nkernels,
		       plan->ncpus, plan->ncpus * (plan->ncpus - 1));
	int rc = latency_experiment(r, plan);
	record_unavailable(r, plan);
	return rc;
}

static int draw(const char *dir, const struct topology *t, const char *stat, char *err)
{
	return plot_latency_heatmaps(dir, t, stat, err);
}

const struct experiment experiment_latency = {
	.name = "latency",
	.summary = "core-to-core latency matrix and heatmaps (latency.csv, latency-<kernel>.png)",
	.examples = "  cohmap latency                          # all CPUs, all latency kernels\n"
		    "  cohmap latency -c 0,1 -k load_store -n 200 --seed 7\n"
		    "  cohmap latency -c S0:0-7 --home second --stat min\n"
		    "  cohmap latency -c 0,1 --events auto      # coherence counters against the model\n"
		    "  cohmap latency -c 0,1 --agents sysv      # agents as processes sharing SysV shm\n"
		    "  cohmap latency -c N:0-15 --precision 1 --time-limit 0.5 -o results/quiet-box\n"
		    "  cohmap latency --resume results/quiet-box   # after Ctrl-C: measure what is missing\n"
		    "  cohmap latency --parallel auto          # disjoint pairs at once (big machines)\n"
		    "  cohmap latency -c 0,1 --lines 4         # 4 lines per pair: home nodes, address classes\n",
	.shared_options = latency_shared_options,
	.options = latency_options,
	.option_count = ARRAY_SIZE(latency_options),
	.settings_size = sizeof(struct latency_settings),
	.title = "Core-to-core latency",
	.shows = "Two agents pinned to two CPUs hand one cache line back and forth. Each cell is the "
		 "one-way time for the line to travel from the initiator (row) to the responder (column): "
		 "the median over many timed batches of round trips, halved. The kernels take the line in "
		 "different ways: plain loads and stores (load_store) or atomic read-modify-writes "
		 "(cas_bounce, faa_bounce, xchg_bounce).",
	.read = "CPUs are in topology order, so every socket, die and L3 group is a block along the "
		 "diagonal; thick lines separate sockets, dashed lines L3 groups. Cells inside a block "
		 "should be cheap and alike, cells between blocks show what crossing that boundary costs. "
		 "A row or column that stands out points at one CPU (or a vCPU the hypervisor moved). "
		 "Grey cells have no value: the diagonal and failed pairs.",
	.csv = latency_csv,
	.figures = latency_figures,
	.prepare = prepare,
	.measure = measure,
	.release = release,
	.draw = draw,
};

