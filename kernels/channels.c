/* The channels of `cohmap channels`: six ways from one process to another,
 * from two copies through the kernel to none at all. See channels.h for what
 * every channel does alike.
 *
 * One file, as stress-ng keeps a family: the six channels share their
 * setup, framing and data check, and each is a short descriptor. */
#include "kernels/channels.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>


/* ---- messages ------------------------------------------------------------- */

/* Each message's pattern starts somewhere else (the golden-ratio step), so
 * the payload of one message never passes for another's. */
#define PATTERN_STEP 0x9e3779b97f4a7c15ull

/* Fletcher-style: a sums the words, b sums the running sums, so b depends on
 * where each word sits and a shifted or swapped block changes it. */
static uint64_t checksum_fold(uint64_t a, uint64_t b)
{
	return a ^ (b << 32 | b >> 32);
}

void message_fill(void *buf, size_t bytes, uint64_t seq)
{
	uint64_t *w = buf, base = seq * PATTERN_STEP, a = seq, b = seq;
	size_t n = bytes / sizeof *w;
	w[0] = seq;
	for (size_t i = 1; i + 1 < n; i++) {
		uint64_t v = base + i;
		w[i] = v;
		a += v;
		b += a;
	}
	w[n - 1] = checksum_fold(a, b);
}

int message_check(const void *buf, size_t bytes, uint64_t seq, char *why)
{
	const uint64_t *w = buf;
	size_t n = bytes / sizeof *w;
	if (w[0] != seq) {
		set_error(why, "expected message %" PRIu64 ", found sequence number %" PRIu64, seq, w[0]);
		return -1;
	}
	uint64_t a = w[0], b = w[0];
	for (size_t i = 1; i + 1 < n; i++) {
		a += w[i];
		b += a;
	}
	if (checksum_fold(a, b) != w[n - 1]) {
		set_error(why, "message %" PRIu64 " (%zu bytes) arrived with a wrong checksum", seq, bytes);
		return -1;
	}
	return 0;
}

/* ---- what the channels share ---------------------------------------------- */

static size_t round_up(size_t x, size_t to)
{
	return (x + to - 1) / to * to;
}

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* Private memory, first touched here by the process that will use it, so
 * that page faults stay out of the timed messages and the pages land on
 * that process's NUMA node. */
static unsigned char *private_memory(size_t bytes, char *err)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		set_error(err, "cannot map %zu bytes: %s", bytes, strerror(errno));
		return NULL;
	}
	memset(p, 0, bytes);
	return p;
}

/* Shared memory inherited across fork: anonymous, so it has no name that
 * could outlive cohmap. Not touched here: the sender touches it in attach. */
static int shared_memory(struct channel_link *l, size_t bytes, char *err)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		set_error(err, "cannot map %zu bytes of shared memory: %s", bytes, strerror(errno));
		return -1;
	}
	l->shared = p;
	l->shared_bytes = bytes;
	return 0;
}

/* The two counters of a ring or queue, each alone in two cache lines (the
 * adjacent-line prefetcher pairs lines): the sender's position and the
 * receiver's, so each is written by one process only. */
static _Atomic uint64_t *sender_counter(const struct channel_link *l)
{
	return (_Atomic uint64_t *)l->shared;
}

static _Atomic uint64_t *receiver_counter(const struct channel_link *l)
{
	return (_Atomic uint64_t *)(l->shared + 2 * l->params.line_bytes);
}

static size_t counters_bytes(const struct channel_link *l)
{
	return 4 * l->params.line_bytes;
}

static inline void wait_a_moment(const struct channel_link *l)
{
	/* On a shared CPU the other end cannot run while we spin. Elsewhere a
	 * bare loop of loads, as the latency kernels spin by default: a pause
	 * hint delays noticing the change, and under a hypervisor a long run
	 * of PAUSE may exit to the host (pause-loop exiting), which a receiver
	 * waiting while a large message is produced would pay for. */
	if (l->params.yield)
		sched_yield();
}

/* Spins until *counter >= want and returns its value. No time limit: the
 * parent watches the heartbeats and kills a pair that stops. */
static uint64_t wait_at_least(const struct channel_link *l, _Atomic uint64_t *counter, uint64_t want)
{
	uint64_t v;
	while ((v = atomic_load_explicit(counter, memory_order_acquire)) < want)
		wait_a_moment(l);
	return v;
}

static void beat(struct channel_link *l)
{
	if (l->heartbeat)
		atomic_fetch_add_explicit(l->heartbeat, 1, memory_order_relaxed);
}

static int fail(struct channel_link *l, const char *what)
{
	set_error(l->reason, "%s: %s", what, strerror(errno));
	return CHANNEL_FAILED;
}

static int verify(struct channel_link *l, const void *buf)
{
	if (message_check(buf, l->params.message_bytes, l->next_seq, l->reason) != 0)
		return CHANNEL_WRONG_DATA;
	l->next_seq++;
	beat(l);
	return CHANNEL_OK;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void common_teardown(struct channel_link *l)
{
	if (l->shared)
		munmap(l->shared, l->shared_bytes);
	l->shared = NULL;
	close_fd(&l->fd[0]);
	close_fd(&l->fd[1]);
}

/* Keeps the end of fd[] this side uses: fd[1] writes, fd[0] reads. */
static void keep_own_end(struct channel_link *l)
{
	close_fd(&l->fd[l->side == CHANNEL_SENDER ? 0 : 1]);
}

/* The sender's or receiver's private copy of one message. */
static int attach_message_buffer(struct channel_link *l, char *err)
{
	l->buffer_bytes = round_up(l->params.message_bytes, l->params.page_bytes);
	l->buffer = private_memory(l->buffer_bytes, err);
	return l->buffer ? 0 : -1;
}

static int write_all(struct channel_link *l, int fd, const unsigned char *buf, size_t bytes,
		     bool socket)
{
	for (size_t done = 0; done < bytes;) {
		ssize_t n = socket ? send(fd, buf + done, bytes - done, MSG_NOSIGNAL)
				   : write(fd, buf + done, bytes - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fail(l, socket ? "send" : "write");
		done += (size_t)n;
	}
	return CHANNEL_OK;
}

static int read_all(struct channel_link *l, int fd, unsigned char *buf, size_t bytes, bool socket)
{
	for (size_t done = 0; done < bytes;) {
		ssize_t n = socket ? recv(fd, buf + done, bytes - done, MSG_WAITALL)
				   : read(fd, buf + done, bytes - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {
			set_error(l->reason, "the sending end was closed");
			return CHANNEL_FAILED;
		}
		if (n < 0)
			return fail(l, socket ? "recv" : "read");
		done += (size_t)n;
	}
	return CHANNEL_OK;
}

/* ---- ring: memcpy into a shared ring, memcpy out -------------------------- */

/* A side publishes its position after each chunk of this fraction of the
 * ring, so the other side starts on a long message before it is all in: a
 * smaller chunk pipelines better, a larger one moves the counter lines less
 * often. */
#define RING_CHUNKS_PER_WINDOW 8

static int ring_setup(struct channel_link *l, char *err)
{
	return shared_memory(l, counters_bytes(l) + l->params.window_bytes, err);
}

static int ring_attach(struct channel_link *l, char *err)
{
	if (l->side == CHANNEL_SENDER)
		memset(l->shared + counters_bytes(l), 0, l->params.window_bytes);
	return attach_message_buffer(l, err);
}

static int ring_send(struct channel_link *l)
{
	size_t window = l->params.window_bytes, bytes = l->params.message_bytes;
	size_t chunk_max = window / RING_CHUNKS_PER_WINDOW;
	unsigned char *data = l->shared + counters_bytes(l);
	uint64_t pos = l->ring_position;
	uint64_t consumed = l->peer_position;

	message_fill(l->buffer, bytes, l->next_seq);
	for (size_t done = 0; done < bytes;) {
		if (pos - consumed == window)
			consumed = wait_at_least(l, receiver_counter(l), pos - window + 1);
		size_t at = pos % window;
		size_t chunk = min_size(min_size(bytes - done, window - (pos - consumed)),
					min_size(window - at, chunk_max));
		memcpy(data + at, l->buffer + done, chunk);
		pos += chunk;
		done += chunk;
		atomic_store_explicit(sender_counter(l), pos, memory_order_release);
	}
	l->ring_position = pos;
	l->peer_position = consumed;
	l->next_seq++;
	beat(l);
	return CHANNEL_OK;
}

static int ring_receive(struct channel_link *l)
{
	size_t window = l->params.window_bytes, bytes = l->params.message_bytes;
	size_t chunk_max = window / RING_CHUNKS_PER_WINDOW;
	const unsigned char *data = l->shared + counters_bytes(l);
	uint64_t pos = l->ring_position;
	uint64_t produced = l->peer_position;

	for (size_t done = 0; done < bytes;) {
		if (produced == pos)
			produced = wait_at_least(l, sender_counter(l), pos + 1);
		size_t at = pos % window;
		size_t chunk = min_size(min_size(bytes - done, produced - pos),
					min_size(window - at, chunk_max));
		memcpy(l->buffer + done, data + at, chunk);
		pos += chunk;
		done += chunk;
		atomic_store_explicit(receiver_counter(l), pos, memory_order_release);
	}
	l->ring_position = pos;
	l->peer_position = produced;
	return verify(l, l->buffer);
}

const struct channel channel_ring = {
	.name = "ring",
	.summary = "memcpy into a ring in shared memory, memcpy out of it",
	.copies = 2,
	.wait = "spins on the ring's counters",
	.setup = ring_setup,
	.attach = ring_attach,
	.send = ring_send,
	.receive = ring_receive,
	.teardown = common_teardown,
};

/* ---- pipe: write, read ----------------------------------------------------- */

/* The pipe holds as much as the ring (when the system allows it), so the two
 * differ in mechanism, not in buffering. */
static int pipe_setup(struct channel_link *l, char *err)
{
	if (pipe2(l->fd, O_CLOEXEC) != 0) {
		set_error(err, "pipe: %s", strerror(errno));
		return -1;
	}
	fcntl(l->fd[1], F_SETPIPE_SZ, (int)min_size(l->params.window_bytes, INT32_MAX));
	int granted = fcntl(l->fd[1], F_GETPIPE_SZ);
	l->capacity_bytes = granted > 0 ? (size_t)granted : 0;
	return 0;
}

static int pipe_attach(struct channel_link *l, char *err)
{
	keep_own_end(l);
	return attach_message_buffer(l, err);
}

/* A pipe and a socket move a message the same way: one write(), one read()
 * of the whole message (is_socket only changes which calls they are). */
static int stream_send(struct channel_link *l, bool is_socket)
{
	message_fill(l->buffer, l->params.message_bytes, l->next_seq);
	int rc = write_all(l, l->fd[1], l->buffer, l->params.message_bytes, is_socket);
	if (rc == CHANNEL_OK) {
		l->next_seq++;
		beat(l);
	}
	return rc;
}

static int stream_receive(struct channel_link *l, bool is_socket)
{
	int rc = read_all(l, l->fd[0], l->buffer, l->params.message_bytes, is_socket);
	return rc == CHANNEL_OK ? verify(l, l->buffer) : rc;
}

static int pipe_send(struct channel_link *l)
{
	return stream_send(l, false);
}

static int pipe_receive(struct channel_link *l)
{
	return stream_receive(l, false);
}

const struct channel channel_pipe = {
	.name = "pipe",
	.summary = "write into a pipe, read out of it",
	.copies = 2,
	.wait = "blocks in read",
	.setup = pipe_setup,
	.attach = pipe_attach,
	.send = pipe_send,
	.receive = pipe_receive,
	.teardown = common_teardown,
};

/* ---- vmsplice + splice ----------------------------------------------------- */

/* vmsplice puts references to the sender's pages into the pipe instead of
 * copying them, so the sender must not rewrite a page until the receiver has
 * taken it out: it produces into a pool of buffers, one more than the pipe
 * can hold messages. The pipe holds capacity/page buffers, a message takes
 * ceil(bytes/page) of them, and a message is reused only after the pipe has
 * accepted so many newer ones that none of its pages can still be inside.
 *
 * A pipe's pages reach another address space only by a copy: the receiver
 * splices them into a memfd it has mapped, so the one copy is the kernel's,
 * into the receiver's own pages, with no read buffer in between. */
static int vmsplice_attach(struct channel_link *l, char *err)
{
	keep_own_end(l);
	size_t page = l->params.page_bytes, bytes = l->params.message_bytes;
	l->slot_stride = round_up(bytes, page);
	if (l->side == CHANNEL_SENDER) {
		size_t pipe_pages = l->capacity_bytes / page, message_pages = l->slot_stride / page;
		l->slots = (pipe_pages + message_pages - 1) / message_pages + 1;
		l->buffer_bytes = l->slots * l->slot_stride;
		l->buffer = private_memory(l->buffer_bytes, err);
		return l->buffer ? 0 : -1;
	}
	int fd = memfd_create("cohmap-vmsplice", MFD_CLOEXEC);
	if (fd < 0) {
		set_error(err, "memfd_create: %s", strerror(errno));
		return -1;
	}
	l->buffer_bytes = l->slot_stride;
	void *p = MAP_FAILED;
	if (ftruncate(fd, (off_t)l->buffer_bytes) == 0)
		p = mmap(NULL, l->buffer_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		set_error(err, "cannot map a %zu-byte memfd: %s", l->buffer_bytes, strerror(errno));
		close(fd);
		return -1;
	}
	/* The file's pages exist from here on; splice only overwrites them. */
	memset(p, 0, l->buffer_bytes);
	l->buffer = p;
	l->fd[1] = fd; /* the write end was closed above; the memfd takes its place */
	return 0;
}

static int vmsplice_send(struct channel_link *l)
{
	size_t bytes = l->params.message_bytes;
	unsigned char *message = l->buffer + (l->next_seq % l->slots) * l->slot_stride;
	message_fill(message, bytes, l->next_seq);
	for (size_t done = 0; done < bytes;) {
		struct iovec iov = { .iov_base = message + done, .iov_len = bytes - done };
		ssize_t n = vmsplice(l->fd[1], &iov, 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fail(l, "vmsplice");
		done += (size_t)n;
	}
	l->next_seq++;
	beat(l);
	return CHANNEL_OK;
}

static int vmsplice_receive(struct channel_link *l)
{
	size_t bytes = l->params.message_bytes;
	loff_t at = 0;
	while ((size_t)at < bytes) {
		ssize_t n = splice(l->fd[0], NULL, l->fd[1], &at, bytes - (size_t)at, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {
			set_error(l->reason, "the sending end was closed");
			return CHANNEL_FAILED;
		}
		if (n < 0)
			return fail(l, "splice");
	}
	return verify(l, l->buffer);
}

const struct channel channel_vmsplice = {
	.name = "vmsplice",
	.summary = "vmsplice the sender's pages into a pipe, splice them into the receiver's memfd",
	.copies = 1,
	.wait = "blocks in splice",
	.setup = pipe_setup,
	.attach = vmsplice_attach,
	.send = vmsplice_send,
	.receive = vmsplice_receive,
	.teardown = common_teardown,
};

/* ---- Unix stream socket: send, recv ---------------------------------------- */

static int socket_setup(struct channel_link *l, char *err)
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, l->fd) != 0) {
		set_error(err, "socketpair: %s", strerror(errno));
		return -1;
	}
	/* As much in flight as the ring; the kernel doubles the request and caps
	 * it at net.core.wmem_max, and we record what it granted. */
	int want = (int)min_size(l->params.window_bytes, INT32_MAX / 2), granted = 0;
	socklen_t len = sizeof granted;
	for (int i = 0; i < 2; i++) {
		setsockopt(l->fd[i], SOL_SOCKET, SO_SNDBUF, &want, sizeof want);
		setsockopt(l->fd[i], SOL_SOCKET, SO_RCVBUF, &want, sizeof want);
	}
	getsockopt(l->fd[1], SOL_SOCKET, SO_SNDBUF, &granted, &len);
	l->capacity_bytes = granted > 0 ? (size_t)granted : 0;
	return 0;
}

static int socket_send(struct channel_link *l)
{
	return stream_send(l, true);
}

static int socket_receive(struct channel_link *l)
{
	return stream_receive(l, true);
}

const struct channel channel_socket = {
	.name = "socket",
	.summary = "send on a Unix stream socket, recv on the other end",
	.copies = 2,
	.wait = "blocks in recv",
	.setup = socket_setup,
	.attach = pipe_attach,
	.send = socket_send,
	.receive = socket_receive,
	.teardown = common_teardown,
};

/* ---- queues of descriptors: process_vm_readv and the pointer handover ----- */

/* Both post one descriptor per message in a queue in shared memory: the
 * sequence number and where the message is. The queue has a slot for as many
 * messages as fit in the window (at least two, so the sender can produce the
 * next message while the receiver takes the last). */
struct descriptor {
	uint64_t seq;
	uint64_t where;  /* an address in the sender (process_vm_readv), an offset (handover) */
};

static struct descriptor *descriptors(const struct channel_link *l)
{
	return (struct descriptor *)(l->shared + counters_bytes(l));
}

/* Slots and the shared bytes for the queue; pool_bytes more after it, page-aligned. */
static int queue_setup(struct channel_link *l, bool shared_pool, char *err)
{
	/* Messages start two lines apart at least, so neighbours never share a
	 * line (or a prefetched pair of lines). */
	l->slot_stride = round_up(l->params.message_bytes, 2 * l->params.line_bytes);
	l->slots = l->params.window_bytes / l->slot_stride;
	if (l->slots < 2)
		l->slots = 2;
	size_t queue = round_up(counters_bytes(l) + l->slots * sizeof(struct descriptor),
				l->params.page_bytes);
	return shared_memory(l, queue + (shared_pool ? l->slots * l->slot_stride : 0), err);
}

static unsigned char *shared_pool(const struct channel_link *l)
{
	return l->shared + round_up(counters_bytes(l) + l->slots * sizeof(struct descriptor),
				    l->params.page_bytes);
}

/* Waits for a free slot; returns the slot's index. Message seq is the
 * (seq-1)-th through the queue (sequence numbers start at 1). */
static size_t queue_reserve(struct channel_link *l)
{
	uint64_t count = l->next_seq - 1;
	if (count - l->peer_position >= l->slots)
		l->peer_position = wait_at_least(l, receiver_counter(l), count - l->slots + 1);
	return count % l->slots;
}

static void queue_post(struct channel_link *l, size_t slot, uint64_t where)
{
	descriptors(l)[slot] = (struct descriptor){ .seq = l->next_seq, .where = where };
	atomic_store_explicit(sender_counter(l), l->next_seq, memory_order_release);
	l->next_seq++;
	beat(l);
}

/* Waits for the next descriptor and checks it is the expected message's. */
static int queue_take(struct channel_link *l, struct descriptor *d)
{
	uint64_t count = l->next_seq - 1;
	if (l->peer_position <= count)
		l->peer_position = wait_at_least(l, sender_counter(l), count + 1);
	*d = descriptors(l)[count % l->slots];
	if (d->seq != l->next_seq) {
		set_error(l->reason, "expected descriptor %" PRIu64 ", found %" PRIu64, l->next_seq, d->seq);
		return CHANNEL_WRONG_DATA;
	}
	return CHANNEL_OK;
}

/* Gives the slot back to the sender. */
static void queue_release(struct channel_link *l, uint64_t seq)
{
	atomic_store_explicit(receiver_counter(l), seq, memory_order_release);
}

/* ---- process_vm_readv: the receiver copies out of the sender's memory ----- */

static int pvm_setup(struct channel_link *l, char *err)
{
	return queue_setup(l, false, err);
}

static int pvm_attach(struct channel_link *l, char *err)
{
	if (l->side == CHANNEL_RECEIVER)
		return attach_message_buffer(l, err);
	/* Under Yama (ptrace_scope 1) only a declared tracer may read us; a
	 * kernel without Yama refuses the request, and needs none. */
	prctl(PR_SET_PTRACER, (unsigned long)l->peer, 0, 0, 0);
	l->buffer_bytes = l->slots * l->slot_stride;
	l->buffer = private_memory(l->buffer_bytes, err);
	return l->buffer ? 0 : -1;
}

static int pvm_send(struct channel_link *l)
{
	size_t slot = queue_reserve(l);
	unsigned char *message = l->buffer + slot * l->slot_stride;
	message_fill(message, l->params.message_bytes, l->next_seq);
	queue_post(l, slot, (uint64_t)(uintptr_t)message);
	return CHANNEL_OK;
}

static int pvm_receive(struct channel_link *l)
{
	struct descriptor d;
	size_t bytes = l->params.message_bytes;
	int rc = queue_take(l, &d);
	if (rc != CHANNEL_OK)
		return rc;
	for (size_t done = 0; done < bytes;) {
		struct iovec local = { .iov_base = l->buffer + done, .iov_len = bytes - done };
		struct iovec remote = { .iov_base = (void *)(uintptr_t)(d.where + done),
					.iov_len = bytes - done };
		ssize_t n = process_vm_readv(l->peer, &local, 1, &remote, 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fail(l, "process_vm_readv");
		done += (size_t)n;
	}
	/* The copy is ours now: the sender may reuse its buffer while we check. */
	queue_release(l, d.seq);
	return verify(l, l->buffer);
}

const struct channel channel_process_vm_readv = {
	.name = "process_vm_readv",
	.summary = "the receiver copies the message out of the sender's memory with process_vm_readv",
	.copies = 1,
	.wait = "spins on a descriptor queue in shared memory",
	.setup = pvm_setup,
	.attach = pvm_attach,
	.send = pvm_send,
	.receive = pvm_receive,
	.teardown = common_teardown,
};

/* ---- handover: a pointer into shared memory, no copy ----------------------- */

/* The sender produces the message where the receiver will read it and hands
 * over its offset: an offset, not a pointer, because a mapping need not sit
 * at the same address in both processes (here it does, having been inherited
 * across fork; in general it does not). */
static int handover_setup(struct channel_link *l, char *err)
{
	return queue_setup(l, true, err);
}

static int handover_attach(struct channel_link *l, char *err)
{
	(void)err;
	if (l->side == CHANNEL_SENDER)
		memset(shared_pool(l), 0, l->slots * l->slot_stride);
	return 0;
}

static int handover_send(struct channel_link *l)
{
	size_t slot = queue_reserve(l);
	size_t offset = (size_t)(shared_pool(l) - l->shared) + slot * l->slot_stride;
	message_fill(l->shared + offset, l->params.message_bytes, l->next_seq);
	queue_post(l, slot, offset);
	return CHANNEL_OK;
}

static int handover_receive(struct channel_link *l)
{
	struct descriptor d;
	int rc = queue_take(l, &d);
	if (rc != CHANNEL_OK)
		return rc;
	if (d.where + l->params.message_bytes > l->shared_bytes) {
		set_error(l->reason, "message %" PRIu64 " handed over at offset %" PRIu64
			  ", outside the shared pool", d.seq, d.where);
		return CHANNEL_WRONG_DATA;
	}
	/* Consumed in place: the slot stays ours until the check is done. */
	rc = verify(l, l->shared + d.where);
	queue_release(l, d.seq);
	return rc;
}

const struct channel channel_handover = {
	.name = "handover",
	.summary = "the sender produces the message in shared memory and hands over its offset (no copy)",
	.copies = 0,
	.wait = "spins on a descriptor queue in shared memory",
	.setup = handover_setup,
	.attach = handover_attach,
	.send = handover_send,
	.receive = handover_receive,
	.teardown = common_teardown,
};

/* ---- the table ------------------------------------------------------------- */

#define CHANNEL_ENTRY(name) &channel_##name,
const struct channel *const channel_registry[] = { COHMAP_CHANNELS(CHANNEL_ENTRY) };
#undef CHANNEL_ENTRY
const int channel_count = sizeof channel_registry / sizeof channel_registry[0];

const struct channel *channel_find(const char *name)
{
	for (int i = 0; i < channel_count; i++)
		if (strcmp(channel_registry[i]->name, name) == 0)
			return channel_registry[i];
	return NULL;
}

void channel_link_init(struct channel_link *l, const struct channel *c,
		       const struct channel_params *params)
{
	*l = (struct channel_link){ .channel = c, .params = *params, .fd = { -1, -1 }, .next_seq = 1 };
}
