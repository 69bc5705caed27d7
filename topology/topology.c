/* The topology model: pair classes, topology order, borders, pair counts, the
 * printed table, and the invariants every topology (detected or loaded) obeys. */
#include "topology/topology.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"

/* One row per class, in enum order, so names and descriptions cannot drift
 * apart from the enum. */
static const struct {
	const char *name;
	const char *description;
} pair_classes[PAIR_CLASS_COUNT] = {
	[PAIR_SELF]         = { "self",         "the same CPU" },
	[PAIR_SMT]          = { "smt",          "SMT siblings (same core)" },
	[PAIR_L2]           = { "l2",           "same L2, other core" },
	[PAIR_L3]           = { "l3",           "same L3, other L2" },
	[PAIR_DIE]          = { "die",          "same die, other L3" },
	[PAIR_SOCKET]       = { "socket",       "same socket, other die" },
	[PAIR_NUMA]         = { "numa",         "same socket, other NUMA node" },
	[PAIR_CROSS_SOCKET] = { "cross-socket", "other socket" },
};

const char *pair_class_name(enum pair_class c)
{
	return (unsigned)c < PAIR_CLASS_COUNT ? pair_classes[c].name : "unknown";
}

const char *pair_class_description(enum pair_class c)
{
	return (unsigned)c < PAIR_CLASS_COUNT ? pair_classes[c].description : "CPU not in the topology";
}

int pair_class_from_name(const char *name)
{
	for (int c = 0; name && c < PAIR_CLASS_COUNT; c++)
		if (strcmp(name, pair_classes[c].name) == 0)
			return c;
	return -1;
}

void topology_free(struct topology *t)
{
	free(t->cpus);
	memset(t, 0, sizeof(*t));
}

const struct cpu_place *topology_find(const struct topology *t, int cpu)
{
	int lo = 0, hi = t->ncpus - 1;

	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		if (t->cpus[mid].cpu == cpu)
			return &t->cpus[mid];
		if (t->cpus[mid].cpu < cpu)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

/* PAIR_CLASS_COUNT when either CPU is not in the topology. */
enum pair_class topology_pair_class(const struct topology *t, int cpu_a, int cpu_b)
{
	const struct cpu_place *a = topology_find(t, cpu_a), *b = topology_find(t, cpu_b);

	if (cpu_a == cpu_b)
		return PAIR_SELF;
	if (!a || !b)
		return PAIR_CLASS_COUNT;
	if (a->socket != b->socket)
		return PAIR_CROSS_SOCKET;
	if (a->numa_node != b->numa_node)
		return PAIR_NUMA;
	if (a->core == b->core)
		return PAIR_SMT;
	if (a->l2_group == b->l2_group)
		return PAIR_L2;
	if (a->l3_group == b->l3_group)
		return PAIR_L3;
	if (a->die == b->die)
		return PAIR_DIE;
	return PAIR_SOCKET;
}

static int cmp_int(int a, int b)
{
	return (a > b) - (a < b);
}

static int cmp_topology_order(const void *pa, const void *pb, void *ctx)
{
	const struct topology *t = ctx;
	int ca = *(const int *)pa, cb = *(const int *)pb;
	const struct cpu_place *a = topology_find(t, ca), *b = topology_find(t, cb);
	int r;

	if (!a || !b)
		return (r = cmp_int(!a, !b)) ? r : cmp_int(ca, cb);
	/* The L2 group sits between L3 and core so that cores sharing an L2
	 * (E-core clusters) stay together too; it nests in L3, so L3 blocks
	 * stay contiguous. */
	if ((r = cmp_int(a->socket, b->socket)) || (r = cmp_int(a->die, b->die)) ||
	    (r = cmp_int(a->l3_group, b->l3_group)) || (r = cmp_int(a->l2_group, b->l2_group)) ||
	    (r = cmp_int(a->core, b->core)) || (r = cmp_int(a->smt, b->smt)))
		return r;
	return cmp_int(ca, cb);
}

void topology_sort(const struct topology *t, int *cpus, int n)
{
	if (n > 1)
		qsort_r(cpus, (size_t)n, sizeof(*cpus), cmp_topology_order, (void *)t);
}

int topology_usable(const struct topology *t, int *cpus, int max)
{
	int n = 0;
	int *all = malloc(((size_t)t->ncpus + 1) * sizeof(*all));

	if (!all)
		return -1;
	for (int i = 0; i < t->ncpus; i++)
		if (t->cpus[i].online && t->cpus[i].allowed)
			all[n++] = t->cpus[i].cpu;
	topology_sort(t, all, n);
	if (n > max)
		n = max < 0 ? 0 : max;
	memcpy(cpus, all, (size_t)n * sizeof(*cpus));
	free(all);
	return n;
}

int topology_borders(const struct topology *t, const int *ordered, int n,
		     bool by_socket, int *borders, int max)
{
	int count = 0;

	for (int i = 1; i < n && count < max; i++) {
		const struct cpu_place *a = topology_find(t, ordered[i - 1]);
		const struct cpu_place *b = topology_find(t, ordered[i]);
		int ka = !a ? -1 : by_socket ? a->socket : a->l3_group;
		int kb = !b ? -1 : by_socket ? b->socket : b->l3_group;
		if (ka != kb)
			borders[count++] = i;
	}
	return count;
}

/* Pairs with a CPU outside the topology are not counted. */
void topology_count_pairs(const struct topology *t, const int *cpus, int n,
			  long counts[PAIR_CLASS_COUNT])
{
	memset(counts, 0, PAIR_CLASS_COUNT * sizeof(counts[0]));
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++) {
			enum pair_class c = topology_pair_class(t, cpus[i], cpus[j]);
			if (i != j && c < PAIR_CLASS_COUNT)
				counts[c]++;
		}
}

/* "48 KiB", "1 MiB", "27.5 MiB": cache sizes the way datasheets print them. */
static const char *human_bytes(size_t bytes, char *buf, size_t size)
{
	static const char *const units[] = { "bytes", "KiB", "MiB", "GiB" };
	double v = (double)bytes;
	unsigned u = 0;

	if (bytes == 0)
		return "none";
	while (v >= 1024 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1024;
		u++;
	}
	snprintf(buf, size, "%.4g %s", v, units[u]);
	return buf;
}

/* With cpus == NULL every CPU of t is printed, in topology order. */
void topology_print(const struct topology *t, const int *cpus, int n, FILE *out)
{
	char b1[32], b2[32], b3[32];
	long counts[PAIR_CLASS_COUNT];
	int *all = NULL;

	if (!cpus) {
		all = malloc(((size_t)t->ncpus + 1) * sizeof(*all));
		if (!all)
			return;
		for (n = 0; n < t->ncpus; n++)
			all[n] = t->cpus[n].cpu;
		topology_sort(t, all, n);
		cpus = all;
	}
	fprintf(out, "cpu model   %s (%s, family %d model %d stepping %d)\n",
		t->cpu_model, t->vendor, t->family, t->model, t->stepping);
	fprintf(out, "source      %s\n", t->source);
	fprintf(out, "line size   %d bytes\n", t->line_size);
	fprintf(out, "caches      L1d %s, L2 %s, L3 %s (size of one cache)\n",
		human_bytes(t->l1d_bytes, b1, sizeof(b1)), human_bytes(t->l2_bytes, b2, sizeof(b2)),
		human_bytes(t->l3_bytes, b3, sizeof(b3)));
	fprintf(out, "\n  cpu socket  die numa   l3   l2 core  smt  online allowed\n");
	for (int i = 0; i < n; i++) {
		const struct cpu_place *p = topology_find(t, cpus[i]);
		if (!p) {
			fprintf(out, "%5d  (not in this topology)\n", cpus[i]);
			continue;
		}
		fprintf(out, "%5d %6d %4d %4d %4d %4d %4d %4d  %-6s %s\n", p->cpu, p->socket,
			p->die, p->numa_node, p->l3_group, p->l2_group, p->core, p->smt,
			p->online ? "yes" : "no", p->allowed ? "yes" : "no");
	}
	fprintf(out, "(ids are global: CPUs with the same number in a column share that domain)\n");
	topology_count_pairs(t, cpus, n, counts);
	fprintf(out, "\npairs by class (ordered pairs of different CPUs):\n");
	for (int c = 0; c < PAIR_CLASS_COUNT; c++)
		if (counts[c])
			fprintf(out, "  %-13s %8ld  %s\n", pair_class_name(c), counts[c],
				pair_class_description(c));
	free(all);
}

/* The levels that nest: a group of each level lies inside one group of the
 * level before it. */
static const struct {
	const char *name;
	size_t offset;
} levels[] = {
	{ "socket",   offsetof(struct cpu_place, socket) },
	{ "die",      offsetof(struct cpu_place, die) },
	{ "L3 group", offsetof(struct cpu_place, l3_group) },
	{ "L2 group", offsetof(struct cpu_place, l2_group) },
	{ "core",     offsetof(struct cpu_place, core) },
};

static int field(const struct cpu_place *p, size_t offset)
{
	return *(const int *)(const void *)((const char *)p + offset);
}

static int cmp_by_field(const void *pa, const void *pb, void *ctx)
{
	const struct cpu_place *a = *(const struct cpu_place *const *)pa;
	const struct cpu_place *b = *(const struct cpu_place *const *)pb;
	int r = cmp_int(field(a, *(const size_t *)ctx), field(b, *(const size_t *)ctx));

	/* smt next, so that two threads claiming one smt index of a core meet. */
	if (r || (r = cmp_int(a->smt, b->smt)))
		return r;
	return cmp_int(a->cpu, b->cpu);
}

/* Sorting, borders and pair classes assume these invariants; a topology file
 * that breaks them would give silently wrong plots, so it is refused. */
int topology_check(const struct topology *t, int *bad, char *err)
{
	const struct cpu_place **by = NULL;
	int rc = -1, at = -1;

	if (t->ncpus <= 0) {
		set_error(err, "no cpu lines");
		goto out;
	}
	for (int i = 0; i < t->ncpus; i++) {
		const struct cpu_place *p = &t->cpus[i];
		at = i;
		if (p->cpu < 0 || p->socket < 0 || p->die < 0 || p->numa_node < 0 ||
		    p->l3_group < 0 || p->l2_group < 0 || p->core < 0 || p->smt < 0) {
			set_error(err, "cpu %d: ids must not be negative", p->cpu);
			goto out;
		}
		if (i > 0 && p->cpu <= t->cpus[i - 1].cpu) {
			set_error(err, "cpu %d listed twice", p->cpu);
			goto out;
		}
	}
	by = malloc((size_t)t->ncpus * sizeof(*by));
	if (!by) {
		at = -1;
		set_error(err, "out of memory");
		goto out;
	}
	for (size_t l = 1; l < ARRAY_SIZE(levels); l++) {
		size_t off = levels[l].offset, parent = levels[l - 1].offset;
		for (int i = 0; i < t->ncpus; i++)
			by[i] = &t->cpus[i];
		qsort_r(by, (size_t)t->ncpus, sizeof(*by), cmp_by_field, &off);
		for (int i = 1; i < t->ncpus; i++) {
			const struct cpu_place *a = by[i - 1], *b = by[i];
			const char *what = NULL;
			int va = 0, vb = 0;
			if (field(a, off) != field(b, off))
				continue;
			if (field(a, parent) != field(b, parent)) {
				what = levels[l - 1].name;
				va = field(a, parent), vb = field(b, parent);
			} else if (off == offsetof(struct cpu_place, core) && a->numa_node != b->numa_node) {
				what = "NUMA node";
				va = a->numa_node, vb = b->numa_node;
			} else if (off == offsetof(struct cpu_place, core) && a->smt == b->smt) {
				set_error(err, "cpu %d has the same smt index %d as cpu %d in core %d",
					  b->cpu, b->smt, a->cpu, b->core);
				at = (int)(b - t->cpus);
				goto out;
			}
			if (what) {
				set_error(err, "cpu %d shares %s %d with cpu %d but not its %s (%d, not %d)",
					  b->cpu, levels[l].name, field(b, off), a->cpu, what, vb, va);
				at = (int)(b - t->cpus);
				goto out;
			}
		}
	}
	rc = 0;
out:
	if (bad)
		*bad = rc ? at : -1;
	free(by);
	return rc;
}

/* Distinct values among ids[0..n) (quadratic: a few hundred CPUs). */
static int count_distinct(int *ids, int n)
{
	int count = 0;
	for (int i = 0; i < n; i++) {
		int j = 0;
		while (j < i && ids[j] != ids[i])
			j++;
		count += j == i;
	}
	return count;
}

void topology_domains(const struct topology *t, const int *cpus, int n, struct topology_domains *d)
{
	int total = cpus ? n : t->ncpus;
	int *ids = malloc((size_t)(total ? total : 1) * 5 * sizeof *ids);
	*d = (struct topology_domains){ 0 };
	if (ids == NULL)
		return;
	int m = 0;
	for (int i = 0; i < total; i++) {
		const struct cpu_place *p = cpus ? topology_find(t, cpus[i]) : &t->cpus[i];
		if (p == NULL)
			continue;
		ids[m] = p->socket, ids[total + m] = p->die, ids[2 * total + m] = p->numa_node;
		ids[3 * total + m] = p->l3_group, ids[4 * total + m] = p->core;
		m++;
	}
	d->cpus = m;
	d->sockets = count_distinct(ids, m);
	d->dies = count_distinct(ids + total, m);
	d->numa_nodes = count_distinct(ids + 2 * total, m);
	d->l3_groups = count_distinct(ids + 3 * total, m);
	d->cores = count_distinct(ids + 4 * total, m);
	free(ids);
}
