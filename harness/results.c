#include "harness/results.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "base/arch.h"
#include "base/common.h"

int write_file_atomic(const char *path, const char *data, size_t len, char *err)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
		set_error(err, "path too long: %s", path);
		return -1;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		set_error(err, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	size_t done = 0;
	while (done < len) {
		ssize_t w = write(fd, data + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	int saved = errno;
	if (done != len || fsync(fd) != 0 || close(fd) != 0) {
		set_error(err, "cannot write %s: %s", path, strerror(done != len ? saved : errno));
		if (done != len)
			close(fd);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) != 0) {
		set_error(err, "cannot replace %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int json_save_atomic(const char *path, const json_t *json, char *err)
{
	char *text = json_dumps(json, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	if (text == NULL) {
		set_error(err, "cannot encode %s", path);
		return -1;
	}
	size_t len = strlen(text);
	char *with_newline = realloc(text, len + 2);
	if (with_newline == NULL) {
		free(text);
		set_error(err, "out of memory writing %s", path);
		return -1;
	}
	memcpy(with_newline + len, "\n", 2);
	int rc = write_file_atomic(path, with_newline, len + 1, err);
	free(with_newline);
	return rc;
}

json_t *json_load_object(const char *path, char *err)
{
	json_error_t jerr;
	json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL) {
		/* jansson quotes the file ("near '\"\\<newline>'"): a broken file
		 * must not put control characters on the user's terminal. */
		for (char *c = jerr.text; *c; c++)
			if ((unsigned char)*c < ' ' || *c == 0x7f)
				*c = '?';
		set_error(err, "%s: %s (line %d)", path, jerr.text, jerr.line);
		return NULL;
	}
	if (!json_is_object(j)) {
		set_error(err, "%s: not a JSON object", path);
		json_decref(j);
		return NULL;
	}
	return j;
}

static void utc_now(char *buf, size_t size, const char *format)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(buf, size, format, &tm);
}

/* mkdir -p for the parents, then an exclusive mkdir of the directory itself,
 * so two runs never share (or overwrite) a results directory. */
static int make_directory(const char *path, char *err)
{
	char partial[PATH_MAX];
	snprintf(partial, sizeof partial, "%s", path);
	for (char *slash = strchr(partial + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(partial, 0755) != 0 && errno != EEXIST) {
			set_error(err, "cannot create %s: %s", partial, strerror(errno));
			return -1;
		}
		*slash = '/';
	}
	if (mkdir(path, 0755) != 0) {
		set_error(err, "cannot create results directory %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int choose_directory(struct run *r, const char *requested, char *err)
{
	if (requested) {
		if (snprintf(r->dir, sizeof r->dir, "%s", requested) >= (int)sizeof r->dir) {
			set_error(err, "results directory name too long");
			return -1;
		}
		return make_directory(r->dir, err);
	}
	char host[64] = "host", stamp[32];
	gethostname(host, sizeof host - 1);
	utc_now(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ");
	for (int attempt = 1; attempt < 100; attempt++) {
		snprintf(r->dir, sizeof r->dir, attempt == 1 ? "results/%s-%s" : "results/%s-%s-%d",
			 host, stamp, attempt);
		if (make_directory(r->dir, err) == 0)
			return 0;
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

const char *run_path(const struct run *r, const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", r->dir, name);
	return buf;
}

static const char *read_line_of(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	const char *line = fgets(buf, (int)size, f);
	fclose(f);
	if (line)
		buf[strcspn(buf, "\n")] = '\0';
	return line;
}

/* The hypervisor's name from the CPU where it says (x86's CPUID), else from
 * the kernel's /sys/hypervisor/type (Xen), else "unknown". */
static void hypervisor_name(char *buf, size_t size)
{
	char line[64];
	if (arch_hypervisor_name(buf, size))
		return;
	snprintf(buf, size, "%s", read_line_of("/sys/hypervisor/type", line, sizeof line) ? line : "unknown");
}

/* The microcode revision of CPU 0 from /proc/cpuinfo ("0xa201016"): a
 * fleet's nodes of one model that differ in it are not the same machine.
 * "unknown" where the kernel does not say (some hypervisors, non-x86). */
static void microcode_revision(char *buf, size_t size)
{
	char line[256];
	FILE *f = fopen("/proc/cpuinfo", "r");
	snprintf(buf, size, "unknown");
	while (f && fgets(line, sizeof line, f)) {
		const char *colon = strchr(line, ':');
		if (strncmp(line, "microcode", 9) != 0 || colon == NULL)
			continue;
		colon++;
		colon += strspn(colon, " \t");
		snprintf(buf, size, "%.*s", (int)strcspn(colon, "\n"), colon);
		break;
	}
	if (f)
		fclose(f);
}

json_t *machine_description(const struct topology *t)
{
	struct utsname u;
	char host[64] = "", governor[64], smt[16], hv[32], microcode[64];
	uname(&u);
	gethostname(host, sizeof host - 1);
	hypervisor_name(hv, sizeof hv);
	microcode_revision(microcode, sizeof microcode);
	if (!read_line_of("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", governor, sizeof governor))
		snprintf(governor, sizeof governor, "unknown (no cpufreq)");
	if (!read_line_of("/sys/devices/system/cpu/smt/active", smt, sizeof smt))
		snprintf(smt, sizeof smt, "unknown");
	else
		snprintf(smt, sizeof smt, "%s", strcmp(smt, "1") == 0 ? "on" : "off");
	return json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s}",
			 "host", host, "cpu_model", t->cpu_model, "vendor", t->vendor,
			 "family", t->family, "model", t->model, "stepping", t->stepping,
			 "microcode", microcode,
			 "kernel", u.release, "architecture", u.machine, "governor", governor,
			 "smt", smt, "hypervisor", hv, "line_size", t->line_size,
			 "atomics", arch_atomics_description());
}

static json_t *clock_description(const struct clock_info *c)
{
	json_t *d = json_pack("{s:s, s:s, s:s, s:f, s:f, s:f, s:f, s:f}", "source", c->source, "timer",
			 c->timer ? c->timer : c->source, "rate", c->rate ? c->rate : "given",
			 "ns_per_tick", c->ns_per_tick, "resolution_ns",
			 c->resolution_ns > 0 ? c->resolution_ns : c->ns_per_tick, "observed_step_ns",
			 c->observed_step_ns,
			 "read_overhead_median_ns", c->overhead_ns, "read_overhead_min_ns",
			 c->overhead_min_ns);
	if (d && c->rejected_timer[0])
		json_object_set_new(d, "rejected_timer", json_string(c->rejected_timer));
	return d;
}

static json_t *topology_description(const struct topology *t)
{
	json_t *cpus = json_array();
	for (int i = 0; i < t->ncpus; i++) {
		const struct cpu_place *p = &t->cpus[i];
		json_array_append_new(cpus, json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:b, s:b}",
			"cpu", p->cpu, "socket", p->socket, "die", p->die, "numa_node", p->numa_node,
			"l3_group", p->l3_group, "l2_group", p->l2_group, "core", p->core,
			"smt", p->smt, "online", p->online, "allowed", p->allowed));
	}
	return json_pack("{s:s, s:I, s:I, s:I, s:o}", "source", t->source,
			 "l1d_bytes", (json_int_t)t->l1d_bytes, "l2_bytes", (json_int_t)t->l2_bytes,
			 "l3_bytes", (json_int_t)t->l3_bytes, "cpus", cpus);
}

/* A sanitizer build checks every access: its times are not the machine's,
 * and meta.json says so, so no one compares them with a release build's. */
#if defined(__SANITIZE_ADDRESS__)
#define BUILD_KIND "sanitizer (ASan + UBSan): times include its checks"
#elif defined(__SANITIZE_THREAD__)
#define BUILD_KIND "sanitizer (TSan): times include its checks"
#else
#define BUILD_KIND "release"
#endif

int run_begin(struct run *r, const char *requested_dir, struct topology *topology,
	      const struct clock_info *clock, int argc, char **argv, bool quiet, char *err)
{
	*r = (struct run){ .topology = *topology, .clock = *clock, .quiet = quiet,
			   .progress = !quiet && isatty(STDERR_FILENO) };
	*topology = (struct topology){ 0 };
	if (choose_directory(r, requested_dir, err) != 0)
		return -1;
	char started[32], path[PATH_MAX];
	utc_now(started, sizeof started, "%Y-%m-%dT%H:%M:%SZ");
	json_t *command = json_array();
	for (int i = 0; i < argc; i++)
		json_array_append_new(command, json_string(argv[i]));
	r->meta = json_pack("{s:{s:s, s:s, s:s}, s:o, s:s, s:s, s:o, s:o, s:o, s:[], s:{}}",
			    "tool", "name", "cohmap", "version", COHMAP_VERSION, "build", BUILD_KIND,
			    "command", command, "status", "running", "started_utc", started,
			    "machine", machine_description(&r->topology),
			    "clock", clock_description(clock),
			    "topology", topology_description(&r->topology),
			    "warnings", "experiments");
	if (r->meta == NULL)
		set_error(err, "cannot describe the run in meta.json");
	if (r->meta == NULL ||
	    topology_save(&r->topology, run_path(r, "topology.txt", path, sizeof path), err) != 0 ||
	    json_save_atomic(run_path(r, "meta.json", path, sizeof path), r->meta, err) != 0) {
		/* Nothing was measured yet: leave no half-made directory behind. */
		unlink(run_path(r, "topology.txt", path, sizeof path));
		unlink(run_path(r, "meta.json", path, sizeof path));
		rmdir(r->dir);
		return -1;
	}
	return 0;
}

int run_reopen(struct run *r, const char *dir, struct topology *topology,
	       const struct clock_info *clock, int argc, char **argv, bool quiet, char *err)
{
	*r = (struct run){ .topology = *topology, .clock = *clock, .quiet = quiet,
			   .progress = !quiet && isatty(STDERR_FILENO) };
	*topology = (struct topology){ 0 };
	char path[PATH_MAX], now[32];
	if (snprintf(r->dir, sizeof r->dir, "%s", dir) >= (int)sizeof r->dir) {
		set_error(err, "results directory name too long");
		return -1;
	}
	if ((r->meta = json_load_object(run_path(r, "meta.json", path, sizeof path), err)) == NULL)
		return -1;
	if (!json_is_object(json_object_get(r->meta, "experiments")) ||
	    !json_is_array(json_object_get(r->meta, "warnings"))) {
		set_error(err, "%s: not a cohmap meta.json (no experiments or warnings)", path);
		return -1;
	}
	utc_now(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ");
	json_t *command = json_array();
	for (int i = 0; i < argc; i++)
		json_array_append_new(command, json_string(argv[i]));
	json_t *resumed = json_object_get(r->meta, "resumed");
	if (!json_is_array(resumed)) {
		resumed = json_array();
		json_object_set_new(r->meta, "resumed", resumed);
	}
	json_array_append_new(resumed, json_pack("{s:s, s:o, s:o}", "utc", now, "command", command,
						 "clock", clock_description(clock)));
	json_object_set_new(r->meta, "status", json_string("running"));
	return json_save_atomic(path, r->meta, err);
}

void run_warn(struct run *r, const char *fmt, ...)
{
	char line[ERRLEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%scohmap: warning: %s\n", r->progress ? "\r\033[K" : "", line);
	json_array_append_new(json_object_get(r->meta, "warnings"), json_string(line));
}

int run_save_meta(struct run *r)
{
	char path[PATH_MAX], err[ERRLEN];
	if (json_save_atomic(run_path(r, "meta.json", path, sizeof path), r->meta, err) != 0) {
		/* A full disk fails every save from then on (after each experiment,
		 * then the final one): the user needs to read it once. */
		if (strcmp(err, r->meta_error) != 0)
			fprintf(stderr, "cohmap: %s\n", err);
		snprintf(r->meta_error, sizeof r->meta_error, "%s", err);
		return -1;
	}
	r->meta_error[0] = '\0';
	return 0;
}

int run_end(struct run *r, const char *status)
{
	char finished[32];
	utc_now(finished, sizeof finished, "%Y-%m-%dT%H:%M:%SZ");
	json_object_set_new(r->meta, "status", json_string(status));
	json_object_set_new(r->meta, "finished_utc", json_string(finished));
	return run_save_meta(r);
}

void run_free(struct run *r)
{
	json_decref(r->meta);
	r->meta = NULL;
	topology_free(&r->topology);
}

void experiment_describe(struct run *r, const char *name, const char *const *csv_files,
			 const char *const *plot_files, const char *headline)
{
	json_t *experiments = json_object_get(r->meta, "experiments");
	json_t *entry = json_object_get(experiments, name);
	if (entry == NULL) {
		entry = json_object();
		json_object_set_new(experiments, name, entry);
	}
	json_t *csv = json_array(), *plots = json_array();
	for (; csv_files && *csv_files; csv_files++)
		json_array_append_new(csv, json_string(*csv_files));
	for (; plot_files && *plot_files; plot_files++)
		json_array_append_new(plots, json_string(*plot_files));
	json_object_set_new(entry, "csv", csv);
	json_object_set_new(entry, "plots", plots);
	json_object_set_new(entry, "headline", json_string(headline ? headline : ""));
}
