/* The gnuplot engine: finding the scripts, running gnuplot, quoting, atomic
 * writes, and the CPU-by-CPU heatmap every experiment and `cohmap compare`
 * draw. cohmap does the parts that need the topology (which CPUs, in which
 * order, where the domain borders are) and writes them as two plain files per
 * figure; the scripts do all the drawing, so a figure can be restyled or
 * redrawn without cohmap.
 *
 * One file: every part serves the one heatmap writer, and splitting the
 * script finder from the runner would only add a header between them. */
#include "plots/plot.h"
#include "base/common.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef COHMAP_DATADIR
#define COHMAP_DATADIR "/usr/local/share/cohmap"
#endif

/* How many of gnuplot's stderr bytes we keep to find its error line. */
#define GNUPLOT_STDERR_MAX 8192

/* ---- finding the scripts ---- */

/* In a source tree the scripts sit beside the code that draws with them:
 * plots/ (the shared heatmap), cli/ and experiments/<name>/. Installed, they
 * are all in one folder. */
static bool find_in_source_tree(const char *root, const char *script, char *out, size_t size)
{
	char pattern[PATH_MAX + 64];
	static const char *const dirs[] = { "plots", "cli" };
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(out, size, "%s/%s/%s", root, dirs[i], script);
		if (access(out, R_OK) == 0)
			return true;
	}
	snprintf(pattern, sizeof pattern, "%s/experiments/*/%s", root, script);
	glob_t g;
	bool found = glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc > 0 &&
		     (size_t)snprintf(out, size, "%s", g.gl_pathv[0]) < size;
	globfree(&g);
	return found;
}

int plot_script_path(const char *script, char *path, size_t size, char *err)
{
	char exe[PATH_MAX], candidate[PATH_MAX + 64], looked[ERRLEN] = "";
	const char *env = getenv("COHMAP_PLOTS_DIR");
	/* Source trees relative to the binary: build/{release,sanitize}/cohmap
	 * and its ./cohmap symlink, and the unit tests in build/release/tests/. */
	static const char *const from_exe[] = { "/../..", "/../../.." };
	const char *dirs[3 + ARRAY_SIZE(from_exe)];
	bool source_tree[3 + ARRAY_SIZE(from_exe)] = { false };
	char exe_dirs[ARRAY_SIZE(from_exe) + 1][PATH_MAX + 32];
	size_t ndirs = 0;

	if (env && *env)
		dirs[ndirs++] = env;
	/* readlink, not realpath: when the binary is rebuilt while a run goes
	 * on, the link reads "<path> (deleted)" and realpath fails; the
	 * scripts beside the new binary are still the right ones. */
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len > 0) {
		exe[len] = '\0';
		static const char deleted[] = " (deleted)";
		size_t n = (size_t)len, d = sizeof(deleted) - 1;
		if (n > d && strcmp(exe + n - d, deleted) == 0)
			exe[n - d] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		for (size_t i = 0; i < ARRAY_SIZE(from_exe); i++) {
			snprintf(exe_dirs[i], sizeof(exe_dirs[i]), "%s%s", exe, from_exe[i]);
			source_tree[ndirs] = true;
			dirs[ndirs++] = exe_dirs[i];
		}
		/* an installed tree: <prefix>/bin/cohmap, <prefix>/share/cohmap/plots */
		snprintf(exe_dirs[ARRAY_SIZE(from_exe)], sizeof(exe_dirs[0]), "%s/../share/cohmap/plots", exe);
		dirs[ndirs++] = exe_dirs[ARRAY_SIZE(from_exe)];
	}
	dirs[ndirs++] = COHMAP_DATADIR "/plots";

	for (size_t i = 0; i < ndirs; i++) {
		bool found;
		if (source_tree[i]) {
			found = find_in_source_tree(dirs[i], script, candidate, sizeof candidate);
		} else {
			snprintf(candidate, sizeof(candidate), "%s/%s", dirs[i], script);
			found = access(candidate, R_OK) == 0;
		}
		if (found) {
			char clean[PATH_MAX];
			const char *resolved = realpath(candidate, clean) ? clean : candidate;
			if (strlen(resolved) >= size) {
				set_error(err, "plot script path too long: %s", resolved);
				return -1;
			}
			strcpy(path, resolved);
			return 0;
		}
		size_t used = strlen(looked);
		snprintf(looked + used, sizeof(looked) - used, "%s%s%s", i ? ", " : "", dirs[i],
			 source_tree[i] ? "/{plots,cli,experiments/*}" : "");
	}
	set_error(err, "plot script %s not found (set COHMAP_PLOTS_DIR); looked in %s%s", script,
		  env && *env ? "" : "$COHMAP_PLOTS_DIR (unset), ", looked);
	return -1;
}

/* ---- running gnuplot ---- */

int plot_gnuplot_quote(char *out, size_t size, const char *s)
{
	size_t j = 0;

	if (strchr(s, '\n'))
		return -1;
	if (size < 3)
		return -1;
	out[j++] = '\'';
	for (; *s; s++) {
		if (j + (*s == '\'' ? 2 : 1) + 2 > size)
			return -1;
		if (*s == '\'')
			out[j++] = '\'';
		out[j++] = *s;
	}
	out[j++] = '\'';
	out[j] = '\0';
	return 0;
}

/* gnuplot reports an error as the offending command, a caret under it, then
 * `"file" line N: message` (or `line 0: message` for -e). That last line is
 * the one worth showing; warnings look the same but say so. */
static void error_line(const char *text, char *line, size_t size)
{
	const char *first = NULL, *p = text;
	size_t first_len = 0;

	while (*p) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *l = p;
		while (len > 0 && (*l == ' ' || *l == '\t')) {
			l++;
			len--;
		}
		const char *at = memmem(l, len, "line ", 5);
		if (at) {
			const char *d = at + 5;
			while (d < l + len && *d >= '0' && *d <= '9')
				d++;
			if (d > at + 5 && d < l + len && *d == ':' &&
			    !memmem(l, len, "warning:", 8)) {
				snprintf(line, size, "%.*s", (int)len, l);
				return;
			}
		}
		if (!first && len > 0 && *l != '^') {
			first = l;
			first_len = len;
		}
		p = end ? end + 1 : p + strlen(p);
	}
	if (first)
		snprintf(line, size, "%.*s", (int)first_len, first);
	else
		line[0] = '\0';
}

int plot_run_gnuplot(const char *script, const char *const *assignments, char *err)
{
	const char **argv = NULL;
	char *output = NULL;
	int pipefd[2] = {-1, -1}, devnull = -1, ret = -1, status;
	size_t nassign = 0, argc = 0, used = 0;
	pid_t pid = -1;

	while (assignments && assignments[nassign])
		nassign++;
	argv = calloc(2 * nassign + 3, sizeof(*argv));
	output = malloc(GNUPLOT_STDERR_MAX + 1);
	if (!argv || !output) {
		set_error(err, "gnuplot: out of memory");
		goto out;
	}
	argv[argc++] = "gnuplot";
	for (size_t i = 0; i < nassign; i++) {
		argv[argc++] = "-e";
		argv[argc++] = assignments[i];
	}
	if (script)
		argv[argc++] = script;
	argv[argc] = NULL;

	/* Everything the child needs is opened before fork, so between fork and
	 * exec it only calls dup2, write and _exit (safe even if the parent has
	 * threads). */
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0 || pipe2(pipefd, O_CLOEXEC) < 0) {
		set_error(err, "gnuplot: %s", strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		set_error(err, "gnuplot: fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		if (dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(pipefd[1], 2) < 0)
			_exit(127);
		execvp("gnuplot", (char *const *)argv);
		static const char missing[] =
			"gnuplot is not on PATH; install it: apt-get install gnuplot-nox\n";
		static const char failed[] = "cannot execute gnuplot\n";
		if (errno == ENOENT) {
			if (write(2, missing, sizeof(missing) - 1) < 0)
				_exit(127);
		} else if (write(2, failed, sizeof(failed) - 1) < 0) {
			_exit(127);
		}
		_exit(127);
	}
	close(pipefd[1]);
	pipefd[1] = -1;

	/* Read to the end even past what we keep, so gnuplot never blocks on a
	 * full pipe. */
	for (;;) {
		char sink[1024];
		char *dst = used < GNUPLOT_STDERR_MAX ? output + used : sink;
		size_t room = used < GNUPLOT_STDERR_MAX ? GNUPLOT_STDERR_MAX - used : sizeof(sink);
		ssize_t n = read(pipefd[0], dst, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (dst != sink)
			used += (size_t)n;
	}
	output[used] = '\0';
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			set_error(err, "gnuplot: waitpid: %s", strerror(errno));
			goto out;
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		ret = 0;
		goto out;
	}
	char line[ERRLEN];
	error_line(output, line, sizeof(line));
	if (line[0])
		set_error(err, "gnuplot: %s", line);
	else if (WIFEXITED(status))
		set_error(err, "gnuplot exited with status %d", WEXITSTATUS(status));
	else
		set_error(err, "gnuplot killed by signal %d", WTERMSIG(status));
out:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (devnull >= 0)
		close(devnull);
	free(argv);
	free(output);
	return ret;
}

static bool on_path(const char *name)
{
	const char *path = getenv("PATH");
	char candidate[PATH_MAX];

	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t len = strcspn(path, ":");
		snprintf(candidate, sizeof(candidate), "%.*s/%s", (int)len,
			 len ? path : ".", name);
		if (access(candidate, X_OK) == 0)
			return true;
		path += len + (path[len] == ':');
	}
	return false;
}

bool plot_gnuplot_available(char *why, size_t size)
{
	static const char *const probe[] = {"set terminal pngcairo", NULL};
	char err[ERRLEN];

	if (!on_path("gnuplot")) {
		snprintf(why, size, "gnuplot is not on PATH; install it: apt-get install gnuplot-nox");
		return false;
	}
	if (plot_run_gnuplot(NULL, probe, err) < 0) {
		snprintf(why, size,
			 "gnuplot lacks the pngcairo terminal (%s); install it: apt-get install "
			 "gnuplot-nox", err);
		return false;
	}
	return true;
}

/* ---- writing files atomically ---- */

FILE *plot_file_begin(const char *path, char *tmp, size_t size, char *err)
{
	if ((size_t)snprintf(tmp, size, "%s.tmp", path) >= size) {
		set_error(err, "path too long: %s", path);
		return NULL;
	}
	FILE *f = fopen(tmp, "we");
	if (!f)
		set_error(err, "%s: %s", tmp, strerror(errno));
	return f;
}

int plot_file_finish(FILE *f, const char *tmp, const char *path, char *err)
{
	bool failed = ferror(f);
	if (fclose(f) != 0)
		failed = true;
	if (failed) {
		set_error(err, "writing %s: %s", tmp, strerror(errno ? errno : EIO));
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		set_error(err, "renaming %s: %s", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

void plot_put_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20)
			continue;
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* ---- heatmaps ---- */

void plot_put_tics(FILE *f, const char *axis, const int *cpus, int n)
{
	/* In chunks, to keep gnuplot's command lines short on big machines. */
	for (int i = 0; i < n; i += 16) {
		fprintf(f, "set %s %s(", axis, i ? "add " : "");
		for (int j = i; j < n && j < i + 16; j++)
			fprintf(f, "%s\"%d\" %d", j > i ? ", " : "", cpus[j], j);
		fputs(")\n", f);
	}
}

void plot_put_borders(FILE *f, const int *sockets, int ns, const int *l3, int nl, int n)
{
	/* Borders sit between cells: the cell of index i spans i-0.5 .. i+0.5.
	 * Arrow style 1 (socket) and 2 (L3 group) are defined by the scripts;
	 * an L3 border that is also a socket border is drawn once, as a socket. */
	double lim = n - 0.5;
	for (int k = 0; k < nl + ns; k++) {
		bool socket = k >= nl;
		int b = socket ? sockets[k - nl] : l3[k];
		bool also_socket = false;
		for (int s = 0; !socket && s < ns; s++)
			also_socket |= sockets[s] == b;
		if (also_socket)
			continue;
		fprintf(f, "set arrow from %.1f,-0.5 to %.1f,%.1f as %d\n", b - 0.5, b - 0.5, lim,
			socket ? 1 : 2);
		fprintf(f, "set arrow from -0.5,%.1f to %.1f,%.1f as %d\n", b - 0.5, lim, b - 0.5,
			socket ? 1 : 2);
	}
}

/* Names the blocks between borders along the top axis ("socket 1", "L3 4")
 * when they are wide enough to hold a name. */
static void put_blocks(FILE *f, const struct topology *t, const int *cpus, int n,
		       const int *borders, int nb, bool sockets)
{
	int start = 0;

	for (int i = 0; i <= nb; i++) {
		int end = i < nb ? borders[i] : n;
		if (end - start < 3)
			return;
		start = end;
	}
	fputs("set x2tics scale 0 (", f);
	start = 0;
	for (int i = 0; i <= nb; i++) {
		int end = i < nb ? borders[i] : n;
		const struct cpu_place *p = topology_find(t, cpus[start]);
		fprintf(f, "%s\"%s %d\" %.1f", i ? ", " : "", sockets ? "socket" : "L3",
			sockets ? p->socket : p->l3_group, (start + end - 1) / 2.0);
		start = end;
	}
	fputs(")\n", f);
}

int plot_render(const char *script, const char *dat, const char *vars, const char *const *extra,
		const char *image, char *err)
{
	char tmp[PATH_MAX], a_data[2 * PATH_MAX + 8], a_vars[2 * PATH_MAX + 8],
		a_out[2 * PATH_MAX + 8], e[ERRLEN];
	const char *dot = strrchr(image, '.');
	const char *assign[16];
	int n = 0;

	if (dot == NULL || (size_t)snprintf(tmp, sizeof(tmp), "%.*s.tmp%s", (int)(dot - image), image,
					    dot) >= sizeof(tmp)) {
		set_error(err, "bad image path: %s", image);
		return -1;
	}
	strcpy(a_data, "data=");
	strcpy(a_vars, "vars=");
	strcpy(a_out, "out=");
	if (plot_gnuplot_quote(a_data + 5, sizeof(a_data) - 5, dat) < 0 ||
	    (vars && plot_gnuplot_quote(a_vars + 5, sizeof(a_vars) - 5, vars) < 0) ||
	    plot_gnuplot_quote(a_out + 4, sizeof(a_out) - 4, tmp) < 0) {
		set_error(err, "%s: gnuplot cannot take this path (newline or too long)", image);
		return -1;
	}
	assign[n++] = a_data;
	if (vars)
		assign[n++] = a_vars;
	for (int i = 0; extra && extra[i] && n < 14; i++)
		assign[n++] = extra[i];
	assign[n++] = a_out;
	assign[n] = NULL;
	if (plot_run_gnuplot(script, assign, e) < 0) {
		unlink(tmp);
		set_error(err, "drawing %s: %s", image, e);
		return -1;
	}
	if (rename(tmp, image) < 0) {
		set_error(err, "renaming %s: %s", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int plot_draw(const char *script_name, const char *dat, const char *vars, const char *image,
	      char *err)
{
	char script[PATH_MAX];
	if (plot_script_path(script_name, script, sizeof(script), err) < 0)
		return -1;
	return plot_render(script, dat, vars, NULL, image, err);
}

bool plot_safe_name(const char *s)
{
	if (!*s || *s == '.' || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.'))
			return false;
	return true;
}

void plot_put_matrix(FILE *f, const int *cpus, int n, const double *value)
{
	fputs("# index:cpu", f);
	for (int i = 0; i < n; i++)
		fprintf(f, " %d:%d", i, cpus[i]);
	fputc('\n', f);
	for (int y = 0; y < n; y++) {
		for (int x = 0; x < n; x++) {
			double v = value[y * n + x];
			if (isfinite(v))
				fprintf(f, "%d %d %.6g\n", x, y, v);
			else
				fprintf(f, "%d %d NaN\n", x, y);
		}
		fputc('\n', f);   /* one scan line per row */
	}
}

/* Past PLOT_CPU_LABELS_MAX CPUs a label per CPU is a grey smear: each axis
 * names its blocks instead, at the widest level the CPUs span (sockets, else
 * dies, else L3 groups, else NUMA nodes), and the borders show the rest. */
static int domain_of(const struct cpu_place *p, int level)
{
	return level == 0 ? p->socket : level == 1 ? p->die : level == 2 ? p->l3_group : p->numa_node;
}

static void put_domain_tics(FILE *f, const char *axis, const struct topology *t, const int *cpus,
			    int n)
{
	static const char *const names[] = { "socket", "die", "L3", "node" };
	struct topology_domains d;
	topology_domains(t, cpus, n, &d);
	int level = d.sockets > 1 ? 0 : d.dies > 1 ? 1 : d.l3_groups > 1 ? 2 : d.numa_nodes > 1 ? 3 : -1;
	if (level < 0) { /* one block: its first and last CPU */
		fprintf(f, "set %s (\"%d\" 0, \"%d\" %d)\n", axis, cpus[0], cpus[n - 1], n - 1);
		return;
	}
	int start = 0, written = 0;
	for (int i = 1; i <= n; i++) {
		const struct cpu_place *a = topology_find(t, cpus[start]);
		const struct cpu_place *b = i < n ? topology_find(t, cpus[i]) : NULL;
		if (a && b && domain_of(a, level) == domain_of(b, level))
			continue;
		/* in chunks of 16, to keep gnuplot's command lines short */
		if (written % 16 == 0)
			fprintf(f, "%sset %s %s(", written ? ")\n" : "", axis, written ? "add " : "");
		fprintf(f, "%s\"%s %d\" %.1f", written % 16 ? ", " : "", names[level],
			a ? domain_of(a, level) : -1, (start + i - 1) / 2.0);
		written++;
		start = i;
	}
	fputs(")\n", f);
}

void plot_put_cpu_tics(FILE *f, const struct topology *t, const int *cpus, int n)
{
	if (n > PLOT_CPU_LABELS_MAX) {
		put_domain_tics(f, "xtics", t, cpus, n);
		put_domain_tics(f, "ytics", t, cpus, n);
		return;
	}
	plot_put_tics(f, "xtics", cpus, n);
	plot_put_tics(f, "ytics", cpus, n);
	/* Past ~16 columns, multi-digit ids no longer fit side by side. */
	if (n > 16)
		fputs("set xtics rotate by 90 right\n", f);
}

int plot_put_axes(FILE *f, const struct topology *t, const int *cpus, int n, bool blocks)
{
	int *sockets = malloc(((size_t)n + 1) * sizeof(int));
	int *l3 = malloc(((size_t)n + 1) * sizeof(int));
	if (!sockets || !l3) {
		free(sockets);
		free(l3);
		return -1;
	}
	int ns = topology_borders(t, cpus, n, true, sockets, n);
	int nl = topology_borders(t, cpus, n, false, l3, n);
	plot_put_cpu_tics(f, t, cpus, n);
	if (n > PLOT_CPU_LABELS_MAX)
		blocks = false; /* the axes name the blocks already */
	if (blocks && ns > 0)
		put_blocks(f, t, cpus, n, sockets, ns, true);
	else if (blocks && nl > 0)
		put_blocks(f, t, cpus, n, l3, nl, false);
	plot_put_borders(f, sockets, ns, l3, nl, n);
	free(sockets);
	free(l3);
	return 0;
}

/* heatmap.gp prints whole numbers; cells in the caller's format are labels
 * here, sized and inked the way the script does it. */
static void put_cell_labels(FILE *f, const struct plot_matrix *m, double cbmin, double cbmax)
{
	int n = m->n, size = 24 * n + 200 > 640 ? 24 * n + 200 : 640;
	double pt = (size - 200.0) / n / 3.2;
	pt = pt > 14 ? 14 : pt < 6 ? 6 : pt;
	double span = cbmax > cbmin ? cbmax - cbmin : 2, base = cbmax > cbmin ? cbmin : cbmin - 1;
	fputs("values = 0\n", f);
	for (int y = 0; y < n; y++)
		for (int x = 0; x < n; x++) {
			double v = m->value[y * n + x];
			char text[64];
			if (!isfinite(v))
				continue;
			snprintf(text, sizeof(text), m->cell_format, v);
			fprintf(f, "set label \"%s\" at %d,%d center front textcolor rgb \"%s\" font \",%d\"\n",
				text, x, y, (v - base) / span < 0.55 ? "#ffffff" : "#000000", (int)pt);
		}
}

static int write_vars(const char *path, const struct topology *t, const struct plot_matrix *m,
		      char *err)
{
	char tmp[PATH_MAX];
	double lo = INFINITY, hi = -INFINITY;
	int n = m->n;

	for (int i = 0; i < n * n; i++)
		if (isfinite(m->value[i])) {
			lo = fmin(lo, m->value[i]);
			hi = fmax(hi, m->value[i]);
		}
	FILE *f = plot_file_begin(path, tmp, sizeof(tmp), err);
	if (!f)
		return -1;
	/* The colour range, so the script needs no stats pass (which fails on a
	 * matrix without any value). It starts at 0: see heatmap.gp. Values
	 * given with gnuplot -e win. */
	double cbmin = lo <= hi && lo < 0 ? lo : 0, cbmax = lo <= hi ? hi : 1;
	fputs(m->vars_comment ? m->vars_comment : "# written by cohmap for plots/heatmap.gp\n", f);
	fprintf(f, "ncpus = %d\n", n);
	fprintf(f, "if (!exists(\"cbmin\")) { cbmin = %.6g }\n", cbmin);
	fprintf(f, "if (!exists(\"cbmax\")) { cbmax = %.6g }\n", cbmax);
	/* Only safe text goes in here: this file is gnuplot code. */
	fputs("set title ", f);
	plot_put_string(f, m->title);
	fputs("\nset xlabel ", f);
	plot_put_string(f, m->xlabel);
	fputs("\nset ylabel ", f);
	plot_put_string(f, m->ylabel);
	fputs("\nset cblabel ", f);
	plot_put_string(f, m->cblabel);
	if (m->cblabel_note)
		fprintf(f, " %s", m->cblabel_note);
	fputc('\n', f);
	if (plot_put_axes(f, t, m->cpus, n, true) < 0) {
		fclose(f);
		unlink(tmp);
		set_error(err, "%s: out of memory", path);
		return -1;
	}
	if (m->cell_format && n <= PLOT_CPU_LABELS_MAX)
		put_cell_labels(f, m, cbmin, cbmax);
	return plot_file_finish(f, tmp, path, err);
}

int plot_heatmap_files(const char *stem, const struct topology *t, const struct plot_matrix *m,
		       const char *script, char *err)
{
	char dat[PATH_MAX], vars[PATH_MAX], tmp[PATH_MAX], image[PATH_MAX];

	snprintf(dat, sizeof(dat), "%s.dat", stem);
	snprintf(vars, sizeof(vars), "%s.gpvars", stem);
	FILE *f = plot_file_begin(dat, tmp, sizeof(tmp), err);
	if (!f)
		return -1;
	if (m->dat_comment) {
		fputs(m->dat_comment, f);
	} else {
		fputs("# cohmap matrix ", f);
		fputs(strrchr(stem, '/') ? strrchr(stem, '/') + 1 : stem, f);
		fputs(": ", f);
		plot_put_string(f, m->cblabel);
		fputs("\n# x = column index, y = row index, in topology order; NaN: no value\n", f);
	}
	plot_put_matrix(f, m->cpus, m->n, m->value);
	if (plot_file_finish(f, tmp, dat, err) < 0 || write_vars(vars, t, m, err) < 0)
		return -1;
	static const char *const formats[] = {"png", "svg"};
	for (size_t i = 0; script && i < ARRAY_SIZE(formats); i++) {
		snprintf(image, sizeof(image), "%s.%s", stem, formats[i]);
		if (plot_render(script, dat, vars, NULL, image, err) < 0)
			return -1;
	}
	return 0;
}

int plot_matrix_heatmap(const char *dir, const char *name, const struct topology *t,
			const struct plot_matrix *m, bool draw, char *err)
{
	char stem[PATH_MAX], script[PATH_MAX];

	if (!plot_safe_name(name) || strlen(dir) > PATH_MAX - 128) {
		set_error(err, "cannot name a plot '%s' in %s", name, dir);
		return -1;
	}
	snprintf(stem, sizeof(stem), "%s/%s", dir, name);
	if (draw && plot_script_path("heatmap.gp", script, sizeof(script), err) < 0)
		return -1;
	return plot_heatmap_files(stem, t, m, draw ? script : NULL, err);
}
