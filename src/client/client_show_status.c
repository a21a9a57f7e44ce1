/* `show crypto pki trustpoints status` and the metrics' account of a trustpoint's outcomes. */
#include "client/client_internal.h"

#include "pki/pki.h"
#include "util/encoding.h"
#include "util/json.h"

/* An instant as ISO 8601, or JSON null when there is none. */
static int kv_time(ec_buf *out, const char *key, ec_time t)
{
	char iso[EC_TIME_TEXT_MAX];
	if (t == TP_NEVER || t <= 0)
		return ec_buf_printf(out, ",\"%s\":null", key);
	ec_time_format_iso(t, iso);
	return ec_json_kv_str(out, false, key, iso);
}

static int status_json(tp_runtime *tp, ec_time now, const char *renewal, ec_buf *out)
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
	       ec_json_kv_str(out, false, "renewal", renewal) || kv_time(out, "renewal_at", s->renew_at) ||
	       kv_time(out, "next_timer", t) ||
	       ec_json_kv_int(out, false, "next_timer_ms", t == TP_NEVER ? -1 : (long long)(t - now)) ||
	       ec_json_kv_int(out, false, "consecutive_failures", m.failures_in_row) ||
	       kv_time(out, "last_success", m.last_success) ||
	       ec_json_kv_str(out, false, "last_result", tp->rec.last_result) ||
	       client_crl_show(tp, now, true, out) || ec_buf_printf(out, "}")
	           ? -1 : 0;
}

int client_show_status(tp_runtime *tp, ec_time now, bool json, ec_buf *out)
{
	const tp_state *s = &tp->rec.m;
	char next[EC_TIME_TEXT_MAX] = "none";
	ec_time t = tp_next_wakeup(s);
	if (t != TP_NEVER)
		ec_time_format_router(t, next);
	const char *renewal = !s->enrolled ? "ENROLL" : tp_request_kind_name(s->renewal_kind);
	if (json)
		return status_json(tp, now, renewal, out);
	char fp[160] = "none";
	if (tp->ca != NULL && ec_cert_fingerprint(tp->ca, EVP_sha256(), fp, sizeof(fp)) != 0)
		return -1;
	/* The CA's current certificate does not chain to the one held: the operator's turn. */
	const char *authenticated = s->phase == TP_PHASE_REAUTH ? "No: re-authenticate needed (crypto pki authenticate)"
	                            : s->authenticated         ? "Yes" : "No";
	return ec_buf_printf(out, "Trustpoint %s:\n  Enrollment URL: %s\n  Issuing CA certificate: %s\n"
	                     "  Keys generated ............. %s\n  Issuing CA authenticated ... %s\n"
	                     "  Certificate ................ %s\n  Request in flight .......... %s%s%s\n"
	                     "  Renewal armed .............. %s at %s\n",
	                     tp->cfg.name, tp->cfg.enrollment_url[0] ? tp->cfg.enrollment_url : "(none)", fp,
	                     tp->key ? "Yes (General Purpose)" : "No", authenticated,
	                     s->enrolled ? "Yes" : "None", s->phase == TP_PHASE_POLLING ? "pending, transaction " : "",
	                     s->phase == TP_PHASE_POLLING ? tp->rec.txid : (s->phase == TP_PHASE_REJECTED ? "rejected" : "none"),
	                     "", renewal, next) != 0 || client_crl_show(tp, now, false, out) != 0 ||
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
		.renewal_kind = !s->enrolled ? "ENROLL" : tp_request_kind_name(s->renewal_kind),
		.rollover_ready = tp->rollover_cert != NULL,
		.failures_in_row = tp->failures_in_row,
		/* Until the first success since the start: the current certificate's issuance. */
		.last_success = tp->last_success != 0 ? tp->last_success
		                : tp->cert != NULL ? pki_cert_not_before(tp->cert) : TP_NEVER,
	};
}
