/* Channels: ways of moving a message from one process to another, each a
 * const descriptor (setup / attach / send / receive / teardown) in one table.
 *
 * Every channel moves the same messages and does the same work at both ends,
 * so that they differ only in how the bytes travel: the sender produces the
 * message (writes every byte of it, as a real producer would) and the
 * receiver consumes it (reads every byte to verify it). A channel that copies
 * adds its copies in between; the pointer handover adds none, and is the
 * floor the others are measured against.
 *
 * A message of n bytes is n/8 words: word 0 the sequence number, then a
 * pattern derived from it, then a checksum of everything before it. The
 * receiver checks both, so a stale, torn or misplaced message is caught;
 * wrong data is a bug in cohmap, never a result. */
#ifndef COHMAP_CHANNELS_H
#define COHMAP_CHANNELS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/common.h"

/* Smallest message: the sequence number and the checksum. */
#define MESSAGE_MIN_BYTES (2 * sizeof(uint64_t))

/* Writes message `seq` of `bytes` bytes (a multiple of 8, at least
 * MESSAGE_MIN_BYTES) into buf. */
void message_fill(void *buf, size_t bytes, uint64_t seq);
/* 0 when buf holds message `seq`; -1 with what is wrong in why (ERRLEN). */
int message_check(const void *buf, size_t bytes, uint64_t seq, char *why);

enum channel_side { CHANNEL_SENDER, CHANNEL_RECEIVER };

enum channel_status {
	CHANNEL_OK = 0,
	CHANNEL_FAILED = -1,     /* a system call failed: reason says which */
	CHANNEL_WRONG_DATA = -2, /* the receiver's check failed: a bug */
};

struct channel_params {
	size_t message_bytes;
	size_t window_bytes;  /* most bytes in flight: ring size, pipe and socket buffer */
	size_t page_bytes;
	size_t line_bytes;
	bool yield;           /* both ends share a CPU: a waiting end must give it up */
};

/* One direction of one channel. setup fills the shared part in the parent;
 * after fork each process holds its own copy of the struct, and attach
 * fills the private part for its side. */
struct channel_link {
	const struct channel *channel;
	struct channel_params params;
	/* shared: created by setup, inherited by both processes */
	unsigned char *shared;
	size_t shared_bytes;
	int fd[2];
	size_t slots;            /* messages in flight at most (pools, queues) */
	size_t slot_stride;      /* bytes from one pool slot to the next */
	size_t capacity_bytes;   /* what the kernel granted (pipe, socket buffer) */
	/* private: set by attach in the process that owns this side */
	enum channel_side side;
	pid_t peer;              /* the other process */
	unsigned char *buffer;   /* the sender's message pool, or the receiver's destination */
	size_t buffer_bytes;
	uint64_t next_seq;       /* the message this side sends or expects next */
	uint64_t ring_position;  /* bytes this side has moved through the ring */
	uint64_t peer_position;  /* the other side's position, as last read */
	_Atomic uint64_t *heartbeat; /* bumped once per message */
	char reason[ERRLEN];     /* why send or receive failed */
};

struct channel {
	const char *name;
	const char *summary;
	int copies;              /* payload copies per message between producing and consuming */
	const char *wait;        /* how the receiver learns a message is there */
	/* In the parent, before the processes start: what both will share. */
	int (*setup)(struct channel_link *l, char *err);
	/* In each process, with l->side and l->peer set: close the other end,
	 * allocate and first-touch private buffers. */
	int (*attach)(struct channel_link *l, char *err);
	/* Produce message l->next_seq and send it / receive and verify it.
	 * Return a channel_status; on failure l->reason says why. */
	int (*send)(struct channel_link *l);
	int (*receive)(struct channel_link *l);
	/* In the parent, after both processes are gone. */
	void (*teardown)(struct channel_link *l);
};

#define COHMAP_CHANNELS(X) \
	X(ring)            \
	X(pipe)            \
	X(vmsplice)        \
	X(socket)          \
	X(process_vm_readv) \
	X(handover)

#define DECLARE_CHANNEL(name) extern const struct channel channel_##name;
COHMAP_CHANNELS(DECLARE_CHANNEL)
#undef DECLARE_CHANNEL

extern const struct channel *const channel_registry[];
extern const int channel_count;
const struct channel *channel_find(const char *name);

/* Prepares l for c with params (no resources yet). */
void channel_link_init(struct channel_link *l, const struct channel *c,
		       const struct channel_params *params);

#endif
