/* The certificate server's timers (SPEC §6.3): CRL update, shadow generation, CA expiry and
 * the expiry of pending enrollment requests. */
#include "ca/ca_internal.h"

#include <stdio.h>
#include <string.h>

typedef struct timer_sink {
	ec_timer_entry *out;
	size_t n, max;
} timer_sink;

static void add(timer_sink *s, const char *name, ec_time at)
{
	if (s->n >= s->max || at == INT64_MAX)
		return;
	snprintf(s->out[s->n].name, sizeof(s->out[s->n].name), "%s", name);
	s->out[s->n].fire_at = at;
	s->n++;
}

static int add_pending(void *ctx, const store_request *r)
{
	char name[EC_TIMER_NAME_MAX];
	snprintf(name, sizeof(name), "ER EXPIRE %lld", (long long)r->id);
	add(ctx, name, r->expires);
	return 0;
}

/* The CA expiry matters while there is something to switch to or the CA is still valid. */
static ec_time cert_expire_time(const ca_engine *ca)
{
	return ca->gens[ca->active].not_after;
}

size_t ca_timers(ca_engine *ca, ec_timer_entry *out, size_t max)
{
	timer_sink s = {out, 0, max};
	ec_err err;
	pthread_rwlock_rdlock(&ca->lock);
	add(&s, "CS CRL UPDATE", ca->crl_next_update);
	add(&s, "CS SHADOW CERT GENERATION", ca_shadow_generation_time(ca));
	add(&s, "CS CERT EXPIRE", cert_expire_time(ca));
	pthread_rwlock_unlock(&ca->lock);
	if (store_request_each(ca->store, STORE_REQ_PENDING, add_pending, &s, &err) != 0)
		ca_audit(ca, "cannot list pending requests: %s", err.msg);
	ec_timers_sort(out, s.n);
	return s.n;
}

ec_time ca_next_timer(ca_engine *ca)
{
	ec_time t = INT64_MAX;
	ec_err err;
	pthread_rwlock_rdlock(&ca->lock);
	/* On a shared store the timed events are the lease holder's; every node checks for the
	 * lease and for others' changes at its next check. */
	bool lead = !ca->shared || ca->lead;
	if (ca->shared)
		t = ca->next_check;
	if (lead && ca->crl_next_update < t)
		t = ca->crl_next_update;
	ec_time shadow = lead ? ca_shadow_generation_time(ca) : INT64_MAX;
	if (shadow < t)
		t = shadow;
	/* Without a successor the expiry has nothing to do, so it does not wake the daemon. */
	if (ca->rollover >= 0 && cert_expire_time(ca) < t)
		t = cert_expire_time(ca);
	pthread_rwlock_unlock(&ca->lock);
	ec_time pending = INT64_MAX;
	int rc = store_request_next_expiry(ca->store, STORE_REQ_PENDING, &pending, &err);
	if (rc < 0)
		ca_audit(ca, "cannot find the next expiry of pending requests: %s", err.msg);
	if (rc == 0 && pending < t)
		t = pending;
	return t;
}

/* lead: this node runs the timed events (always, unless the store is shared); the switch is
 * every node's, recorded by the one that leads. */
static int run_locked(ca_engine *ca, ec_time now, bool lead, EVP_PKEY **key, ec_err *err)
{
	if (lead && ca_shadow_generation_time(ca) <= now) {
		ca_audit(ca, "shadow generation timer fired");
		EVP_PKEY *made = *key;
		*key = NULL;
		if (ca_rollover_create(ca, now, made, err) != 0)
			return -1;
	}
	if (ca->rollover >= 0 && cert_expire_time(ca) <= now) {
		if (ca_rollover_switch(ca, now, lead, err) != 0)
			return -1;
		/* The new CA may itself be due for its successor already (a long stop). */
		if (lead && ca_shadow_generation_time(ca) <= now && ca_rollover_create(ca, now, NULL, err) != 0)
			return -1;
	}
	if (lead && ca->crl_next_update <= now && ca_crl_issue(ca, now, err) != 0)
		return -1;
	return 0;
}

int ca_run_timers(ca_engine *ca, ec_time now, ec_err *err)
{
	bool lead = !ca->shared || ca_cluster_tick(ca, now);
	int expired = store_request_expire(ca->store, now, err);
	if (expired < 0)
		return -1;
	if (expired > 0)
		ca_audit(ca, "%d enrollment request(s) expired", expired);
	/* Refused and expired requests are kept one request lifetime for the operator, then
	 * forgotten, so that nothing unauthenticated stays in the store for good. The purge rides
	 * on the other timers (the CRL update comes at least every CRL lifetime) rather than
	 * having its own, which would wake a simulated clock's advance every hour. */
	if (lead && ca->next_purge <= now) {
		int purged = store_purge(ca->store, now, ca->cfg.lifetime_enrollment_request, err);
		if (purged < 0)
			return -1;
		if (purged > 0)
			ca_audit(ca, "%d refused or expired enrollment record(s) purged", purged);
		ca->next_purge = now + CA_PURGE_INTERVAL;
	}
	pthread_rwlock_rdlock(&ca->lock);
	bool shadow_due = lead && ca_shadow_generation_time(ca) <= now;
	pthread_rwlock_unlock(&ca->lock);
	EVP_PKEY *key = NULL;
	if (shadow_due && (key = ca_rollover_key(ca, err)) == NULL)
		return -1;
	pthread_rwlock_wrlock(&ca->lock);
	int rc = run_locked(ca, now, lead, &key, err);
	pthread_rwlock_unlock(&ca->lock);
	EVP_PKEY_free(key); /* made for a successor another call created meanwhile */
	return rc;
}
