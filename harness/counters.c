#include "harness/counters.h"
#include "harness/results.h"

#include <ctype.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <papi.h>
#include <pthread.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/arch.h"
#include "base/common.h"

/* ---- the auto table: coherence events per CPU ---------------------------- */

#define FILL MEANS_FILL_FROM_OTHER_CORE
#define OTHER MEANS_OTHER

/* Names as libpfm4 spells them (checked against libpfm4 4.13's tables); one
 * row per microarchitecture. Rows are tried in order, the first match wins. */
static const struct auto_events {
	const char *label;
	const char *vendor;       /* as CPUID says it */
	int family;
	int model_lo, model_hi;   /* inclusive */
	const char *events[4];
	enum event_meaning meaning[4];
} auto_table[] = {
	{ "Intel Skylake-SP / Cascade Lake", "GenuineIntel", 6, 85, 85,
	  { "MEM_LOAD_L3_HIT_RETIRED:XSNP_HITM", "MEM_LOAD_L3_MISS_RETIRED:REMOTE_HITM",
	    "MACHINE_CLEARS:MEMORY_ORDERING" }, { FILL, FILL, OTHER } },
	{ "Intel Ice Lake-SP", "GenuineIntel", 6, 106, 108,
	  { "MEM_LOAD_L3_HIT_RETIRED:XSNP_HITM", "MEM_LOAD_L3_MISS_RETIRED:REMOTE_HITM",
	    "MACHINE_CLEARS:MEMORY_ORDERING" }, { FILL, FILL, OTHER } },
	{ "Intel Sapphire Rapids / Emerald Rapids", "GenuineIntel", 6, 143, 143,
	  { "MEM_LOAD_L3_HIT_RETIRED:XSNP_FWD", "MEM_LOAD_L3_MISS_RETIRED:REMOTE_HITM",
	    "MACHINE_CLEARS:MEMORY_ORDERING" }, { FILL, FILL, OTHER } },
	{ "Intel Emerald Rapids", "GenuineIntel", 6, 207, 207,
	  { "MEM_LOAD_L3_HIT_RETIRED:XSNP_FWD", "MEM_LOAD_L3_MISS_RETIRED:REMOTE_HITM",
	    "MACHINE_CLEARS:MEMORY_ORDERING" }, { FILL, FILL, OTHER } },
	{ "AMD Zen 3", "AuthenticAMD", 25, 0x00, 0x0f,
	  { "ANY_DATA_CACHE_FILLS_FROM_SYSTEM:INT_CACHE", "ANY_DATA_CACHE_FILLS_FROM_SYSTEM:EXT_CACHE_LCL",
	    "ANY_DATA_CACHE_FILLS_FROM_SYSTEM:EXT_CACHE_RMT" }, { FILL, FILL, FILL } },
	{ "AMD Zen 3", "AuthenticAMD", 25, 0x20, 0x5f,
	  { "ANY_DATA_CACHE_FILLS_FROM_SYSTEM:INT_CACHE", "ANY_DATA_CACHE_FILLS_FROM_SYSTEM:EXT_CACHE_LCL",
	    "ANY_DATA_CACHE_FILLS_FROM_SYSTEM:EXT_CACHE_RMT" }, { FILL, FILL, FILL } },
	{ "AMD Zen 4", "AuthenticAMD", 25, 0x10, 0x1f,
	  { "ANY_DATA_CACHE_FILLS_FROM_SYSTEM:LOCAL_CCX", "ANY_DATA_CACHE_FILLS_FROM_SYSTEM:NEAR_CACHE_NEAR_FAR",
	    "ANY_DATA_CACHE_FILLS_FROM_SYSTEM:FAR_CACHE_NEAR_FAR" }, { FILL, FILL, FILL } },
	{ "AMD Zen 4", "AuthenticAMD", 25, 0x60, 0xaf,
	  { "ANY_DATA_CACHE_FILLS_FROM_SYSTEM:LOCAL_CCX", "ANY_DATA_CACHE_FILLS_FROM_SYSTEM:NEAR_CACHE_NEAR_FAR",
	    "ANY_DATA_CACHE_FILLS_FROM_SYSTEM:FAR_CACHE_NEAR_FAR" }, { FILL, FILL, FILL } },
	/* Zen 5 keeps Zen 4's fill sources; libpfm4 may not know it yet, in
	 * which case the events are NA with PAPI's reason. */
	{ "AMD Zen 5", "AuthenticAMD", 26, 0x00, 0xff,
	  { "ANY_DATA_CACHE_FILLS_FROM_SYSTEM:LOCAL_CCX", "ANY_DATA_CACHE_FILLS_FROM_SYSTEM:NEAR_CACHE_NEAR_FAR",
	    "ANY_DATA_CACHE_FILLS_FROM_SYSTEM:FAR_CACHE_NEAR_FAR" }, { FILL, FILL, FILL } },
	{ "Arm Neoverse", "aarch64", -1, 0, 0, /* the common architected events: any aarch64 CPU */
	  { "L2D_CACHE_REFILL", "LL_CACHE_MISS_RD", "REMOTE_ACCESS" }, { OTHER, OTHER, FILL } },
};

/* PAPI's cache-coherence presets, added to "auto" wherever PAPI maps them. */
static const char *const coherence_presets[] = { "PAPI_CA_SNP", "PAPI_CA_SHR", "PAPI_CA_CLN",
						  "PAPI_CA_INV", "PAPI_CA_ITV" };

/* perf software events that perf_event_open can count without PAPI. */
static const struct {
	const char *name;
	unsigned long long config;
} perf_software[] = {
	{ "PAGE-FAULTS", PERF_COUNT_SW_PAGE_FAULTS },
	{ "PERF_COUNT_SW_PAGE_FAULTS", PERF_COUNT_SW_PAGE_FAULTS },
	{ "MINOR-FAULTS", PERF_COUNT_SW_PAGE_FAULTS_MIN },
	{ "PERF_COUNT_SW_PAGE_FAULTS_MIN", PERF_COUNT_SW_PAGE_FAULTS_MIN },
	{ "MAJOR-FAULTS", PERF_COUNT_SW_PAGE_FAULTS_MAJ },
	{ "PERF_COUNT_SW_PAGE_FAULTS_MAJ", PERF_COUNT_SW_PAGE_FAULTS_MAJ },
	{ "CONTEXT-SWITCHES", PERF_COUNT_SW_CONTEXT_SWITCHES },
	{ "PERF_COUNT_SW_CONTEXT_SWITCHES", PERF_COUNT_SW_CONTEXT_SWITCHES },
	{ "CPU-MIGRATIONS", PERF_COUNT_SW_CPU_MIGRATIONS },
	{ "PERF_COUNT_SW_CPU_MIGRATIONS", PERF_COUNT_SW_CPU_MIGRATIONS },
	{ "TASK-CLOCK", PERF_COUNT_SW_TASK_CLOCK },
	{ "CPU-CLOCK", PERF_COUNT_SW_CPU_CLOCK },
};

/* ---- PAPI, once per process ---------------------------------------------- */

static pthread_once_t papi_once = PTHREAD_ONCE_INIT;
static char papi_problem[160]; /* written once, by papi_start_library */
static pthread_t papi_first_thread; /* the thread that started PAPI */

static unsigned long thread_id(void)
{
	return (unsigned long)pthread_self();
}

static void papi_start_library(void)
{
	papi_first_thread = pthread_self();
	/* cohmap counts CPU events only. Debian's PAPI also builds the GPU
	 * components (rocm_smi, and sysdetect, which probes GPUs through ROCm
	 * SMI): when librocm-smi is installed (slurm-wlm pulls it in), their
	 * initialisation prints "Failed to open drm root directory ..." and
	 * "Exception caught: rsmi_init." on a machine without an AMD GPU, which
	 * would break cohmap's one-line errors. Disabled before init, they never
	 * start; a name this PAPI lacks is simply not found. */
	static const char *const not_cpu[] = { "rocm_smi", "rocm", "sysdetect", "cuda", "nvml" };
	for (size_t i = 0; i < ARRAY_SIZE(not_cpu); i++)
		(void)PAPI_disable_component_by_name(not_cpu[i]);
	int rc = PAPI_library_init(PAPI_VER_CURRENT);
	if (rc != PAPI_VER_CURRENT) {
		snprintf(papi_problem, sizeof papi_problem, "PAPI cannot start: %s",
			 rc > 0 ? "library version mismatch" : PAPI_strerror(rc));
		return;
	}
	if ((rc = PAPI_thread_init(thread_id)) != PAPI_OK)
		snprintf(papi_problem, sizeof papi_problem, "PAPI cannot count per thread: %s",
			 PAPI_strerror(rc));
}

/* "" when PAPI works; otherwise why not. */
static const char *papi_status(void)
{
	pthread_once(&papi_once, papi_start_library);
	return papi_problem;
}

/* Why the perf_event component is disabled, or NULL when it works. */
static const char *perf_component_problem(void)
{
	if (*papi_status())
		return papi_status();
	int cidx = PAPI_get_component_index("perf_event");
	const PAPI_component_info_t *info = cidx >= 0 ? PAPI_get_component_info(cidx) : NULL;
	if (info == NULL)
		return "PAPI has no perf_event component";
	return info->disabled ? info->disabled_reason : NULL;
}

/* ---- parsing --------------------------------------------------------------- */

static int find_perf_software(const char *name)
{
	if (strncmp(name, "perf::", 6) != 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(perf_software); i++)
		if (strcmp(name + 6, perf_software[i].name) == 0)
			return (int)i;
	return -1;
}

/* perf::PAGE-FAULTS -> perf_PAGE_FAULTS_per_handoff */
static void column_name(const char *event, char *column, size_t size)
{
	size_t j = 0;
	bool gap = false;
	for (const char *c = event; *c && j + 1 < size; c++) {
		if (isalnum((unsigned char)*c)) {
			if (gap && j > 0 && j + 1 < size)
				column[j++] = '_';
			column[j++] = *c;
			gap = false;
		} else {
			gap = true;
		}
	}
	snprintf(column + j, size - j, "_per_handoff");
}

/* Adds one event; -1 with err for an unknown name. */
static int add_event(struct event_request *req, const char *name, enum event_meaning meaning,
		     bool from_auto, char *err)
{
	for (int i = 0; i < req->n; i++)
		if (strcmp(req->names[i], name) == 0) {
			if (from_auto)
				return 0;
			set_error(err, "event '%s' is named twice", name);
			return -1;
		}
	if (req->n == MAX_EVENTS) {
		set_error(err, "at most %d events can be counted at once", MAX_EVENTS - 2);
		return -1;
	}
	if (strlen(name) >= EVENT_NAME_LEN || !*name) {
		set_error(err, "event name '%s' is not valid", name);
		return -1;
	}
	int i = req->n;
	snprintf(req->names[i], EVENT_NAME_LEN, "%s", name);
	column_name(name, req->columns[i], sizeof req->columns[i]);
	req->meaning[i] = meaning;
	req->backend[i] = EVENT_NONE;
	req->reason[i][0] = '\0';

	int software = find_perf_software(name);
	int code = 0;
	const char *papi = papi_status();
	int rc = *papi ? PAPI_ENOINIT : PAPI_event_name_to_code(name, &code);
	const char *disabled = NULL;
	if (rc == PAPI_OK) {
		int cidx = PAPI_get_event_component(code);
		const PAPI_component_info_t *info = cidx >= 0 ? PAPI_get_component_info(cidx) : NULL;
		if (info && info->disabled)
			disabled = info->disabled_reason;
		if (strncmp(name, "PAPI_", 5) == 0 && PAPI_query_event(code) != PAPI_OK)
			disabled = "PAPI maps this preset to no event on this CPU";
	}
	if (rc == PAPI_OK && !disabled) {
		req->backend[i] = EVENT_PAPI;
		req->papi_code[i] = code;
	} else if (software >= 0) {
		/* PAPI cannot count it here; the kernel can, directly. */
		req->backend[i] = EVENT_PERF;
		req->perf_config[i] = perf_software[software].config;
	} else if (strncmp(name, "perf::", 6) == 0 || (strncmp(name, "PAPI_", 5) == 0 && rc != PAPI_OK && !*papi)) {
		set_error(err, "unknown event '%s'", name);
		return -1;
	} else if (disabled) {
		snprintf(req->reason[i], sizeof req->reason[i], "%s: %s", name, disabled);
	} else if (perf_component_problem()) {
		/* PAPI cannot even tell whether a native name exists when its
		 * perf_event component is off: NA, with PAPI's reason. */
		snprintf(req->reason[i], sizeof req->reason[i], "%s: not countable here (%s)", name,
			 perf_component_problem());
	} else if (from_auto) {
		/* A table row names events of its CPU; an older libpfm4 may not
		 * know one yet: NA for that event, not a usage error. */
		snprintf(req->reason[i], sizeof req->reason[i], "%s: unknown to this PAPI (%s)", name,
			 PAPI_strerror(rc));
	} else {
		set_error(err, "unknown event '%s' (PAPI: %s)", name, PAPI_strerror(rc));
		return -1;
	}
	req->n++;
	return 0;
}

static bool auto_row_matches(const struct auto_events *row, const struct topology *t)
{
	/* family -1: a row for every CPU of the architecture its vendor names */
	if (row->family < 0)
		return strcmp(row->vendor, ARCH_NAME) == 0;
	return strcmp(row->vendor, t->vendor) == 0 && row->family == t->family &&
	       t->model >= row->model_lo && t->model <= row->model_hi;
}

static int add_auto_events(struct event_request *req, const struct topology *t, char *err)
{
	const struct auto_events *row = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(auto_table) && !row; i++)
		if (auto_row_matches(&auto_table[i], t))
			row = &auto_table[i];
	snprintf(req->auto_label, sizeof req->auto_label, "%s",
		 row ? row->label : "no row for this CPU: PAPI coherence presets only");
	for (int e = 0; row && e < 4 && row->events[e]; e++)
		if (add_event(req, row->events[e], row->meaning[e], true, err) != 0)
			return -1;
	for (size_t p = 0; p < ARRAY_SIZE(coherence_presets); p++) {
		int code;
		if (!*papi_status() && PAPI_event_name_to_code(coherence_presets[p], &code) == PAPI_OK &&
		    PAPI_query_event(code) == PAPI_OK &&
		    add_event(req, coherence_presets[p], MEANS_OTHER, true, err) != 0)
			return -1;
	}
	return 0;
}

int events_parse(const char *list, const struct topology *t, struct event_request *req, char *err)
{
	*req = (struct event_request){ .migrations = -1, .context_switches = -1 };
	if (list) {
		char copy[1024], *save = NULL;
		if (snprintf(copy, sizeof copy, "%s", list) >= (int)sizeof copy) {
			set_error(err, "--events list too long");
			return -1;
		}
		for (char *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save))
			if ((strcmp(name, "auto") == 0 ? add_auto_events(req, t, err)
						       : add_event(req, name, MEANS_OTHER, false, err)) != 0)
				return -1;
		if (req->n == 0 && !req->auto_label[0]) {
			set_error(err, "--events names no event");
			return -1;
		}
	}
	/* Always counted: they tell which samples were disturbed. */
	if (add_event(req, "perf::CPU-MIGRATIONS", MEANS_DISTURBANCE, true, err) != 0 ||
	    add_event(req, "perf::CONTEXT-SWITCHES", MEANS_DISTURBANCE, true, err) != 0)
		return -1;
	for (int i = 0; i < req->n; i++) {
		if (strcmp(req->names[i], "perf::CPU-MIGRATIONS") == 0)
			req->migrations = i;
		if (strcmp(req->names[i], "perf::CONTEXT-SWITCHES") == 0)
			req->context_switches = i;
	}
	return 0;
}

/* ---- counting ------------------------------------------------------------- */

static int open_perf(unsigned long long config)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof attr,
		.config = config,
	};
	int fd = (int)syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0 && (errno == EACCES || errno == EPERM)) {
		/* perf_event_paranoid 2: user-space counting only. */
		attr.exclude_kernel = 1;
		attr.exclude_hv = 1;
		fd = (int)syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	}
	return fd;
}

/* Whether the kernel can count a hardware event at all on this machine. */
static bool hardware_counters_exist(void)
{
	struct perf_event_attr attr = { .type = PERF_TYPE_HARDWARE, .size = sizeof attr,
					 .config = PERF_COUNT_HW_CPU_CYCLES, .exclude_kernel = 1,
					 .exclude_hv = 1 };
	int fd = (int)syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd >= 0)
		close(fd);
	return fd >= 0 || (errno != ENOENT && errno != EOPNOTSUPP && errno != ENODEV);
}

void counter_set_open(struct counter_set *cs, const struct event_request *req,
		      bool failed[MAX_EVENTS], char failed_reason[MAX_EVENTS][160])
{
	*cs = (struct counter_set){ .req = req, .papi_eventset = PAPI_NULL };
	for (int i = 0; i < MAX_EVENTS; i++) {
		cs->perf_fd[i] = -1;
		cs->papi_slot[i] = -1;
		failed[i] = i < req->n && req->backend[i] == EVENT_NONE;
		if (failed[i])
			snprintf(failed_reason[i], 160, "%s", req->reason[i]);
	}
	for (int i = 0; i < req->n; i++) {
		if (req->backend[i] == EVENT_PERF) {
			cs->perf_fd[i] = open_perf(req->perf_config[i]);
			if (cs->perf_fd[i] < 0) {
				failed[i] = true;
				snprintf(failed_reason[i], 160, "%s: perf_event_open: %s", req->names[i],
					 strerror(errno));
			}
			continue;
		}
		if (req->backend[i] != EVENT_PAPI)
			continue;
		int rc = PAPI_OK;
		if (cs->papi_eventset == PAPI_NULL)
			rc = PAPI_create_eventset(&cs->papi_eventset);
		if (rc == PAPI_OK)
			rc = PAPI_add_event(cs->papi_eventset, req->papi_code[i]);
		if (rc != PAPI_OK) {
			/* Per event, not all or nothing: this one is NA, the rest count.
			 * PAPI says "Event does not exist" for a name it knows when the
			 * CPU lends no counter to this machine (a VM without a vPMU). */
			failed[i] = true;
			if (rc == PAPI_ENOEVNT && !hardware_counters_exist())
				snprintf(failed_reason[i], 160, "%s: this machine exposes no hardware counters "
					 "(a virtual machine without a virtual PMU?)", req->names[i]);
			else
				snprintf(failed_reason[i], 160, "%s: %s", req->names[i], PAPI_strerror(rc));
			continue;
		}
		cs->papi_slot[i] = cs->papi_count++;
	}
	if (cs->papi_count > 0) {
		int rc = PAPI_start(cs->papi_eventset);
		if (rc != PAPI_OK) {
			for (int i = 0; i < req->n; i++)
				if (cs->papi_slot[i] >= 0) {
					failed[i] = true;
					cs->papi_slot[i] = -1;
					snprintf(failed_reason[i], 160, "%s: PAPI_start: %s", req->names[i],
						 PAPI_strerror(rc));
				}
			cs->papi_count = 0;
		}
	}
}

void counter_set_read(struct counter_set *cs, long long values[MAX_EVENTS])
{
	long long papi_values[MAX_EVENTS] = { 0 };
	if (cs->papi_count > 0)
		PAPI_read(cs->papi_eventset, papi_values);
	for (int i = 0; i < cs->req->n; i++) {
		values[i] = 0;
		if (cs->papi_slot[i] >= 0)
			values[i] = papi_values[cs->papi_slot[i]];
		else if (cs->perf_fd[i] >= 0 && read(cs->perf_fd[i], &values[i], sizeof values[i]) != sizeof values[i])
			values[i] = 0;
	}
}

void counter_set_close(struct counter_set *cs)
{
	long long ignored[MAX_EVENTS];
	bool used_papi = cs->papi_eventset != PAPI_NULL;
	if (cs->papi_count > 0)
		PAPI_stop(cs->papi_eventset, ignored);
	if (used_papi) {
		PAPI_cleanup_eventset(cs->papi_eventset);
		PAPI_destroy_eventset(&cs->papi_eventset);
		/* Agent threads end here and give their PAPI state back; the
		 * thread that started PAPI keeps it, or PAPI's next call on it
		 * (a name lookup, say) reads freed state and crashes. */
		if (!pthread_equal(pthread_self(), papi_first_thread))
			PAPI_unregister_thread();
	}
	for (int i = 0; i < MAX_EVENTS; i++)
		if (cs->perf_fd[i] >= 0)
			close(cs->perf_fd[i]);
}

int counters_first_fill(const struct event_request *req)
{
	for (int e = 0; e < req->n; e++)
		if (req->meaning[e] == MEANS_FILL_FROM_OTHER_CORE)
			return e;
	return -1;
}

void counters_print_model(const struct event_request *req, const char *unit, int name_width,
			  const struct model_row *rows, int nrows, char reasons[MAX_EVENTS][160])
{
	int first_fill = counters_first_fill(req);
	if (first_fill < 0)
		return;
	printf("\nprotocol model against counters (%s): line fills from another core per %s\n",
	       req->auto_label[0] ? req->auto_label : "events given", unit);
	printf("%-*s %9s %9s  %s\n", name_width, "kernel", "expected", "measured", "model");
	for (int k = 0; k < nrows; k++) {
		char measured[32];
		if (rows[k].n == 0 || isnan(rows[k].measured_sum))
			snprintf(measured, sizeof measured, "NA");
		else
			snprintf(measured, sizeof measured, "%.2f", rows[k].measured_sum / (double)rows[k].n);
		printf("%-*s %9.2f %9s  %s\n", name_width, rows[k].kernel, rows[k].expected, measured,
		       rows[k].model);
	}
	for (int e = first_fill; e < req->n; e++)
		if (req->meaning[e] == MEANS_FILL_FROM_OTHER_CORE && reasons[e][0]) {
			printf("NA: %s\n", reasons[e]);
			break;
		}
}

void counters_warn_unavailable(struct run *r, const struct event_request *req,
			       char reasons[MAX_EVENTS][160], bool warned[MAX_EVENTS], json_t *into)
{
	char names[ERRLEN] = "";
	const char *first = NULL;
	int n = 0;
	for (int e = 0; e < req->n; e++) {
		if (warned[e] || !reasons[e][0])
			continue;
		warned[e] = true;
		json_object_set_new(into, req->names[e], json_string(reasons[e]));
		size_t used = strlen(names);
		snprintf(names + used, sizeof names - used, "%s%s", n++ ? ", " : "", req->names[e]);
		if (!first)
			first = reasons[e];
	}
	if (n == 1)
		run_warn(r, "counter NA: %s", first);
	else if (n > 1)
		run_warn(r, "%d counters NA (%s); the first says: %s (all reasons in meta.json)", n,
			 names, first);
}
