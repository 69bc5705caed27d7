/* The bandwidth experiment: stream kernels, sizes from the caches, the plan,
 * and the ring on this machine's first two usable CPUs, with its data check
 * fed deliberately corrupted chunks. Nothing here depends on how fast
 * anything is: only on what happened. */
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "experiments/bandwidth/bandwidth.h"
#include "harness/selection.h"
#include "cli/commands.h"
#include "base/memory.h"
#include "kernels/stream.h"

static struct clock_info clock_;
static int cpu_a = -1, cpu_b = -1;

static int setup(void **state)
{
	(void)state;
	clock_calibrate(&clock_);
	cpu_set_t allowed;
	sched_getaffinity(0, sizeof allowed, &allowed);
	for (int c = 0; c < CPU_SETSIZE && cpu_b < 0; c++)
		if (CPU_ISSET(c, &allowed)) {
			if (cpu_a < 0)
				cpu_a = c;
			else
				cpu_b = c;
		}
	return cpu_b < 0 ? -1 : 0;
}

static void load_fixture(const char *name, struct topology *t)
{
	char path[512], err[ERRLEN] = "";
	const char *src = getenv("COHMAP_SRCDIR");
	snprintf(path, sizeof path, "%s/topology/fixtures/%s", src ? src : ".", name);
	if (topology_load(t, path, err) != 0)
		fail_msg("%s", err);
}

static void each_kernel_declares_its_traffic_and_moves_the_pattern(void **state)
{
	(void)state;
	enum { N = 1001 }; /* odd: the vector loops' tails run too */
	static _Alignas(64) uint64_t src[N + 8], dst[N + 8];
	uint64_t tag = stream_tag(77);
	int producers = 0, consumers = 0;
	for (int i = 0; i < stream_kernel_count; i++) {
		const struct stream_kernel *k = stream_registry[i];
		char why[ERRLEN] = "";
		if (!stream_kernel_available(k, why, sizeof why)) {
			assert_true(strlen(why) > 0); /* unavailable says why */
			continue;
		}
		assert_ptr_equal(stream_kernel_find(k->name), k);
		switch (k->op) {
		case STREAM_WRITE:
			producers++;
			assert_int_equal(k->read_bytes, 0);
			assert_int_equal(k->written_bytes, 8);
			memset(dst, 0, sizeof dst);
			k->write(dst, N, tag);
			assert_int_equal(stream_find_mismatch(dst, N, tag), N);
			assert_int_equal(dst[N], 0); /* not one element further */
			break;
		case STREAM_READ:
			consumers++;
			assert_int_equal(k->read_bytes, 8);
			assert_int_equal(k->written_bytes, 0);
			stream_write.write(src, N, tag);
			assert_true(k->read(src, N) == stream_expected_sum(tag, N));
			src[500] ^= 4;
			assert_true(k->read(src, N) != stream_expected_sum(tag, N));
			break;
		case STREAM_COPY:
			consumers++;
			assert_int_equal(k->read_bytes, 8);
			assert_int_equal(k->written_bytes, 8);
			stream_write.write(src, N, tag);
			memset(dst, 0, sizeof dst);
			k->copy(dst, src, N);
			assert_int_equal(stream_find_mismatch(dst, N, tag), N);
			assert_int_equal(dst[N], 0);
			break;
		}
	}
	assert_true(producers >= 1);
	assert_true(consumers >= 3);
	/* The closed form agrees with summing, odd and even lengths alike. */
	for (size_t n = 1; n < 40; n++) {
		uint64_t sum = 0;
		for (size_t i = 0; i < n; i++)
			sum += tag + i;
		assert_true(sum == stream_expected_sum(tag, n));
	}
}

static void sizes_run_from_inside_l1_to_beyond_the_llc(void **state)
{
	(void)state;
	struct topology t = { 0 };
	load_fixture("intel-2s-smt.topo", &t);
	int cpus[64], n = topology_usable(&t, cpus, 64);
	size_t sizes[BANDWIDTH_MAX_SIZES];
	int count = bandwidth_default_sizes(&t, cpus, n, sizes, BANDWIDTH_MAX_SIZES);
	assert_true(count >= 8);
	assert_true(sizes[0] < t.l1d_bytes);
	/* Two sockets, one L3 each: beyond both L3s together. */
	assert_true(sizes[count - 1] >= 2 * 2 * t.l3_bytes);
	bool l1_half = false, l2 = false, l2_twice = false, l3 = false;
	for (int i = 0; i < count; i++) {
		if (i > 0)
			assert_true(sizes[i] > sizes[i - 1]);
		l1_half |= sizes[i] == t.l1d_bytes / 2;
		l2 |= sizes[i] == t.l2_bytes;
		l2_twice |= sizes[i] == 2 * t.l2_bytes;
		l3 |= sizes[i] == t.l3_bytes;
		/* No gap wider than 4x between neighbours. */
		if (i > 0)
			assert_true(sizes[i] <= 4 * sizes[i - 1]);
	}
	assert_true(l1_half && l2 && l2_twice && l3);
	topology_free(&t);
}

static void a_ring_holds_two_whole_chunks_of_line_pairs(void **state)
{
	(void)state;
	size_t chunk;
	assert_int_equal(ring_fit(1 << 20, 8192, 64, &chunk), 1 << 20);
	assert_int_equal(chunk, 8192);
	/* A chunk is whole line pairs. */
	assert_int_equal(ring_fit(1 << 20, 12300, 64, &chunk), (1 << 20) / 12288 * 12288);
	assert_int_equal(chunk, 12288);
	/* Small buffers use half their size as the chunk. */
	assert_int_equal(ring_fit(4096, 12288, 64, &chunk), 4096);
	assert_int_equal(chunk, 2048);
	/* Rounded down to whole chunks. */
	assert_int_equal(ring_fit(100000, 12288, 64, &chunk), 100000 / 12288 * 12288);
	/* Too small for two chunks of two lines. */
	assert_int_equal(ring_fit(200, 12288, 64, &chunk), 0);
}

static void every_size_and_class_gets_a_job(void **state)
{
	(void)state;
	struct topology t = { 0 };
	load_fixture("intel-2s-smt.topo", &t);
	int cpus[64], n = topology_usable(&t, cpus, 64);
	struct bandwidth_plan p = {
		.cpus = cpus, .ncpus = n, .nsizes = 3, .sizes = { 16384, 1 << 20, 64 << 20 },
		.matrix_bytes = 256 << 10, .chunk_bytes = 8192, .producer = &stream_write,
		.consumers = { &stream_copy, &stream_read }, .nconsumers = 2,
	};
	struct bandwidth_job *jobs;
	long njobs = bandwidth_plan_jobs(&p, &t, &jobs);
	long counts[PAIR_CLASS_COUNT];
	topology_count_pairs(&t, cpus, n, counts);
	int classes = 0;
	for (int c = PAIR_SELF + 1; c < PAIR_CLASS_COUNT; c++)
		classes += counts[c] > 0;
	assert_int_equal(classes, 3); /* smt, l3, cross-socket */
	assert_int_equal(njobs, 2 * (3 * (classes + 1) + n * n));
	for (int k = 0; k < 2; k++)
		for (int s = 0; s < 3; s++)
			for (int c = 0; c < PAIR_CLASS_COUNT; c++) {
				if (c != PAIR_SELF && counts[c] == 0)
					continue;
				int found = 0;
				for (long j = 0; j < njobs; j++)
					found += jobs[j].series == SERIES_SWEEP && jobs[j].consumer == p.consumers[k] &&
						 jobs[j].bytes == p.sizes[s] &&
						 (int)topology_pair_class(&t, jobs[j].cpu_a, jobs[j].cpu_b) == c;
				assert_int_equal(found, 1);
			}
	long diagonal = 0;
	for (long j = 0; j < njobs; j++)
		diagonal += jobs[j].series == SERIES_MATRIX && jobs[j].cpu_a == jobs[j].cpu_b;
	assert_int_equal(diagonal, 2 * n);
	free(jobs);
	topology_free(&t);
}

static struct measure_options options(long samples)
{
	return (struct measure_options){
		.agents = AGENTS_THREADS,
		.fixed_samples = samples,
		.precision = 0.02,
		.time_limit_s = 0.05,
		.sample_target_ns = 20000,
		.watchdog_s = 60, /* a hang guard: a loaded machine only makes it slower */
		.line_size = 64,
	};
}

static struct ring_job job(const struct stream_kernel *consumer, int a, int b, size_t bytes)
{
	return (struct ring_job){ .producer = &stream_write, .consumer = consumer, .cpu_a = a, .cpu_b = b,
				  .buffer_bytes = bytes, .chunk_bytes = 4096, .home_node = -1,
				  .private_node = -1 };
}

static void the_ring_streams_between_two_cpus_and_on_one(void **state)
{
	(void)state;
	struct measure_options o = options(5);
	const struct stream_kernel *consumers[] = { &stream_read, &stream_copy, &stream_memcpy };
	struct ring_pool pool = { .capacity = 256 << 10, .ring_node = -1, .priv_node = -1 };
	for (size_t k = 0; k < sizeof consumers / sizeof *consumers; k++) {
		int pairs[][2] = { { cpu_a, cpu_b }, { cpu_b, cpu_a }, { cpu_a, cpu_a } };
		for (int i = 0; i < 3; i++) {
			struct ring_job j = job(consumers[k], pairs[i][0], pairs[i][1], 64 << 10);
			struct ring_result r;
			ring_measure(&j, &o, &clock_, NULL, &pool, &r);
			if (r.status != PAIR_OK)
				fail_msg("%s %d->%d: %s", consumers[k]->name, j.cpu_a, j.cpu_b, r.reason);
			assert_false(r.wrong_data);
			assert_int_equal(r.gbps.n, 5);
			assert_true(r.gbps.min > 0);
			/* Whole passes: the chunks consumed are a multiple of the slots. */
			assert_int_equal(r.chunks_consumed % (j.buffer_bytes / j.chunk_bytes), 0);
			assert_true(r.passes_per_sample >= 1);
			/* The data check's coverage, from what it compared: a read
			 * checks every element by its sum; a copy checks the last copy
			 * through each slot in full (after the timing) and, between
			 * CPUs, two elements of every chunk as it arrives. */
			size_t whole_slots = j.buffer_bytes / j.chunk_bytes; /* whole chunks only */
			size_t chunk_elems = j.chunk_bytes / sizeof(uint64_t);
			double slots = (double)whole_slots, elems = (double)chunk_elems;
			double chunks = (double)r.chunks_consumed, want = 100;
			if (consumers[k]->op == STREAM_COPY)
				want = j.cpu_a == j.cpu_b
					       ? 100 * slots / chunks
					       : 100 * (2 * chunks + slots * (elems - 2)) / (chunks * elems);
			assert_float_equal(r.checked_pct, want, 1e-9);
		}
	}
	ring_pool_release(&pool);
}

static void a_corrupted_chunk_is_caught_never_measured(void **state)
{
	(void)state;
	struct measure_options o = options(5);
	const struct stream_kernel *consumers[] = { &stream_read, &stream_copy };
	for (size_t k = 0; k < 2; k++) {
		int pairs[][2] = { { cpu_a, cpu_b }, { cpu_a, cpu_a } };
		for (int i = 0; i < 2; i++) {
			/* One wrong word in every chunk from the third on. */
			struct ring_test_hook payload = { .corrupt_payload_from = 3 };
			struct ring_job j = job(consumers[k], pairs[i][0], pairs[i][1], 32 << 10);
			struct ring_result r;
			ring_measure(&j, &o, &clock_, &payload, NULL, &r);
			assert_int_equal(r.status, PAIR_FAILED);
			assert_true(r.wrong_data);
			assert_non_null(strstr(r.reason, "wrong data"));
			/* A chunk carrying another chunk's sequence number. */
			struct ring_test_hook misnumbered = { .misnumber_chunk = 5 };
			ring_measure(&j, &o, &clock_, &misnumbered, NULL, &r);
			assert_int_equal(r.status, PAIR_FAILED);
			assert_true(r.wrong_data);
			if (i == 0) /* the pipeline names the chunk by its sequence number */
				assert_non_null(strstr(r.reason, "chunk 5 (ring slot 4) from CPU"));
		}
	}
}

static void the_test_hook_parses_or_refuses(void **state)
{
	(void)state;
	struct ring_test_hook h;
	char err[ERRLEN];
	assert_int_equal(bandwidth_parse_test_hook(NULL, &h, err), 0);
	assert_true(h.corrupt_payload_from == 0 && h.misnumber_chunk == 0);
	assert_int_equal(bandwidth_parse_test_hook("payload:7", &h, err), 0);
	assert_true(h.corrupt_payload_from == 7);
	assert_int_equal(bandwidth_parse_test_hook("sequence:2", &h, err), 0);
	assert_true(h.misnumber_chunk == 2);
	assert_int_equal(bandwidth_parse_test_hook("payload:", &h, err), -1);
	assert_int_equal(bandwidth_parse_test_hook("flip:3", &h, err), -1);
}

/* prepare() with a command line, on this machine's topology. */
static int prepare_with(const char *const *args, int nargs, void **plan)
{
	char *argv[16], skip[ERRLEN];
	struct options o;
	int first;
	struct topology t = { 0 };
	for (int i = 0; i < nargs; i++)
		argv[i] = (char *)args[i];
	assert_int_equal(command_parse(command_find("bandwidth"), nargs, argv, &o, &first), 0);
	assert_int_equal(load_topology("bandwidth", &o, &t), EXIT_DONE);
	*plan = NULL;
	int rc = experiment_bandwidth.prepare("bandwidth", &o, o.settings, &t, plan, skip);
	topology_free(&t);
	free(o.settings);
	return rc;
}

static void sizes_beyond_the_memory_are_refused(void **state)
{
	(void)state;
	void *plan;
	long long available = meminfo_field("MemAvailable");
	assert_true(available > 0);
	char too_big[64];
	snprintf(too_big, sizeof too_big, "%lld", available / 2 + available / 16); /* with its copy: > available */
	const char *refused[] = { "bandwidth", "-c", "0", "--sizes", too_big, "--consumer", "copy" };
	assert_int_equal(prepare_with(refused, 7, &plan), EXIT_USAGE);
	assert_null(plan);
	const char *matrix[] = { "bandwidth", "-c", "0", "--matrix-size", "64T" };
	assert_int_equal(prepare_with(matrix, 5, &plan), EXIT_USAGE);
	/* The same size for a reading consumer (no private copy) fits. */
	const char *fits[] = { "bandwidth", "-c", "0", "--sizes", too_big, "--consumer", "read" };
	assert_int_equal(prepare_with(fits, 7, &plan), EXIT_DONE);
	assert_non_null(plan);
	experiment_bandwidth.release(plan);
	/* Below the smallest ring: two chunks of two lines. */
	const char *tiny[] = { "bandwidth", "-c", "0", "--sizes", "64" };
	assert_int_equal(prepare_with(tiny, 5, &plan), EXIT_USAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(each_kernel_declares_its_traffic_and_moves_the_pattern),
		cmocka_unit_test(sizes_run_from_inside_l1_to_beyond_the_llc),
		cmocka_unit_test(a_ring_holds_two_whole_chunks_of_line_pairs),
		cmocka_unit_test(every_size_and_class_gets_a_job),
		cmocka_unit_test(the_ring_streams_between_two_cpus_and_on_one),
		cmocka_unit_test(a_corrupted_chunk_is_caught_never_measured),
		cmocka_unit_test(the_test_hook_parses_or_refuses),
		cmocka_unit_test(sizes_beyond_the_memory_are_refused),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
