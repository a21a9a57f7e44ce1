/* SCEP operations of the certificate server: GetCACert, GetCACaps and PKIOperation. */
#include "ca/ca_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/encoding.h"

static const char CA_CAPS[] =
	"GetNextCACert\nRenewal\nSHA-1\nSHA-256\nSHA-512\nSHA-384\nAES\nDES3\nPOSTPKIOperation\n"
	"SCEPStandard\n";

static int reply_bytes(ca_http_reply *out, const char *type, const void *data, size_t len, ec_err *err)
{
	memset(out, 0, sizeof(*out));
	out->retry_after_seconds = -1;
	out->body = malloc(len ? len : 1);
	if (out->body == NULL)
		return ec_err_set(err, "out of memory");
	memcpy(out->body, data, len);
	out->body_len = len;
	out->http_status = 200;
	out->content_type = type;
	return 0;
}

int ca_get_ca_caps(ca_engine *ca, ca_http_reply *out, ec_err *err)
{
	return reply_bytes(out, "text/plain", CA_CAPS, sizeof(CA_CAPS) - 1, err);
}

int ca_get_ca_cert(ca_engine *ca, ca_http_reply *out, ec_err *err)
{
	uint8_t *der = NULL;
	size_t len = 0;
	pthread_rwlock_rdlock(&ca->lock);
	int rc = pki_cert_to_der(ca->gens[ca->active].cert, &der, &len, err);
	pthread_rwlock_unlock(&ca->lock);
	if (rc != 0)
		return -1;
	rc = reply_bytes(out, "application/x-x509-ca-cert", der, len, err);
	free(der);
	return rc;
}

/* One PKIOperation in progress. */
typedef struct op {
	ca_engine *ca;
	const scep_msg *msg;
	ec_time now;
	const char *source;
	const EVP_CIPHER *cipher;       /* the requester's choice, mirrored in the reply */
	char signer_fp[65];
} op;

static int certrep(op *o, int status, int fail_info, const uint8_t *payload, size_t payload_len,
                   ca_http_reply *out, ec_err *err)
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
		.digest = o->msg->digest ? o->msg->digest : EVP_sha256(),
		.recipient_cert = o->msg->signer,
		.cipher = o->cipher ? o->cipher : EVP_aes_128_cbc(),
		.payload = payload,
		.payload_len = payload_len,
	};
	if (scep_build_certrep(&p, &der, &len, err) != 0)
		return -1;
	memset(out, 0, sizeof(*out));
	out->retry_after_seconds = -1;
	out->http_status = 200;
	out->content_type = "application/x-pki-message";
	out->body = der;
	out->body_len = len;
	return 0;
}

static int failure(op *o, int fail_info, const char *why, ca_http_reply *out, ec_err *err)
{
	ca_audit(o->ca, "%s from %s (transaction %s) refused: %s: %s",
	         scep_msg_type_name(o->msg->type), o->source, o->msg->txid, scep_fail_name(fail_info), why);
	return certrep(o, SCEP_STATUS_FAILURE, fail_info, NULL, 0, out, err);
}

/* SUCCESS with a degenerate PKCS#7 holding cert and/or crl (either may be NULL). */
static int success_with(op *o, X509 *cert, X509_CRL *crl, ca_http_reply *out, ec_err *err)
{
	int rc = -1;
	STACK_OF(X509) *certs = sk_X509_new_null();
	uint8_t *p7 = NULL;
	size_t p7_len = 0;
	if (certs == NULL || (cert != NULL && !sk_X509_push(certs, cert)))
		goto out;
	if (scep_degenerate_build(certs, crl, &p7, &p7_len, err) != 0)
		goto out;
	rc = certrep(o, SCEP_STATUS_SUCCESS, SCEP_FAIL_NONE, p7, p7_len, out, err);
out:
	sk_X509_free(certs); /* cert is borrowed */
	free(p7);
	return rc;
}

static int success_with_certs(op *o, const uint8_t *cert_der, size_t cert_len, X509_CRL *crl,
                              ca_http_reply *out, ec_err *err)
{
	X509 *cert = NULL;
	if (cert_der != NULL && pki_cert_from_der(cert_der, cert_len, &cert, err) != 0)
		return -1;
	int rc = success_with(o, cert, crl, out, err);
	X509_free(cert);
	return rc;
}

/* The same answer as the first time, for a resent request or a poll. */
static int answer_request(op *o, store_request *req, ca_http_reply *out, ec_err *err)
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

/* Opens the envelope with whichever CA certificate (active or rollover) it names. */
static int open_envelope(op *o, ca_gen **gen, uint8_t **payload, size_t *len, ec_err *err)
{
	ca_engine *ca = o->ca;
	X509 *certs[2];
	ca_gen *gens[2];
	size_t n = 0;
	gens[n] = &ca->gens[ca->active];
	certs[n++] = ca->gens[ca->active].cert;
	if (ca->rollover >= 0) {
		gens[n] = &ca->gens[ca->rollover];
		certs[n++] = ca->gens[ca->rollover].cert;
	}
	if (!o->msg->has_envelope)
		return ec_err_set(err, "the message carries no pkcsPKIEnvelope");
	int idx = scep_msg_recipient_index(o->msg, certs, n);
	if (idx < 0)
		return ec_err_set(err, "the envelope is not encrypted to this CA's certificate");
	*gen = gens[idx];
	if (scep_msg_decrypt(o->msg, (*gen)->cert, (*gen)->key, payload, len, &o->cipher, err) != 0)
		return ec_err_wrap(err, "cannot open the envelope");
	return 0;
}

static bool serves_trustpoint(const ca_engine *ca, const char *tp)
{
	return strcmp(tp, ca->cfg.name) == 0;
}

static int classify_ours(op *o, X509 *signer)
{
	ca_engine *ca = o->ca;
	char serial[PKI_SERIAL_MAX];
	store_cert c;
	ec_err err;
	if (pki_cert_serial_hex(signer, serial) != 0 || store_cert_get(ca->store, serial, &c, &err) != 0)
		return CA_SIGNER_FOREIGN;
	int kind = CA_SIGNER_OURS_VALID;
	if (c.status == STORE_CERT_REVOKED)
		kind = CA_SIGNER_OURS_REVOKED;
	else if (o->now < c.not_before || o->now > c.not_after)
		kind = CA_SIGNER_OURS_EXPIRED;
	store_cert_free(&c);
	if (kind == CA_SIGNER_OURS_VALID && ca->cfg.grant == CFG_GRANT_AUTO_TRUSTPOINT)
		for (size_t i = 0; i < ca->cfg.n_grant_trustpoints; i++)
			if (serves_trustpoint(ca, ca->cfg.grant_trustpoints[i]))
				return CA_SIGNER_TRUSTED;
	return kind;
}

static int classify_signer(op *o)
{
	ca_engine *ca = o->ca;
	X509 *signer = o->msg->signer;
	if (pki_cert_is_self_signed(signer))
		return CA_SIGNER_SELF_SIGNED;
	for (size_t i = 0; i < ca->n_gens; i++)
		if (pki_cert_issued_by(signer, ca->gens[i].cert))
			return classify_ours(o, signer);
	if (ca->cfg.grant != CFG_GRANT_AUTO_TRUSTPOINT || ca->env.trustpoint_certs == NULL)
		return CA_SIGNER_FOREIGN;
	for (size_t i = 0; i < ca->cfg.n_grant_trustpoints; i++) {
		STACK_OF(X509) *trusted = ca->env.trustpoint_certs(ca->env.trustpoint_ctx, ca->cfg.grant_trustpoints[i]);
		if (trusted == NULL)
			continue;
		ec_err err;
		int ok = pki_verify_cert(signer, trusted, NULL, o->now, &err) == 0;
		sk_X509_pop_free(trusted, X509_free);
		if (ok)
			return CA_SIGNER_TRUSTED;
	}
	return CA_SIGNER_FOREIGN;
}

/* Facts and decision for a new request; consumes a one-time password only when it decides. */
static ca_policy_decision decide(op *o, int signer, const char *challenge)
{
	ca_engine *ca = o->ca;
	ca_policy_facts f = {ca->cfg.grant, ca->shutdown, signer, CA_CHALLENGE_ABSENT};
	if (challenge[0] != '\0' && !ca_policy_is_renewal(signer) && !ca->shutdown &&
	    ca->cfg.grant != CFG_GRANT_NONE && signer != CA_SIGNER_OURS_REVOKED) {
		ec_err err;
		int rc = store_otp_consume(ca->store, challenge, o->now, &err);
		f.challenge = rc == 0 ? CA_CHALLENGE_VALID : CA_CHALLENGE_INVALID;
	}
	return ca_policy_decide(&f);
}

static int fill_request(op *o, store_request *req, ca_gen *gen, X509_REQ *csr, const uint8_t *csr_der,
                        size_t csr_len, int signer, ec_err *err)
{
	memset(req, 0, sizeof(*req));
	snprintf(req->txid, sizeof(req->txid), "%s", o->msg->txid);
	req->msg_type = o->msg->type;
	req->fail_info = SCEP_FAIL_NONE;
	req->renewal = ca_policy_is_renewal(signer);
	if (pki_name_format(X509_REQ_get_subject_name(csr), req->subject, sizeof(req->subject)) != 0)
		return ec_err_set(err, "the request's subject name cannot be shown");
	snprintf(req->signer_fp, sizeof(req->signer_fp), "%s", o->signer_fp);
	if (pki_spki_fingerprint(X509_REQ_get_X509_PUBKEY(csr), req->pubkey_fp) != 0)
		return ec_err_set(err, "the request has no usable public key");
	snprintf(req->ca_serial, sizeof(req->ca_serial), "%s", gen->serial);
	snprintf(req->source, sizeof(req->source), "%s", o->source);
	req->created = o->now;
	req->expires = o->now + o->ca->cfg.lifetime_enrollment_request;
	req->csr_der = (uint8_t *)csr_der;
	req->csr_der_len = csr_len;
	int len = i2d_X509(o->msg->signer, &req->signer_der);
	if (len <= 0)
		return ec_err_set(err, "cannot encode the signer certificate");
	req->signer_der_len = (size_t)len;
	return 0;
}

/* A request granted on arrival: its certificate and the transaction are recorded together. */
static int grant_new(op *o, store_request *req, X509_REQ *csr, ca_gen *gen, const char *reason,
                     ca_http_reply *out, ec_err *err)
{
	store_cert row;
	uint8_t *der = NULL;
	size_t len = 0;
	X509 *cert = NULL;
	int rc = -1;
	if (ca_issue_build(o->ca, req, csr, gen, o->now, &row, &der, &len, &cert, err) == 0) {
		req->state = STORE_REQ_GRANTED;
		snprintf(req->cert_serial, sizeof(req->cert_serial), "%s", row.serial);
		req->cert_der = der;
		req->cert_der_len = len;
		rc = store_record_granted(o->ca->store, req, &row, err);
		req->cert_der = NULL;
	}
	if (rc != 0) {
		/* Nothing recorded: left for the client to send again (it polls on PENDING). */
		ca_audit(o->ca, "request from %s for '%s' could not be issued: %s", o->source, req->subject, err->msg);
		free(der);
		X509_free(cert);
		return certrep(o, SCEP_STATUS_PENDING, SCEP_FAIL_NONE, NULL, 0, out, err);
	}
	ca_audit(o->ca, "request %lld from %s for '%s' (%s, transaction %s): %s: certificate %s issued by CA %s",
	         (long long)req->id, o->source, req->subject, req->renewal ? "renewal" : "enrollment", req->txid,
	         reason, row.serial, gen->serial);
	rc = success_with(o, cert, NULL, out, err);
	X509_free(cert);
	free(der);
	return rc;
}

static int act_on_new(op *o, ca_gen *gen, X509_REQ *csr, const uint8_t *csr_der, size_t csr_len,
                      const char *challenge, ca_http_reply *out, ec_err *err)
{
	int rc = -1;
	store_request req;
	int signer = classify_signer(o);
	ca_policy_decision d = decide(o, signer, challenge);
	if (fill_request(o, &req, gen, csr, csr_der, csr_len, signer, err) != 0)
		goto out;
	if (d.verdict == CA_VERDICT_GRANT) {
		rc = grant_new(o, &req, csr, gen, d.reason, out, err);
		goto out;
	}
	if (d.verdict == CA_VERDICT_PENDING) {
		/* One address cannot fill the operator's queue. */
		int64_t queued = 0;
		if (store_request_count_from(o->ca->store, STORE_REQ_PENDING, o->source, &queued, err) != 0)
			goto out;
		if (queued >= CA_PENDING_PER_SOURCE_MAX) {
			char why[160];
			snprintf(why, sizeof(why), "%lld requests from %s already wait for the operator (at most %d)",
			         (long long)queued, o->source, CA_PENDING_PER_SOURCE_MAX);
			rc = failure(o, SCEP_FAIL_BADREQUEST, why, out, err);
			goto out;
		}
	}
	req.state = d.verdict == CA_VERDICT_REJECT ? STORE_REQ_REJECTED : STORE_REQ_PENDING;
	req.fail_info = d.verdict == CA_VERDICT_REJECT ? d.fail_info : SCEP_FAIL_NONE;
	if (store_request_insert(o->ca->store, &req, err) != 0)
		goto out;
	ca_audit(o->ca, "request %lld from %s for '%s' (%s, transaction %s): %s", (long long)req.id,
	         o->source, req.subject, req.renewal ? "renewal" : "enrollment", req.txid, d.reason);
	if (d.verdict == CA_VERDICT_REJECT)
		rc = certrep(o, SCEP_STATUS_FAILURE, d.fail_info, NULL, 0, out, err);
	else
		rc = certrep(o, SCEP_STATUS_PENDING, SCEP_FAIL_NONE, NULL, 0, out, err);
out:
	req.csr_der = NULL; /* borrowed */
	store_request_free(&req);
	return rc;
}

static int handle_enroll(op *o, ca_http_reply *out, ec_err *err)
{
	int rc = -1;
	ca_gen *gen = NULL;
	uint8_t *csr_der = NULL;
	size_t csr_len = 0;
	X509_REQ *csr = NULL;
	char challenge[256] = "";
	ec_err why;
	store_request prev;
	memset(&prev, 0, sizeof(prev));

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
		rc = failure(o, SCEP_FAIL_BADREQUEST, "the request's subject name is empty", out, err);
		goto out;
	}
	if (pki_csr_check_policy(csr, &why) != 0) {
		rc = failure(o, SCEP_FAIL_BADREQUEST, why.msg, out, err);
		goto out;
	}
	pthread_mutex_lock(ca_tx_lock(o->ca, o->msg->txid));
	int found = store_request_find(o->ca->store, o->msg->txid, o->signer_fp, &prev, err);
	if (found == 0 && prev.state != STORE_REQ_EXPIRED) {
		rc = answer_request(o, &prev, out, err);
	} else if (found < 0) {
		rc = -1;
	} else {
		store_request_free(&prev);
		found = store_request_find(o->ca->store, o->msg->txid, NULL, &prev, err);
		char pubkey_fp[65] = "";
		if (found < 0 || pki_spki_fingerprint(X509_REQ_get_X509_PUBKEY(csr), pubkey_fp) != 0)
			rc = found < 0 ? -1 : failure(o, SCEP_FAIL_BADREQUEST, "the request has no usable public key", out, err);
		else if (found == 0 && strcmp(prev.pubkey_fp, pubkey_fp) != 0)
			rc = failure(o, SCEP_FAIL_BADREQUEST, "transactionID already used with another public key", out, err);
		else
			rc = act_on_new(o, gen, csr, csr_der, csr_len, challenge, out, err);
	}
	pthread_mutex_unlock(ca_tx_lock(o->ca, o->msg->txid));
out:
	OPENSSL_cleanse(challenge, sizeof(challenge));
	store_request_free(&prev);
	X509_REQ_free(csr);
	free(csr_der);
	return rc;
}

static int handle_poll(op *o, ca_http_reply *out, ec_err *err)
{
	ca_gen *gen = NULL;
	uint8_t *payload = NULL;
	size_t len = 0;
	ec_err why;
	if (open_envelope(o, &gen, &payload, &len, &why) != 0)
		return failure(o, SCEP_FAIL_BADMESSAGECHECK, why.msg, out, err);
	free(payload);
	store_request req;
	memset(&req, 0, sizeof(req));
	pthread_mutex_lock(ca_tx_lock(o->ca, o->msg->txid));
	int rc;
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

static int handle_getcert(op *o, ca_http_reply *out, ec_err *err)
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

static int handle_getcrl(op *o, ca_http_reply *out, ec_err *err)
{
	ca_gen *gen = NULL;
	uint8_t *payload = NULL;
	size_t len = 0;
	ec_err why;
	if (open_envelope(o, &gen, &payload, &len, &why) != 0)
		return failure(o, SCEP_FAIL_BADMESSAGECHECK, why.msg, out, err);
	free(payload);
	X509_CRL *crl = NULL;
	if (pki_crl_from_der(o->ca->crl_der, o->ca->crl_len, &crl, err) != 0)
		return -1;
	int rc = success_with(o, NULL, crl, out, err);
	X509_CRL_free(crl);
	return rc;
}

static int dispatch(op *o, ca_http_reply *out, ec_err *err)
{
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
                     ec_time now, ca_http_reply *out, ec_err *err)
{
	memset(out, 0, sizeof(*out));
	out->retry_after_seconds = -1;
	if (len > SCEP_MESSAGE_MAX)
		return ec_err_set(err, "pkiMessage larger than %d bytes", SCEP_MESSAGE_MAX);
	scep_msg *msg = NULL;
	if (scep_msg_parse(msg_der, len, &msg, err) != 0)
		return -1;
	op o = {.ca = ca, .msg = msg, .now = now, .source = source ? source : "?"};
	pthread_rwlock_rdlock(&ca->lock);
	int rc = dispatch(&o, out, err);
	pthread_rwlock_unlock(&ca->lock);
	scep_msg_free(msg);
	return rc == 0 ? 0 : -2;
}
