/*
 * conn_guard.h - who may hold the HTTP listener's connections, and for how long.
 *
 * libmicrohttpd alone lets a few addresses hold every connection (its limits are counts, and its
 * timeout is reset by each byte, so a request trickled a byte at a time never ends). The guard
 * decides instead, from its own count of connections per address:
 *
 * Admission (guard_admit, before a connection is taken on; a refusal closes it at once):
 *   - an address holds at most per_source connections;
 *   - from `busy` connections open on, an address above its share (capacity divided among the
 *     addresses holding connections, at least GUARD_SHARE_MIN) gets no more, and the requests of
 *     its connections are shed (guard_should_shed: 503 with Retry-After for PKIOperations);
 *     an address within its share is served as before;
 *   - at capacity, a connection from an address holding at least two fewer connections than the
 *     heaviest one takes the place of one of the heaviest's (one not in the middle of a request if
 *     it has one); otherwise it is refused.
 *   IPv6 addresses count per /64, what one host is commonly given.
 *
 * Deadlines (guard_expire, run a few times a second): a connection's request headers must be
 * complete within header_ms of its start (or of the request line, on a kept-alive connection),
 * the rest of the request and its response within request_ms of the headers, and the next
 * request line must come within idle_ms of a response. Past its deadline a connection's socket is
 * shut down (both ways); libmicrohttpd then sees the end of the stream and closes it.
 *
 * Thread-safe: every call takes the guard's mutex. A connection record stays valid until
 * guard_close, which the listener calls before the socket is closed, so a shutdown never reaches a
 * descriptor number reused by another connection. Times are monotonic milliseconds from the
 * caller. Refusals and closes are reported as log lines, at most one per address and kind every
 * GUARD_LOG_QUIET_MS, collected with guard_take_log.
 *
 * Purity and threads: not pure (shuts sockets down); any thread, as said above.
 */
#ifndef EVERCERT_HTTP_SERVER_CONN_GUARD_H
#define EVERCERT_HTTP_SERVER_CONN_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util/err.h"

/* The share never drops below this: many addresses at once do not starve each other. */
#define GUARD_SHARE_MIN 4
/* One log line per address and kind of event in this long. */
#define GUARD_LOG_QUIET_MS (5 * 60 * 1000)
#define GUARD_LOG_LINE_MAX 320

typedef struct conn_guard_limits {
	unsigned capacity;      /* connections in all */
	unsigned per_source;    /* connections from one address */
	unsigned busy;          /* connections open from which addresses above their share are shed */
	unsigned header_ms;     /* request line and headers */
	unsigned request_ms;    /* body, handling and response, after the headers */
	unsigned idle_ms;       /* between a response and the next request line */
} conn_guard_limits;

typedef struct conn_guard_stats {
	unsigned open;          /* live connections (not yet shut down) */
	unsigned addresses;     /* addresses holding them */
	unsigned heaviest;      /* the most held by one address */
	uint64_t refused_source, refused_shed, refused_full, evicted;
	uint64_t expired_headers, expired_request, expired_idle, shed_requests;
} conn_guard_stats;

enum guard_verdict { GUARD_ACCEPT = 0, GUARD_REFUSE_SOURCE, GUARD_REFUSE_SHED, GUARD_REFUSE_FULL };

typedef struct conn_guard conn_guard;
typedef struct guard_conn guard_conn;

conn_guard *guard_new(const conn_guard_limits *lim, ec_err *err) EC_MUST_USE;
/* Only once no connection is open any more. */
void guard_free(conn_guard *g);

/* Whether a connection from sa may be taken on (enum guard_verdict); may shut down another. */
int guard_admit(conn_guard *g, const struct sockaddr *sa, int64_t now_ms);
/* Counts a connection taken on (socket fd, for the deadlines). NULL when memory is short. */
guard_conn *guard_open(conn_guard *g, const struct sockaddr *sa, int fd, int64_t now_ms);
/* The connection ends (before its socket is closed); c is freed. NULL is allowed. */
void guard_close(conn_guard *g, guard_conn *c);

/* Request progress: the request line parsed, all headers read, the response sent. */
void guard_request_line(conn_guard *g, guard_conn *c, int64_t now_ms);
void guard_headers_done(conn_guard *g, guard_conn *c, int64_t now_ms);
void guard_request_done(conn_guard *g, guard_conn *c, int64_t now_ms);

/* Whether the request on c is to be shed: busy, and c's address above its share. */
bool guard_should_shed(conn_guard *g, const guard_conn *c);

/* Whether `busy` connections or more are open: responses then end their connection, so that
 * idle kept-alive connections do not hold places (nor memory) while others wait. */
bool guard_busy(conn_guard *g);

/* Shuts down every connection past its deadline; returns how many. */
unsigned guard_expire(conn_guard *g, int64_t now_ms);

/* Moves up to max pending log lines into lines; returns how many. */
size_t guard_take_log(conn_guard *g, char (*lines)[GUARD_LOG_LINE_MAX], size_t max);

void guard_get_stats(conn_guard *g, conn_guard_stats *out);
/* New capacity, per_source and busy marks (the deadlines stay), from the next admission on;
 * connections already open beyond them are left to end (none is closed for it). */
void guard_set_limits(conn_guard *g, unsigned capacity, unsigned per_source, unsigned busy);

#endif
