/* Calling liblikwid from topology/: starting it once per process and
 * capturing the INFO/WARN text it prints around a call. Internal to
 * topology/: defined by likwid_source.c (or by likwid_none.c in a build
 * without liblikwid) and likwid_capture.c. */
#ifndef COHMAP_LIKWID_CALLS_H
#define COHMAP_LIKWID_CALLS_H

#include <stddef.h>

struct likwid_capture {
	int fd, out, err;
};

/* Points stdout and stderr at a memfd (liblikwid's chatter). 0, or -1 with a
 * message. */
int likwid_capture_begin(struct likwid_capture *c, char *err);
/* Restores the descriptors and returns likwid's first line that is more than
 * INFO ("" if none), without its "WARN:"/"ERROR:" tag. */
void likwid_capture_end(struct likwid_capture *c, char *first, size_t size);
/* topology_init() and friends, once per process. 0, or -1 with a message
 * (always, in a build without liblikwid). */
int likwid_start(char *err);
/* After likwid_start: the CPUs of a likwid expression (cpustr_to_cpulist),
 * and how many hardware threads likwid knows. */
int likwid_cpulist(const char *expr, int *cpus, int max);
int likwid_hw_threads(void);
/* The topology from liblikwid. 0, or -1 with a message. */
struct topology;
int likwid_topology_detect(struct topology *t, char *err);

#endif
