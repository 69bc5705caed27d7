/* `cohmap plot DIR`: redraw a results directory without measuring. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "harness/commands.h"
#include "harness/common.h"
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
	if (strcmp(o->stat, "median") != 0 && strcmp(o->stat, "min") != 0) {
		fprintf(stderr, "cohmap %s: --stat must be median or min (got '%s')\n", cmd->name, o->stat);
		return EXIT_USAGE;
	}
	snprintf(path, sizeof path, "%s/topology.txt", dir);
	if (topology_load(&t, o->topology ? o->topology : path, err) != 0) {
		fprintf(stderr, "cohmap %s: %s\n", cmd->name, err);
		return EXIT_USAGE;
	}
	int rc = EXIT_DONE;
	if (!plot_gnuplot_available(why, sizeof why)) {
		fprintf(stderr, "cohmap %s: %s\n", cmd->name, why);
		rc = EXIT_SKIPPED;
	} else {
		int drawn = plot_latency_heatmaps(dir, &t, o->stat, err);
		if (drawn < 0) {
			fprintf(stderr, "cohmap %s: %s\n", cmd->name, err);
			rc = EXIT_USAGE;
		} else {
			printf("%d heatmap%s drawn in %s\n", drawn, drawn == 1 ? "" : "s", dir);
		}
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
