/* A certificate server's facts for the timeline (see ca_timeline.h). */
#include "ca/ca_timeline.h"

#include <stdio.h>
#include <string.h>

#include "ca/ca_internal.h"

/* The holder a subject names: its CN, else the whole subject. */
static void holder_of(const char *subject, char *out, size_t sz)
{
	const char *cn = strstr(subject, "CN=");
	if (cn == NULL || (cn != subject && cn[-1] != ',' && cn[-1] != '/' && cn[-1] != ' ')) {
		snprintf(out, sz, "%.*s", (int)sz - 1, subject[0] ? subject : "(no subject)");
		return;
	}
	cn += 3;
	size_t n = strcspn(cn, ",/+");
	snprintf(out, sz, "%.*s", (int)n, cn);
}

typedef struct collect {
	ca_engine *ca;
	lanes_facts *f;
	ec_err *err;
} collect;

/* A granted request: the certificate it got, issued when the request came (a manual grant
 * later; the request's time is the one kept). */
static int add_granted(void *ctx, const store_request *r)
{
	collect *c = ctx;
	store_cert cert;
	if (r->cert_serial[0] == '\0' || store_cert_get(c->ca->store, r->cert_serial, &cert, c->err) != 0)
		return 0; /* nothing issued, or no longer kept: nothing to draw */
	char holder[LANES_NAME_MAX];
	holder_of(r->subject, holder, sizeof(holder));
	lanes_cert lc = {holder, cert.serial, r->created, cert.not_before, cert.not_after, r->renewal};
	int rc = lanes_facts_add_cert(c->f, &lc);
	store_cert_free(&cert);
	return rc == 0 ? 0 : ec_err_set(c->err, "out of memory");
}

/* The generations; one made by a rollover was created when its link certificate was made. */
static int add_generations(ca_engine *ca, lanes_facts *f, ec_err *err)
{
	int rc = 0;
	pthread_rwlock_rdlock(&ca->lock);
	for (size_t i = 0; i < ca->n_gens && rc == 0; i++) {
		const ca_gen *g = &ca->gens[i];
		ec_time created = g->link != NULL ? pki_cert_not_before(g->link) : -1;
		lanes_generation lg = {ca->cfg.name, g->generation, g->serial, created, g->not_before, g->not_after};
		rc = lanes_facts_add_generation(f, &lg);
	}
	pthread_rwlock_unlock(&ca->lock);
	return rc == 0 ? 0 : ec_err_set(err, "out of memory");
}

int ca_timeline_facts(ca_engine *ca, lanes_facts *f, ec_err *err)
{
	if (add_generations(ca, f, err) != 0)
		return -1;
	collect c = {ca, f, err};
	if (store_request_each(ca->store, STORE_REQ_GRANTED, add_granted, &c, err) != 0)
		return -1;
	uint_fast64_t n = atomic_load(&ca->early_n);
	for (uint_fast64_t i = n > CA_EARLY_RING ? n - CA_EARLY_RING : 0; i < n; i++) {
		lanes_event e = {NULL, LANES_MARK_503, atomic_load(&ca->early_at[i % CA_EARLY_RING])};
		if (lanes_facts_add_event(f, &e) != 0)
			return ec_err_set(err, "out of memory");
	}
	return 0;
}
