/*
 * scep_http.h - one HTTP exchange of the SCEP client, and the two transports that make it.
 *
 * scep_client (scep_client.h) decides what to ask and how to read the answer; a transport only
 * makes the exchange. The curl transport (scep_http_curl.c, in the evercert_curl library) makes
 * it in-process over libcurl. The helper transport (scep_http_helper.c) hands it to an
 * `evercert-http --serve` process, which runs the curl transport (kept, idle, for the next
 * exchange once it has answered): evercertd itself never maps
 * libcurl and what it brings (GnuTLS, p11-kit, Kerberos, LDAP, SSH: about 4 MiB resident), and no
 * reply from the network is parsed at the HTTP level in the process that holds the private keys.
 *
 * The two processes talk in the wire format below; they are built together, so it is exact
 * (host byte order, a version in its magic) and any mismatch is refused, never guessed at.
 */
#ifndef EVERCERT_SCEP_CLIENT_SCEP_HTTP_H
#define EVERCERT_SCEP_CLIENT_SCEP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

/* What to send. */
typedef struct scep_http_call {
	const char *base;              /* a URL as the transport's base() returned it */
	const char *operation;         /* operation=; "": the base URL alone, without a query */
	const char *message;           /* message= (escaped by the transport); NULL: none */
	const uint8_t *post;           /* the body of a POST; NULL: a GET */
	size_t post_len;
	long connect_timeout_ms;
	long total_timeout_ms;
} scep_http_call;

/* How the exchange went, before any SCEP meaning is given to it. */
typedef struct scep_http_result {
	bool transferred;              /* a complete HTTP reply arrived; otherwise error says why */
	bool too_large;                /* the body passed SCEP_CLIENT_REPLY_MAX (transferred false) */
	long http_status;              /* 0 when no HTTP answer */
	int64_t retry_after_seconds;   /* as in scep_client_reply */
	int64_t retry_after_epoch;
	char content_type[128];        /* printable, trimmed; "" when absent */
	char error[256];               /* when !transferred */
	uint8_t *body;                 /* malloc'd, whatever the status; NULL when empty */
	size_t body_len;
} scep_http_result;

typedef struct scep_http_transport {
	const char *name;
	/* The URL the calls will use: the configured one without query and fragment, with the
	 * default path when it has none. -1 (err says why) for a URL that cannot be used. */
	int (*base)(const char *url, char *out, size_t outsz, ec_err *err);
	/* A client's own state (the curl transport keeps its connection alive between the calls of
	 * one client); -1 (err says why) when it cannot be had. */
	int (*open)(void **state, ec_err *err);
	void (*close)(void *state);
	/* Always fills res (reset first); the caller frees res->body. */
	void (*exchange)(void *state, const scep_http_call *call, scep_http_result *res);
} scep_http_transport;

/* The default: `evercert-http` processes, each making one exchange at a time and kept between
 * exchanges. The program is looked for in
 * $EVERCERT_HTTP_HELPER, then beside the running executable. */
extern const scep_http_transport scep_http_helper_transport;

/* In-process over libcurl (library evercert_curl). scep_http_curl_global_init must run once
 * before threads. */
extern const scep_http_transport scep_http_curl_transport;
int scep_http_curl_global_init(ec_err *err) EC_MUST_USE;

/* Which transport scep_client_new picks (the helper one unless told). Call before any client
 * exists. */
void scep_client_use_transport(const scep_http_transport *t);

void scep_http_result_init(scep_http_result *res);
void scep_http_result_free(scep_http_result *res);

/* ---- the wire between evercertd and evercert-http ---- */

/* A call's encoding is capped: a PKIOperation body is a few kilobytes. */
#define SCEP_HTTP_WIRE_CALL_MAX (1024 * 1024)
/* `evercert-http --serve` reads calls one after another, each encoding preceded by its length
 * (a uint32_t in host byte order), and answers each with its result framed the same way; it
 * ends when its input ends or stays silent this long (the daemon keeps it for the next call). */
#define SCEP_HTTP_SERVE_IDLE_MS 30000

int scep_http_wire_put_call(ec_buf *out, const scep_http_call *call) EC_MUST_USE;
/* Reads a call: its three strings are copied into one block that call->base points at (free it
 * with free((void *)call->base)), its body points into data. -1 for anything but exactly one
 * well-formed call. */
int scep_http_wire_get_call(const uint8_t *data, size_t len, scep_http_call *call, ec_err *err) EC_MUST_USE;
int scep_http_wire_put_result(ec_buf *out, const scep_http_result *res) EC_MUST_USE;
/* Reads a result (its body copied); -1 for anything but exactly one well-formed result. */
int scep_http_wire_get_result(const uint8_t *data, size_t len, scep_http_result *res, ec_err *err) EC_MUST_USE;

#endif
