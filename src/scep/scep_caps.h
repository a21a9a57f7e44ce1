/*
 * scep_caps.h - GetCACaps (RFC 8894): the capability list a CA advertises, its
 * stored bits, and the digest and cipher a trustpoint chooses from it.
 *
 * Purity and threads: pure (no I/O, no clock); any thread.
 */
#ifndef EVERCERT_SCEP_SCEP_CAPS_H
#define EVERCERT_SCEP_SCEP_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef struct scep_caps {
	bool get_next_ca_cert, renewal, post_pkioperation, scep_standard;
	bool sha1, sha256, sha384, sha512, aes, des3;
} scep_caps;

/* The capabilities as bits, as a trustpoint's state file keeps them: the values are stored, never
 * renumber them. */
enum scep_cap_bit {
	SCEP_CAP_GET_NEXT_CA_CERT = 1u << 0,
	SCEP_CAP_RENEWAL = 1u << 1,
	SCEP_CAP_POST_PKIOPERATION = 1u << 2,
	SCEP_CAP_SHA1 = 1u << 3,
	SCEP_CAP_SHA256 = 1u << 4,
	SCEP_CAP_SHA384 = 1u << 5,
	SCEP_CAP_SHA512 = 1u << 6,
	SCEP_CAP_AES = 1u << 7,
	SCEP_CAP_DES3 = 1u << 8,
	SCEP_CAP_SCEP_STANDARD = 1u << 9,
	SCEP_CAPS_FETCHED = 1u << 15,   /* the bits come from a GetCACaps answer (none may be set) */
};

/* caps as bits, SCEP_CAPS_FETCHED included. Pure. */
unsigned scep_caps_to_bits(const scep_caps *caps) EC_MUST_USE;
/* The capabilities that bits name (SCEP_CAPS_FETCHED and unknown bits ignored). Pure. */
scep_caps scep_caps_from_bits(unsigned bits) EC_MUST_USE;

/* Parses a GetCACaps body (one name per line, case-insensitive, CR/LF tolerated; unknown names
 * ignored). Pure. */
void scep_caps_parse(const uint8_t *text, size_t len, scep_caps *out);

/* What a trustpoint may use (its `hash` and `encryption` lines). */
typedef struct scep_allowed {
	bool md5, sha1, sha256, sha384, sha512;
	bool des, des3, aes;
} scep_allowed;

/* The digest and cipher of a request, each chosen on its own: the strongest that caps
 * advertises and allowed permits (SHA-512 > SHA-384 > SHA-256 > SHA-1; AES-128 > DES3); when
 * caps advertises none of those, what RFC 8894 makes mandatory (SHA-256, AES-128) if allowed;
 * when caps names no digest (no cipher) at all, as CAs older than RFC 8894 do, their old
 * default MD5 (DES) if allowed; otherwise -1 with a reason. Whatever an unauthenticated
 * GetCACaps answer claims, the choice stays within allowed. Names as scep_digest_by_name and
 * scep_cipher_by_name take them, and "MD5". Pure. */
int scep_caps_choose(const scep_caps *caps, const scep_allowed *allowed, const char **digest,
                     const char **cipher, ec_err *err) EC_MUST_USE;
/* The choice with a trustpoint's default lists (SHA-512, SHA-384, SHA-256, SHA-1; AES, DES3):
 * never MD5 or single DES; SHA-256 and AES when caps advertises nothing better. */
const char *scep_caps_best_digest(const scep_caps *caps);
const char *scep_caps_best_cipher(const scep_caps *caps);
/* The router's names of the offered capabilities ("CA_CAP_RENEWAL ..."), for show output. */
void scep_caps_format(const scep_caps *caps, char *out, size_t outsz);

#endif
