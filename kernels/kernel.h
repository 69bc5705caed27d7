/* A kernel is data: a const descriptor naming what agent A (the initiator,
 * whose batches are timed) and agent B (the responder) do with the shared
 * lines. The harness decides where the lines live (NUMA node, shared-memory
 * kind), on which CPUs the agents run and whether they are threads or
 * processes; a kernel never allocates, pins or times anything itself. */
#ifndef COHMAP_KERNEL_H
#define COHMAP_KERNEL_H

#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/arch.h"
#include "base/timing.h"

enum kernel_status {
	KERNEL_OK = 0,
	KERNEL_TIMEOUT = -1,    /* the other agent did not answer in time */
	KERNEL_WRONG_DATA = -2, /* the kernel's own check of the shared data failed */
};

/* One agent's view. Private to the agent; only *lines is shared. */
struct kernel_ctx {
	unsigned char *lines;  /* kernel_lines(k) slots of line_stride bytes */
	size_t line_stride;    /* two cache lines: see harness/agents.c */
	bool pause;            /* spin with the CPU's pause/yield hint */
	uint64_t round;        /* round trips this agent has done so far */
	/* watchdog: waiting gives up when the clock passes deadline or the
	 * harness raises *abort (a pair abandoned, Ctrl-C) */
	const struct clock_info *clock;
	uint64_t deadline;
	const atomic_int *abort;
};

/* What one round trip should cost in protocol terms, so counter readings can
 * be compared with the model (see `cohmap list`). */
struct kernel_cost {
	int handoffs;              /* one-way handoffs per round trip */
	double fills_per_handoff;  /* lines the receiver fills from the sender's cache */
	const char *model;         /* the protocol story in one sentence */
};

struct kernel {
	const char *name;
	const char *family;   /* "latency"; "harness" for the null kernel */
	const char *summary;
	int shared_lines;     /* slots of line_stride bytes the kernel uses */
	struct kernel_cost cost;
	/* Run `round_trips` round trips; the initiator's call is what is timed.
	 * Both agents are called with the same counts, batch after batch. */
	int (*initiator)(struct kernel_ctx *ctx, uint64_t round_trips);
	int (*responder)(struct kernel_ctx *ctx, uint64_t round_trips);
	/* NULL when every CPU of the architecture runs it; else whether this
	 * one does, and if not why (an LSE kernel on an ARMv8.0 CPU). */
	bool (*available)(char *why, size_t size);
};

/* Whether this CPU can run k; why says what it lacks. */
static inline bool kernel_available(const struct kernel *k, char *why, size_t size)
{
	return k->available == NULL || k->available(why, size);
}

static inline _Atomic uint64_t *kernel_slot(const struct kernel_ctx *ctx, int slot)
{
	return (_Atomic uint64_t *)(ctx->lines + (size_t)slot * ctx->line_stride);
}

/* The CPU's spin-wait hint (pause on x86-64, yield on aarch64). */
static inline void cpu_relax(void)
{
	arch_relax();
}

/* Checking the clock costs more than a spin iteration, so the watchdog is
 * consulted only every few thousand spins: a handoff that succeeds within
 * them never pays for it. */
#define SPINS_PER_WATCHDOG_CHECK 4096u

static inline bool watchdog_expired(const struct kernel_ctx *ctx)
{
	return atomic_load_explicit(ctx->abort, memory_order_relaxed) ||
	       clock_ticks(ctx->clock) > ctx->deadline;
}

/* Backing off from a partner that does not answer. A prompt handoff takes a
 * few hundred spins at most, so the timed batches never get here; a partner
 * that is not running does: its thread descheduled, or its vCPU not
 * scheduled by the host (an oversubscribed VM; QEMU TCG runs every vCPU as a
 * host thread). Spinning on then takes from the partner the very CPU it
 * needs, and a guest's own kernel threads starve (RCU stalls). So after
 * SPINS_BEFORE_PAUSE spins every spin pauses (which also lets a hypervisor's
 * pause-loop exiting run someone else), after SPINS_BEFORE_YIELD every spin
 * yields the CPU, after SPINS_BEFORE_SLEEP every spin sleeps: the waiter's
 * CPU goes idle (a vCPU halts) until the next look. Yields and sleeps each
 * count as a whole watchdog interval, so the watchdog is asked after every
 * one of them. 2^17 spins are 0.1-0.3 ms here: far beyond a handoff, and
 * beyond the longest wait of a stream ring at its default chunk (a quarter of
 * L1d), so measured waits are not slowed by the back-off. */
#define SPINS_BEFORE_PAUSE (1u << 17)
#define SPINS_BEFORE_YIELD (1u << 18)
#define SPINS_BEFORE_SLEEP (1u << 20)
#define BACKOFF_SLEEP_NS 50000L

static inline void spin_back_off(unsigned *spins)
{
	if (*spins >= SPINS_BEFORE_SLEEP) {
		struct timespec nap = { 0, BACKOFF_SLEEP_NS };
		nanosleep(&nap, NULL);
	} else {
		sched_yield();
	}
	/* The next increment lands on a watchdog check; stays far from wrapping. */
	*spins = (*spins < (1u << 30) ? *spins : (1u << 30)) + SPINS_PER_WATCHDOG_CHECK - 1;
}

/* One spin iteration's bookkeeping; returns true when the wait must end. */
static inline bool spin_gives_up(const struct kernel_ctx *ctx, unsigned *spins)
{
	if (__builtin_expect(*spins >= SPINS_BEFORE_PAUSE, 0)) {
		cpu_relax();
		if (*spins >= SPINS_BEFORE_YIELD)
			spin_back_off(spins);
	} else if (ctx->pause) {
		cpu_relax();
	}
	return ++*spins % SPINS_PER_WATCHDOG_CHECK == 0 && watchdog_expired(ctx);
}

/* Waits (loads only) until *flag holds want. */
static inline int wait_until_equal(const struct kernel_ctx *ctx, _Atomic uint64_t *flag,
				   uint64_t want)
{
	unsigned spins = 0;
	while (atomic_load_explicit(flag, memory_order_acquire) != want)
		if (spin_gives_up(ctx, &spins))
			return KERNEL_TIMEOUT;
	return KERNEL_OK;
}

#endif
