/*
 * scep_client.h - the client side of SCEP over HTTP.
 *
 * One call per SCEP operation against a CA URL ("http://host:port[/path]"; when the URL has no
 * path, /cgi-bin/pkiclient.exe is used). Every call is bounded: connect and total timeouts and a
 * reply size cap. The result says how the exchange ended so that the caller (the trustpoint
 * state machine) can choose between retrying later (unreachable, 5xx with optional Retry-After)
 * and failing (4xx, wrong content type). Bodies are returned raw; SCEP parsing is scep.h's job.
 *
 * The exchange itself is made by a transport (scep_http.h): by default an `evercert-http`
 * process (kept between exchanges), so that the daemon does not map libcurl; in-process
 * libcurl when scep_client_use_transport says so.
 *
 * Thread safety: a scep_client may be used by one thread at a time.
 */
#ifndef EVERCERT_SCEP_CLIENT_SCEP_CLIENT_H
#define EVERCERT_SCEP_CLIENT_SCEP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* A reply larger than this is refused (a CA certificate chain or a CertRep is far smaller). */
#define SCEP_CLIENT_REPLY_MAX (1024 * 1024)

enum scep_client_outcome {
	SCEP_CLIENT_OK = 0,          /* HTTP 200 with the expected content type */
	SCEP_CLIENT_UNREACHABLE,     /* DNS, connect, timeout, reset: retry later */
	SCEP_CLIENT_UNAVAILABLE,     /* HTTP 5xx (503 with Retry-After for an early GetNextCACert) */
	SCEP_CLIENT_REFUSED,         /* HTTP 4xx or any other status */
	SCEP_CLIENT_BAD_REPLY,       /* 200 but wrong content type, empty or oversized body */
};

typedef struct scep_client_reply {
	enum scep_client_outcome outcome;
	long http_status;            /* 0 when no HTTP answer */
	int64_t retry_after_seconds; /* Retry-After in delta seconds; -1 if absent or a date */
	int64_t retry_after_epoch;   /* Retry-After as an HTTP date, in Unix seconds (the caller
	                              * subtracts its own clock's now); -1 if absent or in seconds */
	char content_type[128];
	uint8_t *body;               /* malloc'd; NULL when none */
	size_t body_len;
	char reason[256];            /* human-readable when outcome != OK */
} scep_client_reply;

typedef struct scep_client_opts {
	long connect_timeout_ms;     /* default 5000 when 0 */
	long total_timeout_ms;       /* default 20000 when 0 */
	bool use_get_for_pkioperation; /* send PKIOperation by GET (base64 in message=) */
} scep_client_opts;

typedef struct scep_client scep_client;

/* url: the trustpoint's `enrollment url`. -1 for a URL libcurl cannot use, a scheme other than
 * http/https, or (helper transport) no helper program to run. */
int scep_client_new(const char *url, const scep_client_opts *opts, scep_client **out, ec_err *err) EC_MUST_USE;
void scep_client_free(scep_client *c);

/* GetCACert: body is DER (application/x-x509-ca-cert) or a degenerate PKCS#7
 * (application/x-x509-ca-ra-cert); *is_chain tells which. message is the CA identifier (may be
 * NULL). */
int scep_client_get_ca_cert(scep_client *c, const char *message, scep_client_reply *out, bool *is_chain);
/* GetCACaps: body is the text; see scep_caps_parse (scep/scep_caps.h). */
int scep_client_get_ca_caps(scep_client *c, scep_client_reply *out);
/* GetNextCACert: body is the signed PKCS#7 (application/x-x509-next-ca-cert). */
int scep_client_get_next_ca_cert(scep_client *c, scep_client_reply *out);
/* PKIOperation: POST (application/x-pki-message body) unless opts say GET. */
int scep_client_pki_operation(scep_client *c, const uint8_t *msg, size_t len, scep_client_reply *out);
/* GetCARolloverChain (this CA's own operation, a plain GET): the CA certificates of its
 * generations and the link certificates between them, as PEM (application/pem-certificate-chain),
 * at most SCEP_CLIENT_CHAIN_MAX bytes; see pki_custody_walk. */
#define SCEP_CLIENT_CHAIN_MAX (256 * 1024)
int scep_client_get_ca_rollover_chain(scep_client *c, scep_client_reply *out);
/* A GET of the client's URL itself, without operation= (a CRL distribution point): body is the
 * DER CRL. Any content type is accepted (CRL servers send application/pkix-crl,
 * application/octet-stream or others); the caller parses and verifies the CRL. */
int scep_client_get_url(scep_client *c, scep_client_reply *out);

/* Each returns 0 when out->outcome is SCEP_CLIENT_OK and -1 otherwise (out->reason says why). */

void scep_client_reply_free(scep_client_reply *r);

#endif
