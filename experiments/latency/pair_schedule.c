#include "experiments/latency/pair_schedule.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/shuffle.h"

static int distinct(const struct topology *t, const int *cpus, int ncpus, size_t field)
{
	int n = 0, *seen = malloc((size_t)(ncpus ? ncpus : 1) * sizeof *seen);
	if (seen == NULL)
		return 1;
	for (int i = 0; i < ncpus; i++) {
		const struct cpu_place *p = topology_find(t, cpus[i]);
		int v = p ? *(const int *)((const char *)p + field) : -1 - i;
		int k = 0;
		while (k < n && seen[k] != v)
			k++;
		if (k == n)
			seen[n++] = v;
	}
	free(seen);
	return n;
}

#define FIELD(name) offsetof(struct cpu_place, name)

int schedule_max_parallel(const struct topology *t, const int *cpus, int ncpus)
{
	if (ncpus < 2)
		return 0;
	int cores = distinct(t, cpus, ncpus, FIELD(core));
	return cores / 2 > 1 ? cores / 2 : 1;
}

int schedule_auto_parallel(const struct topology *t, const int *cpus, int ncpus)
{
	int most = distinct(t, cpus, ncpus, FIELD(l3_group));
	int dies = distinct(t, cpus, ncpus, FIELD(die)), sockets = distinct(t, cpus, ncpus, FIELD(socket));
	if (dies > most)
		most = dies;
	if (sockets > most)
		most = sockets;
	int max = schedule_max_parallel(t, cpus, ncpus);
	return most < max ? most : max;
}

/* Dense indices for the core and L3 group of every CPU a job names. */
struct place_index {
	int core_a, core_b, l3_a, l3_b;
};

static int value_index(int *values, int *n, int v)
{
	for (int i = 0; i < *n; i++)
		if (values[i] == v)
			return i;
	values[*n] = v;
	return (*n)++;
}

/* A CPU the topology does not know is its own core and group. */
static void place_of(const struct topology *t, int cpu, int *core, int *l3)
{
	const struct cpu_place *p = topology_find(t, cpu);
	*core = p ? p->core : -1 - cpu;
	*l3 = p ? p->l3_group : -1 - cpu;
}

bool schedule_disjoint(const struct topology *t, const struct sched_job *a,
		       const struct sched_job *b)
{
	int ca[2], cb[2], l3;
	place_of(t, a->cpu_a, &ca[0], &l3);
	place_of(t, a->cpu_b, &ca[1], &l3);
	place_of(t, b->cpu_a, &cb[0], &l3);
	place_of(t, b->cpu_b, &cb[1], &l3);
	return ca[0] != cb[0] && ca[0] != cb[1] && ca[1] != cb[0] && ca[1] != cb[1];
}

/* Eligible jobs looked at for the least used L3 groups once one is found:
 * at most this many candidates, within this many further pending jobs (so a
 * long list costs no quadratic scan). A candidate whose groups no running
 * job uses is taken at once: the shuffled order stands where it can. */
#define SPREAD_CANDIDATES 8
#define SPREAD_LOOKAHEAD 256
/* When this many pending jobs in a row cannot start, the dispatcher looks
 * the other way round: through its lists of pending jobs per pair of free
 * cores. At the largest parallelism only a few cores are free at a time and
 * few jobs can start; a scan of the whole pending list to find them (or
 * nothing) would cost each lane's turn O(n). */
#define SCAN_BEFORE_LOOKUP 512
/* Lists per pair of cores are kept up to this many cores (the lists' heads
 * take cores^2 x 8 bytes); beyond it the dispatcher only scans. */
#define LOOKUP_MAX_CORES 1024

struct dispatcher {
	struct place_index *ix;
	long *next, *prev;   /* the pending jobs, a list in the callers' order */
	long head, pending;
	/* Per pair of cores (pair_slot) its pending jobs, first in the callers'
	 * order first: slot_head, then slot_next; a started job leaves when it
	 * reaches the head. NULL: not kept (too many cores). */
	long *slot_head, *slot_next;
	unsigned char *started;
	int ncores, nl3, free_cores;
	unsigned char *core_busy;
	int *l3_load;        /* CPUs of running jobs per L3 group */
	int *scratch;        /* ncores */
};

void dispatcher_free(struct dispatcher *d)
{
	if (d == NULL)
		return;
	free(d->ix);
	free(d->next);
	free(d->prev);
	free(d->slot_head);
	free(d->slot_next);
	free(d->started);
	free(d->core_busy);
	free(d->l3_load);
	free(d->scratch);
	free(d);
}

static long pair_slot(const struct dispatcher *d, int x, int y)
{
	return x < y ? (long)x * d->ncores + y : (long)y * d->ncores + x;
}

/* The dense core and L3 index of a CPU: cached per topology position, and
 * looked up (once per distinct value) in the lists of values seen. */
struct dense {
	int *cores, *l3s;     /* values seen, 2 x ncpus + 2 of room each */
	int *core_of, *l3_of; /* per topology position; -1 not yet known */
	int ncores, nl3, room;
};

static bool dense_place(struct dense *x, const struct topology *t, int cpu, int *core_ix, int *l3_ix)
{
	const struct cpu_place *p = topology_find(t, cpu);
	long pos = p ? p - t->cpus : -1;
	if (pos >= 0 && x->core_of[pos] >= 0) {
		*core_ix = x->core_of[pos], *l3_ix = x->l3_of[pos];
		return true;
	}
	if (x->ncores >= x->room || x->nl3 >= x->room)
		return false; /* more unknown CPUs than room: the caller fails */
	int core, l3;
	place_of(t, cpu, &core, &l3);
	*core_ix = value_index(x->cores, &x->ncores, core);
	*l3_ix = value_index(x->l3s, &x->nl3, l3);
	if (pos >= 0)
		x->core_of[pos] = *core_ix, x->l3_of[pos] = *l3_ix;
	return true;
}

struct dispatcher *dispatcher_new(const struct topology *t, const struct sched_job *jobs, long n)
{
	struct dispatcher *d = calloc(1, sizeof *d);
	size_t room = 2 * (size_t)t->ncpus + 64;
	struct dense x = { .cores = malloc(room * sizeof(int)), .l3s = malloc(room * sizeof(int)),
			   .core_of = malloc(((size_t)t->ncpus + 1) * sizeof(int)),
			   .l3_of = malloc(((size_t)t->ncpus + 1) * sizeof(int)), .room = (int)room };
	if (d == NULL || !x.cores || !x.l3s || !x.core_of || !x.l3_of)
		goto fail;
	for (int i = 0; i < t->ncpus; i++)
		x.core_of[i] = x.l3_of[i] = -1;
	d->ix = malloc((size_t)(n ? n : 1) * sizeof *d->ix);
	d->next = malloc((size_t)(n ? n : 1) * sizeof *d->next);
	d->prev = malloc((size_t)(n ? n : 1) * sizeof *d->prev);
	d->started = calloc((size_t)(n ? n : 1), 1);
	if (d->ix == NULL || d->next == NULL || d->prev == NULL || d->started == NULL)
		goto fail;
	for (long i = 0; i < n; i++) {
		if (!dense_place(&x, t, jobs[i].cpu_a, &d->ix[i].core_a, &d->ix[i].l3_a) ||
		    !dense_place(&x, t, jobs[i].cpu_b, &d->ix[i].core_b, &d->ix[i].l3_b))
			goto fail;
		d->next[i] = i + 1 < n ? i + 1 : -1;
		d->prev[i] = i - 1;
	}
	d->ncores = x.ncores;
	d->nl3 = x.nl3;
	d->head = n > 0 ? 0 : -1;
	d->pending = n;
	d->free_cores = d->ncores;
	d->core_busy = calloc((size_t)d->ncores + 1, 1);
	d->l3_load = calloc((size_t)d->nl3 + 1, sizeof *d->l3_load);
	d->scratch = malloc(((size_t)d->ncores + 1) * sizeof *d->scratch);
	if (d->core_busy == NULL || d->l3_load == NULL || d->scratch == NULL)
		goto fail;
	if (d->ncores <= LOOKUP_MAX_CORES) {
		size_t slots = (size_t)d->ncores * (size_t)d->ncores + 1;
		d->slot_head = malloc(slots * sizeof *d->slot_head);
		d->slot_next = malloc((size_t)(n ? n : 1) * sizeof *d->slot_next);
		if (d->slot_head == NULL || d->slot_next == NULL) {
			free(d->slot_head);
			free(d->slot_next);
			d->slot_head = d->slot_next = NULL;
		}
	}
	if (d->slot_head) {
		for (size_t k = 0; k < (size_t)d->ncores * (size_t)d->ncores + 1; k++)
			d->slot_head[k] = -1;
		for (long i = n - 1; i >= 0; i--) {
			long slot = pair_slot(d, d->ix[i].core_a, d->ix[i].core_b);
			d->slot_next[i] = d->slot_head[slot];
			d->slot_head[slot] = i;
		}
	}
	free(x.cores);
	free(x.l3s);
	free(x.core_of);
	free(x.l3_of);
	return d;
fail:
	free(x.cores);
	free(x.l3s);
	free(x.core_of);
	free(x.l3_of);
	dispatcher_free(d);
	return NULL;
}

/* Of two jobs that can start, the better: its L3 groups less used by the
 * running jobs, else the earlier in the callers' order. */
static bool better(long i, int load, long best, int best_load)
{
	return best < 0 || load < best_load || (load == best_load && i < best);
}

static int load_of(const struct dispatcher *d, long i)
{
	return d->l3_load[d->ix[i].l3_a] + d->l3_load[d->ix[i].l3_b];
}

/* The job to start, found the other way round: the first pending job of
 * every pair of free cores. -1 when there is none. */
static long lookup_free_pairs(struct dispatcher *d)
{
	int nfree = 0, best_load = 0;
	long best = -1;
	for (int c = 0; c < d->ncores; c++)
		if (!d->core_busy[c])
			d->scratch[nfree++] = c;
	for (int x = 0; x < nfree; x++)
		for (int y = x; y < nfree; y++) {
			long *head = &d->slot_head[pair_slot(d, d->scratch[x], d->scratch[y])];
			while (*head >= 0 && d->started[*head])
				*head = d->slot_next[*head];
			if (*head < 0)
				continue;
			int load = load_of(d, *head);
			if (better(*head, load, best, best_load))
				best = *head, best_load = load;
		}
	return best;
}

static void mark(struct dispatcher *d, long i, int by)
{
	const struct place_index *p = &d->ix[i];
	d->core_busy[p->core_a] = d->core_busy[p->core_b] = by > 0;
	d->free_cores -= by * (p->core_a == p->core_b ? 1 : 2);
	d->l3_load[p->l3_a] += by;
	d->l3_load[p->l3_b] += by;
}

long dispatcher_next(struct dispatcher *d)
{
	long best = -1, after = 0, looked = 0;
	int best_load = 0, found = 0;
	/* Few free cores: few pairs of them to look through, and few jobs that
	 * can start among the pending ones; so the lists first. */
	bool lookup_first = d->slot_head &&
			    (long)d->free_cores * (d->free_cores + 1) / 2 <= SCAN_BEFORE_LOOKUP;
	for (long i = lookup_first ? -1 : d->head; i >= 0; i = d->next[i]) {
		if (found && ++after > SPREAD_LOOKAHEAD)
			break;
		if (!found && ++looked > SCAN_BEFORE_LOOKUP && d->slot_head) {
			best = lookup_free_pairs(d);
			break;
		}
		const struct place_index *p = &d->ix[i];
		if (d->core_busy[p->core_a] || d->core_busy[p->core_b])
			continue;
		int load = load_of(d, i);
		if (better(i, load, best, best_load)) {
			best = i, best_load = load;
			if (load == 0)
				break;
		}
		if (++found >= SPREAD_CANDIDATES)
			break;
	}
	if (lookup_first)
		best = lookup_free_pairs(d);
	if (best < 0)
		return -1;
	if (d->prev[best] < 0)
		d->head = d->next[best];
	else
		d->next[d->prev[best]] = d->next[best];
	if (d->next[best] >= 0)
		d->prev[d->next[best]] = d->prev[best];
	d->started[best] = 1;
	d->pending--;
	mark(d, best, 1);
	return best;
}

void dispatcher_done(struct dispatcher *d, long i)
{
	mark(d, i, -1);
}

long dispatcher_pending(const struct dispatcher *d)
{
	return d->pending;
}

int schedule_dry_run(const struct topology *t, const struct sched_job *jobs, long n, int lanes,
		     const double *seconds, const struct dry_run_watch *watch,
		     struct schedule_dry_run *out)
{
	struct dispatcher *d = dispatcher_new(t, jobs, n);
	if (lanes < 1)
		lanes = 1;
	double *end = malloc((size_t)lanes * sizeof *end);
	long *job = malloc((size_t)lanes * sizeof *job);
	int rc = -1;
	if (d == NULL || end == NULL || job == NULL)
		goto out;
	double now = 0, busy = 0;
	int nrun = 0;
	for (;;) {
		long i;
		while (nrun < lanes && (i = dispatcher_next(d)) >= 0) {
			end[nrun] = now + seconds[i];
			job[nrun++] = i;
			busy += seconds[i];
			if (watch && watch->started)
				watch->started(watch->ctx, i);
		}
		if (watch && watch->filled)
			watch->filled(watch->ctx, job, nrun, dispatcher_pending(d));
		if (nrun == 0)
			break;
		int first = 0;
		for (int k = 1; k < nrun; k++)
			if (end[k] < end[first])
				first = k;
		now = end[first];
		dispatcher_done(d, job[first]);
		end[first] = end[nrun - 1];
		job[first] = job[--nrun];
	}
	if (dispatcher_pending(d) != 0) /* cannot be: with nothing running, any job starts */
		goto out;
	*out = (struct schedule_dry_run){ .makespan_s = now, .busy_s = busy,
		.utilisation = now > 0 ? busy / (lanes * now) : 1,
		.mean_running = now > 0 ? busy / now : 0 };
	rc = 0;
out:
	dispatcher_free(d);
	free(end);
	free(job);
	return rc;
}

long schedule_controls(const struct topology *t, const struct sched_job *jobs, long n,
		       unsigned long seed, bool *control)
{
	long *order = malloc((size_t)(n ? n : 1) * sizeof *order), marked = 0;
	if (order == NULL)
		return -1;
	for (long i = 0; i < n; i++) {
		order[i] = i;
		control[i] = false;
	}
	shuffle(order, (size_t)n, sizeof *order, seed ^ 0x5e71a1ull);
	/* The first of each (kernel, class) in the shuffled order. */
	struct { int kernel; enum pair_class c; } *seen = malloc(sizeof *seen * (size_t)(n ? n : 1));
	long nseen = 0;
	if (seen == NULL) {
		free(order);
		return -1;
	}
	for (long k = 0; k < n; k++) {
		long i = order[k], s = 0;
		enum pair_class c = topology_pair_class(t, jobs[i].cpu_a, jobs[i].cpu_b);
		while (s < nseen && !(seen[s].kernel == jobs[i].kernel && seen[s].c == c))
			s++;
		if (s == nseen) {
			seen[nseen].kernel = jobs[i].kernel;
			seen[nseen++].c = c;
			control[i] = true;
			marked++;
		}
	}
	free(seen);
	long want = (long)ceil(SCHEDULE_CONTROL_SHARE * (double)n);
	for (long k = 0; k < n && marked < want; k++)
		if (!control[order[k]]) {
			control[order[k]] = true;
			marked++;
		}
	free(order);
	return marked;
}
