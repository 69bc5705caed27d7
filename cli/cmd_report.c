/* `cohmap report DIR`: (re)write the index.html of a results directory or of
 * a comparison, e.g. after `cohmap plot` redrew its pictures. */
#include <stdio.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "base/common.h"
#include "cli/report.h"

static int write_report(const struct command *cmd, struct options *o, int argc, char **argv)
{
	char err[ERRLEN];
	struct stat st;

	if (argc != 1) {
		fprintf(stderr, "cohmap %s: needs exactly one results directory (got %d arguments)\n",
			cmd->name, argc);
		return EXIT_USAGE;
	}
	if (stat(argv[0], &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "cohmap %s: %s is not a results directory\n", cmd->name, argv[0]);
		return EXIT_USAGE;
	}
	if (report_rewrite(argv[0], err) != 0) {
		fprintf(stderr, "cohmap %s: %s\n", cmd->name, err);
		return EXIT_USAGE;
	}
	if (!o->quiet)
		printf("report: %s/index.html\n", argv[0]);
	return EXIT_DONE;
}

static const char *const report_options[] = { "quiet", "help", NULL };

const struct command command_report = {
	.name = "report",
	.args = "DIR",
	.summary = "write DIR/index.html: every experiment's plots, key numbers, machine and warnings",
	.options = report_options,
	.examples = "  cohmap report results/myhost-20261123T190000Z\n"
		    "  xdg-open results/myhost-20261123T190000Z/index.html\n",
	.run = write_report,
};
