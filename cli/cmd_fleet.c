/* `cohmap fleet submit|status|report|node`: cohmap on every node of a
 * cluster through Slurm, merged into one report (cli/fleet.h). The command
 * reads its own arguments: what `submit` does not know goes to sbatch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "cli/commands.h"
#include "cli/fleet.h"

static const char *const status_options[] = { "quiet", "help", NULL };
static const char *const report_options[] = { "threshold", "quiet", "help", NULL };

/* status and report: the option engine, then exactly one DIR. */
static int one_directory(const char *cmd, const char *const *names, int argc, char **argv,
			 struct options *o, const char **dir)
{
	struct option_set set = { .names = names, .values = o };
	int first;
	if (options_parse(cmd, &set, 1, argc, argv, &first) != 0)
		return EXIT_USAGE;
	if (argc - first != 1) {
		fprintf(stderr, "cohmap %s: needs exactly one fleet directory (got %d arguments)\n", cmd,
			argc - first);
		return EXIT_USAGE;
	}
	*dir = argv[first];
	return EXIT_DONE;
}

/* submit: cohmap's own options and sbatch's, up to "--"; after it the
 * cohmap command every node runs. */
static int submit(const char *cmd, int argc, char **argv)
{
	struct fleet_submit_request q = { .cmd = cmd, .wait = true, .threshold = FLEET_Z_THRESHOLD };
	char **sbatch = calloc((size_t)argc + 1, sizeof *sbatch);
	int i = 1, rc;
	if (sbatch == NULL)
		return EXIT_RUNTIME;
	for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--fleet") == 0 || strcmp(a, "--threshold") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "cohmap %s: option '%s' needs a value\n", cmd, a);
				free(sbatch);
				return EXIT_USAGE;
			}
			if (a[2] == 'f')
				q.fleet_dir = argv[++i];
			else
				q.threshold = strtod(argv[++i], NULL);
		} else if (strncmp(a, "--fleet=", 8) == 0) {
			q.fleet_dir = a + 8;
		} else if (strncmp(a, "--threshold=", 12) == 0) {
			q.threshold = strtod(a + 12, NULL);
		} else if (strcmp(a, "--no-wait") == 0) {
			q.wait = false;
		} else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
			q.quiet = true;
		} else {
			sbatch[q.nsbatch++] = argv[i];
		}
	}
	if (!(q.threshold >= 0.5 && q.threshold <= 1000)) {
		fprintf(stderr, "cohmap %s: --threshold must be a number from 0.5 to 1000\n", cmd);
		free(sbatch);
		return EXIT_USAGE;
	}
	if (i == argc) {
		fprintf(stderr, "cohmap %s: needs -- before the cohmap command every node runs "
				"(cohmap fleet submit [sbatch options] -- run --budget 300)\n", cmd);
		free(sbatch);
		return EXIT_USAGE;
	}
	q.sbatch = sbatch;
	q.nrun = argc - i - 1;
	q.run = argv + i + 1;
	rc = fleet_submit(&q);
	free(sbatch);
	return rc;
}

static int fleet(const struct command *cmd, struct options *o, int argc, char **argv)
{
	(void)o;
	const char *dir;
	struct options own;
	char name[32];
	if (argc < 1) {
		fprintf(stderr, "cohmap %s: needs a subcommand: submit, status or report (see cohmap %s "
				"--help)\n", cmd->name, cmd->name);
		return EXIT_USAGE;
	}
	snprintf(name, sizeof name, "%s %s", cmd->name, argv[0]);
	if (strcmp(argv[0], "submit") == 0)
		return submit(name, argc, argv);
	if (strcmp(argv[0], "status") == 0) {
		int rc = one_directory(name, status_options, argc, argv, &own, &dir);
		return rc != EXIT_DONE ? rc : own.help ? (command_usage(cmd, stdout), EXIT_DONE)
						       : fleet_status(name, dir, own.quiet);
	}
	if (strcmp(argv[0], "report") == 0) {
		int rc = one_directory(name, report_options, argc, argv, &own, &dir);
		return rc != EXIT_DONE ? rc : own.help ? (command_usage(cmd, stdout), EXIT_DONE)
						       : fleet_report(name, dir, own.threshold, own.quiet);
	}
	/* The job step on each node (what fleet.sbatch runs through srun). */
	if (strcmp(argv[0], "node") == 0) {
		if (argc < 3 || strcmp(argv[2], "--") != 0) {
			fprintf(stderr, "cohmap %s: usage: cohmap fleet node DIR -- [command] [options]\n", name);
			return EXIT_USAGE;
		}
		return fleet_node(name, argv[1], argc - 3, argv + 3);
	}
	fprintf(stderr, "cohmap %s: unknown subcommand '%s' (submit, status or report)\n", cmd->name,
		argv[0]);
	return EXIT_USAGE;
}

static const char *const fleet_options[] = { "fleet", "no-wait", "threshold", "quiet", "help", NULL };

const struct command command_fleet = {
	.name = "fleet",
	.args = "submit [sbatch options] -- [command] [options] | status DIR | report DIR",
	.summary = "cohmap on every node of a Slurm cluster, one directory per node, merged into one "
		   "report with outlier nodes flagged",
	.options = fleet_options,
	.examples = "  cohmap fleet submit -p compute -N 16 -t 30 -- run --budget 300\n"
		    "  cohmap fleet submit -N 4 --fleet results/rack7 --no-wait -- latency -k load_store\n"
		    "  cohmap fleet status results/rack7\n"
		    "  cohmap fleet report results/rack7 --threshold 5\n"
		    "  (every option before -- that is not cohmap's goes to sbatch; after -- comes the\n"
		    "  cohmap command each node runs, `run` by default, without -o)\n",
	.run = fleet,
	.own_arguments = true,
};
