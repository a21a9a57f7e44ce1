/*
 * test_trust.c - revocation by CRL and trust snapshots (src/pki/trust.h): given a CRL, a time
 * and a certificate, revoked, good or unknown; which fetched CRL may replace the one held; the
 * CRL distribution point of a certificate; a trustpoint's verdict on another CA's certificate;
 * and snapshots replaced while other threads hold them.
 *
 * Times are fixed (Oct 2015), never "now".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "pki/pki.h"
#include "pki/trust.h"
#include "testutil.h"

static ec_time at(const char *iso)
{
	ec_time t = 0;
	if (ec_time_parse_iso(iso, &t) != 0)
		fail_msg("bad test time %s", iso);
	return t;
}

#define T0 "2015-10-09T13:14:16Z"

static X509 *make_ca(EVP_PKEY *key, const char *name)
{
	X509_NAME *subject = NULL;
	ec_err err = {""};
	assert_int_equal(pki_name_parse(name, &subject, &err), 0);
	pki_ca_params p = {subject, key, "1", at(T0), at(T0) + 730 * EC_MS_PER_DAY, EVP_sha256()};
	X509 *ca = NULL;
	if (pki_make_ca_cert(&p, &ca, &err) != 0)
		fail_msg("pki_make_ca_cert: %s", err.msg);
	X509_NAME_free(subject);
	return ca;
}

/* An end-entity certificate from ca with the given serial and, unless NULL, a CRL distribution
 * point URI (made with OpenSSL directly). */
static X509 *make_cert(X509 *ca, EVP_PKEY *ca_key, long serial, const char *cdp)
{
	X509 *c = tu_issue(ca, ca_key, tu_rsa_key(1024), "client", serial, (time_t)(at(T0) / 1000), 365);
	if (cdp != NULL) {
		X509V3_CTX ctx;
		X509V3_set_ctx(&ctx, ca, c, NULL, NULL, 0);
		char value[256];
		snprintf(value, sizeof(value), "URI:%s", cdp);
		X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, NID_crl_distribution_points, value);
		assert_non_null(e);
		assert_true(X509_add_ext(c, e, -1));
		X509_EXTENSION_free(e);
		assert_true(X509_sign(c, ca_key, EVP_sha256()) > 0);
	}
	return c;
}

static X509_CRL *make_crl(X509 *ca, EVP_PKEY *ca_key, ec_time this_update, ec_time next_update,
                          const char *revoked_serial)
{
	pki_revoked r = {revoked_serial, this_update};
	pki_crl_params p = {ca, ca_key, EVP_sha256(), this_update, next_update, 1,
	                    revoked_serial ? &r : NULL, revoked_serial ? 1 : 0};
	X509_CRL *crl = NULL;
	ec_err err = {""};
	if (pki_make_crl(&p, &crl, &err) != 0)
		fail_msg("pki_make_crl: %s", err.msg);
	return crl;
}

static STACK_OF(X509) *stack_of(X509 *a)
{
	STACK_OF(X509) *s = sk_X509_new_null();
	assert_non_null(s);
	assert_true(sk_X509_push(s, a) > 0);
	return s;
}

typedef struct fixture {
	EVP_PKEY *ca_key;
	X509 *ca;
	X509 *revoked;      /* serial 0A, on the CRL */
	X509 *good;         /* serial 0B */
	X509_CRL *crl;      /* thisUpdate T0+1h, nextUpdate T0+7h, lists 0A */
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	f->ca_key = tu_rsa_key_new(1024);
	f->ca = make_ca(f->ca_key, "CN=Other CA,O=Evercert");
	f->revoked = make_cert(f->ca, f->ca_key, 10, NULL);
	f->good = make_cert(f->ca, f->ca_key, 11, "http://127.0.0.1:8081/OTHER.crl");
	f->crl = make_crl(f->ca, f->ca_key, at(T0) + EC_MS_PER_HOUR, at(T0) + 7 * EC_MS_PER_HOUR, "0A");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	X509_CRL_free(f->crl);
	X509_free(f->revoked);
	X509_free(f->good);
	X509_free(f->ca);
	EVP_PKEY_free(f->ca_key);
	free(f);
	return 0;
}

/* ---- the pure CRL decision ---- */

static void test_crl_status(void **state)
{
	fixture *f = *state;
	char why[PKI_TRUST_WHY_MAX];
	ec_time during = at(T0) + 2 * EC_MS_PER_HOUR;
	assert_int_equal(pki_crl_status(f->crl, f->revoked, during, why, sizeof(why)), PKI_CRL_REVOKED);
	assert_non_null(strstr(why, "certificate A was revoked"));
	assert_int_equal(pki_crl_status(f->crl, f->good, during, why, sizeof(why)), PKI_CRL_GOOD);
	/* Past nextUpdate: unknown, not good; a listed certificate stays revoked. */
	ec_time after = at(T0) + 7 * EC_MS_PER_HOUR;
	assert_int_equal(pki_crl_status(f->crl, f->good, after, why, sizeof(why)), PKI_CRL_UNKNOWN);
	assert_non_null(strstr(why, "expired"));
	assert_int_equal(pki_crl_status(f->crl, f->revoked, after, why, sizeof(why)), PKI_CRL_REVOKED);
	/* A CRL from the future beyond the skew allowed. */
	assert_int_equal(pki_crl_status(f->crl, f->good, at(T0) - EC_MS_PER_MINUTE, why, sizeof(why)), PKI_CRL_UNKNOWN);
	assert_non_null(strstr(why, "future"));
	assert_int_equal(pki_crl_status(f->crl, f->good, at(T0) + EC_MS_PER_MINUTE, NULL, 0), PKI_CRL_GOOD);
	/* No CRL at all. */
	assert_int_equal(pki_crl_status(NULL, f->good, during, why, sizeof(why)), PKI_CRL_UNKNOWN);
}

static void test_crl_status_other_issuer(void **state)
{
	fixture *f = *state;
	EVP_PKEY *key = tu_rsa_key_new(1024);
	X509 *ca2 = make_ca(key, "CN=Root CA,O=Evercert");
	X509 *cert = make_cert(ca2, key, 10, NULL);
	char why[PKI_TRUST_WHY_MAX];
	/* Serial 0A is on Other CA's CRL, but this 0A is Root CA's. */
	assert_int_equal(pki_crl_status(f->crl, cert, at(T0) + 2 * EC_MS_PER_HOUR, why, sizeof(why)), PKI_CRL_UNKNOWN);
	assert_non_null(strstr(why, "another CA"));
	X509_free(cert);
	X509_free(ca2);
	EVP_PKEY_free(key);
}

static void test_crl_accept(void **state)
{
	fixture *f = *state;
	ec_err err = {""};
	STACK_OF(X509) *cas = stack_of(f->ca);
	ec_time during = at(T0) + 2 * EC_MS_PER_HOUR;
	assert_int_equal(pki_crl_accept(f->crl, cas, NULL, during, &err), 0);
	assert_int_equal(pki_crl_accept(f->crl, cas, f->crl, during, &err), 0);
	assert_int_equal(pki_crl_accept(f->crl, cas, NULL, at(T0) + 8 * EC_MS_PER_HOUR, &err), -1);
	assert_non_null(strstr(err.msg, "expired"));

	/* Signed by another key under the same name: refused. */
	EVP_PKEY *mallory = tu_rsa_key_new(1024);
	X509 *fake_ca = make_ca(mallory, "CN=Other CA,O=Evercert");
	X509_CRL *fake = make_crl(fake_ca, mallory, at(T0) + EC_MS_PER_HOUR, at(T0) + 7 * EC_MS_PER_HOUR, NULL);
	assert_int_equal(pki_crl_accept(fake, cas, NULL, during, &err), -1);
	assert_non_null(strstr(err.msg, "not signed by the CA"));
	assert_false(pki_crl_signed_by(fake, cas));
	assert_true(pki_crl_signed_by(f->crl, cas));

	/* An older CRL than the one held (served again by someone): refused. */
	X509_CRL *newer = make_crl(f->ca, f->ca_key, at(T0) + 90 * EC_MS_PER_MINUTE, at(T0) + 8 * EC_MS_PER_HOUR, "0A");
	assert_int_equal(pki_crl_accept(f->crl, cas, newer, during, &err), -1);
	assert_non_null(strstr(err.msg, "older"));
	assert_int_equal(pki_crl_accept(newer, cas, f->crl, during, &err), 0);

	/* No nextUpdate: it could never be known to be current. */
	X509_CRL *endless = X509_CRL_new();
	ASN1_TIME *last = ASN1_TIME_set(NULL, (time_t)((at(T0) + EC_MS_PER_HOUR) / 1000));
	assert_true(X509_CRL_set_version(endless, X509_CRL_VERSION_2));
	assert_true(X509_CRL_set_issuer_name(endless, X509_get_subject_name(f->ca)));
	assert_true(X509_CRL_set1_lastUpdate(endless, last));
	assert_true(X509_CRL_sign(endless, f->ca_key, EVP_sha256()) > 0);
	ASN1_TIME_free(last);
	assert_int_equal(pki_crl_accept(endless, cas, NULL, during, &err), -1);
	assert_non_null(strstr(err.msg, "no nextUpdate"));
	ec_time t1, t2;
	assert_int_equal(pki_crl_times(endless, &t1, &t2), 0);
	assert_true(t2 == INT64_MAX);

	X509_CRL_free(endless);
	X509_CRL_free(newer);
	X509_CRL_free(fake);
	X509_free(fake_ca);
	EVP_PKEY_free(mallory);
	sk_X509_free(cas);
}

static void test_cert_crl_url(void **state)
{
	fixture *f = *state;
	char url[256];
	assert_int_equal(pki_cert_crl_url(f->good, url, sizeof(url)), 0);
	assert_string_equal(url, "http://127.0.0.1:8081/OTHER.crl");
	assert_int_equal(pki_cert_crl_url(f->good, url, 10), 1); /* does not fit */
	assert_int_equal(pki_cert_crl_url(f->revoked, url, sizeof(url)), 1);
	X509 *ldap = make_cert(f->ca, f->ca_key, 12, "ldap://ldap.example/cn=Other%20CA");
	assert_int_equal(pki_cert_crl_url(ldap, url, sizeof(url)), 1);
	X509_free(ldap);
}

/* ---- a trustpoint's verdict ---- */

static void test_trust_check(void **state)
{
	fixture *f = *state;
	char why[PKI_TRUST_WHY_MAX];
	STACK_OF(X509) *cas = stack_of(f->ca);
	ec_time during = at(T0) + 2 * EC_MS_PER_HOUR;
	pki_trust *t = pki_trust_new("OTHER", cas, f->crl, PKI_REVOCATION_CRL, NULL);
	assert_non_null(t);
	assert_string_equal(pki_trust_name(t), "OTHER");
	assert_int_equal(pki_trust_check(t, f->good, during, why, sizeof(why)), PKI_TRUST_GOOD);
	assert_int_equal(pki_trust_check(t, f->revoked, during, why, sizeof(why)), PKI_TRUST_REVOKED);
	assert_non_null(strstr(why, "trustpoint OTHER: certificate A was revoked"));
	/* The CRL ran out: the status is unknown, and said so with the trustpoint's name. */
	assert_int_equal(pki_trust_check(t, f->good, at(T0) + 8 * EC_MS_PER_HOUR, why, sizeof(why)), PKI_TRUST_UNCHECKED);
	assert_non_null(strstr(why, "no current CRL for trustpoint OTHER: the CRL expired"));
	/* Another CA's certificate does not chain. */
	EVP_PKEY *key = tu_rsa_key_new(1024);
	X509 *ca2 = make_ca(key, "CN=Root CA,O=Evercert");
	X509 *foreign = make_cert(ca2, key, 11, NULL);
	assert_int_equal(pki_trust_check(t, foreign, during, why, sizeof(why)), PKI_TRUST_NOT_CHAINED);
	pki_trust_release(t);

	/* A CRL that ran out and a fetch that failed: both said. */
	t = pki_trust_new("OTHER", cas, f->crl, PKI_REVOCATION_CRL, "GetCRL: Connection refused");
	assert_int_equal(pki_trust_check(t, f->good, at(T0) + 8 * EC_MS_PER_HOUR, why, sizeof(why)), PKI_TRUST_UNCHECKED);
	assert_non_null(strstr(why, "(its nextUpdate); last fetch: GetCRL: Connection refused"));
	pki_trust_release(t);

	/* No CRL yet, with the fetch's failure as the reason. */
	t = pki_trust_new("OTHER", cas, NULL, PKI_REVOCATION_CRL, "GetCRL: Connection refused");
	assert_int_equal(pki_trust_check(t, f->good, during, why, sizeof(why)), PKI_TRUST_UNCHECKED);
	assert_string_equal(why, "no current CRL for trustpoint OTHER: GetCRL: Connection refused");
	pki_trust_release(t);

	/* revocation-check crl none: a current CRL still refuses what it lists; without one, the
	 * chain alone grants, and the reason says so. */
	t = pki_trust_new("OTHER", cas, f->crl, PKI_REVOCATION_CRL_NONE, NULL);
	assert_int_equal(pki_trust_check(t, f->revoked, during, why, sizeof(why)), PKI_TRUST_REVOKED);
	assert_int_equal(pki_trust_check(t, f->good, at(T0) + 8 * EC_MS_PER_HOUR, why, sizeof(why)), PKI_TRUST_GOOD);
	assert_non_null(strstr(why, "accepted as `revocation-check crl none` asks"));
	pki_trust_release(t);
	t = pki_trust_new("OTHER", cas, NULL, PKI_REVOCATION_CRL_NONE, "GetCRL: Connection refused");
	assert_int_equal(pki_trust_check(t, f->good, during, why, sizeof(why)), PKI_TRUST_GOOD);
	assert_non_null(strstr(why, "no current CRL (GetCRL: Connection refused)"));
	pki_trust_release(t);

	/* revocation-check none: granted on the chain alone, even a revoked certificate. */
	t = pki_trust_new("OTHER", cas, NULL, PKI_REVOCATION_NONE, NULL);
	assert_int_equal(pki_trust_check(t, f->good, during, why, sizeof(why)), PKI_TRUST_GOOD);
	assert_int_equal(pki_trust_check(t, f->revoked, during, why, sizeof(why)), PKI_TRUST_GOOD);
	pki_trust_release(t);

	/* A snapshot keeps its own copies: the owner's objects may go. */
	X509_CRL *crl = X509_CRL_dup(f->crl);
	X509 *ca = X509_dup(f->ca);
	STACK_OF(X509) *own = stack_of(ca);
	t = pki_trust_new("OTHER", own, crl, PKI_REVOCATION_CRL, NULL);
	sk_X509_free(own);
	X509_free(ca);
	X509_CRL_free(crl);
	assert_int_equal(pki_trust_check(t, f->revoked, during, NULL, 0), PKI_TRUST_REVOKED);
	pki_trust_release(t);

	STACK_OF(X509) *none = sk_X509_new_null();
	assert_null(pki_trust_new("OTHER", none, NULL, PKI_REVOCATION_NONE, NULL));
	sk_X509_free(none);
	X509_free(foreign);
	X509_free(ca2);
	EVP_PKEY_free(key);
	sk_X509_free(cas);
}

/* ---- snapshots replaced under readers ---- */

typedef struct readers {
	pki_trust_slot slot;
	fixture *f;
	volatile int stop;
	int seen[4];
} readers;

static void *reader(void *arg)
{
	readers *r = arg;
	ec_time during = at(T0) + 2 * EC_MS_PER_HOUR;
	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		pki_trust *t = pki_trust_slot_get(&r->slot);
		if (t == NULL)
			continue;
		int v = pki_trust_check(t, r->f->revoked, during, NULL, 0);
		__atomic_fetch_add(&r->seen[v], 1, __ATOMIC_RELAXED);
		pki_trust_release(t);
	}
	return NULL;
}

static void test_slot_replaced_under_readers(void **state)
{
	fixture *f = *state;
	readers r = {.f = f};
	pki_trust_slot_init(&r.slot);
	STACK_OF(X509) *cas = stack_of(f->ca);
	pki_trust *first = pki_trust_new("OTHER", cas, f->crl, PKI_REVOCATION_CRL, NULL);
	pki_trust_slot_publish(&r.slot, first);
	/* A reference taken before a replacement stays usable after it. */
	pki_trust *held = pki_trust_slot_get(&r.slot);
	assert_ptr_equal(held, first);
	pthread_t th[3];
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&th[i], NULL, reader, &r), 0);
	for (int i = 0; i < 200; i++) {
		/* Alternately with and without the CRL: revoked, then unchecked. */
		pki_trust *t = pki_trust_new("OTHER", cas, i % 2 ? NULL : f->crl, PKI_REVOCATION_CRL, "none fetched yet");
		assert_non_null(t);
		pki_trust_slot_publish(&r.slot, t);
	}
	pki_trust_slot_publish(&r.slot, NULL);
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	assert_int_equal(pki_trust_check(held, f->revoked, at(T0) + 2 * EC_MS_PER_HOUR, NULL, 0), PKI_TRUST_REVOKED);
	pki_trust_release(held);
	assert_null(pki_trust_slot_get(&r.slot));
	assert_int_equal(r.seen[PKI_TRUST_GOOD] + r.seen[PKI_TRUST_NOT_CHAINED], 0);
	pki_trust_slot_destroy(&r.slot);
	sk_X509_free(cas);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_crl_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crl_status_other_issuer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crl_accept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cert_crl_url, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trust_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slot_replaced_under_readers, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
