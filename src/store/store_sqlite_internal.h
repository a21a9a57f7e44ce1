/*
 * store_sqlite_internal.h - what the files of the SQLite backend of store.h share: the connection
 * (struct store_backend), its prepared statements, the shell every call runs them in and the
 * operations of its table (store_sqlite_ops, store_backend.h). Not for use outside src/store.
 *
 * Locking: a public call takes sq_lock for its statements and releases it before returning (the
 * _each calls between pages, so that a callback may call the store). Functions documented as
 * "inside the caller's lock" or "inside the open transaction" take no lock themselves.
 *
 * Purity and threads: not pure (SQLite); any thread, under the locking above.
 */
#ifndef EVERCERT_STORE_STORE_SQLITE_INTERNAL_H
#define EVERCERT_STORE_STORE_SQLITE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/store_backend.h"
#include "store/store_rows.h"

#define STORE_PAGE 64            /* rows per page of an iteration */

enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SYNC_NORMAL,         /* a group commit's deferred sync (store_sqlite_group.c) */
	ST_SYNC_FULL,
	ST_JOB_SAVEPOINT,       /* one grant of a group */
	ST_JOB_ROLLBACK,
	ST_JOB_RELEASE,
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
	ST_REQ_EACH_GRANTED,
	ST_REQ_EXPIRE,
	ST_REQ_NEXT_EXPIRY,
	ST_REQ_NEXT_EXPIRY_GRANTED,
	ST_REQ_COUNT,
	ST_REQ_COUNT_GRANTED,
	ST_REQ_COUNT_FROM,
	ST_REQ_COUNT_FROM_GRANTED,
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

/* What the connection made the kernel do (store_stats); read by any thread while counted. */
typedef struct sq_counters {
	_Atomic uint64_t commits;
	_Atomic uint64_t fdatasyncs;
	_Atomic uint64_t wal_frames;
	_Atomic uint64_t wal_bytes;
	_Atomic uint64_t grants;
	_Atomic uint64_t grant_groups;
} sq_counters;

/* Serials handed out and not yet recorded: their certificates are being signed, and a group
 * commit about to start waits a moment for them (store_sqlite.c). */
#define SQ_SIGNING_MAX 64
typedef struct sq_signing {
	int64_t num;
	int64_t since_ms;   /* ec_elapsed_ms: the machine's monotonic clock */
} sq_signing;

struct store_backend {
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
	pthread_cond_t group_arrival;   /* a job queued: the leader may stop waiting */
	sq_signing signing[SQ_SIGNING_MAX];
	int n_signing;
	/* How long a certificate and its reply take to sign here, from its serial handed out to its
	 * grant queued: a moving average in 1/8 ms (0: none measured yet). The leader's wait follows
	 * it, so that a slower key or a busier machine still gathers every request under way. */
	int64_t signing_avg8;
	int cpus;                       /* online CPUs: the requests left out of a group to use them */
	/* Requests under way that will likely be granted (store_grant_expect_begin), counted by the
	 * parity of the epoch they began in: a leader waits for the epoch that was current when it
	 * started, and requests beginning meanwhile count toward the next group. */
	unsigned expect_epoch;
	int expected[2];
	/* The WAL, opened by us to sync a group's commit outside the lock (-1: none, in memory). */
	int wal_fd;
	char wal_path[4096];
	sq_counters counters;
	/* Serials reserved durably in a block and not handed out yet: [block.next, block.end). A
	 * crash skips what is left of the block; nothing is ever handed out twice. */
	store_serials block;
};

void sq_lock(store_backend *st);
void sq_unlock(store_backend *st);

/* The counting VFS (store_sqlite_vfs.c): its name for sqlite3_open_v2, NULL when it could not
 * be registered; files opened by this thread from now on count into c (NULL: nowhere). */
const char *sq_vfs_name(void);
void sq_vfs_attribute(sq_counters *c);
/* A serial handed out by reserve_serial is being signed / has been recorded (group commit). */
void sq_signing_add(store_backend *st, const char *serial);
void sq_signing_done(store_backend *st, int64_t num);
unsigned sq_grant_expect_begin(store_backend *st);
void sq_grant_expect_end(store_backend *st, unsigned token);
/* Writes "<what>: <SQLite's reason>" and returns -1. Call before the statement is reset. */
int sq_fail(store_backend *st, ec_err *err, const char *fmt, ...) EC_PRINTF(3, 4);

/* Binding: the first failure is kept and later binds are skipped, so one check covers all. */
typedef struct binder {
	sqlite3_stmt *s;
	int rc;
} binder;

/* The statement shell: sq_bind hands out a statement reset and ready to bind, then sq_exec (no
 * row expected) or sq_query (first row) checks the binds, steps it and, for sq_exec, ends its use
 * (after sq_query the caller reads the row, then calls sq_done). */
binder sq_bind(store_backend *st, enum stmt_id id);
/* 0 (*changes, when not NULL, the rows changed) or -1 with "<what>: <reason>". */
int sq_exec(store_backend *st, binder *b, int64_t *changes, ec_err *err, const char *what);
/* 0 with a row, 1 when there is none, -1 on failure. */
int sq_query(store_backend *st, binder *b, ec_err *err, const char *what);
/* Resets a statement (ending its read) and drops its bindings; NULL is ignored. */
void sq_done(sqlite3_stmt *s);
/* Steps a query further: 0 with a row, 1 when there are no more, -1 on failure. */
int sq_step_row(store_backend *st, sqlite3_stmt *s, ec_err *err, const char *what);
/* sq_exec of a statement whose parameters are the n integers of params. */
int sq_exec_ints(store_backend *st, enum stmt_id id, const int64_t *params, int n, int64_t *changes, ec_err *err,
                 const char *what);
/* Runs a count statement (an optional integer ?1, an optional text ?2) under the lock. */
int sq_count(store_backend *st, enum stmt_id id, const int64_t *param, const char *text, int64_t *count,
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
/* The same as the shared row code sees them: the current row of s, and b's parameters from 1. */
store_cols sq_cols(sqlite3_stmt *s);
store_params sq_params(binder *b);

/* Transactions: sq_tx runs ST_BEGIN, ST_COMMIT or ST_ROLLBACK; sq_tx_abort rolls back if a
 * transaction is still open (a failure may already have ended it). */
int sq_tx(store_backend *st, enum stmt_id id, ec_err *err);
void sq_tx_abort(store_backend *st);

/* ---- paged walks (the _each calls) ---- */

/* Walks w by statement id page by page (store_walk_pages): the statement takes ?1 the last key
 * seen and ?2 the page size, then ?3 and ?4 when it has them. */
int sq_each(store_backend *st, enum stmt_id id, const store_walk *w, ec_err *err);

/* Inside the open transaction (and the caller's lock): */
/* Inserts a certificate row under its canonical serial and number. */
int sq_cert_row_insert(store_backend *st, const store_cert *cert, const char *serial, int64_t num, ec_err *err);
/* Inserts a request and sets req->id. */
int sq_request_row_insert(store_backend *st, store_request *req, ec_err *err);
/* Marks request id GRANTED with its certificate. */
int sq_request_row_grant(store_backend *st, int64_t id, const char *serial, const uint8_t *der, size_t len, ec_err *err);
/* Uses up a one-time password by its hash: 0 done, 1 no longer valid at now. */
int sq_otp_use_in_tx(store_backend *st, const char *hash, ec_time now, ec_err *err);

/* The operations of store_sqlite_ops (contracts: the store.h calls of the same name), each
 * sq_<operation>, defined in the backend's file for its subject. */
#define SQ_OP_DECLARE(op) STORE_OP_DECLARE(sq_##op, op)
#define SQ_OP_ENTRY(op) STORE_OP_ENTRY(sq_##op, op)
STORE_OPERATIONS(SQ_OP_DECLARE)

#endif
