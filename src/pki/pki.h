/*
 * pki.h - X.509 building blocks shared by the CA and the client, over OpenSSL 3.
 *
 * Keys, CA and end-entity certificates, CRLs, archives, names, serials and chain checks. Pure
 * with respect to time: every function that needs "now" takes it as an argument (ec_time, ms
 * since the epoch) and chain verification pins OpenSSL's check time to it, never the wall clock.
 * File functions write atomically (util/fsutil.h) and private files get mode 0600.
 *
 * Ownership: outputs (X509 **, EVP_PKEY **, ...) are new objects owned by the caller; inputs
 * are borrowed. Failures return -1 with a reason in the ec_err.
 *
 * Purity and threads: pure with respect to time, but the file functions write files (pki_*_save*,
 * pki_*_load*, archives); any thread, objects are not shared unless a caller says so.
 */
#ifndef EVERCERT_PKI_PKI_H
#define EVERCERT_PKI_PKI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "clock/clock.h"
#include "util/err.h"
#include "util/fsutil.h"

#define PKI_SERIAL_MAX 44

/* ---- names ---- */
/* Parses "CN=RootCA,OU=TAC,O=Cisco" (RFC 4514 order, most specific first; `\,` escapes a comma)
 * into an X509_NAME whose RDN sequence is the reverse (O first), as the router builds it. */
int pki_name_parse(const char *text, X509_NAME **out, ec_err *err) EC_MUST_USE;
/* The name back in the same form ("CN=RootCA,OU=TAC,O=Cisco"). */
int pki_name_format(const X509_NAME *name, char *out, size_t outsz) EC_MUST_USE;

/* ---- serials ---- */
/* "1A" (hex) <-> ASN1_INTEGER. */
int pki_serial_from_hex(const char *hex, ASN1_INTEGER **out, ec_err *err) EC_MUST_USE;
/* Upper-case hex without leading zeros ("0" for zero). */
int pki_serial_to_hex(const ASN1_INTEGER *serial, char out[PKI_SERIAL_MAX]) EC_MUST_USE;
int pki_cert_serial_hex(X509 *cert, char out[PKI_SERIAL_MAX]) EC_MUST_USE;

/* ---- times ---- */
ec_time pki_asn1_time_ms(const ASN1_TIME *t); /* -1 on a malformed time */
ec_time pki_cert_not_before(X509 *cert);
ec_time pki_cert_not_after(X509 *cert);

/* ---- keys ---- */
int pki_key_generate(int bits, EVP_PKEY **out, ec_err *err) EC_MUST_USE;
/* PKCS#8 PEM encrypted with AES-256-CBC under password (must be non-empty), mode 0600,
 * written atomically. The _at forms work in dir (see util/fsutil.h; NULL: name is a path). */
int pki_key_save(const char *path, EVP_PKEY *key, const char *password, ec_err *err) EC_MUST_USE;
int pki_key_save_at(const ec_dir *dir, const char *name, EVP_PKEY *key, const char *password,
                    ec_err *err) EC_MUST_USE;
/* Loads a key saved by pki_key_save; refuses a file readable by group or others, or (_at) a
 * symbolic link. */
int pki_key_load(const char *path, const char *password, EVP_PKEY **out, ec_err *err) EC_MUST_USE;
int pki_key_load_at(const ec_dir *dir, const char *name, const char *password, EVP_PKEY **out,
                    ec_err *err) EC_MUST_USE;
/* SHA-256 of the DER SubjectPublicKeyInfo, lower-case hex (65 bytes with NUL). */
int pki_pubkey_fingerprint(EVP_PKEY *key, char out[65]) EC_MUST_USE;
/* The same fingerprint from an already encoded SubjectPublicKeyInfo (a request's or a
 * certificate's), without converting the key: much cheaper under OpenSSL 3. */
int pki_spki_fingerprint(const X509_PUBKEY *spki, char out[65]) EC_MUST_USE;
/* SHA-256 of a certificate's DER, lower-case hex. */
int pki_cert_fingerprint_hex(X509 *cert, char out[65]) EC_MUST_USE;

/* ---- certificates ---- */
typedef struct pki_ca_params {
	X509_NAME *subject;        /* also the issuer: CA certificates are self-signed */
	EVP_PKEY *key;
	const char *serial_hex;
	ec_time not_before;
	ec_time not_after;
	const EVP_MD *digest;
} pki_ca_params;

/* A self-signed CA certificate: v3, basicConstraints critical CA:TRUE, keyUsage critical
 * keyCertSign+cRLSign+digitalSignature, subject and authority key identifiers. */
int pki_make_ca_cert(const pki_ca_params *p, X509 **out, ec_err *err) EC_MUST_USE;

/* The outgoing CA endorsing its successor (pki_link.c). */
typedef struct pki_link_params {
	X509 *outgoing_cert;       /* the issuer: the CA certificate that is trusted today */
	EVP_PKEY *outgoing_key;    /* its private key, which signs the link */
	X509 *successor;           /* the successor's self-signed CA certificate */
	const char *serial_hex;
	ec_time not_before;        /* when the endorsement is made */
	const EVP_MD *digest;
} pki_link_params;

/* A link certificate "NewWithOld" (RFC 4210 §4.4): subject and public key of the successor,
 * issuer the outgoing CA's subject, signed by the outgoing key, valid from not_before to the
 * successor's notAfter; basicConstraints critical CA:TRUE, keyUsage critical keyCertSign+cRLSign,
 * the successor's subject key identifier and the outgoing CA's as authority key identifier.
 * Whoever trusts the outgoing certificate can check the successor by signatures alone:
 * X509_verify(link, outgoing key) and EVP_PKEY_eq(link key, successor key). */
int pki_make_link_cert(const pki_link_params *p, X509 **out, ec_err *err) EC_MUST_USE;

typedef struct pki_issue_params {
	X509_REQ *csr;             /* subject, public key and subjectAltName come from here */
	X509 *ca_cert;
	EVP_PKEY *ca_key;
	const char *serial_hex;
	ec_time not_before;
	ec_time not_after;
	const EVP_MD *digest;
	const char *cdp_url;       /* NULL or "" for none */
	bool csr_verified;         /* the caller has verified the request's self-signature */
	const struct pki_issuance_rules *rules; /* NULL: pki_issuance_defaults */
} pki_issue_params;

/* An end-entity certificate: v3, basicConstraints CA:FALSE, keyUsage critical
 * digitalSignature+keyEncipherment, extendedKeyUsage clientAuth+serverAuth, SKI, AKI, the
 * request's subjectAltName if it asked for one, and a CRL distribution point when given.
 * The certificate carries the request's SubjectPublicKeyInfo as encoded, not a decoded key:
 * X509_get0_pubkey on the object returned gives NULL (decode its DER when the key is needed). */
int pki_issue_cert(const pki_issue_params *p, X509 **out, ec_err *err) EC_MUST_USE;

/* What the issuance policy lets a request ask for; the server's configuration may change it. */
typedef struct pki_issuance_rules {
	int rsa_min_bits;          /* default 2048 */
	int rsa_max_bits;          /* default 8192 */
	bool allow_uri;            /* URI alternative names (refused by default) */
} pki_issuance_rules;

#define PKI_RSA_MIN_BITS 2048
#define PKI_RSA_MAX_BITS 8192
extern const pki_issuance_rules pki_issuance_defaults;

/* The issuance policy for a request's contents (rules NULL: the defaults). Keys: RSA within the
 * rules' sizes, or EC on the named curves P-256, P-384 and P-521 (explicit parameters refused).
 * Subject: at most 16 attributes and 1024 bytes, no control characters in any value. No request
 * for the powers of a CA (basicConstraints cA, keyUsage keyCertSign/cRLSign, nameConstraints).
 * Alternative names, at most 32: dNSName made of letter-digit-hyphen labels with at most a
 * leading "*." label; iPAddress of 4 or 16 bytes, not the unspecified address; rfc822Name
 * local@domain in printable ASCII; URI only when the rules allow it; nothing else. */
int pki_csr_check_policy(X509_REQ *csr, const pki_issuance_rules *rules, ec_err *err) EC_MUST_USE;

/* Whether a request asks for exactly the names of a certificate: 0 the same subject and the
 * same set of subjectAltNames, 1 another subject, 2 the same subject but other alternative
 * names. A renewal must not widen what its signer was given. */
enum pki_names_match { PKI_NAMES_SAME = 0, PKI_NAMES_SUBJECT_DIFFERS = 1, PKI_NAMES_SAN_DIFFERS = 2 };
int pki_csr_names_match(X509_REQ *csr, X509 *cert);

typedef struct pki_revoked {
	const char *serial_hex;
	ec_time revoked_at;
} pki_revoked;

typedef struct pki_crl_params {
	X509 *ca_cert;
	EVP_PKEY *ca_key;
	const EVP_MD *digest;
	ec_time this_update;
	ec_time next_update;
	int64_t crl_number;
	const pki_revoked *revoked;
	size_t n_revoked;
} pki_crl_params;

/* A v2 CRL with the crlNumber and authorityKeyIdentifier extensions. */
int pki_make_crl(const pki_crl_params *p, X509_CRL **out, ec_err *err) EC_MUST_USE;

/* ---- encodings and files ---- */
int pki_cert_to_der(X509 *cert, uint8_t **der, size_t *len, ec_err *err) EC_MUST_USE;
int pki_cert_from_der(const uint8_t *der, size_t len, X509 **out, ec_err *err) EC_MUST_USE;
/* Reads PEM or DER. */
int pki_cert_from_bytes(const uint8_t *data, size_t len, X509 **out, ec_err *err) EC_MUST_USE;
int pki_cert_to_pem(X509 *cert, char **pem, size_t *len, ec_err *err) EC_MUST_USE;
int pki_crl_to_der(X509_CRL *crl, uint8_t **der, size_t *len, ec_err *err) EC_MUST_USE;
int pki_crl_from_der(const uint8_t *der, size_t len, X509_CRL **out, ec_err *err) EC_MUST_USE;
int pki_csr_to_der(X509_REQ *req, uint8_t **der, size_t *len, ec_err *err) EC_MUST_USE;
int pki_csr_from_der(const uint8_t *der, size_t len, X509_REQ **out, ec_err *err) EC_MUST_USE;

/*
 * Certificates and requests from outside at the cost of their key only (pki_keyless.c): DER
 * parsed in pki_keyless_libctx() (e.g. with ASN1_item_d2i_ex) has its public keys left
 * undecoded; the functions below complete such an object. NULL when it cannot be set up.
 */
OSSL_LIB_CTX *pki_keyless_libctx(void);
/* A new reference to cert completed with its public key: cert itself or a copy parsed again;
 * NULL if the key cannot be read. cert stays the caller's. */
X509 *pki_cert_keyed(X509 *cert) EC_MUST_USE;
/* req completed with its public key, or a copy parsed again (req is then freed); NULL (req
 * freed) if it cannot be read. */
X509_REQ *pki_csr_keyed(X509_REQ *req) EC_MUST_USE;
/* Writes cert as PEM with the given mode, atomically. */
int pki_cert_save_pem(const char *path, X509 *cert, int mode, ec_err *err) EC_MUST_USE;
int pki_cert_save_pem_at(const ec_dir *dir, const char *name, X509 *cert, int mode, ec_err *err) EC_MUST_USE;
int pki_cert_load(const char *path, X509 **out, ec_err *err) EC_MUST_USE;

/* Password-protected PKCS#12 (AES-256, PBKDF2) with friendly name, 0600, atomic. */
int pki_export_pkcs12(const char *path, const char *friendly_name, EVP_PKEY *key, X509 *cert,
                      const char *password, ec_err *err) EC_MUST_USE;
int pki_export_pkcs12_at(const ec_dir *dir, const char *name, const char *friendly_name, EVP_PKEY *key,
                         X509 *cert, const char *password, ec_err *err) EC_MUST_USE;
int pki_export_pkcs12_at(const ec_dir *dir, const char *name, const char *friendly_name, EVP_PKEY *key,
                         X509 *cert, const char *password, ec_err *err) EC_MUST_USE;
/* PEM archive: the certificate then the key encrypted under password, 0600, atomic. */
int pki_export_pem(const char *path, EVP_PKEY *key, X509 *cert, const char *password, ec_err *err) EC_MUST_USE;
int pki_export_pem_at(const ec_dir *dir, const char *name, EVP_PKEY *key, X509 *cert, const char *password,
                      ec_err *err) EC_MUST_USE;
int pki_export_pem_at(const ec_dir *dir, const char *name, EVP_PKEY *key, X509 *cert, const char *password,
                      ec_err *err) EC_MUST_USE;

/* ---- verification ---- */
/* Verifies cert against the trusted certificates at time `at` (and against crls when given:
 * a revoked certificate fails). Partial chains are accepted: a trusted certificate may be an
 * intermediate. */
int pki_verify_cert(X509 *cert, STACK_OF(X509) *trusted, STACK_OF(X509_CRL) *crls, ec_time at,
                    ec_err *err) EC_MUST_USE;
/* Whether cert's issuer name and signature match issuer (no time or purpose check). */
bool pki_cert_issued_by(X509 *cert, X509 *issuer);
/* Whether the certificate is self-signed (issuer == subject and the signature verifies). */
bool pki_cert_is_self_signed(X509 *cert);

/* ---- chain of custody across CA generations (pki_custody.c) ---- */
/* A GetCARolloverChain reply: the CA certificates of successive generations and the link
 * certificates (RFC 4210 NewWithOld) between them, in any order. */
#define PKI_CUSTODY_MAX_CERTS 64

typedef struct pki_custody_result {
	X509 *current;             /* the CA's active certificate, reached from the pin */
	X509 *successor;           /* the rollover CA certificate the chain endorses after it; NULL */
	int generations;           /* links followed from the pin to current (0: current is the pin) */
} pki_custody_result;

/* Walks from pinned to active by signatures alone, never by validity dates (expired
 * generations are followed): a successor C of a holder H is taken only when some link L in
 * chain has issuer == subject(H), verifies with H's key, subject(L) == subject(C), the key of L
 * is the key of C, and C verifies with its own key. Repeats from C until active is reached
 * (active may be absent from chain). Then the successor of active, if a link endorses one.
 * Anything that does not chain to pinned is refused: -1 with a reason, out left empty. */
int pki_custody_walk(X509 *pinned, STACK_OF(X509) *chain, X509 *active, pki_custody_result *out,
                     ec_err *err) EC_MUST_USE;
void pki_custody_result_free(pki_custody_result *r);
/* The certificates of a PEM body (application/pem-certificate-chain), at most
 * PKI_CUSTODY_MAX_CERTS; text around the PEM blocks is ignored; a malformed block, too many or
 * none is an error. */
int pki_custody_parse_pem(const uint8_t *pem, size_t len, STACK_OF(X509) **out, ec_err *err) EC_MUST_USE;

#endif
