#include "experiments/latency/lanes.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/timing.h"

enum lane_state { LANE_IDLE, LANE_ASSIGNED, LANE_DONE, LANE_QUIT };

struct engine;
struct lane {
	struct engine *e;
	int id;
	enum lane_state state;
	long job;
	double took_s;
	pthread_t thread;
};

struct engine {
	pthread_mutex_t mu;
	pthread_cond_t to_lanes, to_main;
	const struct lanes_work *work;
	struct lane *lanes;
};

static void *lane_main(void *arg)
{
	struct lane *l = arg;
	struct engine *e = l->e;
	pthread_mutex_lock(&e->mu);
	for (;;) {
		while (l->state != LANE_ASSIGNED && l->state != LANE_QUIT)
			pthread_cond_wait(&e->to_lanes, &e->mu);
		if (l->state == LANE_QUIT)
			break;
		long job = l->job;
		pthread_mutex_unlock(&e->mu);
		uint64_t t0 = monotonic_ns();
		e->work->measure(e->work->ctx, job, l->id);
		double took = (double)(monotonic_ns() - t0) / 1e9;
		pthread_mutex_lock(&e->mu);
		l->took_s = took;
		l->state = LANE_DONE;
		pthread_cond_signal(&e->to_main);
	}
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

/* Waits for a lane to report, at most 100 ms (then the caller asks stop()). */
static void wait_for_lanes(struct engine *e)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_nsec += 100 * 1000 * 1000;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&e->to_main, &e->mu, &until);
}

int lanes_run(const struct topology *t, const struct sched_job *jobs, long n, int nlanes,
	      const struct lanes_cadence *cadence, const struct lanes_work *work,
	      struct lanes_report *report)
{
	struct engine e = { .work = work };
	struct dispatcher *d = dispatcher_new(t, jobs, n);
	int started = 0, rc = -1;
	pthread_condattr_t attr;
	*report = (struct lanes_report){ 0 };
	if (nlanes < 1)
		nlanes = 1;
	e.lanes = calloc((size_t)nlanes, sizeof *e.lanes);
	if (d == NULL || e.lanes == NULL) {
		fprintf(stderr, "cohmap: out of memory scheduling %ld pairs\n", n);
		free(e.lanes);
		dispatcher_free(d);
		return -1;
	}
	pthread_mutex_init(&e.mu, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&e.to_main, &attr);
	pthread_condattr_destroy(&attr);
	pthread_cond_init(&e.to_lanes, NULL);
	for (int k = 0; k < nlanes; k++) {
		e.lanes[started] = (struct lane){ .e = &e, .id = started, .state = LANE_IDLE };
		int err = pthread_create(&e.lanes[started].thread, NULL, lane_main, &e.lanes[started]);
		if (err == 0)
			started++;
		else if (started == 0) {
			fprintf(stderr, "cohmap: cannot start a thread for --parallel: %s\n", strerror(err));
			goto out;
		}
	}
	report->lanes = started;

	uint64_t begun = monotonic_ns(), last_drain = begun, in_drains = 0;
	long since_drain = 0;
	int running = 0;
	bool stopping = false, failed = false, draining = false, final_drain_done = false;
	pthread_mutex_lock(&e.mu);
	for (;;) {
		/* Keep what the lanes finished; their cores are free again. */
		for (int k = 0; k < started; k++) {
			struct lane *l = &e.lanes[k];
			if (l->state != LANE_DONE)
				continue;
			pthread_mutex_unlock(&e.mu);
			dispatcher_done(d, l->job);
			report->busy_s += l->took_s;
			report->measured++;
			since_drain++;
			int r = work->finished(work->ctx, l->job, l->id);
			pthread_mutex_lock(&e.mu);
			l->state = LANE_IDLE;
			running--;
			stopping |= r != 0;
			failed |= r < 0;
		}
		if (!stopping && work->stop && work->stop(work->ctx))
			stopping = true;
		if (stopping) {
			if (running == 0)
				break;
			wait_for_lanes(&e);
			continue;
		}
		bool all_done = dispatcher_pending(d) == 0;
		if (all_done && running == 0 && final_drain_done)
			break;
		if (!draining && (all_done || (since_drain >= cadence->min_jobs &&
				(double)(monotonic_ns() - last_drain) >= cadence->min_s * 1e9)))
			draining = true;
		if (draining && running == 0) {
			pthread_mutex_unlock(&e.mu);
			uint64_t t0 = monotonic_ns();
			int r = work->drain ? work->drain(work->ctx) : 0;
			last_drain = monotonic_ns();
			in_drains += last_drain - t0;
			pthread_mutex_lock(&e.mu);
			report->drains++;
			since_drain = 0;
			draining = false;
			final_drain_done = all_done;
			stopping |= r != 0;
			failed |= r < 0;
			continue;
		}
		/* Every free lane takes the next pair that can start now. */
		bool woke = false;
		for (int k = 0; !draining && k < started; k++) {
			struct lane *l = &e.lanes[k];
			if (l->state != LANE_IDLE)
				continue;
			long i = dispatcher_next(d);
			if (i < 0)
				break;
			l->job = i;
			l->state = LANE_ASSIGNED;
			running++;
			woke = true;
		}
		if (woke)
			pthread_cond_broadcast(&e.to_lanes);
		if (running == 0) { /* cannot be: with nothing running, any pending job starts */
			fprintf(stderr, "cohmap: --parallel: %ld pairs left that no lane can start\n",
				dispatcher_pending(d));
			stopping = failed = true;
			continue;
		}
		bool any_done = false;
		for (int k = 0; k < started; k++)
			any_done |= e.lanes[k].state == LANE_DONE;
		if (!any_done)
			wait_for_lanes(&e);
	}
	for (int k = 0; k < started; k++)
		e.lanes[k].state = LANE_QUIT;
	pthread_cond_broadcast(&e.to_lanes);
	pthread_mutex_unlock(&e.mu);
	for (int k = 0; k < started; k++)
		pthread_join(e.lanes[k].thread, NULL);
	report->wall_s = (double)(monotonic_ns() - begun - in_drains) / 1e9;
	report->mean_running = report->wall_s > 0 ? report->busy_s / report->wall_s : 0;
	rc = failed ? -1 : 0;
out:
	pthread_cond_destroy(&e.to_main);
	pthread_cond_destroy(&e.to_lanes);
	pthread_mutex_destroy(&e.mu);
	free(e.lanes);
	dispatcher_free(d);
	return rc;
}
