#include "http_server/scep_router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ca/ca_health.h"
#include "scep/scep.h"
#include "util/encoding.h"

/* Seconds a client shed under overload is asked to wait: long enough for the queue to drain. */
#define SCEP_ROUTER_OVERLOAD_RETRY_AFTER 10

static ca_engine *select_ca(const scep_router *r, const http_request *req)
{
	if (r->n_cas == 0)
		return NULL;
	for (size_t i = 0; i < r->n_cas; i++) {
		const char *name = ca_name(r->cas[i]);
		size_t n = strlen(name);
		const char *p = req->path ? req->path : "";
		while (*p == '/')
			p++;
		if (strncmp(p, name, n) == 0 && (p[n] == '/' || p[n] == '\0' || p[n] == '.'))
			return r->cas[i];
		if (req->message != NULL && strcmp(req->message, name) == 0)
			return r->cas[i];
	}
	return r->cas[0];
}

/* How each of the CA's answers looks on the wire: the one place that decides it. */
static const struct {
	int status;
	const char *content_type;
} reply_wire[CA_REPLY_KIND_COUNT] = {
	[CA_REPLY_CA_CERT] = {200, "application/x-x509-ca-cert"},
	[CA_REPLY_CAPS] = {200, "text/plain"},
	[CA_REPLY_NEXT_CA] = {200, "application/x-x509-next-ca-cert"},
	[CA_REPLY_NOT_YET] = {503, "text/plain"},
	[CA_REPLY_CA_CHAIN] = {200, "application/pem-certificate-chain"},
	[CA_REPLY_CA_PEM] = {200, "application/x-pem-file"},
	[CA_REPLY_NOT_FOUND] = {404, "text/plain"},
	[CA_REPLY_CRL] = {200, "application/pkix-crl"},
	[CA_REPLY_PKI_MESSAGE] = {200, "application/x-pki-message"},
	[CA_REPLY_UNAVAILABLE] = {503, "text/plain"},
};

static void from_ca(http_response *resp, ca_reply *rep)
{
	resp->status = reply_wire[rep->kind].status;
	resp->content_type = reply_wire[rep->kind].content_type;
	resp->body = rep->body;
	resp->body_len = rep->body_len;
	resp->retry_after = rep->kind == CA_REPLY_NOT_YET || rep->kind == CA_REPLY_UNAVAILABLE
	                        ? rep->retry_after_seconds : -1;
	rep->body = NULL;
}

static void fault(http_response *resp, const char *what, const ec_err *err)
{
	char msg[EC_ERR_MSG_MAX + 64];
	snprintf(msg, sizeof(msg), "%s: %s", what, err->msg);
	http_response_text(resp, 500, msg);
}

static void pki_operation(const scep_router *r, ca_engine *ca, const http_request *req, http_response *resp)
{
	uint8_t *decoded = NULL;
	size_t len = 0;
	const uint8_t *msg = req->body;
	ec_err err;
	ec_err_clear(&err);
	if (strcmp(req->method, "GET") == 0) {
		if (req->message == NULL || req->message[0] == '\0') {
			http_response_text(resp, 400, "PKIOperation by GET needs a base64 message= parameter");
			return;
		}
		if (ec_b64_decode(req->message, strlen(req->message), &decoded, &len, &err) != 0) {
			char text[EC_ERR_MSG_MAX + 32];
			snprintf(text, sizeof(text), "bad PKIOperation message: %s", err.msg);
			http_response_text(resp, 400, text);
			return;
		}
		msg = decoded;
	} else {
		len = req->body_len;
		if (len == 0) {
			http_response_text(resp, 400, "PKIOperation by POST needs the pkiMessage as the body");
			return;
		}
	}
	ca_reply rep;
	int rc = ca_pki_operation(ca, msg, len, req->peer, ec_clock_now(r->clock), &rep, &err);
	free(decoded);
	if (rc == -1) {
		char text[EC_ERR_MSG_MAX + 32];
		snprintf(text, sizeof(text), "bad pkiMessage: %s", err.msg);
		http_response_text(resp, 400, text);
	} else if (rc != 0) {
		fault(resp, "PKIOperation failed", &err);
	} else {
		from_ca(resp, &rep);
	}
}

/* Files a GET names by its last path component, NAME and a suffix, without operation=. */
enum plain_file { PLAIN_NONE, PLAIN_CRL, PLAIN_CA_PEM, PLAIN_ROLLOVER_PEM, PLAIN_CUSTODY_PEM };

static const struct {
	const char *suffix;
	enum plain_file kind;
} plain_files[] = {
	/* NAME.pem first: a server named X-rollover keeps its own X-rollover.pem. */
	{".crl", PLAIN_CRL},
	{".pem", PLAIN_CA_PEM},
	{"-rollover.pem", PLAIN_ROLLOVER_PEM},
	{"-custody.pem", PLAIN_CUSTODY_PEM},
};

/* Which file the path names and of which server (*ca), or PLAIN_NONE. */
static enum plain_file plain_file_of(const scep_router *r, const char *path, ca_engine **ca)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	for (size_t k = 0; k < sizeof(plain_files) / sizeof(plain_files[0]); k++)
		for (size_t i = 0; i < r->n_cas; i++) {
			const char *name = ca_name(r->cas[i]);
			size_t n = strlen(name);
			if (strncmp(base, name, n) == 0 && strcmp(base + n, plain_files[k].suffix) == 0) {
				*ca = r->cas[i];
				return plain_files[k].kind;
			}
		}
	return PLAIN_NONE;
}

static void ca_pem(ca_engine *ca, bool rollover, http_response *resp)
{
	ca_reply rep;
	ec_err err;
	if (ca_get_ca_pem(ca, rollover, &rep, &err) != 0)
		fault(resp, rollover ? "the rollover CA certificate" : "the CA certificate", &err);
	else
		from_ca(resp, &rep);
}

/* The operations that read what the CA holds (all but PKIOperation), answered from ca. */
static void ca_query(const scep_router *r, ca_engine *ca, const http_request *req, const char *op,
                     http_response *resp)
{
	ca_reply rep;
	ec_err err;
	int rc;
	if (strcasecmp(op, "GetCACert") == 0)
		rc = ca_get_ca_cert(ca, &rep, &err);
	else if (strcasecmp(op, "GetCACaps") == 0)
		rc = ca_get_ca_caps(ca, &rep, &err);
	else if (strcasecmp(op, "GetNextCACert") == 0)
		rc = ca_get_next_ca_cert(ca, ec_clock_now(r->clock), req->peer, &rep, &err);
	else if (strcasecmp(op, "GetCRL") == 0)
		rc = ca_get_crl_der(ca, &rep, &err);
	else if (strcasecmp(op, "GetCARolloverChain") == 0)
		rc = ca_get_rollover_chain(ca, &rep, &err);
	else {
		char text[160];
		snprintf(text, sizeof(text), "unknown operation '%.64s'", op);
		http_response_text(resp, 400, text);
		return;
	}
	if (rc != 0)
		fault(resp, op, &err);
	else
		from_ca(resp, &rep);
}

/* GET /health: 200 "ok" when every certificate server can serve, else 503 with the first reason,
 * so that a load balancer sends no request to a node whose database or keys are out of reach. */
static bool health_check(const scep_router *r, const http_request *req, http_response *resp)
{
	if (strcmp(req->method, "GET") != 0 || req->path == NULL || strcmp(req->path, SCEP_ROUTER_HEALTH_PATH) != 0 ||
	    req->operation != NULL)
		return false;
	ec_err err;
	ec_err_clear(&err);
	for (size_t i = 0; i < r->n_cas; i++)
		if (ca_health(r->cas[i], &err) != 0) {
			http_response_text(resp, 503, err.msg);
			return true;
		}
	http_response_text(resp, 200, "ok");
	return true;
}

static void route(const scep_router *r, const http_request *req, http_response *resp)
{
	if (health_check(r, req, resp))
		return;
	ca_engine *ca = select_ca(r, req);
	if (ca == NULL) {
		http_response_text(resp, 404, "this server runs no certificate server");
		return;
	}
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "POST") != 0) {
		http_response_text(resp, 405, "only GET and POST are supported");
		return;
	}
	const char *op = req->operation;
	enum plain_file file = PLAIN_NONE;
	if (op == NULL && strcmp(req->method, "GET") == 0 && req->path != NULL)
		file = plain_file_of(r, req->path, &ca);
	if (file == PLAIN_CA_PEM || file == PLAIN_ROLLOVER_PEM) {
		ca_pem(ca, file == PLAIN_ROLLOVER_PEM, resp);
		return;
	}
	if (file == PLAIN_CRL)
		op = "GetCRL";
	else if (file == PLAIN_CUSTODY_PEM)
		op = "GetCARolloverChain";
	if (op == NULL || op[0] == '\0') {
		http_response_text(resp, 400, "missing operation= parameter (GetCACert, GetCACaps, "
		                   "GetNextCACert, PKIOperation, GetCRL or GetCARolloverChain)");
		return;
	}
	if (strcasecmp(op, "PKIOperation") == 0) {
		if (req->overloaded) {
			http_response_text(resp, 503, "the server is busy and your address holds more than its share "
			                   "of the connections: try again later");
			resp->retry_after = SCEP_ROUTER_OVERLOAD_RETRY_AFTER;
			return;
		}
		pki_operation(r, ca, req, resp);
		return;
	}
	ca_query(r, ca, req, op, resp);
}

void scep_router_handle(void *ctx, const http_request *req, http_response *resp)
{
	const scep_router *r = ctx;
	route(r, req, resp);
	if (r->log != NULL) {
		char line[512];
		snprintf(line, sizeof(line), "http %s %s %s operation=%.40s -> %d (%zu bytes)", req->peer,
		         req->method, req->path, req->operation ? req->operation : "-", resp->status, resp->body_len);
		r->log(r->log_ctx, line);
	}
}
