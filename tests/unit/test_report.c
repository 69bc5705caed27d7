/* The pieces of the reports: HTML escaping and links, PNG sizes from the
 * header, and latency.csv read back for the tables (the later of two rows
 * of one pair wins, failed pairs stay out of the statistics, classes from a
 * topology or from the CSV). */
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/common.h"
#include "cli/html.h"
#include "experiments/latency/latency_table.h"

#define TMPDIR_NAME "report"
#include "tests/unit/tmpdir.h"

/* Runs fn(f) into a memory buffer and returns what it wrote (caller frees). */
static char *captured(void (*fn)(FILE *, const char *), const char *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	fn(f, arg);
	fclose(f);
	return buf;
}

static void text_is_escaped(void **state)
{
	(void)state;
	char *out = captured(html_text, "<script>alert('x') & \"y\"</script>\x01\ttab");
	assert_string_equal(out, "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;\ttab");
	free(out);
}

static void links_are_relative_and_encoded(void **state)
{
	(void)state;
	char *out = captured(html_href, "latency-load_store.png");
	assert_string_equal(out, "./latency-load_store.png");
	free(out);
	/* A space, a quote, a '#', a slash and a scheme-like colon cannot break
	 * out of the attribute or leave the directory. */
	out = captured(html_href, "a b\"#/c:.png");
	assert_string_equal(out, "./a%20b%22%23%2Fc%3A.png");
	free(out);
}

static void png_size_from_header(void **state)
{
	(void)state;
	static const unsigned char header[24] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n',
						  0, 0, 0, 13, 'I', 'H', 'D', 'R',
						  0, 0, 0x02, 0xa8, 0, 0, 0x02, 0x58 };
	char path[PATH_MAX];
	unsigned w = 0, h = 0;
	snprintf(path, sizeof path, "%s/x.png", tmpdir);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	fwrite(header, 1, sizeof header, f);
	fclose(f);
	assert_true(html_png_size(tmpdir, "x.png", &w, &h));
	assert_int_equal(w, 680);
	assert_int_equal(h, 600);
	snprintf(path, sizeof path, "%s/not.png", tmpdir);
	f = fopen(path, "w");
	fputs("GIF89a and then some more bytes", f);
	fclose(f);
	assert_false(html_png_size(tmpdir, "not.png", &w, &h));
	assert_false(html_png_size(tmpdir, "missing.png", &w, &h));
}

static void write_csv(const char *text)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/latency.csv", tmpdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

#define HEADER "kernel,agents,cpu_a,cpu_b,pair_class,home_node,status,samples,min_ns,median_ns,reason\n"

static void table_keeps_the_later_row(void **state)
{
	(void)state;
	struct latency_table lt;
	char err[ERRLEN];
	write_csv(HEADER
		  "load_store,thread,0,1,l3,0,ok,10,40,50,\n"
		  "load_store,thread,1,0,l3,0,ok,10,41,52,\n"
		  "cas_bounce,thread,0,1,l3,0,ok,10,60,70,\n"
		  "load_store,thread,0,2,cross-socket,0,failed,0,NA,NA,watchdog\n"
		  "load_store,thread,0,1,l3,0,ok,10,44,54,\n"    /* resumed: replaces 0->1 */
		  "load_store,thread,2,0,cross-socket,0,ok,10,120,130,\n");
	assert_int_equal(latency_table_read(tmpdir, "median_ns", NULL, &lt, err), 0);
	assert_int_equal(lt.nkernels, 2);
	assert_string_equal(lt.kernels[0], "load_store");
	assert_string_equal(lt.kernels[1], "cas_bounce");
	assert_int_equal(lt.npairs, 5);
	const struct latency_pair *p = latency_table_find(&lt, 0, 0, 1);
	assert_non_null(p);
	assert_true(p->ok);
	assert_true(p->value == 54);
	p = latency_table_find(&lt, 0, 0, 2);
	assert_non_null(p);
	assert_false(p->ok);
	assert_true(isnan(p->value));
	assert_null(latency_table_find(&lt, 1, 1, 0));

	double lo, mid, hi;
	assert_int_equal(latency_table_class(&lt, 0, PAIR_L3, &lo, &mid, &hi), 2);
	assert_true(lo == 52 && mid == 53 && hi == 54);
	/* the failed 0->2 is not in the statistics */
	assert_int_equal(latency_table_class(&lt, 0, PAIR_CROSS_SOCKET, &lo, &mid, &hi), 1);
	assert_true(lo == 130 && mid == 130 && hi == 130);
	assert_int_equal(latency_table_class(&lt, 0, PAIR_SMT, &lo, &mid, &hi), 0);
	assert_true(isnan(mid));

	int *cpus;
	assert_int_equal(latency_table_cpus(&lt, 0, &cpus), 3);
	assert_true(cpus[0] == 0 && cpus[1] == 1 && cpus[2] == 2);
	free(cpus);
	latency_table_free(&lt);

	/* the min column instead */
	assert_int_equal(latency_table_read(tmpdir, "min_ns", NULL, &lt, err), 0);
	assert_true(latency_table_find(&lt, 0, 0, 1)->value == 44);
	latency_table_free(&lt);
}

static void classes_from_a_topology(void **state)
{
	(void)state;
	struct topology t;
	struct latency_table lt;
	char path[PATH_MAX], err[ERRLEN];
	const char *src = getenv("COHMAP_SRCDIR");
	snprintf(path, sizeof path, "%s/topology/fixtures/intel-2s-smt.topo", src ? src : ".");
	assert_int_equal(topology_load(&t, path, err), 0);
	/* The CSV's own class column says nonsense; the topology decides. */
	write_csv(HEADER "load_store,thread,0,20,l3,0,ok,10,10,12,\n"
			 "load_store,thread,0,10,l3,0,ok,10,100,120,\n");
	assert_int_equal(latency_table_read(tmpdir, "median_ns", &t, &lt, err), 0);
	assert_int_equal(latency_table_find(&lt, 0, 0, 20)->pair_class, PAIR_SMT);
	assert_int_equal(latency_table_find(&lt, 0, 0, 10)->pair_class, PAIR_CROSS_SOCKET);
	latency_table_free(&lt);

	write_csv(HEADER "load_store,thread,0,99,l3,0,ok,10,10,12,\n");
	assert_int_equal(latency_table_read(tmpdir, "median_ns", &t, &lt, err), -1);
	assert_non_null(strstr(err, "latency.csv:2: CPU 0 or 99 is not in the topology"));
	topology_free(&t);
}

static void malformed_files_are_refused(void **state)
{
	(void)state;
	struct latency_table lt;
	char err[ERRLEN];
	static const struct {
		const char *csv, *message;
	} cases[] = {
		{ HEADER "load_store,thread,0,1,l3,0,ok,10,40,fast,\n", "latency.csv:2: median_ns 'fast' is not a latency" },
		{ HEADER "load_store,thread,0,1,l3,0,ok,10,40,-5,\n", "median_ns '-5' is not a latency" },
		{ HEADER "load_store,thread,0,0,l3,0,ok,10,40,50,\n", "are not two CPU ids" },
		{ HEADER "load_store,thread,x,1,l3,0,ok,10,40,50,\n", "cpu_a 'x'" },
		{ HEADER "load_store,thread,0,1,galaxy,0,ok,10,40,50,\n", "unknown pair_class 'galaxy'" },
		{ HEADER ",thread,0,1,l3,0,ok,10,40,50,\n", "empty kernel name" },
		{ "kernel,cpu_a,cpu_b,status\nload_store,0,1,ok\n", "no column median_ns" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		write_csv(cases[i].csv);
		assert_int_equal(latency_table_read(tmpdir, "median_ns", NULL, &lt, err), -1);
		if (strstr(err, cases[i].message) == NULL)
			fail_msg("case %zu: '%s' does not say '%s'", i, err, cases[i].message);
		assert_int_equal(lt.npairs, 0);
		assert_null(lt.kernels);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(text_is_escaped),
		cmocka_unit_test(links_are_relative_and_encoded),
		cmocka_unit_test(png_size_from_header),
		cmocka_unit_test(table_keeps_the_later_row),
		cmocka_unit_test(classes_from_a_topology),
		cmocka_unit_test(malformed_files_are_refused),
	};
	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
