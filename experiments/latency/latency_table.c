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
	struct latency_line line;
	int row;
};

static int by_pair(const struct latency_pair *a, const struct latency_pair *b)
{
	if (a->kernel != b->kernel)
		return a->kernel < b->kernel ? -1 : 1;
	if (a->cpu_a != b->cpu_a)
		return a->cpu_a < b->cpu_a ? -1 : 1;
	return (a->cpu_b > b->cpu_b) - (a->cpu_b < b->cpu_b);
}

static int by_key_then_row(const void *pa, const void *pb)
{
	const struct keyed *a = pa, *b = pb;
	int c = by_pair(&a->pair, &b->pair);
	if (c != 0)
		return c;
	if (a->line.line != b->line.line)
		return a->line.line < b->line.line ? -1 : 1;
	return (a->row > b->row) - (a->row < b->row);
}

/* An optional whole-number column (line, address_class, home_node): fallback
 * when the file has no such column or the cell is not a number. */
static int optional_int(const struct csv *c, int r, const char *column, int fallback)
{
	double v;
	/* !(v >= -1 && v <= INT_MAX) also refuses a NaN ("nan" parses as a number). */
	if (csv_column(c, column) < 0 || !csv_number(c, r, column, &v) || !(v >= -1 && v <= INT_MAX))
		return fallback;
	return (int)v;
}

static double optional_number(const struct csv *c, int r, const char *column)
{
	double v;
	return csv_column(c, column) >= 0 && csv_number(c, r, column, &v) ? v : NAN;
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

/* For the heatmaps, the rows of one line of a pair (rows[first..last], in
 * file order) merge: a failed row leaves the values of an earlier ok row, and
 * a counter cell that is not a number leaves the earlier one. */
static void plot_merge(const struct csv *c, const struct keyed *rows, int first, int last,
		       struct latency_line *line, double *counts, int ncounters, char **counters)
{
	*line = rows[last].line;
	line->ok = false;
	line->value = NAN;
	for (int j = 0; j < ncounters; j++)
		counts[j] = NAN;
	for (int i = first; i <= last; i++) {
		if (!rows[i].pair.ok)
			continue;
		*line = rows[i].line;
		line->ok = true;
		line->value = rows[i].pair.value;
		for (int j = 0; j < ncounters; j++) {
			double v;
			if (csv_number(c, rows[i].row, counters[j], &v))
				counts[j] = v;
		}
	}
}

/* The median of the numbers among values[0..n) (NaN skipped); NaN if none. */
static double median_present(double *values, int n)
{
	int m = 0;
	for (int i = 0; i < n; i++)
		if (!isnan(values[i]))
			values[m++] = values[i];
	if (m == 0)
		return NAN;
	struct summary s;
	summarize(values, m, &s);
	return s.median;
}

/* A pair from its lines lines[first..last]: ok when one is, its value (and
 * each counter) the median over the ok lines; one line is itself. */
static void collapse_lines(struct latency_table *lt, const struct latency_pair *key, int first,
			   int last, const double *line_counts, double *scratch)
{
	struct latency_pair *p = &lt->pairs[lt->npairs];
	*p = *key;
	int n = 0;
	for (int i = first; i <= last; i++) {
		lt->lines[i].pair = lt->npairs;
		if (lt->lines[i].ok)
			scratch[n++] = lt->lines[i].value;
	}
	p->ok = n > 0;
	p->value = median_present(scratch, n);
	for (int j = 0; j < lt->ncounters; j++) {
		n = 0;
		for (int i = first; i <= last; i++)
			if (lt->lines[i].ok)
				scratch[n++] = line_counts[(size_t)i * lt->ncounters + j];
		lt->counts[(size_t)lt->npairs * lt->ncounters + j] = median_present(scratch, n);
	}
	if (last - first + 1 > lt->max_lines)
		lt->max_lines = last - first + 1;
	lt->npairs++;
}

static int read_table(const char *dir, const char *column, const struct topology *t, bool plot,
		      struct latency_table *lt, char *err)
{
	struct csv c = { 0 };
	struct keyed *rows = NULL;
	double *scratch = NULL, *line_counts = NULL;
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
		rows[r].line = (struct latency_line){
			.line = optional_int(&c, r, "line", 0),
			.address_class = optional_int(&c, r, "address_class", -1),
			.home_node = optional_int(&c, r, "home_node", -1),
			.ok = p->ok, .value = p->value,
			.ci95_low = optional_number(&c, r, "ci95_low_ns"),
			.ci95_high = optional_number(&c, r, "ci95_high_ns"),
		};
	}
	qsort(rows, (size_t)c.nrows, sizeof *rows, by_key_then_row);
	lt->pairs = malloc(((size_t)c.nrows + 1) * sizeof *lt->pairs);
	lt->lines = malloc(((size_t)c.nrows + 1) * sizeof *lt->lines);
	scratch = malloc(((size_t)c.nrows + 1) * sizeof *scratch);
	if (plot) {
		lt->counters = calloc((size_t)c.ncols + 1, sizeof *lt->counters);
		for (int i = 0; lt->counters && i < c.ncols; i++)
			if (shown_counter(c.header[i]) &&
			    (lt->counters[lt->ncounters++] = strdup(c.header[i])) == NULL)
				break;
		lt->counts = malloc(((size_t)c.nrows * lt->ncounters + 1) * sizeof *lt->counts);
		line_counts = malloc(((size_t)c.nrows * lt->ncounters + 1) * sizeof *line_counts);
	}
	if (lt->pairs == NULL || lt->lines == NULL || scratch == NULL ||
	    (plot && (lt->counters == NULL || lt->counts == NULL || line_counts == NULL ||
		      (lt->ncounters > 0 && lt->counters[lt->ncounters - 1] == NULL)))) {
		set_error(err, "%s: out of memory", path);
		goto out;
	}
	/* Sorted by pair, line, then row: the last of each run of equal keys is
	 * the row written last (a resumed run appends). */
	for (int r = 0, first = 0; r < c.nrows; r++) {
		bool same_as_next = r + 1 < c.nrows && by_pair(&rows[r + 1].pair, &rows[r].pair) == 0 &&
				    rows[r + 1].line.line == rows[r].line.line;
		if (same_as_next)
			continue;
		if (plot)
			plot_merge(&c, rows, first, r, &lt->lines[lt->nlines],
				   &line_counts[(size_t)lt->nlines * lt->ncounters], lt->ncounters,
				   lt->counters);
		else
			lt->lines[lt->nlines] = rows[r].line;
		rows[lt->nlines].pair = rows[r].pair; /* the key of line nlines, for the pairs */
		lt->nlines++;
		first = r + 1;
	}
	for (int i = 0, first = 0; i < lt->nlines; i++) {
		if (i + 1 < lt->nlines && by_pair(&rows[i + 1].pair, &rows[i].pair) == 0)
			continue;
		collapse_lines(lt, &rows[i].pair, first, i, line_counts, scratch);
		first = i + 1;
	}
	ret = 0;
out:
	if (ret != 0)
		latency_table_free(lt);
	free(scratch);
	free(line_counts);
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
	free(lt->lines);
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
		int cmp = by_pair(&key.pair, &lt->pairs[mid]);
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

/* The first of pair i's lines (lines are sorted by pair), or nlines. */
static int first_line_of(const struct latency_table *lt, int i)
{
	int lo = 0, hi = lt->nlines;
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (lt->lines[mid].pair < i)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool latency_pair_address_dependent(const struct latency_table *lt, int i,
				    const struct latency_line **lo_line,
				    const struct latency_line **hi_line)
{
	const struct latency_line *lo = NULL, *hi = NULL;
	for (int l = first_line_of(lt, i); l < lt->nlines && lt->lines[l].pair == i; l++) {
		const struct latency_line *line = &lt->lines[l];
		if (!line->ok)
			continue;
		if (lo == NULL || line->value < lo->value)
			lo = line;
		if (hi == NULL || line->value > hi->value)
			hi = line;
	}
	if (lo_line)
		*lo_line = lo;
	if (hi_line)
		*hi_line = hi;
	/* The cheapest and the dearest line differ by more than their CIs
	 * when the dearest's lower bound is above the cheapest's upper one.
	 * Any two lines whose CIs part include these two: a line whose CI lies
	 * above another's has the larger median. */
	return lo && hi && lo != hi && !isnan(lo->ci95_high) && !isnan(hi->ci95_low) &&
	       hi->ci95_low > lo->ci95_high;
}

int latency_line_spread(const struct latency_table *lt, int k, int cls, struct line_spread *out)
{
	*out = (struct line_spread){ .line_min = NAN, .line_median = NAN, .line_max = NAN,
				     .widest = NAN };
	int nidx = lt->max_lines > 0 ? lt->max_lines : 1, maxline = 0;
	for (int l = 0; l < lt->nlines; l++)
		if (lt->lines[l].line + 1 > maxline)
			maxline = lt->lines[l].line + 1;
	if (maxline > nidx)
		nidx = maxline;
	double *values = malloc(((size_t)lt->nlines + 1) * sizeof *values);
	double *per_line = malloc((size_t)nidx * sizeof *per_line);
	if (values == NULL || per_line == NULL) {
		free(values);
		free(per_line);
		return -1;
	}
	/* which pairs count: ok, of kernel k and class cls, two ok lines or more */
	for (int i = 0; i < lt->npairs; i++) {
		const struct latency_pair *p = &lt->pairs[i];
		const struct latency_line *lo, *hi;
		if (p->kernel != k || p->pair_class != cls || !p->ok)
			continue;
		bool dependent = latency_pair_address_dependent(lt, i, &lo, &hi);
		if (lo == NULL || lo == hi)
			continue;
		out->pairs++;
		out->flagged += dependent;
		if (isnan(out->widest) || hi->value - lo->value > out->widest)
			out->widest = hi->value - lo->value;
	}
	for (int idx = 0; idx < nidx && out->pairs > 0; idx++) {
		int n = 0;
		for (int l = 0; l < lt->nlines; l++) {
			const struct latency_line *line = &lt->lines[l];
			const struct latency_pair *p = &lt->pairs[line->pair];
			if (line->line == idx && line->ok && p->kernel == k && p->pair_class == cls)
				values[n++] = line->value;
		}
		per_line[out->lines] = median_present(values, n);
		out->lines += n > 0;
	}
	if (out->lines > 0) {
		struct summary s;
		summarize(per_line, out->lines, &s);
		out->line_min = s.min;
		out->line_median = s.median;
		out->line_max = s.max;
	}
	free(values);
	free(per_line);
	return out->pairs;
}

int latency_line_homes(const struct latency_table *lt, int *nodes)
{
	int n = 0;
	for (int l = 0; l < lt->nlines; l++) {
		int node = lt->lines[l].home_node, at = 0;
		if (!lt->lines[l].ok)
			continue;
		while (at < n && nodes[at] < node)
			at++;
		if (at < n && nodes[at] == node)
			continue;
		memmove(&nodes[at + 1], &nodes[at], (size_t)(n - at) * sizeof *nodes);
		nodes[at] = node;
		n++;
	}
	return n;
}

double latency_pair_on_home(const struct latency_table *lt, int k, int a, int b, int node)
{
	const struct latency_pair *p = latency_table_find(lt, k, a, b);
	if (p == NULL)
		return NAN;
	int i = (int)(p - lt->pairs), n = 0;
	double values[LATENCY_TABLE_LINES_MAX];
	for (int l = first_line_of(lt, i); l < lt->nlines && lt->lines[l].pair == i; l++)
		if (lt->lines[l].ok && lt->lines[l].home_node == node && n < LATENCY_TABLE_LINES_MAX)
			values[n++] = lt->lines[l].value;
	return median_present(values, n);
}
