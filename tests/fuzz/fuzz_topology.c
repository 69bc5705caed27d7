/* libFuzzer target: the topology file reader (topology/topofile.c), which
 * `--topology FILE`, `cohmap plot` and `--resume` feed with files a person may
 * have edited. A file it accepts must satisfy topology_check(), survive a
 * save and load unchanged, and give every pair a class. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/common.h"
#include "tests/fuzz/fuzz.h"
#include "topology/topology.h"

static char saved[PATH_MAX];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char dir[] = "/tmp/cohmap-fuzz-topology.XXXXXX";
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(saved, sizeof saved, "%s/saved.topo", dir);
	return 0;
}

static void same_topology(const struct topology *a, const struct topology *b)
{
	if (a->ncpus != b->ncpus || a->line_size != b->line_size || a->l3_bytes != b->l3_bytes ||
	    strcmp(a->cpu_model, b->cpu_model) != 0 || strcmp(a->vendor, b->vendor) != 0)
		abort();
	for (int i = 0; i < a->ncpus; i++) {
		const struct cpu_place *x = &a->cpus[i], *y = &b->cpus[i];
		if (x->cpu != y->cpu || x->socket != y->socket || x->die != y->die ||
		    x->numa_node != y->numa_node || x->l3_group != y->l3_group ||
		    x->l2_group != y->l2_group || x->core != y->core || x->smt != y->smt ||
		    x->online != y->online || x->allowed != y->allowed)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[ERRLEN];
	struct topology t = { 0 }, again = { 0 };
	int fd = fuzz_file(data, size, path, sizeof path);

	if (topology_load(&t, path, err) == 0) {
		if (topology_check(&t, NULL, err) != 0)
			abort();
		/* Every pair has a class; the order is a permutation. */
		int n = t.ncpus < 64 ? t.ncpus : 64, cpus[64], sorted[64];
		for (int i = 0; i < n; i++)
			cpus[i] = sorted[i] = t.cpus[i].cpu;
		topology_sort(&t, sorted, n);
		for (int i = 0; i < n; i++) {
			int found = 0;
			for (int j = 0; j < n; j++)
				found += sorted[j] == cpus[i];
			if (found != 1)
				abort();
			for (int j = 0; j < n; j++)
				if (topology_pair_class(&t, cpus[i], cpus[j]) >= PAIR_CLASS_COUNT)
					abort();
		}
		/* The model string is the only free text; save replaces what
		 * the format cannot hold (newlines), so compare after one trip. */
		if (topology_save(&t, saved, err) != 0 || topology_load(&again, saved, err) != 0)
			abort();
		struct topology twice = { 0 };
		if (topology_save(&again, saved, err) != 0 || topology_load(&twice, saved, err) != 0)
			abort();
		same_topology(&again, &twice);
		if (again.ncpus != t.ncpus)
			abort();
		topology_free(&twice);
	} else if (err[0] == '\0' || strchr(err, '\n')) {
		abort(); /* a refusal is one line with a reason */
	}
	topology_free(&again);
	topology_free(&t);
	close(fd);
	return 0;
}
