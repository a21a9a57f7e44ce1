#include "client/tp_record.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/encoding.h"

#define TP_RECORD_MAGIC "evercert-trustpoint 1"
#define TP_LINE_MAX (96 * 1024)

static const char *const blob_keys[TP_BLOB_COUNT] = {
	"ca-cert", "cert", "signer-cert", "rollover-ca-cert", "rollover-cert",
};

void tp_record_init(tp_record *r)
{
	memset(r, 0, sizeof(*r));
	r->key_slot = 'a';
	r->m.renew_at = r->m.poll_at = r->m.retry_at = r->m.switch_at = TP_NEVER;
	r->m.cert_not_after = r->m.ca_not_after = r->m.cert_ca_not_after = TP_NEVER;
}

void tp_record_free(tp_record *r)
{
	for (int i = 0; i < TP_BLOB_COUNT; i++) {
		free(r->blob[i]);
		r->blob[i] = NULL;
		r->blob_len[i] = 0;
	}
}

int tp_record_set_blob(tp_record *r, int which, const uint8_t *der, size_t len)
{
	uint8_t *copy = NULL;
	if (der != NULL) {
		copy = malloc(len ? len : 1);
		if (copy == NULL)
			return -1;
		memcpy(copy, der, len);
	}
	free(r->blob[which]);
	r->blob[which] = copy;
	r->blob_len[which] = der ? len : 0;
	return 0;
}

void tp_record_move_blob(tp_record *r, int from, int to)
{
	free(r->blob[to]);
	r->blob[to] = r->blob[from];
	r->blob_len[to] = r->blob_len[from];
	r->blob[from] = NULL;
	r->blob_len[from] = 0;
}

/* Integer fields, by name and offset, so that formatting and parsing share one table. */
typedef struct int_field {
	const char *key;
	size_t offset;
	int is_time; /* ec_time (int64) rather than int */
} int_field;

#define M(f) offsetof(tp_record, m) + offsetof(tp_state, f)
static const int_field int_fields[] = {
	{"phase", M(phase), 0},
	{"request-kind", M(request_kind), 0},
	{"authenticated", M(authenticated), -1},
	{"enrolled", M(enrolled), -1},
	{"cert-not-after", M(cert_not_after), 1},
	{"ca-not-after", M(ca_not_after), 1},
	{"renewal-kind", M(renewal_kind), 0},
	{"renew-at", M(renew_at), 1},
	{"poll-at", M(poll_at), 1},
	{"retry-at", M(retry_at), 1},
	{"poll-interval", M(poll_interval), 1},
	{"retry-interval", M(retry_interval), 1},
	{"poll-count", M(poll_count), 0},
	{"retry-action", M(retry_action), 0},
	{"switch-at", M(switch_at), 1},
	{"cert-ca-not-after", M(cert_ca_not_after), 1},
	{"request-key-shadow", offsetof(tp_record, request_key_shadow), 0},
	{"caps", offsetof(tp_record, caps), 0},
};
#undef M

static int64_t get_int(const tp_record *r, const int_field *f)
{
	const char *p = (const char *)r + f->offset;
	if (f->is_time > 0)
		return *(const ec_time *)(const void *)p;
	if (f->is_time < 0)
		return *(const bool *)(const void *)p;
	return *(const int *)(const void *)p;
}

static void set_int(tp_record *r, const int_field *f, int64_t v)
{
	char *p = (char *)r + f->offset;
	if (f->is_time > 0)
		*(ec_time *)(void *)p = v;
	else if (f->is_time < 0)
		*(bool *)(void *)p = v != 0;
	else
		*(int *)(void *)p = (int)v;
}

int tp_record_format(const tp_record *r, ec_buf *out)
{
	if (ec_buf_printf(out, "%s\n", TP_RECORD_MAGIC) != 0)
		return -1;
	for (size_t i = 0; i < sizeof(int_fields) / sizeof(int_fields[0]); i++)
		if (ec_buf_printf(out, "%s %" PRId64 "\n", int_fields[i].key, get_int(r, &int_fields[i])) != 0)
			return -1;
	if (ec_buf_printf(out, "key-slot %c\ntxid %s\nrequest-subject %s\nlast-result %s\n", r->key_slot,
	                  r->txid, r->request_subject, r->last_result) != 0)
		return -1;
	for (int i = 0; i < TP_BLOB_COUNT; i++) {
		if (r->blob[i] == NULL)
			continue;
		char *b64 = ec_b64_encode(r->blob[i], r->blob_len[i]);
		int rc = b64 == NULL ? -1 : ec_buf_printf(out, "%s %s\n", blob_keys[i], b64);
		free(b64);
		if (rc != 0)
			return -1;
	}
	return 0;
}

static int parse_int(const char *v, int64_t *out)
{
	char *end = NULL;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0')
		return -1;
	*out = x;
	return 0;
}

static int set_text(char *dst, size_t size, const char *v)
{
	size_t n = strlen(v);
	if (n >= size)
		return -1;
	memcpy(dst, v, n + 1);
	return 0;
}

static int parse_field(tp_record *r, const char *key, const char *v, ec_err *err)
{
	for (size_t i = 0; i < sizeof(int_fields) / sizeof(int_fields[0]); i++) {
		if (strcmp(key, int_fields[i].key) != 0)
			continue;
		int64_t x;
		if (parse_int(v, &x) != 0)
			return ec_err_set(err, "'%s' is not a number", v);
		set_int(r, &int_fields[i], x);
		return 0;
	}
	for (int i = 0; i < TP_BLOB_COUNT; i++) {
		if (strcmp(key, blob_keys[i]) != 0)
			continue;
		uint8_t *der = NULL;
		size_t len = 0;
		if (ec_b64_decode(v, strlen(v), &der, &len, err) != 0)
			return -1;
		free(r->blob[i]);
		r->blob[i] = der;
		r->blob_len[i] = len;
		return 0;
	}
	if (strcmp(key, "key-slot") == 0) {
		if ((v[0] != 'a' && v[0] != 'b') || v[1] != '\0')
			return ec_err_set(err, "key-slot must be a or b");
		r->key_slot = v[0];
		return 0;
	}
	if (strcmp(key, "txid") == 0)
		return set_text(r->txid, sizeof(r->txid), v) == 0 ? 0 : ec_err_set(err, "txid too long");
	if (strcmp(key, "request-subject") == 0)
		return set_text(r->request_subject, sizeof(r->request_subject), v) == 0 ? 0 : ec_err_set(err, "subject too long");
	if (strcmp(key, "last-result") == 0)
		return set_text(r->last_result, sizeof(r->last_result), v) == 0 ? 0 : ec_err_set(err, "text too long");
	return ec_err_set(err, "unknown key '%.40s'", key);
}

int tp_record_parse(const uint8_t *text, size_t len, tp_record *r, ec_err *err)
{
	tp_record_init(r);
	if (len > TP_RECORD_MAX)
		return ec_err_set(err, "state file larger than %d bytes", TP_RECORD_MAX);
	if (memchr(text, '\0', len) != NULL)
		return ec_err_set(err, "state file contains a NUL byte");
	char *line = malloc(TP_LINE_MAX + 1);
	if (line == NULL)
		return ec_err_set(err, "out of memory");
	int rc = -1;
	size_t pos = 0;
	int lineno = 0;
	while (pos < len) {
		const uint8_t *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		lineno++;
		if (n > TP_LINE_MAX) {
			ec_err_set(err, "line %d: too long", lineno);
			goto out;
		}
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + (nl ? 1 : 0);
		if (lineno == 1) {
			if (strcmp(line, TP_RECORD_MAGIC) != 0) {
				ec_err_set(err, "not an evercert trustpoint state file");
				goto out;
			}
			continue;
		}
		if (n == 0)
			continue;
		char *sp = strchr(line, ' ');
		const char *value = sp ? sp + 1 : "";
		if (sp)
			*sp = '\0';
		if (parse_field(r, line, value, err) != 0) {
			ec_err_wrap(err, "line %d", lineno);
			goto out;
		}
	}
	if (lineno == 0) {
		ec_err_set(err, "empty state file");
		goto out;
	}
	rc = 0;
out:
	free(line);
	if (rc != 0)
		tp_record_free(r);
	return rc;
}
