/*
 * scep.h - SCEP pkiMessages (RFC 8894), built and parsed over OpenSSL's PKCS#7.
 *
 * Pure: no I/O, no clock, no policy. Used by the CA (parse requests, build CertRep), by the client
 * (build requests, parse CertRep) and by the load generator.
 *
 * A pkiMessage is signedData whose signed attributes carry the SCEP fields, around an optional
 * envelopedData (the "pkcsPKIEnvelope") holding the payload: a PKCS#10 request (PKCSReq,
 * RenewalReq), IssuerAndSubject (CertPoll), IssuerAndSerialNumber (GetCert, GetCRL) or, in a
 * SUCCESS CertRep, a degenerate certs-only signedData.
 *
 * Parsing happens in two steps so that the caller decides which key may open the envelope:
 * scep_msg_parse reads the outer layer and checks the signature against the certificate that
 * travels inside; scep_msg_decrypt opens the envelope with a given certificate and key.
 *
 * Algorithms are an allow-list (see "algorithms" below): a message naming anything else is
 * parsed, its signature left unchecked and the reason put in bad_alg, so that a CA can still
 * answer FAILURE badAlg to its signer. RSASSA-PSS signatures are checked through OpenSSL's CMS
 * API, the others through PKCS#7; RSAES-OAEP envelopes are opened through CMS, the others
 * through PKCS#7.
 *
 * Ownership: every scep_msg is freed with scep_msg_free; byte outputs are malloc'd and owned by
 * the caller; X509/EVP_PKEY arguments are borrowed (never freed here) unless a name says _take.
 * Failures return -1 with a reason in the ec_err.
 *
 * Purity and threads: pure (no I/O, no clock); any thread, HTTP threads and the main thread at once.
 */
#ifndef EVERCERT_SCEP_SCEP_H
#define EVERCERT_SCEP_SCEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "util/err.h"

/* messageType values */
enum scep_msg_type {
	SCEP_MSG_CERTREP = 3,
	SCEP_MSG_RENEWALREQ = 17,
	SCEP_MSG_PKCSREQ = 19,
	SCEP_MSG_CERTPOLL = 20, /* GetCertInitial */
	SCEP_MSG_GETCERT = 21,
	SCEP_MSG_GETCRL = 22,
};

/* pkiStatus values */
enum scep_status {
	SCEP_STATUS_SUCCESS = 0,
	SCEP_STATUS_FAILURE = 2,
	SCEP_STATUS_PENDING = 3,
};

/* failInfo values; SCEP_FAIL_NONE when absent */
enum scep_fail {
	SCEP_FAIL_NONE = -1,
	SCEP_FAIL_BADALG = 0,
	SCEP_FAIL_BADMESSAGECHECK = 1,
	SCEP_FAIL_BADREQUEST = 2,
	SCEP_FAIL_BADTIME = 3,
	SCEP_FAIL_BADCERTID = 4,
};

#define SCEP_NONCE_LEN 16
#define SCEP_NONCE_MAX 64
#define SCEP_TXID_MAX 256
/* A pkiMessage larger than this is refused before any parsing. */
#define SCEP_MESSAGE_MAX (256 * 1024)
/* Longest reason in scep_msg.bad_alg, with its NUL. */
#define SCEP_BAD_ALG_MAX 160

/* Process-wide set-up: loads OpenSSL's default and legacy providers (single DES-CBC needs the
 * legacy one) and registers the SCEP attribute OIDs. Idempotent and thread-safe. */
int scep_init(ec_err *err) EC_MUST_USE;

const char *scep_msg_type_name(int type);   /* "PKCSReq", ... or "unknown" */
const char *scep_status_name(int status);   /* "SUCCESS", "FAILURE", "PENDING" */
const char *scep_fail_name(int fail_info);  /* "badAlg", ... or "none" */

/* ---- parsing ---- */

typedef struct scep_msg {
	int type;                          /* enum scep_msg_type, or another value as received */
	char txid[SCEP_TXID_MAX + 1];      /* transactionID, printable */
	uint8_t sender_nonce[SCEP_NONCE_MAX];
	size_t sender_nonce_len;           /* 0 when absent */
	uint8_t recipient_nonce[SCEP_NONCE_MAX];
	size_t recipient_nonce_len;        /* 0 when absent */
	int status;                        /* pkiStatus, -1 when absent (requests) */
	enum scep_fail fail_info;
	X509 *signer;                      /* the signer's certificate, owned by the message */
	const EVP_MD *digest;              /* the signerInfo's digest algorithm; NULL unless allowed */
	const EVP_CIPHER *cipher;          /* the envelope's content encryption; NULL unless allowed */
	char bad_alg[SCEP_BAD_ALG_MAX];    /* why an algorithm is not on the allow-list, "" when none */
	bool signature_ok;                 /* the signature verifies with signer's public key (never
	                                    * when bad_alg is set: it is not checked) */
	bool has_envelope;                 /* a pkcsPKIEnvelope is present */
	void *priv;                        /* internal */
} scep_msg;

/* Parses the outer signedData of a pkiMessage. Returns -1 only when the bytes are not a
 * pkiMessage at all (not DER PKCS#7 signedData, no signer certificate, missing or malformed
 * transactionID/messageType): the caller answers HTTP 400. A message naming an algorithm off
 * the allow-list is returned with bad_alg set: the caller answers FAILURE badAlg. A message
 * whose signature does not verify is returned with signature_ok false: the caller answers
 * FAILURE badMessageCheck. */
int scep_msg_parse(const uint8_t *der, size_t len, scep_msg **out, ec_err *err) EC_MUST_USE;

void scep_msg_free(scep_msg *msg);

/* The envelope's recipient, for choosing the CA key: returns the index in certs[0..n) of the
 * certificate whose issuer and serial number match a RecipientInfo, or -1. */
int scep_msg_recipient_index(const scep_msg *msg, X509 *const *certs, size_t n);

/* Opens the envelope with cert/key; -1 when its algorithms are off the allow-list. *payload is
 * malloc'd; *cipher (may be NULL) receives the content-encryption cipher the sender chose, for
 * mirroring it in the reply. */
int scep_msg_decrypt(const scep_msg *msg, X509 *cert, EVP_PKEY *key, uint8_t **payload,
                     size_t *payload_len, const EVP_CIPHER **cipher, ec_err *err) EC_MUST_USE;

/* ---- building ---- */

/* A request, client side. */
typedef struct scep_request_params {
	int type;                          /* PKCSReq, RenewalReq, CertPoll, GetCert, GetCRL */
	const char *txid;
	const uint8_t *sender_nonce;       /* SCEP_NONCE_LEN bytes */
	X509 *signer_cert;                 /* self-signed or the current identity certificate */
	EVP_PKEY *signer_key;
	X509 *recipient;                   /* the CA certificate the envelope is encrypted to */
	const EVP_CIPHER *cipher;          /* content encryption */
	const EVP_MD *digest;              /* signature digest */
	const uint8_t *payload;            /* PKCS#10 DER, IssuerAndSubject DER, ... */
	size_t payload_len;
} scep_request_params;

int scep_build_request(const scep_request_params *p, uint8_t **der, size_t *len, ec_err *err) EC_MUST_USE;

/* A CertRep, CA side. For SUCCESS the payload (a degenerate PKCS#7) is encrypted to
 * recipient_cert; PENDING and FAILURE carry no envelope. The signerInfo's signature algorithm is
 * rsaEncryption, as some clients require. The digest and the cipher must be on the allow-list:
 * no reply is ever signed with MD5 or encrypted with RC2, whatever the request used. */
typedef struct scep_reply_params {
	const char *txid;
	const uint8_t *recipient_nonce;    /* the request's senderNonce, echoed */
	size_t recipient_nonce_len;
	const uint8_t *sender_nonce;       /* SCEP_NONCE_LEN fresh bytes */
	enum scep_status status;
	int fail_info;                     /* with FAILURE */
	X509 *signer_cert;                 /* the CA (or RA) certificate */
	EVP_PKEY *signer_key;
	const EVP_MD *digest;
	X509 *recipient_cert;              /* the requester's signing certificate (SUCCESS) */
	const EVP_CIPHER *cipher;          /* SUCCESS */
	const uint8_t *payload;            /* SUCCESS: degenerate PKCS#7 DER */
	size_t payload_len;
} scep_reply_params;

int scep_build_certrep(const scep_reply_params *p, uint8_t **der, size_t *len, ec_err *err) EC_MUST_USE;

/* ---- payloads ---- */

/* Degenerate certs-only signedData holding certs (may be NULL) and crl (may be NULL). */
int scep_degenerate_build(STACK_OF(X509) *certs, X509_CRL *crl, uint8_t **der, size_t *len, ec_err *err) EC_MUST_USE;

/* Reads a degenerate signedData; *certs and *crls are new stacks owned by the caller (either
 * pointer may be NULL when not wanted). */
int scep_degenerate_parse(const uint8_t *der, size_t len, STACK_OF(X509) **certs,
                          STACK_OF(X509_CRL) **crls, ec_err *err) EC_MUST_USE;

/* IssuerAndSubject (CertPoll payload). Names are new objects owned by the caller. */
int scep_issuer_and_subject_build(X509_NAME *issuer, X509_NAME *subject, uint8_t **der, size_t *len, ec_err *err) EC_MUST_USE;
int scep_issuer_and_subject_parse(const uint8_t *der, size_t len, X509_NAME **issuer,
                                  X509_NAME **subject, ec_err *err) EC_MUST_USE;

/* IssuerAndSerialNumber (GetCert, GetCRL payload). */
int scep_issuer_and_serial_build(X509_NAME *issuer, const ASN1_INTEGER *serial, uint8_t **der, size_t *len, ec_err *err) EC_MUST_USE;
int scep_issuer_and_serial_parse(const uint8_t *der, size_t len, X509_NAME **issuer,
                                 ASN1_INTEGER **serial, ec_err *err) EC_MUST_USE;

/* PKCS#10 request: parses DER, checks its self-signature; -1 with a reason otherwise. The
 * challenge password (if any) is copied into challenge (NUL-terminated, truncated to size). */
int scep_csr_parse(const uint8_t *der, size_t len, X509_REQ **out, char *challenge,
                   size_t challenge_size, ec_err *err) EC_MUST_USE;

/* GetNextCACert reply: signedData signed by the current CA, carrying the rollover CA
 * certificate (and RA certificates) as its certificates. */
int scep_nextca_build(X509 *signer_cert, EVP_PKEY *signer_key, const EVP_MD *digest,
                      STACK_OF(X509) *certs, uint8_t **der, size_t *len, ec_err *err) EC_MUST_USE;
/* Verifies the reply against the active CA certificate and returns its certificates. */
int scep_nextca_parse(const uint8_t *der, size_t len, X509 *active_ca, STACK_OF(X509) **certs, ec_err *err) EC_MUST_USE;

/* Digest and cipher by SCEP capability name ("SHA-256", "AES", "DES3", "DES"); NULL if unknown. */
const EVP_MD *scep_digest_by_name(const char *name);
const EVP_CIPHER *scep_cipher_by_name(const char *name);

/* ---- algorithms ----
 * The allow-list, for requests and replies alike. Digests (the signerInfo's, and the hash of an
 * RSASSA-PSS or ECDSA signature): SHA-1, SHA-224, SHA-256, SHA-384, SHA-512. Signature
 * algorithms: rsaEncryption, sha*WithRSAEncryption and ecdsa-with-SHA* with those digests,
 * RSASSA-PSS with MGF1 (both hashes from the list). Envelope: DES-CBC, DES-EDE3-CBC and
 * AES-128/192/256-CBC, the key transported by RSA PKCS#1 v1.5 or RSAES-OAEP (hashes from the
 * list). Everything else (MD2, MD4, MD5, SHA-3, ECB modes, RC2, Blowfish, CAST, IDEA, SEED,
 * Camellia, SM4, GCM, authEnvelopedData, key agreement) is refused. */
bool scep_digest_allowed(const EVP_MD *md);
bool scep_cipher_allowed(const EVP_CIPHER *cipher);
/* The digest of a reply to msg: the request's when on the list, else SHA-256. */
const EVP_MD *scep_reply_digest(const scep_msg *msg);

/* Fills buf with n random bytes (nonces). */
int scep_random(uint8_t *buf, size_t n) EC_MUST_USE;

#endif
