#include "base/memory.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/common.h"

/* Finds "name:" at the start of a line of a /proc file and returns its
 * number, times 1024 when the line says kB. */
static long long proc_field(const char *path, const char *name)
{
	FILE *f = fopen(path, "re");
	char line[256];
	size_t len = strlen(name);
	long long value = -1;
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, name, len) != 0 || line[len] != ':')
			continue;
		char *end;
		long long v = strtoll(line + len + 1, &end, 10);
		while (*end == ' ')
			end++;
		value = strncmp(end, "kB", 2) == 0 ? v * 1024 : v;
		break;
	}
	fclose(f);
	return value;
}

long long meminfo_field(const char *name)
{
	return proc_field("/proc/meminfo", name);
}

void hugetlb_pool_read(struct hugetlb_pool *p)
{
	long long size = meminfo_field("Hugepagesize");
	p->page_bytes = size > 0 ? (size_t)size : 0;
	p->total = (long)meminfo_field("HugePages_Total");
	p->free = (long)meminfo_field("HugePages_Free");
	p->reserved = (long)meminfo_field("HugePages_Rsvd");
}

long hugetlb_pool_available(const struct hugetlb_pool *p)
{
	if (p->page_bytes == 0 || p->free < 0)
		return 0;
	long available = p->free - (p->reserved > 0 ? p->reserved : 0);
	return available > 0 ? available : 0;
}

long long proc_status_bytes(pid_t pid, const char *name)
{
	char path[64];
	if (pid == 0)
		snprintf(path, sizeof path, "/proc/self/status");
	else
		snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	return proc_field(path, name);
}

long long smaps_bytes(const void *start, size_t len, const char *name)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[512];
	size_t name_len = strlen(name);
	uintptr_t lo = (uintptr_t)start, hi = lo + len;
	bool inside = false;
	long long total = 0;
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f)) {
		uintptr_t a, b;
		/* A VMA header ("7f..-7f.. rw-p ...") starts with a hex digit and
		 * has a '-' right after it; field lines start with a capital name. */
		if (isxdigit((unsigned char)line[0]) &&
		    sscanf(line, "%" SCNxPTR "-%" SCNxPTR, &a, &b) == 2) {
			inside = a < hi && b > lo;
			continue;
		}
		if (inside && strncmp(line, name, name_len) == 0 && line[name_len] == ':')
			total += strtoll(line + name_len + 1, NULL, 10) * 1024;
	}
	fclose(f);
	return total;
}

bool meminfo_refresh(void)
{
	int fd = open("/proc/sys/vm/stat_refresh", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool ok = write(fd, "1", 1) == 1;
	close(fd);
	return ok;
}

void fault_count_read(struct fault_count *f)
{
	struct rusage u;
	getrusage(RUSAGE_SELF, &u);
	f->minor = u.ru_minflt;
	f->major = u.ru_majflt;
}

int parse_bytes(const char *text, uint64_t *bytes, char *err)
{
	char *end;
	errno = 0;
	double value = strtod(text, &end);
	if (end == text || errno || !isfinite(value) || value < 0 || text[0] == '-') {
		set_error(err, "'%s' is not a size (examples: 0, 4096, 64K, 256M, 1G)", text);
		return -1;
	}
	double unit = 1;
	switch (toupper((unsigned char)*end)) {
	case 'K': unit = 1024.0; end++; break;
	case 'M': unit = 1024.0 * 1024; end++; break;
	case 'G': unit = 1024.0 * 1024 * 1024; end++; break;
	case 'T': unit = 1024.0 * 1024 * 1024 * 1024; end++; break;
	}
	if (unit > 1 && (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0 || strcmp(end, "ib") == 0))
		end += strlen(end);
	else if (unit == 1 && (strcmp(end, "B") == 0 || strcmp(end, "b") == 0))
		end++;
	double total = value * unit;
	if (*end != '\0' || total >= 18446744073709551616.0 || total != floor(total)) {
		set_error(err, "'%s' is not a size in whole bytes (examples: 0, 4096, 64K, 256M, 1G)", text);
		return -1;
	}
	*bytes = (uint64_t)total;
	return 0;
}

int parse_bytes_list(const char *text, uint64_t *sizes, int max, char *err)
{
	char copy[1024], *save = NULL;
	int n = 0;
	if (strlen(text) >= sizeof copy) {
		set_error(err, "the size list is too long");
		return -1;
	}
	snprintf(copy, sizeof copy, "%s", text);
	for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		if (n == max) {
			set_error(err, "more than %d sizes", max);
			return -1;
		}
		if (parse_bytes(item, &sizes[n], err) != 0)
			return -1;
		for (int i = 0; i < n; i++)
			if (sizes[i] == sizes[n]) {
				set_error(err, "size '%s' is named twice", item);
				return -1;
			}
		n++;
	}
	if (n == 0)
		set_error(err, "the size list '%s' names no size", text);
	return n > 0 ? n : -1;
}

const char *format_bytes(uint64_t bytes, char *buf, size_t size)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	size_t u = 0;
	while (v >= 1024 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1024;
		u++;
	}
	if (v == floor(v))
		snprintf(buf, size, "%.0f %s", v, units[u]);
	else
		snprintf(buf, size, "%.1f %s", v, units[u]);
	return buf;
}
