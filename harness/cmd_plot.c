/* `cohmap plot DIR`: redraw a results directory without measuring. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/commands.h"
#include "harness/common.h"
#include "plots/bandwidth_plots.h"
#include "plots/channels_plots.h"
#include "plots/falseshare_plots.h"
#include "plots/fork_plots.h"
#include "plots/plot.h"
#include "plots/states_plot.h"

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
		/* states.csv (cohmap states) is drawn when present; latency.csv
		 * whenever it is present or nothing else is. */
		char states_csv[PATH_MAX];
		snprintf(states_csv, sizeof states_csv, "%s/states.csv", dir);
		snprintf(path, sizeof path, "%s/latency.csv", dir);
		bool has_states = access(states_csv, F_OK) == 0;
		char fork_csv[PATH_MAX];
		snprintf(fork_csv, sizeof fork_csv, "%s/fork.csv", dir);
		bool has_fork = access(fork_csv, F_OK) == 0;
		char channels_csv[PATH_MAX], attach_csv[PATH_MAX];
		snprintf(channels_csv, sizeof channels_csv, "%s/channels.csv", dir);
		snprintf(attach_csv, sizeof attach_csv, "%s/attach.csv", dir);
		bool has_channels = access(channels_csv, F_OK) == 0;
		bool has_attach = access(attach_csv, F_OK) == 0;
		char bandwidth_csv[PATH_MAX];
		snprintf(bandwidth_csv, sizeof bandwidth_csv, "%s/bandwidth.csv", dir);
		bool has_bandwidth = access(bandwidth_csv, F_OK) == 0;
		char falseshare_csv[PATH_MAX];
		snprintf(falseshare_csv, sizeof falseshare_csv, "%s/falseshare.csv", dir);
		bool has_falseshare = access(falseshare_csv, F_OK) == 0;
		int drawn = !(has_states || has_fork || has_channels || has_attach || has_bandwidth ||
			      has_falseshare) ||
				    access(path, F_OK) == 0
			    ? plot_latency_heatmaps(dir, &t, o->stat, err) : 0;
		struct states_plot_files states_files;
		if (drawn >= 0 && has_states) {
			int more = plot_states(dir, &t, o->stat, &states_files, err);
			drawn = more < 0 ? -1 : drawn + more;
			if (more >= 0)
				states_plot_files_free(&states_files);
		}
		if (drawn >= 0 && has_fork) { /* cohmap fork: fork.csv, pagetables.csv */
			int more = plot_fork_figures(dir, NULL, err);
			drawn = more < 0 ? -1 : drawn + more;
		}
		const char *images[4];
		if (drawn >= 0 && has_channels) { /* cohmap channels */
			int more = plot_channels_figures(dir, NULL, o->stat, images, err);
			drawn = more < 0 ? -1 : drawn + more;
		}
		if (drawn >= 0 && has_attach) { /* cohmap attach */
			int more = plot_attach_figures(dir, NULL, o->stat, images, err);
			drawn = more < 0 ? -1 : drawn + more;
		}
		if (drawn >= 0 && has_bandwidth) { /* cohmap bandwidth */
			char bandwidth_images[32][BANDWIDTH_PLOT_NAME];
			int more = plot_bandwidth(dir, &t, o->stat, bandwidth_images, 32, err);
			drawn = more < 0 ? -1 : drawn + more;
		}
		if (drawn >= 0 && has_falseshare) { /* cohmap falseshare */
			struct fs_plots falseshare_images;
			int more = plot_falseshare(dir, &t, true, &falseshare_images, err);
			drawn = more < 0 ? -1 : drawn + more;
		}
		if (drawn < 0) {
			fprintf(stderr, "cohmap %s: %s\n", cmd->name, err);
			rc = EXIT_USAGE;
		} else {
			printf("%d image%s drawn in %s\n", drawn, drawn == 1 ? "" : "s", dir);
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
