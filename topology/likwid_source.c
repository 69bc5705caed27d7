/* The live machine as liblikwid sees it: starting liblikwid with its messages
 * captured (topology/likwid_capture.c), and likwid_topology_detect(), which
 * reads sockets, NUMA nodes, caches and cores from it (sysfs fills in the L2
 * groups). CPU expressions are in topology/cpu_select.c, the sysfs and
 * affinity reading in topology/sysfs_cpus.c, the fallback without liblikwid in
 * topology/sysfs_source.c. A build without liblikwid (NO_LIKWID=1) links
 * topology/likwid_none.c instead of this file. */
#include "topology/topology.h"

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
#include "topology/groups.h"
#include "topology/likwid_calls.h"
#include "topology/sysfs_cpus.h"

/* liblikwid does not promise that topology_init() can run twice in a process,
 * so it runs once; this flag is the module's only mutable global. */
static bool likwid_ready;

bool topology_likwid_built(void)
{
	return true;
}

int likwid_cpulist(const char *expr, int *cpus, int max)
{
	return cpustr_to_cpulist(expr, cpus, max);
}

int likwid_hw_threads(void)
{
	return (int)get_cpuTopology()->numHWThreads;
}

int likwid_start(char *err)
{
	struct likwid_capture cap;
	char said[256];
	int rc;

	if (likwid_ready)
		return 0;
	if (likwid_capture_begin(&cap, err) < 0)
		return -1;
	rc = topology_init();
	if (rc == 0)
		rc = numa_init();
	if (rc == 0)
		affinity_init();
	likwid_capture_end(&cap, said, sizeof(said));
	if (rc != 0 || !get_cpuTopology() || get_cpuTopology()->numHWThreads == 0 ||
	    !get_affinityDomains() || !get_numaTopology()) {
		set_error(err, "liblikwid cannot read this machine's topology%s%s",
			  *said ? ": " : "", said);
		return -1;
	}
	likwid_ready = true;
	return 0;
}

/* ---- detection ----------------------------------------------------------- */

static const CacheLevel *cache_level(const CpuTopology *ct, uint32_t level)
{
	for (uint32_t i = 0; i < ct->numCacheLevels; i++)
		if (ct->cacheLevels[i].level == level && ct->cacheLevels[i].type != INSTRUCTIONCACHE)
			return &ct->cacheLevels[i];
	return NULL;
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
		cores[i] = topology_key2(ct->threadPool[i].packageId, ct->threadPool[i].coreId);
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
		size_t core_rank = lower_bound(cores, ncores, topology_key2(h->packageId, h->coreId)) -
				   lower_bound(cores, ncores, topology_key2(h->packageId, 0));
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
	/* likwid keeps the vendor as a number and an isIntel flag only. */
	if (proc_cpuinfo_field("vendor_id", buf, size) < 0)
		snprintf(buf, size, "%s", ci->isIntel ? "GenuineIntel" : "unknown");
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

int likwid_topology_detect(struct topology *t, char *err)
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
	if (!(online = sysfs_read_cpulist(SYS_CPU "/online"))) {
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
		p->online = sysfs_in_mask(online, p->cpu);
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
		keys[i] = topology_key2(ct->threadPool[index[i]].packageId,
			       ct->numDies ? ct->threadPool[index[i]].dieId : 0);
	if (topology_name_groups(nt.cpus, nt.ncpus, keys, offsetof(struct cpu_place, die)) < 0)
		goto nomem;
	for (int i = 0; i < nt.ncpus; i++)
		keys[i] = topology_key2(ct->threadPool[index[i]].packageId, ct->threadPool[index[i]].coreId);
	if (topology_name_groups(nt.cpus, nt.ncpus, keys, offsetof(struct cpu_place, core)) < 0 ||
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
			keys[i] = topology_key2(h->packageId, h->apicId >> l2_shift);
	}
	if (topology_name_groups(nt.cpus, nt.ncpus, keys, offsetof(struct cpu_place, l2_group)) < 0)
		goto nomem;
	/* L3: likwid's last-level-cache domains, its own grouping. */
	for (int i = 0; i < nt.ncpus; i++)
		keys[i] = (uint64_t)(uint32_t)llc[index[i]];
	if (topology_name_groups(nt.cpus, nt.ncpus, keys, offsetof(struct cpu_place, l3_group)) < 0)
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
