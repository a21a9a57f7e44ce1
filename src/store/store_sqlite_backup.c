/*
 * store_sqlite_backup.c - the SQLite database copied while the CA runs (store_backup), and the
 * counters of a restored copy moved past what the original may have issued since
 * (store_restore_counters).
 *
 * The copy is made through a connection of its own, opened on the same file: SQLite's online
 * backup API copies every page in one read transaction, a snapshot of one instant under WAL, while
 * the store's own connection goes on committing beside it (a WAL reader blocks no writer). So
 * the copy costs the CA's requests nothing but disk bandwidth, and needs none of the store's locks.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "store/store_sqlite_internal.h"

#define BACKUP_BUSY_MS 5000

static int fail_db(sqlite3 *db, ec_err *err, const char *what)
{
	return ec_err_set(err, "%s: %s", what, db != NULL ? sqlite3_errmsg(db) : "out of memory");
}

static int open_db(const char *path, sqlite3 **db, ec_err *err)
{
	*db = NULL;
	if (sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(*db, BACKUP_BUSY_MS) != SQLITE_OK)
		return fail_db(*db, err, path);
	return 0;
}

/* The serial counter of db (the highest serial reserved). */
static int read_counter(sqlite3 *db, int64_t *last, ec_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db, "SELECT last FROM serial_counter WHERE id = 1", -1, &s, NULL) == SQLITE_OK &&
	                 sqlite3_step(s) == SQLITE_ROW
	             ? 0
	             : fail_db(db, err, "reading the serial counter of the copy");
	if (rc == 0)
		*last = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return rc;
}

/* Copies src into dst (both open) in one step, then makes dst a single file (no WAL beside it). */
static int copy_pages(sqlite3 *src, sqlite3 *dst, ec_err *err)
{
	sqlite3_backup *bk = sqlite3_backup_init(dst, "main", src, "main");
	if (bk == NULL)
		return fail_db(dst, err, "starting the backup");
	int step;
	/* -1: every page in one step, hence in one read transaction of src: one instant's state. A
	 * writer that holds the file's lock for a moment makes the step busy; it is tried again. */
	for (int tries = 0; (step = sqlite3_backup_step(bk, -1)) == SQLITE_BUSY || step == SQLITE_LOCKED; tries++) {
		if (tries >= BACKUP_BUSY_MS / 10)
			break;
		sqlite3_sleep(10);
	}
	int fin = sqlite3_backup_finish(bk);
	if (step != SQLITE_DONE || fin != SQLITE_OK)
		return ec_err_set(err, "copying the database: %s", sqlite3_errstr(step != SQLITE_DONE ? step : fin));
	if (sqlite3_exec(dst, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL) != SQLITE_OK)
		return fail_db(dst, err, "closing the copy's journal");
	return 0;
}

int store_sqlite_backup(store_backend *b, const char *path, char last_serial[STORE_SERIAL_MAX], ec_err *err)
{
	const char *source = sqlite3_db_filename(b->db, "main");
	if (source == NULL || source[0] == '\0')
		return ec_err_set(err, "the database is in memory: there is no file to back up");
	/* Created here, exclusively and private: SQLite would follow a link or take the umask. */
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return ec_err_set(err, "cannot create %s: %s", path, strerror(errno));
	close(fd);
	sqlite3 *src = NULL, *dst = NULL;
	int64_t last = 0;
	int rc = open_db(source, &src, err) != 0 || open_db(path, &dst, err) != 0 || copy_pages(src, dst, err) != 0 ||
	                 read_counter(dst, &last, err) != 0
	             ? -1
	             : 0;
	sqlite3_close(src);
	if (sqlite3_close(dst) != SQLITE_OK && rc == 0)
		rc = ec_err_set(err, "closing the copy %s", path);
	if (rc != 0) {
		unlink(path);
		return -1;
	}
	store_serial_format(last, last_serial);
	return 0;
}

static int exec_bound(sqlite3 *db, const char *sql, int64_t value, int *changes, ec_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_bind_int64(s, 1, value) == SQLITE_OK &&
	                 sqlite3_step(s) == SQLITE_DONE
	             ? 0
	             : fail_db(db, err, "moving the counters of the restored database");
	sqlite3_finalize(s);
	if (rc == 0 && changes != NULL)
		*changes = sqlite3_changes(db);
	return rc;
}

int store_restore_counters(const char *path, int64_t serial_skip, int64_t crl_skip,
                           char next_serial[STORE_SERIAL_MAX], ec_err *err)
{
	next_serial[0] = '\0';
	if (serial_skip < 0 || crl_skip < 0)
		return ec_err_set(err, "a counter only moves forward");
	sqlite3 *db = NULL;
	int changed = 0;
	int64_t last = 0;
	int rc = open_db(path, &db, err) != 0 ||
	                 sqlite3_exec(db, "PRAGMA synchronous = FULL; BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK
	             ? -1
	             : 0;
	if (rc == 0)
		rc = exec_bound(db, "UPDATE serial_counter SET last = last + ?1 WHERE id = 1 AND last <= 9223372036854775807 - ?1",
		                serial_skip, &changed, err);
	if (rc == 0 && changed != 1)
		rc = ec_err_set(err, "%s: the serial counter is missing or too high to move forward", path);
	if (rc == 0)
		rc = exec_bound(db, "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + ?1 AS TEXT) WHERE key = 'crl_number'",
		                crl_skip, NULL, err);
	if (rc == 0)
		rc = read_counter(db, &last, err);
	if (rc == 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = fail_db(db, err, "committing the restored counters");
	if (rc != 0 && db != NULL)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	if (rc == 0 && sqlite3_close(db) != SQLITE_OK)
		return ec_err_set(err, "closing %s", path);
	if (rc != 0)
		sqlite3_close(db);
	else
		store_serial_format(last + 1, next_serial);
	return rc;
}
