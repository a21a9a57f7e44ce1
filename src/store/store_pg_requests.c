/*
 * store_pg_requests.c - the PostgreSQL backend's enrollment transactions, refusal records and
 * their purge.
 */
#include "store/store_pg_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQ_COLS "id, txid, state, msg_type, fail_info, renewal, subject, signer_fp, pubkey_fp, " \
	"ca_serial, source, created, expires, cert_serial, csr, signer, cert, reason"

/* Inserts the request and sets its id (inside the caller's lock). A live transaction with the
 * same transactionID and signer, recorded meanwhile by another node, makes this fail with
 * "already recorded (UNIQUE constraint requests_live_txid)". */
int pg_request_row_insert(store_backend *b, store_request *req, ec_err *err)
{
	pg_params p = {0};
	store_params w = pg_writer(&p);
	store_params_request(&w, req);
	PGresult *r = pg_exec(b, "INSERT INTO requests (txid, state, msg_type, fail_info, renewal, subject,"
	                      " signer_fp, pubkey_fp, ca_serial, source, created, expires, cert_serial, csr,"
	                      " signer, cert, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,"
	                      " $13, $14, $15, $16, $17) RETURNING id", &p, NULL, err, "inserting the request");
	if (r == NULL)
		return -1;
	int rc = pq.PQntuples(r) == 1 ? 0 : ec_err_set(err, "inserting the request: no id returned");
	if (rc == 0)
		req->id = pg_col_int(r, 0, 0);
	pq.PQclear(r);
	return rc;
}

int pg_request_insert(store_backend *b, store_request *req, ec_err *err)
{
	pg_lock(b);
	int rc = pg_request_row_insert(b, req, err);
	pg_unlock(b);
	return rc;
}

/* Runs a single-request query under the lock: 0 with *out filled, 1 when no row, -1 on failure. */
static int request_fetch(store_backend *b, const char *sql, const pg_params *p, store_request *out, ec_err *err)
{
	return pg_fetch_row(b, sql, p, &store_request_rows, out, err, "reading the request");
}

int pg_request_find(store_backend *b, const char *txid, const char *signer_fp, store_request *out, ec_err *err)
{
	memset(out, 0, sizeof(*out));
	if (txid == NULL)
		return ec_err_set(err, "looking up a transaction: no transaction ID given");
	pg_params p = {0};
	pg_param_text(&p, txid, SIZE_MAX);
	pg_param_text(&p, signer_fp, SIZE_MAX);
	int rc = request_fetch(b, "SELECT " REQ_COLS " FROM requests WHERE txid = $1"
	                       " AND ($2::text IS NULL OR signer_fp = $2) ORDER BY id DESC LIMIT 1", &p, out, err);
	if (rc < 0)
		ec_err_wrap(err, "looking up transaction %.64s", txid);
	return rc;
}

int pg_request_get(store_backend *b, int64_t id, store_request *out, ec_err *err)
{
	memset(out, 0, sizeof(*out));
	pg_params p = {0};
	pg_param_int(&p, id);
	int rc = request_fetch(b, "SELECT " REQ_COLS " FROM requests WHERE id = $1", &p, out, err);
	if (rc < 0)
		ec_err_wrap(err, "looking up request %" PRId64, id);
	return rc;
}

/* Runs a statement of n integer parameters under the lock; *changed gets the rows changed. */
static int run_ints(store_backend *b, const char *sql, const int64_t *params, int n, int64_t *changed, ec_err *err,
                    const char *what)
{
	pg_params p = {0};
	for (int i = 0; i < n; i++)
		pg_param_int(&p, params[i]);
	pg_lock(b);
	int rc = pg_run(b, sql, &p, changed, err, what);
	pg_unlock(b);
	return rc;
}

int pg_request_set_state(store_backend *b, int64_t id, int state, int fail_info, ec_err *err)
{
	const int64_t params[3] = {id, state, fail_info};
	int64_t changed = 0;
	if (run_ints(b, "UPDATE requests SET state = $2, fail_info = $3 WHERE id = $1", params, 3, &changed, err,
	             "updating the request") != 0)
		return ec_err_wrap(err, "changing the state of request %" PRId64, id);
	return changed == 0 ? 1 : 0;
}

int pg_request_each(store_backend *b, int state, int (*fn)(void *ctx, const store_request *r), void *ctx,
                    ec_err *err)
{
	char what[64];
	snprintf(what, sizeof(what), "listing requests in state %d", state);
	store_walk w = {&store_request_rows, state, NULL, {.request = fn}, ctx, what};
	return pg_each(b, "SELECT " REQ_COLS " FROM requests WHERE id > $1 AND state = $3 ORDER BY id LIMIT $2", 3, &w,
	               err);
}

int pg_request_expire(store_backend *b, ec_time now, ec_err *err)
{
	const int64_t params[4] = {STORE_REQ_EXPIRED, STORE_REQ_PENDING, STORE_REQ_APPROVED, now};
	int64_t changed = 0;
	/* An expired request will never be issued: its request and signer are dropped with it. */
	if (run_ints(b, "UPDATE requests SET state = $1, csr = NULL, signer = NULL"
	             " WHERE state IN ($2, $3) AND expires <= $4", params, 4, &changed, err, "updating requests") != 0)
		return ec_err_wrap(err, "expiring requests");
	return (int)changed;
}

int pg_request_next_expiry(store_backend *b, int state, ec_time *at, ec_err *err)
{
	pg_params p = {0};
	*at = 0;
	pg_param_int(&p, state);
	pg_lock(b);
	PGresult *r = pg_exec(b, "SELECT min(expires) FROM requests WHERE state = $1", &p, NULL, err,
	                      "reading the next expiry");
	int rc = r == NULL ? -1 : pq.PQntuples(r) != 1 || pq.PQgetisnull(r, 0, 0) ? 1 : 0;
	if (rc == 0)
		*at = pg_col_int(r, 0, 0);
	pq.PQclear(r);
	pg_unlock(b);
	if (rc < 0)
		ec_err_wrap(err, "finding the next expiry of requests in state %d", state);
	return rc;
}

/* A count with an integer $1 and, when text is not NULL, a text $2. */
static int count_with(store_backend *b, const char *sql, int64_t param, const char *text, int64_t *count,
                      ec_err *err)
{
	pg_params p = {0};
	pg_param_int(&p, param);
	if (text != NULL)
		pg_param_text(&p, text, SIZE_MAX);
	return pg_count(b, sql, &p, count, err);
}

int pg_request_count(store_backend *b, int state, int64_t *count, ec_err *err)
{
	if (count_with(b, "SELECT count(*) FROM requests WHERE state = $1", state, NULL, count, err) != 0)
		return ec_err_wrap(err, "counting requests in state %d", state);
	return 0;
}

int pg_request_count_from(store_backend *b, int state, const char *source, int64_t *count, ec_err *err)
{
	if (count_with(b, "SELECT count(*) FROM requests WHERE source = $2 AND state = $1", state,
	               source != NULL ? source : "", count, err) != 0)
		return ec_err_wrap(err, "counting requests from %s", source);
	return 0;
}

int pg_request_count_kept_from(store_backend *b, const char *source, int64_t *count, ec_err *err)
{
	if (count_with(b, "SELECT (SELECT count(*) FROM requests WHERE source = $2 AND state <> $1)"
	               " + (SELECT count(*) FROM refusals WHERE source = $2)", STORE_REQ_GRANTED,
	               source != NULL ? source : "", count, err) != 0)
		return ec_err_wrap(err, "counting the requests kept from %s", source);
	return 0;
}

int pg_refusal_record(store_backend *b, const store_refusal *r, ec_err *err)
{
	pg_params p = {0};
	pg_param_int(&p, r->created);
	pg_param_text(&p, r->source, sizeof(r->source));
	pg_param_text(&p, r->txid, sizeof(r->txid));
	pg_param_text(&p, r->subject, sizeof(r->subject));
	pg_param_text(&p, r->pubkey_fp, sizeof(r->pubkey_fp));
	pg_param_int(&p, r->fail_info);
	pg_param_text(&p, r->reason, sizeof(r->reason));
	pg_lock(b);
	int rc = pg_run(b, "INSERT INTO refusals (created, source, txid, subject, pubkey_fp, fail_info, reason)"
	                " VALUES ($1, $2, $3, $4, $5, $6, $7)", &p, NULL, err, "recording the refusal");
	pg_unlock(b);
	if (rc != 0)
		ec_err_wrap(err, "recording the refusal of transaction %.64s", r->txid);
	return rc;
}

int pg_refusal_count(store_backend *b, int64_t *count, ec_err *err)
{
	if (pg_count(b, "SELECT count(*) FROM refusals", NULL, count, err) != 0)
		return ec_err_wrap(err, "counting refusals");
	return 0;
}

/* Both deletions in one transaction (inside the caller's lock); *deleted gets their rows. */
static int purge_in_tx(store_backend *b, ec_time now, ec_time keep_for, int64_t *deleted, ec_err *err)
{
	pg_params req = {0}, refusal = {0};
	int64_t requests = 0, refusals = 0;
	pg_param_int(&req, STORE_REQ_REJECTED);
	pg_param_int(&req, STORE_REQ_EXPIRED);
	pg_param_int(&req, now);
	pg_param_int(&req, now - keep_for);
	pg_param_int(&refusal, now - keep_for);
	if (pg_begin(b, err) != 0 ||
	    pg_run(b, "DELETE FROM requests WHERE (state = $1 AND expires <= $3) OR (state = $2 AND expires <= $4)",
	           &req, &requests, err, "purging requests") != 0 ||
	    pg_run(b, "DELETE FROM refusals WHERE created <= $1", &refusal, &refusals, err, "purging refusals") != 0 ||
	    pg_commit(b, err) != 0)
		return -1;
	*deleted = requests + refusals;
	return 0;
}

int pg_purge(store_backend *b, ec_time now, ec_time keep_for, ec_err *err)
{
	int64_t deleted = 0;
	pg_lock(b);
	int rc = purge_in_tx(b, now, keep_for, &deleted, err);
	pg_rollback(b);
	pg_unlock(b);
	if (rc < 0)
		return ec_err_wrap(err, "purging old requests");
	return (int)deleted;
}
