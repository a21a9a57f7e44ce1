/* The trustpoint driver run as the daemon runs it, one task per trustpoint, with no network: a
 * transport stand-in hands each exchange to an in-process certificate server through the SCEP
 * router, after a wait on a descriptor as a real exchange has. One CA accepts and never answers
 * (a tarpit): the trustpoint talking to it stays suspended while another enrolls beside it, and
 * fails over to CONNECT RETRY once that CA resets the connection, or winds up when cancelled. */
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
#include <unistd.h>

#include "ca/ca.h"
#include "client/client.h"
#include "config/config.h"
#include "http_server/scep_router.h"
#include "scep/scep.h"
#include "scep_client/scep_http.h"
#include "testutil.h"
#include "util/task.h"

/* The failure bound of every wait: far beyond what a busy machine needs. */
#define BOUND_MS 10000
#define DEFAULT_PATH "/cgi-bin/pkiclient.exe"

static ec_time T0;       /* the CA's creation */
static ec_time T_CLIENT; /* the trustpoints' first timers, an hour later */

/* The world behind the transport: one certificate server and the descriptors exchanges wait on. */
typedef struct fake_world {
	cfg_config *cfg;
	char *dir;
	ca_engine *ca;
	ec_clock *clock;
	scep_router router;
	int ready[2];          /* one byte written, never read: always readable */
	int tarpit[2];         /* written only when the test lets the tarpit answer */
	int answered;          /* exchanges the certificate server answered */
	int tarpit_calls;
	int outside_task;      /* exchanges made outside any task (there should be none) */
} fake_world;

static fake_world W;

/* ---- the transport ---- */

/* The URL without query and fragment, with the default path when it has none. */
static int fake_base(const char *url, char *out, size_t outsz, ec_err *err)
{
	if (strncmp(url, "http://", 7) != 0)
		return ec_err_set(err, "'%s': only http:// here", url);
	size_t n = strcspn(url, "?#");
	const char *path = strchr(url + 7, '/');
	bool has_path = path != NULL && (size_t)(path - url) < n && path[1] != '\0' && path[1] != '?';
	int w = snprintf(out, outsz, "%.*s%s", (int)n, url, has_path ? "" : DEFAULT_PATH);
	if (w < 0 || (size_t)w >= outsz)
		return ec_err_set(err, "URL too long");
	return 0;
}

static int fake_open(void **state, ec_err *err)
{
	(void)err;
	*state = &W;
	return 0;
}

static void fake_close(void *state)
{
	(void)state;
}

/* Gives the call to the certificate server as the HTTP listener would, and its answer back. */
static void answer(const scep_http_call *call, scep_http_result *res)
{
	const char *path = strchr(call->base + strlen("http://"), '/');
	http_request req = {
		.method = call->post != NULL ? "POST" : "GET",
		.path = path != NULL ? path : "/",
		.operation = call->operation[0] != '\0' ? call->operation : NULL,
		.message = call->message,
		.body = call->post,
		.body_len = call->post_len,
		.peer = "192.0.2.7",
		.http_version = "HTTP/1.1",
	};
	http_response resp = {.status = 500, .retry_after = -1};
	scep_router_handle(&W.router, &req, &resp);
	res->transferred = true;
	res->http_status = resp.status;
	snprintf(res->content_type, sizeof(res->content_type), "%s", resp.content_type ? resp.content_type : "");
	res->retry_after_seconds = resp.retry_after >= 0 ? resp.retry_after : -1;
	if (resp.body_len > 0) {
		res->body = malloc(resp.body_len + 1); /* NUL-terminated, as the transports make it */
		assert_non_null(res->body);
		memcpy(res->body, resp.body, resp.body_len);
		res->body[resp.body_len] = '\0';
		res->body_len = resp.body_len;
	}
	free(resp.body);
	W.answered++;
}

static void fake_exchange(void *state, const scep_http_call *call, scep_http_result *res)
{
	(void)state;
	scep_http_result_init(res);
	if (!ec_task_running_here())
		W.outside_task++;
	bool tarpit = strstr(call->base, "tarpit") != NULL;
	if (tarpit)
		W.tarpit_calls++;
	int r = ec_wait_fd(tarpit ? W.tarpit[0] : W.ready[0], POLLIN, call->total_timeout_ms);
	if (r < 0)
		snprintf(res->error, sizeof(res->error), "%s", strerror(errno));
	else if (r == 0)
		snprintf(res->error, sizeof(res->error), "timed out");
	else if (tarpit)
		snprintf(res->error, sizeof(res->error), "connection reset");
	else
		answer(call, res);
}

static const scep_http_transport fake_transport = {
	.name = "in-process",
	.base = fake_base,
	.open = fake_open,
	.close = fake_close,
	.exchange = fake_exchange,
};

/* ---- the loop ---- */

typedef struct tp_job {
	tp_runtime *tp;
	ec_time now;
	ec_task *task;
} tp_job;

static void run_timers(void *arg)
{
	tp_job *job = arg;
	client_run_timers(job->tp, job->now);
}

static void job_start(tp_job *job, tp_runtime *tp, ec_time now)
{
	job->tp = tp;
	job->now = now;
	ec_err err;
	if (ec_task_start(run_timers, job, &job->task, &err) != 0)
		fail_msg("ec_task_start: %s", err.msg);
}

static void job_end(tp_job *job)
{
	ec_task_free(job->task);
	job->task = NULL;
}

static bool job_waits_on(const tp_job *job, int fd)
{
	struct pollfd p;
	int64_t deadline;
	ec_task_waiting_for(job->task, &p, &deadline);
	return !ec_task_finished(job->task) && p.fd == fd && (p.events & POLLIN);
}

/* One turn of the daemon's loop over the unfinished tasks: polls what they wait for, no later
 * than the first deadline or give_up, and resumes those ready or due. */
static void loop_turn(tp_job *const *jobs, size_t n, int64_t give_up)
{
	struct pollfd p[4];
	int64_t deadline[4], first = give_up;
	assert_true(n <= 4);
	for (size_t i = 0; i < n; i++) {
		p[i] = (struct pollfd){.fd = -1};
		deadline[i] = INT64_MAX;
		if (!ec_task_finished(jobs[i]->task))
			ec_task_waiting_for(jobs[i]->task, &p[i], &deadline[i]);
		if (deadline[i] < first)
			first = deadline[i];
	}
	int64_t left = first - ec_elapsed_ms();
	if (poll(p, n, left < 0 ? 0 : (int)left) < 0 && errno != EINTR)
		fail_msg("poll: %s", strerror(errno));
	int64_t now = ec_elapsed_ms();
	for (size_t i = 0; i < n; i++)
		if (!ec_task_finished(jobs[i]->task) && (p[i].revents != 0 || deadline[i] <= now))
			ec_task_resume(jobs[i]->task, p[i].revents);
}

/* Runs the loop until the task of `until` has finished. */
static void loop_until_finished(const tp_job *until, tp_job *const *jobs, size_t n)
{
	int64_t give_up = ec_elapsed_ms() + BOUND_MS;
	while (!ec_task_finished(until->task)) {
		if (ec_elapsed_ms() >= give_up)
			fail_msg("the trustpoint's task did not finish within %d ms", BOUND_MS);
		loop_turn(jobs, n, give_up);
	}
}

/* ---- the world ---- */

static void open_world(void)
{
	static const char text[] = "crypto pki server ROOTCA\n  issuance rsa-modulus 1024\n  grant auto\n";
	ec_err err;
	memset(&W, 0, sizeof(W));
	if (cfg_parse((const uint8_t *)text, strlen(text), &W.cfg, &err) != 0)
		fail_msg("config: %s", err.msg);
	W.dir = tu_tmpdir("driver-ca");
	ca_env env = {.state_dir = W.dir, .default_key_bits = 1024, .rollover_key_bits = 1024};
	if (ca_open(&W.cfg->servers[0], &env, T0, &W.ca, &err) != 0)
		fail_msg("ca_open: %s", err.msg);
	W.clock = ec_clock_new_simulated(T_CLIENT, 0);
	assert_non_null(W.clock);
	W.router = (scep_router){.cas = &W.ca, .n_cas = 1, .clock = W.clock};
	assert_int_equal(pipe(W.ready), 0);
	assert_int_equal(pipe(W.tarpit), 0);
	assert_int_equal(write(W.ready[1], "r", 1), 1);
	scep_client_use_transport(&fake_transport);
}

static void close_world(void)
{
	scep_client_use_transport(NULL);
	for (int i = 0; i < 2; i++) {
		close(W.ready[i]);
		close(W.tarpit[i]);
	}
	ca_close(W.ca);
	ec_clock_free(W.clock);
	cfg_config_free(W.cfg);
	free(W.dir);
}

static void log_line(void *ctx, const char *line)
{
	(void)ctx;
	print_message("  log: %s\n", line);
}

/* GOOD enrolls with the certificate server, TARPIT with the CA that never answers; both are
 * given the server's certificate fingerprint and enroll by themselves. */
typedef struct trustpoints {
	cfg_config *cfg;
	char *dir;
	tp_runtime *good, *tarpit;
} trustpoints;

static void open_trustpoints(trustpoints *t)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned md_len = 0;
	assert_int_equal(X509_digest(ca_active_cert(W.ca), EVP_sha256(), md, &md_len), 1);
	char fp[2 * EVP_MAX_MD_SIZE + 1];
	for (unsigned i = 0; i < md_len; i++)
		snprintf(fp + 2 * i, 3, "%02X", md[i]);
	char text[1024];
	snprintf(text, sizeof(text),
	         "crypto pki trustpoint GOOD\n  enrollment url http://ca.test/cgi-bin/pkiclient.exe\n"
	         "  fingerprint %s\n  auto-enroll 70\n  rsakeypair GOOD 1024\n"
	         "crypto pki trustpoint TARPIT\n  enrollment url http://tarpit.test/cgi-bin/pkiclient.exe\n"
	         "  fingerprint %s\n  auto-enroll 70\n  rsakeypair TARPIT 1024\n", fp, fp);
	ec_err err;
	if (cfg_parse((const uint8_t *)text, strlen(text), &t->cfg, &err) != 0)
		fail_msg("config: %s", err.msg);
	assert_int_equal(t->cfg->n_trustpoints, 2);
	t->dir = tu_tmpdir("driver-client");
	client_env env = {.state_dir = t->dir, .hostname = "spoke.test", .log = log_line};
	if (client_open(&t->cfg->trustpoints[0], &env, T_CLIENT, &t->good, &err) != 0 ||
	    client_open(&t->cfg->trustpoints[1], &env, T_CLIENT, &t->tarpit, &err) != 0)
		fail_msg("client_open: %s", err.msg);
	assert_true(client_next_timer(t->good) <= T_CLIENT);
	assert_true(client_next_timer(t->tarpit) <= T_CLIENT);
}

static void close_trustpoints(trustpoints *t)
{
	client_close(t->good);
	client_close(t->tarpit);
	cfg_config_free(t->cfg);
	free(t->dir);
}

/* Whether the trustpoint lists a timer of that name ("RENEW GOOD"). */
static bool has_timer(tp_runtime *tp, const char *name)
{
	ec_timer_entry timers[8];
	size_t n = client_timers(tp, timers, 8);
	for (size_t i = 0; i < n; i++)
		if (strcmp(timers[i].name, name) == 0)
			return true;
	return false;
}

/* Whether `show` of the trustpoint (JSON) contains text. */
static bool status_has(tp_runtime *tp, ec_time now, const char *text)
{
	ec_buf out;
	ec_buf_init(&out, 64 * 1024);
	assert_int_equal(client_show_status(tp, now, true, &out), 0);
	assert_int_equal(ec_buf_append(&out, "", 1), 0);
	bool has = strstr((const char *)out.data, text) != NULL;
	if (!has)
		print_message("  status: %s", (const char *)out.data);
	ec_buf_free(&out);
	return has;
}

/* ---- the tests ---- */

static void tarpit_holds_up_only_its_own_trustpoint(void **state)
{
	(void)state;
	open_world();
	trustpoints t;
	open_trustpoints(&t);
	tp_job slow = {0}, good = {0};
	tp_job *jobs[] = {&slow, &good};

	job_start(&slow, t.tarpit, T_CLIENT);
	assert_true(job_waits_on(&slow, W.tarpit[0]));
	assert_int_equal(W.tarpit_calls, 1);
	job_start(&good, t.good, T_CLIENT);
	loop_until_finished(&good, jobs, 2);
	assert_true(job_waits_on(&slow, W.tarpit[0]));
	assert_int_equal(W.tarpit_calls, 1);
	assert_int_equal(W.outside_task, 0);
	assert_true(W.answered >= 2); /* the CA certificate, then the enrollment at least */
	assert_true(status_has(t.good, T_CLIENT, "\"enrolled\":true"));
	assert_true(has_timer(t.good, "RENEW GOOD"));
	assert_false(has_timer(t.good, "CONNECT RETRY GOOD"));
	assert_true(status_has(t.tarpit, T_CLIENT, "\"enrolled\":false"));
	assert_true(status_has(t.tarpit, T_CLIENT, "\"authenticated\":false"));
	job_end(&good);

	/* The tarpit resets the connection: the trustpoint fails over to CONNECT RETRY. */
	assert_int_equal(write(W.tarpit[1], "x", 1), 1);
	loop_until_finished(&slow, jobs, 1);
	job_end(&slow);
	assert_true(has_timer(t.tarpit, "CONNECT RETRY TARPIT"));
	assert_true(status_has(t.tarpit, T_CLIENT, "\"enrolled\":false"));
	assert_int_equal(W.outside_task, 0);

	close_trustpoints(&t);
	close_world();
}

static void cancel_ends_a_trustpoint_in_the_tarpit(void **state)
{
	(void)state;
	open_world();
	trustpoints t;
	open_trustpoints(&t);
	tp_job slow = {0};
	job_start(&slow, t.tarpit, T_CLIENT);
	assert_true(job_waits_on(&slow, W.tarpit[0]));
	int64_t before = ec_elapsed_ms();
	ec_task_cancel(slow.task);
	assert_true(ec_task_finished(slow.task));
	assert_true(ec_elapsed_ms() - before < BOUND_MS);
	job_end(&slow);
	assert_true(status_has(t.tarpit, T_CLIENT, "\"enrolled\":false"));
	assert_int_equal(W.answered, 0);
	close_trustpoints(&t);
	close_world();
}

int main(void)
{
	if (ec_time_parse_iso("2026-01-05T10:00:00Z", &T0) != 0)
		return 1;
	T_CLIENT = T0 + EC_MS_PER_HOUR;
	ec_err err;
	if (scep_init(&err) != 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tarpit_holds_up_only_its_own_trustpoint),
		cmocka_unit_test(cancel_ends_a_trustpoint_in_the_tarpit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
