/*
 * pki_verify.c - chain checks at a given time.
 *
 * pki_verify_cert pins OpenSSL's check time to `at` (X509_STORE_CTX_set_time), so certificate
 * and CRL validity are judged against the daemon's clock, never the wall clock. Trusted
 * certificates may be intermediates (X509_V_FLAG_PARTIAL_CHAIN). With CRLs, the end-entity
 * certificate is checked against its issuer's CRL (X509_V_FLAG_CRL_CHECK): a revoked
 * certificate fails, and so does one whose issuer has no CRL among those given.
 */
#include "pki/pki.h"
#include "pki/pki_internal.h"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

/* A store holding the trusted certificates and the CRLs. */
static X509_STORE *make_store(STACK_OF(X509) *trusted, STACK_OF(X509_CRL) *crls, ec_err *err)
{
	X509_STORE *store = X509_STORE_new();
	if (store == NULL) {
		ec_err_ssl(err, "out of memory");
		return NULL;
	}
	for (int i = 0; i < sk_X509_num(trusted); i++) {
		if (!X509_STORE_add_cert(store, sk_X509_value(trusted, i))) {
			ec_err_ssl(err, "cannot add trusted certificate %d", i);
			goto fail;
		}
	}
	for (int i = 0; i < sk_X509_CRL_num(crls); i++) {
		if (!X509_STORE_add_crl(store, sk_X509_CRL_value(crls, i))) {
			ec_err_ssl(err, "cannot add CRL %d", i);
			goto fail;
		}
	}
	return store;
fail:
	X509_STORE_free(store);
	return NULL;
}

int pki_verify_cert(X509 *cert, STACK_OF(X509) *trusted, STACK_OF(X509_CRL) *crls, ec_time at,
                    ec_err *err)
{
	int rc = -1;
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;

	if (cert == NULL || sk_X509_num(trusted) <= 0) {
		ec_err_set(err, "no certificate or no trusted certificate to verify against");
		goto out;
	}
	store = make_store(trusted, crls, err);
	if (store == NULL)
		goto out;
	ctx = X509_STORE_CTX_new();
	if (ctx == NULL || !X509_STORE_CTX_init(ctx, store, cert, NULL)) {
		ec_err_ssl(err, "cannot set up the verification");
		goto out;
	}
	unsigned long flags = X509_V_FLAG_PARTIAL_CHAIN;
	if (sk_X509_CRL_num(crls) > 0)
		flags |= X509_V_FLAG_CRL_CHECK;
	X509_STORE_CTX_set_flags(ctx, flags);
	X509_STORE_CTX_set_time(ctx, 0, pki_time_t(at));
	if (X509_verify_cert(ctx) != 1) {
		int code = X509_STORE_CTX_get_error(ctx);
		ERR_clear_error();
		ec_err_set(err, "%s", X509_verify_cert_error_string(code));
		goto out;
	}
	rc = 0;
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return rc;
}

bool pki_cert_issued_by(X509 *cert, X509 *issuer)
{
	if (cert == NULL || issuer == NULL)
		return false;
	if (X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(issuer)) != 0)
		return false;
	EVP_PKEY *pub = X509_get0_pubkey(issuer);
	bool ok = pub != NULL && X509_verify(cert, pub) == 1;
	ERR_clear_error();
	return ok;
}

bool pki_cert_is_self_signed(X509 *cert)
{
	return pki_cert_issued_by(cert, cert);
}
