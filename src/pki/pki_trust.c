/*
 * pki_trust.c - immutable, reference-counted trust snapshots and the slot they are published
 * in. The slot's mutex covers only the pointer swap and the taking of a reference, so that a
 * reader can never take a reference to a snapshot already freed; the count itself is atomic, so
 * a reader releases without the lock.
 */
#include "pki/trust.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "pki/pki.h"

struct pki_trust {
	atomic_int refs;
	char name[64];
	STACK_OF(X509) *cas;
	X509_CRL *crl;
	int mode;
	char crl_problem[PKI_TRUST_WHY_MAX];
};

static void trust_free(pki_trust *t)
{
	sk_X509_pop_free(t->cas, X509_free);
	X509_CRL_free(t->crl);
	free(t);
}

pki_trust *pki_trust_new(const char *name, STACK_OF(X509) *cas, X509_CRL *crl, int mode, const char *crl_problem)
{
	if (sk_X509_num(cas) <= 0)
		return NULL;
	pki_trust *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	atomic_init(&t->refs, 1);
	snprintf(t->name, sizeof(t->name), "%s", name ? name : "?");
	snprintf(t->crl_problem, sizeof(t->crl_problem), "%s", crl_problem ? crl_problem : "");
	t->mode = mode;
	/* Copies, not references: the owner's objects may change or go while readers use these. */
	t->cas = sk_X509_new_null();
	for (int i = 0; t->cas != NULL && i < sk_X509_num(cas); i++) {
		X509 *c = X509_dup(sk_X509_value(cas, i));
		/* OpenSSL decodes a certificate's extensions (key identifiers, constraints) on first
		 * use and caches them in the object: done now, while the copy is private, so that
		 * readers verifying against it at once only ever read. */
		if (c != NULL)
			(void)X509_check_purpose(c, -1, 0);
		if (c == NULL || !sk_X509_push(t->cas, c)) {
			X509_free(c);
			sk_X509_pop_free(t->cas, X509_free);
			t->cas = NULL;
		}
	}
	if (t->cas == NULL || (crl != NULL && (t->crl = X509_CRL_dup(crl)) == NULL)) {
		trust_free(t);
		return NULL;
	}
	if (t->crl != NULL) {
		/* Sorts the entries now, while the snapshot is still private: a lookup sorts them on
		 * first use otherwise. */
		X509_REVOKED *ignored = NULL;
		ASN1_INTEGER *zero = ASN1_INTEGER_new();
		if (zero != NULL)
			(void)X509_CRL_get0_by_serial(t->crl, &ignored, zero);
		ASN1_INTEGER_free(zero);
	}
	return t;
}

void pki_trust_release(pki_trust *t)
{
	if (t != NULL && atomic_fetch_sub(&t->refs, 1) == 1)
		trust_free(t);
}

const char *pki_trust_name(const pki_trust *t)
{
	return t->name;
}

int pki_trust_check(const pki_trust *t, X509 *cert, ec_time now, char *why, size_t whysz)
{
	ec_err err;
	if (pki_verify_cert(cert, t->cas, NULL, now, &err) != 0) {
		if (why != NULL)
			snprintf(why, whysz, "does not verify against trustpoint %s: %s", t->name, err.msg);
		return PKI_TRUST_NOT_CHAINED;
	}
	if (t->mode == PKI_REVOCATION_NONE) {
		if (why != NULL)
			snprintf(why, whysz, "verifies against trustpoint %s (revocation-check none)", t->name);
		return PKI_TRUST_GOOD;
	}
	char detail[2 * PKI_TRUST_WHY_MAX];
	int status = pki_crl_status(t->crl, cert, now, detail, PKI_TRUST_WHY_MAX);
	/* Why no current CRL is held: the last fetch's failure, after what the CRL held says. */
	if (status == PKI_CRL_UNKNOWN && t->crl_problem[0] != '\0') {
		if (t->crl == NULL)
			snprintf(detail, sizeof(detail), "%s", t->crl_problem);
		else
			snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail), "; last fetch: %s",
			         t->crl_problem);
	}
	if (status == PKI_CRL_UNKNOWN && t->mode == PKI_REVOCATION_CRL_NONE) {
		if (why != NULL)
			snprintf(why, whysz, "verifies against trustpoint %s; no current CRL (%s), accepted as "
			         "`revocation-check crl none` asks", t->name, detail);
		return PKI_TRUST_GOOD;
	}
	if (why != NULL) {
		if (status == PKI_CRL_UNKNOWN)
			snprintf(why, whysz, "no current CRL for trustpoint %s: %s", t->name, detail);
		else
			snprintf(why, whysz, "trustpoint %s: %s", t->name, detail);
	}
	return status == PKI_CRL_GOOD ? PKI_TRUST_GOOD : status == PKI_CRL_REVOKED ? PKI_TRUST_REVOKED
	                                                                         : PKI_TRUST_UNCHECKED;
}

void pki_trust_slot_init(pki_trust_slot *s)
{
	pthread_mutex_init(&s->lock, NULL);
	s->current = NULL;
}

void pki_trust_slot_destroy(pki_trust_slot *s)
{
	pki_trust_release(s->current);
	s->current = NULL;
	pthread_mutex_destroy(&s->lock);
}

pki_trust *pki_trust_slot_get(pki_trust_slot *s)
{
	pthread_mutex_lock(&s->lock);
	pki_trust *t = s->current;
	if (t != NULL)
		atomic_fetch_add(&t->refs, 1);
	pthread_mutex_unlock(&s->lock);
	return t;
}

void pki_trust_slot_publish(pki_trust_slot *s, pki_trust *t)
{
	pthread_mutex_lock(&s->lock);
	pki_trust *old = s->current;
	s->current = t;
	pthread_mutex_unlock(&s->lock);
	pki_trust_release(old);
}
