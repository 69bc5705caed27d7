/* The attach kinds make usable memory and leave nothing behind: SysV
 * segments are marked for removal while attached, POSIX names are random,
 * private and gone before anyone could look. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/common.h"
#include "base/memory.h"
#include "kernels/attach.h"

static void sysv_segments_are_removed_while_attached(void **state)
{
	(void)state;
	char err[ERRLEN];
	int id;
	size_t bytes = 16 * (size_t)sysconf(_SC_PAGESIZE);
	unsigned char *p = sysv_shm_create(bytes, 0, NULL, 0, &id, err);
	assert_non_null(p);
	struct shmid_ds ds;
	assert_int_equal(shmctl(id, IPC_STAT, &ds), 0);
	assert_true(ds.shm_perm.mode & SHM_DEST);        /* ipcs -m: "dest" */
	assert_int_equal(ds.shm_perm.mode & 0777, 0600);
	assert_int_equal(ds.shm_nattch, 1);
	p[0] = 1;
	p[bytes - 1] = 2;
	assert_int_equal(shmdt(p), 0);
	/* the last detach took it away */
	assert_int_equal(shmctl(id, IPC_STAT, &ds), -1);
	assert_true(errno == EINVAL || errno == EIDRM);
}

static void posix_names_are_random_private_and_gone(void **state)
{
	(void)state;
	char err[ERRLEN], a[64], b[64], path[128];
	size_t bytes = 8 * (size_t)sysconf(_SC_PAGESIZE);
	int fa = posix_shm_create(bytes, a, err), fb = posix_shm_create(bytes, b, err);
	assert_true(fa >= 0 && fb >= 0);
	assert_string_not_equal(a, b);
	assert_int_equal(strncmp(a, "/cohmap-", 8), 0);
	assert_true(strlen(a) > 8 + 16);
	for (int i = 0; i < 2; i++) {
		struct stat st;
		snprintf(path, sizeof path, "/dev/shm%s", i ? b : a);
		assert_int_equal(access(path, F_OK), -1);        /* unlinked at once */
		assert_int_equal(fstat(i ? fb : fa, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		assert_int_equal((size_t)st.st_size, bytes);
	}
	close(fa);
	close(fb);
}

/* Every kind, in every variant it can do here, gives memory that holds
 * what is written into it, and frees it again. */
static void every_kind_makes_usable_memory(void **state)
{
	(void)state;
	char err[ERRLEN];
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct hugetlb_pool pool;
	hugetlb_pool_read(&pool);
	for (int k = 0; k < attach_kind_count; k++)
		for (int v = 0; v < VARIANT_COUNT; v++) {
			const struct attach_kind *kind = attach_registry[k];
			if (!attach_kind_can(kind, v)) {
				assert_non_null(kind->why_not[v]);
				continue;
			}
			size_t bytes = 64 * page;
			if (v == VARIANT_HUGETLB) {
				if (pool.page_bytes == 0 || hugetlb_pool_available(&pool) < 1)
					continue; /* no pool here: cohmap attach says why */
				bytes = pool.page_bytes;
			}
			struct attachment a;
			if (kind->create(&a, bytes, v, err) != 0)
				fail_msg("%s %s: %s", kind->name, attach_variant_name(v), err);
			assert_int_equal(a.bytes, bytes);
			attach_touch(&a, page, NULL);
			for (size_t at = 0; at < bytes; at += page)
				assert_int_equal(a.base[at], 1);
			kind->release(&a);
			assert_null(a.base);
		}
}

static void names_and_variants_round_trip(void **state)
{
	(void)state;
	for (int v = 0; v < VARIANT_COUNT; v++)
		assert_int_equal(attach_variant_from_name(attach_variant_name(v)), v);
	assert_int_equal(attach_variant_from_name("gigantic"), -1);
	for (int k = 0; k < attach_kind_count; k++)
		assert_ptr_equal(attach_kind_find(attach_registry[k]->name), attach_registry[k]);
	assert_null(attach_kind_find("brk"));
	assert_false(attach_kind_can(attach_kind_find("malloc"), VARIANT_POPULATE));
	assert_true(attach_kind_can(attach_kind_find("memfd"), VARIANT_HUGETLB));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sysv_segments_are_removed_while_attached),
		cmocka_unit_test(posix_names_are_random_private_and_gone),
		cmocka_unit_test(every_kind_makes_usable_memory),
		cmocka_unit_test(names_and_variants_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
