/*
 * cms_request.h - a SCEP request built with OpenSSL's CMS API instead of the module's PKCS#7
 * builder, for what clients send and that builder never makes: RSASSA-PSS signatures (as
 * strongSwan's `pki --scep --rsa-padding pss`), RSAES-OAEP key transport, authEnvelopedData
 * (an AEAD cipher such as AES-GCM) and, like any client, whatever digest and cipher it is told.
 * For the tests and scep_tool only: independent of the code under test but for the SCEP
 * attribute OIDs (scep_init must have run).
 */
#ifndef EVERCERT_CMS_REQUEST_H
#define EVERCERT_CMS_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

typedef struct cms_request {
	int type;                  /* messageType */
	const char *txid;
	const uint8_t *nonce;      /* SCEP_NONCE_LEN bytes */
	X509 *signer;
	EVP_PKEY *key;
	X509 *recipient;
	const EVP_CIPHER *cipher;  /* an AEAD cipher makes authEnvelopedData */
	const EVP_MD *md;          /* the signerInfo's digest (and the PSS hash) */
	bool pss;                  /* RSASSA-PSS, MGF1 with mgf1_md (NULL: md), salt as long as md */
	const EVP_MD *mgf1_md;
	bool oaep;                 /* RSAES-OAEP key transport with oaep_md (NULL: SHA-256) */
	const EVP_MD *oaep_md;
	const uint8_t *payload;
	size_t payload_len;
} cms_request;

/* 0 and the pkiMessage's DER (malloc'd, *len bytes), or -1 after printing OpenSSL's reason on
 * stderr. */
int cms_request_build(const cms_request *r, uint8_t **der, size_t *len);

#endif
