/*
 * encoding.h - base64, hex and fingerprints, over OpenSSL's codecs.
 *
 * Base64 decoding is lenient in the ways SCEP clients need: it ignores CR, LF and other white
 * space, and reads a space as '+' (a query string decoder turns an unescaped '+' into a space).
 * All outputs are malloc'd and owned by the caller.
 *
 * Purity and threads: pure; any thread.
 */
#ifndef EVERCERT_UTIL_ENCODING_H
#define EVERCERT_UTIL_ENCODING_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "util/err.h"

/* Base64 of len bytes, one line, NUL-terminated. NULL on allocation failure. */
char *ec_b64_encode(const uint8_t *data, size_t len);

/* Decodes base64 text of at most textlen characters; -1 with a reason on bad input. */
int ec_b64_decode(const char *text, size_t textlen, uint8_t **out, size_t *outlen, ec_err *err) EC_MUST_USE;

/* Lower-case hex of len bytes into out (size at least 2*len+1). */
void ec_hex_encode(const uint8_t *data, size_t len, char *out);

/* The value of one hex digit (either case), or -1 for any other character. */
int ec_hex_digit(int c);

/* Parses hex, ignoring spaces and colons; -1 on an odd count or a non-hex character. */
int ec_hex_decode(const char *text, uint8_t *out, size_t outsz, size_t *outlen) EC_MUST_USE;

/* Digest of a certificate's DER, in the router's display form: upper-case hex in groups of 8
 * separated by spaces ("CC748544 A0AB7832 ..."). out must hold 160 bytes. */
int ec_cert_fingerprint(X509 *cert, const EVP_MD *md, char *out, size_t outsz) EC_MUST_USE;

#endif
