/*
 * test_pki.c - unit tests of the X.509 building blocks (src/pki).
 *
 * Every time is fixed (2015-2017, the source's worked example), never "now": the chain checks
 * must pass or fail according to the time given, which is what proves the check time is pinned.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "pki/pki.h"
#include "testutil.h"
#include "util/fsutil.h"

/* ---- helpers ---- */

static ec_time at(const char *iso)
{
	ec_time t = 0;
	if (ec_time_parse_iso(iso, &t) != 0)
		fail_msg("bad test time %s", iso);
	return t;
}

static X509_NAME *name_of(const char *text)
{
	X509_NAME *name = NULL;
	ec_err err = {""};
	if (pki_name_parse(text, &name, &err) != 0)
		fail_msg("pki_name_parse(%s): %s", text, err.msg);
	return name;
}

/* The router's CA: CN=RootCA,OU=TAC,O=Cisco, 13:14:16 Oct 9 2015 + 730 days. */
static X509 *make_ca(EVP_PKEY *key, const char *serial)
{
	X509_NAME *subject = name_of("CN=RootCA,OU=TAC,O=Cisco");
	pki_ca_params p = {subject, key, serial, at("2015-10-09T13:14:16Z"),
	                   at("2015-10-09T13:14:16Z") + 730 * EC_MS_PER_DAY, EVP_sha256()};
	X509 *ca = NULL;
	ec_err err = {""};
	if (pki_make_ca_cert(&p, &ca, &err) != 0)
		fail_msg("pki_make_ca_cert: %s", err.msg);
	X509_NAME_free(subject);
	return ca;
}

static void push_ext(STACK_OF(X509_EXTENSION) *exts, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, nid, value);
	assert_non_null(e);
	assert_true(sk_X509_EXTENSION_push(exts, e) > 0);
}

/* A request CN=cn asking for subjectAltName san (unless NULL) and for CA:FALSE. */
static X509_REQ *csr_with_san(EVP_PKEY *key, const char *cn, const char *san)
{
	X509_REQ *req = X509_REQ_new();
	assert_non_null(req);
	assert_true(X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_UTF8,
	                                       (const unsigned char *)cn, -1, -1, 0));
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	assert_non_null(exts);
	if (san != NULL)
		push_ext(exts, NID_subject_alt_name, san);
	push_ext(exts, NID_basic_constraints, "critical,CA:FALSE");
	assert_true(X509_REQ_add_extensions(req, exts));
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	assert_true(X509_REQ_set_pubkey(req, key));
	assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
	return req;
}

/* The tests issue to 1024-bit keys (quick to make); the policy's defaults are tested apart. */
static const pki_issuance_rules small_keys = {1024, 8192, true};

/* The certificate object pki_issue_cert returns. */
static X509 *issue_raw(X509 *ca, EVP_PKEY *ca_key, X509_REQ *csr, const char *serial, const char *cdp)
{
	pki_issue_params p = {csr, ca, ca_key, serial, at("2016-01-01T00:00:00Z"),
	                      at("2016-12-31T00:00:00Z"), EVP_sha256(), cdp, false, &small_keys};
	X509 *cert = NULL;
	ec_err err = {""};
	if (pki_issue_cert(&p, &cert, &err) != 0)
		fail_msg("pki_issue_cert: %s", err.msg);
	return cert;
}

/* The certificate as whoever receives it reads it: from its DER. */
static X509 *issue(X509 *ca, EVP_PKEY *ca_key, X509_REQ *csr, const char *serial, const char *cdp)
{
	X509 *raw = issue_raw(ca, ca_key, csr, serial, cdp);
	unsigned char *der = NULL;
	int len = i2d_X509(raw, &der);
	assert_true(len > 0);
	const unsigned char *p = der;
	X509 *cert = d2i_X509(NULL, &p, len);
	assert_non_null(cert);
	OPENSSL_free(der);
	X509_free(raw);
	return cert;
}

static mode_t file_mode(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static char *path_in(const char *dir, const char *name)
{
	static char buf[4][4096];
	static int next;
	char *p = buf[next++ % 4];
	assert_int_equal(ec_path_join(p, 4096, dir, name), 0);
	return p;
}

static void entry_is(X509_NAME *name, int i, int nid, const char *value)
{
	X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
	assert_non_null(e);
	assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)), nid);
	const ASN1_STRING *d = X509_NAME_ENTRY_get_data(e);
	assert_int_equal(ASN1_STRING_length(d), (int)strlen(value));
	assert_memory_equal(ASN1_STRING_get0_data(d), value, strlen(value));
}

/* ---- names ---- */

static void test_name_round_trip(void **state)
{
	char text[256];
	X509_NAME *name = name_of("CN=RootCA,OU=TAC,O=Cisco");
	assert_int_equal(X509_NAME_entry_count(name), 3);
	entry_is(name, 0, NID_organizationName, "Cisco");
	entry_is(name, 1, NID_organizationalUnitName, "TAC");
	entry_is(name, 2, NID_commonName, "RootCA");
	assert_int_equal(pki_name_format(name, text, sizeof(text)), 0);
	assert_string_equal(text, "CN=RootCA,OU=TAC,O=Cisco");

	/* The RDN order survives DER: the first RDN encoded is O=Cisco. */
	unsigned char *der = NULL;
	int n = i2d_X509_NAME(name, &der);
	assert_true(n > 0);
	const unsigned char *p = der;
	X509_NAME *back = d2i_X509_NAME(NULL, &p, n);
	assert_non_null(back);
	entry_is(back, 0, NID_organizationName, "Cisco");
	assert_int_equal(pki_name_format(back, text, sizeof(text)), 0);
	assert_string_equal(text, "CN=RootCA,OU=TAC,O=Cisco");
	X509_NAME_free(back);
	OPENSSL_free(der);
	X509_NAME_free(name);

	/* Case-insensitive types, spaces around '=' and ',' trimmed. */
	name = name_of("  cn = spoke-1.cisco.com , ou=CVO ");
	assert_int_equal(pki_name_format(name, text, sizeof(text)), 0);
	assert_string_equal(text, "CN=spoke-1.cisco.com,OU=CVO");
	X509_NAME_free(name);

	/* Escaped comma, other types. */
	name = name_of("CN=Doe\\, John,emailAddress=jd@example.com,serialNumber=FTX1234,DC=example,C=US");
	entry_is(name, 4, NID_commonName, "Doe, John");
	entry_is(name, 0, NID_countryName, "US");
	assert_int_equal(pki_name_format(name, text, sizeof(text)), 0);
	assert_string_equal(text, "CN=Doe\\, John,emailAddress=jd@example.com,serialNumber=FTX1234,DC=example,C=US");
	assert_int_equal(pki_name_format(name, text, 10), -1); /* too small */
	X509_NAME_free(name);

	/* A multi-valued RDN, as a router with `serial-number` builds it. */
	name = name_of("serialNumber=FTX1234+hostname=r1.cisco.com,O=Cisco");
	assert_int_equal(X509_NAME_entry_count(name), 3);
	assert_int_equal(X509_NAME_ENTRY_set(X509_NAME_get_entry(name, 1)),
	                 X509_NAME_ENTRY_set(X509_NAME_get_entry(name, 2)));
	assert_int_equal(pki_name_format(name, text, sizeof(text)), 0);
	assert_string_equal(text, "serialNumber=FTX1234+unstructuredName=r1.cisco.com,O=Cisco");
	X509_NAME_free(name);
}

static void test_name_bad(void **state)
{
	static const char *const bad[] = {
		"", "   ", "CN=", "CN= ,O=x", "XX=foo", "CN", "CN=a,,O=b", "CN=a,", "CN=a\\",
		"=foo", "C=USA", "CN=a+", "CN=\\00",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		X509_NAME *name = NULL;
		ec_err err = {""};
		if (pki_name_parse(bad[i], &name, &err) != -1)
			fail_msg("'%s' was accepted", bad[i]);
		assert_null(name);
		assert_true(strlen(err.msg) > 0);
	}
	X509_NAME *name = NULL;
	ec_err err = {""};
	assert_int_equal(pki_name_parse("CN=a,FOO=b", &name, &err), -1);
	assert_non_null(strstr(err.msg, "unknown attribute type 'FOO'"));
	assert_int_equal(pki_name_parse("CN=a,O=", &name, &err), -1);
	assert_non_null(strstr(err.msg, "empty value for O"));
}

/* ---- serials ---- */

static void serial_round_trip(const char *in, const char *expect)
{
	ASN1_INTEGER *ai = NULL;
	char out[PKI_SERIAL_MAX];
	ec_err err = {""};
	if (pki_serial_from_hex(in, &ai, &err) != 0)
		fail_msg("pki_serial_from_hex(%s): %s", in, err.msg);
	assert_int_equal(pki_serial_to_hex(ai, out), 0);
	assert_string_equal(out, expect);
	ASN1_INTEGER_free(ai);
}

static void test_serial(void **state)
{
	serial_round_trip("0", "0");
	serial_round_trip("1", "1");
	serial_round_trip("1A", "1A");
	serial_round_trip("1a", "1A");
	serial_round_trip("000012", "12");
	serial_round_trip("0000", "0");
	serial_round_trip("0123456789ABCDEF", "123456789ABCDEF");
	serial_round_trip("FEDCBA9876543210", "FEDCBA9876543210");
	serial_round_trip("1234567890ABCDEF1234567890ABCDE", "1234567890ABCDEF1234567890ABCDE");

	ASN1_INTEGER *ai = NULL;
	ec_err err = {""};
	assert_int_equal(pki_serial_from_hex("1A", &ai, &err), 0);
	uint64_t v = 0;
	assert_true(ASN1_INTEGER_get_uint64(&v, ai));
	assert_true(v == 0x1a);
	ASN1_INTEGER_free(ai);
	assert_int_equal(pki_serial_from_hex("FEDCBA9876543210", &ai, &err), 0);
	assert_true(ASN1_INTEGER_get_uint64(&v, ai));
	assert_true(v == 0xFEDCBA9876543210ULL);
	ASN1_INTEGER_free(ai);

	static const char *const bad[] = {"", "xyz", "-1", "12 ", "0x12", "1234567890ABCDEF1234567890ABCDEF1234567890AB"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ai = NULL;
		if (pki_serial_from_hex(bad[i], &ai, &err) != -1)
			fail_msg("serial '%s' was accepted", bad[i]);
		assert_null(ai);
	}
}

/* ---- CA certificate ---- */

static void test_ca_cert(void **state)
{
	EVP_PKEY *key = tu_rsa_key(1024);
	X509 *ca = make_ca(key, "01");
	char text[256], serial[PKI_SERIAL_MAX];

	assert_int_equal(X509_get_version(ca), X509_VERSION_3);
	assert_int_equal(pki_cert_serial_hex(ca, serial), 0);
	assert_string_equal(serial, "1");
	assert_int_equal(pki_name_format(X509_get_subject_name(ca), text, sizeof(text)), 0);
	assert_string_equal(text, "CN=RootCA,OU=TAC,O=Cisco");
	assert_int_equal(X509_NAME_cmp(X509_get_subject_name(ca), X509_get_issuer_name(ca)), 0);
	assert_true(pki_cert_is_self_signed(ca));
	assert_int_equal(X509_verify(ca, key), 1);

	/* Validity exactly as given: 13:14:16 Oct 9 2015 -> 13:14:16 Oct 8 2017. */
	assert_true(pki_cert_not_before(ca) == at("2015-10-09T13:14:16Z"));
	assert_true(pki_cert_not_after(ca) == at("2017-10-08T13:14:16Z"));
	assert_true(pki_cert_not_after(ca) - pki_cert_not_before(ca) == 730 * EC_MS_PER_DAY);

	/* Extensions. */
	assert_int_equal(X509_check_ca(ca), 1);
	int i = X509_get_ext_by_NID(ca, NID_basic_constraints, -1);
	assert_true(i >= 0);
	assert_int_equal(X509_EXTENSION_get_critical(X509_get_ext(ca, i)), 1);
	i = X509_get_ext_by_NID(ca, NID_key_usage, -1);
	assert_true(i >= 0);
	assert_int_equal(X509_EXTENSION_get_critical(X509_get_ext(ca, i)), 1);
	assert_int_equal(X509_get_key_usage(ca), KU_KEY_CERT_SIGN | KU_CRL_SIGN | KU_DIGITAL_SIGNATURE);
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(ca);
	const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(ca);
	assert_non_null(ski);
	assert_non_null(aki);
	assert_int_equal(ASN1_OCTET_STRING_cmp(ski, aki), 0);
	X509_free(ca);
}

static void test_ca_cert_refused(void **state)
{
	X509_NAME *subject = name_of("CN=RootCA");
	X509 *ca = NULL;
	ec_err err = {""};
	pki_ca_params p = {subject, tu_rsa_key(1024), "1", at("2015-10-09T13:14:16Z"),
	                   at("2015-10-09T13:14:16Z"), EVP_sha256()};
	assert_int_equal(pki_make_ca_cert(&p, &ca, &err), -1);
	assert_null(ca);
	assert_non_null(strstr(err.msg, "notAfter"));
	p.not_after = at("2017-10-08T13:14:16Z");
	p.serial_hex = "zz";
	assert_int_equal(pki_make_ca_cert(&p, &ca, &err), -1);
	assert_null(ca);

	/* Far dates use GeneralizedTime and still read back exactly; milliseconds are dropped. */
	p.serial_hex = "2";
	p.not_before = at("2049-06-01T00:00:00.750Z");
	p.not_after = at("2061-01-02T03:04:05Z");
	assert_int_equal(pki_make_ca_cert(&p, &ca, &err), 0);
	assert_true(pki_cert_not_before(ca) == at("2049-06-01T00:00:00Z"));
	assert_true(pki_cert_not_after(ca) == at("2061-01-02T03:04:05Z"));
	assert_true(pki_asn1_time_ms(NULL) == -1);
	X509_free(ca);
	X509_NAME_free(subject);
}

/* ---- issued certificates and chains ---- */

static const char *cdp_uri(X509 *cert)
{
	CRL_DIST_POINTS *cdp = X509_get_ext_d2i(cert, NID_crl_distribution_points, NULL, NULL);
	static char uri[256];
	uri[0] = '\0';
	if (cdp == NULL)
		return NULL;
	DIST_POINT *dp = sk_DIST_POINT_value(cdp, 0);
	GENERAL_NAME *gn = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, 0);
	assert_int_equal(gn->type, GEN_URI);
	snprintf(uri, sizeof(uri), "%.*s", ASN1_STRING_length(gn->d.uniformResourceIdentifier),
	         (const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier));
	CRL_DIST_POINTS_free(cdp);
	return uri;
}

static void test_issue_cert(void **state)
{
	EVP_PKEY *ca_key = tu_rsa_key(1024);
	EVP_PKEY *key = tu_rsa_key_new(1024);
	X509 *ca = make_ca(ca_key, "1");
	X509_REQ *csr = csr_with_san(key, "spoke-1.cisco.com", "DNS:spoke-1.cisco.com,IP:10.1.1.2");
	X509 *cert = issue(ca, ca_key, csr, "2", "http://10.1.1.1/ROOTCA.crl");
	char serial[PKI_SERIAL_MAX];

	assert_int_equal(X509_get_version(cert), X509_VERSION_3);
	assert_int_equal(pki_cert_serial_hex(cert, serial), 0);
	assert_string_equal(serial, "2");
	assert_int_equal(X509_NAME_cmp(X509_get_subject_name(cert), X509_REQ_get_subject_name(csr)), 0);
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(ca)), 0);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(cert), key), 1);
	/* The object issued carries the request's SubjectPublicKeyInfo as encoded, not decoded. */
	X509 *raw = issue_raw(ca, ca_key, csr, "2", "http://10.1.1.1/ROOTCA.crl");
	assert_null(X509_get0_pubkey(raw));
	unsigned char *spki_req = NULL, *spki_cert = NULL;
	int spki_req_len = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(csr), &spki_req);
	int spki_cert_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(raw), &spki_cert);
	assert_true(spki_req_len > 0);
	assert_int_equal(spki_cert_len, spki_req_len);
	assert_memory_equal(spki_cert, spki_req, (size_t)spki_req_len);
	OPENSSL_free(spki_req);
	OPENSSL_free(spki_cert);
	X509_free(raw);
	assert_true(pki_cert_not_before(cert) == at("2016-01-01T00:00:00Z"));
	assert_true(pki_cert_not_after(cert) == at("2016-12-31T00:00:00Z"));

	/* Extensions: the requested CA:TRUE is ignored, the SAN copied. */
	assert_int_equal(X509_check_ca(cert), 0);
	int i = X509_get_ext_by_NID(cert, NID_basic_constraints, -1);
	assert_true(i >= 0);
	assert_int_equal(X509_EXTENSION_get_critical(X509_get_ext(cert, i)), 1);
	assert_int_equal(X509_get_key_usage(cert), KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
	assert_int_equal(X509_get_extended_key_usage(cert), XKU_SSL_CLIENT | XKU_SSL_SERVER);
	assert_non_null(X509_get0_subject_key_id(cert));
	assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(cert), X509_get0_subject_key_id(ca)), 0);
	GENERAL_NAMES *san = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	assert_non_null(san);
	assert_int_equal(sk_GENERAL_NAME_num(san), 2);
	assert_int_equal(sk_GENERAL_NAME_value(san, 0)->type, GEN_DNS);
	assert_int_equal(sk_GENERAL_NAME_value(san, 1)->type, GEN_IPADD);
	GENERAL_NAMES_free(san);
	assert_string_equal(cdp_uri(cert), "http://10.1.1.1/ROOTCA.crl");
	assert_true(pki_cert_issued_by(cert, ca));
	assert_false(pki_cert_is_self_signed(cert));

	/* The chain, at pinned times: inside, after notAfter, before notBefore. */
	STACK_OF(X509) *trusted = sk_X509_new_null();
	assert_true(sk_X509_push(trusted, ca) > 0);
	ec_err err = {""};
	assert_int_equal(pki_verify_cert(cert, trusted, NULL, at("2016-06-01T12:00:00Z"), &err), 0);
	assert_int_equal(pki_verify_cert(cert, trusted, NULL, at("2017-03-01T00:00:00Z"), &err), -1);
	assert_string_equal(err.msg, "certificate has expired");
	assert_int_equal(pki_verify_cert(cert, trusted, NULL, at("2015-12-01T00:00:00Z"), &err), -1);
	assert_string_equal(err.msg, "certificate is not yet valid");
	/* The CA itself is also judged at the pinned time. */
	assert_int_equal(pki_verify_cert(ca, trusted, NULL, at("2017-10-09T00:00:00Z"), &err), -1);
	assert_string_equal(err.msg, "certificate has expired");

	sk_X509_free(trusted);
	X509_free(cert);
	X509_REQ_free(csr);
	X509_free(ca);
	EVP_PKEY_free(key);
}

/* An EC key's algorithm parameters (its curve) travel with the key into the certificate. */
static void test_issue_ec_key(void **state)
{
	(void)state;
	EVP_PKEY *ca_key = tu_rsa_key(1024);
	X509 *ca = make_ca(ca_key, "1");
	EVP_PKEY *key = EVP_EC_gen("P-256");
	assert_non_null(key);
	X509_REQ *csr = tu_csr(key, "ec-spoke", NULL);
	X509 *cert = issue(ca, ca_key, csr, "5", NULL);
	EVP_PKEY *pub = X509_get0_pubkey(cert);
	assert_non_null(pub);
	assert_true(EVP_PKEY_is_a(pub, "EC"));
	char curve[64];
	assert_int_equal(EVP_PKEY_get_utf8_string_param(pub, OSSL_PKEY_PARAM_GROUP_NAME, curve, sizeof(curve), NULL), 1);
	assert_string_equal(curve, "prime256v1");
	assert_int_equal(EVP_PKEY_eq(pub, key), 1);
	assert_true(pki_cert_issued_by(cert, ca));
	X509_free(cert);
	X509_REQ_free(csr);
	EVP_PKEY_free(key);
	X509_free(ca);
}

static void test_issue_without_san_or_cdp(void **state)
{
	EVP_PKEY *ca_key = tu_rsa_key(1024);
	X509 *ca = make_ca(ca_key, "1");
	X509_REQ *csr = tu_csr(ca_key, "plain", "challenge");
	X509 *cert = issue(ca, ca_key, csr, "3", "");
	assert_int_equal(X509_get_ext_by_NID(cert, NID_subject_alt_name, -1), -1);
	assert_int_equal(X509_get_ext_by_NID(cert, NID_crl_distribution_points, -1), -1);
	X509_free(cert);
	cert = issue(ca, ca_key, csr, "4", NULL);
	assert_null(cdp_uri(cert));
	X509_free(cert);
	X509_REQ_free(csr);
	X509_free(ca);
}

static void test_issue_refused(void **state)
{
	EVP_PKEY *ca_key = tu_rsa_key(1024);
	X509 *ca = make_ca(ca_key, "1");
	X509_REQ *good = tu_csr(ca_key, "spoke", NULL);
	X509 *cert = NULL;
	ec_err err = {""};

	/* A request whose signature was tampered with. */
	unsigned char *der = NULL;
	int n = tu_csr_der(good, &der);
	der[n - 1] ^= 0x01;
	const unsigned char *p = der;
	X509_REQ *bad = d2i_X509_REQ(NULL, &p, n);
	assert_non_null(bad);
	pki_issue_params ip = {bad, ca, ca_key, "5", at("2016-01-01T00:00:00Z"),
	                       at("2016-12-31T00:00:00Z"), EVP_sha256(), NULL, false, &small_keys};
	assert_int_equal(pki_issue_cert(&ip, &cert, &err), -1);
	assert_null(cert);
	assert_non_null(strstr(err.msg, "signature does not verify"));

	/* Inverted validity. */
	ip.csr = good;
	ip.not_after = ip.not_before;
	assert_int_equal(pki_issue_cert(&ip, &cert, &err), -1);
	assert_null(cert);

	/* A CA key that is not the CA certificate's. */
	EVP_PKEY *other = tu_rsa_key_new(1024);
	ip.not_after = at("2016-12-31T00:00:00Z");
	ip.ca_key = other;
	assert_int_equal(pki_issue_cert(&ip, &cert, &err), -1);
	assert_null(cert);

	/* A bad CDP URL. */
	ip.ca_key = ca_key;
	ip.cdp_url = "http://a b/";
	assert_int_equal(pki_issue_cert(&ip, &cert, &err), -1);
	assert_null(cert);

	EVP_PKEY_free(other);
	X509_REQ_free(bad);
	OPENSSL_free(der);
	X509_REQ_free(good);
	X509_free(ca);
}

/* A request CN=cn for key asking for one extension (nid, value), or none when nid is 0. */
static X509_REQ *csr_asking(EVP_PKEY *key, const char *cn, int nid, const char *value)
{
	X509_REQ *req = X509_REQ_new();
	assert_non_null(req);
	assert_true(X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_UTF8,
	                                       (const unsigned char *)cn, -1, -1, 0));
	if (nid != 0) {
		STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
		assert_non_null(exts);
		push_ext(exts, nid, value);
		assert_true(X509_REQ_add_extensions(req, exts));
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	}
	assert_true(X509_REQ_set_pubkey(req, key));
	assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
	return req;
}

static void policy_refuses(EVP_PKEY *key, int nid, const char *value, const char *why)
{
	X509_REQ *req = csr_asking(key, "spoke", nid, value);
	ec_err err = {""};
	if (pki_csr_check_policy(req, NULL, &err) == 0)
		fail_msg("accepted a request for %s", value);
	if (strstr(err.msg, why) == NULL)
		fail_msg("refused %s for '%s', expected '%s'", value, err.msg, why);
	X509_REQ_free(req);
}

static void policy_accepts(EVP_PKEY *key, int nid, const char *value, const pki_issuance_rules *rules)
{
	X509_REQ *req = csr_asking(key, "spoke", nid, value);
	ec_err err = {""};
	if (pki_csr_check_policy(req, rules, &err) != 0)
		fail_msg("refused %s: %s", value ? value : "(no extension)", err.msg);
	X509_REQ_free(req);
}

/* A request whose subjectAltName holds one name made from raw bytes (type GEN_DNS, GEN_EMAIL,
 * GEN_URI: IA5String; GEN_IPADD: OCTET STRING), which the config syntax cannot express. */
static X509_REQ *csr_with_raw_name(EVP_PKEY *key, int type, const void *bytes, int len)
{
	X509_REQ *req = csr_asking(key, "spoke", 0, NULL);
	GENERAL_NAMES *names = GENERAL_NAMES_new();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_STRING *s = type == GEN_IPADD ? ASN1_OCTET_STRING_new() : ASN1_IA5STRING_new();
	assert_true(names && gn && s && ASN1_STRING_set(s, bytes, len));
	GENERAL_NAME_set0_value(gn, type, s);
	assert_true(sk_GENERAL_NAME_push(names, gn));
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	assert_true(X509V3_add1_i2d(&exts, NID_subject_alt_name, names, 0, 0) == 1);
	assert_true(X509_REQ_add_extensions(req, exts));
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	GENERAL_NAMES_free(names);
	assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
	return req;
}

static void raw_name_refused(EVP_PKEY *key, int type, const void *bytes, int len, const char *why)
{
	X509_REQ *req = csr_with_raw_name(key, type, bytes, len);
	ec_err err = {""};
	if (pki_csr_check_policy(req, NULL, &err) == 0)
		fail_msg("accepted the raw name '%.*s'", len, (const char *)bytes);
	if (strstr(err.msg, why) == NULL)
		fail_msg("refused '%.*s' for '%s', expected '%s'", len, (const char *)bytes, err.msg, why);
	X509_REQ_free(req);
}

static void test_csr_policy(void **state)
{
	(void)state;
	EVP_PKEY *key = tu_rsa_key(2048);
	ec_err err = {""};

	policy_refuses(key, NID_basic_constraints, "critical,CA:TRUE", "asks to be a CA");
	policy_refuses(key, NID_key_usage, "critical,keyCertSign", "keyCertSign or cRLSign");
	policy_refuses(key, NID_key_usage, "digitalSignature,cRLSign", "keyCertSign or cRLSign");
	policy_refuses(key, NID_name_constraints, "permitted;DNS:example.net", "nameConstraints");
	policy_refuses(key, NID_subject_alt_name, "RID:1.2.3.4", "name type");
	policy_refuses(key, NID_subject_alt_name, "otherName:1.2.3.4;UTF8:x", "name type");

	/* What an ordinary client asks for is accepted. */
	const struct { int nid; const char *value; } fine[] = {
		{0, NULL},
		{NID_basic_constraints, "CA:FALSE"},
		{NID_key_usage, "critical,digitalSignature,keyEncipherment"},
		{NID_subject_alt_name, "DNS:spoke.example.net,IP:192.0.2.1,email:a@example.net"},
		{NID_subject_alt_name, "DNS:*.spoke.example.net,DNS:xn--bcher-kva.example,IP:2001:db8::1"},
		{NID_subject_alt_name, "DNS:localhost"},
		{NID_ext_key_usage, "clientAuth"},
	};
	for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++)
		policy_accepts(key, fine[i].nid, fine[i].value, NULL);

	/* A subject of 17 attributes. */
	X509_REQ *req = csr_asking(key, "spoke", 0, NULL);
	for (int i = 0; i < 16; i++)
		assert_true(X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "OU", MBSTRING_UTF8,
		                                       (const unsigned char *)"unit", -1, -1, 0));
	assert_int_equal(pki_csr_check_policy(req, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "17 attributes"));
	X509_REQ_free(req);

	/* A subject value with a line break or a NUL. */
	const char *bad_values[] = {"spoke\nCN=bank", "spoke\r", "a\x7f"};
	for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
		req = csr_asking(key, "spoke", 0, NULL);
		assert_true(X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "OU", MBSTRING_UTF8,
		                                       (const unsigned char *)bad_values[i], -1, -1, 0));
		assert_int_equal(pki_csr_check_policy(req, NULL, &err), -1);
		assert_non_null(strstr(err.msg, "control character"));
		X509_REQ_free(req);
	}
	req = csr_asking(key, "spoke", 0, NULL);
	assert_true(X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "OU", V_ASN1_UTF8STRING,
	                                       (const unsigned char *)"a\0b", 3, -1, 0));
	assert_int_equal(pki_csr_check_policy(req, NULL, &err), -1);
	X509_REQ_free(req);
}

static void test_csr_policy_names(void **state)
{
	(void)state;
	EVP_PKEY *key = tu_rsa_key(2048);
	const char *bad_dns[] = {"a..example", "-a.example", "a-.example", "a_b.example", "a.example.",
	                         "*.com", "w*.example.net", "a.*.example.net", "*", ".example", "",
	                         "a b.example", "*.*.example.net"};
	for (size_t i = 0; i < sizeof(bad_dns) / sizeof(bad_dns[0]); i++)
		raw_name_refused(key, GEN_DNS, bad_dns[i], (int)strlen(bad_dns[i]), "not a valid DNS name");
	raw_name_refused(key, GEN_DNS, "ok.example\0.bank.example", 24, "not a valid DNS name");
	raw_name_refused(key, GEN_DNS, "ok.example\n", 11, "not a valid DNS name");
	char label[80];
	memset(label, 'a', 64);
	memcpy(label + 64, ".example", 9);
	raw_name_refused(key, GEN_DNS, label, (int)strlen(label), "not a valid DNS name");

	const unsigned char zero4[4] = {0}, zero16[16] = {0}, five[5] = {10, 0, 0, 1, 0};
	raw_name_refused(key, GEN_IPADD, zero4, 4, "not a valid IP address");
	raw_name_refused(key, GEN_IPADD, zero16, 16, "not a valid IP address");
	raw_name_refused(key, GEN_IPADD, five, 5, "not a valid IP address");
	raw_name_refused(key, GEN_IPADD, five, 0, "not a valid IP address");

	const char *bad_email[] = {"nobody", "@example.net", "a@b@example.net", "a b@example.net",
	                           "a@exa mple.net", "a\n@example.net", "a@"};
	for (size_t i = 0; i < sizeof(bad_email) / sizeof(bad_email[0]); i++)
		raw_name_refused(key, GEN_EMAIL, bad_email[i], (int)strlen(bad_email[i]), "not a valid e-mail");

	/* URIs: refused unless the rules allow them, and then only well-formed ones. */
	policy_refuses(key, NID_subject_alt_name, "URI:https://spoke.example.net/", "does not issue");
	pki_issuance_rules uri = pki_issuance_defaults;
	uri.allow_uri = true;
	policy_accepts(key, NID_subject_alt_name, "URI:https://spoke.example.net/", &uri);
	X509_REQ *req = csr_with_raw_name(key, GEN_URI, "no scheme", 9);
	ec_err err = {""};
	assert_int_equal(pki_csr_check_policy(req, &uri, &err), -1);
	assert_non_null(strstr(err.msg, "not a valid URI"));
	X509_REQ_free(req);
}

static void key_refused(EVP_PKEY *key, const pki_issuance_rules *rules, const char *why)
{
	X509_REQ *req = csr_asking(key, "spoke", 0, NULL);
	ec_err err = {""};
	if (pki_csr_check_policy(req, rules, &err) == 0)
		fail_msg("accepted a key that should be refused (%s)", why);
	if (strstr(err.msg, why) == NULL)
		fail_msg("refused for '%s', expected '%s'", err.msg, why);
	X509_REQ_free(req);
}

static void test_csr_policy_keys(void **state)
{
	(void)state;
	/* RSA: 2048 to 8192 bits by default; the server's rules move the bounds. */
	key_refused(tu_rsa_key(1024), NULL, "1024 bits is not accepted (2048 to 8192 bits)");
	policy_accepts(tu_rsa_key(1024), 0, NULL, &small_keys);
	pki_issuance_rules big = {3072, 8192, false};
	key_refused(tu_rsa_key(2048), &big, "2048 bits is not accepted (3072 to 8192 bits)");
	pki_issuance_rules capped = {1024, 1536, false};
	key_refused(tu_rsa_key(2048), &capped, "2048 bits is not accepted");

	/* EC: the named curves P-256, P-384 and P-521 only. */
	const char *good[] = {"P-256", "P-384", "P-521"};
	for (size_t i = 0; i < 3; i++) {
		EVP_PKEY *ec = EVP_EC_gen(good[i]);
		assert_non_null(ec);
		policy_accepts(ec, 0, NULL, NULL);
		EVP_PKEY_free(ec);
	}
	EVP_PKEY *k1 = EVP_EC_gen("secp256k1");
	assert_non_null(k1);
	key_refused(k1, NULL, "is not accepted (P-256, P-384 and P-521 only)");
	EVP_PKEY_free(k1);

	/* The same P-256 key written with explicit parameters. */
	EVP_PKEY *named = EVP_EC_gen("P-256");
	assert_non_null(named);
	EVP_PKEY *explicit_key = EVP_PKEY_dup(named);
	assert_non_null(explicit_key);
	assert_true(EVP_PKEY_set_utf8_string_param(explicit_key, OSSL_PKEY_PARAM_EC_ENCODING,
	                                           OSSL_PKEY_EC_ENCODING_EXPLICIT));
	X509_REQ *req = csr_asking(explicit_key, "spoke", 0, NULL);
	unsigned char *der = NULL;
	int len = i2d_X509_REQ(req, &der);
	X509_REQ_free(req);
	const unsigned char *p = der;
	req = d2i_X509_REQ(NULL, &p, len);
	OPENSSL_free(der);
	assert_non_null(req);
	ec_err err = {""};
	assert_int_equal(pki_csr_check_policy(req, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "explicit curve parameters"));
	X509_REQ_free(req);
	EVP_PKEY_free(explicit_key);
	EVP_PKEY_free(named);
}

/* A renewal must ask for its signer's names: subject and the set of alternative names. */
static void test_csr_names_match(void **state)
{
	(void)state;
	EVP_PKEY *ca_key = tu_rsa_key(1024);
	X509 *ca = make_ca(ca_key, "1");
	EVP_PKEY *key = tu_rsa_key(2048);
	X509_REQ *orig = csr_asking(key, "spoke", NID_subject_alt_name, "DNS:spoke.example.net,IP:192.0.2.1");
	X509 *cert = issue_raw(ca, ca_key, orig, "2", NULL);
	X509_REQ *req = csr_asking(key, "spoke", NID_subject_alt_name, "IP:192.0.2.1,DNS:spoke.example.net");
	assert_int_equal(pki_csr_names_match(req, cert), PKI_NAMES_SAME);
	X509_REQ_free(req);
	req = csr_asking(key, "www.bank.example", NID_subject_alt_name, "DNS:spoke.example.net,IP:192.0.2.1");
	assert_int_equal(pki_csr_names_match(req, cert), PKI_NAMES_SUBJECT_DIFFERS);
	X509_REQ_free(req);
	req = csr_asking(key, "spoke", NID_subject_alt_name, "DNS:spoke.example.net,IP:192.0.2.1,DNS:*.bank.example");
	assert_int_equal(pki_csr_names_match(req, cert), PKI_NAMES_SAN_DIFFERS);
	X509_REQ_free(req);
	req = csr_asking(key, "spoke", NID_subject_alt_name, "DNS:spoke.example.net");
	assert_int_equal(pki_csr_names_match(req, cert), PKI_NAMES_SAN_DIFFERS);
	X509_REQ_free(req);
	req = csr_asking(key, "spoke", 0, NULL);
	assert_int_equal(pki_csr_names_match(req, cert), PKI_NAMES_SAN_DIFFERS);
	X509_REQ_free(req);
	X509_free(cert);
	X509_REQ_free(orig);
	X509_free(ca);
}

static void test_issued_by(void **state)
{
	EVP_PKEY *ca_key = tu_rsa_key(1024);
	EVP_PKEY *other_key = tu_rsa_key_new(1024);
	X509 *ca = make_ca(ca_key, "1");
	X509 *impostor = make_ca(other_key, "1"); /* same name, other key */
	X509_REQ *csr = tu_csr(other_key, "spoke", NULL);
	X509 *cert = issue(ca, ca_key, csr, "2", NULL);

	assert_true(pki_cert_issued_by(cert, ca));
	assert_false(pki_cert_issued_by(cert, impostor));
	assert_false(pki_cert_issued_by(ca, cert));
	assert_true(pki_cert_is_self_signed(ca));
	assert_true(pki_cert_is_self_signed(impostor));
	assert_false(pki_cert_issued_by(ca, impostor));

	/* Several trusted CAs (old and new): the right one is found. */
	STACK_OF(X509) *trusted = sk_X509_new_null();
	X509 *unrelated = tu_self_signed(other_key, "Other", 9, 1420070400, 3650, 1);
	assert_true(sk_X509_push(trusted, unrelated) > 0);
	ec_err err = {""};
	assert_int_equal(pki_verify_cert(cert, trusted, NULL, at("2016-06-01T00:00:00Z"), &err), -1);
	assert_true(sk_X509_push(trusted, ca) > 0);
	assert_int_equal(pki_verify_cert(cert, trusted, NULL, at("2016-06-01T00:00:00Z"), &err), 0);

	sk_X509_free(trusted);
	X509_free(unrelated);
	X509_free(cert);
	X509_REQ_free(csr);
	X509_free(impostor);
	X509_free(ca);
	EVP_PKEY_free(other_key);
}

/* ---- CRL ---- */

static X509_CRL *make_crl(X509 *ca, EVP_PKEY *ca_key, const pki_revoked *rev, size_t n)
{
	pki_crl_params p = {ca, ca_key, EVP_sha256(), at("2016-06-01T00:00:00Z"),
	                    at("2016-06-01T06:00:00Z"), 5, rev, n};
	X509_CRL *crl = NULL;
	ec_err err = {""};
	if (pki_make_crl(&p, &crl, &err) != 0)
		fail_msg("pki_make_crl: %s", err.msg);
	return crl;
}

static void test_crl(void **state)
{
	EVP_PKEY *ca_key = tu_rsa_key(1024);
	X509 *ca = make_ca(ca_key, "1");
	pki_revoked rev[3] = {
		{"1F", at("2016-05-01T00:00:00Z")},
		{"3", at("2016-05-02T00:00:00Z")},
		{"A", at("2016-05-03T00:00:00Z")},
	};
	X509_CRL *crl = make_crl(ca, ca_key, rev, 3);
	char hex[PKI_SERIAL_MAX];

	assert_int_equal(X509_CRL_verify(crl, ca_key), 1);
	assert_int_equal(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
	assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca)), 0);
	assert_true(pki_asn1_time_ms(X509_CRL_get0_lastUpdate(crl)) == at("2016-06-01T00:00:00Z"));
	assert_true(pki_asn1_time_ms(X509_CRL_get0_nextUpdate(crl)) == at("2016-06-01T06:00:00Z"));
	STACK_OF(X509_REVOKED) *entries = X509_CRL_get_REVOKED(crl);
	assert_int_equal(sk_X509_REVOKED_num(entries), 3);
	static const char *const sorted[] = {"3", "A", "1F"};
	for (int i = 0; i < 3; i++) {
		assert_int_equal(pki_serial_to_hex(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(entries, i)), hex), 0);
		assert_string_equal(hex, sorted[i]);
	}
	ASN1_INTEGER *number = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	assert_non_null(number);
	assert_int_equal(ASN1_INTEGER_get(number), 5);
	ASN1_INTEGER_free(number);
	AUTHORITY_KEYID *akid = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL, NULL);
	assert_non_null(akid);
	assert_int_equal(ASN1_OCTET_STRING_cmp(akid->keyid, X509_get0_subject_key_id(ca)), 0);
	AUTHORITY_KEYID_free(akid);

	/* A revoked certificate fails, another passes; the CRL's own times are pinned too. */
	EVP_PKEY *key = tu_rsa_key_new(1024);
	X509_REQ *csr = tu_csr(key, "spoke", NULL);
	X509 *revoked = issue(ca, ca_key, csr, "A", NULL);
	X509 *fine = issue(ca, ca_key, csr, "B", NULL);
	STACK_OF(X509) *trusted = sk_X509_new_null();
	STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
	assert_true(sk_X509_push(trusted, ca) > 0);
	assert_true(sk_X509_CRL_push(crls, crl) > 0);
	ec_err err = {""};
	ec_time t = at("2016-06-01T01:00:00Z");
	assert_int_equal(pki_verify_cert(revoked, trusted, NULL, t, &err), 0);
	assert_int_equal(pki_verify_cert(revoked, trusted, crls, t, &err), -1);
	assert_string_equal(err.msg, "certificate revoked");
	assert_int_equal(pki_verify_cert(fine, trusted, crls, t, &err), 0);
	assert_int_equal(pki_verify_cert(fine, trusted, crls, at("2016-06-01T07:00:00Z"), &err), -1);
	assert_string_equal(err.msg, "CRL has expired");
	assert_int_equal(pki_verify_cert(fine, trusted, crls, at("2016-05-31T23:00:00Z"), &err), -1);
	assert_string_equal(err.msg, "CRL is not yet valid");

	sk_X509_CRL_free(crls);
	sk_X509_free(trusted);
	X509_free(fine);
	X509_free(revoked);
	X509_REQ_free(csr);
	EVP_PKEY_free(key);
	X509_CRL_free(crl);
	X509_free(ca);
}

static void test_crl_empty_and_refused(void **state)
{
	EVP_PKEY *ca_key = tu_rsa_key(1024);
	X509 *ca = make_ca(ca_key, "1");
	X509_CRL *crl = make_crl(ca, ca_key, NULL, 0);
	assert_int_equal(X509_CRL_verify(crl, ca_key), 1);
	assert_null(X509_CRL_get_REVOKED(crl)); /* RFC 5280: absent when empty */
	X509_CRL_free(crl);

	pki_crl_params p = {ca, ca_key, EVP_sha256(), at("2016-06-01T00:00:00Z"),
	                    at("2016-06-01T00:00:00Z"), 1, NULL, 0};
	ec_err err = {""};
	crl = NULL;
	assert_int_equal(pki_make_crl(&p, &crl, &err), -1);
	assert_null(crl);
	pki_revoked bad = {"nothex", 0};
	p.next_update = at("2016-06-02T00:00:00Z");
	p.revoked = &bad;
	p.n_revoked = 1;
	assert_int_equal(pki_make_crl(&p, &crl, &err), -1);
	assert_null(crl);
	X509_free(ca);
}

/* ---- keys ---- */

static void test_key_generate(void **state)
{
	EVP_PKEY *key = NULL;
	ec_err err = {""};
	assert_int_equal(pki_key_generate(1024, &key, &err), 0);
	assert_int_equal(EVP_PKEY_get_bits(key), 1024);
	assert_true(EVP_PKEY_is_a(key, "RSA"));
	EVP_PKEY_free(key);
	key = NULL;
	assert_int_equal(pki_key_generate(512, &key, &err), -1);
	assert_null(key);
}

static void test_key_save_load(void **state)
{
	char *dir = tu_tmpdir("test_pki");
	const char *path = path_in(dir, "ROOTCA.key");
	EVP_PKEY *key = tu_rsa_key(1024);
	EVP_PKEY *loaded = NULL;
	ec_err err = {""};

	assert_int_equal(pki_key_save(path, key, "", &err), -1);
	assert_int_equal(pki_key_save(path, key, NULL, &err), -1);
	assert_int_equal(ec_file_exists(path), 0);

	assert_int_equal(pki_key_save(path, key, "Rev0cati0n$Passw0rd", &err), 0);
	assert_int_equal(file_mode(path), 0600);
	assert_int_equal(pki_key_load(path, "Rev0cati0n$Passw0rd", &loaded, &err), 0);
	assert_int_equal(EVP_PKEY_eq(key, loaded), 1);
	char fp1[65], fp2[65];
	assert_int_equal(pki_pubkey_fingerprint(key, fp1), 0);
	assert_int_equal(pki_pubkey_fingerprint(loaded, fp2), 0);
	assert_string_equal(fp1, fp2);
	assert_int_equal(strlen(fp1), 64);
	assert_int_equal(strspn(fp1, "0123456789abcdef"), 64);
	EVP_PKEY_free(loaded);
	loaded = NULL;

	assert_int_equal(pki_key_load(path, "wrong", &loaded, &err), -1);
	assert_null(loaded);
	char expect[600];
	snprintf(expect, sizeof(expect), "cannot decrypt key %s: wrong password or corrupt file", path);
	assert_string_equal(err.msg, expect);

	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(pki_key_load(path, "Rev0cati0n$Passw0rd", &loaded, &err), -1);
	assert_null(loaded);
	assert_non_null(strstr(err.msg, "readable or writable by other users"));

	/* An unencrypted key is refused; a missing file says so. */
	const char *plain = path_in(dir, "plain.key");
	BIO *bio = BIO_new(BIO_s_mem());
	assert_true(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL));
	char *data = NULL;
	long n = BIO_get_mem_data(bio, &data);
	assert_int_equal(ec_write_atomic(plain, data, (size_t)n, 0600, &err), 0);
	BIO_free(bio);
	assert_int_equal(pki_key_load(plain, "x", &loaded, &err), -1);
	assert_non_null(strstr(err.msg, "not an encrypted"));
	assert_int_equal(pki_key_load(path_in(dir, "missing.key"), "x", &loaded, &err), -1);
	assert_null(loaded);
	free(dir);
}

/* ---- archives ---- */

static void test_pkcs12(void **state)
{
	char *dir = tu_tmpdir("test_pki");
	const char *path = path_in(dir, "ROOTCA_00001.p12");
	EVP_PKEY *key = tu_rsa_key(1024);
	X509 *ca = make_ca(key, "3");
	ec_err err = {""};

	assert_int_equal(pki_export_pkcs12(path, "ROOTCA#", key, ca, "", &err), -1);
	assert_int_equal(pki_export_pkcs12(path, "ROOTCA#", key, ca, "cisco123", &err), 0);
	assert_int_equal(file_mode(path), 0600);

	uint8_t *data = NULL;
	size_t len = 0;
	assert_int_equal(ec_read_file(path, 1 << 20, &data, &len, &err), 0);
	const unsigned char *p = data;
	PKCS12 *p12 = d2i_PKCS12(NULL, &p, (long)len);
	assert_non_null(p12);
	assert_int_equal(PKCS12_verify_mac(p12, "cisco123", -1), 1);
	assert_int_equal(PKCS12_verify_mac(p12, "wrong", -1), 0);
	const X509_ALGOR *macalg = NULL;
	const ASN1_OBJECT *macobj = NULL;
	PKCS12_get0_mac(NULL, &macalg, NULL, NULL, p12);
	X509_ALGOR_get0(&macobj, NULL, NULL, macalg);
	assert_int_equal(OBJ_obj2nid(macobj), NID_sha256);

	EVP_PKEY *pkey = NULL;
	X509 *cert = NULL;
	STACK_OF(X509) *extra = NULL;
	assert_int_equal(PKCS12_parse(p12, "cisco123", &pkey, &cert, &extra), 1);
	assert_int_equal(EVP_PKEY_eq(pkey, key), 1);
	assert_int_equal(X509_cmp(cert, ca), 0);
	int nlen = 0;
	unsigned char *alias = X509_alias_get0(cert, &nlen);
	assert_non_null(alias);
	assert_memory_equal(alias, "ROOTCA#", 7);
	ERR_clear_error();

	EVP_PKEY_free(pkey);
	X509_free(cert);
	sk_X509_pop_free(extra, X509_free);
	PKCS12_free(p12);
	free(data);
	X509_free(ca);
	free(dir);
}

static void test_pem_archive(void **state)
{
	char *dir = tu_tmpdir("test_pki");
	const char *path = path_in(dir, "ROOTCA.pem");
	EVP_PKEY *key = tu_rsa_key(1024);
	X509 *ca = make_ca(key, "1");
	ec_err err = {""};

	assert_int_equal(pki_export_pem(path, key, ca, NULL, &err), -1);
	assert_int_equal(pki_export_pem(path, key, ca, "cisco123", &err), 0);
	assert_int_equal(file_mode(path), 0600);
	uint8_t *data = NULL;
	size_t len = 0;
	assert_int_equal(ec_read_file(path, 1 << 20, &data, &len, &err), 0);
	assert_non_null(strstr((char *)data, "-----BEGIN CERTIFICATE-----"));
	assert_non_null(strstr((char *)data, "-----BEGIN ENCRYPTED PRIVATE KEY-----"));
	BIO *bio = BIO_new_mem_buf(data, (int)len);
	X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	assert_non_null(cert);
	assert_int_equal(X509_cmp(cert, ca), 0);
	EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"cisco123");
	assert_non_null(pkey);
	assert_int_equal(EVP_PKEY_eq(pkey, key), 1);

	/* The key of another certificate is refused. */
	EVP_PKEY *other = tu_rsa_key_new(1024);
	assert_int_equal(pki_export_pem(path, other, ca, "cisco123", &err), -1);
	EVP_PKEY_free(other);

	EVP_PKEY_free(pkey);
	X509_free(cert);
	BIO_free(bio);
	free(data);
	X509_free(ca);
	free(dir);
}

/* ---- encodings and files ---- */

static void test_cert_codecs(void **state)
{
	char *dir = tu_tmpdir("test_pki");
	EVP_PKEY *key = tu_rsa_key(1024);
	X509 *ca = make_ca(key, "1");
	X509 *back = NULL;
	uint8_t *der = NULL;
	char *pem = NULL;
	size_t len = 0, pemlen = 0;
	ec_err err = {""};

	assert_int_equal(pki_cert_to_der(ca, &der, &len, &err), 0);
	assert_int_equal(pki_cert_from_der(der, len, &back, &err), 0);
	assert_int_equal(X509_cmp(ca, back), 0);
	X509_free(back);
	assert_int_equal(pki_cert_from_bytes(der, len, &back, &err), 0);
	assert_int_equal(X509_cmp(ca, back), 0);
	X509_free(back);
	back = NULL;
	assert_int_equal(pki_cert_from_der(der, len - 1, &back, &err), -1); /* truncated */
	assert_null(back);
	uint8_t *longer = malloc(len + 1);
	memcpy(longer, der, len);
	longer[len] = 0;
	assert_int_equal(pki_cert_from_der(longer, len + 1, &back, &err), -1); /* trailing byte */
	assert_null(back);
	free(longer);

	/* The fingerprint is the SHA-256 of the DER, lower-case hex. */
	unsigned char md[32];
	char fp[65], expect[65];
	assert_true(EVP_Digest(der, len, md, NULL, EVP_sha256(), NULL));
	for (int i = 0; i < 32; i++)
		snprintf(expect + 2 * i, 3, "%02x", md[i]);
	assert_int_equal(pki_cert_fingerprint_hex(ca, fp), 0);
	assert_string_equal(fp, expect);
	free(der);

	assert_int_equal(pki_cert_to_pem(ca, &pem, &pemlen, &err), 0);
	assert_int_equal(strlen(pem), pemlen);
	assert_int_equal(strncmp(pem, "-----BEGIN CERTIFICATE-----", 27), 0);
	assert_int_equal(pki_cert_from_bytes((uint8_t *)pem, pemlen, &back, &err), 0);
	assert_int_equal(X509_cmp(ca, back), 0);
	X509_free(back);
	free(pem);

	const char *path = path_in(dir, "ca.pem");
	assert_int_equal(pki_cert_save_pem(path, ca, 0644, &err), 0);
	assert_int_equal(file_mode(path), 0644);
	assert_int_equal(pki_cert_load(path, &back, &err), 0);
	assert_int_equal(X509_cmp(ca, back), 0);
	X509_free(back);
	back = NULL;
	assert_int_equal(pki_cert_load(path_in(dir, "none.pem"), &back, &err), -1);
	assert_int_equal(pki_cert_from_bytes((const uint8_t *)"garbage", 7, &back, &err), -1);
	assert_null(back);
	X509_free(ca);
	free(dir);
}

static void test_crl_csr_codecs(void **state)
{
	EVP_PKEY *key = tu_rsa_key(1024);
	X509 *ca = make_ca(key, "1");
	pki_revoked rev = {"2", at("2016-05-01T00:00:00Z")};
	X509_CRL *crl = make_crl(ca, key, &rev, 1), *crl2 = NULL;
	X509_REQ *csr = csr_with_san(key, "spoke", "DNS:spoke"), *csr2 = NULL;
	uint8_t *der = NULL;
	size_t len = 0;
	ec_err err = {""};

	assert_int_equal(pki_crl_to_der(crl, &der, &len, &err), 0);
	assert_int_equal(pki_crl_from_der(der, len, &crl2, &err), 0);
	assert_int_equal(X509_CRL_verify(crl2, key), 1);
	assert_int_equal(X509_CRL_cmp(crl, crl2), 0);
	free(der);
	assert_int_equal(pki_csr_to_der(csr, &der, &len, &err), 0);
	assert_int_equal(pki_csr_from_der(der, len, &csr2, &err), 0);
	assert_int_equal(X509_REQ_verify(csr2, key), 1);
	X509_REQ_free(csr2);
	csr2 = NULL;
	assert_int_equal(pki_csr_from_der(der, 10, &csr2, &err), -1);
	assert_null(csr2);
	free(der);

	X509_REQ_free(csr);
	X509_CRL_free(crl2);
	X509_CRL_free(crl);
	X509_free(ca);
}

/* DER of an ASN.1 object (OpenSSL-allocated). */
static unsigned char *der_of(const void *obj, const ASN1_ITEM *it, int *len)
{
	unsigned char *der = NULL;
	*len = ASN1_item_i2d((const ASN1_VALUE *)obj, &der, it);
	assert_true(*len > 0);
	return der;
}

/* obj parsed from DER in the keyless library context. */
static void *read_keyless(const unsigned char *der, int len, const ASN1_ITEM *it)
{
	const unsigned char *p = der;
	void *obj = ASN1_item_d2i_ex(NULL, &p, len, it, pki_keyless_libctx(), NULL);
	assert_non_null(obj);
	assert_ptr_equal(p, der + len);
	ERR_clear_error();
	return obj;
}

/* A keyless RSA certificate is completed in place: same object, same bytes, its key. */
static void test_keyless_cert_rsa(void **state)
{
	(void)state;
	EVP_PKEY *key = tu_rsa_key(2048);
	X509 *orig = tu_self_signed(key, "signer", 7, 1451606400, 365, 0);
	int len = 0;
	unsigned char *der = der_of(orig, ASN1_ITEM_rptr(X509), &len);

	X509 *keyless = read_keyless(der, len, ASN1_ITEM_rptr(X509));
	assert_null(X509_get0_pubkey(keyless));
	ERR_clear_error();
	X509 *cert = pki_cert_keyed(keyless);
	assert_ptr_equal(cert, keyless);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(cert), key), 1);
	assert_int_equal(X509_verify(cert, X509_get0_pubkey(cert)), 1);
	int len2 = 0;
	unsigned char *der2 = der_of(cert, ASN1_ITEM_rptr(X509), &len2);
	assert_int_equal(len2, len);
	assert_memory_equal(der2, der, (size_t)len);
	/* A complete certificate is handed back as it is. */
	X509 *again = pki_cert_keyed(orig);
	assert_ptr_equal(again, orig);
	X509_free(again);

	OPENSSL_free(der2);
	X509_free(cert);
	X509_free(keyless);
	OPENSSL_free(der);
	X509_free(orig);
}

/* An RSA key whose algorithm has no parameters (the NULL is absent) would be encoded again
 * differently by the quick route: the certificate is parsed again, its bytes and signature
 * untouched. An EC certificate takes the ordinary route too. */
static void test_keyless_cert_reparsed(void **state)
{
	(void)state;
	EVP_PKEY *ca_key = tu_rsa_key(2048);
	EVP_PKEY *key = tu_rsa_key_new(1024);
	EVP_PKEY *ec_key = EVP_EC_gen("P-256");
	assert_non_null(ec_key);
	X509 *ca = tu_self_signed(ca_key, "ca", 1, 1451606400, 365, 1);
	X509 *no_params = tu_issue(ca, ca_key, key, "no-params", 2, 1451606400, 365);
	X509_PUBKEY *spki = X509_get_X509_PUBKEY(no_params);
	const unsigned char *bits = NULL;
	int bits_len = 0;
	assert_true(X509_PUBKEY_get0_param(NULL, &bits, &bits_len, NULL, spki));
	unsigned char *copy = OPENSSL_memdup(bits, (size_t)bits_len);
	assert_true(X509_PUBKEY_set0_param(spki, OBJ_nid2obj(NID_rsaEncryption), V_ASN1_UNDEF, NULL, copy, bits_len));
	assert_true(X509_sign(no_params, ca_key, EVP_sha256()) > 0);
	X509 *ec_cert = tu_issue(ca, ca_key, ec_key, "ec", 3, 1451606400, 365);

	X509 *certs[] = {no_params, ec_cert};
	for (size_t i = 0; i < 2; i++) {
		int len = 0;
		unsigned char *der = der_of(certs[i], ASN1_ITEM_rptr(X509), &len);
		X509 *keyless = read_keyless(der, len, ASN1_ITEM_rptr(X509));
		X509 *cert = pki_cert_keyed(keyless);
		assert_non_null(cert);
		assert_ptr_not_equal(cert, keyless);
		assert_non_null(X509_get0_pubkey(cert));
		assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(cert), i == 0 ? key : ec_key), 1);
		assert_int_equal(X509_verify(cert, ca_key), 1);
		int len2 = 0;
		unsigned char *der2 = der_of(cert, ASN1_ITEM_rptr(X509), &len2);
		assert_int_equal(len2, len);
		assert_memory_equal(der2, der, (size_t)len);
		OPENSSL_free(der2);
		X509_free(cert);
		X509_free(keyless);
		OPENSSL_free(der);
	}
	X509_free(ec_cert);
	X509_free(no_params);
	X509_free(ca);
	EVP_PKEY_free(ec_key);
	EVP_PKEY_free(key);
}

/* Key bits that are not an RSA key: the certificate reads as OpenSSL reads it, without a key. */
static void test_keyless_cert_bad_key(void **state)
{
	(void)state;
	EVP_PKEY *ca_key = tu_rsa_key(2048);
	X509 *ca = tu_self_signed(ca_key, "ca", 1, 1451606400, 365, 1);
	X509 *bad = tu_issue(ca, ca_key, ca_key, "bad", 2, 1451606400, 365);
	static const unsigned char junk[] = {0x30, 0x03, 0x02, 0x01, 0x00};
	unsigned char *copy = OPENSSL_memdup(junk, sizeof(junk));
	assert_true(X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(bad), OBJ_nid2obj(NID_rsaEncryption), V_ASN1_NULL,
	                                   NULL, copy, (int)sizeof(junk)));
	assert_true(X509_sign(bad, ca_key, EVP_sha256()) > 0);
	int len = 0;
	unsigned char *der = der_of(bad, ASN1_ITEM_rptr(X509), &len);
	X509 *keyless = read_keyless(der, len, ASN1_ITEM_rptr(X509));
	X509 *cert = pki_cert_keyed(keyless);
	assert_non_null(cert);
	assert_null(X509_get0_pubkey(cert));
	ERR_clear_error();
	X509_free(cert);
	X509_free(keyless);
	OPENSSL_free(der);
	X509_free(bad);
	X509_free(ca);
}

/* Requests: RSA completed in place, EC parsed again; both verify. */
static void test_keyless_csr(void **state)
{
	(void)state;
	EVP_PKEY *ec_key = EVP_EC_gen("P-256");
	assert_non_null(ec_key);
	EVP_PKEY *keys[] = {tu_rsa_key(2048), ec_key};
	for (size_t i = 0; i < 2; i++) {
		X509_REQ *orig = tu_csr(keys[i], "spoke", "secret");
		int len = 0;
		unsigned char *der = der_of(orig, ASN1_ITEM_rptr(X509_REQ), &len);
		X509_REQ *keyless = read_keyless(der, len, ASN1_ITEM_rptr(X509_REQ));
		X509_REQ *req = pki_csr_keyed(keyless);
		assert_non_null(req);
		if (i == 0)
			assert_ptr_equal(req, keyless);
		assert_int_equal(EVP_PKEY_eq(X509_REQ_get0_pubkey(req), keys[i]), 1);
		assert_int_equal(X509_REQ_verify(req, X509_REQ_get0_pubkey(req)), 1);
		int len2 = 0;
		unsigned char *der2 = der_of(req, ASN1_ITEM_rptr(X509_REQ), &len2);
		assert_int_equal(len2, len);
		assert_memory_equal(der2, der, (size_t)len);
		OPENSSL_free(der2);
		X509_REQ_free(req);
		OPENSSL_free(der);
		X509_REQ_free(orig);
	}
	EVP_PKEY_free(ec_key);
}

/* RSAPublicKey bits for key whose modulus is written without its leading zero (so it reads as
 * negative): decoded and encoded again, they would gain that byte. */
static unsigned char *rsa_bits_without_zero(EVP_PKEY *key, int *len)
{
	BIGNUM *n = NULL;
	assert_int_equal(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n), 1);
	assert_int_equal(BN_num_bytes(n), 256);
	static const unsigned char head[] = {0x30, 0x82, 0x01, 0x09, 0x02, 0x82, 0x01, 0x00};
	static const unsigned char tail[] = {0x02, 0x03, 0x01, 0x00, 0x01};
	*len = (int)(sizeof(head) + 256 + sizeof(tail));
	unsigned char *bits = OPENSSL_malloc((size_t)*len);
	assert_non_null(bits);
	memcpy(bits, head, sizeof(head));
	assert_int_equal(BN_bn2bin(n, bits + sizeof(head)), 256);
	memcpy(bits + sizeof(head) + 256, tail, sizeof(tail));
	BN_free(n);
	return bits;
}

/* Key bits the quick route would encode again differently: a request (whose encoding then
 * changes) and a certificate (whose key's encoding does) are both parsed again, bytes kept. */
static void test_keyless_reencoding_differs(void **state)
{
	(void)state;
	EVP_PKEY *key = tu_rsa_key(2048);
	int bits_len = 0;

	X509_REQ *orig = tu_csr(key, "spoke", NULL);
	unsigned char *bits = rsa_bits_without_zero(key, &bits_len);
	assert_true(X509_PUBKEY_set0_param(X509_REQ_get_X509_PUBKEY(orig), OBJ_nid2obj(NID_rsaEncryption), V_ASN1_NULL,
	                                   NULL, bits, bits_len));
	assert_true(X509_REQ_sign(orig, key, EVP_sha256()) > 0);
	int len = 0;
	unsigned char *der = der_of(orig, ASN1_ITEM_rptr(X509_REQ), &len);
	X509_REQ *keyless = read_keyless(der, len, ASN1_ITEM_rptr(X509_REQ));
	X509_REQ *req = pki_csr_keyed(keyless);
	assert_non_null(req);
	assert_ptr_not_equal(req, keyless);
	int len2 = 0;
	unsigned char *der2 = der_of(req, ASN1_ITEM_rptr(X509_REQ), &len2);
	assert_int_equal(len2, len);
	assert_memory_equal(der2, der, (size_t)len);
	OPENSSL_free(der2);
	OPENSSL_free(der);
	X509_REQ_free(req);
	X509_REQ_free(orig);

	X509 *cert = tu_self_signed(key, "signer", 9, 1451606400, 365, 0);
	bits = rsa_bits_without_zero(key, &bits_len);
	assert_true(X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(cert), OBJ_nid2obj(NID_rsaEncryption), V_ASN1_NULL,
	                                   NULL, bits, bits_len));
	assert_true(X509_sign(cert, key, EVP_sha256()) > 0);
	der = der_of(cert, ASN1_ITEM_rptr(X509), &len);
	X509 *keyless_cert = read_keyless(der, len, ASN1_ITEM_rptr(X509));
	X509 *keyed = pki_cert_keyed(keyless_cert);
	assert_non_null(keyed);
	assert_ptr_not_equal(keyed, keyless_cert);
	der2 = der_of(keyed, ASN1_ITEM_rptr(X509), &len2);
	assert_int_equal(len2, len);
	assert_memory_equal(der2, der, (size_t)len);
	OPENSSL_free(der2);
	OPENSSL_free(der);
	X509_free(keyed);
	X509_free(keyless_cert);
	X509_free(cert);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_round_trip),
		cmocka_unit_test(test_name_bad),
		cmocka_unit_test(test_serial),
		cmocka_unit_test(test_ca_cert),
		cmocka_unit_test(test_ca_cert_refused),
		cmocka_unit_test(test_issue_cert),
		cmocka_unit_test(test_issue_ec_key),
		cmocka_unit_test(test_issue_without_san_or_cdp),
		cmocka_unit_test(test_issue_refused),
		cmocka_unit_test(test_csr_policy),
		cmocka_unit_test(test_issued_by),
		cmocka_unit_test(test_crl),
		cmocka_unit_test(test_crl_empty_and_refused),
		cmocka_unit_test(test_key_generate),
		cmocka_unit_test(test_key_save_load),
		cmocka_unit_test(test_pkcs12),
		cmocka_unit_test(test_pem_archive),
		cmocka_unit_test(test_cert_codecs),
		cmocka_unit_test(test_crl_csr_codecs),
		cmocka_unit_test(test_keyless_cert_rsa),
		cmocka_unit_test(test_keyless_cert_reparsed),
		cmocka_unit_test(test_keyless_cert_bad_key),
		cmocka_unit_test(test_keyless_csr),
		cmocka_unit_test(test_csr_policy_names),
		cmocka_unit_test(test_csr_policy_keys),
		cmocka_unit_test(test_csr_names_match),
		cmocka_unit_test(test_keyless_reencoding_differs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
