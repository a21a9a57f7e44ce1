/* The chain of custody across CA generations: link certificates made at each rollover, the chain
 * served by GetCARolloverChain, NAME-rollover.pem, restarts and stores from before links. Every
 * link is checked with OpenSSL directly (signatures, names, keys), never with the code under
 * test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ca/ca.h"
#include "config/config.h"
#include "pki/pki.h"
#include "testutil.h"

static ec_time T0; /* 2015-10-09T13:14:16Z */

/* lifetime ca-certificate 730, auto-rollover 90: the successor at day 640, the switch at 730. */
#define LIFE (730 * EC_MS_PER_DAY)
#define SHADOW_AT(n) (T0 + (n) * LIFE + 640 * EC_MS_PER_DAY)
#define SWITCH_AT(n) (T0 + ((n) + 1) * LIFE)

typedef struct fixture {
	char *dir;
	cfg_config *cfg;
	ca_engine *ca;
} fixture;

static void open_ca(fixture *f, ec_time now)
{
	ec_err err;
	if (ca_open(&f->cfg->servers[0], &(ca_env){.state_dir = f->dir, .default_key_bits = 1024,
	                                           .rollover_key_bits = 1024}, now, &f->ca, &err) != 0)
		fail_msg("ca_open: %s", err.msg);
}

static void setup_ca(fixture *f, ec_time now)
{
	static const char text[] = "crypto pki server ROOTCA\n  issuer-name CN=RootCA,O=Example\n"
	                           "  lifetime ca-certificate 730\n  auto-rollover 90\n";
	ec_err err;
	if (cfg_parse((const uint8_t *)text, strlen(text), &f->cfg, &err) != 0)
		fail_msg("config: %s", err.msg);
	f->dir = tu_tmpdir("custody");
	open_ca(f, now);
}

static void teardown_ca(fixture *f)
{
	ca_close(f->ca);
	cfg_config_free(f->cfg);
	free(f->dir);
}

static void run_timers(fixture *f, ec_time now)
{
	ec_err err;
	if (ca_run_timers(f->ca, now, &err) != 0)
		fail_msg("timers at %lld: %s", (long long)now, err.msg);
}

/* A file of the CA directory (the same buffer each time). */
static char *ca_path(const fixture *f, const char *name)
{
	static char path[4096];
	snprintf(path, sizeof(path), "%s/ROOTCA/%s", f->dir, name);
	return path;
}

/* The served chain, parsed; checks the reply's status and content type. */
static STACK_OF(X509) *get_chain(fixture *f)
{
	ca_reply rep;
	ec_err err;
	if (ca_get_rollover_chain(f->ca, &rep, &err) != 0)
		fail_msg("chain: %s", err.msg);
	assert_int_equal(rep.kind, CA_REPLY_CA_CHAIN);
	BIO *bio = BIO_new_mem_buf(rep.body, (int)rep.body_len);
	STACK_OF(X509) *chain = sk_X509_new_null();
	X509 *x;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		sk_X509_push(chain, x);
	BIO_free(bio);
	ca_reply_free(&rep);
	return chain;
}

static bool key_id_equal(const ASN1_OCTET_STRING *a, const ASN1_OCTET_STRING *b)
{
	return a != NULL && b != NULL && ASN1_OCTET_STRING_cmp(a, b) == 0;
}

/* link endorses next on behalf of prev: every check a relying party makes, and the extensions. */
static void assert_link(X509 *prev, X509 *link, X509 *next)
{
	assert_int_equal(X509_verify(link, X509_get0_pubkey(prev)), 1);
	assert_int_not_equal(X509_verify(link, X509_get0_pubkey(next)), 1);
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(link), X509_get_subject_name(prev)), 0);
	assert_int_equal(X509_NAME_cmp(X509_get_subject_name(link), X509_get_subject_name(next)), 0);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(link), X509_get0_pubkey(next)), 1);
	assert_int_not_equal(EVP_PKEY_eq(X509_get0_pubkey(prev), X509_get0_pubkey(next)), 1);
	assert_int_equal(X509_verify(next, X509_get0_pubkey(next)), 1);
	assert_true(X509_get_extension_flags(link) & EXFLAG_CA);
	assert_int_equal(X509_get_key_usage(link), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	assert_true(key_id_equal(X509_get0_subject_key_id(link), X509_get0_subject_key_id(next)));
	assert_true(key_id_equal(X509_get0_authority_key_id(link), X509_get0_subject_key_id(prev)));
	assert_int_equal(pki_cert_not_after(link), pki_cert_not_after(next));
	assert_int_not_equal(X509_cmp(link, next), 0);
}

/* The chain is CA, (link, CA)*, n CA certificates in all, each link checked, oldest first. */
static void assert_chain(STACK_OF(X509) *chain, int n_cas)
{
	assert_int_equal(sk_X509_num(chain), 2 * n_cas - 1);
	X509 *first = sk_X509_value(chain, 0);
	assert_int_equal(X509_verify(first, X509_get0_pubkey(first)), 1);
	for (int i = 1; i + 1 < sk_X509_num(chain); i += 2) {
		assert_link(sk_X509_value(chain, i - 1), sk_X509_value(chain, i), sk_X509_value(chain, i + 1));
		assert_true(pki_cert_not_before(sk_X509_value(chain, i + 1)) >
		            pki_cert_not_before(sk_X509_value(chain, i - 1)));
	}
}

static X509 *last_of(STACK_OF(X509) *chain)
{
	return sk_X509_value(chain, sk_X509_num(chain) - 1);
}

/* NAME-rollover.pem on disk and over HTTP is cert, or (cert NULL) neither exists. */
static void assert_rollover_file(fixture *f, X509 *cert)
{
	ca_reply rep;
	ec_err err;
	assert_int_equal(ca_get_ca_pem(f->ca, true, &rep, &err), 0);
	if (cert == NULL) {
		assert_int_equal(access(ca_path(f, "ROOTCA-rollover.pem"), F_OK), -1);
		assert_int_equal(rep.kind, CA_REPLY_NOT_FOUND);
		assert_non_null(strstr((const char *)rep.body, "no rollover CA certificate"));
		ca_reply_free(&rep);
		return;
	}
	X509 *on_disk = NULL;
	assert_int_equal(pki_cert_load(ca_path(f, "ROOTCA-rollover.pem"), &on_disk, &err), 0);
	assert_int_equal(X509_cmp(on_disk, cert), 0);
	X509_free(on_disk);
	assert_int_equal(rep.kind, CA_REPLY_CA_PEM);
	X509 *served = NULL;
	assert_int_equal(pki_cert_from_bytes(rep.body, rep.body_len, &served, &err), 0);
	assert_int_equal(X509_cmp(served, cert), 0);
	X509_free(served);
	ca_reply_free(&rep);
}

static void assert_active_pem(fixture *f)
{
	ca_reply rep;
	ec_err err;
	X509 *served = NULL;
	assert_int_equal(ca_get_ca_pem(f->ca, false, &rep, &err), 0);
	assert_int_equal(rep.kind, CA_REPLY_CA_PEM);
	assert_int_equal(pki_cert_from_bytes(rep.body, rep.body_len, &served, &err), 0);
	assert_int_equal(X509_cmp(served, ca_active_cert(f->ca)), 0);
	X509_free(served);
	ca_reply_free(&rep);
}

/* Two generations of rollover on the engine's timers: after each, the chain grows by a link and
 * a CA certificate, the rollover file comes and goes, and the last of the chain is the newest. */
static void two_rollovers_chain_link_by_link(void **state)
{
	(void)state;
	fixture f;
	setup_ca(&f, T0);
	STACK_OF(X509) *chain = get_chain(&f);
	assert_chain(chain, 1);
	assert_int_equal(X509_cmp(last_of(chain), ca_active_cert(f.ca)), 0);
	sk_X509_pop_free(chain, X509_free);
	assert_rollover_file(&f, NULL);

	for (int n = 0; n < 2; n++) {
		X509 *active = X509_dup(ca_active_cert(f.ca));
		run_timers(&f, SHADOW_AT(n));
		chain = get_chain(&f);
		assert_chain(chain, n + 2);
		X509 *link = sk_X509_value(chain, sk_X509_num(chain) - 2);
		assert_int_equal(pki_cert_not_before(link), SHADOW_AT(n));
		assert_int_equal(X509_cmp(sk_X509_value(chain, sk_X509_num(chain) - 3), active), 0);
		assert_rollover_file(&f, last_of(chain));

		run_timers(&f, SWITCH_AT(n));
		assert_int_equal(X509_cmp(last_of(chain), ca_active_cert(f.ca)), 0);
		assert_rollover_file(&f, NULL);
		assert_active_pem(&f);
		STACK_OF(X509) *after = get_chain(&f);
		assert_chain(after, n + 2);
		for (int i = 0; i < sk_X509_num(after); i++)
			assert_int_equal(X509_cmp(sk_X509_value(after, i), sk_X509_value(chain, i)), 0);
		sk_X509_pop_free(after, X509_free);
		sk_X509_pop_free(chain, X509_free);
		X509_free(active);
	}
	teardown_ca(&f);
}

static void rollover_cmd(fixture *f, ec_time now)
{
	ec_buf out;
	ec_err err;
	ec_buf_init(&out, 4096);
	if (ca_cmd_rollover(f->ca, now, &out, &err) != 0)
		fail_msg("rollover: %s", err.msg);
	ec_buf_free(&out);
}

static void cancel_cmd(fixture *f, ec_time now)
{
	ec_buf out;
	ec_err err;
	ec_buf_init(&out, 4096);
	if (ca_cmd_rollover_cancel(f->ca, true, now, &out, &err) != 0)
		fail_msg("cancel: %s", err.msg);
	ec_buf_free(&out);
}

/* A cancelled rollover leaves the chain, its file goes; the next rollover is linked afresh. */
static void cancelled_rollover_not_in_chain(void **state)
{
	(void)state;
	fixture f;
	setup_ca(&f, T0);
	rollover_cmd(&f, T0 + EC_MS_PER_DAY);
	STACK_OF(X509) *chain = get_chain(&f);
	assert_chain(chain, 2);
	X509 *cancelled = X509_dup(last_of(chain));
	sk_X509_pop_free(chain, X509_free);
	assert_rollover_file(&f, cancelled);

	cancel_cmd(&f, T0 + 2 * EC_MS_PER_DAY);
	assert_rollover_file(&f, NULL);
	chain = get_chain(&f);
	assert_chain(chain, 1);
	sk_X509_pop_free(chain, X509_free);

	rollover_cmd(&f, T0 + 3 * EC_MS_PER_DAY);
	chain = get_chain(&f);
	assert_chain(chain, 2);
	for (int i = 0; i < sk_X509_num(chain); i++) {
		assert_int_not_equal(X509_cmp(sk_X509_value(chain, i), cancelled), 0);
		assert_int_not_equal(X509_verify(sk_X509_value(chain, i), X509_get0_pubkey(cancelled)), 1);
	}
	assert_int_equal(pki_cert_not_before(sk_X509_value(chain, 1)), T0 + 3 * EC_MS_PER_DAY);
	assert_rollover_file(&f, last_of(chain));
	sk_X509_pop_free(chain, X509_free);
	X509_free(cancelled);
	teardown_ca(&f);
}

static void assert_same_chain(STACK_OF(X509) *a, STACK_OF(X509) *b)
{
	assert_int_equal(sk_X509_num(a), sk_X509_num(b));
	for (int i = 0; i < sk_X509_num(a); i++)
		assert_int_equal(X509_cmp(sk_X509_value(a, i), sk_X509_value(b, i)), 0);
}

static void restart(fixture *f, ec_time now)
{
	ca_close(f->ca);
	f->ca = NULL;
	open_ca(f, now);
}

/* Links are stored: a restart serves the same chain, byte for byte, and makes no new link. */
static void restart_keeps_links(void **state)
{
	(void)state;
	fixture f;
	setup_ca(&f, T0);
	run_timers(&f, SHADOW_AT(0));
	run_timers(&f, SWITCH_AT(0));
	run_timers(&f, SHADOW_AT(1));
	STACK_OF(X509) *before = get_chain(&f);
	assert_chain(before, 3);
	restart(&f, SHADOW_AT(1) + EC_MS_PER_DAY);
	STACK_OF(X509) *after = get_chain(&f);
	assert_same_chain(before, after);
	assert_rollover_file(&f, last_of(after));
	sk_X509_pop_free(after, X509_free);

	/* A rollover file lost (or left behind) is put right at the start. */
	assert_int_equal(unlink(ca_path(&f, "ROOTCA-rollover.pem")), 0);
	restart(&f, SHADOW_AT(1) + 2 * EC_MS_PER_DAY);
	assert_rollover_file(&f, last_of(before));
	run_timers(&f, SWITCH_AT(1));
	restart(&f, SWITCH_AT(1) + EC_MS_PER_DAY);
	assert_rollover_file(&f, NULL);
	after = get_chain(&f);
	assert_same_chain(before, after);
	sk_X509_pop_free(after, X509_free);
	sk_X509_pop_free(before, X509_free);
	teardown_ca(&f);
}

/* Makes the CA's store look like one from before links (schema version 2, no link column). */
static void make_store_older(fixture *f)
{
	ca_close(f->ca);
	f->ca = NULL;
	tu_sql(ca_path(f, "ROOTCA.db"), "ALTER TABLE ca_certs DROP COLUMN link; PRAGMA user_version = 2");
}

/* A store from before links is upgraded: each generation whose predecessor's key is present gets
 * its link at the start (valid from then, or for an ended generation from its own start), the
 * links are stored, and a generation whose predecessor's key is gone starts the chain. */
static void older_store_gets_links(void **state)
{
	(void)state;
	fixture f;
	setup_ca(&f, T0);
	for (int n = 0; n < 2; n++) {
		run_timers(&f, SHADOW_AT(n));
		run_timers(&f, SWITCH_AT(n));
	}
	run_timers(&f, SHADOW_AT(2));
	make_store_older(&f);
	ec_time start = SHADOW_AT(2) + EC_MS_PER_DAY;
	open_ca(&f, start);
	char db[4096];
	snprintf(db, sizeof(db), "%s", ca_path(&f, "ROOTCA.db"));
	assert_int_equal(tu_sql_number(db, "PRAGMA user_version"), 5); /* migrated to the current schema */
	assert_int_equal(tu_sql_number(db, "SELECT count(*) FROM ca_certs WHERE link IS NOT NULL"), 3);
	STACK_OF(X509) *chain = get_chain(&f);
	assert_chain(chain, 4);
	assert_int_equal(pki_cert_not_before(sk_X509_value(chain, 1)), pki_cert_not_before(sk_X509_value(chain, 2)));
	assert_int_equal(pki_cert_not_before(sk_X509_value(chain, 5)), start);
	sk_X509_pop_free(chain, X509_free);

	/* Again from before links, now without the first generation's key. */
	make_store_older(&f);
	assert_int_equal(unlink(ca_path(&f, "ROOTCA.0.key")), 0);
	open_ca(&f, start + EC_MS_PER_DAY);
	assert_int_equal(tu_sql_number(db, "SELECT count(*) FROM ca_certs WHERE link IS NOT NULL"), 2);
	assert_int_equal(tu_sql_number(db, "SELECT min(generation) FROM ca_certs WHERE link IS NOT NULL"), 2);
	chain = get_chain(&f);
	assert_chain(chain, 3);
	assert_int_equal(pki_cert_not_before(sk_X509_value(chain, 0)), SWITCH_AT(0));
	sk_X509_pop_free(chain, X509_free);
	teardown_ca(&f);
}

int main(void)
{
	if (ec_time_parse_iso("2015-10-09T13:14:16Z", &T0) != 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(two_rollovers_chain_link_by_link),
		cmocka_unit_test(cancelled_rollover_not_in_chain),
		cmocka_unit_test(restart_keeps_links),
		cmocka_unit_test(older_store_gets_links),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
