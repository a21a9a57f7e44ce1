/*
 * A trustpoint's revocation check (`revocation-check crl`): its CA's CRL fetched, verified
 * against the CA certificate, kept until its nextUpdate and refreshed before then; and the trust
 * snapshot that other threads (a certificate server's `grant auto trustpoint`) read.
 *
 * Where the CRL comes from, in this order:
 *   1. the CRL distribution point (http:// or https://) of the trustpoint's identity
 *      certificate: its CA wrote there where it publishes its CRL;
 *   2. SCEP GetCRL (RFC 8894 §3.3.4) at the enrollment URL: a PKIOperation signed by the identity
 *      certificate, or, before the trustpoint has one, by a self-signed certificate of a key kept
 *      in memory, and answered with the CRL in a SUCCESS CertRep signed by the CA.
 * Whatever the source, the CRL is only taken when the CA certificate's key signed it, it is
 * current, and it is not older than the one held. Each fetch runs here, on the daemon's main
 * thread; an HTTP thread that needs a CRL only asks (client_crl_wanted), and such asks are
 * served at most once per CLIENT_CRL_WAKE_INTERVAL_MS.
 */
#include "client/client_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "pki/pki.h"
#include "scep/scep.h"
#include "scep/scep_caps.h"
#include "util/encoding.h"
#include "util/fsutil.h"
#include "util/json.h"
#include "util/task.h"

#define CRL_RETRY_FIRST (EC_MS_PER_MINUTE)
#define CRL_RETRY_MAX (EC_MS_PER_HOUR)
#define CRL_REFRESH_MIN (EC_MS_PER_MINUTE)
#define CRL_FILE_MAX (SCEP_CLIENT_REPLY_MAX)

static bool checking(const tp_runtime *tp)
{
	return tp->cfg.revocation_check == CFG_REVOCATION_CRL || tp->cfg.revocation_check == CFG_REVOCATION_CRL_NONE;
}

/* `revocation-check crl none`: a CRL that cannot be had is no reason to refuse. */
static bool crl_optional(const tp_runtime *tp)
{
	return tp->cfg.revocation_check == CFG_REVOCATION_CRL_NONE;
}

/* The CA certificates the CRL may be signed by (borrowed; free the stack only). */
static STACK_OF(X509) *ca_certs(tp_runtime *tp)
{
	STACK_OF(X509) *cas = sk_X509_new_null();
	if (cas == NULL)
		return NULL;
	if ((tp->ca != NULL && !sk_X509_push(cas, tp->ca)) ||
	    (tp->rollover_ca != NULL && !sk_X509_push(cas, tp->rollover_ca))) {
		sk_X509_free(cas);
		return NULL;
	}
	return cas;
}

void client_publish_trust(tp_runtime *tp)
{
	pki_trust *t = NULL;
	STACK_OF(X509) *cas = ca_certs(tp);
	if (sk_X509_num(cas) > 0) {
		int mode = !checking(tp) ? PKI_REVOCATION_NONE
		           : crl_optional(tp) ? PKI_REVOCATION_CRL_NONE : PKI_REVOCATION_CRL;
		t = pki_trust_new(tp->cfg.name, cas, checking(tp) ? tp->crl : NULL, mode, tp->crl_problem);
		if (t == NULL)
			client_log(tp, "out of memory: the trust snapshot is not updated");
	}
	/* Out of memory, the old snapshot stays: still the CA's certificates, if an older CRL. */
	if (t != NULL || sk_X509_num(cas) <= 0)
		pki_trust_slot_publish(&tp->trust, t);
	sk_X509_free(cas);
}

pki_trust *client_trust(tp_runtime *tp)
{
	return pki_trust_slot_get(&tp->trust);
}

ec_time client_crl_next(const tp_runtime *tp)
{
	/* A CA whose certificate does not chain to ours is asked nothing, not even its CRL. */
	return tp->rec.m.phase == TP_PHASE_REAUTH ? TP_NEVER : tp->crl_fetch_at;
}

void client_crl_arm_now(tp_runtime *tp, ec_time now)
{
	tp->crl_failures = 0;
	tp->crl_fetch_at = checking(tp) && tp->ca != NULL ? now : TP_NEVER;
}

static int crl_file(const tp_runtime *tp, char *out, size_t sz)
{
	int n = snprintf(out, sz, "%s.crl", tp->cfg.name);
	return n < 0 || (size_t)n >= sz ? -1 : 0;
}

void client_crl_open(tp_runtime *tp, ec_time now)
{
	char name[EC_PATH_MAX];
	uint8_t *der = NULL;
	size_t len = 0;
	ec_err err;
	STACK_OF(X509) *cas = ca_certs(tp);
	/* The CRL of the last run, taken again only when the CA certificate still signs it: it
	 * bridges a restart while the CA is out of reach, until its own nextUpdate. */
	if (checking(tp) && sk_X509_num(cas) > 0 && crl_file(tp, name, sizeof(name)) == 0 &&
	    ec_file_exists_at(&tp->dir, name) && ec_read_file_at(&tp->dir, name, CRL_FILE_MAX, &der, &len, &err) == 0) {
		X509_CRL *crl = NULL;
		if (pki_crl_from_der(der, len, &crl, &err) == 0 && pki_crl_signed_by(crl, cas)) {
			tp->crl = crl;
		} else {
			X509_CRL_free(crl);
			client_log(tp, "the CRL kept from the last run is not used: %s",
			           crl != NULL ? "the CA certificate did not sign it" : err.msg);
		}
		free(der);
	}
	sk_X509_free(cas);
	client_crl_arm_now(tp, now);
	client_publish_trust(tp);
}

void client_crl_close(tp_runtime *tp)
{
	pki_trust_slot_destroy(&tp->trust);
	X509_CRL_free(tp->crl);
	tp->crl = NULL;
	EVP_PKEY_free(tp->crl_key);
	tp->crl_key = NULL;
}

/* ---- fetching ---- */

/* GET of a CRL distribution point. */
static int fetch_cdp(const char *url, X509_CRL **crl, ec_err *err)
{
	scep_client *c = NULL;
	scep_client_reply r;
	memset(&r, 0, sizeof(r));
	int rc = -1;
	if (scep_client_new(url, NULL, &c, err) != 0)
		return -1;
	if (scep_client_get_url(c, &r) != 0)
		ec_err_set(err, "%s", r.reason);
	else if (pki_crl_from_der(r.body, r.body_len, crl, err) == 0)
		rc = 0;
	scep_client_reply_free(&r);
	scep_client_free(c);
	return rc;
}

/* The certificate and key that sign GetCRL: the identity certificate while it is valid, else a
 * self-signed certificate (*self, the caller frees it) of the trustpoint's key or of one made
 * for the purpose and kept in memory. */
static int getcrl_signer(tp_runtime *tp, ec_time now, X509 **signer, EVP_PKEY **key, X509 **self, ec_err *err)
{
	*self = NULL;
	if (tp->cert != NULL && tp->key != NULL && now >= pki_cert_not_before(tp->cert) &&
	    now < pki_cert_not_after(tp->cert)) {
		*signer = tp->cert;
		*key = tp->key;
		return 0;
	}
	*key = tp->key != NULL ? tp->key : tp->crl_key;
	if (*key == NULL) {
		/* The loop runs beside the arithmetic: the pair is made in a local and becomes the
		 * trustpoint's once the turn is back. */
		EVP_PKEY *made = NULL;
		ec_task_detach(EC_DETACH_COMPUTE);
		int rc = pki_key_generate(CFG_RSA_BITS_DEFAULT, &made, err);
		ec_task_attach();
		if (rc != 0)
			return -1;
		tp->crl_key = made;
		*key = made;
	}
	X509_NAME *subject = NULL;
	char cn[CFG_NAME_MAX + 16];
	snprintf(cn, sizeof(cn), "CN=%s GetCRL", tp->cfg.name);
	if (pki_name_parse(cn, &subject, err) != 0)
		return -1;
	*self = client_self_signed(*key, subject, now);
	X509_NAME_free(subject);
	*signer = *self;
	return *self != NULL ? 0 : ec_err_set(err, "cannot make a certificate to sign GetCRL");
}

/* Reads GetCRL's CertRep: signed by the CA, answering this transaction, SUCCESS, and holding a
 * CRL in the envelope opened with the signer's key. */
static int read_getcrl_reply(tp_runtime *tp, const scep_client_reply *r, const char *txid, const uint8_t *nonce,
                             X509 *signer, EVP_PKEY *key, X509_CRL **crl, ec_err *err)
{
	scep_msg *m = NULL;
	uint8_t *p7 = NULL;
	size_t len = 0;
	STACK_OF(X509_CRL) *crls = NULL;
	int rc = -1;
	if (scep_msg_parse(r->body, r->body_len, &m, err) != 0)
		return ec_err_wrap(err, "the reply is not a pkiMessage");
	if (!m->signature_ok || (X509_cmp(m->signer, tp->ca) != 0 &&
	                         (tp->rollover_ca == NULL || X509_cmp(m->signer, tp->rollover_ca) != 0)))
		ec_err_set(err, "the reply is not signed by the CA certificate");
	else if (m->type != SCEP_MSG_CERTREP || strcmp(m->txid, txid) != 0 || m->recipient_nonce_len != SCEP_NONCE_LEN ||
	         CRYPTO_memcmp(m->recipient_nonce, nonce, SCEP_NONCE_LEN) != 0)
		ec_err_set(err, "the reply answers another request");
	else if (m->status != SCEP_STATUS_SUCCESS)
		ec_err_set(err, "the CA answered %s (failInfo %s)", scep_status_name(m->status), scep_fail_name(m->fail_info));
	else if (scep_msg_decrypt(m, signer, key, &p7, &len, NULL, err) != 0 ||
	         scep_degenerate_parse(p7, len, NULL, &crls, err) != 0)
		ec_err_wrap(err, "unreadable reply");
	else if (sk_X509_CRL_num(crls) < 1)
		ec_err_set(err, "the reply holds no CRL");
	else if ((*crl = X509_CRL_dup(sk_X509_CRL_value(crls, 0))) == NULL)
		ec_err_set(err, "out of memory");
	else
		rc = 0;
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	free(p7);
	scep_msg_free(m);
	return rc;
}

static int fetch_getcrl(tp_runtime *tp, ec_time now, X509_CRL **crl, ec_err *err)
{
	X509 *signer = NULL, *self = NULL;
	EVP_PKEY *key = NULL;
	uint8_t *payload = NULL, *msg = NULL;
	size_t payload_len = 0, msg_len = 0;
	uint8_t nonce[SCEP_NONCE_LEN], rnd[16];
	char txid[2 * sizeof(rnd) + 1];
	scep_client_reply r;
	memset(&r, 0, sizeof(r));
	int rc = -1;
	if (getcrl_signer(tp, now, &signer, &key, &self, err) != 0)
		goto out;
	/* The certificate whose status is asked: the identity certificate, or the CA's own. */
	X509 *about = signer == tp->cert ? tp->cert : tp->ca;
	scep_caps caps = client_caps(tp);
	const EVP_CIPHER *cipher = NULL;
	const EVP_MD *digest = NULL;
	if (client_request_algs(tp, &caps, &digest, &cipher, err) != 0)
		goto out;
	if (scep_issuer_and_serial_build(X509_get_issuer_name(about), X509_get0_serialNumber(about), &payload,
	                                 &payload_len, err) != 0 ||
	    scep_random(nonce, sizeof(nonce)) != 0 || scep_random(rnd, sizeof(rnd)) != 0) {
		ec_err_set(err, "cannot build GetCRL");
		goto out;
	}
	ec_hex_encode(rnd, sizeof(rnd), txid);
	scep_request_params p = {SCEP_MSG_GETCRL, txid, nonce, signer, key, tp->ca, cipher, digest, payload,
	                         payload_len};
	if (scep_build_request(&p, &msg, &msg_len, err) != 0)
		goto out;
	if (scep_client_pki_operation(tp->http, msg, msg_len, &r) != 0) {
		ec_err_set(err, "%s", r.reason);
		goto out;
	}
	rc = read_getcrl_reply(tp, &r, txid, nonce, signer, key, crl, err);
out:
	scep_client_reply_free(&r);
	free(msg);
	free(payload);
	X509_free(self);
	return rc;
}

/* Fetches a CRL from the first source that gives one the trustpoint can take. */
static int fetch(tp_runtime *tp, ec_time now, X509_CRL **crl, char *source, size_t sourcesz, ec_err *err)
{
	char url[CFG_TEXT_MAX], tried[EC_ERR_MSG_MAX] = "";
	ec_err e;
	STACK_OF(X509) *cas = ca_certs(tp);
	int rc = -1;
	*crl = NULL;
	if (cas == NULL)
		return ec_err_set(err, "out of memory");
	if (tp->cert != NULL && pki_cert_crl_url(tp->cert, url, sizeof(url)) == 0) {
		snprintf(source, sourcesz, "%s", url);
		if (fetch_cdp(url, crl, &e) == 0 && pki_crl_accept(*crl, cas, tp->crl, now, &e) == 0)
			rc = 0;
		else
			snprintf(tried, sizeof(tried), "%.150s: %.300s; ", url, e.msg);
	}
	if (rc != 0 && tp->http != NULL) {
		X509_CRL_free(*crl);
		*crl = NULL;
		snprintf(source, sourcesz, "GetCRL at %s", tp->cfg.enrollment_url);
		if (fetch_getcrl(tp, now, crl, &e) == 0 && pki_crl_accept(*crl, cas, tp->crl, now, &e) == 0)
			rc = 0;
		else
			ec_err_set(err, "%sGetCRL: %s", tried, e.msg);
	} else if (rc != 0) {
		ec_err_set(err, "%sno `enrollment url` to ask by GetCRL", tried);
	}
	if (rc != 0) {
		X509_CRL_free(*crl);
		*crl = NULL;
	}
	sk_X509_free(cas);
	return rc;
}

/* When to fetch again after taking a CRL: at three quarters of its validity; closer to its
 * nextUpdate (a CRL that was already old), halfway to it, and never sooner than a minute. */
static ec_time refresh_time(X509_CRL *crl, ec_time now)
{
	ec_time this_update, next_update;
	if (pki_crl_times(crl, &this_update, &next_update) != 0 || next_update == INT64_MAX)
		return now + CRL_RETRY_MAX;
	ec_time at = this_update + (next_update - this_update) / 4 * 3;
	if (at <= now)
		at = now + (next_update - now) / 2;
	return at < now + CRL_REFRESH_MIN ? now + CRL_REFRESH_MIN : at;
}

static void keep(tp_runtime *tp, X509_CRL *crl, const char *source, ec_time now)
{
	char name[EC_PATH_MAX];
	uint8_t *der = NULL;
	size_t len = 0;
	ec_err err;
	X509_CRL_free(tp->crl);
	tp->crl = crl;
	tp->crl_problem[0] = '\0';
	tp->crl_failures = 0;
	tp->crl_fetch_at = refresh_time(crl, now);
	if (crl_file(tp, name, sizeof(name)) != 0 || pki_crl_to_der(crl, &der, &len, &err) != 0 ||
	    ec_write_atomic_at(&tp->dir, name, der, len, 0644, &err) != 0)
		client_log(tp, "the CRL is not kept on disk: %s", err.msg);
	free(der);
	ec_time this_update = 0, next_update = 0;
	if (pki_crl_times(crl, &this_update, &next_update) != 0)
		this_update = next_update = 0;
	char a[EC_TIME_TEXT_MAX], b[EC_TIME_TEXT_MAX], c[EC_TIME_TEXT_MAX];
	ec_time_format_iso(this_update, a);
	ec_time_format_iso(next_update, b);
	ec_time_format_iso(tp->crl_fetch_at, c);
	int revoked = sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl));
	client_log(tp, "CRL taken from %s: thisUpdate %s, nextUpdate %s, %d revoked; next fetch at %s", source, a,
	           b, revoked > 0 ? revoked : 0, c);
	char why[PKI_TRUST_WHY_MAX];
	if (tp->cert != NULL && pki_crl_status(crl, tp->cert, now, why, sizeof(why)) == PKI_CRL_REVOKED)
		client_log(tp, "the identity certificate is revoked: %s", why);
}

static void give_up_for_now(tp_runtime *tp, const ec_err *err, ec_time now)
{
	ec_time backoff = CRL_RETRY_FIRST;
	for (int i = 0; i < tp->crl_failures && backoff < CRL_RETRY_MAX; i++)
		backoff *= 2;
	if (backoff > CRL_RETRY_MAX)
		backoff = CRL_RETRY_MAX;
	tp->crl_failures++;
	tp->crl_fetch_at = now + backoff;
	snprintf(tp->crl_problem, sizeof(tp->crl_problem), "%.300s", err->msg);
	char why[PKI_TRUST_WHY_MAX] = "no CRL is held";
	bool held_current = tp->crl != NULL && pki_crl_current(tp->crl, now, why, sizeof(why)) == 0;
	client_log(tp, "no CRL could be fetched: %s; %s; next try in %lld s", err->msg,
	           held_current ? "the CRL held is still current" : why, (long long)(backoff / EC_MS_PER_SECOND));
}

void client_crl_refresh(tp_runtime *tp, ec_time now)
{
	if (!checking(tp) || tp->ca == NULL) {
		tp->crl_fetch_at = TP_NEVER;
		return;
	}
	X509_CRL *crl = NULL;
	char source[CFG_TEXT_MAX + 16] = "";
	ec_err err;
	if (fetch(tp, now, &crl, source, sizeof(source), &err) == 0)
		keep(tp, crl, source, now);
	else
		give_up_for_now(tp, &err, now);
	client_publish_trust(tp);
}

/* ---- asked for by other threads ---- */

void client_crl_wanted(tp_runtime *tp)
{
	atomic_store(&tp->crl_wanted, true);
}

bool client_crl_service_due(tp_runtime *tp)
{
	if (!atomic_load(&tp->crl_wanted))
		return false;
	/* Asked again soon after the last fetch: left for later, the flag kept. */
	return tp->crl_wake_ms == 0 || ec_elapsed_ms() - tp->crl_wake_ms >= CLIENT_CRL_WAKE_INTERVAL_MS;
}

void client_crl_service(tp_runtime *tp, ec_time now)
{
	if (!client_crl_service_due(tp))
		return;
	ec_time real = ec_elapsed_ms();
	atomic_store(&tp->crl_wanted, false);
	/* A certificate server's ask does not reach a CA whose certificate no longer chains to ours. */
	if (!checking(tp) || tp->ca == NULL || tp->rec.m.phase == TP_PHASE_REAUTH)
		return;
	/* Nothing to do when a fetch since the ask brought a current CRL. */
	if (tp->crl != NULL && pki_crl_current(tp->crl, now, NULL, 0) == 0)
		return;
	tp->crl_wake_ms = real;
	client_log(tp, "a request found no current CRL: fetching one now");
	client_crl_refresh(tp, now);
}

/* ---- checks on the trustpoint's own certificates ---- */

int client_crl_check(tp_runtime *tp, X509 *cert, ec_time now, char *why, size_t whysz)
{
	if (!checking(tp))
		return 0;
	char detail[PKI_TRUST_WHY_MAX];
	int status = pki_crl_status(tp->crl, cert, now, detail, sizeof(detail));
	if (status == PKI_CRL_UNKNOWN) {
		client_crl_refresh(tp, now);
		status = pki_crl_status(tp->crl, cert, now, detail, sizeof(detail));
	}
	if (status == PKI_CRL_GOOD)
		return 0;
	if (status == PKI_CRL_UNKNOWN && crl_optional(tp)) {
		client_log(tp, "no current CRL (%s): accepted, as `revocation-check crl none` asks",
		           tp->crl_problem[0] ? tp->crl_problem : detail);
		return 0;
	}
	if (status == PKI_CRL_REVOKED)
		snprintf(why, whysz, "%s", detail);
	else
		snprintf(why, whysz, "no current CRL for trustpoint %s: %s", tp->cfg.name,
		         tp->crl_problem[0] ? tp->crl_problem : detail);
	return -1;
}

int client_cmd_crl_request(tp_runtime *tp, ec_time now, ec_buf *out, ec_err *err)
{
	if (!checking(tp))
		return ec_err_set(err, "trustpoint %s has `revocation-check none`: it keeps no CRL", tp->cfg.name);
	if (tp->ca == NULL)
		return ec_err_set(err, "trustpoint %s is not authenticated: run `authenticate %s` first", tp->cfg.name,
		                  tp->cfg.name);
	tp->crl_failures = 0;
	client_crl_refresh(tp, now);
	if (tp->crl_problem[0] != '\0')
		return ec_err_set(err, "trustpoint %s: no CRL fetched: %s", tp->cfg.name, tp->crl_problem);
	return client_crl_show(tp, now, false, out);
}

/* ---- show ---- */

int client_crl_show(tp_runtime *tp, ec_time now, bool json, ec_buf *out)
{
	char state[2 * PKI_TRUST_WHY_MAX] = "", next[EC_TIME_TEXT_MAX] = "", ident[PKI_TRUST_WHY_MAX] = "";
	ec_time this_update = 0, next_update = 0;
	bool current = false;
	if (tp->crl != NULL && pki_crl_times(tp->crl, &this_update, &next_update) == 0 && next_update != INT64_MAX) {
		ec_time_format_router(next_update, next);
		current = pki_crl_current(tp->crl, now, NULL, 0) == 0;
	}
	if (!checking(tp))
		snprintf(state, sizeof(state), "none");
	else if (!current && crl_optional(tp))
		snprintf(state, sizeof(state), "crl none: no current CRL%s%s; certificates accepted unchecked",
		         tp->crl_problem[0] ? ": " : "", tp->crl_problem);
	else if (current)
		snprintf(state, sizeof(state), "crl: current CRL until %s", next);
	else if (tp->crl != NULL)
		snprintf(state, sizeof(state), "crl: no current CRL (the one held ended %s)%s%s", next,
		         tp->crl_problem[0] ? ": " : "", tp->crl_problem);
	else
		snprintf(state, sizeof(state), "crl: no CRL%s%s", tp->crl_problem[0] ? ": " : " fetched yet",
		         tp->crl_problem);
	if (checking(tp) && tp->cert != NULL && pki_crl_status(tp->crl, tp->cert, now, ident, sizeof(ident)) == PKI_CRL_REVOKED)
		snprintf(state + strlen(state), sizeof(state) - strlen(state), "; identity certificate revoked");
	if (json) {
		char iso[EC_TIME_TEXT_MAX] = "";
		if (next[0])
			ec_time_format_iso(next_update, iso);
		return ec_json_kv_str(out, false, "revocation_check",
		                      !checking(tp) ? "none" : crl_optional(tp) ? "crl none" : "crl") ||
		       ec_json_kv_bool(out, false, "crl_current", current) ||
		       (iso[0] ? ec_json_kv_str(out, false, "crl_next_update", iso)
		               : ec_buf_printf(out, ",\"crl_next_update\":null")) ||
		       ec_json_kv_str(out, false, "crl_status", state) ? -1 : 0;
	}
	return ec_buf_printf(out, "  Revocation check ........... %s\n", state);
}
