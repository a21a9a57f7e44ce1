/* The chain of custody: CA generations and NewWithOld link certificates made with OpenSSL
 * directly, walked from a pin to the CA's current certificate by pki_custody_walk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/pem.h>

#include "pki/pki.h"
#include "testutil.h"

#define GENERATIONS 4
#define NAME "RootCA"
static const time_t T0 = 1444396456; /* 2015-10-09T13:14:16Z */

/* gen[i]: self-signed CA of generation i, each valid two years from T0 + i years (all long
 * expired for a clock of today); link[i]: gen[i] -> gen[i+1], signed by gen[i]'s key. */
static EVP_PKEY *key[GENERATIONS];
static X509 *gen[GENERATIONS];
static X509 *link_to[GENERATIONS];

static X509 *make_link(int from, EVP_PKEY *successor_key, const char *cn)
{
	return tu_issue(gen[from], key[from], successor_key, cn, 1000 + from, T0 + (from + 1) * 365 * 86400L, 730);
}

static int setup(void **state)
{
	(void)state;
	for (int i = 0; i < GENERATIONS; i++) {
		key[i] = tu_rsa_key_new(1024);
		gen[i] = tu_self_signed(key[i], NAME, 1 + i, T0 + i * 365 * 86400L, 730, 1);
	}
	for (int i = 0; i + 1 < GENERATIONS; i++)
		link_to[i] = make_link(i, key[i + 1], NAME);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < GENERATIONS; i++) {
		X509_free(gen[i]);
		X509_free(link_to[i]);
		EVP_PKEY_free(key[i]);
	}
	return 0;
}

/* A stack of borrowed certificates (freed with sk_X509_free). */
static STACK_OF(X509) *chain_of(X509 *first, ...)
{
	STACK_OF(X509) *s = sk_X509_new_null();
	va_list ap;
	va_start(ap, first);
	for (X509 *c = first; c != NULL; c = va_arg(ap, X509 *))
		sk_X509_push(s, c);
	va_end(ap);
	return s;
}

static int walk(X509 *pin, STACK_OF(X509) *chain, X509 *active, pki_custody_result *r, ec_err *err)
{
	int rc = pki_custody_walk(pin, chain, active, r, err);
	sk_X509_free(chain);
	return rc;
}

static void pin_is_current(void **state)
{
	pki_custody_result r;
	ec_err err;
	assert_int_equal(walk(gen[0], chain_of(gen[0], NULL), gen[0], &r, &err), 0);
	assert_int_equal(X509_cmp(r.current, gen[0]), 0);
	assert_null(r.successor);
	assert_int_equal(r.generations, 0);
	pki_custody_result_free(&r);
	/* With a rollover generation: it is the successor. */
	assert_int_equal(walk(gen[0], chain_of(gen[0], link_to[0], gen[1], NULL), gen[0], &r, &err), 0);
	assert_int_equal(X509_cmp(r.successor, gen[1]), 0);
	pki_custody_result_free(&r);
}

static void one_generation(void **state)
{
	pki_custody_result r;
	ec_err err;
	assert_int_equal(walk(gen[0], chain_of(gen[0], link_to[0], gen[1], NULL), gen[1], &r, &err), 0);
	assert_int_equal(X509_cmp(r.current, gen[1]), 0);
	assert_int_equal(r.generations, 1);
	assert_null(r.successor);
	pki_custody_result_free(&r);
	/* The active certificate need not be in the body: the link names its key. */
	assert_int_equal(walk(gen[0], chain_of(link_to[0], NULL), gen[1], &r, &err), 0);
	pki_custody_result_free(&r);
}

static void several_generations_with_successor(void **state)
{
	pki_custody_result r;
	ec_err err;
	STACK_OF(X509) *c = chain_of(gen[0], link_to[0], gen[1], link_to[1], gen[2], link_to[2], gen[3], NULL);
	assert_int_equal(walk(gen[0], c, gen[2], &r, &err), 0);
	assert_int_equal(X509_cmp(r.current, gen[2]), 0);
	assert_int_equal(X509_cmp(r.successor, gen[3]), 0);
	assert_int_equal(r.generations, 2);
	pki_custody_result_free(&r);
	/* A pin from the middle of the chain walks from there. */
	c = chain_of(gen[0], link_to[0], gen[1], link_to[1], gen[2], link_to[2], gen[3], NULL);
	assert_int_equal(walk(gen[1], c, gen[3], &r, &err), 0);
	assert_int_equal(r.generations, 2);
	pki_custody_result_free(&r);
}

static void order_does_not_matter(void **state)
{
	pki_custody_result r;
	ec_err err;
	STACK_OF(X509) *c = chain_of(gen[3], link_to[2], gen[1], link_to[0], gen[2], link_to[1], gen[0], NULL);
	assert_int_equal(walk(gen[0], c, gen[3], &r, &err), 0);
	assert_int_equal(X509_cmp(r.current, gen[3]), 0);
	assert_int_equal(r.generations, 3);
	pki_custody_result_free(&r);
}

static void expired_generations_still_followed(void **state)
{
	/* Every certificate here ended years before any clock the tests run under: only the
	 * signatures count. */
	pki_custody_result r;
	ec_err err;
	assert_true(X509_cmp_current_time(X509_get0_notAfter(gen[1])) < 0);
	assert_int_equal(walk(gen[0], chain_of(link_to[0], gen[1], link_to[1], gen[2], NULL), gen[2], &r, &err), 0);
	pki_custody_result_free(&r);
}

static void forged_successor_refused(void **state)
{
	/* A CA of the same name whose link is signed by its own key, not by the pinned one. */
	EVP_PKEY *k = tu_rsa_key_new(1024);
	X509 *forged = tu_self_signed(k, NAME, 66, T0, 3650, 1);
	X509 *self_link = tu_issue(forged, k, k, NAME, 67, T0, 3650);
	pki_custody_result r;
	ec_err err;
	assert_int_equal(walk(gen[0], chain_of(gen[0], self_link, forged, NULL), forged, &r, &err), -1);
	assert_non_null(strstr(err.msg, "does not chain to the pinned"));
	assert_null(r.current);
	/* Nor does a genuine chain beside it lend it trust. */
	assert_int_equal(walk(gen[0], chain_of(gen[0], link_to[0], gen[1], self_link, forged, NULL), forged, &r, &err), -1);
	/* And a forged rollover after a genuine current CA is not its successor. */
	X509 *tail = tu_issue(gen[1], k, k, NAME, 68, T0, 3650);
	assert_int_equal(walk(gen[0], chain_of(link_to[0], gen[1], tail, forged, NULL), gen[1], &r, &err), 0);
	assert_null(r.successor);
	pki_custody_result_free(&r);
	X509_free(tail);
	X509_free(self_link);
	X509_free(forged);
	EVP_PKEY_free(k);
}

/* Generation 1 offered with `bad` as its link from the pin must be refused (bad is freed). */
static void refused_as_link(X509 *bad)
{
	pki_custody_result r;
	ec_err err;
	assert_int_equal(walk(gen[0], chain_of(gen[0], bad, gen[1], NULL), gen[1], &r, &err), -1);
	assert_null(r.current);
	X509_free(bad);
}

static void link_signed_by_wrong_key_refused(void **state)
{
	/* Issuer name of generation 0, but signed by generation 2's key. */
	refused_as_link(tu_issue(gen[0], key[2], key[1], NAME, 70, T0, 3650));
}

static void link_key_differs_from_ca_key_refused(void **state)
{
	/* A genuine signature of generation 0, but for another key than generation 1's. */
	EVP_PKEY *k = tu_rsa_key_new(1024);
	refused_as_link(make_link(0, k, NAME));
	/* Or the right key under another subject. */
	refused_as_link(make_link(0, key[1], "OtherCA"));
	EVP_PKEY_free(k);
}

static void successor_must_sign_itself(void **state)
{
	/* The link names generation 1's key, but the certificate offered under that key is signed
	 * by generation 0 (not a CA certificate of its own). */
	X509 *not_self = tu_issue(gen[0], key[0], key[1], NAME, 80, T0, 3650);
	pki_custody_result r;
	ec_err err;
	assert_int_equal(walk(gen[0], chain_of(link_to[0], NULL), not_self, &r, &err), -1);
	X509_free(not_self);
}

static void skipped_generation_refused(void **state)
{
	pki_custody_result r;
	ec_err err;
	/* Generation 1's link to 2 is missing: from the pin, 2 cannot be reached. */
	assert_int_equal(walk(gen[0], chain_of(gen[0], link_to[0], gen[1], gen[2], link_to[2], gen[3], NULL), gen[3],
	                      &r, &err), -1);
	/* Only the later links, nothing from the pin. */
	assert_int_equal(walk(gen[0], chain_of(gen[1], link_to[1], gen[2], NULL), gen[2], &r, &err), -1);
	/* An empty chain reaches nothing past the pin. */
	assert_int_equal(walk(gen[0], chain_of(NULL), gen[1], &r, &err), -1);
}

static void pem_bodies(void **state)
{
	BIO *b = BIO_new(BIO_s_mem());
	BIO_puts(b, "leading text\n");
	PEM_write_bio_X509(b, gen[0]);
	PEM_write_bio_X509(b, link_to[0]);
	PEM_write_bio_X509(b, gen[1]);
	char *data = NULL;
	long len = BIO_get_mem_data(b, &data);
	STACK_OF(X509) *certs = NULL;
	ec_err err;
	assert_int_equal(pki_custody_parse_pem((uint8_t *)data, (size_t)len, &certs, &err), 0);
	assert_int_equal(sk_X509_num(certs), 3);
	sk_X509_pop_free(certs, X509_free);
	/* A block cut short is an error, not a shorter chain. */
	assert_int_equal(pki_custody_parse_pem((uint8_t *)data, (size_t)len - 100, &certs, &err), -1);
	assert_null(certs);
	assert_int_equal(pki_custody_parse_pem((const uint8_t *)"nothing", 7, &certs, &err), -1);
	BIO_free(b);
	/* Too many certificates. */
	b = BIO_new(BIO_s_mem());
	for (int i = 0; i <= PKI_CUSTODY_MAX_CERTS; i++)
		PEM_write_bio_X509(b, gen[i % GENERATIONS]);
	len = BIO_get_mem_data(b, &data);
	assert_int_equal(pki_custody_parse_pem((uint8_t *)data, (size_t)len, &certs, &err), -1);
	assert_non_null(strstr(err.msg, "more than"));
	BIO_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pin_is_current),
		cmocka_unit_test(one_generation),
		cmocka_unit_test(several_generations_with_successor),
		cmocka_unit_test(order_does_not_matter),
		cmocka_unit_test(expired_generations_still_followed),
		cmocka_unit_test(forged_successor_refused),
		cmocka_unit_test(link_signed_by_wrong_key_refused),
		cmocka_unit_test(link_key_differs_from_ca_key_refused),
		cmocka_unit_test(successor_must_sign_itself),
		cmocka_unit_test(skipped_generation_refused),
		cmocka_unit_test(pem_bodies),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
