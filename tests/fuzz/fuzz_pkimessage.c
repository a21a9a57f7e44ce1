/*
 * fuzz_pkimessage.c - libFuzzer target for the SCEP parsers: the pkiMessage outer layer and
 * recipient choice, and every payload parser, all on the same raw bytes.
 * Seeds: tests/fuzz/corpus/pkimessage/ (requests, CertReps, payloads, a GetNextCACert reply;
 * requests signed with RSASSA-PSS, wrapped with RSAES-OAEP or by key agreement, in
 * authEnvelopedData, and with refused digests and ciphers, alg_*.der, made with scep_tool).
 *
 * The seeds' envelopes are encrypted to "CN=Seed CA", serial 1. The target makes a certificate
 * with that issuer and serial but its own key, so scep_msg_recipient_index picks it and
 * scep_msg_decrypt walks the whole envelope (the key transport then fails, as with a wrong key).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "scep/scep.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY *fuzz_key;
static X509 *fuzz_ca;

static X509 *make_seed_ca_twin(EVP_PKEY *key)
{
	X509 *c = X509_new();
	X509_NAME *name = X509_NAME_new();
	if (c == NULL || name == NULL ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"Seed CA", -1, -1, 0) ||
	    !X509_set_version(c, 2) || !ASN1_INTEGER_set(X509_get_serialNumber(c), 1) ||
	    !X509_set_subject_name(c, name) || !X509_set_issuer_name(c, name) ||
	    !ASN1_TIME_set_string(X509_getm_notBefore(c), "20000101000000Z") ||
	    !ASN1_TIME_set_string(X509_getm_notAfter(c), "20991231000000Z") ||
	    !X509_set_pubkey(c, key) || X509_sign(c, key, EVP_sha256()) <= 0)
		abort();
	X509_NAME_free(name);
	return c;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	ec_err err;
	if (scep_init(&err) != 0)
		abort();
	fuzz_key = EVP_RSA_gen(1024);
	if (fuzz_key == NULL)
		abort();
	fuzz_ca = make_seed_ca_twin(fuzz_key);
	return 0;
}

static void fuzz_envelope(const scep_msg *msg)
{
	ec_err err;
	uint8_t *payload = NULL;
	size_t len = 0;
	const EVP_CIPHER *cipher = NULL;
	X509 *candidates[] = {NULL, msg->signer, fuzz_ca};

	if (scep_msg_recipient_index(msg, candidates, 3) != 2)
		return;
	if (scep_msg_decrypt(msg, fuzz_ca, fuzz_key, &payload, &len, &cipher, &err) == 0)
		free(payload);
}

static void fuzz_message(const uint8_t *data, size_t size)
{
	ec_err err;
	scep_msg *msg = NULL;
	STACK_OF(X509) *certs = NULL;

	if (scep_msg_parse(data, size, &msg, &err) != 0)
		return;
	fuzz_envelope(msg);
	/* The signer doubles as an "active CA" for the GetNextCACert reader. */
	if (scep_nextca_parse(data, size, msg->signer, &certs, &err) == 0)
		sk_X509_pop_free(certs, X509_free);
	scep_msg_free(msg);
}

static void fuzz_payloads(const uint8_t *data, size_t size)
{
	ec_err err;
	STACK_OF(X509) *certs = NULL;
	STACK_OF(X509_CRL) *crls = NULL;
	X509_REQ *req = NULL;
	X509_NAME *a = NULL, *b = NULL;
	ASN1_INTEGER *serial = NULL;
	char challenge[32];

	if (scep_degenerate_parse(data, size, &certs, &crls, &err) == 0) {
		sk_X509_pop_free(certs, X509_free);
		sk_X509_CRL_pop_free(crls, X509_CRL_free);
	}
	if (scep_csr_parse(data, size, &req, challenge, sizeof(challenge), &err) == 0)
		X509_REQ_free(req);
	if (scep_issuer_and_subject_parse(data, size, &a, &b, &err) == 0) {
		X509_NAME_free(a);
		X509_NAME_free(b);
	}
	if (scep_issuer_and_serial_parse(data, size, &a, &serial, &err) == 0) {
		X509_NAME_free(a);
		ASN1_INTEGER_free(serial);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_message(data, size);
	fuzz_payloads(data, size);
	return 0;
}
