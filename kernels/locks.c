/* The lock kernels of the contention ladder: six ways to make threads take
 * turns, from a bare test-and-set to a queue lock, each around the same
 * critical section (kernels/contention.h). A spinning waiter looks at the
 * abort flag every few thousand spins, so a run whose lock holder vanished
 * (a watchdog, Ctrl-C) ends; a pthread lock blocks inside libc and only
 * needs its holder to finish a few instructions. */
#include <pthread.h>
#include <stddef.h>
#include <string.h>

#include "base/common.h"
#include "kernels/contention.h"

static bool give_up(const struct ct_waiter *w, unsigned *spins)
{
	return ++*spins % SPINS_PER_WATCHDOG_CHECK == 0 &&
	       atomic_load_explicit(w->abort, memory_order_relaxed);
}

int ct_lock_check(const struct ct_guarded *g, uint64_t acquisitions)
{
	return g->counter == acquisitions ? KERNEL_OK : KERNEL_WRONG_DATA;
}

static int no_init(void *lock)
{
	memset(lock, 0, sizeof(atomic_uint) * 2);
	return 0;
}

static void no_destroy(void *lock)
{
	(void)lock;
}

/* ---- tas: exchange until it returns 0 ---- */

static int tas_acquire(void *lock, struct ct_waiter *w)
{
	atomic_uint *l = lock;
	unsigned spins = 0;
	/* Every attempt is a locked write: the line moves on each try, even
	 * while the lock is held, which is what makes TAS scale so badly. */
	while (atomic_exchange_explicit(l, 1, memory_order_acquire))
		if (give_up(w, &spins))
			return KERNEL_TIMEOUT;
	return KERNEL_OK;
}

static void flag_release(void *lock, struct ct_waiter *w)
{
	(void)w;
	atomic_store_explicit((atomic_uint *)lock, 0, memory_order_release);
}

const struct ct_lock ct_lock_tas = {
	.name = "tas",
	.summary = "test-and-set spin lock: xchg until the old value is 0",
	.bytes = sizeof(atomic_uint),
	.lines_per_op = 3,
	.model = "every waiter's xchg steals the line, even from the holder: the release waits "
		 "behind them and the winner is whoever's xchg lands first",
	.init = no_init,
	.destroy = no_destroy,
	.acquire = tas_acquire,
	.release = flag_release,
};

/* ---- ttas_backoff: read until free, then xchg; back off after a loss ---- */

#define BACKOFF_MIN 4u
#define BACKOFF_MAX 1024u

static int ttas_acquire(void *lock, struct ct_waiter *w)
{
	atomic_uint *l = lock;
	unsigned spins = 0, backoff = BACKOFF_MIN;
	for (;;) {
		/* Waiting with loads keeps the line Shared: no traffic until
		 * the holder's release invalidates it. */
		while (atomic_load_explicit(l, memory_order_relaxed))
			if (cpu_relax(), give_up(w, &spins))
				return KERNEL_TIMEOUT;
		if (!atomic_exchange_explicit(l, 1, memory_order_acquire))
			return KERNEL_OK;
		/* Lost the race: wait longer each time, so the losers do not
		 * all pounce on the next release together. */
		for (unsigned i = 0; i < backoff; i++)
			cpu_relax();
		backoff = backoff < BACKOFF_MAX ? 2 * backoff : BACKOFF_MAX;
		if (give_up(w, &spins))
			return KERNEL_TIMEOUT;
	}
}

const struct ct_lock ct_lock_ttas_backoff = {
	.name = "ttas_backoff",
	.summary = "test-and-test-and-set with pause and exponential backoff",
	.bytes = sizeof(atomic_uint),
	.lines_per_op = 2,
	.model = "waiters read a Shared copy; a release invalidates them all and they race, "
		 "backoff thinning the race",
	.init = no_init,
	.destroy = no_destroy,
	.acquire = ttas_acquire,
	.release = flag_release,
};

/* ---- ticket: take a number, wait until it is served ---- */

struct ticket_lock {
	atomic_uint next;
	atomic_uint serving;
};

static int ticket_acquire(void *lock, struct ct_waiter *w)
{
	struct ticket_lock *l = lock;
	unsigned me = atomic_fetch_add_explicit(&l->next, 1, memory_order_relaxed), spins = 0;
	while (atomic_load_explicit(&l->serving, memory_order_acquire) != me)
		if (cpu_relax(), give_up(w, &spins))
			return KERNEL_TIMEOUT;
	return KERNEL_OK;
}

static void ticket_release(void *lock, struct ct_waiter *w)
{
	(void)w;
	struct ticket_lock *l = lock;
	unsigned now = atomic_load_explicit(&l->serving, memory_order_relaxed);
	atomic_store_explicit(&l->serving, now + 1, memory_order_release);
}

const struct ct_lock ct_lock_ticket = {
	.name = "ticket",
	.summary = "ticket lock: fetch_add a ticket, spin until now-serving reaches it",
	.bytes = sizeof(struct ticket_lock),
	.fair = true,
	.lines_per_op = 2,
	.model = "first come, first served; every release invalidates every waiter's copy of the "
		 "one line they all read",
	.init = no_init,
	.destroy = no_destroy,
	.acquire = ticket_acquire,
	.release = ticket_release,
};

/* ---- mcs: a queue of nodes, each waiter spinning on its own ---- */

struct mcs_node {
	_Atomic(struct mcs_node *) next;
	atomic_int locked;
};

static int mcs_init(void *lock)
{
	atomic_init((_Atomic(struct mcs_node *) *)lock, NULL);
	return 0;
}

static int mcs_acquire(void *lock, struct ct_waiter *w)
{
	_Atomic(struct mcs_node *) *tail = lock;
	struct mcs_node *me = w->node;
	atomic_store_explicit(&me->next, NULL, memory_order_relaxed);
	atomic_store_explicit(&me->locked, 1, memory_order_relaxed);
	struct mcs_node *prev = atomic_exchange_explicit(tail, me, memory_order_acq_rel);
	if (prev == NULL)
		return KERNEL_OK;
	atomic_store_explicit(&prev->next, me, memory_order_release);
	unsigned spins = 0;
	/* Spinning on its own node: only the predecessor's hand-over
	 * touches this line. */
	while (atomic_load_explicit(&me->locked, memory_order_acquire))
		if (cpu_relax(), give_up(w, &spins))
			return KERNEL_TIMEOUT;
	return KERNEL_OK;
}

static void mcs_release(void *lock, struct ct_waiter *w)
{
	_Atomic(struct mcs_node *) *tail = lock;
	struct mcs_node *me = w->node;
	struct mcs_node *next = atomic_load_explicit(&me->next, memory_order_acquire);
	if (next == NULL) {
		struct mcs_node *expected = me;
		if (atomic_compare_exchange_strong_explicit(tail, &expected, NULL, memory_order_release,
							    memory_order_relaxed))
			return;
		/* A successor has swapped itself in but not linked yet. */
		unsigned spins = 0;
		while ((next = atomic_load_explicit(&me->next, memory_order_acquire)) == NULL)
			if (cpu_relax(), give_up(w, &spins))
				return;
	}
	atomic_store_explicit(&next->locked, 0, memory_order_release);
}

const struct ct_lock ct_lock_mcs = {
	.name = "mcs",
	.summary = "MCS queue lock: waiters queue up, each spinning on its own node",
	.bytes = sizeof(_Atomic(struct mcs_node *)),
	.node_bytes = sizeof(struct mcs_node),
	.fair = true,
	.lines_per_op = 3,
	.model = "first come, first served; a release touches only the next waiter's node, so the "
		 "traffic per hand-over stays constant as waiters grow",
	.init = mcs_init,
	.destroy = no_destroy,
	.acquire = mcs_acquire,
	.release = mcs_release,
};

/* ---- pthread_mutex, pthread_spin: what most programs use ---- */

static int mutex_init(void *lock)
{
	return pthread_mutex_init(lock, NULL) == 0 ? 0 : -1;
}

static void mutex_destroy(void *lock)
{
	pthread_mutex_destroy(lock);
}

static int mutex_acquire(void *lock, struct ct_waiter *w)
{
	(void)w;
	return pthread_mutex_lock(lock) == 0 ? KERNEL_OK : KERNEL_WRONG_DATA;
}

static void mutex_release(void *lock, struct ct_waiter *w)
{
	(void)w;
	pthread_mutex_unlock(lock);
}

const struct ct_lock ct_lock_pthread_mutex = {
	.name = "pthread_mutex",
	.summary = "pthread_mutex_t (glibc: an atomic, then futex sleep and wake-up under contention)",
	.bytes = sizeof(pthread_mutex_t),
	.lines_per_op = 2,
	.model = "uncontended one CAS; contended, waiters sleep in the kernel and each hand-over "
		 "may cost a futex wake-up",
	.init = mutex_init,
	.destroy = mutex_destroy,
	.acquire = mutex_acquire,
	.release = mutex_release,
};

static int spin_init(void *lock)
{
	return pthread_spin_init(lock, PTHREAD_PROCESS_PRIVATE) == 0 ? 0 : -1;
}

static void spin_destroy(void *lock)
{
	pthread_spin_destroy(lock);
}

static int spin_acquire(void *lock, struct ct_waiter *w)
{
	(void)w;
	return pthread_spin_lock(lock) == 0 ? KERNEL_OK : KERNEL_WRONG_DATA;
}

static void spin_release(void *lock, struct ct_waiter *w)
{
	(void)w;
	pthread_spin_unlock(lock);
}

const struct ct_lock ct_lock_pthread_spin = {
	.name = "pthread_spin",
	.summary = "pthread_spinlock_t (glibc: locked decrement, then spin on loads)",
	.bytes = sizeof(pthread_spinlock_t),
	.lines_per_op = 2,
	.model = "a test-and-test-and-set without backoff: unfair, and every release starts a race",
	.init = spin_init,
	.destroy = spin_destroy,
	.acquire = spin_acquire,
	.release = spin_release,
};

#define CT_LOCK_ENTRY(name) &ct_lock_##name,
const struct ct_lock *const ct_lock_registry[] = { CONTENTION_LOCKS(CT_LOCK_ENTRY) };
#undef CT_LOCK_ENTRY
const int ct_lock_count = (int)ARRAY_SIZE(ct_lock_registry);
