/*
 * client.h - one trustpoint run by the daemon (SPEC §7): authenticate, enroll, poll, retry,
 * renew, and install the certificate for the applications that use it.
 *
 * The driver around tp_machine.h: it performs what the machine asks (HTTP through
 * scep_client/scep_client.h, messages through scep/scep.h, keys and files) and feeds the outcome
 * back.
 * It never reads the clock: `now` comes from the daemon. Waiting: the HTTP exchanges wait for
 * their descriptor through util/task.h, so that when the daemon runs a trustpoint's work as a
 * task its loop, and every other trustpoint, go on while one CA is slow to answer; outside a task
 * they block, within the scep_client's timeouts. One trustpoint is driven by one task at a time
 * (the daemon sees to it: it never starts a second while one runs).
 *
 * Files, under <state-dir>/trustpoints/ (opened once; every file relative to it, see fsutil.h):
 *   <TP>.state             the persisted tp_record (atomic)
 *   keys/<KEY>.<a|b>.key   the key pairs (active slot and shadow slot), encrypted, 0600
 *   client.keypass         the random secret that encrypts them, 0600
 * and, when configured, the application's copies: `output certificate|key|chain|ca-bundle` (PEM,
 * atomic, key 0600; chain and ca-bundle hold the active then the rollover CA certificate) and the
 * `output post-install` command run after each install. The copies are compared with what the
 * trustpoint holds at open and after every timer firing, and one that differs is written again.
 *
 * Every exchange that fails leaves the installed certificates and keys untouched, logs the
 * reason and schedules what the specification asks (POLL, CONNECT RETRY, re-armed RENEW).
 *
 * With `revocation-check crl` (the configuration's own line, or the default of a trustpoint
 * that a `grant auto trustpoint` names, see cfg_trustpoint_revocation) the trustpoint also
 * keeps its CA's CRL (<TP>.crl beside the state), fetched from the CRL distribution point of
 * its identity certificate or by SCEP GetCRL, verified against the CA certificate, refreshed
 * by the CRL UPDATE timer before its nextUpdate, and refuses to install a certificate the CRL
 * lists or when no current CRL can be had.
 *
 * Threads: everything runs on the daemon's main thread, or in a task holding the loop's turn
 * (util/task.h), except client_trust and client_crl_wanted, which other threads may call.
 */
#ifndef EVERCERT_CLIENT_CLIENT_H
#define EVERCERT_CLIENT_CLIENT_H

#include <stdbool.h>

#include <openssl/x509.h>

#include "clock/clock.h"
#include "clock/timerlist.h"
#include "config/config.h"
#include "pki/trust.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/fsutil.h"

typedef struct tp_runtime tp_runtime;

typedef struct client_env {
	const char *state_dir;
	const ec_dir *state;             /* the same, already opened (NULL: state_dir is resolved) */
	const char *hostname;            /* for the default subject CN=<hostname> (copied) */
	void (*log)(void *ctx, const char *line);
	void *log_ctx;
	/* Optional: the daemon's clock, read when a reply arrives. The `now` a timer fired at may be
	 * seconds old by then (a slow CA, several exchanges), too old to judge the CA's clock by. */
	ec_time (*now)(void *ctx);
	void *now_ctx;
} client_env;

/* Loads (or creates) the trustpoint's state; a trustpoint with auto-enroll, a URL and a
 * configured fingerprint goes on to authenticate and enroll by itself at its first timer. */
int client_open(const cfg_trustpoint *cfg, const client_env *env, ec_time now, tp_runtime **out, ec_err *err) EC_MUST_USE;
void client_close(tp_runtime *tp);

const char *client_name(const tp_runtime *tp);

/* Timers: "RENEW <tp>", "SHADOW <tp>", "POLL <tp>", "CONNECT RETRY <tp>". */
size_t client_timers(tp_runtime *tp, ec_timer_entry *out, size_t max);
ec_time client_next_timer(tp_runtime *tp);
/* Performs every action due at now. */
void client_run_timers(tp_runtime *tp, ec_time now);

/* `authenticate TP`: fetches the CA certificate and shows it; installs it when confirmed or
 * when the configured fingerprint matches. */
int client_cmd_authenticate(tp_runtime *tp, bool confirmed, ec_time now, ec_buf *out, ec_err *err) EC_MUST_USE;
/* `enroll TP`: enrolls now (renews at once when already enrolled, after confirmation). */
int client_cmd_enroll(tp_runtime *tp, bool confirmed, ec_time now, ec_buf *out, ec_err *err) EC_MUST_USE;

int client_show_certificates(tp_runtime *tp, ec_time now, bool json, ec_buf *out) EC_MUST_USE;
/* `show crypto pki certificates` for all the trustpoints: each identity and CA certificate once
 * (the rollover ones marked "(Rollover)") with every trustpoint that holds it; --json: one
 * object {"certificates":[...]} with ISO 8601 times. CA certificates for which elsewhere (when
 * not NULL) is true are left out: a certificate server of the daemon lists them, naming the
 * trustpoints that hold them (client_holds_ca_cert). */
typedef bool (*client_cert_filter)(void *ctx, X509 *cert);
int client_show_all_certificates(tp_runtime *const *tps, size_t n_tps, ec_time now, bool json,
                                 client_cert_filter elsewhere, void *ctx, ec_buf *out) EC_MUST_USE;
/* Whether cert is the trustpoint's CA certificate or rollover CA certificate. */
bool client_holds_ca_cert(const tp_runtime *tp, X509 *cert);
/* `show crypto key mypubkey rsa` for all the trustpoints: each key pair once (trustpoints that
 * share an `rsakeypair` label list it under the first), the successor of a regenerated renewal
 * as "LABEL#"; --json: items of the daemon's "keys" array, comma-separated (one before the first
 * unless first), without the array. */
int client_show_all_keys(tp_runtime *const *tps, size_t n_tps, bool json, bool first, ec_buf *out) EC_MUST_USE;
/* `show crypto pki trustpoints status`: the router's sub-blocks (Issuing CA certificate, Router
 * General Purpose certificate, State, and the Rollover ones after a SHADOW renewal) then
 * evercert's lines (URL, request in flight, renewal armed, revocation check, last result). JSON:
 * one object of the daemon's "trustpoints" array, without a line end (docs/JSON.md). */
int client_show_status(tp_runtime *tp, ec_time now, bool json, ec_buf *out) EC_MUST_USE;

/* What the metrics report of a trustpoint; read by the daemon's loop, which publishes it. Times
 * are TP_NEVER (INT64_MAX) when there is none. */
typedef struct client_metrics {
	bool authenticated, enrolled;
	ec_time cert_not_after;           /* the active identity certificate's end */
	ec_time renewal_at;               /* the armed RENEW (also the first enrollment's) or SHADOW */
	const char *renewal_kind;         /* "RENEW" or "SHADOW" (static) */
	bool rollover_ready;              /* a SHADOW certificate waits for the switch */
	int failures_in_row;              /* exchanges failed since the last success (since start) */
	ec_time last_success;             /* the last certificate installed; at start, its notBefore */
} client_metrics;
void client_metrics_read(const tp_runtime *tp, client_metrics *out);

/* ---- revocation (revocation-check crl) ---- */

/* What the trustpoint trusts, for a certificate server's `grant auto trustpoint`: a new
 * reference to its current snapshot (its CA certificate and rollover CA certificate, its CA's
 * CRL and its revocation mode; see pki/trust.h), or NULL before it is authenticated. Safe from
 * any thread; the caller releases it. */
pki_trust *client_trust(tp_runtime *tp);
/* Safe from any thread: a request found no current CRL for this trustpoint. The fetch happens on
 * the daemon's main thread, in client_crl_service. */
void client_crl_wanted(tp_runtime *tp);
/* Main thread (or its task), every turn of the loop: fetches the CRL that client_crl_wanted asked
 * for, at most once per CLIENT_CRL_WAKE_INTERVAL_MS of real time whatever the number of
 * requests. client_crl_service_due: whether a call now would have anything to do. */
void client_crl_service(tp_runtime *tp, ec_time now);
bool client_crl_service_due(tp_runtime *tp);
/* The post-install command runs without the main loop waiting for it: the loop calls
 * client_post_install_service (reaps it, logs how it ended, signals it past its timeout, starts a
 * run queued while it ran) no later than client_post_install_wake, a time of ec_elapsed_ms();
 * INT64_MAX when nothing runs. */
void client_post_install_service(tp_runtime *tp);
ec_time client_post_install_wake(const tp_runtime *tp);
/* `crypto pki crl request TP`: fetches the CA's CRL now and says what came of it. */
int client_cmd_crl_request(tp_runtime *tp, ec_time now, ec_buf *out, ec_err *err) EC_MUST_USE;

#endif
