/* What this machine allows `cohmap attach`: the transparent huge page
 * settings, the hugetlb pool, and from them why a point cannot be measured
 * here (with what to do about it, as root). */
#include <stdio.h>
#include <string.h>

#include "base/common.h"
#include "base/memory.h"
#include "experiments/attach/attach.h"
#include "kernels/attach.h"

static const char THP_DIR[] = "/sys/kernel/mm/transparent_hugepage";

/* The bracketed word of a THP setting ("always [madvise] never" -> madvise). */
void attach_thp_setting(const char *file, char *out, size_t size)
{
	char path[128], line[256] = "";
	snprintf(path, sizeof path, "%s/%s", THP_DIR, file);
	FILE *f = fopen(path, "re");
	snprintf(out, size, "absent");
	if (f == NULL)
		return;
	if (fgets(line, sizeof line, f)) {
		char *open = strchr(line, '['), *close = open ? strchr(open, ']') : NULL;
		if (open && close)
			snprintf(out, size, "%.*s", (int)(close - open - 1), open + 1);
	}
	fclose(f);
}

/* Why a kind cannot have transparent huge pages here, or NULL. */
static const char *thp_refused(const struct attach_plan *p, const struct attach_kind *k,
			       char *why, size_t size)
{
	if (!k->shmem) {
		if (strcmp(p->thp_enabled, "always") == 0 || strcmp(p->thp_enabled, "madvise") == 0)
			return NULL;
		snprintf(why, size, "%s/enabled is %s; as root: echo madvise > %s/enabled", THP_DIR,
			 p->thp_enabled, THP_DIR);
		return why;
	}
	if (strcmp(p->thp_shmem, "always") == 0 || strcmp(p->thp_shmem, "within_size") == 0 ||
	    strcmp(p->thp_shmem, "advise") == 0 || strcmp(p->thp_shmem, "force") == 0)
		return NULL;
	snprintf(why, size, "shared memory (shmem) gets no transparent huge pages: %s/shmem_enabled "
		 "is %s; as root: echo advise > %s/shmem_enabled", THP_DIR, p->thp_shmem, THP_DIR);
	return why;
}

/* Why a hugetlb mapping of bytes cannot be made here, or NULL. */
static const char *hugetlb_refused(const struct attach_plan *p, uint64_t bytes, char *why,
				   size_t size)
{
	char page[32];
	if (p->pool.page_bytes == 0) {
		snprintf(why, size, "this kernel has no hugetlb pages (no Hugepagesize in /proc/meminfo)");
		return why;
	}
	format_bytes(p->pool.page_bytes, page, sizeof page);
	if (bytes % p->pool.page_bytes != 0) {
		snprintf(why, size, "not a whole number of %s huge pages", page);
		return why;
	}
	long need = (long)(bytes / p->pool.page_bytes), have = hugetlb_pool_available(&p->pool);
	if (need <= have)
		return NULL;
	long want = (p->pool.total > 0 ? p->pool.total : 0) + need - have;
	if (p->pool.total <= 0) {
		/* One reason for every size, so it is said once: enough for the
		 * largest size planned. */
		long most = (long)(p->sizes[p->nsizes - 1] / p->pool.page_bytes);
		snprintf(why, size, "no huge pages are reserved (HugePages_Total is 0 in /proc/meminfo); "
			 "reserve them as root: echo %ld | sudo tee /proc/sys/vm/nr_hugepages",
			 most > 0 ? most : 1);
	} else {
		snprintf(why, size, "needs %ld huge pages of %s, %ld are free; reserve more as root: "
			 "echo %ld | sudo tee /proc/sys/vm/nr_hugepages", need, page, have, want);
	}
	return why;
}

/* Why the point cannot be measured here, or NULL. */
const char *attach_point_refused(const struct attach_plan *p, const struct attach_kind *k,
				 enum attach_variant v, uint64_t bytes, char *why, size_t size)
{
	if (!attach_kind_can(k, v))
		return k->why_not[v];
	if (v == VARIANT_THP)
		return thp_refused(p, k, why, size);
	if (v == VARIANT_HUGETLB)
		return hugetlb_refused(p, bytes, why, size);
	if (bytes % p->page_bytes != 0) {
		snprintf(why, size, "not a whole number of pages");
		return why;
	}
	return NULL;
}
