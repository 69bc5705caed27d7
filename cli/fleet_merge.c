/* The fleet's numbers: every done node's CSV files reduced to one value per
 * node, experiment, measure, pair class and statistic, the nodes grouped by
 * hardware fingerprint, and per group a robust z-score for every node's
 * median.
 *
 * Why median/MAD: a fleet is mostly alike, and the point is to find the few
 * nodes that are not. Mean and standard deviation are pulled by exactly
 * those nodes (one node at 10x inflates the standard deviation until it no
 * longer stands out); the median and the median absolute deviation ignore
 * them. z = 0.6745 (x - median) / MAD is on the scale of a standard score
 * for normal data (Iglewicz and Hoaglin), so 3.5 flags a node that a normal
 * spread would produce about once in two thousand. */
#include "cli/fleet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/common.h"
#include "base/csv.h"
#include "base/stats.h"

/* What each experiment contributes: the rows of one CSV (status "ok" where
 * there is a status), grouped by the columns that name a measure and by
 * the pair class, one number per row. An experiment that is not here (one
 * from a newer version) is linked from the node's report, not merged. */
struct measure_source {
	const char *experiment, *csv;
	const char *keys[4];       /* the columns naming the measure, NULL-ended */
	const char *class_column;  /* NULL: the rows belong to the node, not a pair */
	const char *value;         /* one number per row */
	const char *unit;
};

static const struct measure_source sources[] = {
	{ "latency", "latency.csv", { "kernel" }, "pair_class", "median_ns", "ns" },
	{ "states", "states.csv", { "kernel", "state" }, "pair_class", "median_ns", "ns" },
	{ "ipc", "ipc.csv", { "agents", "metric" }, "pair_class", "median_ns", "ns" },
	{ "falseshare", "falseshare.csv", { "sweep", "placement", "kind", "distance_bytes" },
	  "pair_class", "slowdown", "x" },
	{ "contention", "contention.csv", { "kind", "op_or_lock", "threads" }, "span_class",
	  "ns_per_op", "ns" },
	{ "bandwidth", "bandwidth.csv", { "series", "consumer", "buffer_bytes" }, "pair_class",
	  "median_gbps", "GB/s" },
	{ "channels", "channels.csv", { "channel", "mode", "bytes" }, "pair_class", "median_ns", "ns" },
	{ "attach", "attach.csv", { "mapping", "variant", "bytes" }, NULL, "total_median_ns", "ns" },
	{ "fork", "fork.csv", { "kind", "bytes", "measure" }, NULL, "median_ns", "ns" },
};

static int distinct_pairs(const json_t *cpus, const char *k1, const char *k2)
{
	json_t *seen = json_object();
	size_t i;
	const json_t *c;
	char key[64];
	json_array_foreach(cpus, i, c) {
		snprintf(key, sizeof key, "%lld/%lld", json_integer_value(json_object_get(c, k1)),
			 k2 ? json_integer_value(json_object_get(c, k2)) : 0LL);
		json_object_set_new(seen, key, json_true());
	}
	int n = (int)json_object_size(seen);
	json_decref(seen);
	return n;
}

json_t *fleet_fingerprint(const json_t *meta)
{
	const json_t *m = json_object_get(meta, "machine");
	const json_t *cpus = json_object_get(json_object_get(meta, "topology"), "cpus");
	const char *keys[] = { "cpu_model", "microcode", "kernel", "governor", "smt", "hypervisor" };
	json_t *fp = json_object();
	for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
		const char *v = json_string_value(json_object_get(m, keys[k]));
		json_object_set_new(fp, keys[k], json_string(v ? v : "unknown"));
	}
	json_object_set_new(fp, "cpus", json_integer((json_int_t)json_array_size(cpus)));
	json_object_set_new(fp, "sockets", json_integer(distinct_pairs(cpus, "socket", NULL)));
	json_object_set_new(fp, "cores", json_integer(distinct_pairs(cpus, "socket", "core")));
	json_object_set_new(fp, "numa_nodes", json_integer(distinct_pairs(cpus, "numa_node", NULL)));
	return fp;
}

/* The rows of one measure and class on one node. */
struct bucket {
	char measure[160], pair_class[32];
	int n, cap;
	double *v;
};

static int bucket_add(struct bucket **b, int *nb, const char *measure, const char *cls, double v)
{
	int i = 0;
	while (i < *nb && (strcmp((*b)[i].measure, measure) != 0 || strcmp((*b)[i].pair_class, cls) != 0))
		i++;
	if (i == *nb) {
		struct bucket *more = realloc(*b, ((size_t)*nb + 1) * sizeof *more);
		if (more == NULL)
			return -1;
		*b = more;
		more[i] = (struct bucket){ 0 };
		snprintf(more[i].measure, sizeof more[i].measure, "%s", measure);
		snprintf(more[i].pair_class, sizeof more[i].pair_class, "%s", cls);
		(*nb)++;
	}
	struct bucket *k = &(*b)[i];
	if (k->n == k->cap) {
		int cap = k->cap ? 2 * k->cap : 8;
		double *more = realloc(k->v, (size_t)cap * sizeof *more);
		if (more == NULL)
			return -1;
		k->v = more;
		k->cap = cap;
	}
	k->v[k->n++] = v;
	return 0;
}

static int push(struct fleet_merge *m, const struct fleet_value *v)
{
	if ((m->nvalues & 1023) == 0) {
		struct fleet_value *more = realloc(m->values, ((size_t)m->nvalues + 1024) * sizeof *more);
		if (more == NULL)
			return -1;
		m->values = more;
	}
	m->values[m->nvalues++] = *v;
	return 0;
}

/* The header of the first node that had each CSV, to refuse mixed schemas. */
struct header_seen {
	char *header;
	const char *dir;
};

static char *joined_header(const struct csv *c)
{
	size_t len = 1;
	for (int i = 0; i < c->ncols; i++)
		len += strlen(c->header[i]) + 1;
	char *s = calloc(1, len);
	for (int i = 0; s && i < c->ncols; i++) {
		strcat(s, i ? "," : "");
		strcat(s, c->header[i]);
	}
	return s;
}

/* One node's rows of one source into values. */
static int merge_source(const char *cmd, const struct fleet_node *node, int node_index, int group,
			const struct measure_source *src, struct header_seen *seen,
			struct fleet_merge *m)
{
	char path[PATH_MAX], err[ERRLEN];
	struct csv c = { 0 };
	snprintf(path, sizeof path, "%s/%s", node->dir, src->csv);
	if (access(path, F_OK) != 0)
		return EXIT_DONE;
	if (csv_read(path, &c, err) != 0) {
		fprintf(stderr, "cohmap %s: %s: not merged: %s\n", cmd, node->dir, err);
		return EXIT_USAGE;
	}
	char *header = joined_header(&c);
	if (header == NULL) {
		csv_free(&c);
		return EXIT_RUNTIME;
	}
	if (seen->header == NULL) {
		seen->header = header;
		seen->dir = node->dir;
	} else {
		int same = strcmp(seen->header, header) == 0;
		free(header);
		if (!same) {
			fprintf(stderr, "cohmap %s: %s: %s has other columns than in %s: directories of "
					"different schemas are not merged\n",
				cmd, node->dir, src->csv, seen->dir);
			csv_free(&c);
			return EXIT_USAGE;
		}
	}
	if (csv_column(&c, src->value) < 0) {
		fprintf(stderr, "cohmap %s: %s: %s has no column %s: not merged\n", cmd, node->dir,
			src->csv, src->value);
		csv_free(&c);
		return EXIT_USAGE;
	}
	struct bucket *b = NULL;
	int nb = 0, rc = EXIT_DONE;
	bool has_status = csv_column(&c, "status") >= 0;
	for (int r = 0; r < c.nrows && rc == EXIT_DONE; r++) {
		double v;
		if (has_status && strcmp(csv_cell(&c, r, "status"), "ok") != 0)
			continue;
		if (!csv_number(&c, r, src->value, &v) || isnan(v))
			continue;
		char measure[160] = "";
		size_t used = 0;
		for (int k = 0; k < 4 && src->keys[k]; k++) {
			const char *cell = csv_cell(&c, r, src->keys[k]);
			const char *suffix = strstr(src->keys[k], "bytes") ? " B" : "";
			used += (size_t)snprintf(measure + used, used < sizeof measure ? sizeof measure - used : 0,
						 "%s%s%s", k ? " " : "", cell ? cell : "NA", suffix);
		}
		const char *cls = src->class_column ? csv_cell(&c, r, src->class_column) : "node";
		if (bucket_add(&b, &nb, measure, cls ? cls : "NA", v) != 0)
			rc = EXIT_RUNTIME;
	}
	for (int i = 0; i < nb && rc == EXIT_DONE; i++) {
		/* the statistics over the node's rows: the fastest pair, the typical
		 * one, the slowest */
		summarize(b[i].v, b[i].n, &(struct summary){ 0 });
		static const char *const stat_names[] = { "min", "median", "max" };
		double stat_values[] = { b[i].v[0], median_of(b[i].v, b[i].n), b[i].v[b[i].n - 1] };
		for (int s = 0; s < 3 && rc == EXIT_DONE; s++) {
			struct fleet_value fv = { .node = node_index, .group = group,
						  .experiment = src->experiment, .statistic = stat_names[s],
						  .value = stat_values[s], .unit = src->unit, .rows = b[i].n,
						  .z = NAN };
			snprintf(fv.measure, sizeof fv.measure, "%s", b[i].measure);
			snprintf(fv.pair_class, sizeof fv.pair_class, "%s", b[i].pair_class);
			if (push(m, &fv) != 0)
				rc = EXIT_RUNTIME;
		}
	}
	for (int i = 0; i < nb; i++)
		free(b[i].v);
	free(b);
	csv_free(&c);
	return rc;
}

/* Sorts value indices so that the nodes' numbers of one quantity follow
 * each other. */
static const struct fleet_merge *sorting;
static int by_quantity(const void *a, const void *b)
{
	const struct fleet_value *x = &sorting->values[*(const int *)a];
	const struct fleet_value *y = &sorting->values[*(const int *)b];
	int c = x->group - y->group;
	if (c == 0)
		c = strcmp(x->experiment, y->experiment);
	if (c == 0)
		c = strcmp(x->measure, y->measure);
	if (c == 0)
		c = strcmp(x->pair_class, y->pair_class);
	if (c == 0)
		c = strcmp(x->statistic, y->statistic);
	return c ? c : x->node - y->node;
}

static bool same_quantity(const struct fleet_value *x, const struct fleet_value *y)
{
	return x->group == y->group && strcmp(x->experiment, y->experiment) == 0 &&
	       strcmp(x->measure, y->measure) == 0 && strcmp(x->pair_class, y->pair_class) == 0 &&
	       strcmp(x->statistic, y->statistic) == 0;
}

/* Robust z-scores of the medians, quantity by quantity. Groups of fewer
 * than three nodes get none: with two, either could be the odd one. */
static int score(struct fleet_merge *m, int nnodes)
{
	int *order = malloc(((size_t)m->nvalues + 1) * sizeof *order);
	double *x = malloc(((size_t)m->nvalues + 1) * sizeof *x);
	double *dev = malloc(((size_t)m->nvalues + 1) * sizeof *dev);
	double *node_sum = calloc((size_t)nnodes + 1, sizeof *node_sum);
	if (!order || !x || !dev || !node_sum) {
		free(order), free(x), free(dev), free(node_sum);
		return -1;
	}
	for (int i = 0; i < m->nvalues; i++)
		order[i] = i;
	sorting = m;
	qsort(order, (size_t)m->nvalues, sizeof *order, by_quantity);
	m->deviant_node = -1;
	m->deviant_z = 0;
	for (int i = 0; i < m->nvalues;) {
		int j = i;
		while (j < m->nvalues && same_quantity(&m->values[order[i]], &m->values[order[j]]))
			j++;
		int n = j - i;
		if (n >= 3 && strcmp(m->values[order[i]].statistic, "median") == 0) {
			for (int k = 0; k < n; k++)
				x[k] = m->values[order[i + k]].value;
			double med = median_of(x, n);
			double mean_abs = 0;
			for (int k = 0; k < n; k++) {
				dev[k] = fabs(m->values[order[i + k]].value - med);
				mean_abs += dev[k] / n;
			}
			double mad = median_of(dev, n);
			/* When more than half the nodes agree exactly the MAD is 0;
			 * the mean absolute deviation (scaled to the same footing,
			 * 1.2533 = sqrt(pi/2)) still measures the spread. */
			double scale = mad > 0 ? mad / 0.6745 : 1.2533 * mean_abs;
			for (int k = 0; k < n; k++) {
				struct fleet_value *v = &m->values[order[i + k]];
				v->z = scale > 0 ? (v->value - med) / scale : 0;
				node_sum[v->node] += fabs(v->z);
				if (fabs(v->z) > m->threshold) {
					m->outliers++;
					if (fabs(v->z) > fabs(m->deviant_z)) {
						m->deviant_z = v->z;
						m->deviant_node = v->node;
					}
				}
			}
		}
		i = j;
	}
	/* The median node of a group: the one whose numbers sit closest to
	 * the group's medians overall (smallest sum of |z|). */
	for (int g = 0; g < m->ngroups; g++) {
		m->groups[g].median_node = -1;
		for (int k = 0; k < nnodes; k++)
			if (m->node_group[k] == g &&
			    (m->groups[g].median_node < 0 || node_sum[k] < node_sum[m->groups[g].median_node]))
				m->groups[g].median_node = k;
	}
	free(order), free(x), free(dev), free(node_sum);
	return 0;
}

int fleet_merge(const char *cmd, const struct fleet *f, double threshold, struct fleet_merge *m)
{
	struct header_seen seen[ARRAY_SIZE(sources)] = { { 0 } };
	int rc = EXIT_DONE;
	*m = (struct fleet_merge){ .threshold = threshold, .deviant_node = -1 };
	m->node_group = malloc(((size_t)f->n + 1) * sizeof *m->node_group);
	if (m->node_group == NULL)
		return EXIT_RUNTIME;
	for (int i = 0; i < f->n && rc == EXIT_DONE; i++) {
		const struct fleet_node *node = &f->nodes[i];
		m->node_group[i] = -1;
		if (node->state != NODE_DONE)
			continue;
		json_t *fp = fleet_fingerprint(node->meta);
		char *key = json_dumps(fp, JSON_SORT_KEYS | JSON_COMPACT);
		int g = 0;
		while (key && g < m->ngroups && strcmp(m->groups[g].key, key) != 0)
			g++;
		if (key && g == m->ngroups) {
			struct fleet_group *more = realloc(m->groups, ((size_t)g + 1) * sizeof *more);
			if (more == NULL) {
				rc = EXIT_RUNTIME;
			} else {
				m->groups = more;
				more[g] = (struct fleet_group){ .fingerprint = json_incref(fp), .median_node = -1 };
				snprintf(more[g].key, sizeof more[g].key, "%s", key);
				m->ngroups++;
			}
		}
		free(key);
		json_decref(fp);
		if (rc != EXIT_DONE || key == NULL) {
			rc = EXIT_RUNTIME;
			break;
		}
		m->groups[g].nodes++;
		m->node_group[i] = g;
		const json_t *experiments = json_object_get(node->meta, "experiments");
		for (size_t s = 0; s < ARRAY_SIZE(sources) && rc == EXIT_DONE; s++)
			if (json_object_get(experiments, sources[s].experiment))
				rc = merge_source(cmd, node, i, g, &sources[s], &seen[s], m);
	}
	for (size_t s = 0; s < ARRAY_SIZE(sources); s++)
		free(seen[s].header);
	if (rc == EXIT_DONE && score(m, f->n) != 0)
		rc = EXIT_RUNTIME;
	if (rc == EXIT_RUNTIME)
		fprintf(stderr, "cohmap %s: out of memory\n", cmd);
	return rc;
}

void fleet_merge_free(struct fleet_merge *m)
{
	for (int g = 0; g < m->ngroups; g++)
		json_decref(m->groups[g].fingerprint);
	free(m->groups);
	free(m->values);
	free(m->node_group);
	*m = (struct fleet_merge){ 0 };
}
