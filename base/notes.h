/* A line of notes that grows as a plan is cut down to fit a budget:
 * "rounds 5 -> 3; run length 20 -> 10 ms". */
#ifndef COHMAP_NOTES_H
#define COHMAP_NOTES_H

#include <stddef.h>

/* Appends one note to buf (size bytes), after "; " when buf has one already;
 * what does not fit is cut. */
void note_append(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
