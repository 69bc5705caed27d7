/* `cohmap latency`: the core-to-core latency matrix; `cohmap run`: the suite. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/commands.h"
#include "harness/common.h"
#include "harness/latency.h"
#include "kernels/registry.h"

/* -k LIST, or every kernel of the latency family. */
static int choose_kernels(const char *cmd, const char *list, const struct kernel **chosen)
{
	int n = 0;
	if (list == NULL) {
		for (int i = 0; i < kernel_count; i++)
			if (strcmp(kernel_registry[i]->family, "latency") == 0)
				chosen[n++] = kernel_registry[i];
		return n;
	}
	char copy[512], *save = NULL;
	snprintf(copy, sizeof copy, "%s", list);
	for (char *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		const struct kernel *k = kernel_find(name);
		if (k == NULL) {
			fprintf(stderr, "cohmap %s: unknown kernel '%s' (see cohmap list)\n", cmd, name);
			return -1;
		}
		for (int i = 0; i < n; i++)
			if (chosen[i] == k) {
				fprintf(stderr, "cohmap %s: kernel '%s' is named twice\n", cmd, name);
				return -1;
			}
		chosen[n++] = k;
	}
	if (n == 0) {
		fprintf(stderr, "cohmap %s: --kernel names no kernel\n", cmd);
		return -1;
	}
	return n;
}

static int measure_latency(const struct command *cmd, struct options *o, int argc, char **argv)
{
	char err[ERRLEN];
	struct topology t = { 0 };
	struct run r = { 0 };
	const struct kernel *kernels[64];
	int *cpus = NULL, ncpus, nkernels, rc = EXIT_USAGE;
	struct latency_plan plan = { .stat = o->stat };

	if (argc > 0) {
		fprintf(stderr, "cohmap %s: unexpected argument '%s'\n", cmd->name, argv[0]);
		return EXIT_USAGE;
	}
	if (strcmp(o->stat, "median") != 0 && strcmp(o->stat, "min") != 0) {
		fprintf(stderr, "cohmap %s: --stat must be median or min (got '%s')\n", cmd->name, o->stat);
		return EXIT_USAGE;
	}
	if ((nkernels = choose_kernels(cmd->name, o->kernels, kernels)) < 0)
		return EXIT_USAGE;
	if ((rc = command_topology(cmd->name, o, &t)) != EXIT_DONE)
		return rc;
	rc = EXIT_USAGE;
	cpus = calloc((size_t)t.ncpus, sizeof *cpus);
	if (cpus == NULL || (ncpus = command_cpus(cmd->name, o, &t, cpus, t.ncpus, 2)) < 0)
		goto out;
	if (parse_home(o->home, &t, &plan.home, &plan.home_node, err) != 0) {
		fprintf(stderr, "cohmap %s: %s\n", cmd->name, err);
		goto out;
	}
	plan.kernels = kernels;
	plan.nkernels = nkernels;
	plan.cpus = cpus;
	plan.ncpus = ncpus;
	plan.seed = o->seed >= 0 ? (unsigned long)o->seed
				 : (unsigned long)((monotonic_ns() ^ (uint64_t)getpid()) & 0xffffffffu);
	plan.measure = (struct measure_options){
		.agents = AGENTS_THREADS,
		.pause = o->pause,
		.fixed_samples = o->samples,
		.precision = o->precision_pct / 100,
		.time_limit_s = o->time_limit_s,
		.sample_target_ns = o->sample_us * 1000,
		.watchdog_s = o->watchdog_s,
		.line_size = (size_t)t.line_size,
	};

	if (cmd == &command_run) {
		/* The suite spends at most half its budget on the latency matrix. */
		double pairs = (double)nkernels * ncpus * (ncpus - 1);
		double share = o->budget_s * 0.5 / pairs;
		plan.measure.time_limit_s = share < 0.005 ? 0.005 : share < o->time_limit_s ? share : o->time_limit_s;
	}

	struct clock_info clock;
	clock_calibrate(&clock);
	if (run_begin(&r, o->output, &t, &clock, o->command_argc, o->command_argv, o->quiet, err) != 0) {
		fprintf(stderr, "cohmap %s: %s\n", cmd->name, err);
		rc = o->output ? EXIT_USAGE : EXIT_RUNTIME;
		goto out;
	}
	install_interrupt_handlers();
	if (!o->quiet)
		printf("cohmap %s: %d kernels x %d CPUs (%d ordered pairs each), results in %s\n",
		       cmd->name, nkernels, ncpus, ncpus * (ncpus - 1), r.dir);
	rc = latency_experiment(&r, &plan);
	if (run_end(&r, rc == EXIT_INTERRUPTED ? "interrupted"
			: rc == EXIT_RUNTIME ? "failed" : "complete") != 0 && rc == EXIT_DONE)
		rc = EXIT_RUNTIME;
out:
	free(cpus);
	run_free(&r);
	topology_free(&t);
	return rc;
}

static const char *const latency_options[] = {
	"cpus", "kernel", "home", "pause", "samples", "precision", "time-limit", "sample-us",
	"watchdog", "stat", "seed", "output", "topology", "quiet", "help", NULL,
};

const struct command command_latency = {
	.name = "latency",
	.summary = "core-to-core latency matrix and heatmaps (latency.csv, latency-<kernel>.png)",
	.options = latency_options,
	.examples = "  cohmap latency                          # all CPUs, all latency kernels\n"
		    "  cohmap latency -c 0,1 -k load_store -n 200 --seed 7\n"
		    "  cohmap latency -c S0:0-7 --home second --stat min\n"
		    "  cohmap latency -c N:0-15 --precision 1 --time-limit 0.5 -o results/quiet-box\n",
	.run = measure_latency,
};

static const char *const run_options[] = {
	"cpus", "home", "pause", "stat", "seed", "output", "topology", "budget", "quiet", "help", NULL,
};

/* The suite. So far: the topology and the latency matrix with all kernels. */
const struct command command_run = {
	.name = "run",
	.summary = "the whole suite into one results directory (what `make run` calls)",
	.options = run_options,
	.examples = "  cohmap run\n"
		    "  cohmap run -c S0:0-7 -o results/socket0\n",
	.run = measure_latency,
};
