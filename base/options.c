#include "base/options.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define AT(field) offsetof(struct options, field)

static const struct option_def option_table[] = {
	{ "cpus", 'c', OPT_STRING, "EXPR", NULL, 0, 0,
	  "CPUs to measure, in likwid's syntax: 0,2,4  0-7  S0:0-3  N:0-7  E:N:4 (default: all allowed)", AT(cpus) },
	{ "kernel", 'k', OPT_STRING, "LIST", NULL, 0, 0,
	  "comma-separated kernels (default: every latency kernel; see `cohmap list`)", AT(kernels) },
	{ "home", 0, OPT_STRING, "WHERE", "first", 0, 0,
	  "NUMA node of the shared lines: first (the initiator's node), second, or a node number", AT(home) },
	{ "pause", 0, OPT_FLAG, NULL, NULL, 0, 0, "spin with the CPU's pause hint while waiting", AT(pause) },
	{ "samples", 'n', OPT_LONG, "N", NULL, 5, 1000000,
	  "take exactly N samples per pair (reproducible; no stopping rule)", AT(samples) },
	{ "precision", 0, OPT_DOUBLE, "PCT", "2", 0.1, 50,
	  "stop when the median's 95% confidence interval is within +-PCT percent", AT(precision_pct) },
	{ "time-limit", 0, OPT_DOUBLE, "S", "0.1", 0.001, 3600,
	  "... or after sampling a pair for S seconds", AT(time_limit_s) },
	{ "sample-us", 0, OPT_DOUBLE, "US", "50", 1, 100000,
	  "length of one sample: a batch of round trips timed together", AT(sample_us) },
	{ "watchdog", 0, OPT_DOUBLE, "S", "1", 0.01, 600,
	  "fail a pair when an agent does not answer for S seconds", AT(watchdog_s) },
	{ "stat", 0, OPT_STRING, "STAT", "median", 0, 0,
	  "statistic the heatmap shows: median or min", AT(stat) },
	{ "seed", 0, OPT_LONG, "N", NULL, 0, 4294967295.0,
	  "seed of the pair order shuffle (default: from the clock; recorded in meta.json)", AT(seed) },
	{ "output", 'o', OPT_STRING, "DIR", NULL, 0, 0,
	  "directory to create for the results (default: results/<host>-<UTC time>; compare: results/compare-<A>-vs-<B>)", AT(output) },
	{ "topology", 't', OPT_STRING, "FILE", NULL, 0, 0,
	  "use this topology file instead of asking likwid", AT(topology) },
	{ "save", 0, OPT_STRING, "FILE", NULL, 0, 0, "write the topology to FILE", AT(save) },
	{ "events", 'e', OPT_STRING, "LIST", NULL, 0, 0,
	  "count events per handoff: auto (coherence events for this CPU) or PAPI presets, native and "
	  "perf:: names; perf::CPU-MIGRATIONS and perf::CONTEXT-SWITCHES are always counted", AT(events) },
	{ "agents", 'a', OPT_STRING, "KIND", NULL, 0, 0,
	  "run the agents as threads (thread, the default) or as processes sharing memory by fork-shared, "
	  "sysv, posix or memfd; ipc takes a list (default: all)", AT(agents) },
	{ "resume", 0, OPT_STRING, "DIR", NULL, 0, 0,
	  "finish an interrupted run in DIR: measure only the missing pairs, with its original options", AT(resume) },
	{ "threads", 0, OPT_LONG, "N", "2", 2, 1024,
	  "threads per false-sharing run, one per CPU (a placement may hold fewer)", AT(threads) },
	{ "kind", 0, OPT_STRING, "LIST", NULL, 0, 0,
	  "false-sharing update kinds: store, fetch_add, writer_readers (default: all)", AT(fs_kinds) },
	{ "distances", 0, OPT_STRING, "LIST", NULL, 0, 0,
	  "bytes between neighbouring counters; 0 = one shared counter (default: 0, then 4 to 4 lines, doubling)", AT(distances) },
	{ "placement", 0, OPT_STRING, "LIST", NULL, 0, 0,
	  "where the threads run: smt, l3, spread-l3, cross-socket (default: every one this machine has)", AT(placements) },
	{ "pairs", 0, OPT_STRING, "WHICH", "all", 0, 0,
	  "CPU pairs of the slowdown heatmap: all, classes (one pair per pair class) or none", AT(pairs) },
	{ "rounds", 0, OPT_LONG, "N", NULL, 1, 1000,
	  "interleaved rounds per point: falseshare (false-shared/padded run pairs, slowdown = median of "
	  "their ratios; default 5), ipc (every sharing kind, latency and bandwidth, once per round; default 8)", AT(rounds) },
	{ "run-ms", 0, OPT_DOUBLE, "MS", "20", 1, 10000, "length of one timed run", AT(run_ms) },
	{ "sizes", 0, OPT_STRING, "SIZES", NULL, 0, 0,
	  "sizes in bytes: a list (64,4K,1M) or MIN-MAX, doubling (64-64M); K, M, G are KiB, MiB, GiB; "
	  "ipc: one size, the stream copy's ring (default 1M)", AT(sizes) },
	{ "channel", 0, OPT_STRING, "LIST", NULL, 0, 0,
	  "channels: ring, pipe, vmsplice, socket, process_vm_readv, handover (default: all)", AT(channels) },
	{ "mapping", 0, OPT_STRING, "LIST", NULL, 0, 0,
	  "ways to get memory: malloc, mmap_private, mmap_shared, sysv, posix, memfd; fork: private_untouched, "
	  "private_touched, private_thp, shared_anon, sysv_shm, tmpfs_shared, hugetlb_shared (default: all)", AT(mappings) },
	{ "variant", 0, OPT_STRING, "LIST", NULL, 0, 0,
	  "how the pages come: plain, populate (MAP_POPULATE), thp (MADV_HUGEPAGE), hugetlb (default: all)", AT(variants) },
	{ "all-pairs", 0, OPT_FLAG, NULL, NULL, 0, 0,
	  "states: every ordered pair of the CPUs, one heatmap per kernel (default: one pair per pair class)", AT(all_pairs) },
	{ "invalidate", 0, OPT_STRING, "HOW", "auto", 0, 0,
	  "states: how lines are made Invalid: auto (clflushopt, else clflush, by CPUID), clflushopt, clflush, "
	  "or evict (stream a buffer twice the LLC)", AT(invalidate) },
	{ "lines", 0, OPT_LONG, "N", NULL, 1, 65536,
	  "states: lines per sample, the length of the timed chain (default: a quarter of the L1d's lines)", AT(lines) },
	{ "max-size", 0, OPT_STRING, "SIZE", NULL, 0, 0,
	  "fork: the largest of the default sizes, 1M then x4 up to it (default: 4G, less when MemAvailable is short)", AT(max_size) },
	{ "repeat", 0, OPT_LONG, "N", "7", 1, 1000,
	  "fork: forks and spawns timed per mapping kind and size; touch passes up to N, within 0.5 s", AT(repeat) },
	{ "processes", 0, OPT_LONG, "N", NULL, 1, 4096,
	  "fork: page-table census with 1, 2, 4 ... N processes (default: 64, fewer when memory is short)", AT(processes) },
	{ "segment", 0, OPT_STRING, "SIZE", NULL, 0, 0,
	  "fork: the shared segment each census process maps (default: 1G, less when memory is short)", AT(segment) },
	{ "matrix-size", 0, OPT_STRING, "SIZE", NULL, 0, 0,
	  "bandwidth: ring size of the CPU-pair matrix (default: a quarter of one L2)", AT(matrix_size) },
	{ "chunk", 0, OPT_STRING, "SIZE", NULL, 0, 0,
	  "bandwidth: bytes handed over at a time, a multiple of two cache lines (default: a power of two, at most a quarter of L1d)", AT(chunk) },
	{ "producer", 0, OPT_STRING, "KERNEL", "write", 0, 0,
	  "bandwidth: how the producer fills a chunk: write, or write_nt (non-temporal stores)", AT(producer) },
	{ "consumer", 0, OPT_STRING, "LIST", NULL, 0, 0,
	  "bandwidth: what the consumer does with a chunk: read, copy, memcpy, copy_nt (default: copy,read)", AT(consumers) },
	{ "budget", 0, OPT_DOUBLE, "S", "120", 1, 86400, "time budget of the whole suite in seconds", AT(budget_s) },
	{ "quiet", 'q', OPT_FLAG, NULL, NULL, 0, 0, "no progress bar and no summary table", AT(quiet) },
	{ "help", 'h', OPT_FLAG, NULL, NULL, 0, 0, "show this help", AT(help) },
};

const struct option_def *option_find(const char *name)
{
	for (size_t i = 0; i < sizeof option_table / sizeof option_table[0]; i++)
		if (strcmp(option_table[i].name, name) == 0)
			return &option_table[i];
	return NULL;
}

/* Stores text as the option's value; prints the one-line error itself. */
static int set_value(const char *cmd, const struct option_def *d, const char *text,
		     struct options *o)
{
	void *field = (char *)o + d->offset;
	char *end;
	errno = 0;
	switch (d->type) {
	case OPT_FLAG:
		*(bool *)field = true;
		return 0;
	case OPT_STRING:
		if (text[0] == '\0') {
			fprintf(stderr, "cohmap %s: --%s needs a value\n", cmd, d->name);
			return -1;
		}
		*(const char **)field = text;
		return 0;
	case OPT_LONG: {
		long v = strtol(text, &end, 10);
		if (errno || end == text || *end || v < d->min || v > d->max) {
			fprintf(stderr, "cohmap %s: --%s must be a whole number from %.0f to %.0f (got '%s')\n",
				cmd, d->name, d->min, d->max, text);
			return -1;
		}
		*(long *)field = v;
		return 0;
	}
	case OPT_DOUBLE: {
		double v = strtod(text, &end);
		if (errno || end == text || *end || !isfinite(v) || v < d->min || v > d->max) {
			fprintf(stderr, "cohmap %s: --%s must be a number from %g to %g (got '%s')\n",
				cmd, d->name, d->min, d->max, text);
			return -1;
		}
		*(double *)field = v;
		return 0;
	}
	}
	return -1;
}

int options_parse(const struct command *cmd, int argc, char **argv, struct options *o,
		  int *first_arg)
{
	struct option longopts[32];
	const struct option_def *defs[32];
	/* The leading ':' makes getopt report a missing value apart from an
	 * unknown option. Options may follow positional arguments (GNU order). */
	char shortopts[80] = ":";
	size_t n = 0, s = 1;

	/* Every option gets its default, accepted by this command or not, so
	 * code shared between commands never sees an unset value. */
	*o = (struct options){ .samples = 0, .seed = -1 };
	for (size_t i = 0; i < sizeof option_table / sizeof option_table[0]; i++)
		if (option_table[i].default_value &&
		    set_value(cmd->name, &option_table[i], option_table[i].default_value, o) != 0)
			abort(); /* a default outside its own range is a bug */
	for (const char *const *name = cmd->options; *name; name++) {
		const struct option_def *d = option_find(*name);
		if (d == NULL || n + 1 >= sizeof longopts / sizeof longopts[0])
			abort(); /* a command table naming an unknown option is a bug */
		defs[n] = d;
		longopts[n] = (struct option){ d->name, d->type == OPT_FLAG ? no_argument : required_argument,
					       NULL, 1000 + (int)n };
		if (d->short_name) {
			shortopts[s++] = d->short_name;
			if (d->type != OPT_FLAG)
				shortopts[s++] = ':';
		}
		n++;
	}
	longopts[n] = (struct option){ 0 };
	shortopts[s] = '\0';

	/* getopt's own messages would not name the command; we print ours. */
	opterr = 0;
	/* 0, not 1: glibc then also drops its place inside a cluster of short
	 * options ("-qn") left by an earlier call, which points into that
	 * call's argv (found by tests/fuzz/fuzz_options.c). */
	optind = 0;
	int c;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		const struct option_def *d = NULL;
		if (c >= 1000)
			d = defs[c - 1000];
		else
			for (size_t i = 0; i < n; i++)
				if (defs[i]->short_name == c)
					d = defs[i];
		if (d == NULL) {
			const char *bad = argv[optind - 1];
			if (c == ':')
				fprintf(stderr, "cohmap %s: option '%s' needs a value (see cohmap %s --help)\n",
					cmd->name, bad, cmd->name);
			else
				fprintf(stderr, "cohmap %s: unknown option '%s' (see cohmap %s --help)\n",
					cmd->name, bad, cmd->name);
			return -1;
		}
		if (set_value(cmd->name, d, optarg ? optarg : "", o) != 0)
			return -1;
	}
	*first_arg = optind;
	return 0;
}

void options_usage(const struct command *cmd, FILE *out)
{
	fprintf(out, "usage: cohmap %s [options]%s%s\n\n%s\n\noptions:\n", cmd->name,
		cmd->args ? " " : "", cmd->args ? cmd->args : "", cmd->summary);
	for (const char *const *name = cmd->options; *name; name++) {
		const struct option_def *d = option_find(*name);
		char shortname[8] = "    ", left[48];
		if (d->short_name)
			snprintf(shortname, sizeof shortname, "-%c, ", d->short_name);
		snprintf(left, sizeof left, "%s--%s%s%s", shortname, d->name,
			 d->metavar ? " " : "", d->metavar ? d->metavar : "");
		fprintf(out, "  %-24s %s", left, d->help);
		if (d->default_value)
			fprintf(out, " (default: %s)", d->default_value);
		fputc('\n', out);
	}
	fprintf(out, "\nexamples:\n%s", cmd->examples);
}
