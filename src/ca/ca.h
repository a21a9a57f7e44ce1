/*
 * ca.h - one certificate server (SPEC §6): its CA key generations, SCEP request handling,
 * the request queue, CRL, rollover and the operator's commands.
 *
 * The engine never reads the clock: every call takes `now` from the daemon. It owns its store
 * (NAME.db in the CA directory, a PostgreSQL database named by `database url postgresql://...`,
 * or the one its host gives it in ca_env), its keys and
 * certificates. Files live in the CA directory (`database url`, default <state-dir>/<NAME>):
 *   NAME.db          the store (certificates, requests, CA generations, serial counter)
 *   NAME.<G>.key     the key of CA generation G (0 first, then one per rollover), encrypted
 *   NAME.<G>.key.made  when that key was made (`show crypto key mypubkey rsa`)
 *   NAME.pem         the active CA certificate, for operators and clients to copy
 *   NAME-rollover.pem  the rollover CA certificate, only while there is one
 *   NAME.crl         the current CRL (DER)
 *   NAME.p12         archive of the first CA; NAME_00001.p12 ... archives of rollover CAs
 *   NAME.keypass     random key password when no archive password is configured (0600)
 *   <serial>.cer     issued certificates at database level complete
 *
 * Thread safety: ca_handle_* may run on several HTTP threads at once; operator commands and
 * ca_run_timers run on the daemon's main thread, or in a task holding its turn (util/task.h):
 * a successor's key pair is then made beside the loop, outside the engine's lock. The engine
 * locks internally.
 *
 * Every issued certificate is committed to the store before the function that issued it
 * returns, so a reply built from it can never describe a certificate the store lost.
 *
 * Purity and threads: effects (store, files, keys) on the caller's thread; which thread calls what
 * is said above. Decisions are apart in policy.h and timeline.h, which are pure.
 */
#ifndef EVERCERT_CA_CA_H
#define EVERCERT_CA_CA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "clock/clock.h"
#include "clock/timerlist.h"
#include "config/config.h"
#include "pki/trust.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "util/logtext.h"

typedef struct ca_engine ca_engine;

/* What the engine needs from its host. */
typedef struct ca_env {
	const char *state_dir;          /* default parent of the CA directory */
	const ec_dir *state;            /* the same, already opened (NULL: state_dir is resolved) */
	int default_key_bits;           /* RSA size of CA keys (from `crypto key generate rsa`) */
	int rollover_key_bits;
	/* Optional: the store to use instead of NAME.db in the CA directory (an in-memory one for
	 * tests); the engine takes it over and closes it, also when ca_open fails. */
	struct ec_store *store;
	/* Optional, called from HTTP threads: what a trustpoint named by `grant auto trustpoint`
	 * trusts (its CA certificates, CRL and revocation mode), as a new reference to its current
	 * snapshot (released by the caller), or NULL when it trusts nothing yet. */
	pki_trust *(*trustpoint_trust)(void *ctx, const char *trustpoint);
	/* Optional, from HTTP threads: a request found no current CRL for the trustpoint; its owner
	 * fetches one soon (at a bounded rate), never on the caller's thread. */
	void (*trustpoint_crl_wanted)(void *ctx, const char *trustpoint);
	void *trustpoint_ctx;
	/* Optional: receives one line per audited event (issuance, grant, revoke, rollover...). */
	ec_log_sink audit;
	void *audit_ctx;
} ca_env;

/* Opens the server: on first start creates the key pair, the self-signed CA certificate
 * (serial 1) and the archive; on later starts loads them and checks file modes. */
int ca_open(const cfg_server *cfg, const ca_env *env, ec_time now, ca_engine **out, ec_err *err) EC_MUST_USE;
void ca_close(ca_engine *ca);

const char *ca_name(const ca_engine *ca);

/* ---- SCEP operations (HTTP threads) ---- */

/* What a SCEP operation came to. The engine says what happened; the HTTP router alone decides
 * how each kind looks on the wire (status, content type, Retry-After). */
typedef enum ca_reply_kind {
	CA_REPLY_CA_CERT,       /* body: the active CA certificate, DER */
	CA_REPLY_CAPS,          /* body: the capability list, one a line */
	CA_REPLY_NEXT_CA,       /* body: signedData holding the rollover CA certificate */
	CA_REPLY_NOT_YET,       /* no rollover CA certificate yet; body: why; retry_after_seconds: when */
	CA_REPLY_CA_CHAIN,      /* body: the chain of custody, PEM */
	CA_REPLY_CA_PEM,        /* body: one CA certificate, PEM */
	CA_REPLY_NOT_FOUND,     /* the thing asked for does not exist; body: why, text */
	CA_REPLY_CRL,           /* body: the current CRL, DER */
	CA_REPLY_PKI_MESSAGE,   /* body: a CertRep pkiMessage (refusals included) */
	CA_REPLY_UNAVAILABLE,   /* the store cannot be reached: nothing was issued; body: why;
	                         * retry_after_seconds: when to try again */
	CA_REPLY_KIND_COUNT
} ca_reply_kind;

typedef struct ca_reply {
	ca_reply_kind kind;
	uint8_t *body;                  /* malloc'd, owned by the caller */
	size_t body_len;
	int64_t retry_after_seconds;    /* CA_REPLY_NOT_YET and _UNAVAILABLE: seconds until it may be there (>= 1) */
} ca_reply;

void ca_reply_free(ca_reply *r);

/* GetCACert: the active CA certificate, DER. */
int ca_get_ca_cert(ca_engine *ca, ca_reply *out, ec_err *err) EC_MUST_USE;
/* GetCACaps: the capability list of SPEC §3. */
int ca_get_ca_caps(ca_engine *ca, ca_reply *out, ec_err *err) EC_MUST_USE;
/* GetNextCACert: the rollover CA certificate in signedData, or CA_REPLY_NOT_YET with when to retry
 * (spread after the shadow generation by the source address and now, retry_spread.h). */
int ca_get_next_ca_cert(ca_engine *ca, ec_time now, const char *source, ca_reply *out, ec_err *err) EC_MUST_USE;
/* GetCARolloverChain (also `/NAME-custody.pem`): the chain of custody in PEM, oldest first:
 * CA certificate, then for each later generation its link certificate (signed by the previous
 * generation's key) and its CA certificate, up to the active one and the rollover one if any. It
 * starts at the oldest generation from which every later one is linked. */
int ca_get_rollover_chain(ca_engine *ca, ca_reply *out, ec_err *err) EC_MUST_USE;
/* `/NAME.pem` (rollover false) or `/NAME-rollover.pem`: that CA certificate in PEM, or
 * CA_REPLY_NOT_FOUND with the reason when there is no rollover CA certificate. */
int ca_get_ca_pem(ca_engine *ca, bool rollover, ca_reply *out, ec_err *err) EC_MUST_USE;
/* The current CRL, DER (served at `/NAME.crl` and `operation=GetCRL`). */
int ca_get_crl_der(ca_engine *ca, ca_reply *out, ec_err *err) EC_MUST_USE;
/* PKIOperation. Returns -1 for input that is not a pkiMessage at all (err says why) and -2 for a
 * failure of the server itself; every other outcome, refusals included, is a CertRep in *out
 * (CA_REPLY_PKI_MESSAGE), except a store that cannot be reached: CA_REPLY_UNAVAILABLE, with
 * nothing issued (a certificate is only ever sent once its row is stored). */
int ca_pki_operation(ca_engine *ca, const uint8_t *msg, size_t len, const char *source,
                     ec_time now, ca_reply *out, ec_err *err) EC_MUST_USE;

/* ---- timers ---- */

/* Lists the server's timers, soonest first; returns the count written (at most max). */
size_t ca_timers(ca_engine *ca, ec_timer_entry *out, size_t max) EC_MUST_USE;
/* The earliest fire-at, or INT64_MAX when nothing is scheduled. */
ec_time ca_next_timer(ca_engine *ca);
/* Fires every timer due at or before now, in order. */
int ca_run_timers(ca_engine *ca, ec_time now, ec_err *err) EC_MUST_USE;

/* ---- operator commands (main thread); human-readable results are appended to out ---- */

int ca_cmd_info_requests(ca_engine *ca, ec_time now, ec_buf *out, ec_err *err) EC_MUST_USE;
/* id < 0: all pending requests. */
int ca_cmd_grant(ca_engine *ca, int64_t id, ec_time now, ec_buf *out, ec_err *err) EC_MUST_USE;
int ca_cmd_reject(ca_engine *ca, int64_t id, ec_time now, ec_buf *out, ec_err *err) EC_MUST_USE;
int ca_cmd_revoke(ca_engine *ca, const char *serial_hex, bool revoke, ec_time now, ec_buf *out, ec_err *err) EC_MUST_USE;
int ca_cmd_password_generate(ca_engine *ca, int minutes, ec_time now, ec_buf *out, ec_err *err) EC_MUST_USE;
int ca_cmd_rollover(ca_engine *ca, ec_time now, ec_buf *out, ec_err *err) EC_MUST_USE;
/* confirmed false: only reports what a cancel would remove. */
int ca_cmd_rollover_cancel(ca_engine *ca, bool confirmed, ec_time now, ec_buf *out, ec_err *err) EC_MUST_USE;
int ca_cmd_shutdown(ca_engine *ca, bool shutdown, ec_buf *out, ec_err *err) EC_MUST_USE;
/* The daemon's reload: takes cfg's settings that apply live (config/config_diff.h says which:
 * grant, lifetimes, hash, cdp-url, DES, issuance bounds, shutdown), the others being left as
 * opened; a new CRL lifetime issues the CRL again now. Main thread, or a task holding the turn. */
int ca_reconfigure(ca_engine *ca, const cfg_server *cfg, ec_time now, ec_err *err) EC_MUST_USE;

/* show crypto pki server / certificates / mypubkey, text or JSON (flags: CA_SHOW_*). The JSON
 * forms are parts of the daemon's one document (docs/JSON.md), without a line end: the server's
 * object, the certificates as items of an array (comma-separated), the keys likewise. */
#define CA_SHOW_JSON 1u
#define CA_SHOW_MD5 2u
/* The daemon's clock is not authoritative (SPEC §2): the server's State says so, and its timers
 * do not run. The engine never reads the clock; the daemon tells it. */
#define CA_SHOW_CLOCK_UNSET 4u
int ca_show_server(ca_engine *ca, ec_time now, unsigned flags, ec_buf *out, ec_err *err) EC_MUST_USE;
int ca_show_certificates(ca_engine *ca, ec_time now, unsigned flags, ec_buf *out, ec_err *err) EC_MUST_USE;
/* The same listing, where the daemon's trustpoints that hold one of the server's certificates are
 * named beside it: holders appends " NAME" for each (text: "Associated Trustpoints: ROOTCA TP1";
 * JSON: "associated_trustpoints" of each certificate). */
typedef int (*ca_cert_holders_fn)(void *ctx, X509 *cert, bool json, ec_buf *out);
int ca_show_certificates_held(ca_engine *ca, ec_time now, unsigned flags, ca_cert_holders_fn holders, void *ctx,
                              ec_buf *out, ec_err *err) EC_MUST_USE;
/* Whether cert is one of the server's CA certificates (active, rollover or retired). */
bool ca_holds_cert(ca_engine *ca, X509 *cert);
int ca_show_mypubkey(ca_engine *ca, unsigned flags, ec_buf *out, ec_err *err) EC_MUST_USE;

/* `info requests --json`: appends {"server":NAME,"requests":[...]} (docs/JSON.md), no newline. */
int ca_cmd_info_requests_json(ca_engine *ca, ec_buf *out, ec_err *err) EC_MUST_USE;

/* ---- metrics (any thread: the metrics listener reads them) ---- */

/* What PKIOperation answered to enrollment messages (PKCSReq, RenewalReq, CertPoll), counted since
 * the engine opened: SUCCESS, PENDING, FAILURE, or "try again later" while the store is away. */
enum ca_outcome {
	CA_OUTCOME_SUCCESS = 0,
	CA_OUTCOME_PENDING,
	CA_OUTCOME_FAILURE,
	CA_OUTCOME_UNAVAILABLE,
	CA_OUTCOME_COUNT
};
const char *ca_outcome_name(int outcome);

#define CA_METRICS_GENS 64
typedef struct ca_metrics_gen {
	int generation;
	const char *role;               /* "active", "rollover", "retired" (static) */
	char serial_hex[48];
	ec_time not_before, not_after;
} ca_metrics_gen;

typedef struct ca_metrics {
	bool enabled;                   /* not `shutdown` */
	bool rollover;                  /* a rollover CA certificate exists */
	ec_time crl_next_update;
	ec_time shadow_generation;      /* INT64_MAX when none is scheduled */
	ec_time cert_expire;            /* the active CA certificate's end */
	int64_t pending;                /* requests waiting for the operator */
	uint64_t enrollments[CA_OUTCOME_COUNT];
	/* What the store made the disk do since it opened (store_get_stats); not counted on a
	 * store whose server syncs (PostgreSQL). */
	bool store_counted;
	uint64_t store_commits, store_fdatasyncs, store_wal_bytes;
	size_t n_gens;
	ca_metrics_gen gens[CA_METRICS_GENS];
} ca_metrics;

/* Fills *out under the engine's lock (pending: one query of the store). */
int ca_metrics_read(ca_engine *ca, ca_metrics *out, ec_err *err) EC_MUST_USE;

/* The active CA certificate (borrowed; valid until the next rollover switch) and its SHA-256
 * fingerprint in display form. */
X509 *ca_active_cert(ca_engine *ca);
int ca_fingerprint(ca_engine *ca, char *out, size_t outsz) EC_MUST_USE;

/* ---- backup (ca_backup.c) ---- */
/* Copies what the server keeps into dst/NAME (created): every file of its CA directory (keys,
 * key password, archives, certificates, CRL) and its database through store_backup, recording
 * each file in m as prefix/NAME/... and the header line "ca NAME sqlite|external HIGHEST-SERIAL
 * prefix/NAME" ("ca-directory NAME PATH" too for a `database url` directory). A database that is
 * no file (PostgreSQL) is left to its own tools, which out says. Main thread, while none of the
 * server's timers runs (a new generation's key and row then come together). */
struct ec_manifest;
int ca_backup(ca_engine *ca, const ec_dir *dst, const char *prefix, struct ec_manifest *m, ec_buf *out,
              ec_err *err) EC_MUST_USE;

#endif
