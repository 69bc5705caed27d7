/* The operation kernels of the contention ladder: what every thread does to
 * the one shared word, and the check of what they left there. */
#include <string.h>

#include "base/arch.h"
#include "base/common.h"
#include "kernels/contention.h"

const char *ct_kind_name(enum ct_kind kind)
{
	static const char *const names[] = { "atomic", "baseline", "split_lock", "lock" };
	return kind < CT_KIND_COUNT ? names[kind] : "?";
}

void ct_agent_init(struct ct_agent *a, const struct ct_op *op, _Atomic uint64_t *word,
		   uint32_t *split, int index, int threads)
{
	*a = (struct ct_agent){ .word = word, .split = split, .threads = threads,
				.tag = (uint64_t)(index + 1) << CT_TAG_SHIFT };
	if (op->straddles || op == &ct_op_aligned_lock_add) {
		uint32_t zero = 0;
		memcpy(split, &zero, sizeof zero);
	} else if (index == 0 || op->own_word) {
		atomic_store(word, op == &ct_op_load ? CT_INITIAL : 0);
	}
}

/* A value a store or an exchange may find: the initial one, or one that a
 * thread of this run wrote (its tag names one of the n threads). */
static bool plausible(uint64_t v, int n)
{
	uint64_t tag = v >> CT_TAG_SHIFT;
	return v == 0 || (tag >= 1 && tag <= (uint64_t)n);
}

/* The word holds the last value some thread wrote. */
static int last_writer_check(uint64_t word, const struct ct_agent *const *agents, int n)
{
	if (word == 0)
		return KERNEL_OK; /* nobody wrote (a run too short for one chunk) */
	uint64_t tag = word >> CT_TAG_SHIFT;
	if (tag < 1 || tag > (uint64_t)n)
		return KERNEL_WRONG_DATA;
	return agents[tag - 1]->last == word ? KERNEL_OK : KERNEL_WRONG_DATA;
}

static uint64_t sum_ops(const struct ct_agent *const *agents, int n)
{
	uint64_t sum = 0;
	for (int i = 0; i < n; i++)
		sum += agents[i]->ops;
	return sum;
}

/* ---- load: every thread reads; the line stays Shared in every cache ---- */

static int load_run(struct ct_agent *a, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		if (atomic_load_explicit(a->word, memory_order_relaxed) != CT_INITIAL)
			return KERNEL_WRONG_DATA;
	a->ops += n;
	return KERNEL_OK;
}

static int load_check(uint64_t word, const struct ct_agent *const *agents, int n)
{
	(void)agents, (void)n;
	return word == CT_INITIAL ? KERNEL_OK : KERNEL_WRONG_DATA;
}

const struct ct_op ct_op_load = {
	.name = "load",
	.base = "load",
	.summary = "every thread loads the shared word",
	.kind = CT_ATOMIC,
	.lines_per_op = 0,
	.model = "the line stays Shared in every cache: after the first miss, no traffic",
	.run = load_run,
	.check = load_check,
};

/* ---- store: every thread writes its tag and count ---- */

static int store_run(struct ct_agent *a, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		a->last = a->tag | ((a->ops + i + 1) & CT_COUNT_MASK);
		atomic_store_explicit(a->word, a->last, memory_order_relaxed);
	}
	a->ops += n;
	return KERNEL_OK;
}

const struct ct_op ct_op_store = {
	.name = "store",
	.base = "store",
	.summary = "every thread stores to the shared word",
	.kind = CT_ATOMIC,
	.lines_per_op = 1,
	.model = "each store needs the line Modified here: a read-for-ownership that invalidates the "
		 "others, partly hidden by the store buffer",
	.run = store_run,
	.check = last_writer_check,
};

/* ---- the read-modify-writes, in every atomic form (base/arch.h) ----
 * The form is a constant argument of inlined functions: each op's loop is
 * compiled with its own instructions. The atomics order as acquire and
 * release; the x86 instructions are the same locked ones either way. */

/* fetch_add: one atomic read-modify-write per operation */
static inline int fetch_add_in(struct ct_agent *a, uint64_t n, enum arch_atomic_form form)
{
	for (uint64_t i = 0; i < n; i++) {
		uint64_t got = arch_fetch_add(form, a->word, 1);
		/* the word only grows: a value below the last one seen was lost */
		if (got < a->seen && a->ops + i > 0)
			return KERNEL_WRONG_DATA;
		a->seen = got;
	}
	a->ops += n;
	return KERNEL_OK;
}

static int fetch_add_check(uint64_t word, const struct ct_agent *const *agents, int n)
{
	return word == sum_ops(agents, n) ? KERNEL_OK : KERNEL_WRONG_DATA;
}

/* cas_loop: load, then compare-and-swap value+1 until it succeeds */
static inline int cas_loop_in(struct ct_agent *a, uint64_t n, enum arch_atomic_form form)
{
	for (uint64_t i = 0; i < n; i++) {
		uint64_t v = atomic_load_explicit(a->word, memory_order_relaxed), seen;
		while ((seen = arch_cas(form, a->word, v, v + 1)) != v) {
			v = seen;
			a->retries++;
		}
	}
	a->ops += n;
	return KERNEL_OK;
}

/* exchange: swap in its own value, check the one it got back */
static inline int exchange_in(struct ct_agent *a, uint64_t n, enum arch_atomic_form form)
{
	for (uint64_t i = 0; i < n; i++) {
		a->last = a->tag | ((a->ops + i + 1) & CT_COUNT_MASK);
		uint64_t got = arch_exchange(form, a->word, a->last);
		if (!plausible(got, a->threads))
			return KERNEL_WRONG_DATA;
	}
	a->ops += n;
	return KERNEL_OK;
}

/* fetch_add_padded: the baseline, every thread on its own lines */
static int padded_check(uint64_t word, const struct ct_agent *const *agents, int n)
{
	return n == 1 && word == agents[0]->ops ? KERNEL_OK : KERNEL_WRONG_DATA;
}

/* The four ops of one form: ct_op_fetch_add<suffix> and the others, named
 * "fetch_add<suffix>"; the *_how strings end the summaries. */
#define CT_ATOMIC_OPS(suffix, form, cas_how, faa_how, xchg_how)                                   \
	static bool ct_available##suffix(char *why, size_t size)                                   \
	{                                                                                          \
		return arch_atomic_available(form, why, size);                                     \
	}                                                                                          \
	static int fetch_add_run##suffix(struct ct_agent *a, uint64_t n) { return fetch_add_in(a, n, form); } \
	static int cas_loop_run##suffix(struct ct_agent *a, uint64_t n) { return cas_loop_in(a, n, form); } \
	static int exchange_run##suffix(struct ct_agent *a, uint64_t n) { return exchange_in(a, n, form); } \
	const struct ct_op ct_op_fetch_add##suffix = {                                             \
		.name = "fetch_add" #suffix,                                                       \
		.base = "fetch_add",                                                               \
		.summary = "every thread does an atomic fetch-and-add (lock xadd on x86-64) on "   \
			   "the shared word" faa_how,                                              \
		.kind = CT_ATOMIC,                                                                 \
		.lines_per_op = 1,                                                                 \
		.model = "each add takes the line Modified and holds it for the locked operation: one " \
			 "transfer per add, the adds serialized",                                  \
		.run = fetch_add_run##suffix,                                                      \
		.check = fetch_add_check,                                                          \
		.available = ct_available##suffix,                                                 \
	};                                                                                         \
	const struct ct_op ct_op_cas_loop##suffix = {                                              \
		.name = "cas_loop" #suffix,                                                        \
		.base = "cas_loop",                                                                \
		.summary = "every thread increments the shared word with a compare-and-swap loop " \
			   "(successes and failures counted)" cas_how,                             \
		.kind = CT_ATOMIC,                                                                 \
		.lines_per_op = 1,                                                                 \
		.model = "a load brings the line Shared, the CAS upgrades it: two transfers when another " \
			 "thread steals it between them, and the CAS fails and retries",           \
		.run = cas_loop_run##suffix,                                                       \
		.check = fetch_add_check,                                                          \
		.counts_retries = true,                                                            \
		.available = ct_available##suffix,                                                 \
	};                                                                                         \
	const struct ct_op ct_op_exchange##suffix = {                                              \
		.name = "exchange" #suffix,                                                        \
		.base = "exchange",                                                                \
		.summary = "every thread swaps its own value into the shared word (xchg on "       \
			   "x86-64)" xchg_how,                                                     \
		.kind = CT_ATOMIC,                                                                 \
		.lines_per_op = 1,                                                                 \
		.model = "like fetch_add, one Modified transfer per exchange; it cannot fail",     \
		.run = exchange_run##suffix,                                                       \
		.check = last_writer_check,                                                        \
		.available = ct_available##suffix,                                                 \
	};                                                                                         \
	const struct ct_op ct_op_fetch_add_padded##suffix = {                                      \
		.name = "fetch_add_padded" #suffix,                                                \
		.base = "fetch_add_padded",                                                        \
		.summary = "the same fetch-and-add, every thread on its own word two lines from "  \
			   "the next (no sharing: the baseline)" faa_how,                          \
		.kind = CT_BASELINE,                                                               \
		.own_word = true,                                                                  \
		.lines_per_op = 0,                                                                 \
		.model = "each line stays Modified in its own core's cache: no coherence traffic, the rate " \
			 "grows with the threads",                                                 \
		.run = fetch_add_run##suffix,                                                      \
		.check = padded_check,                                                             \
		.available = ct_available##suffix,                                                 \
	};

ARCH_ATOMIC_FORMS(CT_ATOMIC_OPS)

/* ---- split locks: a locked add on a 32-bit word ---- */

/* The word may cross a line boundary on purpose, so the compiler's atomics
 * (which assume alignment) are not used: arch_locked_add32 (`lock addl`)
 * says exactly what the CPU gets. Across two lines it cannot lock one line;
 * it locks the bus (or the equivalent), and a kernel with split lock
 * detection may trap it. Off x86 the engine never runs it (ARCH_SPLIT_LOCK). */
static int locked_add_run(struct ct_agent *a, uint64_t n)
{
	if (!ARCH_SPLIT_LOCK)
		return KERNEL_WRONG_DATA;
	for (uint64_t i = 0; i < n; i++)
		arch_locked_add32(a->split);
	a->ops += n;
	return KERNEL_OK;
}

static int locked_add_check(uint64_t word, const struct ct_agent *const *agents, int n)
{
	/* word holds the 32-bit value, read with memcpy by the engine */
	return (uint32_t)word == (uint32_t)sum_ops(agents, n) ? KERNEL_OK : KERNEL_WRONG_DATA;
}

const struct ct_op ct_op_split_lock_add = {
	.name = "split_lock_add",
	.base = "split_lock_add",
	.summary = "lock add on a 32-bit word that straddles two cache lines (a split lock)",
	.kind = CT_SPLIT_LOCK,
	.straddles = true,
	.lines_per_op = 2,
	.model = "no single line can be locked: the core locks the bus (or the kernel traps it), "
		 "stalling every core, not only the ones sharing the word",
	.run = locked_add_run,
	.check = locked_add_check,
};

const struct ct_op ct_op_aligned_lock_add = {
	.name = "aligned_lock_add",
	.base = "aligned_lock_add",
	.summary = "the same lock add on an aligned 32-bit word (the split lock's reference)",
	.kind = CT_SPLIT_LOCK,
	.lines_per_op = 1,
	.model = "an ordinary locked add: the line is locked in this core's cache",
	.run = locked_add_run,
	.check = locked_add_check,
};

#define CT_OP_ENTRY(name) &ct_op_##name,
const struct ct_op *const ct_op_registry[] = { CONTENTION_OPS(CT_OP_ENTRY) };
#undef CT_OP_ENTRY
const int ct_op_count = (int)ARRAY_SIZE(ct_op_registry);
