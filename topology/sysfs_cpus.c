/* The kernel's own view of the CPUs, read without liblikwid: sysfs files and
 * CPU lists (libnuma's parser), the L2 sharing of a CPU, and this process's
 * affinity mask. Used by detection and by the CPU expressions. */
#include "topology/sysfs_cpus.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"

int sysfs_read_text(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
	return 0;
}

/* A kernel CPU list ("0-3,8-11") read with libnuma's parser. */
struct bitmask *sysfs_read_cpulist(const char *path)
{
	char text[4096];

	return sysfs_read_text(path, text, sizeof(text)) == 0 ? numa_parse_cpustring_all(text) : NULL;
}

bool sysfs_in_mask(const struct bitmask *m, int cpu)
{
	return m && cpu >= 0 && (unsigned)cpu < m->size && numa_bitmask_isbitset(m, (unsigned)cpu);
}

/* The mask grows until the kernel accepts its size: machines can have more
 * CPUs than a cpu_set_t holds. */
int affinity_read(struct affinity *a, char *err)
{
	for (int ncpu = CPU_SETSIZE; ncpu <= (1 << 22); ncpu *= 2) {
		a->set = CPU_ALLOC(ncpu);
		a->size = CPU_ALLOC_SIZE(ncpu);
		if (!a->set)
			break;
		if (sched_getaffinity(0, a->size, a->set) == 0)
			return 0;
		CPU_FREE(a->set);
		a->set = NULL;
		if (errno != EINVAL)
			break;
	}
	set_error(err, "cannot read this process's CPU affinity: %s", strerror(errno));
	return -1;
}

bool affinity_has(const struct affinity *a, int cpu)
{
	return cpu >= 0 && (size_t)cpu < 8 * a->size && CPU_ISSET_S((size_t)cpu, a->size, a->set);
}

/* "0-3,8" for error messages. */
void affinity_format(const struct affinity *a, char *buf, size_t size)
{
	int ncpu = (int)(8 * a->size), len = 0;

	buf[0] = '\0';
	for (int c = 0; c < ncpu && len < (int)size; c++) {
		int e = c;
		if (!affinity_has(a, c))
			continue;
		while (e + 1 < ncpu && affinity_has(a, e + 1))
			e++;
		len += snprintf(buf + len, size - (size_t)len, e > c ? "%s%d-%d" : "%s%d",
				len ? "," : "", c, e);
		c = e;
	}
}

int sysfs_cache(int cpu, int level, size_t *bytes)
{
	char path[128], text[64], want[8];
	int lowest = -1;

	snprintf(want, sizeof(want), "%d", level);
	for (int idx = 0; idx < 16; idx++) {
		struct bitmask *m;
		snprintf(path, sizeof(path), SYS_CPU "/cpu%d/cache/index%d/level", cpu, idx);
		if (sysfs_read_text(path, text, sizeof(text)) < 0)
			break;
		if (strcmp(text, want) != 0)
			continue;
		snprintf(path, sizeof(path), SYS_CPU "/cpu%d/cache/index%d/type", cpu, idx);
		if (sysfs_read_text(path, text, sizeof(text)) == 0 && strcmp(text, "Instruction") == 0)
			continue;
		snprintf(path, sizeof(path), SYS_CPU "/cpu%d/cache/index%d/size", cpu, idx);
		if (bytes && sysfs_read_text(path, text, sizeof(text)) == 0) {
			char *unit;
			unsigned long long n = strtoull(text, &unit, 10);
			*bytes = (size_t)(n << (*unit == 'K' ? 10 : *unit == 'M' ? 20 : *unit == 'G' ? 30 : 0));
		}
		snprintf(path, sizeof(path), SYS_CPU "/cpu%d/cache/index%d/shared_cpu_list", cpu, idx);
		if (!(m = sysfs_read_cpulist(path)))
			break;
		lowest = sysfs_lowest(m);
		numa_bitmask_free(m);
		break;
	}
	return lowest;
}

int sysfs_l2(int cpu)
{
	return sysfs_cache(cpu, 2, NULL);
}

int sysfs_lowest(const struct bitmask *m)
{
	for (unsigned c = 0; m && c < m->size; c++)
		if (numa_bitmask_isbitset(m, c))
			return (int)c;
	return -1;
}

int proc_cpuinfo_field(const char *name, char *buf, size_t size)
{
	char line[256];
	size_t len = strlen(name);
	int rc = -1;
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f && rc < 0 && fgets(line, sizeof(line), f)) {
		char *v = strchr(line, ':');
		if (strncmp(line, name, len) != 0 || !v || strspn(line + len, " \t") != (size_t)(v - line) - len)
			continue;
		v += 1 + strspn(v + 1, " \t");
		v[strcspn(v, "\n")] = '\0';
		snprintf(buf, size, "%s", v);
		rc = 0;
	}
	if (f)
		fclose(f);
	return rc;
}
