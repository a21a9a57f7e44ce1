#include "client/tp_machine.h"

const char *tp_phase_name(int phase)
{
	switch (phase) {
	case TP_PHASE_POLLING: return "polling";
	case TP_PHASE_REJECTED: return "rejected";
	case TP_PHASE_REAUTH: return "reauthenticate";
	default: return "idle";
	}
}

const char *tp_request_kind_name(int kind)
{
	switch (kind) {
	case TP_REQ_RENEW: return "RENEW";
	case TP_REQ_SHADOW: return "SHADOW";
	/* The RENEW timer makes the first enrollment too (SPEC 7.2): named as the timers name it,
	 * told apart in words (the logs' count of renewals leaves it out). */
	default: return "RENEW (first enrollment)";
	}
}

/* Ends the exchange in flight. The CONNECT RETRY interval survives it: only an answer that
 * settles the request (installed, pending, rejected) or the operator starts the backoff again,
 * never the timer that fires the next attempt. */
static void clear_exchange(tp_state *s)
{
	s->poll_at = TP_NEVER;
	s->retry_at = TP_NEVER;
	s->poll_interval = 0;
	s->poll_count = 0;
	s->retry_action = TP_ACT_NONE;
}

static void settle_exchange(tp_state *s)
{
	clear_exchange(s);
	s->retry_interval = 0;
}

void tp_init(tp_state *s, const tp_policy *p, ec_time now)
{
	/* No certificate yet: its times are never, and a trustpoint that can enroll by itself does so now. */
	*s = (tp_state){.phase = TP_PHASE_IDLE,
	                .request_kind = TP_REQ_INITIAL,
	                .renewal_kind = TP_REQ_RENEW,
	                .renew_at = p->auto_enroll && p->has_url ? now : TP_NEVER,
	                .switch_at = TP_NEVER,
	                .cert_not_after = TP_NEVER,
	                .ca_not_after = TP_NEVER,
	                .cert_ca_not_after = TP_NEVER};
	settle_exchange(s);
}

ec_time tp_renewal_time(ec_time installed_at, ec_time not_after, int percent)
{
	if (not_after <= installed_at)
		return installed_at;
	/* Computed in parts so that long lifetimes in ms cannot overflow. */
	ec_time span = not_after - installed_at;
	return installed_at + span / 100 * percent + span % 100 * percent / 100;
}

int tp_renewal_kind(ec_time cert_not_after, ec_time ca_not_after)
{
	return cert_not_after < ca_not_after ? TP_REQ_RENEW : TP_REQ_SHADOW;
}

int tp_request_signer(ec_time now, ec_time cert_not_after, ec_time issuer_not_after)
{
	if (now < cert_not_after)
		return TP_SIGNER_CERT;
	/* The CA caps a certificate at its own end: one that ends there did not end on its own. */
	if (issuer_not_after != TP_NEVER && cert_not_after >= issuer_not_after)
		return TP_SIGNER_LAPSED;
	return TP_SIGNER_SELF;
}

ec_time tp_backoff_next(ec_time prev, ec_time period)
{
	if (period <= 0)
		period = EC_MS_PER_MINUTE;
	ec_time next = prev <= 0 ? period : prev * 2;
	return next > TP_BACKOFF_CAP ? TP_BACKOFF_CAP : next;
}

ec_time tp_next_wakeup(const tp_state *s)
{
	ec_time t = s->renew_at;
	if (s->poll_at < t)
		t = s->poll_at;
	if (s->retry_at < t)
		t = s->retry_at;
	if (s->switch_at < t)
		t = s->switch_at;
	return t;
}

int tp_due(tp_state *s, const tp_policy *p, ec_time now)
{
	/* The switch first: whatever else is due belongs to the new certificates. */
	if (s->switch_at <= now) {
		s->switch_at = TP_NEVER;
		return TP_ACT_SWITCH;
	}
	if (s->retry_at <= now) {
		s->retry_at = TP_NEVER;
		return s->retry_action;
	}
	if (s->poll_at <= now) {
		s->poll_at = TP_NEVER;
		return TP_ACT_POLL;
	}
	if (s->renew_at <= now) {
		s->renew_at = TP_NEVER;
		if (s->renewal_kind == TP_REQ_SHADOW && !p->auto_enroll)
			s->request_kind = TP_REQ_SHADOW; /* fetch the rollover CA certificate only */
		else
			s->request_kind = s->enrolled ? s->renewal_kind : TP_REQ_INITIAL;
		clear_exchange(s);
		return TP_ACT_ENROLL;
	}
	return TP_ACT_NONE;
}

void tp_on_authenticated(tp_state *s, const tp_policy *p, ec_time ca_not_after, ec_time now)
{
	s->authenticated = true;
	s->ca_not_after = ca_not_after;
	if (s->phase == TP_PHASE_REAUTH) {
		/* The operator authenticated the CA again: start over with it. */
		s->phase = TP_PHASE_IDLE;
		settle_exchange(s);
		s->switch_at = TP_NEVER;
		s->request_kind = s->enrolled ? TP_REQ_RENEW : TP_REQ_INITIAL;
		s->renewal_kind = TP_REQ_RENEW;
		s->renew_at = p->auto_enroll && p->has_url ? now : TP_NEVER;
		return;
	}
	/* The first enrollment waited only for this: it goes now, not at the next try of its backoff
	 * (minutes, or more after a long wait for the operator). */
	if (p->auto_enroll && p->has_url && !s->enrolled && s->phase == TP_PHASE_IDLE && s->retry_at == TP_NEVER) {
		s->renew_at = now;
		s->retry_interval = 0;
	}
}

void tp_on_not_authenticated(tp_state *s, const tp_policy *p, ec_time now)
{
	s->retry_interval = tp_backoff_next(s->retry_interval, p->retry_period);
	s->renew_at = now + s->retry_interval;
}

void tp_on_installed(tp_state *s, const tp_policy *p, ec_time cert_not_after, ec_time ca_not_after, ec_time now)
{
	s->enrolled = true;
	s->phase = TP_PHASE_IDLE;
	s->cert_not_after = cert_not_after;
	s->ca_not_after = ca_not_after;
	s->cert_ca_not_after = ca_not_after;
	settle_exchange(s);
	s->switch_at = TP_NEVER;
	s->renewal_kind = tp_renewal_kind(cert_not_after, ca_not_after);
	s->renew_at = p->auto_enroll ? tp_renewal_time(now, cert_not_after, p->percent) : TP_NEVER;
}

void tp_on_pending(tp_state *s, const tp_policy *p, ec_time now)
{
	if (s->phase == TP_PHASE_POLLING)
		s->poll_count++;
	else
		s->poll_count = 0;
	s->phase = TP_PHASE_POLLING;
	s->retry_at = TP_NEVER;
	s->retry_interval = 0;
	s->poll_interval = tp_backoff_next(s->poll_count == 0 ? 0 : s->poll_interval, p->retry_period);
	ec_time at = now + s->poll_interval;
	if ((p->retry_count > 0 && s->poll_count >= p->retry_count) || at > s->ca_not_after) {
		/* Out of polls, or the CA would expire first: abandon this request. */
		tp_on_failure(s, p, now);
		return;
	}
	s->poll_at = at;
}

void tp_on_rejected(tp_state *s)
{
	s->phase = TP_PHASE_REJECTED;
	s->renew_at = TP_NEVER;
	settle_exchange(s);
}

ec_time tp_answer_needed_by(const tp_state *s, ec_time now)
{
	if (!s->enrolled || s->cert_not_after <= now)
		return now;
	return s->cert_not_after;
}

void tp_on_unreachable(tp_state *s, const tp_policy *p, int action, ec_time retry_after_ms, ec_time now)
{
	s->retry_interval = tp_backoff_next(s->retry_interval, p->retry_period);
	ec_time wait = s->retry_interval;
	if (retry_after_ms >= 0) {
		ec_time asked = retry_after_ms < EC_MS_PER_SECOND ? EC_MS_PER_SECOND : retry_after_ms;
		ec_time room = tp_answer_needed_by(s, now) - now;
		/* Honoured up to the instant an answer is needed; needed now: no later than the backoff. */
		ec_time limit = room > 0 ? room : s->retry_interval;
		wait = asked < limit ? asked : limit;
	}
	s->retry_at = now + wait;
	s->retry_action = action;
}

void tp_on_failure(tp_state *s, const tp_policy *p, ec_time now)
{
	ec_time backoff = tp_backoff_next(s->retry_interval, p->retry_period);
	s->phase = TP_PHASE_IDLE;
	clear_exchange(s);
	s->retry_interval = backoff;
	ec_time at = now + backoff;
	if (s->enrolled && p->auto_enroll) {
		ec_time formula = tp_renewal_time(now, s->cert_not_after, p->percent);
		if (formula > at)
			at = formula;
	} else if (!(p->auto_enroll && p->has_url)) {
		at = TP_NEVER; /* nothing automatic to come back to */
	}
	s->renew_at = at;
}

void tp_on_manual_enroll(tp_state *s, ec_time now)
{
	s->phase = TP_PHASE_IDLE;
	settle_exchange(s);
	s->renew_at = now;
}

void tp_on_rollover_ready(tp_state *s, ec_time switch_at)
{
	s->phase = TP_PHASE_IDLE;
	settle_exchange(s);
	s->renew_at = TP_NEVER;
	s->switch_at = switch_at;
}

void tp_arm_ca_shadow(tp_state *s, const tp_policy *p, ec_time ca_not_before, ec_time ca_not_after, ec_time now)
{
	if (p->auto_enroll || !p->has_url || s->switch_at != TP_NEVER)
		return;
	ec_time at = ca_not_before + (ca_not_after - ca_not_before) / 10 * 9;
	s->renewal_kind = TP_REQ_SHADOW;
	s->renew_at = at > now ? at : now;
}

void tp_on_ca_succeeded(tp_state *s, const tp_policy *p, ec_time ca_not_after, ec_time now)
{
	s->ca_not_after = ca_not_after;
	s->phase = TP_PHASE_IDLE;
	settle_exchange(s);
	s->switch_at = TP_NEVER;
	/* The identity certificate, if any, comes from the old CA: a renewal to the new one now. */
	s->renewal_kind = TP_REQ_RENEW;
	s->request_kind = s->enrolled ? TP_REQ_RENEW : TP_REQ_INITIAL;
	s->renew_at = p->auto_enroll && p->has_url ? now : TP_NEVER;
}

void tp_on_start(tp_state *s, const tp_policy *p, ec_time now)
{
	bool ended = (s->enrolled && s->cert_not_after <= now) || (s->authenticated && s->ca_not_after <= now);
	if (!ended || !p->auto_enroll || !p->has_url || s->phase == TP_PHASE_REJECTED || s->phase == TP_PHASE_REAUTH)
		return;
	/* A timer armed far ahead (a Retry-After kept from before the stop, a renewal formula) must
	 * not hold back what is needed now. */
	if (s->retry_at != TP_NEVER) {
		if (s->retry_at > now)
			s->retry_at = now;
	} else if (s->poll_at != TP_NEVER) {
		if (s->poll_at > now)
			s->poll_at = now;
	} else if (s->renew_at > now) {
		s->renew_at = now;
	}
}

void tp_on_reauth_needed(tp_state *s)
{
	s->phase = TP_PHASE_REAUTH;
	clear_exchange(s);
	s->renew_at = TP_NEVER;
	/* A SWITCH held from a SHADOW renewal would install certificates of a CA now in doubt. */
	s->switch_at = TP_NEVER;
}
