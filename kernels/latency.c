/* Core-to-core handoff kernels: a cache line handed back and forth between two
 * agents. One round trip is two handoffs (A to B, B to A); the harness reports
 * one-way latency as round trip / 2.
 *
 * Every flag sits alone in its slot (two cache lines, see harness/agents.c),
 * and all ordering is explicit C11 acquire/release: the release store (or RMW)
 * publishes the handoff, the acquire load that sees it completes it. */
#include "kernels/kernel.h"

/* load_store: the ring-buffer pattern. A stores ping, waits for B's pong on a
 * separate line; B waits for ping, stores pong. Each agent writes only its own
 * flag, so waiting is pure loads. */
enum { PING, PONG };

static int load_store_initiator(struct kernel_ctx *ctx, uint64_t round_trips)
{
	_Atomic uint64_t *ping = kernel_slot(ctx, PING), *pong = kernel_slot(ctx, PONG);
	for (uint64_t i = 0; i < round_trips; i++) {
		uint64_t seq = ++ctx->round;
		atomic_store_explicit(ping, seq, memory_order_release);
		if (wait_until_equal(ctx, pong, seq))
			return KERNEL_TIMEOUT;
	}
	return KERNEL_OK;
}

static int load_store_responder(struct kernel_ctx *ctx, uint64_t round_trips)
{
	_Atomic uint64_t *ping = kernel_slot(ctx, PING), *pong = kernel_slot(ctx, PONG);
	for (uint64_t i = 0; i < round_trips; i++) {
		uint64_t seq = ++ctx->round;
		if (wait_until_equal(ctx, ping, seq))
			return KERNEL_TIMEOUT;
		atomic_store_explicit(pong, seq, memory_order_release);
	}
	return KERNEL_OK;
}

const struct kernel kernel_load_store = {
	.name = "load_store",
	.family = "latency",
	.summary = "A stores a flag, B sees it and stores its own flag on another line (ring-buffer handoff)",
	.shared_lines = 2,
	.cost = { .handoffs = 2, .fills_per_handoff = 1,
		  .model = "the receiver loads the flag from the sender's Modified line; "
			   "the sender's next store invalidates the receiver's Shared copy" },
	.initiator = load_store_initiator,
	.responder = load_store_responder,
};

/* The single-line kernels below count turns on one word: A may act when it is
 * even (2r before round r+1), B when it is odd. */
enum { TURN };

/* The atomic kernels come in every form of atomics the architecture has
 * (base/arch.h): on aarch64 the LSE instructions and the LL/SC loop, whose
 * handoffs differ (an LSE atomic can be done where the line is, an LL/SC loop
 * must hold the line from its load to its store), on x86-64 one. The form is
 * a constant argument of inlined functions, so each kernel's loop is compiled
 * with its own instructions and no branch on the form. */

/* cas_bounce: the naive spinlock. The waiter does not read first: it keeps
 * trying compare-and-swap, so each failed attempt also requests the line for
 * ownership and competes with the holder. */
static inline int cas_handoff(struct kernel_ctx *ctx, uint64_t round_trips, uint64_t parity,
			      enum arch_atomic_form form)
{
	_Atomic uint64_t *turn = kernel_slot(ctx, TURN);
	for (uint64_t i = 0; i < round_trips; i++) {
		uint64_t mine = 2 * ctx->round++ + parity;
		unsigned spins = 0;
		while (arch_cas(form, turn, mine, mine + 1) != mine)
			if (spin_gives_up(ctx, &spins))
				return KERNEL_TIMEOUT;
	}
	return KERNEL_OK;
}

/* faa_bounce and xchg_bounce wait with loads, then take the turn with one
 * atomic read-modify-write whose returned value the kernel checks: a wrong
 * value means the handoff protocol is broken, never a result. */
static inline int rmw_handoff(struct kernel_ctx *ctx, uint64_t round_trips, uint64_t parity,
			      bool use_xchg, enum arch_atomic_form form)
{
	_Atomic uint64_t *turn = kernel_slot(ctx, TURN);
	for (uint64_t i = 0; i < round_trips; i++) {
		uint64_t mine = 2 * ctx->round++ + parity, seen;
		if (wait_until_equal(ctx, turn, mine))
			return KERNEL_TIMEOUT;
		if (use_xchg)
			seen = arch_exchange(form, turn, mine + 1);
		else
			seen = arch_fetch_add(form, turn, 1);
		if (seen != mine)
			return KERNEL_WRONG_DATA;
	}
	return KERNEL_OK;
}

/* One set of three kernels per form: kernel_cas_bounce<suffix> and the
 * others, named "cas_bounce<suffix>"; the *_how strings end the summaries, so
 * `cohmap list` says which instructions each one runs. */
#define ATOMIC_KERNELS(suffix, form, cas_how, faa_how, xchg_how)                                                          \
	static bool available##suffix(char *why, size_t size)                                     \
	{                                                                                          \
		return arch_atomic_available(form, why, size);                                     \
	}                                                                                          \
	static int cas_initiator##suffix(struct kernel_ctx *c, uint64_t n) { return cas_handoff(c, n, 0, form); } \
	static int cas_responder##suffix(struct kernel_ctx *c, uint64_t n) { return cas_handoff(c, n, 1, form); } \
	static int faa_initiator##suffix(struct kernel_ctx *c, uint64_t n) { return rmw_handoff(c, n, 0, false, form); } \
	static int faa_responder##suffix(struct kernel_ctx *c, uint64_t n) { return rmw_handoff(c, n, 1, false, form); } \
	static int xchg_initiator##suffix(struct kernel_ctx *c, uint64_t n) { return rmw_handoff(c, n, 0, true, form); } \
	static int xchg_responder##suffix(struct kernel_ctx *c, uint64_t n) { return rmw_handoff(c, n, 1, true, form); } \
	const struct kernel kernel_cas_bounce##suffix = {                                          \
		.name = "cas_bounce" #suffix,                                                      \
		.family = "latency",                                                               \
		.summary = "one line; each agent spins on compare-and-swap until it is its turn "  \
			   "(spinlock handoff)" cas_how,                                 \
		.shared_lines = 1,                                                                 \
		.cost = { .handoffs = 2, .fills_per_handoff = 1,                                   \
			  .model = "at least one ownership transfer per handoff; failed CAS attempts " \
				   "pull the line away from the holder and add more" },            \
		.initiator = cas_initiator##suffix,                                                \
		.responder = cas_responder##suffix,                                                \
		.available = available##suffix,                                                    \
	};                                                                                         \
	const struct kernel kernel_faa_bounce##suffix = {                                          \
		.name = "faa_bounce" #suffix,                                                      \
		.family = "latency",                                                               \
		.summary = "one line; each agent waits for its turn, then takes it with "          \
			   "fetch-and-add" faa_how,                                      \
		.shared_lines = 1,                                                                 \
		.cost = { .handoffs = 2, .fills_per_handoff = 1,                                   \
			  .model = "the waiter reads the line Shared from the sender, then upgrades it to " \
				   "Modified for the atomic add" },                                \
		.initiator = faa_initiator##suffix,                                                \
		.responder = faa_responder##suffix,                                                \
		.available = available##suffix,                                                    \
	};                                                                                         \
	const struct kernel kernel_xchg_bounce##suffix = {                                         \
		.name = "xchg_bounce" #suffix,                                                     \
		.family = "latency",                                                               \
		.summary = "one line; each agent waits for its turn, then takes it with an "       \
			   "atomic exchange" xchg_how,                                    \
		.shared_lines = 1,                                                                 \
		.cost = { .handoffs = 2, .fills_per_handoff = 1,                                   \
			  .model = "as faa_bounce, with an exchange instead of an add" },          \
		.initiator = xchg_initiator##suffix,                                               \
		.responder = xchg_responder##suffix,                                               \
		.available = available##suffix,                                                    \
	};

ARCH_ATOMIC_FORMS(ATOMIC_KERNELS)
