/* plots/plot.c: the files cohmap hands to heatmap.gp (CPU order, NaN cells,
 * border positions) for a 4-CPU, 2-socket topology built here, its refusals,
 * and one real rendering when gnuplot is installed. No test depends on how
 * long gnuplot takes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/common.h"
#include "experiments/latency/latency_plot.h"
#include "plots/plot.h"

/* Interleaved numbering, as on many two-socket servers: CPUs 0 and 2 on
 * socket 0 (each its own L3 group), 1 and 3 on socket 1 (one L3 group).
 * Topology order is therefore 0 2 1 3: a socket border before index 2 and L3
 * borders before 1 and 2. */
static struct cpu_place places[] = {
	{.cpu = 0, .socket = 0, .die = 0, .numa_node = 0, .l3_group = 0, .l2_group = 0,
	 .core = 0, .online = true, .allowed = true},
	{.cpu = 1, .socket = 1, .die = 1, .numa_node = 1, .l3_group = 2, .l2_group = 2,
	 .core = 2, .online = true, .allowed = true},
	{.cpu = 2, .socket = 0, .die = 0, .numa_node = 0, .l3_group = 1, .l2_group = 1,
	 .core = 1, .online = true, .allowed = true},
	{.cpu = 3, .socket = 1, .die = 1, .numa_node = 1, .l3_group = 2, .l2_group = 3,
	 .core = 3, .online = true, .allowed = true},
};
static const struct topology topo = {
	.cpu_model = "Test CPU \"4\"",
	.ncpus = 4,
	.cpus = places,
	.source = "test_plot.c",
};

static const char header[] =
	"kernel,agents,cpu_a,cpu_b,pair_class,home_node,status,samples,"
	"round_trips_per_sample,min_ns,p10_ns,median_ns,p90_ns,mean_ns,stddev_ns,"
	"ci95_low_ns,ci95_high_ns,reason\n";

struct fixture {
	char dir[64];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/cohmap test plot XXXXXX");   /* a space, on purpose */
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	DIR *d = opendir(f->dir);
	struct dirent *e;
	char path[PATH_MAX];
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", f->dir, e->d_name);
			unlink(path);
		}
	if (d)
		closedir(d);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void write_csv(const struct fixture *f, const char *rows)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/latency.csv", f->dir);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(header, fp);
	fputs(rows, fp);
	assert_int_equal(fclose(fp), 0);
}

static char *slurp(const struct fixture *f, const char *name)
{
	static char buf[16384];
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	FILE *fp = fopen(path, "r");
	if (!fp)
		fail_msg("%s missing", path);
	size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static bool exists(const struct fixture *f, const char *name)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	return access(path, F_OK) == 0;
}

static bool leftover_tmp(const struct fixture *f)
{
	DIR *d = opendir(f->dir);
	struct dirent *e;
	bool found = false;
	while (d && (e = readdir(d)))
		found |= strstr(e->d_name, ".tmp") != NULL;
	if (d)
		closedir(d);
	return found;
}

/* A row with median m and min m-1 (NA for both when failed). */
#define ROW(k, a, b, min, med) \
	k ",threads," #a "," #b ",x,0,ok,10,100," #min ",0," #med ",0,0,0,0,0,\n"
#define FAILED(k, a, b) k ",threads," #a "," #b ",x,0,failed,0,0,NA,NA,NA,NA,NA,NA,NA,NA,timeout\n"

static const char rows4[] =
	/* first-seen order: xchg_bounce before load_store */
	ROW("xchg_bounce", 0, 1, 90, 100)
	ROW("load_store", 0, 1, 140, 150) ROW("load_store", 0, 2, 40, 42)
	ROW("load_store", 0, 3, 141, 151) ROW("load_store", 1, 0, 142, 152)
	ROW("load_store", 1, 2, 143, 153) ROW("load_store", 1, 3, 20, 21)
	ROW("load_store", 2, 0, 41, 43)   FAILED("load_store", 2, 1)
	ROW("load_store", 2, 3, 144, 154) ROW("load_store", 3, 0, 145, 155)
	ROW("load_store", 3, 1, 22, 23)   ROW("load_store", 3, 2, 146, 156)
	ROW("xchg_bounce", 1, 0, 91, 101);

static void test_data_files(void **state)
{
	struct fixture *f = *state;
	char err[ERRLEN] = "";

	write_csv(f, rows4);
	if (plot_latency_data(f->dir, &topo, "median", err) != 2)
		fail_msg("%s", err);
	assert_false(leftover_tmp(f));
	assert_false(exists(f, "latency-load_store.png"));

	/* Index i of the matrix is the i-th CPU in topology order: 0 2 1 3.
	 * y = initiator, x = responder; one blank line after each initiator. */
	const char *dat = slurp(f, "latency-load_store.dat");
	assert_non_null(strstr(dat, "# index:cpu 0:0 1:2 2:1 3:3\n"));
	const char *body = strstr(dat, "\n0 0 ");
	assert_non_null(body);
	assert_string_equal(body + 1,
			    "0 0 NaN\n1 0 42\n2 0 150\n3 0 151\n\n"     /* initiator 0 */
			    "0 1 43\n1 1 NaN\n2 1 NaN\n3 1 154\n\n"     /* initiator 2; 2->1 failed */
			    "0 2 152\n1 2 153\n2 2 NaN\n3 2 21\n\n"     /* initiator 1 */
			    "0 3 155\n1 3 156\n2 3 23\n3 3 NaN\n\n");   /* initiator 3 */

	const char *vars = slurp(f, "latency-load_store.gpvars");
	assert_non_null(strstr(vars, "\nncpus = 4\n"));
	assert_non_null(strstr(vars, "cbmax = 156 }"));
	assert_non_null(strstr(vars, "set xtics (\"0\" 0, \"2\" 1, \"1\" 2, \"3\" 3)\n"));
	assert_non_null(strstr(vars, "set ytics (\"0\" 0, \"2\" 1, \"1\" 2, \"3\" 3)\n"));
	assert_non_null(strstr(vars, "set cblabel \"one-way latency, median of samples [ns]\"\n"));
	assert_non_null(strstr(vars, "set title \"core-to-core latency (load_store) on Test CPU \\\"4\\\"\"\n"));
	/* Socket border before index 2 (thick, style 1), L3 border before index 1
	 * (thin, style 2); the L3 border at 2 is the socket border, drawn once. */
	assert_non_null(strstr(vars, "set arrow from 1.5,-0.5 to 1.5,3.5 as 1\n"));
	assert_non_null(strstr(vars, "set arrow from -0.5,1.5 to 3.5,1.5 as 1\n"));
	assert_non_null(strstr(vars, "set arrow from 0.5,-0.5 to 0.5,3.5 as 2\n"));
	assert_non_null(strstr(vars, "set arrow from -0.5,0.5 to 3.5,0.5 as 2\n"));
	assert_null(strstr(vars, "1.5 as 2"));
	assert_null(strstr(vars, "to 1.5,3.5 as 2"));

	/* The second kernel: only CPUs 0 and 1 appear. */
	dat = slurp(f, "latency-xchg_bounce.dat");
	assert_non_null(strstr(dat, "# index:cpu 0:0 1:1\n"));
	assert_non_null(strstr(dat, "\n0 0 NaN\n1 0 100\n\n0 1 101\n1 1 NaN\n\n"));
}

static void test_min_statistic(void **state)
{
	struct fixture *f = *state;
	char err[ERRLEN] = "";

	write_csv(f, rows4);
	if (plot_latency_data(f->dir, &topo, "min", err) != 2)
		fail_msg("%s", err);
	const char *dat = slurp(f, "latency-xchg_bounce.dat");
	assert_non_null(strstr(dat, "\n0 0 NaN\n1 0 90\n\n0 1 91\n1 1 NaN\n\n"));
	assert_non_null(strstr(slurp(f, "latency-xchg_bounce.gpvars"),
			       "\"one-way latency, minimum of samples [ns]\""));
}

static void test_refusals(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *name;
		const char *rows;     /* NULL: no latency.csv at all */
		const char *stat;
		const char *want;
	} cases[] = {
		{"unknown statistic", "", "mean", "unknown statistic 'mean'"},
		{"no latency.csv", NULL, "median", "latency.csv: No such file"},
		{"unknown CPU", ROW("load_store", 0, 7, 1, 2), "median",
		 "latency.csv:2: CPU 7 is not in the topology (test_plot.c)"},
		{"CPU not a number", ROW("load_store", 0, x, 1, 2), "median",
		 "latency.csv:2: cpu_b 'x' is not a CPU id"},
		{"negative CPU", ROW("load_store", -1, 0, 1, 2), "median",
		 "latency.csv:2: cpu_a '-1' is not a CPU id"},
		{"value not a number", ROW("load_store", 0, 1, 1, fast), "median",
		 "latency.csv:2: median_ns 'fast' is not a number"},
		{"kernel name with a slash", ROW("../x", 0, 1, 1, 2), "median",
		 "latency.csv:2: kernel name '../x' is not usable"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char err[ERRLEN] = "", path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/latency.csv", f->dir);
		unlink(path);
		if (cases[i].rows)
			write_csv(f, cases[i].rows);
		if (plot_latency_data(f->dir, &topo, cases[i].stat, err) != -1)
			fail_msg("%s: accepted", cases[i].name);
		if (!strstr(err, cases[i].want))
			fail_msg("%s: got \"%s\", want \"...%s...\"", cases[i].name, err,
				 cases[i].want);
		assert_null(strchr(err, '\n'));
	}
	assert_false(exists(f, "latency-load_store.dat"));
}

static void test_missing_column(void **state)
{
	struct fixture *f = *state;
	char err[ERRLEN] = "", path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/latency.csv", f->dir);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("kernel,cpu_a,cpu_b,status,min_ns\nload_store,0,1,ok,5\n", fp);
	fclose(fp);
	assert_int_equal(plot_latency_data(f->dir, &topo, "min", err), 1);
	assert_int_equal(plot_latency_data(f->dir, &topo, "median", err), -1);
	assert_non_null(strstr(err, "latency.csv: no column median_ns"));
}

static void test_no_rows(void **state)
{
	struct fixture *f = *state;
	char err[ERRLEN] = "";
	write_csv(f, "");
	assert_int_equal(plot_latency_data(f->dir, &topo, "median", err), 0);
}

static void test_quote(void **state)
{
	char out[32];
	(void)state;
	assert_int_equal(plot_gnuplot_quote(out, sizeof(out), "/a b/it's\\x"), 0);
	assert_string_equal(out, "'/a b/it''s\\x'");
	assert_int_equal(plot_gnuplot_quote(out, sizeof(out), ""), 0);
	assert_string_equal(out, "''");
	assert_int_equal(plot_gnuplot_quote(out, sizeof(out), "two\nlines"), -1);
	assert_int_equal(plot_gnuplot_quote(out, 8, "abcdef"), -1);
	assert_int_equal(plot_gnuplot_quote(out, 8, "abcde"), 0);
	assert_int_equal(plot_gnuplot_quote(out, 8, "abcd'"), -1);
}

static void test_script_path(void **state)
{
	char path[PATH_MAX], err[ERRLEN] = "";
	const char *src = getenv("COHMAP_SRCDIR");
	(void)state;

	setenv("COHMAP_PLOTS_DIR", "/nonexistent/plots", 1);
	assert_int_equal(plot_script_path("no-such-script.gp", path, sizeof(path), err), -1);
	assert_non_null(strstr(err, "no-such-script.gp not found"));
	assert_non_null(strstr(err, "/nonexistent/plots"));
	if (src) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s/plots", src);
		setenv("COHMAP_PLOTS_DIR", dir, 1);
		if (plot_script_path("heatmap.gp", path, sizeof(path), err) < 0)
			fail_msg("%s", err);
		assert_non_null(strstr(path, "/plots/heatmap.gp"));
		assert_int_equal(access(path, R_OK), 0);
	}
	unsetenv("COHMAP_PLOTS_DIR");
}

static void test_gnuplot_error_line(void **state)
{
	char why[ERRLEN], err[ERRLEN] = "";
	static const char *const bad[] = {"set output '/dev/null'", "plot sin(x) wth", NULL};
	(void)state;

	if (!plot_gnuplot_available(why, sizeof(why)))
		skip();
	assert_int_equal(plot_run_gnuplot(NULL, bad, err), -1);
	/* The line that names the problem, not the echoed command or the caret. */
	assert_non_null(strstr(err, "line 0: "));
	assert_null(strchr(err, '\n'));
}

static void test_render(void **state)
{
	struct fixture *f = *state;
	char why[ERRLEN], err[ERRLEN] = "", dir[PATH_MAX];
	const char *src = getenv("COHMAP_SRCDIR");

	if (!src || !plot_gnuplot_available(why, sizeof(why)))
		skip();
	snprintf(dir, sizeof(dir), "%s/plots", src);
	setenv("COHMAP_PLOTS_DIR", dir, 1);
	write_csv(f, rows4);
	if (plot_latency_heatmaps(f->dir, &topo, "median", err) != 2)
		fail_msg("%s", err);
	unsetenv("COHMAP_PLOTS_DIR");
	assert_memory_equal(slurp(f, "latency-load_store.png"), "\x89PNG", 4);
	assert_memory_equal(slurp(f, "latency-xchg_bounce.png"), "\x89PNG", 4);
	assert_non_null(strstr(slurp(f, "latency-load_store.svg"), "<svg"));
	assert_false(leftover_tmp(f));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_data_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_min_statistic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_column, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_rows, setup, teardown),
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_script_path),
		cmocka_unit_test(test_gnuplot_error_line),
		cmocka_unit_test_setup_teardown(test_render, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
