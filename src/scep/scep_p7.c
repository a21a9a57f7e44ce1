/*
 * scep_p7.c - the PKCS#7 plumbing shared by messages, payloads and GetNextCACert replies:
 * signing without a signingTime, bounded reading, signature checks, envelopes.
 */
#include "scep/scep_int.h"

#include <limits.h>
#include <stdlib.h>

#include <openssl/asn1t.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>

static int add_scep_attrs(PKCS7_SIGNER_INFO *si, const struct scep_sign_params *sp, ec_err *err)
{
	for (size_t i = 0; i < sp->nattrs; i++) {
		const struct scep_attr_value *a = &sp->attrs[i];
		if (a->len > INT_MAX)
			return ec_err_set(err, "attribute %s too long", OBJ_nid2sn(a->nid));
		if (X509at_add1_attr_by_NID(&si->auth_attr, a->nid, a->type, a->data, (int)a->len) == NULL)
			return ec_err_ssl(err, "adding attribute %s", OBJ_nid2sn(a->nid));
	}
	return 0;
}

/* contentType, messageDigest and the caller's attributes, then the signature over them. */
static int sign_attrs(PKCS7_SIGNER_INFO *si, const struct scep_sign_params *sp, ec_err *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(sp->content, sp->content_len, md, &mdlen, sp->md, NULL))
		return ec_err_ssl(err, "digesting the content");
	if (!PKCS7_add1_attrib_digest(si, md, (int)mdlen) || !PKCS7_add_attrib_content_type(si, NULL))
		return ec_err_ssl(err, "adding contentType and messageDigest");
	if (add_scep_attrs(si, sp, err) != 0)
		return -1;
	if (PKCS7_SIGNER_INFO_sign(si) <= 0)
		return ec_err_ssl(err, "signing");
	return 0;
}

PKCS7 *scep_p7_sign(const struct scep_sign_params *sp, ec_err *err)
{
	PKCS7 *p7 = NULL;
	PKCS7 *ret = NULL;
	PKCS7_SIGNER_INFO *si = NULL; /* owned by p7 */

	if (sp->cert == NULL || sp->key == NULL || sp->md == NULL) {
		ec_err_set(err, "signer certificate, key and digest are required");
		goto out;
	}
	if (sp->content_len > INT_MAX || (sp->content == NULL && sp->content_len > 0)) {
		ec_err_set(err, "content too large");
		goto out;
	}
	if (X509_check_private_key(sp->cert, sp->key) != 1) {
		ec_err_ssl(err, "the signer key does not match the signer certificate");
		goto out;
	}
	p7 = PKCS7_new();
	if (p7 == NULL || !PKCS7_set_type(p7, NID_pkcs7_signed) || !PKCS7_content_new(p7, NID_pkcs7_data) ||
	    !ASN1_OCTET_STRING_set(p7->d.sign->contents->d.data, sp->content, (int)sp->content_len)) {
		ec_err_ssl(err, "creating signedData");
		goto out;
	}
	si = PKCS7_add_signature(p7, sp->cert, sp->key, sp->md);
	if (si == NULL) {
		ec_err_ssl(err, "adding the signerInfo");
		goto out;
	}
	if (sp->include_cert && !PKCS7_add_certificate(p7, sp->cert)) {
		ec_err_ssl(err, "adding the signer certificate");
		goto out;
	}
	if (sign_attrs(si, sp, err) != 0)
		goto out;
	ret = p7;
	p7 = NULL;
out:
	PKCS7_free(p7);
	return ret;
}

int scep_p7_add_certs(PKCS7 *p7, STACK_OF(X509) *certs, ec_err *err)
{
	for (int i = 0; i < sk_X509_num(certs); i++) {
		if (!PKCS7_add_certificate(p7, sk_X509_value(certs, i)))
			return ec_err_ssl(err, "adding a certificate");
	}
	return 0;
}

int scep_asn1_der(const void *obj, const ASN1_ITEM *it, uint8_t **der, size_t *len, ec_err *err)
{
	int rc = -1;
	uint8_t *buf = NULL;
	unsigned char *p = NULL;

	int n = ASN1_item_i2d((const ASN1_VALUE *)obj, NULL, it);
	if (n <= 0) {
		ec_err_ssl(err, "encoding %s", it->sname);
		goto out;
	}
	buf = malloc((size_t)n);
	if (buf == NULL) {
		ec_err_set(err, "out of memory");
		goto out;
	}
	p = buf;
	if (ASN1_item_i2d((const ASN1_VALUE *)obj, &p, it) != n) {
		ec_err_ssl(err, "encoding %s", it->sname);
		goto out;
	}
	*der = buf;
	*len = (size_t)n;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	return rc;
}

int scep_p7_der(PKCS7 *p7, uint8_t **der, size_t *len, ec_err *err)
{
	return scep_asn1_der(p7, ASN1_ITEM_rptr(PKCS7), der, len, err);
}

void *scep_asn1_read(const uint8_t *der, size_t len, const ASN1_ITEM *it, const char *what, ec_err *err)
{
	return scep_asn1_read_in(der, len, it, what, NULL, err);
}

void *scep_asn1_read_in(const uint8_t *der, size_t len, const ASN1_ITEM *it, const char *what,
                        OSSL_LIB_CTX *libctx, ec_err *err)
{
	ASN1_VALUE *v = NULL;
	const unsigned char *p = der;

	if (der == NULL || len == 0) {
		ec_err_set(err, "empty %s", what);
		return NULL;
	}
	if (len > SCEP_MESSAGE_MAX) {
		ec_err_set(err, "%s too large (%zu bytes, at most %d)", what, len, SCEP_MESSAGE_MAX);
		return NULL;
	}
	v = ASN1_item_d2i_ex(NULL, &p, (long)len, it, libctx, NULL);
	if (v == NULL) {
		ec_err_ssl(err, "%s is not valid DER", what);
		return NULL;
	}
	if ((size_t)(p - der) != len) {
		ec_err_set(err, "%s has %zu trailing bytes", what, len - (size_t)(p - der));
		ASN1_item_free(v, it);
		return NULL;
	}
	return v;
}

/* The body of a PKCS#7 of the expected type is present and, for signedData, holds data. */
static int check_body(PKCS7 *p7, int nid, const char *what, ec_err *err)
{
	if (OBJ_obj2nid(p7->type) != nid || p7->d.ptr == NULL)
		return ec_err_set(err, "%s is not %s", what, OBJ_nid2ln(nid));
	if (nid == NID_pkcs7_signed && !PKCS7_type_is_data(p7->d.sign->contents))
		return ec_err_set(err, "%s does not carry data content", what);
	return 0;
}

PKCS7 *scep_p7_read(const uint8_t *der, size_t len, int nid, const char *what, ec_err *err)
{
	return scep_p7_read_in(der, len, nid, what, NULL, err);
}

PKCS7 *scep_p7_read_in(const uint8_t *der, size_t len, int nid, const char *what, OSSL_LIB_CTX *libctx,
                       ec_err *err)
{
	PKCS7 *p7 = scep_asn1_read_in(der, len, ASN1_ITEM_rptr(PKCS7), what, libctx, err);
	if (p7 != NULL && check_body(p7, nid, what, err) != 0) {
		PKCS7_free(p7);
		p7 = NULL;
	}
	return p7;
}

PKCS7_SIGNER_INFO *scep_p7_single_signer(PKCS7 *p7, ec_err *err)
{
	STACK_OF(PKCS7_SIGNER_INFO) *sis = PKCS7_get_signer_info(p7);
	int n = sk_PKCS7_SIGNER_INFO_num(sis);
	if (n != 1) {
		ec_err_set(err, "signedData has %d signerInfos, expected exactly one", n < 0 ? 0 : n);
		return NULL;
	}
	return sk_PKCS7_SIGNER_INFO_value(sis, 0);
}

bool scep_p7_signature_ok(PKCS7 *p7, PKCS7_SIGNER_INFO *si, X509 *signer)
{
	bool ok = false;
	BIO *chain = NULL;
	char buf[4096];

	/* Absent content reads as empty: PKCS7_dataInit gives a null source for it. */
	chain = PKCS7_dataInit(p7, NULL);
	if (chain == NULL)
		goto out;
	while (BIO_read(chain, buf, sizeof(buf)) > 0)
		continue;
	ok = PKCS7_signatureVerify(chain, p7, si, signer) == 1;
out:
	BIO_free_all(chain);
	ERR_clear_error();
	return ok;
}

bool scep_cms_signature_ok(const uint8_t *der, size_t len, X509 *signer)
{
	bool ok = false;
	BIO *dcont = NULL;
	STACK_OF(X509) *certs = sk_X509_new_null(); /* borrows signer */
	const unsigned char *p = der;
	CMS_ContentInfo *cms = len <= SCEP_MESSAGE_MAX ? d2i_CMS_ContentInfo(NULL, &p, (long)len) : NULL;
	if (cms == NULL || certs == NULL || signer == NULL || !sk_X509_push(certs, signer))
		goto out;
	/* Absent content reads as empty, as on the PKCS#7 path. */
	ASN1_OCTET_STRING **content = CMS_get0_content(cms);
	if ((content == NULL || *content == NULL) && (dcont = BIO_new_mem_buf("", 0)) == NULL)
		goto out;
	/* The signer is the certificate given, whatever else travels in the message; whether it
	 * is trusted is the caller's business. */
	ok = CMS_verify(cms, certs, NULL, dcont, NULL, CMS_NO_SIGNER_CERT_VERIFY | CMS_NOINTERN | CMS_BINARY) == 1;
out:
	CMS_ContentInfo_free(cms);
	BIO_free(dcont);
	sk_X509_free(certs);
	ERR_clear_error();
	return ok;
}

bool scep_ias_matches(const PKCS7_ISSUER_AND_SERIAL *ias, X509 *cert)
{
	return ias != NULL && ias->issuer != NULL && ias->serial != NULL && cert != NULL &&
	       X509_NAME_cmp(ias->issuer, X509_get_issuer_name(cert)) == 0 &&
	       ASN1_INTEGER_cmp(ias->serial, X509_get0_serialNumber(cert)) == 0;
}

int scep_envelope(const uint8_t *payload, size_t payload_len, X509 *recipient,
                  const EVP_CIPHER *cipher, uint8_t **der, size_t *len, ec_err *err)
{
	int rc = -1;
	STACK_OF(X509) *recips = NULL; /* borrows recipient */
	BIO *in = NULL;
	PKCS7 *env = NULL;

	if (payload == NULL || payload_len == 0 || payload_len > SCEP_MESSAGE_MAX) {
		ec_err_set(err, "payload missing or too large");
		goto out;
	}
	if (recipient == NULL || cipher == NULL) {
		ec_err_set(err, "envelope recipient and cipher are required");
		goto out;
	}
	recips = sk_X509_new_null();
	in = BIO_new_mem_buf(payload, (int)payload_len);
	if (recips == NULL || in == NULL || !sk_X509_push(recips, recipient)) {
		ec_err_ssl(err, "out of memory");
		goto out;
	}
	env = PKCS7_encrypt(recips, in, cipher, PKCS7_BINARY);
	if (env == NULL) {
		ec_err_ssl(err, "encrypting the envelope with %s", EVP_CIPHER_get0_name(cipher));
		goto out;
	}
	rc = scep_p7_der(env, der, len, err);
out:
	PKCS7_free(env);
	BIO_free(in);
	sk_X509_free(recips);
	return rc;
}
