/* The certificate server on a store its host gives it (ca_env.store), on each backend: an
 * in-memory SQLite one (which is how CA tests can run without a database file) and a
 * PostgreSQL one on a private server (pgtest.h); and on the PostgreSQL store that
 * `database url postgresql://...` names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ca/ca.h"
#include "config/config.h"
#include "store/store.h"
#include "pgtest.h"
#include "testutil.h"

static ec_time T0; /* 2015-10-09T13:14:16Z */

typedef struct fixture {
	char *dir;
	cfg_config *cfg;
	ec_store *store;   /* owned by ca once it is open */
	ca_engine *ca;
} fixture;

/* The state that selects PostgreSQL for a test (the SQLite group's tests have none). */
static int on_pg = 1;

/* A fresh database on the PostgreSQL group's server; its URL in url. */
static void pg_database(char *url, size_t size)
{
	char why[512];
	if (pgtest_group_db(url, size, why, sizeof(why)) != 0)
		fail_msg("%s", why);
}

/* The store a test's CA is given: in memory, or a fresh PostgreSQL database. */
static ec_store *given_store(void **state)
{
	ec_store *st = NULL;
	ec_err err = {""};
	char url[1400] = "sqlite::memory:";
	if (*state == &on_pg)
		pg_database(url, sizeof(url));
	if (store_open(&(store_config){.url = url}, &st, &err) != 0)
		fail_msg("store %s: %s", url, err.msg);
	return st;
}



/* Closes the CA, and with it the store it was given; the directory name stays. */
static void close_ca_keep_dir(fixture *f)
{
	ca_close(f->ca);
	cfg_config_free(f->cfg);
}

/* Closes the CA, and with it the store it was given. */
static void close_ca(fixture *f)
{
	close_ca_keep_dir(f);
	free(f->dir);
}

static void open_ca(fixture *f, ec_time now)
{
	/* The archive password: a CA on a shared store refuses to start without one. */
	static const char text[] = "crypto pki server ROOTCA\n  issuance rsa-modulus 1024\n"
	                           "  database archive pkcs12 password 0 test-archive-pass\n";
	ec_err err = {""};
	if (cfg_parse((const uint8_t *)text, strlen(text), &f->cfg, &err) != 0)
		fail_msg("config: %s", err.msg);
	f->dir = tu_tmpdir("ca_store");
	ca_env env = {.state_dir = f->dir, .default_key_bits = 1024, .rollover_key_bits = 1024,
	              .store = f->store};
	if (ca_open(&f->cfg->servers[0], &env, now, &f->ca, &err) != 0)
		fail_msg("ca_open: %s", err.msg);
}

static int count_generation(void *ctx, const store_ca_cert *ca)
{
	(void)ca;
	(*(int *)ctx)++;
	return 0;
}

static void insert_request(ec_store *st, const char *txid, int state, ec_time expires)
{
	store_request r;
	ec_err err = {""};
	memset(&r, 0, sizeof(r));
	snprintf(r.txid, sizeof(r.txid), "%s", txid);
	snprintf(r.subject, sizeof(r.subject), "CN=%s", txid);
	r.state = state;
	r.msg_type = 19;
	r.created = T0;
	r.expires = expires;
	if (store_request_insert(st, &r, &err) != 0)
		fail_msg("insert: %s", err.msg);
}

/* The CA creates its first generation in the given store and makes no database file of its own. */
static void ca_uses_the_given_store(void **state)
{
	fixture f = {.store = given_store(state)};
	ec_err err = {""};
	char path[4200];
	int generations = 0;

	open_ca(&f, T0);
	assert_int_equal(store_ca_each(f.store, count_generation, &generations, &err), 0);
	assert_int_equal(generations, 1);
	snprintf(path, sizeof(path), "%s/ROOTCA/ROOTCA.db", f.dir);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/ROOTCA/ROOTCA.pem", f.dir);
	assert_int_equal(access(path, F_OK), 0);
	close_ca(&f);
}

/* The next timer is the earliest pending request's expiry when that comes first; a request in
 * another state does not count, and without pending requests the CA's own timers remain. */
static void next_timer_is_the_earliest_pending_expiry(void **state)
{
	fixture f = {.store = given_store(state)};
	open_ca(&f, T0);
	if (store_shared(f.store)) {
		/* A node of a shared store looks for the lease and its peers' changes every second:
		 * that comes before any expiry (test_ca_cluster tests the rest). */
		ec_err err = {""};
		assert_int_equal(ca_run_timers(f.ca, T0, &err), 0);
		insert_request(f.store, "sooner", STORE_REQ_PENDING, T0 + EC_MS_PER_HOUR);
		assert_int_equal(ca_next_timer(f.ca), T0 + 1000);
		close_ca(&f);
		return;
	}
	ec_time own = ca_next_timer(f.ca);
	assert_true(own > T0 + 2 * EC_MS_PER_HOUR);
	insert_request(f.store, "rejected", STORE_REQ_REJECTED, T0 + EC_MS_PER_MINUTE);
	insert_request(f.store, "later", STORE_REQ_PENDING, T0 + 2 * EC_MS_PER_HOUR);
	insert_request(f.store, "sooner", STORE_REQ_PENDING, T0 + EC_MS_PER_HOUR);
	assert_int_equal(ca_next_timer(f.ca), T0 + EC_MS_PER_HOUR);
	ec_err err = {""};
	assert_int_equal(ca_run_timers(f.ca, T0 + 2 * EC_MS_PER_HOUR, &err), 0);
	assert_int_equal(ca_next_timer(f.ca), own);
	close_ca(&f);
}

/* `database url postgresql://...` puts the CA's store in PostgreSQL: the first generation is
 * there, and the CA directory (the state directory's) holds its files but no NAME.db. */
static void ca_on_postgresql(void **state)
{
	(void)state;
	char url[1400], text[1600], path[4200];
	ec_err err = {""};
	const cfg_server *server = NULL;
	pg_database(url, sizeof(url));
	snprintf(text, sizeof(text), "crypto pki server ROOTCA\n  issuance rsa-modulus 1024\n  database url %s\n"
	         "  database archive pkcs12 password 0 test-archive-pass\n", url);
	fixture f = {.dir = tu_tmpdir("ca_pg")};
	if (cfg_parse((const uint8_t *)text, strlen(text), &f.cfg, &err) != 0)
		fail_msg("config: %s", err.msg);
	server = &f.cfg->servers[0];
	assert_string_equal(server->database_store_url, url);
	ca_env env = {.state_dir = f.dir, .default_key_bits = 1024, .rollover_key_bits = 1024};
	if (ca_open(server, &env, T0, &f.ca, &err) != 0)
		fail_msg("ca_open: %s", err.msg);
	close_ca_keep_dir(&f);

	ec_store *st = NULL;
	int generations = 0;
	if (store_open(&(store_config){.url = url}, &st, &err) != 0)
		fail_msg("store_open: %s", err.msg);
	assert_int_equal(store_ca_each(st, count_generation, &generations, &err), 0);
	assert_int_equal(generations, 1);
	store_close(st);
	snprintf(path, sizeof(path), "%s/ROOTCA/ROOTCA.db", f.dir);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/ROOTCA/ROOTCA.pem", f.dir);
	assert_int_equal(access(path, F_OK), 0);
	free(f.dir);
}

int main(void)
{
	if (ec_time_parse_iso("2015-10-09T13:14:16Z", &T0) != 0)
		return 1;
	const struct CMUnitTest sqlite_tests[] = {
		cmocka_unit_test(ca_uses_the_given_store),
		cmocka_unit_test(next_timer_is_the_earliest_pending_expiry),
	};
	const struct CMUnitTest pg_tests[] = {
		cmocka_unit_test_prestate(ca_uses_the_given_store, &on_pg),
		cmocka_unit_test_prestate(next_timer_is_the_earliest_pending_expiry, &on_pg),
		cmocka_unit_test(ca_on_postgresql),
	};
	int failed = cmocka_run_group_tests_name("sqlite", sqlite_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("postgresql", pg_tests, pgtest_group_start, pgtest_group_stop);
	return failed;
}
