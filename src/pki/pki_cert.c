/*
 * pki_cert.c - making certificates: the self-signed CA certificate and end-entity certificates
 * issued from PKCS#10 requests.
 *
 * Times come in as ec_time and are written as whole seconds; nothing here reads the clock.
 * The caller decides validity (e.g. capping at the CA's notAfter, SPEC §6.2); this file only
 * refuses an empty or inverted validity.
 */
#include "pki/pki.h"
#include "pki/pki_internal.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#define PKI_CDP_URL_MAX 1024

int pki_add_ext(X509 *cert, X509 *issuer, int nid, const char *value, ec_err *err)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return ec_err_ssl(err, "cannot make the %s extension '%s'", OBJ_nid2sn(nid), value);
	int ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	if (!ok)
		return ec_err_ssl(err, "cannot add the %s extension", OBJ_nid2sn(nid));
	return 0;
}

/*
 * Gives the certificate the request's SubjectPublicKeyInfo as it stands: algorithm, parameters and
 * key bits copied. X509_set_pubkey would encode the decoded key again and decode that encoding
 * once more (OpenSSL 3.0 builds an encoder and a decoder chain for each), which cost about a
 * sixth of the CA's time per enrollment. The new certificate then carries no decoded key: nothing
 * after issuance asks for one (the key identifier hashes the key bits).
 */
static int copy_spki(X509 *cert, const X509_PUBKEY *from)
{
	ASN1_OBJECT *alg_obj = NULL;
	const unsigned char *bits = NULL;
	int bits_len = 0;
	X509_ALGOR *from_alg = NULL, *to_alg = NULL;
	X509_PUBKEY *to = X509_get_X509_PUBKEY(cert);

	if (from == NULL || to == NULL || !X509_PUBKEY_get0_param(&alg_obj, &bits, &bits_len, &from_alg, from) ||
	    bits == NULL || bits_len <= 0 || !X509_PUBKEY_get0_param(NULL, NULL, NULL, &to_alg, to) ||
	    !X509_ALGOR_copy(to_alg, from_alg))
		return 0;
	unsigned char *copy = OPENSSL_memdup(bits, (size_t)bits_len);
	ASN1_OBJECT *obj = OBJ_dup(alg_obj);
	/* V_ASN1_EOC: the algorithm is set again, the parameters just copied stay. */
	if (copy == NULL || obj == NULL || !X509_PUBKEY_set0_param(to, obj, V_ASN1_EOC, NULL, copy, bits_len)) {
		OPENSSL_free(copy);
		ASN1_OBJECT_free(obj);
		return 0;
	}
	return 1;
}

/*
 * A v3 certificate with serial, validity, names and public key set; no extensions yet. The key
 * is either a key pair's public half (pub) or a request's SubjectPublicKeyInfo (spki).
 */
static X509 *cert_skeleton(const char *serial_hex, ec_time not_before, ec_time not_after,
                           const X509_NAME *subject, const X509_NAME *issuer, EVP_PKEY *pub,
                           const X509_PUBKEY *spki, ec_err *err)
{
	X509 *cert = NULL;
	ASN1_INTEGER *serial = NULL;
	X509 *result = NULL;

	if (pki_time_t(not_after) <= pki_time_t(not_before)) {
		ec_err_set(err, "notAfter (%lld) is not after notBefore (%lld)", (long long)not_after,
		           (long long)not_before);
		goto out;
	}
	if (pki_serial_from_hex(serial_hex, &serial, err) != 0)
		goto out;
	cert = X509_new();
	if (cert == NULL || !X509_set_version(cert, X509_VERSION_3) || !X509_set_serialNumber(cert, serial) ||
	    !X509_set_subject_name(cert, subject) || !X509_set_issuer_name(cert, issuer) ||
	    !(pub != NULL ? X509_set_pubkey(cert, pub) : copy_spki(cert, spki))) {
		ec_err_ssl(err, "cannot build the certificate");
		goto out;
	}
	if (pki_time_set(X509_getm_notBefore(cert), not_before, err) != 0 ||
	    pki_time_set(X509_getm_notAfter(cert), not_after, err) != 0)
		goto out;
	result = cert;
	cert = NULL;
out:
	X509_free(cert);
	ASN1_INTEGER_free(serial);
	return result;
}

static int sign_cert(X509 *cert, EVP_PKEY *key, const EVP_MD *digest, ec_err *err)
{
	if (X509_sign(cert, key, digest) <= 0)
		return ec_err_ssl(err, "cannot sign the certificate with %s", EVP_MD_get0_name(digest));
	return 0;
}

int pki_make_ca_cert(const pki_ca_params *p, X509 **out, ec_err *err)
{
	*out = NULL;
	if (p->subject == NULL || p->key == NULL || p->serial_hex == NULL || p->digest == NULL)
		return ec_err_set(err, "CA certificate: subject, key, serial and digest are required");
	X509 *cert = cert_skeleton(p->serial_hex, p->not_before, p->not_after, p->subject, p->subject, p->key,
	                           NULL, err);
	if (cert == NULL)
		return -1;
	/* The subject key identifier first: the authority key identifier copies it. */
	if (pki_add_ext(cert, cert, NID_basic_constraints, "critical,CA:TRUE", err) != 0 ||
	    pki_add_ext(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature", err) != 0 ||
	    pki_add_ext(cert, cert, NID_subject_key_identifier, "hash", err) != 0 ||
	    pki_add_ext(cert, cert, NID_authority_key_identifier, "keyid:always", err) != 0 ||
	    sign_cert(cert, p->key, p->digest, err) != 0) {
		X509_free(cert);
		return ec_err_wrap(err, "CA certificate");
	}
	*out = cert;
	return 0;
}

/* Verifies the request's self-signature and that it names a subject or an alternative name. */
static int check_csr(X509_REQ *csr, ec_err *err)
{
	EVP_PKEY *pub = X509_REQ_get0_pubkey(csr);
	if (pub == NULL)
		return ec_err_ssl(err, "the certificate request has no usable public key");
	if (X509_REQ_verify(csr, pub) != 1)
		return ec_err_ssl(err, "the certificate request's signature does not verify");
	return 0;
}

/* Copies the subjectAltName of the request's extension request, if any, to cert; the other
 * requested extensions are ignored. Refuses an empty subject without a subjectAltName. */
static int copy_san(X509 *cert, X509_REQ *csr, ec_err *err)
{
	int rc = -1;
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(csr);
	void *decoded = NULL;

	ERR_clear_error(); /* no extension request is not an error */
	int i = X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1);
	if (i < 0) {
		if (X509_NAME_entry_count(X509_REQ_get_subject_name(csr)) == 0) {
			ec_err_set(err, "the certificate request has neither a subject nor a subjectAltName");
			goto out;
		}
		rc = 0;
		goto out;
	}
	X509_EXTENSION *san = X509v3_get_ext(exts, i);
	decoded = X509V3_EXT_d2i(san);
	if (decoded == NULL) {
		ec_err_ssl(err, "the certificate request's subjectAltName is malformed");
		goto out;
	}
	if (!X509_add_ext(cert, san, -1)) {
		ec_err_ssl(err, "cannot copy the subjectAltName");
		goto out;
	}
	rc = 0;
out:
	GENERAL_NAMES_free(decoded);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

static bool cdp_url_ok(const char *url)
{
	size_t len = strlen(url);
	if (len > PKI_CDP_URL_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f)
			return false;
	return true;
}

/* A CRLDistributionPoints value with one distribution point, fullName URI:url. */
static CRL_DIST_POINTS *make_cdp(const char *url)
{
	CRL_DIST_POINTS *cdp = sk_DIST_POINT_new_null();
	DIST_POINT *dp = DIST_POINT_new();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *uri = ASN1_IA5STRING_new();
	CRL_DIST_POINTS *result = NULL;

	if (cdp == NULL || dp == NULL || gn == NULL || uri == NULL || !ASN1_STRING_set(uri, url, -1))
		goto out;
	GENERAL_NAME_set0_value(gn, GEN_URI, uri);
	uri = NULL;
	dp->distpoint = DIST_POINT_NAME_new();
	if (dp->distpoint == NULL)
		goto out;
	dp->distpoint->type = 0; /* fullName */
	dp->distpoint->name.fullname = GENERAL_NAMES_new();
	if (dp->distpoint->name.fullname == NULL || !sk_GENERAL_NAME_push(dp->distpoint->name.fullname, gn))
		goto out;
	gn = NULL;
	if (!sk_DIST_POINT_push(cdp, dp))
		goto out;
	dp = NULL;
	result = cdp;
	cdp = NULL;
out:
	ASN1_IA5STRING_free(uri);
	GENERAL_NAME_free(gn);
	DIST_POINT_free(dp);
	CRL_DIST_POINTS_free(cdp);
	return result;
}

static int add_cdp(X509 *cert, const char *url, ec_err *err)
{
	if (url == NULL || url[0] == '\0')
		return 0;
	if (!cdp_url_ok(url))
		return ec_err_set(err, "bad CRL distribution point URL '%.64s'", url);
	CRL_DIST_POINTS *cdp = make_cdp(url);
	if (cdp == NULL)
		return ec_err_ssl(err, "cannot build the CRL distribution point");
	int ok = X509_add1_ext_i2d(cert, NID_crl_distribution_points, cdp, 0, X509V3_ADD_APPEND);
	CRL_DIST_POINTS_free(cdp);
	if (ok != 1)
		return ec_err_ssl(err, "cannot add the CRL distribution point");
	return 0;
}

static int add_ee_extensions(X509 *cert, const pki_issue_params *p, ec_err *err)
{
	if (pki_add_ext(cert, p->ca_cert, NID_basic_constraints, "critical,CA:FALSE", err) != 0 ||
	    pki_add_ext(cert, p->ca_cert, NID_key_usage, "critical,digitalSignature,keyEncipherment", err) != 0 ||
	    pki_add_ext(cert, p->ca_cert, NID_ext_key_usage, "clientAuth,serverAuth", err) != 0 ||
	    pki_add_ext(cert, p->ca_cert, NID_subject_key_identifier, "hash", err) != 0 ||
	    pki_add_ext(cert, p->ca_cert, NID_authority_key_identifier, "keyid", err) != 0 ||
	    copy_san(cert, p->csr, err) != 0 || add_cdp(cert, p->cdp_url, err) != 0)
		return -1;
	return 0;
}

int pki_issue_cert(const pki_issue_params *p, X509 **out, ec_err *err)
{
	int rc = -1;
	X509 *cert = NULL;

	*out = NULL;
	if (p->csr == NULL || p->ca_cert == NULL || p->ca_key == NULL || p->serial_hex == NULL ||
	    p->digest == NULL) {
		ec_err_set(err, "issuing: request, CA certificate and key, serial and digest are required");
		goto out;
	}
	if ((!p->csr_verified && check_csr(p->csr, err) != 0) || pki_csr_check_policy(p->csr, p->rules, err) != 0)
		goto out;
	if (X509_check_private_key(p->ca_cert, p->ca_key) != 1) {
		ec_err_ssl(err, "the CA key does not match the CA certificate");
		goto out;
	}
	cert = cert_skeleton(p->serial_hex, p->not_before, p->not_after, X509_REQ_get_subject_name(p->csr),
	                     X509_get_subject_name(p->ca_cert), NULL, X509_REQ_get_X509_PUBKEY(p->csr), err);
	if (cert == NULL || add_ee_extensions(cert, p, err) != 0 || sign_cert(cert, p->ca_key, p->digest, err) != 0)
		goto out;
	*out = cert;
	cert = NULL;
	rc = 0;
out:
	if (rc != 0)
		ec_err_wrap(err, "cannot issue certificate %s", p->serial_hex ? p->serial_hex : "(no serial)");
	X509_free(cert);
	return rc;
}
