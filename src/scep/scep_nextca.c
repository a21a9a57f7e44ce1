/*
 * scep_nextca.c - the GetNextCACert reply: signedData with empty data content, signed by the
 * active CA (whose certificate is left out), carrying the rollover CA and RA certificates.
 */
#include "scep/scep.h"
#include "scep/scep_int.h"

#include <openssl/err.h>

int scep_nextca_build(X509 *signer_cert, EVP_PKEY *signer_key, const EVP_MD *digest,
                      STACK_OF(X509) *certs, uint8_t **der, size_t *len, ec_err *err)
{
	int rc = -1;
	PKCS7 *p7 = NULL;
	struct scep_sign_params sp = {
		.cert = signer_cert,
		.key = signer_key,
		.md = digest,
		.content = NULL,
		.content_len = 0,
		.include_cert = false,
		.attrs = NULL,
		.nattrs = 0,
	};

	if (scep_ensure_init(err) != 0)
		goto out;
	if (sk_X509_num(certs) <= 0) {
		ec_err_set(err, "GetNextCACert reply needs at least one certificate");
		goto out;
	}
	p7 = scep_p7_sign(&sp, err);
	if (p7 == NULL || scep_p7_add_certs(p7, certs, err) != 0)
		goto out;
	rc = scep_p7_der(p7, der, len, err);
out:
	PKCS7_free(p7);
	return rc;
}

/* The certificates of p7 other than skip, as a new stack. */
static STACK_OF(X509) *certs_except(PKCS7 *p7, X509 *skip, ec_err *err)
{
	STACK_OF(X509) *in = p7->d.sign->cert;
	STACK_OF(X509) *out = sk_X509_new_null();

	for (int i = 0; out != NULL && i < sk_X509_num(in); i++) {
		X509 *c = sk_X509_value(in, i);
		if (X509_cmp(c, skip) != 0 && !X509_add_cert(out, c, X509_ADD_FLAG_UP_REF)) {
			sk_X509_pop_free(out, X509_free);
			out = NULL;
		}
	}
	if (out == NULL) {
		ec_err_set(err, "out of memory");
		return NULL;
	}
	if (sk_X509_num(out) == 0) {
		sk_X509_free(out);
		ec_err_set(err, "GetNextCACert reply carries no new certificate");
		return NULL;
	}
	return out;
}

int scep_nextca_parse(const uint8_t *der, size_t len, X509 *active_ca, STACK_OF(X509) **certs, ec_err *err)
{
	int rc = -1;
	PKCS7 *p7 = NULL;
	PKCS7_SIGNER_INFO *si = NULL; /* owned by p7 */
	STACK_OF(X509) *out = NULL;

	if (active_ca == NULL) {
		ec_err_set(err, "no active CA certificate to check the GetNextCACert reply with");
		goto out;
	}
	p7 = scep_p7_read(der, len, NID_pkcs7_signed, "GetNextCACert reply", err);
	if (p7 == NULL || (si = scep_p7_single_signer(p7, err)) == NULL)
		goto out;
	if (!scep_ias_matches(si->issuer_and_serial, active_ca)) {
		ec_err_set(err, "GetNextCACert reply is not signed by the active CA certificate");
		goto out;
	}
	if (!scep_p7_signature_ok(p7, si, active_ca)) {
		ec_err_set(err, "GetNextCACert reply signature does not verify with the active CA key");
		goto out;
	}
	out = certs_except(p7, active_ca, err);
	if (out == NULL)
		goto out;
	*certs = out;
	rc = 0;
out:
	PKCS7_free(p7);
	ERR_clear_error();
	return rc;
}
