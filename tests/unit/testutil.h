/*
 * testutil.h - helpers shared by the unit tests: temporary directories and throw-away keys,
 * certificates and requests made directly with OpenSSL (independent of the code under test).
 * Every helper aborts the test program on failure, so callers need not check.
 */
#ifndef EVERCERT_TESTUTIL_H
#define EVERCERT_TESTUTIL_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "config/config.h"

/* A fresh empty directory under $EVERCERT_TEST_TMP (or /tmp); returns a static-lifetime path
 * that the caller frees with free(). */
char *tu_tmpdir(const char *tag);

/* An RSA key; keys of the same size are cached and shared (do not free the result). */
EVP_PKEY *tu_rsa_key(int bits);
/* A new, never shared RSA key (caller frees). */
EVP_PKEY *tu_rsa_key_new(int bits);

/* A self-signed certificate for key with subject CN=cn, valid from not_before (Unix seconds)
 * for days days. ca selects CA extensions (basicConstraints CA:TRUE, keyUsage certSign...). */
X509 *tu_self_signed(EVP_PKEY *key, const char *cn, long serial, time_t not_before, int days, int ca);

/* A certificate for subject_key signed by issuer/issuer_key. */
X509 *tu_issue(X509 *issuer, EVP_PKEY *issuer_key, EVP_PKEY *subject_key, const char *cn,
               long serial, time_t not_before, int days);

/* Parses configuration text that must be valid; the caller frees the result. */
cfg_config *tu_parse_ok(const char *text);
/* Parses configuration text that must fail at line `line` with a message containing want. */
void tu_parse_fails(const char *text, int line, const char *want);

/* A PKCS#10 request with subject CN=cn and an optional challenge password. */
X509_REQ *tu_csr(EVP_PKEY *key, const char *cn, const char *challenge);

/* DER of a request (caller frees with OPENSSL_free). */
int tu_csr_der(X509_REQ *req, unsigned char **der);

/* Runs SQL on the SQLite database at path behind the store's back (to make old or damaged
 * stores); tu_sql_number returns the first column of the first row. */
void tu_sql(const char *path, const char *sql);
long long tu_sql_number(const char *path, const char *sql);

#endif
