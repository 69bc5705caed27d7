/* experiments/latency/pair_schedule.c: the rounds of --parallel never put two
 * pairs on one core (nor on SMT siblings), hold every pair exactly once, and
 * the serial subset covers every (kernel, pair class) and at least 5 %. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/shuffle.h"
#include "experiments/latency/pair_schedule.h"

static void load(const char *name, struct topology *t, int *cpus, int *ncpus)
{
	char path[512], err[ERRLEN];
	const char *src = getenv("COHMAP_SRCDIR");
	snprintf(path, sizeof path, "%s/topology/fixtures/%s", src ? src : ".", name);
	assert_int_equal(topology_load(t, path, err), 0);
	*ncpus = t->ncpus;
	for (int i = 0; i < t->ncpus; i++)
		cpus[i] = t->cpus[i].cpu;
	topology_sort(t, cpus, *ncpus);
}

/* Every ordered pair of every CPU, for nkernels kernels, shuffled. */
static struct sched_job *all_jobs(const int *cpus, int n, int nkernels, long *njobs)
{
	struct sched_job *jobs = calloc((size_t)n * (size_t)n * (size_t)nkernels, sizeof *jobs);
	long k = 0;
	for (int kernel = 0; kernel < nkernels; kernel++)
		for (int a = 0; a < n; a++)
			for (int b = 0; b < n; b++)
				if (a != b)
					jobs[k++] = (struct sched_job){ cpus[a], cpus[b], kernel };
	shuffle(jobs, (size_t)k, sizeof *jobs, 11);
	*njobs = k;
	return jobs;
}

static void check_rounds(const char *fixture, int width)
{
	struct topology t;
	int cpus[512], n;
	long njobs;
	load(fixture, &t, cpus, &n);
	struct sched_job *jobs = all_jobs(cpus, n, 2, &njobs);
	long *round = calloc((size_t)njobs, sizeof *round);
	long rounds = schedule_rounds(&t, jobs, njobs, width, round);
	assert_true(rounds > 0);
	/* Exactly once: every job has one round in range (and a job list holds
	 * each pair once, so no pair is in two rounds). */
	long *size = calloc((size_t)rounds, sizeof *size);
	for (long i = 0; i < njobs; i++) {
		assert_true(round[i] >= 0 && round[i] < rounds);
		size[round[i]]++;
	}
	long sum = 0, widest = 0;
	for (long r = 0; r < rounds; r++) {
		assert_true(size[r] >= 1 && size[r] <= width);
		sum += size[r];
		widest = size[r] > widest ? size[r] : widest;
	}
	assert_int_equal(sum, njobs);
	assert_int_equal(widest, width);
	/* Disjoint: no two jobs of a round share a core (SMT siblings share one). */
	for (long i = 0; i < njobs; i++)
		for (long j = i + 1; j < njobs; j++) {
			if (round[i] != round[j])
				continue;
			const struct cpu_place *p[4] = {
				topology_find(&t, jobs[i].cpu_a), topology_find(&t, jobs[i].cpu_b),
				topology_find(&t, jobs[j].cpu_a), topology_find(&t, jobs[j].cpu_b) };
			for (int x = 0; x < 2; x++)
				for (int y = 2; y < 4; y++) {
					assert_int_not_equal(p[x]->cpu, p[y]->cpu);
					assert_int_not_equal(p[x]->core, p[y]->core);
				}
		}
	free(size);
	free(round);
	free(jobs);
	topology_free(&t);
}

static void rounds_are_disjoint_and_hold_every_pair_once(void **state)
{
	(void)state;
	check_rounds("intel-2s-smt.topo", 4);
	check_rounds("amd-2s-ccx.topo", 3);
	check_rounds("laptop-1s.topo", 1);
}

static void widths_follow_the_topology(void **state)
{
	(void)state;
	struct topology t;
	int cpus[512], n;
	load("intel-2s-smt.topo", &t, cpus, &n);
	int cores = 0;
	for (int i = 0; i < t.ncpus; i++)
		cores += t.cpus[i].smt == 0;
	assert_int_equal(schedule_max_parallel(&t, cpus, n), cores / 2);
	int a = schedule_auto_parallel(&t, cpus, n);
	assert_true(a >= 2 && a <= cores / 2); /* at least one per socket */
	assert_int_equal(schedule_max_parallel(&t, cpus, 1), 0);
	assert_int_equal(schedule_max_parallel(&t, cpus, 2) >= 1, 1);
	/* SMT siblings alone: one core, still one pair at a time */
	int siblings[2], k = 0;
	for (int i = 0; i < t.ncpus && k < 2; i++)
		if (t.cpus[i].core == t.cpus[0].core)
			siblings[k++] = t.cpus[i].cpu;
	if (k == 2)
		assert_int_equal(schedule_max_parallel(&t, siblings, 2), 1);
	topology_free(&t);
}

static void the_serial_subset_covers_every_class_and_5_percent(void **state)
{
	(void)state;
	const char *fixtures[] = { "intel-2s-smt.topo", "amd-2s-ccx.topo", "amd-1s-nps2.topo" };
	for (size_t f = 0; f < ARRAY_SIZE(fixtures); f++) {
		struct topology t;
		int cpus[512], n;
		long njobs;
		load(fixtures[f], &t, cpus, &n);
		struct sched_job *jobs = all_jobs(cpus, n, 3, &njobs);
		bool *control = calloc((size_t)(njobs > 0 ? njobs : 1), sizeof *control);
		long marked = schedule_controls(&t, jobs, njobs, 5, control);
		long count = 0;
		bool present[3][PAIR_CLASS_COUNT] = { { false } }, covered[3][PAIR_CLASS_COUNT] = { { false } };
		for (long i = 0; i < njobs; i++) {
			enum pair_class c = topology_pair_class(&t, jobs[i].cpu_a, jobs[i].cpu_b);
			present[jobs[i].kernel][c] = true;
			if (control[i]) {
				covered[jobs[i].kernel][c] = true;
				count++;
			}
		}
		assert_int_equal(count, marked);
		assert_true(count * 20 >= njobs);
		assert_true(count < njobs);
		for (int k = 0; k < 3; k++)
			for (int c = 0; c < PAIR_CLASS_COUNT; c++)
				assert_int_equal(present[k][c], covered[k][c]);
		free(control);
		free(jobs);
		topology_free(&t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rounds_are_disjoint_and_hold_every_pair_once),
		cmocka_unit_test(widths_follow_the_topology),
		cmocka_unit_test(the_serial_subset_covers_every_class_and_5_percent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
