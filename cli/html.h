/* Writing the HTML reports (index.html of a results directory and of a
 * comparison). A page is built in memory with stdio (open_memstream) and
 * saved atomically, so a reader never sees half a report. Every piece of
 * text that comes from a file goes through html_text or html_href: names of
 * CPUs, hosts and warnings are data, never markup. Pages are self-contained:
 * inline CSS, no script, no external resource, links relative to the page. */
#ifndef COHMAP_HTML_H
#define COHMAP_HTML_H

#include <stdbool.h>
#include <stdio.h>

struct html {
	FILE *f;
	char *buf;
	size_t len;
};

/* Starts a page: doctype, title, the shared style sheet, <body>. */
int html_begin(struct html *h, const char *title, char *err);
/* Closes the page and writes it to path atomically (path.tmp + rename).
 * Frees the buffer whatever happens. */
int html_save(struct html *h, const char *path, char *err);
void html_discard(struct html *h);

/* Text with & < > " ' escaped. */
void html_text(FILE *f, const char *s);
/* printf, then escaped. */
void html_textf(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A relative link to a file next to the page: percent-encodes what is not
 * safe in a URL path (so "a b#1.png" still links), then escapes for an
 * attribute. */
void html_href(FILE *f, const char *file);
/* <td> with a number, right aligned; NaN prints "NA". */
void html_number_cell(FILE *f, double v, int decimals);

/* Width and height of dir/file from its PNG header; false when it is not a PNG. */
bool html_png_size(const char *dir, const char *file, unsigned *width, unsigned *height);

/* True when dir/file exists and is a regular file. */
bool html_file_exists(const char *dir, const char *file);

#endif
