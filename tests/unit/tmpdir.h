/* One scratch directory per test program, made before a group of tests and
 * removed after it (cmocka group setup and teardown). Define TMPDIR_NAME,
 * the test's name, before including. */
#ifndef COHMAP_TEST_TMPDIR_H
#define COHMAP_TEST_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>

#ifndef TMPDIR_NAME
#error "define TMPDIR_NAME before including tests/unit/tmpdir.h"
#endif

static char tmpdir[64];

static int make_tmpdir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/cohmap-test-%s-XXXXXX", TMPDIR_NAME);
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	return system(cmd);
}

#endif
