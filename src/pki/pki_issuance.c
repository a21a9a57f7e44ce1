/*
 * pki_issuance.c - the issuance policy: what a certificate request may ask for, checked before
 * anything about it is stored, and whether a renewal asks for its signer's names.
 *
 * Pure: no I/O, no clock. Every refusal names the reason, which the CA logs and answers with
 * badRequest.
 */
#include "pki/pki.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#define CSR_SUBJECT_MAX_ENTRIES 16
#define CSR_SUBJECT_MAX_DER 1024
#define CSR_SAN_MAX_NAMES 32
#define DNS_NAME_MAX 253
#define DNS_LABEL_MAX 63
#define EMAIL_LOCAL_MAX 64

const pki_issuance_rules pki_issuance_defaults = {PKI_RSA_MIN_BITS, PKI_RSA_MAX_BITS, false};

static int check_ec_key(EVP_PKEY *pub, ec_err *err)
{
	static const char *const curves[] = {"prime256v1", "secp384r1", "secp521r1"};
	char group[64] = "";
	size_t len = 0;
	int explicit_params = 0;
	if (EVP_PKEY_get_int_param(pub, OSSL_PKEY_PARAM_EC_DECODED_FROM_EXPLICIT_PARAMS, &explicit_params) &&
	    explicit_params)
		return ec_err_set(err, "an EC key with explicit curve parameters is not accepted "
		                  "(named curves P-256, P-384 and P-521 only)");
	if (!EVP_PKEY_get_group_name(pub, group, sizeof(group), &len))
		return ec_err_set(err, "an EC key without a named curve is not accepted (P-256, P-384, P-521)");
	for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (strcmp(group, curves[i]) == 0)
			return 0;
	return ec_err_set(err, "the EC curve %.40s is not accepted (P-256, P-384 and P-521 only)", group);
}

static int check_csr_key(X509_REQ *csr, const pki_issuance_rules *r, ec_err *err)
{
	EVP_PKEY *pub = X509_REQ_get0_pubkey(csr);
	if (pub == NULL)
		return ec_err_ssl(err, "the certificate request has no usable public key");
	int bits = EVP_PKEY_get_bits(pub);
	if (EVP_PKEY_is_a(pub, "RSA")) {
		if (bits < r->rsa_min_bits || bits > r->rsa_max_bits)
			return ec_err_set(err, "an RSA key of %d bits is not accepted (%d to %d bits)", bits,
			                  r->rsa_min_bits, r->rsa_max_bits);
		return 0;
	}
	if (EVP_PKEY_is_a(pub, "EC"))
		return check_ec_key(pub, err);
	return ec_err_set(err, "the key type %s is not accepted (RSA or EC)", EVP_PKEY_get0_type_name(pub));
}

/* No control character in a value, whatever its string type (read as UTF-8). */
static bool value_printable(const ASN1_STRING *v)
{
	unsigned char *utf8 = NULL;
	int len = ASN1_STRING_to_UTF8(&utf8, v);
	bool ok = len >= 0;
	for (int i = 0; ok && i < len; i++)
		if (utf8[i] < 0x20 || utf8[i] == 0x7f)
			ok = false;
	OPENSSL_free(utf8);
	return ok;
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
	for (int i = 0; i < entries; i++)
		if (!value_printable(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i))))
			return ec_err_set(err, "subject attribute %d holds a control character", i + 1);
	return 0;
}

static bool ldh_label(const unsigned char *p, size_t len)
{
	if (len == 0 || len > DNS_LABEL_MAX || p[0] == '-' || p[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return true;
}

/* Letter-digit-hyphen labels separated by dots, no empty label; *labels gets their count. */
static bool ldh_name(const unsigned char *p, size_t len, int *labels)
{
	*labels = 0;
	if (len == 0 || len > DNS_NAME_MAX)
		return false;
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && p[i] != '.')
			continue;
		if (!ldh_label(p + start, i - start))
			return false;
		(*labels)++;
		start = i + 1;
	}
	return true;
}

/* A host name, or "*." and a name of at least two labels (never a wildcard over a top-level
 * domain). */
static bool dns_name_ok(const ASN1_IA5STRING *s)
{
	const unsigned char *p = ASN1_STRING_get0_data(s);
	size_t len = (size_t)ASN1_STRING_length(s);
	int labels = 0;
	if (len >= 2 && p[0] == '*' && p[1] == '.')
		return ldh_name(p + 2, len - 2, &labels) && labels >= 2;
	return ldh_name(p, len, &labels);
}

static bool email_ok(const ASN1_IA5STRING *s)
{
	const unsigned char *p = ASN1_STRING_get0_data(s);
	size_t len = (size_t)ASN1_STRING_length(s);
	const unsigned char *at = memchr(p, '@', len);
	if (at == NULL || at == p || (size_t)(at - p) > EMAIL_LOCAL_MAX || memchr(at + 1, '@', len - (size_t)(at - p) - 1))
		return false;
	for (const unsigned char *c = p; c < at; c++)
		if (*c <= 0x20 || *c >= 0x7f || strchr("()<>[]:;,\\\"", *c) != NULL)
			return false;
	int labels = 0;
	return ldh_name(at + 1, len - (size_t)(at - p) - 1, &labels);
}

static bool ip_ok(const ASN1_OCTET_STRING *s)
{
	int len = ASN1_STRING_length(s);
	const unsigned char *p = ASN1_STRING_get0_data(s);
	if (len != 4 && len != 16)
		return false;
	for (int i = 0; i < len; i++)
		if (p[i] != 0)
			return true;
	return false;
}

/* An absolute URI in printable ASCII: a scheme of letters, digits, '+', '-' or '.' then ':'. */
static bool uri_ok(const ASN1_IA5STRING *s)
{
	const unsigned char *p = ASN1_STRING_get0_data(s);
	size_t len = (size_t)ASN1_STRING_length(s), i = 0;
	for (size_t k = 0; k < len; k++)
		if (p[k] <= 0x20 || p[k] >= 0x7f)
			return false;
	while (i < len && (((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'z') ||
	                   (i > 0 && ((p[i] >= '0' && p[i] <= '9') || strchr("+-.", p[i]) != NULL))))
		i++;
	return i > 0 && i < len && p[i] == ':';
}

static int check_general_name(const GENERAL_NAME *gn, const pki_issuance_rules *r, int n, ec_err *err)
{
	switch (gn->type) {
	case GEN_DNS:
		return dns_name_ok(gn->d.dNSName) ? 0 : ec_err_set(err, "alternative name %d is not a valid DNS name "
		                   "(letter-digit-hyphen labels, at most a leading \"*.\")", n);
	case GEN_IPADD:
		return ip_ok(gn->d.iPAddress) ? 0 : ec_err_set(err, "alternative name %d is not a valid IP address "
		                   "(4 or 16 bytes, not unspecified)", n);
	case GEN_EMAIL:
		return email_ok(gn->d.rfc822Name) ? 0 : ec_err_set(err, "alternative name %d is not a valid "
		                   "e-mail address", n);
	case GEN_URI:
		if (!r->allow_uri)
			return ec_err_set(err, "the subjectAltName asks for a URI, which this CA does not issue "
			                  "(issuance subject-alt-name uri allows it)");
		return uri_ok(gn->d.uniformResourceIdentifier) ? 0 : ec_err_set(err, "alternative name %d is not "
		                   "a valid URI", n);
	default:
		return ec_err_set(err, "the subjectAltName asks for a name type the CA does not issue "
		                  "(only DNS, IP and email%s)", r->allow_uri ? " and URI" : "");
	}
}

static int check_requested_san(X509_EXTENSION *ext, const pki_issuance_rules *r, ec_err *err)
{
	GENERAL_NAMES *names = X509V3_EXT_d2i(ext);
	if (names == NULL)
		return ec_err_ssl(err, "the requested subjectAltName is malformed");
	int rc = 0, n = sk_GENERAL_NAME_num(names);
	if (n > CSR_SAN_MAX_NAMES)
		rc = ec_err_set(err, "the subjectAltName asks for %d names (at most %d)", n, CSR_SAN_MAX_NAMES);
	for (int i = 0; i < n && rc == 0; i++)
		rc = check_general_name(sk_GENERAL_NAME_value(names, i), r, i + 1, err);
	GENERAL_NAMES_free(names);
	return rc;
}

/* Refuses what an end-entity request must not ask for: the powers of a CA (basicConstraints
 * cA, keyUsage keyCertSign or cRLSign, nameConstraints), alternative names the rules refuse. The
 * CA sets basicConstraints, keyUsage and extendedKeyUsage itself; other requests are ignored. */
static int check_requested_extensions(X509_REQ *csr, const pki_issuance_rules *r, ec_err *err)
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
			rc = check_requested_san(ext, r, err);
		}
	}
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

int pki_csr_check_policy(X509_REQ *csr, const pki_issuance_rules *rules, ec_err *err)
{
	const pki_issuance_rules *r = rules != NULL ? rules : &pki_issuance_defaults;
	if (check_csr_key(csr, r, err) != 0 || check_csr_subject(csr, err) != 0 ||
	    check_requested_extensions(csr, r, err) != 0)
		return ec_err_wrap(err, "refused by the issuance policy");
	return 0;
}

/* The subjectAltName of a request, or NULL when it asks for none (or it does not decode). */
static GENERAL_NAMES *csr_san(X509_REQ *csr)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(csr);
	GENERAL_NAMES *names = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	ERR_clear_error();
	return names;
}

/* Every name of a is in b. */
static bool names_within(const GENERAL_NAMES *a, const GENERAL_NAMES *b)
{
	for (int i = 0; i < sk_GENERAL_NAME_num(a); i++) {
		bool found = false;
		for (int j = 0; j < sk_GENERAL_NAME_num(b) && !found; j++)
			found = GENERAL_NAME_cmp(sk_GENERAL_NAME_value(a, i), sk_GENERAL_NAME_value(b, j)) == 0;
		if (!found)
			return false;
	}
	return true;
}

int pki_csr_names_match(X509_REQ *csr, X509 *cert)
{
	if (X509_NAME_cmp(X509_REQ_get_subject_name(csr), X509_get_subject_name(cert)) != 0)
		return PKI_NAMES_SUBJECT_DIFFERS;
	GENERAL_NAMES *asked = csr_san(csr);
	GENERAL_NAMES *held = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	ERR_clear_error();
	bool same = names_within(asked, held) && names_within(held, asked);
	GENERAL_NAMES_free(asked);
	GENERAL_NAMES_free(held);
	return same ? PKI_NAMES_SAME : PKI_NAMES_SAN_DIFFERS;
}
