#include "ca/policy.h"

#include "scep/scep.h"

static ca_policy_decision reject(const char *reason)
{
	ca_policy_decision d = {CA_VERDICT_REJECT, SCEP_FAIL_BADREQUEST, reason, false, false, false};
	return d;
}

static ca_policy_decision decide(int verdict, const char *reason, bool consumes)
{
	ca_policy_decision d = {verdict, SCEP_FAIL_NONE, reason, consumes, false, false};
	return d;
}

static ca_policy_decision renewal(int verdict, const char *reason)
{
	ca_policy_decision d = {verdict, SCEP_FAIL_NONE, reason, false, true, false};
	return d;
}

bool ca_policy_is_renewal(int signer)
{
	return signer == CA_SIGNER_OURS_VALID || signer == CA_SIGNER_TRUSTED || signer == CA_SIGNER_TRUSTED_UNCHECKED;
}

bool ca_policy_in_renewal_grace(const ca_policy_facts *f)
{
	return f->signer == CA_SIGNER_OURS_CA_ENDED && f->renewal_grace > 0 && f->signer_ended_ago >= 0 &&
	       f->signer_ended_ago <= f->renewal_grace;
}

/* Within the grace, a certificate that lapsed with its CA generation stands for what it was the
 * moment before that end: a valid certificate of this CA, trusted when `grant auto trustpoint`
 * names this server. Past the grace it is an expired certificate like any other. */
static int effective_signer(const ca_policy_facts *f)
{
	if (ca_policy_in_renewal_grace(f))
		return f->trusts_own ? CA_SIGNER_TRUSTED : CA_SIGNER_OURS_VALID;
	return f->signer == CA_SIGNER_OURS_CA_ENDED ? CA_SIGNER_OURS_EXPIRED : f->signer;
}

ca_policy_decision ca_policy_decide(const ca_policy_facts *facts)
{
	ca_policy_facts effective = *facts;
	effective.signer = effective_signer(facts);
	const ca_policy_facts *f = &effective;
	bool grace = ca_policy_in_renewal_grace(facts);

	if (f->shutdown)
		return reject("the certificate server is shut down");
	if (f->grant == CFG_GRANT_NONE)
		return reject("granting mode is none: every request is rejected");
	if (f->signer == CA_SIGNER_OURS_REVOKED || f->signer == CA_SIGNER_TRUSTED_REVOKED)
		return reject("signed by a revoked certificate");

	/* A renewal is authenticated by its signature; a challenge password it may still carry
	 * (routers repeat the configured one) is not consulted. */
	bool signed_by_holder = ca_policy_is_renewal(f->signer);
	if (signed_by_holder && f->names == CA_NAMES_SAME) {
		if (f->grant == CFG_GRANT_AUTO)
			return renewal(CA_VERDICT_GRANT, "renewal granted automatically");
		if (f->grant == CFG_GRANT_AUTO_TRUSTPOINT && f->signer == CA_SIGNER_TRUSTED)
			return renewal(CA_VERDICT_GRANT, grace ? "renewal signed by a certificate that ended with its "
			               "CA certificate, within the renewal grace" : "renewal signed by a trusted certificate");
		if (f->signer == CA_SIGNER_TRUSTED_UNCHECKED)
			return renewal(CA_VERDICT_PENDING, "renewal waiting for the operator (revocation unknown)");
		return renewal(CA_VERDICT_PENDING, "renewal waiting for the operator");
	}

	if (f->challenge == CA_CHALLENGE_INVALID)
		return reject("challenge password is not a valid one-time password");
	if (f->challenge == CA_CHALLENGE_VALID)
		return decide(CA_VERDICT_GRANT, "granted by one-time challenge password", true);
	if (f->grant == CFG_GRANT_AUTO)
		return decide(CA_VERDICT_GRANT, "granted automatically", false);
	if (signed_by_holder) {
		ca_policy_decision d = decide(CA_VERDICT_PENDING, f->names == CA_NAMES_SUBJECT_DIFFERS
		                              ? "subject differs from the signing certificate"
		                              : "subjectAltName differs from the signing certificate", false);
		d.names_differ = true;
		return d;
	}
	if (f->signer == CA_SIGNER_OURS_EXPIRED)
		return decide(CA_VERDICT_PENDING, "signed by an expired certificate: waiting for the operator", false);
	if (f->signer == CA_SIGNER_FOREIGN)
		return decide(CA_VERDICT_PENDING, "signed by an unknown certificate: waiting for the operator", false);
	return decide(CA_VERDICT_PENDING, "waiting for the operator", false);
}
