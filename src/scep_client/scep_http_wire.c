/*
 * The wire between evercertd and its HTTP helper: a magic with the format's version, fixed-size
 * integers in host byte order, and length-prefixed byte strings (a length of UINT32_MAX is an
 * absent string). Readers check every length against what is left and against the field's
 * limit, refuse NUL inside text and trailing bytes, and change nothing on failure.
 */
#include "scep_client/scep_http.h"

#include <stdlib.h>
#include <string.h>

#include "scep_client/scep_client.h"

#define CALL_MAGIC "ECQ1"
#define RESULT_MAGIC "ECR1"
#define ABSENT UINT32_MAX
#define NAME_MAX_LEN 8192 /* base URL, operation */
/* message= may carry a whole base64 pkiMessage (PKIOperation by GET): only the call's cap. */

static int put_bytes(ec_buf *out, const void *data, size_t len)
{
	return len == 0 ? 0 : ec_buf_append(out, data, len);
}

static int put_i64(ec_buf *out, int64_t v)
{
	return ec_buf_append(out, &v, sizeof(v));
}

static int put_string(ec_buf *out, const void *data, size_t len, bool present)
{
	if (present && len >= ABSENT)
		return -1;
	uint32_t n = present ? (uint32_t)len : ABSENT;
	if (ec_buf_append(out, &n, sizeof(n)) != 0)
		return -1;
	return present ? put_bytes(out, data, len) : 0;
}

static int put_text(ec_buf *out, const char *s)
{
	return put_string(out, s, s != NULL ? strlen(s) : 0, s != NULL);
}

int scep_http_wire_put_call(ec_buf *out, const scep_http_call *call)
{
	if (ec_buf_append(out, CALL_MAGIC, 4) != 0 || put_i64(out, call->connect_timeout_ms) != 0 ||
	    put_i64(out, call->total_timeout_ms) != 0 || put_text(out, call->base) != 0 ||
	    put_text(out, call->operation) != 0 || put_text(out, call->message) != 0 ||
	    put_string(out, call->post, call->post_len, call->post != NULL) != 0)
		return -1;
	return 0;
}

int scep_http_wire_put_result(ec_buf *out, const scep_http_result *res)
{
	uint8_t flags[2] = {res->transferred, res->too_large};
	if (ec_buf_append(out, RESULT_MAGIC, 4) != 0 || ec_buf_append(out, flags, sizeof(flags)) != 0 ||
	    put_i64(out, res->http_status) != 0 || put_i64(out, res->retry_after_seconds) != 0 ||
	    put_i64(out, res->retry_after_epoch) != 0 || put_text(out, res->content_type) != 0 ||
	    put_text(out, res->error) != 0 || put_string(out, res->body, res->body_len, true) != 0)
		return -1;
	return 0;
}

/* ---- reading ---- */

typedef struct cursor {
	const uint8_t *p;
	size_t left;
} cursor;

static bool take(cursor *c, void *dst, size_t n)
{
	if (c->left < n)
		return false;
	memcpy(dst, c->p, n);
	c->p += n;
	c->left -= n;
	return true;
}

static bool take_i64(cursor *c, int64_t *v)
{
	return take(c, v, sizeof(*v));
}

/* A string of at most max bytes; *present false for an absent one. */
static bool take_string(cursor *c, const uint8_t **data, size_t *len, bool *present, size_t max)
{
	uint32_t n;
	if (!take(c, &n, sizeof(n)))
		return false;
	*present = n != ABSENT;
	*data = NULL;
	*len = 0;
	if (!*present)
		return true;
	if (n > max || n > c->left)
		return false;
	*data = c->p;
	*len = n;
	c->p += n;
	c->left -= n;
	return true;
}

/* A present or absent string that holds no NUL. */
static bool is_text(const uint8_t *data, size_t len)
{
	return data == NULL || memchr(data, '\0', len) == NULL;
}

int scep_http_wire_get_call(const uint8_t *data, size_t len, scep_http_call *call, ec_err *err)
{
	cursor c = {data, len};
	char magic[4];
	int64_t connect_ms, total_ms;
	const uint8_t *s[4];
	size_t n[4];
	bool present[4];
	if (!take(&c, magic, 4) || memcmp(magic, CALL_MAGIC, 4) != 0)
		return ec_err_set(err, "not a call of this version");
	if (!take_i64(&c, &connect_ms) || !take_i64(&c, &total_ms) ||
	    !take_string(&c, &s[0], &n[0], &present[0], NAME_MAX_LEN) ||
	    !take_string(&c, &s[1], &n[1], &present[1], NAME_MAX_LEN) ||
	    !take_string(&c, &s[2], &n[2], &present[2], SCEP_HTTP_WIRE_CALL_MAX) ||
	    !take_string(&c, &s[3], &n[3], &present[3], SCEP_HTTP_WIRE_CALL_MAX))
		return ec_err_set(err, "truncated or oversized call");
	if (c.left != 0)
		return ec_err_set(err, "%zu bytes after the call", c.left);
	if (!present[0] || !present[1] || !is_text(s[0], n[0]) || !is_text(s[1], n[1]) || !is_text(s[2], n[2]))
		return ec_err_set(err, "malformed call");
	if (connect_ms <= 0 || total_ms <= 0 || connect_ms > 3600000 || total_ms > 3600000)
		return ec_err_set(err, "timeouts out of range");
	/* base, operation and message copied into one block, each NUL-terminated. */
	size_t total = n[0] + 1 + n[1] + 1 + (present[2] ? n[2] + 1 : 0);
	char *block = malloc(total);
	if (block == NULL)
		return ec_err_set(err, "out of memory");
	char *p = block;
	const char *texts[3];
	for (int i = 0; i < 3; i++) {
		texts[i] = NULL;
		if (!present[i])
			continue;
		texts[i] = p;
		if (n[i] > 0)
			memcpy(p, s[i], n[i]);
		p[n[i]] = '\0';
		p += n[i] + 1;
	}
	*call = (scep_http_call){
		.base = texts[0],
		.operation = texts[1],
		.message = texts[2],
		.post = present[3] ? (s[3] != NULL ? s[3] : (const uint8_t *)"") : NULL,
		.post_len = n[3],
		.connect_timeout_ms = (long)connect_ms,
		.total_timeout_ms = (long)total_ms,
	};
	return 0;
}

static bool copy_field(char *dst, size_t sz, const uint8_t *data, size_t len, bool present)
{
	if (!present || len >= sz || !is_text(data, len))
		return false;
	if (len > 0)
		memcpy(dst, data, len);
	dst[len] = '\0';
	return true;
}

int scep_http_wire_get_result(const uint8_t *data, size_t len, scep_http_result *res, ec_err *err)
{
	cursor c = {data, len};
	char magic[4];
	uint8_t flags[2];
	int64_t status, retry_s, retry_epoch;
	const uint8_t *type, *error, *body;
	size_t type_len, error_len, body_len;
	bool type_present, error_present, body_present;
	if (!take(&c, magic, 4) || memcmp(magic, RESULT_MAGIC, 4) != 0)
		return ec_err_set(err, "not a result of this version");
	if (!take(&c, flags, sizeof(flags)) || !take_i64(&c, &status) || !take_i64(&c, &retry_s) ||
	    !take_i64(&c, &retry_epoch) ||
	    !take_string(&c, &type, &type_len, &type_present, sizeof(res->content_type) - 1) ||
	    !take_string(&c, &error, &error_len, &error_present, sizeof(res->error) - 1) ||
	    !take_string(&c, &body, &body_len, &body_present, SCEP_CLIENT_REPLY_MAX))
		return ec_err_set(err, "truncated or oversized result");
	if (c.left != 0)
		return ec_err_set(err, "%zu bytes after the result", c.left);
	if (flags[0] > 1 || flags[1] > 1 || status < 0 || status > 999 || !body_present)
		return ec_err_set(err, "malformed result");
	scep_http_result r;
	scep_http_result_init(&r);
	if (!copy_field(r.content_type, sizeof(r.content_type), type, type_len, type_present) ||
	    !copy_field(r.error, sizeof(r.error), error, error_len, error_present))
		return ec_err_set(err, "malformed result text");
	r.transferred = flags[0];
	r.too_large = flags[1];
	r.http_status = (long)status;
	r.retry_after_seconds = retry_s;
	r.retry_after_epoch = retry_epoch;
	if (body_len > 0) {
		r.body = malloc(body_len + 1); /* NUL-terminated: error bodies are read as text */
		if (r.body == NULL)
			return ec_err_set(err, "out of memory");
		memcpy(r.body, body, body_len);
		r.body[body_len] = '\0';
		r.body_len = body_len;
	}
	*res = r;
	return 0;
}

void scep_http_result_init(scep_http_result *res)
{
	memset(res, 0, sizeof(*res));
	res->retry_after_seconds = -1;
	res->retry_after_epoch = -1;
}

void scep_http_result_free(scep_http_result *res)
{
	free(res->body);
	res->body = NULL;
	res->body_len = 0;
}
