/* The steps every measured pair goes through, whichever engine measures it
 * (one pair at a time in latency_matrix.c, lanes of pairs in
 * latency_parallel.c): measure it, write its row of latency.csv, record its
 * outcome, and measure the reference pair again when that is due. */
#include "experiments/latency/latency_matrix.h"

#include <math.h>
#include <numa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/common.h"
#include "base/csv.h"
#include "experiments/latency/latency_model.h"
#include "experiments/latency/line_plan.h"

/* REFERENCE_INTERVAL_S and _PAIRS are in latency_model.h, with the model
 * that counts what they cost. */
#define DRIFT_LIMIT 0.10
#define DRIFT_FLOOR_NS 1.0

/* latency.csv: these, then one column per counted event (counts per handoff),
 * then disturbed_samples and reason. */
static const char *const base_columns[] = {
	"kernel", "agents", "cpu_a", "cpu_b", "pair_class", "home_node", "status", "samples",
	"round_trips_per_sample", "min_ns", "p10_ns", "median_ns", "p90_ns", "mean_ns",
	"stddev_ns", "ci95_low_ns", "ci95_high_ns", "line", "address_class",
};
enum { BASE_COLUMNS = ARRAY_SIZE(base_columns), MAX_COLUMNS = BASE_COLUMNS + MAX_EVENTS + 2 };
_Static_assert((int)MAX_COLUMNS == (int)LATENCY_MAX_COLUMNS, "latency_matrix.h counts the base columns");


void latency_columns(const struct latency_plan *p, struct columns *c)
{
	c->n = 0;
	for (int i = 0; i < BASE_COLUMNS; i++)
		c->names[c->n++] = base_columns[i];
	for (int e = 0; e < p->events.n; e++)
		c->names[c->n++] = p->events.columns[e];
	c->names[c->n++] = "disturbed_samples";
	c->names[c->n++] = "reason";
}

/* Sum of the events that count line fills from another core; NAN when one
 * of them is NA, or none was asked for. */
double fills_of(const struct latency_plan *p, const double *per_handoff)
{
	double sum = 0;
	int n = 0;
	for (int e = 0; e < p->events.n; e++)
		if (p->events.meaning[e] == MEANS_FILL_FROM_OTHER_CORE) {
			sum += per_handoff[e];
			n++;
		}
	return n ? sum : NAN;
}


static int home_of(const struct latency_plan *p, const struct topology *t, int cpu_a, int cpu_b)
{
	if (numa_available() < 0)
		return -1;
	if (p->home == HOME_NODE)
		return p->home_node;
	const struct cpu_place *place = topology_find(t, p->home == HOME_FIRST ? cpu_a : cpu_b);
	return place ? place->numa_node : -1;
}

int job_address_class(const struct latency_plan *p, int line)
{
	long page = sysconf(_SC_PAGESIZE);
	return line_address_class(line, p->lines > 0 ? p->lines : 1, page > 0 ? (size_t)page : 4096,
				  p->measure.line_size, p->line_reserve_bytes);
}

static void format_number(char *buf, size_t size, double value)
{
	if (isnan(value))
		snprintf(buf, size, "NA");
	else
		snprintf(buf, size, "%.2f", value);
}

static int write_row(struct csv_writer *w, const struct run *r, const struct latency_plan *p,
		     const struct job *job, const struct pair_measurement *m, char *err)
{
	const struct measure_options *mo = &p->measure;
	char cells[MAX_COLUMNS][ERRLEN];
	const struct summary *s = &m->one_way_ns;
	bool ok = m->status == PAIR_OK;
	double values[] = { s->min, s->p10, s->median, s->p90, s->mean, s->stddev,
			    s->ci95_low, s->ci95_high };
	snprintf(cells[0], ERRLEN, "%s", job->kernel->name);
	snprintf(cells[1], ERRLEN, "%s", agent_kind_name(mo->agents));
	snprintf(cells[2], ERRLEN, "%d", job->cpu_a);
	snprintf(cells[3], ERRLEN, "%d", job->cpu_b);
	snprintf(cells[4], ERRLEN, "%s",
		 pair_class_name(topology_pair_class(&r->topology, job->cpu_a, job->cpu_b)));
	snprintf(cells[5], ERRLEN, "%d", m->home_node);
	snprintf(cells[6], ERRLEN, "%s", ok ? "ok" : "failed");
	snprintf(cells[7], ERRLEN, "%ld", ok ? s->n : 0);
	snprintf(cells[8], ERRLEN, "%lu", m->round_trips_per_sample);
	for (size_t i = 0; i < ARRAY_SIZE(values); i++)
		format_number(cells[9 + i], ERRLEN, ok ? values[i] : NAN);
	snprintf(cells[17], ERRLEN, "%d", job->line);
	snprintf(cells[18], ERRLEN, "%d", job_address_class(p, job->line));
	int c = BASE_COLUMNS;
	for (int e = 0; e < p->events.n; e++, c++) {
		if (ok && !isnan(m->per_handoff[e]))
			snprintf(cells[c], ERRLEN, "%.4g", m->per_handoff[e]);
		else
			snprintf(cells[c], ERRLEN, "NA");
	}
	snprintf(cells[c++], ERRLEN, "%ld", ok ? m->disturbed_samples : 0);
	snprintf(cells[c], ERRLEN, "%s", ok ? "" : m->reason);
	for (char *ch = cells[c]; *ch; ch++) /* a reason is prose; keep it one cell */
		if (*ch == ',' || *ch == '"' || *ch == '\n')
			*ch = ';';
	const char *row[MAX_COLUMNS];
	for (int i = 0; i <= c; i++)
		row[i] = cells[i];
	return csv_writer_row(w, row, err);
}


void measure_reference(struct run *r, const struct latency_plan *p, struct reference *ref)
{
	struct pair_measurement m;
	int a = p->cpus[0], b = p->cpus[1];
	measure_pair(p->kernels[0], a, b, home_of(p, &r->topology, a, b), &p->measure, &r->clock, &m,
		     NULL);
	uint64_t now = monotonic_ns();
	ref->last_ns = now;
	ref->pairs_since = 0;
	if (m.status != PAIR_OK)
		return;
	double median = m.one_way_ns.median;
	json_array_append_new(ref->log, json_pack("{s:f, s:f}", "elapsed_s",
		(double)(now - ref->run_started) / 1e9, "median_ns", median));
	if (ref->first_ns == 0) {
		ref->first_ns = median;
		return;
	}
	/* A reference below a nanosecond (the null kernel: the harness alone)
	 * is the clock's rounding, not a latency; its relative change says
	 * nothing about the host moving the vCPUs. */
	if (ref->first_ns < DRIFT_FLOOR_NS)
		return;
	double change = median / ref->first_ns - 1;
	if (fabs(change) > DRIFT_LIMIT && fabs(change) > fabs(ref->worst_change)) {
		if (ref->worst_change == 0)
			run_warn(r, "drift: reference pair %d->%d (%s) moved from %.1f to %.1f ns "
				 "(%+.0f%%) during the run; compare only pairs measured close in time "
				 "(the host may have moved the vCPUs, or the clock frequency changed)",
				 a, b, p->kernels[0]->name, ref->first_ns, median, 100 * change);
		ref->worst_change = change;
	}
}

/* Each event that cannot be counted is said once, on stderr and in meta.json:
 * its column stays NA. */
static void report_unavailable_events(struct run *r, const struct latency_plan *p,
				      char reasons[MAX_EVENTS][160], bool warned[MAX_EVENTS])
{
	json_t *counters = json_object_get(json_object_get(json_object_get(r->meta, "experiments"),
							   "latency"), "counters");
	counters_warn_unavailable(r, &p->events, reasons, warned,
				  json_object_get(counters, "unavailable"));
}

void matrix_measure(struct matrix *m, const struct job *job, struct pair_measurement *out,
		    char reasons[MAX_EVENTS][160])
{
	/* Line 0 is homed where --home says, the others on the other nodes in
	 * turn; each line at its address class in a page of its own (each
	 * measurement maps its own region). */
	int first = home_of(m->p, &m->r->topology, job->cpu_a, job->cpu_b);
	int home = line_home(job->line, m->p->lines, first, m->nodes, m->nnodes);
	size_t offset = (size_t)job_address_class(m->p, job->line) * m->p->measure.line_size;
	measure_pair_at(job->kernel, job->cpu_a, job->cpu_b, home, offset, &m->p->measure,
			&m->r->clock, out, reasons);
}

int matrix_record(struct matrix *m, long j, const struct pair_measurement *pm)
{
	char err[ERRLEN];
	const struct job *job = &m->jobs[j];
	report_unavailable_events(m->r, m->p, m->event_reasons, m->warned);
	bool was_done = m->results[j].status == PAIR_OK || m->results[j].status == PAIR_FAILED;
	if (m->results[j].status == PAIR_FAILED) /* measured again: counted once */
		m->failed--;
	m->results[j] = (struct outcome){ .status = pm->status, .median_ns = pm->one_way_ns.median,
					  .fills_per_handoff = fills_of(m->p, pm->per_handoff) };
	if (pm->status == PAIR_FAILED) {
		m->failed++;
		run_warn(m->r, "%s %d->%d failed: %s", job->kernel->name, job->cpu_a, job->cpu_b,
			 pm->reason);
	}
	if (write_row(m->csv, m->r, m->p, job, pm, err) != 0) {
		fprintf(stderr, "cohmap: %s\n", err);
		return -1;
	}
	if (!was_done)
		progress_update(m->bar, ++m->done);
	return 0;
}

void matrix_between(struct matrix *m)
{
	if (++m->ref->pairs_since >= REFERENCE_INTERVAL_PAIRS ||
	    (double)(monotonic_ns() - m->ref->last_ns) > REFERENCE_INTERVAL_S * 1e9)
		measure_reference(m->r, m->p, m->ref);
}
