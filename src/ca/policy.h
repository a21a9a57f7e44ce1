/*
 * policy.h - the CA's grant policy (SPEC §6.2): a pure function from the facts of one
 * enrollment request to a decision. No I/O, no clock, no OpenSSL: the CA engine establishes the
 * facts (who signed the request, is the challenge password valid, ...) and applies the decision.
 *
 * Purity and threads: pure; any thread (HTTP threads call it for each new request).
 */
#ifndef EVERCERT_CA_POLICY_H
#define EVERCERT_CA_POLICY_H

#include <stdbool.h>

#include "config/config.h"

/* Who signed the request, as established by the CA engine. */
enum ca_signer {
	CA_SIGNER_SELF_SIGNED = 0,   /* names itself as issuer: initial enrollment */
	CA_SIGNER_OURS_VALID,        /* a certificate this CA issued, within validity, not revoked */
	CA_SIGNER_OURS_EXPIRED,      /* a certificate this CA issued, outside its validity */
	CA_SIGNER_OURS_REVOKED,      /* a certificate this CA issued, revoked */
	CA_SIGNER_TRUSTED,           /* valid, unrevoked, and chains to a `grant auto trustpoint` TP */
	CA_SIGNER_FOREIGN,           /* any other certificate */
	CA_SIGNER_TRUSTED_REVOKED,   /* chains to a `grant auto trustpoint` TP whose CA revoked it */
	CA_SIGNER_TRUSTED_UNCHECKED, /* chains to such a TP, but no current CRL of its CA is held */
	CA_SIGNER_OURS_CA_ENDED,     /* a certificate this CA issued, not revoked, past its end, which
	                                was the end of the CA generation that issued it (the CA capped
	                                it); how long ago is in the facts */
};

enum ca_challenge {
	CA_CHALLENGE_ABSENT = 0,     /* the request carries no challenge password */
	CA_CHALLENGE_VALID,          /* it matches an unused, unexpired one-time password */
	CA_CHALLENGE_INVALID,        /* it matches none */
};

/* How the request's names compare with its signer's (meaningful for a renewal signer). */
enum ca_names {
	CA_NAMES_SAME = 0,           /* the same subject and the same subjectAltNames */
	CA_NAMES_SUBJECT_DIFFERS,
	CA_NAMES_SAN_DIFFERS,
};

typedef struct ca_policy_facts {
	enum cfg_grant grant;        /* of the server */
	bool shutdown;               /* the server is shut down */
	enum ca_signer signer;
	enum ca_challenge challenge;
	enum ca_names names;
	/* With CA_SIGNER_OURS_CA_ENDED: */
	ec_time signer_ended_ago;    /* ms since the signer (and its CA generation) ended */
	ec_time renewal_grace;       /* `grant renewal-grace`: ms after that end it still renews; 0 off */
	bool trusts_own;             /* `grant auto trustpoint` names this server itself */
} ca_policy_facts;

enum ca_verdict { CA_VERDICT_GRANT = 0, CA_VERDICT_PENDING, CA_VERDICT_REJECT };

typedef struct ca_policy_decision {
	enum ca_verdict verdict;
	int fail_info;               /* enum scep_fail, with CA_VERDICT_REJECT */
	const char *reason;          /* static text for logs and the request queue */
	bool consumes_challenge;     /* the engine uses the one-time password up, exactly when this says
	                                so, in the transaction that records the grant */
	bool renewal;                /* decided as a renewal of the signer's certificate */
	bool names_differ;           /* the reason is about the signer's names (the engine adds them) */
} ca_policy_decision;

/* Decides what to do with one new PKCSReq/RenewalReq. A renewal is bound to its signer: one
 * that asks for other names than the signing certificate holds is not a renewal and is never
 * granted because of its signature (only by grant auto, a one-time password or the operator). */
ca_policy_decision ca_policy_decide(const ca_policy_facts *facts) EC_MUST_USE;

/* Whether a signer counts as a renewal (signed by a certificate this CA or a trusted CA issued). */
bool ca_policy_is_renewal(int signer);

/* Whether the facts describe a renewal by a certificate that lapsed only because its CA generation
 * ended, arriving within the renewal grace: it renews as its signer did the moment before. */
bool ca_policy_in_renewal_grace(const ca_policy_facts *facts);

#endif
