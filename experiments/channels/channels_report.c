/* What `cohmap channels` writes besides its samples: the CSV columns and
 * rows, the summary table, the headline, the plan and the hardware copy
 * engines found, for meta.json. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/common.h"
#include "base/csv.h"
#include "base/memory.h"
#include "experiments/channels/channels.h"
#include "harness/point_report.h"
#include "kernels/channels.h"

const char *const channels_mode_names[MODE_COUNT] = { "latency", "bandwidth" };

/* ---- hardware copy engines ------------------------------------------------- */

/* Names in dir (not . and ..) starting with prefix (NULL: any), joined. */
static int list_dir(const char *dir, const char *prefix, char *out, size_t size)
{
	DIR *d = opendir(dir);
	int n = 0;
	out[0] = '\0';
	if (d == NULL)
		return -1;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.' || (prefix && strncmp(e->d_name, prefix, strlen(prefix)) != 0))
			continue;
		size_t used = strlen(out);
		snprintf(out + used, size - used, "%s%s", n ? " " : "", e->d_name);
		n++;
	}
	closedir(d);
	return n;
}

/* Looks where Linux shows DMA copy engines. User space can drive only one
 * kind itself: Intel DSA work queues in user mode (/dev/dsa); dmaengine
 * channels (IOAT, AMD PTDMA, ...) serve kernel clients. */
json_t *channels_find_copy_engines(char *summary, size_t size)
{
	static const struct {
		const char *path, *prefix, *what;
	} places[] = {
		{ "/sys/bus/dsa/devices", NULL, "Intel DSA/IAA devices (idxd driver)" },
		{ "/dev/dsa", "wq", "DSA work queues open to user space" },
		{ "/sys/class/dma", NULL, "dmaengine channels (IOAT, PTDMA, ...; kernel clients only)" },
	};
	json_t *checked = json_array(), *found = json_array();
	char names[2048];
	for (size_t i = 0; i < ARRAY_SIZE(places); i++) {
		int n = list_dir(places[i].path, places[i].prefix, names, sizeof names);
		json_array_append_new(checked, json_sprintf("%s: %s", places[i].path,
			n < 0 ? "absent" : n == 0 ? "empty" : names));
		if (n > 0)
			json_array_append_new(found, json_sprintf("%s in %s: %s", places[i].what,
								  places[i].path, names));
	}
	/* PCI class 0x0801 is "DMA controller"; IOAT and DSA show up as 0x0880. */
	int pci = 0;
	DIR *d = opendir("/sys/bus/pci/devices");
	for (struct dirent *e; d && (e = readdir(d));) {
		char path[512], cls[32] = "";
		snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/class", e->d_name);
		FILE *f = e->d_name[0] == '.' ? NULL : fopen(path, "re");
		if (f == NULL)
			continue;
		if (fgets(cls, sizeof cls, f) && strncmp(cls, "0x0801", 6) == 0) {
			json_array_append_new(found, json_sprintf("PCI DMA controller %s", e->d_name));
			pci++;
		}
		fclose(f);
	}
	if (d)
		closedir(d);
	json_array_append_new(checked, json_sprintf("/sys/bus/pci/devices/*/class == 0x0801* (DMA controller): %d found", pci));
	size_t nfound = json_array_size(found);
	if (nfound == 0)
		snprintf(summary, size, "no hardware copy engine found (checked /sys/bus/dsa/devices, "
			 "/dev/dsa, /sys/class/dma, PCI class 0x0801)");
	else
		snprintf(summary, size, "%zu hardware copy engine entr%s found (%s); cohmap has no channel "
			 "that drives one yet", nfound, nfound == 1 ? "y" : "ies",
			 json_string_value(json_array_get(found, 0)));
	return json_pack("{s:o, s:o, s:b, s:s}", "checked", checked, "found", found, "used", 0,
			 "summary", summary);
}

/* ---- results ---------------------------------------------------------------- */

const char *const channels_columns[] = {
	"channel", "mode", "cpu_a", "cpu_b", "pair_class", "bytes", "copies", "status", "rounds",
	"samples", "messages_per_sample", "min_ns", "p10_ns", "median_ns", "p90_ns", "max_ns",
	"median_gb_per_s", "max_gb_per_s", "reason",
};
enum { NCOLUMNS = ARRAY_SIZE(channels_columns) };
const int channels_ncolumns = NCOLUMNS;

int channels_write_row(struct csv_writer *w, const struct point *pt, const struct point_result *r,
		     char *err)
{
	char cells[NCOLUMNS][ERRLEN];
	bool ok = r->status == POINT_OK;
	const struct summary *s = &r->ns;
	snprintf(cells[0], ERRLEN, "%s", pt->channel->name);
	snprintf(cells[1], ERRLEN, "%s", channels_mode_names[pt->mode]);
	snprintf(cells[2], ERRLEN, "%d", pt->pair.a);
	snprintf(cells[3], ERRLEN, "%d", pt->pair.b);
	snprintf(cells[4], ERRLEN, "%s", pair_class_name(pt->pair.cls));
	snprintf(cells[5], ERRLEN, "%zu", pt->bytes);
	snprintf(cells[6], ERRLEN, "%d", pt->channel->copies);
	snprintf(cells[7], ERRLEN, "%s", ok ? "ok" : r->status == POINT_WRONG_DATA ? "wrong_data" : "failed");
	snprintf(cells[8], ERRLEN, "%d", r->rounds);
	snprintf(cells[9], ERRLEN, "%ld", ok ? s->n : 0);
	snprintf(cells[10], ERRLEN, "%lu", ok ? r->batch : 0);
	double v[] = { s->min, s->p10, s->median, s->p90, s->max };
	for (int i = 0; i < 5; i++)
		points_cell_number(cells[11 + i], ok ? v[i] : NAN, "%.1f");
	points_cell_number(cells[16], ok ? (double)pt->bytes / s->median : NAN, "%.4g");
	points_cell_number(cells[17], ok ? (double)pt->bytes / s->min : NAN, "%.4g");
	points_cell_prose(cells[18], ok ? "" : r->reason); /* a reason is prose; keep it one cell */
	const char *row[NCOLUMNS];
	for (int i = 0; i < NCOLUMNS; i++)
		row[i] = cells[i];
	return csv_writer_row(w, row, err);
}

static const struct point_result *find(const struct point *pts, const struct point_result *res,
				       long n, const struct channel *c, enum mode m,
				       const struct cpu_pair *pair, size_t bytes)
{
	for (long i = 0; i < n; i++)
		if (pts[i].channel == c && pts[i].mode == m && pts[i].pair.a == pair->a &&
		    pts[i].pair.b == pair->b && pts[i].bytes == bytes && res[i].status == POINT_OK &&
		    res[i].nsamples > 0)
			return &res[i];
	return NULL;
}

static void print_cell(const struct point_result *r, bool gbps, size_t bytes)
{
	if (r == NULL)
		printf(" %12s", "-");
	else if (gbps)
		printf(" %12.2f", (double)bytes / r->ns.median);
	else
		printf(" %12.2f", r->ns.median / 1000);
}

void channels_print_summary(const struct channels_plan *p, const struct point *pts,
			  const struct point_result *res, long n)
{
	size_t small = p->sizes[0], large = p->sizes[p->nsizes - 1], middle = p->sizes[p->nsizes / 2];
	for (int i = 0; i < p->nsizes; i++)
		if (p->sizes[i] == 4096)
			middle = 4096;
	char s1[32], s2[32], s3[32];
	format_bytes(small, s1, sizeof s1);
	format_bytes(middle, s2, sizeof s2);
	format_bytes(large, s3, sizeof s3);
	printf("\nmedian over samples: one-way latency [us] = ping-pong round trip / 2; "
	       "bandwidth [GB/s, 1e9 B/s] streaming\n");
	for (int q = 0; q < p->npairs; q++) {
		const struct cpu_pair *pair = &p->pairs[q];
		printf("\nCPUs %d -> %d (%s)\n%-17s %6s %12s %12s %12s %12s\n", pair->a, pair->b,
		       pair_class_name(pair->cls), "channel", "copies", s1, s2, s3, s3);
		printf("%-17s %6s %12s %12s %12s %12s\n", "", "", "latency", "latency", "latency", "GB/s");
		for (int c = 0; c < p->nchannels; c++) {
			const struct channel *ch = p->channels[c];
			printf("%-17s %6d", ch->name, ch->copies);
			print_cell(find(pts, res, n, ch, MODE_LATENCY, pair, small), false, small);
			print_cell(find(pts, res, n, ch, MODE_LATENCY, pair, middle), false, middle);
			print_cell(find(pts, res, n, ch, MODE_LATENCY, pair, large), false, large);
			print_cell(find(pts, res, n, ch, MODE_BANDWIDTH, pair, large), true, large);
			printf("\n");
		}
	}
}

/* "64 B one-way: handover 0.21 us to pipe 6.3 us; 64 MiB: pipe 1.9 to handover 7.7 GB/s (CPUs 0->1, die)" */
void channels_headline(const struct channels_plan *p, const struct point *pts,
		     const struct point_result *res, long n, char *out, size_t size)
{
	const struct cpu_pair *pair = &p->pairs[0];
	size_t small = p->sizes[0], large = p->sizes[p->nsizes - 1];
	const struct channel *lo = NULL, *hi = NULL, *slow = NULL, *fast = NULL;
	double lo_v = INFINITY, hi_v = -INFINITY, slow_v = INFINITY, fast_v = -INFINITY;
	for (int c = 0; c < p->nchannels; c++) {
		const struct point_result *l = find(pts, res, n, p->channels[c], MODE_LATENCY, pair, small);
		const struct point_result *b = find(pts, res, n, p->channels[c], MODE_BANDWIDTH, pair, large);
		if (l && l->ns.median < lo_v)
			lo_v = l->ns.median, lo = p->channels[c];
		if (l && l->ns.median > hi_v)
			hi_v = l->ns.median, hi = p->channels[c];
		if (b && (double)large / b->ns.median < slow_v)
			slow_v = (double)large / b->ns.median, slow = p->channels[c];
		if (b && (double)large / b->ns.median > fast_v)
			fast_v = (double)large / b->ns.median, fast = p->channels[c];
	}
	char s1[32], s2[32];
	format_bytes(small, s1, sizeof s1);
	format_bytes(large, s2, sizeof s2);
	if (lo == NULL || hi == NULL || slow == NULL || fast == NULL) {
		snprintf(out, size, "not enough points measured for a headline");
		return;
	}
	snprintf(out, size, "%s one-way (median): %s %.2f us to %s %.2f us; %s streamed: %s %.2f to %s "
		 "%.2f GB/s (CPUs %d->%d, %s)", s1, lo->name, lo_v / 1000, hi->name, hi_v / 1000, s2,
		 slow->name, slow_v, fast->name, fast_v, pair->a, pair->b, pair_class_name(pair->cls));
}

json_t *channels_plan_description(const struct channels_plan *p)
{
	json_t *channels = json_array(), *sizes = json_array(), *pairs = json_array();
	for (int i = 0; i < p->nchannels; i++)
		json_array_append_new(channels, json_pack("{s:s, s:s, s:i, s:s}", "name",
			p->channels[i]->name, "summary", p->channels[i]->summary, "copies",
			p->channels[i]->copies, "receiver_waits", p->channels[i]->wait));
	for (int i = 0; i < p->nsizes; i++)
		json_array_append_new(sizes, json_integer((json_int_t)p->sizes[i]));
	for (int i = 0; i < p->npairs; i++)
		json_array_append_new(pairs, json_pack("{s:i, s:i, s:s}", "cpu_a", p->pairs[i].a,
			"cpu_b", p->pairs[i].b, "pair_class", pair_class_name(p->pairs[i].cls)));
	return json_pack("{s:s, s:o, s:o, s:o, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:s, s:s, s:s}",
		"status", "running", "channels", channels, "sizes_bytes", sizes, "pairs", pairs,
		"window_bytes", (json_int_t)p->window_bytes, "seed", (json_int_t)p->seed,
		"fixed_samples", (json_int_t)p->fixed_samples, "precision", p->precision,
		"time_limit_s", p->time_limit_s, "sample_target_ns", p->sample_target_ns,
		"watchdog_s", p->watchdog_s, "statistic_plotted", p->stat,
		"values", "per message: latency rows hold one-way latency (ping-pong round trip / 2), "
			  "bandwidth rows the time per message of a stream; gb_per_s = bytes / ns "
			  "(1e9 bytes per second)",
		"work_per_message", "the sender writes every byte of the message, the receiver reads "
				    "every byte to check it (sequence number and checksum), in every channel");
}
