/* `show crypto pki server`, `show crypto pki certificates`, `show crypto key mypubkey rsa`. */
#include "ca/ca_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pki/cert_show.h"
#include "util/encoding.h"
#include "util/json.h"

static const char *grant_text(const cfg_server *cfg, char *buf, size_t sz)
{
	switch (cfg->grant) {
	case CFG_GRANT_AUTO: return "auto";
	case CFG_GRANT_NONE: return "none";
	case CFG_GRANT_AUTO_TRUSTPOINT:
		snprintf(buf, sz, "auto for requests signed by trustpoint %s", cfg->grant_trustpoints[0]);
		for (size_t i = 1; i < cfg->n_grant_trustpoints; i++) {
			size_t used = strlen(buf);
			snprintf(buf + used, sz - used, ", %s", cfg->grant_trustpoints[i]);
		}
		return buf;
	default: return "manual";
	}
}

static const char *level_text(int level)
{
	switch (level) {
	case CFG_DB_NAMES: return "Names - serial number and subject name of issued certs";
	case CFG_DB_COMPLETE: return "Complete - all issued certs written as <serialnum>.cer";
	default: return "Minimum - serial number and state of issued certs";
	}
}

/* Room for a Storage line's text: a path in the CA directory and a note. */
#define STORAGE_TEXT_MAX (2 * EC_PATH_MAX)

static int fp_text(X509 *cert, const EVP_MD *md, char *out, size_t sz)
{
	return ec_cert_fingerprint(cert, md, out, sz);
}

/* "N days[ H hours M minutes]" and the end of the line. */
static int period_line(ec_buf *out, ec_time p)
{
	if (ec_buf_printf(out, "%lld days", (long long)(p / EC_MS_PER_DAY)) ||
	    (p % EC_MS_PER_DAY && ec_buf_printf(out, " %lld hours %lld minutes",
	                                        (long long)(p % EC_MS_PER_DAY / EC_MS_PER_HOUR),
	                                        (long long)(p % EC_MS_PER_HOUR / EC_MS_PER_MINUTE))))
		return -1;
	return ec_buf_printf(out, "\n");
}

/* The issuer name in effect: the configured one, else CN=NAME (as the CA certificate has it). */
static const char *issuer_text(const ca_engine *ca, char *buf, size_t sz)
{
	if (ca->cfg.issuer_name[0] != '\0')
		return ca->cfg.issuer_name;
	snprintf(buf, sz, "CN=%s", ca->cfg.name);
	return buf;
}

/* Status, State and the lock line. While shut down the router's configuration is unlocked;
 * without an authoritative clock (SPEC §2) requests are still answered but no timer runs (CRL
 * updates, shadow generation, the switch), which State says after the router's " - " form. */
static int state_lines(ca_engine *ca, unsigned flags, ec_buf *out)
{
	const char *state = ca->shutdown ? "disabled" : "enabled";
	return ec_buf_printf(out, "Certificate Server %s:\n    Status: %s\n    State: %s%s\n", ca->cfg.name, state, state,
	                     (flags & CA_SHOW_CLOCK_UNSET) ? " - clock not authoritative" : "") ||
	       ec_buf_printf(out, ca->shutdown ? "    Server's configuration is unlocked (enter \"no shut\" to lock it)\n"
	                                       : "    Server's configuration is locked (enter \"shut\" to unlock it)\n");
}

static int md5_line(ec_buf *out, const char *what, X509 *cert)
{
	char md5[160];
	return fp_text(cert, EVP_md5(), md5, sizeof(md5)) != 0 || ec_buf_printf(out, "    %s (MD5): %s\n", what, md5) ? -1 : 0;
}

static int rollover_lines(ca_engine *ca, unsigned flags, ec_buf *out)
{
	if (ca->rollover < 0)
		return ec_buf_printf(out, "    Rollover status: not available\n");
	ca_gen *r = &ca->gens[ca->rollover];
	char fp[160], t[EC_TIME_TEXT_MAX];
	if (fp_text(r->cert, EVP_sha256(), fp, sizeof(fp)) != 0)
		return -1;
	ec_time_format_router(r->not_after, t);
	return ec_buf_printf(out, "    Rollover status: available for rollover\n"
	                     "    Rollover CA certificate fingerprint: %s\n", fp) ||
	       ((flags & CA_SHOW_MD5) && md5_line(out, "Rollover CA certificate fingerprint", r->cert)) ||
	       ec_buf_printf(out, "    Rollover CA certificate expiration time: %s\n", t) ? -1 : 0;
}

static int show_server_text(ca_engine *ca, unsigned flags, ec_buf *out)
{
	ca_gen *a = &ca->gens[ca->active];
	char grant[512], issuer[CFG_NAME_MAX + 4], fp[160], last[STORE_SERIAL_MAX], t1[EC_TIME_TEXT_MAX],
	    t2[EC_TIME_TEXT_MAX];
	ec_err err;
	if (fp_text(a->cert, EVP_sha256(), fp, sizeof(fp)) != 0 || store_last_serial(ca->store, last, &err) != 0)
		return -1;
	ec_time_format_router(a->not_after, t1);
	ec_time_format_router(ca->crl_next_update, t2);
	if (state_lines(ca, flags, out) ||
	    ec_buf_printf(out, "    Issuer name: %s\n    CA cert fingerprint: %s\n",
	                  issuer_text(ca, issuer, sizeof(issuer)), fp) ||
	    ((flags & CA_SHOW_MD5) && md5_line(out, "CA cert fingerprint", a->cert)) ||
	    ec_buf_printf(out, "    Granting mode is: %s\n", grant_text(&ca->cfg, grant, sizeof(grant))) ||
	    ec_buf_printf(out, "    Last certificate issued serial number (hex): %s\n", last) ||
	    ec_buf_printf(out, "    CA certificate expiration timer: %s\n    CRL NextUpdate timer: %s\n", t1, t2) ||
	    ec_buf_printf(out, "    Current primary storage dir: unix:%s/\n    Database Level: %s\n", ca->dir.path,
	                  level_text(ca->cfg.database_level)) ||
	    rollover_lines(ca, flags, out))
		return -1;
	if (ca->cfg.auto_rollover &&
	    (ec_buf_printf(out, "    Auto-Rollover configured, overlap period ") ||
	     period_line(out, ca->cfg.auto_rollover_period)))
		return -1;
	if (ca->cfg.renewal_grace == 0)
		return ec_buf_printf(out, "    Renewal grace after the CA certificate's end: off\n");
	if (ec_buf_printf(out, "    Renewal grace after the CA certificate's end: ") ||
	    period_line(out, ca->cfg.renewal_grace))
		return -1;
	return 0;
}

/* A generation's JSON fields, after the object's opening brace. */
static int json_gen_fields(ec_buf *out, ca_gen *g)
{
	char fp[65], nb[EC_TIME_TEXT_MAX], na[EC_TIME_TEXT_MAX];
	if (pki_cert_fingerprint_hex(g->cert, fp) != 0)
		return -1;
	ec_time_format_iso(g->not_before, nb);
	ec_time_format_iso(g->not_after, na);
	return ec_json_kv_int(out, true, "generation", g->generation) ||
	       ec_json_kv_str(out, false, "role", ca_role_name(g->role)) ||
	       ec_json_kv_str(out, false, "serial_hex", g->serial) || ec_json_kv_str(out, false, "fingerprint_sha256", fp) ||
	       ec_json_kv_str(out, false, "not_before", nb) || ec_json_kv_str(out, false, "not_after", na)
	           ? -1 : 0;
}

static int json_gen(ec_buf *out, const char *key, ca_gen *g)
{
	return ec_buf_printf(out, ",") || ec_json_string(out, key) || ec_buf_printf(out, ":{") ||
	       json_gen_fields(out, g) || ec_buf_printf(out, "}") ? -1 : 0;
}

static const char *level_name(int level)
{
	return level == CFG_DB_COMPLETE ? "complete" : level == CFG_DB_NAMES ? "names" : "minimum";
}

static int show_server_json(ca_engine *ca, unsigned flags, ec_buf *out)
{
	char grant[512], issuer[CFG_NAME_MAX + 4], last[STORE_SERIAL_MAX], crl[EC_TIME_TEXT_MAX];
	ec_err err;
	if (store_last_serial(ca->store, last, &err) != 0)
		return -1;
	ec_time_format_iso(ca->crl_next_update, crl);
	if (ec_buf_printf(out, "{") || ec_json_kv_str(out, true, "name", ca->cfg.name) ||
	    ec_json_kv_bool(out, false, "enabled", !ca->shutdown) ||
	    ec_json_kv_str(out, false, "issuer_name", ca->cfg.issuer_name) ||
	    ec_json_kv_str(out, false, "issuer_name_effective", issuer_text(ca, issuer, sizeof(issuer))) ||
	    ec_json_kv_bool(out, false, "clock_authoritative", !(flags & CA_SHOW_CLOCK_UNSET)) ||
	    ec_json_kv_str(out, false, "granting_mode", grant_text(&ca->cfg, grant, sizeof(grant))) ||
	    ec_json_kv_str(out, false, "last_serial_hex", last) || ec_json_kv_str(out, false, "crl_next_update", crl) ||
	    ec_json_kv_str(out, false, "storage_dir", ca->dir.path) ||
	    ec_json_kv_str(out, false, "database_level", level_name(ca->cfg.database_level)) ||
	    json_gen(out, "active", &ca->gens[ca->active]) ||
	    (ca->rollover >= 0 ? json_gen(out, "rollover", &ca->gens[ca->rollover]) : ec_buf_printf(out, ",\"rollover\":null")) ||
	    ec_json_kv_bool(out, false, "auto_rollover", ca->cfg.auto_rollover) ||
	    ec_json_kv_int(out, false, "auto_rollover_period_ms", ca->cfg.auto_rollover_period) ||
	    ec_json_kv_int(out, false, "renewal_grace_ms", ca->cfg.renewal_grace) || ec_buf_printf(out, "}"))
		return -1;
	return 0;
}

int ca_show_server(ca_engine *ca, ec_time now, unsigned flags, ec_buf *out, ec_err *err)
{
	(void)now;
	pthread_rwlock_rdlock(&ca->lock);
	int rc = (flags & CA_SHOW_JSON) ? show_server_json(ca, flags, out) : show_server_text(ca, flags, out);
	pthread_rwlock_unlock(&ca->lock);
	return rc == 0 ? 0 : ec_err_set(err, "cannot render the server status");
}

/* Where a CA certificate lives on disk: the active and the rollover one are published as
 * NAME.pem and NAME-rollover.pem in the CA directory; a retired one is only in the store. */
static void storage_text(const ca_engine *ca, const ca_gen *g, char *out, size_t sz)
{
	if (g->role == STORE_CA_ACTIVE || g->role == STORE_CA_ROLLOVER)
		snprintf(out, sz, "%s/%s%s.pem", ca->dir.path, ca->cfg.name, g->role == STORE_CA_ROLLOVER ? "-rollover" : "");
	else if (ca->cfg.database_store_url[0] == '\0' && ca->env.store == NULL)
		snprintf(out, sz, "%s/%s.db (CA generation %d)", ca->dir.path, ca->cfg.name, g->generation);
	else
		snprintf(out, sz, "the CA's database (CA generation %d)", g->generation);
}

static int cert_text(ca_engine *ca, ca_gen *g, ec_time now, ca_cert_holders_fn holders, void *ctx, ec_buf *out)
{
	char storage[STORAGE_TEXT_MAX];
	storage_text(ca, g, storage, sizeof(storage));
	pki_cert_entry e = {.cert = g->cert, .ca = true,
	                    .qualifier = g->role == STORE_CA_ROLLOVER ? "Rollover" : g->role == STORE_CA_RETIRED ? "Retired" : NULL};
	return pki_cert_entry_head(out, &e, now) || ec_buf_printf(out, " %s", ca->cfg.name) ||
	       (holders != NULL && holders(ctx, g->cert, false, out)) || pki_cert_entry_tail(out, storage) ? -1 : 0;
}

static int cert_json(ca_engine *ca, ca_gen *g, ec_time now, bool first, ca_cert_holders_fn holders, void *ctx,
                     ec_buf *out)
{
	char subject[1024], issuer[1024], storage[STORAGE_TEXT_MAX];
	storage_text(ca, g, storage, sizeof(storage));
	if (pki_name_format(X509_get_subject_name(g->cert), subject, sizeof(subject)) != 0 ||
	    pki_name_format(X509_get_issuer_name(g->cert), issuer, sizeof(issuer)) != 0)
		return -1;
	const char *status = pki_cert_status(g->cert, now);
	return (!first && ec_buf_printf(out, ",")) || ec_buf_printf(out, "{") ||
	       ec_json_kv_str(out, true, "type", "ca_certificate") || ec_json_kv_str(out, false, "server", ca->cfg.name) ||
	       ec_json_kv_bool(out, false, "rollover", g->role == STORE_CA_ROLLOVER) ||
	       ec_json_kv_str(out, false, "status", status) || ec_buf_printf(out, ",") || json_gen_fields(out, g) ||
	       ec_json_kv_str(out, false, "issuer", issuer) || ec_json_kv_str(out, false, "subject", subject) ||
	       ec_json_kv_str(out, false, "storage", storage) ||
	       ec_buf_printf(out, ",\"subject_alt_names\":[],\"associated_trustpoints\":[") ||
	       ec_json_string(out, ca->cfg.name) || (holders != NULL && holders(ctx, g->cert, true, out)) ||
	       ec_buf_printf(out, "]}")
	           ? -1 : 0;
}

int ca_show_certificates(ca_engine *ca, ec_time now, unsigned flags, ec_buf *out, ec_err *err)
{
	return ca_show_certificates_held(ca, now, flags, NULL, NULL, out, err);
}

bool ca_holds_cert(ca_engine *ca, X509 *cert)
{
	bool held = false;
	pthread_rwlock_rdlock(&ca->lock);
	for (size_t i = 0; i < ca->n_gens && !held; i++)
		held = X509_cmp(ca->gens[i].cert, cert) == 0;
	pthread_rwlock_unlock(&ca->lock);
	return held;
}

int ca_show_certificates_held(ca_engine *ca, ec_time now, unsigned flags, ca_cert_holders_fn holders, void *ctx,
                              ec_buf *out, ec_err *err)
{
	int rc = 0;
	pthread_rwlock_rdlock(&ca->lock);
	if (flags & CA_SHOW_JSON) {
		/* Items of the daemon's "certificates" array, newest first, comma-separated. */
		for (size_t i = ca->n_gens; i-- > 0 && rc == 0;)
			rc = cert_json(ca, &ca->gens[i], now, i + 1 == ca->n_gens, holders, ctx, out);
	} else {
		/* Newest first, as the router lists the rollover certificate above the active one. */
		for (size_t i = ca->n_gens; i-- > 0 && rc == 0;)
			rc = cert_text(ca, &ca->gens[i], now, holders, ctx, out);
	}
	pthread_rwlock_unlock(&ca->lock);
	return rc == 0 ? 0 : ec_err_set(err, "cannot render the certificates");
}

/* A generation's key as an entry of the listing; storage must hold STORAGE_TEXT_MAX bytes. */
static void key_entry(const ca_engine *ca, const ca_gen *g, char *name, size_t name_sz, char *storage,
                      pki_key_entry *e)
{
	char key_file[EC_PATH_MAX];
	snprintf(name, name_sz, "%s%s", ca->cfg.name, g->role == STORE_CA_ROLLOVER ? "#" : "");
	*e = (pki_key_entry){.name = name, .key = g->key};
	e->made_source = ca_key_time(ca, g->generation, &e->made);
	/* The key pair is in its encrypted file, or only in the shared store on a node that never
	 * wrote it. It is archived (NAME.p12), but no command exports it. */
	if (ca_gen_files(ca, g->generation, key_file, NULL, sizeof(key_file)) == 0 &&
	    ec_file_exists_at(&ca->dir, key_file))
		snprintf(storage, STORAGE_TEXT_MAX, "%s/%s", ca->dir.path, key_file);
	else
		snprintf(storage, STORAGE_TEXT_MAX, "the CA's database (CA generation %d)", g->generation);
	e->storage = storage;
}

static int key_json(ca_engine *ca, ca_gen *g, bool first, ec_buf *out)
{
	char name[CFG_NAME_MAX + 2], storage[STORAGE_TEXT_MAX];
	pki_key_entry e;
	key_entry(ca, g, name, sizeof(name), storage, &e);
	return (!first && ec_buf_printf(out, ",")) || ec_buf_printf(out, "{") ||
	       ec_json_kv_str(out, true, "server", ca->cfg.name) || pki_key_entry_json(out, &e) ||
	       ec_json_kv_int(out, false, "generation", g->generation) ||
	       ec_json_kv_str(out, false, "role", ca_role_name(g->role)) || ec_buf_printf(out, "}")
	           ? -1 : 0;
}

static int key_text(ca_engine *ca, ca_gen *g, ec_buf *out)
{
	char name[CFG_NAME_MAX + 2], storage[STORAGE_TEXT_MAX];
	pki_key_entry e;
	key_entry(ca, g, name, sizeof(name), storage, &e);
	return pki_key_entry_text(out, &e);
}

int ca_show_mypubkey(ca_engine *ca, unsigned flags, ec_buf *out, ec_err *err)
{
	int rc = 0;
	bool first = true;
	pthread_rwlock_rdlock(&ca->lock);
	for (size_t i = 0; i < ca->n_gens && rc == 0; i++) {
		ca_gen *g = &ca->gens[i];
		if (g->key == NULL || g->role == STORE_CA_RETIRED)
			continue;
		rc = (flags & CA_SHOW_JSON) ? key_json(ca, g, first, out) : key_text(ca, g, out);
		first = false;
	}
	pthread_rwlock_unlock(&ca->lock);
	return rc == 0 ? 0 : ec_err_set(err, "cannot render the keys");
}
