/* A results directory's meta.json as the commands that read it back (plot,
 * report, compare) may trust it: the members a run writes, each of the type
 * it writes it with. A run's own meta.json passes; a truncated one, or one
 * whose "experiments" is a list, is refused with one line instead of being
 * half-read into a page or a comparison. */
#ifndef COHMAP_META_CHECK_H
#define COHMAP_META_CHECK_H

#include <jansson.h>

/* Checks meta, read from path (named in the message). Members cohmap may
 * not have written (finished_utc of a running run, an older version's) may
 * be missing, except "experiments" and "warnings", which every run writes
 * first. Returns 0, or -1 with "PATH: MEMBER must be TYPE (it is TYPE)". */
int meta_check(const json_t *meta, const char *path, char *err);

/* Loads path (json_load_object) and checks it. NULL with the reason in err. */
json_t *meta_load_checked(const char *path, char *err);

#endif
