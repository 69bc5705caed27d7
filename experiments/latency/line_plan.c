#include "experiments/latency/line_plan.h"

int line_nodes(const struct topology *t, int *nodes)
{
	int n = 0;
	for (int i = 0; i < t->ncpus; i++) {
		int node = t->cpus[i].numa_node, at = n;
		if (node < 0)
			continue;
		for (int j = 0; j < n; j++)
			if (nodes[j] >= node) {
				at = j;
				break;
			}
		if (at < n && nodes[at] == node)
			continue;
		for (int j = n; j > at; j--)
			nodes[j] = nodes[j - 1];
		nodes[at] = node;
		n++;
	}
	return n;
}

int line_home(int line, int nlines, int first_node, const int *nodes, int nnodes)
{
	(void)nlines;
	if (first_node < 0 || nnodes <= 0)
		return first_node < 0 ? -1 : first_node;
	int start = 0;
	while (start < nnodes && nodes[start] != first_node)
		start++;
	if (start == nnodes) /* a node with memory but no CPU of ours */
		return line == 0 ? first_node : nodes[(line - 1) % nnodes];
	return nodes[(start + line) % nnodes];
}

int line_address_class(int line, int nlines, size_t page_bytes, size_t line_bytes,
		       size_t kernel_bytes)
{
	if (line_bytes == 0 || nlines <= 0)
		return 0;
	long slots = (long)(page_bytes / line_bytes),
	     need = (long)((kernel_bytes + line_bytes - 1) / line_bytes);
	long usable = slots - need + 1; /* positions 0 .. slots - need */
	if (usable < 1)
		return 0;
	return (int)(((long)line * usable / nlines) % usable);
}
