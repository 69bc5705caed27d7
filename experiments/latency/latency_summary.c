/* What a latency run prints when it is complete: the classes' min / median /
 * max, the counters against the kernels' protocol model, and with --lines
 * the spread by address (read back from latency.csv, as the report does). */
#include "experiments/latency/latency_matrix.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/stats.h"
#include "experiments/latency/latency_table.h"

/* What the kernel's protocol model predicts against what the counters say:
 * the sum of the events that count fills from another core, per handoff,
 * averaged over the pairs. */
void print_expected_vs_measured(const struct latency_plan *p, const struct job *jobs,
				       const struct outcome *results, long njobs,
				       char reasons[MAX_EVENTS][160])
{
	struct model_row *rows = calloc((size_t)p->nkernels, sizeof *rows);
	if (rows == NULL)
		return;
	for (int k = 0; k < p->nkernels; k++) {
		rows[k] = (struct model_row){ .kernel = p->kernels[k]->name,
					      .expected = p->kernels[k]->cost.fills_per_handoff,
					      .model = p->kernels[k]->cost.model };
		for (long j = 0; j < njobs; j++)
			if (jobs[j].kernel == p->kernels[k] && results[j].status == PAIR_OK) {
				rows[k].measured_sum += results[j].fills_per_handoff; /* NAN spreads: NA */
				rows[k].n++;
			}
	}
	counters_print_model(&p->events, "handoff", 12, rows, p->nkernels, reasons);
	free(rows);
}

/* Per kernel and pair class: min / median / max of the pair medians. */
void print_summary(const struct run *r, const struct latency_plan *p, const struct job *jobs,
			  const struct outcome *results, long njobs)
{
	bool lines = p->lines > 1;
	printf("\none-way latency [ns]: per pair%s the median of its samples; per class the "
	       "min / median / max over %s\n", lines ? " and line" : "", lines ? "pairs x lines" : "pairs");
	printf("%-12s %-13s %6s %9s %9s %9s  %s\n", "kernel", "class", lines ? "lines" : "pairs", "min",
	       "median", "max", "");
	double *values = malloc((size_t)(njobs ? njobs : 1) * sizeof *values);
	if (values == NULL)
		return;
	for (int k = 0; k < p->nkernels; k++) {
		for (int c = 0; c < PAIR_CLASS_COUNT; c++) {
			long n = 0, failed = 0;
			for (long j = 0; j < njobs; j++) {
				if (jobs[j].kernel != p->kernels[k] ||
				    (int)topology_pair_class(&r->topology, jobs[j].cpu_a, jobs[j].cpu_b) != c)
					continue;
				if (results[j].status == PAIR_OK)
					values[n++] = results[j].median_ns;
				else if (results[j].status == PAIR_FAILED)
					failed++;
			}
			if (n + failed == 0)
				continue;
			struct summary s = { 0 };
			if (n > 0)
				summarize(values, n, &s);
			char note[64] = "";
			if (failed)
				snprintf(note, sizeof note, "(%ld failed)", failed);
			printf("%-12s %-13s %6ld %9.1f %9.1f %9.1f  %s\n", p->kernels[k]->name,
			       pair_class_name(c), n, n ? s.min : NAN, n ? s.median : NAN,
			       n ? s.max : NAN, note);
		}
	}
	free(values);
}

static int kernel_index(const struct latency_table *lt, const char *name)
{
	for (int k = 0; k < lt->nkernels; k++)
		if (strcmp(lt->kernels[k], name) == 0)
			return k;
	return -1;
}

/* --lines: per kernel and class, the spread across the lines (read back
 * from latency.csv, as the report does), and the pairs that depend on the
 * address by more than the CI. */
void print_line_spread(const struct run *r, const struct latency_plan *p)
{
	struct latency_table lt;
	char err[ERRLEN];
	if (p->lines < 2)
		return;
	if (latency_table_read(r->dir, "median_ns", &r->topology, &lt, err) != 0) {
		fprintf(stderr, "cohmap: no spread by address: %s\n", err);
		return;
	}
	printf("\nwhere the line lives [ns]: per line the median over the class's pairs; min / median "
	       "/ max across the %d lines; widest: one pair's dearest minus cheapest line; flagged: "
	       "pairs whose lines' 95%% CIs do not overlap\n", p->lines);
	printf("%-12s %-13s %6s %9s %9s %9s %9s %8s\n", "kernel", "class", "pairs", "min", "median",
	       "max", "widest", "flagged");
	for (int pk = 0; pk < p->nkernels; pk++) /* in the plan's order, as the summary */
		for (int c = 0, k = kernel_index(&lt, p->kernels[pk]->name); k >= 0 && c < PAIR_CLASS_COUNT; c++) {
			struct line_spread sp;
			if (latency_line_spread(&lt, k, c, &sp) > 0)
				printf("%-12s %-13s %6d %9.1f %9.1f %9.1f %9.1f %8d\n", lt.kernels[k],
				       pair_class_name(c), sp.pairs, sp.line_min, sp.line_median,
				       sp.line_max, sp.widest, sp.flagged);
		}
	for (int i = 0, shown = 0; i < lt.npairs && shown < 10; i++) {
		const struct latency_line *lo, *hi;
		if (!latency_pair_address_dependent(&lt, i, &lo, &hi))
			continue;
		const struct latency_pair *pair = &lt.pairs[i];
		printf("%s %s %d->%d: line %d (class %d, node %d) %.1f ns [%.1f-%.1f], line %d (class %d, "
		       "node %d) %.1f ns [%.1f-%.1f]\n", shown++ ? "       " : "flagged:",
		       lt.kernels[pair->kernel], pair->cpu_a, pair->cpu_b, lo->line, lo->address_class,
		       lo->home_node, lo->value, lo->ci95_low, lo->ci95_high, hi->line,
		       hi->address_class, hi->home_node, hi->value, hi->ci95_low, hi->ci95_high);
	}
	latency_table_free(&lt);
}

