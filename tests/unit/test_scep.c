/*
 * test_scep.c - the SCEP message module: requests and replies built, parsed and opened for every
 * cipher and digest, the algorithm allow-list (refused digests, ciphers, signature and key
 * transport algorithms; RSASSA-PSS and RSAES-OAEP as OpenSSL's CMS API makes them), signer
 * checks, garbage input, payload codecs, GetNextCACert.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "cms_request.h"
#include "scep/scep.h"
#include "scep/scep_int.h"
#include "testutil.h"

#define T0 1700000000 /* a fixed notBefore for every test certificate */

static const uint8_t nonce_a[SCEP_NONCE_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t nonce_b[SCEP_NONCE_LEN] = {0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87,
                                                0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f};

/* Shared fixtures: two CAs and a client with a self-signed certificate and a request. */
static EVP_PKEY *ca1_key, *ca2_key, *cli_key;
static X509 *ca1, *ca2, *cli;
static uint8_t *csr_der;
static size_t csr_len;

static int setup(void **state)
{
	ec_err err;
	if (scep_init(&err) != 0)
		return -1;
	ca1_key = tu_rsa_key_new(1024);
	ca2_key = tu_rsa_key_new(1024);
	cli_key = tu_rsa_key(1024);
	ca1 = tu_self_signed(ca1_key, "CA one", 1, T0, 3650, 1);
	ca2 = tu_self_signed(ca2_key, "CA two", 2, T0, 3650, 1);
	cli = tu_self_signed(cli_key, "client", 77, T0, 30, 0);
	X509_REQ *req = tu_csr(cli_key, "client", "s3cret");
	unsigned char *der = NULL;
	int n = tu_csr_der(req, &der);
	csr_der = malloc((size_t)n);
	memcpy(csr_der, der, (size_t)n);
	csr_len = (size_t)n;
	OPENSSL_free(der);
	X509_REQ_free(req);
	return 0;
}

static int teardown(void **state)
{
	X509_free(ca1);
	X509_free(ca2);
	X509_free(cli);
	EVP_PKEY_free(ca1_key);
	EVP_PKEY_free(ca2_key);
	free(csr_der);
	return 0;
}

static scep_request_params request_params(const EVP_CIPHER *cipher, const EVP_MD *md)
{
	scep_request_params p = {
		.type = SCEP_MSG_PKCSREQ,
		.txid = "0123456789ABCDEF",
		.sender_nonce = nonce_a,
		.signer_cert = cli,
		.signer_key = cli_key,
		.recipient = ca1,
		.cipher = cipher,
		.digest = md,
		.payload = csr_der,
		.payload_len = csr_len,
	};
	return p;
}

static void build_request(const EVP_CIPHER *cipher, const EVP_MD *md, uint8_t **der, size_t *len)
{
	ec_err err = {""};
	scep_request_params p = request_params(cipher, md);
	int rc = scep_build_request(&p, der, len, &err);
	if (rc != 0)
		fail_msg("build request: %s", err.msg);
}

static scep_reply_params reply_params(int status)
{
	scep_reply_params p = {
		.txid = "0123456789ABCDEF",
		.recipient_nonce = nonce_a,
		.recipient_nonce_len = SCEP_NONCE_LEN,
		.sender_nonce = nonce_b,
		.status = status,
		.fail_info = status == SCEP_STATUS_FAILURE ? SCEP_FAIL_BADREQUEST : SCEP_FAIL_NONE,
		.signer_cert = ca1,
		.signer_key = ca1_key,
		.digest = EVP_sha256(),
	};
	return p;
}

static scep_msg *parse_ok(const uint8_t *der, size_t len)
{
	ec_err err = {""};
	scep_msg *msg = NULL;
	if (scep_msg_parse(der, len, &msg, &err) != 0)
		fail_msg("parse: %s", err.msg);
	return msg;
}

/* Re-encodes a message after edit() changed it, for tampering tests. */
static void reencode(uint8_t **der, size_t *len, void (*edit)(PKCS7 *))
{
	const unsigned char *p = *der;
	PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)*len);
	assert_non_null(p7);
	edit(p7);
	free(*der);
	ec_err err;
	assert_int_equal(scep_p7_der(p7, der, len, &err), 0);
	PKCS7_free(p7);
}

static void test_names(void **state)
{
	assert_string_equal(scep_msg_type_name(SCEP_MSG_PKCSREQ), "PKCSReq");
	assert_string_equal(scep_msg_type_name(SCEP_MSG_CERTREP), "CertRep");
	assert_string_equal(scep_msg_type_name(99), "unknown");
	assert_string_equal(scep_status_name(SCEP_STATUS_PENDING), "PENDING");
	assert_string_equal(scep_fail_name(SCEP_FAIL_BADCERTID), "badCertId");
	assert_string_equal(scep_fail_name(SCEP_FAIL_NONE), "none");
	assert_ptr_equal(scep_cipher_by_name("AES"), EVP_aes_128_cbc());
	assert_ptr_equal(scep_cipher_by_name("AES-128"), EVP_aes_128_cbc());
	assert_ptr_equal(scep_cipher_by_name("AES-256"), EVP_aes_256_cbc());
	assert_ptr_equal(scep_cipher_by_name("DES3"), EVP_des_ede3_cbc());
	const EVP_CIPHER *des = scep_cipher_by_name("DES"); /* NULL without the legacy provider */
	assert_true(des == NULL || des == EVP_des_cbc());
	assert_null(scep_cipher_by_name("RC2"));
	assert_ptr_equal(scep_digest_by_name("SHA-1"), EVP_sha1());
	assert_ptr_equal(scep_digest_by_name("SHA-384"), EVP_sha384());
	assert_null(scep_digest_by_name("MD5"));
	uint8_t a[16] = {0}, b[16] = {0};
	assert_int_equal(scep_random(a, sizeof(a)), 0);
	assert_int_equal(scep_random(b, sizeof(b)), 0);
	assert_memory_not_equal(a, b, sizeof(a));
}

static void roundtrip_one(const char *cipher_name, const EVP_MD *md)
{
	const EVP_CIPHER *cipher = scep_cipher_by_name(cipher_name);
	uint8_t *der = NULL, *payload = NULL;
	size_t len = 0, plen = 0;
	const EVP_CIPHER *used = NULL;
	ec_err err = {""};

	if (cipher == NULL && strcmp(cipher_name, "DES") == 0) {
		print_message("DES-CBC unavailable (no legacy provider): skipped\n");
		return;
	}
	assert_non_null(cipher);
	build_request(cipher, md, &der, &len);
	scep_msg *msg = parse_ok(der, len);
	assert_int_equal(msg->type, SCEP_MSG_PKCSREQ);
	assert_string_equal(msg->txid, "0123456789ABCDEF");
	assert_int_equal(msg->sender_nonce_len, SCEP_NONCE_LEN);
	assert_memory_equal(msg->sender_nonce, nonce_a, SCEP_NONCE_LEN);
	assert_int_equal(msg->recipient_nonce_len, 0);
	assert_int_equal(msg->status, -1);
	assert_int_equal(msg->fail_info, SCEP_FAIL_NONE);
	assert_true(msg->signature_ok);
	assert_true(msg->has_envelope);
	assert_int_equal(EVP_MD_get_type(msg->digest), EVP_MD_get_type(md));
	assert_int_equal(X509_cmp(msg->signer, cli), 0);
	if (scep_msg_decrypt(msg, ca1, ca1_key, &payload, &plen, &used, &err) != 0)
		fail_msg("decrypt %s: %s", cipher_name, err.msg);
	assert_int_equal(plen, csr_len);
	assert_memory_equal(payload, csr_der, csr_len);
	assert_int_equal(EVP_CIPHER_get_nid(used), EVP_CIPHER_get_nid(cipher));
	free(payload);
	scep_msg_free(msg);
	free(der);
}

static void test_pkcsreq_roundtrip(void **state)
{
	const char *ciphers[] = {"DES", "DES3", "AES", "AES-256"};
	const EVP_MD *mds[] = {EVP_sha1(), EVP_sha256(), EVP_sha384(), EVP_sha512()};
	for (size_t c = 0; c < sizeof(ciphers) / sizeof(ciphers[0]); c++) {
		for (size_t m = 0; m < sizeof(mds) / sizeof(mds[0]); m++)
			roundtrip_one(ciphers[c], mds[m]);
	}
}

static void test_certrep_success(void **state)
{
	X509 *issued = tu_issue(ca1, ca1_key, cli_key, "client", 1000, T0, 365);
	STACK_OF(X509) *certs = sk_X509_new_null(), *got = NULL;
	uint8_t *deg = NULL, *der = NULL, *payload = NULL;
	size_t deg_len = 0, len = 0, plen = 0;
	ec_err err = {""};

	sk_X509_push(certs, issued);
	assert_int_equal(scep_degenerate_build(certs, NULL, &deg, &deg_len, &err), 0);
	scep_reply_params p = reply_params(SCEP_STATUS_SUCCESS);
	p.recipient_cert = cli;
	p.cipher = EVP_aes_128_cbc();
	p.payload = deg;
	p.payload_len = deg_len;
	assert_int_equal(scep_build_certrep(&p, &der, &len, &err), 0);
	scep_msg *msg = parse_ok(der, len);
	assert_int_equal(msg->type, SCEP_MSG_CERTREP);
	assert_int_equal(msg->status, SCEP_STATUS_SUCCESS);
	assert_int_equal(msg->fail_info, SCEP_FAIL_NONE);
	assert_true(msg->signature_ok);
	assert_true(msg->has_envelope);
	assert_int_equal(msg->recipient_nonce_len, SCEP_NONCE_LEN);
	assert_memory_equal(msg->recipient_nonce, nonce_a, SCEP_NONCE_LEN);
	assert_memory_equal(msg->sender_nonce, nonce_b, SCEP_NONCE_LEN);
	X509 *mine[] = {cli};
	assert_int_equal(scep_msg_recipient_index(msg, mine, 1), 0);
	assert_int_equal(scep_msg_decrypt(msg, cli, cli_key, &payload, &plen, NULL, &err), 0);
	assert_int_equal(scep_degenerate_parse(payload, plen, &got, NULL, &err), 0);
	assert_int_equal(sk_X509_num(got), 1);
	assert_int_equal(X509_cmp(sk_X509_value(got, 0), issued), 0);
	sk_X509_pop_free(got, X509_free);
	sk_X509_pop_free(certs, X509_free);
	scep_msg_free(msg);
	free(payload);
	free(der);
	free(deg);
}

static void no_envelope_reply(int status, int fail_info)
{
	uint8_t *der = NULL;
	size_t len = 0;
	ec_err err = {""};
	scep_reply_params p = reply_params(status);

	if (scep_build_certrep(&p, &der, &len, &err) != 0)
		fail_msg("build: %s", err.msg);
	scep_msg *msg = parse_ok(der, len);
	assert_int_equal(msg->status, status);
	assert_int_equal(msg->fail_info, fail_info);
	assert_false(msg->has_envelope);
	assert_true(msg->signature_ok);
	assert_memory_equal(msg->recipient_nonce, nonce_a, SCEP_NONCE_LEN);
	assert_int_equal(scep_msg_recipient_index(msg, &ca1, 1), -1);
	uint8_t *payload = NULL;
	size_t plen = 0;
	assert_int_equal(scep_msg_decrypt(msg, ca1, ca1_key, &payload, &plen, NULL, &err), -1);
	scep_msg_free(msg);
	free(der);
}

static void test_certrep_pending_failure(void **state)
{
	no_envelope_reply(SCEP_STATUS_PENDING, SCEP_FAIL_NONE);
	no_envelope_reply(SCEP_STATUS_FAILURE, SCEP_FAIL_BADREQUEST);
}

static void drop_content(PKCS7 *p7)
{
	assert_int_equal(PKCS7_set_detached(p7, 1), 1);
}

/* RFC 8894 leaves the content out of PENDING and FAILURE: accepted as well as empty data. */
static void test_certrep_absent_content(void **state)
{
	uint8_t *der = NULL;
	size_t len = 0;
	ec_err err = {""};
	scep_reply_params p = reply_params(SCEP_STATUS_PENDING);

	assert_int_equal(scep_build_certrep(&p, &der, &len, &err), 0);
	reencode(&der, &len, drop_content);
	scep_msg *msg = parse_ok(der, len);
	assert_int_equal(msg->status, SCEP_STATUS_PENDING);
	assert_false(msg->has_envelope);
	assert_true(msg->signature_ok);
	scep_msg_free(msg);
	free(der);
}

static void test_certrep_checks(void **state)
{
	uint8_t *der = NULL;
	size_t len = 0;
	ec_err err = {""};
	scep_reply_params p = reply_params(SCEP_STATUS_FAILURE);
	p.fail_info = SCEP_FAIL_NONE;
	assert_int_equal(scep_build_certrep(&p, &der, &len, &err), -1);
	p = reply_params(SCEP_STATUS_SUCCESS); /* no recipient, no payload */
	assert_int_equal(scep_build_certrep(&p, &der, &len, &err), -1);
	p = reply_params(7);
	assert_int_equal(scep_build_certrep(&p, &der, &len, &err), -1);
	p = reply_params(SCEP_STATUS_PENDING);
	p.recipient_nonce_len = SCEP_NONCE_MAX + 1;
	assert_int_equal(scep_build_certrep(&p, &der, &len, &err), -1);
	p = reply_params(SCEP_STATUS_PENDING);
	p.signer_key = ca2_key; /* not the key of signer_cert */
	assert_int_equal(scep_build_certrep(&p, &der, &len, &err), -1);
}

static void test_request_checks(void **state)
{
	uint8_t *der = NULL;
	size_t len = 0;
	ec_err err = {""};
	scep_request_params p = request_params(EVP_aes_128_cbc(), EVP_sha256());
	p.txid = "";
	assert_int_equal(scep_build_request(&p, &der, &len, &err), -1);
	p = request_params(EVP_aes_128_cbc(), EVP_sha256());
	p.txid = "bad\ntxid";
	assert_int_equal(scep_build_request(&p, &der, &len, &err), -1);
	p = request_params(EVP_aes_128_cbc(), EVP_sha256());
	p.type = SCEP_MSG_CERTREP;
	assert_int_equal(scep_build_request(&p, &der, &len, &err), -1);
	p = request_params(EVP_aes_128_cbc(), EVP_sha256());
	p.payload_len = 0;
	assert_int_equal(scep_build_request(&p, &der, &len, &err), -1);
}

static X509 *swap_to;

static void swap_signer_cert(PKCS7 *p7)
{
	STACK_OF(X509) *certs = p7->d.sign->cert;
	X509_free(sk_X509_value(certs, 0));
	X509_up_ref(swap_to);
	sk_X509_set(certs, 0, swap_to);
}

static void flip_signature(PKCS7 *p7)
{
	PKCS7_SIGNER_INFO *si = sk_PKCS7_SIGNER_INFO_value(p7->d.sign->signer_info, 0);
	si->enc_digest->data[5] ^= 0x01;
}

static void flip_content(PKCS7 *p7)
{
	ASN1_OCTET_STRING *os = p7->d.sign->contents->d.data;
	os->data[os->length - 1] ^= 0x01;
}

/* A signer certificate naming the signerInfo's issuer and serial but holding another key. */
static void test_signature_mismatch(void **state)
{
	EVP_PKEY *other_key = tu_rsa_key_new(1024);
	X509 *twin = tu_self_signed(other_key, "client", 77, T0, 30, 0);
	uint8_t *der = NULL;
	size_t len = 0;
	ec_err err = {""};
	scep_request_params p = request_params(EVP_aes_128_cbc(), EVP_sha256());
	p.signer_cert = twin;
	p.signer_key = other_key;
	assert_int_equal(scep_build_request(&p, &der, &len, &err), 0);
	swap_to = cli;
	reencode(&der, &len, swap_signer_cert);
	scep_msg *msg = parse_ok(der, len);
	assert_false(msg->signature_ok);
	assert_int_equal(X509_cmp(msg->signer, cli), 0);
	assert_string_equal(msg->txid, "0123456789ABCDEF");
	scep_msg_free(msg);
	free(der);

	void (*edits[])(PKCS7 *) = {flip_signature, flip_content};
	for (size_t i = 0; i < 2; i++) {
		build_request(EVP_aes_128_cbc(), EVP_sha256(), &der, &len);
		reencode(&der, &len, edits[i]);
		scep_msg *m = NULL;
		if (scep_msg_parse(der, len, &m, &err) == 0) { /* a flipped envelope byte may not parse */
			assert_false(m->signature_ok);
			scep_msg_free(m);
		}
		free(der);
	}
	X509_free(twin);
	EVP_PKEY_free(other_key);
}

static void expect_parse_fail(const uint8_t *der, size_t len, const char *reason)
{
	ec_err err = {""};
	static scep_msg dummy;
	scep_msg *msg = &dummy; /* must be reset to NULL */
	assert_int_equal(scep_msg_parse(der, len, &msg, &err), -1);
	assert_null(msg);
	assert_true(err.msg[0] != '\0');
	if (reason != NULL && strstr(err.msg, reason) == NULL)
		fail_msg("reason \"%s\" does not mention \"%s\"", err.msg, reason);
}

static void test_garbage(void **state)
{
	uint8_t *der = NULL, *deg = NULL;
	size_t len = 0, deg_len = 0;
	ec_err err;

	build_request(EVP_aes_128_cbc(), EVP_sha256(), &der, &len);
	for (size_t cut = 0; cut < len; cut += 97)
		expect_parse_fail(der, cut, NULL);
	expect_parse_fail(der, len - 1, NULL);
	expect_parse_fail(der, SCEP_MESSAGE_MAX + 1, "too large");
	uint8_t *longer = malloc(len + 1);
	memcpy(longer, der, len);
	longer[len] = 0;
	expect_parse_fail(longer, len + 1, "trailing");
	free(longer);
	uint8_t junk[512];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 37 + 11);
	expect_parse_fail(junk, sizeof(junk), NULL);
	expect_parse_fail(NULL, 0, "empty");
	assert_int_equal(scep_degenerate_build(NULL, NULL, &deg, &deg_len, &err), 0);
	expect_parse_fail(deg, deg_len, "signerInfo");
	expect_parse_fail(csr_der, csr_len, NULL);
	free(deg);
	free(der);
}

/* Signs a message with chosen SCEP attributes (through the module's own signer). */
static void signed_with(const struct scep_attr_value *attrs, size_t n, uint8_t **der, size_t *len)
{
	ec_err err = {""};
	struct scep_sign_params sp = {
		.cert = cli, .key = cli_key, .md = EVP_sha256(), .content = NULL, .content_len = 0,
		.include_cert = true, .attrs = attrs, .nattrs = n,
	};
	PKCS7 *p7 = scep_p7_sign(&sp, &err);
	assert_non_null(p7);
	assert_int_equal(scep_p7_der(p7, der, len, &err), 0);
	PKCS7_free(p7);
}

static void attr_case(const struct scep_attr_value *attrs, size_t n, const char *reason)
{
	uint8_t *der = NULL;
	size_t len = 0;
	signed_with(attrs, n, &der, &len);
	expect_parse_fail(der, len, reason);
	free(der);
}

static void test_bad_attributes(void **state)
{
	int txid = scep_attr_nid(SCEP_ATTR_TXID), type = scep_attr_nid(SCEP_ATTR_MSGTYPE);
	int snonce = scep_attr_nid(SCEP_ATTR_SENDER_NONCE), status = scep_attr_nid(SCEP_ATTR_STATUS);
	const uint8_t *t = (const uint8_t *)"abc", *n19 = (const uint8_t *)"19", *n3 = (const uint8_t *)"3";
	uint8_t big[SCEP_NONCE_MAX + 1] = {0};

	struct scep_attr_value no_txid[] = {{type, V_ASN1_PRINTABLESTRING, n19, 2}};
	attr_case(no_txid, 1, "transactionID is missing");
	struct scep_attr_value no_type[] = {{txid, V_ASN1_PRINTABLESTRING, t, 3}};
	attr_case(no_type, 1, "messageType is missing");
	struct scep_attr_value bad_type[] = {{txid, V_ASN1_PRINTABLESTRING, t, 3},
	                                     {type, V_ASN1_PRINTABLESTRING, t, 3}};
	attr_case(bad_type, 2, "decimal");
	struct scep_attr_value octet_txid[] = {{txid, V_ASN1_OCTET_STRING, t, 3},
	                                       {type, V_ASN1_PRINTABLESTRING, n19, 2}};
	attr_case(octet_txid, 2, "ASN.1 type");
	struct scep_attr_value long_nonce[] = {{txid, V_ASN1_PRINTABLESTRING, t, 3},
	                                       {type, V_ASN1_PRINTABLESTRING, n19, 2},
	                                       {snonce, V_ASN1_OCTET_STRING, big, sizeof(big)}};
	attr_case(long_nonce, 3, "senderNonce");
	struct scep_attr_value rep_no_status[] = {{txid, V_ASN1_PRINTABLESTRING, t, 3},
	                                          {type, V_ASN1_PRINTABLESTRING, n3, 1}};
	attr_case(rep_no_status, 2, "pkiStatus");
	struct scep_attr_value neg_status[] = {{txid, V_ASN1_PRINTABLESTRING, t, 3},
	                                       {type, V_ASN1_PRINTABLESTRING, n3, 1},
	                                       {status, V_ASN1_PRINTABLESTRING, (const uint8_t *)"-1", 2}};
	attr_case(neg_status, 3, "decimal");

	/* The least a message may carry: transactionID and messageType, no content. */
	uint8_t *der = NULL;
	size_t len = 0;
	struct scep_attr_value minimal[] = {{txid, V_ASN1_PRINTABLESTRING, t, 3},
	                                    {type, V_ASN1_PRINTABLESTRING, (const uint8_t *)"21", 2}};
	signed_with(minimal, 2, &der, &len);
	scep_msg *msg = parse_ok(der, len);
	assert_int_equal(msg->type, SCEP_MSG_GETCERT);
	assert_int_equal(msg->sender_nonce_len, 0);
	assert_false(msg->has_envelope);
	assert_true(msg->signature_ok);
	scep_msg_free(msg);
	free(der);
}

static void test_recipient_index(void **state)
{
	uint8_t *der = NULL;
	size_t len = 0;
	build_request(EVP_aes_128_cbc(), EVP_sha256(), &der, &len);
	scep_msg *msg = parse_ok(der, len);
	X509 *two[] = {ca2, ca1};
	assert_int_equal(scep_msg_recipient_index(msg, two, 2), 1);
	X509 *first[] = {ca1, ca2};
	assert_int_equal(scep_msg_recipient_index(msg, first, 2), 0);
	assert_int_equal(scep_msg_recipient_index(msg, &ca2, 1), -1);
	assert_int_equal(scep_msg_recipient_index(msg, &cli, 1), -1);
	assert_int_equal(scep_msg_recipient_index(msg, NULL, 0), -1);
	scep_msg_free(msg);
	free(der);
}

/* A wrong key must not open the envelope. OpenSSL answers a key it cannot unwrap with a random
 * content key (its defence against padding oracles), so about one time in 256 the content's
 * padding happens to check and garbage comes out: that is not the request either. */
static void assert_not_opened(const scep_msg *msg, X509 *cert, EVP_PKEY *key)
{
	uint8_t *payload = NULL;
	size_t plen = 0;
	ec_err err = {""};
	if (scep_msg_decrypt(msg, cert, key, &payload, &plen, NULL, &err) == 0) {
		assert_false(plen == csr_len && memcmp(payload, csr_der, csr_len) == 0);
		free(payload);
	}
}

static void test_decrypt_wrong_key(void **state)
{
	uint8_t *der = NULL, *payload = NULL;
	size_t len = 0, plen = 0;
	ec_err err = {""};
	build_request(EVP_des_ede3_cbc(), EVP_sha256(), &der, &len);
	scep_msg *msg = parse_ok(der, len);
	assert_int_equal(scep_msg_decrypt(msg, ca2, ca2_key, &payload, &plen, NULL, &err), -1);
	assert_not_opened(msg, ca1, ca2_key);
	assert_null(payload);
	scep_msg_free(msg);
	free(der);
}

static void test_signer_info_algorithms(void **state)
{
	uint8_t *der = NULL;
	size_t len = 0;
	ec_err err = {""};
	scep_reply_params p = reply_params(SCEP_STATUS_PENDING);
	p.digest = EVP_sha512();
	assert_int_equal(scep_build_certrep(&p, &der, &len, &err), 0);
	const unsigned char *q = der;
	PKCS7 *p7 = d2i_PKCS7(NULL, &q, (long)len);
	assert_non_null(p7);
	PKCS7_SIGNER_INFO *si = sk_PKCS7_SIGNER_INFO_value(PKCS7_get_signer_info(p7), 0);
	assert_int_equal(OBJ_obj2nid(si->digest_enc_alg->algorithm), NID_rsaEncryption);
	assert_int_equal(OBJ_obj2nid(si->digest_alg->algorithm), NID_sha512);
	assert_non_null(PKCS7_get_signed_attribute(si, NID_pkcs9_contentType));
	assert_non_null(PKCS7_get_signed_attribute(si, NID_pkcs9_messageDigest));
	assert_null(PKCS7_get_signed_attribute(si, NID_pkcs9_signingTime));
	ASN1_TYPE *st = PKCS7_get_signed_attribute(si, scep_attr_nid(SCEP_ATTR_STATUS));
	assert_non_null(st);
	assert_int_equal(st->type, V_ASN1_PRINTABLESTRING);
	assert_int_equal(sk_X509_num(p7->d.sign->cert), 1);
	PKCS7_free(p7);
	free(der);
}

static void test_issuer_and_subject(void **state)
{
	uint8_t *der = NULL;
	size_t len = 0;
	X509_NAME *iss = NULL, *sub = NULL;
	ec_err err = {""};
	assert_int_equal(scep_issuer_and_subject_build(X509_get_subject_name(ca1), X509_get_subject_name(cli),
	                                               &der, &len, &err), 0);
	assert_int_equal(scep_issuer_and_subject_parse(der, len, &iss, &sub, &err), 0);
	assert_int_equal(X509_NAME_cmp(iss, X509_get_subject_name(ca1)), 0);
	assert_int_equal(X509_NAME_cmp(sub, X509_get_subject_name(cli)), 0);
	X509_NAME_free(iss);
	X509_NAME_free(sub);
	assert_int_equal(scep_issuer_and_subject_parse(der, len - 1, &iss, &sub, &err), -1);
	assert_int_equal(scep_issuer_and_subject_parse(csr_der, csr_len, &iss, &sub, &err), -1);
	free(der);
}

static void test_issuer_and_serial(void **state)
{
	uint8_t *der = NULL;
	size_t len = 0;
	X509_NAME *iss = NULL;
	ASN1_INTEGER *serial = NULL;
	ec_err err = {""};
	assert_int_equal(scep_issuer_and_serial_build(X509_get_issuer_name(cli), X509_get0_serialNumber(cli),
	                                              &der, &len, &err), 0);
	assert_int_equal(scep_issuer_and_serial_parse(der, len, &iss, &serial, &err), 0);
	assert_int_equal(X509_NAME_cmp(iss, X509_get_issuer_name(cli)), 0);
	assert_int_equal(ASN1_INTEGER_cmp(serial, X509_get0_serialNumber(cli)), 0);
	assert_int_equal(ASN1_INTEGER_get(serial), 77);
	X509_NAME_free(iss);
	ASN1_INTEGER_free(serial);
	/* the same bytes as OpenSSL's own encoder */
	PKCS7_ISSUER_AND_SERIAL *ref = PKCS7_ISSUER_AND_SERIAL_new();
	X509_NAME_set(&ref->issuer, X509_get_issuer_name(cli));
	ASN1_INTEGER_set(ref->serial, 77);
	unsigned char *rder = NULL;
	int rlen = i2d_PKCS7_ISSUER_AND_SERIAL(ref, &rder);
	assert_int_equal((size_t)rlen, len);
	assert_memory_equal(rder, der, len);
	OPENSSL_free(rder);
	PKCS7_ISSUER_AND_SERIAL_free(ref);
	assert_int_equal(scep_issuer_and_serial_parse(der, 3, &iss, &serial, &err), -1);
	free(der);
}

static void test_csr_parse(void **state)
{
	X509_REQ *req = NULL;
	char challenge[64];
	char small[4];
	ec_err err = {""};
	assert_int_equal(scep_csr_parse(csr_der, csr_len, &req, challenge, sizeof(challenge), &err), 0);
	assert_string_equal(challenge, "s3cret");
	X509_REQ_free(req);
	assert_int_equal(scep_csr_parse(csr_der, csr_len, NULL, small, sizeof(small), &err), 0);
	assert_string_equal(small, "s3c");

	X509_REQ *plain = tu_csr(cli_key, "plain", NULL);
	unsigned char *pder = NULL;
	int plen = tu_csr_der(plain, &pder);
	assert_int_equal(scep_csr_parse(pder, (size_t)plen, &req, challenge, sizeof(challenge), &err), 0);
	assert_string_equal(challenge, "");
	X509_REQ_free(req);
	pder[plen - 3] ^= 0x40; /* inside the signature */
	assert_int_equal(scep_csr_parse(pder, (size_t)plen, &req, challenge, sizeof(challenge), &err), -1);
	assert_non_null(strstr(err.msg, "self-signature"));
	assert_int_equal(scep_csr_parse(pder, 10, &req, challenge, sizeof(challenge), &err), -1);
	OPENSSL_free(pder);
	X509_REQ_free(plain);
}

static void test_degenerate_crl(void **state)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_set(NULL, T0);
	STACK_OF(X509) *certs = sk_X509_new_null(), *got = NULL;
	STACK_OF(X509_CRL) *crls = NULL;
	uint8_t *der = NULL;
	size_t len = 0;
	ec_err err = {""};

	X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca1));
	X509_CRL_set1_lastUpdate(crl, t);
	assert_true(X509_CRL_sign(crl, ca1_key, EVP_sha256()) > 0);
	sk_X509_push(certs, ca1);
	sk_X509_push(certs, ca2);
	assert_int_equal(scep_degenerate_build(certs, crl, &der, &len, &err), 0);
	assert_int_equal(scep_degenerate_parse(der, len, &got, &crls, &err), 0);
	assert_int_equal(sk_X509_num(got), 2);
	assert_int_equal(sk_X509_CRL_num(crls), 1);
	assert_int_equal(X509_CRL_cmp(sk_X509_CRL_value(crls, 0), crl), 0);
	sk_X509_pop_free(got, X509_free);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	free(der);
	assert_int_equal(scep_degenerate_build(NULL, crl, &der, &len, &err), 0);
	assert_int_equal(scep_degenerate_parse(der, len, &got, NULL, &err), 0);
	assert_int_equal(sk_X509_num(got), 0);
	sk_X509_free(got);
	free(der);
	sk_X509_free(certs);
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
}

static void test_nextca(void **state)
{
	EVP_PKEY *next_key = tu_rsa_key_new(1024);
	X509 *next = tu_self_signed(next_key, "CA one", 3, T0 + 86400, 3650, 1);
	EVP_PKEY *forger_key = tu_rsa_key_new(1024);
	X509 *forger = tu_self_signed(forger_key, "CA one", 1, T0, 3650, 1); /* ca1's name and serial */
	STACK_OF(X509) *certs = sk_X509_new_null(), *got = NULL;
	uint8_t *der = NULL;
	size_t len = 0;
	ec_err err = {""};

	sk_X509_push(certs, next);
	assert_int_equal(scep_nextca_build(ca1, ca1_key, EVP_sha256(), certs, &der, &len, &err), 0);
	assert_int_equal(scep_nextca_parse(der, len, ca1, &got, &err), 0);
	assert_int_equal(sk_X509_num(got), 1);
	assert_int_equal(X509_cmp(sk_X509_value(got, 0), next), 0);
	sk_X509_pop_free(got, X509_free);
	assert_int_equal(scep_nextca_parse(der, len, ca2, &got, &err), -1);
	assert_non_null(strstr(err.msg, "not signed by the active CA"));
	assert_int_equal(scep_nextca_parse(der, len, forger, &got, &err), -1);
	free(der);

	assert_int_equal(scep_nextca_build(ca2, ca2_key, EVP_sha256(), certs, &der, &len, &err), 0);
	assert_int_equal(scep_nextca_parse(der, len, ca1, &got, &err), -1);
	free(der);
	assert_int_equal(scep_nextca_build(forger, forger_key, EVP_sha256(), certs, &der, &len, &err), 0);
	assert_int_equal(scep_nextca_parse(der, len, ca1, &got, &err), -1);
	assert_non_null(strstr(err.msg, "does not verify"));
	free(der);
	sk_X509_free(certs);
	assert_int_equal(scep_nextca_build(ca1, ca1_key, EVP_sha256(), NULL, &der, &len, &err), -1);
	X509_free(next);
	X509_free(forger);
	EVP_PKEY_free(next_key);
	EVP_PKEY_free(forger_key);
}

/* ---- the algorithm allow-list ---- */

/* A cipher or digest by OpenSSL name, or NULL (with a note) when no loaded provider has it. */
static const EVP_CIPHER *cipher_or_skip(const char *name)
{
	const EVP_CIPHER *c = EVP_get_cipherbyname(name);
	EVP_CIPHER *fetched = EVP_CIPHER_fetch(NULL, name, NULL);
	if (c == NULL || fetched == NULL)
		print_message("%s unavailable here: skipped\n", name);
	EVP_CIPHER_free(fetched);
	ERR_clear_error();
	return fetched != NULL ? c : NULL;
}

static const EVP_MD *digest_or_skip(const char *name)
{
	const EVP_MD *md = EVP_get_digestbyname(name);
	EVP_MD *fetched = EVP_MD_fetch(NULL, name, NULL);
	if (md == NULL || fetched == NULL)
		print_message("%s unavailable here: skipped\n", name);
	EVP_MD_free(fetched);
	ERR_clear_error();
	return fetched != NULL ? md : NULL;
}

/* A message refused for an algorithm: still readable enough to answer its signer; its envelope
 * opens only when the refusal is about the signature. */
static void expect_bad_alg(const uint8_t *der, size_t len, const char *mention)
{
	bool envelope = strstr(mention, "encryption") != NULL || strstr(mention, "Enveloped") != NULL ||
	                strstr(mention, "OAEP") != NULL || strstr(mention, "agreement") != NULL;
	scep_msg *msg = parse_ok(der, len);
	if (strstr(msg->bad_alg, mention) == NULL)
		fail_msg("bad_alg \"%s\" does not mention \"%s\"", msg->bad_alg, mention);
	assert_false(msg->signature_ok);
	assert_string_equal(msg->txid, "0123456789ABCDEF"); /* enough to answer badAlg */
	assert_non_null(msg->signer);
	uint8_t *payload = NULL;
	size_t plen = 0;
	ec_err err = {""};
	assert_int_equal(scep_msg_decrypt(msg, ca1, ca1_key, &payload, &plen, NULL, &err), envelope ? -1 : 0);
	assert_true(envelope ? payload == NULL : plen == csr_len);
	free(payload);
	/* A reply to it is signed with SHA-256, whatever it used. */
	assert_ptr_equal(scep_reply_digest(msg), EVP_sha256());
	scep_msg_free(msg);
}

static void test_allowed_algorithms(void **state)
{
	const EVP_MD *mds[] = {EVP_sha1(), EVP_sha224(), EVP_sha256(), EVP_sha384(), EVP_sha512()};
	const char *ciphers[] = {"DES-CBC", "DES-EDE3-CBC", "AES-128-CBC", "AES-192-CBC", "AES-256-CBC"};
	for (size_t c = 0; c < sizeof(ciphers) / sizeof(ciphers[0]); c++) {
		const EVP_CIPHER *cipher = cipher_or_skip(ciphers[c]);
		if (cipher == NULL)
			continue;
		assert_true(scep_cipher_allowed(cipher));
		for (size_t m = 0; m < sizeof(mds) / sizeof(mds[0]); m++) {
			uint8_t *der = NULL, *payload = NULL;
			size_t len = 0, plen = 0;
			const EVP_CIPHER *used = NULL;
			ec_err err = {""};
			assert_true(scep_digest_allowed(mds[m]));
			build_request(cipher, mds[m], &der, &len);
			scep_msg *msg = parse_ok(der, len);
			assert_string_equal(msg->bad_alg, "");
			assert_true(msg->signature_ok);
			assert_ptr_equal(msg->digest, mds[m]);
			assert_ptr_equal(scep_reply_digest(msg), mds[m]);
			assert_int_equal(EVP_CIPHER_get_nid(msg->cipher), EVP_CIPHER_get_nid(cipher));
			if (scep_msg_decrypt(msg, ca1, ca1_key, &payload, &plen, &used, &err) != 0)
				fail_msg("decrypt %s: %s", ciphers[c], err.msg);
			assert_memory_equal(payload, csr_der, csr_len);
			free(payload);
			scep_msg_free(msg);
			free(der);
		}
	}
}

static void test_refused_digests(void **state)
{
	const char *names[] = {"MD5", "MD4", "SHA3-256", "SHA512-256", "RIPEMD160", "SM3"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const EVP_MD *md = digest_or_skip(names[i]);
		if (md == NULL)
			continue;
		assert_false(scep_digest_allowed(md));
		uint8_t *der = NULL;
		size_t len = 0;
		ec_err err = {""};
		scep_request_params p = request_params(EVP_aes_128_cbc(), md);
		if (scep_build_request(&p, &der, &len, &err) != 0) {
			print_message("%s: OpenSSL will not sign with it (%s): skipped\n", names[i], err.msg);
			assert_true(i > 1); /* MD5 and MD4 it signs with */
			continue;
		}
		expect_bad_alg(der, len, "digest");
		free(der);
	}
	assert_false(scep_digest_allowed(NULL));
}

static int sig_nid;

static void set_sig_alg(PKCS7 *p7)
{
	PKCS7_SIGNER_INFO *si = sk_PKCS7_SIGNER_INFO_value(p7->d.sign->signer_info, 0);
	assert_int_equal(X509_ALGOR_set0(si->digest_enc_alg, OBJ_nid2obj(sig_nid), V_ASN1_NULL, NULL), 1);
}

/* The signature algorithm is checked too: md5WithRSAEncryption beside a SHA-256 digest is
 * refused, sha256WithRSAEncryption (which some clients write instead of rsaEncryption) is not. */
static void test_signature_algorithms(void **state)
{
	const int refused[] = {NID_md5WithRSAEncryption, NID_md4WithRSAEncryption, NID_dsa_with_SHA256,
	                       NID_ED25519};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		uint8_t *der = NULL;
		size_t len = 0;
		sig_nid = refused[i];
		build_request(EVP_aes_128_cbc(), EVP_sha256(), &der, &len);
		reencode(&der, &len, set_sig_alg);
		expect_bad_alg(der, len, "signature algorithm");
		free(der);
	}
	const int allowed[] = {NID_sha256WithRSAEncryption, NID_sha512WithRSAEncryption};
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		uint8_t *der = NULL;
		size_t len = 0;
		sig_nid = allowed[i];
		build_request(EVP_aes_128_cbc(), EVP_sha256(), &der, &len);
		reencode(&der, &len, set_sig_alg);
		scep_msg *msg = parse_ok(der, len);
		assert_string_equal(msg->bad_alg, "");
		assert_true(msg->signature_ok);
		scep_msg_free(msg);
		free(der);
	}
}

/* Ciphers OpenSSL can put in an envelope, none of them on the list. */
static void test_refused_ciphers(void **state)
{
	const char *names[] = {"RC2-CBC", "RC2-40-CBC", "DES-ECB", "AES-128-ECB", "DES-EDE3-ECB", "CAMELLIA-128-CBC",
	                       "CAMELLIA-256-CBC", "BF-CBC", "CAST5-CBC", "IDEA-CBC", "SEED-CBC", "SM4-CBC",
	                       "AES-128-CFB", "AES-256-OFB", "AES-128-CTR", "DES-EDE3-CFB", "ARIA-128-CBC"};
	size_t tried = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const EVP_CIPHER *c = cipher_or_skip(names[i]);
		if (c == NULL)
			continue;
		assert_false(scep_cipher_allowed(c));
		uint8_t *der = NULL;
		size_t len = 0;
		ec_err err = {""};
		scep_request_params p = request_params(c, EVP_sha256());
		if (scep_build_request(&p, &der, &len, &err) != 0) {
			print_message("%s: OpenSSL's PKCS#7 cannot make such an envelope (%s): skipped\n", names[i], err.msg);
			continue;
		}
		expect_bad_alg(der, len, "content encryption");
		free(der);
		tried++;
	}
	assert_true(tried >= 8); /* RC2, ECB, Camellia, Blowfish (legacy provider)... */
}

static cms_request cms_params(const EVP_CIPHER *cipher, const EVP_MD *md)
{
	cms_request r = {
		.type = SCEP_MSG_PKCSREQ, .txid = "0123456789ABCDEF", .nonce = nonce_a, .signer = cli, .key = cli_key,
		.recipient = ca1, .cipher = cipher, .md = md, .payload = csr_der, .payload_len = csr_len,
	};
	return r;
}

static void cms_build(const cms_request *r, uint8_t **der, size_t *len)
{
	if (cms_request_build(r, der, len) != 0)
		fail_msg("cms_request_build failed");
}

/* AES-GCM: CMS makes authEnvelopedData; an envelopedData naming GCM is refused too. */
static void set_gcm(PKCS7 *p7)
{
	ASN1_OCTET_STRING *os = p7->d.sign->contents->d.data;
	const unsigned char *q = os->data;
	PKCS7 *env = d2i_PKCS7(NULL, &q, os->length);
	assert_non_null(env);
	X509_ALGOR *alg = env->d.enveloped->enc_data->algorithm;
	alg->algorithm = OBJ_nid2obj(NID_aes_128_gcm);
	unsigned char *enc = NULL;
	int n = i2d_PKCS7(env, &enc);
	assert_true(n > 0);
	assert_int_equal(ASN1_OCTET_STRING_set(os, enc, n), 1);
	OPENSSL_free(enc);
	PKCS7_free(env);
}

static void test_refused_aead(void **state)
{
	uint8_t *der = NULL;
	size_t len = 0;
	cms_request r = cms_params(EVP_aes_128_gcm(), EVP_sha256());
	cms_build(&r, &der, &len);
	expect_bad_alg(der, len, "authEnvelopedData");
	free(der);
	build_request(EVP_aes_128_cbc(), EVP_sha256(), &der, &len);
	reencode(&der, &len, set_gcm);
	expect_bad_alg(der, len, "content encryption");
	free(der);
}

static const EVP_MD *pss_hash, *pss_mgf1;

static X509_ALGOR *algor_of(const EVP_MD *md)
{
	X509_ALGOR *a = X509_ALGOR_new();
	assert_non_null(a);
	X509_ALGOR_set_md(a, md);
	return a;
}

/* Rewrites the RSASSA-PSS parameters of the signerInfo with pss_hash and MGF1 over pss_mgf1. */
static void set_pss_params(PKCS7 *p7)
{
	PKCS7_SIGNER_INFO *si = sk_PKCS7_SIGNER_INFO_value(p7->d.sign->signer_info, 0);
	RSA_PSS_PARAMS *pss = RSA_PSS_PARAMS_new();
	X509_ALGOR *mgf_hash = algor_of(pss_mgf1);
	ASN1_TYPE *mgf_param = NULL;
	assert_non_null(pss);
	pss->hashAlgorithm = algor_of(pss_hash);
	pss->maskGenAlgorithm = X509_ALGOR_new();
	assert_non_null(ASN1_TYPE_pack_sequence(ASN1_ITEM_rptr(X509_ALGOR), mgf_hash, &mgf_param));
	assert_int_equal(X509_ALGOR_set0(pss->maskGenAlgorithm, OBJ_nid2obj(NID_mgf1), V_ASN1_SEQUENCE,
	                                 mgf_param->value.sequence), 1);
	mgf_param->value.sequence = NULL;
	ASN1_TYPE_free(mgf_param);
	ASN1_TYPE *param = NULL;
	assert_non_null(ASN1_TYPE_pack_sequence(ASN1_ITEM_rptr(RSA_PSS_PARAMS), pss, &param));
	assert_int_equal(X509_ALGOR_set0(si->digest_enc_alg, OBJ_nid2obj(NID_rsassaPss), V_ASN1_SEQUENCE,
	                                 param->value.sequence), 1);
	param->value.sequence = NULL;
	ASN1_TYPE_free(param);
	X509_ALGOR_free(mgf_hash);
	RSA_PSS_PARAMS_free(pss);
}

/* RSASSA-PSS, as strongSwan sends it: OpenSSL's PKCS#7 cannot verify it, CMS can. */
static void test_pss_signature(void **state)
{
	EVP_PKEY *key = tu_rsa_key(2048); /* room for SHA-512 with a salt as long */
	X509 *self = tu_self_signed(key, "pss client", 78, T0, 30, 0);
	const EVP_MD *mds[] = {EVP_sha1(), EVP_sha224(), EVP_sha256(), EVP_sha384(), EVP_sha512()};
	for (size_t i = 0; i < sizeof(mds) / sizeof(mds[0]); i++) {
		uint8_t *der = NULL;
		size_t len = 0;
		cms_request r = cms_params(EVP_aes_128_cbc(), mds[i]);
		r.signer = self;
		r.key = key;
		r.pss = true;
		cms_build(&r, &der, &len);
		scep_msg *msg = parse_ok(der, len);
		assert_string_equal(msg->bad_alg, "");
		assert_true(msg->signature_ok);
		assert_ptr_equal(msg->digest, mds[i]);
		/* What the PKCS#7 API makes of it: the reason it is checked through CMS. */
		const unsigned char *q = der;
		PKCS7 *p7 = d2i_PKCS7(NULL, &q, (long)len);
		PKCS7_SIGNER_INFO *si = sk_PKCS7_SIGNER_INFO_value(p7->d.sign->signer_info, 0);
		assert_int_equal(OBJ_obj2nid(si->digest_enc_alg->algorithm), NID_rsassaPss);
		assert_false(scep_p7_signature_ok(p7, si, self));
		PKCS7_free(p7);
		scep_msg_free(msg);
		/* Tampered: refused as any bad signature. */
		der[len - 1] ^= 0x01;
		msg = parse_ok(der, len);
		assert_string_equal(msg->bad_alg, "");
		assert_false(msg->signature_ok);
		scep_msg_free(msg);
		free(der);
	}
	/* Another key in the certificate: the CMS path checks against the certificate given. */
	uint8_t *der = NULL;
	size_t len = 0;
	cms_request r = cms_params(EVP_aes_128_cbc(), EVP_sha256());
	r.signer = self;
	r.key = key;
	r.pss = true;
	cms_build(&r, &der, &len);
	assert_false(scep_cms_signature_ok(der, len, cli));
	assert_true(scep_cms_signature_ok(der, len, self));
	free(der);
	/* MD5 as the PSS hash or MGF1's (OpenSSL will not make either: written in): refused
	 * before any check. */
	const struct {
		const EVP_MD *hash, *mgf1;
		const char *mention;
	} bad[] = {{EVP_md5(), EVP_sha256(), "RSASSA-PSS hash"}, {EVP_sha256(), EVP_md5(), "MGF1 hash"}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cms_build(&r, &der, &len);
		pss_hash = bad[i].hash;
		pss_mgf1 = bad[i].mgf1;
		reencode(&der, &len, set_pss_params);
		expect_bad_alg(der, len, bad[i].mention);
		free(der);
	}
	X509_free(self);
}

/* A request made with the CMS API the ordinary way reads as one made with PKCS#7. */
static void test_cms_made_request(void **state)
{
	uint8_t *der = NULL, *payload = NULL;
	size_t len = 0, plen = 0;
	ec_err err = {""};
	cms_request r = cms_params(EVP_des_ede3_cbc(), EVP_sha384());
	cms_build(&r, &der, &len);
	scep_msg *msg = parse_ok(der, len);
	assert_string_equal(msg->bad_alg, "");
	assert_true(msg->signature_ok);
	assert_int_equal(msg->type, SCEP_MSG_PKCSREQ);
	assert_memory_equal(msg->sender_nonce, nonce_a, SCEP_NONCE_LEN);
	assert_int_equal(scep_msg_decrypt(msg, ca1, ca1_key, &payload, &plen, NULL, &err), 0);
	assert_memory_equal(payload, csr_der, csr_len);
	free(payload);
	scep_msg_free(msg);
	free(der);
}

/* RSAES-OAEP key transport: opened through CMS; its hashes are on the list too. */
static void test_oaep_envelope(void **state)
{
	const EVP_MD *mds[] = {EVP_sha1(), EVP_sha256()};
	for (size_t i = 0; i < sizeof(mds) / sizeof(mds[0]); i++) {
		uint8_t *der = NULL, *payload = NULL;
		size_t len = 0, plen = 0;
		const EVP_CIPHER *used = NULL;
		ec_err err = {""};
		cms_request r = cms_params(EVP_aes_256_cbc(), EVP_sha256());
		r.oaep = true;
		r.oaep_md = mds[i];
		cms_build(&r, &der, &len);
		scep_msg *msg = parse_ok(der, len);
		assert_string_equal(msg->bad_alg, "");
		assert_true(msg->signature_ok);
		if (scep_msg_decrypt(msg, ca1, ca1_key, &payload, &plen, &used, &err) != 0)
			fail_msg("OAEP envelope: %s", err.msg);
		assert_memory_equal(payload, csr_der, csr_len);
		assert_ptr_equal(used, EVP_aes_256_cbc());
		free(payload);
		assert_not_opened(msg, ca1, ca2_key);
		scep_msg_free(msg);
		free(der);
	}
	uint8_t *der = NULL;
	size_t len = 0;
	cms_request r = cms_params(EVP_aes_128_cbc(), EVP_sha256());
	r.oaep = true;
	r.oaep_md = EVP_md5();
	cms_build(&r, &der, &len);
	expect_bad_alg(der, len, "RSAES-OAEP hash");
	free(der);
}

/* Key agreement (what CMS makes for an EC recipient), which PKCS#7 cannot even read: badAlg,
 * not a message thrown away. */
static void test_refused_key_agreement(void **state)
{
	EVP_PKEY *ec = EVP_EC_gen("P-256");
	assert_non_null(ec);
	X509 *ec_ca = tu_self_signed(ec, "EC CA", 3, T0, 3650, 1);
	uint8_t *der = NULL;
	size_t len = 0;
	cms_request r = cms_params(EVP_aes_128_cbc(), EVP_sha256());
	r.recipient = ec_ca;
	cms_build(&r, &der, &len);
	expect_bad_alg(der, len, "key agreement");
	free(der);
	X509_free(ec_ca);
	EVP_PKEY_free(ec);
}

/* No reply is signed or encrypted with an algorithm off the list, whatever the caller asks. */
static void test_certrep_allow_list(void **state)
{
	uint8_t *der = NULL;
	size_t len = 0;
	ec_err err = {""};
	scep_reply_params p = reply_params(SCEP_STATUS_FAILURE);
	p.fail_info = SCEP_FAIL_BADALG;
	p.digest = EVP_md5();
	assert_int_equal(scep_build_certrep(&p, &der, &len, &err), -1);
	assert_non_null(strstr(err.msg, "never signed"));
	const EVP_MD *md4 = digest_or_skip("MD4");
	if (md4 != NULL) {
		p.digest = md4;
		assert_int_equal(scep_build_certrep(&p, &der, &len, &err), -1);
	}
	p = reply_params(SCEP_STATUS_SUCCESS);
	p.recipient_cert = cli;
	p.cipher = EVP_rc2_cbc();
	p.payload = csr_der; /* any bytes */
	p.payload_len = csr_len;
	assert_int_equal(scep_build_certrep(&p, &der, &len, &err), -1);
	assert_non_null(strstr(err.msg, "never encrypted"));
	assert_ptr_equal(scep_reply_digest(NULL), EVP_sha256());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_pkcsreq_roundtrip),
		cmocka_unit_test(test_certrep_success),
		cmocka_unit_test(test_certrep_pending_failure),
		cmocka_unit_test(test_certrep_absent_content),
		cmocka_unit_test(test_certrep_checks),
		cmocka_unit_test(test_request_checks),
		cmocka_unit_test(test_signature_mismatch),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_bad_attributes),
		cmocka_unit_test(test_recipient_index),
		cmocka_unit_test(test_decrypt_wrong_key),
		cmocka_unit_test(test_signer_info_algorithms),
		cmocka_unit_test(test_issuer_and_subject),
		cmocka_unit_test(test_issuer_and_serial),
		cmocka_unit_test(test_csr_parse),
		cmocka_unit_test(test_degenerate_crl),
		cmocka_unit_test(test_nextca),
		cmocka_unit_test(test_allowed_algorithms),
		cmocka_unit_test(test_refused_digests),
		cmocka_unit_test(test_signature_algorithms),
		cmocka_unit_test(test_refused_ciphers),
		cmocka_unit_test(test_refused_aead),
		cmocka_unit_test(test_pss_signature),
		cmocka_unit_test(test_cms_made_request),
		cmocka_unit_test(test_oaep_envelope),
		cmocka_unit_test(test_refused_key_agreement),
		cmocka_unit_test(test_certrep_allow_list),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
