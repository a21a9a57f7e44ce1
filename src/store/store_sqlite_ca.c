/*
 * store_sqlite_ca.c - the SQLite backend's CA certificate generations and their links.
 */
#include "store/store_sqlite_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- CA certificate generations ---- */

int sq_ca_put(store_backend *st, const store_ca_cert *ca, ec_err *err)
{
	sq_lock(st);
	binder b = sq_bind(st, ST_CA_PUT);
	sq_bind_int(&b, 1, ca->generation);
	sq_bind_int(&b, 2, ca->role);
	sq_bind_text(&b, 3, ca->serial, sizeof(ca->serial));
	sq_bind_int(&b, 4, ca->not_before);
	sq_bind_int(&b, 5, ca->not_after);
	sq_bind_blob(&b, 6, ca->der, ca->der_len);
	sq_bind_blob(&b, 7, ca->link_der, ca->link_der_len);
	int rc = sq_exec(st, &b, NULL, err, "writing the row");
	sq_unlock(st);
	if (rc != 0)
		ec_err_wrap(err, "storing CA certificate generation %d", ca->generation);
	return rc;
}

/* Runs a CA statement on one generation, ?2 the role or the link when given: 0, 1 when it
 * changed no row, -1 on failure. */
static int ca_update(store_backend *st, enum stmt_id id, int generation, const int *role, const store_ca_cert *link,
                     ec_err *err)
{
	int64_t changed = 0;
	sq_lock(st);
	binder b = sq_bind(st, id);
	sq_bind_int(&b, 1, generation);
	if (role != NULL)
		sq_bind_int(&b, 2, *role);
	if (link != NULL)
		sq_bind_blob(&b, 2, link->link_der, link->link_der_len);
	int rc = sq_exec(st, &b, &changed, err, "updating the row");
	sq_unlock(st);
	return rc != 0 ? -1 : changed == 0 ? 1 : 0;
}

int sq_ca_set_role(store_backend *st, int generation, int role, ec_err *err)
{
	return ca_update(st, ST_CA_ROLE, generation, &role, NULL, err);
}

int sq_ca_set_link(store_backend *st, int generation, const uint8_t *der, size_t der_len, ec_err *err)
{
	const store_ca_cert link = {.link_der = (uint8_t *)der, .link_der_len = der_len};
	return ca_update(st, ST_CA_LINK, generation, NULL, &link, err);
}

/* Deleting a generation that is not there succeeds: the outcome is the same. */
int sq_ca_delete(store_backend *st, int generation, ec_err *err)
{
	return ca_update(st, ST_CA_DELETE, generation, NULL, NULL, err) < 0 ? -1 : 0;
}

int sq_ca_each(store_backend *st, int (*fn)(void *ctx, const store_ca_cert *ca), void *ctx, ec_err *err)
{
	store_walk w = {&store_ca_rows, 0, NULL, {.ca = fn}, ctx, "listing CA certificates"};
	return sq_each(st, ST_CA_EACH, &w, err);
}
