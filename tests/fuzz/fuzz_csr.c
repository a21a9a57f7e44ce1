/*
 * fuzz_csr.c - libFuzzer target for the PKCS#10 contents the CA copies into certificates: any
 * bytes go through the request parser (signature, challenge password), the issuance policy
 * (key, subject, requested extensions) and, when accepted, the issuance itself with a CA made at
 * start, whose certificate is then encoded and decoded again. A request the policy accepts must
 * give a certificate with the request's subject and key that verifies under the CA.
 * Seeds: tests/fuzz/corpus/csr/ (requests made with `openssl req`).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "pki/pki.h"
#include "scep/scep.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY *ca_key;
static X509 *ca_cert;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	ec_err err;
	X509_NAME *name = NULL;
	if (scep_init(&err) != 0 || (ca_key = EVP_RSA_gen(1024)) == NULL ||
	    pki_name_parse("CN=Fuzz CA,O=Evercert", &name, &err) != 0)
		abort();
	pki_ca_params p = {name, ca_key, "1", 946684800000LL, 4102444800000LL, EVP_sha256()};
	if (pki_make_ca_cert(&p, &ca_cert, &err) != 0)
		abort();
	X509_NAME_free(name);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	X509_REQ *csr = NULL;
	X509 *cert = NULL;
	char challenge[256];
	ec_err err;
	if (scep_csr_parse(data, size, &csr, challenge, sizeof(challenge), &err) != 0)
		return 0;
	bool allowed = pki_csr_check_policy(csr, NULL, &err) == 0;
	pki_issue_params p = {csr, ca_cert, ca_key, "1F", 1700000000000LL, 1731536000000LL, EVP_sha256(), NULL, false, NULL};
	int rc = pki_issue_cert(&p, &cert, &err);
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(csr);
	bool plain = sk_X509_EXTENSION_num(exts) <= 0 && X509_NAME_entry_count(X509_REQ_get_subject_name(csr)) > 0;
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	if (allowed && plain && rc != 0)
		__builtin_trap(); /* a plain request the policy accepts is issued */
	if (rc == 0) {
		if (!allowed || !pki_cert_issued_by(cert, ca_cert) ||
		    X509_NAME_cmp(X509_get_subject_name(cert), X509_REQ_get_subject_name(csr)) != 0)
			__builtin_trap();
		/* The certificate carries the request's key as encoded: read back, it is the same key. */
		uint8_t *der = NULL;
		size_t len = 0;
		X509 *again = NULL;
		if (pki_cert_to_der(cert, &der, &len, &err) != 0 || pki_cert_from_der(der, len, &again, &err) != 0 ||
		    EVP_PKEY_eq(X509_get0_pubkey(again), X509_REQ_get0_pubkey(csr)) != 1)
			__builtin_trap();
		X509_free(again);
		free(der);
	}
	X509_free(cert);
	X509_REQ_free(csr);
	return 0;
}
