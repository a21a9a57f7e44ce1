/* The grant policy of SPEC §6.2, as a table of facts and expected verdicts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "ca/policy.h"
#include "scep/scep.h"

typedef struct row {
	int grant, shutdown, signer, challenge, verdict;
} row;

static void verdicts(void **state)
{
	static const row table[] = {
		/* grant auto: everything but a revoked signer or a wrong password */
		{CFG_GRANT_AUTO, 0, CA_SIGNER_SELF_SIGNED, CA_CHALLENGE_ABSENT, CA_VERDICT_GRANT},
		{CFG_GRANT_AUTO, 0, CA_SIGNER_OURS_VALID, CA_CHALLENGE_ABSENT, CA_VERDICT_GRANT},
		{CFG_GRANT_AUTO, 0, CA_SIGNER_OURS_EXPIRED, CA_CHALLENGE_ABSENT, CA_VERDICT_GRANT},
		{CFG_GRANT_AUTO, 0, CA_SIGNER_OURS_REVOKED, CA_CHALLENGE_ABSENT, CA_VERDICT_REJECT},
		{CFG_GRANT_AUTO, 0, CA_SIGNER_SELF_SIGNED, CA_CHALLENGE_INVALID, CA_VERDICT_REJECT},
		/* a renewal's repeated password is not consulted */
		{CFG_GRANT_AUTO, 0, CA_SIGNER_OURS_VALID, CA_CHALLENGE_INVALID, CA_VERDICT_GRANT},
		/* manual: the queue, unless a one-time password vouches for the request */
		{CFG_GRANT_MANUAL, 0, CA_SIGNER_SELF_SIGNED, CA_CHALLENGE_ABSENT, CA_VERDICT_PENDING},
		{CFG_GRANT_MANUAL, 0, CA_SIGNER_SELF_SIGNED, CA_CHALLENGE_VALID, CA_VERDICT_GRANT},
		{CFG_GRANT_MANUAL, 0, CA_SIGNER_OURS_VALID, CA_CHALLENGE_ABSENT, CA_VERDICT_PENDING},
		{CFG_GRANT_MANUAL, 0, CA_SIGNER_FOREIGN, CA_CHALLENGE_ABSENT, CA_VERDICT_PENDING},
		/* none and shutdown reject everything */
		{CFG_GRANT_NONE, 0, CA_SIGNER_SELF_SIGNED, CA_CHALLENGE_VALID, CA_VERDICT_REJECT},
		{CFG_GRANT_NONE, 0, CA_SIGNER_OURS_VALID, CA_CHALLENGE_ABSENT, CA_VERDICT_REJECT},
		{CFG_GRANT_AUTO, 1, CA_SIGNER_SELF_SIGNED, CA_CHALLENGE_ABSENT, CA_VERDICT_REJECT},
		/* auto trustpoint: only signers that chain to the trustpoint, the rest queue */
		{CFG_GRANT_AUTO_TRUSTPOINT, 0, CA_SIGNER_TRUSTED, CA_CHALLENGE_ABSENT, CA_VERDICT_GRANT},
		{CFG_GRANT_AUTO_TRUSTPOINT, 0, CA_SIGNER_OURS_VALID, CA_CHALLENGE_ABSENT, CA_VERDICT_PENDING},
		{CFG_GRANT_AUTO_TRUSTPOINT, 0, CA_SIGNER_SELF_SIGNED, CA_CHALLENGE_ABSENT, CA_VERDICT_PENDING},
		{CFG_GRANT_AUTO_TRUSTPOINT, 0, CA_SIGNER_OURS_EXPIRED, CA_CHALLENGE_ABSENT, CA_VERDICT_PENDING},
		{CFG_GRANT_AUTO_TRUSTPOINT, 0, CA_SIGNER_FOREIGN, CA_CHALLENGE_ABSENT, CA_VERDICT_PENDING},
		{CFG_GRANT_AUTO_TRUSTPOINT, 0, CA_SIGNER_OURS_REVOKED, CA_CHALLENGE_ABSENT, CA_VERDICT_REJECT},
		/* another CA's certificate: revoked by that CA is refused, even with a password; with
		 * no current CRL of that CA, the operator decides */
		{CFG_GRANT_AUTO_TRUSTPOINT, 0, CA_SIGNER_TRUSTED_REVOKED, CA_CHALLENGE_ABSENT, CA_VERDICT_REJECT},
		{CFG_GRANT_AUTO_TRUSTPOINT, 0, CA_SIGNER_TRUSTED_REVOKED, CA_CHALLENGE_VALID, CA_VERDICT_REJECT},
		{CFG_GRANT_AUTO_TRUSTPOINT, 0, CA_SIGNER_TRUSTED_UNCHECKED, CA_CHALLENGE_ABSENT, CA_VERDICT_PENDING},
		{CFG_GRANT_MANUAL, 0, CA_SIGNER_TRUSTED_UNCHECKED, CA_CHALLENGE_ABSENT, CA_VERDICT_PENDING},
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const row *r = &table[i];
		ca_policy_facts f = {r->grant, r->shutdown != 0, r->signer, r->challenge, CA_NAMES_SAME, 0, 0, false};
		ca_policy_decision d = ca_policy_decide(&f);
		if ((int)d.verdict != r->verdict)
			fail_msg("row %zu: verdict %d, expected %d (%s)", i, d.verdict, r->verdict, d.reason);
		if (d.verdict == CA_VERDICT_REJECT)
			assert_int_equal(d.fail_info, SCEP_FAIL_BADREQUEST);
		assert_non_null(d.reason);
		assert_int_equal(d.consumes_challenge, r->challenge == CA_CHALLENGE_VALID && d.verdict == CA_VERDICT_GRANT);
	}
}

/* A renewal that asks for other names than its signer's is not granted on its signature. */
static void renewal_bound_to_signer(void **state)
{
	(void)state;
	static const struct {
		int grant, signer, challenge, names, verdict;
		bool renewal;
	} table[] = {
		{CFG_GRANT_AUTO_TRUSTPOINT, CA_SIGNER_TRUSTED, CA_CHALLENGE_ABSENT, CA_NAMES_SAME, CA_VERDICT_GRANT, true},
		{CFG_GRANT_AUTO_TRUSTPOINT, CA_SIGNER_TRUSTED, CA_CHALLENGE_ABSENT, CA_NAMES_SUBJECT_DIFFERS, CA_VERDICT_PENDING, false},
		{CFG_GRANT_AUTO_TRUSTPOINT, CA_SIGNER_TRUSTED, CA_CHALLENGE_ABSENT, CA_NAMES_SAN_DIFFERS, CA_VERDICT_PENDING, false},
		{CFG_GRANT_MANUAL, CA_SIGNER_OURS_VALID, CA_CHALLENGE_ABSENT, CA_NAMES_SUBJECT_DIFFERS, CA_VERDICT_PENDING, false},
		/* a repeated password is consulted once the request is no renewal */
		{CFG_GRANT_AUTO_TRUSTPOINT, CA_SIGNER_TRUSTED, CA_CHALLENGE_INVALID, CA_NAMES_SAN_DIFFERS, CA_VERDICT_REJECT, false},
		{CFG_GRANT_AUTO_TRUSTPOINT, CA_SIGNER_TRUSTED, CA_CHALLENGE_VALID, CA_NAMES_SAN_DIFFERS, CA_VERDICT_GRANT, false},
		/* grant auto grants anything, but not as a renewal */
		{CFG_GRANT_AUTO, CA_SIGNER_OURS_VALID, CA_CHALLENGE_ABSENT, CA_NAMES_SUBJECT_DIFFERS, CA_VERDICT_GRANT, false},
		{CFG_GRANT_AUTO, CA_SIGNER_OURS_VALID, CA_CHALLENGE_ABSENT, CA_NAMES_SAME, CA_VERDICT_GRANT, true},
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		ca_policy_facts f = {table[i].grant, false, table[i].signer, table[i].challenge, table[i].names,
		                     0, 0, false};
		ca_policy_decision d = ca_policy_decide(&f);
		if ((int)d.verdict != table[i].verdict)
			fail_msg("row %zu: verdict %d, expected %d (%s)", i, d.verdict, table[i].verdict, d.reason);
		assert_int_equal(d.renewal, table[i].renewal);
		if (d.verdict == CA_VERDICT_PENDING && table[i].names != CA_NAMES_SAME) {
			assert_true(d.names_differ);
			assert_non_null(strstr(d.reason, table[i].names == CA_NAMES_SUBJECT_DIFFERS
			                                 ? "subject differs from the signing certificate"
			                                 : "subjectAltName differs from the signing certificate"));
		}
	}
}

static void renewal_kinds(void **state)
{
	assert_true(ca_policy_is_renewal(CA_SIGNER_OURS_VALID));
	assert_true(ca_policy_is_renewal(CA_SIGNER_TRUSTED));
	assert_false(ca_policy_is_renewal(CA_SIGNER_SELF_SIGNED));
	assert_false(ca_policy_is_renewal(CA_SIGNER_OURS_EXPIRED));
	assert_false(ca_policy_is_renewal(CA_SIGNER_FOREIGN));
	assert_false(ca_policy_is_renewal(CA_SIGNER_TRUSTED_REVOKED));
	/* Signed by the holder of another CA's certificate: a renewal, just not granted on sight. */
	assert_true(ca_policy_is_renewal(CA_SIGNER_TRUSTED_UNCHECKED));
	ca_policy_facts f = {CFG_GRANT_AUTO_TRUSTPOINT, false, CA_SIGNER_TRUSTED_UNCHECKED, CA_CHALLENGE_ABSENT,
	                     CA_NAMES_SAME, 0, 0, false};
	ca_policy_decision d = ca_policy_decide(&f);
	assert_int_equal(d.verdict, CA_VERDICT_PENDING);
	assert_non_null(strstr(d.reason, "revocation unknown"));
}

#define DAY ((ec_time)86400 * 1000)

/* A certificate that ended with its CA generation renews within the grace as it did the moment
 * before that end; one that ended on its own, or too long ago, is an expired signer. */
static void renewal_grace(void **state)
{
	(void)state;
	static const struct {
		int grant;
		int signer;
		ec_time ago, grace;
		bool own;
		int names, verdict;
		bool renewal;
	} table[] = {
		/* grant auto trustpoint naming this server: granted as a renewal */
		{CFG_GRANT_AUTO_TRUSTPOINT, CA_SIGNER_OURS_CA_ENDED, 1000, 30 * DAY, true, CA_NAMES_SAME, CA_VERDICT_GRANT, true},
		{CFG_GRANT_AUTO_TRUSTPOINT, CA_SIGNER_OURS_CA_ENDED, 30 * DAY, 30 * DAY, true, CA_NAMES_SAME, CA_VERDICT_GRANT, true},
		/* past the grace, or the grace off: an expired signer, for the operator */
		{CFG_GRANT_AUTO_TRUSTPOINT, CA_SIGNER_OURS_CA_ENDED, 30 * DAY + 1, 30 * DAY, true, CA_NAMES_SAME, CA_VERDICT_PENDING, false},
		{CFG_GRANT_AUTO_TRUSTPOINT, CA_SIGNER_OURS_CA_ENDED, 1000, 0, true, CA_NAMES_SAME, CA_VERDICT_PENDING, false},
		/* a certificate that expired on its own gets no grace */
		{CFG_GRANT_AUTO_TRUSTPOINT, CA_SIGNER_OURS_EXPIRED, 1000, 30 * DAY, true, CA_NAMES_SAME, CA_VERDICT_PENDING, false},
		/* still bound to the signer's names */
		{CFG_GRANT_AUTO_TRUSTPOINT, CA_SIGNER_OURS_CA_ENDED, 1000, 30 * DAY, true, CA_NAMES_SUBJECT_DIFFERS, CA_VERDICT_PENDING, false},
		{CFG_GRANT_AUTO_TRUSTPOINT, CA_SIGNER_OURS_CA_ENDED, 1000, 30 * DAY, true, CA_NAMES_SAN_DIFFERS, CA_VERDICT_PENDING, false},
		/* a grant auto trustpoint that names only other trustpoints does not trust it */
		{CFG_GRANT_AUTO_TRUSTPOINT, CA_SIGNER_OURS_CA_ENDED, 1000, 30 * DAY, false, CA_NAMES_SAME, CA_VERDICT_PENDING, true},
		/* manual: a renewal for the operator; grant auto: a renewal granted */
		{CFG_GRANT_MANUAL, CA_SIGNER_OURS_CA_ENDED, 1000, 30 * DAY, false, CA_NAMES_SAME, CA_VERDICT_PENDING, true},
		{CFG_GRANT_AUTO, CA_SIGNER_OURS_CA_ENDED, 1000, 30 * DAY, false, CA_NAMES_SAME, CA_VERDICT_GRANT, true},
		{CFG_GRANT_AUTO, CA_SIGNER_OURS_CA_ENDED, 31 * DAY, 30 * DAY, false, CA_NAMES_SAME, CA_VERDICT_GRANT, false},
		{CFG_GRANT_NONE, CA_SIGNER_OURS_CA_ENDED, 1000, 30 * DAY, true, CA_NAMES_SAME, CA_VERDICT_REJECT, false},
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		ca_policy_facts f = {table[i].grant, false, table[i].signer, CA_CHALLENGE_ABSENT, table[i].names,
		                     table[i].ago, table[i].grace, table[i].own};
		ca_policy_decision d = ca_policy_decide(&f);
		if ((int)d.verdict != table[i].verdict || d.renewal != table[i].renewal)
			fail_msg("row %zu: verdict %d renewal %d, expected %d %d (%s)", i, d.verdict, d.renewal,
			         table[i].verdict, table[i].renewal, d.reason);
	}
	ca_policy_facts f = {CFG_GRANT_AUTO_TRUSTPOINT, false, CA_SIGNER_OURS_CA_ENDED, CA_CHALLENGE_ABSENT,
	                     CA_NAMES_SAME, DAY, 30 * DAY, true};
	assert_true(ca_policy_in_renewal_grace(&f));
	assert_non_null(strstr(ca_policy_decide(&f).reason, "within the renewal grace"));
	f.signer_ended_ago = -1; /* not past its end: never in a grace */
	assert_false(ca_policy_in_renewal_grace(&f));
	assert_false(ca_policy_is_renewal(CA_SIGNER_OURS_CA_ENDED));
}

/* The policy alone says when a one-time password is used up: with a grant it vouched for, never
 * with a renewal that merely repeats one, nor with a request it leaves to the operator. */
static void challenge_use(void **state)
{
	(void)state;
	static const struct {
		int grant, signer, challenge, verdict;
		bool consumes;
	} table[] = {
		{CFG_GRANT_MANUAL, CA_SIGNER_SELF_SIGNED, CA_CHALLENGE_VALID, CA_VERDICT_GRANT, true},
		{CFG_GRANT_AUTO, CA_SIGNER_SELF_SIGNED, CA_CHALLENGE_VALID, CA_VERDICT_GRANT, true},
		{CFG_GRANT_AUTO, CA_SIGNER_OURS_VALID, CA_CHALLENGE_VALID, CA_VERDICT_GRANT, false},
		{CFG_GRANT_MANUAL, CA_SIGNER_OURS_VALID, CA_CHALLENGE_VALID, CA_VERDICT_PENDING, false},
		{CFG_GRANT_AUTO_TRUSTPOINT, CA_SIGNER_TRUSTED, CA_CHALLENGE_VALID, CA_VERDICT_GRANT, false},
		{CFG_GRANT_NONE, CA_SIGNER_SELF_SIGNED, CA_CHALLENGE_VALID, CA_VERDICT_REJECT, false},
		/* the password another request used up meanwhile: decided again as invalid */
		{CFG_GRANT_AUTO, CA_SIGNER_SELF_SIGNED, CA_CHALLENGE_INVALID, CA_VERDICT_REJECT, false},
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		ca_policy_facts f = {table[i].grant, false, table[i].signer, table[i].challenge, CA_NAMES_SAME, 0, 0, false};
		ca_policy_decision d = ca_policy_decide(&f);
		if ((int)d.verdict != table[i].verdict || d.consumes_challenge != table[i].consumes)
			fail_msg("row %zu: verdict %d consumes %d (%s)", i, d.verdict, d.consumes_challenge, d.reason);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(verdicts), cmocka_unit_test(renewal_kinds),
	                                   cmocka_unit_test(renewal_bound_to_signer),
	                                   cmocka_unit_test(renewal_grace),
	                                   cmocka_unit_test(challenge_use)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
