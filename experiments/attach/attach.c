/* `cohmap attach`: what getting memory costs. For every way of getting it
 * (kernels/attach.c), every variant of how the pages come and sizes from
 * 4 KiB to a cap derived from MemAvailable: the time to create or attach it,
 * to touch every page the first time, and to release it; the page faults it
 * took and the page-table memory it grew. Each sample runs in a fresh child
 * process: a process that has allocated before (malloc's free lists and
 * thresholds, page tables left from earlier mappings) would hand out memory
 * whose first touch was already paid for. Writes attach.csv, meta.json's
 * experiments.attach, attach.png and attach-phases.png.
 *
 * This file: the options, the plan made from them, and the descriptor. What
 * this machine allows is in attach_machine.c, the samples and the points in
 * attach_run.c, the CSV rows and summary in attach_report.c. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/selection.h"
#include "base/common.h"
#include "experiments/experiment.h"
#include "base/memory.h"
#include "base/sizelist.h"
#include "base/timing.h"
#include "kernels/attach.h"
#include "experiments/attach/attach.h"
#include "experiments/attach/attach_plot.h"

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
	if (option_check_stat(cmd, o->stat) != 0)
		goto fail;
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
	attach_thp_setting("enabled", p->thp_enabled, sizeof p->thp_enabled);
	attach_thp_setting("shmem_enabled", p->thp_shmem, sizeof p->thp_shmem);
	attach_thp_setting("defrag", p->thp_defrag, sizeof p->thp_defrag);
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
				const char *no = attach_point_refused(p, p->kinds[k], v, p->sizes[s], why, sizeof why);
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
	.measure = attach_measure,
	.release = release,
	.draw = redraw,
};

