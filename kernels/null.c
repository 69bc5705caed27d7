/* The null kernel: no handoff at all. It measures the harness alone (timer,
 * batching, agent control), and lets tests exercise the harness without
 * depending on what two CPUs do. */
#include "kernels/kernel.h"

static int null_agent(struct kernel_ctx *ctx, uint64_t round_trips)
{
	ctx->round += round_trips;
	return KERNEL_OK;
}

const struct kernel kernel_null = {
	.name = "null",
	.family = "harness",
	.summary = "does nothing; measures the harness's own overhead",
	.shared_lines = 1,
	.cost = { .handoffs = 0, .fills_per_handoff = 0, .model = "no coherence traffic" },
	.initiator = null_agent,
	.responder = null_agent,
};
