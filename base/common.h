/* Conventions shared by every part of cohmap: exit codes and error messages. */
#ifndef COHMAP_COMMON_H
#define COHMAP_COMMON_H

#include <stddef.h>

#define COHMAP_VERSION "0.1.0"

/* Exit codes, documented in --help and docs/. "Skipped" means the machine
 * lacks a feature the command needs (no counters, no huge pages); "partial"
 * means measurements were written but something after them failed (plots). */
enum cohmap_exit {
	EXIT_DONE = 0,
	EXIT_RUNTIME = 1,
	EXIT_USAGE = 2,
	EXIT_SKIPPED = 3,
	EXIT_PARTIAL = 4,
	EXIT_INTERRUPTED = 130,
};

/* Functions that can fail return 0 on success and -1 on failure, writing one
 * human-readable line (no trailing newline) into an error buffer of this size. */
#define ERRLEN 512
#define set_error(err, ...) snprintf((err), ERRLEN, __VA_ARGS__)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
