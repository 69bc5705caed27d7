/* `cohmap channels`: copying against sharing. Messages of every size go from
 * process A to process B through each channel of kernels/channels.c, on one
 * pair of CPUs per pair class and on one CPU shared by both: one-way latency
 * by ping-pong (the same channel back), bandwidth by streaming. Writes
 * channels.csv, meta.json's experiments.channels, channels-latency.png and
 * channels-bandwidth.png. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness/agents.h"
#include "harness/selection.h"
#include "base/common.h"
#include "base/csv.h"
#include "experiments/experiment.h"
#include "base/memory.h"
#include "harness/procs.h"
#include "base/progress.h"
#include "base/shuffle.h"
#include "base/sizelist.h"
#include "base/stats.h"
#include "kernels/channels.h"
#include "kernels/kernel.h"
#include "experiments/channels/channels_plot.h"
#include "plots/plot.h"

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


/* Every point is measured in ROUNDS rounds, each round visiting all points
 * in a new shuffled order, and its samples are pooled: the host moves this
 * machine's vCPUs every few seconds, and other programs come and go, so a
 * point measured at one moment only would compare channels across
 * different machines. Per round at least MIN_SAMPLES samples; a long one (a
 * large message) may stop at FEW_SAMPLES, so a point has at least
 * ROUNDS * FEW_SAMPLES, enough for a median. */
#define ROUNDS 3
#define MIN_SAMPLES 2
#define FEW_SAMPLES 1
#define MAX_SAMPLES 4096
#define MAX_SIZES 64
#define MAX_CHANNELS 16
#define MAX_BATCH (1ul << 24)
/* The messages of the default run: 64 B to 64 MiB, every fourth power of
 * two (`--sizes 64-64M` for every one). */
#define DEFAULT_SMALLEST 64
#define DEFAULT_LARGEST (64ul << 20)
#define DEFAULT_STEP 4
/* A slow machine moves a message well faster than this per GiB; used only
 * for the watchdog, which must not fire while a large message is on its way. */
#define WORST_SECONDS_PER_GIB 10.0

enum mode { MODE_LATENCY, MODE_BANDWIDTH, MODE_COUNT };
static const char *const mode_names[MODE_COUNT] = { "latency", "bandwidth" };

struct cpu_pair {
	int a, b;
	enum pair_class cls;
};

struct channels_plan {
	const struct channel *channels[MAX_CHANNELS];
	int nchannels;
	uint64_t sizes[MAX_SIZES];
	int nsizes;
	bool sizes_given;
	struct cpu_pair pairs[PAIR_CLASS_COUNT];
	int npairs;
	long fixed_samples;
	double precision, time_limit_s, sample_target_ns, watchdog_s;
	size_t window_bytes, page_bytes, line_bytes;
	unsigned long seed;
	const char *stat;
	json_t *budget;   /* how the plan was fitted into `cohmap run`'s budget */
	uint64_t deadline_ns; /* under a budget: no point starts after this (monotonic) */
};

struct point {
	const struct channel *channel;
	enum mode mode;
	struct cpu_pair pair;
	size_t bytes;
};

struct point_result {
	enum { POINT_OK, POINT_FAILED, POINT_WRONG_DATA, POINT_INTERRUPTED } status;
	char reason[ERRLEN];
	struct summary ns;             /* per message: one-way latency, or time per streamed message */
	unsigned long batch;
	size_t capacity_bytes;
	double *samples;               /* ns per message, of every round so far (malloc'd) */
	long nsamples;
	int rounds;                    /* rounds that measured it */
};

/* ---- the two processes ---------------------------------------------------- */

/* Meeting points of A, B and the parent, each alone in two cache lines. */
enum control_line {
	LINE_START,    /* parent -> both: the pids are in, go */
	LINE_COMMAND,  /* A -> B: sample number; data->batch says how long */
	LINE_READY,    /* B -> A: saw the command (so A starts the clock on a B that is listening) */
	LINE_DONE,     /* B -> A: received the whole sample (streaming) */
	LINE_BEAT_A,
	LINE_BEAT_B,
	CONTROL_LINES
};

struct control_data {
	uint64_t batch;            /* messages (streaming) or round trips (ping-pong); 0: finish */
	pid_t pid[2];
	int failure[2];            /* channel_status of a side that gave up */
	char reason[2][ERRLEN];
	long nsamples;
	unsigned long batch_used;
	double samples[];          /* ns per message */
};

struct session {
	const struct channels_plan *plan;
	const struct point *point;
	const struct clock_info *clock;
	unsigned char *lines;
	size_t line_stride;
	struct control_data *data;
	size_t control_bytes;
	long capacity;
	bool yield;
	struct channel_link forward, back; /* back: B -> A, for the ping-pong */
};

static _Atomic uint64_t *control_line(const struct session *s, enum control_line i)
{
	return (_Atomic uint64_t *)(s->lines + (size_t)i * s->line_stride);
}

static uint64_t wait_line(const struct session *s, enum control_line i, uint64_t want)
{
	uint64_t v;
	/* No pause hint when spinning: see wait_a_moment() in kernels/channels.c. */
	while ((v = atomic_load_explicit(control_line(s, i), memory_order_acquire)) < want)
		if (s->yield)
			sched_yield();
	return v;
}

static void post_line(const struct session *s, enum control_line i, uint64_t value)
{
	atomic_store_explicit(control_line(s, i), value, memory_order_release);
}

static int give_up(struct session *s, int side, int status, const char *reason)
{
	s->data->failure[side] = status;
	snprintf(s->data->reason[side], ERRLEN, "%s", reason);
	return 1;
}

/* Fills in the side of a link this process plays, and attaches it. */
static int attach_side(struct session *s, struct channel_link *l, enum channel_side side, int self)
{
	char err[ERRLEN];
	l->side = side;
	l->peer = s->data->pid[1 - self];
	l->heartbeat = control_line(s, self == 0 ? LINE_BEAT_A : LINE_BEAT_B);
	if (l->channel->attach(l, err) != 0)
		return give_up(s, self, CHANNEL_FAILED, err);
	return 0;
}

static int run_on_a(struct session *s, unsigned long n, uint64_t sample)
{
	bool ping_pong = s->point->mode == MODE_LATENCY;
	for (unsigned long i = 0; i < n; i++) {
		int rc = s->forward.channel->send(&s->forward);
		if (rc == CHANNEL_OK && ping_pong)
			rc = s->back.channel->receive(&s->back);
		if (rc != CHANNEL_OK)
			return give_up(s, 0, rc, s->back.reason[0] ? s->back.reason : s->forward.reason);
	}
	if (!ping_pong)
		wait_line(s, LINE_DONE, sample);
	return 0;
}

/* One timed sample; returns 0 and ns per message, or 1 after give_up. */
static int timed_sample(struct session *s, uint64_t sample, unsigned long n, double *ns)
{
	s->data->batch = n;
	post_line(s, LINE_COMMAND, sample);
	wait_line(s, LINE_READY, sample);
	uint64_t t0 = clock_ticks(s->clock);
	if (run_on_a(s, n, sample) != 0)
		return 1;
	uint64_t t1 = clock_ticks(s->clock);
	double per = (ticks_to_ns(s->clock, t1 - t0) - s->clock->overhead_ns) / (double)n;
	*ns = s->point->mode == MODE_LATENCY ? per / 2 : per;
	return 0;
}

static bool enough(const struct session *s, uint64_t started, double sample_s, double *scratch)
{
	const struct channels_plan *p = s->plan;
	long n = s->data->nsamples;
	if (n >= s->capacity)
		return true;
	if (p->fixed_samples > 0)
		return n >= p->fixed_samples;
	if (n < (sample_s * MIN_SAMPLES > p->time_limit_s ? FEW_SAMPLES : MIN_SAMPLES))
		return false;
	if ((double)(monotonic_ns() - started) > p->time_limit_s * 1e9)
		return true;
	struct summary sum;
	memcpy(scratch, s->data->samples, (size_t)n * sizeof *scratch);
	summarize(scratch, n, &sum);
	return median_is_precise(&sum, p->precision);
}

/* Process A's work: sizes the batch, samples, then tells B to finish;
 * scratch holds capacity doubles for enough()'s summary. */
static int initiate(struct session *s, double *scratch)
{
	bool ping_pong = s->point->mode == MODE_LATENCY;
	uint64_t sample = 0;
	double ns;
	wait_line(s, LINE_START, 1);
	if (attach_side(s, &s->forward, CHANNEL_SENDER, 0) != 0 ||
	    (ping_pong && attach_side(s, &s->back, CHANNEL_RECEIVER, 0) != 0))
		return 1;
	/* Grow the batch until a sample lasts the target time (the clock's cost
	 * vanishes, one hypervisor interruption spoils one sample); these
	 * batches are the warm-up. A stream starts at two messages
	 * and a window's worth of bytes: otherwise a sample is one message and
	 * the receiver's wake-up, a latency, not a rate, and it never sees the
	 * sender held up by a full ring or pipe. */
	unsigned long n = 1;
	if (!ping_pong) {
		size_t bytes = s->point->bytes, window = s->plan->window_bytes;
		n = (unsigned long)((window + bytes - 1) / bytes);
		if (n < 2)
			n = 2;
	}
	for (;;) {
		if (timed_sample(s, ++sample, n, &ns) != 0)
			return 1;
		if (ns * (ping_pong ? 2 : 1) * (double)n >= s->plan->sample_target_ns || n >= MAX_BATCH)
			break;
		n *= 2;
	}
	/* One more at the final batch size, unless a sample is long: then the
	 * calibration's was a warm-up of a whole message already. */
	double sample_s = ns * (ping_pong ? 2 : 1) * (double)n / 1e9;
	if (sample_s < s->plan->time_limit_s / 10 && timed_sample(s, ++sample, n, &ns) != 0)
		return 1;
	s->data->batch_used = n;
	uint64_t started = monotonic_ns();
	while (!enough(s, started, sample_s, scratch)) {
		if (timed_sample(s, ++sample, n, &ns) != 0)
			return 1;
		s->data->samples[s->data->nsamples++] = ns;
	}
	s->data->batch = 0;
	post_line(s, LINE_COMMAND, ++sample);
	return 0;
}

/* Process A: the sender. */
static int initiator(void *arg)
{
	struct session *s = arg;
	double *scratch = malloc((size_t)s->capacity * sizeof *scratch);
	if (scratch == NULL)
		return give_up(s, 0, CHANNEL_FAILED, "out of memory");
	int rc = initiate(s, scratch);
	free(scratch);
	return rc;
}

/* Process B: the receiver, answering (ping-pong) or acknowledging samples. */
static int responder(void *arg)
{
	struct session *s = arg;
	bool ping_pong = s->point->mode == MODE_LATENCY;
	wait_line(s, LINE_START, 1);
	if (attach_side(s, &s->forward, CHANNEL_RECEIVER, 1) != 0 ||
	    (ping_pong && attach_side(s, &s->back, CHANNEL_SENDER, 1) != 0))
		return 1;
	for (uint64_t seen = 1;; seen++) {
		wait_line(s, LINE_COMMAND, seen);
		uint64_t n = s->data->batch;
		if (n == 0)
			return 0;
		post_line(s, LINE_READY, seen);
		for (uint64_t i = 0; i < n; i++) {
			int rc = s->forward.channel->receive(&s->forward);
			if (rc == CHANNEL_OK && ping_pong)
				rc = s->back.channel->send(&s->back);
			if (rc != CHANNEL_OK)
				return give_up(s, 1, rc, s->forward.reason[0] ? s->forward.reason
									: s->back.reason);
		}
		if (!ping_pong)
			post_line(s, LINE_DONE, seen);
	}
}

static int session_create(struct session *s, const struct channels_plan *p, const struct point *pt,
			  const struct clock_info *clock, char *err)
{
	*s = (struct session){ .plan = p, .point = pt, .clock = clock };
	s->line_stride = 2 * p->line_bytes;
	s->capacity = p->fixed_samples > 0 ? p->fixed_samples : MAX_SAMPLES;
	s->yield = pt->pair.a == pt->pair.b;
	size_t lines = CONTROL_LINES * s->line_stride;
	s->control_bytes = lines + sizeof *s->data + (size_t)s->capacity * sizeof(double);
	void *m = mmap(NULL, s->control_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		set_error(err, "cannot map the control block: %s", strerror(errno));
		return -1;
	}
	s->lines = m;
	s->data = (struct control_data *)(s->lines + lines);
	struct channel_params params = {
		.message_bytes = pt->bytes,
		.window_bytes = p->window_bytes,
		.page_bytes = p->page_bytes,
		.line_bytes = p->line_bytes,
		.yield = s->yield,
	};
	channel_link_init(&s->forward, pt->channel, &params);
	channel_link_init(&s->back, pt->channel, &params);
	if (pt->channel->setup(&s->forward, err) != 0)
		return -1;
	if (pt->mode == MODE_LATENCY && pt->channel->setup(&s->back, err) != 0)
		return -1;
	return 0;
}

static void session_destroy(struct session *s)
{
	if (s->forward.channel)
		s->forward.channel->teardown(&s->forward);
	if (s->back.channel)
		s->back.channel->teardown(&s->back);
	if (s->lines)
		munmap(s->lines, s->control_bytes);
	s->lines = NULL;
}

static void run_point(const struct channels_plan *p, const struct point *pt,
		      const struct clock_info *clock, struct point_result *out)
{
	struct session s;
	struct procs procs = { .n = 0 };
	char err[ERRLEN];
	*out = (struct point_result){ .status = POINT_FAILED };

	if (session_create(&s, p, pt, clock, err) != 0) {
		snprintf(out->reason, sizeof out->reason, "%s", err);
		goto out;
	}
	out->capacity_bytes = s.forward.capacity_bytes;
	const struct proc_spec spec[2] = {
		{ .cpu = pt->pair.a, .body = initiator, .arg = &s },
		{ .cpu = pt->pair.b, .body = responder, .arg = &s },
	};
	if (procs_start(&procs, spec, 2, err) != 0) {
		snprintf(out->reason, sizeof out->reason, "%s", err);
		goto out;
	}
	s.data->pid[0] = procs.pid[0];
	s.data->pid[1] = procs.pid[1];
	post_line(&s, LINE_START, 1);
	procs.heartbeat[0] = control_line(&s, LINE_BEAT_A);
	procs.heartbeat[1] = control_line(&s, LINE_BEAT_B);
	/* Heartbeats come once per message, and before the first one each
	 * process first-touches its buffers: a few times the message. */
	double stall_s = p->watchdog_s + WORST_SECONDS_PER_GIB * 8 * (double)pt->bytes / (1 << 30);
	switch (procs_wait(&procs, stall_s, err)) {
	case PROCS_FINISHED:
		break;
	case PROCS_INTERRUPTED:
		out->status = POINT_INTERRUPTED;
		goto out;
	case PROCS_FAILED: {
		int who = procs.failed;
		if (who >= 0 && s.data->reason[who][0]) {
			snprintf(out->reason, sizeof out->reason, "%s: %s", who == 0 ? "A" : "B",
				 s.data->reason[who]);
			if (s.data->failure[who] == CHANNEL_WRONG_DATA)
				out->status = POINT_WRONG_DATA;
		} else {
			snprintf(out->reason, sizeof out->reason, "%s", err);
		}
		goto out;
	}
	case PROCS_STALLED:
		snprintf(out->reason, sizeof out->reason, "%s", err);
		goto out;
	}
	if (s.data->nsamples < 1) {
		snprintf(out->reason, sizeof out->reason, "no sample was taken");
		goto out;
	}
	out->samples = malloc((size_t)s.data->nsamples * sizeof *out->samples);
	if (out->samples == NULL) {
		snprintf(out->reason, sizeof out->reason, "out of memory");
		goto out;
	}
	memcpy(out->samples, s.data->samples, (size_t)s.data->nsamples * sizeof *out->samples);
	out->nsamples = s.data->nsamples;
	summarize(s.data->samples, s.data->nsamples, &out->ns);
	out->batch = s.data->batch_used;
	out->status = POINT_OK;
out:
	procs_kill(&procs);
	session_destroy(&s);
}

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
static json_t *find_copy_engines(char *summary, size_t size)
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
	if (strcmp(o->stat, "median") != 0 && strcmp(o->stat, "min") != 0) {
		fprintf(stderr, "cohmap %s: --stat must be median or min (got '%s')\n", cmd, o->stat);
		goto fail;
	}
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

/* What points cost here and now, for planning only: three real points with
 * one sample each, through the pipe on the first pair (a slow channel, so the
 * plan errs on the long side): a small message one way, a stream of small
 * messages, a stream of large ones. */
struct costs {
	double point_s;         /* starting the processes, touching the buffers */
	double latency_ns;      /* one small message, one way */
	double stream_ns;       /* one small message in a stream */
	double ns_per_byte;     /* each further byte */
};

static double probe(const struct channels_plan *p, const struct clock_info *clock, enum mode m,
		    size_t bytes, double *wall_s)
{
	struct channels_plan one = *p;
	struct point pt = { &channel_pipe, m, p->pairs[0], bytes };
	struct point_result r;
	one.fixed_samples = 1;
	uint64_t t0 = monotonic_ns();
	run_point(&one, &pt, clock, &r);
	*wall_s = (double)(monotonic_ns() - t0) / 1e9;
	free(r.samples);
	return r.status == POINT_OK ? r.ns.median : NAN;
}

static void probe_costs(const struct channels_plan *p, const struct clock_info *clock, struct costs *c)
{
	double wall, large = 8 * (double)p->window_bytes;
	c->latency_ns = probe(p, clock, MODE_LATENCY, MESSAGE_MIN_BYTES, &wall);
	c->point_s = wall;
	c->stream_ns = probe(p, clock, MODE_BANDWIDTH, MESSAGE_MIN_BYTES, &wall);
	c->ns_per_byte = probe(p, clock, MODE_BANDWIDTH, (size_t)large, &wall) / large;
	/* Without an answer (a failing pipe), a slow machine's numbers. */
	if (isnan(c->latency_ns))
		c->latency_ns = 100e3;
	if (isnan(c->stream_ns))
		c->stream_ns = 10e3;
	if (isnan(c->ns_per_byte))
		c->ns_per_byte = 5;
}

/* A point: per round the fixed cost and the calibration (about two samples'
 * worth); then samples until the time limit, at least as many as the
 * stopping rule wants in every round. */
static double estimate_point_s(const struct channels_plan *p, const struct costs *c, size_t bytes,
			       enum mode m, double time_limit_s)
{
	double sample_ns;
	if (m == MODE_LATENCY) {
		sample_ns = 2 * (c->latency_ns + (double)bytes * c->ns_per_byte);
	} else {
		double n = fmax(2, ceil((double)p->window_bytes / (double)bytes));
		sample_ns = n * (c->stream_ns + (double)bytes * c->ns_per_byte);
	}
	sample_ns = fmax(p->sample_target_ns, sample_ns);
	double sample_s = sample_ns / 1e9;
	int least = sample_s * MIN_SAMPLES > time_limit_s / ROUNDS ? FEW_SAMPLES : MIN_SAMPLES;
	return ROUNDS * (c->point_s + 2 * sample_s) + fmax(time_limit_s, ROUNDS * least * sample_s);
}

static double estimate_s(const struct channels_plan *p, const struct costs *c, const uint64_t *sizes,
			 int nsizes, int npairs, double time_limit_s)
{
	double total = 0;
	for (int i = 0; i < nsizes; i++)
		for (int m = 0; m < MODE_COUNT; m++)
			total += estimate_point_s(p, c, sizes[i], m, time_limit_s);
	return total * p->nchannels * npairs;
}

/* Inside `cohmap run`: keep the range of sizes as long as possible, then the
 * same-CPU pair, then resolution; shorten the time per point to fit. */
static void fit_budget(struct channels_plan *p, const struct clock_info *clock, double budget_s)
{
	static const uint64_t largest[] = { DEFAULT_LARGEST, DEFAULT_LARGEST / 4, DEFAULT_LARGEST / 16,
					    DEFAULT_LARGEST / 64, DEFAULT_LARGEST / 256 };
	static const int steps[] = { DEFAULT_STEP, 16, 64 };
	struct costs c;
	uint64_t probe_started = monotonic_ns();
	probe_costs(p, clock, &c);
	double target = budget_s * 0.7 - (double)(monotonic_ns() - probe_started) / 1e9, planned = 0;
	uint64_t sizes[MAX_SIZES];
	int nsizes = 0, npairs = p->npairs;
	double limit = p->time_limit_s;
	bool fitted = false, has_self = p->npairs > 1 && p->pairs[p->npairs - 1].cls == PAIR_SELF;

	for (size_t l = 0; l < ARRAY_SIZE(largest) && !fitted; l++)
		for (int self = has_self; self >= 0 && !fitted; self--)
			for (size_t s = 0; s < ARRAY_SIZE(steps) && !fitted; s++) {
				nsizes = 0;
				for (uint64_t b = DEFAULT_SMALLEST; b < largest[l] && nsizes < MAX_SIZES - 1;
				     b *= (uint64_t)steps[s])
					sizes[nsizes++] = b;
				sizes[nsizes++] = largest[l];
				npairs = p->npairs - (has_self && !self);
				/* The time limit that spends what is left on sampling. */
				double fixed = estimate_s(p, &c, sizes, nsizes, npairs, 0);
				double points = (double)nsizes * MODE_COUNT * p->nchannels * npairs;
				limit = fmin(p->time_limit_s, fmax(0.002, (target - fixed) / points));
				planned = estimate_s(p, &c, sizes, nsizes, npairs, limit);
				fitted = planned <= target;
			}
	memcpy(p->sizes, sizes, (size_t)nsizes * sizeof *sizes);
	p->nsizes = nsizes;
	p->npairs = npairs;
	p->time_limit_s = limit;
	p->deadline_ns = probe_started + (uint64_t)(budget_s * 1.2 * 1e9);
	p->budget = json_pack("{s:f, s:f, s:b, s:{s:f, s:f, s:f, s:f}, s:s}", "budget_s", budget_s,
		"planned_s", planned, "fits", fitted, "probed",
		"point_overhead_s", c.point_s, "pipe_latency_ns", c.latency_ns,
		"pipe_stream_ns_per_message", c.stream_ns, "pipe_ns_per_byte", c.ns_per_byte,
		"note", "sizes, pairs and the time per point were reduced to fit `cohmap run`'s "
			"budget, planned from three probe points through the pipe; points still "
			"unmeasured at 1.2 x the budget are left out");
}

/* ---- results ---------------------------------------------------------------- */

static const char *const columns[] = {
	"channel", "mode", "cpu_a", "cpu_b", "pair_class", "bytes", "copies", "status", "rounds",
	"samples", "messages_per_sample", "min_ns", "p10_ns", "median_ns", "p90_ns", "max_ns",
	"median_gb_per_s", "max_gb_per_s", "reason",
};
enum { NCOLUMNS = ARRAY_SIZE(columns) };

static void number(char *cell, double v, const char *fmt)
{
	if (isnan(v) || isinf(v))
		snprintf(cell, ERRLEN, "NA");
	else
		snprintf(cell, ERRLEN, fmt, v);
}

static int write_row(struct csv_writer *w, const struct point *pt, const struct point_result *r,
		     char *err)
{
	char cells[NCOLUMNS][ERRLEN];
	bool ok = r->status == POINT_OK;
	const struct summary *s = &r->ns;
	snprintf(cells[0], ERRLEN, "%s", pt->channel->name);
	snprintf(cells[1], ERRLEN, "%s", mode_names[pt->mode]);
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
		number(cells[11 + i], ok ? v[i] : NAN, "%.1f");
	number(cells[16], ok ? (double)pt->bytes / s->median : NAN, "%.4g");
	number(cells[17], ok ? (double)pt->bytes / s->min : NAN, "%.4g");
	snprintf(cells[18], ERRLEN, "%s", ok ? "" : r->reason);
	for (char *c = cells[18]; *c; c++) /* a reason is prose; keep it one cell */
		if (*c == ',' || *c == '"' || *c == '\n')
			*c = ';';
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

static void print_summary(const struct channels_plan *p, const struct point *pts,
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
static void headline(const struct channels_plan *p, const struct point *pts,
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

static json_t *plan_description(const struct channels_plan *p)
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

static int draw(struct run *r, const struct channels_plan *p, const char **plots)
{
	char err[ERRLEN], why[ERRLEN], list[512] = "";
	if (!plot_gnuplot_available(why, sizeof why)) {
		run_warn(r, "channels: no plot drawn: %s; the CSV is complete", why);
		return -1;
	}
	for (int i = 0; i < p->nchannels; i++) {
		size_t used = strlen(list);
		snprintf(list + used, sizeof list - used, "%s%s", i ? " " : "", p->channels[i]->name);
	}
	if (plot_channels_figures(r->dir, list, p->stat, plots, err) < 0) {
		run_warn(r, "channels: %s", err);
		return -1;
	}
	return 0;
}

static int measure(struct run *r, void *arg, double budget_s)
{
	struct channels_plan *p = arg;
	char err[ERRLEN], path[PATH_MAX], engines[ERRLEN], line[ERRLEN];
	struct csv_writer csv = { .fd = -1 };
	int exit_code = EXIT_RUNTIME;
	long npoints = 0, done = 0, failed = 0, wrong = 0;

	if (budget_s > 0 && !p->sizes_given && p->fixed_samples == 0)
		fit_budget(p, &r->clock, budget_s);
	long planned = (long)p->nchannels * p->nsizes * p->npairs * MODE_COUNT;
	struct point *pts = calloc((size_t)planned, sizeof *pts);
	struct point_result *res = calloc((size_t)planned, sizeof *res);
	json_t *exp = plan_description(p);
	json_object_set_new(json_object_get(r->meta, "experiments"), "channels", exp);
	/* Other programs running now would share the agents' CPUs: say so. */
	double busy = procs_busy_tasks();
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	json_object_set_new(exp, "other_running_tasks_at_start", json_real(busy));
	if (online > 0 && busy >= 0.5 * (double)online)
		run_warn(r, "channels: the machine is busy (%.0f other tasks running on %ld CPUs): they "
			 "share the CPUs, and the times measured include waiting for them", busy, online);
	if (p->budget)
		json_object_set(exp, "budget", p->budget);
	json_object_set_new(exp, "copy_engines", find_copy_engines(engines, sizeof engines));
	if (pts == NULL || res == NULL) {
		fprintf(stderr, "cohmap: out of memory for %ld points\n", planned);
		goto out;
	}
	/* npoints counts the points built (all `planned` of them): every loop
	 * below visits only these. */
	for (int q = 0; q < p->npairs; q++)
		for (int c = 0; c < p->nchannels; c++)
			for (int s = 0; s < p->nsizes; s++)
				for (int m = 0; m < MODE_COUNT; m++)
					pts[npoints++] = (struct point){ p->channels[c], m, p->pairs[q],
									 p->sizes[s] };
	if (csv_writer_open(&csv, run_path(r, "channels.csv", path, sizeof path), columns, NCOLUMNS,
			    false, err) != 0 || run_save_meta(r) != 0) {
		fprintf(stderr, "cohmap: %s\n", err);
		goto out;
	}
	if (!r->quiet)
		printf("\nchannels: %d channels x %d sizes x %d CPU pairs x latency and bandwidth; %s\n",
		       p->nchannels, p->nsizes, p->npairs, engines);

	struct progress bar;
	progress_start(&bar, r->progress, "channels", npoints * ROUNDS);
	json_t *capacities = json_object();
	json_object_set_new(exp, "capacity_bytes", capacities);
	long skipped = 0, visits = 0;
	bool stop = false;
	/* Round after round, every point in a new order; a point that failed
	 * (or found wrong data) is not visited again. */
	for (int round = 0; round < ROUNDS && !stop; round++) {
		struct channels_plan share = *p;
		share.time_limit_s = p->time_limit_s / ROUNDS;
		if (p->fixed_samples > 0) /* exactly N in all: spread over the rounds */
			share.fixed_samples = p->fixed_samples / ROUNDS + (round < p->fixed_samples % ROUNDS);
		long *order = malloc((size_t)(npoints ? npoints : 1) * sizeof *order);
		if (order == NULL) {
			fprintf(stderr, "cohmap: out of memory\n");
			goto out;
		}
		for (long i = 0; i < npoints; i++)
			order[i] = i;
		shuffle(order, (size_t)npoints, sizeof *order, p->seed + (unsigned long)round);
		for (long k = 0; k < npoints && !stop; k++) {
			long i = order[k];
			struct point_result *acc = &res[i], one;
			if (cohmap_interrupted) {
				stop = true;
				break;
			}
			if (p->deadline_ns && monotonic_ns() > p->deadline_ns) {
				skipped = npoints * ROUNDS - visits;
				run_warn(r, "channels: the time budget ran out in round %d of %d; the points "
					 "keep the rounds they had", round + 1, ROUNDS);
				stop = true;
				break;
			}
			if (acc->status != POINT_OK)
				continue;
			if (share.fixed_samples == 0 && p->fixed_samples > 0)
				continue;
			run_point(&share, &pts[i], &r->clock, &one);
			progress_update(&bar, ++visits);
			if (one.status == POINT_INTERRUPTED) {
				stop = true;
				break;
			}
			if (one.capacity_bytes)
				json_object_set_new(capacities, pts[i].channel->name,
						    json_integer((json_int_t)one.capacity_bytes));
			if (one.status != POINT_OK) {
				acc->status = one.status;
				snprintf(acc->reason, sizeof acc->reason, "round %d: %s", round + 1, one.reason);
				failed++;
				wrong += one.status == POINT_WRONG_DATA;
				run_warn(r, "channels: %s %s %zu B on %d->%d %s: %s",
					 one.status == POINT_WRONG_DATA ? "WRONG DATA (a bug in cohmap) in"
									: "failed:",
					 pts[i].channel->name, pts[i].bytes, pts[i].pair.a, pts[i].pair.b,
					 mode_names[pts[i].mode], acc->reason);
				continue;
			}
			double *grown = realloc(acc->samples, (size_t)(acc->nsamples + one.nsamples) *
							       sizeof *grown);
			if (grown == NULL) {
				free(one.samples);
				fprintf(stderr, "cohmap: out of memory\n");
				free(order);
				goto out;
			}
			memcpy(grown + acc->nsamples, one.samples, (size_t)one.nsamples * sizeof *grown);
			acc->samples = grown;
			acc->nsamples += one.nsamples;
			acc->batch = one.batch;
			acc->rounds++;
			free(one.samples);
		}
		free(order);
	}
	/* One row per point that any round measured: the pooled samples. */
	for (long i = 0; i < npoints; i++) {
		struct point_result *acc = &res[i];
		if (acc->status == POINT_OK && acc->nsamples == 0)
			continue; /* never reached: interrupted or out of budget */
		if (acc->status == POINT_OK)
			summarize(acc->samples, acc->nsamples, &acc->ns);
		if (write_row(&csv, &pts[i], acc, err) != 0) {
			fprintf(stderr, "cohmap: %s\n", err);
			goto out;
		}
		done++;
	}
	progress_end(&bar);
	if (csv_writer_close(&csv, err) != 0) {
		fprintf(stderr, "cohmap: %s\n", err);
		goto out;
	}
	json_object_set_new(exp, "points_planned", json_integer(npoints));
	json_object_set_new(exp, "points_measured", json_integer(done));
	json_object_set_new(exp, "points_failed", json_integer(failed));
	json_object_set_new(exp, "points_left_out_by_budget", json_integer(skipped));
	if (cohmap_interrupted) {
		json_object_set_new(exp, "status", json_string("interrupted"));
		fprintf(stderr, "cohmap: interrupted after %ld of %ld points; they are in %s\n", done,
			npoints, r->dir);
		exit_code = EXIT_INTERRUPTED;
		goto out;
	}
	json_object_set_new(exp, "status", json_string(wrong ? "failed" : "complete"));
	if (!r->quiet)
		print_summary(p, pts, res, done);
	exit_code = wrong || failed == npoints ? EXIT_RUNTIME : EXIT_DONE;

	const char *plots[MODE_COUNT + 1] = { NULL };
	if (draw(r, p, plots) != 0 && exit_code == EXIT_DONE)
		exit_code = EXIT_PARTIAL;
	if (!r->quiet)
		for (int i = 0; plots[i]; i++)
			printf("%s %s/%s\n", i == 0 ? "\nplots:" : "      ", r->dir, plots[i]);
	headline(p, pts, res, done, line, sizeof line);
	const char *csvs[] = { "channels.csv", NULL };
	experiment_describe(r, "channels", csvs, plots, line);
out:
	if (csv.fd >= 0)
		csv_writer_close(&csv, err);
	for (long i = 0; res && i < npoints; i++)
		free(res[i].samples);
	free(pts);
	free(res);
	return exit_code;
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
	.measure = measure,
	.release = release,
	.draw = redraw,
};

