/* The experiment registry is the only list: every descriptor must carry
 * what the generated parts read (commands, --help, plot, report, suite), and
 * a new descriptor alone must be enough to parse its options and run it. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "base/common.h"
#include "cli/commands.h"

static void every_descriptor_is_whole(void **state)
{
	(void)state;
	assert_true(experiment_count >= 8);
	for (int i = 0; i < experiment_count; i++) {
		const struct experiment *e = experiment_registry[i];
		assert_non_null(e->name);
		if (!e->summary || !e->examples || !e->title || !e->shows || !e->read || !e->csv ||
		    !e->csv[0] || !e->figures || !e->figures[0] || !e->shared_options || !e->prepare ||
		    !e->measure || !e->release || !e->draw)
			fail_msg("experiment %s lacks a part of its descriptor", e->name);
		if (e->examples && strncmp(e->examples, "  cohmap ", 9) != 0)
			fail_msg("%s: examples start with '  cohmap '", e->name);
		if (e->option_count > 0 && (e->options == NULL || e->settings_size == 0))
			fail_msg("%s: option rows need a settings struct", e->name);
		/* each experiment is a command of the same name */
		const struct command *c = command_find(e->name);
		assert_non_null(c);
		assert_ptr_equal(c->experiment, e);
	}
}

/* A shared name must be a shared row; an own row must not shadow one, or
 * getopt would take the first and the other would never be set. */
static void option_names_are_unique(void **state)
{
	(void)state;
	for (int i = 0; i < experiment_count; i++) {
		const struct experiment *e = experiment_registry[i];
		for (const char *const *n = e->shared_options; *n; n++)
			if (option_find(*n) == NULL)
				fail_msg("%s names shared option --%s, which has no row", e->name, *n);
		for (int k = 0; k < e->option_count; k++) {
			if (option_find(e->options[k].name))
				fail_msg("%s's own --%s shadows a shared option", e->name, e->options[k].name);
			for (int j = 0; j < k; j++)
				if (strcmp(e->options[j].name, e->options[k].name) == 0)
					fail_msg("%s has --%s twice", e->name, e->options[k].name);
			if (e->options[k].offset >= e->settings_size)
				fail_msg("%s: --%s points outside its settings", e->name, e->options[k].name);
		}
	}
}

/* ---- a demonstration experiment, defined here and nowhere else ---- */

struct demo_settings {
	long widgets;
	const char *colour;
};

#define AT(field) offsetof(struct demo_settings, field)
static const struct option_def demo_options[] = {
	{ "widgets", 0, OPT_LONG, "N", "3", 1, 10, "widgets per point", AT(widgets) },
	{ "colour", 0, OPT_STRING, "NAME", NULL, 0, 0, "the widgets' colour", AT(colour) },
};
#undef AT
static const char *const demo_shared[] = { "cpus", "output", "topology", "quiet", "help", NULL };
static const char *const demo_csv[] = { "demo.csv", NULL };
static const char *const demo_figures[] = { "demo.png", NULL };

static long prepared_widgets;

static int demo_prepare(const char *cmd, const struct options *o, const void *settings,
			const struct topology *t, void **plan, char *skip_reason)
{
	(void)cmd, (void)o, (void)t, (void)skip_reason;
	const struct demo_settings *own = settings;
	prepared_widgets = own->widgets;
	*plan = NULL;
	return EXIT_DONE;
}

static int demo_measure(struct run *r, void *plan, double budget_s)
{
	(void)plan, (void)budget_s;
	experiment_describe(r, "demo", demo_csv, NULL, "3 widgets");
	return EXIT_DONE;
}

static void demo_release(void *plan)
{
	(void)plan;
}

static const struct experiment experiment_demo = {
	.name = "demo",
	.summary = "a demonstration",
	.examples = "  cohmap demo --widgets 5\n",
	.shared_options = demo_shared,
	.options = demo_options,
	.option_count = ARRAY_SIZE(demo_options),
	.settings_size = sizeof(struct demo_settings),
	.title = "Demo",
	.shows = "nothing",
	.read = "nothing",
	.csv = demo_csv,
	.figures = demo_figures,
	.prepare = demo_prepare,
	.measure = demo_measure,
	.release = demo_release,
};

static const struct command command_demo = { .name = "demo", .experiment = &experiment_demo };

static int parse(char **argv, int argc, struct options *o)
{
	int first;
	return command_parse(&command_demo, argc, argv, o, &first);
}

static void a_descriptor_alone_parses_its_options(void **state)
{
	(void)state;
	struct options o;
	char *defaults[] = { "demo" };
	assert_int_equal(parse(defaults, 1, &o), 0);
	const struct demo_settings *s = o.settings;
	assert_int_equal(s->widgets, 3);
	assert_null(s->colour);
	free(o.settings);

	char *given[] = { "demo", "--widgets", "7", "--colour", "red", "-q" };
	assert_int_equal(parse(given, 6, &o), 0);
	s = o.settings;
	assert_int_equal(s->widgets, 7);
	assert_string_equal(s->colour, "red");
	assert_true(o.quiet);
	free(o.settings);

	char *out_of_range[] = { "demo", "--widgets", "11" };
	assert_int_equal(parse(out_of_range, 3, &o), -1);
	char *not_its_option[] = { "demo", "--sizes", "4K" };
	assert_int_equal(parse(not_its_option, 3, &o), -1);
}

static void a_descriptor_alone_writes_its_help(void **state)
{
	(void)state;
	char text[4096] = "";
	FILE *f = fmemopen(text, sizeof text - 1, "w");
	assert_non_null(f);
	command_usage(&command_demo, f);
	fclose(f);
	assert_non_null(strstr(text, "usage: cohmap demo [options]"));
	assert_non_null(strstr(text, "--widgets N"));
	assert_non_null(strstr(text, "(default: 3)"));
	assert_non_null(strstr(text, "-o, --output DIR"));
	assert_non_null(strstr(text, "cohmap demo --widgets 5"));
}

static void a_descriptor_alone_runs(void **state)
{
	(void)state;
	char topology[PATH_MAX], output[PATH_MAX], meta[PATH_MAX + 16];
	const char *src = getenv("COHMAP_SRCDIR");
	char tmpl[] = "/tmp/cohmap-registry-XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	snprintf(topology, sizeof topology, "%s/topology/fixtures/intel-2s-smt.topo", src ? src : ".");
	snprintf(output, sizeof output, "%s/run", tmpl);
	char *argv[] = { "demo", "--widgets", "5", "-q", "-o", output, "-t", topology };
	struct options o;
	assert_int_equal(parse(argv, 8, &o), 0);
	o.command_argc = 8;
	o.command_argv = argv;
	const struct experiment *const list[] = { &experiment_demo };
	void *const settings[] = { o.settings };
	prepared_widgets = 0;
	assert_int_equal(run_experiments("demo", &o, list, settings, 1, 0), EXIT_DONE);
	assert_int_equal(prepared_widgets, 5);
	snprintf(meta, sizeof meta, "%s/meta.json", output);
	char text[65536] = "";
	FILE *f = fopen(meta, "r");
	assert_non_null(f);
	size_t n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = '\0';
	assert_non_null(strstr(text, "\"demo\""));
	assert_non_null(strstr(text, "3 widgets"));
	/* it set no status: the suite gives it the one its exit code means */
	json_t *m = json_load_file(meta, 0, NULL);
	assert_non_null(m);
	json_t *demo = json_object_get(json_object_get(m, "experiments"), "demo");
	assert_string_equal(json_string_value(json_object_get(demo, "status")), "complete");
	json_decref(m);
	free(o.settings);
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpl);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_descriptor_is_whole),
		cmocka_unit_test(option_names_are_unique),
		cmocka_unit_test(a_descriptor_alone_parses_its_options),
		cmocka_unit_test(a_descriptor_alone_writes_its_help),
		cmocka_unit_test(a_descriptor_alone_runs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
