/*
 * pki_internal.h - helpers shared by the files of the pki module; not part of its interface.
 *
 * Same conventions as pki.h: -1 with a reason in the ec_err on failure, inputs borrowed.
 *
 * Purity and threads: as pki.h.
 */
#ifndef EVERCERT_PKI_PKI_INTERNAL_H
#define EVERCERT_PKI_PKI_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/x509.h>

#include "clock/clock.h"
#include "util/err.h"
#include "util/fsutil.h"

/* Largest file the module reads (certificates, keys). */
#define PKI_FILE_MAX ((size_t)1 << 20)

/* Sets t to the whole second at or before ms (UTCTime until 2049, GeneralizedTime after). */
int pki_time_set(ASN1_TIME *t, ec_time ms, ec_err *err) EC_MUST_USE;

/* The time_t of the whole second at or before ms. */
time_t pki_time_t(ec_time ms);

/* Adds the extension nid=value (OpenSSL configuration syntax, e.g. "critical,CA:TRUE") to cert,
 * with issuer as the issuing certificate for key identifiers. */
int pki_add_ext(X509 *cert, X509 *issuer, int nid, const char *value, ec_err *err) EC_MUST_USE;

/* Copies the contents of a memory BIO into a new malloc'd buffer with a NUL after the data
 * (so PEM text is a C string); *len excludes the NUL. */
/* A read-only memory BIO over len bytes of data (not copied); NULL with "out of memory". */
BIO *pki_mem_bio(const uint8_t *data, size_t len, ec_err *err);

int pki_bio_take(BIO *bio, uint8_t **out, size_t *len, ec_err *err) EC_MUST_USE;

/* Writes the contents of a memory BIO atomically with mode to name in dir (dir NULL: name is a
 * path), see ec_write_atomic_at. */
int pki_bio_write_file(BIO *bio, const ec_dir *dir, const char *name, mode_t mode, ec_err *err) EC_MUST_USE;

/* PEM password callback: u is the NUL-terminated password; never prompts on a terminal. */
int pki_pem_password_cb(char *buf, int size, int rwflag, void *u);

#endif
