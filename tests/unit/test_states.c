/* The line-state experiment: the chain builder (every line exactly once), the
 * walks (each op keeps the chain and notices a broken one), the scripts that
 * put lines into each state, the choice of pairs and sharers on a fixture
 * topology, the bar chart from a hand-written states.csv, and one real
 * measurement of every kernel on this machine's first two CPUs. Nothing here
 * depends on how fast anything is; the one comparison of two medians is
 * asserted only when they differ by more than 3x. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "experiments/states/states.h"
#include "plots/plot.h"
#include "experiments/states/states_plot.h"
#include "topology/topology.h"

static size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/* A set of n lines in fresh page-aligned memory; *mem to free. */
static void make_set(struct line_set *set, long n, size_t stride, void **mem)
{
	size_t bytes = line_set_init(set, NULL, stride, page_size(), n);
	*mem = aligned_alloc(page_size(), bytes);
	assert_non_null(*mem);
	memset(*mem, 0, bytes);
	line_set_init(set, *mem, stride, page_size(), n);
}

/* Index of the line at address p, -1 when p is not a line of the set. */
static long index_of(const struct line_set *set, const void *p)
{
	for (long i = 0; i < set->n; i++)
		if ((const void *)line_at(set, i) == p)
			return i;
	return -1;
}

static void chain_visits_every_line_exactly_once(void **state)
{
	(void)state;
	static const long sizes[] = { 1, 2, 3, 31, 32, 33, 100, 777 };
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
		for (uint64_t seed = 1; seed <= 3; seed++) {
			long n = sizes[s];
			struct line_set set;
			void *mem;
			make_set(&set, n, 128, &mem);
			long *order = calloc((size_t)n, sizeof *order);
			int *visits = calloc((size_t)n, sizeof *visits);
			struct chain_line *head = states_chain_build(&set, seed, order);
			assert_ptr_equal(head, line_at(&set, order[0]));
			struct chain_line *p = head;
			for (long k = 0; k < n; k++) {
				long i = index_of(&set, p);
				assert_true(i >= 0);
				assert_int_equal(i, order[k]);
				visits[i]++;
				p = (struct chain_line *)atomic_load(&p->next);
			}
			assert_ptr_equal(p, head); /* a cycle of length n */
			for (long i = 0; i < n; i++)
				assert_int_equal(visits[i], 1);
			free(order);
			free(visits);
			free(mem);
		}
}

static void lines_keep_their_distance_and_spare_each_page_start(void **state)
{
	(void)state;
	struct line_set set;
	void *mem;
	make_set(&set, 200, 128, &mem);
	for (long i = 0; i < set.n; i++) {
		uintptr_t at = (uintptr_t)line_at(&set, i) - (uintptr_t)set.base;
		assert_int_equal(at % 128, 0);             /* the first line of its pair */
		assert_int_not_equal(at % page_size(), 0); /* never the TLB slot */
		if (i > 0)
			assert_true((uintptr_t)line_at(&set, i) - (uintptr_t)line_at(&set, i - 1) >= 128);
	}
	free(mem);
}

static void chain_order_is_shuffled(void **state)
{
	(void)state;
	struct line_set set;
	void *mem;
	long order[500], in_address_order = 0;
	make_set(&set, 500, 128, &mem);
	states_chain_build(&set, 42, order);
	for (long k = 0; k + 1 < 500; k++)
		in_address_order += order[k + 1] == order[k] + 1;
	/* A random permutation has about one such step; a prefetcher needs runs. */
	assert_true(in_address_order < 10);
	free(mem);
}

static void every_walk_keeps_the_chain_and_notices_a_broken_one(void **state)
{
	(void)state;
	struct line_set set;
	void *mem;
	long n = 64, order[64];
	uintptr_t expected[64];
	make_set(&set, n, 128, &mem);
	struct chain_walk w = { .head = states_chain_build(&set, 7, order), .n = n,
				.expected = expected, .store_value = 9 };
	for (long k = 0; k < n; k++)
		expected[k] = (uintptr_t)line_at(&set, order[(k + 1) % n]);
	/* Two rounds of every op: the fetch-and-add walks shift every chain
	 * word, and the other walks must follow the shifted chain. */
	for (int round = 0; round < 2; round++)
		for (int op = 0; op < OP_COUNT; op++)
			assert_true(states_walk((enum line_op)op, &w));
	assert_int_equal(w.faa_walks, 2);
	assert_int_equal(atomic_load(&line_at(&set, 5)->payload), 9);
	assert_int_equal(atomic_load(&line_at(&set, order[0])->next), expected[0] + 2);

	/* One wrong pointer: the walk ends elsewhere, or the CAS fails. */
	struct chain_line *victim = line_at(&set, order[10]);
	uintptr_t good = atomic_load(&victim->next);
	atomic_store(&victim->next, (uintptr_t)line_at(&set, order[12]) + w.faa_walks);
	assert_false(states_walk(OP_LOAD, &w));
	assert_false(states_walk(OP_CAS, &w));
	atomic_store(&victim->next, good);
	assert_true(states_walk(OP_LOAD, &w));
	free(mem);
}

static void flushing_and_touching_leave_the_data_alone(void **state)
{
	(void)state;
	struct line_set set;
	void *mem;
	long order[40];
	make_set(&set, 40, 128, &mem);
	struct chain_walk w = { .head = states_chain_build(&set, 3, order), .n = 40 };
	states_write_all(&set, 77);
	states_touch_pages(&set);
	char why[160];
	if (states_invalidation_available(INVALIDATE_FLUSH_OVERLAPPED, why, sizeof why))
		states_flush_all(&set, INVALIDATE_FLUSH_OVERLAPPED);
	if (states_invalidation_available(INVALIDATE_FLUSH_ORDERED, why, sizeof why))
		states_flush_all(&set, INVALIDATE_FLUSH_ORDERED);
	assert_true(states_walk(OP_LOAD, &w));
	for (long i = 0; i < set.n; i++)
		assert_int_equal(atomic_load(&line_at(&set, i)->payload), 77);
	uint64_t sum = states_read_all(&set);
	assert_true(sum != 0);
	unsigned char buf[4096];
	memset(buf, 1, sizeof buf);
	assert_int_equal(states_stream(buf, sizeof buf, 64, NULL, NULL), 4096 / 64 * 0x0101010101010101ull);
	free(mem);
}

static bool has_step(const struct states_step *s, int n, enum states_role role, enum states_action a)
{
	for (int i = 0; i < n; i++)
		if (s[i].role == role && s[i].action == a)
			return true;
	return false;
}

static void scripts_prepare_each_state(void **state)
{
	(void)state;
	struct states_step s[STATES_MAX_STEPS];
	for (int st = 0; st < STATE_COUNT; st++)
		for (int third = 0; third < 2; third++)
			for (int m = 0; m < 3; m++) {
				int n = states_script((enum line_state)st, third, (enum invalidation)m, s);
				assert_true(n >= 1 && n <= STATES_MAX_STEPS);
				/* the timed walk is the last step, and the only one */
				assert_int_equal(s[n - 1].role, ROLE_REQUESTER);
				assert_int_equal(s[n - 1].action, ACT_TIME);
				for (int i = 0; i < n - 1; i++)
					assert_int_not_equal(s[i].action, ACT_TIME);
				bool flush = has_step(s, n, ROLE_OWNER, ACT_FLUSH);
				bool evict = has_step(s, n, ROLE_OWNER, ACT_EVICT) &&
					     has_step(s, n, ROLE_REQUESTER, ACT_EVICT);
				assert_int_equal(flush, states_uses_invalidation(st) && m != INVALIDATE_EVICT);
				assert_int_equal(evict, states_uses_invalidation(st) && m == INVALIDATE_EVICT);
				if (third && m == INVALIDATE_EVICT && states_uses_invalidation(st))
					assert_true(has_step(s, n, ROLE_SHARER, ACT_EVICT));
			}
	int n = states_script(STATE_MODIFIED, true, INVALIDATE_FLUSH_OVERLAPPED, s);
	assert_int_equal(n, 2);
	assert_true(has_step(s, n, ROLE_OWNER, ACT_WRITE));
	n = states_script(STATE_EXCLUSIVE, true, INVALIDATE_FLUSH_ORDERED, s);
	assert_int_equal(n, 3);                    /* no sharer step: a third CPU plays no part */
	assert_int_equal(s[0].action, ACT_FLUSH);  /* nobody holds it ... */
	assert_int_equal(s[1].role, ROLE_OWNER);   /* ... when A reads it */
	assert_int_equal(s[1].action, ACT_READ);
	n = states_script(STATE_SHARED, true, INVALIDATE_FLUSH_ORDERED, s);
	assert_true(has_step(s, n, ROLE_SHARER, ACT_READ));
	assert_false(has_step(s, n, ROLE_REQUESTER, ACT_READ));
	n = states_script(STATE_SHARED, false, INVALIDATE_FLUSH_ORDERED, s);
	assert_true(has_step(s, n, ROLE_REQUESTER, ACT_READ)); /* A and B share */
	n = states_script(STATE_LOCAL, true, INVALIDATE_FLUSH_ORDERED, s);
	assert_false(has_step(s, n, ROLE_OWNER, ACT_WRITE));
	assert_true(has_step(s, n, ROLE_REQUESTER, ACT_WRITE));
}

static void registry_names_follow_the_transition(void **state)
{
	(void)state;
	assert_int_equal(state_kernel_count, STATE_COUNT * OP_COUNT);
	for (int st = 0; st < STATE_COUNT; st++)
		for (int op = 0; op < OP_COUNT; op++) {
			char name[64];
			if (st == STATE_LOCAL)
				snprintf(name, sizeof name, "%s_local", line_op_name(op));
			else
				snprintf(name, sizeof name, "%s_%s_%s", line_op_name(op),
					 op == OP_LOAD ? "from" : "on", line_state_name(st));
			const struct state_kernel *k = state_kernel_find(name);
			assert_non_null(k);
			assert_int_equal(k->state, st);
			assert_int_equal(k->op, op);
			assert_non_null(k->cost.model);
		}
	assert_null(state_kernel_find("load_store"));
}

/* ---- pairs on a fixture: 2 sockets x 10 cores x 2 SMT threads ---- */

static int load_fixture(struct topology *t)
{
	char path[PATH_MAX], err[ERRLEN];
	const char *src = getenv("COHMAP_SRCDIR");
	snprintf(path, sizeof path, "%s/topology/fixtures/intel-2s-smt.topo", src ? src : ".");
	return topology_load(t, path, err);
}

static void one_pair_per_class_and_a_sharer_as_far_as_the_owner(void **state)
{
	(void)state;
	struct topology t = { 0 };
	assert_int_equal(load_fixture(&t), 0);
	int cpus[64], n = topology_usable(&t, cpus, 64);
	struct states_pair *pairs = calloc((size_t)n * (size_t)n, sizeof *pairs);
	int np = states_choose_pairs(&t, cpus, n, false, pairs);
	long counts[PAIR_CLASS_COUNT] = { 0 };
	topology_count_pairs(&t, cpus, n, counts);
	int classes = 0;
	for (int c = 0; c < PAIR_CLASS_COUNT; c++)
		classes += counts[c] > 0;
	assert_int_equal(np, classes); /* smt, l3, cross-socket */
	for (int i = 0; i < np; i++) {
		enum pair_class c = topology_pair_class(&t, pairs[i].owner, pairs[i].requester);
		for (int j = 0; j < i; j++)
			assert_int_not_equal(c, topology_pair_class(&t, pairs[j].owner, pairs[j].requester));
		assert_int_not_equal(pairs[i].sharer, pairs[i].owner);
		assert_int_not_equal(pairs[i].sharer, pairs[i].requester);
		/* As far from B as A is when some third CPU is (l3, cross-socket);
		 * else the nearest farther one (smt: B's only sibling is A). */
		enum pair_class got = topology_pair_class(&t, pairs[i].sharer, pairs[i].requester);
		enum pair_class best = PAIR_CLASS_COUNT;
		for (int x = 0; x < n; x++) {
			enum pair_class cx = topology_pair_class(&t, cpus[x], pairs[i].requester);
			if (cpus[x] != pairs[i].owner && cpus[x] != pairs[i].requester && cx >= c && cx < best)
				best = cx;
		}
		assert_int_equal(got, best);
		if (c != PAIR_SMT)
			assert_int_equal(got, c);
	}
	np = states_choose_pairs(&t, cpus, n, true, pairs);
	assert_int_equal(np, n * (n - 1));
	/* Two CPUs: no third, so A and B share. */
	int two[2] = { 0, 10 };
	assert_int_equal(states_choose_pairs(&t, two, 2, false, pairs), 1);
	assert_int_equal(pairs[0].sharer, pairs[0].requester);
	free(pairs);
	topology_free(&t);
}

/* ---- the bar chart from a hand-written states.csv ---- */

static void bar_chart_has_one_panel_per_class(void **state)
{
	(void)state;
	char why[ERRLEN], err[ERRLEN], dir[] = "/tmp/cohmap-test-states-XXXXXX", path[PATH_MAX];
	if (!plot_gnuplot_available(why, sizeof why)) {
		printf("skipped: %s\n", why);
		return;
	}
	struct topology t = { 0 };
	assert_int_equal(load_fixture(&t), 0);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/states.csv", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("kernel,cpu_owner,cpu_requester,cpu_sharer,pair_class,status,min_ns,p10_ns,median_ns,p90_ns\n", f);
	/* smt pair 0->20 and cross-socket pair 0->10, a failed row among them */
	fputs("load_local,0,20,NA,smt,ok,1,1.1,1.2,1.5\n"
	      "load_from_modified,0,20,NA,smt,ok,20,21,22,30\n"
	      "store_on_shared,0,20,1,smt,ok,40,41,42,50\n"
	      "load_local,0,10,NA,cross-socket,ok,1,1.1,1.2,1.5\n"
	      "load_from_modified,0,10,NA,cross-socket,failed,NA,NA,NA,NA\n"
	      "store_on_shared,0,10,11,cross-socket,ok,200,210,220,300\n", f);
	fclose(f);
	struct states_plot_files files;
	assert_int_equal(plot_states(dir, &t, "median", &files, err), 1); /* no full matrix */
	assert_string_equal(files.names[0], "states.png");
	assert_null(files.names[1]);
	states_plot_files_free(&files);
	snprintf(path, sizeof path, "%s/states-bars.dat", dir);
	f = fopen(path, "r");
	assert_non_null(f);
	char line[512];
	int blocks = 1, rows = 0;
	bool blank = false;
	while (fgets(line, sizeof line, f)) {
		if (line[0] == '#')
			continue;
		if (line[0] == '\n') {
			blocks += !blank;
			blank = true;
			continue;
		}
		blank = false;
		rows++;
		if (strncmp(line, "modified ", 9) == 0 && rows > 3)
			assert_non_null(strstr(line, "modified NaN NaN NaN")); /* the failed row */
	}
	fclose(f);
	assert_int_equal(blocks, 2);
	assert_int_equal(rows, 6); /* local, modified, shared in each class */
	/* A bad statistic and a CSV naming an unknown kernel are refused. */
	assert_int_equal(plot_states(dir, &t, "mean", &files, err), -1);
	snprintf(path, sizeof path, "%s/states.csv", dir);
	f = fopen(path, "w");
	fputs("kernel,cpu_owner,cpu_requester,pair_class,status,median_ns,p10_ns,p90_ns\n"
	      "load_store,0,20,smt,ok,1,1,1\n", f);
	fclose(f);
	assert_int_equal(plot_states(dir, &t, "median", &files, err), -1);
	assert_non_null(strstr(err, "not a row of a states run"));

	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
			unlink(path);
		}
	if (d)
		closedir(d);
	rmdir(dir);
	topology_free(&t);
}

/* ---- a real measurement on this machine ---- */

static int first_two_cpus(int *a, int *b)
{
	cpu_set_t allowed;
	*a = *b = -1;
	sched_getaffinity(0, sizeof allowed, &allowed);
	for (int c = 0; c < CPU_SETSIZE && *b < 0; c++)
		if (CPU_ISSET(c, &allowed)) {
			if (*a < 0)
				*a = c;
			else
				*b = c;
		}
	return *b < 0 ? -1 : 0;
}

static void measure_kernels(const struct states_options *o, const struct state_kernel *const *kernels,
			    int n, bool third_agent, struct states_result *res)
{
	struct clock_info clock;
	clock_calibrate(&clock);
	int a, b, home;
	assert_int_equal(first_two_cpus(&a, &b), 0);
	struct states_pair pair = { .owner = a, .requester = b, .sharer = third_agent ? a : b,
				    .home_node = -1 };
	char reasons[MAX_EVENTS][160] = { { 0 } };
	enum pair_status st = states_measure_pair(kernels, n, &pair, o, &clock, res, &home, reasons);
	if (st != PAIR_OK)
		printf("pair failed: %s\n", res[0].reason);
	assert_int_equal(st, PAIR_OK);
}

static void measure_all(const struct states_options *o, struct states_result *res)
{
	measure_kernels(o, state_kernel_registry, state_kernel_count, false, res);
}

/* Every sample is accounted for: kept, or left out because the requester was
 * switched out or moved while it ran (which a loaded machine does; the count
 * says how often, never whether the test passes). */
static void assert_samples_accounted(const struct states_result *r, long samples)
{
	assert_true(r->ns_per_access.n >= 1);
	assert_int_equal(r->ns_per_access.n + (r->disturbed_kept ? 0 : r->disturbed_samples), samples);
}

/* A per-access cost that is a time at all: positive, and below 10 us unless
 * disturbed samples had to be kept (too few undisturbed ones remained), whose
 * time includes whatever ran instead. */
static void assert_plausible_cost(const struct states_result *r)
{
	double m = r->ns_per_access.median;
	assert_true(m > 0 && isfinite(m));
	if (!r->disturbed_kept)
		assert_true(m < 10000);
}

static void every_kernel_measures_a_plausible_cost(void **state)
{
	(void)state;
	struct states_options o = {
		.agents = AGENTS_THREADS, .lines = 32, .line_size = 64, .fixed_samples = 7,
		.precision = 0.02, .time_limit_s = 1, .watchdog_s = 60, .seed = 5,
		.invalidate = states_best_invalidation(),
	};
	static unsigned char evict[1 << 20];
	o.evict_buffer = evict;
	o.evict_bytes = sizeof evict;
	struct states_result res[STATE_COUNT * OP_COUNT];
	measure_all(&o, res);
	double local = NAN, flushed = NAN;
	for (int k = 0; k < state_kernel_count; k++) {
		const struct state_kernel *kern = state_kernel_registry[k];
		assert_int_equal(res[k].status, PAIR_OK);
		assert_samples_accounted(&res[k], 7);
		double m = res[k].ns_per_access.median;
		printf("  %-20s median %8.2f ns\n", kern->name, m);
		assert_plausible_cost(&res[k]);
		if (kern->state == STATE_LOCAL && kern->op == OP_LOAD)
			local = m;
		if (kern->state == STATE_INVALID && kern->op == OP_LOAD)
			flushed = m;
	}
	printf("  cached local load %.2f ns, load of a %s line %.2f ns\n", local,
	       invalidation_name(o.invalidate), flushed);
	/* Printed, not asserted: that a flushed line is slower than a cached one
	 * is a time, and this machine (and QEMU, where dc civac costs nothing)
	 * may say either; the flush itself is checked by the step plans above. */
}

static void eviction_path_works(void **state)
{
	(void)state;
	/* A small buffer: this checks that every agent streams and the chain
	 * survives, not that 1 MiB empties a real LLC. */
	static unsigned char evict[1 << 20];
	struct states_options o = {
		.agents = AGENTS_THREADS, .lines = 16, .line_size = 64, .fixed_samples = 5,
		.precision = 0.02, .time_limit_s = 1, .watchdog_s = 60, .seed = 6,
		.invalidate = INVALIDATE_EVICT, .evict_buffer = evict, .evict_bytes = sizeof evict,
	};
	struct states_result res[STATE_COUNT * OP_COUNT];
	measure_all(&o, res);
	for (int k = 0; k < state_kernel_count; k++) {
		assert_int_equal(res[k].status, PAIR_OK);
		assert_samples_accounted(&res[k], 5);
		assert_plausible_cost(&res[k]);
	}
}

/* The sharer as an agent of its own. This machine may have only two CPUs, so
 * it shares the owner's: that tests the three-agent turn-taking, not a
 * placement (with -c on a bigger machine the sharer is a CPU of its own). */
static void a_third_agent_takes_its_turns(void **state)
{
	(void)state;
	const struct state_kernel *kernels[] = { &state_kernel_load_from_shared,
						 &state_kernel_store_on_shared, &state_kernel_load_local };
	struct states_options o = {
		.agents = AGENTS_THREADS, .pause = true, .lines = 16, .line_size = 64,
		.fixed_samples = 5, .precision = 0.02, .time_limit_s = 1, .watchdog_s = 60, .seed = 8,
		.invalidate = states_best_invalidation(),
	};
	static unsigned char evict[1 << 16];
	o.evict_buffer = evict;
	o.evict_bytes = sizeof evict;
	struct states_result res[3];
	measure_kernels(&o, kernels, 3, true, res);
	for (int k = 0; k < 3; k++) {
		assert_int_equal(res[k].status, PAIR_OK);
		assert_samples_accounted(&res[k], 5);
		assert_true(res[k].ns_per_access.median > 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(chain_visits_every_line_exactly_once),
		cmocka_unit_test(lines_keep_their_distance_and_spare_each_page_start),
		cmocka_unit_test(chain_order_is_shuffled),
		cmocka_unit_test(every_walk_keeps_the_chain_and_notices_a_broken_one),
		cmocka_unit_test(flushing_and_touching_leave_the_data_alone),
		cmocka_unit_test(scripts_prepare_each_state),
		cmocka_unit_test(registry_names_follow_the_transition),
		cmocka_unit_test(one_pair_per_class_and_a_sharer_as_far_as_the_owner),
		cmocka_unit_test(bar_chart_has_one_panel_per_class),
		cmocka_unit_test(every_kernel_measures_a_plausible_cost),
		cmocka_unit_test(eviction_path_works),
		cmocka_unit_test(a_third_agent_takes_its_turns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
