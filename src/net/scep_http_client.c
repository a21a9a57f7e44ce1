/*
 * SCEP over HTTP, client side, over libcurl's easy interface.
 *
 * Each scep_client owns one CURL handle. Before every exchange the handle's options are reset
 * (curl_easy_reset keeps the connection cache), so sequential calls reuse a kept-alive
 * connection while no option of one exchange (a POST body, a header list) leaks into the next.
 * The reply body is collected into an ec_buf capped at SCEP_CLIENT_REPLY_MAX; the transfer is
 * aborted past the cap. Nothing here reads the clock: a Retry-After date is returned as it is.
 */
#include "net/scep_client.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "util/buf.h"
#include "util/encoding.h"

#define DEFAULT_PATH "/cgi-bin/pkiclient.exe"
#define BASE_URL_MAX 2048
#define REASON_LINE_MAX 200 /* characters of an error body quoted in a reason */

struct scep_client {
	CURL *curl;
	char base[BASE_URL_MAX];      /* scheme://host[:port]/path, without a query */
	scep_client_opts opts;
};

static const char *const TYPES_CA_CERT[] = {"application/x-x509-ca-cert", "application/x-x509-ca-ra-cert", NULL};
static const char *const TYPES_CA_CHAIN[] = {"application/x-x509-ca-ra-cert", NULL};
static const char *const TYPES_NEXT_CA_CERT[] = {"application/x-x509-next-ca-cert", NULL};
static const char *const TYPES_PKI_MESSAGE[] = {"application/x-pki-message", NULL};

int scep_client_global_init(ec_err *err)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return ec_err_set(err, "libcurl initialisation failed");
	return 0;
}

/* The URL without query and fragment, with the default path when it has none; -1 for a URL that
 * does not parse or whose scheme is not http or https. */
static int build_base(const char *url, char *out, size_t sz, ec_err *err)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *path = NULL, *full = NULL;
	int rc = -1;
	if (u == NULL) {
		ec_err_set(err, "out of memory");
		goto out;
	}
	/* NON_SUPPORT_SCHEME: parse any scheme, so that ftp:// gets the message below. */
	if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
		ec_err_set(err, "'%s' is not a usable URL (expected http://host[:port][/path])", url);
		goto out;
	}
	if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) {
		ec_err_set(err, "'%s': only http:// and https:// enrollment URLs are supported", url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK || strcmp(path, "/") == 0) {
		if (curl_url_set(u, CURLUPART_PATH, DEFAULT_PATH, 0) != CURLUE_OK) {
			ec_err_set(err, "out of memory");
			goto out;
		}
	}
	if (curl_url_set(u, CURLUPART_QUERY, NULL, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK) {
		ec_err_set(err, "'%s' is not a usable URL", url);
		goto out;
	}
	int n = snprintf(out, sz, "%s", full);
	if (n < 0 || (size_t)n >= sz) {
		ec_err_set(err, "URL longer than %zu bytes", sz - 1);
		goto out;
	}
	rc = 0;
out:
	curl_free(full);
	curl_free(scheme);
	curl_free(path);
	curl_url_cleanup(u);
	return rc;
}

int scep_client_new(const char *url, const scep_client_opts *opts, scep_client **out, ec_err *err)
{
	*out = NULL;
	scep_client *c = calloc(1, sizeof(*c));
	int rc = -1;
	if (c == NULL) {
		ec_err_set(err, "out of memory");
		goto out;
	}
	if (opts != NULL)
		c->opts = *opts;
	if (c->opts.connect_timeout_ms <= 0)
		c->opts.connect_timeout_ms = 5000;
	if (c->opts.total_timeout_ms <= 0)
		c->opts.total_timeout_ms = 20000;
	if (build_base(url, c->base, sizeof(c->base), err) != 0)
		goto out;
	c->curl = curl_easy_init();
	if (c->curl == NULL) {
		ec_err_set(err, "libcurl handle unavailable");
		goto out;
	}
	*out = c;
	c = NULL;
	rc = 0;
out:
	scep_client_free(c);
	return rc;
}

void scep_client_free(scep_client *c)
{
	if (c == NULL)
		return;
	curl_easy_cleanup(c->curl);
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

/* Transfer state handed to libcurl's callbacks. */
typedef struct transfer {
	ec_buf body;
	bool too_large;   /* the body passed the cap */
	bool no_memory;   /* appending failed below the cap */
	scep_client_reply *reply;
} transfer;

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	transfer *t = ctx;
	size_t len = size * n;
	if (ec_buf_append(&t->body, data, len) != 0) {
		if (len > t->body.cap - t->body.len)
			t->too_large = true;
		else
			t->no_memory = true;
		return 0; /* aborts the transfer (CURLE_WRITE_ERROR) */
	}
	return len;
}

/* Copies src[0..len) without surrounding white space, truncated to fit, with every
 * non-printable character replaced by '?' (replies are quoted in logs). */
static void trim_copy(char *dst, size_t sz, const char *src, size_t len)
{
	while (len > 0 && isspace((unsigned char)*src)) {
		src++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)src[len - 1]))
		len--;
	if (len >= sz)
		len = sz - 1;
	for (size_t i = 0; i < len; i++)
		dst[i] = isprint((unsigned char)src[i]) ? src[i] : '?';
	dst[len] = '\0';
}

/* Retry-After: delta-seconds (1*DIGIT), or an HTTP date returned as Unix seconds. */
static void read_retry_after(scep_client_reply *r, const char *text)
{
	if (isdigit((unsigned char)text[0])) {
		char *end = NULL;
		errno = 0;
		long long secs = strtoll(text, &end, 10);
		if (errno == 0 && *end == '\0')
			r->retry_after_seconds = secs;
		return;
	}
	time_t when = curl_getdate(text, NULL); /* reads no clock: a full date needs none */
	if (when >= 0)
		r->retry_after_epoch = (int64_t)when;
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
	transfer *t = ctx;
	size_t len = size * n;
	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		/* A status line: headers of an interim (1xx) response do not describe the reply. */
		t->reply->content_type[0] = '\0';
		t->reply->retry_after_seconds = -1;
		t->reply->retry_after_epoch = -1;
		return len;
	}
	const char *colon = memchr(data, ':', len);
	if (colon == NULL)
		return len;
	size_t name_len = (size_t)(colon - data);
	const char *value = colon + 1;
	size_t value_len = len - name_len - 1;
	if (name_len == 12 && strncasecmp(data, "Content-Type", 12) == 0) {
		trim_copy(t->reply->content_type, sizeof(t->reply->content_type), value, value_len);
	} else if (name_len == 11 && strncasecmp(data, "Retry-After", 11) == 0) {
		char text[64];
		trim_copy(text, sizeof(text), value, value_len);
		read_retry_after(t->reply, text);
	}
	return len;
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

/* The first line of an error body: our CA sends a one-line reason. */
static void first_line(char *dst, size_t sz, const ec_buf *body)
{
	const char *text = body->data ? (const char *)body->data : "";
	size_t n = strcspn(text, "\r\n");
	if (n > body->len)
		n = body->len;
	trim_copy(dst, sz, text, n);
}

static void set_status_reason(scep_client_reply *out, const transfer *t)
{
	char line[REASON_LINE_MAX + 1];
	first_line(line, sizeof(line), &t->body);
	snprintf(out->reason, sizeof(out->reason), "HTTP %ld%s%s", out->http_status, line[0] ? ": " : "", line);
}

/* Sets out->outcome and out->reason from how the transfer ended. types: the accepted content
 * types of a 200 reply, NULL to accept any. */
static void classify(scep_client_reply *out, CURLcode cc, const transfer *t, const char *const *types)
{
	out->outcome = SCEP_CLIENT_BAD_REPLY;
	if (t->too_large || cc == CURLE_FILESIZE_EXCEEDED) {
		snprintf(out->reason, sizeof(out->reason), "reply larger than %d bytes", SCEP_CLIENT_REPLY_MAX);
	} else if (t->no_memory) {
		out->outcome = SCEP_CLIENT_UNREACHABLE;
		snprintf(out->reason, sizeof(out->reason), "out of memory reading the reply");
	} else if (cc != CURLE_OK) {
		out->outcome = SCEP_CLIENT_UNREACHABLE;
		snprintf(out->reason, sizeof(out->reason), "%s", curl_easy_strerror(cc));
	} else if (out->http_status >= 500 && out->http_status <= 599) {
		out->outcome = SCEP_CLIENT_UNAVAILABLE;
		set_status_reason(out, t);
	} else if (out->http_status != 200) {
		out->outcome = SCEP_CLIENT_REFUSED;
		set_status_reason(out, t);
	} else if (t->body.len == 0) {
		snprintf(out->reason, sizeof(out->reason), "empty reply");
	} else if (types != NULL && !type_is(out->content_type, types)) {
		snprintf(out->reason, sizeof(out->reason), "unexpected content type '%s' (expected %s)",
		         out->content_type[0] ? out->content_type : "none", types[0]);
	} else {
		out->outcome = SCEP_CLIENT_OK;
	}
}

/* Sets every option of one exchange on a freshly reset handle; -1 if libcurl refuses one. */
static int set_options(scep_client *c, const char *url, transfer *t, struct curl_slist *headers,
                       const uint8_t *post, size_t post_len)
{
	CURL *h = c->curl;
	int bad = 0;
	bad |= curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->opts.connect_timeout_ms) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->opts.total_timeout_ms) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)SCEP_CLIENT_REPLY_MAX) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_USERAGENT, "evercert") != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_WRITEDATA, t) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_HEADERDATA, t) != CURLE_OK;
	if (post != NULL) {
		bad |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers) != CURLE_OK;
		bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)post_len) != CURLE_OK;
		bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)post) != CURLE_OK;
	}
	return bad ? -1 : 0;
}

/* "base?operation=op[&message=<escaped message>]"; NULL when memory is short. */
static char *request_url(scep_client *c, const char *op, const char *message)
{
	char *escaped = message != NULL ? curl_easy_escape(c->curl, message, 0) : NULL;
	char *url = NULL;
	if (message != NULL && escaped == NULL)
		goto out;
	size_t len = strlen(c->base) + strlen("?operation=") + strlen(op) + strlen("&message=") +
	             (escaped ? strlen(escaped) : 0) + 1;
	url = malloc(len);
	if (url != NULL)
		snprintf(url, len, "%s?operation=%s%s%s", c->base, op, escaped ? "&message=" : "", escaped ? escaped : "");
out:
	curl_free(escaped);
	return url;
}

/* One exchange: GET base?operation=op[&message=...], or a POST of post[0..post_len) when
 * post != NULL. Returns 0 when out->outcome is SCEP_CLIENT_OK. */
static int exchange(scep_client *c, const char *op, const char *message, const uint8_t *post, size_t post_len,
                    const char *const *types, scep_client_reply *out)
{
	reply_init(out);
	transfer t = {.reply = out};
	ec_buf_init(&t.body, SCEP_CLIENT_REPLY_MAX);
	struct curl_slist *headers = NULL;
	char *url = request_url(c, op, message);
	if (url == NULL) {
		reply_fail(out, SCEP_CLIENT_UNREACHABLE, "out of memory");
		goto out;
	}
	if (post != NULL) {
		/* "Expect:" turns off 100-continue: one round trip, and no wait on servers without it. */
		struct curl_slist *ct = curl_slist_append(NULL, "Content-Type: application/x-pki-message");
		headers = ct ? curl_slist_append(ct, "Expect:") : NULL;
		if (headers == NULL) {
			curl_slist_free_all(ct);
			reply_fail(out, SCEP_CLIENT_UNREACHABLE, "out of memory");
			goto out;
		}
	}
	curl_easy_reset(c->curl);
	if (set_options(c, url, &t, headers, post, post_len) != 0) {
		reply_fail(out, SCEP_CLIENT_UNREACHABLE, "libcurl refused an option (too old a libcurl?)");
		goto out;
	}
	CURLcode cc = curl_easy_perform(c->curl);
	if (curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &out->http_status) != CURLE_OK)
		out->http_status = 0;
	classify(out, cc, &t, types);
	if (out->outcome == SCEP_CLIENT_OK)
		out->body = ec_buf_take(&t.body, &out->body_len);
out:
	curl_slist_free_all(headers);
	free(url);
	ec_buf_free(&t.body);
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
