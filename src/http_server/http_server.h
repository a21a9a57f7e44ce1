/*
 * http_server.h - the HTTP listener, over libmicrohttpd.
 *
 * Generic: it knows nothing of SCEP. It accepts GET and POST, collects a POST body up to a cap
 * (413 past it), hands one complete request to the handler on its connection's thread, and
 * sends the handler's response. Limits are explicit: body size, per-connection memory (which
 * bounds the URL and headers, so a GET carrying a several-kilobyte base64 message fits but an
 * endless one does not), and who holds the connections for how long (conn_guard.h): a capacity,
 * a per-address cap, fair shedding of the addresses holding the most once busy, and deadlines for
 * a request's headers and for the whole request however slowly it trickles. A connection refused
 * is closed at once, never left waiting in the kernel's backlog.
 *
 * The listening socket is bound without SO_REUSEPORT: a second listener on the same port fails
 * to start (with the system's reason) instead of sharing the traffic.
 *
 * Purity and threads: not pure (the network); started and stopped on the daemon's main thread, the
 * handler runs on libmicrohttpd's threads, one per connection, several at once.
 */
#ifndef EVERCERT_HTTP_SERVER_HTTP_SERVER_H
#define EVERCERT_HTTP_SERVER_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http_server/conn_guard.h"
#include "util/err.h"

typedef struct http_request {
	const char *method;            /* "GET", "POST", ... */
	const char *path;              /* URL path, without the query */
	const char *operation;         /* query argument `operation`, or NULL */
	const char *message;           /* query argument `message`, or NULL */
	const uint8_t *body;           /* POST body (may be empty) */
	size_t body_len;
	const char *peer;              /* "127.0.0.1" */
	const char *http_version;      /* "HTTP/1.0", "HTTP/1.1" */
	bool overloaded;               /* busy, and this client's address holds more than its share */
} http_request;

typedef struct http_response {
	int status;
	const char *content_type;      /* static string */
	uint8_t *body;                 /* malloc'd; the server frees it */
	size_t body_len;
	int64_t retry_after;           /* >= 0: a Retry-After header in seconds */
} http_response;

/* Fills resp; must set status and may leave body NULL. Called on connection threads, several at once. */
typedef void (*http_handler)(void *ctx, const http_request *req, http_response *resp);

typedef struct http_server_opts {
	const char *bind_address;      /* NULL or "" for every address */
	int port;
	size_t max_body;               /* POST body cap */
	size_t connection_memory;      /* per-connection memory (bounds URL and headers) */
	unsigned header_timeout;       /* seconds for the request line and headers */
	unsigned request_timeout;      /* seconds for the body, the handling and the response */
	unsigned idle_timeout;         /* seconds from a response to the next request line */
	unsigned capacity;             /* simultaneous connections (lowered to fit the file limit) */
	unsigned per_source_limit;     /* simultaneous connections from one address (0: capacity) */
	unsigned busy_mark;            /* open connections from which the heaviest addresses are shed
	                                * (0: capacity) */
	/* Optional: refusals and closes (rate-limited), from the listener's own thread. */
	void (*log)(void *ctx, const char *line);
	void *log_ctx;
} http_server_opts;

/* What `show ip http server status` reports. */
typedef struct http_server_status {
	int port;
	unsigned capacity, per_source_limit, busy_mark;
	unsigned header_timeout, request_timeout, idle_timeout;
	size_t connection_memory;
	conn_guard_stats conns;
} http_server_status;

typedef struct http_server http_server;

int http_server_start(const http_server_opts *opts, http_handler handler, void *ctx,
                      http_server **out, ec_err *err) EC_MUST_USE;
/* The port actually bound (useful with port 0). */
int http_server_port(const http_server *srv);
void http_server_stop(http_server *srv);
void http_server_get_status(http_server *srv, http_server_status *out);
/* Changes the connection limits of a running listener (the daemon's reload): capacity (0: none),
 * per_source_limit and busy_mark (0: capacity), applied from the next connection on. libmicrohttpd's
 * own limit and the file limit were sized at start, so the capacity can go up to what the listener
 * started with (http_server_capacity_max), not above. Main thread, like start and stop. */
int http_server_set_limits(http_server *srv, unsigned capacity, unsigned per_source_limit, unsigned busy_mark,
                           ec_err *err) EC_MUST_USE;
unsigned http_server_capacity_max(const http_server *srv);

/* A plain-text response (status and message); message is copied. */
void http_response_text(http_response *resp, int status, const char *message);

#endif
