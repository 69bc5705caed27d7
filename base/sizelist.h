/* --sizes: the sizes an experiment sweeps, as a list or a doubling range.
 * Single sizes are parsed by base/memory.h (parse_bytes). */
#ifndef COHMAP_SIZELIST_H
#define COHMAP_SIZELIST_H

#include <stdint.h>

/* "MIN-MAX" (MIN, 2 MIN, 4 MIN, ... and MAX itself) or a comma list
 * "64,4K,1M". Sizes come out ascending and distinct, none zero. Returns the
 * count, or -1 with a message naming --sizes in err. */
int sizes_parse(const char *text, uint64_t *sizes, int max, char *err);

#endif
