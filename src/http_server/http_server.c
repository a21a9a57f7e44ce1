/*
 * The HTTP listener over libmicrohttpd, which is loaded when the first listener starts rather
 * than when the program does: a daemon that only runs trustpoints listens to nothing and so
 * never maps libmicrohttpd nor the TLS stack it brings (GnuTLS, p11-kit, nettle, gmp: about
 * 2 MiB resident, and their start-up work).
 *
 * Who holds connections is decided by the conn_guard, not by libmicrohttpd's own limits:
 * libmicrohttpd's connection limit is set above the guard's capacity so that it never stops
 * accepting (which would leave clients waiting in the kernel's backlog), its accept policy
 * callback asks the guard (a refusal closes the socket at once), its connection notifications
 * count connections in and out, and a watchdog thread shuts down the sockets past their
 * deadline. libmicrohttpd calls the guard from its listening thread and from the thread of each
 * connection: the guard locks.
 */
#include "http_server/http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock/clock.h"
#include "util/buf.h"
#include "util/dynlib.h"
#include "util/logtext.h"

/* The ABI this file is compiled against (libmicrohttpd12 in Debian). */
#define MHD_LIBRARY "libmicrohttpd.so.12"

/* Every libmicrohttpd function used here, called through mhd.<name>. */
#define MHD_FUNCTIONS(X) \
	X(MHD_start_daemon) X(MHD_stop_daemon) X(MHD_get_daemon_info) X(MHD_get_connection_info) \
	X(MHD_lookup_connection_value) X(MHD_create_response_from_buffer_with_free_callback) \
	X(MHD_add_response_header) X(MHD_queue_response) X(MHD_destroy_response)

#define MHD_FIELD(name) __typeof__(name) *name;
static struct {
	MHD_FUNCTIONS(MHD_FIELD)
} mhd;
static pthread_once_t mhd_once = PTHREAD_ONCE_INIT;
static char mhd_error[256]; /* empty once loaded */

/* Kept loaded for the life of the process: listeners may start again. */
static void load_mhd(void)
{
#define MHD_SYMBOL(name) {#name, (void **)&mhd.name},
	static const ec_dynsym syms[] = {MHD_FUNCTIONS(MHD_SYMBOL)};
#undef MHD_SYMBOL
	(void)ec_dynlib_load(MHD_LIBRARY, "libmicrohttpd12", syms, sizeof(syms) / sizeof(syms[0]), mhd_error,
	                     sizeof(mhd_error));
}

/* libmicrohttpd may hold this many connections beyond the guard's capacity: those being shut
 * down (expired or evicted) until their worker closes them, and the few a worker accepts while
 * another is between the guard's verdict and the connection's start. */
#define HTTP_SLACK(capacity) (64u + (capacity) / 16u)
/* Descriptors besides the connections: listener, epoll and inter-thread ones, stores, logs. */
#define HTTP_FD_RESERVE 128u
/* How often the watchdog looks for connections past their deadline. */
#define HTTP_WATCHDOG_MS 200
#define HTTP_LOG_BATCH 8
/* Memory is trimmed once this many connections have closed since the peak, at most this often. */
#define HTTP_TRIM_DROP 64u
#define HTTP_TRIM_EVERY_MS 2000
/* libmicrohttpd's own messages logged per minute at most; the rest are counted. */
#define HTTP_MHD_LOG_PER_WINDOW 30
#define HTTP_MHD_LOG_WINDOW_MS 60000

struct http_server {
	struct MHD_Daemon *mhd;
	http_handler handler;
	void *ctx;
	size_t max_body;
	int port;
	http_server_opts opts;         /* as applied (capacity lowered to fit the file limit) */
	unsigned capacity_max;         /* the capacity at start: what libmicrohttpd's limit was sized for */
	conn_guard *guard;
	pthread_t watchdog;
	bool watchdog_running;
	pthread_mutex_t wd_lock;
	pthread_cond_t wd_cond;
	bool wd_stop;
	unsigned open_peak;            /* watchdog thread only */
	int64_t trimmed_at;
	atomic_llong mhd_log_since;    /* start of the window of libmicrohttpd's messages */
	atomic_uint mhd_log_count, mhd_log_dropped;
};

/* Per-request state kept by libmicrohttpd between calls of the access handler. */
typedef struct request_state {
	ec_buf body;
	int too_large;
} request_state;

void http_response_text(http_response *resp, int status, const char *message)
{
	size_t len = strlen(message);
	resp->status = status;
	resp->content_type = "text/plain";
	resp->body = malloc(len + 2);
	resp->body_len = 0;
	if (resp->body != NULL) {
		memcpy(resp->body, message, len);
		resp->body[len] = '\n';
		resp->body_len = len + 1;
	}
}

/* close: end the connection after this response (Connection: close). */
static enum MHD_Result send_response(struct MHD_Connection *conn, http_response *r, bool close)
{
	struct MHD_Response *resp = mhd.MHD_create_response_from_buffer_with_free_callback(
		r->body_len, r->body ? r->body : (uint8_t *)"", r->body ? free : NULL);
	if (resp == NULL) {
		free(r->body);
		return MHD_NO;
	}
	r->body = NULL;
	if (r->content_type != NULL)
		mhd.MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
	if (r->retry_after >= 0) {
		char v[32];
		snprintf(v, sizeof(v), "%lld", (long long)r->retry_after);
		mhd.MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, v);
	}
	if (close)
		mhd.MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	enum MHD_Result rc = mhd.MHD_queue_response(conn, (unsigned)r->status, resp);
	mhd.MHD_destroy_response(resp);
	return rc;
}

static void peer_text(struct MHD_Connection *conn, char *out, size_t sz)
{
	const union MHD_ConnectionInfo *ci = mhd.MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	snprintf(out, sz, "?");
	if (ci == NULL || ci->client_addr == NULL)
		return;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out, (socklen_t)sz);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out, (socklen_t)sz);
}

/* The guard's record of a connection (set when libmicrohttpd announced it). */
static guard_conn *guarded(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = mhd.MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	http_server *srv = cls;
	request_state *st = *con_cls;
	if (st == NULL) {
		/* First call: the request line and every header are in. */
		guard_headers_done(srv->guard, guarded(conn), ec_elapsed_ms());
		st = calloc(1, sizeof(*st));
		if (st == NULL)
			return MHD_NO;
		ec_buf_init(&st->body, srv->max_body);
		*con_cls = st;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (!st->too_large && ec_buf_append(&st->body, upload_data, *upload_data_size) != 0)
			st->too_large = 1;
		*upload_data_size = 0;
		return MHD_YES;
	}
	http_response resp = {.status = 500, .retry_after = -1};
	if (st->too_large) {
		char msg[128];
		snprintf(msg, sizeof(msg), "request body larger than %zu bytes", srv->max_body);
		http_response_text(&resp, 413, msg);
		return send_response(conn, &resp, true);
	}
	char peer[INET6_ADDRSTRLEN + 1];
	peer_text(conn, peer, sizeof(peer));
	http_request req = {
		.method = method,
		.path = url,
		.operation = mhd.MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "operation"),
		.message = mhd.MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "message"),
		.body = st->body.data ? st->body.data : (const uint8_t *)"",
		.body_len = st->body.len,
		.peer = peer,
		.http_version = version,
		.overloaded = guard_should_shed(srv->guard, guarded(conn)),
	};
	srv->handler(srv->ctx, &req, &resp);
	return send_response(conn, &resp, guard_busy(srv->guard));
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode code)
{
	http_server *srv = cls;
	(void)code;
	guard_request_done(srv->guard, guarded(conn), ec_elapsed_ms());
	request_state *st = *con_cls;
	if (st != NULL) {
		ec_buf_free(&st->body);
		free(st);
		*con_cls = NULL;
	}
}

/* Called when the request line is parsed; its return value would be the request's first
 * con_cls, which on_request allocates itself once the headers are in. */
static void *on_request_line(void *cls, const char *uri, struct MHD_Connection *conn)
{
	http_server *srv = cls;
	(void)uri;
	guard_request_line(srv->guard, guarded(conn), ec_elapsed_ms());
	return NULL;
}

static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	http_server *srv = cls;
	(void)addrlen;
	return guard_admit(srv->guard, addr, ec_elapsed_ms()) == GUARD_ACCEPT ? MHD_YES : MHD_NO;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
	http_server *srv = cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *fd = mhd.MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		const union MHD_ConnectionInfo *peer = mhd.MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		if (fd == NULL)
			return;
		*socket_context = guard_open(srv->guard, peer ? peer->client_addr : NULL, fd->connect_fd, ec_elapsed_ms());
		/* Out of memory: a connection the guard cannot count is not kept. */
		if (*socket_context == NULL)
			shutdown(fd->connect_fd, SHUT_RDWR);
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		/* libmicrohttpd closes the socket after this returns: the guard forgets its descriptor first. */
		guard_close(srv->guard, *socket_context);
		*socket_context = NULL;
	}
}

static void flush_log(http_server *srv)
{
	char lines[HTTP_LOG_BATCH][GUARD_LOG_LINE_MAX];
	size_t n;
	do {
		n = guard_take_log(srv->guard, lines, HTTP_LOG_BATCH);
		for (size_t i = 0; i < n && srv->opts.log != NULL; i++)
			srv->opts.log(srv->opts.log_ctx, lines[i]);
	} while (n == HTTP_LOG_BATCH);
}

/* After a burst of connections has gone, gives the memory of their buffers back to the system:
 * each worker thread allocates from its own malloc arena, and each arena would otherwise keep the
 * pages of its own highest burst, so the resident size would creep up towards the sum. */
static void trim_after_burst(http_server *srv, int64_t now)
{
	conn_guard_stats st;
	guard_get_stats(srv->guard, &st);
	if (st.open > srv->open_peak)
		srv->open_peak = st.open;
	if (srv->open_peak - st.open < HTTP_TRIM_DROP || now - srv->trimmed_at < HTTP_TRIM_EVERY_MS)
		return;
	malloc_trim(0);
	srv->trimmed_at = now;
	srv->open_peak = st.open;
}

/* Shuts down the connections past their deadline, a few times a second. */
static void *watchdog_main(void *arg)
{
	http_server *srv = arg;
	pthread_mutex_lock(&srv->wd_lock);
	while (!srv->wd_stop) {
		/* ec_elapsed_ms reads CLOCK_MONOTONIC, the clock wd_cond waits on. */
		int64_t until = ec_elapsed_ms() + HTTP_WATCHDOG_MS;
		struct timespec ts = {.tv_sec = (time_t)(until / 1000), .tv_nsec = (long)(until % 1000) * 1000000L};
		pthread_cond_timedwait(&srv->wd_cond, &srv->wd_lock, &ts);
		if (srv->wd_stop)
			break;
		pthread_mutex_unlock(&srv->wd_lock);
		guard_expire(srv->guard, ec_elapsed_ms());
		flush_log(srv);
		trim_after_burst(srv, ec_elapsed_ms());
		pthread_mutex_lock(&srv->wd_lock);
	}
	pthread_mutex_unlock(&srv->wd_lock);
	return NULL;
}

static int start_watchdog(http_server *srv, ec_err *err)
{
	int rc = pthread_create(&srv->watchdog, NULL, watchdog_main, srv);
	if (rc != 0)
		return ec_err_set(err, "cannot start the HTTP watchdog thread: %s", strerror(rc));
	srv->watchdog_running = true;
	return 0;
}

static void stop_watchdog(http_server *srv)
{
	if (!srv->watchdog_running)
		return;
	pthread_mutex_lock(&srv->wd_lock);
	srv->wd_stop = true;
	pthread_cond_signal(&srv->wd_cond);
	pthread_mutex_unlock(&srv->wd_lock);
	pthread_join(srv->watchdog, NULL);
	srv->watchdog_running = false;
}

static void say(const http_server_opts *o, const char *fmt, ...) EC_PRINTF(2, 3);
static void say(const http_server_opts *o, const char *fmt, ...)
{
	if (o->log == NULL)
		return;
	char line[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	o->log(o->log_ctx, line);
}

/* libmicrohttpd's own messages (a request it found malformed, a connection it dropped) may quote
 * what a client sent: they go to the listener's log, which escapes them (without one, escaped to
 * standard error), never raw to standard error; at most HTTP_MHD_LOG_PER_WINDOW a minute. */
__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	http_server *srv = cls;
	long long now = ec_elapsed_ms(), since = atomic_load(&srv->mhd_log_since);
	if (now - since >= HTTP_MHD_LOG_WINDOW_MS && atomic_compare_exchange_strong(&srv->mhd_log_since, &since, now)) {
		unsigned dropped = atomic_exchange(&srv->mhd_log_dropped, 0);
		atomic_store(&srv->mhd_log_count, 0);
		if (dropped > 0)
			say(&srv->opts, "http: %u more libmicrohttpd message(s) of the last minute not logged", dropped);
	}
	if (atomic_fetch_add(&srv->mhd_log_count, 1) >= HTTP_MHD_LOG_PER_WINDOW) {
		atomic_fetch_add(&srv->mhd_log_dropped, 1);
		return;
	}
	char line[300];
	if (vsnprintf(line, sizeof(line), fmt, ap) < 0)
		return;
	size_t len = strlen(line);
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	if (srv->opts.log != NULL) {
		say(&srv->opts, "http: %s", line);
		return;
	}
	char text[4 * sizeof(line)];
	ec_log_escape(line, len, text, sizeof(text));
	fprintf(stderr, "http: %s\n", text);
}

/* Raises the soft limit on open files to the hard one when the connections need more; with a
 * hard limit too low, serves fewer connections (and says so) rather than fail on accept. */
static int fit_file_limit(http_server_opts *o, ec_err *err)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)o->capacity + HTTP_SLACK(o->capacity) + HTTP_FD_RESERVE;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need)
		return 0;
	rlim_t old = rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		rl.rlim_cur = old;
	if (rl.rlim_cur >= need)
		return 0;
	/* capacity + capacity/16 + 64 + reserve must fit */
	rlim_t room = rl.rlim_cur > HTTP_FD_RESERVE + 64 ? (rl.rlim_cur - HTTP_FD_RESERVE - 64) * 16 / 17 : 0;
	if (room < 16)
		return ec_err_set(err, "the limit on open files (%llu) leaves no room for HTTP connections; raise it "
		                  "(ulimit -n, LimitNOFILE=)", (unsigned long long)rl.rlim_cur);
	say(o, "warning: the limit on open files (%llu, hard limit %llu) allows %llu HTTP connections, not %u; "
	    "raise it (ulimit -n, LimitNOFILE=)", (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max,
	    (unsigned long long)room, o->capacity);
	o->capacity = (unsigned)room;
	if (o->busy_mark > o->capacity * 3 / 4)
		o->busy_mark = o->capacity * 3 / 4;
	return 0;
}

static int bind_addr(const http_server_opts *o, struct sockaddr_storage *ss, socklen_t *len, ec_err *err)
{
	memset(ss, 0, sizeof(*ss));
	const char *a = o->bind_address && *o->bind_address ? o->bind_address : "0.0.0.0";
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, a, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)o->port);
		*len = sizeof(*in4);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, a, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)o->port);
		*len = sizeof(*in6);
		return AF_INET6;
	}
	return ec_err_set(err, "'%s' is not an IPv4 or IPv6 address", a);
}

/* The listening socket, bound here so that a failure reports the system's reason. SO_REUSEADDR
 * lets a restart bind while old connections linger in TIME_WAIT; without SO_REUSEPORT, a port
 * another process listens on is refused (EADDRINUSE) instead of shared with it. */
static int open_listener(const http_server_opts *o, int *port, ec_err *err)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	int family = bind_addr(o, &ss, &len, err);
	if (family < 0)
		return -1;
	const char *where = o->bind_address && *o->bind_address ? o->bind_address : "every address";
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ec_err_set(err, "cannot open a socket: %s", strerror(errno));
	int on = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, SOMAXCONN) != 0) {
		int e = errno;
		close(fd);
		return ec_err_set(err, "cannot listen on %s port %d: %s", where, o->port, strerror(e));
	}
	len = sizeof(ss);
	*port = o->port;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		*port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
		                                : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

static int start_mhd(http_server *srv, int listen_fd, ec_err *err)
{
	const http_server_opts *o = &srv->opts;
	/* Above the capacity: libmicrohttpd never reaches its own limit first (it would stop
	 * accepting and leave clients in the backlog); the guard counts. */
	unsigned mhd_limit = o->capacity + HTTP_SLACK(o->capacity);
	/* A thread per connection, not a pool: a pool's worker that wakes to a burst of connections
	 * accepts up to ten of them, and those then wait for one another's requests while other
	 * workers idle (measured: 8 kept-alive clients served by 5 of 8 workers, a request queued
	 * behind another's RSA, p99 up to 7 times the median). An idle connection costs its thread's
	 * few touched stack pages; the guard's capacity bounds them. */
	srv->mhd = mhd.MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
	                                MHD_USE_ERROR_LOG, 0,
	                                on_accept, srv, on_request, srv,
	                                /* First: libmicrohttpd's messages before it would go raw to stderr. */
	                                MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv,
	                                MHD_OPTION_LISTEN_SOCKET, listen_fd,
	                                MHD_OPTION_CONNECTION_TIMEOUT, o->idle_timeout,
	                                MHD_OPTION_CONNECTION_LIMIT, mhd_limit,
	                                MHD_OPTION_CONNECTION_MEMORY_LIMIT, o->connection_memory,
	                                MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
	                                MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
	                                MHD_OPTION_URI_LOG_CALLBACK, on_request_line, srv,
	                                MHD_OPTION_END);
	/* On failure libmicrohttpd may or may not have closed listen_fd; the caller exits anyway. */
	return srv->mhd != NULL ? 0 : ec_err_set(err, "cannot start the HTTP listener on port %d", srv->port);
}

int http_server_start(const http_server_opts *o, http_handler handler, void *ctx, http_server **out, ec_err *err)
{
	pthread_once(&mhd_once, load_mhd);
	if (mhd_error[0] != '\0')
		return ec_err_set(err, "%s", mhd_error);
	http_server *srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return ec_err_set(err, "out of memory");
	srv->handler = handler;
	srv->ctx = ctx;
	srv->max_body = o->max_body;
	srv->opts = *o;
	srv->opts.bind_address = NULL; /* not kept: the caller's string */
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&srv->wd_cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&srv->wd_lock, NULL);
	conn_guard_limits lim;
	int fd = -1;
	if (o->capacity == 0 || o->header_timeout == 0 || o->request_timeout == 0 || o->idle_timeout == 0) {
		ec_err_set(err, "HTTP listener: capacity and time-outs must not be 0");
		goto fail;
	}
	if (srv->opts.per_source_limit == 0)
		srv->opts.per_source_limit = o->capacity;
	if (srv->opts.busy_mark == 0)
		srv->opts.busy_mark = o->capacity;
	if (fit_file_limit(&srv->opts, err) != 0)
		goto fail;
	srv->capacity_max = srv->opts.capacity;
	lim = (conn_guard_limits){
		.capacity = srv->opts.capacity,
		.per_source = srv->opts.per_source_limit,
		.busy = srv->opts.busy_mark,
		.header_ms = srv->opts.header_timeout * 1000u,
		.request_ms = srv->opts.request_timeout * 1000u,
		.idle_ms = srv->opts.idle_timeout * 1000u,
	};
	if ((srv->guard = guard_new(&lim, err)) == NULL || (fd = open_listener(o, &srv->port, err)) < 0 ||
	    start_mhd(srv, fd, err) != 0 || start_watchdog(srv, err) != 0)
		goto fail;
	*out = srv;
	return 0;
fail:
	http_server_stop(srv);
	return -1;
}

int http_server_port(const http_server *srv)
{
	return srv->port;
}

void http_server_get_status(http_server *srv, http_server_status *out)
{
	const http_server_opts *o = &srv->opts;
	*out = (http_server_status){
		.port = srv->port,
		.capacity = o->capacity,
		.per_source_limit = o->per_source_limit,
		.busy_mark = o->busy_mark,
		.header_timeout = o->header_timeout,
		.request_timeout = o->request_timeout,
		.idle_timeout = o->idle_timeout,
		.connection_memory = o->connection_memory,
	};
	guard_get_stats(srv->guard, &out->conns);
}

void http_server_stop(http_server *srv)
{
	if (srv == NULL)
		return;
	stop_watchdog(srv);
	/* Closes every connection, each announced closed to the guard before the guard goes. */
	if (srv->mhd != NULL)
		mhd.MHD_stop_daemon(srv->mhd);
	if (srv->guard != NULL)
		flush_log(srv);
	guard_free(srv->guard);
	pthread_cond_destroy(&srv->wd_cond);
	pthread_mutex_destroy(&srv->wd_lock);
	free(srv);
}

unsigned http_server_capacity_max(const http_server *srv)
{
	return srv->capacity_max;
}

int http_server_set_limits(http_server *srv, unsigned capacity, unsigned per_source_limit, unsigned busy_mark,
                           ec_err *err)
{
	if (capacity == 0 || capacity > srv->capacity_max)
		return ec_err_set(err, "%u connections: the listener started with room for %u, at most that many "
		                  "until it starts again", capacity, srv->capacity_max);
	srv->opts.capacity = capacity;
	srv->opts.per_source_limit = per_source_limit ? per_source_limit : capacity;
	srv->opts.busy_mark = busy_mark ? busy_mark : capacity;
	guard_set_limits(srv->guard, capacity, srv->opts.per_source_limit, srv->opts.busy_mark);
	return 0;
}
