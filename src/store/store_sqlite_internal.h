/*
 * store_sqlite_internal.h - what the files of the SQLite backend of store.h share: the connection
 * (struct ec_store), its prepared statements and the shell every call runs them in. Not for use
 * outside src/store.
 *
 * Locking: a public call takes sq_lock for its statements and releases it before returning (the
 * _each calls between pages, so that a callback may call the store). Functions documented as
 * "inside the caller's lock" or "inside the open transaction" take no lock themselves.
 */
#ifndef EVERCERT_STORE_STORE_SQLITE_INTERNAL_H
#define EVERCERT_STORE_STORE_SQLITE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

#define STORE_PAGE 64            /* rows per page of an iteration */
#define STORE_OTP_HASH_MAX 65    /* SHA-256 hex + NUL */
#define CERT_NCOLS 8             /* the columns a certificate row is read from */

enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SERIAL_BUMP,
	ST_SERIAL_LAST,
	ST_CERT_INSERT,
	ST_CERT_GET,
	ST_CERT_REVOKE,
	ST_CERT_UNREVOKE,
	ST_CERT_REVOKED,
	ST_CERT_COUNT,
	ST_REQ_INSERT,
	ST_REQ_GRANT,
	ST_REQ_FIND,
	ST_REQ_GET,
	ST_REQ_SET_STATE,
	ST_REQ_EACH,
	ST_REQ_EXPIRE,
	ST_REQ_COUNT,
	ST_REQ_COUNT_FROM,
	ST_REQ_COUNT_KEPT_FROM,
	ST_REQ_PURGE,
	ST_REFUSAL_INSERT,
	ST_REFUSAL_PURGE,
	ST_REFUSAL_COUNT,
	ST_CA_PUT,
	ST_CA_ROLE,
	ST_CA_LINK,
	ST_CA_DELETE,
	ST_CA_EACH,
	ST_OTP_ADD,
	ST_OTP_CONSUME,
	ST_OTP_VALID,
	ST_META_GET,
	ST_META_SET,
	ST_COUNT
};

/* Their SQL, by id; all are prepared at open. */
extern const char *const sq_stmt_sql[ST_COUNT];

struct grant_job;

struct ec_store {
	sqlite3 *db;
	sqlite3_stmt *stmt[ST_COUNT];
	pthread_mutex_t lock;
	bool lock_ready;
	/* Group commit: grants that arrive while one commit is under way wait in a queue and are
	 * committed together by the next one, with one fsync for all of them. */
	pthread_mutex_t group_lock;
	pthread_cond_t group_done;
	struct grant_job *group_head;
	struct grant_job **group_tail;
	bool group_busy;
	/* Serials reserved durably in a block and not handed out yet: [block_next, block_end). A
	 * crash skips what is left of the block; nothing is ever handed out twice. */
	int64_t block_next;
	int64_t block_end;
};

void sq_lock(ec_store *st);
void sq_unlock(ec_store *st);
/* Writes "<what>: <SQLite's reason>" and returns -1. Call before the statement is reset. */
int sq_fail(ec_store *st, ec_err *err, const char *fmt, ...) EC_PRINTF(3, 4);

/* Binding: the first failure is kept and later binds are skipped, so one check covers all. */
typedef struct binder {
	sqlite3_stmt *s;
	int rc;
} binder;

/* The statement shell: sq_bind hands out a statement reset and ready to bind, then sq_exec (no
 * row expected) or sq_query (first row) checks the binds, steps it and, for sq_exec, ends its use
 * (after sq_query the caller reads the row, then calls sq_done). */
binder sq_bind(ec_store *st, enum stmt_id id);
/* 0 (*changes, when not NULL, the rows changed) or -1 with "<what>: <reason>". */
int sq_exec(ec_store *st, binder *b, int64_t *changes, ec_err *err, const char *what);
/* 0 with a row, 1 when there is none, -1 on failure. */
int sq_query(ec_store *st, binder *b, ec_err *err, const char *what);
/* Resets a statement (ending its read) and drops its bindings; NULL is ignored. */
void sq_done(sqlite3_stmt *s);
/* Steps a query further: 0 with a row, 1 when there are no more, -1 on failure. */
int sq_step_row(ec_store *st, sqlite3_stmt *s, ec_err *err, const char *what);
/* sq_exec of a statement whose parameters are the n integers of params. */
int sq_exec_ints(ec_store *st, enum stmt_id id, const int64_t *params, int n, int64_t *changes, ec_err *err,
                 const char *what);
/* Runs a count statement (an optional integer ?1, an optional text ?2) under the lock. */
int sq_count(ec_store *st, enum stmt_id id, const int64_t *param, const char *text, int64_t *count,
             ec_err *err);

/* Binds: after the first failure the others do nothing. Text is read up to cap bytes; NULL text
 * or blob binds NULL. */
void sq_bind_text(binder *b, int i, const char *text, size_t cap);
void sq_bind_int(binder *b, int i, int64_t v);
void sq_bind_blob(binder *b, int i, const uint8_t *p, size_t len);
/* Columns: text copied and truncated to size (NULL reads ""); a blob as a malloc'd copy (NULL
 * and empty read as NULL/0; -1 when out of memory). */
void sq_col_text(sqlite3_stmt *s, int i, char *dst, size_t size);
int sq_col_blob(sqlite3_stmt *s, int i, uint8_t **out, size_t *len);

/* Transactions: sq_tx runs ST_BEGIN, ST_COMMIT or ST_ROLLBACK; sq_tx_abort rolls back if a
 * transaction is still open (a failure may already have ended it). */
int sq_tx(ec_store *st, enum stmt_id id, ec_err *err);
void sq_tx_abort(ec_store *st);

/* Serial text: upper-case hex without leading zeros; sq_serial_canon parses text of at most cap
 * bytes into its number and canonical text, -1 when it cannot be one of our serials. */
void sq_serial_format(int64_t num, char out[STORE_SERIAL_MAX]);
int sq_serial_canon(const char *text, size_t cap, char canon[STORE_SERIAL_MAX], int64_t *num);

/* ---- paged walks (the _each calls) ---- */

/* How to read one kind of row; its kind says how to free it and hand it over. */
enum row_kind { ROW_CERT, ROW_REQUEST, ROW_CA };

typedef union row_fn {
	int (*cert)(void *ctx, const store_cert *c);
	int (*request)(void *ctx, const store_request *r);
	int (*ca)(void *ctx, const store_ca_cert *ca);
} row_fn;

typedef struct row_type {
	enum row_kind kind;
	size_t size;
	int key_col;                 /* the integer column the walk is ordered by */
	int (*read)(sqlite3_stmt *s, void *row, ec_err *err); /* on failure nothing to free */
} row_type;

/* One walk: the query takes ?1 the last key seen and ?2 the page size, then ?3 (integer) and
 * ?4 (text, NULL binds NULL) when it has them. */
typedef struct paged_walk {
	enum stmt_id id;
	const row_type *type;
	int64_t filter_int;
	const char *filter_text;
	row_fn fn;
	void *ctx;
	const char *what;            /* "listing ..." for errors */
} paged_walk;

/* Walks w's query page by page, calling w->fn for each row with the lock released; returns
 * what a callback returned to stop the walk, or -1. */
int sq_each(ec_store *st, const paged_walk *w, ec_err *err);

/* Inside the open transaction (and the caller's lock): */
/* Inserts a certificate row under its canonical serial and number. */
int sq_cert_insert(ec_store *st, const store_cert *cert, const char *serial, int64_t num, ec_err *err);
/* Inserts a request and sets req->id. */
int sq_request_insert(ec_store *st, store_request *req, ec_err *err);
/* Marks request id GRANTED with its certificate. */
int sq_request_grant(ec_store *st, int64_t id, const char *serial, const uint8_t *der, size_t len, ec_err *err);
/* Uses up a one-time password by its hash: 0 done, 1 no longer valid at now. */
int sq_otp_use_in_tx(ec_store *st, const char *hash, ec_time now, ec_err *err);

/* The SHA-256 of password as lower-case hex: what the store keeps of a one-time password. */
int sq_otp_hash(const char *password, char hex[STORE_OTP_HASH_MAX], ec_err *err);

#endif
