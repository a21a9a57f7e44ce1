/* SHADOW (SPEC §7.6): the rollover CA certificate, the identity certificate it issues ahead of
 * time, and the switch to both at the instant the active ones end. */
#include "client/client_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pki/pki.h"
#include "scep/scep.h"
#include "util/crashpoint.h"
#include "util/encoding.h"

/* The rollover CA among the GetNextCACert certificates: self-signed, the CA's name. */
static X509 *pick_rollover(STACK_OF(X509) *certs, X509 *active)
{
	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *c = sk_X509_value(certs, i);
		if (pki_cert_is_self_signed(c) &&
		    X509_NAME_cmp(X509_get_subject_name(c), X509_get_subject_name(active)) == 0 &&
		    X509_cmp(c, active) != 0)
			return c;
	}
	return NULL;
}

int client_fetch_rollover_ca(tp_runtime *tp, ec_time now)
{
	if (tp->rollover_ca != NULL)
		return 0;
	scep_client_reply r;
	STACK_OF(X509) *certs = NULL;
	ec_err err;
	int rc = -1;
	if (scep_client_get_next_ca_cert(tp->http, &r) != 0) {
		if (r.outcome == SCEP_CLIENT_UNREACHABLE || r.outcome == SCEP_CLIENT_UNAVAILABLE) {
			snprintf(tp->rec.last_result, sizeof(tp->rec.last_result), "no rollover CA certificate yet (%s)",
			         r.outcome == SCEP_CLIENT_UNAVAILABLE ? "the CA answered 503" : r.reason);
			ec_time retry_after = client_retry_after(&r, now);
			/* A 503 with Retry-After is the CA's "not yet": no failure. */
			if (r.outcome == SCEP_CLIENT_UNREACHABLE)
				client_note_failure(tp);
			tp_on_unreachable(&tp->rec.m, &tp->policy, TP_ACT_ENROLL, retry_after, now);
			char when[EC_TIME_TEXT_MAX];
			ec_time_format_router(tp->rec.m.retry_at, when);
			client_log(tp, "SHADOW: %s; next try at %s%s", tp->rec.last_result, when,
			           retry_after >= 0 ? " (its Retry-After)" : "");
		} else {
			client_fail_exchange(tp, now, "SHADOW: GetNextCACert failed: %s", r.reason);
		}
		goto out;
	}
	if (scep_nextca_parse(r.body, r.body_len, tp->ca, &certs, &err) != 0) {
		/* Signed by a CA certificate other than ours: the CA may have been succeeded. */
		if (client_recover_check(tp, now, true) != 0)
			goto out;
		client_fail_exchange(tp, now, "SHADOW: GetNextCACert reply refused: %s", err.msg);
		goto out;
	}
	X509 *next = pick_rollover(certs, tp->ca);
	if (next == NULL || client_set_cert(tp, TP_BLOB_ROLLOVER_CA, next, &err) != 0) {
		client_fail_exchange(tp, now, "SHADOW: the GetNextCACert reply holds no rollover CA certificate");
		goto out;
	}
	tp->rollover_ca = X509_dup(next);
	client_publish_trust(tp);
	char fp[160] = "", nb[EC_TIME_TEXT_MAX];
	ec_time_format_router(pki_cert_not_before(next), nb);
	if (ec_cert_fingerprint(next, EVP_sha256(), fp, sizeof(fp)) != 0)
		fp[0] = '\0';
	snprintf(tp->rec.last_result, sizeof(tp->rec.last_result), "rollover CA certificate stored (valid from %s)", nb);
	client_log(tp, "SHADOW: rollover CA certificate stored, valid from %s (SHA-256 %s)", nb, fp);
	if (client_save(tp, &err) != 0)
		client_log(tp, "cannot save state: %s", err.msg);
	if (!tp->policy.auto_enroll || tp->cert == NULL)
		tp_on_rollover_ready(&tp->rec.m, pki_cert_not_after(tp->ca));
	rc = 0;
out:
	sk_X509_pop_free(certs, X509_free);
	scep_client_reply_free(&r);
	return rc;
}

void client_stash_rollover(tp_runtime *tp, X509 *cert, bool shadow_key, ec_time now)
{
	ec_err err;
	if (client_set_cert(tp, TP_BLOB_ROLLOVER_CERT, cert, &err) != 0 ||
	    client_set_cert(tp, TP_BLOB_SIGNER, NULL, &err) != 0) {
		client_log(tp, "cannot record the rollover certificate: %s", err.msg);
		return;
	}
	X509_free(tp->rollover_cert);
	tp->rollover_cert = X509_dup(cert);
	tp->rec.txid[0] = '\0';
	tp->rec.request_key_shadow = shadow_key;
	/* The active certificates end together (that is why this is a SHADOW): switch then. */
	ec_time at = pki_cert_not_after(tp->cert);
	tp_on_rollover_ready(&tp->rec.m, at);
	client_note_success(tp, now);
	char serial[PKI_SERIAL_MAX] = "?", when[EC_TIME_TEXT_MAX];
	if (pki_cert_serial_hex(cert, serial) != 0)
		snprintf(serial, sizeof(serial), "?");
	ec_time_format_router(at, when);
	snprintf(tp->rec.last_result, sizeof(tp->rec.last_result), "rollover certificate %s ready; switch at %s", serial, when);
	if (client_save(tp, &err) != 0)
		client_log(tp, "cannot save state: %s", err.msg);
	client_log(tp, "SHADOW: %s", tp->rec.last_result);
	(void)now;
}

/* Replaces an active certificate (memory and record) by its rollover counterpart. */
static void take_rollover(tp_runtime *tp, X509 **active, X509 **rollover, int active_blob, int rollover_blob)
{
	X509_free(*active);
	*active = *rollover;
	*rollover = NULL;
	tp_record_move_blob(&tp->rec, rollover_blob, active_blob);
}

/* Promotes the rollover material in memory and in the record; the caller saves. */
static void promote(tp_runtime *tp, char *old_key_path, size_t sz)
{
	old_key_path[0] = '\0';
	if (tp->rollover_ca != NULL)
		take_rollover(tp, &tp->ca, &tp->rollover_ca, TP_BLOB_CA, TP_BLOB_ROLLOVER_CA);
	if (tp->rollover_cert == NULL)
		return;
	take_rollover(tp, &tp->cert, &tp->rollover_cert, TP_BLOB_CERT, TP_BLOB_ROLLOVER_CERT);
	if (tp->rec.request_key_shadow) {
		client_key_file(tp, tp->rec.key_slot, old_key_path, sz);
		tp->rec.key_slot = tp->rec.key_slot == 'a' ? 'b' : 'a';
		ec_err err;
		EVP_PKEY_free(tp->key);
		tp->key = tp->shadow_key;
		tp->shadow_key = NULL;
		if (tp->key == NULL)
			client_key_load_or_create(tp, tp->rec.key_slot, false, &tp->key, &err);
		tp->rec.request_key_shadow = 0;
	}
}

void client_switch(tp_runtime *tp, ec_time now)
{
	char old_key[EC_PATH_MAX];
	bool had_cert = tp->rollover_cert != NULL;
	if (tp->rollover_ca == NULL && !had_cert)
		return;
	promote(tp, old_key, sizeof(old_key));
	client_publish_trust(tp);
	if (tp->cert != NULL && tp->ca != NULL) {
		tp_on_installed(&tp->rec.m, &tp->policy, pki_cert_not_after(tp->cert), pki_cert_not_after(tp->ca), now);
	} else if (tp->ca != NULL) {
		tp_on_authenticated(&tp->rec.m, &tp->policy, pki_cert_not_after(tp->ca), now);
		tp_arm_ca_shadow(&tp->rec.m, &tp->policy, pki_cert_not_before(tp->ca), pki_cert_not_after(tp->ca), now);
	}
	snprintf(tp->rec.last_result, sizeof(tp->rec.last_result), "switched to the rollover %s",
	         had_cert ? "CA and identity certificates" : "CA certificate");
	client_commit_install(tp, "switch", old_key, "SHADOW: %s", tp->rec.last_result);
}
