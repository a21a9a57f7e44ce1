/* The post-install command: its deadlines, the coalescing of installs while it runs, and the
 * spawner that starts it without waiting (util/spawn.h). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/post_install.h"
#include "util/spawn.h"

#define TIMEOUT_MS 2000

static void timeout_then_sigterm_then_sigkill(void **state)
{
	post_install_slot s = {0};
	assert_int_equal(post_install_deadline(&s, TIMEOUT_MS), POST_INSTALL_NEVER);
	assert_int_equal(post_install_request(&s), POST_INSTALL_START);
	post_install_started(&s, 1000);
	assert_int_equal(post_install_deadline(&s, TIMEOUT_MS), 3000);
	assert_int_equal(post_install_due(&s, 2999, TIMEOUT_MS), POST_INSTALL_WAIT);
	assert_int_equal(post_install_due(&s, 3100, TIMEOUT_MS), POST_INSTALL_SEND_TERM);
	/* The grace runs from when SIGTERM was sent, not from the deadline. */
	assert_int_equal(post_install_deadline(&s, TIMEOUT_MS), 3100 + POST_INSTALL_KILL_GRACE_MS);
	assert_int_equal(post_install_due(&s, 3100 + POST_INSTALL_KILL_GRACE_MS - 1, TIMEOUT_MS), POST_INSTALL_WAIT);
	assert_int_equal(post_install_due(&s, 3100 + POST_INSTALL_KILL_GRACE_MS, TIMEOUT_MS), POST_INSTALL_SEND_KILL);
	/* Killed: nothing more to send, however long it takes to be reaped. */
	assert_int_equal(post_install_deadline(&s, TIMEOUT_MS), POST_INSTALL_NEVER);
	assert_int_equal(post_install_due(&s, INT64_MAX - 1, TIMEOUT_MS), POST_INSTALL_WAIT);
	assert_false(post_install_ended(&s));
	assert_int_equal(s.stage, POST_INSTALL_IDLE);
}

static void ends_before_timeout_sends_nothing(void **state)
{
	post_install_slot s = {0};
	assert_int_equal(post_install_request(&s), POST_INSTALL_START);
	post_install_started(&s, 0);
	assert_false(post_install_ended(&s));
	assert_int_equal(post_install_due(&s, 10 * TIMEOUT_MS, TIMEOUT_MS), POST_INSTALL_WAIT);
}

static void installs_while_running_coalesce_into_one_more_run(void **state)
{
	post_install_slot s = {0};
	assert_int_equal(post_install_request(&s), POST_INSTALL_START);
	post_install_started(&s, 0);
	assert_int_equal(post_install_request(&s), POST_INSTALL_QUEUED);
	assert_int_equal(post_install_request(&s), POST_INSTALL_ALREADY_QUEUED);
	assert_int_equal(post_install_request(&s), POST_INSTALL_ALREADY_QUEUED);
	assert_true(post_install_ended(&s));
	post_install_started(&s, 500);
	assert_int_equal(post_install_deadline(&s, TIMEOUT_MS), 500 + TIMEOUT_MS);
	assert_false(post_install_ended(&s)); /* the queued run was the last one */
	assert_int_equal(post_install_request(&s), POST_INSTALL_START);
}

static void a_queued_run_survives_a_timeout_but_not_a_stop(void **state)
{
	post_install_slot s = {0};
	assert_int_equal(post_install_request(&s), POST_INSTALL_START);
	post_install_started(&s, 0);
	assert_int_equal(post_install_request(&s), POST_INSTALL_QUEUED);
	assert_int_equal(post_install_due(&s, TIMEOUT_MS, TIMEOUT_MS), POST_INSTALL_SEND_TERM);
	assert_true(post_install_ended(&s));
	post_install_started(&s, 0);
	assert_int_equal(post_install_request(&s), POST_INSTALL_QUEUED);
	post_install_forget(&s);
	assert_false(post_install_ended(&s));
}

static void longest_timeout_does_not_overflow(void **state)
{
	post_install_slot s = {0};
	post_install_started(&s, INT64_MAX - 10);
	assert_int_equal(post_install_deadline(&s, 86400LL * 1000), POST_INSTALL_NEVER);
}

/* Waits (bounded) for pid to end; its wait status. */
static int reap_within(pid_t pid, int seconds)
{
	int status = -1;
	for (int i = 0; i < seconds * 100; i++) {
		int r = ec_spawn_reap(pid, &status);
		assert_int_not_equal(r, -1);
		if (r == 1)
			return status;
		struct timespec pause = {.tv_nsec = 10 * 1000000};
		nanosleep(&pause, NULL);
	}
	fail_msg("pid %d did not end within %d s", (int)pid, seconds);
	return -1;
}

static void spawner_starts_without_waiting_and_reaps(void **state)
{
	char *argv[] = {"sh", "-c", "exit 3", NULL};
	const ec_spawn_opts opts = {.stdin_fd = -1, .stdout_fd = -1, .own_group = true};
	ec_err err;
	pid_t pid;
	assert_int_equal(ec_spawn("/bin/sh", argv, &opts, &pid, &err), 0);
	int status = reap_within(pid, 10);
	char text[64];
	ec_spawn_status_text(status, text, sizeof(text));
	assert_string_equal(text, "exit status 3");
}

static void spawner_child_has_own_group_and_default_signals(void **state)
{
	/* The test runner ignoring SIGTERM must not make the child immune to it. */
	void (*old)(int) = signal(SIGTERM, SIG_IGN);
	char *argv[] = {"sh", "-c", "exec sleep 1000", NULL};
	const ec_spawn_opts opts = {.stdin_fd = -1, .stdout_fd = -1, .own_group = true};
	ec_err err;
	pid_t pid;
	assert_int_equal(ec_spawn("/bin/sh", argv, &opts, &pid, &err), 0);
	signal(SIGTERM, old);
	int status = 0;
	assert_int_equal(ec_spawn_reap(pid, &status), 0); /* still running: not waited for */
	assert_int_equal(kill(-pid, SIGTERM), 0);        /* its own group, led by it */
	status = reap_within(pid, 10);
	char text[64];
	ec_spawn_status_text(status, text, sizeof(text));
	assert_string_equal(text, "signal 15 (SIGTERM)");
}

static void spawner_reports_a_program_that_cannot_start(void **state)
{
	char *argv[] = {"nothing", NULL};
	const ec_spawn_opts opts = {.stdin_fd = -1, .stdout_fd = -1, .own_group = false};
	ec_err err;
	pid_t pid;
	/* glibc reports exec failure from posix_spawn itself. */
	assert_int_equal(ec_spawn("/nonexistent/program", argv, &opts, &pid, &err), -1);
	assert_non_null(strstr(err.msg, "/nonexistent/program"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(timeout_then_sigterm_then_sigkill),
		cmocka_unit_test(ends_before_timeout_sends_nothing),
		cmocka_unit_test(installs_while_running_coalesce_into_one_more_run),
		cmocka_unit_test(a_queued_run_survives_a_timeout_but_not_a_stop),
		cmocka_unit_test(longest_timeout_does_not_overflow),
		cmocka_unit_test(spawner_starts_without_waiting_and_reaps),
		cmocka_unit_test(spawner_child_has_own_group_and_default_signals),
		cmocka_unit_test(spawner_reports_a_program_that_cannot_start),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
