/* What the fork experiment says when it is done: fork.csv and
 * pagetables.csv read back for the terminal's tables and the one-sentence
 * headline, the plots, and meta.json's description of the plan. */
#include "experiments/fork/fork_run.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "experiments/experiment.h"
#include "experiments/fork/fork_plot.h"
#include "plots/plot.h"

/* ---- reading the results back for the summary and the headline ---- */

static int find_row(const struct csv *t, const char *kind, uint64_t bytes, const char *measure)
{
	for (int i = 0; i < t->nrows; i++) {
		double b;
		if (strcmp(csv_cell(t, i, "kind"), kind) == 0 &&
		    strcmp(csv_cell(t, i, "measure"), measure) == 0 &&
		    strcmp(csv_cell(t, i, "status"), "ok") == 0 && csv_number(t, i, "bytes", &b) &&
		    (uint64_t)b == bytes)
			return i;
	}
	return -1;
}

static double value_at(const struct csv *t, const char *kind, uint64_t bytes, const char *measure,
		       const char *column)
{
	double v;
	int row = find_row(t, kind, bytes, measure);
	return row >= 0 && csv_number(t, row, column, &v) ? v : NAN;
}

/* "12.3" or "-" */
static void cell_text(char *buf, size_t size, double v, double scale)
{
	if (isnan(v))
		snprintf(buf, size, "-");
	else if (v * scale >= 100)
		snprintf(buf, size, "%.0f", v * scale);
	else
		snprintf(buf, size, "%.3g", v * scale);
}

static uint64_t largest_measured(const struct csv *t, const struct fork_plan *p)
{
	uint64_t largest = 0;
	for (int s = 0; s < p->nsizes; s++)
		for (int k = 0; k < p->nkinds; k++)
			if (find_row(t, p->kinds[k]->name, p->sizes[s], "fork_return") >= 0 &&
			    p->sizes[s] > largest)
				largest = p->sizes[s];
	return largest;
}

static void print_fork_summary(const struct csv *t, const struct fork_plan *p)
{
	char text[32];
	/* The minimum: fork() does fixed work for a mapping; slower samples are
	 * other processes taking the CPU. */
	printf("\nfork(): time until fork() returns in the parent [us], the fastest of %d forks, by "
	       "mapping size\n", p->repeat);
	printf("%-18s", "kind");
	int shown[FORK_MAX_SIZES], nshown = 0;
	for (int s = 0; s < p->nsizes; s++) {
		bool any = p->sizes[s] == 0 ? find_row(t, "none", 0, "fork_return") >= 0 : false;
		for (int k = 0; k < p->nkinds && !any; k++)
			any = find_row(t, p->kinds[k]->name, p->sizes[s], "fork_return") >= 0;
		if (!any)
			continue;
		shown[nshown++] = s;
		printf(" %9s", p->sizes[s] ? format_bytes(p->sizes[s], text, sizeof text) : "none");
	}
	printf("\n");
	for (int k = 0; k < p->nkinds; k++) {
		printf("%-18s", p->kinds[k]->name);
		for (int i = 0; i < nshown; i++) {
			uint64_t b = p->sizes[shown[i]];
			double v = value_at(t, b ? p->kinds[k]->name : "none", b, "fork_return", "min_ns");
			cell_text(text, sizeof text, v, 1e-3);
			printf(" %9s", text);
		}
		printf("\n");
	}
	/* A kind with no measured size says why once (hugetlb: how to reserve). */
	for (int k = 0; k < p->nkinds; k++) {
		const char *reason = NULL;
		bool measured = false;
		for (int i = 0; i < t->nrows; i++) {
			if (strcmp(csv_cell(t, i, "kind"), p->kinds[k]->name) != 0)
				continue;
			measured |= strcmp(csv_cell(t, i, "status"), "ok") == 0;
			if (reason == NULL && strcmp(csv_cell(t, i, "status"), "ok") != 0)
				reason = csv_cell(t, i, "reason");
		}
		if (!measured && reason)
			printf("%s: %s\n", p->kinds[k]->name, reason);
	}
	uint64_t largest = largest_measured(t, p);
	if (largest == 0)
		return;
	printf("\nat %s: the child's page tables and start (fastest), what it pays later per GiB "
	       "(median), spawning a program (fastest)\n",
	       format_bytes(largest, text, sizeof text));
	printf("%-18s %11s %11s %10s %10s %10s %10s %10s %10s\n", "kind", "child VmPTE", "child runs",
	       "read", "write", "par.write", "fork+exec", "vfork", "posix_sp.");
	printf("%-18s %11s %11s %10s %10s %10s %10s %10s %10s\n", "", "[KiB]", "[us]",
	       "[ms/GiB]", "[ms/GiB]", "[ms/GiB]", "[ms]", "[ms]", "[ms]");
	for (int k = 0; k < p->nkinds; k++) {
		const char *name = p->kinds[k]->name;
		char cols[8][32];
		cell_text(cols[0], 32, value_at(t, name, largest, "fork_return", "child_vmpte_bytes"), 1.0 / 1024);
		cell_text(cols[1], 32, value_at(t, name, largest, "fork_child_start", "min_ns"), 1e-3);
		cell_text(cols[2], 32, value_at(t, name, largest, "child_read", "median_ns_per_gib"), 1e-6);
		cell_text(cols[3], 32, value_at(t, name, largest, "child_write", "median_ns_per_gib"), 1e-6);
		cell_text(cols[4], 32, value_at(t, name, largest, "parent_write", "median_ns_per_gib"), 1e-6);
		cell_text(cols[5], 32, value_at(t, name, largest, "fork_exec", "min_ns"), 1e-6);
		cell_text(cols[6], 32, value_at(t, name, largest, "vfork_exec", "min_ns"), 1e-6);
		cell_text(cols[7], 32, value_at(t, name, largest, "posix_spawn", "min_ns"), 1e-6);
		printf("%-18s %11s %11s %10s %10s %10s %10s %10s %10s\n", name, cols[0], cols[1],
		       cols[2], cols[3], cols[4], cols[5], cols[6], cols[7]);
	}
}

/* A census row's "sum of VmPTE growth (later processes' faults)", "4 KiB
 * (12)" or "4 KiB" when the faults are NA; false when it has no growth. */
static bool census_growth(const struct csv *t, int row, char *buf, size_t size)
{
	char text[32];
	double g, f;
	if (strcmp(csv_cell(t, row, "status"), "ok") != 0 ||
	    !csv_number(t, row, "vmpte_growth_bytes", &g))
		return false;
	if (csv_number(t, row, "later_process_faults", &f) && !isnan(f))
		snprintf(buf, size, "%s (%.0f)", format_bytes((uint64_t)g, text, sizeof text), f);
	else
		snprintf(buf, size, "%s", format_bytes((uint64_t)g, text, sizeof text));
	return true;
}

static void print_census_summary(const struct csv *t)
{
	printf("\npage tables of N processes mapping one segment: sum of VmPTE growth "
	       "(later processes' faults)\n");
	printf("%9s %-22s %-22s\n", "processes", "base pages", "hugetlb");
	for (int i = 0; i < t->nrows; i++) {
		double n;
		if (strcmp(csv_cell(t, i, "pages"), "base") != 0 || !csv_number(t, i, "processes", &n))
			continue;
		char left[64] = "-", right[64] = "-";
		census_growth(t, i, left, sizeof left);
		for (int j = 0; j < t->nrows; j++) {
			double m;
			if (strcmp(csv_cell(t, j, "pages"), "hugetlb") != 0 ||
			    !csv_number(t, j, "processes", &m) || m != n)
				continue;
			if (!census_growth(t, j, right, sizeof right))
				snprintf(right, sizeof right, "%s", csv_cell(t, j, "status"));
		}
		printf("%9.0f %-22s %-22s\n", n, left, right);
	}
}

/* One sentence with the key numbers, for the report. */
static void headline(const struct csv *forks, const struct csv *census, const struct fork_plan *p,
		     char *out, size_t size)
{
	char text[32], a[32], b[32];
	size_t used = 0;
	out[0] = '\0';
	uint64_t largest = forks ? largest_measured(forks, p) : 0;
	if (largest) {
		double priv = value_at(forks, "private_touched", largest, "fork_return", "min_ns");
		double shared = value_at(forks, "shared_anon", largest, "fork_return", "min_ns");
		double write = value_at(forks, "private_touched", largest, "child_write", "median_ns_per_gib");
		if (!isnan(priv) && !isnan(shared))
			used += (size_t)snprintf(out + used, size - used,
				"fork() with %s mapped: %.3g ms private touched vs %.3g ms shared "
				"(fastest of the forks)", format_bytes(largest, text, sizeof text), priv / 1e6, shared / 1e6);
		if (!isnan(write) && used < size)
			used += (size_t)snprintf(out + used, size - used,
				"; a child writing the private one pays %.3g s per GiB", write / 1e9);
	}
	if (census && used < size) {
		double best = 0, base = NAN, huge = NAN, seg = 0;
		for (int i = 0; i < census->nrows; i++) {
			double n, g;
			if (strcmp(csv_cell(census, i, "status"), "ok") != 0 ||
			    !csv_number(census, i, "processes", &n) ||
			    !csv_number(census, i, "vmpte_growth_bytes", &g))
				continue;
			if (n > best) {
				best = n;
				base = huge = NAN;
			}
			if (n == best) {
				csv_number(census, i, "segment_bytes", &seg);
				if (strcmp(csv_cell(census, i, "pages"), "base") == 0)
					base = g;
				else
					huge = g;
			}
		}
		if (!isnan(base))
			used += (size_t)snprintf(out + used, size - used,
				"%s%.0f processes mapping %s: %s of page tables with base pages%s%s",
				used ? "; " : "", best, format_bytes((uint64_t)seg, text, sizeof text),
				format_bytes((uint64_t)base, a, sizeof a), isnan(huge) ? "" : ", ",
				isnan(huge) ? "" : format_bytes((uint64_t)huge, b, sizeof b));
		if (!isnan(base) && !isnan(huge) && used < size)
			snprintf(out + used, size - used, " with hugetlb");
	}
	if (out[0] == '\0')
		snprintf(out, size, "nothing was measured");
}

json_t *fork_plan_description(const struct fork_plan *p)
{
	json_t *kinds = json_array(), *sizes = json_array();
	for (int k = 0; k < p->nkinds; k++) {
		const struct mapping_kind *m = p->kinds[k];
		json_array_append_new(kinds, json_pack("{s:s, s:s, s:b, s:b, s:I, s:s}", "name", m->name,
			"summary", m->summary, "shared", m->shared, "touched", m->touched,
			"page_bytes", (json_int_t)mapping_kind_page_bytes(m), "fork_model", m->fork_model));
	}
	for (int s = 0; s < p->nsizes; s++)
		json_array_append_new(sizes, json_integer((json_int_t)p->sizes[s]));
	struct hugetlb_pool pool;
	hugetlb_pool_read(&pool);
	char thp[128] = "absent";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "re");
	if (f) {
		if (fgets(thp, sizeof thp, f))
			thp[strcspn(thp, "\n")] = '\0';
		fclose(f);
	}
	return json_pack("{s:o, s:o, s:b, s:i, s:s, s:I, s:I, s:{s:I, s:i, s:i}, s:s, s:s, s:s, s:s, s:{s:I, s:i, s:b, s:b}}",
		"kinds", kinds, "sizes_planned_bytes", sizes, "sizes_given", p->sizes_given,
		"repeat", p->repeat, "exec_target", p->exec_path,
		"mem_available_bytes", (json_int_t)p->mem_available,
		"memory_allowance_bytes", (json_int_t)fork_memory_allowance(p->mem_available),
		"hugetlb_pool", "page_bytes", (json_int_t)pool.page_bytes, "total", (int)pool.total,
		"free", (int)pool.free,
		"transparent_hugepage", thp,
		"clock", "CLOCK_MONOTONIC_RAW (fork timings cross CPUs: parent stamps, child stamps)",
		"statistic", "fork and spawn figures: the minimum of the samples (fixed work; slower "
			     "samples are interference); touch figures: the median",
		"faults", "getrusage ru_minflt / ru_majflt of the process doing the timed work "
			  "(fork rows: the child's whole life, from wait4)",
		"census", "segment_bytes", (json_int_t)p->segment, "processes_max", p->processes,
		"segment_given", p->segment_given, "processes_given", p->processes_given);
}

int fork_report(struct run *r, const struct fork_plan *p, int exit_code)
{
	char err[ERRLEN], path[PATH_MAX];
	struct csv forks = { 0 }, census_rows = { 0 };
	bool have_forks, have_census;

	have_forks = csv_read(run_path(r, "fork.csv", path, sizeof path), &forks, err) == 0;
	have_census = csv_read(run_path(r, "pagetables.csv", path, sizeof path), &census_rows, err) == 0;
	if (!r->quiet && have_forks)
		print_fork_summary(&forks, p);
	if (!r->quiet && have_census)
		print_census_summary(&census_rows);

	char why[ERRLEN], line[ERRLEN];
	const char *plotted[FORK_FIGURES + 1] = { NULL };
	if (!plot_gnuplot_available(why, sizeof why)) {
		run_warn(r, "no fork plots drawn: %s; the CSVs are complete", why);
		exit_code = exit_code == EXIT_DONE ? EXIT_PARTIAL : exit_code;
	} else if (plot_fork_figures(r->dir, plotted, err) < 0) {
		run_warn(r, "fork plots: %s", err);
		exit_code = exit_code == EXIT_DONE ? EXIT_PARTIAL : exit_code;
	} else if (!r->quiet) {
		for (size_t i = 0; plotted[i]; i++)
			printf("%s %s/%s\n", i == 0 ? "\nplots:" : "      ", r->dir, plotted[i]);
	}
	headline(have_forks ? &forks : NULL, have_census ? &census_rows : NULL, p, line, sizeof line);
	const char *csv_files[] = { "fork.csv", "pagetables.csv", NULL };
	experiment_describe(r, "fork", csv_files, plotted, line);
	if (have_forks)
		csv_free(&forks);
	if (have_census)
		csv_free(&census_rows);
	return exit_code;
}
