/* Shared by the libFuzzer targets in tests/fuzz/: the readers under test take
 * a path, so each input is handed over as an in-memory file (memfd) reached
 * through /proc/self/fd, with no disk I/O per run. */
#ifndef COHMAP_FUZZ_H
#define COHMAP_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Returns the memfd (close it when done) and its path in `path`; aborts when
 * the file cannot be made, which is a broken machine, not a finding. */
static inline int fuzz_file(const uint8_t *data, size_t size, char *path, size_t path_size)
{
	int fd = memfd_create("cohmap-fuzz", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	for (size_t done = 0; done < size;) {
		ssize_t w = write(fd, data + done, size - done);
		if (w <= 0)
			abort();
		done += (size_t)w;
	}
	snprintf(path, path_size, "/proc/self/fd/%d", fd);
	return fd;
}

#endif
