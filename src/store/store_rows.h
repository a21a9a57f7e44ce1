/*
 * store_rows.h - what both store backends do with a row before and after their database: the
 * fields of a certificate, request or CA row in column order (read from a result, written as a
 * statement's parameters), the page-by-page walk of the _each calls, the argument checks
 * (serials, one-time passwords) that come before any statement, and the shells of the serial
 * block and of recording an issued certificate. Each backend keeps its SQL and its driver; it
 * hands this code a column reader (store_cols) or a parameter writer (store_params) over its own
 * result or statement, and its lock and transaction steps (store_tx). Not for use outside
 * src/store.
 *
 * Purity and threads: not pure (it runs the backend's steps and the callbacks it is given, and
 * mallocs copies of blobs); any thread, under the backend's locking (store_tx's lock is taken
 * where a call says so).
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

/* One walk of an _each call: the backend's query takes the last key seen and the page size, then
 * filter_int and filter_text (NULL is NULL) when it has them. */
typedef struct store_walk {
	const store_row_type *type;
	int64_t filter_int;
	const char *filter_text;
	store_row_fn fn;
	void *ctx;
	const char *what;            /* "listing ..." for errors */
} store_walk;

/* Reads the page after *after of w by the backend's query into rows (room for a page of w's rows)
 * and moves *after to its last key; *n is the number of rows read, also on failure (they are to
 * be freed). */
typedef int (*store_page_read)(void *conn, const void *query, const store_walk *w, int64_t *after, char *rows,
                               size_t *n, ec_err *err);

/* Walks page by page (read, with conn and query), calling w->fn for each row with no lock held;
 * returns what a callback returned to stop the walk, or -1 with "<what>: ...". */
int store_walk_pages(const store_walk *w, size_t page, store_page_read read, void *conn, const void *query,
                     ec_err *err);

/* The canonical text and number of a certificate's own serial, or -1 with "recording a
 * certificate: bad serial ...". */
int store_cert_serial(const store_cert *cert, char serial[STORE_SERIAL_MAX], int64_t *num, ec_err *err);
/* The serial argument of a lookup: 0 with its canonical text, 1 when it cannot be one of our
 * serials (no such certificate), -1 with "<doing>: no serial given" when it is NULL. */
int store_serial_arg(const char *serial, char canon[STORE_SERIAL_MAX], const char *doing, ec_err *err);

/* The arguments of a grant: the certificate's serial as store_cert_serial, and the hash of otp
 * when it is not NULL; 0 or -1. */
int store_grant_args(const store_cert *cert, const char *otp, char serial[STORE_SERIAL_MAX], int64_t *num,
                     char hash[STORE_OTP_HASH_MAX], ec_err *err);

/* What a backend does with a one-time password's hash (its otp_ operations): 0, 1 (not valid)
 * or -1 with the reason. */
typedef int (*store_otp_fn)(store_backend *b, const char *hash, ec_time when, ec_err *err);
/* Checking or using up a password: 1 for an empty one (never valid), else its hash is handed to
 * fn and wiped after; errors are wrapped in "checking a one-time password". */
int store_otp_call(const char *password, store_otp_fn fn, store_backend *b, ec_time when, ec_err *err);
/* Adding a password: an empty one is refused; errors are wrapped in "adding a one-time password". */
int store_otp_add_hash(const char *password, store_otp_fn fn, store_backend *b, ec_time expires, ec_err *err);

/* A backend's lock and transaction steps, for the calls below. */
typedef struct store_tx {
	void (*lock)(store_backend *b);
	void (*unlock)(store_backend *b);
	int (*begin)(store_backend *b, ec_err *err);
	int (*commit)(store_backend *b, ec_err *err);
	void (*rollback)(store_backend *b); /* if one is still open */
	int (*cert_insert)(store_backend *b, const store_cert *cert, const char *serial, int64_t num, ec_err *err);
	int (*request_grant)(store_backend *b, int64_t id, const char *serial, const uint8_t *der, size_t len,
	                     ec_err *err);
} store_tx;

/* A backend's block of serials reserved and not handed out yet: [next, end). */
typedef struct store_serials {
	int64_t next;
	int64_t end;
} store_serials;

/* Hands out the next serial of the block into serial, first reserving a new block with
 * reserve (inside the lock) when it is used up; errors are wrapped in "reserving a serial". */
int store_serial_next(const store_tx *tx, store_backend *b, store_serials *block,
                      int (*reserve)(store_backend *b, ec_err *err), char serial[STORE_SERIAL_MAX], ec_err *err);
/* The last serial handed out: the end of the counter read by read_counter (inside the lock), or
 * the last of the block when one is being handed out; errors wrapped in "reading the last serial". */
int store_serial_last(const store_tx *tx, store_backend *b, const store_serials *block,
                      int (*read_counter)(store_backend *b, int64_t *last, ec_err *err), char serial[STORE_SERIAL_MAX],
                      ec_err *err);

/* store_record_issued (store.h) by tx's steps: the certificate row and, when request_id > 0, the
 * request's grant in one transaction under the backend's lock. */
int store_record_issued_tx(const store_tx *tx, store_backend *b, const store_cert *cert, int64_t request_id,
                           const uint8_t *cert_der, size_t cert_der_len, ec_err *err);

#endif
