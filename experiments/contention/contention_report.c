/* What the contention ladder writes: contention.csv (one row per item and
 * step), contention-ladder.csv (one row per step: the level it crosses and
 * what it did to throughput, the table the report shows beside the
 * student's prediction), meta.json's entry with the split lock state, the
 * printed table, the headline and the plots. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/csv.h"
#include "experiments/contention/contention.h"

static const char *const ct_columns[] = {
	"kind", "op_or_lock", "threads", "cpus", "cpu_added", "level_crossed", "span_class",
	"pair_classes", "order", "rounds", "run_ms", "status",
	"total_ops", "total_ops_per_s", "total_ops_per_s_min", "total_ops_per_s_max", "ns_per_op",
	"thread_ops_per_s_min", "thread_ops_per_s_max", "jain_index",
	"wait_p50_ns", "wait_p99_ns", "wait_max_ns", "cas_retries_per_success",
	"lines_per_op_model", "counter_event", "events_per_op", "counter_reason", "reason",
};
enum { CT_COLUMNS = ARRAY_SIZE(ct_columns) };

static const char *const ladder_columns[] = {
	"threads", "cpu_added", "level_crossed", "fetch_add_mops", "baseline_mops",
	"fetch_add_vs_previous", "fastest_lock", "fastest_lock_mops", "slowest_lock",
	"slowest_lock_mops", "least_fair_lock", "least_fair_jain",
};
enum { LADDER_COLUMNS = ARRAY_SIZE(ladder_columns) };

const char *ct_order_name(enum ct_order o)
{
	return o == CT_ORDER_TOPOLOGY ? "topology" : o == CT_ORDER_SPREAD ? "spread" : "list";
}

int ct_rows_open(const struct run *r, struct csv_writer *w, char *err)
{
	char path[4096];
	run_path(r, "contention.csv", path, sizeof path);
	return csv_writer_open(w, path, ct_columns, CT_COLUMNS, false, err);
}

static void number(char *cell, double v, int digits)
{
	if (isnan(v) || isinf(v))
		snprintf(cell, ERRLEN, "NA");
	else
		snprintf(cell, ERRLEN, "%.*f", digits, v);
}

static void cpu_list(const int *cpus, int n, char *buf, size_t size)
{
	size_t used = 0;
	buf[0] = '\0';
	for (int i = 0; i < n && used + 1 < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%d", i ? " " : "", cpus[i]);
}

/* "smt:1 l3:2": the unordered pairs of the step's CPUs in each class. */
static void pair_classes(const struct topology *t, const int *cpus, int n, char *buf, size_t size)
{
	long counts[PAIR_CLASS_COUNT];
	size_t used = 0;
	topology_count_pairs(t, cpus, n, counts);
	snprintf(buf, size, "none");
	for (int c = 0; c < PAIR_CLASS_COUNT; c++)
		if (counts[c] > 0 && used + 1 < size)
			used += (size_t)snprintf(buf + used, size - used, "%s%s:%ld", used ? " " : "",
						 pair_class_name(c), counts[c] / 2);
}

int ct_row_write(struct csv_writer *w, const struct contention_plan *p, const struct topology *t,
		 const struct ct_point *pt, char *err)
{
	static char cells[CT_COLUMNS][ERRLEN];
	const char *row[CT_COLUMNS];
	const struct ct_step *s = pt->step;
	const struct ct_item *it = pt->item;
	int c = 0;
	bool ok = strcmp(pt->status, "ok") == 0;
	snprintf(cells[c++], ERRLEN, "%s", ct_kind_name(it->kind));
	snprintf(cells[c++], ERRLEN, "%s", it->name);
	snprintf(cells[c++], ERRLEN, "%d", s->threads);
	cpu_list(p->cpus, s->threads, cells[c++], ERRLEN);
	snprintf(cells[c++], ERRLEN, "%d", s->cpu_added);
	snprintf(cells[c++], ERRLEN, "%s", s->threads == 1 ? "none" : pair_class_name(s->added));
	snprintf(cells[c++], ERRLEN, "%s", s->threads == 1 ? "none" : pair_class_name(s->span));
	pair_classes(t, p->cpus, s->threads, cells[c++], ERRLEN);
	snprintf(cells[c++], ERRLEN, "%s", ct_order_name(p->order));
	snprintf(cells[c++], ERRLEN, "%d", pt->rounds);
	snprintf(cells[c++], ERRLEN, "%.3g", p->run_ms);
	snprintf(cells[c++], ERRLEN, "%s", pt->status);
	snprintf(cells[c++], ERRLEN, ok ? "%llu" : "NA", (unsigned long long)pt->ops);
	number(cells[c++], ok ? pt->ops_per_s : NAN, 0);
	number(cells[c++], ok ? pt->ops_per_s_min : NAN, 0);
	number(cells[c++], ok ? pt->ops_per_s_max : NAN, 0);
	number(cells[c++], ok ? pt->ns_per_op : NAN, 2);
	number(cells[c++], ok ? pt->thread_min : NAN, 0);
	number(cells[c++], ok ? pt->thread_max : NAN, 0);
	number(cells[c++], ok ? pt->jain : NAN, 4);
	number(cells[c++], ok ? pt->wait_p50_ns : NAN, 1);
	number(cells[c++], ok ? pt->wait_p99_ns : NAN, 1);
	number(cells[c++], ok ? pt->wait_max_ns : NAN, 1);
	number(cells[c++], ok ? pt->retries_per_success : NAN, 4);
	number(cells[c++], it->op ? it->op->lines_per_op : it->lock->lines_per_op, 1);
	snprintf(cells[c++], ERRLEN, "%s", ok ? pt->counter_event : "NA");
	number(cells[c++], ok ? pt->events_per_op : NAN, 4);
	snprintf(cells[c++], ERRLEN, "%s", ok ? pt->counter_reason : "");
	snprintf(cells[c++], ERRLEN, "%s", pt->reason);
	for (int i = 0; i < CT_COLUMNS; i++) {
		/* cells never hold a comma: the reader would see a malformed row */
		for (char *q = cells[i]; *q; q++)
			if (*q == ',' || *q == '"' || *q == '\n')
				*q = ';';
		row[i] = cells[i];
	}
	return csv_writer_row(w, row, err);
}

/* ---- the ladder ---- */

/* The first ok point of an item at this step; an op is found by its base
 * name, in whichever atomic form ran first (fetch_add_lse on aarch64). */
static const struct ct_point *find(const struct ct_point *points, int npoints, int threads,
				   const char *name)
{
	for (int i = 0; i < npoints; i++)
		if (points[i].step->threads == threads &&
		    strcmp(points[i].item->op ? points[i].item->op->base : points[i].item->name, name) == 0 &&
		    strcmp(points[i].status, "ok") == 0 && points[i].rounds > 0)
			return &points[i];
	return NULL;
}

/* One row per step; returns the step whose fetch_add rate fell most against
 * the step before (-1 when no two steps have one). */
static int write_ladder(struct run *r, const struct contention_plan *p, const struct ct_point *points,
			int npoints, int nsteps, double *worst_ratio)
{
	struct csv_writer w;
	char path[4096], err[ERRLEN], cells[LADDER_COLUMNS][ERRLEN];
	const char *row[LADDER_COLUMNS];
	int worst = -1;
	*worst_ratio = NAN;
	run_path(r, "contention-ladder.csv", path, sizeof path);
	if (csv_writer_open(&w, path, ladder_columns, LADDER_COLUMNS, false, err) != 0) {
		run_warn(r, "contention: %s", err);
		return -1;
	}
	double previous = NAN;
	for (int k = 0; k < nsteps; k++) {
		const struct ct_step *s = &p->steps[k];
		const struct ct_point *fa = find(points, npoints, s->threads, "fetch_add");
		const struct ct_point *base = find(points, npoints, s->threads, "fetch_add_padded");
		const struct ct_point *fast = NULL, *slow = NULL, *unfair = NULL;
		for (int i = 0; i < npoints; i++) {
			const struct ct_point *pt = &points[i];
			if (pt->step != s || pt->item->lock == NULL || strcmp(pt->status, "ok") != 0 ||
			    pt->rounds == 0)
				continue;
			fast = !fast || pt->ops_per_s > fast->ops_per_s ? pt : fast;
			slow = !slow || pt->ops_per_s < slow->ops_per_s ? pt : slow;
			unfair = !unfair || pt->jain < unfair->jain ? pt : unfair;
		}
		double rate = fa ? fa->ops_per_s : NAN, ratio = rate / previous;
		if (!isnan(ratio) && (isnan(*worst_ratio) || ratio < *worst_ratio)) {
			*worst_ratio = ratio;
			worst = k;
		}
		previous = rate;
		int c = 0;
		snprintf(cells[c++], ERRLEN, "%d", s->threads);
		snprintf(cells[c++], ERRLEN, "%d", s->cpu_added);
		snprintf(cells[c++], ERRLEN, "%s", s->threads == 1 ? "none" : pair_class_name(s->added));
		number(cells[c++], fa ? fa->ops_per_s / 1e6 : NAN, 2);
		number(cells[c++], base ? base->ops_per_s / 1e6 : NAN, 2);
		number(cells[c++], k > 0 ? ratio : NAN, 3);
		snprintf(cells[c++], ERRLEN, "%s", fast ? fast->item->name : "NA");
		number(cells[c++], fast ? fast->ops_per_s / 1e6 : NAN, 2);
		snprintf(cells[c++], ERRLEN, "%s", slow ? slow->item->name : "NA");
		number(cells[c++], slow ? slow->ops_per_s / 1e6 : NAN, 2);
		snprintf(cells[c++], ERRLEN, "%s", unfair ? unfair->item->name : "NA");
		number(cells[c++], unfair ? unfair->jain : NAN, 3);
		for (int i = 0; i < LADDER_COLUMNS; i++)
			row[i] = cells[i];
		if (csv_writer_row(&w, row, err) != 0)
			run_warn(r, "contention: %s", err);
		if (!r->quiet)
			printf("  %3d threads  +CPU %-4d %-13s fetch_add %8s Mops/s  baseline %8s  "
			       "locks %s %s .. %s %s Mops/s\n", s->threads, s->cpu_added, cells[2],
			       cells[3], cells[4], cells[6], cells[7], cells[8], cells[9]);
	}
	if (csv_writer_close(&w, err) != 0)
		run_warn(r, "contention: %s", err);
	return worst;
}

void ct_report(struct run *r, const struct contention_plan *p, const struct ct_point *points,
	       int npoints, const char *status)
{
	json_t *e = json_object();
	json_t *ladder = json_array(), *items = json_array();
	for (int k = 0; k < p->nsteps; k++)
		json_array_append_new(ladder, json_pack("{s:i, s:i, s:s}", "threads", p->steps[k].threads,
							"cpu_added", p->steps[k].cpu_added, "level_crossed",
							k == 0 && p->steps[k].threads == 1 ? "none"
							: pair_class_name(p->steps[k].added)));
	for (int i = 0; i < p->nitems; i++)
		json_array_append_new(items, json_string(p->items[i].name));
	json_object_set_new(json_object_get(r->meta, "experiments"), "contention", e);
	json_object_set_new(e, "status", json_string(status));
	json_object_set_new(e, "order", json_string(ct_order_name(p->order)));
	json_object_set_new(e, "ladder", ladder);
	json_object_set_new(e, "items", items);
	json_object_set_new(e, "rounds", json_integer(p->rounds));
	json_object_set_new(e, "run_ms", json_real(p->run_ms));
	json_object_set_new(e, "seed", json_integer((json_int_t)p->seed));
	json_object_set_new(e, "statistic", json_string("median over rounds"));
	json_object_set_new(e, "split_lock", ct_split_state_json(&p->split));
	json_object_set_new(e, "budget_reductions", json_string(p->reductions));

	int nsteps = p->nitems > 0 ? npoints / p->nitems : 0;
	double worst_ratio;
	if (!r->quiet && nsteps > 0)
		printf("\ncontention ladder (median over %ld rounds; Mops/s = million operations per "
		       "second, all threads together):\n", p->rounds);
	int worst = write_ladder(r, p, points, npoints, nsteps, &worst_ratio);

	/* The headline: the step that hurt most, the fairest and least fair
	 * lock at the widest step, and what the split lock figure means. */
	char headline[1024];
	size_t used = 0;
	if (worst >= 0)
		used += (size_t)snprintf(headline, sizeof headline, "fetch_add: the step to %d threads "
					 "(adding CPU %d, %s) hurt most: x%.2f throughput; ",
					 p->steps[worst].threads, p->steps[worst].cpu_added,
					 pair_class_name(p->steps[worst].added), worst_ratio);
	else
		used += (size_t)snprintf(headline, sizeof headline, "%d steps measured; ", nsteps);
	const struct ct_point *fair = NULL, *unfair = NULL;
	for (int i = 0; nsteps > 0 && i < npoints; i++) {
		const struct ct_point *pt = &points[i];
		if (pt->step != &p->steps[nsteps - 1] || !pt->item->lock || strcmp(pt->status, "ok") ||
		    pt->rounds == 0)
			continue;
		fair = !fair || pt->jain > fair->jain ? pt : fair;
		unfair = !unfair || pt->jain < unfair->jain ? pt : unfair;
	}
	if (fair && unfair)
		used += (size_t)snprintf(headline + used, sizeof headline - used,
					 "at %d threads Jain's index %.3f (%s) to %.3f (%s); ",
					 p->steps[nsteps - 1].threads, fair->jain, fair->item->name,
					 unfair->jain, unfair->item->name);
	const struct ct_point *split = NULL, *aligned = NULL;
	for (int i = 0; i < npoints; i++) {
		if (points[i].step != &p->steps[0] || points[i].rounds == 0)
			continue;
		if (points[i].item->op == &ct_op_split_lock_add)
			split = &points[i];
		if (points[i].item->op == &ct_op_aligned_lock_add)
			aligned = &points[i];
	}
	if (split && strcmp(split->status, "skipped") == 0)
		snprintf(headline + used, sizeof headline - used, "split locks skipped: %s", split->reason);
	else if (split && aligned && !strcmp(split->status, "ok") && !strcmp(aligned->status, "ok"))
		snprintf(headline + used, sizeof headline - used,
			 "a split lock at %d thread%s takes %.1f ns against %.1f aligned (%s)",
			 p->steps[0].threads, p->steps[0].threads == 1 ? "" : "s", split->ns_per_op,
			 aligned->ns_per_op, p->split.kernel_interferes ? "the kernel traps them: not "
			 "the hardware's cost" : "the kernel does not trap them");
	else if (used >= 2)
		headline[used - 2] = '\0';
	if (p->split.kernel_interferes && split)
		run_warn(r, "contention: %s", p->split.summary);

	const char *images[3] = { NULL };
	char err[ERRLEN];
	if (npoints > 0 && plot_contention(r->dir, "median", images, err) < 0)
		run_warn(r, "contention: plots: %s", err);
	static const char *const csv[] = { "contention.csv", "contention-ladder.csv", NULL };
	experiment_describe(r, "contention", csv, images, headline);
	if (!r->quiet)
		printf("contention: %s\n", headline);
	run_save_meta(r);
}
