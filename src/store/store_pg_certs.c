/*
 * store_pg_certs.c - the PostgreSQL backend's serial counter, issued certificates and grants.
 */
#include "store/store_pg_internal.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#define CERT_COLS "serial, issuer_serial, subject, not_before, not_after, status, revoked_at, der"

/* ---- serials ---- */

/* The lock and transaction steps of the shared serial and issuance code (store_rows.h). */
static int request_row_grant(store_backend *b, int64_t id, const char *serial, const uint8_t *der, size_t len,
                             ec_err *err);
static const store_tx tx = {pg_lock, pg_unlock, pg_begin, pg_commit, pg_rollback, pg_cert_row_insert,
                            request_row_grant};

/* The counter's current value (inside the caller's lock). */
static int serial_read(store_backend *b, int64_t *last, ec_err *err)
{
	PGresult *r = pg_exec(b, "SELECT last FROM serial_counter WHERE id = 1", NULL, NULL, err,
	                      "reading the serial counter");
	if (r == NULL)
		return -1;
	int rc = pq.PQntuples(r) == 1 ? 0 : ec_err_set(err, "the serial counter is missing");
	if (rc == 0)
		*last = pg_col_int(r, 0, 0);
	pq.PQclear(r);
	return rc;
}

/* Reserves the next block of serials (inside the caller's lock). One statement: the counter's
 * row lock orders reservations from every node, and RETURNING gives this one its block. */
static int serial_block_reserve(store_backend *b, ec_err *err)
{
	pg_params p = {0};
	int64_t changed = 0;
	pg_param_int(&p, STORE_SERIAL_BLOCK);
	PGresult *r = pg_exec(b, "UPDATE serial_counter SET last = last + $1"
	                      " WHERE id = 1 AND last <= 9223372036854775807 - $1 RETURNING last", &p, &changed,
	                      err, "advancing the serial counter");
	if (r == NULL)
		return -1;
	int rc = 0;
	if (changed != 1 || pq.PQntuples(r) != 1)
		rc = ec_err_set(err, "the serial counter is missing or exhausted");
	else {
		int64_t last = pg_col_int(r, 0, 0);
		b->block.next = last - STORE_SERIAL_BLOCK + 1;
		b->block.end = last + 1;
	}
	pq.PQclear(r);
	return rc;
}

int pg_reserve_serial(store_backend *b, char serial[STORE_SERIAL_MAX], ec_err *err)
{
	return store_serial_next(&tx, b, &b->block, serial_block_reserve, serial, err);
}

int pg_last_serial(store_backend *b, char serial[STORE_SERIAL_MAX], ec_err *err)
{
	return store_serial_last(&tx, b, &b->block, serial_read, serial, err);
}

/* ---- issued certificates ---- */

int pg_cert_row_insert(store_backend *b, const store_cert *cert, const char *serial, int64_t num, ec_err *err)
{
	pg_params p = {0};
	store_params w = pg_writer(&p);
	store_params_cert(&w, cert, serial, num);
	return pg_run(b, "INSERT INTO certs (" CERT_COLS ", serial_num) VALUES ($1, $3, $4, $5, $6, $7, $8, $9, $2)",
	              &p, NULL, err, "inserting the certificate row");
}

/* Marks request id GRANTED with the certificate (inside the caller's transaction). */
static int request_row_grant(store_backend *b, int64_t id, const char *serial, const uint8_t *der, size_t len,
                             ec_err *err)
{
	pg_params p = {0};
	int64_t changed = 0;
	pg_param_int(&p, id);
	pg_param_int(&p, STORE_REQ_GRANTED);
	pg_param_text(&p, serial, STORE_SERIAL_MAX);
	pg_param_blob(&p, der, len);
	/* Once issued, the request itself is no longer needed: the certificate answers resends. */
	if (pg_run(b, "UPDATE requests SET state = $2, cert_serial = $3, cert = $4, csr = NULL, signer = NULL"
	           " WHERE id = $1", &p, &changed, err, "marking the request granted") != 0)
		return -1;
	return changed == 1 ? 0 : ec_err_set(err, "request %" PRId64 " does not exist", id);
}

int pg_record_issued(store_backend *b, const store_cert *cert, int64_t request_id, const uint8_t *cert_der,
                     size_t cert_der_len, ec_err *err)
{
	return store_record_issued_tx(&tx, b, cert, request_id, cert_der, cert_der_len, err);
}

/* The grant's statements inside one transaction (and the caller's lock): 1 when the password is
 * no longer valid (nothing is kept then: the caller rolls back). */
static int grant_in_tx(store_backend *b, store_request *req, const store_cert *cert, const char *serial,
                       int64_t num, const char *otp_hash, ec_err *err)
{
	if (pg_begin(b, err) != 0)
		return -1;
	int rc = otp_hash != NULL ? pg_otp_use(b, otp_hash, req->created, err) : 0;
	if (rc != 0)
		return rc;
	if (pg_cert_row_insert(b, cert, serial, num, err) != 0 || pg_request_row_insert(b, req, err) != 0 ||
	    pg_commit(b, err) != 0)
		return -1;
	return 0;
}

/* No group commit here: PostgreSQL's own commit delay and WAL writer group the flushes of
 * concurrent sessions, and one connection per store leaves nothing to group on this side. */
int pg_record_granted(store_backend *b, store_request *req, const store_cert *cert, const char *otp, ec_err *err)
{
	char serial[STORE_SERIAL_MAX];
	char hash[STORE_OTP_HASH_MAX];
	int64_t num = 0;

	if (store_grant_args(cert, otp, serial, &num, hash, err) != 0)
		return -1;
	pg_lock(b);
	int rc = grant_in_tx(b, req, cert, serial, num, otp != NULL ? hash : NULL, err);
	pg_rollback(b);
	pg_unlock(b);
	OPENSSL_cleanse(hash, sizeof(hash));
	if (rc != 0)
		req->id = 0;
	if (rc < 0)
		return ec_err_wrap(err, "recording certificate %s", serial);
	return rc;
}

int pg_cert_get(store_backend *b, const char *serial, store_cert *out, ec_err *err)
{
	pg_params p = {0};
	pg_param_text(&p, serial, STORE_SERIAL_MAX);
	return pg_fetch_row(b, "SELECT " CERT_COLS " FROM certs WHERE serial = $1", &p, &store_cert_rows, out, err,
	                    "reading the certificate");
}

int pg_cert_set_revoked(store_backend *b, const char *serial, bool revoked, ec_time when, ec_err *err)
{
	int64_t changed = 0;
	pg_params p = {0};
	pg_param_text(&p, serial, STORE_SERIAL_MAX);
	pg_param_int(&p, revoked ? STORE_CERT_REVOKED : STORE_CERT_VALID);
	if (revoked)
		pg_param_int(&p, when);
	/* A second revocation keeps the first date: it is what CRLs already published. */
	const char *sql = revoked ? "UPDATE certs SET revoked_at = CASE WHEN status = $2 THEN revoked_at"
	                            " ELSE $3 END, status = $2 WHERE serial = $1"
	                          : "UPDATE certs SET status = $2, revoked_at = 0 WHERE serial = $1";
	pg_lock(b);
	int rc = pg_run(b, sql, &p, &changed, err, "updating the certificate");
	pg_unlock(b);
	return rc < 0 ? -1 : changed == 0 ? 1 : 0;
}

int pg_cert_each_revoked(store_backend *b, const char *issuer_serial, int (*fn)(void *ctx, const store_cert *c),
                         void *ctx, ec_err *err)
{
	store_walk w = {&store_cert_rows, STORE_CERT_REVOKED, issuer_serial, {.cert = fn}, ctx,
	                "listing revoked certificates"};
	return pg_each(b, "SELECT " CERT_COLS ", serial_num FROM certs WHERE serial_num > $1 AND status = $3"
	               " AND ($4::text IS NULL OR issuer_serial = $4) ORDER BY serial_num LIMIT $2", 4, &w, err);
}

int pg_cert_count(store_backend *b, int64_t *count, ec_err *err)
{
	if (pg_count(b, "SELECT count(*) FROM certs", NULL, count, err) != 0)
		return ec_err_wrap(err, "counting certificates");
	return 0;
}
