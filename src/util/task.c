/* Cooperative tasks on threads that take turns with the loop (task.h). */
#include "util/task.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "clock/clock.h"

struct ec_task {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool task_turn;        /* the task runs (or may run); false: whoever resumed it runs */
	bool finished;
	bool cancelled;
	bool detached;         /* computing beside the loop; wakes it through wake_fd when done */
	bool counted;          /* ... as one of detached_now */
	ec_task_fn fn;
	void *arg;
	struct pollfd wait;    /* what it waits for while suspended */
	int64_t deadline;
	short revents;
	int wake_fd;           /* an eventfd: written by ec_task_attach */
};

static _Thread_local ec_task *current_task;

/* Detached work running now, and how much may run at once: one core is left to the loop and
 * the listener, so that fifty trustpoints making their keys at once do not starve them. */
static atomic_int detached_now;
#define DETACH_RECHECK_MS 5

static int detached_max(void)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	return cores > 2 ? (int)cores - 1 : 1;
}

/* The resumer's side: hand the turn over and wait until it comes back. */
static void hand_to_task(ec_task *t)
{
	pthread_mutex_lock(&t->mu);
	t->task_turn = true;
	pthread_cond_broadcast(&t->cv);
	while (t->task_turn)
		pthread_cond_wait(&t->cv, &t->mu);
	pthread_mutex_unlock(&t->mu);
}

/* The task's side: give the turn back (unless it keeps running, detached) and, unless detached,
 * wait for it again. */
static void hand_back(ec_task *t, bool wait_for_turn)
{
	pthread_mutex_lock(&t->mu);
	t->task_turn = false;
	pthread_cond_broadcast(&t->cv);
	while (wait_for_turn && !t->task_turn)
		pthread_cond_wait(&t->cv, &t->mu);
	pthread_mutex_unlock(&t->mu);
}

static void wait_for_turn(ec_task *t)
{
	pthread_mutex_lock(&t->mu);
	while (!t->task_turn)
		pthread_cond_wait(&t->cv, &t->mu);
	pthread_mutex_unlock(&t->mu);
}

static void *task_main(void *arg)
{
	ec_task *t = arg;
	current_task = t;
	wait_for_turn(t);
	t->fn(t->arg);
	t->finished = true;
	t->wait = (struct pollfd){.fd = -1};
	t->deadline = INT64_MAX;
	hand_back(t, false);
	return NULL;
}

int ec_task_start(ec_task_fn fn, void *arg, ec_task **out, ec_err *err)
{
	ec_task *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return ec_err_set(err, "out of memory");
	t->fn = fn;
	t->arg = arg;
	t->wait.fd = -1;
	t->deadline = INT64_MAX;
	t->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->wake_fd < 0) {
		int e = errno;
		free(t);
		return ec_err_set(err, "eventfd: %s", strerror(e));
	}
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	sigset_t all, saved;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	int rc = pthread_create(&t->thread, NULL, task_main, t);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (rc != 0) {
		close(t->wake_fd);
		pthread_mutex_destroy(&t->mu);
		pthread_cond_destroy(&t->cv);
		free(t);
		return ec_err_set(err, "cannot start a thread: %s", strerror(rc));
	}
	hand_to_task(t);
	*out = t;
	return 0;
}

bool ec_task_finished(const ec_task *t)
{
	return t->finished;
}

void ec_task_waiting_for(const ec_task *t, struct pollfd *p, int64_t *deadline)
{
	*p = t->wait;
	p->revents = 0;
	*deadline = t->deadline;
}

void ec_task_resume(ec_task *t, short revents)
{
	if (t->finished)
		return;
	if (t->detached) {
		uint64_t n;
		if (read(t->wake_fd, &n, sizeof(n)) != (ssize_t)sizeof(n))
			return; /* still computing: not its turn yet */
		t->detached = false;
	}
	t->revents = revents;
	hand_to_task(t);
}

void ec_task_cancel(ec_task *t)
{
	t->cancelled = true;
	if (t->detached) {
		struct pollfd p = {t->wake_fd, POLLIN, 0};
		while (poll(&p, 1, -1) < 0 && errno == EINTR)
			;
	}
	ec_task_resume(t, 0);
}

void ec_task_free(ec_task *t)
{
	if (t == NULL)
		return;
	pthread_join(t->thread, NULL);
	close(t->wake_fd);
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->cv);
	free(t);
}

bool ec_task_running_here(void)
{
	return current_task != NULL;
}

/* Suspends the running task until fd is ready or the deadline passes. */
static int suspend(ec_task *t, int fd, short events, int64_t timeout_ms)
{
	if (t->cancelled) {
		errno = ECANCELED;
		return -1;
	}
	t->wait = (struct pollfd){.fd = fd, .events = events};
	int64_t now = ec_elapsed_ms();
	t->deadline = timeout_ms < 0 ? INT64_MAX : (timeout_ms > INT64_MAX - now ? INT64_MAX : now + timeout_ms);
	hand_back(t, true);
	t->wait = (struct pollfd){.fd = -1};
	t->deadline = INT64_MAX;
	if (t->cancelled) {
		errno = ECANCELED;
		return -1;
	}
	return t->revents;
}

int ec_wait_fd(int fd, short events, int64_t timeout_ms)
{
	ec_task *t = current_task;
	struct pollfd p = {fd, events, 0};
	if (t != NULL) {
		if (t->cancelled) {
			errno = ECANCELED;
			return -1;
		}
		/* Ready already (a request that came with its connection, a reply already written):
		 * no round through the loop. */
		if (poll(&p, 1, 0) > 0)
			return p.revents;
		/* A readiness seen from the deadline's side is looked at once more, so that a reply
		 * that arrived with the deadline is not lost. */
		int r = suspend(t, fd, events, timeout_ms);
		if (r != 0)
			return r;
	}
	int64_t wait = t != NULL ? 0 : timeout_ms;
	int n = poll(&p, 1, wait < 0 ? -1 : wait > INT_MAX ? INT_MAX : (int)wait);
	if (n < 0)
		return errno == EINTR ? 0 : -1;
	return n == 0 ? 0 : p.revents;
}

int ec_wait_ms(int64_t ms)
{
	ec_task *t = current_task;
	if (ms < 0)
		ms = 0;
	if (t != NULL)
		return suspend(t, -1, 0, ms) < 0 ? -1 : 0;
	struct timespec pause = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
	while (nanosleep(&pause, &pause) != 0 && errno == EINTR)
		;
	return 0;
}

void ec_task_detach(ec_detach_kind kind)
{
	ec_task *t = current_task;
	if (t == NULL)
		return;
	/* Past the limit, the task waits its turn in the loop rather than beside it. */
	while (kind == EC_DETACH_COMPUTE && atomic_load(&detached_now) >= detached_max())
		if (ec_wait_ms(DETACH_RECHECK_MS) != 0)
			return;
	if (t->cancelled)
		return;
	t->counted = kind == EC_DETACH_COMPUTE;
	if (t->counted)
		atomic_fetch_add(&detached_now, 1);
	t->wait = (struct pollfd){.fd = t->wake_fd, .events = POLLIN};
	t->deadline = INT64_MAX;
	t->detached = true;
	hand_back(t, false);
}

void ec_task_attach(void)
{
	ec_task *t = current_task;
	if (t == NULL)
		return;
	pthread_mutex_lock(&t->mu);
	bool detached = !t->task_turn && t->detached;
	pthread_mutex_unlock(&t->mu);
	if (!detached)
		return;
	if (t->counted)
		atomic_fetch_sub(&detached_now, 1);
	uint64_t one = 1;
	(void)!write(t->wake_fd, &one, sizeof(one));
	wait_for_turn(t);
	t->wait = (struct pollfd){.fd = -1};
}
