/* The bandwidth plots from bandwidth.csv. The sweep needs nothing from cohmap
 * but the variables it passes (which consumer, classes, cache sizes);
 * the matrix needs the topology for the axis order and domain borders. */
#include "experiments/bandwidth/bandwidth_plot.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/options.h"
#include "base/csv.h"
#include "base/memory.h"
#include "plots/csvplot.h"
#include "plots/plot.h"
#include "kernels/stream.h"

#define MAX_CONSUMERS 16

/* Kernel names become file names and gnuplot strings: a safe alphabet only. */
static bool plain_name(const char *s)
{
	if (!*s || strlen(s) > 32)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static bool number_at(const struct csv *c, int row, const char *column, long long *value)
{
	const char *cell = csv_cell(c, row, column);
	char *end;
	if (cell == NULL || *cell == '\0')
		return false;
	errno = 0;
	*value = strtoll(cell, &end, 10);
	return errno == 0 && *end == '\0';
}

static bool row_is(const struct csv *c, int row, const char *series, const char *consumer)
{
	return strcmp(csv_cell(c, row, "series"), series) == 0 &&
	       strcmp(csv_cell(c, row, "consumer"), consumer) == 0;
}

static bool ok(const struct csv *c, int row)
{
	return strcmp(csv_cell(c, row, "status"), "ok") == 0;
}

static int sweep(const char *dir, const struct topology *t, const struct csv *c, const char *stat,
		 const char *consumer, const char *image, char *err)
{
	char classes[256] = "", pairs[512] = "", producer[40] = "write";
	char a_consumer[64], a_stat[32], a_classes[300], a_pairs[560], a_l1[48], a_l2[48], a_l3[48],
		a_title[400], title[300], quoted[300];
	for (int cls = 0; cls < PAIR_CLASS_COUNT; cls++) {
		const char *name = pair_class_name(cls);
		for (int r = 0; r < c->nrows; r++) {
			long long a, b;
			if (!row_is(c, r, "sweep", consumer) || !ok(c, r) ||
			    strcmp(csv_cell(c, r, "pair_class"), name) != 0 ||
			    !number_at(c, r, "cpu_a", &a) || !number_at(c, r, "cpu_b", &b))
				continue;
			size_t used = strlen(classes), pused = strlen(pairs);
			snprintf(classes + used, sizeof classes - used, "%s%s", used ? " " : "", name);
			if (a == b)
				snprintf(pairs + pused, sizeof pairs - pused, "%s%lld", pused ? " " : "", a);
			else
				snprintf(pairs + pused, sizeof pairs - pused, "%s%lld->%lld", pused ? " " : "", a, b);
			if (plain_name(csv_cell(c, r, "producer")) && strcmp(csv_cell(c, r, "producer"), "none"))
				snprintf(producer, sizeof producer, "%s", csv_cell(c, r, "producer"));
			break;
		}
	}
	if (classes[0] == '\0')
		return 0;
	snprintf(title, sizeof title, "producer %s -> consumer %s%s%s", producer, consumer,
		 t->cpu_model[0] ? " on " : "", t->cpu_model);
	if (plot_gnuplot_quote(quoted, sizeof quoted, title) != 0)
		snprintf(quoted, sizeof quoted, "''");
	snprintf(a_title, sizeof a_title, "title=%s", quoted);
	snprintf(a_consumer, sizeof a_consumer, "consumer='%s'", consumer);
	snprintf(a_stat, sizeof a_stat, "stat='%s'", stat);
	snprintf(a_classes, sizeof a_classes, "classes='%s'", classes);
	snprintf(a_pairs, sizeof a_pairs, "pairs='%s'", pairs);
	snprintf(a_l1, sizeof a_l1, "l1=%zu", t->l1d_bytes);
	snprintf(a_l2, sizeof a_l2, "l2=%zu", t->l2_bytes);
	snprintf(a_l3, sizeof a_l3, "l3=%zu", t->l3_bytes);
	const char *extra[] = { a_consumer, a_stat, a_classes, a_pairs, a_l1, a_l2, a_l3, a_title, NULL };
	return plot_csv_figure("bandwidth.gp", dir, "bandwidth.csv", image, extra, err) == 0 ? 1 : -1;
}

static int compare_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static int matrix(const char *dir, const struct topology *t, const struct csv *c, const char *stat,
		  const char *consumer, const char *name, char *err)
{
	int *cpus = calloc((size_t)c->nrows * 2 + 1, sizeof *cpus), n = 0, rc = -1;
	double *value = NULL;
	long long bytes = 0;
	char producer[40] = "write";
	if (cpus == NULL) {
		set_error(err, "out of memory");
		return -1;
	}
	/* Every CPU of a matrix row, failed or not: a failed cell is shown as
	 * missing, not left out. */
	for (int r = 0; r < c->nrows; r++) {
		long long ab[2];
		if (!row_is(c, r, "matrix", consumer) || !number_at(c, r, "cpu_a", &ab[0]) ||
		    !number_at(c, r, "cpu_b", &ab[1]) || !number_at(c, r, "buffer_bytes", &bytes))
			continue;
		if (plain_name(csv_cell(c, r, "producer")) && strcmp(csv_cell(c, r, "producer"), "none"))
			snprintf(producer, sizeof producer, "%s", csv_cell(c, r, "producer"));
		for (int k = 0; k < 2; k++) {
			if (!topology_find(t, (int)ab[k])) {
				set_error(err, "bandwidth.csv: CPU %lld is not in the topology (%s)", ab[k], t->source);
				goto out;
			}
			cpus[n++] = (int)ab[k];
		}
	}
	if (n == 0) {
		rc = 0;
		goto out;
	}
	qsort(cpus, (size_t)n, sizeof *cpus, compare_int);
	int distinct = 0;
	for (int i = 0; i < n; i++)
		if (distinct == 0 || cpus[i] != cpus[distinct - 1])
			cpus[distinct++] = cpus[i];
	n = distinct;
	topology_sort(t, cpus, n);
	value = malloc((size_t)n * (size_t)n * sizeof *value);
	if (value == NULL) {
		set_error(err, "out of memory");
		goto out;
	}
	for (int i = 0; i < n * n; i++)
		value[i] = NAN;
	const char *column = strcmp(stat, "min") == 0 ? "max_gbps" : "median_gbps";
	for (int r = 0; r < c->nrows; r++) {
		long long a, b;
		double v;
		if (!row_is(c, r, "matrix", consumer) || !ok(c, r) || !number_at(c, r, "cpu_a", &a) ||
		    !number_at(c, r, "cpu_b", &b) || !csv_number(c, r, column, &v))
			continue;
		int ia = 0, ib = 0;
		while (cpus[ia] != a)
			ia++;
		while (cpus[ib] != b)
			ib++;
		value[ia * n + ib] = v;
	}
	char size[32], title[200], cblabel[120];
	format_bytes((uint64_t)bytes, size, sizeof size);
	snprintf(title, sizeof title, "producer %s -> consumer %s, %s ring", producer, consumer, size);
	snprintf(cblabel, sizeof cblabel, "GB/s seen by the consumer, %s",
		 strcmp(stat, "min") == 0 ? "fastest sample" : "median of samples");
	struct plot_matrix m = {
		.title = title,
		.xlabel = "consumer CPU (topology order; diagonal: same core, no handoff)",
		.ylabel = "producer CPU",
		.cblabel = cblabel,
		.cell_format = "%.1f",
		.n = n,
		.cpus = cpus,
		.value = value,
	};
	rc = plot_matrix_heatmap(dir, name, t, &m, true, err) == 0 ? 1 : -1;
out:
	free(cpus);
	free(value);
	return rc;
}

static int kernel_rank(const char *name)
{
	for (int i = 0; i < stream_kernel_count; i++)
		if (strcmp(stream_registry[i]->name, name) == 0)
			return i;
	return stream_kernel_count;
}

int plot_bandwidth(const char *dir, const struct topology *t, const char *stat,
		   char (*images)[BANDWIDTH_PLOT_NAME], int max, char *err)
{
	struct csv c = { 0 };
	char path[PATH_MAX];
	const char *consumers[MAX_CONSUMERS];
	int nconsumers = 0, drawn = 0;

	if (!option_stat_known(stat)) {
		set_error(err, "unknown statistic '%s' for the bandwidth plots (median or min)", stat);
		return -1;
	}
	snprintf(path, sizeof path, "%s/bandwidth.csv", dir);
	if (csv_read(path, &c, err) != 0)
		return -1;
	static const char *const needed[] = { "series", "producer", "consumer", "cpu_a", "cpu_b",
					      "pair_class", "buffer_bytes", "status", "median_gbps",
					      "max_gbps", "p10_gbps", "p90_gbps" };
	for (size_t i = 0; i < ARRAY_SIZE(needed); i++)
		if (csv_column(&c, needed[i]) < 0) {
			set_error(err, "%s: no column %s", path, needed[i]);
			drawn = -1;
			goto out;
		}
	for (int r = 0; r < c.nrows; r++) {
		const char *k = csv_cell(&c, r, "consumer");
		bool known = false;
		for (int i = 0; i < nconsumers; i++)
			known |= strcmp(consumers[i], k) == 0;
		if (known)
			continue;
		if (!plain_name(k) || nconsumers == MAX_CONSUMERS) {
			set_error(err, "%s:%d: consumer '%.32s' is not a kernel name", path, r + 2, k);
			drawn = -1;
			goto out;
		}
		consumers[nconsumers++] = k;
	}
	/* In the order of the kernel list, whatever order the rows came in. */
	for (int i = 1; i < nconsumers; i++)
		for (int j = i; j > 0 && kernel_rank(consumers[j]) < kernel_rank(consumers[j - 1]); j--) {
			const char *swap = consumers[j];
			consumers[j] = consumers[j - 1];
			consumers[j - 1] = swap;
		}
	for (int k = 0; k < nconsumers && drawn < max; k++) {
		char image[BANDWIDTH_PLOT_NAME], name[BANDWIDTH_PLOT_NAME];
		snprintf(image, sizeof image, "bandwidth-%s.png", consumers[k]);
		int got = sweep(dir, t, &c, stat, consumers[k], image, err);
		if (got < 0) {
			drawn = -1;
			goto out;
		}
		if (got > 0)
			snprintf(images[drawn++], BANDWIDTH_PLOT_NAME, "%s", image);
		snprintf(name, sizeof name, "bandwidth-matrix-%s", consumers[k]);
		if (drawn < max && (got = matrix(dir, t, &c, stat, consumers[k], name, err)) != 0) {
			if (got < 0) {
				drawn = -1;
				goto out;
			}
			snprintf(images[drawn++], BANDWIDTH_PLOT_NAME, "%s.png", name);
		}
	}
out:
	csv_free(&c);
	return drawn;
}
