#include "harness/meta_check.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/common.h"
#include "harness/results.h"

/* The shapes meta.json's members take; a MAP is an object whose members are
 * named by the data (experiments by experiment name). */
enum shape { ANY, OBJECT, ARRAY, MAP, STRING, INTEGER, NUMBER, BOOLEAN };

static const char *const shape_name[] = {
	[OBJECT] = "an object", [ARRAY] = "a list", [MAP] = "an object", [STRING] = "a string",
	[INTEGER] = "a whole number", [NUMBER] = "a number", [BOOLEAN] = "true or false",
};

struct member {
	const char *key;
	enum shape shape;
	enum shape each;              /* ARRAY, MAP: the shape of every element */
	const struct member *members; /* of the OBJECT, or of each element */
	bool required;
};

#define FIELD(k, s) { .key = (k), .shape = (s) }
#define NESTED(k, m) { .key = (k), .shape = OBJECT, .members = (m) }
#define LIST(k, e, m) { .key = (k), .shape = ARRAY, .each = (e), .members = (m) }
#define END { .key = NULL }

/* What run_begin (harness/results.c) and experiment_describe write. */
static const struct member tool[] = {
	FIELD("name", STRING), FIELD("version", STRING), END,
};
static const struct member machine[] = {
	FIELD("host", STRING), FIELD("cpu_model", STRING), FIELD("vendor", STRING),
	FIELD("family", INTEGER), FIELD("model", INTEGER), FIELD("stepping", INTEGER),
	FIELD("microcode", STRING), FIELD("kernel", STRING), FIELD("architecture", STRING), FIELD("governor", STRING),
	FIELD("smt", STRING), FIELD("hypervisor", STRING), FIELD("line_size", INTEGER),
	FIELD("atomics", STRING), END,
};
static const struct member clock_members[] = {
	FIELD("source", STRING), FIELD("timer", STRING), FIELD("rate", STRING),
	FIELD("ns_per_tick", NUMBER), FIELD("resolution_ns", NUMBER), FIELD("observed_step_ns", NUMBER),
	FIELD("rejected_timer", STRING),
	FIELD("read_overhead_median_ns", NUMBER), FIELD("read_overhead_min_ns", NUMBER), END,
};
static const struct member cpu[] = {
	FIELD("cpu", INTEGER), FIELD("socket", INTEGER), FIELD("die", INTEGER),
	FIELD("numa_node", INTEGER), FIELD("l3_group", INTEGER), FIELD("l2_group", INTEGER),
	FIELD("core", INTEGER), FIELD("smt", INTEGER), FIELD("online", BOOLEAN),
	FIELD("allowed", BOOLEAN), END,
};
static const struct member topology[] = {
	FIELD("source", STRING), FIELD("l1d_bytes", INTEGER), FIELD("l2_bytes", INTEGER),
	FIELD("l3_bytes", INTEGER), LIST("cpus", OBJECT, cpu), END,
};
/* The convention of experiments/experiment.h, and what the report reads. The
 * rest of an experiment's entry is its own (its "counters" are a list in
 * one, an object in another). */
static const struct member experiment[] = {
	FIELD("status", STRING), FIELD("headline", STRING), FIELD("reason", STRING),
	LIST("csv", STRING, NULL), LIST("plots", STRING, NULL), FIELD("statistic_plotted", STRING),
	END,
};
static const struct member resumption[] = {
	FIELD("utc", STRING), LIST("command", STRING, NULL), NESTED("clock", clock_members), END,
};
static const struct member meta_members[] = {
	{ .key = "experiments", .shape = MAP, .each = OBJECT, .members = experiment, .required = true },
	{ .key = "warnings", .shape = ARRAY, .each = STRING, .required = true },
	NESTED("tool", tool),
	LIST("command", STRING, NULL),
	FIELD("status", STRING),
	FIELD("started_utc", STRING),
	FIELD("finished_utc", STRING),
	NESTED("machine", machine),
	NESTED("clock", clock_members),
	NESTED("topology", topology),
	LIST("resumed", OBJECT, resumption),
	END,
};

static bool has_shape(const json_t *v, enum shape s)
{
	switch (s) {
	case ANY: return true;
	case OBJECT:
	case MAP: return json_is_object(v);
	case ARRAY: return json_is_array(v);
	case STRING: return json_is_string(v);
	case INTEGER: return json_is_integer(v);
	case NUMBER: return json_is_number(v);
	case BOOLEAN: return json_is_boolean(v);
	}
	return false;
}

static const char *shape_of(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "a list";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "a whole number";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "something else";
}

/* Where in meta.json, as "experiments.latency.csv[0]". */
struct where {
	char text[256];
	size_t len;
};

/* Appends to w; a name from the data has its control characters replaced,
 * so the message stays one line. */
static size_t enter(struct where *w, const char *fmt, const char *name, size_t index)
{
	size_t at = w->len;
	if (at >= sizeof w->text - 1)
		return at;
	int n = name ? snprintf(w->text + at, sizeof w->text - at, fmt, at ? "." : "", name)
		     : snprintf(w->text + at, sizeof w->text - at, fmt, index);
	w->len = n < 0 ? at : at + (size_t)n < sizeof w->text ? at + (size_t)n : sizeof w->text - 1;
	for (size_t i = at; i < w->len; i++)
		if ((unsigned char)w->text[i] < 0x20 || w->text[i] == 0x7f)
			w->text[i] = '?';
	return at;
}

static void leave(struct where *w, size_t at)
{
	w->len = at;
	w->text[at] = '\0';
}

static int wrong(const char *path, const struct where *w, enum shape wanted, const json_t *v,
		 char *err)
{
	set_error(err, "%s: %s must be %s (it is %s)", path, w->text, shape_name[wanted], shape_of(v));
	return -1;
}

static int check_members(const json_t *object, const struct member *members, struct where *w,
			 const char *path, char *err);

/* v has shape `shape`; its elements `each`, and objects among them `members`. */
static int check_value(const json_t *v, enum shape shape, enum shape each,
		       const struct member *members, struct where *w, const char *path, char *err)
{
	if (!has_shape(v, shape))
		return wrong(path, w, shape, v, err);
	if (shape == OBJECT)
		return members ? check_members(v, members, w, path, err) : 0;
	if (shape != ARRAY && shape != MAP)
		return 0;
	size_t i;
	const char *key;
	json_t *e;
	if (shape == ARRAY) {
		json_array_foreach(v, i, e) {
			size_t at = enter(w, "[%zu]", NULL, i);
			int rc = check_value(e, each, ANY, members, w, path, err);
			leave(w, at);
			if (rc != 0)
				return -1;
		}
	} else {
		json_object_foreach((json_t *)v, key, e) {
			size_t at = enter(w, "%s%s", key, 0);
			int rc = check_value(e, each, ANY, members, w, path, err);
			leave(w, at);
			if (rc != 0)
				return -1;
		}
	}
	return 0;
}

static int check_members(const json_t *object, const struct member *members, struct where *w,
			 const char *path, char *err)
{
	for (const struct member *m = members; m->key; m++) {
		const json_t *v = json_object_get(object, m->key);
		size_t at = enter(w, "%s%s", m->key, 0);
		int rc = 0;
		if (v == NULL && m->required)
			rc = -1, set_error(err, "%s: no \"%s\" member (not the meta.json of a cohmap run)",
					   path, w->text);
		else if (v)
			rc = check_value(v, m->shape, m->each, m->members, w, path, err);
		leave(w, at);
		if (rc != 0)
			return -1;
	}
	return 0;
}

int meta_check(const json_t *meta, const char *path, char *err)
{
	struct where w = { .len = 0 };
	if (!json_is_object(meta)) {
		set_error(err, "%s: not a JSON object", path);
		return -1;
	}
	return check_members(meta, meta_members, &w, path, err);
}

json_t *meta_load_checked(const char *path, char *err)
{
	json_t *meta = json_load_object(path, err);
	if (meta && meta_check(meta, path, err) != 0) {
		json_decref(meta);
		return NULL;
	}
	return meta;
}
