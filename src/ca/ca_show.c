/* `show crypto pki server`, `show crypto pki certificates`, `show crypto key mypubkey rsa`. */
#include "ca/ca_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int show_server_text(ca_engine *ca, ec_time now, unsigned flags, ec_buf *out)
{
	ca_gen *a = &ca->gens[ca->active];
	char grant[512], fp[160], last[STORE_SERIAL_MAX], t1[EC_TIME_TEXT_MAX], t2[EC_TIME_TEXT_MAX];
	ec_err err;
	if (fp_text(a->cert, EVP_sha256(), fp, sizeof(fp)) != 0 || store_last_serial(ca->store, last, &err) != 0)
		return -1;
	ec_time_format_router(a->not_after, t1);
	ec_time_format_router(ca->crl_next_update, t2);
	const char *state = ca->shutdown ? "disabled" : "enabled";
	if (ec_buf_printf(out, "Certificate Server %s:\n    Status: %s\n    State: %s\n", ca->cfg.name, state, state) ||
	    ec_buf_printf(out, "    Server's configuration is locked  (enter \"shut\" to unlock it)\n") ||
	    ec_buf_printf(out, "    Issuer name: %s\n    CA cert fingerprint: %s\n",
	                  ca->cfg.issuer_name[0] ? ca->cfg.issuer_name : "", fp))
		return -1;
	if (flags & CA_SHOW_MD5) {
		char md5[160];
		if (fp_text(a->cert, EVP_md5(), md5, sizeof(md5)) != 0 ||
		    ec_buf_printf(out, "    CA cert fingerprint (MD5): %s\n", md5))
			return -1;
	}
	if (ec_buf_printf(out, "    Granting mode is: %s\n", grant_text(&ca->cfg, grant, sizeof(grant))) ||
	    ec_buf_printf(out, "    Last certificate issued serial number (hex): %s\n", last) ||
	    ec_buf_printf(out, "    CA certificate expiration timer: %s\n    CRL NextUpdate timer: %s\n", t1, t2) ||
	    ec_buf_printf(out, "    Current primary storage dir: unix:%s/\n    Database Level: %s\n", ca->dir.path,
	                  level_text(ca->cfg.database_level)))
		return -1;
	if (ca->rollover >= 0) {
		ca_gen *r = &ca->gens[ca->rollover];
		if (fp_text(r->cert, EVP_sha256(), fp, sizeof(fp)) != 0)
			return -1;
		ec_time_format_router(r->not_after, t1);
		if (ec_buf_printf(out, "    Rollover status: available for rollover\n"
		                  "    Rollover CA certificate fingerprint: %s\n"
		                  "    Rollover CA certificate expiration time: %s\n", fp, t1))
			return -1;
	} else if (ec_buf_printf(out, "    Rollover status: not available\n")) {
		return -1;
	}
	if (ca->cfg.auto_rollover &&
	    (ec_buf_printf(out, "    Auto-Rollover configured, overlap period ") ||
	     period_line(out, ca->cfg.auto_rollover_period)))
		return -1;
	if (ca->cfg.renewal_grace == 0)
		return ec_buf_printf(out, "    Renewal grace after the CA certificate's end: off\n");
	if (ec_buf_printf(out, "    Renewal grace after the CA certificate's end: ") ||
	    period_line(out, ca->cfg.renewal_grace))
		return -1;
	(void)now;
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

static int show_server_json(ca_engine *ca, ec_buf *out)
{
	char grant[512], last[STORE_SERIAL_MAX], crl[EC_TIME_TEXT_MAX];
	ec_err err;
	if (store_last_serial(ca->store, last, &err) != 0)
		return -1;
	ec_time_format_iso(ca->crl_next_update, crl);
	if (ec_buf_printf(out, "{") || ec_json_kv_str(out, true, "name", ca->cfg.name) ||
	    ec_json_kv_bool(out, false, "enabled", !ca->shutdown) ||
	    ec_json_kv_str(out, false, "issuer_name", ca->cfg.issuer_name) ||
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
	pthread_rwlock_rdlock(&ca->lock);
	int rc = (flags & CA_SHOW_JSON) ? show_server_json(ca, out) : show_server_text(ca, now, flags, out);
	pthread_rwlock_unlock(&ca->lock);
	return rc == 0 ? 0 : ec_err_set(err, "cannot render the server status");
}

/* The name one attribute a line, as the router shows it ("cn=RootCA"). */
static int name_lines(ec_buf *out, X509_NAME *name)
{
	for (int i = X509_NAME_entry_count(name) - 1; i >= 0; i--) {
		X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
		const char *sn = OBJ_nid2sn(OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)));
		unsigned char *utf8 = NULL;
		int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
		if (n < 0)
			return -1;
		char lower[32];
		size_t k = 0;
		for (; sn[k] && k < sizeof(lower) - 1; k++)
			lower[k] = (char)((sn[k] >= 'A' && sn[k] <= 'Z') ? sn[k] + 32 : sn[k]);
		lower[k] = '\0';
		int rc = ec_buf_printf(out, "    %s=%.*s\n", lower, n, (char *)utf8);
		OPENSSL_free(utf8);
		if (rc)
			return -1;
	}
	return 0;
}

static const char *gen_status(const ca_gen *g, ec_time now)
{
	return now < g->not_before ? "Available (not yet valid)" : now > g->not_after ? "Expired" : "Available";
}

static int cert_text(ca_engine *ca, ca_gen *g, ec_time now, ca_cert_holders_fn holders, void *ctx, ec_buf *out)
{
	char nb[EC_TIME_TEXT_MAX], na[EC_TIME_TEXT_MAX];
	ec_time_format_router(g->not_before, nb);
	ec_time_format_router(g->not_after, na);
	const char *title = g->role == STORE_CA_ROLLOVER ? "CA Certificate (Rollover)"
	                    : g->role == STORE_CA_RETIRED ? "CA Certificate (Retired)" : "CA Certificate";
	const char *status = gen_status(g, now);
	/* Whole octets, as the router prints serials in certificate listings ("01", "03"). */
	const char *pad = strlen(g->serial) % 2 ? "0" : "";
	if (ec_buf_printf(out, "%s\n  Status: %s\n  Certificate Serial Number (hex): %s%s\n"
	                  "  Certificate Usage: Signature\n  Issuer:\n", title, status, pad, g->serial) ||
	    name_lines(out, X509_get_issuer_name(g->cert)) || ec_buf_printf(out, "  Subject:\n") ||
	    name_lines(out, X509_get_subject_name(g->cert)) ||
	    ec_buf_printf(out, "  Validity Date:\n    start date: %s\n    end   date: %s\n"
	                  "  Associated Trustpoints: %s", nb, na, ca->cfg.name) ||
	    (holders != NULL && holders(ctx, g->cert, false, out)) || ec_buf_printf(out, "\n\n"))
		return -1;
	return 0;
}

static int cert_json(ca_engine *ca, ca_gen *g, ec_time now, bool first, ca_cert_holders_fn holders, void *ctx,
                     ec_buf *out)
{
	char subject[1024], issuer[1024];
	if (pki_name_format(X509_get_subject_name(g->cert), subject, sizeof(subject)) != 0 ||
	    pki_name_format(X509_get_issuer_name(g->cert), issuer, sizeof(issuer)) != 0)
		return -1;
	const char *status = gen_status(g, now);
	return (!first && ec_buf_printf(out, ",")) || ec_buf_printf(out, "{") ||
	       ec_json_kv_str(out, true, "type", "ca_certificate") || ec_json_kv_str(out, false, "server", ca->cfg.name) ||
	       ec_json_kv_bool(out, false, "rollover", g->role == STORE_CA_ROLLOVER) ||
	       ec_json_kv_str(out, false, "status", status) || ec_buf_printf(out, ",") || json_gen_fields(out, g) ||
	       ec_json_kv_str(out, false, "issuer", issuer) || ec_json_kv_str(out, false, "subject", subject) ||
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

static int key_text(ca_engine *ca, ca_gen *g, ec_buf *out)
{
	unsigned char *spki = NULL;
	int n = i2d_PUBKEY(g->key, &spki);
	if (n <= 0)
		return -1;
	char valid[EC_TIME_TEXT_MAX];
	ec_time_format_router(g->not_before, valid);
	int rc = ec_buf_printf(out, "%% Key pair of CA certificate %s (valid from %s)\nKey name: %s%s\n"
	                       " Key type: RSA KEYS %d bits\n Storage Device: %s\n Usage: General Purpose Key\n"
	                       " Key is not exportable.\n Key Data:\n", g->serial, valid, ca->cfg.name,
	                       g->role == STORE_CA_ROLLOVER ? "#" : "", EVP_PKEY_get_bits(g->key), ca->dir.path);
	for (int i = 0; i < n && rc == 0; i += 4) {
		char hex[9];
		ec_hex_encode(spki + i, (size_t)(n - i < 4 ? n - i : 4), hex);
		for (char *p = hex; *p; p++)
			*p = (char)(*p >= 'a' ? *p - 32 : *p);
		rc = ec_buf_printf(out, "%s%s%s", i % 32 == 0 ? "  " : " ", hex, (i % 32 == 28 || i + 4 >= n) ? "\n" : "");
	}
	OPENSSL_free(spki);
	return rc;
}

static int key_json(ca_engine *ca, ca_gen *g, bool first, ec_buf *out)
{
	unsigned char *spki = NULL;
	int n = i2d_PUBKEY(g->key, &spki);
	if (n <= 0)
		return -1;
	char *hex = malloc(2 * (size_t)n + 1), key_name[CFG_NAME_MAX + 2];
	snprintf(key_name, sizeof(key_name), "%s%s", ca->cfg.name, g->role == STORE_CA_ROLLOVER ? "#" : "");
	int rc = hex == NULL ? -1 : 0;
	if (rc == 0)
		ec_hex_encode(spki, (size_t)n, hex);
	rc = rc || (!first && ec_buf_printf(out, ",")) || ec_buf_printf(out, "{") ||
	     ec_json_kv_str(out, true, "server", ca->cfg.name) || ec_json_kv_str(out, false, "key_name", key_name) ||
	     ec_json_kv_int(out, false, "generation", g->generation) ||
	     ec_json_kv_str(out, false, "role", ca_role_name(g->role)) ||
	     ec_json_kv_str(out, false, "key_type", EVP_PKEY_get_base_id(g->key) == EVP_PKEY_RSA ? "rsa" : "ec") ||
	     ec_json_kv_int(out, false, "bits", EVP_PKEY_get_bits(g->key)) ||
	     ec_json_kv_str(out, false, "public_key_der_hex", hex) || ec_buf_printf(out, "}");
	free(hex);
	OPENSSL_free(spki);
	return rc ? -1 : 0;
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
