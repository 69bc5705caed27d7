/* The fork experiment's run: sizes outer, mapping kinds inner (so an
 * interrupted or budget-cut run has whole size levels, and slow drift of
 * this noisy machine spreads over every kind alike), then the page-table
 * census; fork.csv and pagetables.csv rows are appended as they finish. */
#include "experiments/fork/fork.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/agents.h"
#include "base/common.h"
#include "base/csv.h"
#include "experiments/experiment.h"
#include "base/progress.h"
#include "base/stats.h"
#include "experiments/fork/fork_plot.h"
#include "plots/plot.h"

/* A touch pass over a large mapping lasts seconds; after the first one,
 * more are taken only while they are cheap. */
#define TOUCH_TIME_LIMIT_S 0.5
/* The parent checks this many pages (evenly spread) after a child wrote:
 * enough to catch a wrong sharing semantic, cheap at any size. */
#define PARENT_CHECK_PAGES 4096
/* Of a `cohmap run` budget, the fork part may use this share; the census
 * the rest. */
#define FORK_PART_SHARE 0.7
/* The census segment within `cohmap run` (when --segment was not given). */
#define CENSUS_BUDGET_SEGMENT (64ull << 20)
/* The memory allowance: what MemAvailable may give the experiment. */
#define MEMORY_SHARE 0.75

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

enum measure {
	M_FORK_RETURN, M_FORK_CHILD_START, M_PARENT_WRITE, M_CHILD_READ, M_CHILD_WRITE,
	M_FORK_EXEC, M_VFORK_EXEC, M_POSIX_SPAWN, M_COUNT
};
static const char *const measure_names[M_COUNT] = {
	"fork_return", "fork_child_start", "parent_write", "child_read", "child_write",
	"fork_exec", "vfork_exec", "posix_spawn",
};

uint64_t fork_cell_memory(const struct mapping_kind *k, uint64_t bytes)
{
	uint64_t need = 0;
	if (k->touched && k->pages != PAGES_HUGETLB)
		need += bytes;              /* the mapping itself */
	if (!k->shared)
		need += bytes;              /* the child's copies when it writes */
	return need + 2 * pagetable_model_bytes(bytes, (size_t)sysconf(_SC_PAGESIZE));
}

uint64_t fork_memory_allowance(long long mem_available)
{
	return mem_available > 0 ? (uint64_t)((double)mem_available * MEMORY_SHARE) : 0;
}

/* Samples of one measure of one cell. */
struct series {
	long n;
	double *ns, *minor, *major;
	bool failed, skipped;
	uint64_t wrong;
	bool checked;
	char reason[ERRLEN];
};

struct fork_ctx {
	struct run *r;
	struct fork_plan *p;
	struct csv_writer csv, census_csv;
	struct child_report *report;
	json_t *experiment;
	struct series s[M_COUNT];
	long rows, rows_failed, rows_skipped;
	long data_failures;
	/* For predicting the next size level: the size ratio to it, the time
	 * the touch passes of this level took and their prediction for the
	 * next, and what one no-mapping cell took. */
	double next_ratio, touch_spent_s, touch_next_s, baseline_s;
};

/* A touch measure's samples last d seconds each now and ratio times that at
 * the next size; repeating stops at repeat samples or after the time limit. */
static void predict_touch(struct fork_ctx *c, const struct series *s, uint64_t began)
{
	c->touch_spent_s += (double)(monotonic_ns() - began) / 1e9;
	if (s->n == 0)
		return;
	double longest = 0;
	for (long i = 0; i < s->n; i++)
		longest = s->ns[i] > longest ? s->ns[i] : longest;
	double next = longest / 1e9 * c->next_ratio;
	double all = c->p->repeat * next, limited = TOUCH_TIME_LIMIT_S + next;
	c->touch_next_s += all < limited ? all : limited;
}

/* What every row of one cell shares. */
struct cell {
	const char *kind;
	size_t page_bytes;        /* 0: NA */
	uint64_t bytes;
	long long parent_vmpte, child_vmpte, huge_backed;
};

static void series_reset(struct series *s)
{
	s->n = 0;
	s->failed = s->skipped = s->checked = false;
	s->wrong = 0;
	s->reason[0] = '\0';
}

static void series_fail(struct series *s, const char *reason)
{
	s->failed = true;
	snprintf(s->reason, sizeof s->reason, "%s", reason);
}

static void cell_of(struct cell *c, const char *kind, size_t page_bytes, uint64_t bytes)
{
	*c = (struct cell){ kind, page_bytes, bytes, -1, -1, -1 };
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

/* Touch passes are given a deadline far beyond what they take (this
 * machine's slowest, a 4 GiB copy-on-write pass, lasts about 30 s). */
static double task_timeout_s(uint64_t bytes)
{
	return 60 + 60 * (double)bytes / (double)(1ull << 30);
}

/* repeat forks whose child stamps the time and exits, then one whose
 * child reports its VmPTE. */
static void measure_forks(struct fork_ctx *c, struct mapping *m, uint64_t bytes,
			  struct cell *cell)
{
	struct series *ret = &c->s[M_FORK_RETURN], *start = &c->s[M_FORK_CHILD_START];
	struct fork_sample f;
	char err[ERRLEN];
	for (int i = 0; i < c->p->repeat && !cohmap_interrupted; i++) {
		if (fork_sample(c->report, m, CHILD_EXIT, task_timeout_s(bytes), &f, err) != 0) {
			series_fail(ret, err);
			series_fail(start, err);
			return;
		}
		ret->ns[ret->n] = f.return_ns;
		start->ns[start->n] = f.child_start_ns;
		ret->minor[ret->n] = start->minor[start->n] = (double)f.child_faults.minor;
		ret->major[ret->n] = start->major[start->n] = (double)f.child_faults.major;
		ret->n++;
		start->n++;
	}
	if (!cohmap_interrupted && fork_sample(c->report, m, CHILD_VMPTE, task_timeout_s(bytes), &f, err) == 0)
		cell->child_vmpte = f.child_vmpte_bytes;
}

/* The parent's own bill: fork write-protected every private page in the
 * parent too, so its next write to each page faults even after the child
 * has gone (the page is then simply made writable again). */
static void measure_parent_write(struct fork_ctx *c, struct mapping *m)
{
	struct series *s = &c->s[M_PARENT_WRITE];
	struct fork_sample f;
	char err[ERRLEN];
	uint64_t began = monotonic_ns();
	for (int i = 0; i < c->p->repeat && !cohmap_interrupted; i++) {
		if (i > 0 && (double)(monotonic_ns() - began) / 1e9 > TOUCH_TIME_LIMIT_S)
			break;
		if (fork_sample(c->report, m, CHILD_EXIT, task_timeout_s(m->bytes), &f, err) != 0) {
			series_fail(s, err);
			return;
		}
		struct fault_count before, after;
		fault_count_read(&before);
		uint64_t t0 = monotonic_ns();
		mapping_write(m, false);
		s->ns[s->n] = (double)(monotonic_ns() - t0);
		fault_count_read(&after);
		struct fault_count d = fault_count_since(&before, &after);
		s->minor[s->n] = (double)d.minor;
		s->major[s->n] = (double)d.major;
		s->n++;
	}
	predict_touch(c, s, began);
}

/* Children that read (checking the parent's values) or write every page. */
static void measure_child_touch(struct fork_ctx *c, struct mapping *m, enum child_task task)
{
	struct series *s = &c->s[task == CHILD_READ ? M_CHILD_READ : M_CHILD_WRITE];
	struct fork_sample f;
	char err[ERRLEN];
	uint64_t began = monotonic_ns();
	s->checked = true;
	for (int i = 0; i < c->p->repeat && !cohmap_interrupted; i++) {
		if (i > 0 && (double)(monotonic_ns() - began) / 1e9 > TOUCH_TIME_LIMIT_S)
			break;
		if (fork_sample(c->report, m, task, task_timeout_s(m->bytes), &f, err) != 0) {
			series_fail(s, err);
			return;
		}
		s->ns[s->n] = f.task_ns;
		s->minor[s->n] = (double)f.task_faults.minor;
		s->major[s->n] = (double)f.task_faults.major;
		s->n++;
		s->wrong += f.wrong;
		/* What the child wrote must reach the parent exactly when the
		 * mapping is shared: copy-on-write keeps private pages apart. */
		if (task == CHILD_WRITE)
			s->wrong += mapping_check(m, m->kind->shared, PARENT_CHECK_PAGES);
	}
	predict_touch(c, s, began);
}

static void measure_spawns(struct fork_ctx *c, uint64_t bytes)
{
	char err[ERRLEN];
	if (c->p->exec_path[0] == '\0') {
		for (int method = 0; method < SPAWN_METHODS; method++) {
			c->s[M_FORK_EXEC + method].skipped = true;
			snprintf(c->s[M_FORK_EXEC + method].reason, ERRLEN,
				 "no 'true' program in the standard PATH to spawn");
		}
		return;
	}
	for (int i = 0; i < c->p->repeat && !cohmap_interrupted; i++)
		for (int method = 0; method < SPAWN_METHODS; method++) {
			struct series *s = &c->s[M_FORK_EXEC + method];
			double ns;
			if (s->failed)
				continue;
			if (spawn_sample(method, c->p->exec_path, task_timeout_s(bytes), &ns, err) != 0) {
				series_fail(s, err);
				continue;
			}
			s->ns[s->n] = ns;
			s->minor[s->n] = s->major[s->n] = NAN;
			s->n++;
		}
}

static int emit_cell(struct fork_ctx *c, const struct cell *cell, bool baseline, bool touched)
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

static void skip_all(struct fork_ctx *c, const char *reason)
{
	for (int m = 0; m < M_COUNT; m++) {
		c->s[m].skipped = true;
		snprintf(c->s[m].reason, sizeof c->s[m].reason, "%s", reason);
	}
}

static void fail_all(struct fork_ctx *c, const char *reason)
{
	for (int m = 0; m < M_COUNT; m++)
		series_fail(&c->s[m], reason);
}

/* No mapping at all: what fork and the spawns cost this process as it is. */
static int measure_baseline(struct fork_ctx *c)
{
	struct cell cell;
	cell_of(&cell, "none", 0, 0);
	for (int m = 0; m < M_COUNT; m++)
		series_reset(&c->s[m]);
	cell.parent_vmpte = vmpte_bytes(0);
	measure_forks(c, NULL, 0, &cell);
	measure_spawns(c, 0);
	return emit_cell(c, &cell, true, false);
}

static int measure_kind(struct fork_ctx *c, const struct mapping_kind *k, uint64_t bytes)
{
	char reason[ERRLEN], need_text[32], have_text[32];
	struct mapping m;
	struct cell cell;
	cell_of(&cell, k->name, mapping_kind_page_bytes(k), bytes);
	for (int i = 0; i < M_COUNT; i++)
		series_reset(&c->s[i]);

	/* MemAvailable again now: other programs may have taken memory since
	 * the plan was made, and an OOM kill is never the answer. */
	uint64_t need = fork_cell_memory(k, bytes);
	long long available = meminfo_field("MemAvailable");
	if (available >= 0 && need > fork_memory_allowance(available)) {
		set_error(reason, "needs %s of memory, %.0f%% of MemAvailable is %s now",
			  format_bytes(need, need_text, sizeof need_text), 100 * MEMORY_SHARE,
			  format_bytes(fork_memory_allowance(available), have_text, sizeof have_text));
		skip_all(c, reason);
		return emit_cell(c, &cell, false, k->touched);
	}
	enum mapping_result made = mapping_create(k, bytes, &m, reason);
	if (made != MAPPING_OK) {
		if (made == MAPPING_SKIPPED)
			skip_all(c, reason);
		else
			fail_all(c, reason);
		return emit_cell(c, &cell, false, k->touched);
	}
	cell.page_bytes = m.page_bytes;
	if (k->pages == PAGES_THP) {
		cell.huge_backed = smaps_bytes(m.base, m.bytes, "AnonHugePages");
		if (cell.huge_backed >= 0 && (uint64_t)cell.huge_backed < bytes / 2)
			run_warn(c->r, "fork: private_thp at %llu bytes: only %lld bytes are on "
				 "transparent huge pages (memory too fragmented?)",
				 (unsigned long long)bytes, cell.huge_backed);
	} else if (k->pages == PAGES_HUGETLB) {
		/* smaps splits hugetlb pages by how many processes map them. */
		long long shared = smaps_bytes(m.base, m.bytes, "Shared_Hugetlb");
		long long private = smaps_bytes(m.base, m.bytes, "Private_Hugetlb");
		cell.huge_backed = shared < 0 || private < 0 ? -1 : shared + private;
	}
	cell.parent_vmpte = vmpte_bytes(0);

	measure_forks(c, &m, bytes, &cell);
	if (k->touched && !cohmap_interrupted)
		measure_parent_write(c, &m);
	if (!cohmap_interrupted)
		measure_child_touch(c, &m, CHILD_READ);
	if (!cohmap_interrupted)
		measure_child_touch(c, &m, CHILD_WRITE);
	if (!cohmap_interrupted)
		measure_spawns(c, bytes);
	mapping_destroy(&m);
	if (cohmap_interrupted)
		return 0; /* a cell cut short is not a measurement */
	return emit_cell(c, &cell, false, k->touched);
}

/* ---- the page-table census ---- */

static int emit_census(struct fork_ctx *c, bool hugetlb, uint64_t segment, int processes,
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

static int run_census(struct fork_ctx *c, double budget_s, json_t *census)
{
	char reason[2][ERRLEN];
	struct fork_plan *p = c->p;
	struct census_segment seg[2];
	int opened[2], levels[32], nlevels = 0, rc = -1;
	for (int n = 1; n < p->processes && nlevels < 31; n *= 2)
		levels[nlevels++] = n;
	levels[nlevels++] = p->processes;
	/* One segment per page kind for every process count: made (allocated
	 * and written) once, it is the same pages every census maps. */
	for (int h = 0; h < 2; h++) {
		opened[h] = census_segment_open(&seg[h], h == 1, p->segment, reason[h]);
		if (opened[h] < 0)
			run_warn(c->r, "fork: page-table census (%s): %s", h ? "hugetlb" : "base pages",
				 reason[h]);
	}
	uint64_t started = monotonic_ns();
	double last_level_s = 0;
	int measured = 0;
	struct progress bar;
	progress_start(&bar, c->r->progress, "fork: page tables", nlevels);
	for (int l = 0; l < nlevels && !cohmap_interrupted; l++) {
		double elapsed = (double)(monotonic_ns() - started) / 1e9;
		/* Twice the processes, about twice the time. */
		double predicted = last_level_s * (double)levels[l] / (l ? levels[l - 1] : 1) * 1.1;
		if (budget_s > 0 && l > 0 && elapsed + predicted > budget_s) {
			char text[ERRLEN];
			snprintf(text, sizeof text, "process counts from %d up were not measured: %d "
				 "processes were predicted to take %.1f s, %.1f s of the %.1f s budget were left",
				 levels[l], levels[l], predicted, budget_s - elapsed, budget_s);
			json_object_set_new(census, "scaled_for_budget", json_string(text));
			break;
		}
		uint64_t level_start = monotonic_ns();
		for (int h = 0; h < 2 && !cohmap_interrupted; h++) {
			struct pagetable_census pc = { .page_bytes = seg[h].page_bytes };
			char why[ERRLEN];
			double timeout = 60 + 10.0 * levels[l] * (double)p->segment / (double)(1ull << 30);
			int result = opened[h];
			snprintf(why, sizeof why, "%s", reason[h]);
			if (opened[h] == 0) {
				result = pagetable_census(&seg[h], levels[l], timeout, &pc, why);
				if (cohmap_interrupted)
					break;
				if (result < 0)
					run_warn(c->r, "fork: page-table census (%s, %d processes) failed: %s",
						 h ? "hugetlb" : "base pages", levels[l], why);
			}
			if (emit_census(c, h == 1, p->segment, levels[l], result, &pc, why) != 0)
				goto out;
		}
		last_level_s = (double)(monotonic_ns() - level_start) / 1e9;
		measured = levels[l];
		progress_update(&bar, l + 1);
	}
	rc = 0;
out:
	progress_end(&bar);
	json_object_set_new(census, "processes_measured", json_integer(measured));
	for (int h = 0; h < 2; h++)
		census_segment_close(&seg[h]);
	return rc;
}

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

static void print_census_summary(const struct csv *t)
{
	char a[32], b[32];
	printf("\npage tables of N processes mapping one segment: sum of VmPTE growth "
	       "(later processes' faults)\n");
	printf("%9s %-22s %-22s\n", "processes", "base pages", "hugetlb");
	for (int i = 0; i < t->nrows; i++) {
		double n, g, f;
		if (strcmp(csv_cell(t, i, "pages"), "base") != 0 || !csv_number(t, i, "processes", &n))
			continue;
		char left[64] = "-", right[64] = "-";
		if (strcmp(csv_cell(t, i, "status"), "ok") == 0 && csv_number(t, i, "vmpte_growth_bytes", &g)) {
			bool has_f = csv_number(t, i, "later_process_faults", &f) && !isnan(f);
			snprintf(left, sizeof left, "%s%s%.0f%s", format_bytes((uint64_t)g, a, sizeof a),
				 has_f ? " (" : "", has_f ? f : 0, has_f ? ")" : "");
			if (!has_f)
				snprintf(left, sizeof left, "%s", format_bytes((uint64_t)g, a, sizeof a));
		}
		for (int j = 0; j < t->nrows; j++) {
			double m;
			if (strcmp(csv_cell(t, j, "pages"), "hugetlb") != 0 ||
			    !csv_number(t, j, "processes", &m) || m != n)
				continue;
			if (strcmp(csv_cell(t, j, "status"), "ok") == 0 &&
			    csv_number(t, j, "vmpte_growth_bytes", &g)) {
				bool has_f = csv_number(t, j, "later_process_faults", &f) && !isnan(f);
				if (has_f)
					snprintf(right, sizeof right, "%s (%.0f)",
						 format_bytes((uint64_t)g, b, sizeof b), f);
				else
					snprintf(right, sizeof right, "%s", format_bytes((uint64_t)g, b, sizeof b));
			} else {
				snprintf(right, sizeof right, "%s", csv_cell(t, j, "status"));
			}
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

static json_t *plan_description(const struct fork_plan *p)
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


int fork_experiment(struct run *r, struct fork_plan *p, double budget_s)
{
	char err[ERRLEN], path[PATH_MAX];
	struct fork_ctx c = { .r = r, .p = p, .csv = { .fd = -1 }, .census_csv = { .fd = -1 } };
	int exit_code = EXIT_RUNTIME;
	double *scratch = calloc((size_t)M_COUNT * 3 * (size_t)p->repeat, sizeof *scratch);
	json_t *experiment = plan_description(p);
	json_t *census = json_object_get(experiment, "census");
	struct csv forks = { 0 }, census_rows = { 0 };
	bool have_forks = false, have_census = false;

	json_object_set_new(json_object_get(r->meta, "experiments"), "fork", experiment);
	json_object_set_new(experiment, "status", json_string("running"));
	if (scratch == NULL) {
		fprintf(stderr, "cohmap: out of memory\n");
		goto out;
	}
	for (int m = 0; m < M_COUNT; m++) {
		c.s[m].ns = scratch + (size_t)m * 3 * (size_t)p->repeat;
		c.s[m].minor = c.s[m].ns + p->repeat;
		c.s[m].major = c.s[m].minor + p->repeat;
	}
	if ((c.report = child_report_open(err)) == NULL ||
	    csv_writer_open(&c.csv, run_path(r, "fork.csv", path, sizeof path), fork_columns,
			    FORK_COLUMNS, false, err) != 0 ||
	    csv_writer_open(&c.census_csv, run_path(r, "pagetables.csv", path, sizeof path),
			    pagetable_columns, PAGETABLE_COLUMNS, false, err) != 0 ||
	    run_save_meta(r) != 0) {
		fprintf(stderr, "cohmap: %s\n", err);
		goto out;
	}

	/* Sizes ascending; the last level predicts the next one and a budget
	 * stops the sizes that would not fit. A level is fixed work (forks and
	 * spawns, as in the baseline) plus per-page work (setting up, copying
	 * page tables, touching) that grows with the size, except that touch
	 * passes stop repeating after TOUCH_TIME_LIMIT_S. */
	double fork_budget = budget_s > 0 ? budget_s * FORK_PART_SHARE : 0;
	uint64_t started = monotonic_ns();
	double predicted = 0;
	json_t *measured = json_array();
	json_object_set_new(experiment, "sizes_measured_bytes", measured);
	json_object_set_new(experiment, "scaled_for_budget", json_null());
	json_object_set_new(experiment, "time_budget_s", budget_s > 0 ? json_real(budget_s) : json_null());
	struct progress bar;
	progress_start(&bar, r->progress, "fork", p->nsizes);
	for (int s = 0; s < p->nsizes && !cohmap_interrupted; s++) {
		uint64_t bytes = p->sizes[s];
		double elapsed = (double)(monotonic_ns() - started) / 1e9;
		if (fork_budget > 0 && s > 0 && elapsed + predicted > fork_budget) {
			char text[ERRLEN], size[32];
			snprintf(text, sizeof text, "sizes from %s up were not measured: that size was "
				 "predicted to take %.1f s, %.1f s of the %.1f s budget were left",
				 format_bytes(bytes, size, sizeof size), predicted, fork_budget - elapsed,
				 fork_budget);
			json_object_set_new(experiment, "scaled_for_budget", json_string(text));
			if (!r->quiet)
				printf("fork: %s\n", text);
			break;
		}
		uint64_t level_start = monotonic_ns();
		c.next_ratio = s + 1 < p->nsizes && bytes ? (double)p->sizes[s + 1] / (double)bytes : 1;
		c.touch_spent_s = c.touch_next_s = 0;
		if (bytes == 0) {
			if (measure_baseline(&c) != 0)
				goto out;
		} else {
			for (int k = 0; k < p->nkinds && !cohmap_interrupted; k++)
				if (measure_kind(&c, p->kinds[k], bytes) != 0)
					goto out;
		}
		if (cohmap_interrupted)
			break;
		json_array_append_new(measured, json_integer((json_int_t)bytes));
		double level_s = (double)(monotonic_ns() - level_start) / 1e9;
		double fixed = p->nkinds * c.baseline_s;
		if (bytes == 0) {
			c.baseline_s = level_s;
			/* Nothing known of the touch passes yet: assume each of the
			 * three is cut by the time limit. */
			predicted = p->nkinds * (level_s + 3 * TOUCH_TIME_LIMIT_S);
		} else {
			double per_page = level_s - c.touch_spent_s - fixed;
			predicted = fixed + c.touch_next_s + (per_page > 0 ? per_page * c.next_ratio : 0);
		}
		progress_update(&bar, s + 1);
	}
	progress_end(&bar);
	if (p->in_suite && !p->segment_given && p->segment > CENSUS_BUDGET_SEGMENT) {
		/* Setting up a large segment alone would eat a small budget; the
		 * page tables per byte are the same at any size. */
		char text[ERRLEN], from[32], to[32];
		snprintf(text, sizeof text, "the census segment was cut from %s to %s to fit the budget",
			 format_bytes(p->segment, from, sizeof from),
			 format_bytes(CENSUS_BUDGET_SEGMENT, to, sizeof to));
		json_object_set_new(census, "segment_scaled_for_budget", json_string(text));
		json_object_set_new(census, "segment_bytes", json_integer((json_int_t)CENSUS_BUDGET_SEGMENT));
		p->segment = CENSUS_BUDGET_SEGMENT;
	}
	if (!cohmap_interrupted) {
		double left = budget_s > 0 ? budget_s - (double)(monotonic_ns() - started) / 1e9 : 0;
		if (budget_s > 0 && left < 1)
			left = 1;
		if (run_census(&c, left, census) != 0)
			goto out;
	}
	if (csv_writer_close(&c.csv, err) != 0 || csv_writer_close(&c.census_csv, err) != 0) {
		fprintf(stderr, "cohmap: %s\n", err);
		goto out;
	}
	json_object_set_new(experiment, "rows", json_integer(c.rows));
	json_object_set_new(experiment, "rows_failed", json_integer(c.rows_failed));
	json_object_set_new(experiment, "rows_skipped", json_integer(c.rows_skipped));
	json_object_set_new(experiment, "data_check_failures", json_integer(c.data_failures));
	if (cohmap_interrupted) {
		json_object_set_new(experiment, "status", json_string("interrupted"));
		fprintf(stderr, "cohmap: fork interrupted; the finished rows are in %s\n", r->dir);
		exit_code = EXIT_INTERRUPTED;
		goto out;
	}
	json_object_set_new(experiment, "status", json_string("complete"));
	exit_code = c.rows_failed > 0 && c.rows_failed == c.rows - c.rows_skipped ? EXIT_RUNTIME
										  : EXIT_DONE;

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
out:
	if (c.csv.fd >= 0)
		csv_writer_close(&c.csv, err);
	if (c.census_csv.fd >= 0)
		csv_writer_close(&c.census_csv, err);
	if (have_forks)
		csv_free(&forks);
	if (have_census)
		csv_free(&census_rows);
	child_report_close(c.report);
	free(scratch);
	return exit_code;
}
