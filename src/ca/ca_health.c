/* Whether a certificate server can serve: its store answers and its active CA key is loaded. */
#include "ca/ca_health.h"

#include "ca/ca_internal.h"

/* The active generation's key: without it the server can answer GetCACert but issue nothing. */
static int active_key_loaded(ca_engine *ca, ec_err *err)
{
	int rc = 0;
	pthread_rwlock_rdlock(&ca->lock);
	if (ca->active < 0 || (size_t)ca->active >= ca->n_gens)
		rc = ec_err_set(err, "%s: no active CA generation", ca->cfg.name);
	else if (ca->gens[ca->active].key == NULL)
		rc = ec_err_set(err, "%s: the key of CA generation %d is not loaded", ca->cfg.name,
		                ca->gens[ca->active].generation);
	pthread_rwlock_unlock(&ca->lock);
	return rc;
}

int ca_health(ca_engine *ca, ec_err *err)
{
	if (active_key_loaded(ca, err) != 0)
		return -1;
	/* One small read that every backend has: a missing key is as good an answer as a found one,
	 * only a failure to ask says the store is unreachable. */
	char value[64];
	ec_err why;
	ec_err_clear(&why);
	if (store_meta_get(ca->store, "crl_number", value, sizeof(value), &why) < 0)
		return ec_err_set(err, "%s: %s", ca->cfg.name, why.msg);
	return 0;
}
