/*
 * http_server.h - the HTTP listener, over libmicrohttpd.
 *
 * Generic: it knows nothing of SCEP. It accepts GET and POST, collects a POST body up to a cap
 * (413 past it), hands one complete request to the handler on one of its worker threads, and
 * sends the handler's response. Limits are explicit: body size, connection timeout, connection
 * count and per-connection memory (which bounds the URL, so a GET carrying a several-kilobyte
 * base64 message fits but an endless one does not).
 */
#ifndef EVERCERT_HTTP_HTTP_SERVER_H
#define EVERCERT_HTTP_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
	bool overloaded;               /* open connections at or above the overload mark */
} http_request;

typedef struct http_response {
	int status;
	const char *content_type;      /* static string */
	uint8_t *body;                 /* malloc'd; the server frees it */
	size_t body_len;
	int64_t retry_after;           /* >= 0: a Retry-After header in seconds */
} http_response;

/* Fills resp; must set status and may leave body NULL. Called on worker threads. */
typedef void (*http_handler)(void *ctx, const http_request *req, http_response *resp);

typedef struct http_server_opts {
	const char *bind_address;      /* NULL or "" for every address */
	int port;
	unsigned threads;              /* worker threads (thread pool size) */
	size_t max_body;               /* POST body cap */
	size_t connection_memory;      /* per-connection memory (bounds URL and headers) */
	unsigned connection_timeout;   /* seconds of inactivity before a connection is closed */
	unsigned connection_limit;     /* simultaneous connections */
	unsigned per_source_limit;     /* simultaneous connections from one address (0: none) */
	unsigned overload_mark;        /* open connections from which requests see `overloaded` */
} http_server_opts;

typedef struct http_server http_server;

int http_server_start(const http_server_opts *opts, http_handler handler, void *ctx,
                      http_server **out, ec_err *err) EC_MUST_USE;
/* The port actually bound (useful with port 0). */
int http_server_port(const http_server *srv);
void http_server_stop(http_server *srv);

/* A plain-text response (status and message); message is copied. */
void http_response_text(http_response *resp, int status, const char *message);

#endif
