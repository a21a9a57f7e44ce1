/*
 * store_pg_internal.h - what the files of the PostgreSQL backend of store.h share: the connection
 * (struct store_backend), the parameters and results of its statements, transactions and the
 * operations of its table (store_pg_ops, store_backend.h). Not for use outside src/store.
 *
 * One connection per store_backend, guarded by one mutex (pg_lock): a public call takes it for
 * its statements and releases it before returning (the _each calls between pages, so that a
 * callback may call the store). Functions documented as "inside the caller's lock" take no lock.
 * Several processes (CA nodes) may share the database: what must stay unique across them is
 * decided by PostgreSQL (row locks, UNIQUE constraints), never by this mutex.
 *
 * A lost connection fails the call under way with "database unavailable: ..."; the next call
 * tries PQreset once before its statements, so a CA resumes by itself once PostgreSQL is back.
 *
 * libpq is loaded by the first store_pg_open (pg_load), not when the program starts: a daemon
 * without a PostgreSQL store never maps libpq nor what it brings (LDAP, Kerberos, GnuTLS). Its
 * functions are called through the table pq.
 *
 * Purity and threads: not pure (PostgreSQL); any thread, under the locking above.
 */
#ifndef EVERCERT_STORE_STORE_PG_INTERNAL_H
#define EVERCERT_STORE_STORE_PG_INTERNAL_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/store_backend.h"
#include "store/store_rows.h"

/* The ABI this backend is compiled against (libpq5 in Debian). */
#define PG_LIBRARY "libpq.so.5"

/* Every libpq function the backend uses, called through pq.<name>. */
#define PG_FUNCTIONS(X) \
	X(PQconnectdb) X(PQstatus) X(PQreset) X(PQerrorMessage) X(PQfinish) X(PQisthreadsafe) \
	X(PQsetNoticeProcessor) X(PQexecParams) X(PQexec) X(PQresultStatus) X(PQresultErrorField) \
	X(PQclear) X(PQcmdTuples) X(PQntuples) X(PQgetisnull) X(PQgetvalue) X(PQgetlength) \
	X(PQtransactionStatus)

#define PG_FIELD(name) __typeof__(name) *name;
typedef struct pg_library {
	PG_FUNCTIONS(PG_FIELD)
} pg_library;
#undef PG_FIELD

/* Filled by pg_load, then read only. */
extern pg_library pq;
/* Loads libpq once per process (any thread): 0, or -1 with why it cannot be loaded. */
int pg_load(ec_err *err);

#define PG_PAGE 64               /* rows per page of an iteration */
#define PG_PARAMS_MAX 20         /* parameters of one statement */

struct store_backend {
	PGconn *conn;
	pthread_mutex_t lock;
	bool lock_ready;
	/* Serials reserved in a block and not handed out yet: [block.next, block.end). */
	store_serials block;
};

void pg_lock(store_backend *b);
void pg_unlock(store_backend *b);
/* Inside the caller's lock: 0 when the connection is usable, after one PQreset if it was lost;
 * -1 with "database unavailable: ..." otherwise. */
int pg_ready(store_backend *b, ec_err *err);

/* A statement's parameters, all sent in binary: integers as int8, text as text, blobs as bytea.
 * Text is read up to cap bytes; NULL text or blob sends NULL. Fill it in place (values point
 * into it); more than PG_PARAMS_MAX parameters are a programming error caught by pg_exec. */
typedef struct pg_params {
	int n;
	Oid types[PG_PARAMS_MAX];
	const char *values[PG_PARAMS_MAX];
	int lengths[PG_PARAMS_MAX];
	int formats[PG_PARAMS_MAX];
	uint64_t ints[PG_PARAMS_MAX]; /* network order */
} pg_params;

void pg_param_int(pg_params *p, int64_t v);
void pg_param_text(pg_params *p, const char *text, size_t cap);
void pg_param_blob(pg_params *p, const uint8_t *data, size_t len);

/* Runs sql with p (NULL: none), results in binary, inside the caller's lock. Returns the result
 * (PQclear it) of a command or query that succeeded, or NULL with "<what>: <reason>" ("database
 * unavailable: ..." when the connection is lost). *changes, when not NULL, gets the number of
 * rows changed (or returned). */
PGresult *pg_exec(store_backend *b, const char *sql, const pg_params *p, int64_t *changes, ec_err *err,
                  const char *what);
/* pg_exec for a statement whose result is not read: 0 or -1. */
int pg_run(store_backend *b, const char *sql, const pg_params *p, int64_t *changes, ec_err *err, const char *what);
/* Runs several statements without parameters (a migration), inside the caller's lock. */
int pg_script(store_backend *b, const char *sql, ec_err *err, const char *what);
/* Runs a query for at most one row of type under the lock: 0 with *out read, 1 when there is no
 * row, -1 on failure ("<what>: <reason>"). */
int pg_fetch_row(store_backend *b, const char *sql, const pg_params *p, const store_row_type *type, void *out,
                 ec_err *err, const char *what);
/* Runs a count (one row, one bigint column) under the lock. */
int pg_count(store_backend *b, const char *sql, const pg_params *p, int64_t *count, ec_err *err);

/* Columns of a binary result: integers of 2, 4 or 8 bytes (NULL reads 0); text copied and
 * truncated to size (NULL reads ""); a blob as a malloc'd copy (NULL and empty read NULL/0,
 * -1 when out of memory). */
int64_t pg_col_int(const PGresult *r, int row, int col);
void pg_col_text(const PGresult *r, int row, int col, char *dst, size_t size);
int pg_col_blob(const PGresult *r, int row, int col, uint8_t **out, size_t *len);
/* The same as the shared row code sees them: row of r, and parameters appended to p. */
store_cols pg_cols(const PGresult *r, int row);
store_params pg_writer(pg_params *p);

/* Transactions, inside the caller's lock: pg_begin opens one, pg_commit ends it, pg_rollback
 * ends it if one is still open (a failure may have ended it or the connection). */
int pg_begin(store_backend *b, ec_err *err);
int pg_commit(store_backend *b, ec_err *err);
void pg_rollback(store_backend *b);

/* ---- paged walks (the _each calls) ---- */

/* Walks w by sql page by page (store_walk_pages): sql takes $1 the last key seen and $2 the page
 * size, then $3 and $4 when nparams says so. */
int pg_each(store_backend *b, const char *sql, int nparams, const store_walk *w, ec_err *err);

/* Inside the open transaction (and the caller's lock): */
int pg_cert_row_insert(store_backend *b, const store_cert *cert, const char *serial, int64_t num, ec_err *err);
int pg_request_row_insert(store_backend *b, store_request *req, ec_err *err);
/* 0 done, 1 no longer valid at now. */
int pg_otp_use(store_backend *b, const char *hash, ec_time now, ec_err *err);

/* The operations of store_pg_ops (contracts: the store.h calls of the same name), each
 * pg_<operation>, defined in the backend's file for its subject. */
#define PG_OP_DECLARE(op) STORE_OP_DECLARE(pg_##op, op)
#define PG_OP_ENTRY(op) STORE_OP_ENTRY(pg_##op, op)
STORE_OPERATIONS(PG_OP_DECLARE)

/* Prefixed to a statement that changes CA generations or the CRL: bumps the state version in
 * the same statement, hence the same transaction, so that other nodes see the change. */
#define PG_STATE_BUMP \
	"WITH bump AS (INSERT INTO meta (key, value) VALUES ('state_version', '1') ON CONFLICT (key)" \
	" DO UPDATE SET value = (meta.value::bigint + 1)::text) "

#endif
