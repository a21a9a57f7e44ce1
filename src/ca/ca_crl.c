/* The CRL of the active CA: reissued by the CS CRL UPDATE timer and on every revocation. */
#include "ca/ca_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/fsutil.h"

/* The revoked entries, and beside them the text of their serials (items point into serials once
 * the list is complete, as serials may still move while it grows). */
typedef struct revoked_list {
	pki_revoked *items;
	char (*serials)[STORE_SERIAL_MAX];
	size_t n, items_cap, serials_cap;
} revoked_list;

static int collect_revoked(void *ctx, const store_cert *c)
{
	revoked_list *l = ctx;
	pki_revoked *items = ec_array_room(l->items, l->n, &l->items_cap, sizeof(*items), 64);
	if (items == NULL)
		return -1;
	l->items = items;
	char(*serials)[STORE_SERIAL_MAX] = ec_array_room(l->serials, l->n, &l->serials_cap, sizeof(*serials), 64);
	if (serials == NULL)
		return -1;
	l->serials = serials;
	snprintf(l->serials[l->n], STORE_SERIAL_MAX, "%s", c->serial);
	l->items[l->n].revoked_at = c->revoked_at;
	l->n++;
	return 0;
}

static int meta_get_i64(ca_engine *ca, const char *key, int64_t *out, ec_err *err)
{
	char value[64];
	int rc = store_meta_get(ca->store, key, value, sizeof(value), err);
	if (rc != 0)
		return rc;
	char *end = NULL;
	long long v = strtoll(value, &end, 10);
	if (end == value || *end != '\0')
		return ec_err_set(err, "store metadata %s is not a number", key);
	*out = v;
	return 0;
}

static int meta_set_i64(ca_engine *ca, const char *key, int64_t v, ec_err *err)
{
	char value[32];
	snprintf(value, sizeof(value), "%" PRId64, v);
	return store_meta_set(ca->store, key, value, err);
}

static int crl_path(ca_engine *ca, char *path, size_t sz, ec_err *err)
{
	if (ca_file(ca, path, sz, "%s.crl", ca->cfg.name) != 0)
		return ec_err_set(err, "CA name too long");
	return 0;
}

int ca_crl_issue(ca_engine *ca, ec_time now, ec_err *err)
{
	int rc = -1;
	revoked_list list = {0};
	X509_CRL *crl = NULL;
	uint8_t *der = NULL;
	size_t der_len = 0;
	int64_t number = 0;
	char path[EC_PATH_MAX];
	ca_gen *g = &ca->gens[ca->active];

	if (store_cert_each_revoked(ca->store, g->serial, collect_revoked, &list, err) != 0)
		goto out;
	for (size_t i = 0; i < list.n; i++)
		list.items[i].serial_hex = list.serials[i];
	int got = meta_get_i64(ca, "crl_number", &number, err);
	if (got < 0)
		goto out;
	/* On a shared store another node may have issued one since the metadata was read. */
	if (ca->shared && ca->crl_number > number)
		number = ca->crl_number;
	number++;
	pki_crl_params p = {g->cert, g->key, ca->digest, now, now + ca->cfg.lifetime_crl,
	                    number, list.items, list.n};
	if (pki_make_crl(&p, &crl, err) != 0 || pki_crl_to_der(crl, &der, &der_len, err) != 0 ||
	    crl_path(ca, path, sizeof(path), err) != 0 ||
	    ec_write_atomic_at(&ca->dir, path, der, der_len, 0644, err) != 0 ||
	    meta_set_i64(ca, "crl_number", number, err) != 0 ||
	    meta_set_i64(ca, "crl_this_update", now, err) != 0 ||
	    meta_set_i64(ca, "crl_next_update", now + ca->cfg.lifetime_crl, err) != 0)
		goto out;
	if (ca->shared) {
		/* Another node's CRL with this number or a later one was stored first: serve that one. */
		store_crl row = {number, now, now + ca->cfg.lifetime_crl, der, der_len};
		int put = store_crl_put(ca->store, &row, err);
		if (put < 0)
			goto out;
		if (put == 1) {
			rc = ca_crl_adopt(ca, err) < 0 ? -1 : 0;
			goto out;
		}
	}
	free(ca->crl_der);
	ca->crl_der = der;
	ca->crl_len = der_len;
	der = NULL;
	ca->crl_number = number;
	ca->crl_this_update = now;
	ca->crl_next_update = now + ca->cfg.lifetime_crl;
	rc = 0;
out:
	free(list.items);
	free(list.serials);
	X509_CRL_free(crl);
	free(der);
	return rc;
}

int ca_crl_adopt(ca_engine *ca, ec_err *err)
{
	store_crl row;
	int rc = store_crl_get(ca->store, &row, err);
	if (rc != 0)
		return rc;
	X509_CRL *crl = NULL;
	if (row.number == ca->crl_number && row.this_update == ca->crl_this_update) {
		rc = 1;
	} else if (pki_crl_from_der(row.der, row.der_len, &crl, err) != 0) {
		rc = -1;
	} else if (X509_CRL_verify(crl, ca->gens[ca->active].key) != 1) {
		rc = 1; /* signed by a key this node no longer serves with: the holder reissues it */
	} else {
		free(ca->crl_der);
		ca->crl_der = row.der;
		ca->crl_len = row.der_len;
		row.der = NULL;
		ca->crl_number = row.number;
		ca->crl_this_update = row.this_update;
		ca->crl_next_update = row.next_update;
	}
	X509_CRL_free(crl);
	store_crl_free(&row);
	return rc;
}

int ca_crl_load(ca_engine *ca, ec_err *err)
{
	if (ca->shared)
		return ca_crl_adopt(ca, err) == 0 ? 0 : -1;
	char path[EC_PATH_MAX];
	int64_t number = 0, this_update = 0, next_update = 0;
	if (meta_get_i64(ca, "crl_number", &number, err) != 0 ||
	    meta_get_i64(ca, "crl_this_update", &this_update, err) != 0 ||
	    meta_get_i64(ca, "crl_next_update", &next_update, err) != 0 ||
	    crl_path(ca, path, sizeof(path), err) != 0 || !ec_file_exists_at(&ca->dir, path))
		return -1;
	uint8_t *der = NULL;
	size_t len = 0;
	if (ec_read_file_at(&ca->dir, path, 64 * 1024 * 1024, &der, &len, err) != 0)
		return -1;
	X509_CRL *crl = NULL;
	/* A CRL signed by another key than the active CA's (a switch happened) is reissued. */
	if (pki_crl_from_der(der, len, &crl, err) != 0 ||
	    X509_CRL_verify(crl, ca->gens[ca->active].key) != 1) {
		X509_CRL_free(crl);
		free(der);
		return -1;
	}
	X509_CRL_free(crl);
	free(ca->crl_der);
	ca->crl_der = der;
	ca->crl_len = len;
	ca->crl_number = number;
	ca->crl_this_update = this_update;
	ca->crl_next_update = next_update;
	return 0;
}

int ca_get_crl_der(ca_engine *ca, ca_reply *out, ec_err *err)
{
	pthread_rwlock_rdlock(&ca->lock);
	int rc = ca_reply_copy(out, CA_REPLY_CRL, ca->crl_der, ca->crl_len, err);
	pthread_rwlock_unlock(&ca->lock);
	return rc;
}
