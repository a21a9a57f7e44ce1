/*
 * client_internal.h - a trustpoint's runtime, shared by the client_*.c files only.
 */
#ifndef EVERCERT_CLIENT_INTERNAL_H
#define EVERCERT_CLIENT_INTERNAL_H

#include <stdatomic.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "client/client.h"
#include "client/post_install.h"
#include "client/tp_record.h"
#include "scep/scep_caps.h"
#include "scep_client/scep_client.h"

/* How long a GetCACaps answer serves the requests that follow it. */
#define CLIENT_CAPS_FRESH (EC_MS_PER_HOUR)
/* How far in our future an issued certificate may start (the CA's clock being ahead). */
#define CLIENT_SKEW_TOLERANCE (EC_MS_PER_HOUR)

struct tp_runtime {
	cfg_trustpoint cfg;
	client_env env;
	tp_policy policy;
	tp_record rec;
	ec_dir dir;                       /* <state-dir>/trustpoints */
	ec_dir keys;                      /* <state-dir>/trustpoints/keys */
	char key_password[128];
	char hostname[256];               /* env.hostname points here: the caller's may not last */
	X509 *ca;                         /* from rec, parsed */
	X509 *cert;
	EVP_PKEY *key;                    /* active key pair (slot rec.key_slot), NULL until made */
	EVP_PKEY *shadow_key;             /* the other slot, when a regenerated renewal is in flight */
	scep_client *http;
	X509 *candidate_ca;               /* fetched by `authenticate`, awaiting confirmation */
	X509 *rollover_ca;                /* from rec, parsed: the CA's successor (SHADOW) */
	X509 *rollover_cert;              /* from rec, parsed: identity certificate issued by it */
	bool ca_checked;                  /* GetCACert compared with ca since the daemon started */
	ec_time caps_at;                  /* when rec.caps was last fetched; TP_NEVER since the start */

	/* Revocation (client_crl.c). Only trust is read by other threads. */
	pki_trust_slot trust;             /* the snapshot published for them */
	X509_CRL *crl;                    /* the CA's CRL, verified when taken; NULL: none */
	ec_time crl_fetch_at;             /* the CRL UPDATE timer; TP_NEVER when not armed */
	int crl_failures;                 /* fetches failed in a row: the retry backoff */
	char crl_problem[PKI_TRUST_WHY_MAX]; /* why the last fetch failed; "" after a success */
	EVP_PKEY *crl_key;                /* signs GetCRL while the trustpoint has no key of its own */
	atomic_bool crl_wanted;           /* a request found no current CRL (any thread sets it) */
	ec_time crl_wake_ms;              /* ec_elapsed_ms() of the last fetch a request asked for */

	/* For the metrics: exchanges failed in a row and when a certificate was last installed
	 * (in memory: counted from the daemon's start). */
	int failures_in_row;
	ec_time last_success;             /* 0: none since the start */

	/* The post-install command (client_post_install.c). */
	post_install_slot post_install;
	pid_t post_install_pid;           /* the running one's; 0 when none */
};

/* client_show_status.c: the metrics' account of outcomes (client_metrics). */
void client_note_success(tp_runtime *tp, ec_time now);
void client_note_failure(tp_runtime *tp);

/* client_core.c */
/* The CA's Retry-After in ms from now (either form), or -1 when it sent none. */
ec_time client_retry_after(const scep_client_reply *r, ec_time now);
void client_log(tp_runtime *tp, const char *fmt, ...) EC_PRINTF(2, 3);
int client_save(tp_runtime *tp, ec_err *err);
/* The name of a slot's key file in tp->keys. */
/* The key pair's label: the `rsakeypair` label, else the trustpoint's name (the router's key name). */
const char *client_key_label(const tp_runtime *tp);
int client_key_file(tp_runtime *tp, char slot, char *out, size_t sz);
/* Loads or creates the key of a slot. */
int client_key_load_or_create(tp_runtime *tp, char slot, bool create, EVP_PKEY **out, ec_err *err);
int client_write_outputs(tp_runtime *tp, ec_err *err);
/* Rewrites the output files (and runs post-install) when they differ from the installed state. */
void client_sync_outputs(tp_runtime *tp);
/* The commit of new certificates: the state file is the commit point (crash points
 * client-STAGE-before-commit and -after-commit around it); then the key pair they replaced
 * (old_key, a name in tp->keys; "" for none) is deleted, the line logged, the application's
 * files written and the post-install command started. */
void client_commit_install(tp_runtime *tp, const char *stage, const char *old_key, const char *fmt, ...)
	EC_PRINTF(4, 5);
/* client_post_install.c: starts the post-install command without waiting for it, or, while it
 * runs, queues one more run after it. */
void client_run_post_install(tp_runtime *tp);
/* At close: SIGTERM to a running command; no queued run starts. */
void client_post_install_stop(tp_runtime *tp);
int client_set_cert(tp_runtime *tp, int which, X509 *cert, ec_err *err);

/* client_names.c */
/* The subject a request asks for (subject-name or CN=<hostname>, then serialNumber,
 * unstructuredName from fqdn, unstructuredAddress from ip-address). */
int client_request_subject(tp_runtime *tp, char *out, size_t sz, ec_err *err);
/* Adds the extensionRequest with the subjectAltName (fqdn, subject-alt-name, ip-address as
 * dNSName, iPAddress, rfc822Name) to req; adds nothing when the trustpoint names none. */
int client_request_extensions(const tp_runtime *tp, X509_REQ *req, ec_err *err);

/* client_enroll.c */
int client_authenticate(tp_runtime *tp, bool confirmed, ec_time now, ec_buf *out, ec_err *err);
void client_enroll(tp_runtime *tp, ec_time now);
void client_poll(tp_runtime *tp, ec_time now);

/* client_crl.c */
/* Real time between two fetches that requests asked for (client_crl_wanted). */
#define CLIENT_CRL_WAKE_INTERVAL_MS 30000
/* At open: the CRL kept from the last run, the CRL UPDATE timer, the first snapshot. */
void client_crl_open(tp_runtime *tp, ec_time now);
void client_crl_close(tp_runtime *tp);
/* Publishes a new snapshot of what the trustpoint trusts; call after any change to its CA
 * certificates or CRL. */
void client_publish_trust(tp_runtime *tp);
/* The CA certificate changed (authenticated, switched): a CRL is fetched at once. */
void client_crl_arm_now(tp_runtime *tp, ec_time now);
/* The CRL UPDATE timer, TP_NEVER when not armed. */
ec_time client_crl_next(const tp_runtime *tp);
/* Fetches, checks and keeps the CA's CRL, then re-arms the timer (a refresh before its
 * nextUpdate, or a retry with backoff). */
void client_crl_refresh(tp_runtime *tp, ec_time now);
/* With revocation-check crl: 0 when cert is not revoked by a current CRL (fetched now when the
 * one held is not current); -1 with why ("...revoked...", "no current CRL ...") otherwise. */
int client_crl_check(tp_runtime *tp, X509 *cert, ec_time now, char *why, size_t whysz);
/* What the show commands print about revocation. */
int client_crl_show(tp_runtime *tp, ec_time now, bool json, ec_buf *out);

/* client_enroll.c, shared with client_crl.c */
X509 *client_self_signed(EVP_PKEY *key, X509_NAME *subject, ec_time now);
scep_caps client_caps(const tp_runtime *tp);
/* The digest and cipher of this trustpoint's requests: the strongest the CA advertises within
 * what the trustpoint allows (scep_caps_choose); -1 with a reason. */
int client_request_algs(const tp_runtime *tp, const scep_caps *caps, const EVP_MD **md,
                        const EVP_CIPHER **cipher, ec_err *err);

/* client_recover.c */
/* Before a request: when the CA may have been succeeded (the first request since the start, the
 * CA certificate has ended, or force: a reply that did not verify against it), GetCACert; a CA
 * certificate other than ours and our rollover one is adopted only through the chain of
 * custody from ours (pki_custody_walk), else the trustpoint needs re-authentication. 0: go on
 * with the request; otherwise the machine has been told what to do (a request to the adopted CA
 * now, CONNECT RETRY, or nothing until `authenticate`). */
int client_recover_check(tp_runtime *tp, ec_time now, bool force);
/* Another CA certificate replaces the trustpoint's: the rollover material of the old CA is
 * void (its certificates, a request in flight to it). In memory and record; the caller saves. */
int client_forget_rollover(tp_runtime *tp, ec_err *err);
/* At open: forget the last comparison, and act now on what ended while the daemon was stopped. */
void client_recover_at_start(tp_runtime *tp, ec_time now);
/* The CA certificate of a GetCACert reply (client_enroll.c). */
X509 *client_pick_ca_cert(const uint8_t *body, size_t len, bool is_chain, ec_err *err);

/* client_shadow.c */
/* GetNextCACert, verified against the active CA; 0 when the rollover CA certificate is held
 * (fetched now or before), -1 when the machine has been told what to do instead. */
int client_fetch_rollover_ca(tp_runtime *tp, ec_time now);
/* A SHADOW certificate was granted: keep it until the switch. */
void client_stash_rollover(tp_runtime *tp, X509 *cert, bool shadow_key, ec_time now);
/* SWITCH: the rollover certificates (and key) become active. */
void client_switch(tp_runtime *tp, ec_time now);
/* Shared with client_shadow.c. */
void client_fail_exchange(tp_runtime *tp, ec_time now, const char *fmt, ...) EC_PRINTF(3, 4);

#endif
