/* The main loop: PKI timers (only on an authoritative clock, SPEC §2) and operator commands. */
#include "daemon/daemon.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>

#include "daemon/metrics.h"

/* The longest the loop sleeps, so that a clock that becomes authoritative, or a simulated
 * clock running fast, is noticed promptly. */
#define LOOP_MAX_SLEEP_MS 1000

/* A server whose timers run has them in the hands of that work; one whose timers failed waits
 * DAEMON_RETRY_MS before they are tried again (not for `clock advance`, which reports the
 * failure). */
static ec_time server_next(daemon_ctx *d, size_t i)
{
	if (d->ca_jobs[i].task != NULL || (!d->advancing && daemon_server_busy(d, i)))
		return INT64_MAX;
	return ca_next_timer(d->cas[i]);
}

/* A trustpoint being worked on has its timers in the hands of that work. */
static ec_time trustpoint_next(daemon_ctx *d, size_t i)
{
	return daemon_trustpoint_busy(d, i) ? INT64_MAX : client_next_timer(d->tps[i]);
}

ec_time daemon_next_timer(daemon_ctx *d)
{
	ec_time t = INT64_MAX;
	for (size_t i = 0; i < d->n_cas; i++) {
		ec_time c = server_next(d, i);
		if (c < t)
			t = c;
	}
	for (size_t i = 0; i < d->n_tps; i++) {
		ec_time c = trustpoint_next(d, i);
		if (c < t)
			t = c;
	}
	return t;
}

static int run_server_timers(daemon_ctx *d, ec_time now)
{
	int failures = 0;
	for (size_t i = 0; i < d->n_cas; i++) {
		if (ca_next_timer(d->cas[i]) > now)
			continue;
		ec_err err;
		if (ca_run_timers(d->cas[i], now, &err) != 0) {
			dlog_at(d, EC_LOG_ERROR, "certificate server %s: timer failed: %s", ca_name(d->cas[i]), err.msg);
			failures++;
		}
	}
	return failures ? -1 : 0;
}

void daemon_start_due_timers(daemon_ctx *d, ec_time now)
{
	for (size_t i = 0; i < d->n_cas; i++)
		if (server_next(d, i) <= now)
			daemon_start_server(d, i, now);
	/* Trustpoints after the servers, so that a CA's new state (a rollover certificate created
	 * at this instant) is there when its own clients ask: while a server's task runs, they are
	 * busy (daemon_trustpoint_busy). Each runs in a task of its own: one whose CA is slow to
	 * answer holds up no other. Their failures are theirs: each schedules its own retry. */
	for (size_t i = 0; i < d->n_tps && daemon_turn_left(d); i++)
		if (trustpoint_next(d, i) <= now)
			daemon_start_trustpoint(d, i, now);
}

/* `clock advance`, in the command's task: the due trustpoints of one instant run one after the
 * other, in order, each claimed so that nothing else works on it meanwhile. */
static int run_due_timers_in_order(daemon_ctx *d, ec_time now)
{
	int rc = run_server_timers(d, now);
	for (size_t i = 0; i < d->n_tps; i++) {
		if (trustpoint_next(d, i) > now)
			continue;
		if (daemon_claim_trustpoint(d, d->tps[i]) != 0)
			return -1;
		client_run_timers(d->tps[i], now);
		daemon_release_trustpoint(d, d->tps[i]);
	}
	return rc;
}

int daemon_clock_advance(daemon_ctx *d, ec_time target, ec_buf *out, ec_err *err)
{
	if (!ec_clock_is_simulated(d->clock))
		return ec_err_set(err, "the daemon runs on the system clock; `clock advance` needs "
		                  "`clock simulate start ...` in the configuration");
	if (target < ec_clock_now(d->clock))
		return ec_err_set(err, "a simulated clock only moves forward");
	int fired = 0, rc = 0;
	/* Each due timer runs at its own instant, in order, so that what one does (a rollover
	 * certificate created) is in place before the next (a switch) runs; the loop fires none
	 * meanwhile, and work already started finishes first. */
	d->advancing = true;
	for (;;) {
		if (daemon_wait_trustpoints_idle(d) != 0) {
			rc = ec_err_set(err, "the daemon is stopping");
			break;
		}
		ec_time next = daemon_next_timer(d);
		if (next > target)
			break;
		if (next > ec_clock_now(d->clock) && (rc = ec_clock_set(d->clock, next, err)) != 0)
			break;
		if (run_due_timers_in_order(d, ec_clock_now(d->clock)) != 0) {
			rc = ec_err_set(err, "a timer failed at the simulated time reached (see the log)");
			break;
		}
		fired++;
	}
	d->advancing = false;
	if (rc != 0)
		return -1;
	if (target > ec_clock_now(d->clock) && ec_clock_set(d->clock, target, err) != 0)
		return -1;
	daemon_clock_save(d);
	char iso[EC_TIME_TEXT_MAX];
	ec_time_format_iso(ec_clock_now(d->clock), iso);
	dlog(d, "operator: clock advanced to %s (%d timer round(s) fired)", iso, fired);
	if (ec_buf_printf(out, "Clock advanced to %s; %d timer round(s) fired.\n", iso, fired) != 0)
		return ec_err_set(err, "output too long");
	return 0;
}

static int sleep_ms(daemon_ctx *d, ec_time now, ec_time next)
{
	if (!ec_clock_is_authoritative(d->clock) || next == INT64_MAX)
		return LOOP_MAX_SLEEP_MS;
	ec_time wait = next - now;
	if (wait < 0)
		wait = 0;
	return wait > LOOP_MAX_SLEEP_MS ? LOOP_MAX_SLEEP_MS : (int)wait;
}

/* Post-install commands run in real time, whatever the daemon's clock: the loop wakes for
 * the first of them that has to be reaped or signalled. */
static int post_install_sleep_ms(daemon_ctx *d, int timeout)
{
	ec_time wake = INT64_MAX;
	for (size_t i = 0; i < d->n_tps; i++) {
		ec_time w = client_post_install_wake(d->tps[i]);
		if (w < wake)
			wake = w;
	}
	if (wake == INT64_MAX)
		return timeout;
	ec_time wait = wake - ec_elapsed_ms();
	if (wait < 0)
		wait = 0;
	return wait < timeout ? (int)wait : timeout;
}

/* The poll set: the operator socket (while a slot is free to serve it), then what every task
 * waits for. Entry 0 is always the socket (fd -1 when not accepting). */
#define LOOP_POLL_MAX (1 + CFG_MAX_TRUSTPOINTS + DAEMON_OPERATOR_JOBS)

static void wait_and_dispatch(daemon_ctx *d, int timeout)
{
	struct pollfd p[LOOP_POLL_MAX];
	daemon_job *owners[LOOP_POLL_MAX] = {NULL};
	p[0] = (struct pollfd){daemon_can_serve_operator(d) ? d->control_fd : -1, POLLIN, 0};
	int64_t deadline = INT64_MAX;
	size_t n = daemon_jobs_poll_set(d, p, owners, 1, LOOP_POLL_MAX, &deadline);
	if (deadline != INT64_MAX) {
		int64_t left = deadline - ec_elapsed_ms();
		if (left < timeout)
			timeout = left < 0 ? 0 : (int)left;
	}
	int rc = poll(p, n, timeout);
	if (rc < 0 && errno != EINTR)
		dlog_at(d, EC_LOG_ERROR, "poll: %s", strerror(errno));
	if (rc < 0)
		for (size_t i = 0; i < n; i++)
			p[i].revents = 0;
	if (p[0].revents & POLLIN) {
		int fd = control_accept(d);
		if (fd >= 0)
			daemon_start_operator(d, fd);
	}
	daemon_jobs_resume(d, p, owners, 1, n);
}

/* Work the loop starts on its own: due timers (on an authoritative clock), CRLs asked for. */
static void start_due_work(daemon_ctx *d, ec_time now)
{
	if (!ec_clock_is_authoritative(d->clock)) {
		if (!d->clock_warned)
			dlog_at(d, EC_LOG_WARNING, "clock not authoritative: PKI timers are not started "
			        "(synchronise the clock or configure `clock calendar-valid`)");
		d->clock_warned = true;
		return;
	}
	if (d->advancing)
		return;
	if (daemon_next_timer(d) <= now)
		daemon_start_due_timers(d, now);
	/* CRLs that requests found missing (asked from HTTP threads, fetched in a task). */
	for (size_t i = 0; i < d->n_tps && daemon_turn_left(d); i++)
		if (!daemon_trustpoint_busy(d, i) && client_crl_service_due(d->tps[i]))
			daemon_start_trustpoint(d, i, now);
}

void daemon_loop(daemon_ctx *d)
{
	while (!d->stop) {
		if (d->hangup) {
			d->hangup = 0;
			daemon_start_reload(d);
		}
		ec_time now = ec_clock_now(d->clock);
		d->turn_start = ec_elapsed_ms();
		start_due_work(d, now);
		for (size_t i = 0; i < d->n_tps; i++)
			client_post_install_service(d->tps[i]);
		daemon_metrics_publish(d);
		int timeout = sleep_ms(d, now, daemon_next_timer(d));
		timeout = post_install_sleep_ms(d, timeout);
		wait_and_dispatch(d, timeout);
	}
	daemon_jobs_stop(d);
}
