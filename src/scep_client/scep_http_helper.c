/*
 * The SCEP client's HTTP exchange made by an `evercert-http` process.
 *
 * Each exchange goes to an `evercert-http --serve` process over one socket pair (a socket,
 * unlike a pipe, lets the writer refuse SIGPIPE per call): the request framed on its standard
 * input, the result framed on its standard output. A process that answered is kept idle for the
 * next exchange (see "the programs kept between exchanges" below); checking a URL when a client
 * is created runs one process with --base. Everything is bounded: the result's size, and the
 * time (the exchange's own total timeout plus a margin for the program to start); past either,
 * the process is killed and the exchange reported unreachable. The helper inherits standard
 * error, so what it says lands in the daemon's log.
 */
#include "scep_client/scep_http.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock/clock.h"
#include "scep_client/scep_client.h"
#include "util/buf.h"
#include "util/fsutil.h"
#include "util/spawn.h"
#include "util/task.h"

#define HELPER_NAME "evercert-http"
#define START_MARGIN_MS 10000 /* for the helper to start before its own timeouts run */
#define BASE_TIMEOUT_MS 10000
#define RESULT_MAX (SCEP_CLIENT_REPLY_MAX + 4096)

/* evercert-http beside the running executable (the build tree), else in EVERCERT_HELPER_RELDIR
 * relative to it (an installed tree: sbin/ and libexec/evercert/ under one prefix; relative, so
 * that a tree unpacked elsewhere, as by dpkg-deb -x, runs its own). */
static int helper_near_self(char *out, size_t sz, ec_err *err)
{
	char self[EC_PATH_MAX], installed[EC_PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return ec_err_set(err, "cannot find the running program (/proc/self/exe): %s", strerror(errno));
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (slash == NULL)
		return ec_err_set(err, "cannot find the running program's directory");
	*slash = '\0';
	if (ec_path_join(out, sz, self, HELPER_NAME) != 0 ||
	    ec_path_join(installed, sizeof(installed), self, EVERCERT_HELPER_RELDIR "/" HELPER_NAME) != 0)
		return ec_err_set(err, "the path of %s is too long", HELPER_NAME);
	if (access(out, X_OK) != 0 && access(installed, X_OK) == 0 &&
	    (size_t)snprintf(out, sz, "%s", installed) >= sz)
		return ec_err_set(err, "the path of %s is too long", HELPER_NAME);
	return 0;
}

/* $EVERCERT_HTTP_HELPER, else the program near the running executable. */
static int helper_path(char *out, size_t sz, ec_err *err)
{
	const char *env = getenv("EVERCERT_HTTP_HELPER");
	if (env != NULL && env[0] != '\0') {
		if ((size_t)snprintf(out, sz, "%s", env) >= sz)
			return ec_err_set(err, "EVERCERT_HTTP_HELPER is too long");
	} else if (helper_near_self(out, sz, err) != 0) {
		return -1;
	}
	if (access(out, X_OK) != 0)
		return ec_err_set(err, "cannot run the HTTP client program %s: %s (it is built beside evercertd and "
		                  "installed in %s relative to it; EVERCERT_HTTP_HELPER names another)", out,
		                  strerror(errno), EVERCERT_HELPER_RELDIR);
	return 0;
}

/* Starts argv[0] with the socket as its standard input and output; -1 with err set. */
static int spawn(char *const argv[], int sock, pid_t *pid, ec_err *err)
{
	const ec_spawn_opts opts = {.stdin_fd = sock, .stdout_fd = sock, .own_group = false};
	return ec_spawn(argv[0], argv, &opts, pid, err);
}

/* After a failed exchange: a program that closed its end is usually exiting, and its status says
 * more than the socket did, so it gets a moment; otherwise, or still running, it is killed. */
static void reap_soon(pid_t pid, int *status, bool wait_a_moment)
{
	for (int i = 0; wait_a_moment && i < 100; i++) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid || (r < 0 && errno != EINTR))
			return;
		if (ec_wait_ms(10) != 0)
			break;
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
}

/* One exchange with a running program: what is left to send, and where what it writes goes. */
typedef struct helper_io {
	int fd;
	const char *name; /* argv[0], for messages */
	const uint8_t *input;
	size_t input_len, sent;
	bool writing;
	bool framed;      /* --serve: the output ends with a complete frame, the input stays open */
	ec_buf *output;
} helper_io;

/* The program reads until its input ends, so the end is said as soon as all is sent. */
static void end_input(helper_io *io)
{
	if (!io->framed)
		shutdown(io->fd, SHUT_WR);
	io->writing = false;
}

/* --serve: 1 once output holds a whole frame (its length, then as many bytes), 0 before. */
static int frame_complete(helper_io *io, ec_err *err)
{
	uint32_t n;
	if (io->output->len < sizeof(n))
		return 0;
	memcpy(&n, io->output->data, sizeof(n));
	if (n > io->output->cap - sizeof(n))
		return ec_err_set(err, "%s wrote more than %zu bytes", io->name, io->output->cap);
	return io->output->len >= sizeof(n) + n ? 1 : 0;
}

/* Sends what the socket takes now; 0, or -2 (err set) when the program closed its end first. */
static int send_input(helper_io *io, ec_err *err)
{
	ssize_t w = send(io->fd, io->input + io->sent, io->input_len - io->sent, MSG_NOSIGNAL);
	if (w < 0 && errno != EAGAIN && errno != EINTR) {
		ec_err_set(err, "%s did not read its request: %s", io->name, strerror(errno));
		return -2;
	}
	if (w > 0)
		io->sent += (size_t)w;
	if (io->sent == io->input_len)
		end_input(io);
	return 0;
}

/* Reads what the program wrote: 1 at the end of its output, 0 when more may come, -1 (err set)
 * on failure, -2 when it closed its end with the request unread. */
static int receive_output(helper_io *io, ec_err *err)
{
	uint8_t chunk[16384];
	ssize_t r = read(io->fd, chunk, sizeof(chunk));
	if (r == 0 && io->framed) { /* ended before its answer: its exit status says more */
		ec_err_set(err, "%s ended without its result", io->name);
		return -2;
	}
	if (r == 0)
		return 1;
	if (r < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		if (errno == ECONNRESET) { /* it closed its end with our request unread */
			ec_err_set(err, "%s did not read its request", io->name);
			return -2;
		}
		return ec_err_set(err, "reading from %s: %s", io->name, strerror(errno));
	}
	if (ec_buf_append(io->output, chunk, (size_t)r) != 0)
		return ec_err_set(err, "%s wrote more than %zu bytes", io->name, io->output->cap);
	return io->framed ? frame_complete(io, err) : 0;
}

/* Sends and reads as the socket allows until the program ends its output (0) or timeout_ms
 * passes (-1); -1 / -2 (err set) as receive_output. */
static int exchange_io(helper_io *io, long timeout_ms, ec_err *err)
{
	int64_t deadline = ec_elapsed_ms() + timeout_ms;
	if (io->input_len == 0)
		end_input(io);
	for (;;) {
		int64_t left = deadline - ec_elapsed_ms();
		if (left <= 0)
			return ec_err_set(err, "%s gave no result within %ld ms", io->name, timeout_ms);
		/* In a task (the daemon), the loop runs other work until the program has answered. */
		int revents = ec_wait_fd(io->fd, (short)(POLLIN | (io->writing ? POLLOUT : 0)), left);
		if (revents < 0 && errno == ECANCELED)
			return ec_err_set(err, "the exchange was abandoned: the daemon is stopping, or a reload closed "
			                  "the trustpoint");
		if (revents < 0)
			return ec_err_set(err, "poll: %s", strerror(errno));
		if (revents == 0)
			continue;
		int rc = 0;
		if (io->writing && (revents & (POLLOUT | POLLERR | POLLHUP)))
			rc = send_input(io, err);
		if (rc == 0 && (revents & (POLLIN | POLLHUP | POLLERR)))
			rc = receive_output(io, err);
		if (rc != 0)
			return rc == 1 ? 0 : rc;
	}
}

/* Sends input, then reads everything the program writes until it closes its end, within
 * timeout_ms; then waits for it. *status is its wait status. -1 (err set) when the exchange with
 * it failed, -2 when it closed its end before reading the request (its exit status then says
 * more); the program is killed if it still runs. */
static int run(char *const argv[], const uint8_t *input, size_t input_len, long timeout_ms, ec_buf *output,
               int *status, ec_err *err)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return ec_err_set(err, "socketpair: %s", strerror(errno));
	pid_t pid;
	if (spawn(argv, sv[1], &pid, err) != 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	close(sv[1]);
	(void)fcntl(sv[0], F_SETFL, O_NONBLOCK);
	helper_io io = {.fd = sv[0], .name = argv[0], .input = input, .input_len = input_len, .writing = true,
	                .output = output};
	int rc = exchange_io(&io, timeout_ms, err);
	close(sv[0]);
	if (rc != 0)
		reap_soon(pid, status, rc == -2);
	else
		while (waitpid(pid, status, 0) < 0 && errno == EINTR)
			;
	return rc;
}

static int helper_base(const char *url, char *out, size_t sz, ec_err *err)
{
	char path[EC_PATH_MAX];
	if (helper_path(path, sizeof(path), err) != 0)
		return -1;
	char *argv[] = {path, "--base", (char *)url, NULL};
	ec_buf text;
	ec_buf_init(&text, sz + 512);
	int status = 0, rc = -1;
	if (run(argv, NULL, 0, BASE_TIMEOUT_MS, &text, &status, err) != 0)
		goto out;
	const char *s = text.data != NULL ? (const char *)text.data : "";
	if (memchr(s, '\0', text.len) != NULL) {
		ec_err_set(err, "%s wrote a NUL", path);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && text.len > 0 && text.len < sz) {
		memcpy(out, s, text.len + 1);
		rc = 0;
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 2 && text.len > 0) {
		ec_err_set(err, "%s", s); /* the URL's problem, in the helper's words */
	} else {
		ec_err_set(err, "%s --base failed (wait status %d)", path, status);
	}
out:
	ec_buf_free(&text);
	return rc;
}

static int helper_open(void **state, ec_err *err)
{
	*state = NULL;
	return 0;
}

static void helper_close(void *state)
{
}

/* ---- the programs kept between exchanges ----
 *
 * Starting the program costs more than most exchanges (tens of milliseconds mapping libcurl and
 * its libraries): one that has answered is kept, idle, for the next exchange, whichever client
 * makes it, each exchange over a connection of its own. As many run as exchanges are in flight;
 * at most POOL_IDLE_MAX wait idle, and one idle for SCEP_HTTP_SERVE_IDLE_MS ends by itself. */
#define POOL_IDLE_MAX 8
#define POOL_LEAVING_MAX 64

typedef struct pooled {
	pid_t pid;
	int fd;
	int64_t idle_since;        /* ec_elapsed_ms() */
	char path[EC_PATH_MAX];    /* the program, so that a changed EVERCERT_HTTP_HELPER is heeded */
} pooled;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pooled pool[POOL_IDLE_MAX];
static size_t pool_n;
static pid_t leaving[POOL_LEAVING_MAX]; /* closed, not yet reaped */
static size_t leaving_n;

/* Reaps, without waiting, programs that were let go; pool_lock held. */
static void reap_leaving(void)
{
	for (size_t i = 0; i < leaving_n;) {
		int status;
		pid_t r = waitpid(leaving[i], &status, WNOHANG);
		if (r == leaving[i] || (r < 0 && errno == ECHILD))
			leaving[i] = leaving[--leaving_n];
		else
			i++;
	}
}

/* Lets a program go: its input ends, so it exits; pool_lock held. */
static void let_go(pid_t pid, int fd)
{
	close(fd);
	int status;
	if (waitpid(pid, &status, WNOHANG) == pid)
		return;
	if (leaving_n == POOL_LEAVING_MAX) { /* many at once: this one is waited for */
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		return;
	}
	leaving[leaving_n++] = pid;
}

/* An idle program of path that still waits (nothing written, not closed, not near its own idle
 * end), or none. */
static bool pool_take(const char *path, pid_t *pid, int *fd)
{
	bool found = false;
	int64_t now = ec_elapsed_ms();
	pthread_mutex_lock(&pool_lock);
	reap_leaving();
	while (!found && pool_n > 0) {
		pooled p = pool[--pool_n];
		struct pollfd w = {p.fd, POLLIN, 0};
		bool fresh = now - p.idle_since < SCEP_HTTP_SERVE_IDLE_MS / 2 && poll(&w, 1, 0) == 0;
		if (fresh && strcmp(p.path, path) == 0) {
			*pid = p.pid;
			*fd = p.fd;
			found = true;
		} else {
			let_go(p.pid, p.fd);
		}
	}
	pthread_mutex_unlock(&pool_lock);
	return found;
}

static void pool_put(const char *path, pid_t pid, int fd)
{
	pthread_mutex_lock(&pool_lock);
	if (pool_n == POOL_IDLE_MAX) {
		let_go(pid, fd);
	} else {
		pool[pool_n] = (pooled){.pid = pid, .fd = fd, .idle_since = ec_elapsed_ms()};
		snprintf(pool[pool_n].path, sizeof(pool[pool_n].path), "%s", path);
		pool_n++;
	}
	pthread_mutex_unlock(&pool_lock);
}

/* A program for the next exchange: an idle one, or a new one started with --serve. */
static int serving_program(const char *path, pid_t *pid, int *fd, ec_err *err)
{
	if (pool_take(path, pid, fd))
		return 0;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return ec_err_set(err, "socketpair: %s", strerror(errno));
	char *argv[] = {(char *)path, "--serve", NULL};
	if (spawn(argv, sv[1], pid, err) != 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	close(sv[1]);
	(void)fcntl(sv[0], F_SETFL, O_NONBLOCK);
	*fd = sv[0];
	return 0;
}

/* One framed exchange with a serving program: the result's encoding in out (frame removed);
 * the program goes back to the pool after a whole answer, otherwise it is ended and its exit
 * status, when it says more, becomes the reason. */
static int framed_exchange(const char *path, const ec_buf *request, long timeout_ms, ec_buf *out, ec_err *err)
{
	pid_t pid = 0;
	int fd = -1, status = 0;
	if (serving_program(path, &pid, &fd, err) != 0)
		return -1;
	uint32_t n = (uint32_t)request->len;
	ec_buf frame;
	ec_buf_init(&frame, sizeof(n) + request->len);
	if (ec_buf_append(&frame, &n, sizeof(n)) != 0 || ec_buf_append(&frame, request->data, request->len) != 0) {
		ec_buf_free(&frame);
		kill(pid, SIGKILL);
		reap_soon(pid, &status, false);
		close(fd);
		return ec_err_set(err, "out of memory");
	}
	helper_io io = {.fd = fd, .name = path, .input = frame.data, .input_len = frame.len, .writing = true,
	                .framed = true, .output = out};
	int rc = exchange_io(&io, timeout_ms, err);
	ec_buf_free(&frame);
	if (rc == 0) {
		pool_put(path, pid, fd);
		memmove(out->data, out->data + sizeof(n), out->len - sizeof(n));
		out->len -= sizeof(n);
		return 0;
	}
	close(fd);
	reap_soon(pid, &status, rc == -2);
	if (rc == -2 && WIFEXITED(status) && WEXITSTATUS(status) != 0)
		ec_err_set(err, "%s exited with status %d", path, WEXITSTATUS(status));
	else if (rc == -2 && WIFSIGNALED(status))
		ec_err_set(err, "%s died of signal %d", path, WTERMSIG(status));
	return -1;
}

static void helper_exchange(void *state, const scep_http_call *call, scep_http_result *res)
{
	scep_http_result_init(res);
	ec_err err = {{0}};
	char path[EC_PATH_MAX];
	ec_buf request, output;
	ec_buf_init(&request, SCEP_HTTP_WIRE_CALL_MAX);
	ec_buf_init(&output, RESULT_MAX);
	if (helper_path(path, sizeof(path), &err) != 0)
		goto failed;
	if (scep_http_wire_put_call(&request, call) != 0) {
		ec_err_set(&err, "request too large for %s", path);
		goto failed;
	}
	if (framed_exchange(path, &request, call->total_timeout_ms + START_MARGIN_MS, &output, &err) != 0)
		goto failed;
	if (scep_http_wire_get_result(output.data, output.len, res, &err) != 0) {
		ec_err_wrap(&err, "the result of %s", path);
		goto failed;
	}
	goto out;
failed:
	scep_http_result_init(res);
	snprintf(res->error, sizeof(res->error), "HTTP client program: %.220s", err.msg);
out:
	ec_buf_free(&request);
	ec_buf_free(&output);
}

const scep_http_transport scep_http_helper_transport = {
	.name = HELPER_NAME,
	.base = helper_base,
	.open = helper_open,
	.close = helper_close,
	.exchange = helper_exchange,
};
