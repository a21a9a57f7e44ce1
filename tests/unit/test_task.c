/* Cooperative tasks (util/task.h), driven the way the daemon's loop drives them: a task that
 * waits is suspended and tells what for, runs again only when resumed, lets other tasks finish
 * meanwhile, winds up when cancelled, and computes beside its caller while detached. Every wait
 * of the test is bounded: broken code makes a test fail, never hang. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

#include "clock/clock.h"
#include "util/task.h"

/* The failure bound of every wait: far beyond what a busy machine needs. */
#define BOUND_MS 10000
#define LOG_MAX 256

/* What a task saw, for the test to check once it finished. */
typedef struct probe {
	int fd;              /* what it waits for */
	int64_t timeout_ms;
	int result;          /* what its wait returned */
	int error;           /* errno after it */
	int second;          /* a second wait, after the first (cancellation) */
	bool in_task;        /* ec_task_running_here() inside */
	char *log;           /* shared by tasks that take turns: who did what, in order */
	const char *name;
} probe;

static void log_step(probe *p, const char *step)
{
	if (p->log != NULL)
		snprintf(p->log + strlen(p->log), LOG_MAX - strlen(p->log), "%s %s;", p->name, step);
}

static void wait_on_fd(void *arg)
{
	probe *p = arg;
	p->in_task = ec_task_running_here();
	log_step(p, "waits");
	p->result = ec_wait_fd(p->fd, POLLIN, p->timeout_ms);
	p->error = errno;
	if (p->result > 0) {
		char c;
		(void)!read(p->fd, &c, 1);
	}
	log_step(p, "done");
}

static void sleep_briefly(void *arg)
{
	probe *p = arg;
	p->result = ec_wait_ms(p->timeout_ms);
}

static void start(ec_task_fn fn, void *arg, ec_task **t)
{
	ec_err err;
	if (ec_task_start(fn, arg, t, &err) != 0)
		fail_msg("ec_task_start: %s", err.msg);
}

/* What the loop does for one suspended task: polls its descriptor (within the failure bound) and
 * resumes it with what poll said. */
static void resume_when_ready(ec_task *t)
{
	struct pollfd p;
	int64_t deadline;
	ec_task_waiting_for(t, &p, &deadline);
	assert_true(p.fd >= 0);
	int n = poll(&p, 1, BOUND_MS);
	if (n != 1)
		fail_msg("the descriptor the task waits for was not ready within %d ms", BOUND_MS);
	ec_task_resume(t, p.revents);
}

static void make_pipe(int fds[2])
{
	if (pipe(fds) != 0)
		fail_msg("pipe: %s", strerror(errno));
}

static void close_pipe(int fds[2])
{
	close(fds[0]);
	close(fds[1]);
}

static void suspended_until_its_descriptor_is_ready(void **state)
{
	(void)state;
	int fds[2];
	make_pipe(fds);
	probe p = {.fd = fds[0], .timeout_ms = -1, .result = -2};
	ec_task *t = NULL;
	start(wait_on_fd, &p, &t);
	assert_false(ec_task_finished(t));
	assert_true(p.in_task);
	assert_int_equal(p.result, -2);
	struct pollfd w;
	int64_t deadline;
	ec_task_waiting_for(t, &w, &deadline);
	assert_int_equal(w.fd, fds[0]);
	assert_int_equal(w.events, POLLIN);
	assert_int_equal(w.revents, 0);
	assert_true(deadline == INT64_MAX);

	assert_int_equal(write(fds[1], "x", 1), 1);
	resume_when_ready(t);
	assert_true(ec_task_finished(t));
	assert_true(p.result & POLLIN);
	ec_task_waiting_for(t, &w, &deadline);
	assert_int_equal(w.fd, -1);
	ec_task_free(t);
	assert_false(ec_task_running_here());
	close_pipe(fds);
}

/* A task resumed at its deadline sees a reply that arrived with it, and a timeout otherwise. */
static void deadline_looks_once_more(void **state)
{
	(void)state;
	int fds[2];
	make_pipe(fds);
	probe p = {.fd = fds[0], .timeout_ms = 60000, .result = -2};
	ec_task *t = NULL;
	int64_t before = ec_elapsed_ms();
	start(wait_on_fd, &p, &t);
	struct pollfd w;
	int64_t deadline;
	ec_task_waiting_for(t, &w, &deadline);
	assert_true(deadline >= before + 60000 && deadline <= ec_elapsed_ms() + 60000);
	assert_int_equal(write(fds[1], "x", 1), 1);
	ec_task_resume(t, 0);
	assert_true(ec_task_finished(t));
	assert_true(p.result & POLLIN);
	ec_task_free(t);

	p = (probe){.fd = fds[0], .timeout_ms = 60000, .result = -2};
	start(wait_on_fd, &p, &t);
	ec_task_resume(t, 0);
	assert_true(ec_task_finished(t));
	assert_int_equal(p.result, 0);
	ec_task_free(t);
	close_pipe(fds);
}

static void sleep_has_a_deadline(void **state)
{
	(void)state;
	probe p = {.timeout_ms = 50, .result = -2};
	ec_task *t = NULL;
	int64_t before = ec_elapsed_ms();
	start(sleep_briefly, &p, &t);
	int64_t after = ec_elapsed_ms();
	assert_false(ec_task_finished(t));
	struct pollfd w;
	int64_t deadline;
	ec_task_waiting_for(t, &w, &deadline);
	assert_int_equal(w.fd, -1);
	assert_true(deadline >= before + 50 && deadline <= after + 50);
	/* The loop waits for the deadline with poll, as the daemon's does. */
	int64_t left = deadline - ec_elapsed_ms();
	assert_true(left <= BOUND_MS);
	if (left > 0)
		assert_int_equal(poll(NULL, 0, (int)left), 0);
	ec_task_resume(t, 0);
	assert_true(ec_task_finished(t));
	assert_int_equal(p.result, 0);
	ec_task_free(t);
}

static void two_tasks_take_turns(void **state)
{
	(void)state;
	char log[LOG_MAX] = "";
	int a_fds[2], b_fds[2];
	make_pipe(a_fds);
	make_pipe(b_fds);
	probe a = {.fd = a_fds[0], .timeout_ms = -1, .result = -2, .log = log, .name = "A"};
	probe b = {.fd = b_fds[0], .timeout_ms = -1, .result = -2, .log = log, .name = "B"};
	ec_task *ta = NULL, *tb = NULL;
	start(wait_on_fd, &a, &ta);
	start(wait_on_fd, &b, &tb);
	assert_false(ec_task_finished(ta));
	assert_false(ec_task_finished(tb));

	assert_int_equal(write(b_fds[1], "x", 1), 1);
	resume_when_ready(tb);
	assert_true(ec_task_finished(tb));
	assert_false(ec_task_finished(ta));
	assert_string_equal(log, "A waits;B waits;B done;");
	struct pollfd w;
	int64_t deadline;
	ec_task_waiting_for(ta, &w, &deadline);
	assert_int_equal(w.fd, a_fds[0]);

	assert_int_equal(write(a_fds[1], "x", 1), 1);
	resume_when_ready(ta);
	assert_true(ec_task_finished(ta));
	assert_string_equal(log, "A waits;B waits;B done;A done;");
	assert_true(a.result & POLLIN);
	assert_true(b.result & POLLIN);
	ec_task_free(ta);
	ec_task_free(tb);
	close_pipe(a_fds);
	close_pipe(b_fds);
}

/* Waits forever, then once more: cancelled, both return at once. */
static void wait_twice(void *arg)
{
	probe *p = arg;
	p->result = ec_wait_fd(p->fd, POLLIN, -1);
	p->error = errno;
	p->second = ec_wait_ms(BOUND_MS * 100);
}

static void cancel_ends_a_wait_forever(void **state)
{
	(void)state;
	int fds[2];
	make_pipe(fds);
	probe p = {.fd = fds[0], .result = -2, .second = -2};
	ec_task *t = NULL;
	start(wait_twice, &p, &t);
	assert_false(ec_task_finished(t));
	int64_t before = ec_elapsed_ms();
	ec_task_cancel(t);
	assert_true(ec_task_finished(t));
	assert_true(ec_elapsed_ms() - before < BOUND_MS);
	assert_int_equal(p.result, -1);
	assert_int_equal(p.error, ECANCELED);
	assert_int_equal(p.second, -1);
	ec_task_free(t);
	close_pipe(fds);
}

/* Detached code waits for a flag that only a caller running beside it can set. */
typedef struct beside {
	atomic_bool go;
	atomic_bool saw_go;
	bool in_task_after;
	int after;           /* a wait after attach: -1 once cancelled */
	int fd;
} beside;

static void compute_beside(void *arg)
{
	beside *b = arg;
	ec_task_detach(EC_DETACH_COMPUTE);
	int64_t give_up = ec_elapsed_ms() + BOUND_MS;
	while (!atomic_load(&b->go) && ec_elapsed_ms() < give_up)
		sched_yield();
	atomic_store(&b->saw_go, atomic_load(&b->go));
	ec_task_attach();
	b->in_task_after = ec_task_running_here();
	b->after = b->fd >= 0 ? ec_wait_fd(b->fd, POLLIN, -1) : 0;
}

static void detached_runs_beside_the_caller(void **state)
{
	(void)state;
	beside b = {.fd = -1, .after = -2};
	ec_task *t = NULL;
	start(compute_beside, &b, &t);
	/* Started and handed back while its code still runs: the flag is not set yet. */
	assert_false(ec_task_finished(t));
	struct pollfd w;
	int64_t deadline;
	ec_task_waiting_for(t, &w, &deadline);
	assert_true(w.fd >= 0);
	assert_int_equal(w.events, POLLIN);
	assert_true(deadline == INT64_MAX);
	/* Resumed before it attached, it is not its turn: nothing happens. */
	ec_task_resume(t, 0);
	assert_false(ec_task_finished(t));

	atomic_store(&b.go, true);
	resume_when_ready(t);
	assert_true(ec_task_finished(t));
	assert_true(atomic_load(&b.saw_go));
	assert_true(b.in_task_after);
	assert_int_equal(b.after, 0);
	ec_task_free(t);
}

/* Cancelled while detached: the cancel waits for the computation, then every wait fails. */
static void cancel_while_detached(void **state)
{
	(void)state;
	int fds[2];
	make_pipe(fds);
	beside b = {.fd = fds[0], .after = -2};
	ec_task *t = NULL;
	start(compute_beside, &b, &t);
	assert_false(ec_task_finished(t));
	atomic_store(&b.go, true);
	ec_task_cancel(t);
	assert_true(ec_task_finished(t));
	assert_true(atomic_load(&b.saw_go));
	assert_int_equal(b.after, -1);
	ec_task_free(t);
	close_pipe(fds);
}

static void outside_a_task_waits_block(void **state)
{
	(void)state;
	assert_false(ec_task_running_here());
	int fds[2];
	make_pipe(fds);
	assert_int_equal(ec_wait_fd(fds[0], POLLIN, 0), 0);
	assert_int_equal(ec_wait_fd(fds[0], POLLIN, 20), 0);
	assert_int_equal(write(fds[1], "x", 1), 1);
	assert_int_equal(ec_wait_fd(fds[0], POLLIN, BOUND_MS), POLLIN);
	assert_int_equal(ec_wait_ms(1), 0);
	ec_task_detach(EC_DETACH_COMPUTE); /* nothing to detach from */
	ec_task_attach();
	assert_false(ec_task_running_here());
	close_pipe(fds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(suspended_until_its_descriptor_is_ready),
		cmocka_unit_test(deadline_looks_once_more),
		cmocka_unit_test(sleep_has_a_deadline),
		cmocka_unit_test(two_tasks_take_turns),
		cmocka_unit_test(cancel_ends_a_wait_forever),
		cmocka_unit_test(detached_runs_beside_the_caller),
		cmocka_unit_test(cancel_while_detached),
		cmocka_unit_test(outside_a_task_waits_block),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
