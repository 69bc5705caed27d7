/* What the kernel does to a split lock (a locked operation on a value that
 * straddles two cache lines): nothing, warn and slow the task down
 * (split_lock_mitigate), or kill it with SIGBUS. The figure of a split lock
 * is the hardware's cost only when the kernel stays out of it. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "experiments/contention/contention.h"

static void read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	if (f == NULL || fgets(buf, (int)size, f) == NULL)
		snprintf(buf, size, "NA");
	buf[strcspn(buf, "\n")] = '\0';
	if (f)
		fclose(f);
}

static bool cpu_flag(const char *flag)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[8192];
	bool found = false;
	size_t len = strlen(flag);
	while (f && !found && fgets(line, sizeof line, f)) {
		if (strncmp(line, "flags", 5) != 0)
			continue;
		for (char *p = strstr(line, flag); p && !found; p = strstr(p + 1, flag))
			found = (p[-1] == ' ' || p[-1] == ':') && (p[len] == ' ' || p[len] == '\n');
		break; /* every CPU has the same flags */
	}
	if (f)
		fclose(f);
	return found;
}

void ct_split_state_read(struct ct_split_state *s)
{
	char cmdline[4096];
	memset(s, 0, sizeof *s);
	read_line("/proc/sys/kernel/split_lock_mitigate", s->mitigate, sizeof s->mitigate);
	s->cpu_detects = cpu_flag("split_lock_detect");
	s->cpu_bus_lock_detect = cpu_flag("bus_lock_detect");
	read_line("/proc/cmdline", cmdline, sizeof cmdline);
	const char *arg = strstr(cmdline, "split_lock_detect=");
	if (arg)
		sscanf(arg + strlen("split_lock_detect="), "%47s", s->cmdline);
	/* The kernel's default with a detecting CPU is "warn"; "off" leaves
	 * split locks alone, "fatal" sends SIGBUS, "ratelimit:N" throttles. */
	const char *mode = s->cmdline[0] ? s->cmdline : "warn";
	bool detecting = (s->cpu_detects || s->cpu_bus_lock_detect) && strcmp(mode, "off") != 0;
	s->kernel_interferes = detecting;
	if (!detecting)
		snprintf(s->summary, sizeof s->summary,
			 "the kernel does not detect split locks here (CPU flags split_lock_detect: %s, "
			 "bus_lock_detect: %s; split_lock_detect=%s): the split lock figure is the "
			 "hardware's cost (and, in a VM, the hypervisor's)",
			 s->cpu_detects ? "yes" : "no", s->cpu_bus_lock_detect ? "yes" : "no",
			 s->cmdline[0] ? s->cmdline : "not set");
	else if (strcmp(mode, "fatal") == 0)
		snprintf(s->summary, sizeof s->summary,
			 "the kernel kills split locks (split_lock_detect=fatal): they are skipped");
	else
		snprintf(s->summary, sizeof s->summary,
			 "the kernel traps split locks (split_lock_detect=%s, split_lock_mitigate=%s): "
			 "the split lock figure includes the kernel's trap%s, not only the hardware's cost",
			 mode, s->mitigate, strcmp(s->mitigate, "1") == 0 ? " and its deliberate delay" : "");
}

json_t *ct_split_state_json(const struct ct_split_state *s)
{
	return json_pack("{s:s, s:b, s:b, s:s, s:b, s:s}", "split_lock_mitigate", s->mitigate,
			 "cpu_flag_split_lock_detect", s->cpu_detects, "cpu_flag_bus_lock_detect",
			 s->cpu_bus_lock_detect, "cmdline_split_lock_detect",
			 s->cmdline[0] ? s->cmdline : "not set", "kernel_interferes",
			 s->kernel_interferes, "summary", s->summary);
}
