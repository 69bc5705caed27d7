/* Channels move messages between two real processes and the receiver checks
 * every one: each channel, at sizes below a page, across pages and above its
 * window, with a receiver slow enough that the window fills (which is where
 * vmsplice's page references would show a sender that rewrites too early).
 * Nothing here is timed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "harness/procs.h"
#include "kernels/channels.h"

/* ---- messages ---- */

static void a_message_checks_as_itself(void **state)
{
	(void)state;
	char why[ERRLEN];
	for (size_t bytes = MESSAGE_MIN_BYTES; bytes <= 4096; bytes += 8) {
		uint64_t *m = malloc(bytes);
		message_fill(m, bytes, 42);
		assert_int_equal(m[0], 42);
		assert_int_equal(message_check(m, bytes, 42, why), 0);
		free(m);
	}
}

static void wrong_messages_are_caught(void **state)
{
	(void)state;
	char why[ERRLEN];
	size_t bytes = 256;
	unsigned char *m = malloc(bytes), *other = malloc(bytes);
	message_fill(m, bytes, 7);
	/* another sequence number */
	assert_int_equal(message_check(m, bytes, 8, why), -1);
	assert_non_null(strstr(why, "expected message 8"));
	/* one flipped bit anywhere */
	for (size_t i = 0; i < bytes; i++) {
		m[i] ^= 0x10;
		assert_int_equal(message_check(m, bytes, 7, why), -1);
		m[i] ^= 0x10;
	}
	/* a stale payload under a fresh header and checksum */
	message_fill(other, bytes, 6);
	memcpy(m + 8, other + 8, bytes - 16);
	assert_int_equal(message_check(m, bytes, 7, why), -1);
	assert_non_null(strstr(why, "checksum"));
	/* two words swapped */
	message_fill(m, bytes, 7);
	uint64_t *w = (uint64_t *)m, t = w[3];
	w[3] = w[4];
	w[4] = t;
	assert_int_equal(message_check(m, bytes, 7, why), -1);
	free(m);
	free(other);
}

/* ---- real transfers between two processes ---- */

/* What the two processes report to the test, in shared memory. The link
 * itself must not be shared: each side keeps its own positions in its own
 * copy, made by fork (as in the experiment). */
static struct channel_link the_link;

struct transfer {
	long messages;
	long slow_every;          /* the receiver naps after every n-th message */
	uint64_t first_seq;       /* the sender's first sequence number (the receiver expects 1) */
	int status[2];
	char reason[2][ERRLEN];
	pid_t pid[2];
	_Atomic int go;
	_Atomic int received;     /* process_vm_readv reads the sender's memory: it must stay */
};

static void wait_go(struct transfer *t)
{
	while (!atomic_load(&t->go))
		usleep(100);
}

static int sender(void *arg)
{
	struct transfer *t = arg;
	char err[ERRLEN];
	wait_go(t);
	the_link.side = CHANNEL_SENDER;
	the_link.peer = t->pid[1];
	if (the_link.channel->attach(&the_link, err) != 0) {
		snprintf(t->reason[0], ERRLEN, "%s", err);
		return 1;
	}
	the_link.next_seq = t->first_seq;
	for (long i = 0; i < t->messages; i++)
		if ((t->status[0] = the_link.channel->send(&the_link)) != CHANNEL_OK) {
			snprintf(t->reason[0], ERRLEN, "%s", the_link.reason);
			return 1;
		}
	while (!atomic_load(&t->received))
		usleep(100);
	return 0;
}

static int receiver(void *arg)
{
	struct transfer *t = arg;
	char err[ERRLEN];
	wait_go(t);
	the_link.side = CHANNEL_RECEIVER;
	the_link.peer = t->pid[0];
	if (the_link.channel->attach(&the_link, err) != 0) {
		snprintf(t->reason[1], ERRLEN, "%s", err);
		return 1;
	}
	for (long i = 0; i < t->messages; i++) {
		if (t->slow_every && i % t->slow_every == 0)
			usleep(200);
		if ((t->status[1] = the_link.channel->receive(&the_link)) != CHANNEL_OK) {
			snprintf(t->reason[1], ERRLEN, "%s", the_link.reason);
			return 1;
		}
	}
	atomic_store(&t->received, 1);
	return 0;
}

/* Moves `messages` messages of `bytes` through channel c; returns the
 * outcome and leaves the transfer record (shared memory) in *out. */
static enum procs_outcome transfer(const struct channel *c, size_t bytes, size_t window,
				   long messages, long slow_every, bool same_cpu, uint64_t first_seq,
				   struct transfer **out)
{
	struct transfer *t = mmap(NULL, sizeof *t, PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(t != MAP_FAILED);
	memset(t, 0, sizeof *t);
	long page = sysconf(_SC_PAGESIZE);
	long line = sysconf(_SC_LEVEL1_DCACHE_LINESIZE);
	struct channel_params params = { .message_bytes = bytes, .window_bytes = window,
					 .page_bytes = (size_t)page, .line_bytes = line > 0 ? (size_t)line : 64,
					 .yield = same_cpu };
	channel_link_init(&the_link, c, &params);
	char err[ERRLEN];
	assert_int_equal(c->setup(&the_link, err), 0);
	t->messages = messages;
	t->slow_every = slow_every;
	struct procs p;
	struct proc_spec spec[2] = { { .cpu = -1, .body = sender, .arg = t },
				     { .cpu = -1, .body = receiver, .arg = t } };
	if (same_cpu)
		spec[0].cpu = spec[1].cpu = 0;
	t->first_seq = first_seq;
	assert_int_equal(procs_start(&p, spec, 2, err), 0);
	t->pid[0] = p.pid[0];
	t->pid[1] = p.pid[1];
	atomic_store(&t->go, 1);
	enum procs_outcome o = procs_wait(&p, 20, err);
	c->teardown(&the_link);
	*out = t;
	return o;
}

/* A channel whose system call this kernel lacks (process_vm_readv under
 * QEMU's user mode: ENOSYS) has nothing to deliver with. */
static bool syscall_missing(const struct channel *c)
{
	if (strcmp(c->name, "process_vm_readv") != 0)
		return false;
	errno = 0;
	return process_vm_readv(getpid(), NULL, 0, NULL, 0, 0) < 0 && errno == ENOSYS;
}

static void every_channel_delivers_every_message(void **state)
{
	(void)state;
	long page = sysconf(_SC_PAGESIZE);
	size_t window = 16 * (size_t)page;
	size_t sizes[] = { 64, 4096 + 8, 3 * window + 64 };
	for (int i = 0; i < channel_count; i++)
		for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
			const struct channel *c = channel_registry[i];
			long messages = sizes[s] > window ? 24 : 600;
			if (syscall_missing(c))
				continue;
			struct transfer *t;
			enum procs_outcome o = transfer(c, sizes[s], window, messages, 37, false, 1, &t);
			if (o != PROCS_FINISHED)
				fail_msg("%s, %zu bytes: %s / %s", c->name, sizes[s], t->reason[0], t->reason[1]);
			munmap(t, sizeof *t);
		}
}

static void channels_work_on_one_cpu(void **state)
{
	(void)state;
	long page = sysconf(_SC_PAGESIZE);
	for (int i = 0; i < channel_count; i++) {
		struct transfer *t;
		if (syscall_missing(channel_registry[i]))
			continue;
		enum procs_outcome o = transfer(channel_registry[i], 512, 16 * (size_t)page, 200, 0,
						true, 1, &t);
		if (o != PROCS_FINISHED)
			fail_msg("%s on one CPU: %s / %s", channel_registry[i]->name, t->reason[0],
				 t->reason[1]);
		munmap(t, sizeof *t);
	}
}

/* A sender one message ahead: the receiver must refuse, never accept. */
static void a_wrong_sequence_number_is_wrong_data(void **state)
{
	(void)state;
	long page = sysconf(_SC_PAGESIZE);
	for (int i = 0; i < channel_count; i++) {
		struct transfer *t;
		enum procs_outcome o = transfer(channel_registry[i], 128, 16 * (size_t)page, 4, 0,
						false, 2, &t);
		assert_int_equal(o, PROCS_FAILED);
		assert_int_equal(t->status[1], CHANNEL_WRONG_DATA);
		assert_non_null(strstr(t->reason[1], "expected"));
		munmap(t, sizeof *t);
	}
}

static void channels_are_found_by_name(void **state)
{
	(void)state;
	assert_int_equal(channel_count, 6);
	for (int i = 0; i < channel_count; i++)
		assert_ptr_equal(channel_find(channel_registry[i]->name), channel_registry[i]);
	assert_null(channel_find("carrier-pigeon"));
	assert_int_equal(channel_find("handover")->copies, 0);
	assert_int_equal(channel_find("pipe")->copies, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_message_checks_as_itself),
		cmocka_unit_test(wrong_messages_are_caught),
		cmocka_unit_test(channels_are_found_by_name),
		cmocka_unit_test(every_channel_delivers_every_message),
		cmocka_unit_test(channels_work_on_one_cpu),
		cmocka_unit_test(a_wrong_sequence_number_is_wrong_data),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
