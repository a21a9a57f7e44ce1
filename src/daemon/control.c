/*
 * The operator socket: a Unix stream socket in the state directory, mode 0600, that accepts
 * only connections from the daemon's own user (checked with SO_PEERCRED as well).
 *
 * The protocol's framing is util/opproto.h; the daemon answers one request per connection and
 * closes it. Each connection is served in a task of its own (jobs.c): an operator slow to send,
 * or a command that waits on a CA, holds up neither the loop nor another operator.
 */
#define _GNU_SOURCE /* SO_PEERCRED credentials and accept4 */
#include "daemon/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/opproto.h"
#include "util/task.h"

#define CONTROL_REQUEST_MAX (64 * 1024)
#define CONTROL_REPLY_MAX (16 * 1024 * 1024)
#define CONTROL_READ_TIMEOUT_MS 5000

int control_open(daemon_ctx *d, ec_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char path[sizeof(sa.sun_path)];
	/* bind() takes a path: the resolved one, whose every component only root or we can change;
	 * the name as given when the resolved one is too long for a socket address. */
	if (ec_path_join(path, sizeof(path), d->state.path, EVERCERTD_SOCKET_NAME) != 0 &&
	    ec_path_join(path, sizeof(path), d->state_dir, EVERCERTD_SOCKET_NAME) != 0)
		return ec_err_set(err, "state directory path too long for a socket");
	memcpy(sa.sun_path, path, sizeof(path));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return ec_err_set(err, "socket: %s", strerror(errno));
	/* A stale socket of a previous run (the lock file proves none is running). */
	ec_unlink_at(&d->state, EVERCERTD_SOCKET_NAME);
	mode_t old = umask(0177);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc != 0 || fchmodat(d->state.fd, EVERCERTD_SOCKET_NAME, 0600, 0) != 0 || listen(fd, 16) != 0) {
		int e = errno;
		close(fd);
		return ec_err_set(err, "cannot listen on %s: %s", path, strerror(e));
	}
	d->control_fd = fd;
	return 0;
}

void control_close(daemon_ctx *d)
{
	if (d->control_fd < 0)
		return;
	close(d->control_fd);
	d->control_fd = -1;
	ec_unlink_at(&d->state, EVERCERTD_SOCKET_NAME);
}

/* An operator who hung up before the answer, or read nothing of it for CONTROL_READ_TIMEOUT_MS,
 * has nobody to tell. */
static void answer(int fd, opproto_status status, const ec_buf *text)
{
	const char *head = opproto_status_line(status);
	if (ec_write_all_within(fd, head, strlen(head), CONTROL_READ_TIMEOUT_MS) == 0)
		(void)!ec_write_all_within(fd, text->data ? (char *)text->data : "", text->len, CONTROL_READ_TIMEOUT_MS);
}

/* The connecting process's user, as the kernel vouches for it; -1 when it cannot be had. */
static long peer_uid(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
		return -1;
	return (long)cred.uid;
}

/* The command as one line, for the log (dlog escapes it). */
static void command_text(int argc, char **argv, char *out, size_t outsz)
{
	size_t used = 0;
	out[0] = '\0';
	for (int i = 0; i < argc && used < outsz; i++)
		used += (size_t)snprintf(out + used, outsz - used, "%s%s", i ? " " : "", argv[i]);
}

/* One audit line per operator action, with the operator's uid and the outcome (the first line of
 * the answer when it failed); a command that only reads is logged at debug, out of the trail. */
static void record(daemon_ctx *d, long uid, int argc, char **argv, int rc, const ec_buf *out)
{
	char text[512];
	command_text(argc, argv, text, sizeof(text));
	if (command_read_only(argc, argv)) {
		dlog_at(d, EC_LOG_DEBUG, "operator uid %ld: %s", uid, text);
		return;
	}
	if (rc == 0) {
		daudit(d, "operator uid %ld: %s: done", uid, text);
		return;
	}
	const char *why = out->data ? (const char *)out->data : "";
	const char *eol = memchr(why, '\n', out->len);
	size_t n = eol != NULL ? (size_t)(eol - why) : out->len;
	daudit(d, "operator uid %ld: %s: failed: %.*s", uid, text, (int)(n < 300 ? n : 300), why);
}

/* Reads the request: lines up to an empty line, within a size and time bound. */
static int read_request(int fd, ec_buf *in)
{
	for (;;) {
		if (opproto_request_complete(in))
			return 0;
		if (ec_wait_fd(fd, POLLIN, CONTROL_READ_TIMEOUT_MS) <= 0)
			return -1;
		char chunk[4096];
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0 || ec_buf_append(in, chunk, (size_t)n) != 0)
			return -1;
	}
}

int control_accept(daemon_ctx *d)
{
	return accept4(d->control_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
}

void control_serve(daemon_ctx *d, int fd)
{
	ec_buf in, out;
	ec_buf_init(&in, CONTROL_REQUEST_MAX);
	ec_buf_init(&out, CONTROL_REPLY_MAX);
	char *argv[OPPROTO_ARGS_MAX];
	int argc;
	long uid = peer_uid(fd);
	if (uid < 0 || (uid_t)uid != geteuid()) {
		/* The request is read (bounded) before the refusal: closing on unread data would reset
		 * the connection and the caller would never see why. */
		(void)read_request(fd, &in);
		(void)!ec_buf_printf(&out, "permission denied: the operator socket serves the daemon's user only\n");
		answer(fd, OPPROTO_ERROR, &out);
		daudit(d, "operator connection from another user refused (uid %ld): the socket serves the daemon's "
		       "user only", uid);
	} else if (read_request(fd, &in) != 0 || (argc = opproto_split_request(&in, argv, OPPROTO_ARGS_MAX)) < 0) {
		(void)!ec_buf_printf(&out, "malformed or incomplete operator request\n");
		answer(fd, OPPROTO_ERROR, &out);
	} else {
		int rc = command_run(d, argc, argv, &out);
		record(d, uid, argc, argv, rc, &out);
		answer(fd, rc == 0 ? OPPROTO_OK : OPPROTO_ERROR, &out);
	}
	ec_buf_free(&in);
	ec_buf_free(&out);
	close(fd);
}
