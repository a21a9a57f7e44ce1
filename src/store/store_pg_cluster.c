/*
 * store_pg_cluster.c - the PostgreSQL backend's part of what the nodes of one CA share
 * (store.h): the CA keys (encrypted PKCS#8 as the CA hands them over), the bootstrap lock, the
 * leases, the current CRL and the state version.
 *
 * A lease is one row, taken or renewed by one INSERT ... ON CONFLICT ... DO UPDATE ... WHERE
 * whose RETURNING says whether this holder has it: PostgreSQL's row lock orders nodes that try
 * at once, and a holder that stops renewing loses it when its expiry passes.
 */
#include "store/store_pg_internal.h"

#include <stdlib.h>
#include <string.h>

/* The advisory lock that serialises the creation of the first CA generation ("evercert" + 1). */
#define PG_BOOTSTRAP_LOCK "7311142587050848885"

int pg_ca_key_put(store_backend *b, int generation, const uint8_t *der, size_t len, ec_err *err)
{
	pg_params p = {0};
	pg_param_int(&p, generation);
	pg_param_blob(&p, der, len);
	pg_lock(b);
	int rc = pg_run(b, "INSERT INTO ca_keys (generation, key) VALUES ($1, $2)"
	                " ON CONFLICT (generation) DO UPDATE SET key = EXCLUDED.key", &p, NULL, err, "writing the key");
	pg_unlock(b);
	return rc != 0 ? ec_err_wrap(err, "storing the key of CA generation %d", generation) : 0;
}

int pg_ca_key_get(store_backend *b, int generation, uint8_t **der, size_t *len, ec_err *err)
{
	pg_params p = {0};
	pg_param_int(&p, generation);
	pg_lock(b);
	PGresult *r = pg_exec(b, "SELECT key FROM ca_keys WHERE generation = $1", &p, NULL, err, "reading the key");
	int rc = r == NULL ? -1 : pq.PQntuples(r) == 0 ? 1 : 0;
	if (rc == 0 && pg_col_blob(r, 0, 0, der, len) != 0)
		rc = ec_err_set(err, "out of memory");
	pq.PQclear(r);
	pg_unlock(b);
	return rc < 0 ? ec_err_wrap(err, "reading the key of CA generation %d", generation) : rc;
}

int pg_ca_bootstrap_lock(store_backend *b, bool take, ec_err *err)
{
	pg_lock(b);
	int rc = pg_run(b, take ? "SELECT pg_advisory_lock(" PG_BOOTSTRAP_LOCK ")"
	                        : "SELECT pg_advisory_unlock(" PG_BOOTSTRAP_LOCK ")",
	                NULL, NULL, err, take ? "waiting for the CA creation lock" : "releasing the CA creation lock");
	pg_unlock(b);
	return rc;
}

int pg_lease_acquire(store_backend *b, const char *name, const char *holder, ec_time now, ec_time ttl,
                     bool *held, ec_err *err)
{
	pg_params p = {0};
	pg_param_text(&p, name, SIZE_MAX);
	pg_param_text(&p, holder, SIZE_MAX);
	pg_param_int(&p, now);
	pg_param_int(&p, now + ttl);
	pg_lock(b);
	PGresult *r = pg_exec(b, "INSERT INTO leases (name, holder, expires) VALUES ($1, $2, $4)"
	                      " ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires = EXCLUDED.expires"
	                      " WHERE leases.expires <= $3 OR leases.holder = EXCLUDED.holder RETURNING holder",
	                      &p, NULL, err, "taking the lease");
	if (r != NULL)
		*held = pq.PQntuples(r) == 1;
	pq.PQclear(r);
	pg_unlock(b);
	return r == NULL ? ec_err_wrap(err, "lease %s", name) : 0;
}

int pg_lease_release(store_backend *b, const char *name, const char *holder, ec_err *err)
{
	pg_params p = {0};
	pg_param_text(&p, name, SIZE_MAX);
	pg_param_text(&p, holder, SIZE_MAX);
	pg_lock(b);
	int rc = pg_run(b, "DELETE FROM leases WHERE name = $1 AND holder = $2", &p, NULL, err, "giving the lease up");
	pg_unlock(b);
	return rc != 0 ? ec_err_wrap(err, "lease %s", name) : 0;
}

int pg_crl_put(store_backend *b, const store_crl *crl, ec_err *err)
{
	pg_params p = {0};
	int64_t changed = 0;
	pg_param_int(&p, crl->number);
	pg_param_int(&p, crl->this_update);
	pg_param_int(&p, crl->next_update);
	pg_param_blob(&p, crl->der, crl->der_len);
	pg_lock(b);
	int rc = pg_run(b, PG_STATE_BUMP "INSERT INTO crl (id, number, this_update, next_update, der)"
	                " VALUES (1, $1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET number = EXCLUDED.number,"
	                " this_update = EXCLUDED.this_update, next_update = EXCLUDED.next_update, der = EXCLUDED.der"
	                " WHERE crl.number < EXCLUDED.number", &p, &changed, err, "writing the CRL");
	pg_unlock(b);
	if (rc != 0)
		return ec_err_wrap(err, "storing the CRL");
	return changed == 0 ? 1 : 0;
}

int pg_crl_get(store_backend *b, store_crl *out, ec_err *err)
{
	pg_lock(b);
	PGresult *r = pg_exec(b, "SELECT number, this_update, next_update, der FROM crl WHERE id = 1", NULL, NULL, err,
	                      "reading the CRL");
	int rc = r == NULL ? -1 : pq.PQntuples(r) == 0 ? 1 : 0;
	if (rc == 0) {
		out->number = pg_col_int(r, 0, 0);
		out->this_update = pg_col_int(r, 0, 1);
		out->next_update = pg_col_int(r, 0, 2);
		if (pg_col_blob(r, 0, 3, &out->der, &out->der_len) != 0)
			rc = ec_err_set(err, "out of memory");
	}
	pq.PQclear(r);
	pg_unlock(b);
	return rc < 0 ? ec_err_wrap(err, "reading the CRL") : rc;
}

int pg_state_version(store_backend *b, int64_t *version, ec_err *err)
{
	pg_lock(b);
	PGresult *r = pg_exec(b, "SELECT value::bigint FROM meta WHERE key = 'state_version'", NULL, NULL, err,
	                      "reading the state version");
	if (r != NULL)
		*version = pq.PQntuples(r) == 1 ? pg_col_int(r, 0, 0) : 0;
	pq.PQclear(r);
	pg_unlock(b);
	return r == NULL ? -1 : 0;
}
