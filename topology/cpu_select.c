/* CPU expressions: topology_select(), which resolves a plain list or a likwid
 * expression (S0:0-3, N:0-7, E:N:4) and checks every CPU against sysfs and
 * this process's affinity mask, and topology_keep_here() for a topology file. */
#include "topology/topology.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <numa.h>

#include "base/common.h"
#include "topology/likwid_calls.h"
#include "topology/sysfs_cpus.h"

#define EXPR_EXAMPLES "examples: 0,2,4  S0:0-3  N:0-7  E:N:4"

/* A plain list ("0,2,4-7") names OS CPU ids, as taskset does. likwid resolves
 * it like any expression, but inside a restricted cpuset it reads plain numbers
 * as logical ids ("0" becomes CPU 1 under taskset -c 1), and it drops CPUs that
 * do not exist with only a message. So the set the user named is also read by
 * libnuma's parser of the same syntax, and likwid's answer (whose order we keep)
 * must be exactly that set. */
static bool is_plain_list(const char *expr)
{
	return *expr && strspn(expr, "0123456789,-") == strlen(expr);
}

/* What topology_select checks every CPU against. */
struct selection {
	const struct topology *t;
	const char *expr;
	struct bitmask *online;
	struct affinity aff;
};

/* cpus[0..n) are the CPUs already accepted. */
static int check_cpu(const struct selection *s, const int *cpus, int n, long c, char *err)
{
	char path[64], allowed[256];

	snprintf(path, sizeof(path), SYS_CPU "/cpu%ld", c);
	if (c < 0 || c > INT_MAX || access(path, F_OK) != 0) {
		set_error(err, "cpu expression '%s': CPU %ld does not exist on this machine", s->expr, c);
		return -1;
	}
	for (int j = 0; j < n; j++)
		if (cpus[j] == c) {
			set_error(err, "cpu expression '%s' names CPU %ld twice", s->expr, c);
			return -1;
		}
	if (!sysfs_in_mask(s->online, (int)c)) {
		set_error(err, "cpu expression '%s': CPU %ld is offline", s->expr, c);
		return -1;
	}
	if (!affinity_has(&s->aff, (int)c)) {
		affinity_format(&s->aff, allowed, sizeof(allowed));
		set_error(err, "cpu expression '%s': CPU %ld is outside this process's affinity mask "
			  "(allowed: %s)", s->expr, c, allowed);
		return -1;
	}
	if (!topology_find(s->t, (int)c)) {
		set_error(err, "cpu expression '%s': CPU %ld is not in the topology from %s",
			  s->expr, c, s->t->source);
		return -1;
	}
	return 0;
}

/* One item of a CPU list, "i" or "i-j" with i <= j: its bounds, where the
 * last number's text starts (if last_text) and where the item ends. */
static bool range_item(const char *item, long *first, long *last, const char **last_text,
		       char **after)
{
	if (!isdigit((unsigned char)*item))
		return false;
	*first = *last = strtol(item, after, 10);
	if (last_text)
		*last_text = item;
	if (**after == '-') {
		if (!isdigit((unsigned char)(*after)[1]))
			return false;
		if (last_text)
			*last_text = *after + 1;
		*last = strtol(*after + 1, after, 10);
	}
	return *last >= *first;
}

/* Without liblikwid (a build without it, or a machine it cannot read) a
 * plain list is read here, in the order it names the CPUs, as likwid would:
 * "i" or "i-j" (i <= j) items separated by commas. */
static int plain_list_without_likwid(const struct selection *sel, int *cpus, int max, char *err)
{
	int n = 0;

	for (const char *item = sel->expr; *item; item++) {
		char *after;
		long first, last;
		if (!range_item(item, &first, &last, NULL, &after) || (*after && *after != ',') ||
		    (*after == ',' && !after[1]))
			goto invalid;
		for (long c = first; c <= last; c++) {
			if (n == max) {
				set_error(err, "cpu expression '%s' names more than %d CPUs", sel->expr, max);
				return -1;
			}
			if (check_cpu(sel, cpus, n, c, err) < 0)
				return -1;
			cpus[n++] = (int)c;
		}
		item = *after ? after : after - 1;
	}
	if (n > 0)
		return n;
invalid:
	set_error(err, "cpu expression '%s' is not valid (%s)", sel->expr, EXPR_EXAMPLES);
	return -1;
}

static int plain_list(const struct selection *sel, int *cpus, int max, char *err)
{
	struct likwid_capture cap;
	struct bitmask *named = NULL;
	char said[256];
	long dropped;
	int n, rc = -1, *buf;

	if (likwid_start(err) < 0)
		return plain_list_without_likwid(sel, cpus, max, err);
	if (!(buf = calloc((size_t)max + 1, sizeof(*buf)))) {
		set_error(err, "out of memory");
		return -1;
	}
	if (likwid_capture_begin(&cap, err) < 0)
		goto out;
	n = likwid_cpulist(sel->expr, buf, max + 1);
	named = numa_parse_cpustring_all(sel->expr); /* its warnings are captured too */
	likwid_capture_end(&cap, said, sizeof(said));

	if (sscanf(said, "CPU %ld not in domain", &dropped) == 1) {
		if (check_cpu(sel, NULL, 0, dropped, err) == 0)
			set_error(err, "cpu expression '%s': likwid cannot use CPU %ld", sel->expr, dropped);
		goto out;
	}
	if (!named) {
		set_error(err, "cpu expression '%s' is not valid (%s)", sel->expr, EXPR_EXAMPLES);
		goto out;
	}
	/* The CPUs the user named explain best why likwid found none of them. */
	for (unsigned c = 0; c < named->size; c++)
		if (numa_bitmask_isbitset(named, c) && check_cpu(sel, NULL, 0, c, err) < 0)
			goto out;
	if (n <= 0) {
		set_error(err, "cpu expression '%s' is not valid (%s)", sel->expr, EXPR_EXAMPLES);
		goto out;
	}
	if (n > max) {
		set_error(err, "cpu expression '%s' names more than %d CPUs", sel->expr, max);
		goto out;
	}
	for (int i = 0; i < n; i++) {
		if (check_cpu(sel, buf, i, buf[i], err) < 0)
			goto out;
		if (!numa_bitmask_isbitset(named, (unsigned)buf[i])) {
			set_error(err, "cpu expression '%s': likwid resolves it to CPU %d, which it "
				  "does not name", sel->expr, buf[i]);
			goto out;
		}
	}
	if ((int)numa_bitmask_weight(named) != n) {
		set_error(err, "cpu expression '%s': likwid resolves it to %d CPUs, not %u",
			  sel->expr, n, numa_bitmask_weight(named));
		goto out;
	}
	memcpy(cpus, buf, (size_t)n * sizeof(*cpus));
	rc = n;
out:
	if (named)
		numa_bitmask_free(named);
	free(buf);
	return rc;
}

/* How many CPUs likwid gives for a bare domain ("S0", "N"): the size its
 * indices are taken modulo. -1 when likwid does not know the domain. */
static int domain_size(const char *domain, size_t len)
{
	struct likwid_capture cap;
	char name[32], said[256], ignored[ERRLEN];
	int n, size = likwid_hw_threads() + 1, *buf;

	if (len == 0 || len >= sizeof(name) || !(buf = calloc((size_t)size, sizeof(*buf))))
		return -1;
	snprintf(name, sizeof(name), "%.*s", (int)len, domain);
	if (likwid_capture_begin(&cap, ignored) < 0) {
		free(buf);
		return -1;
	}
	n = likwid_cpulist(name, buf, size);
	likwid_capture_end(&cap, said, sizeof(said));
	free(buf);
	return n > 0 ? n : -1;
}

/* likwid takes a domain's indices modulo its size: "S0:4000-4001" and "N:100"
 * select real CPUs. So in each DOMAIN:LIST (and L:DOMAIN:LIST) part of an
 * expression, every index must be below the size likwid gives for the bare
 * domain. E: parts count CPUs rather than index them, and lists that are not
 * numbers ("S:scatter") are likwid's to judge. */
static int check_domain_indices(const char *expr, char *err)
{
	for (const char *part = expr, *end; *part; part = *end ? end + 1 : end) {
		const char *domain = part, *colon, *list, *highest_text = NULL;
		long highest = -1;
		int size, highest_len = 0;

		end = part + strcspn(part, "@");
		if (strncmp(part, "E:", 2) == 0)
			continue;
		if (strncmp(part, "L:", 2) == 0)
			domain = part + 2;
		colon = memchr(domain, ':', (size_t)(end - domain));
		if (!colon || !isalpha((unsigned char)*domain)) /* domains: N, S0, C1, M0, D0 */
			continue;
		list = colon + 1;
		if (list == end || strspn(list, "0123456789,-") < (size_t)(end - list))
			continue;
		/* Items are "i" or "i-j" with i <= j, as in a kernel CPU list. */
		for (const char *item = list; item < end; item++) {
			char *after;
			const char *last_text;
			long first, last;
			if (!range_item(item, &first, &last, &last_text, &after) ||
			    (after < end && *after != ','))
				goto invalid;
			if (last > highest) {
				highest = last; /* LONG_MAX for numbers too long for a long */
				highest_text = last_text;
				highest_len = (int)(after - last_text);
			}
			item = after;
		}
		size = domain_size(domain, (size_t)(colon - domain));
		if (size > 0 && highest >= size) {
			set_error(err, "cpu expression '%s': index %.*s is outside domain %.*s, "
				  "which has %d CPUs (indices 0-%d)", expr, highest_len, highest_text,
				  (int)(colon - domain), domain, size, size - 1);
			return -1;
		}
	}
	return 0;
invalid:
	set_error(err, "cpu expression '%s' is not valid (%s)", expr, EXPR_EXAMPLES);
	return -1;
}

/* Anything else is likwid's: domains (S0:, N:, C1:, M0:), E: and L: forms. */
static int likwid_expression(const char *expr, int *cpus, int max, char *err)
{
	struct likwid_capture cap;
	char said[256];
	int n, *buf;

	if (likwid_start(err) < 0)
		return -1;
	/* One slot more than max, so an expression that overflows is seen. */
	buf = calloc((size_t)max + 1, sizeof(*buf));
	if (!buf) {
		set_error(err, "out of memory");
		return -1;
	}
	if (likwid_capture_begin(&cap, err) < 0) {
		free(buf);
		return -1;
	}
	n = likwid_cpulist(expr, buf, max + 1);
	likwid_capture_end(&cap, said, sizeof(said));
	if (n <= 0)
		set_error(err, "cpu expression '%s' is not valid (%s)%s%s", expr, EXPR_EXAMPLES,
			  *said ? "; likwid: " : "", said);
	else if (*said)
		/* likwid warns and carries on ("CPU 2 not in domain N.", threads
		 * sharing a hardware thread); cohmap refuses instead. */
		set_error(err, "cpu expression '%s': likwid: %s", expr, said);
	else if (n > max)
		set_error(err, "cpu expression '%s' names more than %d CPUs", expr, max);
	else
		memcpy(cpus, buf, (size_t)n * sizeof(*cpus));
	free(buf);
	return n > 0 && n <= max && !*said ? n : -1;
}

int topology_keep_here(const struct topology *t, int *cpus, int n, char *err)
{
	struct bitmask *online = sysfs_read_cpulist(SYS_CPU "/online");
	struct affinity aff = { 0 };
	bool kernel_numa = numa_available() >= 0;
	int kept = -1;

	if (!online) {
		set_error(err, "cannot read the list of online CPUs from " SYS_CPU "/online");
		goto out;
	}
	if (affinity_read(&aff, err) < 0)
		goto out;
	kept = 0;
	for (int i = 0; i < n; i++) {
		const struct cpu_place *p = topology_find(t, cpus[i]);
		char path[64];
		int node;

		snprintf(path, sizeof(path), SYS_CPU "/cpu%d", cpus[i]);
		if (!p || access(path, F_OK) != 0) {
			set_error(err, "CPU %d of the topology file %s does not exist here "
				  "(the file describes another machine?)", cpus[i], t->source);
			kept = -1;
			goto out;
		}
		/* Memory is placed on the file's NUMA node of a CPU: a node this
		 * machine puts elsewhere (or lacks) would make every mbind fail. */
		node = kernel_numa ? numa_node_of_cpu(cpus[i]) : -1;
		if (node >= 0 && node != p->numa_node) {
			set_error(err, "CPU %d of the topology file %s is on NUMA node %d, here on "
				  "node %d (the file describes another machine?)", cpus[i], t->source,
				  p->numa_node, node);
			kept = -1;
			goto out;
		}
		if (sysfs_in_mask(online, cpus[i]) && affinity_has(&aff, cpus[i]))
			cpus[kept++] = cpus[i];
	}
out:
	if (online)
		numa_bitmask_free(online);
	if (aff.set)
		CPU_FREE(aff.set);
	return kept;
}

int topology_select(const struct topology *t, const char *expr, int *cpus, int max, char *err)
{
	struct selection sel = { .t = t, .expr = expr };
	int n = -1;

	if (!expr || !*expr) {
		set_error(err, "empty cpu expression (%s)", EXPR_EXAMPLES);
		return -1;
	}
	if (max <= 0) {
		set_error(err, "cpu expression '%s': no room for CPUs", expr);
		return -1;
	}
	if (!(sel.online = sysfs_read_cpulist(SYS_CPU "/online"))) {
		set_error(err, "cannot read the list of online CPUs from " SYS_CPU "/online");
		goto out;
	}
	if (affinity_read(&sel.aff, err) < 0)
		goto out;
	if (is_plain_list(expr)) {
		n = plain_list(&sel, cpus, max, err);
		goto out;
	}
	if (likwid_start(err) < 0) {
		char why[ERRLEN];
		snprintf(why, sizeof(why), "%s", err);
		if (strchr(expr, ':')) /* a domain: S0:, N:, E:, L: */
			set_error(err, "cpu expression '%s' needs liblikwid, which is not available (%s); "
				  "name the CPUs by number (0,2,4-7)", expr, why);
		else
			set_error(err, "cpu expression '%s' is not valid (%s)", expr, EXPR_EXAMPLES);
		goto out;
	}
	if (check_domain_indices(expr, err) < 0)
		goto out;
	n = likwid_expression(expr, cpus, max, err);
	for (int i = 0; i < n; i++)
		if (check_cpu(&sel, cpus, i, cpus[i], err) < 0)
			n = -1;
out:
	if (sel.online)
		numa_bitmask_free(sel.online);
	if (sel.aff.set)
		CPU_FREE(sel.aff.set);
	return n;
}
