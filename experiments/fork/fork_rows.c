/* The fork experiment's two CSVs: their columns, how a cell is written
 * (NA for what is unknown, a reason kept to one cell), fork.csv's rows from
 * the samples of a cell's measures (with the data check's verdict) and
 * pagetables.csv's row of one census. */
#include "experiments/fork/fork_run.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/stats.h"
#include "experiments/experiment.h"

static const char *const fork_columns[] = {
	"kind", "page_bytes", "bytes", "measure", "status", "samples", "min_ns", "median_ns",
	"max_ns", "median_ns_per_gib", "minor_faults", "major_faults", "parent_vmpte_bytes",
	"child_vmpte_bytes", "huge_backed_bytes", "data_check", "reason",
};
enum { FORK_COLUMNS = ARRAY_SIZE(fork_columns) };

static const char *const pagetable_columns[] = {
	"pages", "page_bytes", "segment_bytes", "processes", "status", "vmpte_before_bytes",
	"vmpte_after_bytes", "vmpte_growth_bytes", "vmpte_growth_per_process_bytes",
	"model_per_process_bytes", "system_pagetables_growth_bytes", "first_process_faults",
	"later_process_faults", "page_tables_shared", "data_check", "elapsed_ms", "reason",
};
enum { PAGETABLE_COLUMNS = ARRAY_SIZE(pagetable_columns) };

static const char *const measure_names[M_COUNT] = {
	"fork_return", "fork_child_start", "parent_write", "child_read", "child_write",
	"fork_exec", "vfork_exec", "posix_spawn",
};

int fork_csv_open(struct fork_ctx *c, char *err)
{
	char path[PATH_MAX];
	if (csv_writer_open(&c->csv, run_path(c->r, "fork.csv", path, sizeof path), fork_columns,
			    FORK_COLUMNS, false, err) != 0)
		return -1;
	return csv_writer_open(&c->census_csv, run_path(c->r, "pagetables.csv", path, sizeof path),
			       pagetable_columns, PAGETABLE_COLUMNS, false, err);
}

static void put_number(char *buf, double v, const char *fmt)
{
	if (isnan(v))
		snprintf(buf, ERRLEN, "NA");
	else
		snprintf(buf, ERRLEN, fmt, v);
}

static void put_bytes(char *buf, long long v)
{
	if (v < 0)
		snprintf(buf, ERRLEN, "NA");
	else
		snprintf(buf, ERRLEN, "%lld", v);
}

/* A reason is prose: keep it one CSV cell. */
static void put_reason(char *buf, const char *reason)
{
	snprintf(buf, ERRLEN, "%s", reason);
	for (char *c = buf; *c; c++)
		if (*c == ',' || *c == '"' || *c == '\n')
			*c = ';';
}

static int emit(struct fork_ctx *c, const struct cell *cell, enum measure m, bool per_gib)
{
	char cells[FORK_COLUMNS][ERRLEN], err[ERRLEN];
	struct series *s = &c->s[m];
	bool ok = !s->failed && !s->skipped && s->n > 0;
	struct summary sum = { 0 };
	if (ok)
		summarize(s->ns, s->n, &sum);
	if (s->checked && s->wrong > 0 && ok) {
		ok = false;
		s->failed = true;
		snprintf(s->reason, sizeof s->reason,
			 "%llu pages did not hold the values expected (the parent's, or for a shared "
			 "mapping the child's)", (unsigned long long)s->wrong);
		c->data_failures++;
		run_warn(c->r, "fork: %s at %llu bytes, %s: %s", cell->kind,
			 (unsigned long long)cell->bytes, measure_names[m], s->reason);
	}
	snprintf(cells[0], ERRLEN, "%s", cell->kind);
	put_bytes(cells[1], cell->page_bytes ? (long long)cell->page_bytes : -1);
	snprintf(cells[2], ERRLEN, "%llu", (unsigned long long)cell->bytes);
	snprintf(cells[3], ERRLEN, "%s", measure_names[m]);
	snprintf(cells[4], ERRLEN, "%s", ok ? "ok" : s->skipped ? "skipped" : "failed");
	snprintf(cells[5], ERRLEN, "%ld", ok ? s->n : 0);
	put_number(cells[6], ok ? sum.min : NAN, "%.0f");
	put_number(cells[7], ok ? sum.median : NAN, "%.0f");
	put_number(cells[8], ok ? sum.max : NAN, "%.0f");
	put_number(cells[9], ok && per_gib && cell->bytes ? sum.median * (double)(1ull << 30) /
				(double)cell->bytes : NAN, "%.0f");
	put_number(cells[10], ok ? median_of(s->minor, s->n) : NAN, "%.0f");
	put_number(cells[11], ok ? median_of(s->major, s->n) : NAN, "%.0f");
	put_bytes(cells[12], cell->parent_vmpte);
	put_bytes(cells[13], cell->child_vmpte);
	put_bytes(cells[14], cell->huge_backed);
	snprintf(cells[15], ERRLEN, "%s", !s->checked || s->skipped || (s->n == 0) ? "NA"
		 : s->wrong ? "failed" : "ok");
	put_reason(cells[16], ok ? "" : s->reason);
	const char *row[FORK_COLUMNS];
	for (int i = 0; i < FORK_COLUMNS; i++)
		row[i] = cells[i];
	c->rows++;
	c->rows_failed += !ok && !s->skipped;
	c->rows_skipped += s->skipped;
	if (csv_writer_row(&c->csv, row, err) != 0) {
		fprintf(stderr, "cohmap: %s\n", err);
		return -1;
	}
	return 0;
}

int fork_emit_cell(struct fork_ctx *c, const struct cell *cell, bool baseline, bool touched)
{
	for (int m = 0; m < M_COUNT; m++) {
		if (baseline && (m == M_PARENT_WRITE || m == M_CHILD_READ || m == M_CHILD_WRITE))
			continue;
		if (m == M_PARENT_WRITE && !touched)
			continue;
		/* Spawned programs' faults are not theirs to count here. */
		bool per_gib = m == M_PARENT_WRITE || m == M_CHILD_READ || m == M_CHILD_WRITE;
		if (emit(c, cell, m, per_gib) != 0)
			return -1;
	}
	return 0;
}

int fork_emit_census(struct fork_ctx *c, bool hugetlb, uint64_t segment, int processes,
		     int result, const struct pagetable_census *pc, const char *reason)
{
	char cells[PAGETABLE_COLUMNS][ERRLEN], err[ERRLEN];
	bool ok = result == 0;
	if (ok && pc->wrong) {
		ok = false;
		result = -1;
		reason = "a process did not read the values written into the segment";
		c->data_failures++;
		run_warn(c->r, "fork: page-table census (%s, %d processes): %s",
			 hugetlb ? "hugetlb" : "base pages", processes, reason);
	}
	size_t page = pc->page_bytes;
	snprintf(cells[0], ERRLEN, "%s", hugetlb ? "hugetlb" : "base");
	put_bytes(cells[1], page ? (long long)page : -1);
	snprintf(cells[2], ERRLEN, "%llu", (unsigned long long)segment);
	snprintf(cells[3], ERRLEN, "%d", processes);
	snprintf(cells[4], ERRLEN, "%s", ok ? "ok" : result > 0 ? "skipped" : "failed");
	put_bytes(cells[5], ok ? pc->vmpte_before : -1);
	put_bytes(cells[6], ok ? pc->vmpte_after : -1);
	put_bytes(cells[7], ok ? pc->vmpte_after - pc->vmpte_before : -1);
	put_bytes(cells[8], ok ? pc->vmpte_growth_median : -1);
	put_bytes(cells[9], page ? (long long)pagetable_model_bytes(segment, page) : -1);
	if (ok && pc->system_known && pc->system_exact)
		snprintf(cells[10], ERRLEN, "%lld", pc->system_growth);
	else
		snprintf(cells[10], ERRLEN, "NA");
	if (ok)
		snprintf(cells[11], ERRLEN, "%ld", pc->first_faults);
	else
		snprintf(cells[11], ERRLEN, "NA");
	if (ok && processes > 1)
		snprintf(cells[12], ERRLEN, "%ld", pc->other_faults_median);
	else
		snprintf(cells[12], ERRLEN, "NA");
	snprintf(cells[13], ERRLEN, "%s", !ok || processes < 2 ? "NA" : pc->tables_shared ? "yes" : "no");
	snprintf(cells[14], ERRLEN, "%s", result == 0 ? (pc->wrong ? "failed" : "ok") : "NA");
	put_number(cells[15], ok ? pc->elapsed_s * 1000 : NAN, "%.1f");
	put_reason(cells[16], ok ? "" : reason);
	const char *row[PAGETABLE_COLUMNS];
	for (int i = 0; i < PAGETABLE_COLUMNS; i++)
		row[i] = cells[i];
	if (csv_writer_row(&c->census_csv, row, err) != 0) {
		fprintf(stderr, "cohmap: %s\n", err);
		return -1;
	}
	return 0;
}
