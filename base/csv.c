/* Tidy CSV files, read strictly and written one whole row at a time.
 *
 * The reader takes a file cohmap wrote (or a person edited) and may be fed
 * anything, so it checks everything before it trusts a count: the whole file is
 * read into memory, scanned once to validate characters and cell counts, and
 * only then split in place. A struct csv owns exactly two allocations:
 *   header -> [ncols pointers][the file's text, commas and newlines now NULs]
 *   cells  -> [nrows row pointers][nrows * ncols cell pointers]
 * so csv_free cannot leak a cell and a half-built csv is freed the same way. */
#include "base/csv.h"
#include "base/common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Large enough for a 1024-CPU latency matrix of several kernels; a bigger
 * file is more likely a mistake (or a fuzzer) than a result. */
#define CSV_MAX_BYTES ((size_t)1 << 30)

/* Reads the whole file; st_size is only a first guess (pipes and /proc say 0). */
static int read_all(const char *path, char **text, size_t *len, char *err)
{
	int fd = -1, ret = -1;
	char *buf = NULL;
	size_t cap = 4096, used = 0;
	struct stat st;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		set_error(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		set_error(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		set_error(err, "%s: is a directory", path);
		goto out;
	}
	if (st.st_size > 0 && (uintmax_t)st.st_size < CSV_MAX_BYTES)
		cap = (size_t)st.st_size + 1;
	buf = malloc(cap);
	if (!buf) {
		set_error(err, "%s: out of memory", path);
		goto out;
	}
	for (;;) {
		if (used == cap) {
			if (cap >= CSV_MAX_BYTES) {
				set_error(err, "%s: larger than %zu bytes", path, CSV_MAX_BYTES);
				goto out;
			}
			char *bigger = realloc(buf, cap * 2);
			if (!bigger) {
				set_error(err, "%s: out of memory", path);
				goto out;
			}
			buf = bigger;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + used, cap - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			set_error(err, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	*text = buf;
	*len = used;
	buf = NULL;
	ret = 0;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return ret;
}

/* What may appear in a cell: printable text without the CSV metacharacters.
 * A quote is refused rather than interpreted, because cohmap never writes one
 * and a quoted cell would mean some other program's file. */
static const char *bad_char(unsigned char ch)
{
	if (ch == '"')
		return "a quote";
	if (ch == '\r')
		return "a carriage return (DOS line ends)";
	if (ch == '\0')
		return "a NUL byte";
	if ((ch < 0x20 && ch != '\n') || ch == 0x7f)
		return "a control character";
	return NULL;
}

/* A column name starts with a letter or '_' and has no blanks (median_ns,
 * cpu_a, perf::PAGE-FAULTS): that is what tells a header from a data row when a
 * file lost its first line. */
static bool is_column_name(const char *s)
{
	if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
		return false;
	return !strpbrk(s, " \t,\"\n\r");
}

/* Splits one NUL-terminated line in place at commas into exactly n cells. */
static void split_line(char *line, char **cells, int n)
{
	cells[0] = line;
	for (int i = 1; i < n; i++) {
		line = strchr(line, ',');
		*line++ = '\0';
		cells[i] = line;
	}
}

int csv_read(const char *path, struct csv *out, char *err)
{
	char *text = NULL, *block = NULL;
	char ***rows = NULL;
	size_t len = 0, nlines, line, ncols = 1, nrows;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (read_all(path, &text, &len, err) < 0)
		goto out;
	if (len == 0) {
		set_error(err, "%s: empty file (a header line is required)", path);
		goto out;
	}

	/* Pass 1: validate characters and count cells per line, so that every
	 * allocation below is sized from checked numbers. The newline ending the
	 * last line is optional; one empty line at the very end is tolerated. */
	size_t end = len;
	if (text[end - 1] == '\n')
		end--;
	if (end > 0 && text[end - 1] == '\n')
		end--;
	nlines = 1;
	size_t cells_in_line = 1;
	line = 1;
	for (size_t i = 0; i < end; i++) {
		const char *why = bad_char((unsigned char)text[i]);
		if (why) {
			set_error(err, "%s:%zu: %s is not allowed in a cell", path, line, why);
			goto out;
		}
		if (text[i] == ',') {
			cells_in_line++;
		} else if (text[i] == '\n') {
			if (i == 0 || text[i - 1] == '\n') {
				set_error(err, "%s:%zu: empty %s", path, line,
					  line == 1 ? "header line" : "line");
				goto out;
			}
			if (line == 1)
				ncols = cells_in_line;
			else if (cells_in_line != ncols) {
				set_error(err, "%s:%zu: %zu cells, the header has %zu", path, line,
					  cells_in_line, ncols);
				goto out;
			}
			cells_in_line = 1;
			nlines++;
			line++;
		}
	}
	if (end == 0) {
		set_error(err, "%s:1: empty header line", path);
		goto out;
	}
	if (text[end - 1] == '\n') {   /* more than one empty line at the end */
		set_error(err, "%s:%zu: empty line", path, line);
		goto out;
	}
	if (nlines == 1)
		ncols = cells_in_line;
	else if (cells_in_line != ncols) {
		set_error(err, "%s:%zu: %zu cells, the header has %zu", path, line, cells_in_line,
			  ncols);
		goto out;
	}
	nrows = nlines - 1;
	if (ncols > INT_MAX / 2 || nrows > INT_MAX / 2) {
		set_error(err, "%s: too many rows or columns", path);
		goto out;
	}

	/* Pass 2: one block for the header pointers and the text, one for rows. */
	block = malloc(ncols * sizeof(char *) + end + 1);
	if (!block) {
		set_error(err, "%s: out of memory", path);
		goto out;
	}
	char **header = (char **)block;
	char *copy = block + ncols * sizeof(char *);
	memcpy(copy, text, end);
	copy[end] = '\0';
	free(text);
	text = NULL;

	/* nrows * ncols cells each took at least one byte (its comma or newline)
	 * of a file we hold in memory, so this product cannot overflow. */
	if (nrows > 0) {
		rows = malloc(nrows * sizeof(char **) + nrows * ncols * sizeof(char *));
		if (!rows) {
			set_error(err, "%s: out of memory", path);
			goto out;
		}
	}
	char *p = copy;
	for (size_t l = 0; l < nlines; l++) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		char **cells = l == 0 ? header : (char **)(rows + nrows) + (l - 1) * ncols;
		split_line(p, cells, (int)ncols);
		if (l > 0)
			rows[l - 1] = cells;
		p = nl ? nl + 1 : p + strlen(p);
	}

	for (size_t c = 0; c < ncols; c++) {
		if (!is_column_name(header[c])) {
			set_error(err, "%s:1: '%.40s' is not a column name (is the header missing?)",
				  path, header[c]);
			goto out;
		}
		for (size_t d = 0; d < c; d++)
			if (strcmp(header[c], header[d]) == 0) {
				set_error(err, "%s:1: column '%s' appears twice", path, header[c]);
				goto out;
			}
	}

	out->ncols = (int)ncols;
	out->header = header;
	out->nrows = (int)nrows;
	out->cells = rows;
	block = NULL;
	rows = NULL;
	ret = 0;
out:
	free(text);
	free(block);
	free(rows);
	return ret;
}

void csv_free(struct csv *c)
{
	free(c->header);
	free(c->cells);
	memset(c, 0, sizeof(*c));
}

int csv_column(const struct csv *c, const char *name)
{
	for (int i = 0; i < c->ncols; i++)
		if (strcmp(c->header[i], name) == 0)
			return i;
	return -1;
}

const char *csv_cell(const struct csv *c, int row, const char *name)
{
	int col = csv_column(c, name);
	if (col < 0 || row < 0 || row >= c->nrows)
		return NULL;
	return c->cells[row][col];
}

bool csv_number(const struct csv *c, int row, const char *name, double *value)
{
	const char *s = csv_cell(c, row, name);
	char *end;

	if (!s)
		return false;
	if (*s == '\0' || strcmp(s, "NA") == 0) {
		*value = NAN;
		return true;
	}
	/* strtod would skip leading blanks; a cell with them is not one we wrote. */
	if (*s == ' ' || *s == '\t')
		return false;
	errno = 0;
	double v = strtod(s, &end);
	if (*end != '\0' || errno == ERANGE)
		return false;
	*value = v;
	return true;
}

/* ---- writer ---- */

static int write_all(int fd, const char *buf, size_t len, const char *what, char *err)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			set_error(err, "writing %s: %s", what, strerror(errno));
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static bool cell_ok(const char *s)
{
	return s && !strpbrk(s, ",\"\n\r");
}

/* Joins cells with commas and a final newline into one malloc'd line. */
static char *join_line(const char *const *cells, int n, size_t *len)
{
	size_t total = 0;
	for (int i = 0; i < n; i++)
		total += strlen(cells[i]) + 1;
	char *line = malloc(total + 1);
	if (!line)
		return NULL;
	char *p = line;
	for (int i = 0; i < n; i++) {
		size_t l = strlen(cells[i]);
		memcpy(p, cells[i], l);
		p += l;
		*p++ = i + 1 < n ? ',' : '\n';
	}
	*p = '\0';
	*len = total;
	return line;
}

/* Compares the first line of an existing file with the header we would write. */
static int check_header(int fd, const char *path, const char *header, size_t len, char *err)
{
	char *buf = malloc(len);
	size_t got = 0;
	int ret = -1;

	if (!buf) {
		set_error(err, "%s: out of memory", path);
		return -1;
	}
	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			set_error(err, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got != len || memcmp(buf, header, len) != 0) {
		set_error(err, "%s has other columns", path);
		goto out;
	}
	ret = 0;
out:
	free(buf);
	return ret;
}

int csv_writer_open(struct csv_writer *w, const char *path, const char *const *columns,
		    int ncols, bool append, char *err)
{
	char *header = NULL;
	size_t len = 0;
	int fd = -1, ret = -1;

	w->fd = -1;
	w->ncols = 0;
	if (ncols < 1) {
		set_error(err, "%s: a CSV file needs at least one column", path);
		goto out;
	}
	for (int i = 0; i < ncols; i++)
		if (!cell_ok(columns[i]) || !is_column_name(columns[i])) {
			set_error(err, "%s: '%s' is not a column name", path,
				  columns[i] ? columns[i] : "(null)");
			goto out;
		}
	header = join_line(columns, ncols, &len);
	if (!header) {
		set_error(err, "%s: out of memory", path);
		goto out;
	}

	/* O_APPEND makes each row's single write land at the end even if another
	 * writer appended meanwhile. */
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (write_all(fd, header, len, path, err) < 0) {
			close(fd);
			fd = -1;
			unlink(path);
			goto out;
		}
	} else if (errno == EEXIST && append) {
		fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
		if (fd < 0) {
			set_error(err, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (check_header(fd, path, header, len, err) < 0)
			goto out;
	} else {
		set_error(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	w->fd = fd;
	w->ncols = ncols;
	fd = -1;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	free(header);
	return ret;
}

int csv_writer_row(struct csv_writer *w, const char *const *cells, char *err)
{
	char *line = NULL;
	size_t len = 0;
	int ret = -1;

	if (w->fd < 0) {
		set_error(err, "CSV writer is not open");
		goto out;
	}
	/* Refused, not escaped: the reader accepts no quoting, and a value with a
	 * comma would silently shift every later column. */
	for (int i = 0; i < w->ncols; i++)
		if (!cell_ok(cells[i])) {
			set_error(err, "CSV cell %d %s%s%s contains a comma, quote or newline", i + 1,
				  cells[i] ? "'" : "", cells[i] ? cells[i] : "(null)",
				  cells[i] ? "'" : "");
			goto out;
		}
	line = join_line(cells, w->ncols, &len);
	if (!line) {
		set_error(err, "CSV row: out of memory");
		goto out;
	}
	ret = write_all(w->fd, line, len, "CSV row", err);
out:
	free(line);
	return ret;
}

int csv_writer_close(struct csv_writer *w, char *err)
{
	int ret = 0;

	if (w->fd >= 0 && close(w->fd) < 0) {
		set_error(err, "closing CSV file: %s", strerror(errno));
		ret = -1;
	}
	w->fd = -1;
	return ret;
}
