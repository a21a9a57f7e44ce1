/*
 * ca_cluster.c - one CA on several nodes (a shared PostgreSQL store): the CA keys kept in the
 * store as encrypted PKCS#8, the lease that elects the node running the timed events (CRL
 * update, shadow generation, the switch's bookkeeping), and the refresh by which every node
 * serves what the others changed (new generations, roles, the CRL) within a second.
 *
 * Each node is told apart by its node id (hostname:pid:random), printed in the audit log when it
 * takes or loses the lease. The lease is timed by the `now` the daemon gives, so that a simulated
 * clock moves it like every other timer.
 */
#include "ca/ca_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "util/encoding.h"

int ca_cluster_init(ca_engine *ca, ec_err *err)
{
	ca->shared = store_shared(ca->store);
	if (!ca->shared)
		return 0;
	/* A random password in NAME.keypass would differ on each node: the keys in the store must
	 * decrypt under one secret that every node is given. */
	if (ca->cfg.archive_password[0] == '\0')
		return ec_err_set(err, "a CA on a shared PostgreSQL store needs `database archive pkcs12|pem "
		                  "password ...`: every node decrypts the CA keys with it");
	char host[64] = "node";
	uint8_t rnd[4];
	char tag[9];
	if (gethostname(host, sizeof(host) - 1) != 0)
		snprintf(host, sizeof(host), "node");
	host[sizeof(host) - 1] = '\0';
	if (scep_random(rnd, sizeof(rnd)) != 0)
		return ec_err_set(err, "no randomness for the node id");
	ec_hex_encode(rnd, sizeof(rnd), tag);
	snprintf(ca->node_id, sizeof(ca->node_id), "%s:%ld:%s", host, (long)getpid(), tag);
	ca_audit(ca, "shared store: this node is %s", ca->node_id);
	return 0;
}

int ca_key_put_shared(ca_engine *ca, int generation, EVP_PKEY *key, ec_err *err)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	if (bio == NULL || !i2d_PKCS8PrivateKey_bio(bio, key, EVP_aes_256_cbc(), NULL, 0, NULL, ca->key_password)) {
		BIO_free(bio);
		return ec_err_ssl(err, "encrypting the key of CA generation %d", generation);
	}
	long len = BIO_get_mem_data(bio, &data);
	int rc = store_ca_key_put(ca->store, generation, (const uint8_t *)data, (size_t)len, err);
	BIO_free(bio);
	return rc;
}

int ca_key_get_shared(ca_engine *ca, int generation, EVP_PKEY **key, ec_err *err)
{
	uint8_t *der = NULL;
	size_t len = 0;
	*key = NULL;
	int rc = store_ca_key_get(ca->store, generation, &der, &len, err);
	if (rc != 0)
		return rc;
	BIO *bio = BIO_new_mem_buf(der, (int)len);
	if (bio != NULL)
		*key = d2i_PKCS8PrivateKey_bio(bio, NULL, NULL, ca->key_password);
	BIO_free(bio);
	OPENSSL_cleanse(der, len);
	free(der);
	if (*key == NULL)
		return ec_err_ssl(err, "decrypting the key of CA generation %d from the store (is the archive "
		                  "password the same on every node?)", generation);
	return 0;
}

/* Takes or renews the lease; logs when this node takes or loses it. A store that cannot be
 * reached leaves the node without the lease: another one may hold it by now. */
static bool lead(ca_engine *ca, ec_time now)
{
	bool held = false;
	ec_err err;
	if (store_lease_acquire(ca->store, ca->cfg.name, ca->node_id, now, CA_LEASE_TTL, &held, &err) != 0) {
		ca_audit(ca, "cannot renew the lease on the timed events: %s", err.msg);
		held = false;
	}
	if (held != ca->lead)
		ca_audit(ca, "node %s %s the lease on the timed events (CRL, shadow generation, switch)", ca->node_id,
		         held ? "holds" : "no longer holds");
	ca->lead = held;
	return held;
}

/* The active generation (the newest one marked active) and the rollover one of gens. */
static void pick_roles(const ca_gen *gens, size_t n, int *active, int *rollover)
{
	*active = *rollover = -1;
	for (size_t i = 0; i < n; i++) {
		if (gens[i].role == STORE_CA_ROLLOVER)
			*rollover = (int)i;
		else if (gens[i].role == STORE_CA_ACTIVE &&
		         (*active < 0 || gens[*active].generation < gens[i].generation))
			*active = (int)i;
	}
}

/* What the store says the generations are now: those this node has are reused (index in
 * `from`), others loaded. */
typedef struct fresh_gens {
	ca_engine *ca;
	ca_gen gens[CA_MAX_GENERATIONS];
	int from[CA_MAX_GENERATIONS];
	size_t n;
	int failed;
} fresh_gens;

static int collect_row(void *ctx, const store_ca_cert *row)
{
	fresh_gens *f = ctx;
	ca_engine *ca = f->ca;
	ec_err err;
	if (f->n >= CA_MAX_GENERATIONS)
		return -1;
	ca_gen *g = &f->gens[f->n];
	f->from[f->n] = -1;
	for (size_t i = 0; i < ca->n_gens; i++) {
		if (ca->gens[i].generation == row->generation && strcmp(ca->gens[i].serial, row->serial) == 0) {
			memset(g, 0, sizeof(*g));
			g->generation = row->generation;
			g->role = row->role;
			f->from[f->n] = (int)i;
			/* A link made since by another node (a store from before links). */
			if (ca->gens[i].link == NULL && row->link_der != NULL &&
			    pki_cert_from_der(row->link_der, row->link_der_len, &g->link, &err) != 0)
				ca_audit(ca, "the link certificate of CA generation %d is unreadable: %s", row->generation,
				         err.msg);
			f->n++;
			return 0;
		}
	}
	int rc = ca_gen_load(ca, row, g, &err);
	if (rc != 0) {
		ca_audit(ca, "cannot load CA generation %d from the store: %s", row->generation, err.msg);
		f->failed = 1;
		return rc;
	}
	f->n++;
	return 0;
}

static void gen_free(ca_gen *g)
{
	X509_free(g->cert);
	X509_free(g->link);
	EVP_PKEY_free(g->key);
	memset(g, 0, sizeof(*g));
}

/* Caller holds lock (write): makes f the engine's generations, reusing what it has. */
static void adopt(ca_engine *ca, fresh_gens *f, int active, int rollover)
{
	bool kept[CA_MAX_GENERATIONS] = {false};
	for (size_t i = 0; i < f->n; i++) {
		if (f->from[i] < 0)
			continue;
		ca_gen *old = &ca->gens[f->from[i]];
		X509 *link = f->gens[i].link != NULL ? f->gens[i].link : old->link;
		if (f->gens[i].link != NULL)
			X509_free(old->link);
		enum store_ca_role role = f->gens[i].role;
		f->gens[i] = *old;
		f->gens[i].role = role;
		f->gens[i].link = link;
		kept[f->from[i]] = true;
	}
	for (size_t i = 0; i < ca->n_gens; i++)
		if (!kept[i])
			gen_free(&ca->gens[i]);
	memcpy(ca->gens, f->gens, f->n * sizeof(f->gens[0]));
	ca->n_gens = f->n;
	ca->active = active;
	ca->rollover = rollover;
}

/* Reloads the generations and the CRL when the store's state version moved. */
static int refresh(ca_engine *ca, ec_err *err)
{
	int64_t version = 0;
	if (store_state_version(ca->store, &version, err) != 0)
		return -1;
	if (version == ca->state_version)
		return 0;
	fresh_gens *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return ec_err_set(err, "out of memory");
	f->ca = ca;
	int active = -1, rollover = -1;
	int rc = store_ca_each(ca->store, collect_row, f, err);
	if (rc == 0 && !f->failed) {
		pick_roles(f->gens, f->n, &active, &rollover);
		if (active < 0 || (f->from[active] < 0 && f->gens[active].key == NULL))
			rc = ec_err_set(err, "the store has no usable active CA generation");
	} else if (rc == 0 || f->failed) {
		rc = ec_err_set(err, "reading the CA generations (see the log)");
	}
	if (rc != 0) {
		for (size_t i = 0; i < f->n; i++)
			if (f->from[i] < 0)
				gen_free(&f->gens[i]);
			else
				X509_free(f->gens[i].link);
		free(f);
		return -1;
	}
	pthread_rwlock_wrlock(&ca->lock);
	adopt(ca, f, active, rollover);
	ec_err crl_err;
	if (ca_crl_adopt(ca, &crl_err) < 0)
		ca_audit(ca, "cannot take the CRL from the store: %s", crl_err.msg);
	pthread_rwlock_unlock(&ca->lock);
	free(f);
	ca->state_version = version;
	ca_publish_rollover(ca);
	if (ca_publish_active(ca, err) != 0)
		ca_audit(ca, "cannot write the active CA certificate: %s", err->msg);
	return 0;
}

bool ca_cluster_tick(ca_engine *ca, ec_time now)
{
	ec_err err;
	ca->next_check = now + CA_CHECK_INTERVAL;
	if (refresh(ca, &err) != 0) {
		ca_audit(ca, "cannot refresh the CA state from the store: %s", err.msg);
		if (ca->lead)
			ca_audit(ca, "node %s gives up the lease on the timed events", ca->node_id);
		ca->lead = false;
		return false;
	}
	return lead(ca, now);
}

void ca_cluster_leave(ca_engine *ca)
{
	ec_err err;
	if (!ca->shared || !ca->lead)
		return;
	if (store_lease_release(ca->store, ca->cfg.name, ca->node_id, &err) != 0)
		ca_audit(ca, "cannot give the lease up: %s", err.msg);
	ca->lead = false;
}
