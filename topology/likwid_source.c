/* The live machine: topology_detect() from liblikwid, and topology_select(),
 * which resolves likwid CPU expressions and checks the CPUs against sysfs and
 * this process's affinity mask. */
#include "topology/topology.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <likwid.h>
#include <numa.h>

#include "base/common.h"

#define SYS_CPU "/sys/devices/system/cpu"
#define EXPR_EXAMPLES "examples: 0,2,4  S0:0-3  N:0-7  E:N:4"

/* ---- likwid's chatter --------------------------------------------------- */

/* liblikwid prints INFO/WARN lines to stdout and stderr. Both descriptors are
 * pointed at a memfd around every call, so cohmap's own output stays clean and
 * the text can become part of an error message. The redirection is process
 * wide: callers run it before starting agents. */
struct capture {
	int fd, out, err;
};

static int capture_begin(struct capture *c, char *err)
{
	fflush(stdout);
	fflush(stderr);
	c->fd = memfd_create("cohmap-likwid", MFD_CLOEXEC);
	c->out = dup(STDOUT_FILENO);
	c->err = dup(STDERR_FILENO);
	if (c->fd >= 0 && c->out >= 0 && c->err >= 0 && dup2(c->fd, STDOUT_FILENO) >= 0 &&
	    dup2(c->fd, STDERR_FILENO) >= 0)
		return 0;
	set_error(err, "cannot capture liblikwid's messages: %s", strerror(errno));
	if (c->out >= 0)
		dup2(c->out, STDOUT_FILENO), close(c->out);
	if (c->err >= 0)
		dup2(c->err, STDERR_FILENO), close(c->err);
	if (c->fd >= 0)
		close(c->fd);
	return -1;
}

/* Restores the descriptors and returns likwid's first line that is more than
 * INFO ("" if none), without its "WARN:"/"ERROR:" tag. */
static void capture_end(struct capture *c, char *first, size_t size)
{
	char text[4096], *line, *save = NULL;
	ssize_t n;

	fflush(stdout);
	fflush(stderr);
	dup2(c->out, STDOUT_FILENO);
	dup2(c->err, STDERR_FILENO);
	close(c->out);
	close(c->err);
	n = pread(c->fd, text, sizeof(text) - 1, 0);
	close(c->fd);
	text[n > 0 ? n : 0] = '\0';
	first[0] = '\0';
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		line += strspn(line, " \t");
		if (!*line || strncmp(line, "INFO", 4) == 0)
			continue;
		if (strncmp(line, "WARN: ", 6) == 0 || strncmp(line, "ERROR: ", 7) == 0)
			line = strchr(line, ' ') + 1;
		snprintf(first, size, "%s", line);
		return;
	}
}

/* liblikwid does not promise that topology_init() can run twice in a process,
 * so it runs once; this flag is the module's only mutable global. */
static bool likwid_ready;

static int likwid_start(char *err)
{
	struct capture cap;
	char said[256];
	int rc;

	if (likwid_ready)
		return 0;
	if (capture_begin(&cap, err) < 0)
		return -1;
	rc = topology_init();
	if (rc == 0)
		rc = numa_init();
	if (rc == 0)
		affinity_init();
	capture_end(&cap, said, sizeof(said));
	if (rc != 0 || !get_cpuTopology() || get_cpuTopology()->numHWThreads == 0 ||
	    !get_affinityDomains() || !get_numaTopology()) {
		set_error(err, "liblikwid cannot read this machine's topology%s%s",
			  *said ? ": " : "", said);
		return -1;
	}
	likwid_ready = true;
	return 0;
}

/* ---- sysfs and the affinity mask ----------------------------------------- */

static int read_text(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
	return 0;
}

/* A kernel CPU list ("0-3,8-11") read with libnuma's parser. */
static struct bitmask *read_cpulist(const char *path)
{
	char text[4096];

	return read_text(path, text, sizeof(text)) == 0 ? numa_parse_cpustring_all(text) : NULL;
}

static bool in_mask(const struct bitmask *m, int cpu)
{
	return m && cpu >= 0 && (unsigned)cpu < m->size && numa_bitmask_isbitset(m, (unsigned)cpu);
}

struct affinity {
	cpu_set_t *set;
	size_t size;
};

/* The mask grows until the kernel accepts its size: machines can have more
 * CPUs than a cpu_set_t holds. */
static int affinity_read(struct affinity *a, char *err)
{
	for (int ncpu = CPU_SETSIZE; ncpu <= (1 << 22); ncpu *= 2) {
		a->set = CPU_ALLOC(ncpu);
		a->size = CPU_ALLOC_SIZE(ncpu);
		if (!a->set)
			break;
		if (sched_getaffinity(0, a->size, a->set) == 0)
			return 0;
		CPU_FREE(a->set);
		a->set = NULL;
		if (errno != EINVAL)
			break;
	}
	set_error(err, "cannot read this process's CPU affinity: %s", strerror(errno));
	return -1;
}

static bool affinity_has(const struct affinity *a, int cpu)
{
	return cpu >= 0 && (size_t)cpu < 8 * a->size && CPU_ISSET_S((size_t)cpu, a->size, a->set);
}

/* "0-3,8" for error messages. */
static void affinity_format(const struct affinity *a, char *buf, size_t size)
{
	int ncpu = (int)(8 * a->size), len = 0;

	buf[0] = '\0';
	for (int c = 0; c < ncpu && len < (int)size; c++) {
		int e = c;
		if (!affinity_has(a, c))
			continue;
		while (e + 1 < ncpu && affinity_has(a, e + 1))
			e++;
		len += snprintf(buf + len, size - (size_t)len, e > c ? "%s%d-%d" : "%s%d",
				len ? "," : "", c, e);
		c = e;
	}
}

/* ---- detection ----------------------------------------------------------- */

struct keyed {
	uint64_t key;
	int index;
};

static int cmp_keyed(const void *pa, const void *pb)
{
	const struct keyed *a = pa, *b = pb;

	if (a->key != b->key)
		return a->key > b->key ? 1 : -1;
	return (a->index > b->index) - (a->index < b->index);
}

static uint64_t key2(uint32_t hi, uint32_t lo)
{
	return (uint64_t)hi << 32 | lo;
}

/* Each group is named after its lowest CPU: the ids are then global, the same
 * under any cpuset, and readable ("core 20" is the core CPU 20 sits on). */
static int name_groups(struct cpu_place *cpus, int n, const uint64_t *keys, size_t field)
{
	struct keyed *k = malloc((size_t)n * sizeof(*k));

	if (!k)
		return -1;
	for (int i = 0; i < n; i++)
		k[i] = (struct keyed){ keys[i], i };
	qsort(k, (size_t)n, sizeof(*k), cmp_keyed);
	for (int i = 0, first = 0; i < n; i++) {
		if (i > 0 && k[i].key != k[i - 1].key)
			first = i;
		*(int *)(void *)((char *)&cpus[k[i].index] + field) = cpus[k[first].index].cpu;
	}
	free(k);
	return 0;
}

/* likwid's thread id is hwloc's sibling_rank of the PU: its rank among the
 * children of its parent object, which is the core only when no cache is
 * private to one thread. QEMU 7.2 (TCG, -cpu Skylake-Server, threads=2) reports
 * in CPUID leaf 4 an L1 per thread, so hwloc hangs each PU below its own L1
 * and every thread of a core gets sibling_rank 0: likwid says both threads of
 * each core are thread 0 while the kernel lists them as siblings. So the SMT
 * index is the thread's rank within its core, ordered by likwid's thread id
 * and then by OS CPU id, the order of the kernel's thread_siblings_list. Where
 * likwid's ids are right (0, 1, ... per core) this changes none of them. */
int topology_rank_smt(struct cpu_place *cpus, int n)
{
	struct keyed *k = malloc((size_t)(n > 0 ? n : 1) * sizeof(*k));

	if (!k)
		return -1;
	for (int i = 0; i < n; i++)
		k[i] = (struct keyed){ key2((uint32_t)cpus[i].core, (uint32_t)cpus[i].smt), i };
	/* Ties (equal thread ids in one core) fall back to the index, and cpus
	 * is sorted by CPU id. */
	qsort(k, (size_t)n, sizeof(*k), cmp_keyed);
	for (int i = 0, first = 0; i < n; i++) {
		if (i > 0 && k[i].key >> 32 != k[i - 1].key >> 32)
			first = i;
		cpus[k[i].index].smt = i - first;
	}
	free(k);
	return 0;
}

static const CacheLevel *cache_level(const CpuTopology *ct, uint32_t level)
{
	for (uint32_t i = 0; i < ct->numCacheLevels; i++)
		if (ct->cacheLevels[i].level == level && ct->cacheLevels[i].type != INSTRUCTIONCACHE)
			return &ct->cacheLevels[i];
	return NULL;
}

/* The CPUs sharing cpu's L2 from sysfs, named by the lowest; -1 when sysfs
 * does not say. */
static int sysfs_l2(int cpu)
{
	char path[128], text[64];
	int lowest = -1;

	for (int idx = 0; idx < 16; idx++) {
		struct bitmask *m;
		snprintf(path, sizeof(path), SYS_CPU "/cpu%d/cache/index%d/level", cpu, idx);
		if (read_text(path, text, sizeof(text)) < 0)
			break;
		if (strcmp(text, "2") != 0)
			continue;
		snprintf(path, sizeof(path), SYS_CPU "/cpu%d/cache/index%d/type", cpu, idx);
		if (read_text(path, text, sizeof(text)) == 0 && strcmp(text, "Instruction") == 0)
			continue;
		snprintf(path, sizeof(path), SYS_CPU "/cpu%d/cache/index%d/shared_cpu_list", cpu, idx);
		if (!(m = read_cpulist(path)))
			break;
		for (unsigned c = 0; c < m->size && lowest < 0; c++)
			if (numa_bitmask_isbitset(m, c))
				lowest = (int)c;
		numa_bitmask_free(m);
		break;
	}
	return lowest;
}

static size_t lower_bound(const uint64_t *a, size_t n, uint64_t key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int cmp_u64(const void *pa, const void *pb)
{
	uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;

	return (a > b) - (a < b);
}

static size_t sort_unique(uint64_t *a, size_t n)
{
	size_t m = 0;

	qsort(a, n, sizeof(*a), cmp_u64);
	for (size_t i = 0; i < n; i++)
		if (m == 0 || a[i] != a[m - 1])
			a[m++] = a[i];
	return m;
}

/* The last-level-cache domain ("C<n>") of every hardware thread. likwid lists
 * only the CPUs of our cpuset in them (under taskset -c 1, C0 is empty). For
 * the others apply likwid's own rule (affinity.c): the cores of each socket, in
 * order, form domains of numberOfCoresPerCache cores, numbered socket after
 * socket. */
static int llc_domains(const CpuTopology *ct, const AffinityDomains *ad, int *llc)
{
	uint32_t n = ct->numHWThreads;
	uint64_t *sockets = malloc(n * sizeof(*sockets)), *cores = malloc(n * sizeof(*cores));
	unsigned per_cache = ad->numberOfCoresPerCache ? ad->numberOfCoresPerCache : 1;
	unsigned per_socket = ad->numberOfSocketDomains ?
		ad->numberOfCacheDomains / ad->numberOfSocketDomains : 1;
	size_t nsockets, ncores;

	if (!sockets || !cores) {
		free(sockets);
		free(cores);
		return -1;
	}
	for (uint32_t i = 0; i < n; i++) {
		llc[i] = -1;
		sockets[i] = ct->threadPool[i].packageId;
		cores[i] = key2(ct->threadPool[i].packageId, ct->threadPool[i].coreId);
	}
	for (uint32_t d = 0; d < ad->numberOfAffinityDomains; d++) {
		const AffinityDomain *dom = &ad->domains[d];
		const char *tag = bdata(dom->tag);
		char *end;
		long c;
		if (!tag || tag[0] != 'C' || !isdigit((unsigned char)tag[1]))
			continue;
		c = strtol(tag + 1, &end, 10);
		for (uint32_t j = 0; *end == '\0' && j < dom->numberOfProcessors; j++)
			if (dom->processorList[j] >= 0 && (uint32_t)dom->processorList[j] < n)
				llc[dom->processorList[j]] = (int)c;
	}
	nsockets = sort_unique(sockets, n);
	ncores = sort_unique(cores, n);
	for (uint32_t i = 0; i < n; i++) {
		const HWThread *h = &ct->threadPool[i];
		size_t core_rank = lower_bound(cores, ncores, key2(h->packageId, h->coreId)) -
				   lower_bound(cores, ncores, key2(h->packageId, 0));
		if (llc[i] < 0)
			llc[i] = (int)(lower_bound(sockets, nsockets, h->packageId) * per_socket +
				       core_rank / per_cache);
	}
	free(sockets);
	free(cores);
	return 0;
}

static void cpu_vendor(const CpuInfo *ci, char *buf, size_t size)
{
	char line[256];
	FILE *f = fopen("/proc/cpuinfo", "r");

	/* likwid keeps the vendor as a number and an isIntel flag only. */
	snprintf(buf, size, "%s", ci->isIntel ? "GenuineIntel" : "unknown");
	while (f && fgets(line, sizeof(line), f)) {
		char *v = strchr(line, ':');
		if (strncmp(line, "vendor_id", 9) == 0 && v) {
			v += 1 + strspn(v + 1, " \t");
			v[strcspn(v, "\n")] = '\0';
			snprintf(buf, size, "%s", v);
			break;
		}
	}
	if (f)
		fclose(f);
}

static void cpu_model(const CpuInfo *ci, char *buf, size_t size)
{
	const char *name = ci->name && *ci->name ? ci->name : ci->osname && *ci->osname ? ci->osname : "unknown";
	size_t n;

	snprintf(buf, size, "%s", name + strspn(name, " \t"));
	n = strlen(buf);
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
}

int topology_detect(struct topology *t, char *err)
{
	struct topology nt = { 0 };
	struct affinity aff = { 0 };
	struct bitmask *online = NULL;
	uint64_t *keys = NULL;
	int *numa = NULL, *llc = NULL, *index = NULL, *l2cpu = NULL;
	const CpuInfo *ci;
	const CpuTopology *ct;
	const NumaTopology *nu;
	const CacheLevel *l1, *l2, *l3;
	char msg[ERRLEN];
	long line;
	uint32_t n, l2_shift = 0;
	bool l2_sysfs = true, kernel_numa = numa_available() >= 0;
	int rc = -1;

	if (likwid_start(err) < 0)
		return -1;
	ci = get_cpuInfo();
	ct = get_cpuTopology();
	nu = get_numaTopology();
	n = ct->numHWThreads;
	l1 = cache_level(ct, 1), l2 = cache_level(ct, 2), l3 = cache_level(ct, 3);
	if (!(online = read_cpulist(SYS_CPU "/online"))) {
		set_error(err, "cannot read the list of online CPUs from " SYS_CPU "/online");
		goto out;
	}
	if (affinity_read(&aff, err) < 0)
		goto out;
	nt.cpus = calloc(n, sizeof(*nt.cpus));
	keys = calloc(n, sizeof(*keys));
	numa = malloc(n * sizeof(*numa));
	llc = malloc(n * sizeof(*llc));
	index = malloc(n * sizeof(*index));
	l2cpu = malloc(n * sizeof(*l2cpu));
	if (!nt.cpus || !keys || !numa || !llc || !index || !l2cpu ||
	    llc_domains(ct, get_affinityDomains(), llc) < 0)
		goto nomem;
	for (uint32_t i = 0; i < n; i++)
		numa[i] = -1;
	for (uint32_t k = 0; k < nu->numberOfNodes; k++)
		for (uint32_t j = 0; j < nu->nodes[k].numberOfProcessors; j++)
			if (nu->nodes[k].processors[j] < n)
				numa[nu->nodes[k].processors[j]] = (int)nu->nodes[k].id;

	/* With likwid's hwloc backend threadPool[i] is OS CPU i. A slot hwloc did
	 * not fill keeps likwid's "unset" value and is skipped. */
	for (uint32_t i = 0; i < n; i++) {
		const HWThread *h = &ct->threadPool[i];
		struct cpu_place *p = &nt.cpus[nt.ncpus];
		int node;
		if (h->packageId == UINT32_MAX || h->coreId == UINT32_MAX)
			continue;
		index[nt.ncpus++] = (int)i;
		p->cpu = (int)i;
		p->socket = (int)h->packageId;
		p->smt = (int)h->threadId; /* ranked within its core below */
		p->online = in_mask(online, p->cpu);
		p->allowed = affinity_has(&aff, p->cpu);
		/* Under a restricted cpuset likwid 5.2's node lists are wrong
		 * (taskset -c 1 gives node 0 = {0}), so the kernel's answer wins;
		 * likwid's is kept for kernels without NUMA support. */
		node = kernel_numa ? numa_node_of_cpu(p->cpu) : -1;
		p->numa_node = node >= 0 ? node : numa[i];
		if (p->numa_node < 0) {
			set_error(err, "neither liblikwid nor the kernel knows the NUMA node of CPU %d", p->cpu);
			goto out;
		}
		l2cpu[nt.ncpus - 1] = sysfs_l2(p->cpu);
		l2_sysfs = l2_sysfs && l2cpu[nt.ncpus - 1] >= 0;
	}
	if (nt.ncpus == 0) {
		set_error(err, "liblikwid lists no CPUs");
		goto out;
	}

	/* likwid's numDies is 0 when it cannot see dies (as under KVM): the die is
	 * then the socket. */
	for (int i = 0; i < nt.ncpus; i++)
		keys[i] = key2(ct->threadPool[index[i]].packageId,
			       ct->numDies ? ct->threadPool[index[i]].dieId : 0);
	if (name_groups(nt.cpus, nt.ncpus, keys, offsetof(struct cpu_place, die)) < 0)
		goto nomem;
	for (int i = 0; i < nt.ncpus; i++)
		keys[i] = key2(ct->threadPool[index[i]].packageId, ct->threadPool[index[i]].coreId);
	if (name_groups(nt.cpus, nt.ncpus, keys, offsetof(struct cpu_place, core)) < 0 ||
	    topology_rank_smt(nt.cpus, nt.ncpus) < 0)
		goto nomem;
	/* L2: sysfs says which CPUs share each L2 when it has cache entries for
	 * every CPU. Otherwise likwid only gives the number of threads per L2: up
	 * to one core's threads it is a per-core L2; more (clusters of small cores
	 * sharing an L2) are taken as aligned blocks of APIC ids, the way CPUID
	 * leaf 4 defines sharing. likwid's hwloc backend puts the OS CPU number in
	 * apicId, so that guess assumes the cluster's CPUs are numbered together. */
	while (l2 && (1u << l2_shift) < l2->threads && l2_shift < 31)
		l2_shift++;
	for (int i = 0; i < nt.ncpus; i++) {
		const HWThread *h = &ct->threadPool[index[i]];
		if (l2_sysfs)
			keys[i] = (uint64_t)l2cpu[i];
		else if (!l2 || l2->threads <= ct->numThreadsPerCore)
			keys[i] = (uint64_t)nt.cpus[i].core;
		else
			keys[i] = key2(h->packageId, h->apicId >> l2_shift);
	}
	if (name_groups(nt.cpus, nt.ncpus, keys, offsetof(struct cpu_place, l2_group)) < 0)
		goto nomem;
	/* L3: likwid's last-level-cache domains, its own grouping. */
	for (int i = 0; i < nt.ncpus; i++)
		keys[i] = (uint64_t)(uint32_t)llc[index[i]];
	if (name_groups(nt.cpus, nt.ncpus, keys, offsetof(struct cpu_place, l3_group)) < 0)
		goto nomem;

	line = sysconf(_SC_LEVEL1_DCACHE_LINESIZE);
	if (line <= 0 && l1)
		line = l1->lineSize;
	if (line <= 0 || line > INT_MAX || (line & (line - 1))) {
		set_error(err, "cannot tell the cache line size: neither sysconf(_SC_LEVEL1_DCACHE_LINESIZE) "
			  "nor liblikwid reports it");
		goto out;
	}
	nt.line_size = (int)line;
	nt.l1d_bytes = l1 ? l1->size : 0;
	nt.l2_bytes = l2 ? l2->size : 0;
	nt.l3_bytes = l3 ? l3->size : 0;
	nt.family = (int)ci->family;
	nt.model = (int)ci->model;
	nt.stepping = (int)ci->stepping;
	cpu_model(ci, nt.cpu_model, sizeof(nt.cpu_model));
	cpu_vendor(ci, nt.vendor, sizeof(nt.vendor));
	/* likwid.h's LIKWID_VERSION is an unexpanded template in some builds
	 * ("VERSION.RELEASE.MINORVERSION"); only a real number is shown. */
	snprintf(nt.source, sizeof(nt.source), "likwid%s%s",
		 isdigit((unsigned char)LIKWID_VERSION[0]) ? " " : "",
		 isdigit((unsigned char)LIKWID_VERSION[0]) ? LIKWID_VERSION : "");
	if (topology_check(&nt, NULL, msg) < 0) {
		set_error(err, "liblikwid reports a topology that does not nest: %s", msg);
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
	free(keys);
	free(numa);
	free(llc);
	free(index);
	free(l2cpu);
	if (online)
		numa_bitmask_free(online);
	if (aff.set)
		CPU_FREE(aff.set);
	return rc;
}

/* ---- CPU expressions ----------------------------------------------------- */

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
	if (!in_mask(s->online, (int)c)) {
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

static int plain_list(const struct selection *sel, int *cpus, int max, char *err)
{
	struct capture cap;
	struct bitmask *named = NULL;
	char said[256];
	long dropped;
	int n, rc = -1, *buf;

	if (likwid_start(err) < 0)
		return -1;
	if (!(buf = calloc((size_t)max + 1, sizeof(*buf)))) {
		set_error(err, "out of memory");
		return -1;
	}
	if (capture_begin(&cap, err) < 0)
		goto out;
	n = cpustr_to_cpulist(sel->expr, buf, max + 1);
	named = numa_parse_cpustring_all(sel->expr); /* its warnings are captured too */
	capture_end(&cap, said, sizeof(said));

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
	struct capture cap;
	char name[32], said[256], ignored[ERRLEN];
	int n, size = (int)get_cpuTopology()->numHWThreads + 1, *buf;

	if (len == 0 || len >= sizeof(name) || !(buf = calloc((size_t)size, sizeof(*buf))))
		return -1;
	snprintf(name, sizeof(name), "%.*s", (int)len, domain);
	if (capture_begin(&cap, ignored) < 0) {
		free(buf);
		return -1;
	}
	n = cpustr_to_cpulist(name, buf, size);
	capture_end(&cap, said, sizeof(said));
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
			const char *last_text = item;
			long first = strtol(item, &after, 10), last = first;
			if (!isdigit((unsigned char)*item))
				goto invalid;
			if (*after == '-') {
				if (!isdigit((unsigned char)after[1]))
					goto invalid;
				last_text = after + 1;
				last = strtol(last_text, &after, 10);
			}
			if (last < first || (after < end && *after != ','))
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
	struct capture cap;
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
	if (capture_begin(&cap, err) < 0) {
		free(buf);
		return -1;
	}
	n = cpustr_to_cpulist(expr, buf, max + 1);
	capture_end(&cap, said, sizeof(said));
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
	struct bitmask *online = read_cpulist(SYS_CPU "/online");
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
		if (in_mask(online, cpus[i]) && affinity_has(&aff, cpus[i]))
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
	if (!(sel.online = read_cpulist(SYS_CPU "/online"))) {
		set_error(err, "cannot read the list of online CPUs from " SYS_CPU "/online");
		goto out;
	}
	if (affinity_read(&sel.aff, err) < 0)
		goto out;
	if (is_plain_list(expr)) {
		n = plain_list(&sel, cpus, max, err);
		goto out;
	}
	if (likwid_start(err) < 0 || check_domain_indices(expr, err) < 0)
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
