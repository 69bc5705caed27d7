/* `cohmap compare A B`. Both runs are read and checked whole before the
 * output directory exists: same kernels, same CPUs per kernel, well-formed
 * files. The pictures are drawn by cli/compare.gp from plain .dat/.gpvars
 * files written here, like the latency heatmaps.
 *
 * One file: reading, checking, the tables and the pictures all walk the
 * same pair of runs, kernel by kernel. */
#include "cli/compare.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/common.h"
#include "base/options.h"
#include "base/csv.h"
#include "cli/html.h"
#include "experiments/latency/latency_table.h"
#include "harness/meta_check.h"
#include "harness/results.h"
#include "base/stats.h"
#include "plots/plot.h"

/* Colour scales never zoom in further than this: a 3% wobble between two
 * runs should look pale, not like a finding. Ratio: B/A within 1/1.1 .. 1.1;
 * difference: within +-10% of A's median over all pairs. */
#define MIN_RATIO_SPAN 1.1
#define MIN_DIFF_SPAN_OF_A 0.10

struct side {
	const char *dir;
	struct topology t;
	json_t *meta;             /* NULL when the directory has no meta.json */
	struct latency_table lt;
};

static void side_free(struct side *s)
{
	topology_free(&s->t);
	json_decref(s->meta);
	latency_table_free(&s->lt);
}

/* "0-3,8,10-11" */
static void cpu_list(const int *cpus, int n, char *buf, size_t size)
{
	size_t used = 0;
	buf[0] = '\0';
	for (int i = 0; i < n && used < size; i++) {
		int j = i;
		while (j + 1 < n && cpus[j + 1] == cpus[j] + 1)
			j++;
		used += (size_t)snprintf(buf + used, size - used, j > i ? "%s%d-%d" : "%s%d",
					 i ? "," : "", cpus[i], cpus[j]);
		i = j;
	}
}

static int load_side(const char *cmd, const char *label, const char *dir, const char *column,
		     struct side *s)
{
	char path[PATH_MAX], err[ERRLEN];
	struct stat st;

	s->dir = dir;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "cohmap %s: run %s: %s is not a results directory\n", cmd, label, dir);
		return EXIT_USAGE;
	}
	snprintf(path, sizeof path, "%s/topology.txt", dir);
	if (topology_load(&s->t, path, err) != 0) {
		fprintf(stderr, "cohmap %s: run %s: %s\n", cmd, label, err);
		return EXIT_USAGE;
	}
	snprintf(path, sizeof path, "%s/meta.json", dir);
	if (access(path, F_OK) == 0 && (s->meta = meta_load_checked(path, err)) == NULL) {
		fprintf(stderr, "cohmap %s: run %s: %s\n", cmd, label, err);
		return EXIT_USAGE;
	}
	if (latency_table_read(dir, column, &s->t, &s->lt, err) != 0) {
		fprintf(stderr, "cohmap %s: run %s: %s\n", cmd, label, err);
		return EXIT_USAGE;
	}
	if (s->lt.npairs == 0) {
		fprintf(stderr, "cohmap %s: run %s: %s/latency.csv has no pairs\n", cmd, label, dir);
		return EXIT_USAGE;
	}
	return EXIT_DONE;
}

static int kernel_index(const struct latency_table *lt, const char *name)
{
	for (int k = 0; k < lt->nkernels; k++)
		if (strcmp(lt->kernels[k], name) == 0)
			return k;
	return -1;
}

static void kernel_names(const struct latency_table *lt, char *buf, size_t size)
{
	size_t used = 0;
	buf[0] = '\0';
	for (int k = 0; k < lt->nkernels && used < size; k++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s", k ? "," : "", lt->kernels[k]);
}

/* Same kernels, and per kernel the same CPUs: otherwise a cell of one
 * matrix has no partner in the other. */
static int check_comparable(const char *cmd, const struct side *a, const struct side *b)
{
	char la[512], lb[512];
	int ret = EXIT_USAGE, *ca = NULL, *cb = NULL;
	bool same = a->lt.nkernels == b->lt.nkernels;
	for (int k = 0; same && k < a->lt.nkernels; k++)
		same = kernel_index(&b->lt, a->lt.kernels[k]) >= 0;
	if (!same) {
		kernel_names(&a->lt, la, sizeof la);
		kernel_names(&b->lt, lb, sizeof lb);
		fprintf(stderr, "cohmap %s: the runs measured different kernels (A: %s; B: %s)\n", cmd,
			la, lb);
		return EXIT_USAGE;
	}
	for (int k = 0; k < a->lt.nkernels; k++) {
		int kb = kernel_index(&b->lt, a->lt.kernels[k]);
		free(ca);
		free(cb);
		int na = latency_table_cpus(&a->lt, k, &ca), nb = latency_table_cpus(&b->lt, kb, &cb);
		if (na < 0 || nb < 0) {
			fprintf(stderr, "cohmap %s: out of memory\n", cmd);
			goto out;
		}
		if (na != nb || memcmp(ca, cb, (size_t)na * sizeof *ca) != 0) {
			cpu_list(ca, na, la, sizeof la);
			cpu_list(cb, nb, lb, sizeof lb);
			fprintf(stderr, "cohmap %s: kernel %s: the runs measured different CPUs (A: %s; B: %s)\n",
				cmd, a->lt.kernels[k], la, lb);
			goto out;
		}
	}
	ret = EXIT_DONE;
out:
	free(ca);
	free(cb);
	return ret;
}

/* The last part of a directory name, reduced to characters that need no
 * quoting anywhere. */
static void short_name(const char *dir, char *out, size_t size)
{
	size_t len = strlen(dir);
	while (len > 1 && dir[len - 1] == '/')
		len--;
	size_t start = len;
	while (start > 0 && dir[start - 1] != '/')
		start--;
	size_t j = 0;
	for (size_t i = start; i < len && j + 1 < size; i++) {
		char c = dir[i];
		bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			     c == '-' || c == '_' || c == '.';
		out[j++] = plain ? c : '_';
	}
	out[j] = '\0';
	if (j == 0 || strcmp(out, ".") == 0 || strcmp(out, "..") == 0)
		snprintf(out, size, "run");
}

/* ---- heatmap files ---- */

struct matrix {
	const char *kernel;
	int n;
	int *cpus;            /* topology order of A */
	double *ratio, *diff; /* [initiator * n + responder], NaN when none */
};

static int write_dat(const struct matrix *m, const double *v, const char *what, const char *path,
		     char *err)
{
	char tmp[PATH_MAX];
	FILE *f = plot_file_begin(path, tmp, sizeof tmp, err);
	if (f == NULL)
		return -1;
	fprintf(f, "# cohmap compare, kernel %s: %s per ordered pair\n"
		   "# x = responder index, y = initiator index, in run A's topology order; NaN: no value\n",
		m->kernel, what);
	plot_put_matrix(f, m->cpus, m->n, v);
	return plot_file_finish(f, tmp, path, err);
}

/* A gnuplot double-quoted string of safe text: quotes, backslashes and
 * control characters dropped, since this file is gnuplot code. */
static void put_text(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++)
		if ((unsigned char)*s >= 0x20 && *s != '"' && *s != '\\')
			fputc(*s, f);
	fputc('"', f);
}

static int write_vars(const struct topology *t, const struct matrix *m, bool ratio, double span,
		      const char *stat, const char *path, char *err)
{
	char tmp[PATH_MAX], title[256];
	FILE *f = plot_file_begin(path, tmp, sizeof tmp, err);
	if (f == NULL)
		return -1;
	fprintf(f, "# written by cohmap compare for cli/compare.gp\nncpus = %d\n", m->n);
	fprintf(f, "if (!exists(\"span\")) { span = %.6g }\n", span);
	snprintf(title, sizeof title, "%s of the %s one-way latency, kernel %s",
		 ratio ? "B / A" : "B - A", stat, m->kernel);
	fputs("set title ", f);
	put_text(f, title);
	fputs("\nset xlabel \"responder CPU (topology order of run A)\"\nset ylabel \"initiator CPU\"\n", f);
	if (ratio) {
		/* Ticks at round ratios inside the range, symmetric in log scale. */
		static const double tics[] = { 1.0 / 16, 0.125, 0.25, 0.5, 2.0 / 3, 0.8, 0.9, 0.95, 1,
					       1 / 0.95, 1 / 0.9, 1.25, 1.5, 2, 4, 8, 16 };
		fputs("ratio_tics = 1\nset cbtics (", f);
		bool first = true;
		for (size_t i = 0; i < ARRAY_SIZE(tics); i++) {
			if (fabs(log(tics[i])) > span * 1.0001)
				continue;
			fprintf(f, "%s\"%.3g\" %.6g", first ? "" : ", ", tics[i], log(tics[i]));
			first = false;
		}
		fputs(")\n", f);
	}
	if (plot_put_axes(f, t, m->cpus, m->n, false) < 0) {
		fclose(f);
		unlink(tmp);
		set_error(err, "%s: out of memory", path);
		return -1;
	}
	return plot_file_finish(f, tmp, path, err);
}


/* ---- the page ---- */

static const char *str(const json_t *object, const char *key)
{
	const char *s = json_string_value(json_object_get(object, key));
	return s ? s : "";
}

static void machine_row(FILE *f, const char *label, const json_t *doc, const char *key)
{
	const json_t *ma = json_object_get(json_object_get(doc, "a"), "machine");
	const json_t *mb = json_object_get(json_object_get(doc, "b"), "machine");
	const char *va = str(ma, key), *vb = str(mb, key);
	fputs("<tr><th>", f);
	html_text(f, label);
	fputs("</th><td>", f);
	html_text(f, va[0] ? va : "unknown");
	fputs("</td><td>", f);
	html_text(f, vb[0] ? vb : "unknown");
	fprintf(f, "</td><td>%s</td></tr>\n", strcmp(va, vb) == 0 ? "" : "differs");
}

static void class_table(FILE *f, const char *dir)
{
	struct csv c = { 0 };
	char path[PATH_MAX], err[ERRLEN];
	snprintf(path, sizeof path, "%s/compare-classes.csv", dir);
	if (csv_read(path, &c, err) != 0) {
		fputs("<p>No table by pair class: ", f);
		html_text(f, err);
		fputs("</p>\n", f);
		return;
	}
	static const char *const columns[] = { "kernel", "pair_class", "pairs", "a_min_ns",
					       "a_median_ns", "a_max_ns", "b_min_ns", "b_median_ns",
					       "b_max_ns", "ratio_of_medians_b_over_a" };
	static const char *const heads[] = { "kernel", "pair class", "pairs", "A min", "A median",
					     "A max", "B min", "B median", "B max", "B/A (medians)" };
	fputs("<div class=\"scroll\"><table>\n<tr>", f);
	for (size_t i = 0; i < ARRAY_SIZE(heads); i++)
		fprintf(f, "<th>%s</th>", heads[i]);
	fputs("</tr>\n", f);
	for (int r = 0; r < c.nrows; r++) {
		fputs("<tr>", f);
		for (size_t i = 0; i < ARRAY_SIZE(columns); i++) {
			const char *v = csv_cell(&c, r, columns[i]);
			fputs(i < 2 ? "<td>" : "<td class=\"n\">", f);
			html_text(f, v ? v : "");
			fputs("</td>", f);
		}
		fputs("</tr>\n", f);
	}
	fputs("</table></div>\n", f);
	csv_free(&c);
}

static int compare_report_write(const char *dir, const json_t *doc, char *err)
{
	struct html h;
	char path[PATH_MAX];
	const json_t *a = json_object_get(doc, "a"), *b = json_object_get(doc, "b");
	const char *stat = strcmp(str(doc, "statistic"), "min") == 0 ? "minimum" : "median";

	if (snprintf(path, sizeof path, "%s/index.html", dir) >= (int)sizeof path) {
		set_error(err, "path too long: %s", dir);
		return -1;
	}
	if (html_begin(&h, "cohmap compare", err) != 0)
		return -1;
	FILE *f = h.f;
	fputs("<h1>Comparing two runs: B against A</h1>\n<p class=\"sub\">A = <code>", f);
	html_text(f, str(a, "dir"));
	fputs("</code> (", f);
	html_text(f, json_is_string(json_object_get(a, "started_utc")) ? str(a, "started_utc") : "no meta.json");
	fputs(")<br>B = <code>", f);
	html_text(f, str(b, "dir"));
	fputs("</code> (", f);
	html_text(f, json_is_string(json_object_get(b, "started_utc")) ? str(b, "started_utc") : "no meta.json");
	fputs(")</p>\n", f);

	const json_t *warnings = json_object_get(doc, "warnings");
	if (json_array_size(warnings) > 0) {
		size_t i;
		const json_t *w;
		fputs("<section class=\"warnings\"><h2>Warnings</h2>\n<ul>\n", f);
		json_array_foreach(warnings, i, w) {
			fputs("<li>", f);
			html_text(f, json_string_value(w));
			fputs("</li>\n", f);
		}
		fputs("</ul></section>\n", f);
	}

	fputs("<section id=\"summary\">\n<h2>Summary</h2>\n<p class=\"headline\">", f);
	html_text(f, str(doc, "headline"));
	fprintf(f, "</p>\n<p class=\"how\"><b>How to read it.</b> For every kernel and ordered pair "
		   "of CPUs, the %s one-way latency of run B is divided by (ratio) and subtracted from "
		   "(difference) that of run A. White means no change; blue cells are faster in B, red "
		   "cells slower. The ratio's colours are on a log scale, so 0.5 and 2 are equally "
		   "strong. Axes follow A's topology order, with sockets and L3 groups marked as in the "
		   "latency heatmaps. Two runs on a virtual machine can differ by a factor of several "
		   "for reasons that have nothing to do with the change being studied: compare each "
		   "with a repeat of itself first.</p>\n", stat);
	fprintf(f, "<h3>By pair class [ns]</h3>\n<p class=\"files\">Per pair the %s of its samples; "
		   "per class the min / median / max over pairs (classes from A's topology).</p>\n", stat);
	class_table(f, dir);
	fputs("</section>\n", f);

	fputs("<section id=\"machines\">\n<h2>The two machines</h2>\n<div class=\"scroll\"><table>\n"
	      "<tr><th></th><th>A</th><th>B</th><th></th></tr>\n", f);
	machine_row(f, "CPU", doc, "cpu_model");
	machine_row(f, "Linux kernel", doc, "kernel");
	machine_row(f, "frequency governor", doc, "governor");
	machine_row(f, "SMT", doc, "smt");
	machine_row(f, "hypervisor", doc, "hypervisor");
	machine_row(f, "host", doc, "host");
	fputs("</table></div>\n</section>\n", f);

	size_t k;
	const json_t *kernel;
	json_array_foreach(json_object_get(doc, "kernels"), k, kernel) {
		const char *name = json_string_value(kernel);
		if (name == NULL)
			continue;
		fputs("<section>\n<h2>Kernel <code>", f);
		html_text(f, name);
		fputs("</code></h2>\n", f);
		bool any = false;
		static const char *const kinds[] = { "ratio", "diff" };
		for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
			char png[256];
			snprintf(png, sizeof png, "compare-%s-%s.png", name, kinds[i]);
			if (strchr(name, '/') || !html_file_exists(dir, png))
				continue;
			if (!any)
				fputs("<div class=\"figs\">\n", f);
			any = true;
			fputs("<figure><a href=\"", f);
			html_href(f, png);
			fputs("\"><img src=\"", f);
			html_href(f, png);
			fputs("\" alt=\"", f);
			html_textf(f, "%s of %s", i ? "B - A" : "B / A", name);
			fputs("\"></a><figcaption>", f);
			html_text(f, png);
			fputs("</figcaption></figure>\n", f);
		}
		fputs(any ? "</div>\n" : "<p>No heatmap was drawn (see the warnings); compare.csv has every number.</p>\n", f);
		fputs("</section>\n", f);
	}
	fputs("<p class=\"files\">Data: <a href=\"./compare.csv\">compare.csv</a> (one row per kernel "
	      "and ordered pair: a_ns, b_ns, ratio_b_over_a, diff_b_minus_a_ns) &middot; <a "
	      "href=\"./compare-classes.csv\">compare-classes.csv</a> &middot; compare.json. The "
	      ".dat and .gpvars files redraw each heatmap with cli/compare.gp.</p>\n", f);
	fputs("<footer>", f);
	html_textf(f, "Written by cohmap %s; rewrite it with: cohmap report %s.",
		   str(json_object_get(doc, "tool"), "version"), dir);
	fputs("</footer>\n", f);
	return html_save(&h, path, err);
}

int compare_report_rewrite(const char *dir, char *err)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/compare.json", dir) >= (int)sizeof path) {
		set_error(err, "path too long: %s", dir);
		return -1;
	}
	json_t *doc = json_load_object(path, err);
	if (doc == NULL)
		return -1;
	int ret = compare_report_write(dir, doc, err);
	json_decref(doc);
	return ret;
}

/* ---- the comparison ---- */

static json_t *side_description(const struct side *s)
{
	json_t *machine = s->meta ? json_object_get(s->meta, "machine") : NULL;
	json_t *started = s->meta ? json_object_get(s->meta, "started_utc") : NULL;
	return json_pack("{s:s, s:O?, s:O?, s:s}", "dir", s->dir, "machine", machine, "started_utc",
			 started, "topology_source", s->t.source);
}

static void print_number(double v)
{
	if (isfinite(v))
		printf(" %9.1f", v);
	else
		printf(" %9s", "NA");
}

int compare_runs(const struct compare_request *q)
{
	struct side a = { 0 }, b = { 0 };
	struct csv_writer pairs_csv = { .fd = -1 }, classes_csv = { .fd = -1 };
	struct matrix m = { 0 };
	json_t *doc = NULL, *plots = json_array(), *warnings = json_array(), *kernels = json_array();
	double *scratch_a = NULL, *ratios = NULL;
	char out[PATH_MAX], path[PATH_MAX], err[ERRLEN], script[PATH_MAX], why[ERRLEN];
	bool dir_made = false, draw = true;
	int rc = EXIT_USAGE;
	const char *column = strcmp(q->stat, "min") == 0 ? "min_ns" : "median_ns";
	const char *stat_name = strcmp(q->stat, "min") == 0 ? "minimum" : "median";

	if (option_check_stat(q->cmd, q->stat) != 0)
		goto out;
	if ((rc = load_side(q->cmd, "A", q->dir_a, column, &a)) != EXIT_DONE ||
	    (rc = load_side(q->cmd, "B", q->dir_b, column, &b)) != EXIT_DONE ||
	    (rc = check_comparable(q->cmd, &a, &b)) != EXIT_DONE)
		goto out;
	rc = EXIT_USAGE;

	if (q->output) {
		snprintf(out, sizeof out, "%s", q->output);
	} else {
		char na[100], nb[100];
		short_name(q->dir_a, na, sizeof na);
		short_name(q->dir_b, nb, sizeof nb);
		snprintf(out, sizeof out, "results/compare-%s-vs-%s", na, nb);
		if (mkdir("results", 0777) != 0 && errno != EEXIST) {
			fprintf(stderr, "cohmap %s: cannot create results: %s\n", q->cmd, strerror(errno));
			goto out;
		}
	}
	if (strlen(out) > PATH_MAX - 128) {
		fprintf(stderr, "cohmap %s: output path too long\n", q->cmd);
		goto out;
	}
	if (mkdir(out, 0777) != 0) {
		fprintf(stderr, "cohmap %s: cannot create %s: %s%s\n", q->cmd, out, strerror(errno),
			errno == EEXIST ? " (choose another with -o)" : "");
		goto out;
	}
	dir_made = true;

	/* Every pair of B takes its class from A's topology, so the two sides
	 * of a row of the class table hold the same pairs. */
	for (int i = 0; i < b.lt.npairs; i++)
		b.lt.pairs[i].pair_class = topology_pair_class(&a.t, b.lt.pairs[i].cpu_a, b.lt.pairs[i].cpu_b);

	if (!plot_gnuplot_available(why, sizeof why) ||
	    plot_script_path("compare.gp", script, sizeof script, why) != 0) {
		draw = false;
		json_array_append_new(warnings, json_sprintf("no heatmap drawn: %s", why));
		fprintf(stderr, "cohmap %s: warning: no heatmap drawn: %s\n", q->cmd, why);
	}

	static const char *const pair_columns[] = { "kernel", "cpu_a", "cpu_b", "pair_class",
						    "statistic", "a_ns", "b_ns", "ratio_b_over_a",
						    "diff_b_minus_a_ns" };
	static const char *const class_columns[] = {
		"kernel", "pair_class", "statistic", "pairs", "a_min_ns", "a_median_ns", "a_max_ns",
		"b_min_ns", "b_median_ns", "b_max_ns", "ratio_of_medians_b_over_a"
	};
	snprintf(path, sizeof path, "%s/compare.csv", out);
	if (csv_writer_open(&pairs_csv, path, pair_columns, ARRAY_SIZE(pair_columns), false, err) != 0)
		goto fail;
	snprintf(path, sizeof path, "%s/compare-classes.csv", out);
	if (csv_writer_open(&classes_csv, path, class_columns, ARRAY_SIZE(class_columns), false, err) != 0)
		goto fail;

	size_t most = (size_t)a.lt.npairs + 1;
	scratch_a = malloc(most * sizeof *scratch_a);
	ratios = malloc(most * sizeof *ratios);
	if (scratch_a == NULL || ratios == NULL) {
		set_error(err, "out of memory");
		goto fail;
	}
	if (!q->quiet)
		printf("cohmap %s: B = %s against A = %s, results in %s\n\n"
		       "one-way latency [ns]: per pair the %s of its samples; per class the min / median / "
		       "max over pairs; B/A of the class medians\n"
		       "%-12s %-13s %5s %9s %9s %9s %9s %9s %9s %7s\n",
		       q->cmd, q->dir_b, q->dir_a, out, stat_name, "kernel", "class", "pairs", "A min",
		       "A median", "A max", "B min", "B median", "B max", "B/A");

	char headline[ERRLEN] = "";
	for (int k = 0; k < a.lt.nkernels; k++) {
		int kb = kernel_index(&b.lt, a.lt.kernels[k]);
		free(m.cpus);
		free(m.ratio);
		free(m.diff);
		m = (struct matrix){ .kernel = a.lt.kernels[k] };
		m.n = latency_table_cpus(&a.lt, k, &m.cpus);
		if (m.n < 0) {
			set_error(err, "out of memory");
			goto fail;
		}
		topology_sort(&a.t, m.cpus, m.n);
		m.ratio = malloc(((size_t)m.n * m.n + 1) * sizeof *m.ratio);
		m.diff = malloc(((size_t)m.n * m.n + 1) * sizeof *m.diff);
		if (m.ratio == NULL || m.diff == NULL) {
			set_error(err, "out of memory");
			goto fail;
		}
		json_array_append_new(kernels, json_string(m.kernel));
		long nratios = 0, missing = 0;
		long na_all = 0;
		double span_ratio = log(MIN_RATIO_SPAN), span_diff = 0;
		for (int y = 0; y < m.n; y++)
			for (int x = 0; x < m.n; x++) {
				double va = NAN, vb = NAN;
				m.ratio[y * m.n + x] = m.diff[y * m.n + x] = NAN;
				if (x == y)
					continue;
				const struct latency_pair *pa = latency_table_find(&a.lt, k, m.cpus[y], m.cpus[x]);
				const struct latency_pair *pb = latency_table_find(&b.lt, kb, m.cpus[y], m.cpus[x]);
				if (pa == NULL && pb == NULL)
					continue;
				va = pa ? pa->value : NAN;
				vb = pb ? pb->value : NAN;
				if (isfinite(va))
					scratch_a[na_all++] = va;
				double r = va > 0 && isfinite(vb) ? vb / va : NAN;
				double d = isfinite(va) && isfinite(vb) ? vb - va : NAN;
				m.ratio[y * m.n + x] = r;
				m.diff[y * m.n + x] = d;
				if (isfinite(r)) {
					ratios[nratios++] = r;
					span_ratio = fmax(span_ratio, fabs(log(r)));
					span_diff = fmax(span_diff, fabs(d));
				} else {
					missing++;
				}
				char ca[16], cb[16], sa[32], sb[32], sr[32], sd[32];
				snprintf(ca, sizeof ca, "%d", m.cpus[y]);
				snprintf(cb, sizeof cb, "%d", m.cpus[x]);
				snprintf(sa, sizeof sa, isfinite(va) ? "%.2f" : "NA", va);
				snprintf(sb, sizeof sb, isfinite(vb) ? "%.2f" : "NA", vb);
				snprintf(sr, sizeof sr, isfinite(r) ? "%.4f" : "NA", r);
				snprintf(sd, sizeof sd, isfinite(d) ? "%.2f" : "NA", d);
				const char *row[] = { m.kernel, ca, cb,
						      pair_class_name(topology_pair_class(&a.t, m.cpus[y], m.cpus[x])),
						      q->stat, sa, sb, sr, sd };
				if (csv_writer_row(&pairs_csv, row, err) != 0)
					goto fail;
			}
		span_diff = fmax(span_diff, MIN_DIFF_SPAN_OF_A * median_of(scratch_a, na_all));
		if (!(span_diff > 0))
			span_diff = 1;
		if (missing > 0)
			json_array_append_new(warnings, json_sprintf(
				"%s: %ld pair%s without a value in A or B (failed or missing): blank cells, NA in compare.csv",
				m.kernel, missing, missing == 1 ? "" : "s"));
		if (k == 0 && nratios > 0) {
			double lo = INFINITY, hi = -INFINITY;
			for (long i = 0; i < nratios; i++) {
				lo = fmin(lo, ratios[i]);
				hi = fmax(hi, ratios[i]);
			}
			snprintf(headline, sizeof headline,
				 "%s: B/A of the %s one-way latency is %.2f (median over %ld pairs), from %.2f to %.2f",
				 m.kernel, stat_name, median_of(ratios, nratios), nratios, lo, hi);
		}

		for (int c = 0; c < PAIR_CLASS_COUNT; c++) {
			double a_lo, a_mid, a_hi, b_lo, b_mid, b_hi;
			int n_a = latency_table_class(&a.lt, k, c, &a_lo, &a_mid, &a_hi);
			int n_b = latency_table_class(&b.lt, kb, c, &b_lo, &b_mid, &b_hi);
			if (n_a == 0 && n_b == 0)
				continue;
			double ratio = b_mid / a_mid;
			char cells[8][32], pairs[16];
			double v[] = { a_lo, a_mid, a_hi, b_lo, b_mid, b_hi, ratio };
			for (int i = 0; i < 7; i++)
				snprintf(cells[i], sizeof cells[i], isfinite(v[i]) ? (i == 6 ? "%.4f" : "%.2f") : "NA",
					 v[i]);
			snprintf(pairs, sizeof pairs, "%d", n_a > n_b ? n_a : n_b);
			const char *row[] = { m.kernel, pair_class_name(c), q->stat, pairs, cells[0], cells[1],
					      cells[2], cells[3], cells[4], cells[5], cells[6] };
			if (csv_writer_row(&classes_csv, row, err) != 0)
				goto fail;
			if (!q->quiet) {
				printf("%-12s %-13s %5s", m.kernel, pair_class_name(c), pairs);
				for (int i = 0; i < 6; i++)
					print_number(v[i]);
				if (isfinite(ratio))
					printf(" %7.2f\n", ratio);
				else
					printf(" %7s\n", "NA");
			}
		}

		static const struct { const char *suffix, *what; bool ratio; } kinds[] = {
			{ "ratio", "B / A", true }, { "diff", "B - A [ns]", false },
		};
		for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
			char stem[PATH_MAX], dat[PATH_MAX + 8], vars[PATH_MAX + 8], png[PATH_MAX + 8], name[128];
			snprintf(name, sizeof name, "compare-%s-%s", m.kernel, kinds[i].suffix);
			snprintf(stem, sizeof stem, "%s/%s", out, name);
			snprintf(dat, sizeof dat, "%s.dat", stem);
			snprintf(vars, sizeof vars, "%s.gpvars", stem);
			snprintf(png, sizeof png, "%s.png", stem);
			if (write_dat(&m, kinds[i].ratio ? m.ratio : m.diff, kinds[i].what, dat, err) != 0 ||
			    write_vars(&a.t, &m, kinds[i].ratio, kinds[i].ratio ? span_ratio : span_diff,
				       stat_name, vars, err) != 0)
				goto fail;
			if (!draw)
				continue;
			const char *mode[] = { kinds[i].ratio ? "mode='ratio'" : "mode='diff'", NULL };
			if (plot_render(script, dat, vars, mode, png, err) != 0) {
				json_array_append_new(warnings, json_string(err));
				fprintf(stderr, "cohmap %s: warning: %s\n", q->cmd, err);
				draw = false;
				continue;
			}
			json_array_append_new(plots, json_sprintf("%s.png", name));
		}
	}
	if (csv_writer_close(&pairs_csv, err) != 0 || csv_writer_close(&classes_csv, err) != 0)
		goto fail;

	if (a.meta && b.meta) {
		const char *cpu_a = json_string_value(json_object_get(json_object_get(a.meta, "machine"), "cpu_model"));
		const char *cpu_b = json_string_value(json_object_get(json_object_get(b.meta, "machine"), "cpu_model"));
		if (cpu_a && cpu_b && strcmp(cpu_a, cpu_b) != 0)
			json_array_append_new(warnings, json_sprintf(
				"the runs are from different CPU models (A: %s; B: %s): pair classes and axes follow A's topology",
				cpu_a, cpu_b));
	}
	char created[32];
	time_t now = time(NULL);
	struct tm utc;
	gmtime_r(&now, &utc);
	strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &utc);
	doc = json_pack("{s:{s:s, s:s}, s:s, s:s, s:s, s:o, s:o, s:O, s:[s, s], s:O, s:s, s:O}",
			"tool", "name", "cohmap", "version", COHMAP_VERSION, "created_utc", created,
			"statistic", q->stat, "column", column, "a", side_description(&a), "b",
			side_description(&b), "kernels", kernels, "csv", "compare.csv",
			"compare-classes.csv", "plots", plots, "headline", headline, "warnings", warnings);
	snprintf(path, sizeof path, "%s/compare.json", out);
	if (doc == NULL) {
		set_error(err, "cannot describe the comparison in compare.json");
		goto fail;
	}
	if (json_save_atomic(path, doc, err) != 0 || compare_report_write(out, doc, err) != 0)
		goto fail;
	rc = draw ? EXIT_DONE : EXIT_PARTIAL;
	if (!q->quiet) {
		size_t i;
		json_t *p;
		printf("\n%s\n", headline);
		json_array_foreach(plots, i, p)
			printf("%s %s/%s\n", i == 0 ? "heatmaps:" : "         ", out, json_string_value(p));
		printf("report: %s/index.html\n", out);
	}
	goto out;
fail:
	fprintf(stderr, "cohmap %s: %s\n", q->cmd, err);
	rc = EXIT_RUNTIME;
out:
	if (pairs_csv.fd >= 0)
		csv_writer_close(&pairs_csv, err);
	if (classes_csv.fd >= 0)
		csv_writer_close(&classes_csv, err);
	if (rc == EXIT_USAGE && dir_made)
		rmdir(out);
	free(scratch_a);
	free(ratios);
	free(m.cpus);
	free(m.ratio);
	free(m.diff);
	json_decref(doc);
	json_decref(plots);
	json_decref(warnings);
	json_decref(kernels);
	side_free(&a);
	side_free(&b);
	return rc;
}
