/*
 * err.h - the error convention of every evercert module.
 *
 * A function that can fail returns 0 (or a non-negative count, or a pointer) on success and -1
 * (or NULL) on failure, and writes a one-line human reason into a caller-owned ec_err. The
 * reason is meant for logs, HTTP 400 bodies and CLI output as it is. Passing NULL for the
 * ec_err is allowed and discards the reason. Nothing in a library logs or exits.
 *
 * Purity and threads: pure; any thread.
 */
#ifndef EVERCERT_UTIL_ERR_H
#define EVERCERT_UTIL_ERR_H

#include <stddef.h>

#define EC_ERR_MSG_MAX 512

#if defined(__GNUC__)
#define EC_MUST_USE __attribute__((warn_unused_result))
#define EC_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define EC_MUST_USE
#define EC_PRINTF(a, b)
#endif

typedef struct ec_err {
	char msg[EC_ERR_MSG_MAX];
} ec_err;

/* Writes the reason (printf-style) and returns -1, so callers can `return ec_err_set(...)`. */
int ec_err_set(ec_err *err, const char *fmt, ...) EC_PRINTF(2, 3);

/* Like ec_err_set, then appends the newest OpenSSL error from the thread's queue and clears it. */
int ec_err_ssl(ec_err *err, const char *fmt, ...) EC_PRINTF(2, 3);

/* Prefixes the existing reason with a context ("loading key: <old reason>"); returns -1. */
int ec_err_wrap(ec_err *err, const char *fmt, ...) EC_PRINTF(2, 3);

/* Clears the reason. */
void ec_err_clear(ec_err *err);

#endif
