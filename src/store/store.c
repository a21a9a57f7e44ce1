/*
 * store.c - store.h over its backends: store_open picks the backend by the form of the URL, and
 * each store_* call goes to the operation of the same name in the backend's table. Rows are
 * plain structures, freed here whatever backend made them.
 */
#include "store/store.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_backend.h"
#include "store/store_rows.h"

struct ec_store {
	const store_ops *ops;
	store_backend *be;
};

/* The backends of this build, by URL scheme. A backend that takes the whole URL (libpq parses
 * its own connection URIs) is given it untouched; the others get what follows "scheme:". */
static const struct store_kind {
	const char *scheme;
	int (*open)(const char *target, store_backend **out, ec_err *err);
	const store_ops *ops;
	bool whole_url;
} store_kinds[] = {
	{"sqlite", store_sqlite_open, &store_sqlite_ops, false},
	{"postgresql", store_pg_open, &store_pg_ops, true},
	{"postgres", store_pg_open, &store_pg_ops, true},
};

/* The length of url's scheme ("WORD:", RFC 3986 letters), 0 when it has none. */
static size_t scheme_len(const char *url)
{
	size_t n = 0;
	if (!isalpha((unsigned char)url[0]))
		return 0;
	while (isalnum((unsigned char)url[n]) || url[n] == '+' || url[n] == '-' || url[n] == '.')
		n++;
	return url[n] == ':' ? n : 0;
}

/* The backend for url and what it opens (the part after "scheme:", or the whole plain path). */
static const struct store_kind *store_kind_of(const char *url, const char **target, ec_err *err)
{
	size_t n = scheme_len(url);
	*target = url;
	if (n == 0 || strcmp(url, STORE_SQLITE_MEMORY) == 0)
		return &store_kinds[0];
	for (size_t i = 0; i < sizeof(store_kinds) / sizeof(store_kinds[0]); i++) {
		if (strlen(store_kinds[i].scheme) == n && strncmp(url, store_kinds[i].scheme, n) == 0) {
			if (store_kinds[i].whole_url)
				return &store_kinds[i];
			*target = url + n + 1;
			if (strncmp(*target, "//", 2) == 0 && (*target)[2] == '/')
				*target += 2;   /* sqlite:///path */
			return &store_kinds[i];
		}
	}
	ec_err_set(err, "store %s: no backend for '%.*s:' in this build (sqlite:, a path or "
	            "postgresql://)", url, (int)n, url);
	return NULL;
}

int store_open(const store_config *cfg, ec_store **out, ec_err *err)
{
	const char *target = NULL;
	*out = NULL;
	if (cfg == NULL || cfg->url == NULL || cfg->url[0] == '\0')
		return ec_err_set(err, "opening the store: no URL or path given");
	const struct store_kind *kind = store_kind_of(cfg->url, &target, err);
	if (kind == NULL)
		return -1;
	if (target[0] == '\0')
		return ec_err_set(err, "store %s: no path given", cfg->url);
	ec_store *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return ec_err_set(err, "opening store %s: out of memory", cfg->url);
	if (kind->open(target, &st->be, err) != 0) {
		free(st);
		return -1;
	}
	st->ops = kind->ops;
	*out = st;
	return 0;
}

void store_close(ec_store *st)
{
	if (st == NULL)
		return;
	st->ops->close(st->be);
	free(st);
}

/* ---- dispatch ---- */

int store_reserve_serial(ec_store *st, char serial[STORE_SERIAL_MAX], ec_err *err)
{
	return st->ops->reserve_serial(st->be, serial, err);
}

int store_last_serial(ec_store *st, char serial[STORE_SERIAL_MAX], ec_err *err)
{
	return st->ops->last_serial(st->be, serial, err);
}

int store_record_issued(ec_store *st, const store_cert *cert, int64_t request_id,
                        const uint8_t *cert_der, size_t cert_der_len, ec_err *err)
{
	return st->ops->record_issued(st->be, cert, request_id, cert_der, cert_der_len, err);
}

int store_record_granted(ec_store *st, store_request *req, const store_cert *cert, const char *otp,
                         ec_err *err)
{
	return st->ops->record_granted(st->be, req, cert, otp, err);
}

unsigned store_grant_expect_begin(ec_store *st)
{
	return st != NULL && st->ops->grant_expect_begin != NULL ? st->ops->grant_expect_begin(st->be) : 0;
}

void store_grant_expect_end(ec_store *st, unsigned token)
{
	if (st != NULL && st->ops->grant_expect_end != NULL)
		st->ops->grant_expect_end(st->be, token);
}

int store_cert_get(ec_store *st, const char *serial, store_cert *out, ec_err *err)
{
	char canon[STORE_SERIAL_MAX];
	memset(out, 0, sizeof(*out));
	int rc = store_serial_arg(serial, canon, "looking up a certificate", err);
	if (rc == 0 && (rc = st->ops->cert_get(st->be, canon, out, err)) < 0)
		ec_err_wrap(err, "looking up certificate %s", canon);
	return rc;
}

int store_cert_set_revoked(ec_store *st, const char *serial, bool revoked, ec_time when, ec_err *err)
{
	char canon[STORE_SERIAL_MAX];
	int rc = store_serial_arg(serial, canon, "revoking a certificate", err);
	if (rc == 0 && (rc = st->ops->cert_set_revoked(st->be, canon, revoked, when, err)) < 0)
		ec_err_wrap(err, "%s certificate %s", revoked ? "revoking" : "unrevoking", canon);
	return rc;
}

int store_cert_each_revoked(ec_store *st, const char *issuer_serial,
                            int (*fn)(void *ctx, const store_cert *c), void *ctx, ec_err *err)
{
	return st->ops->cert_each_revoked(st->be, issuer_serial, fn, ctx, err);
}

int store_cert_count(ec_store *st, int64_t *count, ec_err *err)
{
	return st->ops->cert_count(st->be, count, err);
}

int store_request_insert(ec_store *st, store_request *req, ec_err *err)
{
	int rc = st->ops->request_insert(st->be, req, err);
	if (rc != 0)
		ec_err_wrap(err, "recording transaction %.64s", req->txid);
	return rc;
}

int store_request_find(ec_store *st, const char *txid, const char *signer_fp, store_request *out, ec_err *err)
{
	return st->ops->request_find(st->be, txid, signer_fp, out, err);
}

int store_request_get(ec_store *st, int64_t id, store_request *out, ec_err *err)
{
	return st->ops->request_get(st->be, id, out, err);
}

int store_request_set_state(ec_store *st, int64_t id, int state, int fail_info, ec_err *err)
{
	return st->ops->request_set_state(st->be, id, state, fail_info, err);
}

int store_request_each(ec_store *st, int state, int (*fn)(void *ctx, const store_request *r),
                       void *ctx, ec_err *err)
{
	return st->ops->request_each(st->be, state, fn, ctx, err);
}

int store_request_expire(ec_store *st, ec_time now, ec_err *err)
{
	return st->ops->request_expire(st->be, now, err);
}

int store_request_next_expiry(ec_store *st, int state, ec_time *at, ec_err *err)
{
	return st->ops->request_next_expiry(st->be, state, at, err);
}

int store_request_count(ec_store *st, int state, int64_t *count, ec_err *err)
{
	return st->ops->request_count(st->be, state, count, err);
}

int store_request_count_from(ec_store *st, int state, const char *source, int64_t *count, ec_err *err)
{
	return st->ops->request_count_from(st->be, state, source, count, err);
}

int store_request_count_kept_from(ec_store *st, const char *source, int64_t *count, ec_err *err)
{
	return st->ops->request_count_kept_from(st->be, source, count, err);
}

int store_purge(ec_store *st, ec_time now, ec_time keep_for, ec_err *err)
{
	return st->ops->purge(st->be, now, keep_for, err);
}

int store_refusal_record(ec_store *st, const store_refusal *r, ec_err *err)
{
	return st->ops->refusal_record(st->be, r, err);
}

int store_refusal_count(ec_store *st, int64_t *count, ec_err *err)
{
	return st->ops->refusal_count(st->be, count, err);
}

int store_ca_put(ec_store *st, const store_ca_cert *ca, ec_err *err)
{
	return st->ops->ca_put(st->be, ca, err);
}

/* The outcome of an update of one CA generation (1: there is none) as store.h says it. */
static int ca_updated(int rc, const char *doing, int generation, ec_err *err)
{
	if (rc < 0)
		return ec_err_wrap(err, "%s CA generation %d", doing, generation);
	if (rc > 0)
		return ec_err_set(err, "%s CA generation %d: no such generation", doing, generation);
	return 0;
}

int store_ca_set_role(ec_store *st, int generation, int role, ec_err *err)
{
	if (role < 0)
		return ec_err_set(err, "setting the role of CA generation %d: bad role %d", generation, role);
	return ca_updated(st->ops->ca_set_role(st->be, generation, role, err), "setting the role of", generation, err);
}

int store_ca_set_link(ec_store *st, int generation, const uint8_t *der, size_t der_len, ec_err *err)
{
	return ca_updated(st->ops->ca_set_link(st->be, generation, der, der_len, err),
	                  "storing the link certificate of", generation, err);
}

int store_ca_delete(ec_store *st, int generation, ec_err *err)
{
	if (st->ops->ca_delete(st->be, generation, err) != 0)
		return ec_err_wrap(err, "deleting CA generation %d", generation);
	return 0;
}

int store_ca_each(ec_store *st, int (*fn)(void *ctx, const store_ca_cert *ca), void *ctx, ec_err *err)
{
	return st->ops->ca_each(st->be, fn, ctx, err);
}

int store_otp_add(ec_store *st, const char *password, ec_time expires, ec_err *err)
{
	return store_otp_add_hash(password, st->ops->otp_add, st->be, expires, err);
}

int store_otp_consume(ec_store *st, const char *password, ec_time now, ec_err *err)
{
	return store_otp_call(password, st->ops->otp_consume, st->be, now, err);
}

int store_otp_check(ec_store *st, const char *password, ec_time now, ec_err *err)
{
	return store_otp_call(password, st->ops->otp_check, st->be, now, err);
}

int store_meta_get(ec_store *st, const char *key, char *value, size_t size, ec_err *err)
{
	return st->ops->meta_get(st->be, key, value, size, err);
}

int store_meta_set(ec_store *st, const char *key, const char *value, ec_err *err)
{
	return st->ops->meta_set(st->be, key, value, err);
}

bool store_shared(ec_store *st)
{
	return st->ops->shared;
}

int store_ca_key_put(ec_store *st, int generation, const uint8_t *der, size_t len, ec_err *err)
{
	return st->ops->ca_key_put(st->be, generation, der, len, err);
}

int store_ca_key_get(ec_store *st, int generation, uint8_t **der, size_t *len, ec_err *err)
{
	*der = NULL;
	*len = 0;
	return st->ops->ca_key_get(st->be, generation, der, len, err);
}

int store_ca_bootstrap_lock(ec_store *st, bool take, ec_err *err)
{
	return st->ops->ca_bootstrap_lock(st->be, take, err);
}

int store_lease_acquire(ec_store *st, const char *name, const char *holder, ec_time now, ec_time ttl,
                        bool *held, ec_err *err)
{
	*held = false;
	return st->ops->lease_acquire(st->be, name, holder, now, ttl, held, err);
}

int store_lease_release(ec_store *st, const char *name, const char *holder, ec_err *err)
{
	return st->ops->lease_release(st->be, name, holder, err);
}

int store_crl_put(ec_store *st, const store_crl *crl, ec_err *err)
{
	return st->ops->crl_put(st->be, crl, err);
}

int store_crl_get(ec_store *st, store_crl *out, ec_err *err)
{
	memset(out, 0, sizeof(*out));
	return st->ops->crl_get(st->be, out, err);
}

int store_state_version(ec_store *st, int64_t *version, ec_err *err)
{
	*version = 0;
	return st->ops->state_version(st->be, version, err);
}

/* Only SQLite keeps the database in a file of ours; another backend's has its own tools. */
int store_backup(ec_store *st, const char *path, char last_serial[STORE_SERIAL_MAX], ec_err *err)
{
	last_serial[0] = '\0';
	if (st->ops != &store_sqlite_ops) {
		ec_err_set(err, "the database is in %s, not in a file: back it up with %s", st->ops->name,
		           st->ops == &store_pg_ops ? "pg_dump" : "that database's own tools");
		return 1;
	}
	return store_sqlite_backup(st->be, path, last_serial, err);
}

/* Only SQLite's files are ours to count; PostgreSQL syncs on its own server. */
void store_get_stats(ec_store *st, store_stats *out)
{
	if (st->ops == &store_sqlite_ops)
		store_sqlite_stats(st->be, out);
	else
		*out = (store_stats){.counted = false};
}

bool store_err_unavailable(const ec_err *err)
{
	return err != NULL && strstr(err->msg, STORE_UNAVAILABLE) != NULL;
}

void store_crl_free(store_crl *crl)
{
	if (crl == NULL)
		return;
	free(crl->der);
	crl->der = NULL;
	crl->der_len = 0;
}

/* ---- rows ---- */

int store_row_visit(enum store_row_kind kind, store_row_fn fn, void *ctx, void *row, int rc)
{
	switch (kind) {
	case STORE_ROW_CERT:
		rc = rc != 0 ? rc : fn.cert(ctx, row);
		store_cert_free(row);
		break;
	case STORE_ROW_REQUEST:
		rc = rc != 0 ? rc : fn.request(ctx, row);
		store_request_free(row);
		break;
	case STORE_ROW_CA:
		rc = rc != 0 ? rc : fn.ca(ctx, row);
		store_ca_cert_free(row);
		break;
	}
	return rc;
}

void store_cert_free(store_cert *c)
{
	if (c == NULL)
		return;
	free(c->der);
	c->der = NULL;
	c->der_len = 0;
}

void store_request_free(store_request *r)
{
	if (r == NULL)
		return;
	free(r->csr_der);
	free(r->signer_der);
	free(r->cert_der);
	r->csr_der = r->signer_der = r->cert_der = NULL;
	r->csr_der_len = r->signer_der_len = r->cert_der_len = 0;
}

void store_ca_cert_free(store_ca_cert *ca)
{
	if (ca == NULL)
		return;
	free(ca->der);
	free(ca->link_der);
	ca->der = ca->link_der = NULL;
	ca->der_len = ca->link_der_len = 0;
}
