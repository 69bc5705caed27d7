/* A one-line progress bar on stderr, only when stderr is a terminal. */
#ifndef COHMAP_PROGRESS_H
#define COHMAP_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

struct progress {
	bool enabled;
	const char *label;
	long total;
	uint64_t started_ns;
};

void progress_start(struct progress *p, bool enabled, const char *label, long total);
void progress_update(const struct progress *p, long done);
void progress_end(const struct progress *p);

#endif
