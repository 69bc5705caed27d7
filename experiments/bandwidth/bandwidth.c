/* The bandwidth experiment's plan: kernels, CPUs, sizes (from the caches the
 * topology reports, or --sizes), the matrix size, the chunk, where the ring
 * lives, and whether it all fits in memory. Everything is checked here,
 * before a results directory exists. The measuring is in experiments/bandwidth/bandwidth_run.c. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "experiments/bandwidth/bandwidth.h"
#include "experiments/bandwidth/bandwidth_plot.h"
#include "harness/selection.h"
#include "base/common.h"
#include "experiments/experiment.h"
#include "base/memory.h"
#include "base/sizelist.h"

/* The bandwidth experiment's own options. */
struct bandwidth_settings {
	const char *sizes;
	const char *matrix_size;
	const char *chunk;
	const char *producer;
	const char *consumers;
};

#define AT(field) offsetof(struct bandwidth_settings, field)
static const struct option_def bandwidth_options[] = {
	{ "sizes", 0, OPT_STRING, "SIZES", NULL, 0, 0,
	  "sizes in bytes: a list (64,4K,1M) or MIN-MAX, doubling (64-64M); K, M, G are KiB, MiB, GiB", AT(sizes) },
	{ "matrix-size", 0, OPT_STRING, "SIZE", NULL, 0, 0,
	  "ring size of the CPU-pair matrix (default: a quarter of one L2)", AT(matrix_size) },
	{ "chunk", 0, OPT_STRING, "SIZE", NULL, 0, 0,
	  "bytes handed over at a time, a multiple of two cache lines (default: a power of two, at most a quarter of L1d)", AT(chunk) },
	{ "producer", 0, OPT_STRING, "KERNEL", "write", 0, 0,
	  "how the producer fills a chunk: write, or write_nt (non-temporal stores)", AT(producer) },
	{ "consumer", 0, OPT_STRING, "LIST", NULL, 0, 0,
	  "what the consumer does with a chunk: read, copy, memcpy, copy_nt (default: copy,read)", AT(consumers) },
};
#undef AT

static const char *const bandwidth_shared_options[] = {
	"cpus", "home", "agents", "pause", "samples", "precision", "time-limit", "sample-us", "watchdog", "stat", "seed", "output", "topology", "quiet", "help", NULL,
};

static const char *const bandwidth_csv[] = { "bandwidth.csv", NULL };
static const char *const bandwidth_figures[] = { "bandwidth-%s.png", "bandwidth-matrix-%s.png", NULL };


#define DEFAULT_CONSUMERS "copy,read"

static void release(void *arg)
{
	struct bandwidth_plan *plan = arg;
	free((void *)plan->cpus);
	free(plan);
}

/* --consumer LIST, each a consumer kernel this CPU can run. */
static int choose_consumers(const char *cmd, const char *list, struct bandwidth_plan *p,
			    char *skip_reason)
{
	char copy[256], *save = NULL;
	if (strlen(list) >= sizeof copy) {
		fprintf(stderr, "cohmap %s: --consumer is too long\n", cmd);
		return EXIT_USAGE;
	}
	snprintf(copy, sizeof copy, "%s", list);
	for (char *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		const struct stream_kernel *k = stream_kernel_find(name);
		if (k == NULL || stream_is_producer(k)) {
			fprintf(stderr, "cohmap %s: --consumer: '%s' is not a consumer kernel "
				"(read, copy, memcpy, copy_nt)\n", cmd, name);
			return EXIT_USAGE;
		}
		for (int i = 0; i < p->nconsumers; i++)
			if (p->consumers[i] == k) {
				fprintf(stderr, "cohmap %s: --consumer names '%s' twice\n", cmd, name);
				return EXIT_USAGE;
			}
		char why[ERRLEN];
		if (!stream_kernel_available(k, why, sizeof why)) {
			snprintf(skip_reason, ERRLEN, "consumer %s: %s", k->name, why);
			return EXIT_SKIPPED;
		}
		if (p->nconsumers == (int)ARRAY_SIZE(p->consumers)) {
			fprintf(stderr, "cohmap %s: --consumer names too many kernels\n", cmd);
			return EXIT_USAGE;
		}
		p->consumers[p->nconsumers++] = k;
	}
	if (p->nconsumers == 0) {
		fprintf(stderr, "cohmap %s: --consumer names no kernel\n", cmd);
		return EXIT_USAGE;
	}
	return EXIT_DONE;
}

/* One size option: at least two chunks of two cache lines (the smallest
 * ring). */
static int size_option(const char *cmd, const char *option, const char *text, size_t min,
		       size_t *bytes)
{
	char label[32], err[ERRLEN];
	uint64_t value;
	if (parse_bytes(text, &value, err) != 0 || value == 0) {
		fprintf(stderr, "cohmap %s: --%s: '%s' is not a size (use bytes or K, M, G: 4096, 64K, 1M)\n",
			cmd, option, text);
		return -1;
	}
	if (value < min) {
		format_bytes(min, label, sizeof label);
		fprintf(stderr, "cohmap %s: --%s %s is below the smallest ring (%s: two chunks of two cache lines)\n",
			cmd, option, text, label);
		return -1;
	}
	*bytes = (size_t)value;
	return 0;
}

static int prepare(const char *cmd, const struct options *o, const void *settings,
		   const struct topology *t, void **out, char *skip_reason)
{
	const struct bandwidth_settings *own = settings;
	char err[ERRLEN], label[32], avail[32];
	struct bandwidth_plan *plan = calloc(1, sizeof *plan);
	int *cpus = calloc((size_t)t->ncpus, sizeof *cpus);
	int rc = EXIT_USAGE;
	size_t line = (size_t)t->line_size, min_chunk = ring_min_chunk(line);

	if (plan == NULL || cpus == NULL) {
		fprintf(stderr, "cohmap %s: out of memory\n", cmd);
		free(cpus);
		goto fail;
	}
	plan->cpus = cpus;
	if (option_check_stat(cmd, o->stat) != 0)
		goto fail;
	plan->stat = o->stat;

	plan->producer = stream_kernel_find(own->producer);
	if (plan->producer == NULL || !stream_is_producer(plan->producer)) {
		fprintf(stderr, "cohmap %s: --producer must be write or write_nt (got '%s')\n", cmd,
			own->producer);
		goto fail;
	}
	if (!stream_kernel_available(plan->producer, err, sizeof err)) {
		snprintf(skip_reason, ERRLEN, "producer %s: %s", plan->producer->name, err);
		rc = EXIT_SKIPPED;
		goto fail;
	}
	if ((rc = choose_consumers(cmd, own->consumers ? own->consumers : DEFAULT_CONSUMERS, plan,
				   skip_reason)) != EXIT_DONE)
		goto fail;
	rc = EXIT_USAGE;

	/* One CPU is enough: the same-core baseline alone. */
	if ((plan->ncpus = choose_cpus(cmd, o, t, cpus, t->ncpus, 1)) < 0)
		goto fail;
	if (parse_home(o->home, t, &plan->home, &plan->home_node, err) != 0) {
		fprintf(stderr, "cohmap %s: %s\n", cmd, err);
		goto fail;
	}
	int agents = o->agents ? agent_kind_from_name(o->agents) : AGENTS_THREADS;
	if (agents < 0) {
		fprintf(stderr, "cohmap %s: --agents must be thread, fork-shared, sysv, posix or memfd (got '%s')\n",
			cmd, o->agents);
		goto fail;
	}

	/* The chunk: at most a quarter of L1d by default, so the chunk the
	 * producer just wrote and the consumer's copy of it both fit in L1; a
	 * power of two, so that power-of-two buffers hold whole chunks. */
	size_t wanted = min_chunk;
	while (wanted * 2 <= (t->l1d_bytes ? t->l1d_bytes / 4 : 64 * line))
		wanted *= 2;
	if (own->chunk && size_option(cmd, "chunk", own->chunk, min_chunk, &wanted) != 0)
		goto fail;
	if (own->chunk && wanted % min_chunk != 0) {
		fprintf(stderr, "cohmap %s: --chunk must be a multiple of %zu bytes (two cache lines), got %s\n",
			cmd, min_chunk, own->chunk);
		goto fail;
	}
	plan->chunk_bytes = wanted / min_chunk * min_chunk;
	if (plan->chunk_bytes < min_chunk)
		plan->chunk_bytes = min_chunk;

	if (own->sizes) {
		plan->sizes_given = true;
		uint64_t sizes[BANDWIDTH_MAX_SIZES];
		if ((plan->nsizes = sizes_parse(own->sizes, sizes, BANDWIDTH_MAX_SIZES, err)) < 0) {
			fprintf(stderr, "cohmap %s: %s\n", cmd, err);
			goto fail;
		}
		for (int i = 0; i < plan->nsizes; i++)
			plan->sizes[i] = (size_t)sizes[i];
		for (int i = 0; i < plan->nsizes; i++)
			if (plan->sizes[i] < 2 * min_chunk) {
				format_bytes(plan->sizes[i], label, sizeof label);
				format_bytes(2 * min_chunk, avail, sizeof avail);
				fprintf(stderr, "cohmap %s: --sizes: %s is below the smallest ring (%s: two chunks "
					"of two cache lines)\n", cmd, label, avail);
				goto fail;
			}
	} else {
		plan->nsizes = bandwidth_default_sizes(t, cpus, plan->ncpus, plan->sizes,
						       BANDWIDTH_MAX_SIZES);
	}
	/* The matrix: a quarter of one L2 by default, so the ring and the
	 * consumer's copy both fit in one core's L2 and what the matrix shows
	 * is traffic between cores, not memory. */
	plan->matrix_bytes = t->l2_bytes ? t->l2_bytes / 4 : 4 * plan->chunk_bytes;
	if (plan->matrix_bytes < 2 * min_chunk)
		plan->matrix_bytes = 2 * min_chunk;
	if (own->matrix_size &&
	    size_option(cmd, "matrix-size", own->matrix_size, 2 * min_chunk, &plan->matrix_bytes) != 0)
		goto fail;

	plan->measure = measure_options_from(o, (enum agent_kind)agents, line);

	/* Memory: the largest job's ring, plus its private copy when a consumer
	 * copies. A size the user asked for that does not fit is refused; a
	 * derived one is left out (with a note), keeping half the memory free. */
	bool copies = false;
	for (int i = 0; i < plan->nconsumers; i++)
		copies |= plan->consumers[i]->op == STREAM_COPY;
	struct ring_job probe = { .consumer = copies ? &stream_copy : &stream_read };
	plan->memory_available = meminfo_field("MemAvailable");
	size_t limit = plan->memory_available < 0 ? SIZE_MAX : (size_t)plan->memory_available;
	for (int i = 0; i <= plan->nsizes; i++) {
		bool matrix = i == plan->nsizes;
		size_t chunk, requested = matrix ? plan->matrix_bytes : plan->sizes[i];
		probe.buffer_bytes = ring_fit(requested, plan->chunk_bytes, line, &chunk);
		size_t need = ring_memory_needed(&probe, &plan->measure);
		bool given = matrix ? own->matrix_size != NULL : plan->sizes_given;
		if (given && need > limit) {
			format_bytes(requested, label, sizeof label);
			format_bytes(limit, avail, sizeof avail);
			char needed[32];
			format_bytes(need, needed, sizeof needed);
			fprintf(stderr, "cohmap %s: a %s buffer needs %s of memory (the ring%s); only %s is "
				"available (MemAvailable)\n", cmd, label, needed,
				copies ? " and the consumer's private copy" : "", avail);
			goto fail;
		}
		if (!given && need > limit / 2) {
			format_bytes(requested, label, sizeof label);
			snprintf(plan->sizes_note, sizeof plan->sizes_note,
				 "sizes from %s up were left out of the sweep: they need more than half "
				 "of the available memory", label);
			plan->nsizes = i;
			break;
		}
		plan->memory_needed = need > plan->memory_needed ? need : plan->memory_needed;
	}
	if (plan->nsizes == 0 && !plan->sizes_given) {
		fprintf(stderr, "cohmap %s: not even the smallest buffer fits in the available memory\n", cmd);
		goto fail;
	}

	if (bandwidth_parse_test_hook(getenv("COHMAP_TEST_CORRUPT"), &plan->hook, err) != 0) {
		fprintf(stderr, "cohmap %s: %s\n", cmd, err);
		goto fail;
	}
	plan->seed = options_seed(o);
	*out = plan;
	return EXIT_DONE;
fail:
	if (plan)
		release(plan);
	return rc;
}

static int measure(struct run *r, void *arg, double budget_s)
{
	return bandwidth_experiment(r, arg, budget_s);
}

static int draw(const char *dir, const struct topology *t, const char *stat, char *err)
{
	char images[32][BANDWIDTH_PLOT_NAME];
	return plot_bandwidth(dir, t, stat, images, 32, err);
}

const struct experiment experiment_bandwidth = {
	.name = "bandwidth",
	.summary = "producer -> consumer bandwidth by buffer size and CPU pair, with the same-core "
		   "baseline (bandwidth.csv, bandwidth-*.png)",
	.examples = "  cohmap bandwidth                        # sizes from the caches, every pair class\n"
		    "  cohmap bandwidth -c 0,1 --consumer copy,memcpy,copy_nt --sizes 16K,256K,64M\n"
		    "  cohmap bandwidth -c 0 --consumer copy --sizes 256K -n 20   # same core only\n"
		    "  cohmap bandwidth -c S0:0-7 --matrix-size 64K --home second --stat min\n",
	.shared_options = bandwidth_shared_options,
	.options = bandwidth_options,
	.option_count = ARRAY_SIZE(bandwidth_options),
	.settings_size = sizeof(struct bandwidth_settings),
	.title = "Producer-to-consumer bandwidth",
	.shows = "A producer CPU writes a buffer and a consumer CPU reads or copies it, for buffer sizes "
		 "from inside the L1 cache to beyond the last-level cache. GB/s counts the bytes the loops "
		 "load and store.",
	.read = "Steps in the curves sit at cache sizes: while the buffer fits in a cache both CPUs reach, "
		 "the consumer takes the lines from the producer's cache; past the last-level cache they "
		 "go through memory. Compare pair classes at the same size to see what sharing a cache "
		 "is worth.",
	.csv = bandwidth_csv,
	.figures = bandwidth_figures,
	.prepare = prepare,
	.measure = measure,
	.release = release,
	.draw = draw,
};

