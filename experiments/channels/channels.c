/* `cohmap channels`: copying against sharing. Messages of every size go from
 * process A to process B through each channel of kernels/channels.c, on one
 * pair of CPUs per pair class and on one CPU shared by both: one-way latency
 * by ping-pong (the same channel back), bandwidth by streaming. Writes
 * channels.csv, meta.json's experiments.channels, channels-latency.png and
 * channels-bandwidth.png.
 *
 * This file: the options, the plan made from them, and the descriptor. The
 * two processes of a point are in channels_session.c, the rounds of points
 * in channels_run.c, the CSV rows and summary in channels_report.c. */
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/selection.h"
#include "base/common.h"
#include "experiments/experiment.h"
#include "base/memory.h"
#include "base/sizelist.h"
#include "base/timing.h"
#include "kernels/channels.h"
#include "experiments/channels/channels.h"
#include "experiments/channels/channels_plot.h"

/* The channels experiment's own options. */
struct channels_settings {
	const char *channels;
	const char *sizes;
};

#define AT(field) offsetof(struct channels_settings, field)
static const struct option_def channels_options[] = {
	{ "channel", 0, OPT_STRING, "LIST", NULL, 0, 0,
	  "channels: ring, pipe, vmsplice, socket, process_vm_readv, handover (default: all)", AT(channels) },
	{ "sizes", 0, OPT_STRING, "SIZES", NULL, 0, 0,
	  "sizes in bytes: a list (64,4K,1M) or MIN-MAX, doubling (64-64M); K, M, G are KiB, MiB, GiB", AT(sizes) },
};
#undef AT

static const char *const channels_shared_options[] = {
	"cpus", "samples", "precision", "time-limit", "sample-us", "watchdog", "stat", "seed", "output", "topology", "quiet", "help", NULL,
};

static const char *const channels_csv[] = { "channels.csv", NULL };
static const char *const channels_figures[] = { "channels-latency.png", "channels-bandwidth.png", NULL };

/* ---- planning -------------------------------------------------------------- */

static const char *channel_name(int i)
{
	return channel_registry[i]->name;
}

static int choose_channels(const char *cmd, const char *list, struct channels_plan *p)
{
	p->nchannels = 0;
	if (list == NULL) {
		for (int i = 0; i < channel_count && i < MAX_CHANNELS; i++)
			p->channels[p->nchannels++] = channel_registry[i];
		return 0;
	}
	const struct name_choice c = { "channel", "--channel", "channel", "channels", channel_count,
				       channel_name };
	int index[MAX_CHANNELS];
	int n = choose_names(cmd, &c, list, index, MAX_CHANNELS);
	for (int i = 0; i < n; i++)
		p->channels[p->nchannels++] = channel_registry[index[i]];
	return n < 0 ? -1 : 0;
}

/* One pair per pair class (the first in topology order), then one CPU
 * shared by both processes: there every message costs context switches. */
static void choose_pairs(const struct topology *t, const int *cpus, int n, struct channels_plan *p)
{
	bool seen[PAIR_CLASS_COUNT + 1] = { false };
	p->npairs = 0;
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++) {
			enum pair_class c = topology_pair_class(t, cpus[i], cpus[j]);
			if (!seen[c]) {
				seen[c] = true;
				p->pairs[p->npairs++] = (struct cpu_pair){ cpus[i], cpus[j], c };
			}
		}
	if (p->npairs < PAIR_CLASS_COUNT)
		p->pairs[p->npairs++] = (struct cpu_pair){ cpus[0], cpus[0], PAIR_SELF };
}

/* The ring (and the pipe and socket buffers) hold one L2 cache's worth:
 * what a producer can write before its data must leave its core. Without a
 * known L2, the pipe's own default. */
static size_t choose_window(const struct topology *t, size_t page)
{
	size_t window = t->l2_bytes;
	if (window == 0) {
		int fd[2];
		if (pipe(fd) == 0) {
			int c = fcntl(fd[0], F_GETPIPE_SZ);
			window = c > 0 ? (size_t)c : 0;
			close(fd[0]);
			close(fd[1]);
		}
	}
	if (window < 2 * page)
		window = 2 * page;
	return (window + page - 1) / page * page;
}

static void release(void *arg)
{
	struct channels_plan *p = arg;
	json_decref(p->budget);
	free(p);
}

static int prepare(const char *cmd, const struct options *o, const void *settings,
		   const struct topology *t, void **out, char *skip_reason)
{
	const struct channels_settings *own = settings;
	(void)skip_reason;
	char err[ERRLEN];
	struct channels_plan *p = calloc(1, sizeof *p);
	int *cpus = calloc((size_t)t->ncpus, sizeof *cpus);
	if (p == NULL || cpus == NULL) {
		fprintf(stderr, "cohmap %s: out of memory\n", cmd);
		goto fail;
	}
	if (option_check_stat(cmd, o->stat) != 0)
		goto fail;
	p->stat = o->stat;
	if (choose_channels(cmd, own->channels, p) != 0)
		goto fail;
	p->page_bytes = (size_t)sysconf(_SC_PAGESIZE);
	p->line_bytes = (size_t)t->line_size;
	if (own->sizes) {
		if ((p->nsizes = sizes_parse(own->sizes, p->sizes, MAX_SIZES, err)) < 0) {
			fprintf(stderr, "cohmap %s: %s\n", cmd, err);
			goto fail;
		}
		p->sizes_given = true;
	} else {
		for (uint64_t b = DEFAULT_SMALLEST; b <= DEFAULT_LARGEST; b *= DEFAULT_STEP)
			p->sizes[p->nsizes++] = b;
	}
	for (int i = 0; i < p->nsizes; i++)
		if (p->sizes[i] < MESSAGE_MIN_BYTES || p->sizes[i] % sizeof(uint64_t) != 0) {
			fprintf(stderr, "cohmap %s: --sizes: a message is a whole number of 8-byte words, "
				"at least %zu bytes (got %llu)\n", cmd, MESSAGE_MIN_BYTES,
				(unsigned long long)p->sizes[i]);
			goto fail;
		}
	/* Ping-pong holds two links: per link the sender's pool and the shared
	 * pool (two messages each at least) and the receiver's copy. */
	size_t largest = p->sizes[p->nsizes - 1];
	long long available = meminfo_field("MemAvailable");
	if (available > 0 && (double)largest * 10 > (double)available / 2) {
		char big[32], avail[32];
		format_bytes(largest, big, sizeof big);
		format_bytes((size_t)available, avail, sizeof avail);
		fprintf(stderr, "cohmap %s: --sizes: %s messages need about %.1f GiB; MemAvailable is %s\n",
			cmd, big, (double)largest * 10 / (1 << 30), avail);
		goto fail;
	}
	int ncpus = choose_cpus(cmd, o, t, cpus, t->ncpus, 2);
	if (ncpus < 0)
		goto fail;
	choose_pairs(t, cpus, ncpus, p);
	p->window_bytes = choose_window(t, p->page_bytes);
	p->fixed_samples = o->samples;
	p->precision = o->precision_pct / 100;
	p->time_limit_s = o->time_limit_s;
	p->sample_target_ns = o->sample_us * 1000;
	p->watchdog_s = o->watchdog_s;
	p->seed = o->seed >= 0 ? (unsigned long)o->seed
			       : (unsigned long)((monotonic_ns() ^ (uint64_t)getpid()) & 0xffffffffu);
	free(cpus);
	*out = p;
	return EXIT_DONE;
fail:
	free(cpus);
	if (p)
		release(p);
	return EXIT_USAGE;
}

static int redraw(const char *dir, const struct topology *t, const char *stat, char *err)
{
	(void)t;
	const char *images[4];
	return plot_channels_figures(dir, NULL, stat, images, err);
}

const struct experiment experiment_channels = {
	.name = "channels",
	.summary = "copying against sharing: messages between two processes through a shared ring, "
		   "a pipe, vmsplice, a socket, process_vm_readv or a pointer (channels.csv, "
		   "channels-latency.png, channels-bandwidth.png)",
	.examples = "  cohmap channels                          # 64 B to 64 MiB, every channel, one pair per class\n"
		    "  cohmap channels -c 0,1 --channel pipe,ring,handover --sizes 64-1M\n"
		    "  cohmap channels --sizes 64,4K,256K,16M -n 9 --seed 7\n",
	.shared_options = channels_shared_options,
	.options = channels_options,
	.option_count = ARRAY_SIZE(channels_options),
	.settings_size = sizeof(struct channels_settings),
	.title = "Copying against sharing",
	.shows = "Messages of growing size go from one process to another through pipes, sockets, "
		 "process_vm_readv and shared-memory rings, on a CPU pair of each class and on one CPU "
		 "shared by both: one-way latency by ping-pong, bandwidth by streaming. Handing over a "
		 "pointer to shared memory is the floor the copying channels are measured against.",
	.read = "For small messages the system calls and wake-ups dominate (the flat start of the "
		 "latency curves); for large ones the copies do (the curves rise with size and the "
		 "bandwidth levels off at the copy rate). The gap between a channel and the "
		 "shared-memory floor is what copying costs.",
	.csv = channels_csv,
	.figures = channels_figures,
	.prepare = prepare,
	.measure = channels_measure,
	.release = release,
	.draw = redraw,
};

