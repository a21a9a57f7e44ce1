/* The exchanges of a trustpoint with its CA: authenticate, enroll (initial and RENEW), poll. */
#include "client/client_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/x509v3.h>

#include "pki/key_time.h"
#include "pki/pki.h"
#include "scep/scep.h"
#include "scep/scep_caps.h"
#include "util/crashpoint.h"
#include "util/encoding.h"
#include "util/fsutil.h"
#include "util/opproto.h"

/* ---- authenticate ---- */

X509 *client_pick_ca_cert(const uint8_t *body, size_t len, bool is_chain, ec_err *err)
{
	X509 *cert = NULL;
	if (!is_chain)
		return pki_cert_from_der(body, len, &cert, err) == 0 ? cert : NULL;
	STACK_OF(X509) *certs = NULL;
	if (scep_degenerate_parse(body, len, &certs, NULL, err) != 0)
		return NULL;
	/* The CA is the self-signed one; the others are RA certificates. */
	for (int i = 0; i < sk_X509_num(certs) && cert == NULL; i++)
		if (pki_cert_is_self_signed(sk_X509_value(certs, i)))
			cert = X509_dup(sk_X509_value(certs, i));
	if (cert == NULL && sk_X509_num(certs) > 0)
		cert = X509_dup(sk_X509_value(certs, 0));
	sk_X509_pop_free(certs, X509_free);
	if (cert == NULL)
		ec_err_set(err, "the GetCACert reply holds no certificate");
	return cert;
}

/* Whether the configured fingerprint (MD5, SHA-1 or SHA-256 by its length) matches. */
static int fingerprint_matches(const char *configured, X509 *cert)
{
	uint8_t want[64], got[EVP_MAX_MD_SIZE];
	size_t want_len = 0;
	unsigned got_len = 0;
	if (ec_hex_decode(configured, want, sizeof(want), &want_len) != 0)
		return 0;
	const EVP_MD *md = want_len == 16 ? EVP_md5() : want_len == 20 ? EVP_sha1() : want_len == 32 ? EVP_sha256() : NULL;
	if (md == NULL || X509_digest(cert, md, got, &got_len) != 1 || got_len != want_len)
		return 0;
	return CRYPTO_memcmp(want, got, want_len) == 0;
}

static int describe_ca(X509 *cert, ec_buf *out)
{
	char md5[160], sha1[160], sha256[160], subject[1024], nb[EC_TIME_TEXT_MAX], na[EC_TIME_TEXT_MAX];
	if (ec_cert_fingerprint(cert, EVP_md5(), md5, sizeof(md5)) != 0 ||
	    ec_cert_fingerprint(cert, EVP_sha1(), sha1, sizeof(sha1)) != 0 ||
	    ec_cert_fingerprint(cert, EVP_sha256(), sha256, sizeof(sha256)) != 0 ||
	    pki_name_format(X509_get_subject_name(cert), subject, sizeof(subject)) != 0)
		return -1;
	ec_time_format_router(pki_cert_not_before(cert), nb);
	ec_time_format_router(pki_cert_not_after(cert), na);
	return ec_buf_printf(out, "Certificate has the following attributes:\n"
	                     "       Subject: %s\n       Valid: %s to %s\n"
	                     "       Fingerprint MD5: %s\n       Fingerprint SHA1: %s\n"
	                     "       Fingerprint SHA256: %s\n", subject, nb, na, md5, sha1, sha256);
}

/* GetCACaps at authentication, and before a request unless the answer is younger than
 * CLIENT_CAPS_FRESH: a fleet renewing at once costs the CA, and the daemon, one exchange per
 * request rather than two. */
static void fetch_caps(tp_runtime *tp, ec_time now, bool force)
{
	if (!force && tp->caps_at != TP_NEVER && now >= tp->caps_at && now - tp->caps_at < CLIENT_CAPS_FRESH)
		return;
	scep_client_reply r;
	if (scep_client_get_ca_caps(tp->http, &r) == 0) {
		scep_caps caps;
		scep_caps_parse(r.body, r.body_len, &caps);
		tp->rec.caps = scep_caps_to_bits(&caps);
		tp->caps_at = now;
	} else {
		client_log(tp, "GetCACaps failed: %s", r.reason);
	}
	scep_client_reply_free(&r);
}

scep_caps client_caps(const tp_runtime *tp)
{
	return scep_caps_from_bits(tp->rec.caps);
}

static int install_ca(tp_runtime *tp, X509 *cert, ec_time now, ec_err *err)
{
	if (client_set_cert(tp, TP_BLOB_CA, cert, err) != 0 ||
	    (tp->ca != NULL && X509_cmp(tp->ca, cert) != 0 && client_forget_rollover(tp, err) != 0))
		return -1;
	X509_free(tp->ca);
	tp->ca = X509_dup(cert);
	client_publish_trust(tp);
	client_crl_arm_now(tp, now);
	tp_on_authenticated(&tp->rec.m, &tp->policy, pki_cert_not_after(cert), now);
	fetch_caps(tp, now, true);
	if (client_caps(tp).get_next_ca_cert)
		tp_arm_ca_shadow(&tp->rec.m, &tp->policy, pki_cert_not_before(cert), pki_cert_not_after(cert), now);
	snprintf(tp->rec.last_result, sizeof(tp->rec.last_result), "CA certificate accepted");
	if (client_save(tp, err) != 0)
		return -1;
	char fp[160];
	if (ec_cert_fingerprint(cert, EVP_sha256(), fp, sizeof(fp)) == 0)
		client_log(tp, "CA certificate accepted (SHA-256 %s)", fp);
	return 0;
}

/* Returns 0 installed, 1 shown and awaiting confirmation, -1 error (err), -2 unreachable. */
static int authenticate(tp_runtime *tp, bool confirmed, ec_time now, ec_buf *out, int64_t *retry_after, ec_err *err)
{
	scep_client_reply r;
	bool is_chain = false;
	int rc = -1;
	X509 *cert = NULL;
	if (tp->http == NULL)
		return ec_err_set(err, "no `enrollment url` is configured");
	if (scep_client_get_ca_cert(tp->http, tp->cfg.name, &r, &is_chain) != 0) {
		ec_err_set(err, "GetCACert failed: %s", r.reason);
		rc = (r.outcome == SCEP_CLIENT_UNREACHABLE || r.outcome == SCEP_CLIENT_UNAVAILABLE) ? -2 : -1;
		*retry_after = r.retry_after_seconds;
		goto out;
	}
	if ((cert = client_pick_ca_cert(r.body, r.body_len, is_chain, err)) == NULL)
		goto out;
	if (out != NULL && describe_ca(cert, out) != 0) {
		ec_err_set(err, "output too long");
		goto out;
	}
	if (tp->cfg.fingerprint[0] != '\0') {
		if (!fingerprint_matches(tp->cfg.fingerprint, cert)) {
			ec_err_set(err, "the CA certificate's fingerprint does not match the configured "
			           "fingerprint %s; certificate not installed", tp->cfg.fingerprint);
			goto out;
		}
	} else if (!confirmed) {
		X509_free(tp->candidate_ca);
		tp->candidate_ca = X509_dup(cert);
		rc = 1;
		goto out;
	} else if (tp->candidate_ca != NULL && X509_cmp(tp->candidate_ca, cert) != 0) {
		ec_err_set(err, "the CA certificate changed since it was shown; run authenticate again");
		goto out;
	}
	rc = install_ca(tp, cert, now, err);
out:
	X509_free(cert);
	scep_client_reply_free(&r);
	return rc;
}

int client_cmd_authenticate(tp_runtime *tp, bool confirmed, ec_time now, ec_buf *out, ec_err *err)
{
	int64_t retry_after = -1;
	int rc = authenticate(tp, confirmed, now, out, &retry_after, err);
	if (rc == 1)
		return opproto_ask_confirm(out, "Do you accept this certificate?") == 0 ? 0 : -1;
	if (rc != 0)
		return -1;
	if (ec_buf_printf(out, "Trustpoint %s: CA certificate accepted.\n", tp->cfg.name) != 0)
		return -1;
	client_sync_outputs(tp); /* output ca-bundle: the relying parties' copy of the CA */
	return client_save(tp, err);
}

/* ---- requests ---- */

/* The self-signed certificate that signs a first request (and its polls). */
X509 *client_self_signed(EVP_PKEY *key, X509_NAME *subject, ec_time now)
{
	X509 *c = X509_new();
	uint8_t rnd[8];
	ASN1_INTEGER *serial = NULL;
	time_t t = (time_t)(now / 1000);
	if (c == NULL || scep_random(rnd, sizeof(rnd)) != 0)
		goto fail;
	rnd[0] &= 0x7f;
	serial = ASN1_INTEGER_new();
	BIGNUM *bn = BN_bin2bn(rnd, sizeof(rnd), NULL);
	if (serial == NULL || bn == NULL || BN_to_ASN1_INTEGER(bn, serial) == NULL) {
		BN_free(bn);
		goto fail;
	}
	BN_free(bn);
	if (!X509_set_version(c, 2) || !X509_set_serialNumber(c, serial) ||
	    !X509_time_adj_ex(X509_getm_notBefore(c), 0, -3600, &t) ||
	    !X509_time_adj_ex(X509_getm_notAfter(c), 1, 0, &t) || !X509_set_subject_name(c, subject) ||
	    !X509_set_issuer_name(c, subject) || !X509_set_pubkey(c, key) || !X509_sign(c, key, EVP_sha256()))
		goto fail;
	ASN1_INTEGER_free(serial);
	return c;
fail:
	ASN1_INTEGER_free(serial);
	X509_free(c);
	return NULL;
}

/* The digest and cipher of this trustpoint's requests: the strongest the CA advertises within
 * what the trustpoint allows (scep_caps_choose); -1 with a reason. */
int client_request_algs(const tp_runtime *tp, const scep_caps *caps, const EVP_MD **md,
                        const EVP_CIPHER **cipher, ec_err *err)
{
	unsigned a = tp->cfg.algorithms;
	scep_allowed allowed = {
		.md5 = a & CFG_ALG_MD5, .sha1 = a & CFG_ALG_SHA1, .sha256 = a & CFG_ALG_SHA256,
		.sha384 = a & CFG_ALG_SHA384, .sha512 = a & CFG_ALG_SHA512,
		.des = a & CFG_ALG_DES, .des3 = a & CFG_ALG_3DES, .aes = a & CFG_ALG_AES,
	};
	const char *md_name = NULL, *cipher_name = NULL;
	if (scep_caps_choose(caps, &allowed, &md_name, &cipher_name, err) != 0)
		return -1;
	*md = strcmp(md_name, "MD5") == 0 ? EVP_md5() : scep_digest_by_name(md_name);
	*cipher = scep_cipher_by_name(cipher_name);
	if (*md == NULL || *cipher == NULL)
		return ec_err_set(err, "%s is not available here (single DES needs OpenSSL's legacy provider)",
		                  *md == NULL ? md_name : cipher_name);
	return 0;
}

static X509_REQ *make_csr(tp_runtime *tp, EVP_PKEY *key, X509_NAME *subject, const EVP_MD *md)
{
	ec_err err;
	X509_REQ *req = X509_REQ_new();
	if (req == NULL || !X509_REQ_set_version(req, 0) || !X509_REQ_set_subject_name(req, subject) ||
	    !X509_REQ_set_pubkey(req, key))
		goto fail;
	if (client_request_extensions(tp, req, &err) != 0) {
		client_log(tp, "cannot name the request's subjectAltName: %s", err.msg);
		goto fail;
	}
	if (tp->cfg.password[0] &&
	    !X509_REQ_add1_attr_by_NID(req, NID_pkcs9_challengePassword, MBSTRING_UTF8,
	                               (const unsigned char *)tp->cfg.password, -1))
		goto fail;
	if (!X509_REQ_sign(req, key, md))
		goto fail;
	return req;
fail:
	X509_REQ_free(req);
	return NULL;
}

/* One request or poll in flight, with what is needed to read its reply. */
typedef struct exchange {
	int action;                 /* TP_ACT_ENROLL or TP_ACT_POLL */
	X509 *signer;               /* borrowed */
	EVP_PKEY *signer_key;       /* borrowed */
	EVP_PKEY *request_key;      /* borrowed: the key the certificate is for */
	bool request_key_shadow;
	uint8_t nonce[SCEP_NONCE_LEN];
	char txid[TP_TXID_MAX + 1];
	char subject[TP_TEXT_MAX];
	X509 *recipient;            /* borrowed: the CA certificate the request is encrypted to */
	bool shadow;                /* a SHADOW request: the result waits for the switch */
} exchange;


void client_fail_exchange(tp_runtime *tp, ec_time now, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tp->rec.last_result, sizeof(tp->rec.last_result), fmt, ap);
	va_end(ap);
	client_log(tp, "%s; installed certificates unchanged", tp->rec.last_result);
	client_note_failure(tp);
	tp_on_failure(&tp->rec.m, &tp->policy, now);
}

static X509 *find_cert_for(STACK_OF(X509) *certs, EVP_PKEY *key)
{
	for (int i = 0; i < sk_X509_num(certs); i++)
		if (EVP_PKEY_eq(X509_get0_pubkey(sk_X509_value(certs, i)), key) == 1)
			return sk_X509_value(certs, i);
	return NULL;
}

static void install(tp_runtime *tp, X509 *cert, const exchange *x, ec_time now)
{
	ec_err err;
	char old_slot_path[EC_PATH_MAX] = "";
	if (x->request_key_shadow) {
		client_key_file(tp, tp->rec.key_slot, old_slot_path, sizeof(old_slot_path));
		tp->rec.key_slot = tp->rec.key_slot == 'a' ? 'b' : 'a';
		EVP_PKEY_free(tp->key);
		tp->key = tp->shadow_key;
		tp->shadow_key = NULL;
	}
	if (client_set_cert(tp, TP_BLOB_CERT, cert, &err) != 0 || client_set_cert(tp, TP_BLOB_SIGNER, NULL, &err) != 0) {
		client_log(tp, "cannot record the certificate: %s", err.msg);
		return;
	}
	X509_free(tp->cert);
	tp->cert = X509_dup(cert);
	tp->rec.txid[0] = '\0';
	tp->rec.request_key_shadow = 0;
	tp_on_installed(&tp->rec.m, &tp->policy, pki_cert_not_after(cert), pki_cert_not_after(tp->ca), now);
	client_note_success(tp, now);
	if (client_caps(tp).get_next_ca_cert)
		tp_arm_ca_shadow(&tp->rec.m, &tp->policy, pki_cert_not_before(tp->ca), pki_cert_not_after(tp->ca), now);
	char serial[PKI_SERIAL_MAX] = "?", until[EC_TIME_TEXT_MAX], next[EC_TIME_TEXT_MAX] = "never";
	if (pki_cert_serial_hex(cert, serial) != 0)
		snprintf(serial, sizeof(serial), "?");
	ec_time_format_router(pki_cert_not_after(cert), until);
	if (tp->rec.m.renew_at != TP_NEVER)
		ec_time_format_router(tp->rec.m.renew_at, next);
	snprintf(tp->rec.last_result, sizeof(tp->rec.last_result), "certificate %s installed, valid until %s", serial, until);
	client_commit_install(tp, "install", old_slot_path, "certificate %s installed, valid until %s; %s at %s", serial,
	                      until, tp_request_kind_name(tp->rec.m.renewal_kind), next);
}

static void on_success(tp_runtime *tp, scep_msg *m, const exchange *x, ec_time now)
{
	uint8_t *p7 = NULL;
	size_t len = 0;
	STACK_OF(X509) *certs = NULL;
	ec_err err;
	if (scep_msg_decrypt(m, x->signer, x->signer_key, &p7, &len, NULL, &err) != 0 ||
	    scep_degenerate_parse(p7, len, &certs, NULL, &err) != 0) {
		client_fail_exchange(tp, now, "unreadable certificate in the CA's reply: %s", err.msg);
		goto out;
	}
	X509 *cert = find_cert_for(certs, x->request_key);
	if (cert == NULL) {
		client_fail_exchange(tp, now, "the CA's reply holds no certificate for our key");
		goto out;
	}
	/* A SHADOW certificate starts with the rollover CA: check it at that instant. A CA whose
	 * clock runs a little ahead of ours issues certificates that start in our future: up to
	 * CLIENT_SKEW_TOLERANCE, check them at their start. */
	ec_time at = x->shadow ? pki_cert_not_before(x->recipient) : now;
	ec_time nb = pki_cert_not_before(cert);
	if (!x->shadow && nb > now && nb - now <= CLIENT_SKEW_TOLERANCE) {
		/* Issued after our `now` but not after the reply came: no clock is ahead. */
		ec_time replied = tp->env.now != NULL ? tp->env.now(tp->env.now_ctx) : now;
		if (nb > replied)
			client_log(tp, "the certificate starts %lld s in our future: the CA's clock is ahead",
			           (long long)((nb - replied + 999) / 1000));
		at = nb;
	}
	STACK_OF(X509) *trusted = sk_X509_new_null();
	int ok = trusted != NULL && sk_X509_push(trusted, x->recipient) &&
	         pki_verify_cert(cert, trusted, NULL, at, &err) == 0;
	sk_X509_free(trusted);
	if (!ok) {
		client_fail_exchange(tp, now, "the issued certificate does not verify against the CA: %s", err.msg);
		goto out;
	}
	char why[PKI_TRUST_WHY_MAX];
	if (client_crl_check(tp, cert, now, why, sizeof(why)) != 0) {
		client_fail_exchange(tp, now, "the issued certificate is not installed: %s", why);
		goto out;
	}
	if (x->shadow)
		client_stash_rollover(tp, cert, x->request_key_shadow, now);
	else
		install(tp, cert, x, now);
out:
	sk_X509_pop_free(certs, X509_free);
	free(p7);
}

static void on_pending(tp_runtime *tp, const exchange *x, ec_time now)
{
	ec_err err;
	snprintf(tp->rec.txid, sizeof(tp->rec.txid), "%s", x->txid);
	snprintf(tp->rec.request_subject, sizeof(tp->rec.request_subject), "%s", x->subject);
	tp->rec.request_key_shadow = x->request_key_shadow;
	if (client_set_cert(tp, TP_BLOB_SIGNER, x->signer, &err) != 0) {
		client_fail_exchange(tp, now, "cannot record the pending request: %s", err.msg);
		return;
	}
	tp_on_pending(&tp->rec.m, &tp->policy, now);
	if (tp->rec.m.phase == TP_PHASE_POLLING) {
		snprintf(tp->rec.last_result, sizeof(tp->rec.last_result), "request pending at the CA (poll %d)",
		         tp->rec.m.poll_count);
		client_log(tp, "%s; next POLL in %lld s", tp->rec.last_result,
		           (long long)((tp->rec.m.poll_at - now) / 1000));
	} else {
		client_log(tp, "request still pending after %d poll(s): abandoned until the next attempt",
		           tp->rec.m.poll_count);
	}
}

/* Reads the CA's answer: checks who signed it and that it answers this request. */
static void on_reply(tp_runtime *tp, const scep_client_reply *r, const exchange *x, ec_time now)
{
	scep_msg *m = NULL;
	ec_err err;
	if (r->outcome == SCEP_CLIENT_UNREACHABLE || r->outcome == SCEP_CLIENT_UNAVAILABLE) {
		snprintf(tp->rec.last_result, sizeof(tp->rec.last_result), "CA not reachable: %s", r->reason);
		client_note_failure(tp);
		tp_on_unreachable(&tp->rec.m, &tp->policy, x->action, client_retry_after(r, now), now);
		client_log(tp, "%s; CONNECT RETRY in %lld s", tp->rec.last_result,
		           (long long)((tp->rec.m.retry_at - now) / 1000));
		return;
	}
	if (r->outcome != SCEP_CLIENT_OK) {
		client_fail_exchange(tp, now, "the CA refused the exchange: %s", r->reason);
		return;
	}
	if (scep_msg_parse(r->body, r->body_len, &m, &err) != 0) {
		client_fail_exchange(tp, now, "the CA's reply is not a pkiMessage: %s", err.msg);
		return;
	}
	if (!m->signature_ok || X509_cmp(m->signer, tp->ca) != 0) {
		/* The CA may have been succeeded: look now (x->recipient is not used after this). */
		if (client_recover_check(tp, now, true) == 0)
			client_fail_exchange(tp, now, "the CA's reply is not signed by the CA certificate");
	}
	else if (m->type != SCEP_MSG_CERTREP || strcmp(m->txid, x->txid) != 0)
		client_fail_exchange(tp, now, "the CA's reply answers another transaction");
	else if (m->recipient_nonce_len != SCEP_NONCE_LEN ||
	         CRYPTO_memcmp(m->recipient_nonce, x->nonce, SCEP_NONCE_LEN) != 0)
		client_fail_exchange(tp, now, "the CA's reply does not echo our nonce");
	else if (m->status == SCEP_STATUS_SUCCESS)
		on_success(tp, m, x, now);
	else if (m->status == SCEP_STATUS_PENDING)
		on_pending(tp, x, now);
	else {
		snprintf(tp->rec.last_result, sizeof(tp->rec.last_result), "request rejected by the CA (failInfo %s)",
		         scep_fail_name(m->fail_info));
		client_log(tp, "%s; run `enroll %s` to try again", tp->rec.last_result, tp->cfg.name);
		tp->rec.txid[0] = '\0'; /* answered: the next attempt is a new transaction */
		client_note_failure(tp);
		tp_on_rejected(&tp->rec.m);
	}
	scep_msg_free(m);
}

static void send_exchange(tp_runtime *tp, int type, const exchange *x, const uint8_t *payload, size_t len, ec_time now)
{
	scep_caps caps = client_caps(tp);
	scep_request_params p = {type, x->txid, x->nonce, x->signer, x->signer_key, x->recipient, NULL, NULL,
	                         payload, len};
	uint8_t *msg = NULL;
	size_t msg_len = 0;
	ec_err err;
	if (client_request_algs(tp, &caps, &p.digest, &p.cipher, &err) != 0) {
		client_fail_exchange(tp, now, "cannot choose the request's algorithms: %s", err.msg);
		return;
	}
	if (scep_build_request(&p, &msg, &msg_len, &err) != 0) {
		client_fail_exchange(tp, now, "cannot build the request: %s", err.msg);
		return;
	}
	scep_client_reply r;
	scep_client_pki_operation(tp->http, msg, msg_len, &r);
	free(msg);
	on_reply(tp, &r, x, now);
	scep_client_reply_free(&r);
}

/* Authenticates on the way to a request when a fingerprint allows it; false when not
 * authenticated (the machine has been told what to do next). */
static bool ensure_authenticated(tp_runtime *tp, ec_time now)
{
	if (tp->rec.m.authenticated && tp->ca != NULL)
		return true;
	if (tp->cfg.fingerprint[0] == '\0') {
		snprintf(tp->rec.last_result, sizeof(tp->rec.last_result),
		         "waiting for the CA certificate: run `authenticate %s`", tp->cfg.name);
		tp_on_not_authenticated(&tp->rec.m, &tp->policy, now);
		return false;
	}
	ec_err err;
	int64_t retry_after = -1;
	ec_time renew_before = tp->rec.m.renew_at;
	int rc = authenticate(tp, true, now, NULL, &retry_after, &err);
	if (rc == 0) {
		/* The authenticated machine asks for an enrollment now: the one under way is it. */
		if (renew_before == TP_NEVER && tp->rec.m.renew_at == now)
			tp->rec.m.renew_at = TP_NEVER;
		return true;
	}
	snprintf(tp->rec.last_result, sizeof(tp->rec.last_result), "%s", err.msg);
	client_log(tp, "authentication failed: %s", err.msg);
	client_note_failure(tp);
	if (rc == -2)
		tp_on_unreachable(&tp->rec.m, &tp->policy, TP_ACT_ENROLL, retry_after >= 0 ? retry_after * 1000 : -1, now);
	else
		tp_on_not_authenticated(&tp->rec.m, &tp->policy, now);
	return false;
}

/* The key the new certificate is for: the active pair, or a fresh shadow pair (`regenerate`). */
static EVP_PKEY *request_key(tp_runtime *tp, bool renewal, bool *shadow, ec_err *err)
{
	*shadow = false;
	if (tp->key == NULL || !renewal || !tp->cfg.auto_enroll_regenerate) {
		if (tp->key == NULL && client_key_load_or_create(tp, tp->rec.key_slot, true, &tp->key, err) != 0)
			return NULL;
		return tp->key;
	}
	char other = tp->rec.key_slot == 'a' ? 'b' : 'a';
	char path[EC_PATH_MAX];
	EVP_PKEY_free(tp->shadow_key);
	tp->shadow_key = NULL;
	if (client_key_file(tp, other, path, sizeof(path)) == 0) {
		ec_unlink_at(&tp->keys, path); /* a shadow pair left from an abandoned attempt is not reused */
		pki_key_time_forget_at(&tp->keys, path);
	}
	if (client_key_load_or_create(tp, other, true, &tp->shadow_key, err) != 0)
		return NULL;
	*shadow = true;
	return tp->shadow_key;
}

/* Commits the request about to be sent (transaction, subject, key, signer), so that a daemon
 * stopped before the answer sends the same transaction again rather than a second request the
 * CA would answer with a second certificate. */
static int record_request(tp_runtime *tp, const exchange *x, ec_err *err)
{
	snprintf(tp->rec.txid, sizeof(tp->rec.txid), "%s", x->txid);
	snprintf(tp->rec.request_subject, sizeof(tp->rec.request_subject), "%s", x->subject);
	tp->rec.request_key_shadow = x->request_key_shadow;
	if (client_set_cert(tp, TP_BLOB_SIGNER, x->signer, err) != 0)
		return -1;
	return client_save(tp, err);
}

/* True when a request recorded by record_request never got its answer and still stands: same
 * signer (the active identity certificate for a renewal, a self-signed one of the request key
 * otherwise) and its key still on disk. Fills x from the record; *self owns a parsed signer. */
static bool resume_request(tp_runtime *tp, bool renewal, exchange *x, X509 **self)
{
	ec_err err;
	X509 *signer = NULL;
	EVP_PKEY *key = tp->key;
	if (tp->rec.txid[0] == '\0' || tp->rec.blob[TP_BLOB_SIGNER] == NULL ||
	    pki_cert_from_der(tp->rec.blob[TP_BLOB_SIGNER], tp->rec.blob_len[TP_BLOB_SIGNER], &signer, &err) != 0)
		return false;
	if (tp->rec.request_key_shadow) {
		if (tp->shadow_key == NULL)
			client_key_load_or_create(tp, tp->rec.key_slot == 'a' ? 'b' : 'a', false, &tp->shadow_key, &err);
		key = tp->shadow_key;
	}
	bool self_signed = key != NULL && EVP_PKEY_eq(X509_get0_pubkey(signer), key) == 1;
	bool ok = key != NULL && (renewal ? X509_cmp(signer, tp->cert) == 0 : self_signed);
	if (!ok) {
		X509_free(signer);
		tp->rec.txid[0] = '\0';
		return false;
	}
	x->request_key = key;
	x->request_key_shadow = tp->rec.request_key_shadow;
	x->signer = renewal ? tp->cert : signer;
	x->signer_key = renewal ? tp->key : key;
	snprintf(x->txid, sizeof(x->txid), "%s", tp->rec.txid);
	snprintf(x->subject, sizeof(x->subject), "%s", tp->rec.request_subject);
	if (renewal)
		X509_free(signer);
	else
		*self = signer;
	return true;
}

/* The identity certificate signs while valid, and once ended when it ended with the CA
 * certificate that issued it (the one held then, even if a successor has been adopted since):
 * the CA renews such a certificate within its renewal grace, and after it decides as for any
 * expired signer. One that ended on its own lifetime enrolls anew, self-signed. */
static int request_signer(const tp_runtime *tp, ec_time now)
{
	if (tp->cert == NULL)
		return TP_SIGNER_SELF;
	ec_time issuer_end = tp->ca != NULL && pki_cert_issued_by(tp->cert, tp->ca) ? pki_cert_not_after(tp->ca)
	                                                                           : tp->rec.m.cert_ca_not_after;
	return tp_request_signer(now, pki_cert_not_after(tp->cert), issuer_end);
}

/* Says why a certificate that has ended still signs the request, or why it does not. */
static void log_lapsed_signer(tp_runtime *tp, int signer_kind, int type)
{
	if (tp->cert == NULL || signer_kind == TP_SIGNER_CERT)
		return;
	char end[EC_TIME_TEXT_MAX];
	ec_time_format_router(pki_cert_not_after(tp->cert), end);
	if (signer_kind == TP_SIGNER_LAPSED)
		client_log(tp, "the certificate ended at %s with the CA certificate that issued it: %s signed by it "
		           "(the CA renews it within its renewal grace)", end, scep_msg_type_name(type));
	else
		client_log(tp, "the certificate ended at %s on its own lifetime, before its CA certificate: %s signed "
		           "by a self-signed certificate", end, scep_msg_type_name(type));
}

/* The parts of one enrollment request, owned until it has been sent. */
typedef struct enroll_request {
	exchange x;
	int type;                   /* SCEP_MSG_PKCSREQ or SCEP_MSG_RENEWALREQ */
	const EVP_MD *md;
	const EVP_CIPHER *cipher;
	X509 *self;                 /* the self-signed signer, when the request has one */
	X509_NAME *subject;
	X509_REQ *csr;
	uint8_t *csr_der;
	size_t csr_len;
} enroll_request;

static void enroll_request_free(enroll_request *q)
{
	X509_free(q->self);
	X509_NAME_free(q->subject);
	X509_REQ_free(q->csr);
	free(q->csr_der);
}

/* The CA certificate a request goes to (the rollover CA for a SHADOW request), with the CA's
 * capabilities fresh; false when no request goes out now. */
static bool enroll_recipient(tp_runtime *tp, ec_time now, exchange *x)
{
	if (tp->http == NULL) {
		client_fail_exchange(tp, now, "no `enrollment url` is configured");
		return false;
	}
	if (tp->rec.m.authenticated && client_recover_check(tp, now, false) != 0)
		return false;
	if (!ensure_authenticated(tp, now))
		return false;
	fetch_caps(tp, now, false);
	x->recipient = tp->ca;
	if (tp->rec.m.request_kind == TP_REQ_SHADOW) {
		if (client_fetch_rollover_ca(tp, now) != 0 || !tp->policy.auto_enroll || tp->cert == NULL)
			return false;
		x->recipient = tp->rollover_ca;
		x->shadow = true;
	}
	return true;
}

/* The request recorded before an interruption, to be sent again as it was; false when none
 * stands (resume_request). A CSR that cannot be made again is reported when sending. */
static bool resumed_request(tp_runtime *tp, enroll_request *q, bool renewal)
{
	ec_err err;
	if (!resume_request(tp, renewal, &q->x, &q->self))
		return false;
	client_log(tp, "%s: sending %s again for '%s' (transaction %s, interrupted before its answer)",
	           tp_request_kind_name(tp->rec.m.request_kind), scep_msg_type_name(q->type), q->x.subject,
	           q->x.txid);
	if (pki_name_parse(q->x.subject, &q->subject, &err) == 0)
		q->csr = make_csr(tp, q->x.request_key, q->subject, q->md);
	return true;
}

/* A new request: key, subject, CSR, signer and transaction, recorded before it goes out;
 * -1 when it cannot be made (the failure is reported). */
static int new_request(tp_runtime *tp, enroll_request *q, bool renewal, int signer_kind, ec_time now)
{
	exchange *x = &q->x;
	ec_err err;
	uint8_t rnd[16];
	if ((x->request_key = request_key(tp, renewal, &x->request_key_shadow, &err)) == NULL ||
	    client_request_subject(tp, x->subject, sizeof(x->subject), &err) != 0 ||
	    pki_name_parse(x->subject, &q->subject, &err) != 0) {
		client_fail_exchange(tp, now, "cannot prepare the request: %s", err.msg);
		return -1;
	}
	q->csr = make_csr(tp, x->request_key, q->subject, q->md);
	if (!renewal)
		q->self = client_self_signed(x->request_key, q->subject, now);
	x->signer = renewal ? tp->cert : q->self;
	x->signer_key = renewal ? tp->key : x->request_key;
	if (q->csr == NULL || x->signer == NULL || pki_csr_to_der(q->csr, &q->csr_der, &q->csr_len, &err) != 0 ||
	    scep_random(x->nonce, sizeof(x->nonce)) != 0 || scep_random(rnd, sizeof(rnd)) != 0) {
		client_fail_exchange(tp, now, "cannot build the certificate request");
		return -1;
	}
	ec_hex_encode(rnd, sizeof(rnd), x->txid);
	if (record_request(tp, x, &err) != 0) {
		client_fail_exchange(tp, now, "cannot record the request before sending it: %s", err.msg);
		return -1;
	}
	log_lapsed_signer(tp, signer_kind, q->type);
	client_log(tp, "%s: sending %s for '%s' (transaction %s, %s and %s)",
	           tp_request_kind_name(tp->rec.m.request_kind), scep_msg_type_name(q->type), x->subject, x->txid,
	           EVP_CIPHER_get0_name(q->cipher), EVP_MD_get0_name(q->md));
	return 0;
}

/* Every sending, a resumed one too, carries a fresh nonce. */
static void send_request(tp_runtime *tp, enroll_request *q, ec_time now)
{
	ec_err err;
	if (q->csr == NULL || (q->csr_der == NULL && pki_csr_to_der(q->csr, &q->csr_der, &q->csr_len, &err) != 0) ||
	    scep_random(q->x.nonce, sizeof(q->x.nonce)) != 0) {
		client_fail_exchange(tp, now, "cannot build the certificate request");
		return;
	}
	send_exchange(tp, q->type, &q->x, q->csr_der, q->csr_len, now);
}

void client_enroll(tp_runtime *tp, ec_time now)
{
	enroll_request q = {.x = {.action = TP_ACT_ENROLL, .recipient = tp->ca}};
	ec_err err;
	if (!enroll_recipient(tp, now, &q.x))
		return;
	int signer_kind = request_signer(tp, now);
	bool renewal = signer_kind != TP_SIGNER_SELF;
	scep_caps caps = client_caps(tp);
	q.type = renewal && caps.renewal ? SCEP_MSG_RENEWALREQ : SCEP_MSG_PKCSREQ;
	if (client_request_algs(tp, &caps, &q.md, &q.cipher, &err) != 0)
		client_fail_exchange(tp, now, "cannot choose the request's algorithms: %s", err.msg);
	else if (resumed_request(tp, &q, renewal) || new_request(tp, &q, renewal, signer_kind, now) == 0)
		send_request(tp, &q, now);
	enroll_request_free(&q);
}

void client_poll(tp_runtime *tp, ec_time now)
{
	exchange x = {.action = TP_ACT_POLL, .recipient = tp->ca};
	X509 *signer = NULL;
	X509_NAME *subject = NULL;
	uint8_t *payload = NULL;
	size_t len = 0;
	ec_err err;
	if (tp->http == NULL || tp->ca == NULL || tp->rec.blob[TP_BLOB_SIGNER] == NULL || tp->rec.txid[0] == '\0') {
		client_fail_exchange(tp, now, "no request to poll for");
		return;
	}
	if (client_recover_check(tp, now, false) != 0)
		return;
	x.request_key_shadow = tp->rec.request_key_shadow;
	if (tp->rec.m.request_kind == TP_REQ_SHADOW && tp->rollover_ca != NULL) {
		x.recipient = tp->rollover_ca;
		x.shadow = true;
	}
	if (x.request_key_shadow && tp->shadow_key == NULL)
		client_key_load_or_create(tp, tp->rec.key_slot == 'a' ? 'b' : 'a', false, &tp->shadow_key, &err);
	x.request_key = x.request_key_shadow ? tp->shadow_key : tp->key;
	if (x.request_key == NULL ||
	    pki_cert_from_der(tp->rec.blob[TP_BLOB_SIGNER], tp->rec.blob_len[TP_BLOB_SIGNER], &signer, &err) != 0 ||
	    pki_name_parse(tp->rec.request_subject, &subject, &err) != 0 ||
	    scep_issuer_and_subject_build(X509_get_subject_name(x.recipient), subject, &payload, &len, &err) != 0 ||
	    scep_random(x.nonce, sizeof(x.nonce)) != 0) {
		client_fail_exchange(tp, now, "cannot poll: the pending request's state is incomplete");
		goto out;
	}
	/* The poll is signed like the request was: by the self-signed certificate of the request
	 * key, or by the identity certificate. */
	x.signer = signer;
	x.signer_key = EVP_PKEY_eq(X509_get0_pubkey(signer), x.request_key) == 1 ? x.request_key : tp->key;
	snprintf(x.txid, sizeof(x.txid), "%s", tp->rec.txid);
	snprintf(x.subject, sizeof(x.subject), "%s", tp->rec.request_subject);
	send_exchange(tp, SCEP_MSG_CERTPOLL, &x, payload, len, now);
out:
	X509_free(signer);
	X509_NAME_free(subject);
	free(payload);
}

int client_cmd_enroll(tp_runtime *tp, bool confirmed, ec_time now, ec_buf *out, ec_err *err)
{
	if (tp->http == NULL)
		return ec_err_set(err, "trustpoint %s has no `enrollment url`", tp->cfg.name);
	if (!tp->rec.m.authenticated && tp->cfg.fingerprint[0] == '\0')
		return ec_err_set(err, "trustpoint %s is not authenticated: run `authenticate %s` first",
		                  tp->cfg.name, tp->cfg.name);
	if (tp->rec.m.phase == TP_PHASE_REAUTH)
		return ec_err_set(err, "trustpoint %s needs re-authentication: its CA's certificate does not chain to "
		                  "the one it holds; run `crypto pki authenticate %s` first", tp->cfg.name, tp->cfg.name);
	if (tp->rec.m.enrolled && !confirmed)
		return ec_buf_printf(out, "%% The trustpoint %s already has a certificate.\n", tp->cfg.name) == 0 &&
		       opproto_ask_confirm(out, "Renew it now?") == 0 ? 0 : -1;
	/* A re-enrollment starts from the active certificates: rollover material fetched earlier
	 * may belong to a rollover the CA has since cancelled. */
	if (tp->rollover_ca != NULL || tp->rollover_cert != NULL) {
		X509_free(tp->rollover_ca);
		X509_free(tp->rollover_cert);
		tp->rollover_ca = tp->rollover_cert = NULL;
		if (tp_record_set_blob(&tp->rec, TP_BLOB_ROLLOVER_CA, NULL, 0) != 0 ||
		    tp_record_set_blob(&tp->rec, TP_BLOB_ROLLOVER_CERT, NULL, 0) != 0)
			return ec_err_set(err, "out of memory");
		tp->rec.request_key_shadow = 0;
		tp->rec.m.switch_at = TP_NEVER;
		client_publish_trust(tp);
		client_log(tp, "re-enrollment: the rollover certificates held so far are discarded");
	}
	tp->rec.txid[0] = '\0'; /* the operator asks for a new request, not a resend */
	tp_on_manual_enroll(&tp->rec.m, now);
	client_run_timers(tp, now);
	return ec_buf_printf(out, "Trustpoint %s: %s\n", tp->cfg.name, tp->rec.last_result) == 0 ? 0 : -1;
}
