/*
 * store_sqlite_certs.c - the SQLite backend's serial counter and issued certificates.
 */
#include "store/store_sqlite_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ---- serials ---- */

/* The lock and transaction steps of the shared serial and issuance code (store_rows.h). */
static int tx_begin(store_backend *st, ec_err *err)
{
	return sq_tx(st, ST_BEGIN, err);
}

static int tx_commit(store_backend *st, ec_err *err)
{
	return sq_tx(st, ST_COMMIT, err);
}

static const store_tx tx = {sq_lock, sq_unlock, tx_begin, tx_commit, sq_tx_abort, sq_cert_row_insert,
                            sq_request_row_grant};

/* The counter's current value (inside the caller's lock). */
static int serial_read(store_backend *st, int64_t *last, ec_err *err)
{
	binder b = sq_bind(st, ST_SERIAL_LAST);
	int rc = sq_query(st, &b, err, "reading the serial counter");
	if (rc == 1)
		rc = ec_err_set(err, "the serial counter is missing");
	if (rc == 0)
		*last = sqlite3_column_int64(b.s, 0);
	sq_done(b.s);
	return rc;
}

/* Reserves the next block of serials durably (inside the caller's lock). */
static int serial_block_reserve(store_backend *st, ec_err *err)
{
	int64_t last = 0, changed = 0;
	if (sq_tx(st, ST_BEGIN, err) != 0)
		return -1;
	binder b = sq_bind(st, ST_SERIAL_BUMP);
	sq_bind_int(&b, 1, STORE_SERIAL_BLOCK);
	int rc = sq_exec(st, &b, &changed, err, "advancing the serial counter");
	if (rc == 0 && changed != 1)
		rc = ec_err_set(err, "the serial counter is missing or exhausted");
	if (rc == 0 && (serial_read(st, &last, err) != 0 || sq_tx(st, ST_COMMIT, err) != 0))
		rc = -1;
	sq_tx_abort(st);
	if (rc != 0)
		return -1;
	st->block.next = last - STORE_SERIAL_BLOCK + 1;
	st->block.end = last + 1;
	return 0;
}

/* A serial handed out is a certificate about to be signed: the group commit waits for it. */
int sq_reserve_serial(store_backend *st, char serial[STORE_SERIAL_MAX], ec_err *err)
{
	int rc = store_serial_next(&tx, st, &st->block, serial_block_reserve, serial, err);
	if (rc == 0)
		sq_signing_add(st, serial);
	return rc;
}

int sq_last_serial(store_backend *st, char serial[STORE_SERIAL_MAX], ec_err *err)
{
	return store_serial_last(&tx, st, &st->block, serial_read, serial, err);
}

/* ---- issued certificates ---- */

/* Inserts the certificate row (inside the caller's transaction). */
int sq_cert_row_insert(store_backend *st, const store_cert *cert, const char *serial, int64_t num, ec_err *err)
{
	binder b = sq_bind(st, ST_CERT_INSERT);
	store_params p = sq_params(&b);
	store_params_cert(&p, cert, serial, num);
	return sq_exec(st, &b, NULL, err, "inserting the certificate row");
}

/* Marks request id GRANTED with the certificate (inside the caller's transaction). */
int sq_request_row_grant(store_backend *st, int64_t id, const char *serial, const uint8_t *der, size_t len,
                         ec_err *err)
{
	binder b = sq_bind(st, ST_REQ_GRANT);
	int64_t changed = 0;
	sq_bind_int(&b, 1, id);
	sq_bind_int(&b, 2, STORE_REQ_GRANTED);
	sq_bind_text(&b, 3, serial, STORE_SERIAL_MAX);
	sq_bind_blob(&b, 4, der, len);
	if (sq_exec(st, &b, &changed, err, "marking the request granted") != 0)
		return -1;
	return changed == 1 ? 0 : ec_err_set(err, "request %" PRId64 " does not exist", id);
}

int sq_record_issued(store_backend *st, const store_cert *cert, int64_t request_id, const uint8_t *cert_der,
                     size_t cert_der_len, ec_err *err)
{
	char canon[STORE_SERIAL_MAX];
	int64_t num = 0;
	if (store_serial_canon(cert->serial, sizeof(cert->serial), canon, &num) == 0)
		sq_signing_done(st, num);
	return store_record_issued_tx(&tx, st, cert, request_id, cert_der, cert_der_len, err);
}

int sq_cert_get(store_backend *st, const char *serial, store_cert *out, ec_err *err)
{
	sq_lock(st);
	binder b = sq_bind(st, ST_CERT_GET);
	sq_bind_text(&b, 1, serial, STORE_SERIAL_MAX);
	int rc = sq_query(st, &b, err, "reading the certificate");
	store_cols c = sq_cols(b.s);
	if (rc == 0)
		rc = store_cert_rows.read(&c, out, err);
	sq_done(b.s);
	sq_unlock(st);
	return rc;
}

int sq_cert_set_revoked(store_backend *st, const char *serial, bool revoked, ec_time when, ec_err *err)
{
	int64_t changed = 0;
	sq_lock(st);
	binder b = sq_bind(st, revoked ? ST_CERT_REVOKE : ST_CERT_UNREVOKE);
	sq_bind_text(&b, 1, serial, STORE_SERIAL_MAX);
	sq_bind_int(&b, 2, revoked ? STORE_CERT_REVOKED : STORE_CERT_VALID);
	if (revoked)
		sq_bind_int(&b, 3, when);
	int rc = sq_exec(st, &b, &changed, err, "updating the certificate");
	sq_unlock(st);
	return rc < 0 ? -1 : changed == 0 ? 1 : 0;
}

int sq_cert_each_revoked(store_backend *st, const char *issuer_serial,
                            int (*fn)(void *ctx, const store_cert *c), void *ctx, ec_err *err)
{
	store_walk w = {&store_cert_rows, STORE_CERT_REVOKED, issuer_serial, {.cert = fn}, ctx,
	                "listing revoked certificates"};
	return sq_each(st, ST_CERT_REVOKED, &w, err);
}

int sq_cert_count(store_backend *st, int64_t *count, ec_err *err)
{
	if (sq_count(st, ST_CERT_COUNT, NULL, NULL, count, err) != 0)
		return ec_err_wrap(err, "counting certificates");
	return 0;
}
