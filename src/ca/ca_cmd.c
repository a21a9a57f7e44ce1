/* Operator commands on a certificate server (SPEC §6.9). */
#include "ca/ca_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pki/name_line.h"
#include "util/buf.h"
#include "util/encoding.h"
#include "util/json.h"

static int out_of_space(ec_err *err)
{
	return ec_err_set(err, "output too long");
}

static const char *state_name(int state)
{
	switch (state) {
	case STORE_REQ_PENDING: return "pending";
	case STORE_REQ_GRANTED: return "granted";
	case STORE_REQ_REJECTED: return "rejected";
	case STORE_REQ_EXPIRED: return "expired";
	default: return "approved";
	}
}

typedef struct listing {
	ec_buf *out;
	int64_t n;
} listing;

/* The request's fingerprint as the router shows it: the MD5 of the request (its PKCS#10, DER),
 * 32 hex digits (upper-case as the router prints them, lower-case as JSON has every fingerprint);
 * "" when it has no request kept. */
static void request_md5(const store_request *r, bool upper, char out[2 * EVP_MAX_MD_SIZE + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	out[0] = '\0';
	if (r->csr_der == NULL || EVP_Digest(r->csr_der, r->csr_der_len, md, &len, EVP_md5(), NULL) != 1)
		return;
	ec_hex_encode(md, len, out);
	for (char *p = out; upper && *p; p++)
		*p = (char)toupper((unsigned char)*p);
}

/* The SCEP message and what the CA makes of it: a PKCSReq signed by a certificate this CA issued
 * is a renewal as much as a RenewalReq is. */
static void request_type(const store_request *r, char *out, size_t sz)
{
	snprintf(out, sz, "%s (%s)", scep_msg_type_name(r->msg_type), r->renewal ? "renewal" : "initial");
}

static int list_one(void *ctx, const store_request *r)
{
	listing *l = ctx;
	char md5[2 * EVP_MAX_MD_SIZE + 1], subject[STORE_SUBJECT_MAX + 64], type[64];
	l->n++;
	request_md5(r, true, md5);
	request_type(r, type, sizeof(type));
	if (pki_name_line_from_text(r->subject, subject, sizeof(subject)) != 0)
		snprintf(subject, sizeof(subject), "%s", r->subject);
	/* The router's columns; evercert's additions on the lines below. */
	if (ec_buf_printf(l->out, "%-6lld %-10s %-32s %s\n       Type: %s\n", (long long)r->id, state_name(r->state),
	                  md5, subject, type) != 0)
		return -1;
	if (r->reason[0] != '\0' && ec_buf_printf(l->out, "       Reason: %s\n", r->reason) != 0)
		return -1;
	return ec_buf_printf(l->out, "       From: %s\n", r->source);
}

/* The router's table header, and its rule, under each section. */
#define REQUESTS_HEADER "ReqID  State      Fingerprint                      SubjectName\n" \
	"--------------------------------------------------------------\n"

int ca_cmd_info_requests(ca_engine *ca, ec_time now, ec_buf *out, ec_err *err)
{
	listing l = {out, 0};
	/* evercert issues no subordinate CA or RA certificates: those sections stay empty, as on a
	 * router that has none. */
	if (ec_buf_printf(out, "Enrollment Request Database:\n\nSubordinate CA certificate requests:\n" REQUESTS_HEADER
	                  "\nRA certificate requests:\n" REQUESTS_HEADER
	                  "\nRouter certificates requests:\n" REQUESTS_HEADER) != 0)
		return out_of_space(err);
	if (store_request_each(ca->store, STORE_REQ_PENDING, list_one, &l, err) != 0)
		return -1;
	if (l.n == 0 && ec_buf_printf(out, "(no pending requests)\n") != 0)
		return out_of_space(err);
	(void)now;
	return 0;
}

static int json_one(void *ctx, const store_request *r)
{
	listing *l = ctx;
	char created[EC_TIME_TEXT_MAX], expires[EC_TIME_TEXT_MAX], md5[2 * EVP_MAX_MD_SIZE + 1];
	request_md5(r, false, md5);
	ec_time_format_iso(r->created, created);
	ec_time_format_iso(r->expires, expires);
	return (l->n++ > 0 && ec_buf_printf(l->out, ",")) || ec_buf_printf(l->out, "{") ||
	       ec_json_kv_int(l->out, true, "id", r->id) || ec_json_kv_str(l->out, false, "state", state_name(r->state)) ||
	       ec_json_kv_str(l->out, false, "type", r->renewal ? "renewal" : "initial") ||
	       ec_json_kv_str(l->out, false, "subject", r->subject) ||
	       ec_json_kv_str(l->out, false, "key_fingerprint_sha256", r->pubkey_fp) ||
	       ec_json_kv_str(l->out, false, "fingerprint_md5", md5) ||
	       ec_json_kv_str(l->out, false, "message_type", scep_msg_type_name(r->msg_type)) ||
	       ec_json_kv_str(l->out, false, "transaction_id", r->txid) ||
	       ec_json_kv_str(l->out, false, "source", r->source) || ec_json_kv_str(l->out, false, "reason", r->reason) ||
	       ec_json_kv_str(l->out, false, "created", created) || ec_json_kv_str(l->out, false, "expires", expires) ||
	       ec_buf_printf(l->out, "}")
	           ? -1 : 0;
}

int ca_cmd_info_requests_json(ca_engine *ca, ec_buf *out, ec_err *err)
{
	listing l = {out, 0};
	if (ec_buf_printf(out, "{") || ec_json_kv_str(out, true, "server", ca->cfg.name) ||
	    ec_buf_printf(out, ",\"requests\":["))
		return out_of_space(err);
	if (store_request_each(ca->store, STORE_REQ_PENDING, json_one, &l, err) != 0)
		return -1;
	return ec_buf_printf(out, "]}") ? out_of_space(err) : 0;
}

/* The ids of the requests a grant or reject acts on, collected as an array of int64_t in a
 * buffer; an array this large cannot be allocated anyway. */
#define ID_LIST_MAX ((size_t)1 << 30)

static int collect_id(void *ctx, const store_request *r)
{
	return ec_buf_append(ctx, &r->id, sizeof(r->id));
}

/* The pending requests a grant or reject acts on: one, or all of them. */
static int select_pending(ca_engine *ca, int64_t id, ec_buf *ids, ec_err *err)
{
	if (id >= 0) {
		store_request r;
		int rc = store_request_get(ca->store, id, &r, err);
		if (rc < 0)
			return -1;
		if (rc == 1)
			return ec_err_set(err, "no enrollment request %lld", (long long)id);
		int state = r.state;
		store_request_free(&r);
		if (state != STORE_REQ_PENDING)
			return ec_err_set(err, "request %lld is %s, not pending", (long long)id, state_name(state));
		return collect_id(ids, &r) == 0 ? 0 : ec_err_set(err, "out of memory");
	}
	return store_request_each(ca->store, STORE_REQ_PENDING, collect_id, ids, err);
}

/* What a grant or a reject needs besides the request. */
typedef struct decision_ctx {
	ec_time now;
	ec_buf *out;
	ec_err *err;
} decision_ctx;

/* Runs act on request id under its transaction lock, on a copy read inside the lock. */
static int on_pending_request(ca_engine *ca, int64_t id, int (*act)(ca_engine *, store_request *, decision_ctx *),
                              decision_ctx *d)
{
	store_request r;
	int rc = store_request_get(ca->store, id, &r, d->err);
	if (rc != 0)
		return rc < 0 ? -1 : ec_err_set(d->err, "no enrollment request %lld", (long long)id);
	pthread_mutex_t *m = ca_tx_lock(ca, r.txid);
	store_request_free(&r);
	pthread_mutex_lock(m);
	rc = store_request_get(ca->store, id, &r, d->err);
	if (rc == 0) {
		rc = r.state == STORE_REQ_PENDING
		         ? act(ca, &r, d)
		         : ec_err_set(d->err, "request %lld is %s, not pending", (long long)id, state_name(r.state));
		store_request_free(&r);
	} else if (rc == 1) {
		rc = ec_err_set(d->err, "no enrollment request %lld", (long long)id);
	}
	pthread_mutex_unlock(m);
	return rc;
}

static int grant_act(ca_engine *ca, store_request *r, decision_ctx *d)
{
	uint8_t *der = NULL;
	size_t len = 0;
	ca_gen *gen = ca_gen_by_serial(ca, r->ca_serial);
	if (gen == NULL)
		return ec_err_set(d->err, "request %lld was made to CA %s, which no longer exists", (long long)r->id, r->ca_serial);
	if (ca_issue_for_request(ca, r, gen, d->now, &der, &len, d->err) != 0)
		return -1;
	free(der);
	ca_audit(ca, "request %lld granted by the operator", (long long)r->id);
	store_request g;
	int rc = store_request_get(ca->store, r->id, &g, d->err);
	if (rc != 0)
		return -1;
	rc = ec_buf_printf(d->out, "Request %lld granted: certificate serial %s issued to %s\n", (long long)r->id,
	                   g.cert_serial, g.subject) == 0 ? 0 : out_of_space(d->err);
	store_request_free(&g);
	return rc;
}

static int reject_act(ca_engine *ca, store_request *r, decision_ctx *d)
{
	if (store_request_set_state(ca->store, r->id, STORE_REQ_REJECTED, SCEP_FAIL_BADREQUEST, d->err) != 0)
		return -1;
	ca_audit(ca, "request %lld rejected by the operator", (long long)r->id);
	return ec_buf_printf(d->out, "Request %lld rejected.\n", (long long)r->id) == 0 ? 0 : out_of_space(d->err);
}

static int decide_pending(ca_engine *ca, int64_t id, bool grant, ec_time now, ec_buf *out, ec_err *err)
{
	ec_buf ids;
	decision_ctx d = {now, out, err};
	int rc = -1;
	ec_buf_init(&ids, ID_LIST_MAX);
	pthread_rwlock_rdlock(&ca->lock);
	if (select_pending(ca, id, &ids, err) != 0)
		goto out;
	rc = 0;
	size_t n = ids.len / sizeof(int64_t);
	for (size_t i = 0; i < n && rc == 0; i++) {
		int64_t one;
		memcpy(&one, ids.data + i * sizeof(one), sizeof(one));
		rc = on_pending_request(ca, one, grant ? grant_act : reject_act, &d);
	}
	if (rc == 0 && n == 0 && ec_buf_printf(out, "No pending requests.\n") != 0)
		rc = out_of_space(err);
out:
	pthread_rwlock_unlock(&ca->lock);
	ec_buf_free(&ids);
	return rc;
}

int ca_cmd_grant(ca_engine *ca, int64_t id, ec_time now, ec_buf *out, ec_err *err)
{
	return decide_pending(ca, id, true, now, out, err);
}

int ca_cmd_reject(ca_engine *ca, int64_t id, ec_time now, ec_buf *out, ec_err *err)
{
	return decide_pending(ca, id, false, now, out, err);
}

int ca_cmd_revoke(ca_engine *ca, const char *serial_hex, bool revoke, ec_time now, ec_buf *out, ec_err *err)
{
	ASN1_INTEGER *canon = NULL;
	char serial[PKI_SERIAL_MAX];
	if (pki_serial_from_hex(serial_hex, &canon, err) != 0)
		return ec_err_wrap(err, "serial number '%s'", serial_hex);
	int rc = pki_serial_to_hex(canon, serial);
	ASN1_INTEGER_free(canon);
	if (rc != 0)
		return ec_err_set(err, "bad serial number '%s'", serial_hex);
	pthread_rwlock_wrlock(&ca->lock);
	if (ca_gen_by_serial(ca, serial) != NULL) {
		rc = ec_err_set(err, "serial %s is a CA certificate of this server; it cannot be revoked here", serial);
		goto out;
	}
	rc = store_cert_set_revoked(ca->store, serial, revoke, now, err);
	if (rc == 1)
		rc = ec_err_set(err, "no certificate with serial number %s was issued by this server", serial);
	if (rc != 0)
		goto out;
	ca_audit(ca, "certificate %s %s by the operator", serial, revoke ? "revoked" : "unrevoked");
	rc = ca_crl_issue(ca, now, err);
	if (rc == 0 && ec_buf_printf(out, "Certificate %s %s; CRL %lld issued.\n", serial,
	                             revoke ? "revoked" : "unrevoked", (long long)ca->crl_number) != 0)
		rc = out_of_space(err);
out:
	pthread_rwlock_unlock(&ca->lock);
	return rc;
}

int ca_cmd_password_generate(ca_engine *ca, int minutes, ec_time now, ec_buf *out, ec_err *err)
{
	static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
	if (minutes < 1 || minutes > 1440)
		return ec_err_set(err, "password lifetime must be 1 to 1440 minutes");
	uint8_t rnd[16];
	char password[sizeof(rnd) + 1];
	if (scep_random(rnd, sizeof(rnd)) != 0)
		return ec_err_set(err, "no randomness");
	for (size_t i = 0; i < sizeof(rnd); i++)
		password[i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
	password[sizeof(rnd)] = '\0';
	int rc = store_otp_add(ca->store, password, now + (ec_time)minutes * EC_MS_PER_MINUTE, err);
	if (rc == 0) {
		ca_audit(ca, "one-time enrollment password generated, valid %d minutes", minutes);
		if (ec_buf_printf(out, "One-time enrollment password: %s\nPassword will be effective for "
		                  "%d minutes\n", password, minutes) != 0)
			rc = out_of_space(err);
	}
	OPENSSL_cleanse(password, sizeof(password));
	return rc;
}

int ca_cmd_shutdown(ca_engine *ca, bool shutdown, ec_buf *out, ec_err *err)
{
	pthread_rwlock_wrlock(&ca->lock);
	ca->shutdown = shutdown;
	pthread_rwlock_unlock(&ca->lock);
	ca_audit(ca, "server %s by the operator", shutdown ? "shut down" : "enabled");
	if (ec_buf_printf(out, "Certificate server %s %s.\n", ca->cfg.name, shutdown ? "disabled" : "enabled") != 0)
		return out_of_space(err);
	return 0;
}
