/*
 * The SCEP client's HTTP exchange in-process, over libcurl's easy interface.
 *
 * Each client owns one CURL handle. Before every exchange the handle's options are reset
 * (curl_easy_reset keeps the connection cache), so sequential calls reuse a kept-alive
 * connection while no option of one exchange (a POST body, a header list) leaks into the next.
 * The reply body is collected into an ec_buf capped at SCEP_CLIENT_REPLY_MAX; the transfer is
 * aborted past the cap. Nothing here reads the clock: a Retry-After date is returned as it is.
 */
#include "scep_client/scep_http.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "scep_client/scep_client.h"
#include "util/buf.h"

#define DEFAULT_PATH "/cgi-bin/pkiclient.exe"

int scep_http_curl_global_init(ec_err *err)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return ec_err_set(err, "libcurl initialisation failed");
	return 0;
}

static int curl_base(const char *url, char *out, size_t sz, ec_err *err)
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

static int curl_open(void **state, ec_err *err)
{
	*state = curl_easy_init();
	return *state != NULL ? 0 : ec_err_set(err, "libcurl handle unavailable");
}

static void curl_close(void *state)
{
	curl_easy_cleanup(state);
}

/* Transfer state handed to libcurl's callbacks. */
typedef struct transfer {
	ec_buf body;
	bool too_large;   /* the body passed the cap */
	bool no_memory;   /* appending failed below the cap */
	scep_http_result *res;
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
static void read_retry_after(scep_http_result *r, const char *text)
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
		t->res->content_type[0] = '\0';
		t->res->retry_after_seconds = -1;
		t->res->retry_after_epoch = -1;
		return len;
	}
	const char *colon = memchr(data, ':', len);
	if (colon == NULL)
		return len;
	size_t name_len = (size_t)(colon - data);
	const char *value = colon + 1;
	size_t value_len = len - name_len - 1;
	if (name_len == 12 && strncasecmp(data, "Content-Type", 12) == 0) {
		trim_copy(t->res->content_type, sizeof(t->res->content_type), value, value_len);
	} else if (name_len == 11 && strncasecmp(data, "Retry-After", 11) == 0) {
		char text[64];
		trim_copy(text, sizeof(text), value, value_len);
		read_retry_after(t->res, text);
	}
	return len;
}

/* Sets every option of one exchange on a freshly reset handle; -1 if libcurl refuses one. */
static int set_options(CURL *h, const scep_http_call *call, const char *url, transfer *t,
                       struct curl_slist *headers)
{
	int bad = 0;
	bad |= curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, call->connect_timeout_ms) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, call->total_timeout_ms) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)SCEP_CLIENT_REPLY_MAX) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_USERAGENT, "evercert") != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_WRITEDATA, t) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_HEADERDATA, t) != CURLE_OK;
	if (call->post != NULL) {
		bad |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers) != CURLE_OK;
		bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->post_len) != CURLE_OK;
		bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)call->post) != CURLE_OK;
	}
	return bad ? -1 : 0;
}

/* "base?operation=op[&message=<escaped message>]", or base alone for an empty operation; NULL
 * when memory is short. */
static char *request_url(CURL *h, const scep_http_call *call)
{
	if (call->operation[0] == '\0')
		return strdup(call->base);
	char *escaped = call->message != NULL ? curl_easy_escape(h, call->message, 0) : NULL;
	char *url = NULL;
	if (call->message != NULL && escaped == NULL)
		goto out;
	size_t len = strlen(call->base) + strlen("?operation=") + strlen(call->operation) + strlen("&message=") +
	             (escaped ? strlen(escaped) : 0) + 1;
	url = malloc(len);
	if (url != NULL)
		snprintf(url, len, "%s?operation=%s%s%s", call->base, call->operation, escaped ? "&message=" : "",
		         escaped ? escaped : "");
out:
	curl_free(escaped);
	return url;
}

static void fail(scep_http_result *res, const char *reason)
{
	res->transferred = false;
	snprintf(res->error, sizeof(res->error), "%s", reason);
}

static void curl_exchange(void *state, const scep_http_call *call, scep_http_result *res)
{
	CURL *h = state;
	scep_http_result_init(res);
	transfer t = {.res = res};
	ec_buf_init(&t.body, SCEP_CLIENT_REPLY_MAX);
	struct curl_slist *headers = NULL;
	char *url = request_url(h, call);
	if (url == NULL) {
		fail(res, "out of memory");
		goto out;
	}
	if (call->post != NULL) {
		/* "Expect:" turns off 100-continue: one round trip, and no wait on servers without it. */
		struct curl_slist *ct = curl_slist_append(NULL, "Content-Type: application/x-pki-message");
		headers = ct ? curl_slist_append(ct, "Expect:") : NULL;
		if (headers == NULL) {
			curl_slist_free_all(ct);
			fail(res, "out of memory");
			goto out;
		}
	}
	curl_easy_reset(h);
	if (set_options(h, call, url, &t, headers) != 0) {
		fail(res, "libcurl refused an option (too old a libcurl?)");
		goto out;
	}
	CURLcode cc = curl_easy_perform(h);
	if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &res->http_status) != CURLE_OK)
		res->http_status = 0;
	if (t.too_large || cc == CURLE_FILESIZE_EXCEEDED) {
		res->too_large = true;
		fail(res, "reply too large");
	} else if (t.no_memory) {
		fail(res, "out of memory reading the reply");
	} else if (cc != CURLE_OK) {
		fail(res, curl_easy_strerror(cc));
	} else {
		res->transferred = true;
		res->body = ec_buf_take(&t.body, &res->body_len);
		if (res->body_len == 0) {
			free(res->body);
			res->body = NULL;
		}
	}
out:
	curl_slist_free_all(headers);
	free(url);
	ec_buf_free(&t.body);
}

const scep_http_transport scep_http_curl_transport = {
	.name = "libcurl",
	.base = curl_base,
	.open = curl_open,
	.close = curl_close,
	.exchange = curl_exchange,
};
