/*
 * scep_build.c - building pkiMessages: requests (client side) and CertRep (CA side).
 */
#include "scep/scep.h"
#include "scep/scep_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The SCEP attributes of one message, with storage for the decimal ones. */
struct attr_set {
	struct scep_attr_value v[SCEP_ATTR_COUNT];
	size_t n;
	char type_text[8];
	char status_text[8];
	char fail_text[8];
};

static void attr_push(struct attr_set *as, enum scep_attr which, int type, const void *data, size_t len)
{
	as->v[as->n].nid = scep_attr_nid(which);
	as->v[as->n].type = type;
	as->v[as->n].data = data;
	as->v[as->n].len = len;
	as->n++;
}

static void attr_push_number(struct attr_set *as, enum scep_attr which, char *text, size_t size, int v)
{
	snprintf(text, size, "%d", v);
	attr_push(as, which, V_ASN1_PRINTABLESTRING, text, strlen(text));
}

static bool txid_ok(const char *txid)
{
	if (txid == NULL || txid[0] == '\0')
		return false;
	size_t n = strnlen(txid, SCEP_TXID_MAX + 1);
	if (n > SCEP_TXID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)txid[i] < 0x20 || (unsigned char)txid[i] > 0x7e)
			return false;
	}
	return true;
}

static bool is_request_type(int type)
{
	return type == SCEP_MSG_PKCSREQ || type == SCEP_MSG_RENEWALREQ || type == SCEP_MSG_CERTPOLL ||
	       type == SCEP_MSG_GETCERT || type == SCEP_MSG_GETCRL;
}

static int check_request(const scep_request_params *p, ec_err *err)
{
	if (p == NULL)
		return ec_err_set(err, "no request parameters");
	if (!is_request_type(p->type))
		return ec_err_set(err, "messageType %d is not a request", p->type);
	if (!txid_ok(p->txid))
		return ec_err_set(err, "transactionID must be 1 to %d printable characters", SCEP_TXID_MAX);
	if (p->sender_nonce == NULL)
		return ec_err_set(err, "senderNonce is required");
	if (p->signer_cert == NULL || p->signer_key == NULL || p->digest == NULL)
		return ec_err_set(err, "signer certificate, key and digest are required");
	return 0;
}

/* One pkiMessage: the payload, enveloped for recipient with cipher when encrypt is set (otherwise
 * the content is empty), signed by signer/key with md and the attributes. */
struct message {
	const uint8_t *payload;
	size_t payload_len;
	bool encrypt;
	X509 *recipient;
	const EVP_CIPHER *cipher;
	X509 *signer;
	EVP_PKEY *key;
	const EVP_MD *md;
	struct attr_set as;
};

/* Envelopes and signs m and returns the pkiMessage DER. */
static int build_message(const struct message *m, uint8_t **der, size_t *len, ec_err *err)
{
	uint8_t *env = NULL;
	size_t env_len = 0;
	if (m->encrypt && scep_envelope(m->payload, m->payload_len, m->recipient, m->cipher, &env, &env_len, err) != 0) {
		free(env);
		return -1;
	}
	struct scep_sign_params sp = {.cert = m->signer, .key = m->key, .md = m->md, .content = env,
	                              .content_len = env_len, .include_cert = true, .attrs = m->as.v,
	                              .nattrs = m->as.n};
	PKCS7 *p7 = scep_p7_sign(&sp, err);
	int rc = p7 != NULL ? scep_p7_der(p7, der, len, err) : -1;
	PKCS7_free(p7);
	free(env);
	return rc;
}

int scep_build_request(const scep_request_params *p, uint8_t **der, size_t *len, ec_err *err)
{
	if (scep_ensure_init(err) != 0 || check_request(p, err) != 0)
		return -1;
	struct message m = {.payload = p->payload, .payload_len = p->payload_len, .encrypt = true,
	                    .recipient = p->recipient, .cipher = p->cipher, .signer = p->signer_cert,
	                    .key = p->signer_key, .md = p->digest};
	attr_push(&m.as, SCEP_ATTR_TXID, V_ASN1_PRINTABLESTRING, p->txid, strlen(p->txid));
	attr_push_number(&m.as, SCEP_ATTR_MSGTYPE, m.as.type_text, sizeof(m.as.type_text), p->type);
	attr_push(&m.as, SCEP_ATTR_SENDER_NONCE, V_ASN1_OCTET_STRING, p->sender_nonce, SCEP_NONCE_LEN);
	return build_message(&m, der, len, err);
}

static int check_reply(const scep_reply_params *p, ec_err *err)
{
	if (p == NULL)
		return ec_err_set(err, "no reply parameters");
	if (!txid_ok(p->txid))
		return ec_err_set(err, "transactionID must be 1 to %d printable characters", SCEP_TXID_MAX);
	if (p->recipient_nonce_len > SCEP_NONCE_MAX || (p->recipient_nonce == NULL && p->recipient_nonce_len > 0))
		return ec_err_set(err, "recipientNonce longer than %d bytes", SCEP_NONCE_MAX);
	if (p->sender_nonce == NULL)
		return ec_err_set(err, "senderNonce is required");
	if (p->signer_cert == NULL || p->signer_key == NULL || p->digest == NULL)
		return ec_err_set(err, "signer certificate, key and digest are required");
	if (p->status == SCEP_STATUS_FAILURE && (p->fail_info < SCEP_FAIL_BADALG || p->fail_info > SCEP_FAIL_BADCERTID))
		return ec_err_set(err, "FAILURE needs a failInfo, not %d", p->fail_info);
	if (p->status == SCEP_STATUS_SUCCESS && (p->recipient_cert == NULL || p->cipher == NULL))
		return ec_err_set(err, "SUCCESS needs a recipient certificate and a cipher");
	if (!scep_digest_allowed(p->digest))
		return ec_err_set(err, "a reply is never signed with %s", EVP_MD_get0_name(p->digest));
	if (p->status == SCEP_STATUS_SUCCESS && !scep_cipher_allowed(p->cipher))
		return ec_err_set(err, "a reply is never encrypted with %s", EVP_CIPHER_get0_name(p->cipher));
	if (p->status != SCEP_STATUS_SUCCESS && p->status != SCEP_STATUS_FAILURE && p->status != SCEP_STATUS_PENDING)
		return ec_err_set(err, "pkiStatus %d is not SUCCESS, FAILURE or PENDING", p->status);
	return 0;
}

static void reply_attrs(const scep_reply_params *p, struct attr_set *as)
{
	attr_push(as, SCEP_ATTR_TXID, V_ASN1_PRINTABLESTRING, p->txid, strlen(p->txid));
	attr_push_number(as, SCEP_ATTR_MSGTYPE, as->type_text, sizeof(as->type_text), SCEP_MSG_CERTREP);
	attr_push_number(as, SCEP_ATTR_STATUS, as->status_text, sizeof(as->status_text), p->status);
	if (p->status == SCEP_STATUS_FAILURE)
		attr_push_number(as, SCEP_ATTR_FAILINFO, as->fail_text, sizeof(as->fail_text), p->fail_info);
	attr_push(as, SCEP_ATTR_SENDER_NONCE, V_ASN1_OCTET_STRING, p->sender_nonce, SCEP_NONCE_LEN);
	if (p->recipient_nonce_len > 0)
		attr_push(as, SCEP_ATTR_RECIPIENT_NONCE, V_ASN1_OCTET_STRING, p->recipient_nonce,
		          p->recipient_nonce_len);
}

/* PENDING and FAILURE carry empty data content, which sscep-style clients expect; the parser
 * accepts absent content too. */
int scep_build_certrep(const scep_reply_params *p, uint8_t **der, size_t *len, ec_err *err)
{
	if (scep_ensure_init(err) != 0 || check_reply(p, err) != 0)
		return -1;
	struct message m = {.payload = p->payload, .payload_len = p->payload_len,
	                    .encrypt = p->status == SCEP_STATUS_SUCCESS, .recipient = p->recipient_cert,
	                    .cipher = p->cipher, .signer = p->signer_cert, .key = p->signer_key, .md = p->digest};
	reply_attrs(p, &m.as);
	return build_message(&m, der, len, err);
}
