/* Rollover (SPEC §6.4, §6.5, §6.7): the successor CA certificate, GetNextCACert, the switch. */
#include "ca/ca_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ca/retry_spread.h"
#include "util/fsutil.h"
#include "util/task.h"

/* Without auto-rollover an early GetNextCACert is told to come back in a day. */
#define CA_NEXTCA_DEFAULT_RETRY_SECONDS 86400

ec_time ca_shadow_generation_time(const ca_engine *ca)
{
	if (!ca->cfg.auto_rollover || ca->rollover >= 0)
		return INT64_MAX;
	return ca->gens[ca->active].not_after - ca->cfg.auto_rollover_period;
}

static int next_generation(const ca_engine *ca)
{
	int g = 0;
	for (size_t i = 0; i < ca->n_gens; i++)
		if (ca->gens[i].generation >= g)
			g = ca->gens[i].generation + 1;
	return g;
}

EVP_PKEY *ca_rollover_key(const ca_engine *ca, ec_err *err)
{
	int bits = ca->env.rollover_key_bits > 0 ? ca->env.rollover_key_bits : CFG_RSA_BITS_DEFAULT;
	EVP_PKEY *key = NULL;
	ec_task_detach(EC_DETACH_COMPUTE);
	int rc = pki_key_generate(bits, &key, err);
	ec_task_attach();
	return rc == 0 ? key : NULL;
}

int ca_rollover_create(ca_engine *ca, ec_time now, EVP_PKEY *key, ec_err *err)
{
	if (ca->rollover >= 0) {
		EVP_PKEY_free(key);
		return ec_err_set(err, "a rollover CA certificate already exists");
	}
	ca_audit(ca, "key '%s#' does not exist; generated automatically", ca->cfg.name);
	if (ca_create_generation(ca, next_generation(ca), STORE_CA_ROLLOVER,
	                         ca->gens[ca->active].not_after, now, &ca->gens[ca->active], key, err) != 0)
		return -1;
	ca->rollover = (int)ca->n_gens - 1;
	ca_audit(ca, "shadow CA successfully created, serial %s", ca->gens[ca->rollover].serial);
	ca_publish_rollover(ca);
	return 0;
}

int ca_rollover_switch(ca_engine *ca, ec_time now, bool record, ec_err *err)
{
	if (ca->rollover < 0)
		return ec_err_set(err, "no rollover CA certificate to switch to");
	ca_gen *old = &ca->gens[ca->active];
	ca_gen *next = &ca->gens[ca->rollover];
	/* New active first: a crash between the two leaves two active rows, and the newest wins
	 * at the next start (ca_open retires the other). */
	if (record && (store_ca_set_role(ca->store, next->generation, STORE_CA_ACTIVE, err) != 0 ||
	               store_ca_set_role(ca->store, old->generation, STORE_CA_RETIRED, err) != 0))
		return -1;
	old->role = STORE_CA_RETIRED;
	next->role = STORE_CA_ACTIVE;
	ca->active = ca->rollover;
	ca->rollover = -1;
	ca_audit(ca, "CA certificate %s expired; rollover CA certificate %s is now active",
	         old->serial, next->serial);
	ca_publish_rollover(ca);
	if (ca_publish_active(ca, err) != 0)
		return -1;
	/* A node that does not record serves the old CRL until the holder's new one reaches it. */
	return record ? ca_crl_issue(ca, now, err) : 0;
}

static int count_shadow(void *ctx, const store_request *r)
{
	struct { const char *serial; int64_t n; } *c = ctx;
	if (strcmp(r->ca_serial, c->serial) == 0)
		c->n++;
	return 0;
}

int ca_cmd_rollover(ca_engine *ca, ec_time now, ec_buf *out, ec_err *err)
{
	pthread_rwlock_rdlock(&ca->lock);
	bool exists = ca->rollover >= 0;
	pthread_rwlock_unlock(&ca->lock);
	EVP_PKEY *key = exists ? NULL : ca_rollover_key(ca, err);
	if (!exists && key == NULL)
		return -1;
	pthread_rwlock_wrlock(&ca->lock);
	int rc = ca_rollover_create(ca, now, key, err);
	if (rc == 0) {
		char nb[EC_TIME_TEXT_MAX], na[EC_TIME_TEXT_MAX];
		ca_gen *g = &ca->gens[ca->rollover];
		ec_time_format_router(g->not_before, nb);
		ec_time_format_router(g->not_after, na);
		if (ec_buf_printf(out, "Rollover CA certificate created: serial %s, valid %s to %s\n",
		                  g->serial, nb, na) != 0)
			rc = ec_err_set(err, "output too long");
	}
	pthread_rwlock_unlock(&ca->lock);
	return rc;
}

int ca_cmd_rollover_cancel(ca_engine *ca, bool confirmed, ec_time now, ec_buf *out, ec_err *err)
{
	int rc = -1;
	pthread_rwlock_wrlock(&ca->lock);
	if (ca->rollover < 0) {
		ec_err_set(err, "there is no rollover CA certificate to cancel");
		goto out;
	}
	ca_gen *g = &ca->gens[ca->rollover];
	struct { const char *serial; int64_t n; } count = {g->serial, 0};
	if (store_request_each(ca->store, STORE_REQ_GRANTED, count_shadow, &count, err) != 0)
		goto out;
	if (!confirmed) {
		if (ec_buf_printf(out, "The rollover CA certificate %s has issued %lld shadow certificate(s).\n"
		                  "Cancelling deletes its key and certificate: clients holding them must "
		                  "re-enroll.\n", g->serial, (long long)count.n) != 0)
			ec_err_set(err, "output too long");
		else
			rc = 0;
		goto out;
	}
	char key_path[EC_PATH_MAX];
	if (store_ca_delete(ca->store, g->generation, err) != 0 ||
	    ca_gen_files(ca, g->generation, key_path, NULL, sizeof(key_path)) != 0)
		goto out;
	ec_unlink_at(&ca->dir, key_path);
	ca_key_time_forget(ca, g->generation);
	ca_audit(ca, "rollover CA certificate %s cancelled by the operator (%lld shadow certificate(s) "
	         "had been issued)", g->serial, (long long)count.n);
	if (ec_buf_printf(out, "Rollover CA certificate %s deleted; %lld shadow certificate(s) it issued "
	                  "are orphaned.\n", g->serial, (long long)count.n) != 0)
		goto out;
	X509_free(g->cert);
	X509_free(g->link);
	EVP_PKEY_free(g->key);
	ca->gens[ca->rollover] = ca->gens[--ca->n_gens];
	if (ca->active == (int)ca->n_gens)
		ca->active = ca->rollover;
	ca->rollover = -1;
	ca_publish_rollover(ca);
	rc = 0;
	(void)now;
out:
	pthread_rwlock_unlock(&ca->lock);
	return rc;
}

/* No rollover CA certificate yet: a moment within the window after the shadow generation, or a
 * default. The moment is the request's own (retry_spread.h): a fleet told the same instant would
 * come back within one second. */
static int reply_not_yet(ca_engine *ca, ec_time now, const char *source, ca_reply *out, ec_err *err)
{
	ec_time at = ca_shadow_generation_time(ca);
	int64_t secs = at == INT64_MAX ? CA_NEXTCA_DEFAULT_RETRY_SECONDS
	                               : retry_spread_seconds(now, at, retry_spread_window(ca->cfg.auto_rollover_period),
	                                                      retry_spread_key(source, now));
	uint_fast64_t slot = atomic_fetch_add(&ca->early_n, 1) % CA_EARLY_RING;
	atomic_store(&ca->early_at[slot], now);
	char text[160];
	int n = snprintf(text, sizeof(text), "no rollover CA certificate yet; retry in %lld seconds\n", (long long)secs);
	if (ca_reply_copy(out, CA_REPLY_NOT_YET, text, (size_t)n, err) != 0)
		return -1;
	out->retry_after_seconds = secs;
	return 0;
}

int ca_get_next_ca_cert(ca_engine *ca, ec_time now, const char *source, ca_reply *out, ec_err *err)
{
	int rc = -1;
	STACK_OF(X509) *certs = NULL;
	uint8_t *body = NULL;
	size_t len = 0;
	pthread_rwlock_rdlock(&ca->lock);
	if (ca->rollover < 0) {
		rc = reply_not_yet(ca, now, source, out, err);
		goto out;
	}
	ca_gen *a = &ca->gens[ca->active];
	certs = sk_X509_new_null();
	if (certs == NULL || !sk_X509_push(certs, ca->gens[ca->rollover].cert)) {
		ec_err_set(err, "out of memory");
		goto out;
	}
	if (scep_nextca_build(a->cert, a->key, EVP_sha256(), certs, &body, &len, err) != 0)
		goto out;
	rc = ca_reply_take(out, CA_REPLY_NEXT_CA, body, len, err);
out:
	sk_X509_free(certs); /* the certificate is borrowed */
	pthread_rwlock_unlock(&ca->lock);
	return rc;
}
