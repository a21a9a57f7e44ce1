/*
 * scep_probe: plays the part of various real SCEP clients for the tests, one step at a time, so
 * that a shell test can send the messages with curl in whatever way a client does (GET with raw
 * base64, POST without a Content-Type, HTTP/1.0...).
 *
 *   scep_probe make DIR --ca CA.pem --cn CN [--txid T] [--cipher DES|DES3|AES|AES-256]
 *                       [--digest SHA-1|SHA-256|SHA-512] [--v1] [--renew] [--bits N]
 *       writes DIR/key.pem (created once, reused), DIR/signer.pem (a self-signed certificate,
 *       v1 with --v1; or, with --renew, DIR/cert.pem from an earlier enrollment) and
 *       DIR/request.der, a PKCSReq encrypted to CA.pem.
 *   scep_probe read DIR --ca CA.pem REPLY
 *       checks the CertRep is signed by CA.pem and answers DIR's request, prints
 *       "status=SUCCESS|PENDING|FAILURE failinfo=NAME", and on SUCCESS writes DIR/cert.pem.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "pki/pki.h"
#include "scep/scep.h"
#include "util/encoding.h"
#include "util/fsutil.h"

static int die(const char *what, const ec_err *err)
{
	fprintf(stderr, "scep_probe: %s%s%s\n", what, err ? ": " : "", err ? err->msg : "");
	return 1;
}

static const char *opt(int argc, char **argv, const char *name, const char *def)
{
	for (int i = 0; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return def;
}

static int flag(int argc, char **argv, const char *name)
{
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return 1;
	return 0;
}

static EVP_PKEY *key_of(const char *dir, int bits)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/key.pem", dir);
	FILE *f = fopen(path, "r");
	EVP_PKEY *k = NULL;
	if (f != NULL) {
		k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
		return k;
	}
	k = EVP_RSA_gen((unsigned)bits);
	f = fopen(path, "w");
	if (k == NULL || f == NULL || !PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL)) {
		if (f)
			fclose(f);
		EVP_PKEY_free(k);
		return NULL;
	}
	fclose(f);
	return k;
}

static X509 *self_signed(EVP_PKEY *key, const char *cn, int v1)
{
	X509 *c = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_set_version(c, v1 ? 0 : 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), 4242);
	X509_gmtime_adj(X509_getm_notBefore(c), -3600); /* a test tool: the real clock is right here */
	X509_gmtime_adj(X509_getm_notAfter(c), 86400);
	X509_set_subject_name(c, n);
	X509_set_issuer_name(c, n);
	X509_set_pubkey(c, key);
	X509_sign(c, key, EVP_sha256());
	X509_NAME_free(n);
	return c;
}

static int save_cert(const char *dir, const char *name, X509 *c)
{
	char path[4096];
	ec_err err;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return pki_cert_save_pem(path, c, 0644, &err);
}

static X509 *load_cert(const char *dir, const char *name)
{
	char path[4096];
	X509 *c = NULL;
	ec_err err;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return pki_cert_load(path, &c, &err) == 0 ? c : NULL;
}

static int make(const char *dir, int argc, char **argv)
{
	ec_err err;
	X509 *ca = NULL, *signer = NULL;
	if (pki_cert_load(opt(argc, argv, "--ca", ""), &ca, &err) != 0)
		return die("--ca", &err);
	const char *cn = opt(argc, argv, "--cn", "probe");
	EVP_PKEY *key = key_of(dir, (int)strtol(opt(argc, argv, "--bits", "1024"), NULL, 10));
	if (key == NULL)
		return die("key", NULL);
	signer = flag(argc, argv, "--renew") ? load_cert(dir, "cert.pem") : self_signed(key, cn, flag(argc, argv, "--v1"));
	if (signer == NULL || save_cert(dir, "signer.pem", signer) != 0)
		return die("signer certificate", NULL);
	X509_REQ *req = X509_REQ_new();
	X509_NAME *n = X509_NAME_new();
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_REQ_set_subject_name(req, n);
	X509_REQ_set_pubkey(req, key);
	X509_REQ_sign(req, key, EVP_sha256());
	uint8_t *csr = NULL, *msg = NULL, nonce[SCEP_NONCE_LEN] = {7};
	size_t csr_len = 0, msg_len = 0;
	scep_request_params p = {SCEP_MSG_PKCSREQ, opt(argc, argv, "--txid", "probe-tx"), nonce, signer, key, ca,
	                         scep_cipher_by_name(opt(argc, argv, "--cipher", "AES")),
	                         scep_digest_by_name(opt(argc, argv, "--digest", "SHA-256")), NULL, 0};
	if (p.cipher == NULL || p.digest == NULL)
		return die("unknown --cipher or --digest", NULL);
	if (pki_csr_to_der(req, &csr, &csr_len, &err) != 0)
		return die("request", &err);
	p.payload = csr;
	p.payload_len = csr_len;
	char path[4096];
	snprintf(path, sizeof(path), "%s/request.der", dir);
	if (scep_build_request(&p, &msg, &msg_len, &err) != 0 || ec_write_atomic(path, msg, msg_len, 0644, &err) != 0)
		return die("message", &err);
	free(csr);
	free(msg);
	X509_NAME_free(n);
	X509_REQ_free(req);
	X509_free(signer);
	X509_free(ca);
	EVP_PKEY_free(key);
	return 0;
}

static int read_reply(const char *dir, const char *reply_path, int argc, char **argv)
{
	ec_err err;
	X509 *ca = NULL, *signer = load_cert(dir, "signer.pem");
	EVP_PKEY *key = key_of(dir, 1024);
	uint8_t *der = NULL, *p7 = NULL;
	size_t len = 0, p7_len = 0;
	scep_msg *m = NULL;
	if (pki_cert_load(opt(argc, argv, "--ca", ""), &ca, &err) != 0 || signer == NULL || key == NULL)
		return die("--ca, signer or key", &err);
	if (ec_read_file(reply_path, SCEP_MESSAGE_MAX, &der, &len, &err) != 0 || scep_msg_parse(der, len, &m, &err) != 0)
		return die("reply", &err);
	if (!m->signature_ok || X509_cmp(m->signer, ca) != 0)
		return die("reply not signed by the CA", NULL);
	printf("status=%s failinfo=%s\n", scep_status_name(m->status), scep_fail_name(m->fail_info));
	if (m->status == SCEP_STATUS_SUCCESS) {
		STACK_OF(X509) *certs = NULL;
		if (scep_msg_decrypt(m, signer, key, &p7, &p7_len, NULL, &err) != 0 ||
		    scep_degenerate_parse(p7, p7_len, &certs, NULL, &err) != 0 || sk_X509_num(certs) < 1 ||
		    save_cert(dir, "cert.pem", sk_X509_value(certs, 0)) != 0)
			return die("certificate in the reply", &err);
		sk_X509_pop_free(certs, X509_free);
	}
	scep_msg_free(m);
	free(der);
	free(p7);
	X509_free(ca);
	X509_free(signer);
	EVP_PKEY_free(key);
	return 0;
}

int main(int argc, char **argv)
{
	ec_err err;
	if (argc < 3 || scep_init(&err) != 0) {
		fprintf(stderr, "usage: scep_probe make DIR --ca CA.pem ... | scep_probe read DIR --ca CA.pem REPLY\n");
		return 2;
	}
	if (strcmp(argv[1], "make") == 0)
		return make(argv[2], argc - 3, argv + 3);
	if (strcmp(argv[1], "read") == 0 && argc >= 4)
		return read_reply(argv[2], argv[argc - 1], argc - 3, argv + 3);
	return 2;
}
