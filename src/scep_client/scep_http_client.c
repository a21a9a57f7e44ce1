/*
 * The SCEP client over HTTP: what to ask for each operation and what the answer means, over a
 * transport (scep_http.h) that only moves the bytes. Which content types each operation
 * accepts, how a status or a failed transfer becomes an outcome, and the reason quoted from an
 * error body are decided here, the same whichever transport made the exchange.
 */
#include "scep_client/scep_client.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scep_client/scep_http.h"
#include "util/encoding.h"

#define BASE_URL_MAX 2048
#define REASON_LINE_MAX 200 /* characters of an error body quoted in a reason */

struct scep_client {
	const scep_http_transport *transport;
	void *state;                  /* the transport's, for this client */
	char base[BASE_URL_MAX];      /* scheme://host[:port]/path, without a query */
	scep_client_opts opts;
};

static const char *const TYPES_CA_CERT[] = {"application/x-x509-ca-cert", "application/x-x509-ca-ra-cert", NULL};
static const char *const TYPES_CA_CHAIN[] = {"application/x-x509-ca-ra-cert", NULL};
static const char *const TYPES_NEXT_CA_CERT[] = {"application/x-x509-next-ca-cert", NULL};
static const char *const TYPES_PKI_MESSAGE[] = {"application/x-pki-message", NULL};
static const char *const TYPES_CHAIN[] = {"application/pem-certificate-chain", NULL};

static const scep_http_transport *chosen_transport = &scep_http_helper_transport;

void scep_client_use_transport(const scep_http_transport *t)
{
	chosen_transport = t != NULL ? t : &scep_http_helper_transport;
}

int scep_client_new(const char *url, const scep_client_opts *opts, scep_client **out, ec_err *err)
{
	*out = NULL;
	scep_client *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return ec_err_set(err, "out of memory");
	c->transport = chosen_transport;
	if (opts != NULL)
		c->opts = *opts;
	if (c->opts.connect_timeout_ms <= 0)
		c->opts.connect_timeout_ms = 5000;
	if (c->opts.total_timeout_ms <= 0)
		c->opts.total_timeout_ms = 20000;
	if (c->transport->base(url, c->base, sizeof(c->base), err) != 0 || c->transport->open(&c->state, err) != 0) {
		free(c);
		return -1;
	}
	*out = c;
	return 0;
}

void scep_client_free(scep_client *c)
{
	if (c == NULL)
		return;
	c->transport->close(c->state);
	free(c);
}

void scep_client_reply_free(scep_client_reply *r)
{
	free(r->body);
	r->body = NULL;
	r->body_len = 0;
}

static void reply_init(scep_client_reply *r)
{
	memset(r, 0, sizeof(*r));
	r->retry_after_seconds = -1;
	r->retry_after_epoch = -1;
}

/* Ends a reply that never reached the network. */
static int reply_fail(scep_client_reply *r, int outcome, const char *reason)
{
	reply_init(r);
	r->outcome = outcome;
	snprintf(r->reason, sizeof(r->reason), "%s", reason);
	return -1;
}

/* Whether the content type is one of the accepted ones, case-insensitively, parameters
 * (";charset=...") ignored. */
static bool type_is(const char *got, const char *const *accepted)
{
	size_t n = strcspn(got, "; \t");
	for (; *accepted != NULL; accepted++)
		if (strlen(*accepted) == n && strncasecmp(got, *accepted, n) == 0)
			return true;
	return false;
}

/* The first line of an error body (our CA sends a one-line reason), trimmed, cut to fit, every
 * non-printable character shown as '?' (reasons are logged). */
static void first_line(char *dst, size_t sz, const uint8_t *body, size_t len)
{
	size_t n = 0;
	while (n < len && body[n] != '\r' && body[n] != '\n' && body[n] != '\0')
		n++;
	const uint8_t *p = body;
	while (n > 0 && isspace(*p)) {
		p++;
		n--;
	}
	while (n > 0 && isspace(p[n - 1]))
		n--;
	if (n >= sz)
		n = sz - 1;
	for (size_t i = 0; i < n; i++)
		dst[i] = isprint(p[i]) ? (char)p[i] : '?';
	dst[n] = '\0';
}

static void set_status_reason(scep_client_reply *out, const scep_http_result *res)
{
	char line[REASON_LINE_MAX + 1];
	first_line(line, sizeof(line), res->body, res->body_len);
	snprintf(out->reason, sizeof(out->reason), "HTTP %ld%s%s", out->http_status, line[0] ? ": " : "", line);
}

/* Sets out->outcome and out->reason from how the exchange ended. types: the accepted content
 * types of a 200 reply, NULL to accept any. */
static void classify(scep_client_reply *out, const scep_http_result *res, const char *const *types)
{
	out->outcome = SCEP_CLIENT_BAD_REPLY;
	if (res->too_large) {
		snprintf(out->reason, sizeof(out->reason), "reply larger than %d bytes", SCEP_CLIENT_REPLY_MAX);
	} else if (!res->transferred) {
		out->outcome = SCEP_CLIENT_UNREACHABLE;
		snprintf(out->reason, sizeof(out->reason), "%s", res->error[0] ? res->error : "no reply");
	} else if (out->http_status >= 500 && out->http_status <= 599) {
		out->outcome = SCEP_CLIENT_UNAVAILABLE;
		set_status_reason(out, res);
	} else if (out->http_status != 200) {
		out->outcome = SCEP_CLIENT_REFUSED;
		set_status_reason(out, res);
	} else if (res->body_len == 0) {
		snprintf(out->reason, sizeof(out->reason), "empty reply");
	} else if (types != NULL && !type_is(out->content_type, types)) {
		snprintf(out->reason, sizeof(out->reason), "unexpected content type '%s' (expected %s)",
		         out->content_type[0] ? out->content_type : "none", types[0]);
	} else {
		out->outcome = SCEP_CLIENT_OK;
	}
}

/* One exchange: GET base?operation=op[&message=...], or a POST of post[0..post_len) when
 * post != NULL. Returns 0 when out->outcome is SCEP_CLIENT_OK. */
static int exchange(scep_client *c, const char *op, const char *message, const uint8_t *post, size_t post_len,
                    const char *const *types, scep_client_reply *out)
{
	reply_init(out);
	scep_http_call call = {
		.base = c->base,
		.operation = op,
		.message = message,
		.post = post,
		.post_len = post_len,
		.connect_timeout_ms = c->opts.connect_timeout_ms,
		.total_timeout_ms = c->opts.total_timeout_ms,
	};
	scep_http_result res;
	c->transport->exchange(c->state, &call, &res);
	out->http_status = res.http_status;
	out->retry_after_seconds = res.retry_after_seconds;
	out->retry_after_epoch = res.retry_after_epoch;
	snprintf(out->content_type, sizeof(out->content_type), "%s", res.content_type);
	classify(out, &res, types);
	if (out->outcome == SCEP_CLIENT_OK) {
		out->body = res.body;
		out->body_len = res.body_len;
		res.body = NULL;
	}
	scep_http_result_free(&res);
	return out->outcome == SCEP_CLIENT_OK ? 0 : -1;
}

int scep_client_get_ca_cert(scep_client *c, const char *message, scep_client_reply *out, bool *is_chain)
{
	int rc = exchange(c, "GetCACert", message, NULL, 0, TYPES_CA_CERT, out);
	*is_chain = rc == 0 && type_is(out->content_type, TYPES_CA_CHAIN);
	return rc;
}

int scep_client_get_ca_caps(scep_client *c, scep_client_reply *out)
{
	/* Lenient: CAs send text/plain, text/html or nothing at all. */
	return exchange(c, "GetCACaps", NULL, NULL, 0, NULL, out);
}

int scep_client_get_next_ca_cert(scep_client *c, scep_client_reply *out)
{
	return exchange(c, "GetNextCACert", NULL, NULL, 0, TYPES_NEXT_CA_CERT, out);
}

int scep_client_get_ca_rollover_chain(scep_client *c, scep_client_reply *out)
{
	if (exchange(c, "GetCARolloverChain", NULL, NULL, 0, TYPES_CHAIN, out) != 0)
		return -1;
	if (out->body_len <= SCEP_CLIENT_CHAIN_MAX)
		return 0;
	scep_client_reply_free(out);
	out->outcome = SCEP_CLIENT_BAD_REPLY;
	snprintf(out->reason, sizeof(out->reason), "chain larger than %d bytes", SCEP_CLIENT_CHAIN_MAX);
	return -1;
}

int scep_client_get_url(scep_client *c, scep_client_reply *out)
{
	return exchange(c, "", NULL, NULL, 0, NULL, out);
}

int scep_client_pki_operation(scep_client *c, const uint8_t *msg, size_t len, scep_client_reply *out)
{
	if (msg == NULL || len == 0)
		return reply_fail(out, SCEP_CLIENT_REFUSED, "no PKIOperation message to send");
	if (!c->opts.use_get_for_pkioperation)
		return exchange(c, "PKIOperation", NULL, msg, len, TYPES_PKI_MESSAGE, out);
	char *b64 = ec_b64_encode(msg, len);
	if (b64 == NULL)
		return reply_fail(out, SCEP_CLIENT_UNREACHABLE, "out of memory");
	int rc = exchange(c, "PKIOperation", b64, NULL, 0, TYPES_PKI_MESSAGE, out);
	free(b64);
	return rc;
}
