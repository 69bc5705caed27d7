/* experiments/latency/pair_schedule.c and lanes.c: the dispatcher of
 * --parallel never runs two pairs on one core (nor on SMT siblings) at once,
 * starts every pair exactly once and leaves no lane idle that could work; the
 * lane engine, on real threads with a fake measurement, keeps that, drains
 * with nothing running, and loses no measured pair when told to stop; the
 * serial subset covers every (kernel, pair class) and at least 5 %. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/shuffle.h"
#include "experiments/latency/lanes.h"
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

/* Whether jobs a and b share a core, asked of the topology directly (not
 * of the dispatcher's own predicate, which is under test). */
static bool share_a_core(const struct topology *t, const struct sched_job *a, const struct sched_job *b)
{
	const struct cpu_place *p[4] = { topology_find(t, a->cpu_a), topology_find(t, a->cpu_b),
					 topology_find(t, b->cpu_a), topology_find(t, b->cpu_b) };
	for (int x = 0; x < 2; x++)
		for (int y = 2; y < 4; y++)
			if (p[x]->cpu == p[y]->cpu || p[x]->core == p[y]->core)
				return true;
	return false;
}

/* What the dry run's watch sees; each job's cores looked up once. */
struct watched {
	const char *fixture;
	const struct sched_job *jobs;
	long njobs;
	int lanes, widest;
	int *starts;
	int (*cores)[2];
	long fresh[512];     /* started since the last fill */
	int nfresh;
};

static bool cores_meet(const struct watched *w, long i, long j)
{
	const int *a = w->cores[i], *b = w->cores[j];
	return a[0] == b[0] || a[0] == b[1] || a[1] == b[0] || a[1] == b[1];
}

static void watch_started(void *ctx, long i)
{
	struct watched *w = ctx;
	assert_true(i >= 0 && i < w->njobs);
	w->starts[i]++;
	w->fresh[w->nfresh++] = i;
}

/* The jobs just started share no core with any running job; when a lane
 * stays idle, no pending job could have started (the dispatcher leaves no
 * lane idle that could work: checked on the first 200 pending jobs). */
static void watch_filled(void *ctx, const long *running, int nrun, long pending)
{
	struct watched *w = ctx;
	w->widest = nrun > w->widest ? nrun : w->widest;
	assert_true(nrun <= w->lanes);
	for (int f = 0; f < w->nfresh; f++)
		for (int k = 0; k < nrun; k++)
			if (running[k] != w->fresh[f] && cores_meet(w, w->fresh[f], running[k]))
				fail_msg("%s: jobs %ld (%d->%d) and %ld (%d->%d) run at once on a shared core",
					 w->fixture, w->fresh[f], w->jobs[w->fresh[f]].cpu_a,
					 w->jobs[w->fresh[f]].cpu_b, running[k], w->jobs[running[k]].cpu_a,
					 w->jobs[running[k]].cpu_b);
	w->nfresh = 0;
	if (nrun == w->lanes || pending == 0)
		return;
	long checked = 0;
	for (long j = 0; j < w->njobs && checked < 200; j++) {
		if (w->starts[j])
			continue;
		bool blocked = false;
		for (int k = 0; k < nrun && !blocked; k++)
			blocked = cores_meet(w, j, running[k]);
		assert_true(blocked);
		checked++;
	}
}

/* The dispatcher in a dry run (job i takes 1 + i % 7 units), watched at
 * every step; every job starts once. */
static void check_dispatcher(const char *fixture, int lanes, int nkernels)
{
	struct topology t;
	int cpus[512], n;
	long njobs;
	load(fixture, &t, cpus, &n);
	struct sched_job *jobs = all_jobs(cpus, n, nkernels, &njobs);
	double *seconds = malloc((size_t)njobs * sizeof *seconds);
	for (long i = 0; i < njobs; i++)
		seconds[i] = 1 + i % 7;
	struct watched w = { .fixture = fixture, .jobs = jobs, .njobs = njobs, .lanes = lanes,
			     .starts = calloc((size_t)njobs, sizeof(int)),
			     .cores = calloc((size_t)njobs, sizeof *w.cores) };
	for (long i = 0; i < njobs; i++) {
		w.cores[i][0] = topology_find(&t, jobs[i].cpu_a)->core;
		w.cores[i][1] = topology_find(&t, jobs[i].cpu_b)->core;
	}
	struct dry_run_watch watch = { .ctx = &w, .started = watch_started, .filled = watch_filled };
	struct schedule_dry_run dry;
	assert_int_equal(schedule_dry_run(&t, jobs, njobs, lanes, seconds, &watch, &dry), 0);
	for (long i = 0; i < njobs; i++)
		assert_int_equal(w.starts[i], 1);
	assert_int_equal(w.widest, lanes);
	assert_false(schedule_disjoint(&t, &jobs[0], &jobs[0])); /* a job shares its own cores */
	free(w.starts);
	free(w.cores);
	free(seconds);
	free(jobs);
	topology_free(&t);
}

static void the_dispatcher_runs_disjoint_pairs_and_every_pair_once(void **state)
{
	(void)state;
	check_dispatcher("intel-2s-smt.topo", 4, 2);
	check_dispatcher("intel-2s-smt.topo", 10, 2); /* the most: 20 cores */
	check_dispatcher("amd-2s-ccx.topo", 3, 2);
	check_dispatcher("amd-2s-ccx.topo", 16, 2);
	check_dispatcher("laptop-1s.topo", 1, 2);
	check_dispatcher("laptop-1s.topo", 2, 2);
	/* 128 cores: with 16 lanes most free cores are many, and the dispatcher
	 * scans the pending list; with 64 (the most) it looks up the few free
	 * cores' pairs. Both ways keep the rules. */
	check_dispatcher("amd-2s-9554-smt.topo", 16, 1);
	check_dispatcher("amd-2s-9554-smt.topo", 64, 1);
}

/* The dry run's arithmetic: one lane is busy all the time; more lanes are
 * busy at most all the time, and the sums add up. */
static void the_dry_run_adds_up(void **state)
{
	(void)state;
	struct topology t;
	int cpus[512], n;
	long njobs;
	load("intel-2s-smt.topo", &t, cpus, &n);
	struct sched_job *jobs = all_jobs(cpus, n, 1, &njobs);
	double *seconds = malloc((size_t)njobs * sizeof *seconds), sum = 0;
	for (long i = 0; i < njobs; i++)
		sum += seconds[i] = 0.001 * (1 + i % 5);
	struct schedule_dry_run dry;
	assert_int_equal(schedule_dry_run(&t, jobs, njobs, 1, seconds, NULL, &dry), 0);
	assert_true(fabs(dry.makespan_s - sum) < 1e-9);
	assert_true(fabs(dry.utilisation - 1) < 1e-12);
	assert_int_equal(schedule_dry_run(&t, jobs, njobs, 10, seconds, NULL, &dry), 0);
	assert_true(fabs(dry.busy_s - sum) < 1e-9);
	assert_true(dry.makespan_s >= sum / 10 - 1e-12); /* never more than 10 at once */
	assert_true(dry.utilisation > 0 && dry.utilisation <= 1);
	assert_true(fabs(dry.mean_running - dry.utilisation * 10) < 1e-9);
	/* 1,560 pairs of 1-5 ms on 20 cores: the 10 lanes stay mostly busy */
	assert_true(dry.utilisation > 0.5);
	free(seconds);
	free(jobs);
	topology_free(&t);
}

/* lanes_run with a fake measurement, on real threads. */
struct fake {
	const struct topology *t;
	const struct sched_job *jobs;
	pthread_mutex_t mu;
	long *running, nrunning;  /* the jobs inside measure now */
	int *measured, *finished;
	long drains, overlaps, max_running, stop_after, finished_total;
	int stop_with;
	pthread_t caller;
	bool drain_saw_running, finished_off_thread;
};

static void fake_measure(void *ctx, long i, int lane)
{
	struct fake *f = ctx;
	(void)lane;
	pthread_mutex_lock(&f->mu);
	for (long k = 0; k < f->nrunning; k++)
		if (share_a_core(f->t, &f->jobs[i], &f->jobs[f->running[k]]))
			f->overlaps++;
	f->running[f->nrunning++] = i;
	if (f->nrunning > f->max_running)
		f->max_running = f->nrunning;
	pthread_mutex_unlock(&f->mu);
	struct timespec pause = { 0, 20000 + 1000 * (i % 13) };
	nanosleep(&pause, NULL);
	pthread_mutex_lock(&f->mu);
	for (long k = 0; k < f->nrunning; k++)
		if (f->running[k] == i) {
			f->running[k] = f->running[--f->nrunning];
			break;
		}
	f->measured[i]++;
	pthread_mutex_unlock(&f->mu);
}

static int fake_finished(void *ctx, long i, int lane)
{
	struct fake *f = ctx;
	(void)lane;
	f->finished_off_thread |= !pthread_equal(pthread_self(), f->caller);
	f->finished[i]++;
	f->finished_total++;
	return f->stop_after > 0 && f->finished_total >= f->stop_after ? f->stop_with : 0;
}

static int fake_drain(void *ctx)
{
	struct fake *f = ctx;
	pthread_mutex_lock(&f->mu);
	f->drain_saw_running |= f->nrunning > 0;
	pthread_mutex_unlock(&f->mu);
	f->drains++;
	return 0;
}

static void run_fake(const char *fixture, int lanes, long stop_after, int stop_with)
{
	struct topology t;
	int cpus[512], n;
	long njobs;
	load(fixture, &t, cpus, &n);
	struct sched_job *jobs = all_jobs(cpus, n, 1, &njobs);
	struct fake f = { .t = &t, .jobs = jobs, .caller = pthread_self(),
			  .running = calloc((size_t)njobs, sizeof(long)),
			  .measured = calloc((size_t)njobs, sizeof(int)),
			  .finished = calloc((size_t)njobs, sizeof(int)),
			  .stop_after = stop_after, .stop_with = stop_with };
	pthread_mutex_init(&f.mu, NULL);
	struct lanes_work work = { .ctx = &f, .measure = fake_measure, .finished = fake_finished,
				   .drain = fake_drain };
	struct lanes_cadence cadence = { .min_jobs = 8L * lanes, .min_s = 0 };
	struct lanes_report report;
	int rc = lanes_run(&t, jobs, njobs, lanes, &cadence, &work, &report);
	assert_int_equal(rc, stop_with < 0 ? -1 : 0);
	assert_int_equal(report.lanes, lanes);
	assert_int_equal(f.overlaps, 0);          /* no two running jobs share a core */
	assert_true(f.max_running <= lanes);
	assert_false(f.drain_saw_running);         /* a drain runs alone */
	assert_false(f.finished_off_thread);       /* results are kept in the caller's thread */
	long measured = 0;
	for (long i = 0; i < njobs; i++) {
		assert_true(f.measured[i] <= 1);
		assert_int_equal(f.finished[i], f.measured[i]); /* nothing measured is lost */
		measured += f.measured[i];
	}
	assert_int_equal(report.measured, measured);
	if (stop_after == 0) {
		assert_int_equal(measured, njobs);     /* every job exactly once */
		/* a drain once 8 x lanes jobs have ended (and the up to lanes - 1
		 * still running when it was due), and one at the end */
		if (f.drains < njobs / (9L * lanes) || f.drains > njobs / (8L * lanes) + 1)
			fail_msg("%ld drains for %ld jobs on %d lanes", f.drains, njobs, lanes);
		assert_int_equal(report.drains, f.drains);
		assert_true(report.mean_running > 0 && report.mean_running <= lanes + 1e-9);
	} else {
		/* stopped: the running jobs end and are kept, no new one starts */
		assert_true(measured >= stop_after && measured < stop_after + lanes);
	}
	pthread_mutex_destroy(&f.mu);
	free(f.running);
	free(f.measured);
	free(f.finished);
	free(jobs);
	topology_free(&t);
}

static void lanes_run_disjoint_pairs_each_once_and_drain_alone(void **state)
{
	(void)state;
	run_fake("intel-2s-smt.topo", 4, 0, 0);
	run_fake("amd-2s-ccx.topo", 16, 0, 0);
	run_fake("laptop-1s.topo", 1, 0, 0);
	run_fake("amd-2s-ccx.topo", 8, 100, 1);   /* Ctrl-C: stop starting */
	run_fake("amd-2s-ccx.topo", 8, 50, -1);   /* a row that cannot be written */
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
		cmocka_unit_test(the_dispatcher_runs_disjoint_pairs_and_every_pair_once),
		cmocka_unit_test(the_dry_run_adds_up),
		cmocka_unit_test(lanes_run_disjoint_pairs_each_once_and_drain_alone),
		cmocka_unit_test(widths_follow_the_topology),
		cmocka_unit_test(the_serial_subset_covers_every_class_and_5_percent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
