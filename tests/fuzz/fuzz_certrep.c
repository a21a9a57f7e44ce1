/*
 * fuzz_certrep.c - libFuzzer target for how the client reads a CA's reply (CertRep): the
 * pkiMessage layer, the envelope opened with the client's key, the degenerate PKCS#7 of
 * certificates and CRLs inside, the certificate for our key and its check against the signer as
 * CA, as the trustpoint does before installing anything. The client is the fixed test identity
 * of tests/fuzz/keys/ (embedded below), so that the seeds' envelopes really open.
 * Seeds: tests/fuzz/corpus/certrep/, made by tests/fuzz/make_certrep_seeds.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "pki/pki.h"
#include "scep/scep.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A 1024-bit test key and its self-signed certificate: not a secret of anything. */
static const char client_key_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIICdgIBADANBgkqhkiG9w0BAQEFAASCAmAwggJcAgEAAoGBAL4ZHV8FMkZYM+Us\n"
	"pK25oRGr5gKkkJuqHzevy2tPJKLMt33QV/Y6xvpf883TOFJhwx5Mk/2mpMymefpE\n"
	"r7Kq5oeqg1UA6UnEleY3If3dfXMhrARZhp3dIROOXMGOnFiz86+WuAm8wv0XiEZW\n"
	"W3rkDxiSGlZuH7LjGoGwNhRKhn1VAgMBAAECgYEAh0a+BPlgrnhj7akYQ1w+x6GJ\n"
	"G8ZZ9bxZXLpnyqRWUNfXl9ukTN/E6zVO/OBbSxywyiX6hl2JFu09DiDE2yMMyrHP\n"
	"n7Q34tqMNa07LfIUZsBKXp12vNvRx6foRfx7LGz0ROKDyxaJVAa36oKuaorN5PCx\n"
	"DpFC3FA++9gJkyyLncECQQDpYRgiw2uHbB+otvBOynR/J3hOEuR0302/bvE0wtQg\n"
	"6Oqx/lB0VWWesxrP4brg52+RZ6K+UAFd9xso4+NaSe/lAkEA0IYSlG4fQvs8pgzL\n"
	"/5lnqVWuRVVxq9j0J8cQ8DQeIPCNtjCVa46EsXRDKf0HU6x01epLjgiseCvQoRn/\n"
	"PQ8gsQJAE770VNSl/3JFh3fbAz+b9bo4Mprkm4LdSCox3F3zpskuOlsjIYSsMW5E\n"
	"AXy+3BKY3PugyGtqgjHLKX2GmfgRhQJAc0W6na0mwPtr8otedmTSZkzEMvXiCdK8\n"
	"XgTwuyjEgwcX/+BpqXS2q/aObna/ByVtzRdhPxpSZXgrM/PQImvrcQJAEHNgkOdU\n"
	"67bK40xSWMtTA/GQNRl8teVCRy/7gOQDSVqleUiROoSi0e9losO+EmxfVi4yo6wm\n"
	"QcgbtOR6P9Twjw==\n"
	"-----END PRIVATE KEY-----\n";
static const char client_cert_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIB2zCCAUSgAwIBAgICQkIwDQYJKoZIhvcNAQELBQAwIjEgMB4GA1UEAwwXZnV6\n"
	"ei1jbGllbnQuZXhhbXBsZS5uZXQwHhcNMjYxMTIzMDAwNTI1WhcNMjYxMjIzMDEw\n"
	"NTI1WjAiMSAwHgYDVQQDDBdmdXp6LWNsaWVudC5leGFtcGxlLm5ldDCBnzANBgkq\n"
	"hkiG9w0BAQEFAAOBjQAwgYkCgYEAvhkdXwUyRlgz5SykrbmhEavmAqSQm6ofN6/L\n"
	"a08kosy3fdBX9jrG+l/zzdM4UmHDHkyT/aakzKZ5+kSvsqrmh6qDVQDpScSV5jch\n"
	"/d19cyGsBFmGnd0hE45cwY6cWLPzr5a4CbzC/ReIRlZbeuQPGJIaVm4fsuMagbA2\n"
	"FEqGfVUCAwEAAaMgMB4wDAYDVR0TAQH/BAIwADAOBgNVHQ8BAf8EBAMCBaAwDQYJ\n"
	"KoZIhvcNAQELBQADgYEAVlVHvBSfeyRm/R1qDwikv2ihhkWNhCYH4lIk8Gagruk6\n"
	"0WAUD1xoeJNdIJU7NWqa9lRoU9r8yIjlGP7fZBCWC46sy29cQ5SFi6Xqz1YqkVW7\n"
	"9FzNygRT8jTF9LLbsXbD0zXFz+u8/ri9bUN/1/EVQI5D6Szqs4RjrucbPHru59s=\n"
	"-----END CERTIFICATE-----\n";

static EVP_PKEY *client_key;
static X509 *client_cert;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	ec_err err;
	BIO *k = BIO_new_mem_buf(client_key_pem, -1), *c = BIO_new_mem_buf(client_cert_pem, -1);
	if (scep_init(&err) != 0 || k == NULL || c == NULL ||
	    (client_key = PEM_read_bio_PrivateKey(k, NULL, NULL, NULL)) == NULL ||
	    (client_cert = PEM_read_bio_X509(c, NULL, NULL, NULL)) == NULL)
		abort();
	BIO_free(k);
	BIO_free(c);
	return 0;
}

/* What on_success does with the decrypted content: certificates, ours, and its chain. */
static void read_content(const uint8_t *p7, size_t len, X509 *ca)
{
	STACK_OF(X509) *certs = NULL;
	STACK_OF(X509_CRL) *crls = NULL;
	ec_err err;
	if (scep_degenerate_parse(p7, len, &certs, &crls, &err) != 0)
		return;
	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *c = sk_X509_value(certs, i);
		if (EVP_PKEY_eq(X509_get0_pubkey(c), client_key) != 1)
			continue;
		STACK_OF(X509) *trusted = sk_X509_new_null();
		if (trusted != NULL && sk_X509_push(trusted, X509_dup(ca)))
			(void)pki_verify_cert(c, trusted, crls, 1700000000000LL, &err);
		sk_X509_pop_free(trusted, X509_free);
		char serial[PKI_SERIAL_MAX];
		(void)pki_cert_serial_hex(c, serial);
	}
	sk_X509_pop_free(certs, X509_free);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	scep_msg *m = NULL;
	ec_err err;
	if (scep_msg_parse(data, size, &m, &err) != 0)
		return 0;
	if (m->type == SCEP_MSG_CERTREP && m->status == SCEP_STATUS_SUCCESS && m->signer != NULL) {
		uint8_t *p7 = NULL;
		size_t len = 0;
		if (scep_msg_decrypt(m, client_cert, client_key, &p7, &len, NULL, &err) == 0) {
			read_content(p7, len, m->signer);
			free(p7);
		}
	}
	(void)scep_fail_name(m->fail_info);
	scep_msg_free(m);
	return 0;
}
