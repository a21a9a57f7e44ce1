/* What the metrics listener reports of a certificate server (ca.h, "metrics"). */
#include "ca/ca_internal.h"

#include <stdio.h>
#include <string.h>

const char *ca_outcome_name(int outcome)
{
	switch (outcome) {
	case CA_OUTCOME_SUCCESS: return "success";
	case CA_OUTCOME_PENDING: return "pending";
	case CA_OUTCOME_FAILURE: return "failure";
	case CA_OUTCOME_UNAVAILABLE: return "unavailable";
	default: return "?";
	}
}

const char *ca_role_name(enum store_ca_role role)
{
	return role == STORE_CA_ROLLOVER ? "rollover" : role == STORE_CA_RETIRED ? "retired" : "active";
}

int ca_metrics_read(ca_engine *ca, ca_metrics *out, ec_err *err)
{
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < CA_OUTCOME_COUNT; i++)
		out->enrollments[i] = atomic_load(&ca->outcomes[i]);
	pthread_rwlock_rdlock(&ca->lock);
	out->enabled = !ca->shutdown;
	out->rollover = ca->rollover >= 0;
	out->crl_next_update = ca->crl_next_update;
	out->shadow_generation = ca_shadow_generation_time(ca);
	out->cert_expire = ca->gens[ca->active].not_after;
	for (size_t i = 0; i < ca->n_gens && out->n_gens < CA_METRICS_GENS; i++) {
		const ca_gen *g = &ca->gens[i];
		ca_metrics_gen *m = &out->gens[out->n_gens++];
		m->generation = g->generation;
		m->role = ca_role_name(g->role);
		snprintf(m->serial_hex, sizeof(m->serial_hex), "%s", g->serial);
		m->not_before = g->not_before;
		m->not_after = g->not_after;
	}
	pthread_rwlock_unlock(&ca->lock);
	store_stats st;
	store_get_stats(ca->store, &st);
	out->store_counted = st.counted;
	out->store_commits = st.commits;
	out->store_fdatasyncs = st.fdatasyncs;
	out->store_wal_bytes = st.wal_bytes;
	/* Outside the lock: a slow shared store never holds up the engine's writers. */
	return store_request_count(ca->store, STORE_REQ_PENDING, &out->pending, err);
}
