/* A build without liblikwid (make NO_LIKWID=1, the default for ARCH=aarch64:
 * Debian ships likwid for amd64 only). Every call says so, and the topology
 * comes from sysfs (topology/sysfs_source.c); CPUs are named by number. */
#include <stdbool.h>

#include "base/common.h"
#include "topology/likwid_calls.h"
#include "topology/topology.h"

#define NO_LIKWID_REASON "this build has no liblikwid (built with NO_LIKWID=1: Debian has no likwid package for this architecture)"

bool topology_likwid_built(void)
{
	return false;
}

int likwid_start(char *err)
{
	set_error(err, "%s", NO_LIKWID_REASON);
	return -1;
}

int likwid_cpulist(const char *expr, int *cpus, int max)
{
	(void)expr, (void)cpus, (void)max;
	return -1;
}

int likwid_hw_threads(void)
{
	return 0;
}

int likwid_topology_detect(struct topology *t, char *err)
{
	(void)t;
	set_error(err, "%s", NO_LIKWID_REASON);
	return -1;
}
