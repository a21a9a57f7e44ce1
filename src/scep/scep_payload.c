/*
 * scep_payload.c - what travels inside the envelope: degenerate certs-only PKCS#7,
 * IssuerAndSubject, IssuerAndSerialNumber and PKCS#10 requests.
 */
#include "scep/scep.h"
#include "scep/scep_int.h"

#include "pki/pki.h"

#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/err.h>
#include <openssl/objects.h>

int scep_degenerate_build(STACK_OF(X509) *certs, X509_CRL *crl, uint8_t **der, size_t *len, ec_err *err)
{
	int rc = -1;
	PKCS7 *p7 = PKCS7_new();

	if (p7 == NULL || !PKCS7_set_type(p7, NID_pkcs7_signed) || !PKCS7_content_new(p7, NID_pkcs7_data) ||
	    !PKCS7_set_detached(p7, 1)) {
		ec_err_ssl(err, "creating a degenerate PKCS#7");
		goto out;
	}
	if (scep_p7_add_certs(p7, certs, err) != 0)
		goto out;
	if (crl != NULL && !PKCS7_add_crl(p7, crl)) {
		ec_err_ssl(err, "adding the CRL");
		goto out;
	}
	rc = scep_p7_der(p7, der, len, err);
out:
	PKCS7_free(p7);
	return rc;
}

static STACK_OF(X509) *certs_dup(STACK_OF(X509) *in)
{
	STACK_OF(X509) *out = sk_X509_new_null();
	for (int i = 0; out != NULL && i < sk_X509_num(in); i++) {
		if (!X509_add_cert(out, sk_X509_value(in, i), X509_ADD_FLAG_UP_REF)) {
			sk_X509_pop_free(out, X509_free);
			out = NULL;
		}
	}
	return out;
}

static STACK_OF(X509_CRL) *crls_dup(STACK_OF(X509_CRL) *in)
{
	STACK_OF(X509_CRL) *out = sk_X509_CRL_new_null();
	for (int i = 0; out != NULL && i < sk_X509_CRL_num(in); i++) {
		X509_CRL *crl = sk_X509_CRL_value(in, i);
		if (!X509_CRL_up_ref(crl))
			goto fail;
		if (!sk_X509_CRL_push(out, crl)) {
			X509_CRL_free(crl);
			goto fail;
		}
	}
	return out;
fail:
	sk_X509_CRL_pop_free(out, X509_CRL_free);
	return NULL;
}

int scep_degenerate_parse(const uint8_t *der, size_t len, STACK_OF(X509) **certs,
                          STACK_OF(X509_CRL) **crls, ec_err *err)
{
	int rc = -1;
	PKCS7 *p7 = NULL;
	STACK_OF(X509) *c = NULL;
	STACK_OF(X509_CRL) *r = NULL;

	p7 = scep_p7_read(der, len, NID_pkcs7_signed, "degenerate PKCS#7", err);
	if (p7 == NULL)
		goto out;
	if ((certs != NULL && (c = certs_dup(p7->d.sign->cert)) == NULL) ||
	    (crls != NULL && (r = crls_dup(p7->d.sign->crl)) == NULL)) {
		ec_err_set(err, "out of memory");
		goto out;
	}
	if (certs != NULL)
		*certs = c;
	if (crls != NULL)
		*crls = r;
	c = NULL;
	r = NULL;
	rc = 0;
out:
	sk_X509_pop_free(c, X509_free);
	sk_X509_CRL_pop_free(r, X509_CRL_free);
	PKCS7_free(p7);
	return rc;
}

/* IssuerAndSubject ::= SEQUENCE { issuer Name, subject Name } (RFC 8894 3.3.3) */
typedef struct scep_issuer_and_subject_st {
	X509_NAME *issuer;
	X509_NAME *subject;
} SCEP_ISSUER_AND_SUBJECT;

ASN1_SEQUENCE(SCEP_ISSUER_AND_SUBJECT) = {
	ASN1_SIMPLE(SCEP_ISSUER_AND_SUBJECT, issuer, X509_NAME),
	ASN1_SIMPLE(SCEP_ISSUER_AND_SUBJECT, subject, X509_NAME),
} static_ASN1_SEQUENCE_END(SCEP_ISSUER_AND_SUBJECT)

IMPLEMENT_STATIC_ASN1_ALLOC_FUNCTIONS(SCEP_ISSUER_AND_SUBJECT)

int scep_issuer_and_subject_build(X509_NAME *issuer, X509_NAME *subject, uint8_t **der, size_t *len, ec_err *err)
{
	int rc = -1;
	SCEP_ISSUER_AND_SUBJECT *ias = SCEP_ISSUER_AND_SUBJECT_new();

	if (ias == NULL || issuer == NULL || subject == NULL || !X509_NAME_set(&ias->issuer, issuer) ||
	    !X509_NAME_set(&ias->subject, subject)) {
		ec_err_ssl(err, "building IssuerAndSubject");
		goto out;
	}
	rc = scep_asn1_der(ias, ASN1_ITEM_rptr(SCEP_ISSUER_AND_SUBJECT), der, len, err);
out:
	SCEP_ISSUER_AND_SUBJECT_free(ias);
	return rc;
}

/* Moves a name out of a decoded structure, leaving NULL in its place. */
static X509_NAME *take_name(X509_NAME **field)
{
	X509_NAME *name = *field;
	*field = NULL;
	return name;
}

int scep_issuer_and_subject_parse(const uint8_t *der, size_t len, X509_NAME **issuer,
                                  X509_NAME **subject, ec_err *err)
{
	SCEP_ISSUER_AND_SUBJECT *ias =
	        scep_asn1_read(der, len, ASN1_ITEM_rptr(SCEP_ISSUER_AND_SUBJECT), "IssuerAndSubject", err);
	if (ias == NULL)
		return -1;
	if (issuer != NULL)
		*issuer = take_name(&ias->issuer);
	if (subject != NULL)
		*subject = take_name(&ias->subject);
	SCEP_ISSUER_AND_SUBJECT_free(ias);
	return 0;
}

int scep_issuer_and_serial_build(X509_NAME *issuer, const ASN1_INTEGER *serial, uint8_t **der, size_t *len, ec_err *err)
{
	int rc = -1;
	ASN1_INTEGER *sn = NULL;
	PKCS7_ISSUER_AND_SERIAL *ias = PKCS7_ISSUER_AND_SERIAL_new();

	if (ias == NULL || issuer == NULL || serial == NULL || !X509_NAME_set(&ias->issuer, issuer) ||
	    (sn = ASN1_INTEGER_dup(serial)) == NULL) {
		ec_err_ssl(err, "building IssuerAndSerialNumber");
		goto out;
	}
	ASN1_INTEGER_free(ias->serial);
	ias->serial = sn;
	rc = scep_asn1_der(ias, ASN1_ITEM_rptr(PKCS7_ISSUER_AND_SERIAL), der, len, err);
out:
	PKCS7_ISSUER_AND_SERIAL_free(ias);
	return rc;
}

int scep_issuer_and_serial_parse(const uint8_t *der, size_t len, X509_NAME **issuer,
                                 ASN1_INTEGER **serial, ec_err *err)
{
	PKCS7_ISSUER_AND_SERIAL *ias =
	        scep_asn1_read(der, len, ASN1_ITEM_rptr(PKCS7_ISSUER_AND_SERIAL), "IssuerAndSerialNumber", err);
	if (ias == NULL)
		return -1;
	if (issuer != NULL)
		*issuer = take_name(&ias->issuer);
	if (serial != NULL) {
		*serial = ias->serial;
		ias->serial = NULL;
	}
	PKCS7_ISSUER_AND_SERIAL_free(ias);
	return 0;
}

static bool is_directory_string(int type)
{
	return type == V_ASN1_PRINTABLESTRING || type == V_ASN1_UTF8STRING || type == V_ASN1_IA5STRING ||
	       type == V_ASN1_T61STRING || type == V_ASN1_BMPSTRING || type == V_ASN1_UNIVERSALSTRING;
}

/* The challengePassword attribute as UTF-8 into out (may be NULL); "" when absent. */
static int read_challenge(X509_REQ *req, char *out, size_t size, ec_err *err)
{
	int rc = -1;
	unsigned char *utf8 = NULL;

	int idx = X509_REQ_get_attr_by_NID(req, NID_pkcs9_challengePassword, -1);
	if (idx < 0)
		return 0;
	X509_ATTRIBUTE *attr = X509_REQ_get_attr(req, idx);
	ASN1_TYPE *t = X509_ATTRIBUTE_count(attr) == 1 ? X509_ATTRIBUTE_get0_type(attr, 0) : NULL;
	if (t == NULL || !is_directory_string(t->type) || t->value.asn1_string == NULL) {
		ec_err_set(err, "challengePassword is not a single string");
		goto out;
	}
	int n = ASN1_STRING_to_UTF8(&utf8, t->value.asn1_string);
	if (n < 0 || memchr(utf8, '\0', (size_t)n) != NULL) {
		ec_err_set(err, "challengePassword is not valid text");
		goto out;
	}
	if (out != NULL && size > 0) {
		size_t copy = (size_t)n < size - 1 ? (size_t)n : size - 1;
		memcpy(out, utf8, copy);
		out[copy] = '\0';
	}
	rc = 0;
out:
	OPENSSL_free(utf8);
	return rc;
}

int scep_csr_parse(const uint8_t *der, size_t len, X509_REQ **out, char *challenge,
                   size_t challenge_size, ec_err *err)
{
	int rc = -1;
	X509_REQ *req = NULL;
	EVP_PKEY *pub = NULL; /* owned by req */

	if (challenge != NULL && challenge_size > 0)
		challenge[0] = '\0';
	req = scep_asn1_read_in(der, len, ASN1_ITEM_rptr(X509_REQ), "PKCS#10 request", pki_keyless_libctx(), err);
	if (req == NULL)
		goto out;
	req = pki_csr_keyed(req);
	if (req == NULL) {
		ec_err_ssl(err, "the request cannot be read");
		goto out;
	}
	pub = X509_REQ_get0_pubkey(req);
	if (pub == NULL) {
		ec_err_ssl(err, "the request's public key is not usable");
		goto out;
	}
	if (X509_REQ_verify(req, pub) != 1) {
		ec_err_ssl(err, "the request's self-signature does not verify");
		goto out;
	}
	if (read_challenge(req, challenge, challenge_size, err) != 0)
		goto out;
	if (out != NULL) {
		*out = req;
		req = NULL;
	}
	rc = 0;
out:
	X509_REQ_free(req);
	ERR_clear_error();
	return rc;
}
