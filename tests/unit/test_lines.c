/* --lines (experiments/latency/line_plan.c and latency_table.c): the lines
 * of a pair are homed on every NUMA node of the machine in turn, starting at
 * --home's node, at distinct places in their pages where a kernel's lines
 * still fit; latency.csv read back per line gives each pair the median over
 * its lines, the spread by address per class, and flags exactly the pairs
 * whose lines' 95% CIs do not overlap. */
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/common.h"
#include "experiments/latency/latency_table.h"
#include "experiments/latency/line_plan.h"

static void load(const char *name, struct topology *t)
{
	char path[512], err[ERRLEN];
	const char *src = getenv("COHMAP_SRCDIR");
	snprintf(path, sizeof path, "%s/topology/fixtures/%s", src ? src : ".", name);
	assert_int_equal(topology_load(t, path, err), 0);
}

static void nodes_of_a_four_socket_machine(void **state)
{
	(void)state;
	struct topology t;
	load("intel-4s-8380h.topo", &t);
	int *nodes = calloc((size_t)t.ncpus, sizeof *nodes);
	assert_int_equal(line_nodes(&t, nodes), 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(nodes[i], i);
	free(nodes);
}

static void every_node_homes_a_line(void **state)
{
	(void)state;
	const int nodes[] = { 0, 1, 2, 3 };
	for (int first = 0; first < 4; first++) {
		int seen[4] = { 0 };
		for (int line = 0; line < 4; line++)
			seen[line_home(line, 4, first, nodes, 4)]++;
		for (int n = 0; n < 4; n++)
			assert_int_equal(seen[n], 1);
		/* line 0 is where --home puts it */
		assert_int_equal(line_home(0, 4, first, nodes, 4), first);
		assert_int_equal(line_home(1, 4, first, nodes, 4), (first + 1) % 4);
	}
	/* more lines than nodes: each node twice for 8 */
	int seen[4] = { 0 };
	for (int line = 0; line < 8; line++)
		seen[line_home(line, 8, 2, nodes, 4)]++;
	for (int n = 0; n < 4; n++)
		assert_int_equal(seen[n], 2);
	/* no NUMA placement stays none; one node has every line */
	assert_int_equal(line_home(3, 4, -1, nodes, 4), -1);
	const int one[] = { 0 };
	for (int line = 0; line < 4; line++)
		assert_int_equal(line_home(line, 4, 0, one, 1), 0);
	/* a node not among the CPUs' (memory only): line 0 there, then the others */
	assert_int_equal(line_home(0, 4, 7, nodes, 4), 7);
	assert_int_equal(line_home(1, 4, 7, nodes, 4), 0);
}

static void address_classes_are_distinct_and_leave_room(void **state)
{
	(void)state;
	const size_t page = 4096, line = 64, kernel = 256; /* 2 slots of 2 lines */
	for (int n = 1; n <= 60; n++) {
		int seen[64] = { 0 };
		for (int i = 0; i < n; i++) {
			int c = line_address_class(i, n, page, line, kernel);
			assert_true(c >= 0);
			/* the kernel's lines end inside the page */
			assert_true((size_t)c * line + kernel <= page);
			assert_int_equal(seen[c]++, 0);
		}
		assert_int_equal(line_address_class(0, n, page, line, kernel), 0);
	}
	/* 4 lines: a quarter of the usable page apart */
	assert_int_equal(line_address_class(1, 4, page, line, kernel), 15);
	assert_int_equal(line_address_class(3, 4, page, line, kernel), 45);
	/* 64 lines on 61 places: classes repeat, never outside */
	for (int i = 0; i < LINES_MAX; i++)
		assert_true(line_address_class(i, LINES_MAX, page, line, kernel) <= 60);
}

#define TMPDIR_NAME "lines"
#include "tests/unit/tmpdir.h"

static void write_csv(const char *text)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/latency.csv", tmpdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

#define HEADER "kernel,cpu_a,cpu_b,pair_class,home_node,status,median_ns,ci95_low_ns,ci95_high_ns,line,address_class\n"

static void spread_and_flags(void **state)
{
	(void)state;
	struct latency_table lt;
	char err[ERRLEN];
	/* 0->1: lines alike within their CIs. 1->0: line 2 (node 2) costs 30 ns
	 * more, outside every CI: flagged. 0->2 (another class): one ok line
	 * only, so no spread; its line 1 is measured twice (a resume), the
	 * later row wins. */
	write_csv(HEADER
		  "load_store,0,1,l3,0,ok,50,48,52,0,0\n"
		  "load_store,0,1,l3,1,ok,51,49,53,1,15\n"
		  "load_store,0,1,l3,2,ok,52,50,54,2,30\n"
		  "load_store,0,1,l3,3,ok,49,47,51,3,45\n"
		  "load_store,1,0,l3,0,ok,50,49,51,0,0\n"
		  "load_store,1,0,l3,1,ok,52,51,53,1,15\n"
		  "load_store,1,0,l3,2,ok,82,80,84,2,30\n"
		  "load_store,1,0,l3,3,ok,51,50,52,3,45\n"
		  "load_store,0,2,cross-socket,0,ok,130,128,132,0,0\n"
		  "load_store,0,2,cross-socket,1,ok,999,990,1000,1,15\n"
		  "load_store,0,2,cross-socket,1,failed,NA,NA,NA,1,15\n");
	assert_int_equal(latency_table_read(tmpdir, "median_ns", NULL, &lt, err), 0);
	assert_int_equal(lt.npairs, 3);
	assert_int_equal(lt.nlines, 10);
	assert_int_equal(lt.max_lines, 4);
	/* a pair's value: the median over its ok lines */
	const struct latency_pair *p = latency_table_find(&lt, 0, 0, 1);
	assert_true(p->ok && p->value == 50.5);
	p = latency_table_find(&lt, 0, 1, 0);
	assert_true(p->value == 51.5);
	p = latency_table_find(&lt, 0, 0, 2);
	assert_true(p->ok && p->value == 130);

	const struct latency_line *lo, *hi;
	assert_false(latency_pair_address_dependent(&lt, (int)(latency_table_find(&lt, 0, 0, 1) - lt.pairs), NULL, NULL));
	assert_true(latency_pair_address_dependent(&lt, (int)(latency_table_find(&lt, 0, 1, 0) - lt.pairs), &lo, &hi));
	assert_int_equal(lo->line, 0);
	assert_int_equal(hi->line, 2);
	assert_int_equal(hi->address_class, 30);
	assert_int_equal(hi->home_node, 2);

	struct line_spread sp;
	assert_int_equal(latency_line_spread(&lt, 0, PAIR_L3, &sp), 2);
	assert_int_equal(sp.lines, 4);
	assert_int_equal(sp.flagged, 1);
	/* per line the median over the two pairs: 50, 51.5, 67, 50 */
	assert_true(sp.line_min == 50 && sp.line_max == 67);
	assert_true(sp.line_median == 50.75);
	assert_true(sp.widest == 32);
	/* one ok line is no spread */
	assert_int_equal(latency_line_spread(&lt, 0, PAIR_CROSS_SOCKET, &sp), 0);
	assert_int_equal(sp.flagged, 0);
	assert_true(isnan(sp.line_median));

	/* per home node: the lines homed there */
	int nodes[16];
	assert_int_equal(latency_line_homes(&lt, nodes), 4);
	assert_true(latency_pair_on_home(&lt, 0, 1, 0, 2) == 82);
	assert_true(latency_pair_on_home(&lt, 0, 0, 2, 0) == 130);
	assert_true(isnan(latency_pair_on_home(&lt, 0, 0, 2, 1)));
	latency_table_free(&lt);
}

/* A file from before --lines: one line per pair, no spread, the pair's value
 * its row's (as before). */
static void a_file_without_lines(void **state)
{
	(void)state;
	struct latency_table lt;
	char err[ERRLEN];
	write_csv("kernel,cpu_a,cpu_b,pair_class,home_node,status,median_ns\n"
		  "load_store,0,1,l3,0,ok,50\n"
		  "load_store,1,0,l3,0,ok,60\n"
		  "load_store,0,1,l3,0,ok,55\n");
	assert_int_equal(latency_table_read(tmpdir, "median_ns", NULL, &lt, err), 0);
	assert_int_equal(lt.max_lines, 1);
	assert_int_equal(lt.nlines, 2);
	assert_true(latency_table_find(&lt, 0, 0, 1)->value == 55);
	assert_int_equal(lt.lines[0].address_class, -1);
	struct line_spread sp;
	assert_int_equal(latency_line_spread(&lt, 0, PAIR_L3, &sp), 0);
	latency_table_free(&lt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(nodes_of_a_four_socket_machine),
		cmocka_unit_test(every_node_homes_a_line),
		cmocka_unit_test(address_classes_are_distinct_and_leave_room),
		cmocka_unit_test_setup_teardown(spread_and_flags, make_tmpdir, remove_tmpdir),
		cmocka_unit_test_setup_teardown(a_file_without_lines, make_tmpdir, remove_tmpdir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
