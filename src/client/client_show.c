/* `show crypto pki certificates` for the trustpoints. */
#include "client/client_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pki/cert_show.h"
#include "pki/pki.h"
#include "util/encoding.h"
#include "util/json.h"

/* One certificate of the listing and every trustpoint that holds it. */
typedef struct shown_cert {
	X509 *cert;                       /* borrowed from a trustpoint */
	bool ca;
	bool rollover;
	const char *tps[CFG_MAX_TRUSTPOINTS];
	size_t n_tps;
	const tp_runtime *holder;         /* the first trustpoint that holds it: the Storage line's */
} shown_cert;

typedef struct listing {
	shown_cert *list;
	size_t n;
	client_cert_filter elsewhere;     /* CA certificates a certificate server of the daemon lists */
	void *ctx;
} listing;

/* Room for a Storage line: a path, or a directory and a trustpoint's record name. */
#define STORAGE_TEXT_MAX (EC_PATH_MAX + CFG_NAME_MAX + 8)

/* Where tp keeps cert: the application's file the trustpoint installs it in (`output
 * certificate` for the identity certificate in use, `output ca-bundle` or else `output chain` for
 * the CA certificates it holds, the next one included), else the trustpoint's record in the state
 * directory, which holds them all. */
static void storage_of(const tp_runtime *tp, bool ca, bool rollover, char *out, size_t sz)
{
	if (!ca && !rollover && tp->cfg.certificate_file[0] != '\0')
		snprintf(out, sz, "%s", tp->cfg.certificate_file);
	else if (ca && tp->cfg.ca_bundle_file[0] != '\0')
		snprintf(out, sz, "%s", tp->cfg.ca_bundle_file);
	else if (ca && tp->cfg.chain_file[0] != '\0')
		snprintf(out, sz, "%s", tp->cfg.chain_file);
	else
		snprintf(out, sz, "%s/%s.state", tp->dir.path, tp->cfg.name);
}

/* Adds cert (when held) to the listing, or the trustpoint to its entry when it is listed. */
static void collect(listing *l, X509 *cert, bool ca, bool rollover, const tp_runtime *tp)
{
	shown_cert *list = l->list;
	size_t *n = &l->n;
	if (cert == NULL || (ca && l->elsewhere != NULL && l->elsewhere(l->ctx, cert)))
		return;
	size_t i = 0;
	while (i < *n && X509_cmp(list[i].cert, cert) != 0)
		i++;
	if (i == *n)
		list[(*n)++] = (shown_cert){.cert = cert, .ca = ca, .rollover = rollover, .holder = tp};
	if (list[i].n_tps < CFG_MAX_TRUSTPOINTS)
		list[i].tps[list[i].n_tps++] = tp->cfg.name;
}

/* The identity certificates first, then the CA certificates, each once; within each the
 * rollover one above the active one, as the router lists them. */
static int collect_all(tp_runtime *const *tps, size_t n_tps, listing *l)
{
	if ((l->list = calloc(4 * n_tps + 1, sizeof(*l->list))) == NULL)
		return -1;
	for (size_t i = 0; i < n_tps; i++) {
		collect(l, tps[i]->rollover_cert, false, true, tps[i]);
		collect(l, tps[i]->cert, false, false, tps[i]);
	}
	for (size_t i = 0; i < n_tps; i++) {
		collect(l, tps[i]->rollover_ca, true, true, tps[i]);
		collect(l, tps[i]->ca, true, false, tps[i]);
	}
	return 0;
}

bool client_holds_ca_cert(const tp_runtime *tp, X509 *cert)
{
	return (tp->ca != NULL && X509_cmp(tp->ca, cert) == 0) ||
	       (tp->rollover_ca != NULL && X509_cmp(tp->rollover_ca, cert) == 0);
}

static int trustpoint_list(ec_buf *out, const shown_cert *s, bool json)
{
	int rc = 0;
	for (size_t i = 0; i < s->n_tps && rc == 0; i++)
		rc = json ? (i > 0 && ec_buf_printf(out, ",")) || ec_json_string(out, s->tps[i])
		          : ec_buf_printf(out, " %s", s->tps[i]);
	return rc;
}

static int cert_text(ec_buf *out, const shown_cert *s, ec_time now)
{
	char storage[STORAGE_TEXT_MAX];
	storage_of(s->holder, s->ca, s->rollover, storage, sizeof(storage));
	pki_cert_entry e = {.cert = s->cert, .ca = s->ca, .qualifier = s->rollover ? "Rollover" : NULL};
	return pki_cert_entry_head(out, &e, now) || trustpoint_list(out, s, false) ||
	       pki_cert_entry_tail(out, storage) ? -1 : 0;
}

static int cert_json(ec_buf *out, const shown_cert *s, ec_time now, bool first)
{
	X509 *c = s->cert;
	char serial[PKI_SERIAL_MAX], subject[1024], issuer[1024], nb[EC_TIME_TEXT_MAX], na[EC_TIME_TEXT_MAX], fp[65],
	    storage[STORAGE_TEXT_MAX];
	storage_of(s->holder, s->ca, s->rollover, storage, sizeof(storage));
	pki_alt_name names[32];
	size_t n_names = pki_cert_alt_names(c, names, 32);
	if (pki_cert_serial_hex(c, serial) != 0 || pki_name_format(X509_get_subject_name(c), subject, sizeof(subject)) != 0 ||
	    pki_name_format(X509_get_issuer_name(c), issuer, sizeof(issuer)) != 0 || pki_cert_fingerprint_hex(c, fp) != 0)
		return -1;
	ec_time_format_iso(pki_cert_not_before(c), nb);
	ec_time_format_iso(pki_cert_not_after(c), na);
	if ((!first && ec_buf_printf(out, ",")) || ec_buf_printf(out, "{") ||
	    ec_json_kv_str(out, true, "type", s->ca ? "ca_certificate" : "certificate") ||
	    ec_json_kv_bool(out, false, "rollover", s->rollover) ||
	    ec_json_kv_str(out, false, "status", pki_cert_status(c, now)) || ec_json_kv_str(out, false, "serial_hex", serial) ||
	    ec_json_kv_str(out, false, "issuer", issuer) || ec_json_kv_str(out, false, "subject", subject) ||
	    ec_json_kv_str(out, false, "not_before", nb) || ec_json_kv_str(out, false, "not_after", na) ||
	    ec_json_kv_str(out, false, "fingerprint_sha256", fp) || ec_json_kv_str(out, false, "storage", storage) ||
	    ec_buf_printf(out, ",\"subject_alt_names\":["))
		return -1;
	for (size_t i = 0; i < n_names; i++)
		if ((i > 0 && ec_buf_printf(out, ",")) || ec_buf_printf(out, "{") ||
		    ec_json_kv_str(out, true, "type", names[i].type) || ec_json_kv_str(out, false, "value", names[i].value) ||
		    ec_buf_printf(out, "}"))
			return -1;
	return ec_buf_printf(out, "],\"associated_trustpoints\":[") || trustpoint_list(out, s, true) ||
	       ec_buf_printf(out, "]}") ? -1 : 0;
}

int client_show_all_certificates(tp_runtime *const *tps, size_t n_tps, ec_time now, bool json,
                                 client_cert_filter elsewhere, void *ctx, ec_buf *out)
{
	listing l = {.elsewhere = elsewhere, .ctx = ctx};
	if (n_tps == 0)
		return 0;
	if (collect_all(tps, n_tps, &l) != 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < l.n && rc == 0; i++)
		rc = json ? cert_json(out, &l.list[i], now, i == 0) : cert_text(out, &l.list[i], now);
	free(l.list);
	return rc;
}

int client_show_certificates(tp_runtime *tp, ec_time now, bool json, ec_buf *out)
{
	return client_show_all_certificates(&tp, 1, now, json, NULL, NULL, out);
}
