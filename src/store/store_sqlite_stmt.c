/*
 * store_sqlite_stmt.c - the SQLite backend's statements and the shell every call runs them in:
 * binding, stepping, reading columns, transactions, serial text and the paged walk of the _each
 * calls.
 */
#include "store/store_sqlite_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/encoding.h"

/* The statements write these states out (see the partial indexes of store_sqlite.c). */
_Static_assert(STORE_REQ_GRANTED == 1 && STORE_CERT_REVOKED == 1, "states written out in the SQL below");

#define CERT_COLS "serial, issuer_serial, subject, not_before, not_after, status, revoked_at, der"
#define REQ_COLS "id, txid, state, msg_type, fail_info, renewal, subject, signer_fp, pubkey_fp, " \
	"ca_serial, source, created, expires, cert_serial, csr, signer, cert, reason"
#define CA_COLS "generation, role, serial, not_before, not_after, der, link"

const char *const sq_stmt_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	/* Prepared once like the others: run as text, each group's parses cost as much as its inserts. */
	[ST_SYNC_NORMAL] = "PRAGMA synchronous = NORMAL",
	[ST_SYNC_FULL] = "PRAGMA synchronous = FULL",
	[ST_JOB_SAVEPOINT] = "SAVEPOINT grant_job",
	[ST_JOB_ROLLBACK] = "ROLLBACK TO grant_job",
	[ST_JOB_RELEASE] = "RELEASE grant_job",
	/* The bound keeps the counter an integer: past 2^63-1 SQLite would turn it into a real. */
	[ST_SERIAL_BUMP] = "UPDATE serial_counter SET last = last + ?1"
	                   " WHERE id = 1 AND last <= 9223372036854775807 - ?1",
	[ST_SERIAL_LAST] = "SELECT last FROM serial_counter WHERE id = 1",
	[ST_CERT_INSERT] = "INSERT INTO certs (serial, serial_num, issuer_serial, subject, not_before,"
	                   " not_after, status, revoked_at, der) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[ST_CERT_GET] = "SELECT " CERT_COLS " FROM certs WHERE serial = ?1",
	/* A second revocation keeps the first date: it is what CRLs already published. */
	[ST_CERT_REVOKE] = "UPDATE certs SET revoked_at = CASE WHEN status = ?2 THEN revoked_at"
	                   " ELSE ?3 END, status = ?2 WHERE serial = ?1",
	[ST_CERT_UNREVOKE] = "UPDATE certs SET status = ?2, revoked_at = 0 WHERE serial = ?1",
	/* Pages (see sq_each): ?1 the last key seen, ?2 the page size, then the filters. */
	/* status = 1 (STORE_CERT_REVOKED) written out: the index of revoked certificates is used only
	 * by a query that names its condition (?3, the status asked for, is always that one). */
	[ST_CERT_REVOKED] = "SELECT " CERT_COLS ", serial_num FROM certs WHERE serial_num > ?1"
	                    " AND status = 1 AND ?3 = 1 AND (?4 IS NULL OR issuer_serial = ?4)"
	                    " ORDER BY serial_num LIMIT ?2",
	[ST_CERT_COUNT] = "SELECT count(*) FROM certs",
	[ST_REQ_INSERT] = "INSERT INTO requests (txid, state, msg_type, fail_info, renewal, subject,"
	                  " signer_fp, pubkey_fp, ca_serial, source, created, expires, cert_serial, csr,"
	                  " signer, cert, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
	                  " ?13, ?14, ?15, ?16, ?17)",
	/* Once issued, the request itself is no longer needed: the certificate answers resends. */
	[ST_REQ_GRANT] = "UPDATE requests SET state = ?2, cert_serial = ?3, cert = ?4, csr = NULL, signer = NULL"
	                 " WHERE id = ?1",
	[ST_REQ_FIND] = "SELECT " REQ_COLS " FROM requests WHERE txid = ?1"
	                " AND (?2 IS NULL OR signer_fp = ?2) ORDER BY id DESC LIMIT 1",
	[ST_REQ_GET] = "SELECT " REQ_COLS " FROM requests WHERE id = ?1",
	[ST_REQ_SET_STATE] = "UPDATE requests SET state = ?2, fail_info = ?3 WHERE id = ?1",
	/* state <> 1 (STORE_REQ_GRANTED) written out in the queries of the requests not granted:
	 * it lets them use the indexes that leave the granted out (the _GRANTED ones read the table). */
	[ST_REQ_EACH] = "SELECT " REQ_COLS " FROM requests WHERE id > ?1 AND state = ?3 AND state <> 1"
	                " ORDER BY id LIMIT ?2",
	[ST_REQ_EACH_GRANTED] = "SELECT " REQ_COLS " FROM requests WHERE id > ?1 AND state = ?3"
	                        " ORDER BY id LIMIT ?2",
	/* An expired request will never be issued: its request and signer are dropped with it. */
	[ST_REQ_EXPIRE] = "UPDATE requests SET state = ?1, csr = NULL, signer = NULL"
	                  " WHERE state IN (?2, ?3) AND state <> 1 AND expires <= ?4",
	/* min() of the first column of an index: one index lookup, no request read. */
	[ST_REQ_NEXT_EXPIRY] = "SELECT min(expires) FROM requests WHERE state = ?1 AND state <> 1",
	[ST_REQ_NEXT_EXPIRY_GRANTED] = "SELECT min(expires) FROM requests WHERE state = ?1",
	[ST_REQ_COUNT] = "SELECT count(*) FROM requests WHERE state = ?1 AND state <> 1",
	[ST_REQ_COUNT_GRANTED] = "SELECT count(*) FROM requests WHERE state = ?1",
	[ST_REQ_COUNT_FROM] = "SELECT count(*) FROM requests WHERE source = ?2 AND state = ?1 AND state <> 1",
	[ST_REQ_COUNT_FROM_GRANTED] = "SELECT count(*) FROM requests WHERE source = ?2 AND state = ?1",
	/* ?1 is STORE_REQ_GRANTED, the state written out. */
	[ST_REQ_COUNT_KEPT_FROM] = "SELECT (SELECT count(*) FROM requests WHERE source = ?2 AND state <> 1 AND ?1 = 1)"
	                           " + (SELECT count(*) FROM refusals WHERE source = ?2)",
	[ST_REQ_PURGE] = "DELETE FROM requests WHERE state <> 1 AND ((state = ?1 AND expires <= ?3)"
	                 " OR (state = ?2 AND expires <= ?4))",
	[ST_REFUSAL_INSERT] = "INSERT INTO refusals (created, source, txid, subject, pubkey_fp, fail_info,"
	                      " reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_REFUSAL_PURGE] = "DELETE FROM refusals WHERE created <= ?1",
	[ST_REFUSAL_COUNT] = "SELECT count(*) FROM refusals",
	[ST_CA_PUT] = "INSERT OR REPLACE INTO ca_certs (" CA_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_CA_LINK] = "UPDATE ca_certs SET link = ?2 WHERE generation = ?1",
	[ST_CA_ROLE] = "UPDATE ca_certs SET role = ?2 WHERE generation = ?1",
	[ST_CA_DELETE] = "DELETE FROM ca_certs WHERE generation = ?1",
	[ST_CA_EACH] = "SELECT " CA_COLS " FROM ca_certs WHERE generation > ?1"
	               " ORDER BY generation LIMIT ?2",
	[ST_OTP_ADD] = "INSERT OR REPLACE INTO otp (hash, expires, used) VALUES (?1, ?2, 0)",
	[ST_OTP_CONSUME] = "UPDATE otp SET used = 1 WHERE hash = ?1 AND used = 0 AND expires > ?2",
	[ST_OTP_VALID] = "SELECT count(*) FROM otp WHERE hash = ?2 AND used = 0 AND expires > ?1",
	[ST_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[ST_META_SET] = "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
};

/* ---- small helpers ---- */

/* The lock also tells the counting VFS whose files SQLite opens meanwhile. */
void sq_lock(store_backend *st)
{
	pthread_mutex_lock(&st->lock);
	sq_vfs_attribute(&st->counters);
}

void sq_unlock(store_backend *st)
{
	sq_vfs_attribute(NULL);
	pthread_mutex_unlock(&st->lock);
}

/* Writes "<what>: <SQLite's reason>" and returns -1. Call before the statement is reset. */
int sq_fail(store_backend *st, ec_err *err, const char *fmt, ...)
{
	char what[EC_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return ec_err_set(err, "%s: %s", what, st->db != NULL ? sqlite3_errmsg(st->db) : "no database");
}

/* The prepared statement id, reset and unbound, ready to bind. */
static sqlite3_stmt *stmt_use(store_backend *st, enum stmt_id id)
{
	sqlite3_stmt *s = st->stmt[id];
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

/* Ends a use of a statement: resets it (ending its read) and drops the bindings. */
void sq_done(sqlite3_stmt *s)
{
	if (s == NULL)
		return;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* Text of at most cap bytes (fixed-size fields need not be terminated); NULL binds NULL. */
void sq_bind_text(binder *b, int i, const char *text, size_t cap)
{
	if (b->rc != SQLITE_OK)
		return;
	if (text == NULL)
		b->rc = sqlite3_bind_null(b->s, i);
	else
		b->rc = sqlite3_bind_text64(b->s, i, text, strnlen(text, cap), SQLITE_TRANSIENT, SQLITE_UTF8);
}

void sq_bind_int(binder *b, int i, int64_t v)
{
	if (b->rc == SQLITE_OK)
		b->rc = sqlite3_bind_int64(b->s, i, v);
}

/* A blob; NULL binds NULL. */
void sq_bind_blob(binder *b, int i, const uint8_t *p, size_t len)
{
	if (b->rc == SQLITE_OK)
		b->rc = p == NULL ? sqlite3_bind_null(b->s, i) : sqlite3_bind_blob64(b->s, i, p, len, SQLITE_TRANSIENT);
}

/* Copies a text column into dst, truncated to size; NULL reads as "". */
void sq_col_text(sqlite3_stmt *s, int i, char *dst, size_t size)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	snprintf(dst, size, "%s", t != NULL ? (const char *)t : "");
}

/* A malloc'd copy of a blob column; NULL and empty read as NULL/0. -1 when out of memory. */
static int64_t cols_int(const store_cols *c, int col)
{
	return sqlite3_column_int64((sqlite3_stmt *)c->res, col);
}

static void cols_text(const store_cols *c, int col, char *dst, size_t size)
{
	sq_col_text((sqlite3_stmt *)c->res, col, dst, size);
}

static int cols_blob(const store_cols *c, int col, uint8_t **out, size_t *len)
{
	return sq_col_blob((sqlite3_stmt *)c->res, col, out, len);
}

store_cols sq_cols(sqlite3_stmt *s)
{
	return (store_cols){cols_int, cols_text, cols_blob, s, 0};
}

static void params_int(store_params *p, int64_t v)
{
	sq_bind_int(p->dst, p->next++, v);
}

static void params_text(store_params *p, const char *text, size_t cap)
{
	sq_bind_text(p->dst, p->next++, text, cap);
}

static void params_blob(store_params *p, const uint8_t *data, size_t len)
{
	sq_bind_blob(p->dst, p->next++, data, len);
}

store_params sq_params(binder *b)
{
	return (store_params){params_int, params_text, params_blob, b, 1};
}

int sq_col_blob(sqlite3_stmt *s, int i, uint8_t **out, size_t *len)
{
	const void *p = sqlite3_column_blob(s, i);
	int n = sqlite3_column_bytes(s, i);
	*out = NULL;
	*len = 0;
	if (n <= 0)
		return 0;
	if (p == NULL || (*out = malloc((size_t)n)) == NULL)
		return -1;
	memcpy(*out, p, (size_t)n);
	*len = (size_t)n;
	return 0;
}

/* Steps a statement that returns no row: 0, or -1 with "<what>: <reason>". */
static int step_done(store_backend *st, sqlite3_stmt *s, ec_err *err, const char *what)
{
	if (sqlite3_step(s) == SQLITE_DONE)
		return 0;
	return sq_fail(st, err, "%s", what);
}

/* Steps a query: 0 with a row, 1 when there are no (more) rows, -1 on failure. */
int sq_step_row(store_backend *st, sqlite3_stmt *s, ec_err *err, const char *what)
{
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return 1;
	return sq_fail(st, err, "%s", what);
}

/* The statement shell. sq_bind hands out a statement reset and ready to bind; sq_exec and
 * sq_query check the binds (one check covers them all) and step it. What stays in each call is
 * its own: its binds, what it reads, its lock or transaction. */
binder sq_bind(store_backend *st, enum stmt_id id)
{
	return (binder){ stmt_use(st, id), SQLITE_OK };
}

/* Steps a bound statement that returns no row and ends its use: 0 (*changes, when not NULL,
 * the number of rows it changed) or -1 with "<what>: <reason>". */
int sq_exec(store_backend *st, binder *b, int64_t *changes, ec_err *err, const char *what)
{
	int rc = b->rc != SQLITE_OK ? sq_fail(st, err, "binding for %s", what) : step_done(st, b->s, err, what);
	if (rc == 0 && changes != NULL)
		*changes = sqlite3_changes(st->db);
	sq_done(b->s);
	return rc;
}

/* Steps a bound query to its first row: 0 with a row (read it, then sq_done), 1 when there is
 * none, -1 on failure. */
int sq_query(store_backend *st, binder *b, ec_err *err, const char *what)
{
	if (b->rc != SQLITE_OK)
		return sq_fail(st, err, "binding for %s", what);
	return sq_step_row(st, b->s, err, what);
}

/* Runs a statement whose parameters are the n integers of params (see sq_exec). */
int sq_exec_ints(store_backend *st, enum stmt_id id, const int64_t *params, int n, int64_t *changes, ec_err *err,
                     const char *what)
{
	binder b = sq_bind(st, id);
	for (int i = 0; i < n; i++)
		sq_bind_int(&b, i + 1, params[i]);
	return sq_exec(st, &b, changes, err, what);
}

/* Runs BEGIN IMMEDIATE, COMMIT or ROLLBACK. */
int sq_tx(store_backend *st, enum stmt_id id, ec_err *err)
{
	sqlite3_stmt *s = stmt_use(st, id);
	int rc = step_done(st, s, err, sq_stmt_sql[id]);
	sq_done(s);
	return rc;
}

/* Rolls back the transaction if one is still open (a failure may already have ended it). */
void sq_tx_abort(store_backend *st)
{
	if (!sqlite3_get_autocommit(st->db))
		(void)sq_tx(st, ST_ROLLBACK, NULL);
}

/* A 64-bit counter as serial text: upper-case hex, no leading zeros. */
void store_serial_format(int64_t num, char out[STORE_SERIAL_MAX])
{
	snprintf(out, STORE_SERIAL_MAX, "%" PRIX64, (uint64_t)num);
}

/* Parses serial text (at most cap bytes) into its number and canonical text; -1 when the text
 * cannot be one of our serials. */
int store_serial_canon(const char *text, size_t cap, char canon[STORE_SERIAL_MAX], int64_t *num)
{
	uint64_t v = 0;
	size_t len = strnlen(text, cap), digits = 0;
	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int d = ec_hex_digit((unsigned char)text[i]);
		if (d < 0)
			return -1;
		if (v == 0 && d == 0)
			continue;
		if (++digits > 16)
			return -1;
		v = v << 4 | (uint64_t)d;
	}
	if (v > (uint64_t)INT64_MAX)
		return -1;
	*num = (int64_t)v;
	store_serial_format(*num, canon);
	return 0;
}

/* Reads the page after *after into rows and moves *after to its last row. *n is the number of
 * rows read, also on failure (they are to be freed). */
static int page_read(void *conn, const void *query, const store_walk *w, int64_t *after, char *rows, size_t *n,
                     ec_err *err)
{
	store_backend *st = conn;
	*n = 0;
	sq_lock(st);
	binder b = sq_bind(st, *(const enum stmt_id *)query);
	int params = sqlite3_bind_parameter_count(b.s);
	sq_bind_int(&b, 1, *after);
	sq_bind_int(&b, 2, STORE_PAGE);
	if (params >= 3)
		sq_bind_int(&b, 3, w->filter_int);
	if (params >= 4)
		sq_bind_text(&b, 4, w->filter_text, SIZE_MAX);
	int rc = sq_query(st, &b, err, w->what);
	while (rc == 0) {
		store_cols c = sq_cols(b.s);
		if ((rc = w->type->read(&c, rows + *n * w->type->size, err)) != 0)
			break;
		*after = sqlite3_column_int64(b.s, w->type->key_col);
		if (++*n == STORE_PAGE)
			break;
		rc = sq_step_row(st, b.s, err, w->what);
	}
	sq_done(b.s);
	sq_unlock(st);
	return rc < 0 ? rc : 0;
}

/* Walks the query page by page, calling w->fn for each row with the lock released. */
int sq_each(store_backend *st, enum stmt_id id, const store_walk *w, ec_err *err)
{
	return store_walk_pages(w, STORE_PAGE, page_read, st, &id, err);
}

/* Runs a count statement with an optional integer ?1 and an optional text ?2. */
int sq_count(store_backend *st, enum stmt_id id, const int64_t *param, const char *text, int64_t *count,
                      ec_err *err)
{
	*count = 0;
	sq_lock(st);
	binder b = sq_bind(st, id);
	if (param != NULL)
		sq_bind_int(&b, 1, *param);
	if (text != NULL)
		sq_bind_text(&b, 2, text, SIZE_MAX);
	int rc = sq_query(st, &b, err, "counting");
	if (rc == 1)
		rc = ec_err_set(err, "counting: no result");
	if (rc == 0)
		*count = sqlite3_column_int64(b.s, 0);
	sq_done(b.s);
	sq_unlock(st);
	return rc;
}
