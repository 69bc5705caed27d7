#include "base/options.h"

#include <stdint.h>
#include <unistd.h>

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/timing.h"

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
	{ "budget", 0, OPT_DOUBLE, "S", "120", 1, 86400, "time budget of the whole suite in seconds", AT(budget_s) },
	{ "parallel", 0, OPT_STRING, "N|auto", NULL, 0, 0,
	  "measure up to N pairs at once, on cores no other pair uses (auto: one per L3 group, die or "
	  "socket); a random 5% measured again alone checks what that changed; plan: model it", AT(parallel) },
	{ "cost", 0, OPT_STRING, "FILE", NULL, 0, 0,
	  "take the per-pair cost from FILE (written by --save-cost) instead of probing this machine", AT(cost) },
	{ "save-cost", 0, OPT_STRING, "FILE", NULL, 0, 0,
	  "write the per-pair cost the probe measured to FILE", AT(save_cost) },
	{ "probe", 0, OPT_DOUBLE, "S", "2", 0.1, 60,
	  "measure probe pairs on this machine for about S seconds", AT(probe_s) },
	{ "fleet", 0, OPT_STRING, "DIR", NULL, 0, 0,
	  "fleet submit: the shared fleet directory (default: results/fleet-<UTC time>)", AT(fleet) },
	{ "no-wait", 0, OPT_FLAG, NULL, NULL, 0, 0,
	  "fleet submit: return once the job is queued (then fleet status, fleet report)", AT(no_wait) },
	{ "threshold", 0, OPT_DOUBLE, "Z", "3.5", 0.5, 1000,
	  "fleet report: flag a node whose robust z-score (median/MAD) is beyond +-Z", AT(threshold) },
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

const struct option_def *option_set_find(const struct option_set *set, const char *name)
{
	if (set->names) {
		for (const char *const *n = set->names; *n; n++)
			if (strcmp(*n, name) == 0)
				return option_find(name);
		return NULL;
	}
	for (int i = 0; i < set->count; i++)
		if (strcmp(set->rows[i].name, name) == 0)
			return &set->rows[i];
	return NULL;
}

double option_number(const struct option_def *d, const void *values)
{
	const char *field = (const char *)values + d->offset;
	if (d->type == OPT_LONG)
		return (double)*(const long *)(const void *)field;
	if (d->type == OPT_DOUBLE)
		return *(const double *)(const void *)field;
	return NAN;
}

unsigned long options_seed(const struct options *o)
{
	if (o->seed >= 0)
		return (unsigned long)o->seed;
	return (unsigned long)((monotonic_ns() ^ (uint64_t)getpid()) & 0xffffffffu);
}

bool option_stat_known(const char *stat)
{
	return strcmp(stat, "median") == 0 || strcmp(stat, "min") == 0;
}

int option_check_stat(const char *cmd, const char *stat)
{
	if (option_stat_known(stat))
		return 0;
	fprintf(stderr, "cohmap %s: --stat must be median or min (got '%s')\n", cmd, stat);
	return -1;
}

/* Stores text as the option's value; prints the one-line error itself. */
static int set_value(const char *cmd, const struct option_def *d, const char *text, void *values)
{
	void *field = (char *)values + d->offset;
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

void options_defaults(const struct option_def *rows, int count, void *values)
{
	for (int i = 0; i < count; i++)
		if (rows[i].default_value && set_value("(defaults)", &rows[i], rows[i].default_value, values) != 0)
			abort(); /* a default outside its own range is a bug */
}

/* Every option a command accepts, in --help order. */
#define MAX_COMMAND_OPTIONS 40

int options_parse(const char *cmd, const struct option_set *sets, int nsets, int argc, char **argv,
		  int *first_arg)
{
	struct option longopts[MAX_COMMAND_OPTIONS + 1];
	const struct option_def *defs[MAX_COMMAND_OPTIONS];
	void *dest[MAX_COMMAND_OPTIONS];
	/* The leading ':' makes getopt report a missing value apart from an
	 * unknown option. Options may follow positional arguments (GNU order). */
	char shortopts[2 * MAX_COMMAND_OPTIONS + 2] = ":";
	size_t n = 0, s = 1;

	for (int k = 0; k < nsets; k++) {
		const struct option_set *set = &sets[k];
		if (set->names) {
			/* Every shared option gets its default, accepted by this
			 * command or not, so code shared between commands never
			 * sees an unset value. */
			*(struct options *)set->values = (struct options){ .samples = 0, .seed = -1 };
			options_defaults(option_table, (int)(sizeof option_table / sizeof option_table[0]),
					 set->values);
		} else {
			options_defaults(set->rows, set->count, set->values);
		}
		int count = set->names ? 0 : set->count;
		if (set->names)
			while (set->names[count])
				count++;
		for (int i = 0; i < count; i++) {
			const struct option_def *d = set->names ? option_find(set->names[i]) : &set->rows[i];
			if (d == NULL || n >= MAX_COMMAND_OPTIONS)
				abort(); /* a command naming an unknown option is a bug */
			defs[n] = d;
			dest[n] = set->values;
			longopts[n] = (struct option){ d->name,
						       d->type == OPT_FLAG ? no_argument : required_argument,
						       NULL, 1000 + (int)n };
			if (d->short_name) {
				shortopts[s++] = d->short_name;
				if (d->type != OPT_FLAG)
					shortopts[s++] = ':';
			}
			n++;
		}
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
		int found = -1;
		if (c >= 1000)
			found = c - 1000;
		else
			for (size_t i = 0; i < n; i++)
				if (defs[i]->short_name == c)
					found = (int)i;
		if (found < 0) {
			const char *bad = argv[optind - 1];
			if (c == ':')
				fprintf(stderr, "cohmap %s: option '%s' needs a value (see cohmap %s --help)\n",
					cmd, bad, cmd);
			else
				fprintf(stderr, "cohmap %s: unknown option '%s' (see cohmap %s --help)\n",
					cmd, bad, cmd);
			return -1;
		}
		if (set_value(cmd, defs[found], optarg ? optarg : "", dest[found]) != 0)
			return -1;
	}
	*first_arg = optind;
	return 0;
}

static void usage_row(const struct option_def *d, FILE *out)
{
	char shortname[8] = "    ", left[48];
	if (d->short_name)
		snprintf(shortname, sizeof shortname, "-%c, ", d->short_name);
	snprintf(left, sizeof left, "%s--%s%s%s", shortname, d->name, d->metavar ? " " : "",
		 d->metavar ? d->metavar : "");
	fprintf(out, "  %-24s %s", left, d->help);
	if (d->default_value)
		fprintf(out, " (default: %s)", d->default_value);
	fputc('\n', out);
}

void options_usage(const char *cmd, const char *args, const char *summary,
		   const struct option_set *sets, int nsets, const char *examples, FILE *out)
{
	fprintf(out, "usage: cohmap %s [options]%s%s\n\n%s\n\noptions:\n", cmd, args ? " " : "",
		args ? args : "", summary);
	/* An experiment's own options first, then the shared ones. */
	for (int k = nsets - 1; k >= 0; k--) {
		if (sets[k].names)
			for (const char *const *name = sets[k].names; *name; name++)
				usage_row(option_find(*name), out);
		else
			for (int i = 0; i < sets[k].count; i++)
				usage_row(&sets[k].rows[i], out);
	}
	fprintf(out, "\nexamples:\n%s", examples);
}
