#include "experiments/latency/latency_table.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/csv.h"
#include "base/stats.h"
#include "plots/plot.h"

struct keyed {
	struct latency_pair pair;
	int row;
};

static int by_key_then_row(const void *pa, const void *pb)
{
	const struct keyed *a = pa, *b = pb;
	if (a->pair.kernel != b->pair.kernel)
		return a->pair.kernel < b->pair.kernel ? -1 : 1;
	if (a->pair.cpu_a != b->pair.cpu_a)
		return a->pair.cpu_a < b->pair.cpu_a ? -1 : 1;
	if (a->pair.cpu_b != b->pair.cpu_b)
		return a->pair.cpu_b < b->pair.cpu_b ? -1 : 1;
	return (a->row > b->row) - (a->row < b->row);
}

static bool parse_cpu(const char *s, int *cpu)
{
	char *end;
	if (s == NULL || !(*s >= '0' && *s <= '9'))
		return false;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (*end || errno || v > INT_MAX)
		return false;
	*cpu = (int)v;
	return true;
}

/* The heatmaps' own checks of a row, in their order and words: kernel names
 * become file names, each CPU must be in t, a value need only be a number. */
static bool plot_row(const struct csv *c, int r, const char *path, const char *column,
		     const struct topology *t, struct latency_pair *p, char *err)
{
	int line = r + 2;
	const char *kernel = csv_cell(c, r, "kernel");
	if (!plot_safe_name(kernel)) {
		set_error(err, "%s:%d: kernel name '%.64s' is not usable in a file name", path, line,
			  kernel);
		return false;
	}
	int *cpu[2] = { &p->cpu_a, &p->cpu_b };
	for (int s = 0; s < 2; s++) {
		const char *col = s ? "cpu_b" : "cpu_a";
		const char *v = csv_cell(c, r, col);
		if (!parse_cpu(v, cpu[s])) {
			set_error(err, "%s:%d: %s '%.32s' is not a CPU id", path, line, col, v);
			return false;
		}
		if (!topology_find(t, *cpu[s])) {
			set_error(err, "%s:%d: CPU %d is not in the topology (%s)", path, line, *cpu[s],
				  t->source);
			return false;
		}
	}
	p->pair_class = p->cpu_a == p->cpu_b ? PAIR_CLASS_COUNT
					     : topology_pair_class(t, p->cpu_a, p->cpu_b);
	p->ok = strcmp(csv_cell(c, r, "status"), "ok") == 0;
	if (!csv_number(c, r, column, &p->value)) {
		set_error(err, "%s:%d: %s '%.32s' is not a number", path, line, column,
			  csv_cell(c, r, column));
		return false;
	}
	return true;
}

/* The summaries' checks of a row. */
static bool summary_row(const struct csv *c, int r, const char *path, const char *column,
			const struct topology *t, struct latency_pair *p, char *err)
{
	int line = r + 2;
	const char *kernel = csv_cell(c, r, "kernel");
	if (kernel[0] == '\0') {
		set_error(err, "%s:%d: empty kernel name", path, line);
		return false;
	}
	if (!parse_cpu(csv_cell(c, r, "cpu_a"), &p->cpu_a) ||
	    !parse_cpu(csv_cell(c, r, "cpu_b"), &p->cpu_b) || p->cpu_a == p->cpu_b) {
		set_error(err, "%s:%d: cpu_a '%.32s' and cpu_b '%.32s' are not two CPU ids", path, line,
			  csv_cell(c, r, "cpu_a"), csv_cell(c, r, "cpu_b"));
		return false;
	}
	if (t) {
		p->pair_class = topology_pair_class(t, p->cpu_a, p->cpu_b);
		if (p->pair_class == PAIR_CLASS_COUNT) {
			set_error(err, "%s:%d: CPU %d or %d is not in the topology (%s)", path, line,
				  p->cpu_a, p->cpu_b, t->source);
			return false;
		}
	} else {
		p->pair_class = pair_class_from_name(csv_cell(c, r, "pair_class"));
		if (p->pair_class < 0) {
			set_error(err, "%s:%d: unknown pair_class '%.32s'", path, line,
				  csv_cell(c, r, "pair_class"));
			return false;
		}
	}
	p->ok = strcmp(csv_cell(c, r, "status"), "ok") == 0;
	if (!csv_number(c, r, column, &p->value) || (p->ok && !(p->value >= 0))) {
		set_error(err, "%s:%d: %s '%.32s' is not a latency", path, line, column,
			  csv_cell(c, r, column));
		return false;
	}
	return true;
}

/* The counter columns the heatmaps show: per handoff, but not migrations and
 * context switches, which are always counted to flag disturbed samples and
 * are not what a reader asked to see. */
static bool shown_counter(const char *name)
{
	size_t len = strlen(name);
	return len >= 12 && strcmp(name + len - 12, "_per_handoff") == 0 &&
	       strcmp(name, "perf_CPU_MIGRATIONS_per_handoff") != 0 &&
	       strcmp(name, "perf_CONTEXT_SWITCHES_per_handoff") != 0;
}

/* For the heatmaps, the rows of one pair (rows[first..last], in file order)
 * merge: a failed row leaves the values of an earlier ok row, and a counter
 * cell that is not a number leaves the earlier one. */
static void plot_merge(const struct csv *c, const struct keyed *rows, int first, int last,
		       struct latency_table *lt)
{
	struct latency_pair *p = &lt->pairs[lt->npairs];
	double *counts = &lt->counts[(size_t)lt->npairs * lt->ncounters];
	*p = rows[last].pair;
	p->ok = false;
	p->value = NAN;
	for (int j = 0; j < lt->ncounters; j++)
		counts[j] = NAN;
	for (int i = first; i <= last; i++) {
		if (!rows[i].pair.ok)
			continue;
		p->ok = true;
		p->value = rows[i].pair.value;
		for (int j = 0; j < lt->ncounters; j++) {
			double v;
			if (csv_number(c, rows[i].row, lt->counters[j], &v))
				counts[j] = v;
		}
	}
}

static int read_table(const char *dir, const char *column, const struct topology *t, bool plot,
		      struct latency_table *lt, char *err)
{
	struct csv c = { 0 };
	struct keyed *rows = NULL;
	char path[PATH_MAX];
	int ret = -1;

	*lt = (struct latency_table){ 0 };
	if (snprintf(path, sizeof path, "%s/latency.csv", dir) >= (int)sizeof path) {
		set_error(err, "path too long: %s", dir);
		goto out;
	}
	if (csv_read(path, &c, err) != 0)
		goto out;
	const char *needed[] = { "kernel", "cpu_a", "cpu_b", "status", column, t ? NULL : "pair_class" };
	for (size_t i = 0; i < ARRAY_SIZE(needed); i++)
		if (needed[i] && csv_column(&c, needed[i]) < 0) {
			set_error(err, "%s: no column %s", path, needed[i]);
			goto out;
		}
	rows = malloc(((size_t)c.nrows + 1) * sizeof *rows);
	lt->kernels = malloc(((size_t)c.nrows + 1) * sizeof *lt->kernels);
	if (rows == NULL || lt->kernels == NULL) {
		set_error(err, "%s: out of memory", path);
		goto out;
	}
	for (int r = 0; r < c.nrows; r++) {
		struct latency_pair *p = &rows[r].pair;
		const char *kernel = csv_cell(&c, r, "kernel");
		if (!(plot ? plot_row : summary_row)(&c, r, path, column, t, p, err))
			goto out;
		if (!p->ok)
			p->value = NAN;
		int k = 0;
		while (k < lt->nkernels && strcmp(lt->kernels[k], kernel) != 0)
			k++;
		if (k == lt->nkernels) {
			lt->kernels[k] = strdup(kernel);
			if (lt->kernels[k] == NULL) {
				set_error(err, "%s: out of memory", path);
				goto out;
			}
			lt->nkernels++;
		}
		p->kernel = k;
		rows[r].row = r;
	}
	qsort(rows, (size_t)c.nrows, sizeof *rows, by_key_then_row);
	lt->pairs = malloc(((size_t)c.nrows + 1) * sizeof *lt->pairs);
	if (plot) {
		lt->counters = calloc((size_t)c.ncols + 1, sizeof *lt->counters);
		for (int i = 0; lt->counters && i < c.ncols; i++)
			if (shown_counter(c.header[i]) &&
			    (lt->counters[lt->ncounters++] = strdup(c.header[i])) == NULL)
				break;
		lt->counts = malloc(((size_t)c.nrows * lt->ncounters + 1) * sizeof *lt->counts);
	}
	if (lt->pairs == NULL ||
	    (plot && (lt->counters == NULL || lt->counts == NULL ||
		      (lt->ncounters > 0 && lt->counters[lt->ncounters - 1] == NULL)))) {
		set_error(err, "%s: out of memory", path);
		goto out;
	}
	/* Sorted by key, then by row: the last of each run of equal keys is the
	 * row written last. */
	for (int r = 0, first = 0; r < c.nrows; r++) {
		bool same_as_next = r + 1 < c.nrows && rows[r + 1].pair.kernel == rows[r].pair.kernel &&
				    rows[r + 1].pair.cpu_a == rows[r].pair.cpu_a &&
				    rows[r + 1].pair.cpu_b == rows[r].pair.cpu_b;
		if (same_as_next)
			continue;
		if (plot)
			plot_merge(&c, rows, first, r, lt);
		else
			lt->pairs[lt->npairs] = rows[r].pair;
		lt->npairs++;
		first = r + 1;
	}
	ret = 0;
out:
	if (ret != 0)
		latency_table_free(lt);
	free(rows);
	csv_free(&c);
	return ret;
}

void latency_table_free(struct latency_table *lt)
{
	for (int k = 0; k < lt->nkernels; k++)
		free(lt->kernels[k]);
	free(lt->kernels);
	free(lt->pairs);
	for (int j = 0; j < lt->ncounters; j++)
		free(lt->counters[j]);
	free(lt->counters);
	free(lt->counts);
	*lt = (struct latency_table){ 0 };
}

int latency_table_read(const char *dir, const char *column, const struct topology *t,
		       struct latency_table *lt, char *err)
{
	return read_table(dir, column, t, false, lt, err);
}

int latency_table_read_plot(const char *dir, const char *column, const struct topology *t,
			    struct latency_table *lt, char *err)
{
	return read_table(dir, column, t, true, lt, err);
}

const struct latency_pair *latency_table_find(const struct latency_table *lt, int k, int a, int b)
{
	struct keyed key = { .pair = { .kernel = k, .cpu_a = a, .cpu_b = b }, .row = 0 };
	int lo = 0, hi = lt->npairs - 1;
	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		struct keyed probe = { .pair = lt->pairs[mid], .row = 0 };
		int cmp = by_key_then_row(&key, &probe);
		if (cmp == 0)
			return &lt->pairs[mid];
		if (cmp < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return NULL;
}

static int ascending(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

int latency_table_cpus(const struct latency_table *lt, int k, int **cpus)
{
	int n = 0, *all = malloc(((size_t)lt->npairs * 2 + 1) * sizeof *all);
	*cpus = all;
	if (all == NULL)
		return -1;
	for (int i = 0; i < lt->npairs; i++)
		if (lt->pairs[i].kernel == k) {
			all[n++] = lt->pairs[i].cpu_a;
			all[n++] = lt->pairs[i].cpu_b;
		}
	qsort(all, (size_t)n, sizeof *all, ascending);
	int unique = 0;
	for (int i = 0; i < n; i++)
		if (unique == 0 || all[unique - 1] != all[i])
			all[unique++] = all[i];
	return unique;
}

int latency_table_class(const struct latency_table *lt, int k, int cls, double *min,
			double *median, double *max)
{
	double *values = malloc(((size_t)lt->npairs + 1) * sizeof *values);
	long n = 0;
	*min = *median = *max = NAN;
	if (values == NULL)
		return 0;
	for (int i = 0; i < lt->npairs; i++) {
		const struct latency_pair *p = &lt->pairs[i];
		if (p->kernel == k && p->pair_class == cls && p->ok)
			values[n++] = p->value;
	}
	if (n > 0) {
		struct summary s;
		summarize(values, n, &s);
		*min = s.min;
		*median = s.median;
		*max = s.max;
	}
	free(values);
	return (int)n;
}
