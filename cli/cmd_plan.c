/* `cohmap plan`: how long a full latency matrix, and `cohmap run`, would take
 * on a machine given by its topology (this one, or a file saved by `cohmap
 * topo --save` on another), from a per-pair cost measured here (a probe of a
 * few seconds) or read from a file such a probe wrote. The model is
 * experiments/latency/latency_model.c; this prints its arithmetic. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "base/common.h"
#include "base/timing.h"
#include "cli/commands.h"
#include "experiments/latency/latency.h"
#include "experiments/latency/latency_model.h"
#include "harness/selection.h"
#include "kernels/registry.h"

/* "1927 s (32 min 7 s)" */
static const char *duration(double s, char *buf, size_t size)
{
	if (s < 60)
		snprintf(buf, size, "%.1f s", s);
	else if (s < 3600)
		snprintf(buf, size, "%.0f s (%d min %02d s)", s, (int)(s / 60), (int)s % 60);
	else
		snprintf(buf, size, "%.0f s (%d h %02d min)", s, (int)(s / 3600), (int)(s / 60) % 60);
	return buf;
}

/* The CPUs the plan is for: with a topology file, the file's (all, or -c
 * resolved in the file); else the ones `cohmap latency` would measure here. */
static int plan_cpus(const char *cmd, const struct options *o, const struct topology *t, int *cpus)
{
	char err[ERRLEN];
	int n;
	if (o->topology && !o->cpus) {
		n = 0;
		for (int i = 0; i < t->ncpus; i++)
			if (t->cpus[i].online)
				cpus[n++] = t->cpus[i].cpu;
	} else if (o->topology) {
		if ((n = topology_select(t, o->cpus, cpus, t->ncpus, err)) < 0) {
			fprintf(stderr, "cohmap %s: %s\n", cmd, err);
			return -1;
		}
	} else {
		return choose_cpus(cmd, o, t, cpus, t->ncpus, 2);
	}
	if (n < 2) {
		fprintf(stderr, "cohmap %s: a matrix needs at least 2 CPUs (%s has %d)\n", cmd,
			o->topology, n);
		return -1;
	}
	topology_sort(t, cpus, n);
	return n;
}

/* --parallel N|auto, checked against the disjoint pairs the CPUs hold. */
static int plan_parallel(const char *cmd, const char *arg, const struct topology *t,
			 const int *cpus, int n, bool *is_auto)
{
	int most = parallel_max(t, cpus, n);
	*is_auto = arg && strcmp(arg, "auto") == 0;
	if (arg == NULL)
		return 1;
	if (*is_auto)
		return parallel_auto(t, cpus, n);
	char *end;
	long v = strtol(arg, &end, 10);
	if (end == arg || *end != '\0' || v < 1) {
		fprintf(stderr, "cohmap %s: --parallel must be a number >= 1 or auto (got '%s')\n", cmd, arg);
		return -1;
	}
	if (v > most) {
		fprintf(stderr, "cohmap %s: --parallel %ld is more than the %d disjoint pairs %d CPUs on "
			"%d cores hold\n", cmd, v, most, n, most * 2);
		return -1;
	}
	return (int)v;
}

/* The per-pair cost: from --cost FILE, or a probe on two CPUs of this machine. */
static int plan_cost(const char *cmd, const struct options *o, const struct kernel **kernels,
		     int nkernels, struct pair_cost *c)
{
	char err[ERRLEN];
	if (o->cost) {
		if (pair_cost_load(c, o->cost, err) != 0) {
			fprintf(stderr, "cohmap %s: %s\n", cmd, err);
			return EXIT_USAGE;
		}
		return EXIT_DONE;
	}
	struct topology here = { 0 };
	int rc = EXIT_USAGE, cpus[2];
	struct options local = *o;
	local.topology = NULL; /* the probe runs here, whatever machine is planned */
	if (load_topology(cmd, &local, &here) != EXIT_DONE)
		return EXIT_USAGE;
	if (topology_usable(&here, cpus, 2) < 2) {
		fprintf(stderr, "cohmap %s: this machine has fewer than 2 usable CPUs to probe a pair "
			"on; give --cost FILE\n", cmd);
		goto out;
	}
	struct measure_options mo = measure_options_from(o, AGENTS_THREADS, (size_t)here.line_size);
	struct clock_info clock;
	clock_calibrate(&clock);
	if (pair_cost_probe(kernels, nkernels, cpus[0], cpus[1], &mo, &clock, o->probe_s, c, err) != 0) {
		fprintf(stderr, "cohmap %s: %s\n", cmd, err);
		rc = EXIT_RUNTIME;
		goto out;
	}
	struct utsname u;
	char day[32] = "";
	time_t now = time(NULL);
	double load = -1;
	FILE *la = fopen("/proc/loadavg", "r");
	if (la == NULL || fscanf(la, "%lf", &load) != 1)
		load = -1;
	if (la)
		fclose(la);
	struct tm utc;
	strftime(day, sizeof day, "%Y-%m-%d %H:%M UTC", gmtime_r(&now, &utc));
	snprintf(c->source, sizeof c->source, "probe on %s (%s), CPUs %d,%d, %s, load average %.1f",
		 uname(&u) == 0 ? u.nodename : "this machine", here.cpu_model, cpus[0], cpus[1], day,
		 load);
	if (o->save_cost && pair_cost_save(c, o->save_cost, err) != 0) {
		fprintf(stderr, "cohmap %s: %s\n", cmd, err);
		goto out;
	}
	rc = EXIT_DONE;
out:
	topology_free(&here);
	return rc;
}

static void print_matrix(const struct matrix_estimate *e, const struct pair_cost *c, int ncpus,
			 const char *parallel_note)
{
	char a[64], b[64], d[64], f[64], g[64], h[64];
	printf("  pairs         %d x %d = %ld ordered pairs x %d kernels = %ld pairs\n", ncpus, ncpus - 1,
	       e->pairs_per_kernel, e->nkernels, e->pairs);
	printf("  parallel      %d%s\n", e->parallel, parallel_note);
	if (e->parallel > 1) {
		printf("  lanes         %ld pairs x %.1f ms = %s of pair time / (%d lanes x %.3f "
		       "utilisation) = %s\n", e->pairs, c->pair_s * 1e3, duration(e->work_s, a, sizeof a),
		       e->parallel, e->utilisation, duration(e->measure_s, g, sizeof g));
		printf("  utilisation   %.3f: the dispatcher run dry on these %ld pairs (pair times drawn "
		       "from the probe's quantiles), a lane taking the next pair that shares no core with "
		       "a running one: %.1f of %d lanes busy on average\n", e->utilisation, e->pairs,
		       e->utilisation * e->parallel, e->parallel);
		printf("  drains        every %d pairs per lane and %.0f s: min(%ld / (%d x %d), %.1f s / "
		       "%.0f s) + 1 = %ld drains x %.1f ms (each waits for the longest of the %d running "
		       "pairs: the %.0f%% quantile of a pair's time) = %s\n",
		       PARALLEL_DRAIN_PAIRS_PER_LANE, PARALLEL_DRAIN_INTERVAL_S, e->pairs,
		       PARALLEL_DRAIN_PAIRS_PER_LANE, e->parallel, e->measure_s, PARALLEL_DRAIN_INTERVAL_S,
		       e->drains, e->drain_wait_s * 1e3, e->parallel, 100.0 * e->parallel / (e->parallel + 1),
		       duration(e->drain_s, h, sizeof h));
		printf("  checks        %.0f%% measured again alone at the drains: %ld x %.1f ms = %s\n",
		       PARALLEL_CHECK_SHARE * 100, e->checks, c->pair_s * 1e3,
		       duration(e->check_s, b, sizeof b));
		printf("  reference     alone at each drain: %ld x %.1f ms = %s\n", e->references,
		       c->pair_s * 1e3, duration(e->reference_s, d, sizeof d));
		printf("  total         %.1f + %.1f + %.1f + %.1f = %s\n", e->measure_s, e->drain_s,
		       e->check_s, e->reference_s, duration(e->total_s, f, sizeof f));
		printf("                (a pair class whose parallel/serial ratio leaves [0.95, 1.05] is "
		       "measured again alone, up to %ld x %.1f ms more)\n", e->pairs, c->pair_s * 1e3);
		return;
	}
	printf("  measuring     %ld pairs x %.1f ms = %s\n", e->pairs, c->pair_s * 1e3,
	       duration(e->measure_s, a, sizeof a));
	printf("  reference     every %d pairs or %.0f s: %ld x %.1f ms = %s\n",
	       REFERENCE_INTERVAL_PAIRS, REFERENCE_INTERVAL_S, e->references, c->pair_s * 1e3,
	       duration(e->reference_s, d, sizeof d));
	printf("  total         %s\n", duration(e->total_s, f, sizeof f));
}

/* `cohmap run`: latency gets budget / (number of experiments) first; the
 * others share what it leaves. */
static void print_run(const struct options *o, const struct pair_cost *c, int nkernels, int ncpus)
{
	char a[64], b[64], d[64];
	double share = o->budget_s / experiment_count;
	struct latency_budget lb;
	latency_budget_plan(share, nkernels, ncpus, o->time_limit_s, false, &lb);
	long full = (long)ncpus * (ncpus - 1);
	long per_kernel = lb.max_pairs > 0 && lb.max_pairs < full ? lb.max_pairs : full;
	struct pair_cost at_limit = *c;
	at_limit.pair_s = pair_cost_at_limit(c, lb.time_limit_s);
	at_limit.slowest_s = at_limit.q50_s = at_limit.q90_s = at_limit.pair_s;
	struct matrix_estimate e;
	matrix_estimate(&at_limit, per_kernel, nkernels, 1, 1, &e);
	printf("\ncohmap run --budget %.0f (experiments one after another; latency pairs serial)\n",
	       o->budget_s);
	printf("  latency share %.0f s / %d experiments = %s\n", o->budget_s, experiment_count,
	       duration(share, a, sizeof a));
	printf("  budget plan   per-pair limit %.1f ms; %s\n", lb.time_limit_s * 1e3,
	       per_kernel < full ? "a sample covering every pair class" : "every pair");
	printf("  latency       %ld pairs x %d kernels x %.1f ms + %ld reference pairs = %s (%.1f%% of "
	       "the matrix)\n", per_kernel, nkernels, at_limit.pair_s * 1e3, e.references,
	       duration(e.total_s, b, sizeof b), 100.0 * (double)per_kernel / (double)full);
	/* run_experiments gives each experiment what is left / how many are left */
	double left = o->budget_s - e.total_s, each = left / (experiment_count - 1);
	if (each < 0.001)
		each = 0.001; /* SPENT_BUDGET_SHARE_S: the smallest plan, never an unbounded one */
	printf("  shares        latency %.1f s, then ", e.total_s);
	for (int i = 1; i < experiment_count; i++)
		printf("%s%s", experiment_registry[i]->name, i + 1 < experiment_count ? ", " : "");
	printf(" (%.0f - %.1f) / %d = %.1f s each if each keeps to its share\n", o->budget_s, e.total_s,
	       experiment_count - 1, each);
	double total = e.total_s + each * (experiment_count - 1);
	printf("  total         %.1f + %d x %.1f = about %s (the others plan from their own probes; "
	       "their costs are not modelled here)\n", e.total_s, experiment_count - 1, each,
	       duration(total, d, sizeof d));
	if (per_kernel < full)
		printf("  full matrix   needs --budget >= %.0f (latency share >= %.0f s)\n",
		       experiment_count * latency_budget_for_full_matrix(nkernels, ncpus),
		       latency_budget_for_full_matrix(nkernels, ncpus));
}

static int plan(const struct command *cmd, struct options *o, int argc, char **argv)
{
	struct topology t = { 0 };
	const struct kernel **kernels = calloc((size_t)kernel_count, sizeof *kernels);
	int *cpus = NULL, rc = EXIT_USAGE, n, nkernels, parallel;
	bool is_auto;
	struct pair_cost c;
	char a[64];

	if (argc > 0) {
		fprintf(stderr, "cohmap %s: unexpected argument '%s'\n", cmd->name, argv[0]);
		goto out;
	}
	if (kernels == NULL || (rc = load_topology(cmd->name, o, &t)) != EXIT_DONE)
		goto out;
	rc = EXIT_USAGE;
	if ((cpus = calloc((size_t)t.ncpus, sizeof *cpus)) == NULL ||
	    (n = plan_cpus(cmd->name, o, &t, cpus)) < 0 ||
	    (nkernels = latency_choose_kernels(cmd->name, o->kernels, kernels, kernel_count)) < 0 ||
	    (parallel = plan_parallel(cmd->name, o->parallel, &t, cpus, n, &is_auto)) < 0)
		goto out;
	if ((rc = plan_cost(cmd->name, o, kernels, nkernels, &c)) != EXIT_DONE)
		goto out;

	struct topology_domains d;
	topology_domains(&t, cpus, n, &d);
	printf("machine       %s (%s): %d CPUs, %d cores, %d sockets, %d NUMA nodes, %d L3 groups\n",
	       t.cpu_model, o->topology ? o->topology : "this machine", d.cpus, d.cores, d.sockets,
	       d.numa_nodes, d.l3_groups);
	printf("kernels       ");
	for (int k = 0; k < nkernels; k++)
		printf("%s%s", k ? " " : "", kernels[k]->name);
	printf("\nper pair      %s\n", c.source);
	printf("              %ld pairs at --precision %g --time-limit %g --sample-us %g: mean %.1f ms "
	       "= %.1f ms before sampling + %.0f samples x %.3f ms (wall time of a %g us sample); "
	       "median %.1f ms, 90%% %.1f ms, slowest %.1f ms\n", c.pairs, c.precision_pct, c.time_limit_s,
	       c.sample_us, c.pair_s * 1e3, c.fixed_s * 1e3, c.samples, c.per_sample_s * 1e3, c.sample_us,
	       c.q50_s * 1e3, c.q90_s * 1e3, c.slowest_s * 1e3);
	double load = 0;
	FILE *la = o->cost ? NULL : fopen("/proc/loadavg", "r");
	if (la && fscanf(la, "%lf", &load) == 1 && load > 1.5)
		printf("              the machine was busy during the probe (load average %.1f): the "
		       "figures are pessimistic for a quiet one\n", load);
	if (la)
		fclose(la);
	if (o->save_cost && !o->cost)
		printf("              written to %s (reuse: --cost %s)\n", o->save_cost, o->save_cost);

	struct matrix_estimate e;
	if (matrix_plan(&c, &t, cpus, n, nkernels, parallel, &e) != 0) {
		fprintf(stderr, "cohmap %s: out of memory planning %d CPUs\n", cmd->name, n);
		rc = EXIT_RUNTIME;
		goto out;
	}
	char note[128] = "";
	if (is_auto)
		snprintf(note, sizeof note, " (auto: one per L3 group, die or socket, of %d L3 groups; "
			 "at most %d disjoint pairs)", d.l3_groups, parallel_max(&t, cpus, n));
	else if (parallel == 1)
		snprintf(note, sizeof note, " (pairs one after another; --parallel N|auto to overlap)");
	printf("\ncohmap latency, full matrix\n");
	print_matrix(&e, &c, n, note);
	int most = parallel_max(&t, cpus, n);
	int need = e.total_s <= o->budget_s ? parallel
		 : parallel_needed(&c, &t, cpus, n, nkernels, most, o->budget_s);
	if (e.total_s <= o->budget_s)
		printf("  within        --budget %.0f s: yes\n", o->budget_s);
	else if (need > 0)
		printf("  within        --budget %.0f s: no; it needs --parallel %d or more\n",
		       o->budget_s, need);
	else {
		struct matrix_estimate best;
		if (matrix_plan(&c, &t, cpus, n, nkernels, most, &best) != 0) {
			fprintf(stderr, "cohmap %s: out of memory planning %d CPUs\n", cmd->name, n);
			rc = EXIT_RUNTIME;
			goto out;
		}
		printf("  within        --budget %.0f s: no, not even at --parallel %d (%s, utilisation "
		       "%.3f)\n", o->budget_s, most, duration(best.total_s, a, sizeof a), best.utilisation);
	}
	/* Every term is a count times a pair's time (the utilisation is a
	 * ratio, the counts barely move), so the total scales with the cost. */
	if (e.total_s > o->budget_s)
		printf("  would fit     at --parallel %d if a pair cost %.1f ms instead of %.1f ms: "
		       "%.2f x today's\n", e.parallel, c.pair_s * o->budget_s / e.total_s * 1e3,
		       c.pair_s * 1e3, o->budget_s / e.total_s);
	print_run(o, &c, nkernels, n);
	printf("\nnot modelled: clock calibration and plotting (seconds), a machine quieter or noisier "
	       "than the probe's (the stopping rule needs more or fewer samples)\n");
	rc = EXIT_DONE;
out:
	free(kernels);
	free(cpus);
	topology_free(&t);
	return rc;
}

static const char *const plan_options[] = {
	"topology", "cpus", "kernel", "parallel", "budget", "precision", "time-limit", "sample-us",
	"samples", "cost", "save-cost", "probe", "help", NULL,
};

const struct command command_plan = {
	.name = "plan",
	.summary = "how long a full latency matrix and `cohmap run` take on a machine (a time model "
		   "from a measured per-pair cost)",
	.options = plan_options,
	.examples = "  cohmap plan                                   # this machine, a 2 s probe\n"
		    "  cohmap plan --topology topology/fixtures/amd-2s-9554-smt.topo --parallel auto\n"
		    "  cohmap plan --save-cost here.cost             # keep the probe's numbers\n"
		    "  cohmap plan --cost here.cost --topology big.topo -k load_store --budget 300\n"
		    "                                                # --budget: the suite's, and the target for the matrix\n",
	.run = plan,
};
