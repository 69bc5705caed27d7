/* Capturing what liblikwid prints around a call: stdout and stderr point at
 * a memfd while it runs, so cohmap's own output stays clean and likwid's text
 * can become part of an error message. Plain POSIX, so it is built with or
 * without liblikwid. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/common.h"
#include "topology/likwid_calls.h"

/* liblikwid prints INFO/WARN lines to stdout and stderr. Both descriptors are
 * pointed at a memfd around every call, so cohmap's own output stays clean and
 * the text can become part of an error message. The redirection is process
 * wide: callers run it before starting agents. */
int likwid_capture_begin(struct likwid_capture *c, char *err)
{
	fflush(stdout);
	fflush(stderr);
	c->fd = memfd_create("cohmap-likwid", MFD_CLOEXEC);
	c->out = dup(STDOUT_FILENO);
	c->err = dup(STDERR_FILENO);
	if (c->fd >= 0 && c->out >= 0 && c->err >= 0 && dup2(c->fd, STDOUT_FILENO) >= 0 &&
	    dup2(c->fd, STDERR_FILENO) >= 0)
		return 0;
	set_error(err, "cannot capture liblikwid's messages: %s", strerror(errno));
	if (c->out >= 0)
		dup2(c->out, STDOUT_FILENO), close(c->out);
	if (c->err >= 0)
		dup2(c->err, STDERR_FILENO), close(c->err);
	if (c->fd >= 0)
		close(c->fd);
	return -1;
}

/* Restores the descriptors and returns likwid's first line that is more than
 * INFO ("" if none), without its "WARN:"/"ERROR:" tag. */
void likwid_capture_end(struct likwid_capture *c, char *first, size_t size)
{
	char text[4096], *line, *save = NULL;
	ssize_t n;

	fflush(stdout);
	fflush(stderr);
	dup2(c->out, STDOUT_FILENO);
	dup2(c->err, STDERR_FILENO);
	close(c->out);
	close(c->err);
	n = pread(c->fd, text, sizeof(text) - 1, 0);
	close(c->fd);
	text[n > 0 ? n : 0] = '\0';
	first[0] = '\0';
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		line += strspn(line, " \t");
		if (!*line || strncmp(line, "INFO", 4) == 0)
			continue;
		if (strncmp(line, "WARN: ", 6) == 0 || strncmp(line, "ERROR: ", 7) == 0)
			line = strchr(line, ' ') + 1;
		snprintf(first, size, "%s", line);
		return;
	}
}

