/* `cohmap attach` measuring: one sample in a fresh child process pinned to
 * the plan's CPU (create, first touch, release; faults, page tables, huge
 * pages), samples of a point until the stopping rule
 * (harness/point_sampler.h), the plan fitted to `cohmap run`'s budget from
 * probe points, then every point in a shuffled order into attach.csv, the
 * summary and the figures. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/common.h"
#include "base/csv.h"
#include "base/memory.h"
#include "base/progress.h"
#include "base/shuffle.h"
#include "base/stats.h"
#include "base/timing.h"
#include "experiments/attach/attach.h"
#include "experiments/attach/attach_plot.h"
#include "experiments/experiment.h"
#include "harness/agents.h"
#include "harness/point_report.h"
#include "harness/point_sampler.h"
#include "harness/procs.h"
#include "kernels/attach.h"


/* What one child reports, through a shared page. */
struct sample {
	int ok;
	char reason[ERRLEN];
	double create_ns, touch_ns, release_ns;
	long faults_create, faults_touch;
	long long pte_bytes;      /* VmPTE growth */
	long long huge_bytes;     /* of the mapping, in huge pages after the touch */
	_Atomic uint64_t heartbeat;
};

struct child_job {
	const struct point *point;
	const struct clock_info *clock;
	size_t page_bytes;
	struct sample *out;
};

/* ---- one sample, in a fresh child ---------------------------------------- */

static long faults_since(const struct fault_count *a, const struct fault_count *b)
{
	struct fault_count d = fault_count_since(a, b);
	return d.minor + d.major;
}

/* Huge pages backing the mapping, whichever kind they are. */
static long long huge_bytes_of(const struct attachment *a)
{
	static const char *const fields[] = { "AnonHugePages", "ShmemPmdMapped", "FilePmdMapped",
					      "Private_Hugetlb", "Shared_Hugetlb" };
	long long total = 0;
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		long long v = smaps_bytes(a->base, a->bytes, fields[i]);
		if (v > 0)
			total += v;
	}
	return total;
}

static int attach_child(void *arg)
{
	struct child_job *job = arg;
	struct sample *s = job->out;
	const struct point *pt = job->point;
	struct attachment a;
	struct fault_count f0, f1, f2;
	char err[ERRLEN];

	/* Warm up what the measurement itself uses (malloc's arena, stdio,
	 * /proc), so that its first-use faults are not charged to the kind. */
	free(malloc(1));
	long long pte_before = vmpte_bytes(0);
	fault_count_read(&f0);
	fault_count_read(&f0);

	uint64_t t0 = clock_ticks(job->clock);
	int rc = pt->kind->create(&a, (size_t)pt->bytes, pt->variant, err);
	uint64_t t1 = clock_ticks(job->clock);
	if (rc != 0) {
		snprintf(s->reason, sizeof s->reason, "%s", err);
		return 1;
	}
	fault_count_read(&f1);
	atomic_fetch_add(&s->heartbeat, 1);
	uint64_t t2 = clock_ticks(job->clock);
	attach_touch(&a, job->page_bytes, &s->heartbeat);
	uint64_t t3 = clock_ticks(job->clock);
	fault_count_read(&f2);
	atomic_fetch_add(&s->heartbeat, 1);
	s->pte_bytes = vmpte_bytes(0) - pte_before;
	s->huge_bytes = huge_bytes_of(&a);
	uint64_t t4 = clock_ticks(job->clock);
	pt->kind->release(&a);
	uint64_t t5 = clock_ticks(job->clock);

	double overhead = job->clock->overhead_ns;
	s->create_ns = ticks_to_ns(job->clock, t1 - t0) - overhead;
	s->touch_ns = ticks_to_ns(job->clock, t3 - t2) - overhead;
	s->release_ns = ticks_to_ns(job->clock, t5 - t4) - overhead;
	s->faults_create = faults_since(&f0, &f1);
	s->faults_touch = faults_since(&f1, &f2);
	s->ok = 1;
	return 0;
}

/* Runs one sample; returns 0, or -1 with the reason (interrupted: 1). */
static int one_sample(const struct attach_plan *p, const struct point *pt,
		      const struct clock_info *clock, struct sample *s, char *reason)
{
	struct child_job job = { .point = pt, .clock = clock, .page_bytes = p->page_bytes, .out = s };
	struct proc_spec spec = { .cpu = p->cpu, .body = attach_child, .arg = &job };
	const _Atomic uint64_t *beat[1] = { &s->heartbeat };
	struct procs procs;
	char err[ERRLEN];
	memset(s, 0, sizeof *s);
	double stall = p->watchdog_s + WORST_SECONDS_PER_GIB * (double)pt->bytes / GIB;
	switch (point_children_run(&procs, &spec, 1, beat, NULL, NULL, stall, err)) {
	case PROCS_FINISHED:
		return s->ok ? 0 : (snprintf(reason, ERRLEN, "the child reported nothing"), -1);
	case PROCS_INTERRUPTED:
		return 1;
	case PROCS_FAILED:
		snprintf(reason, ERRLEN, "%s", s->reason[0] ? s->reason : err);
		return -1;
	case PROCS_STALLED:
		snprintf(reason, ERRLEN, "%s", err);
		return -1;
	}
	return -1;
}


static void run_point(const struct attach_plan *p, const struct point *pt,
		      const struct clock_info *clock, struct point_result *out)
{
	long cap = p->fixed_samples > 0 ? p->fixed_samples : MAX_SAMPLES, n = 0;
	double *v = calloc((size_t)cap * 9, sizeof *v);
	struct sample *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	*out = (struct point_result){ .status = POINT_FAILED };
	if (v == NULL || s == MAP_FAILED) {
		snprintf(out->reason, sizeof out->reason, "out of memory");
		goto out;
	}
	double *create = v, *touch = v + cap, *release = v + 2 * cap, *total = v + 3 * cap,
	       *fc = v + 4 * cap, *ft = v + 5 * cap, *pte = v + 6 * cap, *huge = v + 7 * cap,
	       *scratch = v + 8 * cap;
	const struct sample_rule rule = {
		.capacity = MAX_SAMPLES,
		.fixed = p->fixed_samples,
		.least = MIN_SAMPLES,
		.least_precise = 6,
		.time_limit_s = p->time_limit_s,
		.precision = p->precision,
	};
	uint64_t started = monotonic_ns();
	while (!sample_rule_enough(&rule, total, n, started, scratch)) {
		int rc = one_sample(p, pt, clock, s, out->reason);
		if (rc > 0) {
			out->status = POINT_INTERRUPTED;
			goto out;
		}
		if (rc < 0)
			goto out;
		create[n] = s->create_ns;
		touch[n] = s->touch_ns;
		release[n] = s->release_ns;
		total[n] = s->create_ns + s->touch_ns;
		fc[n] = (double)s->faults_create;
		ft[n] = (double)s->faults_touch;
		pte[n] = (double)s->pte_bytes;
		huge[n] = (double)s->huge_bytes;
		n++;
	}
	summarize(create, n, &out->create);
	summarize(touch, n, &out->touch);
	summarize(release, n, &out->release);
	summarize(total, n, &out->total);
	out->faults_create = median_of(fc, n);
	out->faults_touch = median_of(ft, n);
	out->pte_bytes = median_of(pte, n);
	out->huge_bytes = median_of(huge, n);
	out->status = POINT_OK;
out:
	free(v);
	if (s != MAP_FAILED)
		munmap(s, sizeof *s);
}

/* What a sample costs here and now, for planning only: two real points of
 * one sample each (mmap_private, plain): a page, for the cost of a child
 * process, and a larger size for the cost per byte. */
static void probe_costs(const struct attach_plan *p, const struct clock_info *clock,
			double *sample_s, double *ns_per_byte)
{
	struct attach_plan one = *p;
	struct point_result r;
	uint64_t large = 16384 * (uint64_t)p->page_bytes;
	if (large > p->cap)
		large = p->cap;
	struct point small_pt = { &attach_mmap_private, VARIANT_PLAIN, p->page_bytes };
	struct point large_pt = { &attach_mmap_private, VARIANT_PLAIN, large };
	one.fixed_samples = 1;
	uint64_t t0 = monotonic_ns();
	run_point(&one, &small_pt, clock, &r);
	uint64_t t1 = monotonic_ns();
	run_point(&one, &large_pt, clock, &r);
	uint64_t t2 = monotonic_ns();
	*sample_s = (double)(t1 - t0) / 1e9;
	*ns_per_byte = fmax(0, (double)(t2 - t1) - (double)(t1 - t0)) / (double)large;
}

/* Samples until the time limit, at least MIN_SAMPLES each; the slower kinds
 * and variants (shmem, populate, the release) counted as a second pass. */
static double estimate_s(const uint64_t *sizes, int nsizes, double sample_s, double ns_per_byte,
			 double time_limit_s, int combos)
{
	double total = 0;
	for (int i = 0; i < nsizes; i++) {
		double sample = sample_s + 2 * (double)sizes[i] * ns_per_byte / 1e9;
		total += fmax(time_limit_s, MIN_SAMPLES * sample);
	}
	return total * combos;
}

/* Inside `cohmap run`: the whole range with fewer sizes first, then a lower
 * cap; the time per point shrinks to fit. */
static void fit_budget(struct attach_plan *p, const struct clock_info *clock, double budget_s,
		       int combos)
{
	static const int steps[] = { DEFAULT_STEP, 16, 64 };
	double sample_s, ns_per_byte, planned = 0, limit = p->time_limit_s;
	struct probed_budget b;
	probed_budget_start(&b, budget_s);
	probe_costs(p, clock, &sample_s, &ns_per_byte);
	double target = probed_budget_target_s(&b);
	bool fitted = false;
	/* Each try replaces the plan's sizes; the last one tried stays. */
	for (uint64_t cap = p->cap; cap >= p->page_bytes && !fitted; cap /= 4)
		for (size_t s = 0; s < ARRAY_SIZE(steps) && !fitted; s++) {
			int nsizes = 0;
			for (uint64_t b = p->page_bytes; b < cap && nsizes < MAX_SIZES - 1; b *= (uint64_t)steps[s])
				p->sizes[nsizes++] = b;
			p->sizes[nsizes++] = cap;
			p->nsizes = nsizes;
			double fixed = estimate_s(p->sizes, nsizes, sample_s, ns_per_byte, 0, combos);
			limit = probed_time_limit(p->time_limit_s, 0.005, target, fixed, nsizes * combos);
			planned = estimate_s(p->sizes, nsizes, sample_s, ns_per_byte, limit, combos);
			fitted = planned <= target;
		}
	p->time_limit_s = limit;
	p->deadline_ns = probed_budget_deadline_ns(&b);
	p->budget = json_pack("{s:f, s:f, s:b, s:{s:f, s:f}, s:s}", "budget_s", budget_s,
		"planned_s", planned, "fits", fitted, "probed", "sample_overhead_s", sample_s,
		"touch_ns_per_byte", ns_per_byte,
		"note", "sizes (and perhaps the cap) and the time per point were reduced to fit "
			"`cohmap run`'s budget, planned from two probe points; points still unmeasured "
			"at 1.2 x the budget are left out; `cohmap attach` measures every power of two "
			"up to the cap");
}

/* ---- the points ------------------------------------------------------------- */

static int draw(struct run *r, const struct attach_plan *p, const char **plots)
{
	char legend[512] = "";
	for (int i = 0; i < p->nkinds; i++)
		points_legend_add(legend, sizeof legend, p->kinds[i]->name);
	return points_draw(r, "attach", plot_attach_figures, legend, p->stat, plots);
}

int attach_measure(struct run *r, void *arg, double budget_s)
{
	struct attach_plan *p = arg;
	char err[ERRLEN], path[PATH_MAX], why[ERRLEN], line[ERRLEN];
	struct csv_writer csv = { .fd = -1 };
	int exit_code = EXIT_RUNTIME, combos = 0;
	long done = 0, failed = 0, n = 0;
	json_t *skipped = json_array();

	for (int k = 0; k < p->nkinds; k++)
		for (int v = 0; v < VARIANT_COUNT; v++)
			combos += p->variant[v] && attach_kind_can(p->kinds[k], v);
	if (budget_s > 0 && !p->sizes_given && p->fixed_samples == 0 && combos > 0)
		fit_budget(p, &r->clock, budget_s, combos);
	long planned = (long)p->nkinds * VARIANT_COUNT * p->nsizes;
	struct point *pts = calloc((size_t)planned, sizeof *pts);
	struct point_result *res = calloc((size_t)planned, sizeof *res);
	json_t *exp = attach_plan_description(p);
	json_object_set_new(json_object_get(r->meta, "experiments"), "attach", exp);
	points_note_busy(r, exp, "attach");
	json_object_set_new(exp, "skipped", skipped);
	if (p->budget)
		json_object_set(exp, "budget", p->budget);
	if (pts == NULL || res == NULL) {
		fprintf(stderr, "cohmap: out of memory for %ld points\n", planned);
		goto out;
	}
	for (int k = 0; k < p->nkinds; k++)
		for (int v = 0; v < VARIANT_COUNT; v++) {
			if (!p->variant[v])
				continue;
			for (int s = 0; s < p->nsizes; s++) {
				struct point pt = { p->kinds[k], v, p->sizes[s] };
				const char *no = attach_point_refused(p, pt.kind, v, pt.bytes, why, sizeof why);
				if (no)
					attach_note_skip(skipped, &pt, no);
				else
					pts[n++] = pt;
			}
		}
	shuffle(pts, (size_t)n, sizeof *pts, p->seed);
	if (csv_writer_open(&csv, run_path(r, "attach.csv", path, sizeof path), attach_columns, attach_ncolumns,
			    false, err) != 0 || run_save_meta(r) != 0) {
		fprintf(stderr, "cohmap: %s\n", err);
		goto out;
	}
	if (!r->quiet) {
		char cap[32], avail[32];
		printf("\nattach: %d mappings, %d sizes up to %s (cap: MemAvailable %s / %d), %ld points; "
		       "THP enabled=%s shmem_enabled=%s, hugetlb pool %ld pages\n", p->nkinds, p->nsizes,
		       format_bytes(p->sizes[p->nsizes - 1], cap, sizeof cap),
		       format_bytes((uint64_t)p->mem_available, avail, sizeof avail), CAP_FRACTION, n,
		       p->thp_enabled, p->thp_shmem, p->pool.total > 0 ? p->pool.total : 0);
	}
	struct progress bar;
	progress_start(&bar, r->progress, "attach", n);
	long left_out = 0;
	for (long i = 0; i < n && !cohmap_interrupted; i++) {
		if (p->deadline_ns && monotonic_ns() > p->deadline_ns) {
			left_out = n - i;
			run_warn(r, "attach: the time budget ran out; %ld of %ld points were not measured",
				 left_out, n);
			break;
		}
		run_point(p, &pts[i], &r->clock, &res[i]);
		if (res[i].status == POINT_INTERRUPTED)
			break;
		if (res[i].status == POINT_FAILED) {
			failed++;
			run_warn(r, "attach: %s %s %llu B failed: %s", pts[i].kind->name,
				 attach_variant_name(pts[i].variant), (unsigned long long)pts[i].bytes,
				 res[i].reason);
		}
		if (attach_write_row(&csv, &pts[i], &res[i], err) != 0) {
			fprintf(stderr, "cohmap: %s\n", err);
			goto out;
		}
		progress_update(&bar, ++done);
	}
	progress_end(&bar);
	if (csv_writer_close(&csv, err) != 0) {
		fprintf(stderr, "cohmap: %s\n", err);
		goto out;
	}
	points_tally(exp, n, done, failed, left_out);
	if (points_interrupted(r, exp, done, n)) {
		exit_code = EXIT_INTERRUPTED;
		goto out;
	}
	json_object_set_new(exp, "status", json_string("complete"));
	if (!r->quiet)
		attach_print_summary(p, pts, res, done, skipped);
	exit_code = n > 0 && failed == n ? EXIT_RUNTIME : EXIT_DONE;
	const char *plots[3] = { NULL };
	if (done > failed && draw(r, p, plots) != 0 && exit_code == EXIT_DONE)
		exit_code = EXIT_PARTIAL;
	points_list_plots(r, plots);
	attach_headline(p, pts, res, done, line, sizeof line);
	const char *csvs[] = { "attach.csv", NULL };
	experiment_describe(r, "attach", csvs, plots, line);
out:
	if (csv.fd >= 0)
		csv_writer_close(&csv, err);
	free(pts);
	free(res);
	return exit_code;
}
