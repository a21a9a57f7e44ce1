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
	int rc = -1;
	X509 *cert = NULL;

	*out = NULL;
	if (p->subject == NULL || p->key == NULL || p->serial_hex == NULL || p->digest == NULL) {
		ec_err_set(err, "CA certificate: subject, key, serial and digest are required");
		goto out;
	}
	cert = cert_skeleton(p->serial_hex, p->not_before, p->not_after, p->subject, p->subject, p->key, NULL,
	                     err);
	if (cert == NULL)
		goto out;
	/* The subject key identifier first: the authority key identifier copies it. */
	if (pki_add_ext(cert, cert, NID_basic_constraints, "critical,CA:TRUE", err) != 0 ||
	    pki_add_ext(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature", err) != 0 ||
	    pki_add_ext(cert, cert, NID_subject_key_identifier, "hash", err) != 0 ||
	    pki_add_ext(cert, cert, NID_authority_key_identifier, "keyid:always", err) != 0 ||
	    sign_cert(cert, p->key, p->digest, err) != 0) {
		ec_err_wrap(err, "CA certificate");
		goto out;
	}
	*out = cert;
	cert = NULL;
	rc = 0;
out:
	X509_free(cert);
	return rc;
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

#define CSR_SUBJECT_MAX_ENTRIES 16
#define CSR_SUBJECT_MAX_DER 1024
#define CSR_SAN_MAX_NAMES 32

static int check_csr_key(X509_REQ *csr, ec_err *err)
{
	EVP_PKEY *pub = X509_REQ_get0_pubkey(csr);
	if (pub == NULL)
		return ec_err_ssl(err, "the certificate request has no usable public key");
	int bits = EVP_PKEY_get_bits(pub);
	if (EVP_PKEY_is_a(pub, "RSA"))
		return bits >= 1024 ? 0 : ec_err_set(err, "an RSA key of %d bits is too small (at least 1024)", bits);
	if (EVP_PKEY_is_a(pub, "EC"))
		return bits >= 256 ? 0 : ec_err_set(err, "an EC key of %d bits is too small (at least 256)", bits);
	return ec_err_set(err, "the key type %s is not accepted (RSA or EC)", EVP_PKEY_get0_type_name(pub));
}

static int check_csr_subject(X509_REQ *csr, ec_err *err)
{
	X509_NAME *name = X509_REQ_get_subject_name(csr);
	int entries = X509_NAME_entry_count(name);
	int der = i2d_X509_NAME(name, NULL);
	if (entries > CSR_SUBJECT_MAX_ENTRIES)
		return ec_err_set(err, "the subject has %d attributes (at most %d)", entries, CSR_SUBJECT_MAX_ENTRIES);
	if (der < 0 || der > CSR_SUBJECT_MAX_DER)
		return ec_err_set(err, "the subject is %d bytes long (at most %d)", der, CSR_SUBJECT_MAX_DER);
	return 0;
}

static int check_requested_san(X509_EXTENSION *ext, ec_err *err)
{
	GENERAL_NAMES *names = X509V3_EXT_d2i(ext);
	if (names == NULL)
		return ec_err_ssl(err, "the requested subjectAltName is malformed");
	int rc = 0, n = sk_GENERAL_NAME_num(names);
	if (n > CSR_SAN_MAX_NAMES)
		rc = ec_err_set(err, "the subjectAltName asks for %d names (at most %d)", n, CSR_SAN_MAX_NAMES);
	for (int i = 0; i < n && rc == 0; i++) {
		int type = sk_GENERAL_NAME_value(names, i)->type;
		if (type != GEN_DNS && type != GEN_IPADD && type != GEN_EMAIL && type != GEN_URI)
			rc = ec_err_set(err, "the subjectAltName asks for a name type the CA does not issue "
			                     "(only DNS, IP, email and URI)");
	}
	GENERAL_NAMES_free(names);
	return rc;
}

/* Refuses what an end-entity request must not ask for: the powers of a CA (basicConstraints
 * cA, keyUsage keyCertSign or cRLSign, nameConstraints), alternative names of other kinds. The
 * CA sets basicConstraints, keyUsage and extendedKeyUsage itself; other requests are ignored. */
static int check_requested_extensions(X509_REQ *csr, ec_err *err)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(csr);
	int rc = 0;
	ERR_clear_error(); /* no extension request is not an error */
	for (int i = 0; i < sk_X509_EXTENSION_num(exts) && rc == 0; i++) {
		X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);
		int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
		if (nid == NID_basic_constraints) {
			BASIC_CONSTRAINTS *bc = X509V3_EXT_d2i(ext);
			if (bc == NULL)
				rc = ec_err_ssl(err, "the requested basicConstraints is malformed");
			else if (bc->ca)
				rc = ec_err_set(err, "the request asks to be a CA (basicConstraints cA)");
			BASIC_CONSTRAINTS_free(bc);
		} else if (nid == NID_key_usage) {
			ASN1_BIT_STRING *ku = X509V3_EXT_d2i(ext);
			if (ku == NULL)
				rc = ec_err_ssl(err, "the requested keyUsage is malformed");
			else if (ASN1_BIT_STRING_get_bit(ku, 5) || ASN1_BIT_STRING_get_bit(ku, 6))
				rc = ec_err_set(err, "the request asks for keyCertSign or cRLSign");
			ASN1_BIT_STRING_free(ku);
		} else if (nid == NID_name_constraints) {
			rc = ec_err_set(err, "the request asks for nameConstraints");
		} else if (nid == NID_subject_alt_name) {
			rc = check_requested_san(ext, err);
		}
	}
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

int pki_csr_check_policy(X509_REQ *csr, ec_err *err)
{
	if (check_csr_key(csr, err) != 0 || check_csr_subject(csr, err) != 0 ||
	    check_requested_extensions(csr, err) != 0)
		return ec_err_wrap(err, "refused by the issuance policy");
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
	if ((!p->csr_verified && check_csr(p->csr, err) != 0) || pki_csr_check_policy(p->csr, err) != 0)
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
