/*
 * The HTTP listener over libmicrohttpd, which is loaded when the first listener starts rather
 * than when the program does: a daemon that only runs trustpoints listens to nothing and so
 * never maps libmicrohttpd nor the TLS stack it brings (GnuTLS, p11-kit, nettle, gmp: about
 * 2 MiB resident, and their start-up work).
 */
#include "http/http_server.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

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

static void load_mhd(void)
{
	void *lib = dlopen(MHD_LIBRARY, RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL) {
		snprintf(mhd_error, sizeof(mhd_error), "cannot load %s (Debian package libmicrohttpd12): %s",
		         MHD_LIBRARY, dlerror());
		return;
	}
	/* Kept loaded for the life of the process: listeners may start again. */
#define MHD_RESOLVE(name) \
	if ((*(void **)&mhd.name = dlsym(lib, #name)) == NULL) { \
		snprintf(mhd_error, sizeof(mhd_error), "%s has no %s (too old a libmicrohttpd?)", MHD_LIBRARY, #name); \
		return; \
	}
	MHD_FUNCTIONS(MHD_RESOLVE)
}

struct http_server {
	struct MHD_Daemon *mhd;
	http_handler handler;
	void *ctx;
	size_t max_body;
	int port;
	unsigned overload_mark;
	atomic_uint open_connections;
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

static enum MHD_Result send_response(struct MHD_Connection *conn, http_response *r)
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

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	http_server *srv = cls;
	request_state *st = *con_cls;
	if (st == NULL) {
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
		return send_response(conn, &resp);
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
		.overloaded = srv->overload_mark > 0 && atomic_load(&srv->open_connections) >= srv->overload_mark,
	};
	srv->handler(srv->ctx, &req, &resp);
	return send_response(conn, &resp);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode code)
{
	request_state *st = *con_cls;
	if (st != NULL) {
		ec_buf_free(&st->body);
		free(st);
		*con_cls = NULL;
	}
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
	http_server *srv = cls;
	(void)conn;
	(void)socket_context;
	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		atomic_fetch_add(&srv->open_connections, 1);
	else if (code == MHD_CONNECTION_NOTIFY_CLOSED)
		atomic_fetch_sub(&srv->open_connections, 1);
}

static int bind_addr(const http_server_opts *o, struct sockaddr_storage *ss, ec_err *err)
{
	memset(ss, 0, sizeof(*ss));
	const char *a = o->bind_address && *o->bind_address ? o->bind_address : "0.0.0.0";
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, a, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)o->port);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, a, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)o->port);
		return AF_INET6;
	}
	return ec_err_set(err, "'%s' is not an IPv4 or IPv6 address", a);
}

int http_server_start(const http_server_opts *o, http_handler handler, void *ctx, http_server **out, ec_err *err)
{
	pthread_once(&mhd_once, load_mhd);
	if (mhd_error[0] != '\0')
		return ec_err_set(err, "%s", mhd_error);
	struct sockaddr_storage ss;
	int family = bind_addr(o, &ss, err);
	if (family < 0)
		return -1;
	http_server *srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return ec_err_set(err, "out of memory");
	srv->handler = handler;
	srv->ctx = ctx;
	srv->max_body = o->max_body;
	srv->overload_mark = o->overload_mark;
	atomic_init(&srv->open_connections, 0);
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	if (family == AF_INET6)
		flags |= MHD_USE_IPv6;
	srv->mhd = mhd.MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, on_request, srv,
	                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	                            MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(o->threads ? o->threads : 2),
	                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)o->connection_timeout,
	                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)o->connection_limit,
	                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)o->connection_memory,
	                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)o->per_source_limit,
	                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
	                            MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
	                            MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
	                            MHD_OPTION_END);
	if (srv->mhd == NULL) {
		free(srv);
		return ec_err_set(err, "cannot listen on %s port %d (address in use or not allowed?)",
		                  o->bind_address && *o->bind_address ? o->bind_address : "*", o->port);
	}
	const union MHD_DaemonInfo *di = mhd.MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = di ? di->port : o->port;
	*out = srv;
	return 0;
}

int http_server_port(const http_server *srv)
{
	return srv->port;
}

void http_server_stop(http_server *srv)
{
	if (srv == NULL)
		return;
	mhd.MHD_stop_daemon(srv->mhd);
	free(srv);
}
