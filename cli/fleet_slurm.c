/* The Slurm front end: `cohmap fleet submit` writes a batch script and
 * hands it to sbatch; the script runs one job step with one task on every
 * node of the job (srun --ntasks-per-node=1, exclusive nodes), and each task
 * is `cohmap fleet node`, which measures into its own directory.
 *
 * Slurm does the launching, placement, time limits, accounting and
 * cancellation; cohmap only asks for one task per node. A node that fails
 * or is killed leaves its own directory behind (meta.json says running or
 * interrupted) and nothing else: every node writes only below its own
 * <node>-<time> directory. */
#include "cli/fleet.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/common.h"
#include "cli/commands.h"
#include "harness/results.h"

extern char **environ;

static void utc_stamp(char *buf, size_t size)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(buf, size, "%Y%m%dT%H%M%SZ", &tm);
}

/* s in single quotes for sh: ' becomes '\'' */
static void put_shell_word(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++)
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
	fputc('\'', f);
}

/* The cohmap command each node runs: `run` (also when the words after --
 * start with an option) or an experiment, as a command of its own in
 * *storage (the command table is not imported here: it lists fleet). */
static const struct command *node_command(int argc, char **argv, int *skip,
					  struct command *storage)
{
	*skip = 0;
	if (argc == 0 || argv[0][0] == '-')
		return &command_run;
	*skip = 1;
	if (strcmp(argv[0], command_run.name) == 0)
		return &command_run;
	for (int i = 0; i < experiment_count; i++)
		if (strcmp(experiment_registry[i]->name, argv[0]) == 0) {
			*storage = (struct command){ .name = experiment_registry[i]->name,
						     .experiment = experiment_registry[i] };
			return storage;
		}
	return NULL;
}

/* Runs the parsed command c with o (no positional arguments). */
static int run_parsed(const struct command *c, struct options *o)
{
	if (c->experiment == NULL)
		return c->run(c, o, 0, NULL);
	const struct experiment *list[] = { c->experiment };
	void *settings[] = { o->settings };
	return run_experiments(c->name, o, list, settings, 1, 0);
}

/* Parses the node's command line here, before anything is submitted, so a
 * typo fails on the login node and not in every job step. */
static int check_node_command(const char *cmd, int argc, char **argv)
{
	int skip;
	struct command storage;
	const struct command *c = node_command(argc, argv, &skip, &storage);
	if (c == NULL) {
		fprintf(stderr, "cohmap %s: '%s' is no measuring command (run, or an experiment: see "
				"cohmap --help)\n", cmd, argv[0]);
		return EXIT_USAGE;
	}
	char **args = calloc((size_t)argc + 2, sizeof *args);
	if (args == NULL)
		return EXIT_RUNTIME;
	args[0] = (char *)c->name;
	for (int i = skip; i < argc; i++)
		args[i - skip + 1] = argv[i];
	struct options o;
	int first, rc = EXIT_DONE;
	if (command_parse(c, argc - skip + 1, args, &o, &first) != 0) {
		rc = EXIT_USAGE;
	} else if (first < argc - skip + 1) {
		fprintf(stderr, "cohmap %s: unexpected argument '%s' for cohmap %s\n", cmd, args[first],
			c->name);
		rc = EXIT_USAGE;
	} else if (o.output || o.resume) {
		fprintf(stderr, "cohmap %s: leave out %s: every node writes its own <node>-<time> "
				"directory in the fleet directory\n", cmd, o.output ? "-o/--output" : "--resume");
		rc = EXIT_USAGE;
	}
	free(o.settings);
	free(args);
	return rc;
}

static int write_batch_script(const struct fleet_submit_request *q, const char *fleet,
			      const char *exe, char *err)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	snprintf(path, sizeof path, "%s/fleet.sbatch", fleet);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (f == NULL) {
		set_error(err, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	fputs("#!/bin/sh\n"
	      "# Written by cohmap fleet submit. Runs on the first node of the job: records the\n"
	      "# job and its nodes, then one job step with one task on every node, each task\n"
	      "# measuring into its own <node>-<UTC time> directory of the fleet directory.\n"
	      "fleet=", f);
	put_shell_word(f, fleet);
	fputs("\necho \"$SLURM_JOB_ID\" >\"$fleet/slurm-job\"\n"
	      "scontrol show hostnames \"$SLURM_JOB_NODELIST\" >\"$fleet/nodes.txt\" 2>/dev/null ||\n"
	      "\techo \"$SLURM_JOB_NODELIST\" >\"$fleet/nodes.txt\"\n"
	      "exec srun --ntasks-per-node=1 --exclusive --kill-on-bad-exit=0 ", f);
	put_shell_word(f, exe);
	fputs(" fleet node \"$fleet\" --", f);
	for (int i = 0; i < q->nrun; i++) {
		fputc(' ', f);
		put_shell_word(f, q->run[i]);
	}
	fputc('\n', f);
	if (fclose(f) != 0 || chmod(tmp, 0755) != 0 || rename(tmp, path) != 0) {
		set_error(err, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int write_fleet_json(const struct fleet_submit_request *q, const char *fleet,
			    const char *exe, char *err)
{
	char path[PATH_MAX], now[32];
	utc_stamp(now, sizeof now);
	json_t *run = json_array(), *sbatch = json_array();
	for (int i = 0; i < q->nrun; i++)
		json_array_append_new(run, json_string(q->run[i]));
	for (int i = 0; i < q->nsbatch; i++)
		json_array_append_new(sbatch, json_string(q->sbatch[i]));
	json_t *j = json_pack("{s:{s:s, s:s}, s:s, s:s, s:o, s:o}", "tool", "name", "cohmap", "version",
			      COHMAP_VERSION, "submitted_utc", now, "cohmap", exe, "node_command", run,
			      "sbatch_options", sbatch);
	snprintf(path, sizeof path, "%s/fleet.json", fleet);
	int rc = j ? json_save_atomic(path, j, err) : (set_error(err, "out of memory"), -1);
	json_decref(j);
	return rc;
}

/* Runs argv with this process's stdin/out/err; its exit status, -1. */
static int run_program(char *const argv[])
{
	pid_t pid;
	if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) != 0)
		return -1;
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int fleet_submit(const struct fleet_submit_request *q)
{
	char sbatch[PATH_MAX], srun[PATH_MAX], exe[PATH_MAX], fleet[PATH_MAX], err[ERRLEN];
	char path[PATH_MAX];
	int rc = check_node_command(q->cmd, q->nrun, q->run);
	if (rc != EXIT_DONE)
		return rc;
	bool have_sbatch = fleet_find_program("sbatch", sbatch, sizeof sbatch);
	if (!have_sbatch || !fleet_find_program("srun", srun, sizeof srun)) {
		fprintf(stderr, "cohmap %s: skipped: %s is not on PATH (cohmap fleet runs through Slurm; "
				"on Debian its client commands are in slurm-client)\n",
			q->cmd, have_sbatch ? "srun" : "sbatch");
		return EXIT_SKIPPED;
	}
	ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (len <= 0) {
		fprintf(stderr, "cohmap %s: cannot find this cohmap's path: %s\n", q->cmd, strerror(errno));
		return EXIT_RUNTIME;
	}
	exe[len] = '\0';

	/* The fleet directory: shared by every node, so an absolute path. */
	char stamp[32], requested[PATH_MAX];
	utc_stamp(stamp, sizeof stamp);
	if (q->fleet_dir)
		snprintf(requested, sizeof requested, "%s", q->fleet_dir);
	else {
		snprintf(requested, sizeof requested, "results/fleet-%s", stamp);
		if (mkdir("results", 0777) != 0 && errno != EEXIST) {
			fprintf(stderr, "cohmap %s: results: %s\n", q->cmd, strerror(errno));
			return EXIT_RUNTIME;
		}
	}
	bool created = mkdir(requested, 0777) == 0;
	if (!created && errno != EEXIST) {
		fprintf(stderr, "cohmap %s: %s: %s\n", q->cmd, requested, strerror(errno));
		return q->fleet_dir ? EXIT_USAGE : EXIT_RUNTIME;
	}
	snprintf(path, sizeof path, "%s/meta.json", requested);
	if (access(path, F_OK) == 0) {
		fprintf(stderr, "cohmap %s: %s is one results directory, not a fleet directory\n", q->cmd,
			requested);
		return EXIT_USAGE;
	}
	if (realpath(requested, fleet) == NULL) {
		fprintf(stderr, "cohmap %s: %s: %s\n", q->cmd, requested, strerror(errno));
		return EXIT_USAGE;
	}
	if (write_fleet_json(q, fleet, exe, err) != 0 || write_batch_script(q, fleet, exe, err) != 0) {
		fprintf(stderr, "cohmap %s: %s\n", q->cmd, err);
		return EXIT_RUNTIME;
	}

	/* Ours first: sbatch takes the last of a repeated option, so the
	 * user's own --job-name or --output win. */
	char output[PATH_MAX + 32], script[PATH_MAX];
	snprintf(output, sizeof output, "--output=%s/slurm-%%j.out", fleet);
	snprintf(script, sizeof script, "%s/fleet.sbatch", fleet);
	char **argv = calloc((size_t)q->nsbatch + 10, sizeof *argv);
	if (argv == NULL)
		return EXIT_RUNTIME;
	int n = 0;
	argv[n++] = sbatch;
	argv[n++] = "--job-name=cohmap-fleet";
	argv[n++] = output;
	argv[n++] = "--ntasks-per-node=1";
	argv[n++] = "--exclusive";
	for (int i = 0; i < q->nsbatch; i++)
		argv[n++] = q->sbatch[i];
	if (q->wait)
		argv[n++] = "--wait";
	argv[n++] = script;
	argv[n] = NULL;
	if (!q->quiet)
		printf("cohmap %s: fleet directory %s\n", q->cmd, fleet);
	fflush(stdout);
	int job = run_program(argv);
	free(argv);
	snprintf(path, sizeof path, "%s/slurm-job", fleet);
	if (job != 0 && (!q->wait || access(path, F_OK) != 0)) {
		fprintf(stderr, "cohmap %s: sbatch failed (exit %d; its reason is above): nothing ran\n",
			q->cmd, job);
		if (created) { /* nothing was measured: leave no fleet directory behind */
			snprintf(path, sizeof path, "%s/fleet.json", fleet);
			unlink(path);
			unlink(script);
			rmdir(fleet);
		}
		return EXIT_RUNTIME;
	}
	if (!q->wait) {
		if (!q->quiet)
			printf("follow it:  cohmap fleet status %s\nmerge it:   cohmap fleet report %s\n",
			       fleet, fleet);
		return EXIT_DONE;
	}
	if (job != 0)
		fprintf(stderr, "cohmap %s: the Slurm job ended with exit %d, the worst of the nodes' cohmap "
				"exit codes (4: a node's results are partial); the report lists every node\n", q->cmd, job);
	rc = fleet_report(q->cmd, fleet, q->threshold, q->quiet);
	return rc == EXIT_DONE && job != 0 ? EXIT_PARTIAL : rc;
}

static bool accepts_option(const struct command *c, const char *name)
{
	if (c->experiment == NULL)
		return false;
	for (const char *const *s = c->experiment->shared_options; s && *s; s++)
		if (strcmp(*s, name) == 0)
			return true;
	return false;
}

/* A job step started again on a node (Slurm requeued the job after the node
 * failed or was rebooted, or the user resubmitted into the same fleet) finds
 * the node's newest directory that did not finish: meta.json says running
 * (the step was killed) or interrupted. Measuring into it with --resume keeps
 * every pair measured before the failure. A directory without meta.json has
 * nothing to resume from and stays behind as incomplete. */
static bool unfinished_directory(const char *dir, const char *node, char *out, size_t size)
{
	char name[256], path[PATH_MAX], err[ERRLEN], newest[256] = "";
	DIR *d = opendir(dir);
	if (d == NULL)
		return false;
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		fleet_node_name(e->d_name, name, sizeof name);
		/* only <node>-<time>: a node called node10 is another node */
		if (strcmp(name, node) != 0 || strcmp(e->d_name, node) == 0 ||
		    strcmp(e->d_name, newest) <= 0)
			continue;
		snprintf(path, sizeof path, "%s/%s/meta.json", dir, e->d_name);
		json_t *meta = json_load_object(path, err);
		const char *status = meta ? json_string_value(json_object_get(meta, "status")) : NULL;
		if (status && (strcmp(status, "running") == 0 || strcmp(status, "interrupted") == 0))
			snprintf(newest, sizeof newest, "%s", e->d_name);
		json_decref(meta);
	}
	closedir(d);
	if (newest[0] == '\0')
		return false;
	snprintf(out, size, "%s/%s", dir, newest);
	return true;
}

int fleet_node(const char *cmd, const char *dir, int argc, char **argv)
{
	char node[128], host[128] = "", out[PATH_MAX], stamp[32];
	const char *name = getenv("SLURMD_NODENAME");
	if (name == NULL || name[0] == '\0') {
		gethostname(host, sizeof host - 1);
		host[strcspn(host, ".")] = '\0';
		name = host;
	}
	/* the node's name becomes a directory name */
	size_t j = 0;
	for (const char *s = name; *s && j + 1 < sizeof node; s++)
		node[j++] = (*s == '/' || *s == ' ' || (unsigned char)*s < 0x20) ? '_' : *s;
	node[j] = '\0';
	if (j == 0 || node[0] == '.')
		snprintf(node, sizeof node, "node");
	utc_stamp(stamp, sizeof stamp);
	snprintf(out, sizeof out, "%s/%s-%s", dir, node, stamp);

	int skip;
	struct command storage;
	const struct command *c = node_command(argc, argv, &skip, &storage);
	if (c == NULL) {
		fprintf(stderr, "cohmap %s: '%s' is no measuring command\n", cmd, argv[0]);
		return EXIT_USAGE;
	}
	/* cohmap CMD ARGS... -o DIR, as if typed on the node */
	int n = argc - skip;
	char **args = calloc((size_t)n + 5, sizeof *args);
	if (args == NULL)
		return EXIT_RUNTIME;
	args[0] = "cohmap";
	args[1] = (char *)c->name;
	for (int i = 0; i < n; i++)
		args[2 + i] = argv[skip + i];
	bool resume = accepts_option(c, "resume") && unfinished_directory(dir, node, out, sizeof out);
	args[2 + n] = resume ? "--resume" : "-o";
	args[3 + n] = out;
	if (resume)
		fprintf(stderr, "cohmap %s: %s: resuming %s, which an earlier job step on this node left "
				"unfinished\n", cmd, node, out);
	struct options o;
	int first, rc;
	if (command_parse(c, n + 3, args + 1, &o, &first) != 0) {
		free(args);
		return EXIT_USAGE;
	}
	o.command_argc = n + 4;
	o.command_argv = args;
	if (first < n + 3) {
		fprintf(stderr, "cohmap %s: unexpected argument '%s'\n", cmd, args[1 + first]);
		rc = EXIT_USAGE;
	} else {
		rc = run_parsed(c, &o);
	}
	free(o.settings);
	free(args);
	return rc;
}
