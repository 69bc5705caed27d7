/* The false-sharing update loops. Every access is a C11 atomic with relaxed
 * order: atomic so the compiler emits one real load or store per operation
 * (a plain `counter++` would be kept in a register and never touch the line),
 * relaxed because no thread publishes anything through its counter: the
 * coherence traffic is the cost under study, not fences. */
#include "kernels/falseshare.h"

#include <string.h>

const char *fs_role_name(enum fs_role role)
{
	static const char *const names[] = { "updater", "writer", "reader" };
	return role < FS_ROLE_COUNT ? names[role] : "?";
}

void fs_agent_init(struct fs_agent *a, fs_counter *counter, bool true_sharing,
		   enum fs_role role, uint32_t reader_value)
{
	*a = (struct fs_agent){ .counter = counter, .true_sharing = true_sharing, .role = role };
	if (role == FS_READER && !true_sharing) {
		a->expected = reader_value;
		atomic_store_explicit(counter, reader_value, memory_order_relaxed);
	} else if (!true_sharing || role == FS_WRITER) {
		atomic_store_explicit(counter, 0, memory_order_relaxed);
	}
}

/* store: the thread keeps its count privately and stores each new value.
 * A store needs the line in Modified state, so a neighbour's store on the same
 * line (which took it away) makes the next one a miss: an ownership request
 * answered from the other core. */
static int store_run(struct fs_agent *a, uint64_t n)
{
	fs_counter *counter = a->counter; /* in a register: a->counter could alias it */
	uint32_t v = a->count;
	for (uint64_t i = 0; i < n; i++)
		atomic_store_explicit(counter, ++v, memory_order_relaxed);
	a->count = v;
	a->ops += n;
	/* Checked once per call, not per store: a neighbour's store that
	 * overlapped ours would leave its value here. */
	if (!a->true_sharing && atomic_load_explicit(a->counter, memory_order_relaxed) != v)
		return KERNEL_WRONG_DATA;
	return KERNEL_OK;
}

static int own_count_check(const struct fs_agent *a)
{
	uint32_t word = atomic_load_explicit(a->counter, memory_order_relaxed);
	return word == a->count && a->count == (uint32_t)a->ops ? KERNEL_OK : KERNEL_WRONG_DATA;
}

/* With true sharing the word ends as some thread's last store: stores of one
 * thread to one location are ordered, so whoever stored last stored its final
 * count. */
static int store_shared_check(uint32_t word, const struct fs_agent *const *agents, int n)
{
	for (int i = 0; i < n; i++)
		if (agents[i]->count != (uint32_t)agents[i]->ops)
			return KERNEL_WRONG_DATA;
	for (int i = 0; i < n; i++)
		if (word == agents[i]->count)
			return KERNEL_OK;
	return KERNEL_WRONG_DATA;
}

const struct fs_kind fs_kind_store = {
	.name = "store",
	.summary = "each thread stores a private increment (relaxed atomic store) into its counter",
	.model = "each store needs the line Modified: after a neighbour's store it is an "
		 "ownership request that takes the line from the neighbour's cache",
	.run = { [FS_UPDATER] = store_run },
	.check_own = own_count_check,
	.check_shared = store_shared_check,
};

/* fetch_add: a locked read-modify-write. Its returned value is checked on
 * every update: alone on its counter, a thread must see exactly its own
 * count; sharing one word, it must see the word only grow. */
static int fetch_add_run(struct fs_agent *a, uint64_t n)
{
	fs_counter *counter = a->counter;
	uint32_t v = a->count, last = a->last_seen;
	bool true_sharing = a->true_sharing;
	uint64_t done = a->ops;
	for (uint64_t i = 0; i < n; i++) {
		uint32_t seen = atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
		if (true_sharing) {
			/* wrap-safe "seen >= last" (other threads add at most 2^31
			 * between two of our adds) */
			if (done + i > 0 && (uint32_t)(seen - last) >= 0x80000000u)
				return KERNEL_WRONG_DATA;
			last = seen;
		} else if (seen != v) {
			return KERNEL_WRONG_DATA;
		}
		v++;
	}
	a->count = v;
	a->last_seen = last;
	a->ops += n;
	return KERNEL_OK;
}

/* With true sharing the word holds every thread's adds, no more, no fewer. */
static int fetch_add_shared_check(uint32_t word, const struct fs_agent *const *agents, int n)
{
	uint32_t sum = 0;
	for (int i = 0; i < n; i++)
		sum += (uint32_t)agents[i]->ops;
	return word == sum ? KERNEL_OK : KERNEL_WRONG_DATA;
}

const struct fs_kind fs_kind_fetch_add = {
	.name = "fetch_add",
	.summary = "each thread adds 1 to its counter with an atomic fetch-and-add",
	.model = "each locked add needs the line Modified: as store, but the core also waits "
		 "for the line before the add can complete",
	.run = { [FS_UPDATER] = fetch_add_run },
	.check_own = own_count_check,
	.check_shared = fetch_add_shared_check,
};

/* writer_readers: thread 0 stores its count (as store), the others only load.
 * A reader of its own counter must always read the value the harness put
 * there; a reader of the writer's word (true sharing) must see it only grow,
 * and never past what the writer wrote. */
static int reader_run(struct fs_agent *a, uint64_t n)
{
	fs_counter *counter = a->counter;
	uint32_t last = a->last_seen, expected = a->expected;
	bool true_sharing = a->true_sharing;
	for (uint64_t i = 0; i < n; i++) {
		uint32_t seen = atomic_load_explicit(counter, memory_order_relaxed);
		if (!true_sharing) {
			if (seen != expected)
				return KERNEL_WRONG_DATA;
		} else {
			if ((uint32_t)(seen - last) >= 0x80000000u)
				return KERNEL_WRONG_DATA;
			last = seen;
		}
	}
	a->last_seen = last;
	a->ops += n;
	return KERNEL_OK;
}

static int writer_readers_own_check(const struct fs_agent *a)
{
	if (a->role == FS_READER)
		return atomic_load_explicit(a->counter, memory_order_relaxed) == a->expected
			       ? KERNEL_OK : KERNEL_WRONG_DATA;
	return own_count_check(a);
}

static int writer_readers_shared_check(uint32_t word, const struct fs_agent *const *agents, int n)
{
	const struct fs_agent *writer = agents[0];
	if (writer->role != FS_WRITER || word != writer->count || word != (uint32_t)writer->ops)
		return KERNEL_WRONG_DATA;
	for (int i = 1; i < n; i++)
		if ((uint32_t)(word - agents[i]->last_seen) >= 0x80000000u)
			return KERNEL_WRONG_DATA;
	return KERNEL_OK;
}

const struct fs_kind fs_kind_writer_readers = {
	.name = "writer_readers",
	.summary = "thread 0 stores a private increment into its counter; the others load theirs",
	.one_writer = true,
	.model = "each store invalidates the readers' Shared copies of the line; each reader's "
		 "next load misses and fetches the line back from the writer",
	.run = { [FS_WRITER] = store_run, [FS_READER] = reader_run },
	.check_own = writer_readers_own_check,
	.check_shared = writer_readers_shared_check,
};

#define FS_KIND_ENTRY(name) &fs_kind_##name,
const struct fs_kind *const fs_kind_registry[] = { FALSESHARE_KINDS(FS_KIND_ENTRY) };
#undef FS_KIND_ENTRY
const int fs_kind_count = sizeof fs_kind_registry / sizeof fs_kind_registry[0];

/* ---- the fix demo's workload ---- */

static void worker_init(struct worker_stats *s, struct tally_state *st, uint64_t seed)
{
	atomic_store_explicit(&s->items, 0, memory_order_relaxed);
	atomic_store_explicit(&s->total, 0, memory_order_relaxed);
	*st = (struct tally_state){ .rng = seed | 1 };
}

/* The worker's "work" is a cheap xorshift draw, so the time goes where the
 * demo wants it: into publishing progress through the shared struct, with a
 * load and a store per field as `stats->items++` compiles to when the struct
 * lives in memory other threads can see. */
static void worker_tally(struct worker_stats *s, struct tally_state *st, uint64_t n)
{
	uint64_t x = st->rng, items = st->items, total = st->total;
	for (uint64_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		uint64_t value = x & 0xffff;
		atomic_store_explicit(&s->items,
				      atomic_load_explicit(&s->items, memory_order_relaxed) + 1,
				      memory_order_relaxed);
		atomic_store_explicit(&s->total,
				      atomic_load_explicit(&s->total, memory_order_relaxed) + value,
				      memory_order_relaxed);
		items++;
		total += value;
	}
	*st = (struct tally_state){ .rng = x, .items = items, .total = total };
}

static int worker_check(const struct worker_stats *s, const struct tally_state *st)
{
	return atomic_load_explicit(&s->items, memory_order_relaxed) == st->items &&
			       atomic_load_explicit(&s->total, memory_order_relaxed) == st->total
		       ? KERNEL_OK : KERNEL_WRONG_DATA;
}

const struct fs_workload fs_workload_worker_stats = {
	.name = "worker_stats",
	.summary = "each worker tallies items into its own struct worker_stats { items, total }",
	.struct_bytes = sizeof(struct worker_stats),
	.init = worker_init,
	.tally = worker_tally,
	.check = worker_check,
};
