/* `cohmap fleet report DIR`: the merged numbers (cli/fleet_merge.c) written
 * as fleet.csv and fleet.jsonl, one distribution plot per experiment
 * (cli/fleet.gp), `cohmap compare` of the most deviant node against its
 * group's median node (cli/compare.c), and index.html tying them together
 * with a link to every node's own report. */
#include "cli/fleet.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/common.h"
#include "base/stats.h"
#include "cli/compare.h"
#include "cli/html.h"
#include "harness/results.h"
#include "plots/plot.h"

/* A plot shows at most this many measure x class categories (those with
 * an outlier first); fleet.csv has them all. */
enum { PLOT_CATEGORIES_MAX = 24 };

static const char *node_of(const struct fleet *f, const struct fleet_value *v)
{
	return f->nodes[v->node].name;
}

static bool is_outlier(const struct fleet_merge *m, const struct fleet_value *v)
{
	return !isnan(v->z) && fabs(v->z) > m->threshold;
}

static int write_csv(const struct fleet *f, const struct fleet_merge *m, char *err)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	snprintf(path, sizeof path, "%s/fleet.csv", f->dir);
	FILE *out = plot_file_begin(path, tmp, sizeof tmp, err);
	if (out == NULL)
		return -1;
	fputs("node,directory,group,experiment,measure,pair_class,statistic,value,unit,rows,robust_z,"
	      "outlier\n", out);
	for (int i = 0; i < m->nvalues; i++) {
		const struct fleet_value *v = &m->values[i];
		fprintf(out, "%s,%s,%d,%s,%s,%s,%s,%.6g,%s,%d,", node_of(f, v), f->nodes[v->node].base,
			v->group + 1, v->experiment, v->measure, v->pair_class, v->statistic, v->value,
			v->unit, v->rows);
		if (isnan(v->z))
			fputs("NA,NA\n", out);
		else
			fprintf(out, "%.3f,%s\n", v->z, is_outlier(m, v) ? "yes" : "no");
	}
	return plot_file_finish(out, tmp, path, err);
}

static int write_jsonl(const struct fleet *f, const struct fleet_merge *m, char *err)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	snprintf(path, sizeof path, "%s/fleet.jsonl", f->dir);
	FILE *out = plot_file_begin(path, tmp, sizeof tmp, err);
	if (out == NULL)
		return -1;
	for (int i = 0; i < f->n; i++) {
		const struct fleet_node *n = &f->nodes[i];
		json_t *line = json_pack("{s:s, s:s, s:s}", "node", n->name, "directory", n->base,
					 "state", fleet_state_name(n->state));
		if (n->why[0])
			json_object_set_new(line, "why", json_string(n->why));
		if (m->node_group[i] >= 0) {
			json_object_set_new(line, "group", json_integer(m->node_group[i] + 1));
			json_object_set_new(line, "fingerprint", fleet_fingerprint(n->meta));
			json_t *headlines = json_object(), *numbers = json_object();
			const char *name;
			json_t *e;
			json_object_foreach(json_object_get(n->meta, "experiments"), name, e)
				if (json_is_string(json_object_get(e, "headline")))
					json_object_set(headlines, name, json_object_get(e, "headline"));
			for (int k = 0; k < m->nvalues; k++) {
				const struct fleet_value *v = &m->values[k];
				char key[256];
				if (v->node != i || strcmp(v->statistic, "median") != 0)
					continue;
				snprintf(key, sizeof key, "%s/%s/%s [%s]", v->experiment, v->measure,
					 v->pair_class, v->unit);
				json_object_set_new(numbers, key, json_real(v->value));
			}
			json_object_set_new(line, "headlines", headlines);
			json_object_set_new(line, "key_numbers", numbers);
		}
		char *text = line ? json_dumps(line, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		if (text)
			fprintf(out, "%s\n", text);
		free(text);
		json_decref(line);
	}
	return plot_file_finish(out, tmp, path, err);
}

/* ---- plots ---- */

struct category {
	const char *experiment;
	char measure[160], pair_class[32];
	const char *unit;
	int outliers;
};

static int category_of(struct category *c, int nc, const struct fleet_value *v)
{
	for (int i = 0; i < nc; i++)
		if (strcmp(c[i].experiment, v->experiment) == 0 && strcmp(c[i].measure, v->measure) == 0 &&
		    strcmp(c[i].pair_class, v->pair_class) == 0)
			return i;
	return -1;
}

static int by_outliers(const void *a, const void *b)
{
	const struct category *x = a, *y = b;
	return (y->outliers > 0) - (x->outliers > 0);
}

/* fleet-<experiment>.png: per measure and class, every node's median as a
 * point (red past the threshold) over a box of the nodes' spread. Returns
 * 1 when drawn, 0 when there is nothing to draw, -1 with err. */
static int plot_experiment(const struct fleet *f, const struct fleet_merge *m, const char *exp,
			   int *shown, int *total, char *err)
{
	struct category *c = calloc((size_t)m->nvalues + 1, sizeof *c);
	int nc = 0, rc = 0;
	double lo = INFINITY, hi = -INFINITY;
	if (c == NULL) {
		set_error(err, "out of memory");
		return -1;
	}
	for (int i = 0; i < m->nvalues; i++) {
		const struct fleet_value *v = &m->values[i];
		if (strcmp(v->experiment, exp) != 0 || strcmp(v->statistic, "median") != 0)
			continue;
		int k = category_of(c, nc, v);
		if (k < 0) {
			k = nc++;
			c[k] = (struct category){ .experiment = v->experiment, .unit = v->unit };
			snprintf(c[k].measure, sizeof c[k].measure, "%s", v->measure);
			snprintf(c[k].pair_class, sizeof c[k].pair_class, "%s", v->pair_class);
		}
		c[k].outliers += is_outlier(m, v);
		lo = fmin(lo, v->value);
		hi = fmax(hi, v->value);
	}
	*total = nc;
	if (nc == 0) {
		free(c);
		return 0;
	}
	/* stable: categories keep the order of fleet.csv within each half */
	for (int i = 1; i < nc; i++)
		for (int j = i; j > 0 && by_outliers(&c[j - 1], &c[j]) > 0; j--) {
			struct category t = c[j];
			c[j] = c[j - 1];
			c[j - 1] = t;
		}
	*shown = nc < PLOT_CATEGORIES_MAX ? nc : PLOT_CATEGORIES_MAX;

	char dat[PATH_MAX], vars[PATH_MAX], png[PATH_MAX], tmp[PATH_MAX], script[PATH_MAX];
	snprintf(dat, sizeof dat, "%s/fleet-%s.dat", f->dir, exp);
	snprintf(vars, sizeof vars, "%s/fleet-%s.gpvars", f->dir, exp);
	snprintf(png, sizeof png, "%s/fleet-%s.png", f->dir, exp);
	FILE *out = plot_file_begin(dat, tmp, sizeof tmp, err);
	if (out == NULL) {
		free(c);
		return -1;
	}
	fputs("# cohmap fleet report: category (1..), x with jitter, value, outlier (0/1), node\n", out);
	for (int i = 0; i < m->nvalues; i++) {
		const struct fleet_value *v = &m->values[i];
		if (strcmp(v->experiment, exp) != 0 || strcmp(v->statistic, "median") != 0)
			continue;
		int k = category_of(c, *shown, v);
		if (k < 0)
			continue;
		/* spread the nodes sideways so equal values stay visible */
		double jitter = ((v->node % 9) - 4) * 0.05;
		fprintf(out, "%d %.3f %.6g %d \"%s\"\n", k + 1, k + 1 + jitter, v->value,
			is_outlier(m, v), node_of(f, v));
	}
	/* index 1: per category the nodes' quartiles and extremes, for the
	 * boxes (computed here: gnuplot's own boxplot style crashed on a
	 * category whose nodes all agree) */
	fputs("\n\n# category q1 min max q3 median\n", out);
	double *x = malloc(((size_t)m->nvalues + 1) * sizeof *x);
	for (int k = 0; x && k < *shown; k++) {
		int n = 0;
		for (int i = 0; i < m->nvalues; i++) {
			const struct fleet_value *v = &m->values[i];
			if (strcmp(v->experiment, exp) == 0 && strcmp(v->statistic, "median") == 0 &&
			    category_of(c, *shown, v) == k)
				x[n++] = v->value;
		}
		if (n == 0)
			continue;
		struct summary sm;
		summarize(x, n, &sm);
		fprintf(out, "%d %.6g %.6g %.6g %.6g %.6g\n", k + 1, quantile_sorted(x, n, 0.25), x[0],
			x[n - 1], quantile_sorted(x, n, 0.75), sm.median);
	}
	free(x);
	if (plot_file_finish(out, tmp, dat, err) != 0) {
		free(c);
		return -1;
	}
	out = plot_file_begin(vars, tmp, sizeof tmp, err);
	if (out == NULL) {
		free(c);
		return -1;
	}
	fprintf(out, "# written by cohmap fleet report for cli/fleet.gp\nncategories = %d\n"
		     "logscale = %d\n", *shown, lo > 0);
	/* The range is set here: nodes that all agree (a falseshare slowdown of
	 * 0.96 on every node) would leave gnuplot an empty range to complain about. */
	if (lo > 0)
		fprintf(out, "set yrange [%.6g:%.6g]\n", lo / 1.25, hi * 1.25);
	else {
		double pad = hi > lo ? (hi - lo) * 0.1 : fabs(lo) * 0.1 + 1;
		fprintf(out, "set yrange [%.6g:%.6g]\n", lo - pad, hi + pad);
	}
	char title[256];
	snprintf(title, sizeof title, "%s across %d node(s): each node's median per measure and class",
		 exp, f->n);
	fputs("set title ", out);
	plot_put_string(out, title);
	fputs("\nset ylabel ", out);
	plot_put_string(out, c[0].unit);
	fputs("\nset xtics (", out);
	for (int k = 0; k < *shown; k++) {
		char label[200];
		snprintf(label, sizeof label, "%s | %s", c[k].measure, c[k].pair_class);
		fputs(k ? ", " : "", out);
		plot_put_string(out, label);
		fprintf(out, " %d", k + 1);
	}
	fputs(")\n", out);
	if (plot_file_finish(out, tmp, vars, err) != 0 ||
	    plot_script_path("fleet.gp", script, sizeof script, err) != 0 ||
	    plot_render(script, dat, vars, NULL, png, err) != 0)
		rc = -1;
	else
		rc = 1;
	free(c);
	return rc;
}

/* ---- compare ---- */

/* Removes an earlier `fleet report`'s comparison (a directory holding
 * compare.json), so a rewritten report compares anew. */
static void remove_comparison(const char *dir)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/compare.json", dir);
	if (access(path, F_OK) != 0)
		return;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

/* Every compare-* directory an earlier report left: the most deviant
 * node may have changed since. */
static void remove_old_comparisons(const char *fleet)
{
	char path[PATH_MAX];
	DIR *d = opendir(fleet);
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL)
		if (strncmp(e->d_name, "compare-", 8) == 0) {
			snprintf(path, sizeof path, "%s/%s", fleet, e->d_name);
			remove_comparison(path);
		}
	if (d)
		closedir(d);
}

/* ---- the page ---- */

static void node_link(FILE *h, const struct fleet_node *n)
{
	if (n->base[0] && html_file_exists(n->dir, "index.html")) {
		/* html_href encodes a '/': the directory, then the page in it */
		fputs("<a href=\"", h);
		html_href(h, n->base);
		fputs("/index.html\">", h);
		html_text(h, n->name);
		fputs("</a>", h);
	} else {
		html_text(h, n->name);
	}
}

static int write_page(const struct fleet *f, const struct fleet_merge *m, const char *comparison,
		      const char *comparison_note, char **plots, int nplots, char *err)
{
	struct html page;
	char path[PATH_MAX];
	if (html_begin(&page, "cohmap fleet report", err) != 0)
		return -1;
	FILE *h = page.f;
	int merged = 0;
	for (int i = 0; i < f->n; i++)
		merged += f->nodes[i].state == NODE_DONE;
	fputs("<h1>cohmap fleet report</h1>\n<p>", h);
	html_textf(h, "%s: %d node directories, %d merged, in %d group(s) by hardware fingerprint.",
		   f->dir, f->n, merged, m->ngroups);
	if (f->job_id[0])
		html_textf(h, " Slurm job %s.", f->job_id);
	fputs("</p>\n<p class=\"files\">Data: <a href=\"fleet.csv\">fleet.csv</a> (one row per node, "
	      "experiment, measure, pair class and statistic), <a href=\"fleet.jsonl\">fleet.jsonl</a> "
	      "(one line per node: fingerprint and key numbers).</p>\n", h);

	fputs("<section id=\"nodes\">\n<h2>Nodes</h2>\n<p class=\"how\">Each node's own report is "
	      "linked. Only <em>done</em> nodes are merged; a running, failed or incomplete node is "
	      "listed here and nowhere else.</p>\n<div class=\"scroll\"><table>\n<tr><th>node</th>"
	      "<th>state</th><th>group</th><th>directory</th><th>why</th></tr>\n", h);
	for (int i = 0; i < f->n; i++) {
		const struct fleet_node *n = &f->nodes[i];
		fputs("<tr><td>", h);
		node_link(h, n);
		fputs("</td><td>", h);
		html_text(h, fleet_state_name(n->state));
		fputs("</td><td class=\"n\">", h);
		if (m->node_group[i] >= 0)
			fprintf(h, "%d", m->node_group[i] + 1);
		fputs("</td><td><code>", h);
		html_text(h, n->base[0] ? n->base : "-");
		fputs("</code></td><td>", h);
		html_text(h, n->why);
		fputs("</td></tr>\n", h);
	}
	fputs("</table></div>\n</section>\n", h);

	fputs("<section id=\"groups\">\n<h2>Groups by hardware fingerprint</h2>\n<p class=\"how\">Nodes "
	      "are compared only with nodes of the same fingerprint: CPU model, microcode, CPUs, sockets, "
	      "cores, SMT, NUMA nodes, kernel, governor and hypervisor.</p>\n<div class=\"scroll\"><table>\n"
	      "<tr><th>group</th><th>nodes</th><th>median node</th><th>fingerprint</th></tr>\n", h);
	for (int g = 0; g < m->ngroups; g++) {
		fprintf(h, "<tr><td class=\"n\">%d</td><td class=\"n\">%d</td><td>", g + 1, m->groups[g].nodes);
		if (m->groups[g].median_node >= 0)
			node_link(h, &f->nodes[m->groups[g].median_node]);
		fputs("</td><td>", h);
		const char *key;
		json_t *v;
		bool first = true;
		json_object_foreach(m->groups[g].fingerprint, key, v) {
			char *text = json_is_string(v) ? NULL : json_dumps(v, JSON_ENCODE_ANY);
			html_textf(h, "%s%s: %s", first ? "" : "; ", key,
				   json_is_string(v) ? json_string_value(v) : text ? text : "?");
			free(text);
			first = false;
		}
		fputs("</td></tr>\n", h);
	}
	fputs("</table></div>\n</section>\n", h);

	fputs("<section id=\"outliers\">\n<h2>Outliers</h2>\n<p class=\"how\">", h);
	html_textf(h, "Per group, experiment, measure and pair class, each node's median is scored "
		      "against the group's nodes with a robust z-score: z = 0.6745 (x - median) / MAD, "
		      "MAD the median absolute deviation (the mean absolute deviation x 1.2533 when the "
		      "MAD is 0). A node is flagged when |z| > %.2f. Groups of fewer than 3 nodes are "
		      "not scored.", m->threshold);
	fputs("</p>\n", h);
	if (m->outliers == 0) {
		fputs("<p>No node is beyond the threshold.</p>\n", h);
	} else {
		fputs("<div class=\"scroll\"><table>\n<tr><th>node</th><th>group</th><th>experiment</th>"
		      "<th>measure</th><th>pair class</th><th>value</th><th>unit</th><th>robust z</th></tr>\n", h);
		for (int i = 0; i < m->nvalues; i++) {
			const struct fleet_value *v = &m->values[i];
			if (!is_outlier(m, v))
				continue;
			fputs("<tr><td>", h);
			node_link(h, &f->nodes[v->node]);
			fprintf(h, "</td><td class=\"n\">%d</td><td>", v->group + 1);
			html_text(h, v->experiment);
			fputs("</td><td>", h);
			html_text(h, v->measure);
			fputs("</td><td>", h);
			html_text(h, v->pair_class);
			fputs("</td>", h);
			html_number_cell(h, v->value, 2);
			fputs("<td>", h);
			html_text(h, v->unit);
			fputs("</td>", h);
			html_number_cell(h, v->z, 1);
			fputs("</tr>\n", h);
		}
		fputs("</table></div>\n", h);
	}
	fputs("<h3>The most deviant node against its group's median node</h3>\n<p>", h);
	if (comparison[0]) {
		fputs("<a href=\"", h);
		html_href(h, comparison);
		fputs("/index.html\">", h);
		html_text(h, comparison);
		fputs("</a>: ", h);
	}
	html_text(h, comparison_note);
	fputs("</p>\n</section>\n", h);

	fputs("<section id=\"distributions\">\n<h2>Distributions across nodes</h2>\n<p class=\"how\">One "
	      "picture per experiment: per measure and pair class, every merged node's median as a "
	      "point (red: beyond the threshold) over a box from the first to the third quartile of the "
	      "nodes, whiskers to the nodes' extremes, a line at their median. Categories with an outlier "
	      "come first.</p>\n", h);
	for (int i = 0; i < nplots; i++) {
		unsigned w = 0, ht = 0;
		fputs("<figure><img src=\"", h);
		html_href(h, plots[i]);
		fputs("\" alt=\"", h);
		html_text(h, plots[i]);
		if (html_png_size(f->dir, plots[i], &w, &ht))
			fprintf(h, "\" width=\"%u\" height=\"%u", w, ht);
		fputs("\"><figcaption>", h);
		html_text(h, plots[i]);
		fputs("</figcaption></figure>\n", h);
	}
	fputs("</section>\n", h);
	snprintf(path, sizeof path, "%s/index.html", f->dir);
	return html_save(&page, path, err);
}

int fleet_report(const char *cmd, const char *dir, double threshold, bool quiet)
{
	struct fleet f;
	struct fleet_merge m = { 0 };
	char err[ERRLEN], comparison[PATH_MAX] = "", note[1024] = "", why[256];
	char *plots[64];
	int nplots = 0;
	int rc = fleet_scan(cmd, dir, &f);
	if (rc == EXIT_DONE)
		rc = fleet_merge(cmd, &f, threshold, &m);
	if (rc != EXIT_DONE)
		goto out;
	if (write_csv(&f, &m, err) != 0 || write_jsonl(&f, &m, err) != 0) {
		fprintf(stderr, "cohmap %s: %s\n", cmd, err);
		rc = EXIT_RUNTIME;
		goto out;
	}

	/* One plot per experiment that has numbers. */
	bool can_plot = plot_gnuplot_available(why, sizeof why);
	if (!can_plot) {
		fprintf(stderr, "cohmap %s: warning: no distribution plots: %s\n", cmd, why);
		rc = EXIT_PARTIAL;
	}
	const char *tried[64];
	int ntried = 0;
	for (int i = 0; can_plot && i < m.nvalues && ntried < (int)ARRAY_SIZE(tried); i++) {
		const char *exp = m.values[i].experiment;
		char name[96];
		snprintf(name, sizeof name, "fleet-%s.png", exp);
		bool done = false;
		for (int k = 0; k < ntried && !done; k++)
			done = strcmp(tried[k], exp) == 0;
		if (done)
			continue;
		tried[ntried++] = exp;
		int shown = 0, total = 0;
		int drawn = plot_experiment(&f, &m, exp, &shown, &total, err);
		if (drawn < 0) {
			fprintf(stderr, "cohmap %s: warning: %s: %s\n", cmd, name, err);
			rc = EXIT_PARTIAL;
			continue;
		}
		if (drawn > 0 && (plots[nplots] = strdup(name)) != NULL)
			nplots++;
	}

	/* The most deviant node against the typical node of its group. */
	remove_old_comparisons(f.dir);
	if (m.deviant_node < 0) {
		snprintf(note, sizeof note, "no node is beyond |z| > %.2f, so there is nothing to compare.",
			 m.threshold);
	} else {
		int g = m.node_group[m.deviant_node], typical = m.groups[g].median_node;
		const struct fleet_node *a = &f.nodes[typical], *b = &f.nodes[m.deviant_node];
		snprintf(comparison, sizeof comparison, "compare-%s-vs-%s", a->name, b->name);
		char out[PATH_MAX];
		snprintf(out, sizeof out, "%s/%s", f.dir, comparison);
		struct compare_request q = { .cmd = cmd, .dir_a = a->dir, .dir_b = b->dir,
					     .output = out, .stat = "median", .quiet = true };
		snprintf(note, sizeof note, "node %s (largest |z|: %.1f) against %s, the median node of "
			 "group %d (cohmap compare %s %s).", b->name, m.deviant_z, a->name, g + 1,
			 a->base, b->base);
		int c = compare_runs(&q);
		if (c != EXIT_DONE && c != EXIT_PARTIAL) {
			comparison[0] = '\0';
			size_t used = strlen(note);
			snprintf(note + used, sizeof note - used, " cohmap compare could not compare them "
				 "(exit %d; its reason is on stderr): the two have no comparable latency "
				 "matrices.", c);
		}
	}
	if (write_page(&f, &m, comparison, note, plots, nplots, err) != 0) {
		fprintf(stderr, "cohmap %s: %s\n", cmd, err);
		rc = EXIT_RUNTIME;
		goto out;
	}
	if (!quiet) {
		int merged = 0, listed = 0;
		for (int i = 0; i < f.n; i++) {
			merged += f.nodes[i].state == NODE_DONE;
			listed += f.nodes[i].state != NODE_DONE;
		}
		printf("fleet: %d node(s) merged, %d listed but not merged, %d group(s), %d outlier "
		       "value(s) beyond |z| > %.2f\n", merged, listed, m.ngroups, m.outliers, m.threshold);
		if (m.deviant_node >= 0)
			printf("most deviant: %s (z = %.1f)%s%s\n", f.nodes[m.deviant_node].name, m.deviant_z,
			       comparison[0] ? "; compared in " : "", comparison);
		printf("report: %s/index.html\n", f.dir);
	}
out:
	for (int i = 0; i < nplots; i++)
		free(plots[i]);
	fleet_merge_free(&m);
	fleet_free(&f);
	return rc;
}
