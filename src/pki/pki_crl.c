/*
 * pki_crl.c - certificate revocation lists: v2, signed by the CA, entries sorted by serial,
 * with crlNumber and authorityKeyIdentifier. Times are given, never read from the clock.
 */
#include "pki/pki.h"
#include "pki/pki_internal.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

/* Appends one revoked entry. */
static int add_revoked(X509_CRL *crl, const pki_revoked *r, ec_err *err)
{
	int rc = -1;
	X509_REVOKED *rev = NULL;
	ASN1_INTEGER *serial = NULL;
	ASN1_TIME *when = ASN1_TIME_new();

	if (r->serial_hex == NULL) {
		ec_err_set(err, "revoked entry without a serial number");
		goto out;
	}
	if (pki_serial_from_hex(r->serial_hex, &serial, err) != 0 || when == NULL ||
	    pki_time_set(when, r->revoked_at, err) != 0)
		goto out;
	rev = X509_REVOKED_new();
	if (rev == NULL || !X509_REVOKED_set_serialNumber(rev, serial) ||
	    !X509_REVOKED_set_revocationDate(rev, when) || !X509_CRL_add0_revoked(crl, rev)) {
		ec_err_ssl(err, "cannot add revoked serial %s", r->serial_hex);
		X509_REVOKED_free(rev); /* once added, the CRL owns it */
		goto out;
	}
	rc = 0;
out:
	ASN1_INTEGER_free(serial);
	ASN1_TIME_free(when);
	return rc;
}

/* Sets one of the CRL's update times with set (X509_CRL_set1_lastUpdate or _nextUpdate). */
static int set_update_time(X509_CRL *crl, int (*set)(X509_CRL *, const ASN1_TIME *), ec_time t, ec_err *err)
{
	ASN1_TIME *when = ASN1_TIME_new();
	int rc = when == NULL ? ec_err_ssl(err, "cannot build the CRL") : pki_time_set(when, t, err);
	if (rc == 0 && !set(crl, when))
		rc = ec_err_ssl(err, "cannot set the CRL times");
	ASN1_TIME_free(when);
	return rc;
}

/* Version, issuer and the two update times. */
static int set_header(X509_CRL *crl, const pki_crl_params *p, ec_err *err)
{
	if (!X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(p->ca_cert)))
		return ec_err_ssl(err, "cannot build the CRL");
	if (set_update_time(crl, X509_CRL_set1_lastUpdate, p->this_update, err) != 0 ||
	    set_update_time(crl, X509_CRL_set1_nextUpdate, p->next_update, err) != 0)
		return -1;
	return 0;
}

/* crlNumber and authorityKeyIdentifier (the key identifier of the CA certificate). */
static int add_crl_extensions(X509_CRL *crl, const pki_crl_params *p, ec_err *err)
{
	int rc = -1;
	ASN1_INTEGER *number = ASN1_INTEGER_new();
	X509_EXTENSION *aki = NULL;
	X509V3_CTX ctx;

	if (number == NULL || !ASN1_INTEGER_set_int64(number, p->crl_number) ||
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, number, 0, X509V3_ADD_REPLACE) != 1) {
		ec_err_ssl(err, "cannot add the crlNumber");
		goto out;
	}
	X509V3_set_ctx(&ctx, p->ca_cert, NULL, NULL, crl, 0);
	aki = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always");
	if (aki == NULL || !X509_CRL_add_ext(crl, aki, -1)) {
		ec_err_ssl(err, "cannot add the CRL's authorityKeyIdentifier");
		goto out;
	}
	rc = 0;
out:
	X509_EXTENSION_free(aki);
	ASN1_INTEGER_free(number);
	return rc;
}

static int check_crl_params(const pki_crl_params *p, ec_err *err)
{
	if (p->ca_cert == NULL || p->ca_key == NULL || p->digest == NULL)
		return ec_err_set(err, "CA certificate, key and digest are required");
	if (p->n_revoked > 0 && p->revoked == NULL)
		return ec_err_set(err, "%zu revoked entries but no list", p->n_revoked);
	if (p->crl_number < 0)
		return ec_err_set(err, "negative CRL number %lld", (long long)p->crl_number);
	if (pki_time_t(p->next_update) <= pki_time_t(p->this_update))
		return ec_err_set(err, "nextUpdate is not after thisUpdate");
	if (X509_check_private_key(p->ca_cert, p->ca_key) != 1)
		return ec_err_ssl(err, "the CA key does not match the CA certificate");
	return 0;
}

int pki_make_crl(const pki_crl_params *p, X509_CRL **out, ec_err *err)
{
	int rc = -1;
	X509_CRL *crl = NULL;

	*out = NULL;
	if (check_crl_params(p, err) != 0)
		goto out;
	crl = X509_CRL_new();
	if (crl == NULL) {
		ec_err_ssl(err, "out of memory");
		goto out;
	}
	if (set_header(crl, p, err) != 0)
		goto out;
	for (size_t i = 0; i < p->n_revoked; i++)
		if (add_revoked(crl, &p->revoked[i], err) != 0)
			goto out;
	if (!X509_CRL_sort(crl)) {
		ec_err_ssl(err, "cannot sort the CRL");
		goto out;
	}
	if (add_crl_extensions(crl, p, err) != 0)
		goto out;
	if (X509_CRL_sign(crl, p->ca_key, p->digest) <= 0) {
		ec_err_ssl(err, "cannot sign the CRL");
		goto out;
	}
	*out = crl;
	crl = NULL;
	rc = 0;
out:
	if (rc != 0)
		ec_err_wrap(err, "cannot make the CRL");
	X509_CRL_free(crl);
	return rc;
}
