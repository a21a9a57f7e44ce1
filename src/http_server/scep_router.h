/*
 * scep_router.h - SCEP over HTTP (SPEC §3): maps one HTTP request to a certificate server call.
 *
 * GET and POST on /cgi-bin/pkiclient.exe and on any other path; `operation=` selects GetCACert,
 * GetCACaps, GetNextCACert, PKIOperation (GET with base64 `message=`, or POST with a binary body,
 * with or without a Content-Type), GetCRL and GetCARolloverChain (the chain of custody across CA
 * generations). Without operation=, a GET whose last path component is `<NAME>.crl` returns the
 * CRL, `<NAME>.pem` the active CA certificate, `<NAME>-rollover.pem` the rollover one (404 when
 * there is none) and `<NAME>-custody.pem` the chain of custody, of the server NAME. Bad input
 * is answered with HTTP 400 and a one-line reason; a server fault with 500.
 *
 * GET /health (exactly that path, no operation=) is the health check of a load balancer in front
 * of several nodes: 200 "ok" when every certificate server can serve (ca_health.h), else 503 with
 * the reason as text. It is never a CA's file, whatever the servers are named.
 *
 * With several certificate servers, such a file name, the first path component or GetCACert's
 * `message=` naming a server selects it; otherwise the first configured server answers.
 *
 * Purity and threads: not pure (calls the certificate servers, reads the clock given to it); runs
 * on the HTTP worker threads, several at once. It alone decides how a CA's answer (ca_reply) looks
 * on the wire: status, content type, Retry-After.
 */
#ifndef EVERCERT_HTTP_SERVER_SCEP_ROUTER_H
#define EVERCERT_HTTP_SERVER_SCEP_ROUTER_H

#include <stddef.h>

#include "ca/ca.h"
#include "clock/clock.h"
#include "http_server/http_server.h"

#define SCEP_ROUTER_HEALTH_PATH "/health"

typedef struct scep_router {
	ca_engine **cas;
	size_t n_cas;
	ec_clock *clock;
	/* Optional: called with one line per request for the access log. */
	void (*log)(void *ctx, const char *line);
	void *log_ctx;
} scep_router;

/* An http_handler; ctx is a scep_router. */
void scep_router_handle(void *ctx, const http_request *req, http_response *resp);

#endif
