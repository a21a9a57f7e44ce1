/*
 * store_pg_ca.c - the PostgreSQL backend's CA certificate generations and their links, and the
 * one-time challenge passwords (kept as SHA-256 hashes).
 */
#include "store/store_pg_internal.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#define CA_COLS "generation, role, serial, not_before, not_after, der, link"

/* ---- CA certificate generations ---- */

int pg_ca_put(store_backend *b, const store_ca_cert *ca, ec_err *err)
{
	pg_params p = {0};
	pg_param_int(&p, ca->generation);
	pg_param_int(&p, ca->role);
	pg_param_text(&p, ca->serial, sizeof(ca->serial));
	pg_param_int(&p, ca->not_before);
	pg_param_int(&p, ca->not_after);
	pg_param_blob(&p, ca->der, ca->der_len);
	pg_param_blob(&p, ca->link_der, ca->link_der_len);
	pg_lock(b);
	int rc = pg_run(b, PG_STATE_BUMP "INSERT INTO ca_certs (" CA_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7)"
	                " ON CONFLICT (generation) DO UPDATE SET role = EXCLUDED.role, serial = EXCLUDED.serial,"
	                " not_before = EXCLUDED.not_before, not_after = EXCLUDED.not_after, der = EXCLUDED.der,"
	                " link = EXCLUDED.link", &p, NULL, err, "writing the row");
	pg_unlock(b);
	if (rc != 0)
		ec_err_wrap(err, "storing CA certificate generation %d", ca->generation);
	return rc;
}

/* Runs a CA statement on generation $1 with p's further parameters under the lock: 0, 1 when it
 * changed no row, -1 on failure. */
static int ca_update(store_backend *b, const char *sql, pg_params *p, ec_err *err)
{
	int64_t changed = 0;
	pg_lock(b);
	int rc = pg_run(b, sql, p, &changed, err, "updating the row");
	pg_unlock(b);
	return rc != 0 ? -1 : changed == 0 ? 1 : 0;
}

int pg_ca_set_role(store_backend *b, int generation, int role, ec_err *err)
{
	pg_params p = {0};
	pg_param_int(&p, generation);
	pg_param_int(&p, role);
	return ca_update(b, PG_STATE_BUMP "UPDATE ca_certs SET role = $2 WHERE generation = $1", &p, err);
}

int pg_ca_set_link(store_backend *b, int generation, const uint8_t *der, size_t der_len, ec_err *err)
{
	pg_params p = {0};
	pg_param_int(&p, generation);
	pg_param_blob(&p, der, der_len);
	return ca_update(b, PG_STATE_BUMP "UPDATE ca_certs SET link = $2 WHERE generation = $1", &p, err);
}

/* Deleting a generation that is not there succeeds: the outcome is the same. */
int pg_ca_delete(store_backend *b, int generation, ec_err *err)
{
	pg_params p = {0};
	pg_param_int(&p, generation);
	return ca_update(b, PG_STATE_BUMP "DELETE FROM ca_certs WHERE generation = $1", &p, err) < 0 ? -1 : 0;
}

int pg_ca_each(store_backend *b, int (*fn)(void *ctx, const store_ca_cert *ca), void *ctx, ec_err *err)
{
	store_walk w = {&store_ca_rows, 0, NULL, {.ca = fn}, ctx, "listing CA certificates"};
	return pg_each(b, "SELECT " CA_COLS " FROM ca_certs WHERE generation > $1 ORDER BY generation LIMIT $2", 2, &w,
	               err);
}

/* ---- one-time passwords ---- */

/* The row count of one UPDATE decides: under concurrent uses (from any node) the row lock makes
 * the second wait for the first and then find the password used. */
static const char otp_use_sql[] = "UPDATE otp SET used = 1 WHERE hash = $1 AND used = 0 AND expires > $2";

int pg_otp_use(store_backend *b, const char *hash, ec_time now, ec_err *err)
{
	pg_params p = {0};
	int64_t changed = 0;
	pg_param_text(&p, hash, STORE_OTP_HASH_MAX);
	pg_param_int(&p, now);
	if (pg_run(b, otp_use_sql, &p, &changed, err, "using up the one-time password") != 0)
		return -1;
	if (changed == 1)
		return 0;
	ec_err_set(err, "the one-time password is no longer valid");
	return 1;
}

int pg_otp_check(store_backend *b, const char *hash, ec_time now, ec_err *err)
{
	pg_params p = {0};
	int64_t count = 0;
	pg_param_text(&p, hash, STORE_OTP_HASH_MAX);
	pg_param_int(&p, now);
	if (pg_count(b, "SELECT count(*) FROM otp WHERE hash = $1 AND used = 0 AND expires > $2", &p, &count,
	             err) != 0)
		return -1;
	return count == 1 ? 0 : 1;
}

/* Adding a password that is already known makes it usable again with the new expiry. */
int pg_otp_add(store_backend *b, const char *hash, ec_time expires, ec_err *err)
{
	pg_params p = {0};
	pg_param_text(&p, hash, STORE_OTP_HASH_MAX);
	pg_param_int(&p, expires);
	pg_lock(b);
	int rc = pg_run(b, "INSERT INTO otp (hash, expires, used) VALUES ($1, $2, 0)"
	                " ON CONFLICT (hash) DO UPDATE SET expires = EXCLUDED.expires, used = 0", &p, NULL, err,
	                "updating the password table");
	pg_unlock(b);
	return rc;
}

/* Only a failure is reported: a password no longer valid is just 1. */
int pg_otp_consume(store_backend *b, const char *hash, ec_time now, ec_err *err)
{
	ec_err ignored;
	pg_lock(b);
	int rc = pg_otp_use(b, hash, now, &ignored);
	if (rc < 0)
		*err = ignored;
	pg_unlock(b);
	return rc;
}
