/* An independent, minimal ping-pong: the reference `make bench` holds cohmap's
 * load_store kernel against. Shares no code with cohmap on purpose: its own
 * threads, its own clock (clock_gettime), its own statistics.
 *
 * usage: pingpong CPU_A CPU_B [SAMPLES [ROUND_TRIPS_PER_SAMPLE]]
 * prints: the median one-way latency in ns */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct flag {
	_Alignas(128) _Atomic uint64_t value;
};

static struct flag ping, pong;
static long samples = 300, round_trips = 500;

static void pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0) {
		fprintf(stderr, "pingpong: cannot pin to CPU %d\n", cpu);
		exit(2);
	}
}

static void *responder(void *arg)
{
	pin(*(int *)arg);
	uint64_t total = (uint64_t)(samples + 10) * (uint64_t)round_trips;
	for (uint64_t seq = 1; seq <= total; seq++) {
		while (atomic_load_explicit(&ping.value, memory_order_acquire) != seq)
			;
		atomic_store_explicit(&pong.value, seq, memory_order_release);
	}
	return NULL;
}

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: pingpong CPU_A CPU_B [SAMPLES [ROUND_TRIPS]]\n");
		return 2;
	}
	int cpu_a = atoi(argv[1]), cpu_b = atoi(argv[2]);
	if (argc > 3)
		samples = atol(argv[3]);
	if (argc > 4)
		round_trips = atol(argv[4]);
	double *one_way = malloc((size_t)samples * sizeof *one_way);
	pthread_t thread;
	pin(cpu_a);
	pthread_create(&thread, NULL, responder, &cpu_b);
	uint64_t seq = 0;
	for (long s = -10; s < samples; s++) { /* ten warm-up samples */
		double t0 = now_ns();
		for (long i = 0; i < round_trips; i++) {
			atomic_store_explicit(&ping.value, ++seq, memory_order_release);
			while (atomic_load_explicit(&pong.value, memory_order_acquire) != seq)
				;
		}
		double t1 = now_ns();
		if (s >= 0)
			one_way[s] = (t1 - t0) / (double)round_trips / 2;
	}
	pthread_join(thread, NULL);
	qsort(one_way, (size_t)samples, sizeof *one_way, by_value);
	printf("%.2f\n", one_way[samples / 2]);
	free(one_way);
	return 0;
}
