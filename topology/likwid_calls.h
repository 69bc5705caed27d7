/* Calling liblikwid from topology/: starting it once per process and
 * capturing the INFO/WARN text it prints around a call. Internal to
 * topology/likwid_source.c and topology/cpu_select.c. */
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
/* topology_init() and friends, once per process. 0, or -1 with a message. */
int likwid_start(char *err);

#endif
