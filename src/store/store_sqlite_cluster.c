/*
 * store_sqlite_cluster.c - the SQLite backend's part of what CA nodes share (store.h): one
 * process owns a SQLite database, so the bootstrap lock and the lease are its own at once and
 * the state version never moves behind it. The CA keys and the CRL are still kept when asked
 * (in tables made at their first use, so a database that never holds them keeps its schema).
 */
#include "store/store_sqlite_internal.h"

#include <stdlib.h>
#include <string.h>

static const char cluster_tables_sql[] =
	"CREATE TABLE IF NOT EXISTS ca_keys (generation INTEGER PRIMARY KEY, key BLOB NOT NULL);"
	"CREATE TABLE IF NOT EXISTS crl (id INTEGER PRIMARY KEY CHECK (id = 1), number INTEGER NOT NULL,"
	" this_update INTEGER NOT NULL, next_update INTEGER NOT NULL, der BLOB NOT NULL);";

/* Inside the caller's lock: prepares sql after making the tables; NULL with the reason. */
static sqlite3_stmt *prepare(store_backend *st, const char *sql, ec_err *err)
{
	sqlite3_stmt *s = NULL;
	if (sqlite3_exec(st->db, cluster_tables_sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		sq_fail(st, err, "preparing a statement");
		return NULL;
	}
	return s;
}

/* Inside the caller's lock: steps s to its end (it changes something) and finalizes it. */
static int run(store_backend *st, sqlite3_stmt *s, ec_err *err, const char *what)
{
	int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : sq_fail(st, err, "%s", what);
	sqlite3_finalize(s);
	return rc;
}

int sq_ca_key_put(store_backend *st, int generation, const uint8_t *der, size_t len, ec_err *err)
{
	sq_lock(st);
	sqlite3_stmt *s = prepare(st, "INSERT OR REPLACE INTO ca_keys (generation, key) VALUES (?1, ?2)", err);
	int rc = -1;
	if (s != NULL) {
		sqlite3_bind_int64(s, 1, generation);
		sqlite3_bind_blob(s, 2, der, (int)len, SQLITE_TRANSIENT);
		rc = run(st, s, err, "writing the key");
	}
	sq_unlock(st);
	return rc != 0 ? ec_err_wrap(err, "storing the key of CA generation %d", generation) : 0;
}

int sq_ca_key_get(store_backend *st, int generation, uint8_t **der, size_t *len, ec_err *err)
{
	sq_lock(st);
	sqlite3_stmt *s = prepare(st, "SELECT key FROM ca_keys WHERE generation = ?1", err);
	int rc = -1;
	if (s != NULL) {
		sqlite3_bind_int64(s, 1, generation);
		int step = sqlite3_step(s);
		if (step == SQLITE_ROW)
			rc = sq_col_blob(s, 0, der, len) == 0 ? 0 : ec_err_set(err, "out of memory");
		else
			rc = step == SQLITE_DONE ? 1 : sq_fail(st, err, "reading the key");
		sqlite3_finalize(s);
	}
	sq_unlock(st);
	return rc < 0 ? ec_err_wrap(err, "reading the key of CA generation %d", generation) : rc;
}

int sq_ca_bootstrap_lock(store_backend *st, bool take, ec_err *err)
{
	(void)st, (void)take, (void)err;
	return 0;
}

int sq_lease_acquire(store_backend *st, const char *name, const char *holder, ec_time now, ec_time ttl,
                     bool *held, ec_err *err)
{
	(void)st, (void)name, (void)holder, (void)now, (void)ttl, (void)err;
	*held = true;
	return 0;
}

int sq_lease_release(store_backend *st, const char *name, const char *holder, ec_err *err)
{
	(void)st, (void)name, (void)holder, (void)err;
	return 0;
}

int sq_crl_put(store_backend *st, const store_crl *crl, ec_err *err)
{
	sq_lock(st);
	sqlite3_stmt *s = prepare(st, "INSERT INTO crl (id, number, this_update, next_update, der)"
	                          " VALUES (1, ?1, ?2, ?3, ?4) ON CONFLICT (id) DO UPDATE SET number = excluded.number,"
	                          " this_update = excluded.this_update, next_update = excluded.next_update,"
	                          " der = excluded.der WHERE crl.number < excluded.number", err);
	int rc = -1;
	if (s != NULL) {
		sqlite3_bind_int64(s, 1, crl->number);
		sqlite3_bind_int64(s, 2, crl->this_update);
		sqlite3_bind_int64(s, 3, crl->next_update);
		sqlite3_bind_blob(s, 4, crl->der, (int)crl->der_len, SQLITE_TRANSIENT);
		rc = run(st, s, err, "writing the CRL");
		if (rc == 0 && sqlite3_changes(st->db) == 0)
			rc = 1;
	}
	sq_unlock(st);
	return rc < 0 ? ec_err_wrap(err, "storing the CRL") : rc;
}

int sq_crl_get(store_backend *st, store_crl *out, ec_err *err)
{
	sq_lock(st);
	sqlite3_stmt *s = prepare(st, "SELECT number, this_update, next_update, der FROM crl WHERE id = 1", err);
	int rc = -1;
	if (s != NULL) {
		int step = sqlite3_step(s);
		if (step == SQLITE_ROW) {
			out->number = sqlite3_column_int64(s, 0);
			out->this_update = sqlite3_column_int64(s, 1);
			out->next_update = sqlite3_column_int64(s, 2);
			rc = sq_col_blob(s, 3, &out->der, &out->der_len) == 0 ? 0 : ec_err_set(err, "out of memory");
		} else {
			rc = step == SQLITE_DONE ? 1 : sq_fail(st, err, "reading the CRL");
		}
		sqlite3_finalize(s);
	}
	sq_unlock(st);
	return rc < 0 ? ec_err_wrap(err, "reading the CRL") : rc;
}

int sq_state_version(store_backend *st, int64_t *version, ec_err *err)
{
	(void)st, (void)err;
	*version = 0;
	return 0;
}
