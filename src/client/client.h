/*
 * client.h - one trustpoint run by the daemon (SPEC §7): authenticate, enroll, poll, retry,
 * renew, and install the certificate for the applications that use it.
 *
 * The driver around tp_machine.h: it performs what the machine asks (HTTP through
 * net/scep_client.h, messages through scep/scep.h, keys and files) and feeds the outcome back.
 * It never reads the clock: `now` comes from the daemon. Blocking: the HTTP exchanges run on the
 * caller's thread with the scep_client's timeouts.
 *
 * Files, under <state-dir>/trustpoints/ (opened once; every file relative to it, see fsutil.h):
 *   <TP>.state             the persisted tp_record (atomic)
 *   keys/<KEY>.<a|b>.key   the key pairs (active slot and shadow slot), encrypted, 0600
 *   client.keypass         the random secret that encrypts them, 0600
 * and, when configured, the application's copies: `output certificate|key|chain` (PEM, atomic,
 * key 0600) and the `output post-install` command run after each install.
 *
 * Every exchange that fails leaves the installed certificates and keys untouched, logs the
 * reason and schedules what the specification asks (POLL, CONNECT RETRY, re-armed RENEW).
 */
#ifndef EVERCERT_CLIENT_CLIENT_H
#define EVERCERT_CLIENT_CLIENT_H

#include <stdbool.h>

#include <openssl/x509.h>

#include "clock/clock.h"
#include "clock/timerlist.h"
#include "config/config.h"
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
int client_show_status(tp_runtime *tp, ec_time now, bool json, ec_buf *out) EC_MUST_USE;

/* The trustpoint's active CA certificate (and rollover CA, if any) as a new stack, or NULL: for
 * a certificate server's `grant auto trustpoint`. */
STACK_OF(X509) *client_trusted_certs(tp_runtime *tp);

#endif
