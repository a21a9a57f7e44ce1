/*
 * policy.h - the CA's grant policy (SPEC §6.2): a pure function from the facts of one
 * enrollment request to a decision. No I/O, no clock, no OpenSSL: the CA engine establishes the
 * facts (who signed the request, is the challenge password valid, ...) and applies the decision.
 */
#ifndef EVERCERT_CA_POLICY_H
#define EVERCERT_CA_POLICY_H

#include <stdbool.h>

#include "config/config.h"

/* Who signed the request, as established by the CA engine. */
enum ca_signer {
	CA_SIGNER_SELF_SIGNED = 0,   /* initial enrollment */
	CA_SIGNER_OURS_VALID,        /* a certificate this CA issued, within validity, not revoked */
	CA_SIGNER_OURS_EXPIRED,      /* a certificate this CA issued, outside its validity */
	CA_SIGNER_OURS_REVOKED,      /* a certificate this CA issued, revoked */
	CA_SIGNER_TRUSTED,           /* valid, unrevoked, and chains to a `grant auto trustpoint` TP */
	CA_SIGNER_FOREIGN,           /* any other certificate */
};

enum ca_challenge {
	CA_CHALLENGE_ABSENT = 0,     /* the request carries no challenge password */
	CA_CHALLENGE_VALID,          /* it matches an unused, unexpired one-time password */
	CA_CHALLENGE_INVALID,        /* it matches none */
};

typedef struct ca_policy_facts {
	int grant;                   /* enum cfg_grant of the server */
	bool shutdown;               /* the server is shut down */
	int signer;                  /* enum ca_signer */
	int challenge;               /* enum ca_challenge */
} ca_policy_facts;

enum ca_verdict { CA_VERDICT_GRANT = 0, CA_VERDICT_PENDING, CA_VERDICT_REJECT };

typedef struct ca_policy_decision {
	int verdict;                 /* enum ca_verdict */
	int fail_info;               /* enum scep_fail, with CA_VERDICT_REJECT */
	const char *reason;          /* static text for logs and the request queue */
	bool consumes_challenge;     /* the one-time password must be used up */
} ca_policy_decision;

/* Decides what to do with one new PKCSReq/RenewalReq. */
ca_policy_decision ca_policy_decide(const ca_policy_facts *facts);

/* Whether a signer counts as a renewal (signed by a certificate this CA or a trusted CA issued). */
bool ca_policy_is_renewal(int signer);

#endif
