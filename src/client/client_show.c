/* `show crypto pki certificates` and `show crypto pki trustpoints status` for a trustpoint. */
#include "client/client_internal.h"

#include <stdio.h>
#include <string.h>

#include "pki/pki.h"
#include "util/encoding.h"
#include "util/json.h"

static int cert_block(ec_buf *out, const char *title, X509 *c, const char *tp, ec_time now)
{
	char serial[PKI_SERIAL_MAX], subject[1024], issuer[1024], nb[EC_TIME_TEXT_MAX], na[EC_TIME_TEXT_MAX];
	if (pki_cert_serial_hex(c, serial) != 0 || pki_name_format(X509_get_subject_name(c), subject, sizeof(subject)) != 0 ||
	    pki_name_format(X509_get_issuer_name(c), issuer, sizeof(issuer)) != 0)
		return -1;
	ec_time b = pki_cert_not_before(c), a = pki_cert_not_after(c);
	ec_time_format_router(b, nb);
	ec_time_format_router(a, na);
	const char *status = now < b ? "Available (not yet valid)" : now > a ? "Expired" : "Available";
	return ec_buf_printf(out, "%s\n  Status: %s\n  Certificate Serial Number (hex): %s%s\n  Issuer: %s\n"
	                     "  Subject: %s\n  Validity Date:\n    start date: %s\n    end   date: %s\n"
	                     "  Associated Trustpoints: %s\n\n", title, status, strlen(serial) % 2 ? "0" : "",
	                     serial, issuer, subject, nb, na, tp);
}

static int json_cert(ec_buf *out, const char *key, X509 *c, bool first)
{
	char serial[PKI_SERIAL_MAX], subject[1024], nb[EC_TIME_TEXT_MAX], na[EC_TIME_TEXT_MAX], fp[65];
	if (pki_cert_serial_hex(c, serial) != 0 || pki_name_format(X509_get_subject_name(c), subject, sizeof(subject)) != 0 ||
	    pki_cert_fingerprint_hex(c, fp) != 0)
		return -1;
	ec_time_format_iso(pki_cert_not_before(c), nb);
	ec_time_format_iso(pki_cert_not_after(c), na);
	return (!first && ec_buf_printf(out, ",")) || ec_json_string(out, key) || ec_buf_printf(out, ":{") ||
	       ec_json_kv_str(out, true, "serial", serial) || ec_json_kv_str(out, false, "subject", subject) ||
	       ec_json_kv_str(out, false, "not_before", nb) || ec_json_kv_str(out, false, "not_after", na) ||
	       ec_json_kv_str(out, false, "sha256", fp) || ec_buf_printf(out, "}")
	           ? -1 : 0;
}

int client_show_certificates(tp_runtime *tp, ec_time now, bool json, ec_buf *out)
{
	if (json) {
		if (ec_buf_printf(out, "{") || ec_json_kv_str(out, true, "trustpoint", tp->cfg.name))
			return -1;
		if (tp->cert && json_cert(out, "certificate", tp->cert, false))
			return -1;
		if (tp->ca && json_cert(out, "ca_certificate", tp->ca, false))
			return -1;
		return ec_buf_printf(out, "}\n");
	}
	if (tp->cert != NULL && cert_block(out, "Certificate", tp->cert, tp->cfg.name, now) != 0)
		return -1;
	if (tp->ca != NULL && cert_block(out, "CA Certificate", tp->ca, tp->cfg.name, now) != 0)
		return -1;
	return 0;
}

int client_show_status(tp_runtime *tp, ec_time now, bool json, ec_buf *out)
{
	const tp_state *s = &tp->rec.m;
	char next[EC_TIME_TEXT_MAX] = "none";
	ec_time t = tp_next_wakeup(s);
	if (t != TP_NEVER)
		ec_time_format_router(t, next);
	const char *renewal = !s->enrolled ? "ENROLL" : tp_request_kind_name(s->renewal_kind);
	if (json) {
		return ec_buf_printf(out, "{") || ec_json_kv_str(out, true, "trustpoint", tp->cfg.name) ||
		       ec_json_kv_bool(out, false, "authenticated", s->authenticated) ||
		       ec_json_kv_bool(out, false, "enrolled", s->enrolled) ||
		       ec_json_kv_str(out, false, "phase", tp_phase_name(s->phase)) ||
		       ec_json_kv_str(out, false, "renewal", renewal) ||
		       ec_json_kv_int(out, false, "next_timer_ms", t == TP_NEVER ? -1 : (long long)(t - now)) ||
		       ec_json_kv_str(out, false, "last_result", tp->rec.last_result) ||
		       client_crl_show(tp, now, true, out) || ec_buf_printf(out, "}\n")
		           ? -1 : 0;
	}
	char fp[160] = "none";
	if (tp->ca != NULL && ec_cert_fingerprint(tp->ca, EVP_sha256(), fp, sizeof(fp)) != 0)
		return -1;
	return ec_buf_printf(out, "Trustpoint %s:\n  Enrollment URL: %s\n  Issuing CA certificate: %s\n"
	                     "  Keys generated ............. %s\n  Issuing CA authenticated ... %s\n"
	                     "  Certificate ................ %s\n  Request in flight .......... %s%s%s\n"
	                     "  Renewal armed .............. %s at %s\n",
	                     tp->cfg.name, tp->cfg.enrollment_url[0] ? tp->cfg.enrollment_url : "(none)", fp,
	                     tp->key ? "Yes (General Purpose)" : "No", s->authenticated ? "Yes" : "No",
	                     s->enrolled ? "Yes" : "None", s->phase == TP_PHASE_POLLING ? "pending, transaction " : "",
	                     s->phase == TP_PHASE_POLLING ? tp->rec.txid : (s->phase == TP_PHASE_REJECTED ? "rejected" : "none"),
	                     "", renewal, next) != 0 || client_crl_show(tp, now, false, out) != 0 ||
	               ec_buf_printf(out, "  Last result: %s\n\n", tp->rec.last_result[0] ? tp->rec.last_result : "-") != 0
	           ? -1 : 0;
}
