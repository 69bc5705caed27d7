/* Tidy CSV files: one header line of named columns (units in the names:
 * median_ns, gbps), then one row per measurement. Cells never contain commas,
 * quotes or newlines (cohmap writes only names and numbers); a reader meeting
 * them, or a row with the wrong number of cells, reports a malformed file. */
#ifndef COHMAP_CSV_H
#define COHMAP_CSV_H

#include <stdbool.h>

struct csv {
	int ncols;
	char **header;
	int nrows;
	char ***cells;   /* cells[row][col] */
};

int csv_read(const char *path, struct csv *out, char *err);
void csv_free(struct csv *c);
int csv_column(const struct csv *c, const char *name);             /* -1 when absent */
const char *csv_cell(const struct csv *c, int row, const char *name); /* NULL when absent */
/* A numeric cell: "NA" and empty cells give NAN. Returns false when the cell is
 * missing or not a number. */
bool csv_number(const struct csv *c, int row, const char *name, double *value);

/* Appending writer. The header is written when the file is created; each row
 * goes out in one write(2), so a run interrupted between rows leaves only whole
 * rows behind. */
struct csv_writer {
	int fd;
	int ncols;
};
/* Creates path (O_EXCL unless append is true, in which case an existing file must
 * have exactly this header). */
int csv_writer_open(struct csv_writer *w, const char *path, const char *const *columns,
		    int ncols, bool append, char *err);
/* cells: ncols strings. */
int csv_writer_row(struct csv_writer *w, const char *const *cells, char *err);
int csv_writer_close(struct csv_writer *w, char *err);

#endif
