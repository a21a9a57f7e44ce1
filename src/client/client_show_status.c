/* `show crypto pki trustpoints status` and the metrics' account of a trustpoint's outcomes. */
#include "client/client_internal.h"


#include "pki/name_line.h"
#include "pki/pki.h"
#include "util/encoding.h"
#include "util/json.h"

/* One of the router's certificate sub-blocks ("Issuing CA certificate configured:"): the subject
 * and the MD5 and SHA-1 fingerprints the router prints; nothing when cert is NULL. */
static int cert_block(ec_buf *out, const char *title, X509 *cert)
{
	char subject[4096], md5[160], sha1[160];
	if (cert == NULL)
		return 0;
	if (pki_name_line(X509_get_subject_name(cert), subject, sizeof(subject)) != 0 ||
	    ec_cert_fingerprint(cert, EVP_md5(), md5, sizeof(md5)) != 0 ||
	    ec_cert_fingerprint(cert, EVP_sha1(), sha1, sizeof(sha1)) != 0)
		return -1;
	return ec_buf_printf(out, "  %s:\n    Subject Name:\n     %s\n    Fingerprint MD5: %s\n"
	                     "    Fingerprint SHA1: %s\n", title, subject, md5, sha1);
}

/* A certificate's digest as JSON has every fingerprint: lower-case hex without spaces. */
static int digest_hex(X509 *cert, const EVP_MD *md, char out[2 * EVP_MAX_MD_SIZE + 1])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	if (X509_digest(cert, md, d, &len) != 1)
		return -1;
	ec_hex_encode(d, len, out);
	return 0;
}

/* The same in JSON: ,"key":{"subject":...,"fingerprint_md5":...,"fingerprint_sha1":...} or null. */
static int cert_json(ec_buf *out, const char *key, X509 *cert)
{
	char subject[4096], md5[2 * EVP_MAX_MD_SIZE + 1], sha1[2 * EVP_MAX_MD_SIZE + 1];
	if (cert == NULL)
		return ec_buf_printf(out, ",\"%s\":null", key);
	return pki_name_line(X509_get_subject_name(cert), subject, sizeof(subject)) != 0 ||
	       digest_hex(cert, EVP_md5(), md5) != 0 || digest_hex(cert, EVP_sha1(), sha1) != 0 ||
	       ec_buf_printf(out, ",\"%s\":{", key) || ec_json_kv_str(out, true, "subject", subject) ||
	       ec_json_kv_str(out, false, "fingerprint_md5", md5) || ec_json_kv_str(out, false, "fingerprint_sha1", sha1) ||
	       ec_buf_printf(out, "}") ? -1 : 0;
}

/* The certificates of the trustpoint, as the router's sub-blocks name them. */
typedef struct tp_certs {
	X509 *ca;                         /* installed, or fetched and awaiting confirmation */
	const char *ca_title;
	X509 *cert, *rollover_ca, *rollover_cert;
} tp_certs;

static tp_certs certs_of(const tp_runtime *tp)
{
	bool pending = tp->ca == NULL && tp->candidate_ca != NULL;
	return (tp_certs){
		.ca = pending ? tp->candidate_ca : tp->ca,
		.ca_title = pending ? "Issuing CA certificate pending" : "Issuing CA certificate configured",
		.cert = tp->cert, .rollover_ca = tp->rollover_ca, .rollover_cert = tp->rollover_cert,
	};
}

/* The router's "Certificate request(s)": Yes once a certificate is held, Pending while the first
 * request waits at the CA, None before. */
static const char *requests_word(const tp_runtime *tp)
{
	return tp->rec.m.enrolled ? "Yes" : tp->rec.m.phase == TP_PHASE_POLLING ? "Pending" : "None";
}

/* The armed renewal timer by the name `show crypto pki timers` gives it: RENEW (also before the
 * first certificate, SPEC 7.2) or SHADOW. */
static const char *renewal_name(const tp_state *s)
{
	return s->renewal_kind == TP_REQ_SHADOW ? "SHADOW" : "RENEW";
}

/* An instant as ISO 8601, or JSON null when there is none. */
static int kv_time(ec_buf *out, const char *key, ec_time t)
{
	char iso[EC_TIME_TEXT_MAX];
	if (t == TP_NEVER || t <= 0)
		return ec_buf_printf(out, ",\"%s\":null", key);
	ec_time_format_iso(t, iso);
	return ec_json_kv_str(out, false, key, iso);
}

/* The router's blocks in JSON, after the fields that were there before them. */
static int status_json_router(tp_runtime *tp, ec_buf *out)
{
	tp_certs c = certs_of(tp);
	return ec_json_kv_bool(out, false, "first_enrollment", !tp->rec.m.enrolled) ||
	       ec_json_kv_bool(out, false, "keys_generated", tp->key != NULL) ||
	       ec_json_kv_bool(out, false, "keys_exportable", tp->cfg.key_file[0] != '\0') ||
	       ec_json_kv_str(out, false, "certificate_requests", requests_word(tp)) ||
	       cert_json(out, "ca_certificate", tp->ca) ||
	       cert_json(out, "ca_certificate_pending", c.ca != tp->ca ? c.ca : NULL) ||
	       cert_json(out, "certificate", c.cert) || cert_json(out, "rollover_ca_certificate", c.rollover_ca) ||
	       cert_json(out, "rollover_certificate", c.rollover_cert);
}

static int status_json(tp_runtime *tp, ec_time now, ec_buf *out)
{
	const tp_state *s = &tp->rec.m;
	client_metrics m;
	client_metrics_read(tp, &m);
	char fp[65] = "";
	if (tp->ca != NULL && pki_cert_fingerprint_hex(tp->ca, fp) != 0)
		return -1;
	ec_time t = tp_next_wakeup(s);
	return ec_buf_printf(out, "{") || ec_json_kv_str(out, true, "trustpoint", tp->cfg.name) ||
	       ec_json_kv_str(out, false, "enrollment_url", tp->cfg.enrollment_url) ||
	       ec_json_kv_str(out, false, "ca_fingerprint_sha256", fp) ||
	       ec_json_kv_bool(out, false, "authenticated", s->authenticated) ||
	       ec_json_kv_bool(out, false, "enrolled", s->enrolled) ||
	       ec_json_kv_str(out, false, "phase", tp_phase_name(s->phase)) ||
	       ec_json_kv_str(out, false, "transaction_id", tp->rec.txid) ||
	       kv_time(out, "certificate_not_after", s->enrolled ? s->cert_not_after : TP_NEVER) ||
	       ec_json_kv_str(out, false, "renewal", renewal_name(s)) || kv_time(out, "renewal_at", s->renew_at) ||
	       kv_time(out, "next_timer", t) ||
	       ec_json_kv_int(out, false, "next_timer_ms", t == TP_NEVER ? -1 : (long long)(t - now)) ||
	       ec_json_kv_int(out, false, "consecutive_failures", m.failures_in_row) ||
	       kv_time(out, "last_success", m.last_success) ||
	       ec_json_kv_str(out, false, "last_result", tp->rec.last_result) ||
	       client_crl_show(tp, now, true, out) || status_json_router(tp, out) || ec_buf_printf(out, "}")
	           ? -1 : 0;
}

/* The router's blocks: the CA and identity certificates, State, and after a SHADOW renewal the
 * rollover ones. The dot leaders are the router's, uneven as it prints them. */
static int status_router(tp_runtime *tp, ec_buf *out)
{
	const tp_state *s = &tp->rec.m;
	tp_certs c = certs_of(tp);
	/* The CA's current certificate does not chain to the one held: the operator's turn. */
	const char *authenticated = s->phase == TP_PHASE_REAUTH ? "No: re-authenticate needed (crypto pki authenticate)"
	                            : s->authenticated         ? "Yes" : "No";
	/* With `output key` the private key is written out in clear for applications: exportable. */
	const char *keys = tp->key == NULL ? "No" : tp->cfg.key_file[0] ? "Yes (General Purpose, exportable)"
	                   : "Yes (General Purpose, non-exportable)";
	return ec_buf_printf(out, "Trustpoint %s:\n", tp->cfg.name) || cert_block(out, c.ca_title, c.ca) ||
	       cert_block(out, "Router General Purpose certificate configured", c.cert) ||
	       ec_buf_printf(out, "  State:\n    Keys generated ............. %s\n"
	                     "    Issuing CA authenticated ....... %s\n    Certificate request(s) ..... %s\n",
	                     keys, authenticated, requests_word(tp)) ||
	       cert_block(out, "Rollover Issuing CA certificate configured", c.rollover_ca) ||
	       cert_block(out, "Rollover Router General Purpose certificate configured", c.rollover_cert)
	           ? -1 : 0;
}

int client_show_status(tp_runtime *tp, ec_time now, bool json, ec_buf *out)
{
	const tp_state *s = &tp->rec.m;
	if (json)
		return status_json(tp, now, out);
	char fp[160] = "none", at[EC_TIME_TEXT_MAX] = "";
	if (tp->ca != NULL && ec_cert_fingerprint(tp->ca, EVP_sha256(), fp, sizeof(fp)) != 0)
		return -1;
	if (s->renew_at != TP_NEVER)
		ec_time_format_router(s->renew_at, at);
	bool first = !s->enrolled && s->renewal_kind != TP_REQ_SHADOW;
	/* evercert's own lines after the router's: what the router shows elsewhere or not at all. */
	return status_router(tp, out) != 0 ||
	       ec_buf_printf(out, "  Enrollment URL: %s\n  Issuing CA fingerprint SHA256: %s\n"
	                     "  Request in flight .......... %s%s\n  Renewal armed .............. %s%s%s%s\n",
	                     tp->cfg.enrollment_url[0] ? tp->cfg.enrollment_url : "(none)", fp,
	                     s->phase == TP_PHASE_POLLING ? "pending, transaction " : "",
	                     s->phase == TP_PHASE_POLLING ? tp->rec.txid : (s->phase == TP_PHASE_REJECTED ? "rejected" : "none"),
	                     at[0] ? renewal_name(s) : "none", at[0] && first ? " (first enrollment)" : "",
	                     at[0] ? " at " : "", at) != 0 ||
	       client_crl_show(tp, now, false, out) != 0 ||
	       ec_buf_printf(out, "  Last result: %s\n\n", tp->rec.last_result[0] ? tp->rec.last_result : "-") != 0
	           ? -1 : 0;
}

void client_note_success(tp_runtime *tp, ec_time now)
{
	tp->failures_in_row = 0;
	tp->last_success = now;
}

void client_note_failure(tp_runtime *tp)
{
	tp->failures_in_row++;
}

void client_metrics_read(const tp_runtime *tp, client_metrics *out)
{
	const tp_state *s = &tp->rec.m;
	*out = (client_metrics){
		.authenticated = s->authenticated,
		.enrolled = s->enrolled,
		.cert_not_after = s->enrolled ? s->cert_not_after : TP_NEVER,
		.renewal_at = s->renew_at,
		.renewal_kind = renewal_name(s),
		.rollover_ready = tp->rollover_cert != NULL,
		.failures_in_row = tp->failures_in_row,
		/* Until the first success since the start: the current certificate's issuance. */
		.last_success = tp->last_success != 0 ? tp->last_success
		                : tp->cert != NULL ? pki_cert_not_before(tp->cert) : TP_NEVER,
	};
}
