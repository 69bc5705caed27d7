/* Where shared memory lives: --home, the NUMA node of the lines the agents
 * hand back and forth, for every experiment that places them. */
#ifndef COHMAP_PLACEMENT_H
#define COHMAP_PLACEMENT_H

#include "topology/topology.h"

/* first: the node of the CPU that starts (the initiator, the producer);
 * second: the other CPU's node; a node number: that node. */
enum home_policy { HOME_FIRST, HOME_SECOND, HOME_NODE };

/* Parses --home: "first", "second" or a node number the topology knows.
 * Returns 0, or -1 with a message. */
int parse_home(const char *text, const struct topology *t, enum home_policy *policy,
	       int *node, char *err);

#endif
