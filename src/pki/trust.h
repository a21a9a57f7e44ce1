/*
 * trust.h - revocation by CRL, and what one trustpoint trusts as an immutable snapshot that
 * other threads may hold.
 *
 * CRLs (pki_revocation.c): reading one for a decision. Pure: the time is given, nothing is
 * fetched. A CRL is *current* at `now` when it has a nextUpdate, now is before it, and its
 * thisUpdate is not more than PKI_CRL_SKEW after now (a CA whose clock runs a little ahead).
 *
 * Snapshots (pki_trust.c): the thread that owns a trustpoint (the daemon's main thread) builds
 * a new pki_trust whenever the trustpoint's CA certificates, its CRL or its revocation mode
 * change, and publishes it in the trustpoint's pki_trust_slot. A reader takes a reference from
 * the slot, uses the snapshot without any lock (it is never modified after pki_trust_new
 * returns; it holds its own copies of the certificates and the CRL) and releases it; the
 * snapshot is freed by whichever of the publisher or the readers lets go last.
 *
 * Conventions of pki.h: inputs borrowed, -1 with a reason in the ec_err on failure.
 *
 * Purity and threads: CRL decisions are pure; snapshots are built on the main thread and read on
 * any thread, as above.
 */
#ifndef EVERCERT_PKI_TRUST_H
#define EVERCERT_PKI_TRUST_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

#include "clock/clock.h"
#include "util/err.h"

/* How far in our future a CRL's thisUpdate may be (the CA's clock ahead of ours). */
#define PKI_CRL_SKEW (EC_MS_PER_HOUR)
/* Room for a reason given by the functions below. */
#define PKI_TRUST_WHY_MAX 320

/* ---- CRLs ---- */

/* thisUpdate and nextUpdate (INT64_MAX when the CRL has none); -1 for a malformed time. */
int pki_crl_times(X509_CRL *crl, ec_time *this_update, ec_time *next_update) EC_MUST_USE;

/* Whether crl is issued and signed by one of the CA certificates cas. */
bool pki_crl_signed_by(X509_CRL *crl, STACK_OF(X509) *cas);

/* 0 when crl is current at now; -1 with why (may be NULL) otherwise. */
int pki_crl_current(X509_CRL *crl, ec_time now, char *why, size_t whysz);

/* Whether a CRL just fetched may replace the one held (held may be NULL): issued and signed by
 * one of the CA certificates cas, current at now, and not older than held (a thisUpdate before
 * held's: an old CRL served again). */
int pki_crl_accept(X509_CRL *crl, STACK_OF(X509) *cas, X509_CRL *held, ec_time now, ec_err *err) EC_MUST_USE;

enum pki_crl_status {
	PKI_CRL_GOOD = 0,            /* the CRL is current and does not list the certificate */
	PKI_CRL_REVOKED,             /* the CRL lists it (whether current or not) */
	PKI_CRL_UNKNOWN,             /* no CRL, another issuer's, or not current */
};

/* cert's status in crl (may be NULL) at now; why (may be NULL) says what was found. The CRL's
 * signature is not checked here: pki_crl_accept did when it was taken. */
int pki_crl_status(X509_CRL *crl, X509 *cert, ec_time now, char *why, size_t whysz);

/* The first http:// or https:// URI among cert's CRL distribution points: 0, or 1 when it has
 * none that fits in outsz. */
int pki_cert_crl_url(X509 *cert, char *out, size_t outsz);

/* ---- trust snapshots ---- */

/* CRL_NONE: the CRL when a current one is held; without one, certificates that verify are
 * good (`revocation-check crl none`). */
enum pki_revocation_mode { PKI_REVOCATION_NONE = 0, PKI_REVOCATION_CRL = 1, PKI_REVOCATION_CRL_NONE = 2 };

enum pki_trust_verdict {
	PKI_TRUST_NOT_CHAINED = 0,   /* does not verify against the CA certificates at that time */
	PKI_TRUST_GOOD,              /* verifies, and is not revoked (or the mode is none) */
	PKI_TRUST_REVOKED,           /* verifies, and the CA's CRL lists it */
	PKI_TRUST_UNCHECKED,         /* verifies, but no current CRL is held: status unknown */
};

typedef struct pki_trust pki_trust;

/* A snapshot named name (the trustpoint) holding copies of cas (at least one certificate), of
 * crl (may be NULL) and crl_problem (why there is no current CRL, may be NULL); NULL when
 * memory is short. */
pki_trust *pki_trust_new(const char *name, STACK_OF(X509) *cas, X509_CRL *crl, int mode,
                         const char *crl_problem) EC_MUST_USE;
void pki_trust_release(pki_trust *t);

/* What a trustpoint makes of cert at now: the verdict, and why (may be NULL) in words
 * ("no current CRL for trustpoint OTHER: ..."). Pure. */
int pki_trust_check(const pki_trust *t, X509 *cert, ec_time now, char *why, size_t whysz);

const char *pki_trust_name(const pki_trust *t);

/* Where the owner publishes its snapshot. */
typedef struct pki_trust_slot {
	pthread_mutex_t lock;
	pki_trust *current;
} pki_trust_slot;

void pki_trust_slot_init(pki_trust_slot *s);
/* Releases the snapshot held; no reader may use the slot any more. */
void pki_trust_slot_destroy(pki_trust_slot *s);
/* A new reference to the current snapshot (release it), or NULL when none is published. */
pki_trust *pki_trust_slot_get(pki_trust_slot *s) EC_MUST_USE;
/* Replaces the current snapshot by t (taken; NULL: none). */
void pki_trust_slot_publish(pki_trust_slot *s, pki_trust *t);

#endif
