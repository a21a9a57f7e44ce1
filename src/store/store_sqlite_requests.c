/*
 * store_sqlite_requests.c - the SQLite backend's enrollment transactions, refusal records and
 * their purge.
 */
#include "store/store_sqlite_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- enrollment transactions ---- */

/* Inserts the request and sets its id (inside the caller's lock). */
int sq_request_row_insert(store_backend *st, store_request *req, ec_err *err)
{
	binder b = sq_bind(st, ST_REQ_INSERT);
	store_params p = sq_params(&b);
	store_params_request(&p, req);
	if (sq_exec(st, &b, NULL, err, "inserting the request") != 0)
		return -1;
	req->id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

int sq_request_insert(store_backend *st, store_request *req, ec_err *err)
{
	sq_lock(st);
	int rc = sq_request_row_insert(st, req, err);
	sq_unlock(st);
	return rc;
}

/* Runs a bound single-request query: 0 with *out filled, 1 when no row, -1 on failure. Takes
 * over the binding's statement (resets it) and expects the caller to hold the lock. */
static int request_fetch(store_backend *st, binder *b, store_request *out, ec_err *err)
{
	int rc = sq_query(st, b, err, "reading the request");
	store_cols c = sq_cols(b->s);
	if (rc == 0)
		rc = store_request_rows.read(&c, out, err);
	sq_done(b->s);
	return rc;
}

int sq_request_find(store_backend *st, const char *txid, const char *signer_fp, store_request *out, ec_err *err)
{
	memset(out, 0, sizeof(*out));
	if (txid == NULL)
		return ec_err_set(err, "looking up a transaction: no transaction ID given");
	sq_lock(st);
	binder b = sq_bind(st, ST_REQ_FIND);
	sq_bind_text(&b, 1, txid, SIZE_MAX);
	sq_bind_text(&b, 2, signer_fp, SIZE_MAX);
	int rc = request_fetch(st, &b, out, err);
	sq_unlock(st);
	if (rc < 0)
		ec_err_wrap(err, "looking up transaction %.64s", txid);
	return rc;
}

int sq_request_get(store_backend *st, int64_t id, store_request *out, ec_err *err)
{
	memset(out, 0, sizeof(*out));
	sq_lock(st);
	binder b = sq_bind(st, ST_REQ_GET);
	sq_bind_int(&b, 1, id);
	int rc = request_fetch(st, &b, out, err);
	sq_unlock(st);
	if (rc < 0)
		ec_err_wrap(err, "looking up request %" PRId64, id);
	return rc;
}

int sq_request_set_state(store_backend *st, int64_t id, int state, int fail_info, ec_err *err)
{
	const int64_t params[3] = {id, state, fail_info};
	int64_t changed = 0;
	sq_lock(st);
	int rc = sq_exec_ints(st, ST_REQ_SET_STATE, params, 3, &changed, err, "updating the request");
	sq_unlock(st);
	if (rc < 0)
		return ec_err_wrap(err, "changing the state of request %" PRId64, id);
	return changed == 0 ? 1 : 0;
}

int sq_request_each(store_backend *st, int state, int (*fn)(void *ctx, const store_request *r),
                       void *ctx, ec_err *err)
{
	char what[64];
	snprintf(what, sizeof(what), "listing requests in state %d", state);
	store_walk w = {&store_request_rows, state, NULL, {.request = fn}, ctx, what};
	return sq_each(st, state == STORE_REQ_GRANTED ? ST_REQ_EACH_GRANTED : ST_REQ_EACH, &w, err);
}

int sq_request_expire(store_backend *st, ec_time now, ec_err *err)
{
	const int64_t params[4] = {STORE_REQ_EXPIRED, STORE_REQ_PENDING, STORE_REQ_APPROVED, now};
	int64_t changed = 0;
	sq_lock(st);
	int rc = sq_exec_ints(st, ST_REQ_EXPIRE, params, 4, &changed, err, "updating requests");
	sq_unlock(st);
	if (rc < 0)
		return ec_err_wrap(err, "expiring requests");
	return (int)changed;
}

int sq_request_next_expiry(store_backend *st, int state, ec_time *at, ec_err *err)
{
	*at = 0;
	sq_lock(st);
	binder b = sq_bind(st, state == STORE_REQ_GRANTED ? ST_REQ_NEXT_EXPIRY_GRANTED : ST_REQ_NEXT_EXPIRY);
	sq_bind_int(&b, 1, state);
	int rc = sq_query(st, &b, err, "reading the next expiry");
	if (rc == 0 && sqlite3_column_type(b.s, 0) == SQLITE_NULL)
		rc = 1;
	else if (rc == 0)
		*at = sqlite3_column_int64(b.s, 0);
	sq_done(b.s);
	sq_unlock(st);
	if (rc < 0)
		ec_err_wrap(err, "finding the next expiry of requests in state %d", state);
	return rc;
}

int sq_request_count(store_backend *st, int state, int64_t *count, ec_err *err)
{
	int64_t param = state;
	if (sq_count(st, state == STORE_REQ_GRANTED ? ST_REQ_COUNT_GRANTED : ST_REQ_COUNT, &param, NULL, count, err) != 0)
		return ec_err_wrap(err, "counting requests in state %d", state);
	return 0;
}

int sq_request_count_from(store_backend *st, int state, const char *source, int64_t *count, ec_err *err)
{
	int64_t param = state;
	enum stmt_id id = state == STORE_REQ_GRANTED ? ST_REQ_COUNT_FROM_GRANTED : ST_REQ_COUNT_FROM;
	if (sq_count(st, id, &param, source, count, err) != 0)
		return ec_err_wrap(err, "counting requests from %s", source);
	return 0;
}

int sq_request_count_kept_from(store_backend *st, const char *source, int64_t *count, ec_err *err)
{
	int64_t granted = STORE_REQ_GRANTED;
	if (sq_count(st, ST_REQ_COUNT_KEPT_FROM, &granted, source, count, err) != 0)
		return ec_err_wrap(err, "counting the requests kept from %s", source);
	return 0;
}

int sq_refusal_record(store_backend *st, const store_refusal *r, ec_err *err)
{
	sq_lock(st);
	binder b = sq_bind(st, ST_REFUSAL_INSERT);
	sq_bind_int(&b, 1, r->created);
	sq_bind_text(&b, 2, r->source, sizeof(r->source));
	sq_bind_text(&b, 3, r->txid, sizeof(r->txid));
	sq_bind_text(&b, 4, r->subject, sizeof(r->subject));
	sq_bind_text(&b, 5, r->pubkey_fp, sizeof(r->pubkey_fp));
	sq_bind_int(&b, 6, r->fail_info);
	sq_bind_text(&b, 7, r->reason, sizeof(r->reason));
	int rc = sq_exec(st, &b, NULL, err, "recording the refusal");
	sq_unlock(st);
	if (rc != 0)
		ec_err_wrap(err, "recording the refusal of transaction %.64s", r->txid);
	return rc;
}

int sq_refusal_count(store_backend *st, int64_t *count, ec_err *err)
{
	if (sq_count(st, ST_REFUSAL_COUNT, NULL, NULL, count, err) != 0)
		return ec_err_wrap(err, "counting refusals");
	return 0;
}

int sq_purge(store_backend *st, ec_time now, ec_time keep_for, ec_err *err)
{
	const int64_t req[4] = {STORE_REQ_REJECTED, STORE_REQ_EXPIRED, now, now - keep_for};
	const int64_t refusal[1] = {now - keep_for};
	int64_t requests = 0, refusals = 0;
	sq_lock(st);
	int rc = sq_tx(st, ST_BEGIN, err);
	if (rc == 0 && (sq_exec_ints(st, ST_REQ_PURGE, req, 4, &requests, err, "purging requests") != 0 ||
	                sq_exec_ints(st, ST_REFUSAL_PURGE, refusal, 1, &refusals, err, "purging refusals") != 0 ||
	                sq_tx(st, ST_COMMIT, err) != 0))
		rc = -1;
	sq_tx_abort(st);
	sq_unlock(st);
	if (rc < 0)
		return ec_err_wrap(err, "purging old requests");
	return (int)(requests + refusals);
}
