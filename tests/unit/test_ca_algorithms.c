/*
 * The certificate server's algorithm allow-list, driven with real pkiMessages (no HTTP): every
 * refused digest, cipher, signature or key transport (key agreement included) gets FAILURE
 * badAlg signed with SHA-256 and changes nothing stored; every allowed combination enrolls and is
 * answered in kind; RSASSA-PSS and RSAES-OAEP requests (made with OpenSSL's CMS API) enroll;
 * `no encryption des` refuses single DES.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>

#include "ca/ca.h"
#include "cms_request.h"
#include "config/config.h"
#include "pki/pki.h"
#include "scep/scep.h"
#include "testutil.h"

static ec_time T0; /* 2015-10-09T13:14:16Z */

typedef struct fixture {
	char *dir;
	cfg_config *cfg;
	ca_engine *ca;
	EVP_PKEY *key;   /* the client's (shared, not freed) */
	X509 *self;      /* its self-signed certificate */
	uint8_t *csr;    /* its PKCS#10 */
	size_t csr_len;
	int serial;      /* for fresh transactionIDs */
} fixture;

static void open_ca(fixture *f, const char *server_lines)
{
	char text[1024];
	snprintf(text, sizeof(text), "crypto pki server ROOTCA\n  grant auto\n%s", server_lines);
	ec_err err;
	memset(f, 0, sizeof(*f));
	if (cfg_parse((const uint8_t *)text, strlen(text), &f->cfg, &err) != 0)
		fail_msg("config: %s", err.msg);
	f->dir = tu_tmpdir("ca-alg");
	ca_env env = {.state_dir = f->dir, .default_key_bits = 1024, .rollover_key_bits = 1024};
	if (ca_open(&f->cfg->servers[0], &env, T0, &f->ca, &err) != 0)
		fail_msg("ca_open: %s", err.msg);
	f->key = tu_rsa_key(2048);
	f->self = tu_self_signed(f->key, "client.example", 5, (time_t)(T0 / 1000) - 86400, 3650, 0);
	X509_REQ *req = tu_csr(f->key, "client.example", NULL);
	unsigned char *der = NULL;
	int n = tu_csr_der(req, &der);
	f->csr = malloc((size_t)n);
	assert_non_null(f->csr);
	memcpy(f->csr, der, (size_t)n);
	f->csr_len = (size_t)n;
	OPENSSL_free(der);
	X509_REQ_free(req);
}

static void close_ca(fixture *f)
{
	ca_close(f->ca);
	cfg_config_free(f->cfg);
	X509_free(f->self);
	free(f->csr);
	free(f->dir);
}

static const uint8_t NONCE[SCEP_NONCE_LEN] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};

static cms_request cms_params(fixture *f, const char *txid, const EVP_CIPHER *cipher, const EVP_MD *md)
{
	cms_request r = {
		.type = SCEP_MSG_PKCSREQ, .txid = txid, .nonce = NONCE, .signer = f->self, .key = f->key,
		.recipient = ca_active_cert(f->ca), .cipher = cipher, .md = md, .payload = f->csr,
		.payload_len = f->csr_len,
	};
	return r;
}

/* A PKCSReq made by the module's PKCS#7 builder, or NULL when OpenSSL will not make it. */
static uint8_t *p7_request(fixture *f, const char *txid, const EVP_CIPHER *cipher, const EVP_MD *md, size_t *len)
{
	scep_request_params p = {SCEP_MSG_PKCSREQ, txid, NONCE, f->self, f->key, ca_active_cert(f->ca), cipher, md,
	                         f->csr, f->csr_len};
	uint8_t *der = NULL;
	ec_err err;
	if (scep_build_request(&p, &der, len, &err) != 0) {
		print_message("cannot build: %s\n", err.msg);
		return NULL;
	}
	return der;
}

/* Sends a message; the reply must be a CertRep of the CA for this transaction, answering our
 * nonce, signed with rsaEncryption and digest (by NID). Returns it parsed. */
static scep_msg *ask(fixture *f, const uint8_t *der, size_t len, const char *txid, int digest)
{
	ca_reply rep;
	ec_err err;
	int rc = ca_pki_operation(f->ca, der, len, "test", T0 + 1000, &rep, &err);
	if (rc != 0)
		fail_msg("pki operation: %s", err.msg);
	assert_int_equal(rep.kind, CA_REPLY_PKI_MESSAGE);
	const unsigned char *q = rep.body;
	PKCS7 *p7 = d2i_PKCS7(NULL, &q, (long)rep.body_len);
	assert_non_null(p7);
	PKCS7_SIGNER_INFO *si = sk_PKCS7_SIGNER_INFO_value(PKCS7_get_signer_info(p7), 0);
	assert_int_equal(OBJ_obj2nid(si->digest_alg->algorithm), digest);
	assert_int_equal(OBJ_obj2nid(si->digest_enc_alg->algorithm), NID_rsaEncryption);
	PKCS7_free(p7);
	scep_msg *m = NULL;
	if (scep_msg_parse(rep.body, rep.body_len, &m, &err) != 0)
		fail_msg("reply: %s", err.msg);
	ca_reply_free(&rep);
	assert_true(m->signature_ok);
	assert_int_equal(X509_cmp(m->signer, ca_active_cert(f->ca)), 0);
	assert_int_equal(m->type, SCEP_MSG_CERTREP);
	assert_string_equal(m->txid, txid);
	assert_memory_equal(m->recipient_nonce, NONCE, SCEP_NONCE_LEN);
	return m;
}

static void expect_bad_alg(fixture *f, uint8_t *der, size_t len, const char *txid)
{
	scep_msg *m = ask(f, der, len, txid, NID_sha256);
	assert_int_equal(m->status, SCEP_STATUS_FAILURE);
	assert_int_equal(m->fail_info, SCEP_FAIL_BADALG);
	scep_msg_free(m);
	free(der);
}

/* SUCCESS, with the issued certificate encrypted with cipher; the certificate verifies. */
static void expect_success(fixture *f, uint8_t *der, size_t len, const char *txid, int digest,
                           const EVP_CIPHER *cipher)
{
	scep_msg *m = ask(f, der, len, txid, digest);
	if (m->status != SCEP_STATUS_SUCCESS)
		fail_msg("%s: %s %s", txid, scep_status_name(m->status), scep_fail_name(m->fail_info));
	uint8_t *p7 = NULL;
	size_t p7_len = 0;
	const EVP_CIPHER *used = NULL;
	STACK_OF(X509) *certs = NULL;
	ec_err err;
	assert_int_equal(scep_msg_decrypt(m, f->self, f->key, &p7, &p7_len, &used, &err), 0);
	assert_int_equal(EVP_CIPHER_get_nid(used), EVP_CIPHER_get_nid(cipher));
	assert_int_equal(scep_degenerate_parse(p7, p7_len, &certs, NULL, &err), 0);
	STACK_OF(X509) *trusted = sk_X509_new_null();
	sk_X509_push(trusted, ca_active_cert(f->ca));
	assert_int_equal(pki_verify_cert(sk_X509_value(certs, 0), trusted, NULL, T0 + 2000, &err), 0);
	sk_X509_free(trusted);
	sk_X509_pop_free(certs, X509_free);
	free(p7);
	scep_msg_free(m);
	free(der);
}

/* Nothing refused reached the store: no certificate issued, no request kept. */
static void assert_store_untouched(fixture *f)
{
	ec_buf out;
	ec_err err;
	ec_buf_init(&out, 1 << 16);
	assert_int_equal(ca_show_server(f->ca, T0 + 1000, 0, &out, &err), 0);
	assert_non_null(strstr((const char *)out.data, "Last certificate issued serial number (hex): 1\n"));
	ec_buf_reset(&out);
	assert_int_equal(ca_cmd_info_requests(f->ca, T0 + 1000, &out, &err), 0);
	assert_non_null(strstr((const char *)out.data, "no pending requests"));
	ec_buf_free(&out);
}

static const char *next_txid(fixture *f, char *buf, size_t sz)
{
	snprintf(buf, sz, "tx-alg-%d", ++f->serial);
	return buf;
}

static const EVP_CIPHER *cipher_or_null(const char *name)
{
	EVP_CIPHER *fetched = EVP_CIPHER_fetch(NULL, name, NULL);
	ERR_clear_error();
	if (fetched == NULL) {
		print_message("%s unavailable here: skipped\n", name);
		return NULL;
	}
	EVP_CIPHER_free(fetched);
	return EVP_get_cipherbyname(name);
}

static void refused_algorithms_get_bad_alg(void **state)
{
	fixture f;
	char txid[32];
	open_ca(&f, "");
	/* Digests: MD5 (and MD4, from the legacy provider). */
	const EVP_MD *mds[] = {EVP_md5(), EVP_get_digestbyname("MD4")};
	for (size_t i = 0; i < sizeof(mds) / sizeof(mds[0]); i++) {
		size_t len = 0;
		uint8_t *der = mds[i] != NULL ? p7_request(&f, next_txid(&f, txid, sizeof(txid)), EVP_aes_128_cbc(), mds[i], &len)
		                              : NULL;
		assert_true(der != NULL || i > 0);
		if (der != NULL)
			expect_bad_alg(&f, der, len, txid);
	}
	/* Envelopes: RC2, DES-ECB, Camellia, Blowfish, CAST, SM4, AES-ECB. */
	const char *ciphers[] = {"RC2-CBC", "DES-ECB", "CAMELLIA-128-CBC", "BF-CBC", "CAST5-CBC", "SM4-CBC", "AES-256-ECB"};
	int sent = 0;
	for (size_t i = 0; i < sizeof(ciphers) / sizeof(ciphers[0]); i++) {
		const EVP_CIPHER *c = cipher_or_null(ciphers[i]);
		size_t len = 0;
		uint8_t *der = c != NULL ? p7_request(&f, next_txid(&f, txid, sizeof(txid)), c, EVP_sha256(), &len) : NULL;
		if (der == NULL)
			continue;
		expect_bad_alg(&f, der, len, txid);
		sent++;
	}
	assert_true(sent >= 4);
	/* AES-GCM, which CMS puts in authEnvelopedData. */
	uint8_t *der = NULL;
	size_t len = 0;
	cms_request r = cms_params(&f, next_txid(&f, txid, sizeof(txid)), EVP_aes_128_gcm(), EVP_sha256());
	assert_int_equal(cms_request_build(&r, &der, &len), 0);
	expect_bad_alg(&f, der, len, txid);
	/* Key agreement (an envelope for an EC key), which PKCS#7 cannot read. */
	EVP_PKEY *ec = EVP_EC_gen("P-256");
	X509 *ec_cert = tu_self_signed(ec, "EC", 3, (time_t)(T0 / 1000), 100, 1);
	r = cms_params(&f, next_txid(&f, txid, sizeof(txid)), EVP_aes_128_cbc(), EVP_sha256());
	r.recipient = ec_cert;
	assert_int_equal(cms_request_build(&r, &der, &len), 0);
	expect_bad_alg(&f, der, len, txid);
	X509_free(ec_cert);
	EVP_PKEY_free(ec);
	/* RSAES-OAEP over MD5. */
	r = cms_params(&f, next_txid(&f, txid, sizeof(txid)), EVP_aes_128_cbc(), EVP_sha256());
	r.oaep = true;
	r.oaep_md = EVP_md5();
	assert_int_equal(cms_request_build(&r, &der, &len), 0);
	expect_bad_alg(&f, der, len, txid);
	assert_store_untouched(&f);
	close_ca(&f);
}

/* Every digest and cipher on the list enrolls, and the reply mirrors both. */
static void allowed_algorithms_enroll(void **state)
{
	fixture f;
	char txid[32];
	open_ca(&f, "");
	const EVP_MD *mds[] = {EVP_sha1(), EVP_sha224(), EVP_sha256(), EVP_sha384(), EVP_sha512()};
	const char *ciphers[] = {"DES-CBC", "DES-EDE3-CBC", "AES-128-CBC", "AES-192-CBC", "AES-256-CBC"};
	for (size_t c = 0; c < sizeof(ciphers) / sizeof(ciphers[0]); c++) {
		const EVP_CIPHER *cipher = cipher_or_null(ciphers[c]);
		if (cipher == NULL)
			continue;
		for (size_t m = 0; m < sizeof(mds) / sizeof(mds[0]); m++) {
			size_t len = 0;
			uint8_t *der = p7_request(&f, next_txid(&f, txid, sizeof(txid)), cipher, mds[m], &len);
			assert_non_null(der);
			expect_success(&f, der, len, txid, EVP_MD_get_type(mds[m]), cipher);
		}
	}
	close_ca(&f);
}

/* RSASSA-PSS (strongSwan's `--rsa-padding pss`) and RSAES-OAEP, as OpenSSL's CMS API makes
 * them: the request enrolls; the reply is signed with rsaEncryption, encrypted with
 * PKCS#1 v1.5, as every client reads. */
static void pss_and_oaep_enroll(void **state)
{
	fixture f;
	char txid[32];
	open_ca(&f, "");
	const EVP_MD *mds[] = {EVP_sha256(), EVP_sha512(), EVP_sha1()};
	for (size_t i = 0; i < sizeof(mds) / sizeof(mds[0]); i++) {
		uint8_t *der = NULL;
		size_t len = 0;
		cms_request r = cms_params(&f, next_txid(&f, txid, sizeof(txid)), EVP_aes_128_cbc(), mds[i]);
		r.pss = true;
		assert_int_equal(cms_request_build(&r, &der, &len), 0);
		expect_success(&f, der, len, txid, EVP_MD_get_type(mds[i]), EVP_aes_128_cbc());
	}
	uint8_t *der = NULL;
	size_t len = 0;
	cms_request r = cms_params(&f, next_txid(&f, txid, sizeof(txid)), EVP_aes_256_cbc(), EVP_sha256());
	r.oaep = true;
	assert_int_equal(cms_request_build(&r, &der, &len), 0);
	expect_success(&f, der, len, txid, NID_sha256, EVP_aes_256_cbc());
	/* Both at once. */
	r = cms_params(&f, next_txid(&f, txid, sizeof(txid)), EVP_des_ede3_cbc(), EVP_sha384());
	r.oaep = true;
	r.pss = true;
	assert_int_equal(cms_request_build(&r, &der, &len), 0);
	expect_success(&f, der, len, txid, NID_sha384, EVP_des_ede3_cbc());
	/* A PSS signature that does not verify is still badMessageCheck. */
	r = cms_params(&f, next_txid(&f, txid, sizeof(txid)), EVP_aes_128_cbc(), EVP_sha256());
	r.pss = true;
	assert_int_equal(cms_request_build(&r, &der, &len), 0);
	der[len - 1] ^= 0x01;
	scep_msg *m = ask(&f, der, len, txid, NID_sha256);
	assert_int_equal(m->status, SCEP_STATUS_FAILURE);
	assert_int_equal(m->fail_info, SCEP_FAIL_BADMESSAGECHECK);
	scep_msg_free(m);
	free(der);
	close_ca(&f);
}

/* `no encryption des`: single DES gets badAlg, nothing is stored; 3DES still enrolls. */
static void des_turned_off(void **state)
{
	fixture f;
	char txid[32];
	open_ca(&f, "  no encryption des\n");
	assert_false(f.cfg->servers[0].encryption_des);
	const EVP_CIPHER *des = cipher_or_null("DES-CBC");
	if (des != NULL) {
		size_t len = 0;
		uint8_t *der = p7_request(&f, next_txid(&f, txid, sizeof(txid)), des, EVP_sha1(), &len);
		assert_non_null(der);
		/* SHA-1 is on the list: the refusal mirrors it. */
		scep_msg *m = ask(&f, der, len, txid, NID_sha1);
		assert_int_equal(m->status, SCEP_STATUS_FAILURE);
		assert_int_equal(m->fail_info, SCEP_FAIL_BADALG);
		scep_msg_free(m);
		free(der);
		assert_store_untouched(&f);
	}
	size_t len = 0;
	uint8_t *der = p7_request(&f, next_txid(&f, txid, sizeof(txid)), EVP_des_ede3_cbc(), EVP_sha1(), &len);
	expect_success(&f, der, len, txid, NID_sha1, EVP_des_ede3_cbc());
	close_ca(&f);
}

int main(void)
{
	if (ec_time_parse_iso("2015-10-09T13:14:16Z", &T0) != 0)
		return 1;
	ec_err err;
	if (scep_init(&err) != 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(refused_algorithms_get_bad_alg),
		cmocka_unit_test(allowed_algorithms_enroll),
		cmocka_unit_test(pss_and_oaep_enroll),
		cmocka_unit_test(des_turned_off),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
