/* libFuzzer target: the results CSV reader (base/csv.c) and what `cohmap
 * plot` builds on it: a latency.csv of any content next to a fixed topology
 * is read, and when it is accepted, its heatmap data files are written (no
 * gnuplot runs). Every cell of an accepted file is reachable by name. */
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/common.h"
#include "base/csv.h"
#include "experiments/latency/latency_plot.h"
#include "plots/plot.h"
#include "tests/fuzz/fuzz.h"
#include "topology/topology.h"

/* Two sockets of two cores of two threads, numbered the way Intel does
 * (siblings n and n+4), so the plot code sorts into topology order. */
static const char fixture[] =
	"# cohmap topology v1\n"
	"cpu_model Fuzz\nvendor GenuineIntel\nfamily 6\nmodel 85\nstepping 4\nline_size 64\n"
	"l1d_bytes 32768\nl2_bytes 1048576\nl3_bytes 16777216\n"
	"cpu 0 0 0 0 0 0 0 0 1 1\ncpu 1 0 0 0 0 1 1 0 1 1\n"
	"cpu 2 1 2 1 2 2 2 0 1 1\ncpu 3 1 2 1 2 3 3 0 1 1\n"
	"cpu 4 0 0 0 0 0 0 1 1 1\ncpu 5 0 0 0 0 1 1 1 1 1\n"
	"cpu 6 1 2 1 2 2 2 1 1 1\ncpu 7 1 2 1 2 3 3 1 1 1\n";
static struct topology topo;
static char dir[PATH_MAX], csv_path[PATH_MAX];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char path[64], err[ERRLEN];
	int fd = fuzz_file((const uint8_t *)fixture, sizeof fixture - 1, path, sizeof path);
	if (topology_load(&topo, path, err) != 0) {
		fprintf(stderr, "fuzz_csv: fixture: %s\n", err);
		abort();
	}
	close(fd);
	snprintf(dir, sizeof dir, "/tmp/cohmap-fuzz-csv.XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(csv_path, sizeof csv_path, "%s/latency.csv", dir);
	return 0;
}

/* The data files of every kernel name the fuzzer invents would pile up. */
static void empty_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[PATH_MAX + 256];
	while (d && (e = readdir(d)) != NULL)
		if (e->d_name[0] != '.') {
			snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
			unlink(path);
		}
	if (d)
		closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[ERRLEN];
	struct csv c;
	int fd = fuzz_file(data, size, path, sizeof path);

	if (csv_read(path, &c, err) == 0) {
		if (c.ncols < 1 || c.nrows < 0)
			abort();
		for (int r = 0; r < c.nrows; r++)
			for (int k = 0; k < c.ncols; k++) {
				const char *cell = csv_cell(&c, r, c.header[k]);
				double v;
				/* With duplicate names refused, a name finds its own column. */
				if (cell != c.cells[r][k] || strpbrk(cell, ",\"\n\r"))
					abort();
				(void)csv_number(&c, r, c.header[k], &v);
			}
		csv_free(&c);
	} else if (err[0] == '\0' || strchr(err, '\n')) {
		abort();
	}
	close(fd);

	/* The same bytes as a results directory's latency.csv. */
	FILE *f = fopen(csv_path, "w");
	if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	if (plot_latency_data(dir, &topo, size % 2 ? "min" : "median", err) < 0 &&
	    (err[0] == '\0' || strchr(err, '\n')))
		abort();
	empty_dir();
	return 0;
}
