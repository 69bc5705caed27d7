/* What `cohmap attach` writes besides its samples: the CSV columns and rows,
 * the plan and the skipped points for meta.json, the summary table and the
 * headline. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/common.h"
#include "base/csv.h"
#include "base/memory.h"
#include "experiments/attach/attach.h"
#include "harness/point_report.h"
#include "kernels/attach.h"

/* ---- results ---------------------------------------------------------------- */

const char *const attach_columns[] = {
	"mapping", "variant", "bytes", "status", "samples", "create_median_ns", "create_min_ns",
	"touch_median_ns", "touch_min_ns", "release_median_ns", "release_min_ns", "total_median_ns",
	"total_min_ns",
	"total_median_ms_per_gib", "total_min_ms_per_gib", "faults_create", "faults_touch",
	"faults_per_gib", "faults_source", "pte_bytes", "huge_bytes", "reason",
};
enum { NCOLUMNS = ARRAY_SIZE(attach_columns) };
const int attach_ncolumns = NCOLUMNS;

int attach_write_row(struct csv_writer *w, const struct point *pt, const struct point_result *r,
		     char *err)
{
	char cells[NCOLUMNS][ERRLEN];
	bool ok = r->status == POINT_OK;
	double gib = (double)pt->bytes / GIB;
	snprintf(cells[0], ERRLEN, "%s", pt->kind->name);
	snprintf(cells[1], ERRLEN, "%s", attach_variant_name(pt->variant));
	snprintf(cells[2], ERRLEN, "%llu", (unsigned long long)pt->bytes);
	snprintf(cells[3], ERRLEN, "%s", ok ? "ok" : "failed");
	snprintf(cells[4], ERRLEN, "%ld", ok ? r->total.n : 0);
	double v[] = { r->create.median, r->create.min, r->touch.median, r->touch.min,
		       r->release.median, r->release.min, r->total.median, r->total.min };
	for (int i = 0; i < 8; i++)
		points_cell_number(cells[5 + i], ok ? v[i] : NAN, "%.0f");
	points_cell_number(cells[13], ok ? r->total.median / 1e6 / gib : NAN, "%.4g");
	points_cell_number(cells[14], ok ? r->total.min / 1e6 / gib : NAN, "%.4g");
	points_cell_number(cells[15], ok ? r->faults_create : NAN, "%.0f");
	points_cell_number(cells[16], ok ? r->faults_touch : NAN, "%.0f");
	points_cell_number(cells[17], ok ? (r->faults_create + r->faults_touch) / gib : NAN, "%.0f");
	/* PAPI's perf::PAGE-FAULTS would go here: see fault_count_read(). */
	snprintf(cells[18], ERRLEN, "getrusage");
	points_cell_number(cells[19], ok ? r->pte_bytes : NAN, "%.0f");
	points_cell_number(cells[20], ok ? r->huge_bytes : NAN, "%.0f");
	points_cell_prose(cells[21], ok ? "" : r->reason);
	const char *row[NCOLUMNS];
	for (int i = 0; i < NCOLUMNS; i++)
		row[i] = cells[i];
	return csv_writer_row(w, row, err);
}

json_t *attach_plan_description(const struct attach_plan *p)
{
	json_t *kinds = json_array(), *sizes = json_array(), *variants = json_array();
	for (int i = 0; i < p->nkinds; i++)
		json_array_append_new(kinds, json_pack("{s:s, s:s}", "name", p->kinds[i]->name,
						       "summary", p->kinds[i]->summary));
	for (int v = 0; v < VARIANT_COUNT; v++)
		if (p->variant[v])
			json_array_append_new(variants, json_string(attach_variant_name(v)));
	for (int i = 0; i < p->nsizes; i++)
		json_array_append_new(sizes, json_integer((json_int_t)p->sizes[i]));
	return json_pack("{s:s, s:o, s:o, s:o, s:I, s:s, s:I, s:i, s:I, s:{s:s, s:s, s:s}, "
			 "s:{s:I, s:i, s:i, s:i}, s:I, s:I, s:f, s:f, s:f, s:s, s:s, s:s}",
		"status", "running", "mappings", kinds, "variants", variants, "sizes_bytes", sizes,
		"cap_bytes", (json_int_t)p->cap,
		"cap_rule", "largest power of two <= MemAvailable / 64",
		"mem_available_bytes", (json_int_t)p->mem_available, "cpu", p->cpu,
		"page_bytes", (json_int_t)p->page_bytes,
		"transparent_hugepage", "enabled", p->thp_enabled, "shmem_enabled", p->thp_shmem,
		"defrag", p->thp_defrag,
		"hugetlb", "page_bytes", (json_int_t)p->pool.page_bytes, "total", (int)p->pool.total,
		"free", (int)p->pool.free, "reserved", (int)p->pool.reserved,
		"seed", (json_int_t)p->seed, "fixed_samples", (json_int_t)p->fixed_samples,
		"precision", p->precision, "time_limit_s", p->time_limit_s, "watchdog_s", p->watchdog_s,
		"statistic_plotted", p->stat,
		"faults_source", "getrusage (ru_minflt + ru_majflt) of the child; it also counts the "
				 "faults MAP_POPULATE takes inside mmap, which perf::PAGE-FAULTS does not",
		"values", "per sample, in a fresh child process pinned to `cpu`: create = the call(s) "
			  "that make or attach the memory; touch = one byte written per base page; "
			  "release = free, munmap or shmdt; total = create + touch; pte_bytes = VmPTE "
			  "growth over create + touch; huge_bytes = the mapping's memory in huge pages "
			  "after the touch (smaps)");
}

void attach_note_skip(json_t *skipped, const struct point *pt, const char *reason)
{
	size_t i;
	json_t *e;
	json_array_foreach(skipped, i, e)
		if (strcmp(json_string_value(json_object_get(e, "mapping")), pt->kind->name) == 0 &&
		    strcmp(json_string_value(json_object_get(e, "variant")),
			   attach_variant_name(pt->variant)) == 0 &&
		    strcmp(json_string_value(json_object_get(e, "reason")), reason) == 0) {
			json_array_append_new(json_object_get(e, "sizes_bytes"),
					      json_integer((json_int_t)pt->bytes));
			return;
		}
	json_array_append_new(skipped, json_pack("{s:s, s:s, s:s, s:[I]}", "mapping", pt->kind->name,
		"variant", attach_variant_name(pt->variant), "reason", reason, "sizes_bytes",
		(json_int_t)pt->bytes));
}

static const struct point_result *find(const struct point *pts, const struct point_result *res,
				       long n, const struct attach_kind *k, enum attach_variant v,
				       uint64_t bytes)
{
	for (long i = 0; i < n; i++)
		if (pts[i].kind == k && pts[i].variant == v && pts[i].bytes == bytes &&
		    res[i].status == POINT_OK)
			return &res[i];
	return NULL;
}

/* The largest size every measured combination reached. */
static uint64_t summary_size(const struct attach_plan *p, const struct point *pts,
			     const struct point_result *res, long n)
{
	uint64_t best = 0;
	for (int i = p->nsizes - 1; i >= 0 && best == 0; i--)
		for (long j = 0; j < n; j++)
			if (pts[j].bytes == p->sizes[i] && res[j].status == POINT_OK &&
			    pts[j].kind == p->kinds[0] && pts[j].variant == VARIANT_PLAIN)
				best = p->sizes[i];
	return best ? best : p->sizes[p->nsizes - 1];
}

void attach_print_summary(const struct attach_plan *p, const struct point *pts,
			  const struct point_result *res, long n, json_t *skipped)
{
	uint64_t bytes = summary_size(p, pts, res, n);
	char size[32];
	double gib = (double)bytes / GIB;
	format_bytes(bytes, size, sizeof size);
	printf("\n%s, median over samples (each in a fresh process on CPU %d)\n", size, p->cpu);
	printf("%-13s %-9s %11s %11s %11s %13s %13s %10s %7s\n", "mapping", "variant", "create ms",
	       "touch ms", "release ms", "total ms/GiB", "faults/GiB", "PTE KiB", "huge %");
	for (int k = 0; k < p->nkinds; k++)
		for (int v = 0; v < VARIANT_COUNT; v++) {
			const struct point_result *r = find(pts, res, n, p->kinds[k], v, bytes);
			if (r == NULL)
				continue;
			printf("%-13s %-9s %11.3f %11.3f %11.3f %13.1f %13.0f %10.0f %7.0f\n",
			       p->kinds[k]->name, attach_variant_name(v), r->create.median / 1e6,
			       r->touch.median / 1e6, r->release.median / 1e6,
			       r->total.median / 1e6 / gib, (r->faults_create + r->faults_touch) / gib,
			       r->pte_bytes / 1024, 100 * r->huge_bytes / (double)bytes);
		}
	size_t i;
	json_t *e;
	json_array_foreach(skipped, i, e)
		printf("skipped %s %s (%zu size%s): %s\n", json_string_value(json_object_get(e, "mapping")),
		       json_string_value(json_object_get(e, "variant")),
		       json_array_size(json_object_get(e, "sizes_bytes")),
		       json_array_size(json_object_get(e, "sizes_bytes")) == 1 ? "" : "s",
		       json_string_value(json_object_get(e, "reason")));
}

void attach_headline(const struct attach_plan *p, const struct point *pts,
		     const struct point_result *res, long n, char *out, size_t size)
{
	uint64_t bytes = summary_size(p, pts, res, n);
	double gib = (double)bytes / GIB;
	char sz[32], part[160];
	format_bytes(bytes, sz, sizeof sz);
	snprintf(out, size, "%s, create + first touch (median ms per GiB):", sz);
	const struct attach_kind *k = attach_kind_find("mmap_private");
	for (int v = 0; v < VARIANT_COUNT; v++) {
		const struct point_result *r = k ? find(pts, res, n, k, v, bytes) : NULL;
		if (r == NULL)
			continue;
		snprintf(part, sizeof part, " mmap_private %s %.0f (%.0f faults/GiB);",
			 attach_variant_name(v), r->total.median / 1e6 / gib,
			 (r->faults_create + r->faults_touch) / gib);
		strncat(out, part, size - strlen(out) - 1);
	}
	const struct point_result *slow = NULL;
	const struct point *slow_pt = NULL;
	for (long i = 0; i < n; i++)
		if (pts[i].bytes == bytes && res[i].status == POINT_OK &&
		    (slow == NULL || res[i].total.median > slow->total.median))
			slow = &res[i], slow_pt = &pts[i];
	if (slow) {
		snprintf(part, sizeof part, " slowest %s %s %.0f", slow_pt->kind->name,
			 attach_variant_name(slow_pt->variant), slow->total.median / 1e6 / gib);
		strncat(out, part, size - strlen(out) - 1);
	}
}
