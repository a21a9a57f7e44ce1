/* A certificate server's new settings, applied while it runs (the daemon's reload). */
#include "ca/ca_internal.h"

#include <string.h>

/* Only what config_diff.h lists as applicable live is taken from cfg: what the generations, the
 * store and the files were made from stays as the engine opened it. */
static void take_live_settings(cfg_server *running, const cfg_server *cfg)
{
	running->grant = cfg->grant;
	memcpy(running->grant_trustpoints, cfg->grant_trustpoints, sizeof(running->grant_trustpoints));
	running->n_grant_trustpoints = cfg->n_grant_trustpoints;
	running->grant_auto_rollover_ca = cfg->grant_auto_rollover_ca;
	running->renewal_grace = cfg->renewal_grace;
	running->lifetime_certificate = cfg->lifetime_certificate;
	running->lifetime_crl = cfg->lifetime_crl;
	running->lifetime_enrollment_request = cfg->lifetime_enrollment_request;
	running->hash = cfg->hash;
	memcpy(running->cdp_url, cfg->cdp_url, sizeof(running->cdp_url));
	running->encryption_des = cfg->encryption_des;
	running->shutdown = cfg->shutdown;
	running->issuance_rsa_min_bits = cfg->issuance_rsa_min_bits;
	running->issuance_rsa_max_bits = cfg->issuance_rsa_max_bits;
	running->issuance_allow_uri = cfg->issuance_allow_uri;
}

int ca_reconfigure(ca_engine *ca, const cfg_server *cfg, ec_time now, ec_err *err)
{
	if (strcmp(cfg->name, ca->cfg.name) != 0)
		return ec_err_set(err, "certificate server %s cannot become %s", ca->cfg.name, cfg->name);
	int rc = 0;
	/* Requests hold the lock for reading from their start to their answer: each is decided under
	 * one configuration, the old or the new. */
	pthread_rwlock_wrlock(&ca->lock);
	bool crl_lifetime = ca->cfg.lifetime_crl != cfg->lifetime_crl;
	/* The operator's `shutdown` stays unless the line itself changed. */
	if (ca->cfg.shutdown != cfg->shutdown)
		ca->shutdown = cfg->shutdown;
	take_live_settings(&ca->cfg, cfg);
	ca->digest = ca_digest_for(cfg->hash);
	ca->rules = (pki_issuance_rules){cfg->issuance_rsa_min_bits, cfg->issuance_rsa_max_bits,
	                                 cfg->issuance_allow_uri};
	/* A new CRL lifetime counts from now: the CRL is issued again at once, so that a shorter one
	 * is not left waiting for the end of the longer. Nodes sharing a store leave that to the one
	 * holding the lease, at its next timer. */
	if (crl_lifetime && !ca->shared)
		rc = ca_crl_issue(ca, now, err);
	pthread_rwlock_unlock(&ca->lock);
	ca_audit(ca, "configuration reloaded (grant, lifetimes, hash, issuance and shutdown lines)");
	return rc;
}
