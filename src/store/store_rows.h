/*
 * store_rows.h - what both store backends do with a row before and after their database: the
 * fields of a certificate, request or CA row in column order (read from a result, written as a
 * statement's parameters), the page-by-page walk of the _each calls, and the argument checks
 * (serials, one-time passwords) that come before any statement. Each backend keeps its SQL and
 * its driver; it hands this code a column reader (store_cols) or a parameter writer
 * (store_params) over its own result or statement. Not for use outside src/store.
 *
 * Purity and threads: pure but for the malloc'd copies of blobs and the callbacks it is given;
 * any thread (each call works on what it is handed).
 */
#ifndef EVERCERT_STORE_STORE_ROWS_H
#define EVERCERT_STORE_STORE_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "store/store_backend.h"

/* One row of a backend's result: integers (NULL reads 0), text copied and truncated to size
 * (NULL reads ""), blobs as malloc'd copies (NULL and empty read NULL/0, -1 out of memory). */
typedef struct store_cols {
	int64_t (*integer)(const struct store_cols *c, int col);
	void (*text)(const struct store_cols *c, int col, char *dst, size_t size);
	int (*blob)(const struct store_cols *c, int col, uint8_t **out, size_t *len);
	const void *res;             /* the backend's result or statement */
	int row;
} store_cols;

/* A statement's parameters, written in order (the first is parameter 1): text is read up to cap
 * bytes; NULL text or blob is NULL. */
typedef struct store_params {
	void (*integer)(struct store_params *p, int64_t v);
	void (*text)(struct store_params *p, const char *text, size_t cap);
	void (*blob)(struct store_params *p, const uint8_t *data, size_t len);
	void *dst;                   /* the backend's statement or parameter list */
	int next;                    /* the number of the next parameter */
} store_params;

/* How to read one kind of row; its kind says how to free it and hand it over. The readers zero
 * the row first and, on failure, leave nothing in it to free. */
typedef struct store_row_type {
	enum store_row_kind kind;
	size_t size;
	int key_col;                 /* the integer column a walk is ordered by */
	int (*read)(const store_cols *c, void *out, ec_err *err);
} store_row_type;

/* Certificates: serial, issuer_serial, subject, not_before, not_after, status, revoked_at, der
 * (key column: serial_num, the ninth, which the walks select after them). */
#define STORE_CERT_NCOLS 8
extern const store_row_type store_cert_rows;
/* Requests: id, txid, state, msg_type, fail_info, renewal, subject, signer_fp, pubkey_fp,
 * ca_serial, source, created, expires, cert_serial, csr, signer, cert, reason (key: id). */
extern const store_row_type store_request_rows;
/* CA generations: generation, role, serial, not_before, not_after, der, link (key: generation). */
extern const store_row_type store_ca_rows;

/* The parameters of a certificate row insert: serial, serial_num, then the columns from
 * issuer_serial on. */
void store_params_cert(store_params *p, const store_cert *cert, const char *serial, int64_t num);
/* The parameters of a request insert: the request columns from txid on. */
void store_params_request(store_params *p, const store_request *r);

/* Reads the page after *after into rows (room for page rows of the walk's type) and moves *after
 * to its last key; *n is the number of rows read, also on failure (they are to be freed). */
typedef int (*store_page_read)(void *conn, const void *walk, int64_t *after, char *rows, size_t *n, ec_err *err);

/* Walks page by page (read, with conn and walk), calling fn for each row of type with no lock
 * held; returns what a callback returned to stop the walk, or -1 with "<what>: ...". */
int store_walk_pages(const store_row_type *type, size_t page, store_page_read read, void *conn, const void *walk,
                     store_row_fn fn, void *ctx, const char *what, ec_err *err);

/* The canonical text and number of a certificate's own serial, or -1 with "recording a
 * certificate: bad serial ...". */
int store_cert_serial(const store_cert *cert, char serial[STORE_SERIAL_MAX], int64_t *num, ec_err *err);
/* The serial argument of a lookup: 0 with its canonical text, 1 when it cannot be one of our
 * serials (no such certificate), -1 with "<doing>: no serial given" when it is NULL. */
int store_serial_arg(const char *serial, char canon[STORE_SERIAL_MAX], const char *doing, ec_err *err);

/* A one-time password call: 1 for an empty password (never valid), else its hash is handed to
 * fn (conn, hash, arg) and wiped after; errors are wrapped in "checking a one-time password". */
int store_otp_call(const char *password, int (*fn)(void *conn, const char *hash, int64_t arg, ec_err *err),
                   void *conn, int64_t arg, ec_err *err);

#endif
