#include "harness/placement.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"

int parse_home(const char *text, const struct topology *t, enum home_policy *policy,
	       int *node, char *err)
{
	if (strcmp(text, "first") == 0) {
		*policy = HOME_FIRST;
		return 0;
	}
	if (strcmp(text, "second") == 0) {
		*policy = HOME_SECOND;
		return 0;
	}
	char *end;
	errno = 0;
	long n = strtol(text, &end, 10);
	bool known = false;
	for (int i = 0; i < t->ncpus && !errno && *end == '\0' && end != text; i++)
		known |= t->cpus[i].numa_node == n;
	if (!known) {
		set_error(err, "--home must be first, second or a NUMA node of this machine (got '%s')", text);
		return -1;
	}
	*policy = HOME_NODE;
	*node = (int)n;
	return 0;
}
