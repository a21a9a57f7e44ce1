/* SCEP operations of the certificate server: GetCACert, GetCACaps and PKIOperation. */
#include "ca/ca_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/encoding.h"

static const char CA_CAPS[] =
	"GetNextCACert\nRenewal\nSHA-1\nSHA-256\nSHA-512\nSHA-384\nAES\nDES3\nPOSTPKIOperation\n"
	"SCEPStandard\n";

int ca_get_ca_caps(ca_engine *ca, ca_reply *out, ec_err *err)
{
	return ca_reply_copy(out, CA_REPLY_CAPS, CA_CAPS, sizeof(CA_CAPS) - 1, err);
}

int ca_get_ca_cert(ca_engine *ca, ca_reply *out, ec_err *err)
{
	uint8_t *der = NULL;
	size_t len = 0;
	pthread_rwlock_rdlock(&ca->lock);
	int rc = pki_cert_to_der(ca->gens[ca->active].cert, &der, &len, err);
	pthread_rwlock_unlock(&ca->lock);
	if (rc != 0)
		return -1;
	return ca_reply_take(out, CA_REPLY_CA_CERT, der, len, err);
}

/* One PKIOperation in progress. */
typedef struct op {
	ca_engine *ca;
	const scep_msg *msg;
	ec_time now;
	const char *source;
	const EVP_CIPHER *cipher;       /* the requester's choice, mirrored in the reply */
	char signer_fp[65];
	char signer_note[PKI_TRUST_WHY_MAX]; /* what another CA's trustpoint said of the signer */
	ec_time signer_ended_ago;       /* CA_SIGNER_OURS_CA_ENDED: since the signer and its CA ended */
	bool expecting;                 /* a grant announced to the store (store_grant_expect_begin) */
	unsigned expect_token;
} op;

/* The request will record no grant from now on (or is about to record its own): the store's
 * group commit stops waiting for it. */
static void expect_end(op *o)
{
	if (o->expecting)
		store_grant_expect_end(o->ca->store, o->expect_token);
	o->expecting = false;
}

static void count_outcome(op *o, int status)
{
	if (o->msg->type == SCEP_MSG_PKCSREQ || o->msg->type == SCEP_MSG_RENEWALREQ || o->msg->type == SCEP_MSG_CERTPOLL)
		atomic_fetch_add(&o->ca->outcomes[status == SCEP_STATUS_SUCCESS ? CA_OUTCOME_SUCCESS
		                                  : status == SCEP_STATUS_PENDING ? CA_OUTCOME_PENDING
		                                  : CA_OUTCOME_FAILURE], 1);
}

/* Builds a CertRep into out without counting it among the outcomes (certrep counts). */
static int certrep_make(op *o, int status, int fail_info, const uint8_t *payload, size_t payload_len,
                        ca_reply *out, ec_err *err)
{
	ca_gen *g = &o->ca->gens[o->ca->active];
	uint8_t nonce[SCEP_NONCE_LEN];
	uint8_t *der = NULL;
	size_t len = 0;
	if (scep_random(nonce, sizeof(nonce)) != 0)
		return ec_err_set(err, "no randomness for the reply nonce");
	scep_reply_params p = {
		.txid = o->msg->txid,
		.recipient_nonce = o->msg->sender_nonce,
		.recipient_nonce_len = o->msg->sender_nonce_len,
		.sender_nonce = nonce,
		.status = status,
		.fail_info = fail_info,
		.signer_cert = g->cert,
		.signer_key = g->key,
		.digest = scep_reply_digest(o->msg), /* the request's only when on the allow-list */
		.recipient_cert = o->msg->signer,
		.cipher = o->cipher ? o->cipher : EVP_aes_128_cbc(),
		.payload = payload,
		.payload_len = payload_len,
	};
	if (scep_build_certrep(&p, &der, &len, err) != 0)
		return -1;
	return ca_reply_take(out, CA_REPLY_PKI_MESSAGE, der, len, err);
}

static int certrep(op *o, int status, int fail_info, const uint8_t *payload, size_t payload_len,
                   ca_reply *out, ec_err *err)
{
	if (certrep_make(o, status, fail_info, payload, payload_len, out, err) != 0)
		return -1;
	count_outcome(o, status);
	return 0;
}

static int failure(op *o, int fail_info, const char *why, ca_reply *out, ec_err *err)
{
	ca_audit(o->ca, "%s from %s (transaction %s) refused: %s: %s",
	         scep_msg_type_name(o->msg->type), o->source, o->msg->txid, scep_fail_name(fail_info), why);
	return certrep(o, SCEP_STATUS_FAILURE, fail_info, NULL, 0, out, err);
}

/* SUCCESS with a degenerate PKCS#7 holding cert and/or crl (either may be NULL), not counted. */
static int success_make(op *o, X509 *cert, X509_CRL *crl, ca_reply *out, ec_err *err)
{
	int rc = -1;
	STACK_OF(X509) *certs = sk_X509_new_null();
	uint8_t *p7 = NULL;
	size_t p7_len = 0;
	if (certs == NULL || (cert != NULL && !sk_X509_push(certs, cert)))
		goto out;
	if (scep_degenerate_build(certs, crl, &p7, &p7_len, err) != 0)
		goto out;
	rc = certrep_make(o, SCEP_STATUS_SUCCESS, SCEP_FAIL_NONE, p7, p7_len, out, err);
out:
	sk_X509_free(certs); /* cert is borrowed */
	free(p7);
	return rc;
}

static int success_with(op *o, X509 *cert, X509_CRL *crl, ca_reply *out, ec_err *err)
{
	if (success_make(o, cert, crl, out, err) != 0)
		return -1;
	count_outcome(o, SCEP_STATUS_SUCCESS);
	return 0;
}

static int success_with_certs(op *o, const uint8_t *cert_der, size_t cert_len, X509_CRL *crl,
                              ca_reply *out, ec_err *err)
{
	X509 *cert = NULL;
	if (cert_der != NULL && pki_cert_from_der(cert_der, cert_len, &cert, err) != 0)
		return -1;
	int rc = success_with(o, cert, crl, out, err);
	X509_free(cert);
	return rc;
}

/* The same answer as the first time, for a resent request or a poll. */
static int answer_request(op *o, store_request *req, ca_reply *out, ec_err *err)
{
	if (req->state == STORE_REQ_PENDING && req->expires <= o->now) {
		if (store_request_set_state(o->ca->store, req->id, STORE_REQ_EXPIRED, SCEP_FAIL_BADREQUEST, err) != 0)
			return -1;
		req->state = STORE_REQ_EXPIRED;
	}
	switch (req->state) {
	case STORE_REQ_GRANTED:
		return success_with_certs(o, req->cert_der, req->cert_der_len, NULL, out, err);
	case STORE_REQ_PENDING:
	case STORE_REQ_APPROVED:
		return certrep(o, SCEP_STATUS_PENDING, SCEP_FAIL_NONE, NULL, 0, out, err);
	case STORE_REQ_EXPIRED:
		return failure(o, SCEP_FAIL_BADREQUEST, "the request expired before it was granted", out, err);
	default:
		return certrep(o, SCEP_STATUS_FAILURE,
		               req->fail_info >= 0 ? req->fail_info : SCEP_FAIL_BADREQUEST, NULL, 0, out, err);
	}
}

/* The generation that ended last, while the renewal grace after its end lasts and its key is
 * still held, or NULL. */
static ca_gen *retired_in_grace(const op *o)
{
	ca_engine *ca = o->ca;
	ca_gen *found = NULL;
	for (size_t i = 0; i < ca->n_gens; i++) {
		ca_gen *g = &ca->gens[i];
		if (g->role == STORE_CA_RETIRED && g->key != NULL && o->now > g->not_after &&
		    o->now - g->not_after <= ca->cfg.renewal_grace && (found == NULL || g->not_after > found->not_after))
			found = g;
	}
	return found;
}

/* Opens the envelope with whichever CA certificate (active or rollover) it names. Within the
 * renewal grace, an envelope encrypted to the generation that just ended (a client that never
 * fetched the new CA certificate) is opened with that generation's key too: its key only decrypts
 * here, and the request is decided and issued by the active generation as any other. */
static int open_envelope(op *o, ca_gen **gen, uint8_t **payload, size_t *len, ec_err *err)
{
	ca_engine *ca = o->ca;
	X509 *certs[3];
	ca_gen *gens[3];
	size_t n = 0;
	gens[n] = &ca->gens[ca->active];
	certs[n++] = ca->gens[ca->active].cert;
	if (ca->rollover >= 0) {
		gens[n] = &ca->gens[ca->rollover];
		certs[n++] = ca->gens[ca->rollover].cert;
	}
	ca_gen *ended = retired_in_grace(o);
	if (ended != NULL) {
		gens[n] = ended;
		certs[n++] = ended->cert;
	}
	if (!o->msg->has_envelope)
		return ec_err_set(err, "the message carries no pkcsPKIEnvelope");
	int idx = scep_msg_recipient_index(o->msg, certs, n);
	if (idx < 0)
		return ec_err_set(err, "the envelope is not encrypted to this CA's certificate");
	if (scep_msg_decrypt(o->msg, gens[idx]->cert, gens[idx]->key, payload, len, &o->cipher, err) != 0)
		return ec_err_wrap(err, "cannot open the envelope");
	*gen = gens[idx] == ended ? &ca->gens[ca->active] : gens[idx];
	return 0;
}

static bool serves_trustpoint(const ca_engine *ca, const char *tp)
{
	return strcmp(tp, ca->cfg.name) == 0;
}

/* Whether `grant auto trustpoint` names this server's own trustpoint. */
static bool trusts_own(const ca_engine *ca)
{
	if (ca->cfg.grant != CFG_GRANT_AUTO_TRUSTPOINT)
		return false;
	for (size_t i = 0; i < ca->cfg.n_grant_trustpoints; i++)
		if (serves_trustpoint(ca, ca->cfg.grant_trustpoints[i]))
			return true;
	return false;
}

/* A signer generation gen issued, judged by its row in the store (status and validity). One that
 * ended exactly with gen ended because the CA capped it, not by its own lifetime: how long ago is
 * kept for the renewal grace. */
static int classify_ours(op *o, X509 *signer, const ca_gen *gen)
{
	ca_engine *ca = o->ca;
	char serial[PKI_SERIAL_MAX];
	store_cert c;
	ec_err err;
	if (pki_cert_serial_hex(signer, serial) != 0 || store_cert_get(ca->store, serial, &c, &err) != 0)
		return CA_SIGNER_FOREIGN;
	int kind = CA_SIGNER_OURS_VALID;
	if (c.status == STORE_CERT_REVOKED) {
		kind = CA_SIGNER_OURS_REVOKED;
	} else if (o->now > c.not_after && c.not_after == gen->not_after) {
		kind = CA_SIGNER_OURS_CA_ENDED;
		o->signer_ended_ago = o->now - c.not_after;
	} else if (o->now < c.not_before || o->now > c.not_after) {
		kind = CA_SIGNER_OURS_EXPIRED;
	}
	store_cert_free(&c);
	if (kind == CA_SIGNER_OURS_VALID && trusts_own(ca))
		return CA_SIGNER_TRUSTED;
	return kind;
}

/* A signer another CA issued, judged by the snapshot each `grant auto trustpoint` trustpoint
 * published: chained to its CA certificates, then its revocation by the CA's CRL unless the
 * trustpoint says `revocation-check none`. A signer whose revocation cannot be checked is never
 * trusted outright: its trustpoint is asked to fetch a CRL, and the request waits. */
static int classify_trusted(op *o, X509 *signer)
{
	ca_engine *ca = o->ca;
	int kind = CA_SIGNER_FOREIGN;
	for (size_t i = 0; i < ca->cfg.n_grant_trustpoints && kind == CA_SIGNER_FOREIGN; i++) {
		const char *name = ca->cfg.grant_trustpoints[i];
		pki_trust *t = ca->env.trustpoint_trust(ca->env.trustpoint_ctx, name);
		if (t == NULL)
			continue;
		char why[PKI_TRUST_WHY_MAX];
		int v = pki_trust_check(t, signer, o->now, why, sizeof(why));
		pki_trust_release(t);
		if (v == PKI_TRUST_NOT_CHAINED)
			continue;
		kind = v == PKI_TRUST_GOOD ? CA_SIGNER_TRUSTED
		     : v == PKI_TRUST_REVOKED ? CA_SIGNER_TRUSTED_REVOKED : CA_SIGNER_TRUSTED_UNCHECKED;
		snprintf(o->signer_note, sizeof(o->signer_note), "%s", why);
		if (kind != CA_SIGNER_TRUSTED)
			ca_audit(ca, "%s from %s (transaction %s): signer: %s", scep_msg_type_name(o->msg->type),
			         o->source, o->msg->txid, why);
		if (kind == CA_SIGNER_TRUSTED_UNCHECKED && ca->env.trustpoint_crl_wanted != NULL)
			ca->env.trustpoint_crl_wanted(ca->env.trustpoint_ctx, name);
	}
	return kind;
}

/* A signer that names itself as its issuer is an initial enrollment's. Its self-signature is not
 * checked: it would vouch for nothing the message's signature has not already proved (that the
 * sender holds the key), and the policy trusts such a signer with nothing. Checking it cost a
 * public-key operation per enrollment. One of our generations is looked for first, so that a
 * certificate naming itself after the CA is still checked against the CA's key. */
static int classify_signer(op *o)
{
	ca_engine *ca = o->ca;
	X509 *signer = o->msg->signer;
	for (size_t i = 0; i < ca->n_gens; i++)
		if (pki_cert_issued_by(signer, ca->gens[i].cert))
			return classify_ours(o, signer, &ca->gens[i]);
	if (X509_NAME_cmp(X509_get_issuer_name(signer), X509_get_subject_name(signer)) == 0)
		return CA_SIGNER_SELF_SIGNED;
	if (ca->cfg.grant != CFG_GRANT_AUTO_TRUSTPOINT || ca->env.trustpoint_trust == NULL)
		return CA_SIGNER_FOREIGN;
	return classify_trusted(o, signer);
}

/* The facts of a new request for the policy. The one-time password is only looked at here;
 * whether it is used up is the policy's decision (consumes_challenge), carried out in the
 * transaction that records the certificate, so a grant that fails to commit leaves it usable. */
static ca_policy_facts establish_facts(op *o, int signer, int names, const char *challenge)
{
	ca_engine *ca = o->ca;
	ca_policy_facts f = {ca->cfg.grant, ca->shutdown, signer, CA_CHALLENGE_ABSENT, names,
	                     o->signer_ended_ago, ca->cfg.renewal_grace, trusts_own(ca)};
	if (challenge[0] != '\0') {
		ec_err err;
		f.challenge = store_otp_check(ca->store, challenge, o->now, &err) == 0 ? CA_CHALLENGE_VALID
		                                                                       : CA_CHALLENGE_INVALID;
	}
	return f;
}

/* How the request's names compare with those of the certificate that signed it. */
static int names_against_signer(op *o, X509_REQ *csr, int signer)
{
	if (!ca_policy_is_renewal(signer) && signer != CA_SIGNER_OURS_CA_ENDED)
		return CA_NAMES_SAME;
	switch (pki_csr_names_match(csr, o->msg->signer)) {
	case PKI_NAMES_SAME: return CA_NAMES_SAME;
	case PKI_NAMES_SUBJECT_DIFFERS: return CA_NAMES_SUBJECT_DIFFERS;
	default: return CA_NAMES_SAN_DIFFERS;
	}
}

/* The decision's reason, with the signer's subject when the reason is about its names. */
static void decision_reason(op *o, const ca_policy_decision *d, char *out, size_t outsz)
{
	char signer[STORE_SUBJECT_MAX] = "";
	if (d->names_differ &&
	    pki_name_format(X509_get_subject_name(o->msg->signer), signer, sizeof(signer)) == 0)
		snprintf(out, outsz, "%s %s", d->reason, signer);
	else if (o->signer_note[0] != '\0' && d->verdict != CA_VERDICT_GRANT)
		snprintf(out, outsz, "%s: %.190s", d->reason, o->signer_note); /* another CA's trustpoint's word */
	else
		snprintf(out, outsz, "%s", d->reason);
}

static int fill_request(op *o, store_request *req, ca_gen *gen, X509_REQ *csr, const uint8_t *csr_der,
                        size_t csr_len, bool renewal, const char *reason, ec_err *err)
{
	memset(req, 0, sizeof(*req));
	snprintf(req->txid, sizeof(req->txid), "%s", o->msg->txid);
	req->msg_type = o->msg->type;
	req->fail_info = SCEP_FAIL_NONE;
	req->renewal = renewal;
	if (pki_name_format(X509_REQ_get_subject_name(csr), req->subject, sizeof(req->subject)) != 0)
		return ec_err_set(err, "the request's subject name cannot be shown");
	snprintf(req->signer_fp, sizeof(req->signer_fp), "%s", o->signer_fp);
	if (pki_spki_fingerprint(X509_REQ_get_X509_PUBKEY(csr), req->pubkey_fp) != 0)
		return ec_err_set(err, "the request has no usable public key");
	snprintf(req->ca_serial, sizeof(req->ca_serial), "%s", gen->serial);
	snprintf(req->source, sizeof(req->source), "%s", o->source);
	snprintf(req->reason, sizeof(req->reason), "%s", reason);
	req->created = o->now;
	req->expires = o->now + o->ca->cfg.lifetime_enrollment_request;
	/* Replies go to the signer of the message being answered, so the signer is not kept. */
	req->csr_der = (uint8_t *)csr_der;
	req->csr_der_len = csr_len;
	return 0;
}

/* Whether one source address may leave one more thing in the store. */
static bool source_has_room(op *o, int64_t *kept)
{
	ec_err err;
	*kept = 0;
	return store_request_count_kept_from(o->ca->store, o->source, kept, &err) == 0 &&
	       *kept < CA_KEPT_PER_SOURCE_MAX;
}

/* A request refused on arrival: logged and answered FAILURE; while its source address has room,
 * a small audit record of it is kept (never the request itself, which nobody vouched for). */
static int refuse(op *o, X509_REQ *csr, int fail_info, const char *why, ca_reply *out, ec_err *err)
{
	int64_t kept = 0;
	if (source_has_room(o, &kept)) {
		store_refusal r = {.created = o->now, .fail_info = fail_info};
		snprintf(r.source, sizeof(r.source), "%s", o->source);
		snprintf(r.txid, sizeof(r.txid), "%s", o->msg->txid);
		snprintf(r.reason, sizeof(r.reason), "%s", why);
		if (pki_name_format(X509_REQ_get_subject_name(csr), r.subject, sizeof(r.subject)) != 0)
			r.subject[0] = '\0';
		if (pki_spki_fingerprint(X509_REQ_get_X509_PUBKEY(csr), r.pubkey_fp) != 0)
			r.pubkey_fp[0] = '\0';
		ec_err e;
		if (store_refusal_record(o->ca->store, &r, &e) != 0)
			ca_audit(o->ca, "the refusal of transaction %s could not be recorded: %s", o->msg->txid, e.msg);
	}
	return failure(o, fail_info, why, out, err);
}

/* A request granted on arrival: its certificate, the transaction and the use of a one-time
 * password (otp, or NULL) are recorded together. The CertRep is signed before the commit is
 * awaited, so that the request spends its signatures where the group commit waits for it and
 * leaves at once when its group is durable; it is handed out only then. Returns 1, having
 * recorded and answered nothing, when another request used the password up first. */
static int grant_new(op *o, store_request *req, X509_REQ *csr, ca_gen *gen, const char *reason,
                     const char *otp, ca_reply *out, ec_err *err)
{
	store_cert row;
	uint8_t *der = NULL;
	size_t len = 0;
	X509 *cert = NULL;
	ca_reply ready;
	int rc = -1;
	memset(&ready, 0, sizeof(ready));
	if (ca_issue_build(o->ca, req, csr, gen, o->now, &row, &der, &len, &cert, err) == 0 &&
	    success_make(o, cert, NULL, &ready, err) == 0) {
		req->state = STORE_REQ_GRANTED;
		snprintf(req->cert_serial, sizeof(req->cert_serial), "%s", row.serial);
		req->cert_der = der;
		req->cert_der_len = len;
		req->csr_der = NULL; /* the certificate answers resends; the request is not kept */
		req->csr_der_len = 0;
		expect_end(o);
		rc = store_record_granted(o->ca->store, req, &row, otp, err);
		req->cert_der = NULL;
	}
	expect_end(o);
	X509_free(cert);
	free(der);
	if (rc != 0)
		ca_reply_free(&ready);
	if (rc == 1 || (rc != 0 && store_err_unavailable(err)))
		return rc;   /* -1 unavailable: answered "try again later" (ca_pki_operation) */
	if (rc != 0) {
		/* Nothing recorded: left for the client to send again (it polls on PENDING). */
		ca_audit(o->ca, "request from %s for '%s' could not be issued: %s", o->source, req->subject, err->msg);
		return certrep(o, SCEP_STATUS_PENDING, SCEP_FAIL_NONE, NULL, 0, out, err);
	}
	ca_audit(o->ca, "request %lld from %s for '%s' (%s, transaction %s): %s: certificate %s issued by CA %s",
	         (long long)req->id, o->source, req->subject, req->renewal ? "renewal" : "enrollment", req->txid,
	         reason, row.serial, gen->serial);
	count_outcome(o, SCEP_STATUS_SUCCESS);
	*out = ready;
	return 0;
}

/* Carries out the policy's decision on a new request; 1 as grant_new. */
static int obey(op *o, const ca_policy_decision *d, ca_gen *gen, X509_REQ *csr, const uint8_t *csr_der,
                size_t csr_len, const char *challenge, ca_reply *out, ec_err *err)
{
	int rc = -1;
	store_request req;
	char reason[STORE_REASON_MAX];
	decision_reason(o, d, reason, sizeof(reason));
	if (d->verdict == CA_VERDICT_REJECT)
		return refuse(o, csr, d->fail_info, reason, out, err);
	if (fill_request(o, &req, gen, csr, csr_der, csr_len, d->renewal, reason, err) != 0)
		goto out;
	if (d->verdict == CA_VERDICT_GRANT) {
		rc = grant_new(o, &req, csr, gen, reason, d->consumes_challenge ? challenge : NULL, out, err);
		goto out;
	}
	/* One address cannot fill the operator's queue or the disk. */
	int64_t kept = 0;
	if (!source_has_room(o, &kept)) {
		char why[160];
		snprintf(why, sizeof(why), "%lld requests from %s are already kept without a certificate "
		         "(at most %d)", (long long)kept, o->source, CA_KEPT_PER_SOURCE_MAX);
		rc = failure(o, SCEP_FAIL_BADREQUEST, why, out, err);
		goto out;
	}
	req.state = STORE_REQ_PENDING;
	if (store_request_insert(o->ca->store, &req, err) != 0)
		goto out;
	ca_audit(o->ca, "request %lld from %s for '%s' (%s, transaction %s): %s", (long long)req.id,
	         o->source, req.subject, req.renewal ? "renewal" : "enrollment", req.txid, reason);
	rc = certrep(o, SCEP_STATUS_PENDING, SCEP_FAIL_NONE, NULL, 0, out, err);
out:
	req.csr_der = NULL; /* borrowed */
	store_request_free(&req);
	return rc;
}

static int act_on_new(op *o, ca_gen *gen, X509_REQ *csr, const uint8_t *csr_der, size_t csr_len,
                      const char *challenge, ca_reply *out, ec_err *err)
{
	int signer = classify_signer(o);
	ca_policy_facts facts = establish_facts(o, signer, names_against_signer(o, csr, signer), challenge);
	ca_policy_decision d = ca_policy_decide(&facts);
	int rc = obey(o, &d, gen, csr, csr_der, csr_len, challenge, out, err);
	if (rc == 1) {
		/* The password was used up by another request meanwhile: the policy decides again on
		 * that fact (the new decision uses up nothing, so this happens once). */
		facts.challenge = CA_CHALLENGE_INVALID;
		d = ca_policy_decide(&facts);
		rc = obey(o, &d, gen, csr, csr_der, csr_len, challenge, out, err);
	}
	return rc;
}

/* Whether a request resent under an answered transactionID renews what that transaction issued:
 * it is signed by that very certificate (clients that keep their key derive the transactionID
 * from it, so their renewals reuse it). Anything else gets the transaction's first answer. */
static bool renews_transaction(op *o, const store_request *prev)
{
	if (prev->state != STORE_REQ_GRANTED || prev->cert_der == NULL)
		return false;
	uint8_t *der = NULL;
	int len = i2d_X509(o->msg->signer, &der);
	bool same = len > 0 && (size_t)len == prev->cert_der_len && memcmp(der, prev->cert_der, (size_t)len) == 0;
	OPENSSL_free(der);
	return same;
}

/* Under the transaction lock: one transactionID and key get one answer, whoever signs. */
static int enroll_locked(op *o, ca_gen *gen, X509_REQ *csr, const uint8_t *csr_der, size_t csr_len,
                         const char *challenge, ca_reply *out, ec_err *err)
{
	store_request prev;
	char pubkey_fp[65] = "";
	int rc;
	memset(&prev, 0, sizeof(prev));
	int found = store_request_find(o->ca->store, o->msg->txid, NULL, &prev, err);
	if (found < 0)
		rc = -1;
	else if (pki_spki_fingerprint(X509_REQ_get_X509_PUBKEY(csr), pubkey_fp) != 0)
		rc = refuse(o, csr, SCEP_FAIL_BADREQUEST, "the request has no usable public key", out, err);
	else if (found == 0 && strcmp(prev.pubkey_fp, pubkey_fp) != 0)
		rc = refuse(o, csr, SCEP_FAIL_BADREQUEST, "transactionID already used with another public key", out, err);
	else if (found == 0 && prev.state != STORE_REQ_EXPIRED && !renews_transaction(o, &prev))
		rc = answer_request(o, &prev, out, err);
	else
		rc = act_on_new(o, gen, csr, csr_der, csr_len, challenge, out, err);
	store_request_free(&prev);
	return rc;
}

static int handle_enroll(op *o, ca_reply *out, ec_err *err)
{
	int rc = -1;
	ca_gen *gen = NULL;
	uint8_t *csr_der = NULL;
	size_t csr_len = 0;
	X509_REQ *csr = NULL;
	char challenge[256] = "";
	ec_err why;

	if (open_envelope(o, &gen, &csr_der, &csr_len, &why) != 0) {
		rc = failure(o, SCEP_FAIL_BADMESSAGECHECK, why.msg, out, err);
		goto out;
	}
	if (scep_csr_parse(csr_der, csr_len, &csr, challenge, sizeof(challenge), &why) != 0) {
		rc = failure(o, SCEP_FAIL_BADREQUEST, why.msg, out, err);
		goto out;
	}
	/* Refused now rather than queued: no operator could ever issue it. */
	if (X509_NAME_entry_count(X509_REQ_get_subject_name(csr)) == 0) {
		rc = refuse(o, csr, SCEP_FAIL_BADREQUEST, "the request's subject name is empty", out, err);
		goto out;
	}
	if (pki_csr_check_policy(csr, &o->ca->rules, &why) != 0) {
		rc = refuse(o, csr, SCEP_FAIL_BADREQUEST, why.msg, out, err);
		goto out;
	}
	pthread_mutex_lock(ca_tx_lock(o->ca, o->msg->txid));
	rc = enroll_locked(o, gen, csr, csr_der, csr_len, challenge, out, err);
	pthread_mutex_unlock(ca_tx_lock(o->ca, o->msg->txid));
out:
	expect_end(o);
	OPENSSL_cleanse(challenge, sizeof(challenge));
	X509_REQ_free(csr);
	free(csr_der);
	return rc;
}

/* CertPoll and GetCRL open the envelope only to check that it is ours: true when it is not, with
 * the FAILURE badMessageCheck reply made (*rc as the handler returns it). */
static bool envelope_refused(op *o, ca_reply *out, ec_err *err, int *rc)
{
	ca_gen *gen = NULL;
	uint8_t *payload = NULL;
	size_t len = 0;
	ec_err why;
	if (open_envelope(o, &gen, &payload, &len, &why) == 0) {
		free(payload);
		return false;
	}
	*rc = failure(o, SCEP_FAIL_BADMESSAGECHECK, why.msg, out, err);
	return true;
}

static int handle_poll(op *o, ca_reply *out, ec_err *err)
{
	int rc;
	if (envelope_refused(o, out, err, &rc))
		return rc;
	store_request req;
	memset(&req, 0, sizeof(req));
	pthread_mutex_lock(ca_tx_lock(o->ca, o->msg->txid));
	int found = store_request_find(o->ca->store, o->msg->txid, o->signer_fp, &req, err);
	if (found == 1) {
		/* A poll signed by another certificate for the same key (some clients remake their
		 * self-signed certificate) is the same requester. */
		char fp[65] = "";
		found = store_request_find(o->ca->store, o->msg->txid, NULL, &req, err);
		if (found == 0 && (pki_spki_fingerprint(X509_get_X509_PUBKEY(o->msg->signer), fp) != 0 ||
		                   strcmp(fp, req.pubkey_fp) != 0)) {
			store_request_free(&req);
			found = 1;
		}
	}
	if (found < 0)
		rc = -1;
	else if (found == 1)
		rc = failure(o, SCEP_FAIL_BADCERTID, "no request with this transactionID", out, err);
	else
		rc = answer_request(o, &req, out, err);
	pthread_mutex_unlock(ca_tx_lock(o->ca, o->msg->txid));
	store_request_free(&req);
	return rc;
}

static int handle_getcert(op *o, ca_reply *out, ec_err *err)
{
	ca_gen *gen = NULL;
	uint8_t *payload = NULL;
	size_t len = 0;
	X509_NAME *issuer = NULL;
	ASN1_INTEGER *serial = NULL;
	char hex[PKI_SERIAL_MAX];
	ec_err why;
	int rc;
	if (open_envelope(o, &gen, &payload, &len, &why) != 0)
		return failure(o, SCEP_FAIL_BADMESSAGECHECK, why.msg, out, err);
	if (scep_issuer_and_serial_parse(payload, len, &issuer, &serial, &why) != 0 ||
	    pki_serial_to_hex(serial, hex) != 0) {
		rc = failure(o, SCEP_FAIL_BADREQUEST, why.msg, out, err);
		goto out;
	}
	store_cert c;
	memset(&c, 0, sizeof(c));
	ca_gen *cag = ca_gen_by_serial(o->ca, hex);
	if (cag != NULL) {
		rc = success_with(o, cag->cert, NULL, out, err);
	} else if (store_cert_get(o->ca->store, hex, &c, &why) == 0 && c.der != NULL) {
		rc = success_with_certs(o, c.der, c.der_len, NULL, out, err);
	} else {
		rc = failure(o, SCEP_FAIL_BADCERTID, "no stored certificate with this serial number "
		             "(certificates are kept at database level complete)", out, err);
	}
	store_cert_free(&c);
out:
	X509_NAME_free(issuer);
	ASN1_INTEGER_free(serial);
	free(payload);
	return rc;
}

static int handle_getcrl(op *o, ca_reply *out, ec_err *err)
{
	int rc;
	if (envelope_refused(o, out, err, &rc))
		return rc;
	X509_CRL *crl = NULL;
	if (pki_crl_from_der(o->ca->crl_der, o->ca->crl_len, &crl, err) != 0)
		return -1;
	rc = success_with(o, NULL, crl, out, err);
	X509_CRL_free(crl);
	return rc;
}

/* Why the message's algorithms are refused, or NULL: off the allow-list, or single DES on a
 * server that does not accept it. */
static const char *refused_algorithm(const op *o)
{
	if (o->msg->bad_alg[0] != '\0')
		return o->msg->bad_alg;
	if (!o->ca->cfg.encryption_des && o->msg->cipher != NULL && EVP_CIPHER_get_nid(o->msg->cipher) == NID_des_cbc)
		return "content encryption DES-CBC is turned off (no encryption des)";
	return NULL;
}

/* The store could not be reached (a shared database restarting, a lost connection): the client
 * is told to come back, never answered with what the store does not hold. */
static int store_unavailable_reply(ca_engine *ca, ca_reply *out, ec_err *err)
{
	char text[EC_ERR_MSG_MAX + 64];
	ca_audit(ca, "request answered 'try again later': %s", err->msg);
	atomic_fetch_add(&ca->outcomes[CA_OUTCOME_UNAVAILABLE], 1);
	int n = snprintf(text, sizeof(text), "the CA's database is unavailable; retry in %d seconds\n",
	                 CA_UNAVAILABLE_RETRY_SECONDS);
	ca_reply_free(out);
	if (ca_reply_copy(out, CA_REPLY_UNAVAILABLE, text, (size_t)n, err) != 0)
		return -2;
	out->retry_after_seconds = CA_UNAVAILABLE_RETRY_SECONDS;
	return 0;
}

static int dispatch(op *o, ca_reply *out, ec_err *err)
{
	const char *bad_alg = refused_algorithm(o);
	if (bad_alg != NULL)
		return failure(o, SCEP_FAIL_BADALG, bad_alg, out, err);
	if (!o->msg->signature_ok)
		return failure(o, SCEP_FAIL_BADMESSAGECHECK, "the signature does not verify with the "
		               "certificate in the message", out, err);
	if (pki_cert_fingerprint_hex(o->msg->signer, o->signer_fp) != 0)
		return ec_err_set(err, "cannot digest the signer certificate");
	switch (o->msg->type) {
	case SCEP_MSG_PKCSREQ:
	case SCEP_MSG_RENEWALREQ:
		return handle_enroll(o, out, err);
	case SCEP_MSG_CERTPOLL:
		return handle_poll(o, out, err);
	case SCEP_MSG_GETCERT:
		return handle_getcert(o, out, err);
	case SCEP_MSG_GETCRL:
		return handle_getcrl(o, out, err);
	default:
		return failure(o, SCEP_FAIL_BADREQUEST, "unsupported messageType", out, err);
	}
}

int ca_pki_operation(ca_engine *ca, const uint8_t *msg_der, size_t len, const char *source,
                     ec_time now, ca_reply *out, ec_err *err)
{
	memset(out, 0, sizeof(*out));
	if (len > SCEP_MESSAGE_MAX)
		return ec_err_set(err, "pkiMessage larger than %d bytes", SCEP_MESSAGE_MAX);
	scep_msg *msg = NULL;
	/* Most PKIOperations are enrollments that end in a grant: announced before the parse, which
	 * is about a tenth of their work, so that a group commit starting meanwhile waits for them. */
	op o = {.ca = ca, .now = now, .source = source ? source : "?", .expecting = true,
	        .expect_token = store_grant_expect_begin(ca->store)};
	if (scep_msg_parse(msg_der, len, &msg, err) != 0) {
		expect_end(&o);
		return -1;
	}
	o.msg = msg;
	if (msg->type != SCEP_MSG_PKCSREQ && msg->type != SCEP_MSG_RENEWALREQ)
		expect_end(&o);
	pthread_rwlock_rdlock(&ca->lock);
	int rc = dispatch(&o, out, err);
	pthread_rwlock_unlock(&ca->lock);
	expect_end(&o);
	scep_msg_free(msg);
	if (rc != 0 && store_err_unavailable(err))
		return store_unavailable_reply(ca, out, err);
	return rc == 0 ? 0 : -2;
}
