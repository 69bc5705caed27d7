/* Reading a fleet directory: which node directories it holds, what state
 * each is in, and the refusals (not a fleet, another version, not cohmap's
 * meta.json). Also `cohmap fleet status`, which is this scan printed. */
#include "cli/fleet.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/common.h"
#include "harness/meta_check.h"
#include "harness/results.h"

extern char **environ;

const char *fleet_state_name(enum node_state s)
{
	static const char *const names[] = { [NODE_DONE] = "done", [NODE_RUNNING] = "running",
					     [NODE_FAILED] = "failed", [NODE_INCOMPLETE] = "incomplete",
					     [NODE_MISSING] = "missing", [NODE_SUPERSEDED] = "superseded" };
	return names[s];
}

/* "-20261204T181500Z" at the end of base. */
static bool ends_in_time(const char *base, size_t len)
{
	/* "-", 8 digits, "T", 6 digits, "Z": what results/<host>-<UTC time> uses */
	static const char shape[] = "-ddddddddTddddddZ";
	size_t n = sizeof shape - 1;
	if (len <= n)
		return false;
	const char *s = base + len - n;
	for (size_t i = 0; i < n; i++)
		if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
			return false;
	return true;
}

void fleet_node_name(const char *base, char *name, size_t size)
{
	size_t len = strlen(base);
	if (ends_in_time(base, len))
		len -= sizeof "-ddddddddTddddddZ" - 1;
	snprintf(name, size, "%.*s", (int)len, base);
}

bool fleet_find_program(const char *name, char *path, size_t size)
{
	const char *p = getenv("PATH");
	while (p && *p) {
		size_t len = strcspn(p, ":");
		if (len > 0 && (size_t)snprintf(path, size, "%.*s/%s", (int)len, p, name) < size &&
		    access(path, X_OK) == 0)
			return true;
		p += len + (p[len] == ':');
	}
	return false;
}

int fleet_capture(char *const argv[], char *out, size_t size)
{
	int fds[2];
	pid_t pid;
	posix_spawn_file_actions_t fa;
	out[0] = '\0';
	if (pipe2(fds, O_CLOEXEC) != 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (rc != 0) {
		close(fds[0]);
		return -1;
	}
	size_t used = 0;
	char scratch[256];
	for (;;) {
		/* read everything, keep what fits: the child must not block on a full pipe */
		ssize_t got = used + 1 < size ? read(fds[0], out + used, size - 1 - used)
					      : read(fds[0], scratch, sizeof scratch);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		if (used + 1 < size)
			used += (size_t)got;
	}
	out[used] = '\0';
	close(fds[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The first line of dir/name, "" when there is none. */
static void first_line(const char *dir, const char *name, char *buf, size_t size)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "r");
	buf[0] = '\0';
	if (f && fgets(buf, (int)size, f))
		buf[strcspn(buf, "\r\n")] = '\0';
	if (f)
		fclose(f);
}

/* Is the job still queued or running? squeue knows until the controller
 * forgets the job (MinJobAge, 300 s by default); after that it says the id
 * is invalid, which also means ended. */
static int job_active(const char *job_id)
{
	char squeue[PATH_MAX], out[256];
	if (job_id[0] == '\0' || !fleet_find_program("squeue", squeue, sizeof squeue))
		return -1;
	char *argv[] = { squeue, "--noheader", "--jobs", (char *)job_id, "--format", "%T", NULL };
	int rc = fleet_capture(argv, out, sizeof out);
	if (rc < 0)
		return -1;
	for (char *s = out; *s; s++)
		if (!isspace((unsigned char)*s))
			return rc == 0;
	return 0;
}

static int add_node(struct fleet *f, const char *name, const char *base)
{
	struct fleet_node *more = realloc(f->nodes, ((size_t)f->n + 1) * sizeof *more);
	if (more == NULL)
		return -1;
	f->nodes = more;
	struct fleet_node *n = &f->nodes[f->n++];
	*n = (struct fleet_node){ .state = NODE_MISSING };
	snprintf(n->name, sizeof n->name, "%s", name);
	snprintf(n->base, sizeof n->base, "%s", base);
	if (base[0])
		snprintf(n->dir, sizeof n->dir, "%s/%s", f->dir, base);
	return 0;
}

static int by_name_then_dir(const void *a, const void *b)
{
	const struct fleet_node *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->base, y->base);
}

/* What one directory's meta.json says. */
static void judge(struct fleet_node *n, int job_active)
{
	const char *status = json_string_value(json_object_get(n->meta, "status"));
	status = status ? status : "";
	if (strcmp(status, "complete") == 0) {
		n->state = NODE_DONE;
	} else if (strcmp(status, "running") == 0) {
		n->state = job_active == 0 ? NODE_FAILED : NODE_RUNNING;
		snprintf(n->why, sizeof n->why, "%s",
			 job_active == 0 ? "says running, but its Slurm job has ended (killed?)"
			 : job_active == 1 ? "running in its Slurm job"
					   : "says running (Slurm cannot be asked whether it still is)");
	} else {
		n->state = NODE_FAILED;
		snprintf(n->why, sizeof n->why, "status %s", status[0] ? status : "unknown");
	}
}

int fleet_scan(const char *cmd, const char *dir, struct fleet *f)
{
	char path[PATH_MAX], err[ERRLEN], line[256];
	struct stat st;
	*f = (struct fleet){ .job_active = -1 };
	snprintf(f->dir, sizeof f->dir, "%s", dir);
	if (stat(dir, &st) != 0) {
		fprintf(stderr, "cohmap %s: %s is not a fleet directory (%s)\n", cmd, dir, strerror(errno));
		return EXIT_USAGE;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "cohmap %s: %s is not a fleet directory (not a directory)\n", cmd, dir);
		return EXIT_USAGE;
	}
	snprintf(path, sizeof path, "%s/meta.json", dir);
	if (access(path, F_OK) == 0) {
		fprintf(stderr, "cohmap %s: %s is one results directory, not a fleet directory "
				"(a fleet holds one per node)\n", cmd, dir);
		return EXIT_USAGE;
	}
	first_line(dir, "slurm-job", f->job_id, sizeof f->job_id);
	f->job_active = job_active(f->job_id);

	DIR *d = opendir(dir);
	if (d == NULL) {
		fprintf(stderr, "cohmap %s: %s: %s\n", cmd, dir, strerror(errno));
		return EXIT_USAGE;
	}
	struct dirent *e;
	int rc = EXIT_DONE;
	while ((e = readdir(d)) != NULL && rc == EXIT_DONE) {
		char name[128];
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
			continue;
		/* the report's own comparison is no node */
		snprintf(path, sizeof path, "%s/%s/compare.json", dir, e->d_name);
		if (access(path, F_OK) == 0 || strncmp(e->d_name, "compare-", 8) == 0)
			continue;
		/* a directory without meta.json is a node's only when it is named
		 * like one (<node>-<time>): its run did not get as far as meta.json */
		snprintf(path, sizeof path, "%s/%s/meta.json", dir, e->d_name);
		if (access(path, F_OK) != 0 && !ends_in_time(e->d_name, strlen(e->d_name)))
			continue;
		fleet_node_name(e->d_name, name, sizeof name);
		if (add_node(f, name, e->d_name) != 0) {
			fprintf(stderr, "cohmap %s: out of memory\n", cmd);
			rc = EXIT_RUNTIME;
		}
	}
	closedir(d);
	if (rc != EXIT_DONE)
		return rc;

	/* The nodes Slurm gave the job: one that wrote nothing is missing. */
	snprintf(path, sizeof path, "%s/nodes.txt", dir);
	FILE *nodes = fopen(path, "r");
	bool listed = nodes != NULL;
	while (nodes && fgets(line, sizeof line, nodes)) {
		line[strcspn(line, "\r\n")] = '\0';
		bool seen = line[0] == '\0';
		for (int i = 0; i < f->n && !seen; i++)
			seen = strcmp(f->nodes[i].name, line) == 0;
		if (!seen && add_node(f, line, "") != 0)
			rc = EXIT_RUNTIME;
	}
	if (nodes)
		fclose(nodes);
	snprintf(path, sizeof path, "%s/fleet.json", dir);
	if (f->n == 0 && !listed && access(path, F_OK) != 0) {
		fprintf(stderr, "cohmap %s: %s is not a fleet directory (no node results directories, "
				"no fleet.json)\n", cmd, dir);
		return EXIT_USAGE;
	}
	if (rc != EXIT_DONE) {
		fprintf(stderr, "cohmap %s: out of memory\n", cmd);
		return rc;
	}
	if (f->n > 1)
		qsort(f->nodes, (size_t)f->n, sizeof *f->nodes, by_name_then_dir);

	/* Every directory's meta.json: a version or a shape this cohmap does
	 * not read refuses the whole fleet, since merging it would compare
	 * numbers measured or recorded differently. */
	const char *version = NULL, *version_dir = NULL;
	for (int i = 0; i < f->n; i++) {
		struct fleet_node *n = &f->nodes[i];
		if (n->base[0] == '\0')
			continue;
		snprintf(path, sizeof path, "%s/meta.json", n->dir);
		if (access(path, F_OK) != 0) {
			n->state = NODE_INCOMPLETE;
			snprintf(n->why, sizeof n->why, "no meta.json: the run did not get as far");
			continue;
		}
		if ((n->meta = meta_load_checked(path, err)) == NULL) {
			fprintf(stderr, "cohmap %s: %s: not merged: %s\n", cmd, n->dir, err);
			return EXIT_USAGE;
		}
		const char *v = json_string_value(json_object_get(json_object_get(n->meta, "tool"), "version"));
		if (v == NULL) {
			fprintf(stderr, "cohmap %s: %s: meta.json names no cohmap version: not merged\n", cmd,
				n->dir);
			return EXIT_USAGE;
		}
		if (version == NULL) {
			version = v;
			version_dir = n->dir;
		} else if (strcmp(v, version) != 0) {
			fprintf(stderr, "cohmap %s: %s: written by cohmap %s, %s by cohmap %s: directories "
					"of different versions are not merged\n",
				cmd, n->dir, v, version_dir, version);
			return EXIT_USAGE;
		}
		judge(n, f->job_active);
	}
	/* A node that ran twice (a requeued job, a second submit into the same
	 * directory): its newest complete directory counts, or else its newest. */
	for (int i = 0; i < f->n; i++) {
		int keep = -1;
		for (int j = i; j < f->n && strcmp(f->nodes[j].name, f->nodes[i].name) == 0; j++)
			if (f->nodes[j].base[0] && (keep < 0 || f->nodes[j].state == NODE_DONE ||
						    f->nodes[keep].state != NODE_DONE))
				keep = j;
		for (int j = i; j < f->n && strcmp(f->nodes[j].name, f->nodes[i].name) == 0; j++)
			if (keep >= 0 && j != keep && f->nodes[j].base[0]) {
				f->nodes[j].state = NODE_SUPERSEDED;
				snprintf(f->nodes[j].why, sizeof f->nodes[j].why, "node %s has a newer "
					 "directory, %s", f->nodes[j].name, f->nodes[keep].base);
			}
	}
	for (int i = 0; i < f->n; i++)
		if (f->nodes[i].state == NODE_MISSING)
			snprintf(f->nodes[i].why, sizeof f->nodes[i].why,
				 f->job_active == 1 ? "in the job; not started yet"
						    : "in the job, but it wrote no results directory");
	return EXIT_DONE;
}

void fleet_free(struct fleet *f)
{
	for (int i = 0; i < f->n; i++)
		json_decref(f->nodes[i].meta);
	free(f->nodes);
	f->nodes = NULL;
	f->n = 0;
}

int fleet_status(const char *cmd, const char *dir, bool quiet)
{
	struct fleet f;
	int rc = fleet_scan(cmd, dir, &f);
	if (rc != EXIT_DONE) {
		fleet_free(&f);
		return rc;
	}
	int count[NODE_SUPERSEDED + 1] = { 0 };
	for (int i = 0; i < f.n; i++)
		count[f.nodes[i].state]++;
	if (!quiet) {
		printf("%-20s %-11s %-40s %s\n", "node", "state", "directory", "why");
		for (int i = 0; i < f.n; i++) {
			const struct fleet_node *n = &f.nodes[i];
			printf("%-20s %-11s %-40s %s\n", n->name, fleet_state_name(n->state),
			       n->base[0] ? n->base : "-", n->why);
		}
	}
	printf("%s: %d done, %d running, %d failed, %d incomplete, %d missing", dir, count[NODE_DONE],
	       count[NODE_RUNNING], count[NODE_FAILED], count[NODE_INCOMPLETE], count[NODE_MISSING]);
	if (f.job_id[0])
		printf("; Slurm job %s %s", f.job_id,
		       f.job_active == 1 ? "queued or running" : f.job_active == 0 ? "ended"
										: "(squeue not on PATH)");
	printf("\n");
	fleet_free(&f);
	return EXIT_DONE;
}
