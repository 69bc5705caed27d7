/* Topology files: a line-oriented text format that people can write by hand
 * for machines they do not have (tests, teaching, offline plots). The format
 * is documented in topology/fixtures/README. The reader refuses anything it
 * does not understand with one line naming the file and the line. */
#include "topology/topology.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/common.h"

#define TOPO_HEADER "# cohmap topology v1"
#define CPU_FIELDS "cpu socket die numa l3 l2 core smt online allowed"
#define SPACES " \t"

enum key { K_MODEL, K_VENDOR, K_FAMILY, K_MODEL_NO, K_STEPPING, K_LINE, K_L1D, K_L2, K_L3, K_COUNT };

static const char *const key_names[K_COUNT] = {
	[K_MODEL] = "cpu_model", [K_VENDOR] = "vendor",       [K_FAMILY] = "family",
	[K_MODEL_NO] = "model",  [K_STEPPING] = "stepping",   [K_LINE] = "line_size",
	[K_L1D] = "l1d_bytes",   [K_L2] = "l2_bytes",         [K_L3] = "l3_bytes",
};

/* A cpu entry and the line it came from, so errors found after sorting can
 * still name the line. */
struct entry {
	struct cpu_place place;
	int line;
};

/* The whole token must be a decimal number in [0, max]. */
static bool read_number(const char *tok, unsigned long long max, unsigned long long *value)
{
	char *end;

	if (!tok || *tok < '0' || *tok > '9')
		return false;
	errno = 0;
	*value = strtoull(tok, &end, 10);
	return errno == 0 && *end == '\0' && *value <= max;
}

static char *trim(char *s)
{
	size_t n;

	s += strspn(s, SPACES);
	n = strlen(s);
	while (n > 0 && strchr(SPACES "\r\n", s[n - 1]))
		s[--n] = '\0';
	return s;
}

static int cmp_entry(const void *pa, const void *pb)
{
	const struct entry *a = pa, *b = pb;

	/* By line among equal ids, so a duplicate is reported where it repeats. */
	if (a->place.cpu != b->place.cpu)
		return (a->place.cpu > b->place.cpu) - (a->place.cpu < b->place.cpu);
	return (a->line > b->line) - (a->line < b->line);
}

/* A "cpu ..." line: ten numbers in CPU_FIELDS order. */
static int parse_cpu(char *rest, struct cpu_place *p, char *msg)
{
	static const char *const names[10] = { "cpu", "socket", "die", "numa", "l3", "l2",
					       "core", "smt", "online", "allowed" };
	int *ids[8] = { &p->cpu, &p->socket, &p->die, &p->numa_node, &p->l3_group,
			&p->l2_group, &p->core, &p->smt };
	unsigned long long v[10];
	char *save = NULL, *tok = strtok_r(rest, SPACES, &save);
	int n = 0;

	for (; tok; tok = strtok_r(NULL, SPACES, &save), n++) {
		if (n >= 10) {
			set_error(msg, "cpu line has more than 10 numbers (%s)", CPU_FIELDS);
			return -1;
		}
		if (!read_number(tok, n < 8 ? INT_MAX : 1, &v[n])) {
			set_error(msg, "%s '%.40s' is not %s (fields: %s)", names[n], tok,
				  n < 8 ? "a non-negative number" : "0 or 1", CPU_FIELDS);
			return -1;
		}
	}
	if (n < 10) {
		set_error(msg, "cpu line needs 10 numbers (%s), found %d", CPU_FIELDS, n);
		return -1;
	}
	for (int i = 0; i < 8; i++)
		*ids[i] = (int)v[i];
	p->online = v[8];
	p->allowed = v[9];
	return 0;
}

static int parse_line(char *line, int lineno, struct topology *t, bool seen[K_COUNT],
		      struct entry **cpus, size_t *cap, char *msg)
{
	char *key = line, *val;
	unsigned long long v;
	int k;

	val = key + strcspn(key, SPACES);
	if (*val)
		*val++ = '\0';
	val = trim(val);
	if (strcmp(key, "cpu") == 0) {
		if (*cpus == NULL || (size_t)t->ncpus == *cap) { /* the first cpu line, or full */
			size_t ncap = *cap ? 2 * *cap : 64;
			struct entry *n = realloc(*cpus, ncap * sizeof(*n));
			if (!n) {
				set_error(msg, "out of memory");
				return -1;
			}
			*cpus = n, *cap = ncap;
		}
		(*cpus)[t->ncpus].line = lineno;
		return parse_cpu(val, &(*cpus)[t->ncpus++].place, msg);
	}
	for (k = 0; k < K_COUNT && strcmp(key, key_names[k]) != 0; k++)
		;
	if (k == K_COUNT) {
		set_error(msg, "unknown key '%.40s' (keys: cpu_model vendor family model stepping "
			  "line_size l1d_bytes l2_bytes l3_bytes cpu)", key);
		return -1;
	}
	if (seen[k]) {
		set_error(msg, "%s given twice", key_names[k]);
		return -1;
	}
	seen[k] = true;
	if (!*val) {
		set_error(msg, "%s needs a value", key_names[k]);
		return -1;
	}
	if (k == K_MODEL || k == K_VENDOR) {
		char *dst = k == K_MODEL ? t->cpu_model : t->vendor;
		size_t size = k == K_MODEL ? sizeof(t->cpu_model) : sizeof(t->vendor);
		if (strlen(val) >= size) {
			set_error(msg, "%s is longer than %zu characters", key_names[k], size - 1);
			return -1;
		}
		strcpy(dst, val);
		return 0;
	}
	if (!read_number(val, k >= K_L1D ? SIZE_MAX : INT_MAX, &v)) {
		set_error(msg, "%s: '%.40s' is not a non-negative number", key_names[k], val);
		return -1;
	}
	switch (k) {
	case K_FAMILY:   t->family = (int)v; break;
	case K_MODEL_NO: t->model = (int)v; break;
	case K_STEPPING: t->stepping = (int)v; break;
	case K_L1D:      t->l1d_bytes = v; break;
	case K_L2:       t->l2_bytes = v; break;
	case K_L3:       t->l3_bytes = v; break;
	case K_LINE:
		if (v == 0 || (v & (v - 1))) {
			set_error(msg, "line_size %llu is not a power of two", v);
			return -1;
		}
		t->line_size = (int)v;
		break;
	}
	return 0;
}

int topology_load(struct topology *t, const char *path, char *err)
{
	struct topology nt = { 0 };
	struct entry *cpus = NULL;
	bool seen[K_COUNT] = { false };
	char msg[ERRLEN] = "";
	char *buf = NULL;
	size_t bufsize = 0, cap = 0;
	ssize_t len;
	int lineno = 0, bad, rc = -1;
	FILE *f = fopen(path, "r");

	if (!f) {
		set_error(err, "cannot open topology file %s: %s", path, strerror(errno));
		return -1;
	}
	while ((len = getline(&buf, &bufsize, f)) >= 0) {
		char *line;
		lineno++;
		if (strlen(buf) != (size_t)len) {
			set_error(msg, "not a cohmap topology file: it contains a NUL byte");
			goto fail;
		}
		line = trim(buf);
		if (lineno == 1 && strcmp(line, TOPO_HEADER) != 0) {
			set_error(msg, "not a cohmap topology file: the first line must be '%s' "
				  "(cohmap topo --save FILE writes one)", TOPO_HEADER);
			goto fail;
		}
		if (*line == '\0' || *line == '#')
			continue;
		if (parse_line(line, lineno, &nt, seen, &cpus, &cap, msg) < 0)
			goto fail;
	}
	if (ferror(f)) {
		set_error(err, "cannot read topology file %s: %s", path, strerror(errno));
		goto out;
	}
	if (lineno == 0) {
		lineno = 1;
		set_error(msg, "empty file; the first line must be '%s'", TOPO_HEADER);
		goto fail;
	}
	for (int k = 0; k < K_COUNT; k++)
		if (!seen[k]) {
			set_error(msg, "file ends without a '%s' line", key_names[k]);
			goto fail;
		}
	if (cpus)
		qsort(cpus, (size_t)nt.ncpus, sizeof(*cpus), cmp_entry);
	nt.cpus = calloc((size_t)nt.ncpus + 1, sizeof(*nt.cpus));
	if (!nt.cpus) {
		set_error(err, "%s: out of memory", path);
		goto out;
	}
	for (int i = 0; i < nt.ncpus; i++)
		nt.cpus[i] = cpus[i].place;
	if (topology_check(&nt, &bad, msg) < 0) {
		if (bad >= 0)
			lineno = cpus[bad].line;
		goto fail;
	}
	snprintf(nt.source, sizeof(nt.source), "%s", path);
	*t = nt;
	nt.cpus = NULL;
	rc = 0;
	goto out;
fail:
	/* Messages quote the file; a garbage file must not put control
	 * characters on the user's terminal. */
	for (char *c = msg; *c; c++)
		if ((unsigned char)*c < ' ' || *c == 0x7f)
			*c = '?';
	set_error(err, "%s:%d: %s", path, lineno, msg);
out:
	free(nt.cpus);
	free(cpus);
	free(buf);
	fclose(f);
	return rc;
}

/* Newlines would break the line format; the model string is the only free text. */
static void put_text(FILE *f, const char *key, const char *text)
{
	fprintf(f, "%s ", key);
	for (const char *c = text; *c; c++)
		fputc(*c == '\n' || *c == '\r' ? ' ' : *c, f);
	fputc('\n', f);
}

/* Written to path.tmp, synced and renamed, so a reader never sees half a file
 * and a crash leaves the old file in place. */
int topology_save(const struct topology *t, const char *path, char *err)
{
	char tmp[PATH_MAX];
	int fd = -1, rc = -1;
	FILE *f = NULL;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		set_error(err, "path too long: %s", path);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		set_error(err, "cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	fprintf(f, "%s\n# from %s\n", TOPO_HEADER, t->source);
	put_text(f, "cpu_model", t->cpu_model);
	put_text(f, "vendor", t->vendor);
	fprintf(f, "family %d\nmodel %d\nstepping %d\nline_size %d\n", t->family, t->model,
		t->stepping, t->line_size);
	fprintf(f, "l1d_bytes %zu\nl2_bytes %zu\nl3_bytes %zu\n", t->l1d_bytes, t->l2_bytes,
		t->l3_bytes);
	fprintf(f, "# %s\n", CPU_FIELDS);
	for (int i = 0; i < t->ncpus; i++) {
		const struct cpu_place *p = &t->cpus[i];
		fprintf(f, "cpu %d %d %d %d %d %d %d %d %d %d\n", p->cpu, p->socket, p->die,
			p->numa_node, p->l3_group, p->l2_group, p->core, p->smt, p->online,
			p->allowed);
	}
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		set_error(err, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fclose(f) != 0) {
		f = NULL;
		set_error(err, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	f = NULL;
	if (rename(tmp, path) != 0) {
		set_error(err, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (f)
		fclose(f);
	if (fd >= 0)
		close(fd);
	if (rc)
		unlink(tmp);
	return rc;
}
