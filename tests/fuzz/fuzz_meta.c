/* libFuzzer target: reading meta.json back (harness/results.c's
 * json_load_object, with jansson) and rebuilding a latency plan from it, as
 * `cohmap latency --resume DIR` does. A plan it accepts must be one the
 * harness can run: known kernels, CPUs of the topology, positive limits. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/common.h"
#include "experiments/latency/latency.h"
#include "harness/results.h"
#include "kernels/registry.h"
#include "tests/fuzz/fuzz.h"
#include "topology/topology.h"

static const char fixture[] =
	"# cohmap topology v1\n"
	"cpu_model Fuzz\nvendor GenuineIntel\nfamily 6\nmodel 85\nstepping 4\nline_size 64\n"
	"l1d_bytes 32768\nl2_bytes 1048576\nl3_bytes 16777216\n"
	"cpu 0 0 0 0 0 0 0 0 1 1\ncpu 1 0 0 0 0 1 1 0 1 1\n"
	"cpu 2 1 2 1 2 2 2 0 1 1\ncpu 3 1 2 1 2 3 3 0 1 1\n";
static struct topology topo;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char path[64], err[ERRLEN];
	int fd = fuzz_file((const uint8_t *)fixture, sizeof fixture - 1, path, sizeof path);
	if (topology_load(&topo, path, err) != 0)
		abort();
	close(fd);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[ERRLEN];
	int fd = fuzz_file(data, size, path, sizeof path);
	json_t *meta = json_load_object(path, err);
	close(fd);
	if (meta == NULL) {
		if (err[0] == '\0' || strchr(err, '\n'))
			abort();
		return 0;
	}
	struct latency_plan plan = { 0 };
	plan.kernels = calloc((size_t)kernel_count, sizeof(const struct kernel *));
	plan.cpus = calloc((size_t)topo.ncpus, sizeof *plan.cpus);
	if (plan.kernels == NULL || plan.cpus == NULL)
		abort();
	if (latency_plan_from_meta(meta, &topo, &plan, err) == 0) {
		if (plan.nkernels < 1 || plan.nkernels > kernel_count || plan.ncpus < 2 ||
		    plan.ncpus > topo.ncpus || plan.measure.watchdog_s <= 0 ||
		    plan.measure.time_limit_s <= 0 || plan.measure.precision <= 0)
			abort();
		for (int i = 0; i < plan.nkernels; i++)
			if (plan.kernels[i] == NULL)
				abort();
		for (int i = 0; i < plan.ncpus; i++)
			if (topology_find(&topo, plan.cpus[i]) == NULL)
				abort();
	} else if (err[0] == '\0' || strchr(err, '\n')) {
		abort();
	}
	free((void *)plan.kernels);
	free((void *)plan.cpus);
	json_decref(meta);
	return 0;
}
