/* SCEP over HTTP, client side, over libcurl's easy interface. */
#include "net/scep_client.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "util/buf.h"
#include "util/encoding.h"

#define DEFAULT_PATH "/cgi-bin/pkiclient.exe"

struct scep_client {
	CURL *curl;
	char base[2048];              /* scheme://host[:port]/path, without a query */
	scep_client_opts opts;
};

int scep_client_global_init(ec_err *err)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return ec_err_set(err, "libcurl initialisation failed");
	return 0;
}

static int build_base(const char *url, char *out, size_t sz, ec_err *err)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *path = NULL;
	int rc = -1;
	if (u == NULL || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
		ec_err_set(err, "'%s' is not a usable URL", url);
		goto out;
	}
	if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) {
		ec_err_set(err, "'%s': only http:// and https:// enrollment URLs are supported", url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK || path == NULL || strcmp(path, "/") == 0) {
		if (curl_url_set(u, CURLUPART_PATH, DEFAULT_PATH, 0) != CURLUE_OK)
			goto out;
	}
	curl_url_set(u, CURLUPART_QUERY, NULL, 0);
	curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
	char *full = NULL;
	if (curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK) {
		ec_err_set(err, "'%s' is not a usable URL", url);
		goto out;
	}
	int n = snprintf(out, sz, "%s", full);
	curl_free(full);
	rc = (n < 0 || (size_t)n >= sz) ? ec_err_set(err, "URL too long") : 0;
out:
	curl_free(scheme);
	curl_free(path);
	curl_url_cleanup(u);
	return rc;
}

int scep_client_new(const char *url, const scep_client_opts *opts, scep_client **out, ec_err *err)
{
	*out = NULL;
	scep_client *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return ec_err_set(err, "out of memory");
	if (opts != NULL)
		c->opts = *opts;
	if (c->opts.connect_timeout_ms <= 0)
		c->opts.connect_timeout_ms = 5000;
	if (c->opts.total_timeout_ms <= 0)
		c->opts.total_timeout_ms = 20000;
	if (build_base(url, c->base, sizeof(c->base), err) != 0 || (c->curl = curl_easy_init()) == NULL) {
		if (c->curl == NULL && err != NULL && err->msg[0] == '\0')
			ec_err_set(err, "libcurl handle unavailable");
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
	curl_easy_cleanup(c->curl);
	free(c);
}

void scep_client_reply_free(scep_client_reply *r)
{
	free(r->body);
	r->body = NULL;
	r->body_len = 0;
}

/* Transfer state handed to libcurl's callbacks. */
typedef struct transfer {
	ec_buf body;
	bool too_large;
	scep_client_reply *reply;
} transfer;

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	transfer *t = ctx;
	if (ec_buf_append(&t->body, data, size * n) != 0) {
		t->too_large = true;
		return 0; /* aborts the transfer */
	}
	return size * n;
}

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
	memcpy(dst, src, len);
	dst[len] = '\0';
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
	transfer *t = ctx;
	size_t len = size * n;
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
		char *end = NULL;
		errno = 0;
		long long secs = strtoll(text, &end, 10);
		/* Only the delta-seconds form: an HTTP date would need the wall clock here. */
		if (errno == 0 && end != text && *end == '\0' && secs >= 0)
			t->reply->retry_after_seconds = secs;
	}
	return len;
}

/* Whether the reply's content type is one of the accepted ones (parameters ignored). */
static bool type_is(const char *got, const char *const *accepted)
{
	size_t n = strcspn(got, "; \t");
	for (; *accepted != NULL; accepted++)
		if (strlen(*accepted) == n && strncasecmp(got, *accepted, n) == 0)
			return true;
	return false;
}

static void first_line(char *dst, size_t sz, const uint8_t *body, size_t len)
{
	size_t n = 0;
	while (n < len && body[n] != '\n' && body[n] != '\r')
		n++;
	trim_copy(dst, sz < 201 ? sz : 201, (const char *)body, n);
	for (char *p = dst; *p; p++)
		if (!isprint((unsigned char)*p))
			*p = '?';
}

static void classify(scep_client_reply *out, CURLcode cc, transfer *t, const char *const *types)
{
	if (t->too_large) {
		out->outcome = SCEP_CLIENT_BAD_REPLY;
		snprintf(out->reason, sizeof(out->reason), "reply larger than %d bytes", SCEP_CLIENT_REPLY_MAX);
		return;
	}
	if (cc != CURLE_OK) {
		out->outcome = SCEP_CLIENT_UNREACHABLE;
		snprintf(out->reason, sizeof(out->reason), "%s", curl_easy_strerror(cc));
		return;
	}
	char line[201] = "";
	first_line(line, sizeof(line), t->body.data ? t->body.data : (const uint8_t *)"", t->body.len);
	if (out->http_status >= 500) {
		out->outcome = SCEP_CLIENT_UNAVAILABLE;
		snprintf(out->reason, sizeof(out->reason), "HTTP %ld: %s", out->http_status, line);
	} else if (out->http_status != 200) {
		out->outcome = SCEP_CLIENT_REFUSED;
		snprintf(out->reason, sizeof(out->reason), "HTTP %ld: %s", out->http_status, line);
	} else if (t->body.len == 0) {
		out->outcome = SCEP_CLIENT_BAD_REPLY;
		snprintf(out->reason, sizeof(out->reason), "empty reply");
	} else if (types != NULL && !type_is(out->content_type, types)) {
		out->outcome = SCEP_CLIENT_BAD_REPLY;
		snprintf(out->reason, sizeof(out->reason), "unexpected content type '%s'", out->content_type);
	} else {
		out->outcome = SCEP_CLIENT_OK;
	}
}

/* One exchange: GET base?operation=op[&message=msg], or POST of body when body != NULL. */
static int exchange(scep_client *c, const char *op, const char *message, const uint8_t *body, size_t body_len,
                    const char *const *types, scep_client_reply *out)
{
	memset(out, 0, sizeof(*out));
	out->retry_after_seconds = -1;
	transfer t = {.reply = out};
	ec_buf_init(&t.body, SCEP_CLIENT_REPLY_MAX);
	struct curl_slist *headers = NULL;
	char *escaped = message ? curl_easy_escape(c->curl, message, 0) : NULL;
	size_t url_len = strlen(c->base) + strlen(op) + (escaped ? strlen(escaped) : 0) + 32;
	char *url = malloc(url_len);
	if (url == NULL || (message != NULL && escaped == NULL)) {
		out->outcome = SCEP_CLIENT_UNREACHABLE;
		snprintf(out->reason, sizeof(out->reason), "out of memory");
		goto out;
	}
	snprintf(url, url_len, "%s?operation=%s%s%s", c->base, op, escaped ? "&message=" : "", escaped ? escaped : "");
	curl_easy_reset(c->curl);
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, c->opts.connect_timeout_ms);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, c->opts.total_timeout_ms);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &t);
	curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, &t);
	if (body != NULL) {
		headers = curl_slist_append(NULL, "Content-Type: application/x-pki-message");
		curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, (const char *)body);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	}
	CURLcode cc = curl_easy_perform(c->curl);
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &out->http_status);
	classify(out, cc, &t, types);
	if (out->outcome == SCEP_CLIENT_OK)
		out->body = ec_buf_take(&t.body, &out->body_len);
out:
	curl_slist_free_all(headers);
	curl_free(escaped);
	free(url);
	ec_buf_free(&t.body);
	return out->outcome == SCEP_CLIENT_OK ? 0 : -1;
}

int scep_client_get_ca_cert(scep_client *c, const char *message, scep_client_reply *out, bool *is_chain)
{
	static const char *const types[] = {"application/x-x509-ca-cert", "application/x-x509-ca-ra-cert", NULL};
	int rc = exchange(c, "GetCACert", message, NULL, 0, types, out);
	*is_chain = rc == 0 && type_is(out->content_type, (const char *const[]){"application/x-x509-ca-ra-cert", NULL});
	return rc;
}

int scep_client_get_ca_caps(scep_client *c, scep_client_reply *out)
{
	return exchange(c, "GetCACaps", NULL, NULL, 0, NULL, out);
}

int scep_client_get_next_ca_cert(scep_client *c, scep_client_reply *out)
{
	static const char *const types[] = {"application/x-x509-next-ca-cert", NULL};
	return exchange(c, "GetNextCACert", NULL, NULL, 0, types, out);
}

int scep_client_pki_operation(scep_client *c, const uint8_t *msg, size_t len, scep_client_reply *out)
{
	static const char *const types[] = {"application/x-pki-message", NULL};
	if (!c->opts.use_get_for_pkioperation)
		return exchange(c, "PKIOperation", NULL, msg, len, types, out);
	char *b64 = ec_b64_encode(msg, len);
	if (b64 == NULL) {
		memset(out, 0, sizeof(*out));
		out->outcome = SCEP_CLIENT_BAD_REPLY;
		snprintf(out->reason, sizeof(out->reason), "out of memory");
		return -1;
	}
	int rc = exchange(c, "PKIOperation", b64, NULL, 0, types, out);
	free(b64);
	return rc;
}
