/* The fork experiment's options: which mapping kinds, which sizes, how many
 * forks, and the page-table census; every size is checked against
 * MemAvailable before anything is written. The measuring is in
 * experiments/fork/fork_run.c and experiments/fork/fork_probe.c. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/selection.h"
#include "base/common.h"
#include "experiments/experiment.h"
#include "experiments/fork/fork.h"
#include "experiments/fork/fork_plot.h"
#include "base/sizelist.h"

/* The fork experiment's own options. */
struct fork_settings {
	const char *mappings;
	const char *sizes;
	const char *max_size;
	long repeat;
	long processes;
	const char *segment;
};

#define AT(field) offsetof(struct fork_settings, field)
static const struct option_def fork_options[] = {
	{ "mapping", 0, OPT_STRING, "LIST", NULL, 0, 0,
	  "mapping kinds: private_untouched, private_touched, private_thp, shared_anon, sysv_shm, "
	  "tmpfs_shared, hugetlb_shared (default: all)", AT(mappings) },
	{ "sizes", 0, OPT_STRING, "SIZES", NULL, 0, 0,
	  "mapping sizes in bytes: a list (64K,1M) or MIN-MAX, doubling (1M-1G); K, M, G are KiB, MiB, GiB "
	  "(default: 1M, then x4 up to --max-size)", AT(sizes) },
	{ "max-size", 0, OPT_STRING, "SIZE", NULL, 0, 0,
	  "the largest of the default sizes, 1M then x4 up to it (default: 4G, less when MemAvailable is short)", AT(max_size) },
	{ "repeat", 0, OPT_LONG, "N", "7", 1, 1000,
	  "forks and spawns timed per mapping kind and size; touch passes up to N, within 0.5 s", AT(repeat) },
	{ "processes", 0, OPT_LONG, "N", NULL, 1, 4096,
	  "page-table census with 1, 2, 4 ... N processes (default: 64, fewer when memory is short)", AT(processes) },
	{ "segment", 0, OPT_STRING, "SIZE", NULL, 0, 0,
	  "the shared segment each census process maps (default: 1G, less when memory is short)", AT(segment) },
};
#undef AT

static const char *const fork_shared_options[] = {
	"output", "topology", "quiet", "help", NULL,
};

static const char *const fork_csv[] = { "fork.csv", "pagetables.csv", NULL };
static const char *const fork_figures[] = { "fork.png", "fork-touch.png", "fork-spawn.png", "pagetables.png", NULL };


/* The default sizes: 1 MiB, then x4 up to the largest (4 GiB unless memory
 * is short): logarithmic steps, and few of them, because on a virtual
 * machine one page fault can cost ~10 us and the big sizes take seconds. */
#define DEFAULT_SMALLEST (1ull << 20)
#define DEFAULT_LARGEST (4ull << 30)
#define SIZE_STEP 4
/* A run with the default sizes stops before a size that would not fit in
 * this time (the last size level predicts the next; see experiments/fork/fork_run.c):
 * on a machine whose page faults are fast every default size fits, on a
 * virtual machine where one costs 10-30 us the 4 GiB level alone would take
 * a quarter of an hour. --sizes and --max-size are always measured whole. */
#define DEFAULT_TIME_BUDGET_S 600
#define DEFAULT_SEGMENT (1ull << 30)
#define DEFAULT_PROCESSES 64
/* What one census process costs besides its page tables (its own stack,
 * the pages it copies from cohmap): a generous bound, for the memory check. */
#define CENSUS_PROCESS_OVERHEAD (4ull << 20)

static void release(void *arg)
{
	struct fork_plan *plan = arg;
	if (plan)
		free(plan->kinds);
	free(plan);
}

static const char *mapping_name(int i)
{
	return mapping_registry[i]->name;
}

/* --mapping LIST, or every kind. */
static int choose_kinds(const char *cmd, const char *list, const struct mapping_kind **chosen)
{
	int n = 0;
	if (list == NULL) {
		for (int i = 0; i < mapping_count; i++)
			chosen[n++] = mapping_registry[i];
		return n;
	}
	const struct name_choice c = { "mapping kind", "--mapping", "kind", "known", mapping_count,
				       mapping_name };
	int *index = malloc((size_t)mapping_count * sizeof *index);
	n = index ? choose_names(cmd, &c, list, index, mapping_count) : -1;
	for (int i = 0; i < n; i++)
		chosen[i] = mapping_registry[index[i]];
	free(index);
	return n;
}

static uint64_t largest_need(const struct fork_plan *p, uint64_t bytes)
{
	uint64_t need = 0;
	for (int k = 0; k < p->nkinds; k++) {
		uint64_t n = fork_cell_memory(p->kinds[k], bytes);
		need = n > need ? n : need;
	}
	return need;
}

static uint64_t census_need(uint64_t segment, long processes)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	return segment + (uint64_t)processes *
		(pagetable_model_bytes(segment, page) + CENSUS_PROCESS_OVERHEAD);
}

/* "does not fit in memory: needs 8 GiB, 75% of MemAvailable is 17 GiB" */
static void no_fit(const char *cmd, const char *what, uint64_t need, uint64_t allowance)
{
	char a[32], b[32];
	fprintf(stderr, "cohmap %s: %s does not fit in memory: it needs %s, and the experiment may "
		"use %s of MemAvailable\n", cmd, what, format_bytes(need, a, sizeof a),
		format_bytes(allowance, b, sizeof b));
}

static int choose_sizes(const char *cmd, const struct fork_settings *own, struct fork_plan *p,
			uint64_t allowance)
{
	char err[ERRLEN], what[ERRLEN], text[32];
	p->sizes[0] = 0; /* the baseline: fork() with no mapping */
	if (own->sizes) {
		if (own->max_size) {
			fprintf(stderr, "cohmap %s: give --sizes or --max-size, not both\n", cmd);
			return -1;
		}
		int n = sizes_parse(own->sizes, p->sizes + 1, FORK_MAX_SIZES - 1, err);
		if (n < 0) {
			fprintf(stderr, "cohmap %s: %s\n", cmd, err);
			return -1;
		}
		for (int i = 1; i <= n; i++) {
			uint64_t need = largest_need(p, p->sizes[i]);
			if (need > allowance) {
				snprintf(what, sizeof what, "--sizes %s", format_bytes(p->sizes[i], text, sizeof text));
				no_fit(cmd, what, need, allowance);
				return -1;
			}
		}
		p->nsizes = n + 1;
		p->sizes_given = true;
		return 0;
	}
	uint64_t largest = DEFAULT_LARGEST;
	if (own->max_size) {
		if (parse_bytes(own->max_size, &largest, err) != 0) {
			fprintf(stderr, "cohmap %s: --max-size: %s\n", cmd, err);
			return -1;
		}
		if (largest == 0) {
			fprintf(stderr, "cohmap %s: --max-size must be more than 0\n", cmd);
			return -1;
		}
		uint64_t need = largest_need(p, largest);
		if (need > allowance) {
			snprintf(what, sizeof what, "--max-size %s", format_bytes(largest, text, sizeof text));
			no_fit(cmd, what, need, allowance);
			return -1;
		}
	} else {
		/* The default shrinks to what fits: halving keeps it a power of two. */
		while (largest > DEFAULT_SMALLEST && largest_need(p, largest) > allowance)
			largest /= 2;
	}
	int n = 1;
	for (uint64_t s = DEFAULT_SMALLEST; s <= largest && n < FORK_MAX_SIZES; s *= SIZE_STEP)
		p->sizes[n++] = s;
	if (p->sizes[n - 1] != largest && n < FORK_MAX_SIZES)
		p->sizes[n++] = largest;
	p->nsizes = n;
	p->sizes_given = own->max_size != NULL;
	return 0;
}

static int choose_census(const char *cmd, const struct fork_settings *own, struct fork_plan *p,
			 uint64_t allowance)
{
	char err[ERRLEN], what[ERRLEN], text[32];
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	p->segment = DEFAULT_SEGMENT;
	p->processes = DEFAULT_PROCESSES;
	if (own->segment) {
		if (parse_bytes(own->segment, &p->segment, err) != 0) {
			fprintf(stderr, "cohmap %s: --segment: %s\n", cmd, err);
			return -1;
		}
		if (p->segment == 0 || p->segment % page != 0) {
			fprintf(stderr, "cohmap %s: --segment must be a positive whole number of %zu-byte "
				"pages (got '%s')\n", cmd, page, own->segment);
			return -1;
		}
		p->segment_given = true;
	}
	if (own->processes > 0) {
		p->processes = (int)own->processes;
		p->processes_given = true;
	}
	/* Shrink what was not asked for (when it does not fit): first the
	 * process count, then the segment, never below one process of one page
	 * table's worth. */
	while (!p->processes_given && p->processes > 1 && census_need(p->segment, p->processes) > allowance)
		p->processes /= 2;
	while (!p->segment_given && p->segment > page * 512 && census_need(p->segment, p->processes) > allowance)
		p->segment /= 2;
	if (census_need(p->segment, p->processes) > allowance) {
		snprintf(what, sizeof what, "a census of %d processes x %s", p->processes,
			 format_bytes(p->segment, text, sizeof text));
		no_fit(cmd, what, census_need(p->segment, p->processes), allowance);
		return -1;
	}
	return 0;
}

static int prepare(const char *cmd, const struct options *o, const void *settings,
		   const struct topology *t, void **out, char *skip_reason)
{
	const struct fork_settings *own = settings;
	(void)o;
	(void)t;
	char err[ERRLEN];
	struct fork_plan *plan = calloc(1, sizeof *plan);
	const struct mapping_kind **kinds = calloc((size_t)mapping_count, sizeof *kinds);
	if (plan == NULL || kinds == NULL) {
		fprintf(stderr, "cohmap %s: out of memory\n", cmd);
		free(kinds);
		release(plan);
		return EXIT_RUNTIME;
	}
	plan->kinds = kinds;
	if ((plan->nkinds = choose_kinds(cmd, own->mappings, kinds)) < 0)
		goto usage;
	plan->mem_available = meminfo_field("MemAvailable");
	if (plan->mem_available < 0) {
		set_error(skip_reason, "/proc/meminfo has no MemAvailable (Linux 3.14 and later have it)");
		release(plan);
		return EXIT_SKIPPED;
	}
	uint64_t allowance = fork_memory_allowance(plan->mem_available);
	if (choose_sizes(cmd, own, plan, allowance) != 0 || choose_census(cmd, own, plan, allowance) != 0)
		goto usage;
	plan->repeat = (int)own->repeat;
	if (find_exec_target(plan->exec_path, sizeof plan->exec_path, err) != 0)
		plan->exec_path[0] = '\0'; /* the spawn rows say why */
	*out = plan;
	return EXIT_DONE;
usage:
	release(plan);
	return EXIT_USAGE;
}

static int measure(struct run *r, void *arg, double budget_s)
{
	struct fork_plan *p = arg;
	char largest[32], segment[32], note[ERRLEN] = "";
	p->in_suite = budget_s > 0;
	if (budget_s > 0)
		snprintf(note, sizeof note, "\n  (the sizes stop where the next would not fit in the "
			 "%.0f s budget)", budget_s);
	else if (!p->sizes_given) {
		budget_s = DEFAULT_TIME_BUDGET_S;
		uint64_t top = p->sizes[p->nsizes - 1];
		int shift = top % (1ull << 30) == 0 ? 30 : top % (1ull << 20) == 0 ? 20 : 10;
		snprintf(note, sizeof note, "\n  (the sizes stop where the next would not fit in %.0f "
			 "minutes; --max-size %llu%c measures all of them)", budget_s / 60,
			 (unsigned long long)(top >> shift), shift == 30 ? 'G' : shift == 20 ? 'M' : 'K');
	}
	if (!r->quiet) {
		printf("\nfork: %d mapping kinds x %d sizes up to %s, %d forks each; page tables: up to "
		       "%d processes x %s%s\n", p->nkinds, p->nsizes - 1,
		       format_bytes(p->sizes[p->nsizes - 1], largest, sizeof largest), p->repeat,
		       p->processes, format_bytes(p->segment, segment, sizeof segment), note);
		fflush(stdout);
	}
	return fork_experiment(r, p, budget_s);
}

static int draw(const char *dir, const struct topology *t, const char *stat, char *err)
{
	(void)t, (void)stat;
	return plot_fork_figures(dir, NULL, err);
}

const struct experiment experiment_fork = {
	.name = "fork",
	.summary = "fork() against mapping size and kind, the child's later touches, spawning, "
		   "page tables of N processes (fork.csv, pagetables.csv, PNGs)",
	.examples = "  cohmap fork                                  # every kind, 1 MiB to 4 GiB: minutes on a VM\n"
		    "  cohmap fork --sizes 1M,64M,1G --repeat 5\n"
		    "  cohmap fork --mapping private_touched,shared_anon --max-size 1G\n"
		    "  cohmap fork --sizes 4M --processes 16 --segment 256M -o results/pagetables\n"
		    "  echo 600 > /proc/sys/vm/nr_hugepages   # as root: hugetlb_shared and the hugetlb census\n",
	.shared_options = fork_shared_options,
	.options = fork_options,
	.option_count = ARRAY_SIZE(fork_options),
	.settings_size = sizeof(struct fork_settings),
	.title = "fork() against the mappings",
	.shows = "What fork() costs against the size and kind of the parent's mappings (private or "
		 "shared, base or huge pages), what the child pays afterwards when it first reads and "
		 "writes them, fork+exec against vfork and posix_spawn, and how much page-table memory "
		 "processes spend mapping one shared segment.",
	.read = "Axes are logarithmic: a line of slope 1 means a cost proportional to the size. fork() "
		 "copies page tables, so its time grows with what is mapped; huge pages need fewer "
		 "tables. After fork, every write to a private page takes a copy-on-write fault.",
	.csv = fork_csv,
	.figures = fork_figures,
	.prepare = prepare,
	.measure = measure,
	.release = release,
	.draw = draw,
};

