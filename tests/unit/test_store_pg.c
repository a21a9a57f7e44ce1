/*
 * test_store_pg.c - what the PostgreSQL store must do beyond the interface tests of
 * test_store.c: several CA nodes (store handles, each its own connection) on one database, two
 * nodes starting at once, a schema from a newer evercert, and a server restart under a node.
 *
 * The server is private (pgtest.h), started once for the group; each test gets its own
 * database. Threads meet at barriers, never by sleeping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgtest.h"
#include "store/store.h"

#define NODES 2
#define THREADS_PER_NODE 2
#define SERIALS_PER_THREAD 500 /* 2000 in all */
#define RACES 200              /* transactionIDs both nodes record at once */

typedef struct fixture {
	char url[1400];
	ec_store *node[NODES];
} fixture;

static ec_store *open_node(const char *url)
{
	ec_store *st = NULL;
	ec_err err = {""};
	if (store_open(&(store_config){.url = url}, &st, &err) != 0)
		fail_msg("open: %s", err.msg);
	return st;
}

/* A fresh database and two nodes on it. */
static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	char why[512];
	assert_non_null(f);
	if (pgtest_group_db(f->url, sizeof(f->url), why, sizeof(why)) != 0)
		fail_msg("%s", why);
	for (int i = 0; i < NODES; i++)
		f->node[i] = open_node(f->url);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	for (int i = 0; i < NODES; i++)
		store_close(f->node[i]);
	free(f);
	return 0;
}

/* ---- serials from two nodes ---- */

typedef struct reserver {
	ec_store *st;
	char serials[SERIALS_PER_THREAD][STORE_SERIAL_MAX];
	int failures;
	ec_err err;
} reserver;

static void *reserve_many(void *arg)
{
	reserver *r = arg;
	for (int i = 0; i < SERIALS_PER_THREAD; i++)
		if (store_reserve_serial(r->st, r->serials[i], &r->err) != 0)
			r->failures++;
	return NULL;
}

/* Two nodes, two threads each, 2000 serials: none handed out twice, and none beyond what the
 * blocks the nodes reserved can explain. */
static void serials_unique_across_nodes(void **state)
{
	fixture *f = *state;
	enum { N = NODES * THREADS_PER_NODE, TOTAL = N * SERIALS_PER_THREAD };
	reserver *r = calloc(N, sizeof(*r));
	pthread_t th[N];
	char *seen = calloc(TOTAL + NODES * STORE_SERIAL_BLOCK + 1, 1);
	assert_non_null(r);
	assert_non_null(seen);
	for (int t = 0; t < N; t++) {
		r[t].st = f->node[t % NODES];
		assert_int_equal(pthread_create(&th[t], NULL, reserve_many, &r[t]), 0);
	}
	for (int t = 0; t < N; t++)
		assert_int_equal(pthread_join(th[t], NULL), 0);
	for (int t = 0; t < N; t++) {
		if (r[t].failures != 0)
			fail_msg("%d reservations failed: %s", r[t].failures, r[t].err.msg);
		for (int i = 0; i < SERIALS_PER_THREAD; i++) {
			long v = strtol(r[t].serials[i], NULL, 16);
			assert_true(v >= 1 && v <= TOTAL + NODES * STORE_SERIAL_BLOCK);
			if (seen[v])
				fail_msg("serial %s handed out twice", r[t].serials[i]);
			seen[v] = 1;
		}
	}
	free(seen);
	free(r);
}

/* ---- one transactionID recorded by two nodes at once ---- */

typedef struct racer {
	ec_store *st;
	pthread_barrier_t *start;
	bool grant;                /* record_granted with a one-time password, else request_insert */
	int wins[RACES];
	char why[RACES][128];
} racer;

static store_request race_request(int i)
{
	store_request r;
	memset(&r, 0, sizeof(r));
	snprintf(r.txid, sizeof(r.txid), "race-%d", i);
	snprintf(r.signer_fp, sizeof(r.signer_fp), "fp-race");
	snprintf(r.pubkey_fp, sizeof(r.pubkey_fp), "pk-race-%d", i);
	snprintf(r.subject, sizeof(r.subject), "CN=race %d", i);
	snprintf(r.source, sizeof(r.source), "192.0.2.1");
	r.state = STORE_REQ_PENDING;
	r.msg_type = 19;
	r.created = 100;
	r.expires = 1000;
	return r;
}

/* Records the race's request as a grant: a serial of its own, the race's one-time password. */
static int race_grant(racer *r, store_request *req, char otp[32], ec_err *err)
{
	store_cert c;
	memset(&c, 0, sizeof(c));
	if (store_reserve_serial(r->st, c.serial, err) != 0)
		return -1;
	snprintf(c.issuer_serial, sizeof(c.issuer_serial), "CA1");
	c.not_before = 100;
	c.not_after = 200;
	req->state = STORE_REQ_GRANTED;
	snprintf(req->cert_serial, sizeof(req->cert_serial), "%s", c.serial);
	return store_record_granted(r->st, req, &c, otp, err);
}

static void *race(void *arg)
{
	racer *r = arg;
	for (int i = 0; i < RACES; i++) {
		store_request req = race_request(i);
		char otp[32];
		ec_err err = {""};
		snprintf(otp, sizeof(otp), "otp-%d", i);
		pthread_barrier_wait(r->start);
		int rc = r->grant ? race_grant(r, &req, otp, &err) : store_request_insert(r->st, &req, &err);
		r->wins[i] = rc == 0;
		snprintf(r->why[i], sizeof(r->why[i]), "%.120s", rc == 0 ? "" : err.msg);
	}
	return NULL;
}

/* Both nodes record each transaction at once: exactly one wins, the other is told it is
 * already recorded, and (for grants) the password is used up once, by the winner. */
static void run_races(fixture *f, bool grant)
{
	pthread_barrier_t start;
	racer *r = calloc(NODES, sizeof(*r));
	pthread_t th[NODES];
	ec_err err = {""};
	assert_non_null(r);
	assert_int_equal(pthread_barrier_init(&start, NULL, NODES), 0);
	for (int i = 0; grant && i < RACES; i++) {
		char otp[32];
		snprintf(otp, sizeof(otp), "otp-%d", i);
		assert_int_equal(store_otp_add(f->node[0], otp, 1000, &err), 0);
	}
	for (int t = 0; t < NODES; t++) {
		r[t] = (racer){.st = f->node[t], .start = &start, .grant = grant};
		assert_int_equal(pthread_create(&th[t], NULL, race, &r[t]), 0);
	}
	for (int t = 0; t < NODES; t++)
		assert_int_equal(pthread_join(th[t], NULL), 0);
	for (int i = 0; i < RACES; i++) {
		int loser = r[0].wins[i] ? 1 : 0;
		if (r[0].wins[i] + r[1].wins[i] != 1)
			fail_msg("race %d: %d winners (%s | %s)", i, r[0].wins[i] + r[1].wins[i], r[0].why[i], r[1].why[i]);
		/* The loser is refused by the UNIQUE index or, for a grant, finds the password used. */
		if (strstr(r[loser].why[i], "already recorded") == NULL && strstr(r[loser].why[i], "no longer valid") == NULL)
			fail_msg("race %d: the loser's reason: %s", i, r[loser].why[i]);
	}
	int64_t n = 0;
	assert_int_equal(store_request_count(f->node[1], grant ? STORE_REQ_GRANTED : STORE_REQ_PENDING, &n, &err), 0);
	assert_int_equal(n, RACES);
	if (grant) {
		assert_int_equal(store_cert_count(f->node[0], &n, &err), 0);
		assert_int_equal(n, RACES);
		assert_int_equal(store_otp_check(f->node[1], "otp-0", 100, &err), 1);
	}
	pthread_barrier_destroy(&start);
	free(r);
}

static void txid_one_winner_insert(void **state)
{
	run_races(*state, false);
}

static void txid_one_winner_grant(void **state)
{
	run_races(*state, true);
}

/* A transaction begins again under its ID once its request expired (the UNIQUE index covers
 * live requests only), and another signer's request under the same ID is its own. */
static void txid_again_after_expiry(void **state)
{
	fixture *f = *state;
	ec_err err = {""};
	store_request a = race_request(1), b = race_request(1), c = race_request(1);
	assert_int_equal(store_request_insert(f->node[0], &a, &err), 0);
	assert_int_equal(store_request_insert(f->node[1], &b, &err), -1);
	assert_non_null(strstr(err.msg, "already recorded"));
	snprintf(c.signer_fp, sizeof(c.signer_fp), "fp-other");
	assert_int_equal(store_request_insert(f->node[1], &c, &err), 0);
	assert_int_equal(store_request_expire(f->node[1], 1000, &err), 2);
	b = race_request(1);
	assert_int_equal(store_request_insert(f->node[1], &b, &err), 0);
}

/* ---- the schema ---- */

/* Runs one statement on the fixture's database behind the store's back; the first column of
 * its first row, or "" for a command. */
static void sql(fixture *f, const char *text, char *out, size_t size)
{
	PGconn *c = PQconnectdb(f->url);
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("connecting: %s", PQerrorMessage(c));
	PGresult *r = PQexec(c, text);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
		fail_msg("%s: %s", text, PQerrorMessage(c));
	snprintf(out, size, "%s", st == PGRES_TUPLES_OK && PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	PQfinish(c);
}

typedef struct opener {
	const char *url;
	pthread_barrier_t *start;
	ec_store *st;
	ec_err err;
} opener;

static void *open_at_once(void *arg)
{
	opener *o = arg;
	pthread_barrier_wait(o->start);
	if (store_open(&(store_config){.url = o->url}, &o->st, &o->err) != 0)
		o->st = NULL;
	return NULL;
}

/* Two nodes that start at once on an empty database: both open it, the tables are made once
 * and the version recorded. */
static void nodes_start_at_once(void **state)
{
	fixture *f = *state;
	char url[1400], why[512], out[64];
	enum { OPENERS = 4 };
	opener o[OPENERS];
	pthread_t th[OPENERS];
	pthread_barrier_t start;
	if (pgtest_group_db(url, sizeof(url), why, sizeof(why)) != 0)
		fail_msg("%s", why);
	assert_int_equal(pthread_barrier_init(&start, NULL, OPENERS), 0);
	for (int i = 0; i < OPENERS; i++) {
		o[i] = (opener){.url = url, .start = &start};
		assert_int_equal(pthread_create(&th[i], NULL, open_at_once, &o[i]), 0);
	}
	for (int i = 0; i < OPENERS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (int i = 0; i < OPENERS; i++) {
		if (o[i].st == NULL)
			fail_msg("node %d: %s", i, o[i].err.msg);
		store_close(o[i].st);
	}
	pthread_barrier_destroy(&start);
	snprintf(f->url, sizeof(f->url), "%s", url);
	/* Whatever the current version is: recorded once, as a number. */
	sql(f, "SELECT count(*) FROM meta WHERE key = 'schema_version' AND value ~ '^[1-9][0-9]*$'", out, sizeof(out));
	assert_string_equal(out, "1");
	sql(f, "SELECT count(*) FROM serial_counter", out, sizeof(out));
	assert_string_equal(out, "1");
}

/* A database whose schema a newer evercert made is refused, and left as it is. */
static void newer_schema_refused(void **state)
{
	fixture *f = *state;
	ec_store *st = NULL;
	ec_err err = {""};
	char out[64];
	sql(f, "UPDATE meta SET value = '99' WHERE key = 'schema_version'", out, sizeof(out));
	assert_int_equal(store_open(&(store_config){.url = f->url}, &st, &err), -1);
	assert_null(st);
	assert_non_null(strstr(err.msg, "schema version 99"));
	assert_non_null(strstr(err.msg, "newer"));
	sql(f, "SELECT value FROM meta WHERE key = 'schema_version'", out, sizeof(out));
	assert_string_equal(out, "99");
}

/* ---- PostgreSQL restarts under a node ---- */

/* The call that meets the cut connection fails with "database unavailable"; the next one
 * reconnects and succeeds, and serials go on without repeating. */
static void restart_fails_one_call(void **state)
{
	fixture *f = *state;
	ec_err err = {""};
	char why[512], before[STORE_SERIAL_MAX], after[STORE_SERIAL_MAX];
	int64_t n = -1;
	if (store_reserve_serial(f->node[0], before, &err) != 0)
		fail_msg("reserve: %s", err.msg);
	assert_int_equal(store_meta_set(f->node[0], "k", "v", &err), 0);
	if (pgtest_restart(pgtest_group_server(), why, sizeof(why)) != 0)
		fail_msg("%s", why);
	assert_int_equal(store_cert_count(f->node[0], &n, &err), -1);
	assert_non_null(strstr(err.msg, "database unavailable"));
	if (store_cert_count(f->node[0], &n, &err) != 0)
		fail_msg("after the restart: %s", err.msg);
	assert_int_equal(n, 0);
	char value[8];
	assert_int_equal(store_meta_get(f->node[1], "k", value, sizeof(value), &err), -1);
	assert_non_null(strstr(err.msg, "database unavailable"));
	assert_int_equal(store_meta_get(f->node[1], "k", value, sizeof(value), &err), 0);
	assert_string_equal(value, "v");
	if (store_reserve_serial(f->node[0], after, &err) != 0)
		fail_msg("reserve after the restart: %s", err.msg);
	assert_true(strtol(after, NULL, 16) > strtol(before, NULL, 16));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(serials_unique_across_nodes, setup, teardown),
		cmocka_unit_test_setup_teardown(txid_one_winner_insert, setup, teardown),
		cmocka_unit_test_setup_teardown(txid_one_winner_grant, setup, teardown),
		cmocka_unit_test_setup_teardown(txid_again_after_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(nodes_start_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(newer_schema_refused, setup, teardown),
		/* Last: it restarts the server under the others' databases. */
		cmocka_unit_test_setup_teardown(restart_fails_one_call, setup, teardown),
	};
	return cmocka_run_group_tests_name("postgresql nodes", tests, pgtest_group_start, pgtest_group_stop);
}
