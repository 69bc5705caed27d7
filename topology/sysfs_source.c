/* The live machine as the kernel describes it in /sys/devices/system/cpu,
 * for machines liblikwid does not know (or a build without it: Debian has no
 * likwid for arm64), and topology_detect(), which asks liblikwid first.
 *
 * Per CPU: the package, die and cluster CPU lists, the thread siblings (the
 * core), the data caches' shared_cpu_list (cache/index*), the NUMA node
 * (libnuma). Groups are named after their lowest CPU, like likwid's.
 *
 * ARM servers describe themselves unevenly: Graviton lists an L2 per core and
 * one L3; Ampere Altra no L3 at all but clusters of two cores; Kunpeng
 * clusters of four cores inside an L3 per die. So the levels cohmap's pair
 * classes know are filled as far as sysfs says: a die where die_cpus_list
 * splits the package, else the package; and a cluster (a group of cores the
 * firmware's PPTT names, sharing an L2, a snoop filter or a mesh stop) takes
 * the L3 group's place where sysfs lists no L3. Pairs in one cluster then get
 * a class of their own ("l3") between "l2" and "socket", and the plots draw
 * the clusters as blocks. Where the levels would not nest, the L2 and L3
 * groups fall back to the core and the die. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <numa.h>

#include "base/arch.h"
#include "base/common.h"
#include "topology/groups.h"
#include "topology/likwid_calls.h"
#include "topology/sysfs_cpus.h"
#include "topology/topology.h"

/* The lowest CPU of cpuN/topology/<name>, or -1 when the file is missing. */
static int topology_list_lowest(int cpu, const char *name)
{
	char path[128];
	snprintf(path, sizeof(path), SYS_CPU "/cpu%d/topology/%s", cpu, name);
	struct bitmask *m = sysfs_read_cpulist(path);
	int lowest = sysfs_lowest(m);
	if (m)
		numa_bitmask_free(m);
	return lowest;
}

static int topology_number(int cpu, const char *name)
{
	char path[128], text[32];
	snprintf(path, sizeof(path), SYS_CPU "/cpu%d/topology/%s", cpu, name);
	return sysfs_read_text(path, text, sizeof(text)) == 0 ? atoi(text) : -1;
}

/* What one CPU's files say; -1 where they say nothing. */
struct sysfs_cpu {
	int package, die, cluster, core, l2, l3;
};

static void read_cpu(int cpu, struct sysfs_cpu *s, size_t *l1d, size_t *l2, size_t *l3)
{
	s->package = topology_number(cpu, "physical_package_id");
	s->die = topology_list_lowest(cpu, "die_cpus_list");
	s->cluster = topology_list_lowest(cpu, "cluster_cpus_list");
	s->core = topology_list_lowest(cpu, "thread_siblings_list");
	s->l2 = sysfs_cache(cpu, 2, l2);
	s->l3 = sysfs_cache(cpu, 3, l3);
	sysfs_cache(cpu, 1, l1d);
	if (s->package < 0) /* -1 on some arm64 firmware: one package */
		s->package = 0;
	if (s->core < 0)
		s->core = cpu;
}

/* Vendor and model: x86's vendor_id and model name, else arm64's implementer
 * and part numbers (named for the implementers of server CPUs). */
static void cpu_identity(struct topology *t)
{
	static const struct {
		unsigned id;
		const char *name;
	} implementers[] = {
		{ 0x41, "ARM" }, { 0x42, "Broadcom" }, { 0x43, "Cavium" }, { 0x46, "Fujitsu" },
		{ 0x48, "HiSilicon" }, { 0x4e, "NVIDIA" }, { 0x50, "APM" }, { 0x51, "Qualcomm" },
		{ 0x61, "Apple" }, { 0x6d, "Microsoft" }, { 0xc0, "Ampere" },
	};
	char text[128], part[32] = "", variant[32] = "", revision[32] = "";

	t->family = t->model = t->stepping = 0;
	if (proc_cpuinfo_field("vendor_id", t->vendor, sizeof(t->vendor)) == 0) {
		if (proc_cpuinfo_field("model name", t->cpu_model, sizeof(t->cpu_model)) < 0)
			snprintf(t->cpu_model, sizeof(t->cpu_model), "unknown");
		if (proc_cpuinfo_field("cpu family", text, sizeof(text)) == 0)
			t->family = atoi(text);
		if (proc_cpuinfo_field("model", text, sizeof(text)) == 0)
			t->model = atoi(text);
		if (proc_cpuinfo_field("stepping", text, sizeof(text)) == 0)
			t->stepping = atoi(text);
		return;
	}
	snprintf(t->vendor, sizeof(t->vendor), "unknown");
	if (proc_cpuinfo_field("CPU implementer", text, sizeof(text)) == 0) {
		unsigned id = (unsigned)strtoul(text, NULL, 0);
		snprintf(t->vendor, sizeof(t->vendor), "implementer %s", text);
		for (size_t i = 0; i < ARRAY_SIZE(implementers); i++)
			if (implementers[i].id == id)
				snprintf(t->vendor, sizeof(t->vendor), "%s", implementers[i].name);
		t->family = (int)id;
	}
	proc_cpuinfo_field("CPU part", part, sizeof(part));
	proc_cpuinfo_field("CPU variant", variant, sizeof(variant));
	proc_cpuinfo_field("CPU revision", revision, sizeof(revision));
	t->model = (int)strtol(part, NULL, 0);
	t->stepping = atoi(revision);
	if (part[0])
		snprintf(t->cpu_model, sizeof(t->cpu_model), "%s part %s variant %s revision %s", t->vendor,
			 part, variant[0] ? variant : "?", revision[0] ? revision : "?");
	else
		snprintf(t->cpu_model, sizeof(t->cpu_model), "unknown (" ARCH_NAME ")");
}

/* Fills the level at `field` from each CPU's key, the keys scoped by package
 * so that ids never join CPUs of two packages. */
static int fill(struct topology *t, const struct sysfs_cpu *s, uint64_t *keys, size_t field,
		int (*key_of)(const struct sysfs_cpu *))
{
	for (int i = 0; i < t->ncpus; i++)
		keys[i] = topology_key2((uint32_t)s[i].package, (uint32_t)key_of(&s[i]));
	return topology_name_groups(t->cpus, t->ncpus, keys, field);
}

static int key_package(const struct sysfs_cpu *s) { (void)s; return 0; }
static int key_die(const struct sysfs_cpu *s) { return s->die; }
static int key_cluster(const struct sysfs_cpu *s) { return s->cluster; }
static int key_core(const struct sysfs_cpu *s) { return s->core; }
static int key_l2(const struct sysfs_cpu *s) { return s->l2; }
static int key_l3(const struct sysfs_cpu *s) { return s->l3; }

static int fill_levels(struct topology *t, const struct sysfs_cpu *s, uint64_t *keys)
{
	if (fill(t, s, keys, offsetof(struct cpu_place, socket), key_package) < 0 ||
	    fill(t, s, keys, offsetof(struct cpu_place, die), key_die) < 0 ||
	    fill(t, s, keys, offsetof(struct cpu_place, l3_group), key_l3) < 0 ||
	    fill(t, s, keys, offsetof(struct cpu_place, l2_group), key_l2) < 0 ||
	    fill(t, s, keys, offsetof(struct cpu_place, core), key_core) < 0)
		return -1;
	return topology_rank_smt(t->cpus, t->ncpus);
}

/* True when every CPU has the field and the groups it makes are neither one
 * core each nor the whole package: a level that tells CPUs apart. */
static bool level_says_something(const struct topology *t, const struct sysfs_cpu *s,
				 int (*key_of)(const struct sysfs_cpu *))
{
	bool finer_than_package = false, coarser_than_core = false;
	for (int i = 0; i < t->ncpus; i++) {
		if (key_of(&s[i]) < 0)
			return false;
		for (int j = 0; j < t->ncpus; j++) {
			bool same = key_of(&s[i]) == key_of(&s[j]);
			if (s[i].package == s[j].package && !same)
				finer_than_package = true;
			if (same && s[i].core != s[j].core)
				coarser_than_core = true;
		}
	}
	return finer_than_package && coarser_than_core;
}

int sysfs_topology_detect(struct topology *t, char *err)
{
	struct topology nt = { 0 };
	struct affinity aff = { 0 };
	struct bitmask *present = sysfs_read_cpulist(SYS_CPU "/present");
	struct bitmask *online = sysfs_read_cpulist(SYS_CPU "/online");
	struct sysfs_cpu *s = NULL;
	uint64_t *keys = NULL;
	size_t l1d = 0, l2 = 0, l3 = 0;
	bool kernel_numa = numa_available() >= 0;
	char msg[ERRLEN];
	int rc = -1, max = present ? (int)present->size : 0;

	if (!present || !online) {
		set_error(err, "cannot read the lists of present and online CPUs from " SYS_CPU);
		goto out;
	}
	if (affinity_read(&aff, err) < 0)
		goto out;
	nt.cpus = calloc((size_t)max, sizeof(*nt.cpus));
	s = calloc((size_t)max, sizeof(*s));
	keys = calloc((size_t)max, sizeof(*keys));
	if (!nt.cpus || !s || !keys)
		goto nomem;
	for (int cpu = 0; cpu < max; cpu++) {
		if (!sysfs_in_mask(present, cpu))
			continue;
		struct cpu_place *p = &nt.cpus[nt.ncpus];
		read_cpu(cpu, &s[nt.ncpus], &l1d, &l2, &l3);
		p->cpu = cpu;
		p->online = sysfs_in_mask(online, cpu);
		p->allowed = affinity_has(&aff, cpu);
		p->numa_node = kernel_numa ? numa_node_of_cpu(cpu) : 0;
		if (p->numa_node < 0)
			p->numa_node = 0;
		p->smt = 0; /* ranked within its core below */
		nt.ncpus++;
	}
	if (nt.ncpus == 0) {
		set_error(err, SYS_CPU "/present lists no CPUs");
		goto out;
	}
	bool have_die = level_says_something(&nt, s, key_die);
	bool have_cluster = level_says_something(&nt, s, key_cluster);
	bool have_l3 = true;
	for (int i = 0; i < nt.ncpus; i++)
		have_l3 = have_l3 && s[i].l3 >= 0;
	for (int i = 0; i < nt.ncpus; i++) {
		if (s[i].l2 < 0)
			s[i].l2 = s[i].core;
		if (!have_die)
			s[i].die = -2; /* the package: keys are scoped by it */
		if (!have_l3)
			s[i].l3 = have_cluster ? s[i].cluster : s[i].die;
	}
	if (fill_levels(&nt, s, keys) < 0)
		goto nomem;
	if (topology_check(&nt, NULL, msg) < 0) {
		for (int i = 0; i < nt.ncpus; i++)
			s[i].l2 = s[i].core, s[i].l3 = s[i].die;
		if (fill_levels(&nt, s, keys) < 0)
			goto nomem;
	}

	long line = sysconf(_SC_LEVEL1_DCACHE_LINESIZE);
	if (line <= 0)
		line = arch_line_size();
	if (line <= 0 || line > INT_MAX || (line & (line - 1))) {
		set_error(err, "cannot tell the cache line size: neither sysconf(_SC_LEVEL1_DCACHE_LINESIZE) "
			  "nor the CPU reports it");
		goto out;
	}
	nt.line_size = (int)line;
	nt.l1d_bytes = l1d, nt.l2_bytes = l2, nt.l3_bytes = l3;
	cpu_identity(&nt);
	snprintf(nt.source, sizeof(nt.source), "sysfs");
	if (topology_check(&nt, NULL, msg) < 0) {
		set_error(err, "sysfs describes a topology that does not nest: %s", msg);
		goto out;
	}
	*t = nt;
	nt.cpus = NULL;
	rc = 0;
	goto out;
nomem:
	set_error(err, "out of memory");
out:
	free(nt.cpus);
	free(s);
	free(keys);
	if (present)
		numa_bitmask_free(present);
	if (online)
		numa_bitmask_free(online);
	if (aff.set)
		CPU_FREE(aff.set);
	return rc;
}

/* liblikwid first: it knows more (and a topology file of an x86 machine has
 * always said "likwid"); sysfs where it cannot read the machine or the build
 * has no liblikwid, and the topology's source says why. */
int topology_detect(struct topology *t, char *err)
{
	char why[ERRLEN], own[ERRLEN];
	if (likwid_topology_detect(t, why) == 0)
		return 0;
	if (sysfs_topology_detect(t, own) != 0) {
		set_error(err, "%s; from sysfs: %s", why, own);
		return -1;
	}
	snprintf(t->source, sizeof(t->source), "sysfs (likwid: %.200s)", why);
	return 0;
}
