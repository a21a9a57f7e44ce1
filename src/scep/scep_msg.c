/*
 * scep_msg.c - reading a pkiMessage: the outer signedData and its SCEP attributes, the choice
 * of recipient, and opening the envelope.
 */
#include "scep/scep.h"
#include "scep/scep_int.h"

#include "pki/pki.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>

/* Longest decimal number accepted in messageType, pkiStatus and failInfo. */
#define NUMBER_DIGITS_MAX 4

static scep_msg *msg_new(void)
{
	scep_msg *msg = calloc(1, sizeof(*msg));
	if (msg == NULL)
		return NULL;
	msg->status = -1;
	msg->fail_info = SCEP_FAIL_NONE;
	return msg;
}

void scep_msg_free(scep_msg *msg)
{
	if (msg == NULL)
		return;
	X509_free(msg->signer);
	PKCS7_free(msg->priv);
	free(msg);
}

static bool type_fits(int type, bool text)
{
	if (text)
		return type == V_ASN1_PRINTABLESTRING || type == V_ASN1_IA5STRING || type == V_ASN1_UTF8STRING;
	return type == V_ASN1_OCTET_STRING;
}

/* The single value of a signed attribute, *value NULL when absent; -1 when the attribute is
 * repeated, has several values or a value of another type. */
static int attr_get(PKCS7_SIGNER_INFO *si, enum scep_attr which, bool text,
                    const ASN1_STRING **value, ec_err *err)
{
	STACK_OF(X509_ATTRIBUTE) *attrs = PKCS7_get_signed_attributes(si);
	int nid = scep_attr_nid(which);
	const char *name = OBJ_nid2sn(nid);

	*value = NULL;
	int idx = X509at_get_attr_by_NID(attrs, nid, -1);
	if (idx < 0)
		return 0;
	if (X509at_get_attr_by_NID(attrs, nid, idx) >= 0)
		return ec_err_set(err, "%s appears more than once", name);
	X509_ATTRIBUTE *attr = X509at_get_attr(attrs, idx);
	if (X509_ATTRIBUTE_count(attr) != 1)
		return ec_err_set(err, "%s must have exactly one value", name);
	ASN1_TYPE *t = X509_ATTRIBUTE_get0_type(attr, 0);
	if (t == NULL || !type_fits(t->type, text) || t->value.asn1_string == NULL)
		return ec_err_set(err, "%s has an unexpected ASN.1 type", name);
	*value = t->value.asn1_string;
	return 0;
}

/* A printable attribute copied as a C string into out; *present false when absent. */
static int attr_text(PKCS7_SIGNER_INFO *si, enum scep_attr which, char *out, size_t outsz,
                     bool *present, ec_err *err)
{
	const ASN1_STRING *s = NULL;
	const char *name = OBJ_nid2sn(scep_attr_nid(which));

	*present = false;
	if (attr_get(si, which, true, &s, err) != 0)
		return -1;
	if (s == NULL)
		return 0;
	int n = ASN1_STRING_length(s);
	const unsigned char *d = ASN1_STRING_get0_data(s);
	if (n <= 0 || (size_t)n >= outsz)
		return ec_err_set(err, "%s is empty or longer than %zu characters", name, outsz - 1);
	for (int i = 0; i < n; i++) {
		if (d[i] < 0x20 || d[i] > 0x7e)
			return ec_err_set(err, "%s holds a non-printable character", name);
	}
	memcpy(out, d, (size_t)n);
	out[n] = '\0';
	*present = true;
	return 0;
}

/* A decimal attribute (messageType, pkiStatus, failInfo); *present false when absent. */
static int attr_number(PKCS7_SIGNER_INFO *si, enum scep_attr which, int *value, bool *present,
                       ec_err *err)
{
	char text[NUMBER_DIGITS_MAX + 1];
	int v = 0;

	int rc = attr_text(si, which, text, sizeof(text), present, err);
	if (rc != 0 || !*present)
		return rc;
	for (const char *c = text; *c != '\0'; c++) {
		if (*c < '0' || *c > '9')
			return ec_err_set(err, "%s is not a decimal number", OBJ_nid2sn(scep_attr_nid(which)));
		v = v * 10 + (*c - '0');
	}
	*value = v;
	return 0;
}

/* An OCTET STRING nonce of at most SCEP_NONCE_MAX bytes; *len 0 when absent. */
static int attr_nonce(PKCS7_SIGNER_INFO *si, enum scep_attr which, uint8_t *out, size_t *len,
                      ec_err *err)
{
	const ASN1_STRING *s = NULL;

	*len = 0;
	if (attr_get(si, which, false, &s, err) != 0)
		return -1;
	if (s == NULL)
		return 0;
	int n = ASN1_STRING_length(s);
	if (n < 0 || n > SCEP_NONCE_MAX)
		return ec_err_set(err, "%s is longer than %d bytes", OBJ_nid2sn(scep_attr_nid(which)),
		                  SCEP_NONCE_MAX);
	if (n > 0)
		memcpy(out, ASN1_STRING_get0_data(s), (size_t)n);
	*len = (size_t)n;
	return 0;
}

static int read_attrs(PKCS7_SIGNER_INFO *si, scep_msg *msg, ec_err *err)
{
	bool present = false;

	if (attr_text(si, SCEP_ATTR_TXID, msg->txid, sizeof(msg->txid), &present, err) != 0)
		return -1;
	if (!present)
		return ec_err_set(err, "transactionID is missing");
	if (attr_number(si, SCEP_ATTR_MSGTYPE, &msg->type, &present, err) != 0)
		return -1;
	if (!present)
		return ec_err_set(err, "messageType is missing");
	if (attr_number(si, SCEP_ATTR_STATUS, &msg->status, &present, err) != 0)
		return -1;
	if (!present && msg->type == SCEP_MSG_CERTREP)
		return ec_err_set(err, "CertRep without pkiStatus");
	if (attr_number(si, SCEP_ATTR_FAILINFO, &msg->fail_info, &present, err) != 0)
		return -1;
	if (attr_nonce(si, SCEP_ATTR_SENDER_NONCE, msg->sender_nonce, &msg->sender_nonce_len, err) != 0)
		return -1;
	return attr_nonce(si, SCEP_ATTR_RECIPIENT_NONCE, msg->recipient_nonce,
	                  &msg->recipient_nonce_len, err);
}

/* The certificate named by the signerInfo must travel in the certificates field. */
static int read_signer(PKCS7 *p7, PKCS7_SIGNER_INFO *si, scep_msg *msg, ec_err *err)
{
	STACK_OF(X509) *certs = p7->d.sign->cert;

	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *c = sk_X509_value(certs, i);
		if (scep_ias_matches(si->issuer_and_serial, c)) {
			/* Parsed without its key (see scep_msg_parse): read it now, for this one. */
			msg->signer = pki_cert_keyed(c);
			if (msg->signer == NULL)
				return ec_err_ssl(err, "the signer certificate cannot be read");
			break;
		}
	}
	if (msg->signer == NULL)
		return ec_err_set(err, "the signer certificate is not in the message");
	return 0;
}

/* An envelope PKCS#7 cannot read may be CMS envelopedData whose recipients use key agreement,
 * a key-encryption key or a password (RFC 5652 kari, kekri, pwri): refused algorithms, answered
 * badAlg rather than as garbage. Only read when PKCS#7 could not. */
static bool refused_recipient(const uint8_t *der, size_t len, scep_msg *msg)
{
	static const char *const kinds[] = {
		[CMS_RECIPINFO_AGREE] = "key agreement", [CMS_RECIPINFO_KEK] = "a key-encryption key",
		[CMS_RECIPINFO_PASS] = "a password", [CMS_RECIPINFO_OTHER] = "another recipient kind",
	};
	const unsigned char *p = der;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	const char *kind = NULL;
	if (cms != NULL && p == der + len && OBJ_obj2nid(CMS_get0_type(cms)) == NID_pkcs7_enveloped) {
		STACK_OF(CMS_RecipientInfo) *ris = CMS_get0_RecipientInfos(cms);
		for (int i = 0; i < sk_CMS_RecipientInfo_num(ris) && kind == NULL; i++) {
			int type = CMS_RecipientInfo_type(sk_CMS_RecipientInfo_value(ris, i));
			if (type > CMS_RECIPINFO_TRANS && type <= CMS_RECIPINFO_OTHER)
				kind = kinds[type];
		}
	}
	CMS_ContentInfo_free(cms);
	ERR_clear_error();
	if (kind != NULL && msg->bad_alg[0] == '\0')
		snprintf(msg->bad_alg, sizeof(msg->bad_alg), "an envelope key transported by %s is not accepted", kind);
	return kind != NULL;
}

/* Empty or absent content means no pkcsPKIEnvelope; otherwise it must be envelopedData, whose
 * algorithms are then checked. authEnvelopedData (AES-GCM and the like) is an envelope, with a
 * refused algorithm. */
static int read_envelope(PKCS7 *p7, scep_msg *msg, ec_err *err)
{
	const ASN1_OCTET_STRING *os = p7->d.sign->contents->d.data;

	if (os == NULL || ASN1_STRING_length(os) <= 0)
		return 0;
	const uint8_t *der = ASN1_STRING_get0_data(os);
	size_t len = (size_t)ASN1_STRING_length(os);
	PKCS7 *env = scep_asn1_read(der, len, ASN1_ITEM_rptr(PKCS7), "pkcsPKIEnvelope", err);
	if (env == NULL && refused_recipient(der, len, msg)) {
		msg->has_envelope = true;
		return 0;
	}
	if (env == NULL)
		return -1;
	int type = OBJ_obj2nid(env->type);
	if (type != NID_id_smime_ct_authEnvelopedData && (type != NID_pkcs7_enveloped || env->d.ptr == NULL)) {
		PKCS7_free(env);
		return ec_err_set(err, "pkcsPKIEnvelope is not envelopedData");
	}
	msg->has_envelope = true;
	if (type == NID_id_smime_ct_authEnvelopedData) {
		if (msg->bad_alg[0] == '\0')
			snprintf(msg->bad_alg, sizeof(msg->bad_alg), "authEnvelopedData (an authenticated cipher "
			         "such as AES-GCM) is not accepted");
		PKCS7_free(env);
		return 0;
	}
	msg->priv = env;
	char why[SCEP_BAD_ALG_MAX];
	if (scep_alg_check_envelope(env, &msg->cipher, why, sizeof(why)) != 0 && msg->bad_alg[0] == '\0')
		snprintf(msg->bad_alg, sizeof(msg->bad_alg), "%s", why);
	return 0;
}

/* Whether the signature verifies: PKCS#7 cannot check RSASSA-PSS, CMS can (at the cost of
 * reading the message again, with its certificates' keys: only for PSS). */
static bool signature_ok(const uint8_t *der, size_t len, PKCS7 *p7, PKCS7_SIGNER_INFO *si, X509 *signer,
                         bool pss)
{
	return pss ? scep_cms_signature_ok(der, len, signer) : scep_p7_signature_ok(p7, si, signer);
}

int scep_msg_parse(const uint8_t *der, size_t len, scep_msg **out, ec_err *err)
{
	int rc = -1;
	PKCS7 *p7 = NULL;
	scep_msg *msg = NULL;
	PKCS7_SIGNER_INFO *si = NULL; /* owned by p7 */

	*out = NULL;
	if (scep_ensure_init(err) != 0)
		goto out;
	/* Only the signer's public key is needed: the certificates are read without theirs. */
	p7 = scep_p7_read_in(der, len, NID_pkcs7_signed, "pkiMessage", pki_keyless_libctx(), err);
	if (p7 == NULL)
		goto out;
	si = scep_p7_single_signer(p7, err);
	if (si == NULL)
		goto out;
	msg = msg_new();
	if (msg == NULL) {
		ec_err_set(err, "out of memory");
		goto out;
	}
	bool pss = false;
	if (read_signer(p7, si, msg, err) != 0 || read_attrs(si, msg, err) != 0)
		goto out;
	scep_alg_check_signer(si, &msg->digest, &pss, msg->bad_alg, sizeof(msg->bad_alg));
	if (read_envelope(p7, msg, err) != 0)
		goto out;
	msg->signature_ok = msg->bad_alg[0] == '\0' && msg->digest != NULL &&
	                    signature_ok(der, len, p7, si, msg->signer, pss);
	*out = msg;
	msg = NULL;
	rc = 0;
out:
	scep_msg_free(msg);
	PKCS7_free(p7);
	ERR_clear_error();
	return rc;
}

int scep_msg_recipient_index(const scep_msg *msg, X509 *const *certs, size_t n)
{
	if (msg == NULL || msg->priv == NULL || certs == NULL)
		return -1;
	const PKCS7 *env = msg->priv;
	STACK_OF(PKCS7_RECIP_INFO) *ris = env->d.enveloped->recipientinfo;
	for (size_t i = 0; i < n && i < INT_MAX; i++) {
		for (int j = 0; certs[i] != NULL && j < sk_PKCS7_RECIP_INFO_num(ris); j++) {
			if (scep_ias_matches(sk_PKCS7_RECIP_INFO_value(ris, j)->issuer_and_serial, certs[i]))
				return (int)i;
		}
	}
	return -1;
}

/* The content-encryption cipher named in the envelope when the envelope's algorithms are on the
 * allow-list, or NULL with a reason. */
static const EVP_CIPHER *envelope_cipher(const PKCS7 *env, ec_err *err)
{
	char why[SCEP_BAD_ALG_MAX];
	const EVP_CIPHER *c = NULL;
	if (scep_alg_check_envelope(env, &c, why, sizeof(why)) != 0)
		ec_err_set(err, "%s", why);
	return c;
}

/* The RecipientInfo naming cert, or NULL. */
static PKCS7_RECIP_INFO *recipient_of(const PKCS7 *env, X509 *cert)
{
	STACK_OF(PKCS7_RECIP_INFO) *ris = env->d.enveloped->recipientinfo;
	for (int i = 0; i < sk_PKCS7_RECIP_INFO_num(ris); i++)
		if (scep_ias_matches(sk_PKCS7_RECIP_INFO_value(ris, i)->issuer_and_serial, cert))
			return sk_PKCS7_RECIP_INFO_value(ris, i);
	return NULL;
}

/* Opens the envelope into out: through CMS when the key is transported with RSAES-OAEP, which
 * PKCS#7 cannot unwrap; through PKCS#7 otherwise. */
static bool open_envelope(PKCS7 *env, X509 *cert, EVP_PKEY *key, BIO *out)
{
	if (!scep_alg_is_oaep(recipient_of(env, cert)))
		return PKCS7_decrypt(env, key, cert, out, 0) == 1;
	uint8_t *der = NULL;
	size_t len = 0;
	ec_err ignored;
	if (scep_p7_der(env, &der, &len, &ignored) != 0)
		return false;
	const unsigned char *p = der;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	bool ok = cms != NULL && CMS_decrypt(cms, key, cert, NULL, out, CMS_BINARY) == 1;
	CMS_ContentInfo_free(cms);
	free(der);
	return ok;
}

int scep_msg_decrypt(const scep_msg *msg, X509 *cert, EVP_PKEY *key, uint8_t **payload,
                     size_t *payload_len, const EVP_CIPHER **cipher, ec_err *err)
{
	int rc = -1;
	BIO *mem = NULL;
	uint8_t *buf = NULL;
	char *data = NULL; /* owned by mem */
	const EVP_CIPHER *c = NULL;

	if (msg == NULL || !msg->has_envelope || msg->priv == NULL || cert == NULL || key == NULL) {
		ec_err_set(err, "no pkcsPKIEnvelope to open, or no certificate and key");
		goto out;
	}
	c = envelope_cipher(msg->priv, err);
	if (c == NULL)
		goto out;
	mem = BIO_new(BIO_s_mem());
	if (mem == NULL) {
		ec_err_set(err, "out of memory");
		goto out;
	}
	if (!open_envelope(msg->priv, cert, key, mem)) {
		ec_err_ssl(err, "cannot open the pkcsPKIEnvelope (%s)", EVP_CIPHER_get0_name(c));
		goto out;
	}
	long n = BIO_get_mem_data(mem, &data);
	if (n <= 0 || n > SCEP_MESSAGE_MAX) {
		ec_err_set(err, "the pkcsPKIEnvelope holds no payload");
		goto out;
	}
	buf = malloc((size_t)n);
	if (buf == NULL) {
		ec_err_set(err, "out of memory");
		goto out;
	}
	memcpy(buf, data, (size_t)n);
	*payload = buf;
	*payload_len = (size_t)n;
	buf = NULL;
	if (cipher != NULL)
		*cipher = c;
	rc = 0;
out:
	free(buf);
	BIO_free(mem);
	ERR_clear_error();
	return rc;
}
