/* index.html of a results directory: the machine, the warnings, then one
 * section per experiment with its plots, what they show and how to read
 * them, and its key numbers. Everything comes from meta.json and the files
 * it names; an experiment this file has never heard of still gets a section
 * (its summary from the registry, its headline, plots and CSV files).
 *
 * One file: the page is one HTML document written top to bottom; its
 * sections share the escaping and the figure markup of cli/html.c. */
#include "cli/report.h"

#include <unistd.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "cli/compare.h"
#include "base/csv.h"
#include "cli/commands.h"
#include "cli/html.h"
#include "experiments/latency/latency_table.h"
#include "harness/meta_check.h"
#include "harness/results.h"
#include "plots/plot.h"

/* The experiment of that name in the registry: its title, what it shows and
 * how to read it. NULL for one this version does not know (a results
 * directory from another version still gets a section). */
static const struct experiment *experiment_of(const char *name)
{
	for (int i = 0; i < experiment_count; i++)
		if (strcmp(experiment_registry[i]->name, name) == 0)
			return experiment_registry[i];
	return NULL;
}

static const char *str(const json_t *object, const char *key)
{
	const char *s = json_string_value(json_object_get(object, key));
	return s ? s : "";
}

/* A file name that a page may link to: one name inside the directory. */
static bool plain_file_name(const char *s)
{
	return s && *s && *s != '.' && strchr(s, '/') == NULL;
}

static void badge(FILE *f, const char *status)
{
	static const char *const known[] = { "complete", "skipped", "interrupted", "running",
					     "partial", "failed" };
	const char *cls = "running";
	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		if (strcmp(status, known[i]) == 0)
			cls = known[i];
	fprintf(f, "<span class=\"badge %s\">", cls);
	html_text(f, status[0] ? status : "unknown");
	fputs("</span>", f);
}

static void human_bytes(char *buf, size_t size, double bytes)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;
	while (bytes >= 1024 && u < 4) {
		bytes /= 1024;
		u++;
	}
	snprintf(buf, size, bytes == floor(bytes) ? "%.0f %s" : "%.1f %s", bytes, unit[u]);
}

/* ---- warnings ---- */

static void warning_item(FILE *f, const char *tag, const char *text)
{
	fputs("<li><span class=\"tag\">", f);
	html_text(f, tag);
	fputs("</span> ", f);
	html_text(f, text);
	fputs("</li>\n", f);
}

/* Warnings printed during the run that the page lists before folding the rest. */
enum { WARNINGS_SHOWN = 8 };

/* Everything a reader must know before trusting a number: where the run
 * was, what it said while running, what it could not do. */
static void warnings(FILE *f, const json_t *meta)
{
	const json_t *machine = json_object_get(meta, "machine");
	const json_t *experiments = json_object_get(meta, "experiments");
	const char *status = str(meta, "status");
	const char *hv = str(machine, "hypervisor");
	const char *governor = str(machine, "governor");
	char *text = NULL;
	size_t len = 0;
	FILE *items = open_memstream(&text, &len);
	if (items == NULL)
		return;

	if (strcmp(status, "complete") != 0)
		warning_item(items, "run",
			     strcmp(status, "interrupted") == 0
				     ? "The run was interrupted: the results below are what finished before it stopped."
			     : strcmp(status, "running") == 0
				     ? "The run has not finished (or died without saying so): the results are partial."
				     : "The run failed: some results below may be missing.");
	if (hv[0] && strcmp(hv, "none") != 0) {
		char line[512];
		snprintf(line, sizeof line,
			 "This is a virtual machine (hypervisor: %s). The host may move the vCPUs between "
			 "physical cores while the run goes on, so the same pair can measure very "
			 "different latencies at different moments; compare only numbers of one run, and "
			 "treat the topology as what the guest was told, not what the silicon is.", hv);
		warning_item(items, "virtual machine", line);
	}
	if (governor[0] && strcmp(governor, "performance") != 0 && strncmp(governor, "unknown", 7) != 0) {
		char line[256];
		snprintf(line, sizeof line,
			 "The CPU frequency governor is '%s': clocks may change during the run. For "
			 "steady numbers use the performance governor.", governor);
		warning_item(items, "frequency", line);
	}
	const char *name;
	const json_t *e;
	json_object_foreach((json_t *)experiments, name, e) {
		const json_t *unavailable = json_object_get(json_object_get(e, "counters"), "unavailable");
		const char *event;
		const json_t *why;
		json_object_foreach((json_t *)unavailable, event, why) {
			char line[512];
			snprintf(line, sizeof line, "%s: %s is not counted (NA): %s", name, event,
				 json_is_string(why) ? json_string_value(why) : "no reason given");
			warning_item(items, "counters", line);
		}
		const char *st = str(e, "status");
		if (strcmp(st, "skipped") == 0) {
			char line[512];
			snprintf(line, sizeof line, "%s was skipped: %s", name, str(e, "reason"));
			warning_item(items, "skipped", line);
		} else if (strcmp(st, "failed") == 0 || strcmp(st, "interrupted") == 0) {
			char line[256];
			snprintf(line, sizeof line, "%s %s: its results are incomplete.", name, st);
			warning_item(items, st, line);
		}
	}
	/* What the run said while it ran, in its order. A run that failed many
	 * points says so many times: past the first few, the list folds away, so
	 * the page still starts with what matters. */
	char *more_text = NULL;
	size_t more_len = 0, i, shown = 0;
	FILE *more = open_memstream(&more_text, &more_len);
	const json_t *w;
	json_array_foreach(json_object_get(meta, "warnings"), i, w) {
		const char *s = json_string_value(w);
		if (s == NULL)
			continue;
		const char *tag = strncmp(s, "drift", 5) == 0 ? "drift"
				  : strstr(s, "counter") ? "counters"
				  : "warning";
		/* The tag says it already: "drift: reference pair ..." reads
		 * "drift | reference pair ...". */
		if (strncmp(s, "drift: ", 7) == 0)
			s += 7;
		warning_item(shown < WARNINGS_SHOWN || more == NULL ? items : more, tag, s);
		shown++;
	}
	fclose(items);
	if (more)
		fclose(more);
	if (len > 0 || more_len > 0) {
		fprintf(f, "<section class=\"warnings\" id=\"warnings\">\n<h2>Warnings</h2>\n<ul>\n%s</ul>\n",
			text ? text : "");
		if (more_len > 0)
			fprintf(f, "<details><summary>%zu more warnings (all of them are in meta.json)</summary>\n"
				   "<ul>\n%s</ul>\n</details>\n", shown - WARNINGS_SHOWN, more_text);
		fputs("</section>\n", f);
	}
	free(text);
	free(more_text);
}

/* ---- machine and topology ---- */

static void kv_row(FILE *f, const char *key, const char *value)
{
	fputs("<tr><th>", f);
	html_text(f, key);
	fputs("</th><td>", f);
	html_text(f, value && value[0] ? value : "unknown");
	fputs("</td></tr>\n", f);
}

/* How many different values key takes over the CPUs (counting stops at a
 * few thousand, far beyond any machine's sockets or L3 groups). */
static int distinct(const json_t *cpus, const char *key)
{
	int seen[4096], n = 0;
	size_t i;
	const json_t *c;
	json_array_foreach(cpus, i, c) {
		int v = (int)json_integer_value(json_object_get(c, key));
		int j = 0;
		while (j < n && seen[j] != v)
			j++;
		if (j == n && n < (int)ARRAY_SIZE(seen))
			seen[n++] = v;
	}
	return n;
}

static void machine(FILE *f, const char *dir, const json_t *meta)
{
	const json_t *m = json_object_get(meta, "machine");
	const json_t *topo = json_object_get(meta, "topology");
	const json_t *cpus = json_object_get(topo, "cpus");
	const json_t *clock = json_object_get(meta, "clock");
	char line[512], a[32], b[32], c[32];

	fputs("<section id=\"machine\">\n<h2>Machine and topology</h2>\n"
	      "<p class=\"how\">Every number in this report belongs to this machine. The topology comes "
	      "from likwid (or a topology file); it decides the order of the CPUs on every axis and "
	      "the class of every pair.</p>\n<div class=\"scroll\"><table class=\"kv\">\n", f);
	kv_row(f, "CPU", str(m, "cpu_model"));
	snprintf(line, sizeof line, "%s, family %lld, model %lld, stepping %lld", str(m, "vendor"),
		 json_integer_value(json_object_get(m, "family")),
		 json_integer_value(json_object_get(m, "model")),
		 json_integer_value(json_object_get(m, "stepping")));
	kv_row(f, "vendor", line);
	snprintf(line, sizeof line, "%s (%s)", str(m, "kernel"), str(m, "architecture"));
	kv_row(f, "Linux kernel", line);
	kv_row(f, "frequency governor", str(m, "governor"));
	kv_row(f, "SMT (hyper-threading)", str(m, "smt"));
	kv_row(f, "hypervisor", str(m, "hypervisor"));
	kv_row(f, "host", str(m, "host"));
	snprintf(line, sizeof line, "%zu CPUs: %d socket(s), %d NUMA node(s), %d L3 group(s), %d core(s)",
		 json_array_size(cpus), distinct(cpus, "socket"), distinct(cpus, "numa_node"),
		 distinct(cpus, "l3_group"), distinct(cpus, "core"));
	kv_row(f, "topology", line);
	human_bytes(a, sizeof a, (double)json_integer_value(json_object_get(topo, "l1d_bytes")));
	human_bytes(b, sizeof b, (double)json_integer_value(json_object_get(topo, "l2_bytes")));
	human_bytes(c, sizeof c, (double)json_integer_value(json_object_get(topo, "l3_bytes")));
	snprintf(line, sizeof line, "L1d %s, L2 %s, L3 %s (one instance each); line %lld bytes", a, b, c,
		 json_integer_value(json_object_get(m, "line_size")));
	kv_row(f, "caches", line);
	snprintf(line, sizeof line, "%s, %.3f ns per tick, reading it costs %.1f ns (median)",
		 str(clock, "source"), json_real_value(json_object_get(clock, "ns_per_tick")),
		 json_real_value(json_object_get(clock, "read_overhead_median_ns")));
	kv_row(f, "clock", line);
	kv_row(f, "topology source", str(topo, "source"));
	fputs("</table></div>\n", f);

	/* Pairs per class: what the heatmaps' blocks are made of. */
	struct topology t = { 0 };
	char path[PATH_MAX], err[ERRLEN];
	snprintf(path, sizeof path, "%s/topology.txt", dir);
	if (topology_load(&t, path, err) == 0) {
		int *all = malloc(((size_t)t.ncpus + 1) * sizeof *all);
		long counts[PAIR_CLASS_COUNT] = { 0 };
		int n = all ? topology_usable(&t, all, t.ncpus) : 0;
		topology_count_pairs(&t, all, n, counts);
		fputs("<h3>Pairs of CPUs by class</h3>\n<div class=\"scroll\"><table>\n"
		      "<tr><th>class</th><th>ordered pairs</th><th>meaning</th></tr>\n", f);
		for (int k = 0; k < PAIR_CLASS_COUNT; k++) {
			if (counts[k] == 0)
				continue;
			fputs("<tr><td><code>", f);
			html_text(f, pair_class_name(k));
			fprintf(f, "</code></td><td class=\"n\">%ld</td><td>", counts[k]);
			html_text(f, pair_class_description(k));
			fputs("</td></tr>\n", f);
		}
		fputs("</table></div>\n", f);
		free(all);
		topology_free(&t);
	}

	fputs("<details><summary>Where each CPU sits</summary>\n<div class=\"scroll\"><table>\n"
	      "<tr><th>CPU</th><th>socket</th><th>die</th><th>NUMA node</th><th>L3 group</th>"
	      "<th>L2 group</th><th>core</th><th>SMT thread</th><th>usable</th></tr>\n", f);
	size_t i;
	const json_t *cpu;
	static const char *const keys[] = { "cpu", "socket", "die", "numa_node", "l3_group",
					    "l2_group", "core", "smt" };
	json_array_foreach(cpus, i, cpu) {
		fputs("<tr>", f);
		for (size_t k = 0; k < ARRAY_SIZE(keys); k++)
			fprintf(f, "<td class=\"n\">%lld</td>", json_integer_value(json_object_get(cpu, keys[k])));
		bool usable = json_is_true(json_object_get(cpu, "online")) &&
			      json_is_true(json_object_get(cpu, "allowed"));
		fprintf(f, "<td>%s</td></tr>\n", usable ? "yes" : "no");
	}
	fputs("</table></div>\n</details>\n</section>\n", f);
}

/* ---- experiments ---- */

/* --lines: how much the line's address moves each class, and the pairs it
 * moves by more than the CI. */
static void latency_lines(FILE *f, const struct latency_table *lt, const int *order)
{
	fprintf(f, "<h3>Where the line lives: spread by address [ns]</h3>\n<p class=\"files\">Each "
		   "pair was measured on up to %d cache lines, each in its own page, homed on the NUMA "
		   "nodes in turn and at a different address class (its position in the page). Per "
		   "class: for each line the median over the pairs, then the min / median / max of "
		   "these across the lines; the widest spread of one pair (its dearest line minus its "
		   "cheapest); and the pairs whose cost depends on the address by more than the CI "
		   "(the 95%% CIs of two of its lines do not overlap).</p>\n<div class=\"scroll\">"
		   "<table>\n<tr><th>kernel</th><th>pair class</th><th>pairs</th><th>lines</th>"
		   "<th>min</th><th>median</th><th>max</th><th>widest pair</th><th>depends on address"
		   "</th></tr>\n", lt->max_lines);
	for (int n = 0; n < lt->nkernels; n++)
		for (int c = 0, k = order[n]; c < PAIR_CLASS_COUNT; c++) {
			struct line_spread sp;
			if (latency_line_spread(lt, k, c, &sp) <= 0)
				continue;
			fputs("<tr><td><code>", f);
			html_text(f, lt->kernels[k]);
			fputs("</code></td><td>", f);
			html_text(f, pair_class_name(c));
			fprintf(f, "</td><td class=\"n\">%d</td><td class=\"n\">%d</td>", sp.pairs, sp.lines);
			html_number_cell(f, sp.line_min, 1);
			html_number_cell(f, sp.line_median, 1);
			html_number_cell(f, sp.line_max, 1);
			html_number_cell(f, sp.widest, 1);
			fprintf(f, "<td class=\"n\">%d</td></tr>\n", sp.flagged);
		}
	fputs("</table></div>\n", f);
	int shown = 0, flagged = 0;
	for (int i = 0; i < lt->npairs; i++) {
		const struct latency_line *lo, *hi;
		if (!latency_pair_address_dependent(lt, i, &lo, &hi))
			continue;
		if (flagged++ == 0)
			fputs("<p class=\"files\">Pairs whose cost depends on the address (cheapest and "
			      "dearest line, median [95% CI], line index / address class / home node):</p>\n<ul>\n", f);
		if (shown >= 20)
			continue;
		shown++;
		const struct latency_pair *p = &lt->pairs[i];
		fputs("<li><code>", f);
		html_text(f, lt->kernels[p->kernel]);
		fprintf(f, "</code> %d&rarr;%d: %.1f [%.1f-%.1f] ns (line %d / class %d / node %d) against "
			   "%.1f [%.1f-%.1f] ns (line %d / class %d / node %d)</li>\n", p->cpu_a, p->cpu_b,
			lo->value, lo->ci95_low, lo->ci95_high, lo->line, lo->address_class, lo->home_node,
			hi->value, hi->ci95_low, hi->ci95_high, hi->line, hi->address_class, hi->home_node);
	}
	if (flagged > shown)
		fprintf(f, "<li>... and %d more (latency.csv has every line)</li>\n", flagged - shown);
	if (flagged)
		fputs("</ul>\n", f);
	else
		fputs("<p class=\"files\">No pair depends on the address by more than the CI.</p>\n", f);
}

/* The table a reader of the latency heatmaps wants next to them. */
static void latency_classes(FILE *f, const char *dir, const json_t *e)
{
	struct latency_table lt;
	char err[ERRLEN];
	const char *stat = str(e, "statistic_plotted");
	const char *column = strcmp(stat, "min") == 0 || strcmp(stat, "minimum") == 0 ? "min_ns"
											: "median_ns";
	if (latency_table_read(dir, column, NULL, &lt, err) != 0) {
		fputs("<p class=\"files\">No table by pair class: ", f);
		html_text(f, err);
		fputs("</p>\n", f);
		return;
	}
	int failed = 0, *cpus = NULL, ncpus = lt.nkernels ? latency_table_cpus(&lt, 0, &cpus) : 0;
	free(cpus);
	for (int i = 0; i < lt.npairs; i++)
		failed += !lt.pairs[i].ok;
	fprintf(f, "<h3>One-way latency by pair class [ns]</h3>\n<p class=\"files\">Per pair the %s "
		   "of its samples (<code>%s</code>); per class the min / median / max over its "
		   "pairs.", strcmp(column, "min_ns") == 0 ? "minimum" : "median", column);
	if (ncpus > PLOT_CPU_LABELS_MAX)
		fprintf(f, " The heatmaps above have %d CPUs: past %d their axes name sockets (or dies, "
			   "L3 groups) instead of CPUs, thick lines separate sockets and thin ones L3 "
			   "groups, and there are no values in the cells: the numbers are in this table.",
			ncpus, PLOT_CPU_LABELS_MAX);
	fputs("</p>\n<div class=\"scroll\"><table>\n<tr><th>kernel</th><th>pair class</th>"
	      "<th>what it is</th><th>pairs</th><th>min</th><th>median</th><th>max</th></tr>\n", f);
	/* Kernels in the order the run names them (meta.json), which is the
	 * order of the heatmaps above; latency.csv has them shuffled. */
	int *order = malloc(((size_t)lt.nkernels + 1) * sizeof *order), norder = 0;
	for (int k = 0; order && k < lt.nkernels; k++)
		order[k] = k;
	size_t i;
	const json_t *name;
	json_array_foreach(json_object_get(e, "kernels"), i, name) {
		for (int j = norder; order && j < lt.nkernels; j++)
			if (json_is_string(name) && strcmp(lt.kernels[order[j]], json_string_value(name)) == 0) {
				int t = order[norder];
				order[norder++] = order[j];
				order[j] = t;
				break;
			}
	}
	for (int n = 0; order && n < lt.nkernels; n++)
		for (int c = 0, k = order[n]; c < PAIR_CLASS_COUNT; c++) {
			double lo, mid, hi;
			int n = latency_table_class(&lt, k, c, &lo, &mid, &hi);
			if (n == 0)
				continue;
			fputs("<tr><td><code>", f);
			html_text(f, lt.kernels[k]);
			fputs("</code></td><td>", f);
			html_text(f, pair_class_name(c));
			fputs("</td><td>", f);
			html_text(f, pair_class_description(c));
			fprintf(f, "</td><td class=\"n\">%d</td>", n);
			html_number_cell(f, lo, 1);
			html_number_cell(f, mid, 1);
			html_number_cell(f, hi, 1);
			fputs("</tr>\n", f);
		}
	fputs("</table></div>\n", f);
	if (failed)
		fprintf(f, "<p class=\"files\">%d pair%s failed (status other than ok in latency.csv; "
			   "the reason column says why).</p>\n", failed, failed == 1 ? "" : "s");
	if (order && lt.max_lines > 1)
		latency_lines(f, &lt, order);
	free(order);
	latency_table_free(&lt);
}

/* A small CSV is shown whole; a large one by its shape. */
enum { SMALL_ROWS = 12, SMALL_COLUMNS = 14 };

static void csv_file(FILE *f, const char *dir, const char *name)
{
	struct csv c = { 0 };
	char path[PATH_MAX], err[ERRLEN];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	fputs("<p class=\"files\">Data: <a href=\"", f);
	html_href(f, name);
	fputs("\">", f);
	html_text(f, name);
	fputs("</a>", f);
	if (csv_read(path, &c, err) != 0) {
		fputs(" (cannot be read: ", f);
		html_text(f, err);
		fputs(")</p>\n", f);
		return;
	}
	fprintf(f, ", %d row%s; columns: ", c.nrows, c.nrows == 1 ? "" : "s");
	for (int i = 0; i < c.ncols; i++) {
		fputs(i ? ", <code>" : "<code>", f);
		html_text(f, c.header[i]);
		fputs("</code>", f);
	}
	fputs("</p>\n", f);
	if (c.nrows > 0 && c.nrows <= SMALL_ROWS && c.ncols <= SMALL_COLUMNS) {
		fputs("<div class=\"scroll\"><table>\n<tr>", f);
		for (int i = 0; i < c.ncols; i++) {
			fputs("<th>", f);
			html_text(f, c.header[i]);
			fputs("</th>", f);
		}
		fputs("</tr>\n", f);
		for (int r = 0; r < c.nrows; r++) {
			fputs("<tr>", f);
			for (int i = 0; i < c.ncols; i++) {
				double v;
				bool number = csv_number(&c, r, c.header[i], &v) && !isnan(v);
				fputs(number ? "<td class=\"n\">" : "<td>", f);
				html_text(f, c.cells[r][i]);
				fputs("</td>", f);
			}
			fputs("</tr>\n", f);
		}
		fputs("</table></div>\n", f);
	}
	csv_free(&c);
}

static void figure(FILE *f, const char *dir, const char *title, const char *png)
{
	char svg[PATH_MAX];
	size_t len = strlen(png);
	snprintf(svg, sizeof svg, "%.*s.svg", (int)(len > 4 ? len - 4 : len), png);
	unsigned width = 0, height = 0;
	bool sized = html_png_size(dir, png, &width, &height);
	fputs(sized && width > 3 * height / 2 ? "<figure class=\"wide\"><a href=\"" : "<figure><a href=\"", f);
	html_href(f, png);
	fputs("\"><img src=\"", f);
	html_href(f, png);
	fputs("\" alt=\"", f);
	html_textf(f, "%s: %s", title, png);
	fputs("\"", f);
	if (sized)
		fprintf(f, " width=\"%u\" height=\"%u\"", width, height);
	fputs(" loading=\"eager\"></a><figcaption>", f);
	html_text(f, png);
	if (len > 4 && strcmp(png + len - 4, ".png") == 0 && html_file_exists(dir, svg)) {
		fputs(" &middot; <a href=\"", f);
		html_href(f, svg);
		fputs("\">SVG</a>", f);
	}
	fputs("</figcaption></figure>\n", f);
}

static void experiment(FILE *f, const char *dir, const char *name, const json_t *e)
{
	const struct experiment *p = experiment_of(name);
	const char *summary = p ? p->summary : NULL;
	const char *status = str(e, "status");
	const char *headline = str(e, "headline");
	char title[160];
	snprintf(title, sizeof title, "%s", p && p->title ? p->title : name);

	fputs("<section id=\"exp-", f);
	html_text(f, name);
	fputs("\">\n<h2>", f);
	html_text(f, title);
	fputs(" ", f);
	badge(f, status);
	fputs("</h2>\n", f);
	if (strcmp(status, "skipped") == 0) {
		fputs("<p class=\"headline\">Skipped on this machine: ", f);
		html_text(f, str(e, "reason"));
		fputs("</p>\n", f);
	} else if (headline[0]) {
		fputs("<p class=\"headline\">", f);
		html_text(f, headline);
		fputs("</p>\n", f);
	}
	if (p && p->shows) {
		fputs("<p class=\"how\"><b>What it shows.</b> ", f);
		html_text(f, p->shows);
		fputs("</p>\n<p class=\"how\"><b>How to read it.</b> ", f);
		html_text(f, p->read);
		fputs("</p>\n", f);
	} else {
		fputs("<p class=\"how\">", f);
		html_text(f, summary ? summary : "An experiment this version of the report has no notes for; "
						 "its files are listed below.");
		fputs("</p>\n", f);
	}

	/* Only pictures that are there: a listed file that is missing is said
	 * in words, never drawn as a broken image. */
	const json_t *plots = json_object_get(e, "plots");
	size_t i;
	const json_t *plot;
	bool any = false;
	json_array_foreach(plots, i, plot) {
		const char *png = json_string_value(plot);
		if (!plain_file_name(png) || !html_file_exists(dir, png))
			continue;
		if (!any)
			fputs("<div class=\"figs\">\n", f);
		any = true;
		figure(f, dir, title, png);
	}
	if (any)
		fputs("</div>\n", f);
	json_array_foreach(plots, i, plot) {
		const char *png = json_string_value(plot);
		if (png && (!plain_file_name(png) || !html_file_exists(dir, png))) {
			fputs("<p class=\"files\">Plot listed but not found: ", f);
			html_text(f, png);
			fputs("</p>\n", f);
		}
	}
	if (strcmp(name, "latency") == 0 && html_file_exists(dir, "latency.csv"))
		latency_classes(f, dir, e);
	const json_t *csvs = json_object_get(e, "csv");
	const json_t *csv;
	json_array_foreach(csvs, i, csv) {
		const char *file = json_string_value(csv);
		if (plain_file_name(file) && html_file_exists(dir, file))
			csv_file(f, dir, file);
	}
	if (p) {
		fputs("<p class=\"files\">Notes with measured numbers: <code>docs/", f);
		html_text(f, name);
		fputs(".md</code>; lab exercises: <code>docs/guide.md</code> (in the cohmap sources).</p>\n", f);
	}
	fputs("</section>\n", f);
}

int report_write(const char *dir, const json_t *meta, char *err)
{
	struct html h;
	char path[PATH_MAX], title[256];
	const json_t *m = json_object_get(meta, "machine");
	const json_t *experiments = json_object_get(meta, "experiments");
	const char *model = str(m, "cpu_model");

	if (!json_is_object(experiments)) {
		set_error(err, "%s/meta.json: no experiments object (not a cohmap results directory)", dir);
		return -1;
	}
	if (snprintf(path, sizeof path, "%s/index.html", dir) >= (int)sizeof path) {
		set_error(err, "path too long: %s", dir);
		return -1;
	}
	snprintf(title, sizeof title, "cohmap: %s, %s", str(m, "host"), str(meta, "started_utc"));
	if (html_begin(&h, title, err) != 0)
		return -1;
	FILE *f = h.f;

	fputs("<h1>Cache coherence on ", f);
	html_text(f, model[0] ? model : "this machine");
	fputs("</h1>\n<p class=\"sub\">", f);
	html_textf(f, "host %s · started %s · finished %s · ", str(m, "host"),
		   str(meta, "started_utc"), json_is_string(json_object_get(meta, "finished_utc"))
						 ? str(meta, "finished_utc") : "not yet");
	badge(f, str(meta, "status"));
	fputs("<br>Command: <code>", f);
	size_t i;
	const json_t *arg;
	json_array_foreach(json_object_get(meta, "command"), i, arg) {
		if (i)
			fputc(' ', f);
		html_text(f, json_string_value(arg));
	}
	fputs("</code></p>\n", f);

	warnings(f, meta);

	fputs("<nav><b>Contents</b><ol>\n<li><a href=\"#machine\">Machine and topology</a></li>\n", f);
	const char *name;
	const json_t *e;
	json_object_foreach((json_t *)experiments, name, e) {
		const struct experiment *p = experiment_of(name);
		fputs("<li><a href=\"#exp-", f);
		html_text(f, name);
		fputs("\">", f);
		html_text(f, p && p->title ? p->title : name);
		fputs("</a> ", f);
		badge(f, str(e, "status"));
		fputs("</li>\n", f);
	}
	fputs("</ol></nav>\n", f);

	machine(f, dir, meta);
	json_object_foreach((json_t *)experiments, name, e)
		experiment(f, dir, name, e);

	fputs("<footer>", f);
	html_textf(f, "Written by %s %s from meta.json; rewrite it with: cohmap report %s. Every "
		      "number here is in the CSV files next to this page; meta.json holds the options, "
		      "the seed and all warnings.",
		   str(json_object_get(meta, "tool"), "name"),
		   str(json_object_get(meta, "tool"), "version"), dir);
	fputs("</footer>\n", f);
	return html_save(&h, path, err);
}

/* At the end of a run the page says in words what it could not read (the
 * run's files are what they are, and the page is their index). Asked for a
 * page later, a directory whose topology.txt or CSV files are broken is
 * refused instead, as `cohmap plot` and `compare` refuse it: it is not the
 * run it claims to be. Checked: what the page reads. */
static bool present(const char *dir, const char *file, char *path)
{
	snprintf(path, PATH_MAX, "%s/%s", dir, file);
	return access(path, F_OK) == 0;
}

static int check_inputs(const char *dir, const json_t *meta, char *err)
{
	struct topology t = { 0 };
	struct latency_table lt;
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/topology.txt", dir);
	if (topology_load(&t, path, err) != 0)
		return -1;
	int ret = 0;
	const json_t *experiments = json_object_get(meta, "experiments");
	if (present(dir, "latency.csv", path)) {
		const char *stat = str(json_object_get(experiments, "latency"), "statistic_plotted");
		const char *column = strcmp(stat, "min") == 0 || strcmp(stat, "minimum") == 0 ? "min_ns"
											: "median_ns";
		if ((ret = latency_table_read(dir, column, &t, &lt, err)) == 0)
			latency_table_free(&lt);
	}
	topology_free(&t);
	const char *name;
	const json_t *e, *csv;
	size_t i;
	json_object_foreach((json_t *)experiments, name, e) {
		json_array_foreach(json_object_get(e, "csv"), i, csv) {
			const char *file = json_string_value(csv);
			struct csv c = { 0 };
			if (ret != 0 || !plain_file_name(file) || !present(dir, file, path))
				continue;
			if ((ret = csv_read(path, &c, err)) == 0)
				csv_free(&c);
		}
	}
	return ret;
}

int report_rewrite(const char *dir, char *err)
{
	char path[PATH_MAX];
	json_t *meta = NULL;
	int ret = -1;

	if (snprintf(path, sizeof path, "%s/meta.json", dir) >= (int)sizeof path) {
		set_error(err, "path too long: %s", dir);
		return -1;
	}
	if (access(path, F_OK) != 0 && html_file_exists(dir, "compare.json"))
		return compare_report_rewrite(dir, err);
	if ((meta = meta_load_checked(path, err)) == NULL || check_inputs(dir, meta, err) != 0)
		goto out;
	ret = report_write(dir, meta, err);
out:
	json_decref(meta);
	return ret;
}
