/*
 * tp_machine.h - the trustpoint's renewal state machine (SPEC §7.2-§7.5), pure.
 *
 * No I/O, no clock, no OpenSSL: functions take the current time and the outcome of the last
 * exchange with the CA, update a tp_state and set absolute fire-at times. The daemon's driver
 * (client.h) asks tp_due what to do at a given time, performs it (HTTP, keys, files) and reports
 * back with one of the tp_on_* calls. Every timer is an absolute time, persisted with the state,
 * so a restart resumes where it was and an overdue timer fires at once.
 *
 * Timer rules:
 *   RENEW/SHADOW  fire-at = T + P% x (notAfter - T), T = install time (§7.3); RENEW when the
 *                 identity certificate ends before its CA, SHADOW when they end together.
 *   POLL          after PENDING: retry period, doubling each time, capped at one hour, at most
 *                 `enrollment retry count` polls, never past the issuing CA's expiry (§7.5).
 *   CONNECT RETRY CA unreachable or 5xx: the same backoff, or the CA's Retry-After as far as the
 *                 instant an answer is needed (the end of the certificate being renewed; now
 *                 when there is none or it has ended, then the backoff is the limit). The
 *                 backoff grows across attempts: the timer that fires the next attempt does not
 *                 reset it, only a settled request (installed, pending, rejected) does.
 *   SWITCH        after a SHADOW renewal: at the active certificates' end, the rollover CA and
 *                 identity certificates (and the shadow key pair) become active (§7.6).
 *   other failure re-arms RENEW/SHADOW by the same formula on the remaining lifetime, no sooner
 *                 than one retry period.
 */
#ifndef EVERCERT_CLIENT_TP_MACHINE_H
#define EVERCERT_CLIENT_TP_MACHINE_H

#include <stdbool.h>
#include <stdint.h>

#include "clock/clock.h"

#define TP_NEVER INT64_MAX
/* POLL and CONNECT RETRY intervals never exceed this. */
#define TP_BACKOFF_CAP (EC_MS_PER_HOUR)

/* What the trustpoint is doing. */
enum tp_phase {
	TP_PHASE_IDLE = 0,      /* nothing in flight; a RENEW/SHADOW timer may be armed */
	TP_PHASE_POLLING,       /* a request is PENDING at the CA; POLL armed */
	TP_PHASE_REJECTED,      /* the CA refused; only a manual enroll restarts */
	TP_PHASE_REAUTH,        /* the CA's certificate does not chain to ours: nothing is sent
	                         * until the operator authenticates the CA again */
};

/* Why a request is made. */
enum tp_request_kind {
	TP_REQ_INITIAL = 0,     /* no identity certificate yet */
	TP_REQ_RENEW,           /* RENEW: same CA */
	TP_REQ_SHADOW,          /* SHADOW: to the rollover CA */
};

/* What tp_due asks the driver to do. */
enum tp_action {
	TP_ACT_NONE = 0,
	TP_ACT_ENROLL,          /* send a new request of state->request_kind */
	TP_ACT_POLL,            /* send CertPoll for state->txid */
	TP_ACT_RETRY,           /* the exchange that could not reach the CA, again */
	TP_ACT_SWITCH,          /* the active certificates end: the rollover ones take over */
};

/* The configuration the machine needs (from `crypto pki trustpoint`). */
typedef struct tp_policy {
	bool auto_enroll;
	int percent;                    /* 1..100 */
	bool has_url;                   /* `enrollment url` present */
	int retry_count;                /* polls; 0 = no limit */
	ec_time retry_period;           /* first POLL / CONNECT RETRY interval */
} tp_policy;

typedef struct tp_state {
	enum tp_phase phase;
	enum tp_request_kind request_kind; /* of the request in flight or due */
	bool authenticated;             /* an active CA certificate is installed */
	bool enrolled;                  /* an active identity certificate is installed */
	ec_time cert_not_after;         /* active identity certificate */
	ec_time ca_not_after;           /* active CA certificate */
	enum tp_request_kind renewal_kind; /* TP_REQ_RENEW or TP_REQ_SHADOW: what the timer armed */
	ec_time renew_at;               /* RENEW/SHADOW timer */
	ec_time poll_at;                /* POLL timer */
	ec_time retry_at;               /* CONNECT RETRY timer */
	ec_time poll_interval;          /* the last POLL interval used */
	ec_time retry_interval;         /* the last CONNECT RETRY interval used */
	int poll_count;                 /* polls sent for the request in flight */
	enum tp_action retry_action;    /* what to repeat when CONNECT RETRY fires */
	ec_time switch_at;              /* SHADOW done: when the rollover certificates take over */
	ec_time cert_ca_not_after;      /* the CA certificate that issued the active identity
	                                 * certificate (kept when a successor is adopted) */
} tp_state;

/* A fresh trustpoint: nothing installed; with auto-enroll and a URL the RENEW timer starts now
 * (it keeps trying, but nothing is sent until the CA certificate is authenticated). */
void tp_init(tp_state *s, const tp_policy *p, ec_time now);

/* The fire-at of the renewal timer for a certificate installed at t (§7.3). */
ec_time tp_renewal_time(ec_time installed_at, ec_time not_after, int percent);

/* RENEW when the identity certificate ends before the CA certificate, else SHADOW. */
int tp_renewal_kind(ec_time cert_not_after, ec_time ca_not_after);

/* Which certificate signs a request made at now. */
enum tp_request_signer {
	TP_SIGNER_SELF = 0,             /* a self-signed certificate of the request key: PKCSReq */
	TP_SIGNER_CERT,                 /* the identity certificate, still valid: a renewal */
	TP_SIGNER_LAPSED,               /* the identity certificate, ended exactly with (capped by)
	                                 * the CA certificate that issued it: still a renewal, which
	                                 * the CA grants as before that end within its renewal grace */
};
/* From the identity certificate's end and that of its issuing CA certificate (TP_NEVER when
 * unknown); a certificate that ended on its own lifetime, before its CA, enrolls anew. */
int tp_request_signer(ec_time now, ec_time cert_not_after, ec_time issuer_not_after);

/* The next backoff interval after prev (0 = first): period, then doubling, capped. */
ec_time tp_backoff_next(ec_time prev, ec_time period);

/* The earliest armed timer, or TP_NEVER. */
ec_time tp_next_wakeup(const tp_state *s);

/* What is due at now (and clears the timer that fired). Without authentication the first
 * enrollment cannot proceed: the driver authenticates first (with a configured fingerprint) or
 * calls tp_on_not_authenticated. */
int tp_due(tp_state *s, const tp_policy *p, ec_time now);

/* ---- outcomes ---- */
void tp_on_authenticated(tp_state *s, const tp_policy *p, ec_time ca_not_after, ec_time now);
/* RENEW fired for the first enrollment before the CA certificate was installed: try again one
 * period later. */
void tp_on_not_authenticated(tp_state *s, const tp_policy *p, ec_time now);
/* A certificate was installed at now: arm RENEW or SHADOW (when auto-enroll is on). */
void tp_on_installed(tp_state *s, const tp_policy *p, ec_time cert_not_after, ec_time ca_not_after, ec_time now);
void tp_on_pending(tp_state *s, const tp_policy *p, ec_time now);
void tp_on_rejected(tp_state *s);
/* The CA could not be reached, or answered 5xx; retry_after_ms < 0 when it gave no Retry-After.
 * `action` is what to repeat. */
void tp_on_unreachable(tp_state *s, const tp_policy *p, int action, ec_time retry_after_ms, ec_time now);
/* The instant the trustpoint needs the CA's answer by: its certificate's end, or now when it
 * has none or it has ended. */
ec_time tp_answer_needed_by(const tp_state *s, ec_time now);
/* Any other failure (a bad reply, a certificate for another key...). */
void tp_on_failure(tp_state *s, const tp_policy *p, ec_time now);
/* A SHADOW renewal has stored the rollover CA certificate (and, with auto-enroll, the rollover
 * identity certificate): they take over at switch_at, the active certificates' end. */
void tp_on_rollover_ready(tp_state *s, ec_time switch_at);
/* Without auto-enroll, a CA offering GetNextCACert: a SHADOW timer at 90% of the CA
 * certificate's validity, only to fetch the rollover CA certificate (§7.3). */
void tp_arm_ca_shadow(tp_state *s, const tp_policy *p, ec_time ca_not_before, ec_time ca_not_after, ec_time now);
/* The operator asked for an enrollment now (`enroll TP`): leaves REJECTED, arms RENEW now. */
void tp_on_manual_enroll(tp_state *s, ec_time now);

/* The CA's certificate changed while the trustpoint held an older one, and the chain of custody
 * led from that one to the new one (ca_not_after): the rollover material of the old CA is void,
 * and with auto-enroll a renewal (a new enrollment once the certificate has ended) to the new CA
 * is due now. */
void tp_on_ca_succeeded(tp_state *s, const tp_policy *p, ec_time ca_not_after, ec_time now);
/* The daemon starts: with auto-enroll, a trustpoint whose certificate or CA certificate ended
 * while it was stopped acts now rather than at a timer armed further ahead. */
void tp_on_start(tp_state *s, const tp_policy *p, ec_time now);
/* The CA's certificate does not chain to the trustpoint's: nothing more is sent (no request,
 * poll, retry or SWITCH timer stays armed) until tp_on_authenticated (the operator's `authenticate`), which leaves the phase and enrolls anew. */
void tp_on_reauth_needed(tp_state *s);

const char *tp_phase_name(int phase);
/* "RENEW", "SHADOW", or "RENEW (first enrollment)": the RENEW timer makes that one too. */
const char *tp_request_kind_name(int kind);

#endif
