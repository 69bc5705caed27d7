/* Where the line lives (--lines N): each pair is measured on N cache lines,
 * each in a page of its own, homed on the NUMA nodes in turn and at a
 * different place in its page.
 *
 * The address class of a line is its position in its page, counted in
 * cache lines: address bits 6 to 11 on a 4 KiB page with 64-byte lines.
 * These bits are the same in the virtual and the physical address (a page
 * is mapped whole), so unlike the upper bits they are ours to choose without
 * reading /proc/self/pagemap, and they are inputs to the hashes that pick
 * the L3 slice, CHA or home agent on the meshes that have one (Intel's
 * slice hash, AMD's and Arm's home-node interleave). Lines of different
 * classes in different pages hit different slices; a pair whose latency
 * moves with the class shows that the slice that tracks the line matters.
 *
 * Pure functions of their arguments: tests/unit/test_lines.c checks them. */
#ifndef COHMAP_LINE_PLAN_H
#define COHMAP_LINE_PLAN_H

#include <stddef.h>

#include "topology/topology.h"

/* --lines at most: one line per 64-byte slot of a 4 KiB page. */
#define LINES_MAX 64

/* The NUMA nodes the topology's CPUs are on, ascending, each once, into
 * nodes (room for t->ncpus). Returns how many. */
int line_nodes(const struct topology *t, int *nodes);

/* The home node of line `line` of a pair whose first line is homed on
 * first_node (the --home policy's node for the pair): the nodes in turn,
 * starting at first_node, so N >= nnodes lines give every node at least one.
 * first_node < 0 (no NUMA placement) stays -1; a first_node not in nodes
 * starts the turn at nodes[0]. */
int line_home(int line, int nlines, int first_node, const int *nodes, int nnodes);

/* The address class of line `line` of nlines: its position in its page in
 * cache lines, spread evenly over the slots where a kernel's lines
 * (kernel_bytes, from the position on) still fit in the page. Line 0 is at
 * position 0, where every measurement was before --lines. */
int line_address_class(int line, int nlines, size_t page_bytes, size_t line_bytes,
		       size_t kernel_bytes);

#endif
