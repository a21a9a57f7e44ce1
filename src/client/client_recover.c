/* Recovery after an absence: a trustpoint whose CA was succeeded while it was away (or while it
 * could not reach it) follows the CA's chain of custody from its own CA certificate to the
 * current one, adopts it and enrolls again; one that cannot follow it stops and asks for the
 * operator (`authenticate`). A CA certificate that does not chain to the one held is never
 * trusted. */
#include "client/client_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pki/pki.h"
#include "util/encoding.h"

/* Nothing changed, nothing more sent: the operator must look at the CA. */
static void reauth_needed(tp_runtime *tp, const char *fmt, ...) EC_PRINTF(2, 3);
static void reauth_needed(tp_runtime *tp, const char *fmt, ...)
{
	char why[TP_TEXT_MAX - 64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(tp->rec.last_result, sizeof(tp->rec.last_result), "re-authenticate needed: %s", why);
	client_log(tp, "%s; installed certificates unchanged, no further requests: check the CA, then run "
	           "`crypto pki authenticate %s` (with its new fingerprint on the trustpoint's `fingerprint` "
	           "line, if it has one)", tp->rec.last_result, tp->cfg.name);
	tp_on_reauth_needed(&tp->rec.m);
	ec_err err;
	if (client_save(tp, &err) != 0)
		client_log(tp, "cannot save state: %s", err.msg);
}

/* The CA could not be reached: CONNECT RETRY (as the request would have). */
static void unreachable(tp_runtime *tp, const scep_client_reply *r, const char *what, ec_time now)
{
	snprintf(tp->rec.last_result, sizeof(tp->rec.last_result), "CA not reachable (%s): %s", what, r->reason);
	client_note_failure(tp);
	tp_on_unreachable(&tp->rec.m, &tp->policy, TP_ACT_ENROLL, client_retry_after(r, now), now);
	client_log(tp, "%s; CONNECT RETRY in %lld s", tp->rec.last_result,
	           (long long)((tp->rec.m.retry_at - now) / 1000));
}

static bool reply_unreachable(const scep_client_reply *r)
{
	return r->outcome == SCEP_CLIENT_UNREACHABLE || r->outcome == SCEP_CLIENT_UNAVAILABLE;
}

int client_forget_rollover(tp_runtime *tp, ec_err *err)
{
	X509_free(tp->rollover_ca);
	X509_free(tp->rollover_cert);
	tp->rollover_ca = tp->rollover_cert = NULL;
	tp->rec.txid[0] = '\0';
	tp->rec.request_key_shadow = 0;
	if (client_set_cert(tp, TP_BLOB_ROLLOVER_CA, NULL, err) != 0 ||
	    client_set_cert(tp, TP_BLOB_ROLLOVER_CERT, NULL, err) != 0 || client_set_cert(tp, TP_BLOB_SIGNER, NULL, err) != 0)
		return -1;
	return 0;
}

/* Installs the CA certificate the chain led to; the next request goes to it at once. */
static void adopt(tp_runtime *tp, const pki_custody_result *res, ec_time now)
{
	char old_fp[160] = "?", new_fp[160] = "?";
	ec_err err;
	if (ec_cert_fingerprint(tp->ca, EVP_sha256(), old_fp, sizeof(old_fp)) != 0 ||
	    ec_cert_fingerprint(res->current, EVP_sha256(), new_fp, sizeof(new_fp)) != 0)
		snprintf(new_fp, sizeof(new_fp), "(fingerprint unavailable)");
	X509 *current = X509_dup(res->current);
	if (current == NULL || client_set_cert(tp, TP_BLOB_CA, current, &err) != 0 || client_forget_rollover(tp, &err) != 0) {
		X509_free(current);
		client_fail_exchange(tp, now, "cannot record the CA's new certificate: %s",
		                     current == NULL ? "out of memory" : err.msg);
		return;
	}
	X509_free(tp->ca);
	tp->ca = current;
	tp->caps_at = TP_NEVER; /* asked again of the CA that came back */
	tp_on_ca_succeeded(&tp->rec.m, &tp->policy, pki_cert_not_after(current), now);
	if (client_caps(tp).get_next_ca_cert)
		tp_arm_ca_shadow(&tp->rec.m, &tp->policy, pki_cert_not_before(current), pki_cert_not_after(current), now);
	snprintf(tp->rec.last_result, sizeof(tp->rec.last_result),
	         "CA certificate succeeded: adopted through %d link certificate(s)", res->generations);
	if (client_save(tp, &err) != 0) {
		client_log(tp, "cannot save state: %s", err.msg);
		return;
	}
	client_log(tp, "the CA's certificate changed: SHA-256 %s -> %s, chained to the old one through %d "
	           "link certificate(s); adopted%s", old_fp, new_fp, res->generations,
	           tp->policy.auto_enroll ? ", enrolling with it" : "");
	client_publish_trust(tp);
	client_crl_arm_now(tp, now);
	if (client_write_outputs(tp, &err) != 0)
		client_log(tp, "cannot write the output files: %s", err.msg);
}

/* GetCARolloverChain, walked from the CA certificate held to active. */
static int follow_chain(tp_runtime *tp, X509 *active, ec_time now)
{
	scep_client_reply r;
	STACK_OF(X509) *chain = NULL;
	pki_custody_result res = {0};
	ec_err err;
	int rc = -1;
	if (scep_client_get_ca_rollover_chain(tp->http, &r) != 0) {
		if (reply_unreachable(&r))
			unreachable(tp, &r, "GetCARolloverChain", now);
		else
			reauth_needed(tp, "the CA's certificate changed and its chain of custody cannot be had (%s)", r.reason);
		goto out;
	}
	if (pki_custody_parse_pem(r.body, r.body_len, &chain, &err) != 0 ||
	    pki_custody_walk(tp->ca, chain, active, &res, &err) != 0) {
		reauth_needed(tp, "the CA's certificate changed and is refused: %s", err.msg);
		goto out;
	}
	adopt(tp, &res, now);
	rc = 1;
out:
	pki_custody_result_free(&res);
	sk_X509_pop_free(chain, X509_free);
	scep_client_reply_free(&r);
	return rc;
}

int client_recover_check(tp_runtime *tp, ec_time now, bool force)
{
	if (tp->http == NULL || tp->ca == NULL || tp->rec.m.phase == TP_PHASE_REAUTH)
		return 0;
	if (!force && tp->ca_checked && now < pki_cert_not_after(tp->ca))
		return 0;
	scep_client_reply r;
	bool is_chain = false;
	ec_err err;
	X509 *active = NULL;
	int rc = 0;
	if (scep_client_get_ca_cert(tp->http, tp->cfg.name, &r, &is_chain) != 0) {
		if (reply_unreachable(&r)) {
			unreachable(tp, &r, "GetCACert", now);
			rc = -1;
		} /* otherwise the request itself will tell */
		goto out;
	}
	if ((active = client_pick_ca_cert(r.body, r.body_len, is_chain, &err)) == NULL) {
		client_log(tp, "GetCACert reply unreadable: %s", err.msg);
		goto out;
	}
	tp->ca_checked = true;
	/* Our CA, or the rollover CA we hold (the switch to it is ours to make, at its time). */
	if (X509_cmp(active, tp->ca) == 0 || (tp->rollover_ca != NULL && X509_cmp(active, tp->rollover_ca) == 0))
		goto out;
	rc = follow_chain(tp, active, now);
out:
	X509_free(active);
	scep_client_reply_free(&r);
	return rc;
}

void client_recover_at_start(tp_runtime *tp, ec_time now)
{
	tp->ca_checked = false;
	ec_time before = tp_next_wakeup(&tp->rec.m);
	tp_on_start(&tp->rec.m, &tp->policy, now);
	if (tp_next_wakeup(&tp->rec.m) < before)
		client_log(tp, "the %s ended while the daemon was stopped: trying now",
		           tp->rec.m.enrolled && tp->rec.m.cert_not_after <= now ? "certificate" : "CA certificate");
}
