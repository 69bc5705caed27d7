/* The fork experiment's run: sizes outer, mapping kinds inner (so an
 * interrupted or budget-cut run has whole size levels, and slow drift of
 * this noisy machine spreads over every kind alike), each cell's forks,
 * touches and spawns, the size levels' time prediction against the budget;
 * then the page-table census (fork_census.c). fork.csv and pagetables.csv
 * rows (fork_rows.c) are appended as they finish. */
#include "experiments/fork/fork_run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/progress.h"
#include "experiments/experiment.h"
#include "harness/agents.h"

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
	return fork_emit_cell(c, &cell, true, false);
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
			  format_bytes(need, need_text, sizeof need_text), 100 * FORK_MEMORY_SHARE,
			  format_bytes(fork_memory_allowance(available), have_text, sizeof have_text));
		skip_all(c, reason);
		return fork_emit_cell(c, &cell, false, k->touched);
	}
	enum mapping_result made = mapping_create(k, bytes, &m, reason);
	if (made != MAPPING_OK) {
		if (made == MAPPING_SKIPPED)
			skip_all(c, reason);
		else
			fail_all(c, reason);
		return fork_emit_cell(c, &cell, false, k->touched);
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
	return fork_emit_cell(c, &cell, false, k->touched);
}

int fork_experiment(struct run *r, struct fork_plan *p, double budget_s)
{
	char err[ERRLEN];
	struct fork_ctx c = { .r = r, .p = p, .csv = { .fd = -1 }, .census_csv = { .fd = -1 } };
	int exit_code = EXIT_RUNTIME;
	double *scratch = calloc((size_t)M_COUNT * 3 * (size_t)p->repeat, sizeof *scratch);
	json_t *experiment = fork_plan_description(p);
	json_t *census = json_object_get(experiment, "census");

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
	    fork_csv_open(&c, err) != 0 ||
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
		if (fork_census_run(&c, left, census) != 0)
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
	exit_code = fork_report(r, p, exit_code);
out:
	if (c.csv.fd >= 0)
		csv_writer_close(&c.csv, err);
	if (c.census_csv.fd >= 0)
		csv_writer_close(&c.census_csv, err);
	child_report_close(c.report);
	free(scratch);
	return exit_code;
}
