/*
 * store_sqlite.c - the SQLite backend of store.h.
 *
 * One connection per ec_store, opened in serialized mode and guarded by our own mutex, so that
 * one call's statements and transaction never interleave with another thread's. Every statement
 * is prepared once at open and reset after each use: no read transaction is left open between
 * calls (an open one would stall WAL checkpoints). A change is one transaction (BEGIN IMMEDIATE ..
 * COMMIT, or a single autocommit statement); with journal_mode=WAL and synchronous=FULL the WAL
 * is fsynced at commit, so a 0 return means the change is on disk.
 *
 * Iterations (the _each calls) read pages of STORE_PAGE rows keyed by the last row seen and call
 * the callback with the lock released, so a callback may call the store (for example to change
 * the state of the request it was given). A row changed during the walk may or may not be seen.
 *
 * Serials are kept twice: the hex text (primary key, what callers use) and the number (order).
 * Serial text given by callers is parsed and re-printed, so "001a" finds "1A"; text that cannot
 * be one of our serials (not hex, negative, above 2^63-1) is simply not found.
 *
 * No clock is read here: every time comes from the caller.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STORE_SCHEMA_VERSION 3
#define STORE_STR_(x) #x
#define STORE_STR(x) STORE_STR_(x)
#define STORE_PAGE 64            /* rows per page of an iteration */
#define STORE_PATH_MAX 4096
#define STORE_OTP_HASH_MAX 65    /* SHA-256 hex + NUL */

#define CERT_COLS "serial, issuer_serial, subject, not_before, not_after, status, revoked_at, der"
#define CERT_NCOLS 8
#define REQ_COLS "id, txid, state, msg_type, fail_info, renewal, subject, signer_fp, pubkey_fp, " \
	"ca_serial, source, created, expires, cert_serial, csr, signer, cert, reason"
#define CA_COLS "generation, role, serial, not_before, not_after, der, link"

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS meta ("
	" key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS serial_counter ("
	" id INTEGER PRIMARY KEY CHECK (id = 1), last INTEGER NOT NULL);"
	"INSERT OR IGNORE INTO serial_counter (id, last) VALUES (1, 0);"
	"CREATE TABLE IF NOT EXISTS certs ("
	" serial TEXT PRIMARY KEY NOT NULL, serial_num INTEGER NOT NULL UNIQUE,"
	" issuer_serial TEXT NOT NULL, subject TEXT NOT NULL,"
	" not_before INTEGER NOT NULL, not_after INTEGER NOT NULL,"
	" status INTEGER NOT NULL, revoked_at INTEGER NOT NULL DEFAULT 0, der BLOB);"
	"CREATE INDEX IF NOT EXISTS certs_status ON certs (status, serial_num);"
	"CREATE TABLE IF NOT EXISTS requests ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT, txid TEXT NOT NULL, state INTEGER NOT NULL,"
	" msg_type INTEGER NOT NULL, fail_info INTEGER NOT NULL, renewal INTEGER NOT NULL,"
	" subject TEXT NOT NULL, signer_fp TEXT NOT NULL, pubkey_fp TEXT NOT NULL,"
	" ca_serial TEXT NOT NULL, source TEXT NOT NULL, created INTEGER NOT NULL,"
	" expires INTEGER NOT NULL, cert_serial TEXT NOT NULL DEFAULT '',"
	" csr BLOB, signer BLOB, cert BLOB, reason TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX IF NOT EXISTS requests_txid ON requests (txid, signer_fp);"
	"CREATE INDEX IF NOT EXISTS requests_state ON requests (state);"
	"CREATE INDEX IF NOT EXISTS requests_source ON requests (source, state);"
	"CREATE TABLE IF NOT EXISTS ca_certs ("
	" generation INTEGER PRIMARY KEY, role INTEGER NOT NULL, serial TEXT NOT NULL,"
	" not_before INTEGER NOT NULL, not_after INTEGER NOT NULL, der BLOB, link BLOB);"
	/* Requests refused on arrival: a small audit record each, never the request itself. */
	"CREATE TABLE IF NOT EXISTS refusals ("
	" id INTEGER PRIMARY KEY, created INTEGER NOT NULL, source TEXT NOT NULL, txid TEXT NOT NULL,"
	" subject TEXT NOT NULL, pubkey_fp TEXT NOT NULL, fail_info INTEGER NOT NULL,"
	" reason TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS refusals_source ON refusals (source);"
	"CREATE TABLE IF NOT EXISTS otp ("
	" hash TEXT PRIMARY KEY NOT NULL, expires INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0);"
	"PRAGMA user_version = " STORE_STR(STORE_SCHEMA_VERSION) ";";

/* From schema version 1: the reason a request waits or was refused. */
static const char migrate_v1_sql[] = "ALTER TABLE requests ADD COLUMN reason TEXT NOT NULL DEFAULT '';";
/* From schema version 2: the link certificate by which the previous generation endorsed each. */
static const char migrate_v2_sql[] = "ALTER TABLE ca_certs ADD COLUMN link BLOB;";

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

static const char *const stmt_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
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
	/* Pages (see each_paged): ?1 the last key seen, ?2 the page size, then the filters. */
	[ST_CERT_REVOKED] = "SELECT " CERT_COLS ", serial_num FROM certs WHERE serial_num > ?1"
	                    " AND status = ?3 AND (?4 IS NULL OR issuer_serial = ?4)"
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
	[ST_REQ_EACH] = "SELECT " REQ_COLS " FROM requests WHERE id > ?1 AND state = ?3"
	                " ORDER BY id LIMIT ?2",
	/* An expired request will never be issued: its request and signer are dropped with it. */
	[ST_REQ_EXPIRE] = "UPDATE requests SET state = ?1, csr = NULL, signer = NULL"
	                  " WHERE state IN (?2, ?3) AND expires <= ?4",
	[ST_REQ_COUNT] = "SELECT count(*) FROM requests WHERE state = ?1",
	[ST_REQ_COUNT_FROM] = "SELECT count(*) FROM requests WHERE source = ?2 AND state = ?1",
	[ST_REQ_COUNT_KEPT_FROM] = "SELECT (SELECT count(*) FROM requests WHERE source = ?2 AND state <> ?1)"
	                           " + (SELECT count(*) FROM refusals WHERE source = ?2)",
	[ST_REQ_PURGE] = "DELETE FROM requests WHERE (state = ?1 AND expires <= ?3)"
	                 " OR (state = ?2 AND expires <= ?4)",
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

/* One certificate and its request waiting to be committed with others (group commit). */
typedef struct grant_job {
	store_request *req;
	const char *otp_hash;           /* a one-time password to use up with the grant, or NULL */
	const store_cert *cert;
	const char *serial;
	int64_t num;
	int rc;
	ec_err err;
	bool done;
	struct grant_job *next;
} grant_job;

struct ec_store {
	sqlite3 *db;
	sqlite3_stmt *stmt[ST_COUNT];
	pthread_mutex_t lock;
	bool lock_ready;
	/* Group commit: grants that arrive while one commit is under way wait in a queue and are
	 * committed together by the next one, with one fsync for all of them. */
	pthread_mutex_t group_lock;
	pthread_cond_t group_done;
	grant_job *group_head;
	grant_job **group_tail;
	bool group_busy;
	/* Serials reserved durably in a block and not handed out yet: [block_next, block_end). A
	 * crash skips what is left of the block; nothing is ever handed out twice. */
	int64_t block_next;
	int64_t block_end;
};

/* ---- small helpers ---- */

static void store_lock(ec_store *st)
{
	pthread_mutex_lock(&st->lock);
}

static void store_unlock(ec_store *st)
{
	pthread_mutex_unlock(&st->lock);
}

/* Writes "<what>: <SQLite's reason>" and returns -1. Call before the statement is reset. */
static int db_fail(ec_store *st, ec_err *err, const char *fmt, ...) EC_PRINTF(3, 4);
static int db_fail(ec_store *st, ec_err *err, const char *fmt, ...)
{
	char what[EC_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return ec_err_set(err, "%s: %s", what, st->db != NULL ? sqlite3_errmsg(st->db) : "no database");
}

/* The prepared statement id, reset and unbound, ready to bind. */
static sqlite3_stmt *stmt_use(ec_store *st, enum stmt_id id)
{
	sqlite3_stmt *s = st->stmt[id];
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

/* Ends a use of a statement: resets it (ending its read) and drops the bindings. */
static void stmt_done(sqlite3_stmt *s)
{
	if (s == NULL)
		return;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* Binding: the first failure is kept and later binds are skipped, so one check covers all. */
typedef struct binder {
	sqlite3_stmt *s;
	int rc;
} binder;

/* Text of at most cap bytes (fixed-size fields need not be terminated); NULL binds NULL. */
static void bind_text(binder *b, int i, const char *text, size_t cap)
{
	if (b->rc != SQLITE_OK)
		return;
	if (text == NULL)
		b->rc = sqlite3_bind_null(b->s, i);
	else
		b->rc = sqlite3_bind_text64(b->s, i, text, strnlen(text, cap), SQLITE_TRANSIENT, SQLITE_UTF8);
}

static void bind_int(binder *b, int i, int64_t v)
{
	if (b->rc == SQLITE_OK)
		b->rc = sqlite3_bind_int64(b->s, i, v);
}

/* A blob; NULL binds NULL. */
static void bind_blob(binder *b, int i, const uint8_t *p, size_t len)
{
	if (b->rc == SQLITE_OK)
		b->rc = p == NULL ? sqlite3_bind_null(b->s, i) : sqlite3_bind_blob64(b->s, i, p, len, SQLITE_TRANSIENT);
}

/* Copies a text column into dst, truncated to size; NULL reads as "". */
static void col_text(sqlite3_stmt *s, int i, char *dst, size_t size)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	snprintf(dst, size, "%s", t != NULL ? (const char *)t : "");
}

/* A malloc'd copy of a blob column; NULL and empty read as NULL/0. -1 when out of memory. */
static int col_blob(sqlite3_stmt *s, int i, uint8_t **out, size_t *len)
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
static int step_done(ec_store *st, sqlite3_stmt *s, ec_err *err, const char *what)
{
	if (sqlite3_step(s) == SQLITE_DONE)
		return 0;
	return db_fail(st, err, "%s", what);
}

/* Steps a query: 0 with a row, 1 when there are no (more) rows, -1 on failure. */
static int step_row(ec_store *st, sqlite3_stmt *s, ec_err *err, const char *what)
{
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return 1;
	return db_fail(st, err, "%s", what);
}

/* The statement shell. stmt_bind hands out a statement reset and ready to bind; stmt_exec and
 * stmt_query check the binds (one check covers them all) and step it. What stays in each call is
 * its own: its binds, what it reads, its lock or transaction. */
static binder stmt_bind(ec_store *st, enum stmt_id id)
{
	return (binder){ stmt_use(st, id), SQLITE_OK };
}

/* Steps a bound statement that returns no row and ends its use: 0 (*changes, when not NULL,
 * the number of rows it changed) or -1 with "<what>: <reason>". */
static int stmt_exec(ec_store *st, binder *b, int64_t *changes, ec_err *err, const char *what)
{
	int rc = b->rc != SQLITE_OK ? db_fail(st, err, "binding for %s", what) : step_done(st, b->s, err, what);
	if (rc == 0 && changes != NULL)
		*changes = sqlite3_changes(st->db);
	stmt_done(b->s);
	return rc;
}

/* Steps a bound query to its first row: 0 with a row (read it, then stmt_done), 1 when there is
 * none, -1 on failure. */
static int stmt_query(ec_store *st, binder *b, ec_err *err, const char *what)
{
	if (b->rc != SQLITE_OK)
		return db_fail(st, err, "binding for %s", what);
	return step_row(st, b->s, err, what);
}

/* Runs a statement whose parameters are the n integers of params (see stmt_exec). */
static int exec_ints(ec_store *st, enum stmt_id id, const int64_t *params, int n, int64_t *changes, ec_err *err,
                     const char *what)
{
	binder b = stmt_bind(st, id);
	for (int i = 0; i < n; i++)
		bind_int(&b, i + 1, params[i]);
	return stmt_exec(st, &b, changes, err, what);
}

/* Runs BEGIN IMMEDIATE, COMMIT or ROLLBACK. */
static int tx_step(ec_store *st, enum stmt_id id, ec_err *err)
{
	sqlite3_stmt *s = stmt_use(st, id);
	int rc = step_done(st, s, err, stmt_sql[id]);
	stmt_done(s);
	return rc;
}

/* Rolls back the transaction if one is still open (a failure may already have ended it). */
static void tx_abort(ec_store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		(void)tx_step(st, ST_ROLLBACK, NULL);
}

/* A 64-bit counter as serial text: upper-case hex, no leading zeros. */
static void serial_format(int64_t num, char out[STORE_SERIAL_MAX])
{
	snprintf(out, STORE_SERIAL_MAX, "%" PRIX64, (uint64_t)num);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parses serial text (at most cap bytes) into its number and canonical text; -1 when the text
 * cannot be one of our serials. */
static int serial_canon(const char *text, size_t cap, char canon[STORE_SERIAL_MAX], int64_t *num)
{
	uint64_t v = 0;
	size_t len = strnlen(text, cap), digits = 0;
	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int d = hex_digit(text[i]);
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
	serial_format(*num, canon);
	return 0;
}

/* ---- opening ---- */

/* Creates path with mode 0600 if it does not exist; an existing file is left as it is until
 * SQLite has accepted it as a database (see make_private). */
static int create_private(const char *path, ec_err *err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	int rc = 0;
	if (fd < 0)
		return errno == EEXIST ? 0 : ec_err_set(err, "cannot create database %s: %s", path, strerror(errno));
	if (fchmod(fd, 0600) != 0)     /* whatever the umask */
		rc = ec_err_set(err, "cannot make database %s private (mode 600): %s", path, strerror(errno));
	close(fd);
	return rc;
}

/* Sets mode 0600 on path+suffix if that file exists: the database and SQLite's -wal and -shm
 * files. Called only once the database is open and its schema checked, so that a wrong path
 * (a file that is not our database) is refused before its mode is touched. */
static int make_private(const char *path, const char *suffix, ec_err *err)
{
	char file[STORE_PATH_MAX];
	struct stat sb;
	int n = snprintf(file, sizeof(file), "%s%s", path, suffix);
	if (n < 0 || (size_t)n >= sizeof(file))
		return ec_err_set(err, "database path too long: %s", path);
	if (lstat(file, &sb) != 0)
		return errno == ENOENT ? 0 : ec_err_set(err, "cannot stat %s: %s", file, strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return ec_err_set(err, "%s is not a regular file (a symbolic link is not followed)", file);
	if ((sb.st_mode & 07777) != 0600 && chmod(file, 0600) != 0)
		return ec_err_set(err, "cannot make %s private (mode 600): %s", file, strerror(errno));
	return 0;
}

/* Runs one or more SQL statements that need no binding. */
static int exec_sql(ec_store *st, const char *sql, ec_err *err, const char *what)
{
	char *msg = NULL;
	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	ec_err_set(err, "%s: %s", what, msg != NULL ? msg : sqlite3_errmsg(st->db));
	sqlite3_free(msg);
	return -1;
}

/* Runs a one-row query (a PRAGMA) and reads column 0 as text (if text) and integer (if num). */
static int query_one(ec_store *st, const char *sql, char *text, size_t size, int64_t *num, ec_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc = -1;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		db_fail(st, err, "preparing %s", sql);
		goto out;
	}
	rc = step_row(st, s, err, sql);
	if (rc == 1)
		rc = ec_err_set(err, "%s returned no row", sql);
	if (rc != 0)
		goto out;
	if (text != NULL)
		col_text(s, 0, text, size);
	if (num != NULL)
		*num = sqlite3_column_int64(s, 0);
out:
	sqlite3_finalize(s);
	return rc;
}

/* Refuses a database made by a newer evercert (or not by evercert); *version is 0 when new. */
static int schema_check(ec_store *st, int64_t *version, ec_err *err)
{
	if (query_one(st, "PRAGMA user_version", NULL, 0, version, err) != 0)
		return ec_err_wrap(err, "reading the schema version");
	if (*version > STORE_SCHEMA_VERSION)
		return ec_err_set(err, "schema version %" PRId64 " is newer than version %d that this "
		                  "evercert understands; use a newer evercert", *version, STORE_SCHEMA_VERSION);
	if (*version < 0)
		return ec_err_set(err, "unknown schema version %" PRId64, *version);
	return 0;
}

/* Adds what schema version 2 added to a version 1 database (whatever user_version says). */
static int migrate_v1(ec_store *st, ec_err *err)
{
	int64_t has_reason = 0;
	if (query_one(st, "SELECT count(*) FROM pragma_table_info('requests') WHERE name = 'reason'", NULL, 0,
	              &has_reason, err) != 0)
		return -1;
	return has_reason ? 0 : exec_sql(st, migrate_v1_sql, err, "upgrading the schema from version 1");
}

/* Adds what schema version 3 added to an older database's CA table (whatever user_version says). */
static int migrate_v2(ec_store *st, ec_err *err)
{
	int64_t needed = 0;
	if (query_one(st, "SELECT EXISTS (SELECT 1 FROM pragma_table_info('ca_certs')) AND NOT EXISTS "
	              "(SELECT 1 FROM pragma_table_info('ca_certs') WHERE name = 'link')", NULL, 0, &needed,
	              err) != 0)
		return -1;
	return needed ? exec_sql(st, migrate_v2_sql, err, "upgrading the schema from version 2") : 0;
}

/* Per-connection settings, the version check, WAL mode, then the schema in one transaction. */
static int setup_db(ec_store *st, ec_err *err)
{
	char mode[16];
	int64_t version = 0;
	int rc = -1;
	if (exec_sql(st, "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;"
	             "PRAGMA synchronous = FULL;", err, "configuring the connection") != 0 ||
	    schema_check(st, &version, err) != 0)
		goto out;
	if (query_one(st, "PRAGMA journal_mode = WAL", mode, sizeof(mode), NULL, err) != 0)
		goto out;
	if (strcmp(mode, "wal") != 0) {
		ec_err_set(err, "cannot switch to WAL mode (the journal mode stays %s)", mode);
		goto out;
	}
	/* Checked again inside the transaction: another process may have upgraded it meanwhile. */
	if (exec_sql(st, "BEGIN IMMEDIATE", err, "starting the schema transaction") != 0 ||
	    schema_check(st, &version, err) != 0 ||
	    (version >= 1 && migrate_v1(st, err) != 0) ||
	    (version >= 1 && migrate_v2(st, err) != 0) ||
	    exec_sql(st, schema_sql, err, "creating the tables") != 0 ||
	    exec_sql(st, "COMMIT", err, "committing the schema") != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0 && !sqlite3_get_autocommit(st->db))
		(void)exec_sql(st, "ROLLBACK", NULL, "rolling back the schema");
	return rc;
}

static int prepare_all(ec_store *st, ec_err *err)
{
	for (int i = 0; i < ST_COUNT; i++)
		if (sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		                       &st->stmt[i], NULL) != SQLITE_OK)
			return db_fail(st, err, "preparing \"%s\"", stmt_sql[i]);
	return 0;
}

int store_open_sqlite(const char *path, ec_store **out, ec_err *err)
{
	ec_store *st = NULL;
	int rc = -1;
	/* NOFOLLOW: SQLite refuses a database path through a symbolic link (the caller passes a
	 * resolved path in a directory only root or we can change, see util/fsutil.h). */
	const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW;

	*out = NULL;
	if (!sqlite3_threadsafe()) {
		ec_err_set(err, "the SQLite library was built without thread support");
		goto out;
	}
	if (create_private(path, err) != 0)
		goto out;
	if ((st = calloc(1, sizeof(*st))) == NULL || pthread_mutex_init(&st->lock, NULL) != 0) {
		ec_err_set(err, "opening database %s: out of memory", path);
		goto out;
	}
	if (pthread_mutex_init(&st->group_lock, NULL) != 0 || pthread_cond_init(&st->group_done, NULL) != 0) {
		pthread_mutex_destroy(&st->lock);
		ec_err_set(err, "opening database %s: out of memory", path);
		goto out;
	}
	st->group_tail = &st->group_head;
	st->lock_ready = true;
	if (sqlite3_open_v2(path, &st->db, flags, NULL) != SQLITE_OK) {
		db_fail(st, err, "cannot open database %s", path);
		goto out;
	}
	sqlite3_extended_result_codes(st->db, 1);
	if (setup_db(st, err) != 0 || prepare_all(st, err) != 0) {
		ec_err_wrap(err, "database %s", path);
		goto out;
	}
	if (make_private(path, "", err) != 0 || make_private(path, "-wal", err) != 0 ||
	    make_private(path, "-shm", err) != 0)
		goto out;
	*out = st;
	st = NULL;
	rc = 0;
out:
	store_close(st);
	return rc;
}

void store_close(ec_store *st)
{
	if (st == NULL)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close(st->db);
	if (st->lock_ready) {
		pthread_mutex_destroy(&st->lock);
		pthread_mutex_destroy(&st->group_lock);
		pthread_cond_destroy(&st->group_done);
	}
	free(st);
}

/* ---- serials ---- */

/* The counter's current value (inside the caller's lock). */
static int serial_read(ec_store *st, int64_t *last, ec_err *err)
{
	sqlite3_stmt *s = stmt_use(st, ST_SERIAL_LAST);
	int rc = step_row(st, s, err, "reading the serial counter");
	if (rc == 1)
		rc = ec_err_set(err, "the serial counter is missing");
	if (rc == 0)
		*last = sqlite3_column_int64(s, 0);
	stmt_done(s);
	return rc;
}

/* Reserves the next block of serials durably (inside the caller's lock). */
static int serial_block_reserve(ec_store *st, ec_err *err)
{
	int64_t last = 0, changed = 0;
	if (tx_step(st, ST_BEGIN, err) != 0)
		return -1;
	binder b = stmt_bind(st, ST_SERIAL_BUMP);
	bind_int(&b, 1, STORE_SERIAL_BLOCK);
	int rc = stmt_exec(st, &b, &changed, err, "advancing the serial counter");
	if (rc == 0 && changed != 1)
		rc = ec_err_set(err, "the serial counter is missing or exhausted");
	if (rc == 0 && (serial_read(st, &last, err) != 0 || tx_step(st, ST_COMMIT, err) != 0))
		rc = -1;
	tx_abort(st);
	if (rc != 0)
		return -1;
	st->block_next = last - STORE_SERIAL_BLOCK + 1;
	st->block_end = last + 1;
	return 0;
}

int store_reserve_serial(ec_store *st, char serial[STORE_SERIAL_MAX], ec_err *err)
{
	int rc = 0;
	serial[0] = '\0';
	store_lock(st);
	if (st->block_next >= st->block_end)
		rc = serial_block_reserve(st, err);
	if (rc == 0)
		serial_format(st->block_next++, serial);
	store_unlock(st);
	if (rc != 0)
		ec_err_wrap(err, "reserving a serial");
	return rc;
}

int store_last_serial(ec_store *st, char serial[STORE_SERIAL_MAX], ec_err *err)
{
	int64_t last = 0;
	int rc;

	serial[0] = '\0';
	store_lock(st);
	rc = serial_read(st, &last, err);
	if (rc == 0 && st->block_end > 0)
		last = st->block_next - 1; /* the last handed out, not the end of the reserved block */
	store_unlock(st);
	if (rc != 0)
		return ec_err_wrap(err, "reading the last serial");
	serial_format(last, serial);
	return 0;
}

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

/* Calls the walk's callback with a row of its kind, then frees the row; a callback that stopped
 * the walk (rc != 0) is not called again. */
static int row_visit(const paged_walk *w, void *row, int rc)
{
	switch (w->type->kind) {
	case ROW_CERT:
		rc = rc != 0 ? rc : w->fn.cert(w->ctx, row);
		store_cert_free(row);
		break;
	case ROW_REQUEST:
		rc = rc != 0 ? rc : w->fn.request(w->ctx, row);
		store_request_free(row);
		break;
	case ROW_CA:
		rc = rc != 0 ? rc : w->fn.ca(w->ctx, row);
		store_ca_cert_free(row);
		break;
	}
	return rc;
}

/* Reads the page after *after into rows and moves *after to its last row. *n is the number of
 * rows read, also on failure (they are to be freed). */
static int page_read(ec_store *st, const paged_walk *w, int64_t *after, char *rows, size_t *n, ec_err *err)
{
	*n = 0;
	store_lock(st);
	binder b = stmt_bind(st, w->id);
	int params = sqlite3_bind_parameter_count(b.s);
	bind_int(&b, 1, *after);
	bind_int(&b, 2, STORE_PAGE);
	if (params >= 3)
		bind_int(&b, 3, w->filter_int);
	if (params >= 4)
		bind_text(&b, 4, w->filter_text, SIZE_MAX);
	int rc = stmt_query(st, &b, err, w->what);
	while (rc == 0) {
		if ((rc = w->type->read(b.s, rows + *n * w->type->size, err)) != 0)
			break;
		*after = sqlite3_column_int64(b.s, w->type->key_col);
		if (++*n == STORE_PAGE)
			break;
		rc = step_row(st, b.s, err, w->what);
	}
	stmt_done(b.s);
	store_unlock(st);
	return rc < 0 ? rc : 0;
}

/* Walks the query page by page, calling w->fn for each row with the lock released. */
static int each_paged(ec_store *st, const paged_walk *w, ec_err *err)
{
	char *rows = calloc(STORE_PAGE, w->type->size);
	int64_t after = INT64_MIN;
	size_t n = 0;
	int rc = 0;

	if (rows == NULL)
		return ec_err_set(err, "%s: out of memory", w->what);
	do {
		if (page_read(st, w, &after, rows, &n, err) != 0)
			rc = ec_err_wrap(err, "%s", w->what);
		for (size_t i = 0; i < n; i++)
			rc = row_visit(w, rows + i * w->type->size, rc);
	} while (rc == 0 && n == STORE_PAGE);
	free(rows);
	return rc;
}

/* ---- issued certificates ---- */

/* Reads a row of CERT_COLS into c (zeroed first); on failure c holds nothing to free. */
static int read_cert(sqlite3_stmt *s, void *row, ec_err *err)
{
	store_cert *c = row;
	memset(c, 0, sizeof(*c));
	col_text(s, 0, c->serial, sizeof(c->serial));
	col_text(s, 1, c->issuer_serial, sizeof(c->issuer_serial));
	col_text(s, 2, c->subject, sizeof(c->subject));
	c->not_before = sqlite3_column_int64(s, 3);
	c->not_after = sqlite3_column_int64(s, 4);
	c->status = sqlite3_column_int(s, 5);
	c->revoked_at = sqlite3_column_int64(s, 6);
	if (col_blob(s, 7, &c->der, &c->der_len) != 0)
		return ec_err_set(err, "reading certificate %s: out of memory", c->serial);
	return 0;
}

static const row_type cert_rows = { ROW_CERT, sizeof(store_cert), CERT_NCOLS, read_cert };

/* Inserts the certificate row (inside the caller's transaction). */
static int cert_insert(ec_store *st, const store_cert *cert, const char *serial, int64_t num, ec_err *err)
{
	binder b = stmt_bind(st, ST_CERT_INSERT);
	bind_text(&b, 1, serial, STORE_SERIAL_MAX);
	bind_int(&b, 2, num);
	bind_text(&b, 3, cert->issuer_serial, sizeof(cert->issuer_serial));
	bind_text(&b, 4, cert->subject, sizeof(cert->subject));
	bind_int(&b, 5, cert->not_before);
	bind_int(&b, 6, cert->not_after);
	bind_int(&b, 7, cert->status);
	bind_int(&b, 8, cert->revoked_at);
	bind_blob(&b, 9, cert->der, cert->der_len);
	return stmt_exec(st, &b, NULL, err, "inserting the certificate row");
}

/* Marks request id GRANTED with the certificate (inside the caller's transaction). */
static int request_grant(ec_store *st, int64_t id, const char *serial, const uint8_t *der, size_t len,
                         ec_err *err)
{
	binder b = stmt_bind(st, ST_REQ_GRANT);
	int64_t changed = 0;
	bind_int(&b, 1, id);
	bind_int(&b, 2, STORE_REQ_GRANTED);
	bind_text(&b, 3, serial, STORE_SERIAL_MAX);
	bind_blob(&b, 4, der, len);
	if (stmt_exec(st, &b, &changed, err, "marking the request granted") != 0)
		return -1;
	return changed == 1 ? 0 : ec_err_set(err, "request %" PRId64 " does not exist", id);
}

int store_record_issued(ec_store *st, const store_cert *cert, int64_t request_id,
                        const uint8_t *cert_der, size_t cert_der_len, ec_err *err)
{
	char serial[STORE_SERIAL_MAX];
	int64_t num = 0;
	int rc = -1;

	if (serial_canon(cert->serial, sizeof(cert->serial), serial, &num) != 0)
		return ec_err_set(err, "recording a certificate: bad serial '%.*s'",
		                  (int)sizeof(cert->serial), cert->serial);
	store_lock(st);
	if (tx_step(st, ST_BEGIN, err) != 0 || cert_insert(st, cert, serial, num, err) != 0)
		goto out;
	if (request_id > 0 && request_grant(st, request_id, serial, cert_der, cert_der_len, err) != 0)
		goto out;
	if (tx_step(st, ST_COMMIT, err) != 0)
		goto out;
	rc = 0;
out:
	tx_abort(st);
	store_unlock(st);
	if (rc != 0)
		ec_err_wrap(err, "recording certificate %s", serial);
	return rc;
}

int store_cert_get(ec_store *st, const char *serial, store_cert *out, ec_err *err)
{
	char canon[STORE_SERIAL_MAX];
	int64_t num;

	memset(out, 0, sizeof(*out));
	if (serial == NULL)
		return ec_err_set(err, "looking up a certificate: no serial given");
	if (serial_canon(serial, SIZE_MAX, canon, &num) != 0)
		return 1;
	store_lock(st);
	binder b = stmt_bind(st, ST_CERT_GET);
	bind_text(&b, 1, canon, sizeof(canon));
	int rc = stmt_query(st, &b, err, "reading the certificate");
	if (rc == 0)
		rc = read_cert(b.s, out, err);
	stmt_done(b.s);
	store_unlock(st);
	if (rc < 0)
		ec_err_wrap(err, "looking up certificate %s", canon);
	return rc;
}

int store_cert_set_revoked(ec_store *st, const char *serial, bool revoked, ec_time when, ec_err *err)
{
	char canon[STORE_SERIAL_MAX];
	int64_t num, changed = 0;

	if (serial == NULL)
		return ec_err_set(err, "revoking a certificate: no serial given");
	if (serial_canon(serial, SIZE_MAX, canon, &num) != 0)
		return 1;
	store_lock(st);
	binder b = stmt_bind(st, revoked ? ST_CERT_REVOKE : ST_CERT_UNREVOKE);
	bind_text(&b, 1, canon, sizeof(canon));
	bind_int(&b, 2, revoked ? STORE_CERT_REVOKED : STORE_CERT_VALID);
	if (revoked)
		bind_int(&b, 3, when);
	int rc = stmt_exec(st, &b, &changed, err, "updating the certificate");
	store_unlock(st);
	if (rc < 0)
		return ec_err_wrap(err, "%s certificate %s", revoked ? "revoking" : "unrevoking", canon);
	return changed == 0 ? 1 : 0;
}

int store_cert_each_revoked(ec_store *st, const char *issuer_serial,
                            int (*fn)(void *ctx, const store_cert *c), void *ctx, ec_err *err)
{
	paged_walk w = {ST_CERT_REVOKED, &cert_rows, STORE_CERT_REVOKED, issuer_serial, {.cert = fn}, ctx,
	                "listing revoked certificates"};
	return each_paged(st, &w, err);
}

/* Runs a count statement with an optional integer ?1 and an optional text ?2. */
static int count_rows(ec_store *st, enum stmt_id id, const int64_t *param, const char *text, int64_t *count,
                      ec_err *err)
{
	*count = 0;
	store_lock(st);
	binder b = stmt_bind(st, id);
	if (param != NULL)
		bind_int(&b, 1, *param);
	if (text != NULL)
		bind_text(&b, 2, text, SIZE_MAX);
	int rc = stmt_query(st, &b, err, "counting");
	if (rc == 1)
		rc = ec_err_set(err, "counting: no result");
	if (rc == 0)
		*count = sqlite3_column_int64(b.s, 0);
	stmt_done(b.s);
	store_unlock(st);
	return rc;
}

int store_cert_count(ec_store *st, int64_t *count, ec_err *err)
{
	if (count_rows(st, ST_CERT_COUNT, NULL, NULL, count, err) != 0)
		return ec_err_wrap(err, "counting certificates");
	return 0;
}

void store_cert_free(store_cert *c)
{
	if (c == NULL)
		return;
	free(c->der);
	c->der = NULL;
	c->der_len = 0;
}

/* ---- enrollment transactions ---- */

/* Reads a row of REQ_COLS into r (zeroed first); on failure r holds nothing to free. */
static int read_request(sqlite3_stmt *s, void *row, ec_err *err)
{
	store_request *r = row;
	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(s, 0);
	col_text(s, 1, r->txid, sizeof(r->txid));
	r->state = sqlite3_column_int(s, 2);
	r->msg_type = sqlite3_column_int(s, 3);
	r->fail_info = sqlite3_column_int(s, 4);
	r->renewal = sqlite3_column_int(s, 5) != 0;
	col_text(s, 6, r->subject, sizeof(r->subject));
	col_text(s, 7, r->signer_fp, sizeof(r->signer_fp));
	col_text(s, 8, r->pubkey_fp, sizeof(r->pubkey_fp));
	col_text(s, 9, r->ca_serial, sizeof(r->ca_serial));
	col_text(s, 10, r->source, sizeof(r->source));
	r->created = sqlite3_column_int64(s, 11);
	r->expires = sqlite3_column_int64(s, 12);
	col_text(s, 13, r->cert_serial, sizeof(r->cert_serial));
	col_text(s, 17, r->reason, sizeof(r->reason));
	if (col_blob(s, 14, &r->csr_der, &r->csr_der_len) != 0 ||
	    col_blob(s, 15, &r->signer_der, &r->signer_der_len) != 0 ||
	    col_blob(s, 16, &r->cert_der, &r->cert_der_len) != 0) {
		store_request_free(r);
		return ec_err_set(err, "reading request %" PRId64 ": out of memory", r->id);
	}
	return 0;
}

static const row_type request_rows = { ROW_REQUEST, sizeof(store_request), 0, read_request };

static void bind_request(binder *b, const store_request *r)
{
	bind_text(b, 1, r->txid, sizeof(r->txid));
	bind_int(b, 2, r->state);
	bind_int(b, 3, r->msg_type);
	bind_int(b, 4, r->fail_info);
	bind_int(b, 5, r->renewal ? 1 : 0);
	bind_text(b, 6, r->subject, sizeof(r->subject));
	bind_text(b, 7, r->signer_fp, sizeof(r->signer_fp));
	bind_text(b, 8, r->pubkey_fp, sizeof(r->pubkey_fp));
	bind_text(b, 9, r->ca_serial, sizeof(r->ca_serial));
	bind_text(b, 10, r->source, sizeof(r->source));
	bind_int(b, 11, r->created);
	bind_int(b, 12, r->expires);
	bind_text(b, 13, r->cert_serial, sizeof(r->cert_serial));
	bind_blob(b, 14, r->csr_der, r->csr_der_len);
	bind_blob(b, 15, r->signer_der, r->signer_der_len);
	bind_blob(b, 16, r->cert_der, r->cert_der_len);
	bind_text(b, 17, r->reason, sizeof(r->reason));
}

/* Inserts the request and sets its id (inside the caller's lock). */
static int request_insert(ec_store *st, store_request *req, ec_err *err)
{
	binder b = stmt_bind(st, ST_REQ_INSERT);
	bind_request(&b, req);
	if (stmt_exec(st, &b, NULL, err, "inserting the request") != 0)
		return -1;
	req->id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

int store_request_insert(ec_store *st, store_request *req, ec_err *err)
{
	store_lock(st);
	int rc = request_insert(st, req, err);
	store_unlock(st);
	if (rc != 0)
		ec_err_wrap(err, "recording transaction %.64s", req->txid);
	return rc;
}

static int otp_hash(const char *password, char hex[STORE_OTP_HASH_MAX], ec_err *err);

/* Uses up a one-time password inside the open transaction: 0 done, 1 no longer valid. */
static int otp_use_in_tx(ec_store *st, const char *hash, ec_time now, ec_err *err)
{
	binder b = stmt_bind(st, ST_OTP_CONSUME);
	int64_t changed = 0;
	bind_text(&b, 1, hash, STORE_OTP_HASH_MAX);
	bind_int(&b, 2, now);
	if (stmt_exec(st, &b, &changed, err, "using up the one-time password") != 0)
		return -1;
	if (changed == 1)
		return 0;
	ec_err_set(err, "the one-time password is no longer valid");
	return 1;
}

/* Inserts one job's certificate and request inside the open transaction, under a savepoint so
 * that a failing job leaves the others of its group intact. A one-time password the job names
 * is used up in the same savepoint: it is spent if and only if the certificate is recorded. */
static int grant_job_apply(ec_store *st, grant_job *j)
{
	if (sqlite3_exec(st->db, "SAVEPOINT grant_job", NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(st, &j->err, "opening a savepoint");
	int rc = j->otp_hash != NULL ? otp_use_in_tx(st, j->otp_hash, j->req->created, &j->err) : 0;
	if (rc == 0 && (cert_insert(st, j->cert, j->serial, j->num, &j->err) != 0 ||
	                request_insert(st, j->req, &j->err) != 0))
		rc = -1;
	if (rc != 0)
		(void)sqlite3_exec(st->db, "ROLLBACK TO grant_job", NULL, NULL, NULL);
	(void)sqlite3_exec(st->db, "RELEASE grant_job", NULL, NULL, NULL);
	return rc;
}

/* Commits a group of jobs in one transaction; each job's rc says whether it is durable. */
static void grant_group_commit(ec_store *st, grant_job *jobs)
{
	ec_err err;
	store_lock(st);
	int rc = tx_step(st, ST_BEGIN, &err);
	for (grant_job *j = jobs; rc == 0 && j != NULL; j = j->next)
		j->rc = grant_job_apply(st, j);
	if (rc == 0)
		rc = tx_step(st, ST_COMMIT, &err);
	tx_abort(st);
	store_unlock(st);
	if (rc == 0)
		return;
	for (grant_job *j = jobs; j != NULL; j = j->next) {
		if (j->rc == 0 || j->err.msg[0] == '\0')
			j->err = err;
		j->rc = -1;
		j->req->id = 0;
	}
}

int store_record_granted(ec_store *st, store_request *req, const store_cert *cert, const char *otp,
                         ec_err *err)
{
	char serial[STORE_SERIAL_MAX];
	char hash[STORE_OTP_HASH_MAX];
	int64_t num = 0;

	if (serial_canon(cert->serial, sizeof(cert->serial), serial, &num) != 0)
		return ec_err_set(err, "recording a certificate: bad serial '%.*s'",
		                  (int)sizeof(cert->serial), cert->serial);
	if (otp != NULL && otp_hash(otp, hash, err) != 0)
		return -1;
	grant_job job = {.req = req, .otp_hash = otp != NULL ? hash : NULL, .cert = cert, .serial = serial,
	                 .num = num, .rc = -1};
	ec_err_clear(&job.err);
	pthread_mutex_lock(&st->group_lock);
	*st->group_tail = &job;
	st->group_tail = &job.next;
	while (!job.done) {
		if (st->group_busy) {
			pthread_cond_wait(&st->group_done, &st->group_lock);
			continue;
		}
		/* Lead: commit everything queued so far, this job included. */
		grant_job *group = st->group_head;
		st->group_head = NULL;
		st->group_tail = &st->group_head;
		st->group_busy = true;
		pthread_mutex_unlock(&st->group_lock);
		grant_group_commit(st, group);
		pthread_mutex_lock(&st->group_lock);
		for (grant_job *j = group, *next; j != NULL; j = next) {
			next = j->next; /* j may be gone as soon as done is seen */
			j->done = true;
		}
		st->group_busy = false;
		pthread_cond_broadcast(&st->group_done);
	}
	pthread_mutex_unlock(&st->group_lock);
	OPENSSL_cleanse(hash, sizeof(hash));
	if (job.rc == 1) {
		*err = job.err;
		return 1;
	}
	if (job.rc != 0) {
		*err = job.err;
		return ec_err_wrap(err, "recording certificate %s", serial);
	}
	return 0;
}

/* Runs a bound single-request query: 0 with *out filled, 1 when no row, -1 on failure. Takes
 * over the binding's statement (resets it) and expects the caller to hold the lock. */
static int request_fetch(ec_store *st, binder *b, store_request *out, ec_err *err)
{
	int rc = stmt_query(st, b, err, "reading the request");
	if (rc == 0)
		rc = read_request(b->s, out, err);
	stmt_done(b->s);
	return rc;
}

int store_request_find(ec_store *st, const char *txid, const char *signer_fp, store_request *out, ec_err *err)
{
	memset(out, 0, sizeof(*out));
	if (txid == NULL)
		return ec_err_set(err, "looking up a transaction: no transaction ID given");
	store_lock(st);
	binder b = stmt_bind(st, ST_REQ_FIND);
	bind_text(&b, 1, txid, SIZE_MAX);
	bind_text(&b, 2, signer_fp, SIZE_MAX);
	int rc = request_fetch(st, &b, out, err);
	store_unlock(st);
	if (rc < 0)
		ec_err_wrap(err, "looking up transaction %.64s", txid);
	return rc;
}

int store_request_get(ec_store *st, int64_t id, store_request *out, ec_err *err)
{
	memset(out, 0, sizeof(*out));
	store_lock(st);
	binder b = stmt_bind(st, ST_REQ_GET);
	bind_int(&b, 1, id);
	int rc = request_fetch(st, &b, out, err);
	store_unlock(st);
	if (rc < 0)
		ec_err_wrap(err, "looking up request %" PRId64, id);
	return rc;
}

int store_request_set_state(ec_store *st, int64_t id, int state, int fail_info, ec_err *err)
{
	const int64_t params[3] = {id, state, fail_info};
	int64_t changed = 0;
	store_lock(st);
	int rc = exec_ints(st, ST_REQ_SET_STATE, params, 3, &changed, err, "updating the request");
	store_unlock(st);
	if (rc < 0)
		return ec_err_wrap(err, "changing the state of request %" PRId64, id);
	return changed == 0 ? 1 : 0;
}

int store_request_each(ec_store *st, int state, int (*fn)(void *ctx, const store_request *r),
                       void *ctx, ec_err *err)
{
	char what[64];
	snprintf(what, sizeof(what), "listing requests in state %d", state);
	paged_walk w = {ST_REQ_EACH, &request_rows, state, NULL, {.request = fn}, ctx, what};
	return each_paged(st, &w, err);
}

int store_request_expire(ec_store *st, ec_time now, ec_err *err)
{
	const int64_t params[4] = {STORE_REQ_EXPIRED, STORE_REQ_PENDING, STORE_REQ_APPROVED, now};
	int64_t changed = 0;
	store_lock(st);
	int rc = exec_ints(st, ST_REQ_EXPIRE, params, 4, &changed, err, "updating requests");
	store_unlock(st);
	if (rc < 0)
		return ec_err_wrap(err, "expiring requests");
	return (int)changed;
}

int store_request_count(ec_store *st, int state, int64_t *count, ec_err *err)
{
	int64_t param = state;
	if (count_rows(st, ST_REQ_COUNT, &param, NULL, count, err) != 0)
		return ec_err_wrap(err, "counting requests in state %d", state);
	return 0;
}

int store_request_count_from(ec_store *st, int state, const char *source, int64_t *count, ec_err *err)
{
	int64_t param = state;
	if (count_rows(st, ST_REQ_COUNT_FROM, &param, source, count, err) != 0)
		return ec_err_wrap(err, "counting requests from %s", source);
	return 0;
}

int store_request_count_kept_from(ec_store *st, const char *source, int64_t *count, ec_err *err)
{
	int64_t granted = STORE_REQ_GRANTED;
	if (count_rows(st, ST_REQ_COUNT_KEPT_FROM, &granted, source, count, err) != 0)
		return ec_err_wrap(err, "counting the requests kept from %s", source);
	return 0;
}

int store_refusal_record(ec_store *st, const store_refusal *r, ec_err *err)
{
	store_lock(st);
	binder b = stmt_bind(st, ST_REFUSAL_INSERT);
	bind_int(&b, 1, r->created);
	bind_text(&b, 2, r->source, sizeof(r->source));
	bind_text(&b, 3, r->txid, sizeof(r->txid));
	bind_text(&b, 4, r->subject, sizeof(r->subject));
	bind_text(&b, 5, r->pubkey_fp, sizeof(r->pubkey_fp));
	bind_int(&b, 6, r->fail_info);
	bind_text(&b, 7, r->reason, sizeof(r->reason));
	int rc = stmt_exec(st, &b, NULL, err, "recording the refusal");
	store_unlock(st);
	if (rc != 0)
		ec_err_wrap(err, "recording the refusal of transaction %.64s", r->txid);
	return rc;
}

int store_refusal_count(ec_store *st, int64_t *count, ec_err *err)
{
	if (count_rows(st, ST_REFUSAL_COUNT, NULL, NULL, count, err) != 0)
		return ec_err_wrap(err, "counting refusals");
	return 0;
}

int store_purge(ec_store *st, ec_time now, ec_time keep_for, ec_err *err)
{
	const int64_t req[4] = {STORE_REQ_REJECTED, STORE_REQ_EXPIRED, now, now - keep_for};
	const int64_t refusal[1] = {now - keep_for};
	int64_t requests = 0, refusals = 0;
	store_lock(st);
	int rc = tx_step(st, ST_BEGIN, err);
	if (rc == 0 && (exec_ints(st, ST_REQ_PURGE, req, 4, &requests, err, "purging requests") != 0 ||
	                exec_ints(st, ST_REFUSAL_PURGE, refusal, 1, &refusals, err, "purging refusals") != 0 ||
	                tx_step(st, ST_COMMIT, err) != 0))
		rc = -1;
	tx_abort(st);
	store_unlock(st);
	if (rc < 0)
		return ec_err_wrap(err, "purging old requests");
	return (int)(requests + refusals);
}

void store_request_free(store_request *r)
{
	if (r == NULL)
		return;
	free(r->csr_der);
	free(r->signer_der);
	free(r->cert_der);
	r->csr_der = r->signer_der = r->cert_der = NULL;
	r->csr_der_len = r->signer_der_len = r->cert_der_len = 0;
}

/* ---- CA certificate generations ---- */

int store_ca_put(ec_store *st, const store_ca_cert *ca, ec_err *err)
{
	store_lock(st);
	binder b = stmt_bind(st, ST_CA_PUT);
	bind_int(&b, 1, ca->generation);
	bind_int(&b, 2, ca->role);
	bind_text(&b, 3, ca->serial, sizeof(ca->serial));
	bind_int(&b, 4, ca->not_before);
	bind_int(&b, 5, ca->not_after);
	bind_blob(&b, 6, ca->der, ca->der_len);
	bind_blob(&b, 7, ca->link_der, ca->link_der_len);
	int rc = stmt_exec(st, &b, NULL, err, "writing the row");
	store_unlock(st);
	if (rc != 0)
		ec_err_wrap(err, "storing CA certificate generation %d", ca->generation);
	return rc;
}

/* Runs a CA statement on one generation, ?2 the role or the link when given; *changed gets
 * the number of rows changed. */
static int ca_update(ec_store *st, enum stmt_id id, int generation, const int *role, const store_ca_cert *link,
                     int64_t *changed, ec_err *err)
{
	store_lock(st);
	binder b = stmt_bind(st, id);
	bind_int(&b, 1, generation);
	if (role != NULL)
		bind_int(&b, 2, *role);
	if (link != NULL)
		bind_blob(&b, 2, link->link_der, link->link_der_len);
	int rc = stmt_exec(st, &b, changed, err, "updating the row");
	store_unlock(st);
	return rc;
}

int store_ca_set_role(ec_store *st, int generation, int role, ec_err *err)
{
	int64_t changed = 0;
	if (role < 0)
		return ec_err_set(err, "setting the role of CA generation %d: bad role %d", generation, role);
	if (ca_update(st, ST_CA_ROLE, generation, &role, NULL, &changed, err) != 0)
		return ec_err_wrap(err, "setting the role of CA generation %d", generation);
	if (changed == 0)
		return ec_err_set(err, "setting the role of CA generation %d: no such generation", generation);
	return 0;
}

int store_ca_set_link(ec_store *st, int generation, const uint8_t *der, size_t der_len, ec_err *err)
{
	const store_ca_cert link = {.link_der = (uint8_t *)der, .link_der_len = der_len};
	int64_t changed = 0;
	if (ca_update(st, ST_CA_LINK, generation, NULL, &link, &changed, err) != 0)
		return ec_err_wrap(err, "storing the link certificate of CA generation %d", generation);
	if (changed == 0)
		return ec_err_set(err, "storing the link certificate of CA generation %d: no such generation",
		                  generation);
	return 0;
}

/* Deleting a generation that is not there succeeds: the outcome is the same. */
int store_ca_delete(ec_store *st, int generation, ec_err *err)
{
	int64_t changed = 0;
	if (ca_update(st, ST_CA_DELETE, generation, NULL, NULL, &changed, err) != 0)
		return ec_err_wrap(err, "deleting CA generation %d", generation);
	return 0;
}

/* Reads a row of CA_COLS into ca (zeroed first); on failure ca holds nothing to free. */
static int read_ca(sqlite3_stmt *s, void *row, ec_err *err)
{
	store_ca_cert *ca = row;
	memset(ca, 0, sizeof(*ca));
	ca->generation = sqlite3_column_int(s, 0);
	ca->role = sqlite3_column_int(s, 1);
	col_text(s, 2, ca->serial, sizeof(ca->serial));
	ca->not_before = sqlite3_column_int64(s, 3);
	ca->not_after = sqlite3_column_int64(s, 4);
	if (col_blob(s, 5, &ca->der, &ca->der_len) != 0 || col_blob(s, 6, &ca->link_der, &ca->link_der_len) != 0) {
		store_ca_cert_free(ca);
		return ec_err_set(err, "reading CA generation %d: out of memory", ca->generation);
	}
	return 0;
}

static const row_type ca_rows = { ROW_CA, sizeof(store_ca_cert), 0, read_ca };

int store_ca_each(ec_store *st, int (*fn)(void *ctx, const store_ca_cert *ca), void *ctx, ec_err *err)
{
	paged_walk w = {ST_CA_EACH, &ca_rows, 0, NULL, {.ca = fn}, ctx, "listing CA certificates"};
	return each_paged(st, &w, err);
}

void store_ca_cert_free(store_ca_cert *ca)
{
	if (ca == NULL)
		return;
	free(ca->der);
	free(ca->link_der);
	ca->der = ca->link_der = NULL;
	ca->der_len = ca->link_der_len = 0;
}

/* ---- one-time passwords ---- */

/* The SHA-256 of password as lower-case hex. */
static int otp_hash(const char *password, char hex[STORE_OTP_HASH_MAX], ec_err *err)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (EVP_Digest(password, strlen(password), md, &len, EVP_sha256(), NULL) != 1 || len != 32)
		return ec_err_ssl(err, "hashing a one-time password");
	for (unsigned int i = 0; i < len; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 0x0f];
	}
	hex[2 * len] = '\0';
	OPENSSL_cleanse(md, sizeof(md));
	return 0;
}

/* Runs an OTP statement: ?1 the hash, ?2 a time; *changed gets the number of rows changed. */
static int otp_run(ec_store *st, enum stmt_id id, const char *hash, ec_time t, int64_t *changed, ec_err *err)
{
	store_lock(st);
	binder b = stmt_bind(st, id);
	bind_text(&b, 1, hash, STORE_OTP_HASH_MAX);
	bind_int(&b, 2, t);
	int rc = stmt_exec(st, &b, changed, err, "updating the password table");
	store_unlock(st);
	return rc;
}

int store_otp_check(ec_store *st, const char *password, ec_time now, ec_err *err)
{
	char hash[STORE_OTP_HASH_MAX];
	int64_t count = 0;
	if (password == NULL || password[0] == '\0')
		return 1;
	if (otp_hash(password, hash, err) != 0)
		return ec_err_wrap(err, "checking a one-time password");
	int64_t t = now;
	int rc = count_rows(st, ST_OTP_VALID, &t, hash, &count, err);
	OPENSSL_cleanse(hash, sizeof(hash));
	if (rc != 0)
		return ec_err_wrap(err, "checking a one-time password");
	return count == 1 ? 0 : 1;
}

/* Adding a password that is already known makes it usable again with the new expiry. */
int store_otp_add(ec_store *st, const char *password, ec_time expires, ec_err *err)
{
	char hash[STORE_OTP_HASH_MAX];
	int64_t changed = 0;
	if (password == NULL || password[0] == '\0')
		return ec_err_set(err, "adding a one-time password: the password is empty");
	if (otp_hash(password, hash, err) != 0 || otp_run(st, ST_OTP_ADD, hash, expires, &changed, err) != 0)
		return ec_err_wrap(err, "adding a one-time password");
	return 0;
}

int store_otp_consume(ec_store *st, const char *password, ec_time now, ec_err *err)
{
	char hash[STORE_OTP_HASH_MAX];
	int64_t changed = 0;
	if (password == NULL || password[0] == '\0')
		return 1;
	if (otp_hash(password, hash, err) != 0 || otp_run(st, ST_OTP_CONSUME, hash, now, &changed, err) != 0)
		return ec_err_wrap(err, "checking a one-time password");
	return changed == 1 ? 0 : 1;
}

/* ---- metadata ---- */

/* A value that does not fit in size is an error, not a truncated value. */
int store_meta_get(ec_store *st, const char *key, char *value, size_t size, ec_err *err)
{
	if (size == 0)
		return ec_err_set(err, "reading metadata %s: no room for the value", key);
	value[0] = '\0';
	store_lock(st);
	binder b = stmt_bind(st, ST_META_GET);
	bind_text(&b, 1, key, SIZE_MAX);
	int rc = stmt_query(st, &b, err, "reading the value");
	if (rc == 0) {
		const unsigned char *text = sqlite3_column_text(b.s, 0);
		if (text != NULL && (size_t)sqlite3_column_bytes(b.s, 0) >= size)
			rc = ec_err_set(err, "the value is longer than %zu bytes", size - 1);
		else
			snprintf(value, size, "%s", text != NULL ? (const char *)text : "");
	}
	stmt_done(b.s);
	store_unlock(st);
	if (rc < 0)
		ec_err_wrap(err, "reading metadata %s", key);
	return rc;
}

int store_meta_set(ec_store *st, const char *key, const char *value, ec_err *err)
{
	store_lock(st);
	binder b = stmt_bind(st, ST_META_SET);
	bind_text(&b, 1, key, SIZE_MAX);
	bind_text(&b, 2, value != NULL ? value : "", SIZE_MAX);
	int rc = stmt_exec(st, &b, NULL, err, "writing the value");
	store_unlock(st);
	if (rc != 0)
		ec_err_wrap(err, "writing metadata %s", key);
	return rc;
}
