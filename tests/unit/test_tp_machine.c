/* The trustpoint state machine on explicit times: timer formulas, backoff, limits, outcomes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "client/tp_machine.h"

#define MIN EC_MS_PER_MINUTE
#define DAY EC_MS_PER_DAY
static const ec_time T = INT64_C(1444396456000); /* 2015-10-09T13:14:16Z */

static tp_policy policy(int percent)
{
	tp_policy p = {.auto_enroll = true, .percent = percent, .has_url = true, .retry_count = 999,
	               .retry_period = MIN};
	return p;
}

static void renew_at_80_percent_of_a_year(void **state)
{
	assert_int_equal(tp_renewal_time(T, T + 365 * DAY, 80), T + 292 * DAY);
	assert_int_equal(tp_renewal_time(T, T + 365 * DAY, 100), T + 365 * DAY);
	assert_int_equal(tp_renewal_time(T, T + 10 * DAY, 50), T + 5 * DAY);
	/* Installed late in its life: the formula runs on what is left. */
	assert_int_equal(tp_renewal_time(T + 100 * DAY, T + 200 * DAY, 80), T + 180 * DAY);
	tp_policy p = policy(80);
	tp_state s;
	tp_init(&s, &p, T);
	tp_on_authenticated(&s, &p, T + 1095 * DAY, T);
	tp_on_installed(&s, &p, T + 365 * DAY, T + 1095 * DAY, T);
	assert_int_equal(s.renew_at, T + 292 * DAY);
	assert_int_equal(s.renewal_kind, TP_REQ_RENEW);
	assert_int_equal(tp_next_wakeup(&s), T + 292 * DAY);
	assert_int_equal(tp_due(&s, &p, T + 292 * DAY - 1), TP_ACT_NONE);
	assert_int_equal(tp_due(&s, &p, T + 292 * DAY), TP_ACT_ENROLL);
	assert_int_equal(s.request_kind, TP_REQ_RENEW);
}

static void renew_or_shadow_from_end_dates(void **state)
{
	assert_int_equal(tp_renewal_kind(T + 10, T + 20), TP_REQ_RENEW);
	assert_int_equal(tp_renewal_kind(T + 20, T + 20), TP_REQ_SHADOW);
	tp_policy p = policy(80);
	tp_state s;
	tp_init(&s, &p, T);
	tp_on_installed(&s, &p, T + 100 * DAY, T + 100 * DAY, T);
	assert_int_equal(s.renewal_kind, TP_REQ_SHADOW);
	assert_int_equal(tp_due(&s, &p, T + 80 * DAY), TP_ACT_ENROLL);
	assert_int_equal(s.request_kind, TP_REQ_SHADOW);
}

static void first_enrollment_waits_for_authentication(void **state)
{
	tp_policy p = policy(80);
	tp_state s;
	tp_init(&s, &p, T);
	assert_int_equal(s.renew_at, T); /* starts before authentication */
	assert_int_equal(tp_due(&s, &p, T), TP_ACT_ENROLL);
	assert_int_equal(s.request_kind, TP_REQ_INITIAL);
	tp_on_not_authenticated(&s, &p, T);
	assert_int_equal(s.renew_at, T + MIN);
	tp_on_not_authenticated(&s, &p, T + MIN);
	assert_int_equal(s.renew_at, T + 3 * MIN); /* the tries back off while nobody authenticates */
	tp_on_authenticated(&s, &p, T + 1000 * DAY, T + MIN + 10);
	assert_int_equal(s.renew_at, T + MIN + 10); /* authenticated: the first request goes at once */
	assert_int_equal(tp_due(&s, &p, T + MIN + 10), TP_ACT_ENROLL);

	tp_policy manual = p;
	manual.auto_enroll = false;
	tp_init(&s, &manual, T);
	assert_int_equal(tp_next_wakeup(&s), TP_NEVER);
	tp_on_authenticated(&s, &manual, T + DAY, T);
	assert_int_equal(tp_next_wakeup(&s), TP_NEVER);
}

static void poll_doubles_then_caps(void **state)
{
	tp_policy p = policy(80);
	tp_state s;
	tp_init(&s, &p, T);
	tp_on_authenticated(&s, &p, T + 1000 * DAY, T);
	assert_int_equal(tp_due(&s, &p, T), TP_ACT_ENROLL);
	static const int expected_minutes[] = {1, 2, 4, 8, 16, 32, 60, 60, 60};
	ec_time now = T;
	for (size_t i = 0; i < sizeof(expected_minutes) / sizeof(expected_minutes[0]); i++) {
		tp_on_pending(&s, &p, now);
		assert_int_equal(s.phase, TP_PHASE_POLLING);
		assert_int_equal(s.poll_at - now, expected_minutes[i] * MIN);
		now = s.poll_at;
		assert_int_equal(tp_due(&s, &p, now), TP_ACT_POLL);
	}
	tp_on_installed(&s, &p, now + 365 * DAY, T + 1000 * DAY, now);
	assert_int_equal(s.phase, TP_PHASE_IDLE);
	assert_int_equal(s.poll_at, TP_NEVER);
}

static void poll_count_limit(void **state)
{
	tp_policy p = policy(80);
	p.retry_count = 3;
	tp_state s;
	tp_init(&s, &p, T);
	tp_on_authenticated(&s, &p, T + 1000 * DAY, T);
	assert_int_equal(tp_due(&s, &p, T), TP_ACT_ENROLL);
	tp_on_pending(&s, &p, T);         /* the request: PENDING, poll 1 armed */
	tp_on_pending(&s, &p, s.poll_at); /* poll 1 */
	tp_on_pending(&s, &p, s.poll_at); /* poll 2 */
	assert_int_equal(s.phase, TP_PHASE_POLLING);
	ec_time now = s.poll_at;
	tp_on_pending(&s, &p, now);       /* poll 3: the limit */
	assert_int_equal(s.phase, TP_PHASE_IDLE);
	assert_int_equal(s.poll_at, TP_NEVER);
	assert_true(s.renew_at > now && s.renew_at != TP_NEVER); /* tries again later */
}

static void poll_never_past_ca_expiry(void **state)
{
	tp_policy p = policy(80);
	tp_state s;
	tp_init(&s, &p, T);
	tp_on_authenticated(&s, &p, T + 3 * MIN, T);
	assert_int_equal(tp_due(&s, &p, T), TP_ACT_ENROLL);
	tp_on_pending(&s, &p, T);
	assert_int_equal(s.poll_at, T + MIN);
	tp_on_pending(&s, &p, T + MIN); /* next would be T+3min: still allowed */
	assert_int_equal(s.poll_at, T + 3 * MIN);
	tp_on_pending(&s, &p, T + 3 * MIN); /* next at T+7min is past the CA's end */
	assert_int_equal(s.poll_at, TP_NEVER);
	assert_int_equal(s.phase, TP_PHASE_IDLE);
}

static void connect_retry_until_the_ca_returns(void **state)
{
	tp_policy p = policy(80);
	tp_state s;
	tp_init(&s, &p, T);
	tp_on_installed(&s, &p, T + 365 * DAY, T + 1000 * DAY, T);
	ec_time now = s.renew_at;
	assert_int_equal(tp_due(&s, &p, now), TP_ACT_ENROLL);
	tp_on_unreachable(&s, &p, TP_ACT_ENROLL, -1, now);
	assert_int_equal(s.retry_at, now + MIN);
	now = s.retry_at;
	assert_int_equal(tp_due(&s, &p, now), TP_ACT_ENROLL);
	tp_on_unreachable(&s, &p, TP_ACT_ENROLL, -1, now);
	assert_int_equal(s.retry_at, now + 2 * MIN);
	now = s.retry_at;
	assert_int_equal(tp_due(&s, &p, now), TP_ACT_ENROLL);
	/* Retry-After from the CA wins over the backoff. */
	tp_on_unreachable(&s, &p, TP_ACT_ENROLL, 7200 * EC_MS_PER_SECOND, now);
	assert_int_equal(s.retry_at, now + 2 * EC_MS_PER_HOUR);
	now = s.retry_at;
	assert_int_equal(tp_due(&s, &p, now), TP_ACT_ENROLL);
	/* A poll that could not be sent is repeated as a poll. */
	tp_on_pending(&s, &p, now);
	now = s.poll_at;
	assert_int_equal(tp_due(&s, &p, now), TP_ACT_POLL);
	tp_on_unreachable(&s, &p, TP_ACT_POLL, -1, now);
	assert_int_equal(tp_due(&s, &p, s.retry_at), TP_ACT_POLL);
	/* The CA is back: the certificate is installed and the retry state is gone. */
	tp_on_installed(&s, &p, now + 365 * DAY, T + 1000 * DAY, now);
	assert_int_equal(s.retry_at, TP_NEVER);
	assert_int_equal(s.retry_interval, 0);
}

static void rejection_stops_until_manual_enroll(void **state)
{
	tp_policy p = policy(80);
	tp_state s;
	tp_init(&s, &p, T);
	tp_on_installed(&s, &p, T + 365 * DAY, T + 1000 * DAY, T);
	assert_int_equal(tp_due(&s, &p, s.renew_at), TP_ACT_ENROLL);
	tp_on_rejected(&s);
	assert_int_equal(s.phase, TP_PHASE_REJECTED);
	assert_int_equal(tp_next_wakeup(&s), TP_NEVER);
	tp_on_manual_enroll(&s, T + 300 * DAY);
	assert_int_equal(s.phase, TP_PHASE_IDLE);
	assert_int_equal(tp_due(&s, &p, T + 300 * DAY), TP_ACT_ENROLL);
	assert_int_equal(s.request_kind, TP_REQ_RENEW);
}

static void failure_rearms_on_remaining_life(void **state)
{
	tp_policy p = policy(80);
	tp_state s;
	tp_init(&s, &p, T);
	tp_on_installed(&s, &p, T + 100 * DAY, T + 1000 * DAY, T);
	ec_time now = T + 90 * DAY;
	tp_on_failure(&s, &p, now);
	assert_int_equal(s.renew_at, now + 8 * DAY); /* 80% of the 10 days left */
	/* Near the end, one retry period is the floor. */
	now = T + 100 * DAY - 10000;
	tp_on_failure(&s, &p, now);
	assert_true(s.renew_at >= now + MIN);
}

static void shadow_then_switch(void **state)
{
	tp_policy p = policy(80);
	tp_state s;
	tp_init(&s, &p, T);
	tp_on_installed(&s, &p, T + 100 * DAY, T + 100 * DAY, T);
	assert_int_equal(tp_due(&s, &p, T + 80 * DAY), TP_ACT_ENROLL);
	assert_int_equal(s.request_kind, TP_REQ_SHADOW);
	/* 503 + Retry-After from a CA without its rollover certificate yet. */
	tp_on_unreachable(&s, &p, TP_ACT_ENROLL, 3 * DAY, T + 80 * DAY);
	assert_int_equal(tp_due(&s, &p, T + 83 * DAY), TP_ACT_ENROLL);
	assert_int_equal(s.request_kind, TP_REQ_SHADOW); /* still a SHADOW */
	tp_on_rollover_ready(&s, T + 100 * DAY);
	assert_int_equal(tp_next_wakeup(&s), T + 100 * DAY);
	assert_int_equal(tp_due(&s, &p, T + 100 * DAY - 1), TP_ACT_NONE);
	assert_int_equal(tp_due(&s, &p, T + 100 * DAY), TP_ACT_SWITCH);
	tp_on_installed(&s, &p, T + 465 * DAY, T + 830 * DAY, T + 100 * DAY);
	assert_int_equal(s.renewal_kind, TP_REQ_RENEW);
	assert_int_equal(s.switch_at, TP_NEVER);
	assert_int_equal(s.renew_at, T + 100 * DAY + 292 * DAY);
}

static void ca_only_shadow_without_auto_enroll(void **state)
{
	tp_policy p = policy(80);
	p.auto_enroll = false;
	tp_state s;
	tp_init(&s, &p, T);
	tp_on_authenticated(&s, &p, T + 1000 * DAY, T);
	tp_arm_ca_shadow(&s, &p, T, T + 1000 * DAY, T);
	assert_int_equal(s.renew_at, T + 900 * DAY);
	assert_int_equal(tp_due(&s, &p, T + 900 * DAY), TP_ACT_ENROLL);
	assert_int_equal(s.request_kind, TP_REQ_SHADOW);
	/* with auto-enroll the identity renewal covers it: nothing extra is armed */
	tp_policy a = policy(80);
	tp_init(&s, &a, T);
	tp_arm_ca_shadow(&s, &a, T, T + 1000 * DAY, T);
	assert_int_equal(s.renew_at, T);
}

static void backoff_grows_across_renewal_timers(void **state)
{
	/* A certificate that ended while the daemon was off, and a CA that keeps failing: each
	 * failure re-arms the renewal timer, whose firing must not start the backoff again. */
	tp_policy p = policy(80);
	tp_state s;
	tp_init(&s, &p, T);
	tp_on_installed(&s, &p, T + 10 * DAY, T + 10 * DAY, T);
	ec_time now = T + 15 * DAY;
	static const int expected_minutes[] = {1, 2, 4, 8, 16, 32, 60, 60, 60};
	for (size_t i = 0; i < sizeof(expected_minutes) / sizeof(expected_minutes[0]); i++) {
		assert_int_equal(tp_due(&s, &p, now), TP_ACT_ENROLL);
		tp_on_failure(&s, &p, now);
		assert_int_equal(s.renew_at - now, expected_minutes[i] * MIN);
		now = s.renew_at;
	}
	/* The same when the CA cannot be reached and its retries alternate with failures. */
	assert_int_equal(tp_due(&s, &p, now), TP_ACT_ENROLL);
	tp_on_unreachable(&s, &p, TP_ACT_ENROLL, -1, now);
	assert_int_equal(s.retry_at - now, TP_BACKOFF_CAP);
	/* An answer that settles the request starts the backoff again. */
	tp_on_installed(&s, &p, now + 365 * DAY, now + 730 * DAY, now);
	assert_int_equal(s.retry_interval, 0);
	tp_on_failure(&s, &p, now + 300 * DAY);
	assert_int_equal(s.retry_interval, MIN);
}

static void retry_after_honoured_only_until_needed(void **state)
{
	tp_policy p = policy(80);
	tp_state s;
	tp_init(&s, &p, T);
	tp_on_installed(&s, &p, T + 100 * DAY, T + 100 * DAY, T);
	/* SHADOW at day 80, the CA's rollover only later: 355 days asked, the certificate ends at
	 * day 100: come back then. */
	ec_time now = T + 80 * DAY;
	assert_int_equal(tp_due(&s, &p, now), TP_ACT_ENROLL);
	assert_int_equal(tp_answer_needed_by(&s, now), T + 100 * DAY);
	tp_on_unreachable(&s, &p, TP_ACT_ENROLL, 355 * DAY, now);
	assert_int_equal(s.retry_at, T + 100 * DAY);
	/* Shorter than that: as asked. */
	tp_on_unreachable(&s, &p, TP_ACT_ENROLL, 3 * DAY, now);
	assert_int_equal(s.retry_at, now + 3 * DAY);
	/* The certificate has ended: the answer is needed now, the backoff is the limit. */
	now = T + 105 * DAY;
	assert_int_equal(tp_due(&s, &p, s.retry_at), TP_ACT_ENROLL);
	assert_int_equal(tp_answer_needed_by(&s, now), now);
	tp_on_unreachable(&s, &p, TP_ACT_ENROLL, 355 * DAY, now);
	ec_time first = s.retry_at - now;
	assert_true(first <= 4 * MIN);
	tp_on_unreachable(&s, &p, TP_ACT_ENROLL, 355 * DAY, s.retry_at);
	assert_int_equal(s.retry_interval, 2 * first);
	/* A Retry-After shorter than the backoff is kept (a CA shedding load names its time). */
	tp_on_unreachable(&s, &p, TP_ACT_ENROLL, 5 * EC_MS_PER_SECOND, now);
	assert_int_equal(s.retry_at, now + 5 * EC_MS_PER_SECOND);
	/* Not enrolled: needed now as well. */
	tp_init(&s, &p, T);
	tp_on_unreachable(&s, &p, TP_ACT_ENROLL, 355 * DAY, T);
	assert_int_equal(s.retry_at, T + MIN);
}

static void reauthentication_stops_everything(void **state)
{
	tp_policy p = policy(80);
	tp_state s;
	tp_init(&s, &p, T);
	tp_on_installed(&s, &p, T + 100 * DAY, T + 100 * DAY, T);
	assert_int_equal(tp_due(&s, &p, T + 200 * DAY), TP_ACT_ENROLL);
	tp_on_reauth_needed(&s);
	assert_int_equal(s.phase, TP_PHASE_REAUTH);
	assert_string_equal(tp_phase_name(s.phase), "reauthenticate");
	assert_int_equal(tp_next_wakeup(&s), TP_NEVER);
	assert_int_equal(tp_due(&s, &p, T + 300 * DAY), TP_ACT_NONE);
	/* The operator authenticates the CA again: a new request at once. */
	tp_on_authenticated(&s, &p, T + 1000 * DAY, T + 300 * DAY);
	assert_int_equal(s.phase, TP_PHASE_IDLE);
	assert_int_equal(tp_due(&s, &p, T + 300 * DAY), TP_ACT_ENROLL);
	assert_int_equal(s.request_kind, TP_REQ_RENEW);
}

/* A certificate that ends with its CA at T + 100 days, its SHADOW renewal done. */
static void shadow_done(tp_state *s, const tp_policy *p)
{
	tp_init(s, p, T);
	tp_on_installed(s, p, T + 100 * DAY, T + 100 * DAY, T);
	tp_on_rollover_ready(s, T + 100 * DAY);
}

static void reauthentication_disarms_a_held_switch(void **state)
{
	tp_policy p = policy(80);
	tp_state s;
	shadow_done(&s, &p);
	assert_int_equal(tp_next_wakeup(&s), T + 100 * DAY);
	tp_on_reauth_needed(&s);
	assert_int_equal(s.switch_at, TP_NEVER);
	assert_int_equal(tp_next_wakeup(&s), TP_NEVER);
	assert_int_equal(tp_due(&s, &p, T + 101 * DAY), TP_ACT_NONE);
}

static void lapsed_certificate_signs_when_it_ended_with_its_ca(void **state)
{
	ec_time end = T + 100 * DAY;
	/* Valid: the certificate signs, whatever its CA. */
	assert_int_equal(tp_request_signer(T, end, end), TP_SIGNER_CERT);
	assert_int_equal(tp_request_signer(end - 1, end, TP_NEVER), TP_SIGNER_CERT);
	/* Ended with (capped by) its CA certificate: still a renewal, at the end and long after. */
	assert_int_equal(tp_request_signer(end, end, end), TP_SIGNER_LAPSED);
	assert_int_equal(tp_request_signer(end + 40 * DAY, end, end), TP_SIGNER_LAPSED);
	assert_int_equal(tp_request_signer(end + DAY, end + DAY, end), TP_SIGNER_LAPSED);
	/* Ended on its own lifetime, a second before its CA, or its CA unknown: enrolls anew. */
	assert_int_equal(tp_request_signer(end + DAY, end - 1000, end), TP_SIGNER_SELF);
	assert_int_equal(tp_request_signer(end + DAY, end, TP_NEVER), TP_SIGNER_SELF);
	/* The issuer's end is what was installed with the certificate, kept across a succession. */
	tp_policy p = policy(80);
	tp_state s;
	tp_init(&s, &p, T);
	assert_int_equal(s.cert_ca_not_after, TP_NEVER);
	tp_on_installed(&s, &p, end, end, T);
	tp_on_ca_succeeded(&s, &p, T + 830 * DAY, end + 5 * DAY);
	assert_int_equal(s.cert_ca_not_after, end);
	assert_int_equal(tp_request_signer(end + 5 * DAY, s.cert_not_after, s.cert_ca_not_after), TP_SIGNER_LAPSED);
	tp_on_installed(&s, &p, end - 10 * DAY, T + 830 * DAY, T);
	assert_int_equal(tp_request_signer(end, s.cert_not_after, s.cert_ca_not_after), TP_SIGNER_SELF);
}

static void ca_succession_renews_with_the_new_ca(void **state)
{
	tp_policy p = policy(80);
	tp_state s;
	shadow_done(&s, &p);
	tp_on_ca_succeeded(&s, &p, T + 830 * DAY, T + 105 * DAY);
	assert_int_equal(s.switch_at, TP_NEVER);
	assert_int_equal(s.ca_not_after, T + 830 * DAY);
	assert_int_equal(tp_due(&s, &p, T + 105 * DAY), TP_ACT_ENROLL);
	assert_int_equal(s.request_kind, TP_REQ_RENEW);
	/* Without auto-enroll nothing is sent by itself. */
	tp_policy manual = p;
	manual.auto_enroll = false;
	tp_on_ca_succeeded(&s, &manual, T + 830 * DAY, T + 105 * DAY);
	assert_int_equal(tp_next_wakeup(&s), TP_NEVER);
}

static void start_after_the_end_acts_now(void **state)
{
	tp_policy p = policy(80);
	tp_state s;
	tp_init(&s, &p, T);
	tp_on_installed(&s, &p, T + 100 * DAY, T + 100 * DAY, T);
	/* Stopped with a SHADOW retry 355 days ahead (a Retry-After of an older version). */
	s.retry_at = T + 435 * DAY;
	s.retry_action = TP_ACT_ENROLL;
	tp_on_start(&s, &p, T + 105 * DAY);
	assert_int_equal(s.retry_at, T + 105 * DAY);
	/* Nothing ended: timers as they were. */
	tp_init(&s, &p, T);
	tp_on_installed(&s, &p, T + 100 * DAY, T + 100 * DAY, T);
	tp_on_start(&s, &p, T + 50 * DAY);
	assert_int_equal(s.renew_at, T + 80 * DAY);
	/* The renewal timer of a certificate that ended, armed an hour ahead by a failure. */
	tp_on_failure(&s, &p, T + 100 * DAY);
	s.renew_at = T + 100 * DAY + EC_MS_PER_HOUR;
	tp_on_start(&s, &p, T + 100 * DAY + MIN);
	assert_int_equal(s.renew_at, T + 100 * DAY + MIN);
	/* Waiting for the operator: still waiting. */
	tp_on_reauth_needed(&s);
	tp_on_start(&s, &p, T + 130 * DAY);
	assert_int_equal(tp_next_wakeup(&s), TP_NEVER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(renew_at_80_percent_of_a_year),
		cmocka_unit_test(renew_or_shadow_from_end_dates),
		cmocka_unit_test(first_enrollment_waits_for_authentication),
		cmocka_unit_test(poll_doubles_then_caps),
		cmocka_unit_test(poll_count_limit),
		cmocka_unit_test(poll_never_past_ca_expiry),
		cmocka_unit_test(connect_retry_until_the_ca_returns),
		cmocka_unit_test(rejection_stops_until_manual_enroll),
		cmocka_unit_test(failure_rearms_on_remaining_life),
		cmocka_unit_test(shadow_then_switch),
		cmocka_unit_test(ca_only_shadow_without_auto_enroll),
		cmocka_unit_test(backoff_grows_across_renewal_timers),
		cmocka_unit_test(retry_after_honoured_only_until_needed),
		cmocka_unit_test(reauthentication_stops_everything),
		cmocka_unit_test(reauthentication_disarms_a_held_switch),
		cmocka_unit_test(lapsed_certificate_signs_when_it_ended_with_its_ca),
		cmocka_unit_test(ca_succession_renews_with_the_new_ca),
		cmocka_unit_test(start_after_the_end_acts_now),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
