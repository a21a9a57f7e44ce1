#include "ca/ca_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "util/encoding.h"
#include "util/fsutil.h"
#include "util/logtext.h"

int ca_file(const ca_engine *ca, char *out, size_t outsz, const char *fmt, ...)
{
	(void)ca;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, outsz, fmt, ap);
	va_end(ap);
	return (n < 0 || (size_t)n >= outsz || strchr(out, '/') != NULL) ? -1 : 0;
}

int ca_gen_files(const ca_engine *ca, int generation, char *key_name, char *cert_name, size_t sz)
{
	if (key_name != NULL && ca_file(ca, key_name, sz, "%s.%d.key", ca->cfg.name, generation) != 0)
		return -1;
	if (cert_name != NULL && ca_file(ca, cert_name, sz, "%s.%d.pem", ca->cfg.name, generation) != 0)
		return -1;
	return 0;
}

void ca_audit(ca_engine *ca, const char *fmt, ...)
{
	if (ca->env.audit == NULL)
		return;
	va_list ap;
	va_start(ap, fmt);
	ec_log_vline(ca->env.audit, ca->env.audit_ctx, "CA", ca->cfg.name, fmt, ap);
	va_end(ap);
}

pthread_mutex_t *ca_tx_lock(ca_engine *ca, const char *txid)
{
	uint32_t h = 2166136261u; /* FNV-1a: spreads transactionIDs over the stripes */
	for (const unsigned char *p = (const unsigned char *)txid; *p; p++)
		h = (h ^ *p) * 16777619u;
	return &ca->tx_locks[h % CA_TX_STRIPES];
}

ca_gen *ca_gen_by_serial(ca_engine *ca, const char *serial)
{
	for (size_t i = 0; i < ca->n_gens; i++)
		if (strcmp(ca->gens[i].serial, serial) == 0)
			return &ca->gens[i];
	return NULL;
}

const char *ca_name(const ca_engine *ca)
{
	return ca->cfg.name;
}

const EVP_MD *ca_digest_for(int hash)
{
	switch (hash) {
	case CFG_HASH_SHA1: return EVP_sha1();
	case CFG_HASH_SHA384: return EVP_sha384();
	case CFG_HASH_SHA512: return EVP_sha512();
	default: return EVP_sha256();
	}
}

/* The secret that encrypts CA keys at rest: the archive password, or a random one kept in a
 * private file beside the keys. */
static int load_key_password(ca_engine *ca, ec_err *err)
{
	if (ca->cfg.archive_password[0] != '\0') {
		snprintf(ca->key_password, sizeof(ca->key_password), "%s", ca->cfg.archive_password);
		return 0;
	}
	char path[EC_PATH_MAX];
	if (ca_file(ca, path, sizeof(path), "%s.keypass", ca->cfg.name) != 0)
		return ec_err_set(err, "CA name too long");
	if (ec_file_exists_at(&ca->dir, path)) {
		uint8_t *data = NULL;
		size_t len = 0;
		if (ec_read_private_at(&ca->dir, path, 255, &data, &len, err) != 0)
			return -1;
		while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
			len--;
		data[len] = '\0';
		snprintf(ca->key_password, sizeof(ca->key_password), "%s", (char *)data);
		OPENSSL_cleanse(data, len);
		free(data);
		if (ca->key_password[0] == '\0')
			return ec_err_set(err, "%s is empty", path);
		return 0;
	}
	uint8_t rnd[32];
	if (scep_random(rnd, sizeof(rnd)) != 0)
		return ec_err_set(err, "no randomness for the key password");
	ec_hex_encode(rnd, sizeof(rnd), ca->key_password);
	OPENSSL_cleanse(rnd, sizeof(rnd));
	return ec_write_atomic_at(&ca->dir, path, ca->key_password, strlen(ca->key_password), 0600, err);
}

static int archive_generation(ca_engine *ca, const ca_gen *g, ec_err *err)
{
	bool pem = ca->cfg.archive_format == CFG_ARCHIVE_PEM;
	char path[EC_PATH_MAX];
	int rc = g->generation == 0
	             ? ca_file(ca, path, sizeof(path), "%s.%s", ca->cfg.name, pem ? "pem.archive" : "p12")
	             : ca_file(ca, path, sizeof(path), "%s_%05d.%s", ca->cfg.name, g->generation,
	                       pem ? "pem.archive" : "p12");
	if (rc != 0)
		return ec_err_set(err, "archive path too long");
	char label[CFG_NAME_MAX + 2];
	bool shadow = g->role == STORE_CA_ROLLOVER;
	snprintf(label, sizeof(label), "%s%s", ca->cfg.name, shadow ? "#" : "");
	/* The router's lines, so that an operator sees where the shadow CA's archive went. */
	if (shadow)
		ca_audit(ca, "exporting shadow CA key and cert");
	rc = pem ? pki_export_pem_at(&ca->dir, path, g->key, g->cert, ca->key_password, err)
	         : pki_export_pkcs12_at(&ca->dir, path, label, g->key, g->cert, ca->key_password, err);
	if (shadow && rc == 0)
		ca_audit(ca, "file opened: %s/%s", ca->dir.path, path);
	return rc;
}

/* Writes NAME.pem, the active CA certificate in PEM, for people and scripts. */
int ca_publish_active(ca_engine *ca, ec_err *err)
{
	char path[EC_PATH_MAX];
	if (ca_file(ca, path, sizeof(path), "%s.pem", ca->cfg.name) != 0)
		return ec_err_set(err, "CA name too long");
	return pki_cert_save_pem_at(&ca->dir, path, ca->gens[ca->active].cert, 0644, err);
}

/* One row: the generation's certificate with its link certificate, if any. */
static int store_generation(ca_engine *ca, const ca_gen *g, ec_err *err)
{
	store_ca_cert row = {.generation = g->generation, .role = g->role, .not_before = g->not_before,
	                     .not_after = g->not_after};
	snprintf(row.serial, sizeof(row.serial), "%s", g->serial);
	int rc = -1;
	if (pki_cert_to_der(g->cert, &row.der, &row.der_len, err) == 0 &&
	    (g->link == NULL || pki_cert_to_der(g->link, &row.link_der, &row.link_der_len, err) == 0))
		rc = store_ca_put(ca->store, &row, err);
	store_ca_cert_free(&row);
	return rc;
}

int ca_create_generation(ca_engine *ca, int generation, int role, ec_time not_before, ec_time now,
                         const ca_gen *endorser, EVP_PKEY *key, ec_err *err)
{
	int rc = -1;
	ca_gen g = {.generation = generation, .role = role, .key = key};
	X509_NAME *subject = NULL;
	char key_path[EC_PATH_MAX];
	char subject_text[CFG_TEXT_MAX + 8];

	if (ca->n_gens >= CA_MAX_GENERATIONS) {
		ec_err_set(err, "too many CA generations");
		goto out;
	}
	if (ca->cfg.issuer_name[0] != '\0')
		snprintf(subject_text, sizeof(subject_text), "%s", ca->cfg.issuer_name);
	else
		snprintf(subject_text, sizeof(subject_text), "CN=%s", ca->cfg.name);
	int bits = role == STORE_CA_ROLLOVER ? ca->env.rollover_key_bits : ca->env.default_key_bits;
	if (pki_name_parse(subject_text, &subject, err) != 0 ||
	    (g.key == NULL && pki_key_generate(bits > 0 ? bits : CFG_RSA_BITS_DEFAULT, &g.key, err) != 0) ||
	    store_reserve_serial(ca->store, g.serial, err) != 0)
		goto out;
	/* Certificates carry whole seconds; the engine's copy of the dates must match them. */
	g.not_before = not_before - not_before % 1000;
	g.not_after = g.not_before + ca->cfg.lifetime_ca_certificate;
	pki_ca_params p = {subject, g.key, g.serial, g.not_before, g.not_after, ca->digest};
	if (pki_make_ca_cert(&p, &g.cert, err) != 0 ||
	    (endorser != NULL && ca_link_make(ca, endorser, &g, now, err) != 0) ||
	    ca_gen_files(ca, generation, key_path, NULL, sizeof(key_path)) != 0 ||
	    pki_key_save_at(&ca->dir, key_path, g.key, ca->key_password, err) != 0 ||
	    archive_generation(ca, &g, err) != 0 ||
	    (ca->shared && ca_key_put_shared(ca, generation, g.key, err) != 0) ||
	    store_generation(ca, &g, err) != 0)
		goto out;
	ca->gens[ca->n_gens++] = g;
	memset(&g, 0, sizeof(g));
	ca_key_time_record(ca, generation, now);
	char nb[EC_TIME_TEXT_MAX], na[EC_TIME_TEXT_MAX];
	ec_time_format_iso(ca->gens[ca->n_gens - 1].not_before, nb);
	ec_time_format_iso(ca->gens[ca->n_gens - 1].not_after, na);
	ca_audit(ca, "CA certificate generation %d created: serial %s, valid %s to %s", generation,
	         ca->gens[ca->n_gens - 1].serial, nb, na);
	rc = 0;
out:
	X509_NAME_free(subject);
	X509_free(g.cert);
	X509_free(g.link);
	EVP_PKEY_free(g.key);
	return rc;
}

int ca_gen_load(ca_engine *ca, const store_ca_cert *row, ca_gen *g, ec_err *err)
{
	memset(g, 0, sizeof(*g));
	g->generation = row->generation;
	g->role = row->role;
	g->not_before = row->not_before;
	g->not_after = row->not_after;
	snprintf(g->serial, sizeof(g->serial), "%s", row->serial);
	if (pki_cert_from_der(row->der, row->der_len, &g->cert, err) != 0)
		return -1;
	/* A link that does not parse is as good as none: one is made again below if it can be. */
	ec_err link_err;
	if (row->link_der != NULL && pki_cert_from_der(row->link_der, row->link_der_len, &g->link, &link_err) != 0)
		ca_audit(ca, "the link certificate of CA generation %d is unreadable: %s", row->generation, link_err.msg);
	char key_path[EC_PATH_MAX];
	int rc = 0;
	if (ca_gen_files(ca, row->generation, key_path, NULL, sizeof(key_path)) == 0 &&
	    ec_file_exists_at(&ca->dir, key_path))
		rc = pki_key_load_at(&ca->dir, key_path, ca->key_password, &g->key, err);
	else if (ca->shared)
		rc = ca_key_get_shared(ca, row->generation, &g->key, err) < 0 ? -1 : 0;
	if (rc != 0) {
		X509_free(g->cert);
		X509_free(g->link);
		g->cert = g->link = NULL;
		return -2;
	}
	return 0;
}

static int load_generation(void *ctx, const store_ca_cert *row)
{
	ca_engine *ca = ctx;
	ec_err err;
	if (ca->n_gens >= CA_MAX_GENERATIONS)
		return -1;
	int rc = ca_gen_load(ca, row, &ca->gens[ca->n_gens], &err);
	if (rc == -2)
		ca_audit(ca, "cannot load CA key of generation %d: %s", row->generation, err.msg);
	if (rc != 0)
		return rc;
	ca->n_gens++;
	return 0;
}

static int find_roles(ca_engine *ca, ec_err *err)
{
	ca->active = -1;
	ca->rollover = -1;
	for (size_t i = 0; i < ca->n_gens; i++) {
		ca_gen *g = &ca->gens[i];
		if (g->role == STORE_CA_ROLLOVER) {
			ca->rollover = (int)i;
			continue;
		}
		if (g->role != STORE_CA_ACTIVE)
			continue;
		/* Two active generations mean a switch was cut short: the newer one won. */
		if (ca->active >= 0) {
			ca_gen *older = &ca->gens[ca->active];
			if (older->generation > g->generation)
				older = g;
			if (store_ca_set_role(ca->store, older->generation, STORE_CA_RETIRED, err) != 0)
				return -1;
			older->role = STORE_CA_RETIRED;
		}
		if (g->role == STORE_CA_ACTIVE)
			ca->active = (int)i;
	}
	if (ca->active < 0)
		return ec_err_set(err, "the store has CA certificates but none is active");
	if (ca->gens[ca->active].key == NULL)
		return ec_err_set(err, "the key of the active CA certificate (generation %d) is missing",
		                  ca->gens[ca->active].generation);
	if (ca->rollover >= 0 && ca->gens[ca->rollover].key == NULL)
		return ec_err_set(err, "the key of the rollover CA certificate is missing");
	return 0;
}

static int load_and_create(ca_engine *ca, ec_time now, ec_err *err);

/* Nodes of a shared store that start at once on an empty database make one first generation:
 * creation is serialised by the store's lock, and whoever comes second finds it made. The state
 * version is read before the generations, so that a change made meanwhile is seen at the first
 * refresh. */
static int load_or_create(ca_engine *ca, ec_time now, ec_err *err)
{
	if (ca->shared && (store_state_version(ca->store, &ca->state_version, err) != 0 ||
	                   store_ca_bootstrap_lock(ca->store, true, err) != 0))
		return ec_err_wrap(err, "loading CA certificates");
	int rc = load_and_create(ca, now, err);
	ec_err unlock_err;
	if (ca->shared && store_ca_bootstrap_lock(ca->store, false, &unlock_err) != 0 && rc == 0)
		rc = ec_err_set(err, "%s", unlock_err.msg);
	if (rc != 0)
		return -1;
	if (find_roles(ca, err) != 0)
		return -1;
	ca_links_complete(ca, now);
	return 0;
}

static int load_and_create(ca_engine *ca, ec_time now, ec_err *err)
{
	int rc = store_ca_each(ca->store, load_generation, ca, err);
	if (rc == -2)
		return ec_err_set(err, "cannot load the CA keys from %s (see the log)", ca->dir.path);
	if (rc != 0)
		return ec_err_wrap(err, "loading CA certificates");
	if (ca->n_gens == 0) {
		if (ca_create_generation(ca, 0, STORE_CA_ACTIVE, now, now, NULL, NULL, err) != 0)
			return ec_err_wrap(err, "creating the CA");
		ca_audit(ca, "key '%s' generated; self-signed CA certificate created", ca->cfg.name);
	}
	return 0;
}

/* The CA directory, resolved and opened once: a `database url` directory is the operator's, but
 * it must still be closed to others, and so must every directory above it. */
static int open_dir(ca_engine *ca, ec_err *err)
{
	bool others_enter = false;
	if (ca->cfg.database_path[0] != '\0')
		return ec_dir_open(&ca->dir, ca->cfg.database_path, 0700, &others_enter, err);
	if (ca->env.state != NULL)
		return ec_dir_open_sub(&ca->dir, ca->env.state, ca->cfg.name, 0700, err);
	char path[EC_PATH_MAX];
	if (ec_path_join(path, sizeof(path), ca->env.state_dir, ca->cfg.name) != 0)
		return ec_err_set(err, "CA directory path too long");
	return ec_dir_open(&ca->dir, path, 0700, &others_enter, err);
}

/* The store is NAME.db in the CA directory, opened by its path: the resolved one, under
 * components that only root or we can change, and never a symbolic link or anything but a
 * regular file at the last step. A store given by the host (ca_env.store) is used instead, and
 * a `database url postgresql://...` names a PostgreSQL store shared with other CA nodes. */
static int open_store(ca_engine *ca, ec_err *err)
{
	if (ca->store != NULL)
		return 0;
	if (ca->cfg.database_store_url[0] != '\0')
		return store_open(&(store_config){.url = ca->cfg.database_store_url}, &ca->store, err);
	char name[EC_PATH_MAX], db[EC_PATH_MAX];
	struct stat st;
	if (ca_file(ca, name, sizeof(name), "%s.db", ca->cfg.name) != 0 ||
	    ec_path_join(db, sizeof(db), ca->dir.path, name) != 0)
		return ec_err_set(err, "CA directory path too long");
	if (fstatat(ca->dir.fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode))
		return ec_err_set(err, "%s is not a regular file%s: refusing to open it", db,
		                  S_ISLNK(st.st_mode) ? " but a symbolic link" : "");
	if (store_open(&(store_config){.url = db}, &ca->store, err) != 0)
		return -1;
	if (fstatat(ca->dir.fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
		return ec_err_set(err, "%s is not a regular file after opening it", db);
	return 0;
}

int ca_open(const cfg_server *cfg, const ca_env *env, ec_time now, ca_engine **out, ec_err *err)
{
	*out = NULL;
	ca_engine *ca = calloc(1, sizeof(*ca));
	if (ca == NULL) {
		store_close(env->store);
		return ec_err_set(err, "out of memory");
	}
	ca->cfg = *cfg;
	ca->env = *env;
	ca->store = env->store;
	ca->digest = ca_digest_for(cfg->hash);
	ca->rules = (pki_issuance_rules){cfg->issuance_rsa_min_bits, cfg->issuance_rsa_max_bits,
	                                 cfg->issuance_allow_uri};
	ca->shutdown = cfg->shutdown;
	ca->active = ca->rollover = -1;
	pthread_rwlock_init(&ca->lock, NULL);
	for (size_t i = 0; i < CA_TX_STRIPES; i++)
		pthread_mutex_init(&ca->tx_locks[i], NULL);
	ca->dir.fd = -1;
	if (scep_init(err) != 0 || open_dir(ca, err) != 0 || open_store(ca, err) != 0 ||
	    ca_cluster_init(ca, err) != 0 || load_key_password(ca, err) != 0 ||
	    load_or_create(ca, now, err) != 0 || ca_publish_active(ca, err) != 0)
		goto fail;
	ca_publish_rollover(ca);
	if (ca_crl_load(ca, err) != 0 && ca_crl_issue(ca, now, err) != 0)
		goto fail;
	*out = ca;
	return 0;
fail:
	ec_err_wrap(err, "certificate server %s", cfg->name);
	ca_close(ca);
	return -1;
}

/* What the store made the disk do since start, once at the end: the grouping of its commits. */
static void log_store_stats(ca_engine *ca)
{
	store_stats s;
	if (ca->store == NULL)
		return;
	store_get_stats(ca->store, &s);
	if (s.counted && s.grants > 0)
		ca_audit(ca, "store: %llu certificates recorded in %llu group commits; %llu commits, %llu fdatasyncs, "
		         "%llu WAL pages (%llu bytes) since start", (unsigned long long)s.grants,
		         (unsigned long long)s.grant_groups, (unsigned long long)s.commits,
		         (unsigned long long)s.fdatasyncs, (unsigned long long)s.wal_frames,
		         (unsigned long long)s.wal_bytes);
}

void ca_close(ca_engine *ca)
{
	if (ca == NULL)
		return;
	ca_cluster_leave(ca);
	for (size_t i = 0; i < ca->n_gens; i++) {
		X509_free(ca->gens[i].cert);
		X509_free(ca->gens[i].link);
		EVP_PKEY_free(ca->gens[i].key);
	}
	free(ca->crl_der);
	log_store_stats(ca);
	store_close(ca->store);
	ec_dir_close(&ca->dir);
	OPENSSL_cleanse(ca->key_password, sizeof(ca->key_password));
	pthread_rwlock_destroy(&ca->lock);
	for (size_t i = 0; i < CA_TX_STRIPES; i++)
		pthread_mutex_destroy(&ca->tx_locks[i]);
	free(ca);
}

X509 *ca_active_cert(ca_engine *ca)
{
	return ca->gens[ca->active].cert;
}

int ca_fingerprint(ca_engine *ca, char *out, size_t outsz)
{
	pthread_rwlock_rdlock(&ca->lock);
	int rc = ec_cert_fingerprint(ca->gens[ca->active].cert, EVP_sha256(), out, outsz);
	pthread_rwlock_unlock(&ca->lock);
	return rc;
}

int ca_reply_take(ca_reply *out, ca_reply_kind kind, uint8_t *body, size_t len, ec_err *err)
{
	memset(out, 0, sizeof(*out));
	out->kind = kind;
	if (body == NULL)
		return ec_err_set(err, "out of memory");
	out->body = body;
	out->body_len = len;
	return 0;
}

int ca_reply_copy(ca_reply *out, ca_reply_kind kind, const void *data, size_t len, ec_err *err)
{
	uint8_t *body = malloc(len ? len : 1);
	if (body != NULL)
		memcpy(body, data, len);
	return ca_reply_take(out, kind, body, len, err);
}

void ca_reply_free(ca_reply *r)
{
	free(r->body);
	r->body = NULL;
	r->body_len = 0;
}
