/*
 * The daemon's tasks (util/task.h): one per certificate server or trustpoint with timers due, one
 * per operator connection being served. The loop starts them, polls what they wait for and
 * resumes them; a server or trustpoint is worked on by one of them at a time.
 */
#include "daemon/daemon.h"

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

/* How often a command waiting for a busy trustpoint looks again. */
#define CLAIM_RECHECK_MS 20

static bool server_task_runs(const daemon_ctx *d)
{
	for (size_t i = 0; i < d->n_cas; i++)
		if (d->ca_jobs[i].task != NULL)
			return true;
	return false;
}

bool daemon_server_busy(const daemon_ctx *d, size_t i)
{
	return d->ca_jobs[i].task != NULL || d->ca_retry_at[i] > ec_elapsed_ms();
}

/* While a server's timers run (a successor made beside the loop), the trustpoints wait: what
 * the server does at an instant is in place before its clients ask. While a reload replaces
 * trustpoints, every trustpoint waits. */
bool daemon_trustpoint_busy(const daemon_ctx *d, size_t i)
{
	return d->tp_jobs[i].task != NULL || d->tp_claimed[i] || server_task_runs(d) || d->reloading;
}

static void run_server(void *arg)
{
	daemon_job *job = arg;
	ca_engine *ca = job->d->cas[job->index];
	ec_err err;
	if (ca_run_timers(ca, job->now, &err) != 0) {
		dlog_at(job->d, EC_LOG_ERROR, "certificate server %s: timer failed: %s", ca_name(ca), err.msg);
		job->d->ca_retry_at[job->index] = ec_elapsed_ms() + DAEMON_RETRY_MS;
	}
}

static void run_trustpoint(void *arg)
{
	daemon_job *job = arg;
	tp_runtime *tp = job->d->tps[job->index];
	if (client_next_timer(tp) <= job->now)
		client_run_timers(tp, job->now);
	client_crl_service(tp, job->now);
}

static void serve_operator(void *arg)
{
	daemon_job *job = arg;
	control_serve(job->d, job->fd);
}

/* Starts fn on a free job; a task that could not start runs here and now, as it would have
 * without tasks, rather than not at all. */
static void start(daemon_ctx *d, daemon_job *job, ec_task_fn fn)
{
	ec_err err;
	job->d = d;
	if (ec_task_start(fn, job, &job->task, &err) != 0) {
		dlog_at(d, EC_LOG_WARNING, "%s; the work runs without letting the loop go on meanwhile", err.msg);
		job->task = NULL;
		fn(job);
		return;
	}
	if (ec_task_finished(job->task)) {
		ec_task_free(job->task);
		job->task = NULL;
	}
}

/* The timers of the server or trustpoint at index i, due at now. */
static void start_timers(daemon_ctx *d, daemon_job *job, size_t i, ec_time now, ec_task_fn fn)
{
	job->index = i;
	job->now = now;
	start(d, job, fn);
}

void daemon_start_server(daemon_ctx *d, size_t i, ec_time now)
{
	if (!daemon_server_busy(d, i))
		start_timers(d, &d->ca_jobs[i], i, now, run_server);
}

void daemon_start_trustpoint(daemon_ctx *d, size_t i, ec_time now)
{
	if (!daemon_trustpoint_busy(d, i))
		start_timers(d, &d->tp_jobs[i], i, now, run_trustpoint);
}

static daemon_job *free_operator_job(daemon_ctx *d)
{
	for (size_t i = 0; i < DAEMON_OPERATOR_JOBS; i++)
		if (d->operator_jobs[i].task == NULL)
			return &d->operator_jobs[i];
	return NULL;
}

bool daemon_can_serve_operator(const daemon_ctx *d)
{
	return free_operator_job((daemon_ctx *)d) != NULL;
}

void daemon_start_operator(daemon_ctx *d, int fd)
{
	daemon_job *job = free_operator_job(d);
	if (job == NULL) {
		close(fd);
		return;
	}
	job->fd = fd;
	start(d, job, serve_operator);
}

static void run_reload(void *arg)
{
	daemon_job *job = arg;
	ec_buf out;
	ec_buf_init(&out, 64 * 1024);
	(void)!daemon_reload(job->d, "SIGHUP", &out);
	ec_buf_free(&out);
}

void daemon_start_reload(daemon_ctx *d)
{
	daemon_job *job = free_operator_job(d);
	if (job == NULL) {
		daemon_job now = {.d = d, .fd = -1};
		run_reload(&now);
		return;
	}
	job->fd = -1;
	start(d, job, run_reload);
}

static int index_of(const daemon_ctx *d, const tp_runtime *tp)
{
	for (size_t i = 0; i < d->n_tps; i++)
		if (d->tps[i] == tp)
			return (int)i;
	return -1;
}

int daemon_claim_trustpoint(daemon_ctx *d, const tp_runtime *tp)
{
	/* Looked up again after each wait: a reload meanwhile may have closed the trustpoint, or
	 * moved it in the list. Outside a task (a command run when no thread could be had for it)
	 * nothing would end the work it waits for: the loop is the waiter. */
	for (;;) {
		int i = index_of(d, tp);
		if (i < 0)
			return -1;
		if (!daemon_trustpoint_busy(d, (size_t)i)) {
			d->tp_claimed[i] = true;
			return 0;
		}
		if (!ec_task_running_here() || ec_wait_ms(CLAIM_RECHECK_MS) != 0)
			return -1;
	}
}

void daemon_release_trustpoint(daemon_ctx *d, const tp_runtime *tp)
{
	int i = index_of(d, tp);
	if (i >= 0)
		d->tp_claimed[i] = false;
}

int daemon_wait_trustpoints_idle(daemon_ctx *d)
{
	for (size_t i = 0; i < d->n_cas; i++)
		while (d->ca_jobs[i].task != NULL)
			if (!ec_task_running_here() || ec_wait_ms(CLAIM_RECHECK_MS) != 0)
				return -1;
	for (size_t i = 0; i < d->n_tps; i++)
		while (d->tp_jobs[i].task != NULL)
			if (!ec_task_running_here() || ec_wait_ms(CLAIM_RECHECK_MS) != 0)
				return -1;
	return 0;
}

/* Calls fn on every job that has a task. */
static bool is_operator_job(const daemon_ctx *d, const daemon_job *job)
{
	return job >= d->operator_jobs && job < d->operator_jobs + DAEMON_OPERATOR_JOBS;
}

/* An operator connecting, or an operator's task ready to go on. */
static bool operator_waiting(const daemon_ctx *d)
{
	struct pollfd p[1 + DAEMON_OPERATOR_JOBS];
	nfds_t n = 0;
	p[n++] = (struct pollfd){d->control_fd, POLLIN, 0};
	for (size_t i = 0; i < DAEMON_OPERATOR_JOBS; i++) {
		int64_t deadline;
		if (d->operator_jobs[i].task != NULL)
			ec_task_waiting_for(d->operator_jobs[i].task, &p[n++], &deadline);
	}
	return poll(p, n, 0) > 0;
}

bool daemon_turn_left(const daemon_ctx *d)
{
	return ec_elapsed_ms() - d->turn_start < DAEMON_TURN_BUDGET_MS && !operator_waiting(d);
}

/* Calls fn on every job that has a task, the operators' first. */
static void each_job(daemon_ctx *d, void (*fn)(daemon_ctx *d, daemon_job *job, void *ctx), void *ctx)
{
	for (size_t i = 0; i < DAEMON_OPERATOR_JOBS; i++)
		if (d->operator_jobs[i].task != NULL)
			fn(d, &d->operator_jobs[i], ctx);
	for (size_t i = 0; i < d->n_cas; i++)
		if (d->ca_jobs[i].task != NULL)
			fn(d, &d->ca_jobs[i], ctx);
	for (size_t i = 0; i < d->n_tps; i++)
		if (d->tp_jobs[i].task != NULL)
			fn(d, &d->tp_jobs[i], ctx);
}

typedef struct poll_set {
	struct pollfd *p;
	daemon_job **owners;
	size_t n, max;
	int64_t *deadline;
} poll_set;

static void add_to_poll_set(daemon_ctx *d, daemon_job *job, void *ctx)
{
	(void)d;
	poll_set *s = ctx;
	struct pollfd p;
	int64_t deadline;
	ec_task_waiting_for(job->task, &p, &deadline);
	if (deadline < *s->deadline)
		*s->deadline = deadline;
	if (s->n < s->max) {
		s->p[s->n] = p; /* fd -1 (waiting for time only): poll ignores it */
		s->owners[s->n++] = job;
	}
}

size_t daemon_jobs_poll_set(daemon_ctx *d, struct pollfd *p, daemon_job **owners, size_t n, size_t max,
                            int64_t *deadline)
{
	poll_set s = {p, owners, n, max, deadline};
	each_job(d, add_to_poll_set, &s);
	return s.n;
}

static void free_if_finished(daemon_job *job)
{
	if (job->task != NULL && ec_task_finished(job->task)) {
		ec_task_free(job->task);
		job->task = NULL;
	}
}

void daemon_jobs_resume(daemon_ctx *d, const struct pollfd *p, daemon_job **owners, size_t from, size_t n)
{
	int64_t now = ec_elapsed_ms();
	d->turn_start = now;
	for (size_t i = from; i < n; i++) {
		daemon_job *job = owners[i];
		if (job->task == NULL)
			continue;
		/* Past the turn's budget, the rest wait for the next turn (poll reports them again), so
		 * that the operator socket is looked at between. */
		if (!is_operator_job(d, job) && !daemon_turn_left(d))
			break;
		struct pollfd waits;
		int64_t deadline;
		ec_task_waiting_for(job->task, &waits, &deadline);
		if (p[i].revents != 0 || deadline <= now)
			ec_task_resume(job->task, p[i].revents);
		free_if_finished(job);
	}
}

void daemon_cancel_trustpoint(daemon_ctx *d, size_t i)
{
	daemon_job *job = &d->tp_jobs[i];
	if (job->task == NULL)
		return;
	ec_task_cancel(job->task);
	free_if_finished(job);
}

static void cancel_job(daemon_ctx *d, daemon_job *job, void *ctx)
{
	(void)d;
	(void)ctx;
	ec_task_cancel(job->task);
	free_if_finished(job);
}

void daemon_jobs_stop(daemon_ctx *d)
{
	each_job(d, cancel_job, NULL);
}
