/* base/csv.c: round trip, NA cells, a table of malformed files, and the
 * appending writer's refusals. Files live in a fresh temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/common.h"
#include "base/csv.h"

struct fixture {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/cohmap-test-csv-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/t.csv", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void write_file(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

static char *slurp(const char *path)
{
	static char buf[4096];
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static const char *const columns[] = {"kernel", "cpu_a", "cpu_b", "median_ns", "reason"};

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	struct csv_writer w;
	struct csv c;
	char err[ERRLEN];
	double v;

	assert_int_equal(csv_writer_open(&w, f->path, columns, 5, false, err), 0);
	const char *r1[] = {"load_store", "0", "1", "48.25", ""};
	const char *r2[] = {"cas_bounce", "1", "0", "NA", "pinning failed: EINVAL"};
	assert_int_equal(csv_writer_row(&w, r1, err), 0);
	assert_int_equal(csv_writer_row(&w, r2, err), 0);
	assert_int_equal(csv_writer_close(&w, err), 0);
	assert_string_equal(slurp(f->path), "kernel,cpu_a,cpu_b,median_ns,reason\n"
					    "load_store,0,1,48.25,\n"
					    "cas_bounce,1,0,NA,pinning failed: EINVAL\n");

	assert_int_equal(csv_read(f->path, &c, err), 0);
	assert_int_equal(c.ncols, 5);
	assert_int_equal(c.nrows, 2);
	assert_string_equal(c.header[3], "median_ns");
	assert_int_equal(csv_column(&c, "cpu_b"), 2);
	assert_int_equal(csv_column(&c, "gbps"), -1);
	assert_string_equal(csv_cell(&c, 0, "kernel"), "load_store");
	assert_string_equal(csv_cell(&c, 1, "reason"), "pinning failed: EINVAL");
	assert_string_equal(csv_cell(&c, 0, "reason"), "");
	assert_null(csv_cell(&c, 2, "kernel"));
	assert_null(csv_cell(&c, -1, "kernel"));
	assert_null(csv_cell(&c, 0, "gbps"));
	assert_true(csv_number(&c, 0, "median_ns", &v));
	assert_true(v == 48.25);
	assert_true(csv_number(&c, 1, "cpu_a", &v));
	assert_true(v == 1.0);
	csv_free(&c);
	assert_null(c.header);
	assert_null(c.cells);
}

static void test_numbers(void **state)
{
	struct fixture *f = *state;
	struct csv c;
	char err[ERRLEN];
	double v = 0;
	static const char text[] = "a,b,c,d,e,f,g\nNA,,1e3,-2.5,abc,1.5x, 7\n";

	write_file(f->path, text, sizeof(text) - 1);
	assert_int_equal(csv_read(f->path, &c, err), 0);
	assert_true(csv_number(&c, 0, "a", &v) && isnan(v));
	assert_true(csv_number(&c, 0, "b", &v) && isnan(v));
	assert_true(csv_number(&c, 0, "c", &v) && v == 1000.0);
	assert_true(csv_number(&c, 0, "d", &v) && v == -2.5);
	assert_false(csv_number(&c, 0, "e", &v));
	assert_false(csv_number(&c, 0, "f", &v));
	assert_false(csv_number(&c, 0, "g", &v));   /* leading blank */
	assert_false(csv_number(&c, 0, "missing", &v));
	assert_false(csv_number(&c, 1, "a", &v));
	csv_free(&c);
}

/* Files the reader accepts although they are not quite what the writer makes. */
static void test_accepted_variants(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *text;
		int nrows;
		const char *last;   /* cell "b" of the last row */
	} cases[] = {
		{"a,b\n1,2\n3,4", 2, "4"},       /* no newline at the end */
		{"a,b\n1,2\n3,4\n\n", 2, "4"},   /* one trailing empty line */
		{"a,b\n", 0, NULL},              /* header only */
		{"a,b", 0, NULL},
		{"a,b\n\n", 0, NULL},
		{"a,b\n1,\n", 1, ""},            /* empty last cell */
		{"x\n1\n2\n", 2, NULL},          /* a single column */
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct csv c;
		char err[ERRLEN] = "";
		write_file(f->path, cases[i].text, strlen(cases[i].text));
		if (csv_read(f->path, &c, err) != 0)
			fail_msg("case %zu: %s", i, err);
		assert_int_equal(c.nrows, cases[i].nrows);
		if (cases[i].last)
			assert_string_equal(csv_cell(&c, c.nrows - 1, "b"), cases[i].last);
		csv_free(&c);
	}
}

static void test_malformed(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *name;
		const char *text;
		size_t len;        /* 0: strlen(text) */
		const char *want;  /* expected in the message after "PATH" */
	} cases[] = {
		{"empty file", "", 0, ": empty file"},
		{"ragged row", "a,b,c\n1,2,3\n4,5\n6,7,8\n", 0, ":3: 2 cells, the header has 3"},
		{"long row", "a,b\n1,2,3\n", 0, ":2: 3 cells, the header has 2"},
		{"ragged last row, no newline", "a,b\n1,2\n3", 0, ":3: 1 cells"},
		{"no header", "0,1,48.5\n1,0,47.5\n", 0, ":1: '0' is not a column name"},
		{"empty header cell", "a,,c\n1,2,3\n", 0, ":1: '' is not a column name"},
		{"duplicate column", "a,b,a\n1,2,3\n", 0, ":1: column 'a' appears twice"},
		{"quote", "a,b\n1,\"x,y\"\n", 0, ":2: a quote is not allowed"},
		{"quoted header", "\"a\",b\n1,2\n", 0, ":1: a quote"},
		{"CRLF", "a,b\r\n1,2\r\n", 0, ":1: a carriage return"},
		{"NUL byte", "a,b\n1,\0002\n", 9, ":2: a NUL byte"},
		{"tab", "a,b\n1,\t2\n", 0, ":2: a control character"},
		{"empty line inside", "a,b\n1,2\n\n3,4\n", 0, ":3: empty line"},
		{"two empty lines at the end", "a,b\n1,2\n\n\n", 0, ":3: empty line"},
		{"blank first line", "\na,b\n1,2\n", 0, ":1: empty header line"},
		{"only a newline", "\n", 0, ":1: empty header line"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct csv c;
		char err[ERRLEN] = "", want[256];
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text);
		write_file(f->path, cases[i].text, len);
		if (csv_read(f->path, &c, err) == 0)
			fail_msg("%s: accepted", cases[i].name);
		snprintf(want, sizeof(want), "%s%s", f->path, cases[i].want);
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("%s: got \"%s\", want \"%s...\"", cases[i].name, err, want);
		assert_null(strchr(err, '\n'));
		assert_null(c.header);
	}
}

static void test_missing_file(void **state)
{
	struct fixture *f = *state;
	struct csv c;
	char err[ERRLEN];
	assert_int_equal(csv_read(f->path, &c, err), -1);
	assert_non_null(strstr(err, "No such file"));
	assert_int_equal(csv_read(f->dir, &c, err), -1);
	assert_non_null(strstr(err, "is a directory"));
}

static void test_append(void **state)
{
	struct fixture *f = *state;
	struct csv_writer w;
	char err[ERRLEN];
	const char *row[] = {"k", "0", "1", "2.5", ""};
	const char *const other[] = {"kernel", "cpu_a", "cpu_b", "min_ns", "reason"};

	/* append=true creates a missing file with its header */
	assert_int_equal(csv_writer_open(&w, f->path, columns, 5, true, err), 0);
	assert_int_equal(csv_writer_row(&w, row, err), 0);
	assert_int_equal(csv_writer_close(&w, err), 0);

	/* without append an existing file is never touched */
	assert_int_equal(csv_writer_open(&w, f->path, columns, 5, false, err), -1);
	assert_non_null(strstr(err, "File exists"));
	assert_int_equal(w.fd, -1);

	/* other columns, fewer columns, or a prefix of the header: refused */
	assert_int_equal(csv_writer_open(&w, f->path, other, 5, true, err), -1);
	char want[256];
	snprintf(want, sizeof(want), "%s has other columns", f->path);
	assert_string_equal(err, want);
	assert_int_equal(csv_writer_open(&w, f->path, columns, 4, true, err), -1);
	assert_string_equal(err, want);

	/* the same header: rows go to the end */
	assert_int_equal(csv_writer_open(&w, f->path, columns, 5, true, err), 0);
	row[0] = "k2";
	assert_int_equal(csv_writer_row(&w, row, err), 0);
	assert_int_equal(csv_writer_close(&w, err), 0);
	assert_string_equal(slurp(f->path), "kernel,cpu_a,cpu_b,median_ns,reason\n"
					    "k,0,1,2.5,\n"
					    "k2,0,1,2.5,\n");
}

static void test_append_to_foreign_file(void **state)
{
	struct fixture *f = *state;
	struct csv_writer w;
	char err[ERRLEN];

	write_file(f->path, "", 0);
	assert_int_equal(csv_writer_open(&w, f->path, columns, 5, true, err), -1);
	assert_non_null(strstr(err, "has other columns"));
	static const char longer[] = "kernel,cpu_a,cpu_b,median_ns,reason,extra\n";
	write_file(f->path, longer, sizeof(longer) - 1);
	assert_int_equal(csv_writer_open(&w, f->path, columns, 5, true, err), -1);
	assert_non_null(strstr(err, "has other columns"));
}

static void test_writer_refuses_bad_cells(void **state)
{
	struct fixture *f = *state;
	struct csv_writer w;
	char err[ERRLEN];
	const char *bad[][5] = {
		{"k", "0", "1", "2,5", ""},
		{"k", "0", "1", "2.5", "said \"no\""},
		{"k", "0", "1", "2.5", "two\nlines"},
		{"k", "0", "1", NULL, ""},
	};
	const char *const bad_columns[] = {"a", "b c"};

	assert_int_equal(csv_writer_open(&w, f->path, bad_columns, 2, false, err), -1);
	assert_int_equal(access(f->path, F_OK), -1);

	assert_int_equal(csv_writer_open(&w, f->path, columns, 5, false, err), 0);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(csv_writer_row(&w, bad[i], err), -1);
		assert_non_null(strstr(err, "cell"));
	}
	assert_int_equal(csv_writer_close(&w, err), 0);
	assert_int_equal(csv_writer_close(&w, err), 0);   /* closing twice is harmless */
	assert_string_equal(slurp(f->path), "kernel,cpu_a,cpu_b,median_ns,reason\n");
	assert_int_equal(csv_writer_row(&w, bad[0], err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numbers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accepted_variants, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_to_foreign_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_refuses_bad_cells, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
