/* topology/: pair classes, order, borders and pair counts on the fixtures
 * (machines we do not have), the file format's round trip and refusals, and
 * detection and CPU expressions on the live machine. Nothing here is timed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <numa.h>

#include "base/common.h"
#include "topology/topology.h"

static char tmpdir[64];

static void fixture_path(const char *name, char *path, size_t size)
{
	const char *src = getenv("COHMAP_SRCDIR");
	snprintf(path, size, "%s/topology/fixtures/%s", src ? src : ".", name);
}

static void load_fixture(const char *name, struct topology *t)
{
	char path[512], err[ERRLEN] = "";
	fixture_path(name, path, sizeof(path));
	if (topology_load(t, path, err) != 0)
		fail_msg("%s", err);
}

static void write_file(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

static void all_cpus(const struct topology *t, int *cpus)
{
	for (int i = 0; i < t->ncpus; i++)
		cpus[i] = t->cpus[i].cpu;
}

static void assert_class(const struct topology *t, int a, int b, enum pair_class want)
{
	enum pair_class got = topology_pair_class(t, a, b);
	if (got != want)
		fail_msg("%s: cpus %d,%d are '%s', expected '%s'", t->source, a, b,
			 pair_class_name(got), pair_class_name(want));
	assert_int_equal(topology_pair_class(t, b, a), want);
}

static void assert_counts(const struct topology *t, const long want[PAIR_CLASS_COUNT])
{
	int cpus[256];
	long counts[PAIR_CLASS_COUNT], sum = 0;

	all_cpus(t, cpus);
	topology_count_pairs(t, cpus, t->ncpus, counts);
	for (int c = 0; c < PAIR_CLASS_COUNT; c++) {
		if (counts[c] != want[c])
			fail_msg("%s: %ld '%s' pairs, expected %ld", t->source, counts[c],
				 pair_class_name(c), want[c]);
		sum += counts[c];
	}
	assert_int_equal(sum, (long)t->ncpus * (t->ncpus - 1));
}

static void test_class_names(void **state)
{
	(void)state;
	for (int c = 0; c < PAIR_CLASS_COUNT; c++) {
		assert_int_equal(pair_class_from_name(pair_class_name(c)), c);
		assert_true(strlen(pair_class_description(c)) > 0);
	}
	assert_string_equal(pair_class_name(PAIR_CROSS_SOCKET), "cross-socket");
	assert_string_equal(pair_class_description(PAIR_SMT), "SMT siblings (same core)");
	assert_int_equal(pair_class_from_name("bogus"), -1);
	assert_int_equal(pair_class_from_name(NULL), -1);
}

static void test_intel(void **state)
{
	struct topology t;
	int cpus[40], want[40], borders[8];
	(void)state;

	load_fixture("intel-2s-smt.topo", &t);
	assert_int_equal(t.ncpus, 40);
	assert_string_equal(t.vendor, "GenuineIntel");
	assert_int_equal(t.line_size, 64);
	assert_class(&t, 0, 0, PAIR_SELF);
	assert_class(&t, 0, 20, PAIR_SMT);
	assert_class(&t, 0, 1, PAIR_L3); /* per-core L2: neighbours differ in L2 */
	assert_class(&t, 0, 21, PAIR_L3);
	assert_class(&t, 0, 10, PAIR_CROSS_SOCKET);
	assert_class(&t, 9, 39, PAIR_CROSS_SOCKET);
	assert_class(&t, 10, 30, PAIR_SMT);
	assert_int_equal(topology_pair_class(&t, 0, 99), PAIR_CLASS_COUNT);

	/* Topology order puts SMT siblings i and i+20 side by side. */
	all_cpus(&t, cpus);
	topology_sort(&t, cpus, 40);
	for (int i = 0; i < 20; i++) {
		want[2 * i] = i;
		want[2 * i + 1] = i + 20;
	}
	assert_memory_equal(cpus, want, sizeof(want));
	assert_int_equal(topology_borders(&t, cpus, 40, true, borders, 8), 1);
	assert_int_equal(borders[0], 20);
	assert_int_equal(topology_borders(&t, cpus, 40, false, borders, 8), 1);
	assert_int_equal(borders[0], 20);
	assert_counts(&t, (long[PAIR_CLASS_COUNT]){ [PAIR_SMT] = 40, [PAIR_L3] = 720,
						    [PAIR_CROSS_SOCKET] = 800 });
	topology_free(&t);
}

static void test_amd_ccx(void **state)
{
	struct topology t;
	int cpus[64], borders[16];
	const int l3_borders[] = { 8, 16, 24, 32, 40, 48, 56 };
	(void)state;

	load_fixture("amd-2s-ccx.topo", &t);
	assert_int_equal(t.ncpus, 64);
	assert_class(&t, 0, 32, PAIR_SMT);
	assert_class(&t, 0, 3, PAIR_L3);     /* same CCX */
	assert_class(&t, 0, 35, PAIR_L3);
	assert_class(&t, 0, 4, PAIR_DIE);    /* other CCX, same socket (one die) */
	assert_class(&t, 0, 15, PAIR_DIE);
	assert_class(&t, 0, 16, PAIR_CROSS_SOCKET);
	assert_class(&t, 15, 63, PAIR_CROSS_SOCKET);

	all_cpus(&t, cpus);
	topology_sort(&t, cpus, 64);
	assert_int_equal(cpus[0], 0);
	assert_int_equal(cpus[1], 32);
	assert_int_equal(cpus[7], 35);
	assert_int_equal(cpus[8], 4);
	assert_int_equal(cpus[32], 16);
	assert_int_equal(cpus[63], 63);
	assert_int_equal(topology_borders(&t, cpus, 64, true, borders, 16), 1);
	assert_int_equal(borders[0], 32);
	assert_int_equal(topology_borders(&t, cpus, 64, false, borders, 16), 7);
	assert_memory_equal(borders, l3_borders, sizeof(l3_borders));
	/* Borders stop at max. */
	assert_int_equal(topology_borders(&t, cpus, 64, false, borders, 3), 3);
	assert_counts(&t, (long[PAIR_CLASS_COUNT]){ [PAIR_SMT] = 64, [PAIR_L3] = 384,
						    [PAIR_DIE] = 1536, [PAIR_CROSS_SOCKET] = 2048 });
	topology_free(&t);
}

static void test_amd_nps2(void **state)
{
	struct topology t;
	(void)state;

	load_fixture("amd-1s-nps2.topo", &t);
	assert_int_equal(t.ncpus, 32);
	assert_class(&t, 0, 16, PAIR_SMT);
	assert_class(&t, 0, 1, PAIR_L3);
	assert_class(&t, 0, 4, PAIR_DIE);   /* other CCX, same NUMA node */
	assert_class(&t, 0, 8, PAIR_NUMA);  /* other half of the socket */
	assert_class(&t, 7, 24, PAIR_NUMA);
	assert_counts(&t, (long[PAIR_CLASS_COUNT]){ [PAIR_SMT] = 32, [PAIR_L3] = 192,
						    [PAIR_DIE] = 256, [PAIR_NUMA] = 512 });
	topology_free(&t);
}

static void test_laptop(void **state)
{
	struct topology t;
	int cpus[8] = { 7, 0, 5, 2, 3, 6, 1, 4 }, borders[4];
	const int want[8] = { 0, 1, 2, 3, 4, 5, 6, 7 };
	(void)state;

	load_fixture("laptop-1s.topo", &t);
	assert_class(&t, 0, 1, PAIR_SMT);
	assert_class(&t, 6, 7, PAIR_SMT);
	assert_class(&t, 1, 2, PAIR_L3);
	topology_sort(&t, cpus, 8);
	assert_memory_equal(cpus, want, sizeof(want));
	assert_int_equal(topology_borders(&t, cpus, 8, true, borders, 4), 0);
	assert_int_equal(topology_borders(&t, cpus, 8, false, borders, 4), 0);
	assert_counts(&t, (long[PAIR_CLASS_COUNT]){ [PAIR_SMT] = 8, [PAIR_L3] = 48 });
	topology_free(&t);
}

static void test_hybrid(void **state)
{
	struct topology t;
	(void)state;

	load_fixture("hybrid-1s.topo", &t);
	assert_class(&t, 0, 1, PAIR_SMT);
	assert_class(&t, 8, 11, PAIR_L2);   /* one E-core cluster */
	assert_class(&t, 11, 12, PAIR_L3);  /* two clusters */
	assert_class(&t, 0, 8, PAIR_L3);
	assert_counts(&t, (long[PAIR_CLASS_COUNT]){ [PAIR_SMT] = 8, [PAIR_L2] = 24,
						    [PAIR_L3] = 208 });
	topology_free(&t);
}

static void test_core2(void **state)
{
	struct topology t;
	int cpus[4] = { 0, 1, 2, 3 }, with_unknown[5] = { 99, 3, 0, 2, 1 }, borders[4];
	const int want[4] = { 0, 2, 1, 3 }, want_unknown[5] = { 0, 2, 1, 3, 99 };
	(void)state;

	load_fixture("core2-quad.topo", &t);
	assert_int_equal(t.l3_bytes, 0);
	assert_class(&t, 0, 2, PAIR_L2);
	assert_class(&t, 0, 1, PAIR_SOCKET); /* other die of the package */
	topology_sort(&t, cpus, 4);
	assert_memory_equal(cpus, want, sizeof(want));
	assert_int_equal(topology_borders(&t, cpus, 4, false, borders, 4), 1);
	assert_int_equal(borders[0], 2);
	/* A CPU the topology does not know goes last. */
	topology_sort(&t, with_unknown, 5);
	assert_memory_equal(with_unknown, want_unknown, sizeof(want_unknown));
	assert_counts(&t, (long[PAIR_CLASS_COUNT]){ [PAIR_L2] = 4, [PAIR_SOCKET] = 8 });
	topology_free(&t);
}

static void test_usable(void **state)
{
	struct topology t;
	int cpus[40];
	(void)state;

	load_fixture("intel-2s-smt.topo", &t);
	assert_int_equal(topology_usable(&t, cpus, 40), 40);
	assert_int_equal(cpus[1], 20);
	t.cpus[20].online = false;
	t.cpus[1].allowed = false;
	assert_int_equal(topology_usable(&t, cpus, 40), 38);
	assert_int_equal(cpus[0], 0);
	assert_int_equal(cpus[1], 21);
	assert_int_equal(topology_usable(&t, cpus, 3), 3);
	topology_free(&t);
}

static void test_print(void **state)
{
	struct topology t;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	(void)state;

	assert_non_null(out);
	load_fixture("amd-1s-nps2.topo", &t);
	topology_print(&t, NULL, 0, out);
	fclose(out);
	assert_non_null(strstr(text, "AMD EPYC 7313P 16-Core Processor"));
	assert_non_null(strstr(text, "L1d 32 KiB, L2 512 KiB, L3 32 MiB"));
	assert_non_null(strstr(text, "line size   64 bytes"));
	assert_non_null(strstr(text, "\n   16      0    0    0    0    0    0    1  yes    yes\n"));
	assert_non_null(strstr(text, "  numa               512  same socket, other NUMA node\n"));
	assert_non_null(strstr(text, "  smt                 32  SMT siblings (same core)\n"));
	assert_null(strstr(text, "cross-socket")); /* only classes that occur */
	free(text);
	topology_free(&t);
}

static void assert_same_topology(const struct topology *a, const struct topology *b)
{
	assert_string_equal(a->cpu_model, b->cpu_model);
	assert_string_equal(a->vendor, b->vendor);
	assert_int_equal(a->family, b->family);
	assert_int_equal(a->model, b->model);
	assert_int_equal(a->stepping, b->stepping);
	assert_int_equal(a->line_size, b->line_size);
	assert_int_equal(a->l1d_bytes, b->l1d_bytes);
	assert_int_equal(a->l2_bytes, b->l2_bytes);
	assert_int_equal(a->l3_bytes, b->l3_bytes);
	assert_int_equal(a->ncpus, b->ncpus);
	for (int i = 0; i < a->ncpus; i++) {
		const struct cpu_place *p = &a->cpus[i], *q = &b->cpus[i];
		assert_int_equal(p->cpu, q->cpu);
		assert_int_equal(p->socket, q->socket);
		assert_int_equal(p->die, q->die);
		assert_int_equal(p->numa_node, q->numa_node);
		assert_int_equal(p->l3_group, q->l3_group);
		assert_int_equal(p->l2_group, q->l2_group);
		assert_int_equal(p->core, q->core);
		assert_int_equal(p->smt, q->smt);
		assert_int_equal(p->online, q->online);
		assert_int_equal(p->allowed, q->allowed);
	}
}

static void test_round_trip(void **state)
{
	const char *names[] = { "intel-2s-smt.topo", "amd-2s-ccx.topo", "amd-1s-nps2.topo",
				"laptop-1s.topo", "hybrid-1s.topo", "core2-quad.topo" };
	char path[128], tmp[140], err[ERRLEN];
	struct stat st;
	(void)state;

	snprintf(path, sizeof(path), "%s/saved.topo", tmpdir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		struct topology a, b;
		load_fixture(names[i], &a);
		a.cpus[0].allowed = false; /* flags survive too */
		assert_int_equal(topology_save(&a, path, err), 0);
		assert_int_equal(stat(tmp, &st), -1); /* renamed away */
		if (topology_load(&b, path, err) != 0)
			fail_msg("%s", err);
		assert_same_topology(&a, &b);
		assert_string_equal(b.source, path);
		topology_free(&a);
		topology_free(&b);
	}
	unlink(path);
	assert_int_equal(topology_save(&(struct topology){ 0 }, "/nonexistent/dir/x.topo", err), -1);
	assert_non_null(strstr(err, "/nonexistent/dir/x.topo.tmp"));
}

#define HEAD "# cohmap topology v1\n"
#define KEYS "cpu_model Test CPU\nvendor GenuineIntel\nfamily 6\nmodel 85\nstepping 4\n" \
	     "line_size 64\nl1d_bytes 32768\nl2_bytes 1048576\nl3_bytes 0\n"
/* HEAD + KEYS is 10 lines, so the first cpu line is line 11. */

static void test_malformed(void **state)
{
	static const struct {
		const char *text;
		int line;
		const char *says;
	} cases[] = {
		{ "", 1, "first line must be" },
		{ "cpu 0 0 0 0 0 0 0 0 1 1\n", 1, "first line must be" },
		{ "# cohmap topology v2\n" KEYS, 1, "first line must be" },
		{ HEAD "bogus 1\n", 2, "unknown key 'bogus'" },
		{ HEAD "family x\n", 2, "not a non-negative number" },
		{ HEAD "family 99999999999999999999\n", 2, "not a non-negative number" },
		{ HEAD "family -1\n", 2, "not a non-negative number" },
		{ HEAD "family 6 7\n", 2, "not a non-negative number" },
		{ HEAD "family 6\nfamily 6\n", 3, "given twice" },
		{ HEAD "cpu_model\n", 2, "needs a value" },
		{ HEAD "line_size 48\n", 2, "not a power of two" },
		{ HEAD "line_size 0\n", 2, "not a power of two" },
		{ HEAD KEYS, 10, "no cpu lines" },
		{ HEAD "cpu 0 0 0 0 0 0 0 0 1 1\n", 2, "without a 'cpu_model' line" },
		{ HEAD KEYS "cpu 0 0 0 0 0 0 0\n", 11, "needs 10 numbers" },
		{ HEAD KEYS "cpu 0 0 0 0 0 0 0 0 1 1 1\n", 11, "more than 10" },
		{ HEAD KEYS "cpu 0 -1 0 0 0 0 0 0 1 1\n", 11, "socket '-1'" },
		{ HEAD KEYS "cpu 0 0 0 0 0 0 0 0 1 2\n", 11, "allowed '2' is not 0 or 1" },
		{ HEAD KEYS "cpu 0 0 0 0 0 0 0 0 1 1\n# x\ncpu 0 0 0 0 0 1 1 0 1 1\n", 13, "listed twice" },
		{ HEAD KEYS "cpu 0 0 0 0 0 0 0 0 1 1\ncpu 1 1 1 1 1 1 0 1 1 1\n", 12, "shares core 0" },
		{ HEAD KEYS "cpu 0 0 0 0 0 0 0 0 1 1\ncpu 1 0 0 0 0 0 0 0 1 1\n", 12, "same smt index" },
		{ HEAD KEYS "cpu 0 0 0 0 0 0 0 0 1 1\ncpu 1 0 0 1 0 0 0 1 1 1\n", 12, "NUMA node" },
		{ HEAD KEYS "cpu 0 0 0 0 0 0 0 0 1 1\ncpu 1 1 0 0 1 1 1 0 1 1\n", 12, "shares die 0" },
		{ HEAD "cpu_model " "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n", 2, "longer than" },
		{ HEAD "\x01\x1b[31m garbage\n", 2, "unknown key '??[31m'" },
	};
	char path[128], err[ERRLEN], where[32];
	(void)state;

	snprintf(path, sizeof(path), "%s/bad.topo", tmpdir);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct topology t = { 0 };
		write_file(path, cases[i].text, strlen(cases[i].text));
		err[0] = '\0';
		if (topology_load(&t, path, err) == 0)
			fail_msg("case %zu was accepted: %s", i, cases[i].text);
		snprintf(where, sizeof(where), "bad.topo:%d: ", cases[i].line);
		if (!strstr(err, where) || !strstr(err, cases[i].says))
			fail_msg("case %zu: got \"%s\", expected \"%s\" and \"%s\"", i, err, where,
				 cases[i].says);
		assert_null(strchr(err, '\n'));
	}
	/* A NUL byte, which strlen-based writers cannot put in the table. */
	write_file(path, HEAD "family 6\0\n", sizeof(HEAD "family 6\0\n") - 1);
	assert_int_equal(topology_load(&(struct topology){ 0 }, path, err), -1);
	assert_non_null(strstr(err, "bad.topo:2: not a cohmap topology file: it contains a NUL byte"));
	unlink(path);
	assert_int_equal(topology_load(&(struct topology){ 0 }, path, err), -1);
	assert_non_null(strstr(err, "cannot open"));
}

/* Deterministic mutations of a valid file: every result is either accepted
 * and consistent, or refused with one line. Catches crashes under ASan. */
static void test_mutations(void **state)
{
	char src[512], path[128], err[ERRLEN];
	char *text = NULL;
	size_t len = 0;
	uint32_t seed = 12345;
	FILE *f;
	(void)state;

	fixture_path("core2-quad.topo", src, sizeof(src));
	f = fopen(src, "r");
	assert_non_null(f);
	text = malloc(8192);
	len = fread(text, 1, 8191, f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/mut.topo", tmpdir);
	for (int round = 0; round < 500; round++) {
		char buf[8192];
		struct topology t = { 0 };
		size_t n = len;
		memcpy(buf, text, len);
		for (int k = 0; k < 1 + round % 4; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = (seed >> 8) % n;
			seed = seed * 1103515245u + 12345u;
			const char alphabet[] = "0123456789 -\n#xcpu\t\x80";
			buf[at] = alphabet[(seed >> 8) % (sizeof(alphabet) - 1)];
			if (round % 7 == 0)
				n = at + 1; /* truncated file */
		}
		write_file(path, buf, n);
		if (topology_load(&t, path, err) == 0) {
			assert_int_equal(topology_check(&t, NULL, err), 0);
			topology_free(&t);
		} else {
			assert_non_null(strstr(err, "mut.topo:"));
		}
	}
	free(text);
	unlink(path);
}

/* What liblikwid 5.2 (hwloc backend) reports in a QEMU 7.2 TCG guest with
 * -smp 8,sockets=2,cores=2,threads=2: cores right, but every thread id 0,
 * because each PU hangs below its own per-thread L1. Ranking must give each
 * core threads 0 and 1, and keep likwid's order where its ids are right. */
static void test_rank_smt(void **state)
{
	/* cpu socket die numa l3 l2 core smt: likwid's thread ids in smt */
	struct cpu_place guest[8], mixed[6];
	const int guest_smt[8] = { 0, 1, 0, 1, 0, 1, 0, 1 };
	/* Core 0: likwid's ids right but not in CPU order (cpu 2 is thread 0);
	 * core 1: both 1 (a tie, broken by CPU id); core 3: a single thread. */
	const int mixed_core[6] = { 0, 1, 0, 1, 0, 3 }, mixed_likwid[6] = { 1, 1, 0, 1, 2, 5 };
	const int mixed_smt[6] = { 1, 0, 0, 1, 2, 0 };
	struct topology t = { .ncpus = 8, .cpus = guest, .source = "guest" };
	char err[ERRLEN];
	int cpus[8];
	(void)state;

	for (int c = 0; c < 8; c++)
		guest[c] = (struct cpu_place){ .cpu = c, .socket = c / 4 * 4, .die = c / 4 * 4,
					       .numa_node = c / 4,
					       .l3_group = c / 4 * 4, .l2_group = c / 2 * 2,
					       .core = c / 2 * 2, .smt = 0, .online = true };
	assert_int_equal(topology_check(&t, NULL, err), -1);
	assert_non_null(strstr(err, "same smt index 0"));
	assert_int_equal(topology_rank_smt(guest, 8), 0);
	for (int c = 0; c < 8; c++)
		assert_int_equal(guest[c].smt, guest_smt[c]);
	if (topology_check(&t, NULL, err) != 0)
		fail_msg("%s", err);
	assert_class(&t, 0, 1, PAIR_SMT);
	assert_class(&t, 1, 3, PAIR_L3);
	assert_class(&t, 3, 4, PAIR_CROSS_SOCKET);
	all_cpus(&t, cpus);
	topology_sort(&t, cpus, 8);
	for (int c = 0; c < 8; c++)
		assert_int_equal(cpus[c], c);

	for (int c = 0; c < 6; c++)
		mixed[c] = (struct cpu_place){ .cpu = c, .core = mixed_core[c], .smt = mixed_likwid[c] };
	assert_int_equal(topology_rank_smt(mixed, 6), 0);
	for (int c = 0; c < 6; c++)
		if (mixed[c].smt != mixed_smt[c])
			fail_msg("cpu %d: smt %d, expected %d", c, mixed[c].smt, mixed_smt[c]);
}

/* ---- the live machine ---------------------------------------------------- */

static bool cpu_allowed(int cpu)
{
	cpu_set_t set;
	return sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_ISSET(cpu, &set);
}

/* Runs first, before this process initialises liblikwid (once per process):
 * a child restricted to CPU 1 must still see every CPU, with only CPU 1
 * allowed, placed as the unrestricted parent sees them. */
static void test_detect_in_cpuset(void **state)
{
	char path[128], err[ERRLEN];
	struct topology child, parent;
	int status;
	pid_t pid;
	(void)state;

	if (!cpu_allowed(0) || !cpu_allowed(1))
		skip();
	snprintf(path, sizeof(path), "%s/child.topo", tmpdir);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		cpu_set_t one;
		struct topology t;
		int cpus[4];
		CPU_ZERO(&one);
		CPU_SET(1, &one);
		if (sched_setaffinity(0, sizeof(one), &one) != 0 || topology_detect(&t, err) != 0 ||
		    topology_save(&t, path, err) != 0)
			_exit(10);
		/* Plain numbers are OS ids, never logical ids within the cpuset. */
		if (topology_select(&t, "1", cpus, 4, err) != 1 || cpus[0] != 1)
			_exit(11);
		if (topology_select(&t, "0", cpus, 4, err) != -1 ||
		    !strstr(err, "CPU 0 is outside this process's affinity mask (allowed: 1)"))
			_exit(12);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	if (topology_load(&child, path, err) != 0)
		fail_msg("%s", err);
	if (topology_detect(&parent, err) != 0)
		fail_msg("%s", err);
	for (int i = 0; i < parent.ncpus; i++)
		parent.cpus[i].allowed = parent.cpus[i].cpu == 1;
	assert_same_topology(&parent, &child);
	topology_free(&child);
	topology_free(&parent);
	unlink(path);
}

static void test_detect(void **state)
{
	struct topology t;
	char err[ERRLEN] = "";
	struct stat before, after;
	(void)state;

	assert_int_equal(fstat(STDOUT_FILENO, &before), 0);
	if (topology_detect(&t, err) != 0)
		fail_msg("%s", err);
	assert_int_equal(fstat(STDOUT_FILENO, &after), 0);
	assert_true(before.st_ino == after.st_ino && before.st_dev == after.st_dev);
	assert_true(t.ncpus >= 1 && t.ncpus <= (int)sysconf(_SC_NPROCESSORS_CONF));
	assert_true(t.line_size > 0 && (t.line_size & (t.line_size - 1)) == 0);
	assert_true(t.cpu_model[0] != '\0' && t.cpu_model[strlen(t.cpu_model) - 1] != ' ');
	assert_true(t.vendor[0] != '\0');
	/* sysfs where the build has no liblikwid (ARCH=aarch64), and then
	 * cache sizes only where sysfs lists caches */
	if (topology_likwid_built()) {
		assert_true(strncmp(t.source, "likwid", 6) == 0);
		assert_true(t.l1d_bytes > 0);
	} else {
		assert_true(strncmp(t.source, "sysfs (likwid: ", 15) == 0);
	}
	assert_int_equal(topology_check(&t, NULL, err), 0);
	for (int i = 0; i < t.ncpus; i++)
		assert_int_equal(t.cpus[i].allowed, cpu_allowed(t.cpus[i].cpu));
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (cpu_allowed(cpu))
			assert_non_null(topology_find(&t, cpu));
	/* Detecting twice is fine: liblikwid is initialised once. */
	topology_free(&t);
	if (topology_detect(&t, err) != 0)
		fail_msg("%s", err);
	topology_free(&t);
}

static void test_select(void **state)
{
	struct topology t;
	char err[ERRLEN];
	int cpus[16];
	(void)state;

	if (topology_detect(&t, err) != 0)
		fail_msg("%s", err);
	if (t.ncpus < 2 || !cpu_allowed(0) || !cpu_allowed(1)) {
		topology_free(&t);
		skip();
	}
	assert_int_equal(topology_select(&t, "0,1", cpus, 16, err), 2);
	assert_int_equal(cpus[0], 0);
	assert_int_equal(cpus[1], 1);
	assert_int_equal(topology_select(&t, "1,0", cpus, 16, err), 2);
	assert_int_equal(cpus[0], 1); /* the expression's order */
	if (topology_likwid_built()) {
		assert_int_equal(topology_select(&t, "N:0-1", cpus, 16, err), 2);
	} else {
		/* without liblikwid a likwid expression says what it needs */
		assert_int_equal(topology_select(&t, "N:0-1", cpus, 16, err), -1);
		assert_non_null(strstr(err, "cpu expression 'N:0-1' needs liblikwid, which is not available"));
	}

	assert_int_equal(topology_select(&t, "0-1000", cpus, 16, err), -1);
	assert_non_null(strstr(err, "does not exist on this machine"));
	assert_non_null(strstr(err, "cpu expression '0-1000': CPU "));
	assert_int_equal(topology_select(&t, "foo", cpus, 16, err), -1);
	assert_non_null(strstr(err, "cpu expression 'foo' is not valid (examples: 0,2,4  S0:0-3  N:0-7  E:N:4)"));
	assert_int_equal(topology_select(&t, "0,0", cpus, 16, err), -1);
	assert_non_null(strstr(err, "names CPU 0 twice"));
	assert_int_equal(topology_select(&t, "0,1", cpus, 1, err), -1);
	assert_non_null(strstr(err, "more than 1 CPUs"));
	if (topology_likwid_built()) {
		assert_int_equal(topology_select(&t, "N:0-1", cpus, 1, err), -1);
		assert_non_null(strstr(err, "more than 1 CPUs"));
	}
	assert_int_equal(topology_select(&t, "1-0", cpus, 16, err), -1);
	assert_non_null(strstr(err, "cpu expression '1-0'"));
	assert_int_equal(topology_select(&t, "0,", cpus, 16, err), -1);
	assert_non_null(strstr(err, "is not valid"));
	assert_int_equal(topology_select(&t, "", cpus, 16, err), -1);
	assert_int_equal(topology_select(&t, "99999999999999999999999", cpus, 16, err), -1);
	if (!topology_likwid_built()) {
		topology_free(&t);
		return;
	}
	/* likwid's own complaints become the error line instead of stderr noise. */
	assert_int_equal(topology_select(&t, "N:0-100000", cpus, 16, err), -1);
	assert_null(strchr(err, '\n'));
	/* likwid would take domain indices modulo the domain's size. */
	assert_non_null(strstr(err, "index 100000 is outside domain N, which has "));
	assert_int_equal(topology_select(&t, "L:N:100000", cpus, 16, err), -1);
	assert_non_null(strstr(err, "index 100000 is outside domain N"));
	assert_int_equal(topology_select(&t, "N:0@N:100000", cpus, 16, err), -1);
	assert_non_null(strstr(err, "index 100000 is outside domain N"));
	assert_int_equal(topology_select(&t, "N:-1", cpus, 16, err), -1);
	assert_non_null(strstr(err, "is not valid"));
	assert_int_equal(topology_select(&t, "N:1,0", cpus, 16, err), 2);
	assert_int_equal(cpus[0], 1);
	assert_int_equal(topology_select(&t, "E:N:1", cpus, 16, err), 1);
	topology_free(&t);
}

/* A topology file may describe another machine: of its CPUs only those that
 * exist here, on the file's NUMA node, and that this process may use are kept. */
static void test_keep_here(void **state)
{
	struct topology t, other;
	char err[ERRLEN];
	int cpus[64], n, status;
	pid_t pid;
	(void)state;

	load_fixture("intel-2s-smt.topo", &other);
	n = topology_usable(&other, cpus, 64);
	assert_int_equal(n, 40);
	if (access("/sys/devices/system/cpu/cpu39", F_OK) != 0) {
		assert_int_equal(topology_keep_here(&other, cpus, n, err), -1);
		assert_non_null(strstr(err, "of the topology file "));
		assert_non_null(strstr(err, "does not exist here (the file describes another machine?)"));
	}
	topology_free(&other);

	if (topology_detect(&t, err) != 0)
		fail_msg("%s", err);
	n = topology_usable(&t, cpus, 64);
	assert_true(n >= 1);
	assert_int_equal(topology_keep_here(&t, cpus, n, err), n);
	if (numa_available() >= 0) {
		t.cpus[0].numa_node++;
		cpus[0] = t.cpus[0].cpu;
		assert_int_equal(topology_keep_here(&t, cpus, 1, err), -1);
		assert_non_null(strstr(err, "is on NUMA node"));
		t.cpus[0].numa_node--;
	}
	if (n >= 2 && cpu_allowed(0) && cpu_allowed(1)) {
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			cpu_set_t one;
			int pair[2] = { 0, 1 };
			CPU_ZERO(&one);
			CPU_SET(1, &one);
			if (sched_setaffinity(0, sizeof(one), &one) != 0)
				_exit(10);
			_exit(topology_keep_here(&t, pair, 2, err) == 1 && pair[0] == 1 ? 0 : 11);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	topology_free(&t);
}

static int make_tmpdir(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/cohmap-test-topology-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

/* The large machines (written from their published layouts): each one's
 * counts of sockets, dies, NUMA nodes, L3 groups, cores and threads, and the
 * pair classes of one pair of each kind. */
static void test_large_machines(void **state)
{
	(void)state;
	static const struct {
		const char *file;
		struct topology_domains want;
		long smt_pairs, cross_socket_pairs;
	} machines[] = {
		{ "amd-2s-9654-smt.topo", { 384, 2, 2, 2, 24, 192 }, 384, 2L * 192 * 192 },
		{ "amd-2s-9554-smt.topo", { 256, 2, 2, 2, 16, 128 }, 256, 2L * 128 * 128 },
		{ "intel-2s-8480p.topo", { 224, 2, 2, 2, 2, 112 }, 224, 2L * 112 * 112 },
		{ "nvidia-grace-144.topo", { 144, 1, 2, 2, 2, 144 }, 0, 0 },
		{ "intel-4s-8380h.topo", { 224, 4, 4, 4, 4, 112 }, 224, 224L * 168 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(machines); i++) {
		struct topology t = { 0 };
		struct topology_domains d;
		long counts[PAIR_CLASS_COUNT] = { 0 }, total = 0;
		load_fixture(machines[i].file, &t);
		topology_domains(&t, NULL, 0, &d);
		if (memcmp(&d, &machines[i].want, sizeof d) != 0)
			fail_msg("%s: %d cpus %d sockets %d dies %d nodes %d L3 %d cores", machines[i].file,
				 d.cpus, d.sockets, d.dies, d.numa_nodes, d.l3_groups, d.cores);
		int *cpus = malloc((size_t)t.ncpus * sizeof *cpus);
		assert_non_null(cpus);
		all_cpus(&t, cpus);
		topology_count_pairs(&t, cpus, t.ncpus, counts);
		for (int c = 0; c < PAIR_CLASS_COUNT; c++)
			total += counts[c];
		assert_int_equal(total, (long)t.ncpus * (t.ncpus - 1));
		assert_int_equal(counts[PAIR_SMT], machines[i].smt_pairs);
		assert_int_equal(counts[PAIR_CROSS_SOCKET], machines[i].cross_socket_pairs);
		free(cpus);
		topology_free(&t);
	}
	struct topology t = { 0 };
	load_fixture("amd-2s-9654-smt.topo", &t);
	assert_class(&t, 0, 192, PAIR_SMT);      /* siblings i and i+192 */
	assert_class(&t, 0, 7, PAIR_L3);         /* one CCD */
	assert_class(&t, 0, 8, PAIR_DIE);        /* the next CCD, same socket */
	assert_class(&t, 95, 96, PAIR_CROSS_SOCKET);
	topology_free(&t);
	load_fixture("nvidia-grace-144.topo", &t);
	assert_int_equal(t.family, 8);           /* aarch64: the format holds it */
	assert_int_equal(t.model, 3407);
	assert_class(&t, 0, 71, PAIR_L3);
	assert_class(&t, 71, 72, PAIR_NUMA);     /* the other Grace die */
	topology_free(&t);
	load_fixture("intel-4s-8380h.topo", &t);
	assert_class(&t, 27, 28, PAIR_CROSS_SOCKET);
	assert_class(&t, 0, 112, PAIR_SMT);
	topology_free(&t);
}

static int remove_tmpdir(void **state)
{
	(void)state;
	return rmdir(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detect_in_cpuset),
		cmocka_unit_test(test_class_names),
		cmocka_unit_test(test_intel),
		cmocka_unit_test(test_amd_ccx),
		cmocka_unit_test(test_amd_nps2),
		cmocka_unit_test(test_laptop),
		cmocka_unit_test(test_hybrid),
		cmocka_unit_test(test_core2),
		cmocka_unit_test(test_large_machines),
		cmocka_unit_test(test_usable),
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_rank_smt),
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_keep_here),
	};
	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
