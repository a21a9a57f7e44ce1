/*
 * scep_int.h - helpers shared by the files of the SCEP module; not part of its interface.
 *
 * The SCEP attribute NIDs are valid once scep_ensure_init has succeeded (every entry point that
 * needs them calls it). PKCS#7 objects returned here are owned by the caller (PKCS7_free);
 * certificates and keys passed in are borrowed. Failures return -1 (or NULL) with a reason.
 *
 * Purity and threads: pure; any thread, as scep.h.
 */
#ifndef EVERCERT_SCEP_SCEP_INT_H
#define EVERCERT_SCEP_SCEP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/pkcs7.h>

#include "scep/scep.h"

/* The SCEP signed attributes, as indexes for scep_attr_nid. */
enum scep_attr {
	SCEP_ATTR_TXID,
	SCEP_ATTR_MSGTYPE,
	SCEP_ATTR_STATUS,
	SCEP_ATTR_FAILINFO,
	SCEP_ATTR_SENDER_NONCE,
	SCEP_ATTR_RECIPIENT_NONCE,
	SCEP_ATTR_COUNT
};

/* Runs the one-time set-up (providers, OIDs); -1 with a reason when it failed. */
int scep_ensure_init(ec_err *err) EC_MUST_USE;

/* The NID registered for an attribute; NID_undef before a successful set-up. */
int scep_attr_nid(enum scep_attr which);

/* One signed attribute to add: an ASN.1 string type (V_ASN1_PRINTABLESTRING or
 * V_ASN1_OCTET_STRING) and its bytes. */
struct scep_attr_value {
	int nid;
	int type;
	const uint8_t *data;
	size_t len;
};

/* What to sign: content (may be empty, never absent), signer, digest, and whether the signer's
 * certificate travels in the certificates field. */
struct scep_sign_params {
	X509 *cert;
	EVP_PKEY *key;
	const EVP_MD *md;
	const uint8_t *content;
	size_t content_len;
	bool include_cert;
	const struct scep_attr_value *attrs;
	size_t nattrs;
};

/* A signedData over data content with contentType, messageDigest and the given attributes (no
 * signingTime), signed by cert/key: the signerInfo names rsaEncryption for RSA keys. */
PKCS7 *scep_p7_sign(const struct scep_sign_params *sp, ec_err *err);

/* Adds certs to a signedData; -1 on allocation failure. */
int scep_p7_add_certs(PKCS7 *p7, STACK_OF(X509) *certs, ec_err *err) EC_MUST_USE;

/* DER of an ASN.1 object (of a PKCS#7) into a malloc'd buffer. */
int scep_asn1_der(const void *obj, const ASN1_ITEM *it, uint8_t **der, size_t *len, ec_err *err) EC_MUST_USE;
int scep_p7_der(PKCS7 *p7, uint8_t **der, size_t *len, ec_err *err) EC_MUST_USE;

/* Reads DER of at most SCEP_MESSAGE_MAX bytes that must be exactly one it, with no trailing
 * bytes; the result is freed with ASN1_item_free (or the type's _free). */
void *scep_asn1_read(const uint8_t *der, size_t len, const ASN1_ITEM *it, const char *what, ec_err *err);
/* The same in the library context libctx: pki_keyless_libctx() leaves public keys undecoded. */
void *scep_asn1_read_in(const uint8_t *der, size_t len, const ASN1_ITEM *it, const char *what,
                        OSSL_LIB_CTX *libctx, ec_err *err);

/* Reads DER of at most SCEP_MESSAGE_MAX bytes that must be exactly one PKCS#7 of type nid with
 * its body present. what names the object in reasons. */
PKCS7 *scep_p7_read(const uint8_t *der, size_t len, int nid, const char *what, ec_err *err);
PKCS7 *scep_p7_read_in(const uint8_t *der, size_t len, int nid, const char *what, OSSL_LIB_CTX *libctx,
                       ec_err *err);

/* The only signerInfo of a signedData, or NULL with a reason. */
PKCS7_SIGNER_INFO *scep_p7_single_signer(PKCS7 *p7, ec_err *err);

/* True when the signedData's content (absent or data) and signerInfo verify with signer's key.
 * PKCS#7 cannot check RSASSA-PSS: such signatures go to scep_cms_signature_ok. */
bool scep_p7_signature_ok(PKCS7 *p7, PKCS7_SIGNER_INFO *si, X509 *signer);
/* The same through OpenSSL's CMS API, for the signedData encoded in der (its only signer). */
bool scep_cms_signature_ok(const uint8_t *der, size_t len, X509 *signer);

/* The allow-list (scep.h) applied to a signerInfo's digest and signature algorithms: 0, with
 * *pss telling whether the signature is RSASSA-PSS, or -1 with the reason in why. *md is the
 * digest whenever it is on the list (even when the signature algorithm is not), else NULL. */
int scep_alg_check_signer(const PKCS7_SIGNER_INFO *si, const EVP_MD **md, bool *pss, char *why, size_t whysz);
/* The same for an envelope: its content encryption (*cipher when on the list, else NULL) and
 * every RecipientInfo's key transport. */
int scep_alg_check_envelope(const PKCS7 *env, const EVP_CIPHER **cipher, char *why, size_t whysz);
/* Whether a RecipientInfo's key is transported with RSAES-OAEP, which only CMS can open. */
bool scep_alg_is_oaep(const PKCS7_RECIP_INFO *ri);

/* True when cert has the issuer name and serial number of ias. */
bool scep_ias_matches(const PKCS7_ISSUER_AND_SERIAL *ias, X509 *cert);

/* The envelopedData of payload encrypted to recipient with cipher, as DER. */
int scep_envelope(const uint8_t *payload, size_t payload_len, X509 *recipient,
                  const EVP_CIPHER *cipher, uint8_t **der, size_t *len, ec_err *err) EC_MUST_USE;

#endif
