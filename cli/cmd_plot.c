/* `cohmap plot DIR`: redraw a results directory without measuring: every
 * experiment of the registry whose first CSV file is there draws itself. */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "base/common.h"
#include "harness/meta_check.h"
#include "experiments/latency/latency_plot.h"
#include "plots/plot.h"

static int redraw(const struct command *cmd, struct options *o, int argc, char **argv)
{
	char err[ERRLEN], path[PATH_MAX], why[ERRLEN];
	struct topology t = { 0 };
	struct stat st;

	if (argc != 1) {
		fprintf(stderr, "cohmap %s: needs exactly one results directory (got %d arguments)\n",
			cmd->name, argc);
		return EXIT_USAGE;
	}
	const char *dir = argv[0];
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "cohmap %s: %s is not a results directory\n", cmd->name, dir);
		return EXIT_USAGE;
	}
	if (option_check_stat(cmd->name, o->stat) != 0)
		return EXIT_USAGE;
	/* The pictures come from the CSV files and topology.txt, but a broken
	 * meta.json means a broken directory (a run cut off, a bad copy): say so
	 * rather than redraw it as if it were whole. A directory without one
	 * (CSV files put together by hand) is drawn, with a note. */
	snprintf(path, sizeof path, "%s/meta.json", dir);
	bool has_meta = access(path, F_OK) == 0;
	if (has_meta) {
		json_t *meta = meta_load_checked(path, err);
		if (meta == NULL) {
			fprintf(stderr, "cohmap %s: %s\n", cmd->name, err);
			return EXIT_USAGE;
		}
		json_decref(meta);
	}
	snprintf(path, sizeof path, "%s/topology.txt", dir);
	if (topology_load(&t, o->topology ? o->topology : path, err) != 0) {
		fprintf(stderr, "cohmap %s: %s\n", cmd->name, err);
		return EXIT_USAGE;
	}
	int rc = EXIT_DONE, drawn = 0, found = 0;
	if (!plot_gnuplot_available(why, sizeof why)) {
		fprintf(stderr, "cohmap %s: %s\n", cmd->name, why);
		topology_free(&t);
		return EXIT_SKIPPED;
	}
	if (!has_meta)
		fprintf(stderr, "cohmap %s: note: %s has no meta.json; drawing from its CSV files\n",
			cmd->name, dir);
	/* Every experiment whose CSV is there; one that cannot be drawn is
	 * reported and the others are still drawn. */
	for (int i = 0; i < experiment_count; i++) {
		const struct experiment *e = experiment_registry[i];
		snprintf(path, sizeof path, "%s/%s", dir, e->csv[0]);
		if (access(path, F_OK) != 0)
			continue;
		found++;
		int n = e->draw(dir, &t, o->stat, err);
		if (n < 0) {
			fprintf(stderr, "cohmap %s: %s\n", cmd->name, err);
			rc = EXIT_USAGE;
		} else {
			drawn += n;
		}
	}
	if (found == 0) {
		/* latency's reader names the file it wanted */
		if (plot_latency_heatmaps(dir, &t, o->stat, err) < 0) {
			fprintf(stderr, "cohmap %s: %s\n", cmd->name, err);
			rc = EXIT_USAGE;
		}
	} else if (rc == EXIT_DONE) {
		printf("%d image%s drawn in %s\n", drawn, drawn == 1 ? "" : "s", dir);
	}
	topology_free(&t);
	return rc;
}

static const char *const plot_options[] = { "stat", "topology", "help", NULL };

const struct command command_plot = {
	.name = "plot",
	.args = "DIR",
	.summary = "redraw the plots of a results directory without measuring",
	.options = plot_options,
	.examples = "  cohmap plot results/myhost-20261123T190000Z\n"
		    "  cohmap plot results/myhost-20261123T190000Z --stat min\n",
	.run = redraw,
};
