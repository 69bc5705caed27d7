/* Child processes: reaped on every path, killed with their parent, pinned,
 * stopped on a stall or an interrupt. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness/agents.h"
#include "harness/procs.h"

struct shared {
	_Atomic uint64_t beat;
	int cpu;
	pid_t grandchild;
	_Atomic int sleeping; /* set by sleep_forever: its child_main is done */
};

static struct shared *shared_page(void)
{
	struct shared *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(s != MAP_FAILED);
	memset(s, 0, sizeof *s);
	return s;
}

static int exit_zero(void *arg)
{
	struct shared *s = arg;
	s->cpu = sched_getcpu();
	return 0;
}

static int exit_three(void *arg)
{
	(void)arg;
	return 3;
}

static int spin_forever(void *arg)
{
	struct shared *s = arg;
	while (s->cpu != -2)
		atomic_fetch_add(&s->beat, 1);
	return 0;
}

static int sleep_forever(void *arg)
{
	struct shared *s = arg;
	atomic_store(&s->sleeping, 1);
	while (s->cpu != -2)
		pause();
	return 0;
}

static bool gone(pid_t pid)
{
	return waitpid(pid, NULL, WNOHANG) < 0 && errno == ECHILD;
}

static void children_finish_and_are_reaped(void **state)
{
	(void)state;
	struct shared *s = shared_page();
	struct procs p;
	char err[ERRLEN];
	struct proc_spec spec[2] = { { .cpu = 0, .body = exit_zero, .arg = s },
				     { .cpu = -1, .body = exit_zero, .arg = s } };
	assert_int_equal(procs_start(&p, spec, 2, err), 0);
	assert_int_equal(procs_wait(&p, 600, err), PROCS_FINISHED);
	assert_true(gone(p.pid[0]));
	assert_true(gone(p.pid[1]));
	munmap(s, sizeof *s);
}

static void a_child_runs_on_its_cpu(void **state)
{
	(void)state;
	struct shared *s = shared_page();
	struct procs p;
	char err[ERRLEN];
	struct proc_spec spec = { .cpu = 0, .body = exit_zero, .arg = s };
	s->cpu = -1;
	assert_int_equal(procs_start(&p, &spec, 1, err), 0);
	assert_int_equal(procs_wait(&p, 600, err), PROCS_FINISHED);
	assert_int_equal(s->cpu, 0);
	munmap(s, sizeof *s);
}

/* One child fails: the other, which would run forever, is killed, and both
 * are reaped. */
static void a_failure_stops_the_other(void **state)
{
	(void)state;
	struct shared *s = shared_page();
	struct procs p;
	char err[ERRLEN];
	struct proc_spec spec[2] = { { .cpu = -1, .body = spin_forever, .arg = s },
				     { .cpu = -1, .body = exit_three, .arg = s } };
	assert_int_equal(procs_start(&p, spec, 2, err), 0);
	p.heartbeat[0] = &s->beat;
	assert_int_equal(procs_wait(&p, 600, err), PROCS_FAILED);
	assert_int_equal(p.failed, 1);
	assert_non_null(strstr(err, "exited with status 3"));
	assert_true(gone(p.pid[0]));
	assert_true(gone(p.pid[1]));
	munmap(s, sizeof *s);
}

static void a_silent_child_is_killed(void **state)
{
	(void)state;
	struct shared *s = shared_page();
	struct procs p;
	char err[ERRLEN];
	struct proc_spec spec = { .cpu = -1, .body = sleep_forever, .arg = s };
	assert_int_equal(procs_start(&p, &spec, 1, err), 0);
	p.heartbeat[0] = &s->beat;
	assert_int_equal(procs_wait(&p, 0.2, err), PROCS_STALLED);
	assert_non_null(strstr(err, "watchdog"));
	assert_true(gone(p.pid[0]));
	munmap(s, sizeof *s);
}

static void an_interrupt_kills_the_children(void **state)
{
	(void)state;
	struct shared *s = shared_page();
	struct procs p;
	char err[ERRLEN];
	struct proc_spec spec = { .cpu = -1, .body = spin_forever, .arg = s };
	assert_int_equal(procs_start(&p, &spec, 1, err), 0);
	p.heartbeat[0] = &s->beat;
	cohmap_interrupted = 1;
	enum procs_outcome o = procs_wait(&p, 600, err);
	cohmap_interrupted = 0;
	assert_int_equal(o, PROCS_INTERRUPTED);
	assert_true(gone(p.pid[0]));
	munmap(s, sizeof *s);
}

/* The parent of a child is SIGKILLed: the child must die too (it would
 * otherwise sleep forever). The waits below end on the event; their bound
 * (10 minutes) only keeps a hang from stalling the test. We make ourselves the subreaper, so the orphan
 * comes to us and we can see how it ended. */
static void children_die_with_their_parent(void **state)
{
	(void)state;
	struct shared *s = shared_page();
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	pid_t parent = fork();
	assert_true(parent >= 0);
	if (parent == 0) {
		struct procs p;
		char err[ERRLEN];
		struct proc_spec spec = { .cpu = -1, .body = sleep_forever, .arg = s };
		if (procs_start(&p, &spec, 1, err) != 0)
			_exit(1);
		s->grandchild = p.pid[0];
		for (;;)
			pause();
	}
	/* The kill waits for the grandchild to be in its body: before that it
	 * may not have asked for PR_SET_PDEATHSIG yet (then it finds itself
	 * orphaned and exits on its own), which a loaded machine makes likely. */
	for (int i = 0; i < 600000 && (s->grandchild == 0 || !atomic_load(&s->sleeping)); i++)
		usleep(1000);
	pid_t child = s->grandchild;
	assert_true(child > 0);
	assert_true(atomic_load(&s->sleeping));
	kill(parent, SIGKILL);
	assert_int_equal(waitpid(parent, NULL, 0), parent);
	int status = 0;
	pid_t r = -1;
	for (int i = 0; i < 600000 && r <= 0; i++) {
		r = waitpid(child, &status, WNOHANG);
		if (r == 0)
			usleep(1000);
	}
	assert_int_equal(r, child);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	prctl(PR_SET_CHILD_SUBREAPER, 0);
	munmap(s, sizeof *s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(children_finish_and_are_reaped),
		cmocka_unit_test(a_child_runs_on_its_cpu),
		cmocka_unit_test(a_failure_stops_the_other),
		cmocka_unit_test(a_silent_child_is_killed),
		cmocka_unit_test(an_interrupt_kills_the_children),
		cmocka_unit_test(children_die_with_their_parent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
