/* `cohmap attach`: what getting memory costs. For every way of getting it
 * (kernels/attach.c), every variant of how the pages come and sizes from
 * 4 KiB to a cap derived from MemAvailable: the time to create or attach it,
 * to touch every page the first time, and to release it; the page faults it
 * took and the page-table memory it grew. Each sample runs in a fresh child
 * process: a process that has allocated before (malloc's free lists and
 * thresholds, page tables left from earlier mappings) would hand out memory
 * whose first touch was already paid for. Writes attach.csv, meta.json's
 * experiments.attach, attach.png and attach-phases.png. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness/agents.h"
#include "harness/selection.h"
#include "base/common.h"
#include "base/csv.h"
#include "experiments/experiment.h"
#include "base/memory.h"
#include "harness/procs.h"
#include "base/progress.h"
#include "base/shuffle.h"
#include "base/sizelist.h"
#include "base/stats.h"
#include "kernels/attach.h"
#include "experiments/attach/attach_plot.h"
#include "plots/plot.h"

/* The attach experiment's own options. */
struct attach_settings {
	const char *mappings;
	const char *variants;
	const char *sizes;
};

#define AT(field) offsetof(struct attach_settings, field)
static const struct option_def attach_options[] = {
	{ "mapping", 0, OPT_STRING, "LIST", NULL, 0, 0,
	  "ways to get memory: malloc, mmap_private, mmap_shared, sysv, posix, memfd (default: all)", AT(mappings) },
	{ "variant", 0, OPT_STRING, "LIST", NULL, 0, 0,
	  "how the pages come: plain, populate (MAP_POPULATE), thp (MADV_HUGEPAGE), hugetlb (default: all)", AT(variants) },
	{ "sizes", 0, OPT_STRING, "SIZES", NULL, 0, 0,
	  "sizes in bytes: a list (64,4K,1M) or MIN-MAX, doubling (64-64M); K, M, G are KiB, MiB, GiB", AT(sizes) },
};
#undef AT

static const char *const attach_shared_options[] = {
	"cpus", "samples", "precision", "time-limit", "watchdog", "stat", "seed", "output", "topology", "quiet", "help", NULL,
};

static const char *const attach_csv[] = { "attach.csv", NULL };
static const char *const attach_figures[] = { "attach.png", "attach-phases.png", NULL };


#define MAX_SIZES 48
#define MAX_KINDS 16
#define MIN_SAMPLES 3
#define MAX_SAMPLES 1000
#define GIB (1024.0 * 1024 * 1024)
/* The cap: MemAvailable / 64, rounded down to a power of two: far from
 * reclaim (which would be measured), and the largest sizes, whose samples
 * take seconds on a virtual machine, do not take most of the run. Larger
 * sizes, up to half of MemAvailable, with --sizes. */
#define CAP_FRACTION 64
/* The default sizes: every fourth power of two from a page to the cap
 * (`--sizes 4K-1G` for every one). */
#define DEFAULT_STEP 4
/* The watchdog's allowance per GiB for the steps that are one system call
 * and cannot report progress (mmap with MAP_POPULATE, munmap): far more than
 * any machine needs, even one whose CPUs are shared with other work; the
 * first touch reports progress as it goes. */
#define WORST_SECONDS_PER_GIB 60.0

static const char THP_DIR[] = "/sys/kernel/mm/transparent_hugepage";

struct attach_plan {
	const struct attach_kind *kinds[MAX_KINDS];
	int nkinds;
	bool variant[VARIANT_COUNT];
	uint64_t sizes[MAX_SIZES];
	int nsizes;
	bool sizes_given;
	uint64_t cap;
	long long mem_available;
	int cpu;
	size_t page_bytes;
	struct hugetlb_pool pool;
	char thp_enabled[32], thp_shmem[32], thp_defrag[32];
	long fixed_samples;
	double precision, time_limit_s, watchdog_s;
	unsigned long seed;
	const char *stat;
	json_t *budget;
	uint64_t deadline_ns;  /* under a budget: no point starts after this (monotonic) */
};

struct point {
	const struct attach_kind *kind;
	enum attach_variant variant;
	uint64_t bytes;
};

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

struct point_result {
	enum { POINT_OK, POINT_FAILED, POINT_INTERRUPTED } status;
	char reason[ERRLEN];
	struct summary create, touch, release, total;
	double faults_create, faults_touch, pte_bytes, huge_bytes; /* medians */
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
	struct procs procs;
	char err[ERRLEN];
	memset(s, 0, sizeof *s);
	if (procs_start(&procs, &spec, 1, err) != 0) {
		snprintf(reason, ERRLEN, "%s", err);
		return -1;
	}
	procs.heartbeat[0] = &s->heartbeat;
	double stall = p->watchdog_s + WORST_SECONDS_PER_GIB * (double)pt->bytes / GIB;
	switch (procs_wait(&procs, stall, err)) {
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

static bool enough(const struct attach_plan *p, long n, uint64_t started, const double *totals,
		   double *scratch)
{
	if (n >= MAX_SAMPLES)
		return true;
	if (p->fixed_samples > 0)
		return n >= p->fixed_samples;
	if (n < MIN_SAMPLES)
		return false;
	if ((double)(monotonic_ns() - started) > p->time_limit_s * 1e9)
		return true;
	struct summary s;
	memcpy(scratch, totals, (size_t)n * sizeof *scratch);
	summarize(scratch, n, &s);
	return n >= 6 && median_is_precise(&s, p->precision);
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
	uint64_t started = monotonic_ns();
	while (!enough(p, n, started, total, scratch)) {
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

/* ---- what this machine can do ---------------------------------------------- */

/* The bracketed word of a THP setting ("always [madvise] never" -> madvise). */
static void thp_setting(const char *file, char *out, size_t size)
{
	char path[128], line[256] = "";
	snprintf(path, sizeof path, "%s/%s", THP_DIR, file);
	FILE *f = fopen(path, "re");
	snprintf(out, size, "absent");
	if (f == NULL)
		return;
	if (fgets(line, sizeof line, f)) {
		char *open = strchr(line, '['), *close = open ? strchr(open, ']') : NULL;
		if (open && close)
			snprintf(out, size, "%.*s", (int)(close - open - 1), open + 1);
	}
	fclose(f);
}

/* Why a kind cannot have transparent huge pages here, or NULL. */
static const char *thp_refused(const struct attach_plan *p, const struct attach_kind *k,
			       char *why, size_t size)
{
	if (!k->shmem) {
		if (strcmp(p->thp_enabled, "always") == 0 || strcmp(p->thp_enabled, "madvise") == 0)
			return NULL;
		snprintf(why, size, "%s/enabled is %s; as root: echo madvise > %s/enabled", THP_DIR,
			 p->thp_enabled, THP_DIR);
		return why;
	}
	if (strcmp(p->thp_shmem, "always") == 0 || strcmp(p->thp_shmem, "within_size") == 0 ||
	    strcmp(p->thp_shmem, "advise") == 0 || strcmp(p->thp_shmem, "force") == 0)
		return NULL;
	snprintf(why, size, "shared memory (shmem) gets no transparent huge pages: %s/shmem_enabled "
		 "is %s; as root: echo advise > %s/shmem_enabled", THP_DIR, p->thp_shmem, THP_DIR);
	return why;
}

/* Why a hugetlb mapping of bytes cannot be made here, or NULL. */
static const char *hugetlb_refused(const struct attach_plan *p, uint64_t bytes, char *why,
				   size_t size)
{
	char page[32];
	if (p->pool.page_bytes == 0) {
		snprintf(why, size, "this kernel has no hugetlb pages (no Hugepagesize in /proc/meminfo)");
		return why;
	}
	format_bytes(p->pool.page_bytes, page, sizeof page);
	if (bytes % p->pool.page_bytes != 0) {
		snprintf(why, size, "not a whole number of %s huge pages", page);
		return why;
	}
	long need = (long)(bytes / p->pool.page_bytes), have = hugetlb_pool_available(&p->pool);
	if (need <= have)
		return NULL;
	long want = (p->pool.total > 0 ? p->pool.total : 0) + need - have;
	if (p->pool.total <= 0) {
		/* One reason for every size, so it is said once: enough for the
		 * largest size planned. */
		long most = (long)(p->sizes[p->nsizes - 1] / p->pool.page_bytes);
		snprintf(why, size, "no huge pages are reserved (HugePages_Total is 0 in /proc/meminfo); "
			 "reserve them as root: echo %ld | sudo tee /proc/sys/vm/nr_hugepages",
			 most > 0 ? most : 1);
	} else {
		snprintf(why, size, "needs %ld huge pages of %s, %ld are free; reserve more as root: "
			 "echo %ld | sudo tee /proc/sys/vm/nr_hugepages", need, page, have, want);
	}
	return why;
}

/* Why the point cannot be measured here, or NULL. */
static const char *point_refused(const struct attach_plan *p, const struct attach_kind *k,
				 enum attach_variant v, uint64_t bytes, char *why, size_t size)
{
	if (!attach_kind_can(k, v))
		return k->why_not[v];
	if (v == VARIANT_THP)
		return thp_refused(p, k, why, size);
	if (v == VARIANT_HUGETLB)
		return hugetlb_refused(p, bytes, why, size);
	if (bytes % p->page_bytes != 0) {
		snprintf(why, size, "not a whole number of pages");
		return why;
	}
	return NULL;
}

/* ---- planning -------------------------------------------------------------- */

static const char *attach_kind_name(int i)
{
	return attach_registry[i]->name;
}

static int choose_kinds(const char *cmd, const struct attach_settings *own, struct attach_plan *p)
{
	if (own->mappings == NULL) {
		for (int i = 0; i < attach_kind_count && i < MAX_KINDS; i++)
			p->kinds[p->nkinds++] = attach_registry[i];
	} else {
		const struct name_choice c = { "mapping", "--mapping", "mapping", "mappings",
					       attach_kind_count, attach_kind_name };
		int index[MAX_KINDS];
		int n = choose_names(cmd, &c, own->mappings, index, MAX_KINDS);
		if (n < 0)
			return -1;
		for (int i = 0; i < n; i++)
			p->kinds[p->nkinds++] = attach_registry[index[i]];
	}
	if (own->variants == NULL) {
		for (int v = 0; v < VARIANT_COUNT; v++)
			p->variant[v] = true;
		return 0;
	}
	char copy[512], *save = NULL;
	snprintf(copy, sizeof copy, "%s", own->variants);
	int n = 0;
	for (char *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save), n++) {
		int v = attach_variant_from_name(name);
		if (v < 0) {
			fprintf(stderr, "cohmap %s: unknown variant '%s' (variants: plain, populate, thp, "
				"hugetlb)\n", cmd, name);
			return -1;
		}
		p->variant[v] = true;
	}
	if (n == 0) {
		fprintf(stderr, "cohmap %s: --variant names no variant\n", cmd);
		return -1;
	}
	return 0;
}

static void release(void *arg)
{
	struct attach_plan *p = arg;
	json_decref(p->budget);
	free(p);
}

static int prepare(const char *cmd, const struct options *o, const void *settings,
		   const struct topology *t, void **out, char *skip_reason)
{
	const struct attach_settings *own = settings;
	char err[ERRLEN];
	struct attach_plan *p = calloc(1, sizeof *p);
	int *cpus = calloc((size_t)t->ncpus, sizeof *cpus);
	if (p == NULL || cpus == NULL) {
		fprintf(stderr, "cohmap %s: out of memory\n", cmd);
		goto fail;
	}
	if (strcmp(o->stat, "median") != 0 && strcmp(o->stat, "min") != 0) {
		fprintf(stderr, "cohmap %s: --stat must be median or min (got '%s')\n", cmd, o->stat);
		goto fail;
	}
	p->stat = o->stat;
	if (choose_kinds(cmd, own, p) != 0)
		goto fail;
	p->page_bytes = (size_t)sysconf(_SC_PAGESIZE);
	p->mem_available = meminfo_field("MemAvailable");
	if (p->mem_available <= 0) {
		fprintf(stderr, "cohmap %s: cannot read MemAvailable from /proc/meminfo\n", cmd);
		goto fail;
	}
	uint64_t limit = (uint64_t)p->mem_available / CAP_FRACTION;
	for (p->cap = p->page_bytes; p->cap * 2 <= limit; p->cap *= 2)
		;
	if (own->sizes) {
		if ((p->nsizes = sizes_parse(own->sizes, p->sizes, MAX_SIZES, err)) < 0) {
			fprintf(stderr, "cohmap %s: %s\n", cmd, err);
			goto fail;
		}
		p->sizes_given = true;
		uint64_t largest = p->sizes[p->nsizes - 1];
		if (largest > (uint64_t)p->mem_available / 2) {
			char big[32], avail[32];
			fprintf(stderr, "cohmap %s: --sizes: %s is more than half of MemAvailable (%s)\n",
				cmd, format_bytes(largest, big, sizeof big),
				format_bytes((uint64_t)p->mem_available, avail, sizeof avail));
			goto fail;
		}
		for (int i = 0; i < p->nsizes; i++)
			if (p->sizes[i] % p->page_bytes != 0) {
				char page[32];
				fprintf(stderr, "cohmap %s: --sizes: %llu is not a whole number of %s pages\n",
					cmd, (unsigned long long)p->sizes[i],
					format_bytes(p->page_bytes, page, sizeof page));
				goto fail;
			}
	} else {
		for (uint64_t b = p->page_bytes; b < p->cap && p->nsizes < MAX_SIZES - 1; b *= DEFAULT_STEP)
			p->sizes[p->nsizes++] = b;
		p->sizes[p->nsizes++] = p->cap;
	}
	if (choose_cpus(cmd, o, t, cpus, t->ncpus, 1) < 0)
		goto fail;
	p->cpu = cpus[0];
	hugetlb_pool_read(&p->pool);
	thp_setting("enabled", p->thp_enabled, sizeof p->thp_enabled);
	thp_setting("shmem_enabled", p->thp_shmem, sizeof p->thp_shmem);
	thp_setting("defrag", p->thp_defrag, sizeof p->thp_defrag);
	p->fixed_samples = o->samples;
	p->precision = o->precision_pct / 100;
	p->time_limit_s = o->time_limit_s;
	p->watchdog_s = o->watchdog_s;
	p->seed = o->seed >= 0 ? (unsigned long)o->seed
			       : (unsigned long)((monotonic_ns() ^ (uint64_t)getpid()) & 0xffffffffu);
	free(cpus);
	/* Nothing asked for can be made here (hugetlb without a pool, THP for
	 * shared memory with shmem_enabled=never, malloc with MAP_POPULATE):
	 * that is a skip, with the first reason. */
	/* The reason to give: what this machine lacks (no huge pages, THP off)
	 * before what a kind cannot do anywhere (malloc has no MAP_POPULATE). */
	bool machine_reason = false;
	char why[ERRLEN];
	skip_reason[0] = '\0';
	for (int k = 0; k < p->nkinds; k++)
		for (int v = 0; v < VARIANT_COUNT; v++)
			for (int s = p->nsizes - 1; s >= 0 && p->variant[v]; s--) { /* largest first */
				const char *no = point_refused(p, p->kinds[k], v, p->sizes[s], why, sizeof why);
				if (no == NULL) {
					*out = p;
					return EXIT_DONE;
				}
				bool from_machine = attach_kind_can(p->kinds[k], v);
				if (skip_reason[0] == '\0' || (from_machine && !machine_reason)) {
					snprintf(skip_reason, ERRLEN, "%s %s: %s", p->kinds[k]->name,
						 attach_variant_name(v), no);
					machine_reason = from_machine;
				}
			}
	release(p);
	return EXIT_SKIPPED;
fail:
	free(cpus);
	if (p)
		release(p);
	return EXIT_USAGE;
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
	uint64_t probe_started = monotonic_ns();
	probe_costs(p, clock, &sample_s, &ns_per_byte);
	double target = budget_s * 0.7 - (double)(monotonic_ns() - probe_started) / 1e9;
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
			limit = fmin(p->time_limit_s, fmax(0.005, (target - fixed) / (nsizes * combos)));
			planned = estimate_s(p->sizes, nsizes, sample_s, ns_per_byte, limit, combos);
			fitted = planned <= target;
		}
	p->time_limit_s = limit;
	p->deadline_ns = probe_started + (uint64_t)(budget_s * 1.2 * 1e9);
	p->budget = json_pack("{s:f, s:f, s:b, s:{s:f, s:f}, s:s}", "budget_s", budget_s,
		"planned_s", planned, "fits", fitted, "probed", "sample_overhead_s", sample_s,
		"touch_ns_per_byte", ns_per_byte,
		"note", "sizes (and perhaps the cap) and the time per point were reduced to fit "
			"`cohmap run`'s budget, planned from two probe points; points still unmeasured "
			"at 1.2 x the budget are left out; `cohmap attach` measures every power of two "
			"up to the cap");
}

/* ---- results ---------------------------------------------------------------- */

static const char *const columns[] = {
	"mapping", "variant", "bytes", "status", "samples", "create_median_ns", "create_min_ns",
	"touch_median_ns", "touch_min_ns", "release_median_ns", "release_min_ns", "total_median_ns",
	"total_min_ns",
	"total_median_ms_per_gib", "total_min_ms_per_gib", "faults_create", "faults_touch",
	"faults_per_gib", "faults_source", "pte_bytes", "huge_bytes", "reason",
};
enum { NCOLUMNS = ARRAY_SIZE(columns) };

static void number(char *cell, double v, const char *fmt)
{
	if (isnan(v) || isinf(v))
		snprintf(cell, ERRLEN, "NA");
	else
		snprintf(cell, ERRLEN, fmt, v);
}

static int write_row(struct csv_writer *w, const struct point *pt, const struct point_result *r,
		     char *err)
{
	char cells[NCOLUMNS][ERRLEN];
	bool ok = r->status == POINT_OK;
	double gib = (double)pt->bytes / GIB;
	snprintf(cells[0], ERRLEN, "%s", pt->kind->name);
	snprintf(cells[1], ERRLEN, "%s", attach_variant_name(pt->variant));
	snprintf(cells[2], ERRLEN, "%llu", (unsigned long long)pt->bytes);
	snprintf(cells[3], ERRLEN, "%s", ok ? "ok" : "failed");
	snprintf(cells[4], ERRLEN, "%ld", ok ? r->total.n : 0);
	double v[] = { r->create.median, r->create.min, r->touch.median, r->touch.min,
		       r->release.median, r->release.min, r->total.median, r->total.min };
	for (int i = 0; i < 8; i++)
		number(cells[5 + i], ok ? v[i] : NAN, "%.0f");
	number(cells[13], ok ? r->total.median / 1e6 / gib : NAN, "%.4g");
	number(cells[14], ok ? r->total.min / 1e6 / gib : NAN, "%.4g");
	number(cells[15], ok ? r->faults_create : NAN, "%.0f");
	number(cells[16], ok ? r->faults_touch : NAN, "%.0f");
	number(cells[17], ok ? (r->faults_create + r->faults_touch) / gib : NAN, "%.0f");
	/* PAPI's perf::PAGE-FAULTS would go here: see fault_count_read(). */
	snprintf(cells[18], ERRLEN, "getrusage");
	number(cells[19], ok ? r->pte_bytes : NAN, "%.0f");
	number(cells[20], ok ? r->huge_bytes : NAN, "%.0f");
	snprintf(cells[21], ERRLEN, "%s", ok ? "" : r->reason);
	for (char *c = cells[21]; *c; c++)
		if (*c == ',' || *c == '"' || *c == '\n')
			*c = ';';
	const char *row[NCOLUMNS];
	for (int i = 0; i < NCOLUMNS; i++)
		row[i] = cells[i];
	return csv_writer_row(w, row, err);
}

static json_t *plan_description(const struct attach_plan *p)
{
	json_t *kinds = json_array(), *sizes = json_array(), *variants = json_array();
	for (int i = 0; i < p->nkinds; i++)
		json_array_append_new(kinds, json_pack("{s:s, s:s}", "name", p->kinds[i]->name,
						       "summary", p->kinds[i]->summary));
	for (int v = 0; v < VARIANT_COUNT; v++)
		if (p->variant[v])
			json_array_append_new(variants, json_string(attach_variant_name(v)));
	for (int i = 0; i < p->nsizes; i++)
		json_array_append_new(sizes, json_integer((json_int_t)p->sizes[i]));
	return json_pack("{s:s, s:o, s:o, s:o, s:I, s:s, s:I, s:i, s:I, s:{s:s, s:s, s:s}, "
			 "s:{s:I, s:i, s:i, s:i}, s:I, s:I, s:f, s:f, s:f, s:s, s:s, s:s}",
		"status", "running", "mappings", kinds, "variants", variants, "sizes_bytes", sizes,
		"cap_bytes", (json_int_t)p->cap,
		"cap_rule", "largest power of two <= MemAvailable / 64",
		"mem_available_bytes", (json_int_t)p->mem_available, "cpu", p->cpu,
		"page_bytes", (json_int_t)p->page_bytes,
		"transparent_hugepage", "enabled", p->thp_enabled, "shmem_enabled", p->thp_shmem,
		"defrag", p->thp_defrag,
		"hugetlb", "page_bytes", (json_int_t)p->pool.page_bytes, "total", (int)p->pool.total,
		"free", (int)p->pool.free, "reserved", (int)p->pool.reserved,
		"seed", (json_int_t)p->seed, "fixed_samples", (json_int_t)p->fixed_samples,
		"precision", p->precision, "time_limit_s", p->time_limit_s, "watchdog_s", p->watchdog_s,
		"statistic_plotted", p->stat,
		"faults_source", "getrusage (ru_minflt + ru_majflt) of the child; it also counts the "
				 "faults MAP_POPULATE takes inside mmap, which perf::PAGE-FAULTS does not",
		"values", "per sample, in a fresh child process pinned to `cpu`: create = the call(s) "
			  "that make or attach the memory; touch = one byte written per base page; "
			  "release = free, munmap or shmdt; total = create + touch; pte_bytes = VmPTE "
			  "growth over create + touch; huge_bytes = the mapping's memory in huge pages "
			  "after the touch (smaps)");
}

/* Per skipped (mapping, variant): the reason and the sizes it covers. */
static void note_skip(json_t *skipped, const struct point *pt, const char *reason)
{
	size_t i;
	json_t *e;
	json_array_foreach(skipped, i, e)
		if (strcmp(json_string_value(json_object_get(e, "mapping")), pt->kind->name) == 0 &&
		    strcmp(json_string_value(json_object_get(e, "variant")),
			   attach_variant_name(pt->variant)) == 0 &&
		    strcmp(json_string_value(json_object_get(e, "reason")), reason) == 0) {
			json_array_append_new(json_object_get(e, "sizes_bytes"),
					      json_integer((json_int_t)pt->bytes));
			return;
		}
	json_array_append_new(skipped, json_pack("{s:s, s:s, s:s, s:[I]}", "mapping", pt->kind->name,
		"variant", attach_variant_name(pt->variant), "reason", reason, "sizes_bytes",
		(json_int_t)pt->bytes));
}

static const struct point_result *find(const struct point *pts, const struct point_result *res,
				       long n, const struct attach_kind *k, enum attach_variant v,
				       uint64_t bytes)
{
	for (long i = 0; i < n; i++)
		if (pts[i].kind == k && pts[i].variant == v && pts[i].bytes == bytes &&
		    res[i].status == POINT_OK)
			return &res[i];
	return NULL;
}

/* The largest size every measured combination reached. */
static uint64_t summary_size(const struct attach_plan *p, const struct point *pts,
			     const struct point_result *res, long n)
{
	uint64_t best = 0;
	for (int i = p->nsizes - 1; i >= 0 && best == 0; i--)
		for (long j = 0; j < n; j++)
			if (pts[j].bytes == p->sizes[i] && res[j].status == POINT_OK &&
			    pts[j].kind == p->kinds[0] && pts[j].variant == VARIANT_PLAIN)
				best = p->sizes[i];
	return best ? best : p->sizes[p->nsizes - 1];
}

static void print_summary(const struct attach_plan *p, const struct point *pts,
			  const struct point_result *res, long n, json_t *skipped)
{
	uint64_t bytes = summary_size(p, pts, res, n);
	char size[32];
	double gib = (double)bytes / GIB;
	format_bytes(bytes, size, sizeof size);
	printf("\n%s, median over samples (each in a fresh process on CPU %d)\n", size, p->cpu);
	printf("%-13s %-9s %11s %11s %11s %13s %13s %10s %7s\n", "mapping", "variant", "create ms",
	       "touch ms", "release ms", "total ms/GiB", "faults/GiB", "PTE KiB", "huge %");
	for (int k = 0; k < p->nkinds; k++)
		for (int v = 0; v < VARIANT_COUNT; v++) {
			const struct point_result *r = find(pts, res, n, p->kinds[k], v, bytes);
			if (r == NULL)
				continue;
			printf("%-13s %-9s %11.3f %11.3f %11.3f %13.1f %13.0f %10.0f %7.0f\n",
			       p->kinds[k]->name, attach_variant_name(v), r->create.median / 1e6,
			       r->touch.median / 1e6, r->release.median / 1e6,
			       r->total.median / 1e6 / gib, (r->faults_create + r->faults_touch) / gib,
			       r->pte_bytes / 1024, 100 * r->huge_bytes / (double)bytes);
		}
	size_t i;
	json_t *e;
	json_array_foreach(skipped, i, e)
		printf("skipped %s %s (%zu size%s): %s\n", json_string_value(json_object_get(e, "mapping")),
		       json_string_value(json_object_get(e, "variant")),
		       json_array_size(json_object_get(e, "sizes_bytes")),
		       json_array_size(json_object_get(e, "sizes_bytes")) == 1 ? "" : "s",
		       json_string_value(json_object_get(e, "reason")));
}

static void headline(const struct attach_plan *p, const struct point *pts,
		     const struct point_result *res, long n, char *out, size_t size)
{
	uint64_t bytes = summary_size(p, pts, res, n);
	double gib = (double)bytes / GIB;
	char sz[32], part[160];
	format_bytes(bytes, sz, sizeof sz);
	snprintf(out, size, "%s, create + first touch (median ms per GiB):", sz);
	const struct attach_kind *k = attach_kind_find("mmap_private");
	for (int v = 0; v < VARIANT_COUNT; v++) {
		const struct point_result *r = k ? find(pts, res, n, k, v, bytes) : NULL;
		if (r == NULL)
			continue;
		snprintf(part, sizeof part, " mmap_private %s %.0f (%.0f faults/GiB);",
			 attach_variant_name(v), r->total.median / 1e6 / gib,
			 (r->faults_create + r->faults_touch) / gib);
		strncat(out, part, size - strlen(out) - 1);
	}
	const struct point_result *slow = NULL;
	const struct point *slow_pt = NULL;
	for (long i = 0; i < n; i++)
		if (pts[i].bytes == bytes && res[i].status == POINT_OK &&
		    (slow == NULL || res[i].total.median > slow->total.median))
			slow = &res[i], slow_pt = &pts[i];
	if (slow) {
		snprintf(part, sizeof part, " slowest %s %s %.0f", slow_pt->kind->name,
			 attach_variant_name(slow_pt->variant), slow->total.median / 1e6 / gib);
		strncat(out, part, size - strlen(out) - 1);
	}
}

static int draw(struct run *r, const struct attach_plan *p, const char **plots)
{
	char err[ERRLEN], why[ERRLEN], list[512] = "";
	if (!plot_gnuplot_available(why, sizeof why)) {
		run_warn(r, "attach: no plot drawn: %s; the CSV is complete", why);
		return -1;
	}
	for (int i = 0; i < p->nkinds; i++) {
		size_t used = strlen(list);
		snprintf(list + used, sizeof list - used, "%s%s", i ? " " : "", p->kinds[i]->name);
	}
	if (plot_attach_figures(r->dir, list, p->stat, plots, err) < 0) {
		run_warn(r, "attach: %s", err);
		return -1;
	}
	return 0;
}

static int measure(struct run *r, void *arg, double budget_s)
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
	json_t *exp = plan_description(p);
	json_object_set_new(json_object_get(r->meta, "experiments"), "attach", exp);
	/* Other programs running now would share the agents' CPUs: say so. */
	double busy = procs_busy_tasks();
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	json_object_set_new(exp, "other_running_tasks_at_start", json_real(busy));
	if (online > 0 && busy >= 0.5 * (double)online)
		run_warn(r, "attach: the machine is busy (%.0f other tasks running on %ld CPUs): they "
			 "share the CPUs, and the times measured include waiting for them", busy, online);
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
				const char *no = point_refused(p, pt.kind, v, pt.bytes, why, sizeof why);
				if (no)
					note_skip(skipped, &pt, no);
				else
					pts[n++] = pt;
			}
		}
	shuffle(pts, (size_t)n, sizeof *pts, p->seed);
	if (csv_writer_open(&csv, run_path(r, "attach.csv", path, sizeof path), columns, NCOLUMNS,
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
		if (write_row(&csv, &pts[i], &res[i], err) != 0) {
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
	json_object_set_new(exp, "points_planned", json_integer(n));
	json_object_set_new(exp, "points_measured", json_integer(done));
	json_object_set_new(exp, "points_failed", json_integer(failed));
	json_object_set_new(exp, "points_left_out_by_budget", json_integer(left_out));
	if (cohmap_interrupted) {
		json_object_set_new(exp, "status", json_string("interrupted"));
		fprintf(stderr, "cohmap: interrupted after %ld of %ld points; they are in %s\n", done, n,
			r->dir);
		exit_code = EXIT_INTERRUPTED;
		goto out;
	}
	json_object_set_new(exp, "status", json_string("complete"));
	if (!r->quiet)
		print_summary(p, pts, res, done, skipped);
	exit_code = n > 0 && failed == n ? EXIT_RUNTIME : EXIT_DONE;
	const char *plots[3] = { NULL };
	if (done > failed && draw(r, p, plots) != 0 && exit_code == EXIT_DONE)
		exit_code = EXIT_PARTIAL;
	if (!r->quiet)
		for (int i = 0; plots[i]; i++)
			printf("%s %s/%s\n", i == 0 ? "\nplots:" : "      ", r->dir, plots[i]);
	headline(p, pts, res, done, line, sizeof line);
	const char *csvs[] = { "attach.csv", NULL };
	experiment_describe(r, "attach", csvs, plots, line);
out:
	if (csv.fd >= 0)
		csv_writer_close(&csv, err);
	free(pts);
	free(res);
	return exit_code;
}

static int redraw(const char *dir, const struct topology *t, const char *stat, char *err)
{
	(void)t;
	const char *images[4];
	return plot_attach_figures(dir, NULL, stat, images, err);
}

const struct experiment experiment_attach = {
	.name = "attach",
	.summary = "what getting memory costs: malloc, mmap, SysV, POSIX shm, memfd; create, first "
		   "touch, page faults, page tables; 4 KiB pages, MAP_POPULATE, THP, hugetlb "
		   "(attach.csv, attach.png, attach-phases.png)",
	.examples = "  cohmap attach                            # a page to MemAvailable/64, every mapping and variant\n"
		    "  cohmap attach --mapping mmap_private,sysv --variant plain,thp --sizes 4K-256M\n"
		    "  cohmap attach -c 1 --sizes 1G -n 5 --stat min\n",
	.shared_options = attach_shared_options,
	.options = attach_options,
	.option_count = ARRAY_SIZE(attach_options),
	.settings_size = sizeof(struct attach_settings),
	.title = "What getting memory costs",
	.shows = "Every way of getting memory (malloc, mmap, SysV shm, POSIX shm, memfd) with base pages, "
		 "MAP_POPULATE, transparent or hugetlb huge pages, from 4 KiB upwards: the time to create "
		 "or attach it, to touch every page the first time and to release it, with the page "
		 "faults taken and the page-table memory grown. Each sample runs in a fresh process.",
	.read = "Axes are logarithmic. Creating a mapping is one system call whatever its size; the "
		 "first touch pays a page fault per page, so it grows with the size and shrinks with "
		 "huge pages by the ratio of the page sizes. MAP_POPULATE moves that cost from the touch "
		 "into the creation.",
	.csv = attach_csv,
	.figures = attach_figures,
	.prepare = prepare,
	.measure = measure,
	.release = release,
	.draw = redraw,
};

