/*
 * The chain of custody across CA generations: each generation made by a rollover carries a link
 * certificate signed by its predecessor's key (pki_make_link_cert), so a relying party that
 * pinned any generation can follow every later one by signatures alone. Also the relying-party
 * files NAME.pem and NAME-rollover.pem and their HTTP forms.
 */
#include "ca/ca_internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

/* Ample for CA_MAX_GENERATIONS certificates and links in PEM. */
#define CA_CUSTODY_CHAIN_MAX ((size_t)4 << 20)

/* The generation just before g (the highest number below g's), or NULL for the first. */
static ca_gen *predecessor(ca_engine *ca, const ca_gen *g)
{
	ca_gen *best = NULL;
	for (size_t i = 0; i < ca->n_gens; i++) {
		ca_gen *c = &ca->gens[i];
		if (c->generation < g->generation && (best == NULL || c->generation > best->generation))
			best = c;
	}
	return best;
}

int ca_link_make(ca_engine *ca, const ca_gen *outgoing, ca_gen *successor, ec_time now, ec_err *err)
{
	char serial[PKI_SERIAL_MAX];
	if (outgoing->key == NULL)
		return ec_err_set(err, "the key of CA generation %d is gone", outgoing->generation);
	/* A link made late, for a generation that has already ended (a store from before links),
	 * carries that generation's own validity. */
	ec_time not_before = now < successor->not_after ? now : successor->not_before;
	if (store_reserve_serial(ca->store, serial, err) != 0)
		return -1;
	pki_link_params p = {outgoing->cert, outgoing->key, successor->cert, serial, not_before, ca->digest};
	X509 *link = NULL;
	if (pki_make_link_cert(&p, &link, err) != 0)
		return -1;
	X509_free(successor->link);
	successor->link = link;
	ca_audit(ca, "link certificate %s: generation %d (serial %s) endorses generation %d (serial %s)",
	         serial, outgoing->generation, outgoing->serial, successor->generation, successor->serial);
	return 0;
}

/* Makes and stores the link of g from its predecessor. */
static int complete_link(ca_engine *ca, ca_gen *g, const ca_gen *prev, ec_time now, ec_err *err)
{
	uint8_t *der = NULL;
	size_t len = 0;
	int rc = -1;
	if (ca_link_make(ca, prev, g, now, err) == 0 && pki_cert_to_der(g->link, &der, &len, err) == 0 &&
	    store_ca_set_link(ca->store, g->generation, der, len, err) == 0)
		rc = 0;
	free(der);
	if (rc != 0) {
		X509_free(g->link);
		g->link = NULL;
	}
	return rc;
}

void ca_links_complete(ca_engine *ca, ec_time now)
{
	for (size_t i = 0; i < ca->n_gens; i++) {
		ca_gen *g = &ca->gens[i];
		ca_gen *prev = predecessor(ca, g);
		if (g->link != NULL || prev == NULL || prev->key == NULL)
			continue;
		ec_err err;
		if (complete_link(ca, g, prev, now, &err) != 0)
			ca_audit(ca, "no link certificate for CA generation %d: %s; the chain of custody "
			         "starts again there", g->generation, err.msg);
	}
}

void ca_publish_rollover(ca_engine *ca)
{
	char path[EC_PATH_MAX];
	ec_err err;
	if (ca_file(ca, path, sizeof(path), "%s-rollover.pem", ca->cfg.name) != 0)
		return;
	if (ca->rollover < 0) {
		if (ec_unlink_at(&ca->dir, path) != 0)
			ca_audit(ca, "cannot remove %s", path);
		return;
	}
	if (pki_cert_save_pem_at(&ca->dir, path, ca->gens[ca->rollover].cert, 0644, &err) != 0)
		ca_audit(ca, "cannot write %s: %s", path, err.msg);
}

/* The generations from the oldest to last (the rollover, else the active), by number. */
static size_t generations_in_order(ca_engine *ca, ca_gen **out)
{
	const ca_gen *last = &ca->gens[ca->rollover >= 0 ? ca->rollover : ca->active];
	size_t n = 0;
	for (size_t i = 0; i < ca->n_gens; i++) {
		ca_gen *g = &ca->gens[i];
		if (g->generation > last->generation)
			continue;
		size_t at = n++;
		while (at > 0 && out[at - 1]->generation > g->generation) {
			out[at] = out[at - 1];
			at--;
		}
		out[at] = g;
	}
	return n;
}

static int append_pem(ec_buf *b, X509 *cert, ec_err *err)
{
	char *pem = NULL;
	size_t len = 0;
	if (pki_cert_to_pem(cert, &pem, &len, err) != 0)
		return -1;
	int rc = ec_buf_append(b, pem, len);
	free(pem);
	return rc != 0 ? ec_err_set(err, "the chain of custody is too long") : 0;
}

/* The chain in PEM: from the oldest generation from which every later one is linked. */
static int build_chain(ca_engine *ca, ec_buf *b, ec_err *err)
{
	ca_gen *order[CA_MAX_GENERATIONS];
	size_t n = generations_in_order(ca, order);
	size_t first = n - 1;
	while (first > 0 && order[first]->link != NULL)
		first--;
	for (size_t i = first; i < n; i++)
		if ((i > first && append_pem(b, order[i]->link, err) != 0) || append_pem(b, order[i]->cert, err) != 0)
			return -1;
	return 0;
}

int ca_get_rollover_chain(ca_engine *ca, ca_reply *out, ec_err *err)
{
	ec_buf b;
	ec_buf_init(&b, CA_CUSTODY_CHAIN_MAX);
	pthread_rwlock_rdlock(&ca->lock);
	int rc = build_chain(ca, &b, err);
	pthread_rwlock_unlock(&ca->lock);
	if (rc != 0) {
		ec_buf_free(&b);
		return -1;
	}
	size_t len = 0;
	uint8_t *chain = ec_buf_take(&b, &len);
	return ca_reply_take(out, CA_REPLY_CA_CHAIN, chain, len, err);
}

int ca_get_ca_pem(ca_engine *ca, bool rollover, ca_reply *out, ec_err *err)
{
	char *pem = NULL;
	size_t len = 0;
	pthread_rwlock_rdlock(&ca->lock);
	int which = rollover ? ca->rollover : ca->active;
	int rc = which >= 0 ? pki_cert_to_pem(ca->gens[which].cert, &pem, &len, err) : 1;
	pthread_rwlock_unlock(&ca->lock);
	if (rc < 0)
		return -1;
	if (rc > 0) {
		static const char none[] = "there is no rollover CA certificate now\n";
		return ca_reply_copy(out, CA_REPLY_NOT_FOUND, none, sizeof(none) - 1, err);
	}
	return ca_reply_take(out, CA_REPLY_CA_PEM, (uint8_t *)pem, len, err);
}
