/*
 * store_sqlite.c - the SQLite backend of store.h.
 *
 * One connection per store_backend, opened in serialized mode and guarded by our own mutex, so that
 * one call's statements and transaction never interleave with another thread's. Every statement
 * is prepared once at open and reset after each use: no read transaction is left open between
 * calls (an open one would stall WAL checkpoints). A change is one transaction (BEGIN IMMEDIATE ..
 * COMMIT, or a single autocommit statement); with journal_mode=WAL and synchronous=FULL the WAL
 * is fsynced at commit, so a 0 return means the change is on disk. Grants are the exception in
 * how, not in what: their group commits without a sync and syncs the WAL itself once the lock
 * is released, before any of them returns (store_sqlite_group.c).
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
 *
 * The backend in files: this one opens the database (schema, migrations) and keeps the metadata
 * and the counters; store_sqlite_group.c commits grants in groups; store_sqlite_certs.c serials and issued certificates,
 * store_sqlite_requests.c enrollment transactions, refusals and their purge, store_sqlite_ca.c
 * CA generations and links, store_sqlite_otp.c one-time passwords, store_sqlite_stmt.c the
 * statements and the shell they run in (store_sqlite_internal.h).
 */
#include "store/store_sqlite_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fsutil.h"

#define STORE_SCHEMA_VERSION 5
#define STORE_STR_(x) #x
#define STORE_STR(x) STORE_STR_(x)

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
	/* Only the revoked ones are looked up by status (the CRL): the index holds them alone, so
	 * an issuance writes nothing to it. */
	"CREATE INDEX IF NOT EXISTS certs_revoked ON certs (serial_num) WHERE status = 1;"
	"CREATE TABLE IF NOT EXISTS requests ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT, txid TEXT NOT NULL, state INTEGER NOT NULL,"
	" msg_type INTEGER NOT NULL, fail_info INTEGER NOT NULL, renewal INTEGER NOT NULL,"
	" subject TEXT NOT NULL, signer_fp TEXT NOT NULL, pubkey_fp TEXT NOT NULL,"
	" ca_serial TEXT NOT NULL, source TEXT NOT NULL, created INTEGER NOT NULL,"
	" expires INTEGER NOT NULL, cert_serial TEXT NOT NULL DEFAULT '',"
	" csr BLOB, signer BLOB, cert BLOB, reason TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX IF NOT EXISTS requests_txid ON requests (txid, signer_fp);"
	/* By state and expiry: the next expiry is read from the index alone. Both indexes leave out
	 * the granted requests (state 1), nearly all of them: what is looked up by state or source
	 * is what waits or was refused, and a grant then writes to neither. */
	"CREATE INDEX IF NOT EXISTS requests_state_expires ON requests (state, expires) WHERE state <> 1;"
	"CREATE INDEX IF NOT EXISTS requests_source ON requests (source, state) WHERE state <> 1;"
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
/* From schema version 3: the index by state alone, covered by the one by state and expiry that
 * the schema creates. */
static const char migrate_v3_sql[] = "DROP INDEX IF EXISTS requests_state;";
/* From schema version 4: the indexes over every certificate and request, made again as above
 * (only revoked certificates, only requests not granted). */
static const char migrate_v4_sql[] = "DROP INDEX IF EXISTS certs_status; DROP INDEX IF EXISTS requests_state_expires;"
                                     " DROP INDEX IF EXISTS requests_source;";

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
	char file[EC_PATH_MAX];
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
static int exec_sql(store_backend *st, const char *sql, ec_err *err, const char *what)
{
	char *msg = NULL;
	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	ec_err_set(err, "%s: %s", what, msg != NULL ? msg : sqlite3_errmsg(st->db));
	sqlite3_free(msg);
	return -1;
}

/* Runs a one-row query (a PRAGMA) and reads column 0 as text (if text) and integer (if num). */
static int query_one(store_backend *st, const char *sql, char *text, size_t size, int64_t *num, ec_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc = -1;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		sq_fail(st, err, "preparing %s", sql);
		goto out;
	}
	rc = sq_step_row(st, s, err, sql);
	if (rc == 1)
		rc = ec_err_set(err, "%s returned no row", sql);
	if (rc != 0)
		goto out;
	if (text != NULL)
		sq_col_text(s, 0, text, size);
	if (num != NULL)
		*num = sqlite3_column_int64(s, 0);
out:
	sqlite3_finalize(s);
	return rc;
}

/* Refuses a database made by a newer evercert (or not by evercert); *version is 0 when new. */
static int schema_check(store_backend *st, int64_t *version, ec_err *err)
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
static int migrate_v1(store_backend *st, ec_err *err)
{
	int64_t has_reason = 0;
	if (query_one(st, "SELECT count(*) FROM pragma_table_info('requests') WHERE name = 'reason'", NULL, 0,
	              &has_reason, err) != 0)
		return -1;
	return has_reason ? 0 : exec_sql(st, migrate_v1_sql, err, "upgrading the schema from version 1");
}

/* Adds what schema version 3 added to an older database's CA table (whatever user_version says). */
static int migrate_v2(store_backend *st, ec_err *err)
{
	int64_t needed = 0;
	if (query_one(st, "SELECT EXISTS (SELECT 1 FROM pragma_table_info('ca_certs')) AND NOT EXISTS "
	              "(SELECT 1 FROM pragma_table_info('ca_certs') WHERE name = 'link')", NULL, 0, &needed,
	              err) != 0)
		return -1;
	return needed ? exec_sql(st, migrate_v2_sql, err, "upgrading the schema from version 2") : 0;
}

/* Per-connection settings, the version check, WAL mode, then the schema in one transaction. */
static int setup_db(store_backend *st, bool memory, ec_err *err)
{
	char mode[16];
	int64_t version = 0;
	int rc = -1;
	if (exec_sql(st, "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;"
	             "PRAGMA synchronous = FULL;", err, "configuring the connection") != 0 ||
	    schema_check(st, &version, err) != 0)
		goto out;
	/* An in-memory database has nothing to keep across a crash, and no WAL mode. */
	if (!memory && query_one(st, "PRAGMA journal_mode = WAL", mode, sizeof(mode), NULL, err) != 0)
		goto out;
	if (!memory && strcmp(mode, "wal") != 0) {
		ec_err_set(err, "cannot switch to WAL mode (the journal mode stays %s)", mode);
		goto out;
	}
	/* Checked again inside the transaction: another process may have upgraded it meanwhile. */
	if (exec_sql(st, "BEGIN IMMEDIATE", err, "starting the schema transaction") != 0 ||
	    schema_check(st, &version, err) != 0 ||
	    (version >= 1 && migrate_v1(st, err) != 0) ||
	    (version >= 1 && migrate_v2(st, err) != 0) ||
	    (version >= 1 && exec_sql(st, migrate_v3_sql, err, "upgrading the schema from version 3") != 0) ||
	    (version >= 1 && version < 5 && exec_sql(st, migrate_v4_sql, err, "upgrading the schema from version 4") != 0) ||
	    exec_sql(st, schema_sql, err, "creating the tables") != 0 ||
	    exec_sql(st, "COMMIT", err, "committing the schema") != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0 && !sqlite3_get_autocommit(st->db))
		(void)exec_sql(st, "ROLLBACK", NULL, "rolling back the schema");
	return rc;
}

static int prepare_all(store_backend *st, ec_err *err)
{
	for (int i = 0; i < ST_COUNT; i++)
		if (sqlite3_prepare_v3(st->db, sq_stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		                       &st->stmt[i], NULL) != SQLITE_OK)
			return sq_fail(st, err, "preparing \"%s\"", sq_stmt_sql[i]);
	return 0;
}

static void sq_close(store_backend *st);

/* SQLite's commit hook: counts every transaction that commits (0 lets it commit). */
static int count_commit(void *counters)
{
	atomic_fetch_add(&((sq_counters *)counters)->commits, 1);
	return 0;
}

/* Opens the WAL that SQLite keeps beside the database while it is open, for the group commit's
 * own sync (store_sqlite_group.c). Without it, grants sync at their commit like the rest. */
static int open_wal(store_backend *st, const char *path, ec_err *err)
{
	int n = snprintf(st->wal_path, sizeof(st->wal_path), "%s-wal", path);
	if (n < 0 || (size_t)n >= sizeof(st->wal_path))
		return ec_err_set(err, "database path too long: %s", path);
	st->wal_fd = open(st->wal_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	return 0;
}

/* A connection state with its locks, no database yet; NULL when out of memory. */
static store_backend *backend_new(void)
{
	store_backend *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return NULL;
	if (pthread_mutex_init(&st->lock, NULL) != 0) {
		free(st);
		return NULL;
	}
	pthread_condattr_t mono;
	bool ok = pthread_condattr_init(&mono) == 0;
	ok = ok && pthread_condattr_setclock(&mono, CLOCK_MONOTONIC) == 0;   /* the leader's timed wait */
	if (!ok || pthread_mutex_init(&st->group_lock, NULL) != 0 || pthread_cond_init(&st->group_done, NULL) != 0 ||
	    pthread_cond_init(&st->group_arrival, &mono) != 0) {
		pthread_mutex_destroy(&st->lock);
		free(st);
		return NULL;
	}
	pthread_condattr_destroy(&mono);
	st->group_tail = &st->group_head;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	st->cpus = cpus > 0 && cpus < 4096 ? (int)cpus : 1;
	st->wal_fd = -1;
	st->lock_ready = true;
	return st;
}

/* Sets mode 0600 on the database and SQLite's -wal and -shm files. */
static int make_all_private(const char *path, ec_err *err)
{
	if (make_private(path, "", err) != 0 || make_private(path, "-wal", err) != 0 ||
	    make_private(path, "-shm", err) != 0)
		return -1;
	return 0;
}

int store_sqlite_open(const char *path, store_backend **out, ec_err *err)
{
	store_backend *st = NULL;
	int rc = -1;
	/* NOFOLLOW: SQLite refuses a database path through a symbolic link (the caller passes a
	 * resolved path in a directory only root or we can change, see util/fsutil.h). */
	const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW;
	const bool memory = strcmp(path, STORE_SQLITE_MEMORY) == 0;

	*out = NULL;
	if (!sqlite3_threadsafe()) {
		ec_err_set(err, "the SQLite library was built without thread support");
		goto out;
	}
	if (!memory && create_private(path, err) != 0)
		goto out;
	if ((st = backend_new()) == NULL) {
		ec_err_set(err, "opening database %s: out of memory", path);
		goto out;
	}
	sq_vfs_attribute(&st->counters);   /* the files opened now count into this store */
	int opened = sqlite3_open_v2(path, &st->db, flags, sq_vfs_name());
	if (opened != SQLITE_OK) {
		sq_fail(st, err, "cannot open database %s", path);
		goto out;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_commit_hook(st->db, count_commit, &st->counters);
	if (setup_db(st, memory, err) != 0 || prepare_all(st, err) != 0) {
		ec_err_wrap(err, "database %s", path);
		goto out;
	}
	if (!memory && (make_all_private(path, err) != 0 || open_wal(st, path, err) != 0))
		goto out;
	*out = st;
	st = NULL;
	rc = 0;
out:
	sq_vfs_attribute(NULL);
	sq_close(st);
	return rc;
}

static void sq_close(store_backend *st)
{
	if (st == NULL)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close(st->db);
	if (st->wal_fd >= 0)
		close(st->wal_fd);
	if (st->lock_ready) {
		pthread_mutex_destroy(&st->lock);
		pthread_mutex_destroy(&st->group_lock);
		pthread_cond_destroy(&st->group_done);
		pthread_cond_destroy(&st->group_arrival);
	}
	free(st);
}

/* ---- counters ---- */

void store_sqlite_stats(store_backend *st, store_stats *out)
{
	*out = (store_stats){
		.counted = true,
		.commits = atomic_load(&st->counters.commits),
		.fdatasyncs = atomic_load(&st->counters.fdatasyncs),
		.wal_frames = atomic_load(&st->counters.wal_frames),
		.wal_bytes = atomic_load(&st->counters.wal_bytes),
		.grants = atomic_load(&st->counters.grants),
		.grant_groups = atomic_load(&st->counters.grant_groups),
	};
}

/* ---- metadata ---- */

/* A value that does not fit in size is an error, not a truncated value. */
int sq_meta_get(store_backend *st, const char *key, char *value, size_t size, ec_err *err)
{
	if (size == 0)
		return ec_err_set(err, "reading metadata %s: no room for the value", key);
	value[0] = '\0';
	sq_lock(st);
	binder b = sq_bind(st, ST_META_GET);
	sq_bind_text(&b, 1, key, SIZE_MAX);
	int rc = sq_query(st, &b, err, "reading the value");
	if (rc == 0) {
		const unsigned char *text = sqlite3_column_text(b.s, 0);
		if (text != NULL && (size_t)sqlite3_column_bytes(b.s, 0) >= size)
			rc = ec_err_set(err, "the value is longer than %zu bytes", size - 1);
		else
			snprintf(value, size, "%s", text != NULL ? (const char *)text : "");
	}
	sq_done(b.s);
	sq_unlock(st);
	if (rc < 0)
		ec_err_wrap(err, "reading metadata %s", key);
	return rc;
}

int sq_meta_set(store_backend *st, const char *key, const char *value, ec_err *err)
{
	sq_lock(st);
	binder b = sq_bind(st, ST_META_SET);
	sq_bind_text(&b, 1, key, SIZE_MAX);
	sq_bind_text(&b, 2, value != NULL ? value : "", SIZE_MAX);
	int rc = sq_exec(st, &b, NULL, err, "writing the value");
	sq_unlock(st);
	if (rc != 0)
		ec_err_wrap(err, "writing metadata %s", key);
	return rc;
}

const store_ops store_sqlite_ops = {
	.name = "sqlite",
	.close = sq_close,
	.grant_expect_begin = sq_grant_expect_begin,
	.grant_expect_end = sq_grant_expect_end,
	.shared = false,
	STORE_OPERATIONS(SQ_OP_ENTRY)
};
