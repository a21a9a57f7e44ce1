/*
 * test_store.c - unit tests of the store (src/store), against both backends.
 *
 * The tests of the interface run twice: on SQLite (a fresh database in its own temporary
 * directory, removed afterwards) and on PostgreSQL (a fresh database on a private server that
 * pgtest.h starts for the group; without PostgreSQL's binaries that group fails). Tests of one
 * backend's files and schema run on that backend only. Times are plain numbers: the store never
 * reads the clock, it only compares what it is given.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "pgtest.h"
#include "store/store.h"
#include "testutil.h"

typedef struct fixture {
	char *dir;             /* SQLite only */
	char path[4096];       /* SQLite only */
	char url[4400];        /* what the store is opened with: path, or a PostgreSQL URL */
	bool pg;
	ec_store *st;
} fixture;

/* ---- helpers ---- */

/* Opens the store at a plain path, through the generic open. */
static int open_path(const char *path, ec_store **st, ec_err *err)
{
	return store_open(&(store_config){.url = path}, st, err);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	ec_err err = {""};
	assert_non_null(f);
	f->dir = tu_tmpdir("test_store");
	snprintf(f->path, sizeof(f->path), "%s/ca.db", f->dir);
	snprintf(f->url, sizeof(f->url), "%s", f->path);
	if (open_path(f->url, &f->st, &err) != 0)
		fail_msg("open: %s", err.msg);
	*state = f;
	return 0;
}

/* A fresh database on the group's PostgreSQL server. */
static int setup_pg(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	ec_err err = {""};
	char why[512];
	assert_non_null(f);
	f->pg = true;
	if (pgtest_group_db(f->url, sizeof(f->url), why, sizeof(why)) != 0)
		fail_msg("%s", why);
	if (open_path(f->url, &f->st, &err) != 0)
		fail_msg("open: %s", err.msg);
	*state = f;
	return 0;
}

static int teardown_pg(void **state)
{
	fixture *f = *state;
	store_close(f->st);
	free(f);
	return 0;
}

/* Runs one query on the fixture's PostgreSQL database behind the store's back; the first column
 * of its first row as a number. */
static long long pg_number(fixture *f, const char *sql)
{
	PGconn *c = PQconnectdb(f->url);
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("connecting: %s", PQerrorMessage(c));
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1)
		fail_msg("%s: %s", sql, PQerrorMessage(c));
	long long n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	PQfinish(c);
	return n;
}

static void remove_with_suffix(const char *path, const char *suffix)
{
	char p[4200];
	snprintf(p, sizeof(p), "%s%s", path, suffix);
	unlink(p);
}

static int teardown(void **state)
{
	fixture *f = *state;
	store_close(f->st);
	remove_with_suffix(f->path, "");
	remove_with_suffix(f->path, "-wal");
	remove_with_suffix(f->path, "-shm");
	rmdir(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static void reopen(fixture *f)
{
	ec_err err = {""};
	store_close(f->st);
	f->st = NULL;
	if (open_path(f->url, &f->st, &err) != 0)
		fail_msg("reopen: %s", err.msg);
}

static void reserve(ec_store *st, char serial[STORE_SERIAL_MAX])
{
	ec_err err = {""};
	if (store_reserve_serial(st, serial, &err) != 0)
		fail_msg("reserve: %s", err.msg);
}

static store_cert make_cert(const char *serial, const char *issuer, uint8_t *der, size_t der_len)
{
	store_cert c;
	memset(&c, 0, sizeof(c));
	snprintf(c.serial, sizeof(c.serial), "%s", serial);
	snprintf(c.issuer_serial, sizeof(c.issuer_serial), "%s", issuer);
	snprintf(c.subject, sizeof(c.subject), "CN=cert %s", serial);
	c.not_before = 1000;
	c.not_after = 2000;
	c.der = der;
	c.der_len = der_len;
	return c;
}

static void record(ec_store *st, const char *serial, const char *issuer)
{
	ec_err err = {""};
	store_cert c = make_cert(serial, issuer, NULL, 0);
	if (store_record_issued(st, &c, 0, NULL, 0, &err) != 0)
		fail_msg("record %s: %s", serial, err.msg);
}

static store_request make_request(const char *txid, const char *signer_fp, ec_time created, ec_time expires)
{
	store_request r;
	memset(&r, 0, sizeof(r));
	snprintf(r.txid, sizeof(r.txid), "%s", txid);
	snprintf(r.signer_fp, sizeof(r.signer_fp), "%s", signer_fp);
	snprintf(r.pubkey_fp, sizeof(r.pubkey_fp), "pk-%s", txid);
	snprintf(r.subject, sizeof(r.subject), "CN=%s", txid);
	snprintf(r.ca_serial, sizeof(r.ca_serial), "1");
	snprintf(r.source, sizeof(r.source), "127.0.0.1");
	r.state = STORE_REQ_PENDING;
	r.msg_type = 19;
	r.created = created;
	r.expires = expires;
	return r;
}

static int64_t insert_request(ec_store *st, store_request *r)
{
	ec_err err = {""};
	if (store_request_insert(st, r, &err) != 0)
		fail_msg("insert: %s", err.msg);
	assert_true(r->id > 0);
	return r->id;
}

/* Runs one SQL text on the database file through SQLite directly (not through the store). */
/* ---- serials ---- */

static void test_serial_sequence(void **state)
{
	fixture *f = *state;
	ec_err err = {""};
	char serial[STORE_SERIAL_MAX], expect[STORE_SERIAL_MAX];

	assert_int_equal(store_last_serial(f->st, serial, &err), 0);
	assert_string_equal(serial, "0");
	for (unsigned i = 1; i <= 16; i++) {
		reserve(f->st, serial);
		snprintf(expect, sizeof(expect), "%X", i);
		assert_string_equal(serial, expect);
	}
	assert_string_equal(serial, "10");
	reserve(f->st, serial);
	assert_string_equal(serial, "11");
	reserve(f->st, serial);
	reserve(f->st, serial);
	reserve(f->st, serial);
	reserve(f->st, serial);
	reserve(f->st, serial);
	reserve(f->st, serial);
	reserve(f->st, serial);
	reserve(f->st, serial);
	reserve(f->st, serial);
	assert_string_equal(serial, "1A");

	/* After a restart the rest of the reserved block is skipped, never reused. */
	reopen(f);
	assert_int_equal(store_last_serial(f->st, serial, &err), 0);
	snprintf(expect, sizeof(expect), "%X", STORE_SERIAL_BLOCK);
	assert_string_equal(serial, expect);
	reserve(f->st, serial);
	snprintf(expect, sizeof(expect), "%X", STORE_SERIAL_BLOCK + 1);
	assert_string_equal(serial, expect);
}

/* A reserved serial is not handed out again even if it was never used before the restart. */
static void test_serial_no_reuse_after_reopen(void **state)
{
	fixture *f = *state;
	char a[STORE_SERIAL_MAX], b[STORE_SERIAL_MAX], c[STORE_SERIAL_MAX];

	reserve(f->st, a);
	reserve(f->st, b);
	store_close(f->st);     /* nothing recorded with them */
	f->st = NULL;
	reopen(f);
	reserve(f->st, c);
	assert_string_equal(a, "1");
	assert_string_equal(b, "2");
	char expect[STORE_SERIAL_MAX];
	snprintf(expect, sizeof(expect), "%X", STORE_SERIAL_BLOCK + 1);
	assert_string_equal(c, expect); /* past the whole block the first run reserved */
}

/* ---- issued certificates ---- */

static void test_record_issued_and_get(void **state)
{
	fixture *f = *state;
	ec_err err = {""};
	uint8_t der[] = { 0x30, 0x03, 0x02, 0x01, 0x05 };
	uint8_t reply[] = { 0x30, 0x01, 0x00 };
	char serial[STORE_SERIAL_MAX];
	store_cert got;
	store_request req = make_request("tx-1", "aa", 100, 200);
	int64_t count = -1;

	int64_t id = insert_request(f->st, &req);
	reserve(f->st, serial);
	store_cert c = make_cert(serial, "CA1", der, sizeof(der));
	assert_int_equal(store_record_issued(f->st, &c, id, reply, sizeof(reply), &err), 0);

	assert_int_equal(store_cert_get(f->st, serial, &got, &err), 0);
	assert_string_equal(got.serial, "1");
	assert_string_equal(got.issuer_serial, "CA1");
	assert_string_equal(got.subject, "CN=cert 1");
	assert_int_equal(got.not_before, 1000);
	assert_int_equal(got.not_after, 2000);
	assert_int_equal(got.status, STORE_CERT_VALID);
	assert_int_equal(got.revoked_at, 0);
	assert_int_equal(got.der_len, sizeof(der));
	assert_memory_equal(got.der, der, sizeof(der));
	store_cert_free(&got);
	assert_null(got.der);

	/* The serial is canonicalised: leading zeros and lower case find the same row. */
	assert_int_equal(store_cert_get(f->st, "0001", &got, &err), 0);
	store_cert_free(&got);
	assert_int_equal(store_cert_get(f->st, "2", &got, &err), 1);
	assert_int_equal(store_cert_get(f->st, "not-hex", &got, &err), 1);
	assert_int_equal(store_cert_get(f->st, "123456789ABCDEF01234", &got, &err), 1);

	store_request r;
	assert_int_equal(store_request_get(f->st, id, &r, &err), 0);
	assert_int_equal(r.state, STORE_REQ_GRANTED);
	assert_string_equal(r.cert_serial, "1");
	assert_int_equal(r.cert_der_len, sizeof(reply));
	assert_memory_equal(r.cert_der, reply, sizeof(reply));
	store_request_free(&r);

	/* Without DER (database level minimum) and without a request. */
	reserve(f->st, serial);
	c = make_cert(serial, "CA1", NULL, 0);
	assert_int_equal(store_record_issued(f->st, &c, 0, NULL, 0, &err), 0);
	assert_int_equal(store_cert_get(f->st, "2", &got, &err), 0);
	assert_null(got.der);
	assert_int_equal(got.der_len, 0);
	store_cert_free(&got);

	/* The same serial twice is refused. */
	assert_int_equal(store_record_issued(f->st, &c, 0, NULL, 0, &err), -1);
	assert_non_null(strstr(err.msg, "UNIQUE"));
	assert_int_equal(store_cert_count(f->st, &count, &err), 0);
	assert_int_equal(count, 2);
}

static void test_record_issued_unknown_request_rolls_back(void **state)
{
	fixture *f = *state;
	ec_err err = {""};
	store_cert got;
	int64_t count = -1;
	store_cert c = make_cert("5", "CA1", NULL, 0);

	assert_int_equal(store_record_issued(f->st, &c, 42, NULL, 0, &err), -1);
	assert_non_null(strstr(err.msg, "request 42 does not exist"));
	assert_non_null(strstr(err.msg, "recording certificate 5"));
	assert_int_equal(store_cert_get(f->st, "5", &got, &err), 1);
	assert_int_equal(store_cert_count(f->st, &count, &err), 0);
	assert_int_equal(count, 0);

	/* The store is usable afterwards (no transaction left open). */
	assert_int_equal(store_record_issued(f->st, &c, 0, NULL, 0, &err), 0);
	assert_int_equal(store_cert_count(f->st, &count, &err), 0);
	assert_int_equal(count, 1);

	/* A bad serial is refused before touching the database. */
	c = make_cert("xyz", "CA1", NULL, 0);
	assert_int_equal(store_record_issued(f->st, &c, 0, NULL, 0, &err), -1);
}

typedef struct revoked_list {
	char serials[256][STORE_SERIAL_MAX];
	ec_time when[256];
	int n;
	int stop_at;   /* returns 7 at this entry (1-based); 0 never */
} revoked_list;

static int collect_revoked(void *ctx, const store_cert *c)
{
	revoked_list *l = ctx;
	assert_true(l->n < 256);
	assert_int_equal(c->status, STORE_CERT_REVOKED);
	snprintf(l->serials[l->n], STORE_SERIAL_MAX, "%s", c->serial);
	l->when[l->n] = c->revoked_at;
	l->n++;
	return l->n == l->stop_at ? 7 : 0;
}

static void test_revoke_and_each_revoked(void **state)
{
	fixture *f = *state;
	ec_err err = {""};
	store_cert got;
	revoked_list *l = calloc(1, sizeof(*l));
	assert_non_null(l);

	record(f->st, "2", "CA1");
	record(f->st, "A", "CA1");
	record(f->st, "10", "CA2");
	record(f->st, "11", "CA1");
	assert_int_equal(store_cert_set_revoked(f->st, "10", true, 500, &err), 0);
	assert_int_equal(store_cert_set_revoked(f->st, "a", true, 600, &err), 0);
	assert_int_equal(store_cert_set_revoked(f->st, "2", true, 700, &err), 0);
	assert_int_equal(store_cert_set_revoked(f->st, "99", true, 700, &err), 1);
	assert_int_equal(store_cert_set_revoked(f->st, "99", false, 0, &err), 1);

	/* Numeric order (text order would put "10" before "2"). */
	assert_int_equal(store_cert_each_revoked(f->st, NULL, collect_revoked, l, &err), 0);
	assert_int_equal(l->n, 3);
	assert_string_equal(l->serials[0], "2");
	assert_string_equal(l->serials[1], "A");
	assert_string_equal(l->serials[2], "10");
	assert_int_equal(l->when[1], 600);

	/* Revoking again keeps the first date; unrevoking clears it. */
	assert_int_equal(store_cert_set_revoked(f->st, "A", true, 900, &err), 0);
	assert_int_equal(store_cert_get(f->st, "A", &got, &err), 0);
	assert_int_equal(got.revoked_at, 600);
	store_cert_free(&got);
	assert_int_equal(store_cert_set_revoked(f->st, "2", false, 0, &err), 0);
	assert_int_equal(store_cert_get(f->st, "2", &got, &err), 0);
	assert_int_equal(got.status, STORE_CERT_VALID);
	assert_int_equal(got.revoked_at, 0);
	store_cert_free(&got);

	memset(l, 0, sizeof(*l));
	assert_int_equal(store_cert_each_revoked(f->st, "CA1", collect_revoked, l, &err), 0);
	assert_int_equal(l->n, 1);
	assert_string_equal(l->serials[0], "A");

	memset(l, 0, sizeof(*l));
	assert_int_equal(store_cert_each_revoked(f->st, "CA3", collect_revoked, l, &err), 0);
	assert_int_equal(l->n, 0);

	/* The callback's non-zero value stops the walk and is returned. */
	memset(l, 0, sizeof(*l));
	l->stop_at = 1;
	assert_int_equal(store_cert_each_revoked(f->st, NULL, collect_revoked, l, &err), 7);
	assert_int_equal(l->n, 1);
	free(l);
}

/* More revoked certificates than one page: all are seen once, in order. */
static void test_each_revoked_pages(void **state)
{
	fixture *f = *state;
	ec_err err = {""};
	char serial[STORE_SERIAL_MAX];
	revoked_list *l = calloc(1, sizeof(*l));
	assert_non_null(l);

	for (int i = 0; i < 200; i++) {
		reserve(f->st, serial);
		record(f->st, serial, "CA1");
		if (i % 4 != 0)
			assert_int_equal(store_cert_set_revoked(f->st, serial, true, 100 + i, &err), 0);
	}
	assert_int_equal(store_cert_each_revoked(f->st, "CA1", collect_revoked, l, &err), 0);
	assert_int_equal(l->n, 150);
	assert_string_equal(l->serials[0], "2");
	assert_string_equal(l->serials[149], "C8");
	for (int i = 1; i < l->n; i++)
		assert_true(strtol(l->serials[i - 1], NULL, 16) < strtol(l->serials[i], NULL, 16));

	memset(l, 0, sizeof(*l));
	l->stop_at = 100;
	assert_int_equal(store_cert_each_revoked(f->st, NULL, collect_revoked, l, &err), 7);
	assert_int_equal(l->n, 100);
	free(l);
}

/* ---- enrollment transactions ---- */

static void test_request_insert_find(void **state)
{
	fixture *f = *state;
	ec_err err = {""};
	uint8_t csr[] = { 1, 2, 3, 4 };
	uint8_t signer[] = { 9, 8, 7 };
	store_request got;

	store_request a = make_request("tx", "fp-a", 100, 1000);
	a.csr_der = csr;
	a.csr_der_len = sizeof(csr);
	a.signer_der = signer;
	a.signer_der_len = sizeof(signer);
	a.renewal = true;
	int64_t id_a = insert_request(f->st, &a);
	store_request b = make_request("tx", "fp-b", 200, 1000);
	int64_t id_b = insert_request(f->st, &b);
	/* One signer begins a transaction again only once its request expired (PostgreSQL keeps
	 * one live transaction per ID and signer, see test_store_pg.c). */
	assert_int_equal(store_request_set_state(f->st, id_a, STORE_REQ_EXPIRED, 0, &err), 0);
	store_request a2 = make_request("tx", "fp-a", 300, 1000);
	int64_t id_a2 = insert_request(f->st, &a2);
	assert_true(id_a < id_b && id_b < id_a2);

	/* Newest of any signer. */
	assert_int_equal(store_request_find(f->st, "tx", NULL, &got, &err), 0);
	assert_int_equal(got.id, id_a2);
	store_request_free(&got);
	/* Newest of one signer. */
	assert_int_equal(store_request_find(f->st, "tx", "fp-b", &got, &err), 0);
	assert_int_equal(got.id, id_b);
	assert_null(got.csr_der);
	store_request_free(&got);
	assert_int_equal(store_request_find(f->st, "tx", "fp-c", &got, &err), 1);
	assert_int_equal(store_request_find(f->st, "nope", NULL, &got, &err), 1);

	/* Every field comes back. */
	assert_int_equal(store_request_get(f->st, id_a, &got, &err), 0);
	assert_string_equal(got.txid, "tx");
	assert_int_equal(got.state, STORE_REQ_EXPIRED);
	assert_int_equal(got.msg_type, 19);
	assert_true(got.renewal);
	assert_string_equal(got.subject, "CN=tx");
	assert_string_equal(got.signer_fp, "fp-a");
	assert_string_equal(got.pubkey_fp, "pk-tx");
	assert_string_equal(got.ca_serial, "1");
	assert_string_equal(got.source, "127.0.0.1");
	assert_int_equal(got.created, 100);
	assert_int_equal(got.expires, 1000);
	assert_string_equal(got.cert_serial, "");
	assert_int_equal(got.csr_der_len, sizeof(csr));
	assert_memory_equal(got.csr_der, csr, sizeof(csr));
	assert_int_equal(got.signer_der_len, sizeof(signer));
	assert_memory_equal(got.signer_der, signer, sizeof(signer));
	assert_null(got.cert_der);
	store_request_free(&got);
	assert_null(got.csr_der);
	assert_null(got.signer_der);
	assert_int_equal(store_request_get(f->st, 9999, &got, &err), 1);
}

typedef struct id_list {
	int64_t ids[16];
	int n;
	ec_store *st;      /* when set, the callback rejects each request it sees */
} id_list;

static int collect_ids(void *ctx, const store_request *r)
{
	id_list *l = ctx;
	ec_err err = {""};
	assert_true(l->n < 16);
	l->ids[l->n++] = r->id;
	if (l->st != NULL && store_request_set_state(l->st, r->id, STORE_REQ_REJECTED, 2, &err) != 0)
		fail_msg("set_state from callback: %s", err.msg);
	return 0;
}

static void test_request_state_expire_count(void **state)
{
	fixture *f = *state;
	ec_err err = {""};
	int64_t count = -1;
	store_request got;
	id_list l = { .n = 0 };

	store_request r1 = make_request("t1", "fp", 100, 1000);
	store_request r2 = make_request("t2", "fp", 100, 2000);
	store_request r3 = make_request("t3", "fp", 100, 1000);
	store_request r4 = make_request("t4", "fp", 100, 500);
	int64_t id1 = insert_request(f->st, &r1);
	int64_t id2 = insert_request(f->st, &r2);
	int64_t id3 = insert_request(f->st, &r3);
	int64_t id4 = insert_request(f->st, &r4);

	assert_int_equal(store_request_set_state(f->st, id3, STORE_REQ_APPROVED, 0, &err), 0);
	assert_int_equal(store_request_set_state(f->st, id4, STORE_REQ_REJECTED, 7, &err), 0);
	assert_int_equal(store_request_set_state(f->st, 12345, STORE_REQ_REJECTED, 7, &err), 1);
	assert_int_equal(store_request_get(f->st, id4, &got, &err), 0);
	assert_int_equal(got.state, STORE_REQ_REJECTED);
	assert_int_equal(got.fail_info, 7);
	store_request_free(&got);

	assert_int_equal(store_request_count(f->st, STORE_REQ_PENDING, &count, &err), 0);
	assert_int_equal(count, 2);
	/* Per source: all four came from 127.0.0.1; a fifth from elsewhere counts apart. */
	store_request r5 = make_request("t5", "fp", 100, 3000);
	snprintf(r5.source, sizeof(r5.source), "192.0.2.7");
	insert_request(f->st, &r5);
	assert_int_equal(store_request_count_from(f->st, STORE_REQ_PENDING, "127.0.0.1", &count, &err), 0);
	assert_int_equal(count, 2);
	assert_int_equal(store_request_count_from(f->st, STORE_REQ_PENDING, "192.0.2.7", &count, &err), 0);
	assert_int_equal(count, 1);
	assert_int_equal(store_request_count_from(f->st, STORE_REQ_PENDING, "198.51.100.1", &count, &err), 0);
	assert_int_equal(count, 0);
	assert_int_equal(store_request_set_state(f->st, r5.id, STORE_REQ_GRANTED, 0, &err), 0);

	/* Expiry is inclusive of now; rejected requests are left alone. */
	assert_int_equal(store_request_expire(f->st, 999, &err), 0);
	assert_int_equal(store_request_expire(f->st, 1000, &err), 2);
	assert_int_equal(store_request_expire(f->st, 1000, &err), 0);
	assert_int_equal(store_request_count(f->st, STORE_REQ_EXPIRED, &count, &err), 0);
	assert_int_equal(count, 2);
	assert_int_equal(store_request_count(f->st, STORE_REQ_REJECTED, &count, &err), 0);
	assert_int_equal(count, 1);
	assert_int_equal(store_request_count(f->st, STORE_REQ_PENDING, &count, &err), 0);
	assert_int_equal(count, 1);

	assert_int_equal(store_request_each(f->st, STORE_REQ_EXPIRED, collect_ids, &l, &err), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.ids[0], id1);
	assert_int_equal(l.ids[1], id3);

	/* A callback may call the store (no deadlock, no lost rows). */
	memset(&l, 0, sizeof(l));
	l.st = f->st;
	assert_int_equal(store_request_each(f->st, STORE_REQ_EXPIRED, collect_ids, &l, &err), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(store_request_count(f->st, STORE_REQ_REJECTED, &count, &err), 0);
	assert_int_equal(count, 3);
	(void)id2;
}

/* ---- CA generations ---- */

typedef struct ca_list {
	int gen[8];
	int role[8];
	char serial[8][STORE_SERIAL_MAX];
	size_t der_len[8];
	size_t link_len[8];
	int n;
} ca_list;

static int collect_ca(void *ctx, const store_ca_cert *ca)
{
	ca_list *l = ctx;
	assert_true(l->n < 8);
	l->gen[l->n] = ca->generation;
	l->role[l->n] = ca->role;
	snprintf(l->serial[l->n], STORE_SERIAL_MAX, "%s", ca->serial);
	l->der_len[l->n] = ca->der_len;
	l->link_len[l->n] = ca->link_der_len;
	l->n++;
	return 0;
}

static void test_ca_generations(void **state)
{
	fixture *f = *state;
	ec_err err = {""};
	uint8_t der[] = { 0x30, 0x00 };
	ca_list l = { .n = 0 };
	store_ca_cert ca = { .generation = 1, .role = STORE_CA_ROLLOVER, .serial = "5",
	                     .not_before = 10, .not_after = 20, .der = der, .der_len = sizeof(der) };

	assert_int_equal(store_ca_put(f->st, &ca, &err), 0);
	ca.generation = 0;
	ca.role = STORE_CA_ACTIVE;
	snprintf(ca.serial, sizeof(ca.serial), "1");
	assert_int_equal(store_ca_put(f->st, &ca, &err), 0);
	assert_int_equal(store_ca_each(f->st, collect_ca, &l, &err), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.gen[0], 0);
	assert_string_equal(l.serial[0], "1");
	assert_int_equal(l.gen[1], 1);
	assert_int_equal(l.role[1], STORE_CA_ROLLOVER);
	assert_int_equal(l.der_len[1], sizeof(der));

	/* Put replaces by generation. */
	ca.generation = 1;
	snprintf(ca.serial, sizeof(ca.serial), "7");
	ca.der = NULL;
	ca.der_len = 0;
	assert_int_equal(store_ca_put(f->st, &ca, &err), 0);
	assert_int_equal(store_ca_set_role(f->st, 0, STORE_CA_RETIRED, &err), 0);
	assert_int_equal(store_ca_set_role(f->st, 9, STORE_CA_RETIRED, &err), -1);
	assert_non_null(strstr(err.msg, "no such generation"));
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_ca_each(f->st, collect_ca, &l, &err), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.role[0], STORE_CA_RETIRED);
	assert_string_equal(l.serial[1], "7");
	assert_int_equal(l.der_len[1], 0);

	assert_int_equal(store_ca_delete(f->st, 0, &err), 0);
	assert_int_equal(store_ca_delete(f->st, 0, &err), 0);
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_ca_each(f->st, collect_ca, &l, &err), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.gen[0], 1);
}

/* ---- one-time passwords and metadata ---- */

static void test_otp(void **state)
{
	fixture *f = *state;
	ec_err err = {""};

	assert_int_equal(store_otp_add(f->st, "secret-1", 1000, &err), 0);
	assert_int_equal(store_otp_add(f->st, "secret-2", 1000, &err), 0);
	assert_int_equal(store_otp_add(f->st, "", 1000, &err), -1);

	assert_int_equal(store_otp_consume(f->st, "secret-1", 999, &err), 0);
	assert_int_equal(store_otp_consume(f->st, "secret-1", 999, &err), 1);    /* used */
	assert_int_equal(store_otp_consume(f->st, "secret-2", 1000, &err), 1);   /* expired */
	assert_int_equal(store_otp_consume(f->st, "unknown", 10, &err), 1);
	assert_int_equal(store_otp_consume(f->st, "", 10, &err), 1);

	/* Only the hash is stored. */
	if (f->pg) {
		assert_int_equal(pg_number(f, "SELECT count(*) FROM otp WHERE length(hash) = 64"
		                              " AND hash NOT LIKE '%secret%'"), 2);
		assert_int_equal(pg_number(f, "SELECT count(*) FROM otp"), 2);
	} else {
		assert_int_equal(tu_sql_number(f->path, "SELECT count(*) FROM otp WHERE length(hash) = 64"
		                               " AND hash NOT LIKE '%secret%'"), 2);
		assert_int_equal(tu_sql_number(f->path, "SELECT count(*) FROM otp"), 2);
	}

	/* Adding a used password again makes it usable again. */
	assert_int_equal(store_otp_add(f->st, "secret-1", 5000, &err), 0);
	assert_int_equal(store_otp_consume(f->st, "secret-1", 4999, &err), 0);
}

static void test_meta(void **state)
{
	fixture *f = *state;
	ec_err err = {""};
	char value[16];
	char tiny[4];

	assert_int_equal(store_meta_get(f->st, "crl_number", value, sizeof(value), &err), 1);
	assert_int_equal(store_meta_set(f->st, "crl_number", "1", &err), 0);
	assert_int_equal(store_meta_set(f->st, "crl_number", "42", &err), 0);
	assert_int_equal(store_meta_get(f->st, "crl_number", value, sizeof(value), &err), 0);
	assert_string_equal(value, "42");
	assert_int_equal(store_meta_set(f->st, "long", "123456", &err), 0);
	assert_int_equal(store_meta_get(f->st, "long", tiny, sizeof(tiny), &err), -1);
	assert_string_equal(tiny, "");

	reopen(f);
	assert_int_equal(store_meta_get(f->st, "crl_number", value, sizeof(value), &err), 0);
	assert_string_equal(value, "42");
}

/* ---- the file ---- */

static void test_file_mode(void **state)
{
	fixture *f = *state;
	ec_err err = {""};
	struct stat sb;
	char path[4200];
	char serial[STORE_SERIAL_MAX];

	reserve(f->st, serial);     /* makes sure the WAL exists */
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s-wal", f->path);
	if (stat(path, &sb) == 0)
		assert_int_equal(sb.st_mode & 0777, 0600);

	/* A database created under a permissive umask is still private, and an existing database
	 * that is too open is made private. */
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(chmod(f->path, 0644), 0);
	mode_t old = umask(0);
	int rc = open_path(f->path, &f->st, &err);
	umask(old);
	assert_int_equal(rc, 0);
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s-shm", f->path);
	if (stat(path, &sb) == 0)
		assert_int_equal(sb.st_mode & 0777, 0600);

	/* WAL mode is on. */
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
	sqlite3_close(db);
}

static void test_open_errors(void **state)
{
	fixture *f = *state;
	ec_err err = {""};
	ec_store *st = NULL;
	char path[4200];

	snprintf(path, sizeof(path), "%s/missing-dir/x.db", f->dir);
	assert_int_equal(open_path(path, &st, &err), -1);
	assert_null(st);
	assert_non_null(strstr(err.msg, "missing-dir"));

	/* Not a database. */
	snprintf(path, sizeof(path), "%s/garbage.db", f->dir);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	for (int i = 0; i < 200; i++)
		fputs("this is not an SQLite database\n", fp);
	fclose(fp);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(open_path(path, &st, &err), -1);
	assert_null(st);
	assert_non_null(strstr(err.msg, "not a database"));
	/* A wrong path is refused before its mode is touched. */
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0644);
	unlink(path);
}

/* A one-time password is used up by the grant that records a certificate, and only then. */
static void test_otp_with_grant(void **state)
{
	fixture *f = *state;
	ec_err err = {""};
	char serial[STORE_SERIAL_MAX];
	assert_int_equal(store_otp_add(f->st, "pw", 1000, &err), 0);
	assert_int_equal(store_otp_check(f->st, "pw", 999, &err), 0);
	assert_int_equal(store_otp_check(f->st, "pw", 999, &err), 0); /* checking uses nothing */
	assert_int_equal(store_otp_check(f->st, "pw", 1000, &err), 1); /* expired then */
	assert_int_equal(store_otp_check(f->st, "other", 10, &err), 1);

	/* A grant that fails (its serial is taken) leaves the password usable. */
	reserve(f->st, serial);
	record(f->st, serial, "CA1");
	store_request r = make_request("tx-a", "fp", 100, 1000);
	r.state = STORE_REQ_GRANTED;
	store_cert c = make_cert(serial, "CA1", NULL, 0);
	assert_int_equal(store_record_granted(f->st, &r, &c, "pw", &err), -1);
	assert_int_equal(store_otp_check(f->st, "pw", 100, &err), 0);

	/* The first grant uses it; a second grant with it records nothing and says so. */
	reserve(f->st, serial);
	c = make_cert(serial, "CA1", NULL, 0);
	assert_int_equal(store_record_granted(f->st, &r, &c, "pw", &err), 0);
	assert_int_equal(store_otp_check(f->st, "pw", 100, &err), 1);
	char second[STORE_SERIAL_MAX];
	reserve(f->st, second);
	store_request r2 = make_request("tx-b", "fp", 100, 1000);
	r2.state = STORE_REQ_GRANTED;
	c = make_cert(second, "CA1", NULL, 0);
	assert_int_equal(store_record_granted(f->st, &r2, &c, "pw", &err), 1);
	assert_non_null(strstr(err.msg, "no longer valid"));
	store_cert got;
	assert_int_equal(store_cert_get(f->st, second, &got, &err), 1);
	assert_int_equal(store_request_find(f->st, "tx-b", NULL, &r2, &err), 1);
}

/* What a source leaves without a certificate is counted, expired requests lose their request
 * bytes, and refused and expired rows are purged one lifetime later. */
static void test_kept_and_purged(void **state)
{
	fixture *f = *state;
	ec_err err = {""};
	int64_t n = -1;
	uint8_t csr[100] = {1};
	store_request pending = make_request("tx-p", "fp", 100, 200);
	pending.csr_der = csr;
	pending.csr_der_len = sizeof(csr);
	insert_request(f->st, &pending);
	store_request rejected = make_request("tx-r", "fp", 100, 200);
	rejected.state = STORE_REQ_REJECTED;
	insert_request(f->st, &rejected);
	store_request granted = make_request("tx-g", "fp", 100, 200);
	granted.state = STORE_REQ_GRANTED;
	insert_request(f->st, &granted);
	store_request other = make_request("tx-o", "fp", 100, 200);
	snprintf(other.source, sizeof(other.source), "192.0.2.9");
	insert_request(f->st, &other);
	store_refusal refusal = {.created = 150, .source = "127.0.0.1", .txid = "tx-x", .reason = "why"};
	assert_int_equal(store_refusal_record(f->st, &refusal, &err), 0);
	assert_int_equal(store_request_count_kept_from(f->st, "127.0.0.1", &n, &err), 0);
	assert_int_equal(n, 3); /* pending, rejected, refusal: not the granted one */

	assert_int_equal(store_request_expire(f->st, 200, &err), 2);
	store_request got;
	assert_int_equal(store_request_get(f->st, pending.id, &got, &err), 0);
	assert_int_equal(got.state, STORE_REQ_EXPIRED);
	assert_null(got.csr_der);
	store_request_free(&got);

	/* keep_for 100: at 249 nothing is old enough; at 250 the refusal goes, the rejected
	 * request (expired at 200) went at 200; the expired ones go at 300. */
	assert_int_equal(store_purge(f->st, 199, 100, &err), 0);
	assert_int_equal(store_purge(f->st, 249, 100, &err), 1);
	assert_int_equal(store_purge(f->st, 250, 100, &err), 1);
	assert_int_equal(store_refusal_count(f->st, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_purge(f->st, 300, 100, &err), 2);
	assert_int_equal(store_request_find(f->st, "tx-g", NULL, &got, &err), 0);
	store_request_free(&got);
	assert_int_equal(store_request_count_kept_from(f->st, "127.0.0.1", &n, &err), 0);
	assert_int_equal(n, 0);
}

static void test_schema_version(void **state)
{
	fixture *f = *state;
	ec_err err = {""};
	char serial[STORE_SERIAL_MAX];

	reserve(f->st, serial);
	store_close(f->st);
	f->st = NULL;
	tu_sql(f->path, "PRAGMA user_version = 99");
	assert_int_equal(open_path(f->path, &f->st, &err), -1);
	assert_null(f->st);
	assert_non_null(strstr(err.msg, "schema version 99"));
	assert_non_null(strstr(err.msg, "newer"));

	/* A version 1 database (no reason column) opens upgraded, with its data (the counter
	 * reserved one block). */
	tu_sql(f->path, "ALTER TABLE requests DROP COLUMN reason; DROP TABLE refusals; PRAGMA user_version = 1");
	reopen(f);
	assert_int_equal(store_last_serial(f->st, serial, &err), 0);
	char expect[STORE_SERIAL_MAX];
	snprintf(expect, sizeof(expect), "%X", STORE_SERIAL_BLOCK);
	assert_string_equal(serial, expect);
	store_request r = make_request("tx-upgraded", "fp", 1, 2);
	snprintf(r.reason, sizeof(r.reason), "subject differs from the signing certificate CN=a");
	assert_int_equal(store_request_insert(f->st, &r, &err), 0);
	store_request got;
	assert_int_equal(store_request_get(f->st, r.id, &got, &err), 0);
	assert_string_equal(got.reason, r.reason);
	store_request_free(&got);
	store_refusal refusal = {.created = 1, .source = "127.0.0.1", .txid = "tx-refused"};
	assert_int_equal(store_refusal_record(f->st, &refusal, &err), 0);
}

/* A generation's link certificate is stored with it, or given to it later; a version 2 database
 * (no link column) opens upgraded, its generations kept without links. */
static void test_ca_links(void **state)
{
	fixture *f = *state;
	ec_err err = {""};
	uint8_t der[] = { 0x30, 0x00 }, link[] = { 0x30, 0x03, 0x02, 0x01, 0x07 };
	store_ca_cert ca = { .generation = 0, .role = STORE_CA_ACTIVE, .serial = "1", .not_before = 10,
	                     .not_after = 20, .der = der, .der_len = sizeof(der) };
	ca_list l = { .n = 0 };

	assert_int_equal(store_ca_put(f->st, &ca, &err), 0);
	ca.generation = 1;
	ca.role = STORE_CA_ROLLOVER;
	ca.link_der = link;
	ca.link_der_len = sizeof(link);
	assert_int_equal(store_ca_put(f->st, &ca, &err), 0);
	assert_int_equal(store_ca_set_link(f->st, 5, link, sizeof(link), &err), -1);
	assert_non_null(strstr(err.msg, "no such generation"));
	reopen(f);
	assert_int_equal(store_ca_each(f->st, collect_ca, &l, &err), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.link_len[0], 0);
	assert_int_equal(l.link_len[1], sizeof(link));

	if (f->pg)
		return; /* the rest upgrades a SQLite schema */
	store_close(f->st);
	f->st = NULL;
	tu_sql(f->path, "ALTER TABLE ca_certs DROP COLUMN link; PRAGMA user_version = 2");
	reopen(f);
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_ca_each(f->st, collect_ca, &l, &err), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.der_len[1], sizeof(der));
	assert_int_equal(l.link_len[1], 0);
	assert_int_equal(store_ca_set_link(f->st, 1, link, sizeof(link), &err), 0);
	reopen(f);
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_ca_each(f->st, collect_ca, &l, &err), 0);
	assert_int_equal(l.link_len[1], sizeof(link));
	assert_int_equal(l.link_len[0], 0);
}

/* Over-long and NULL columns (written behind the store's back) read safely. */
static void test_robust_rows(void **state)
{
	fixture *f = *state;
	ec_err err = {""};
	store_cert got;
	store_request r;
	char sql[4096];
	char longtext[3000];

	memset(longtext, 'x', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	snprintf(sql, sizeof(sql), "INSERT INTO certs (serial, serial_num, issuer_serial, subject,"
	         " not_before, not_after, status, revoked_at, der) VALUES ('7', 7, '', '%s', 1, 2, 0, 0,"
	         " NULL)", longtext);
	tu_sql(f->path, sql);
	store_close(f->st);
	f->st = NULL;
	/* A requests row with NULLs: rebuild the table without NOT NULL to allow it. */
	tu_sql(f->path, "BEGIN; ALTER TABLE requests RENAME TO r_old;"
	        "CREATE TABLE requests (id INTEGER PRIMARY KEY AUTOINCREMENT, txid, state, msg_type,"
	        " fail_info, renewal, subject, signer_fp, pubkey_fp, ca_serial, source, created, expires,"
	        " cert_serial, csr BLOB, signer BLOB, cert BLOB, reason);"
	        "INSERT INTO requests (id, txid) VALUES (5, 'nulls');"
	        "DROP TABLE r_old; COMMIT;");
	reopen(f);

	assert_int_equal(store_cert_get(f->st, "7", &got, &err), 0);
	assert_int_equal(strlen(got.subject), STORE_SUBJECT_MAX - 1);
	assert_null(got.der);
	store_cert_free(&got);

	assert_int_equal(store_request_get(f->st, 5, &r, &err), 0);
	assert_string_equal(r.txid, "nulls");
	assert_string_equal(r.subject, "");
	assert_string_equal(r.signer_fp, "");
	assert_int_equal(r.state, 0);
	assert_int_equal(r.expires, 0);
	assert_null(r.csr_der);
	store_request_free(&r);

	/* A fixed-size field without a terminator is bound up to its size only. */
	store_request u = make_request("t", "fp", 1, 2);
	memset(u.source, 'S', sizeof(u.source));
	int64_t id = insert_request(f->st, &u);
	assert_int_equal(store_request_get(f->st, id, &r, &err), 0);
	assert_int_equal(strlen(r.source), sizeof(r.source) - 1);
	store_request_free(&r);
}

/* ---- concurrency ---- */

#define PER_THREAD 500

typedef struct reserver {
	ec_store *st;
	char serials[PER_THREAD][STORE_SERIAL_MAX];
	int failures;
} reserver;

static void *reserve_many(void *arg)
{
	reserver *r = arg;
	ec_err err = {""};
	for (int i = 0; i < PER_THREAD; i++)
		if (store_reserve_serial(r->st, r->serials[i], &err) != 0)
			r->failures++;
	return NULL;
}

static void check_distinct(reserver *r, int nthreads)
{
	int total = nthreads * PER_THREAD;
	char *seen = calloc((size_t)total + 2 * STORE_SERIAL_BLOCK + 1, 1);
	assert_non_null(seen);
	for (int t = 0; t < nthreads; t++) {
		assert_int_equal(r[t].failures, 0);
		for (int i = 0; i < PER_THREAD; i++) {
			long v = strtol(r[t].serials[i], NULL, 16);
			/* Two connections each leave at most a block partly used. */
			assert_true(v >= 1 && v <= total + 2 * STORE_SERIAL_BLOCK);
			assert_int_equal(seen[v], 0);
			seen[v] = 1;
		}
	}
	free(seen);
}

static void run_reservers(reserver *r, int nthreads)
{
	pthread_t th[2];
	for (int t = 0; t < nthreads; t++)
		assert_int_equal(pthread_create(&th[t], NULL, reserve_many, &r[t]), 0);
	for (int t = 0; t < nthreads; t++)
		assert_int_equal(pthread_join(th[t], NULL), 0);
	check_distinct(r, nthreads);
}

static void test_threads_share_one_store(void **state)
{
	fixture *f = *state;
	ec_err err = {""};
	char last[STORE_SERIAL_MAX];
	reserver *r = calloc(2, sizeof(*r));
	assert_non_null(r);
	r[0].st = r[1].st = f->st;
	run_reservers(r, 2);
	assert_int_equal(store_last_serial(f->st, last, &err), 0);
	assert_string_equal(last, "3E8");
	free(r);
}

/* ---- group commit: concurrent grants, each durable and distinct; a failing one alone fails ---- */

#define GRANTERS 4
#define GRANTS_PER_THREAD 150

typedef struct granter {
	ec_store *st;
	int index;
	int failures;
	int dup_failures;
	int64_t ids[GRANTS_PER_THREAD];
	const char *taken;            /* a serial already stored */
} granter;

static void *grant_many(void *arg)
{
	granter *g = arg;
	for (int i = 0; i < GRANTS_PER_THREAD; i++) {
		char txid[32], serial[STORE_SERIAL_MAX];
		ec_err err = {""};
		snprintf(txid, sizeof(txid), "g%d-%d", g->index, i);
		/* Every 10th grant of thread 0 reuses a stored serial: it must fail, and only it. */
		bool dup = g->index == 0 && i % 10 == 9;
		if (dup)
			snprintf(serial, sizeof(serial), "%s", g->taken);
		else if (store_reserve_serial(g->st, serial, &err) != 0) {
			g->failures++;
			continue;
		}
		store_request r = make_request(txid, "fp", 100, 1000);
		r.state = STORE_REQ_GRANTED;
		snprintf(r.cert_serial, sizeof(r.cert_serial), "%s", serial);
		store_cert c = make_cert(serial, "CA1", NULL, 0);
		int rc = store_record_granted(g->st, &r, &c, NULL, &err);
		if (dup) {
			if (rc == 0 || r.id != 0)
				g->dup_failures++; /* counted as a defect: a duplicate serial was accepted */
			continue;
		}
		if (rc != 0)
			g->failures++;
		g->ids[i] = r.id;
	}
	return NULL;
}

static void test_group_commit(void **state)
{
	fixture *f = *state;
	ec_err err = {""};
	int64_t count = 0;
	char taken[STORE_SERIAL_MAX];
	reserve(f->st, taken);
	record(f->st, taken, "CA1"); /* the duplicates below collide with it */
	granter *g = calloc(GRANTERS, sizeof(*g));
	pthread_t th[GRANTERS];
	assert_non_null(g);
	for (int t = 0; t < GRANTERS; t++) {
		g[t].st = f->st;
		g[t].index = t;
		g[t].taken = taken;
		assert_int_equal(pthread_create(&th[t], NULL, grant_many, &g[t]), 0);
	}
	for (int t = 0; t < GRANTERS; t++)
		assert_int_equal(pthread_join(th[t], NULL), 0);
	int expected = GRANTERS * GRANTS_PER_THREAD - GRANTS_PER_THREAD / 10;
	for (int t = 0; t < GRANTERS; t++) {
		assert_int_equal(g[t].failures, 0);
		assert_int_equal(g[t].dup_failures, 0);
	}
	assert_int_equal(store_cert_count(f->st, &count, &err), 0);
	assert_int_equal(count, expected + 1);
	assert_int_equal(store_request_count(f->st, STORE_REQ_GRANTED, &count, &err), 0);
	assert_int_equal(count, expected);
	/* SQLite counts what reached its files: each group made durable by a sync of its own. */
	store_stats stats;
	store_get_stats(f->st, &stats);
	assert_int_equal(stats.counted, !f->pg);
	if (stats.counted) {
		assert_int_equal(stats.grants, (uint64_t)expected);
		assert_true(stats.grant_groups >= 1 && stats.grant_groups <= (uint64_t)(GRANTERS * GRANTS_PER_THREAD));
		assert_true(stats.fdatasyncs >= stats.grant_groups);
		assert_true(stats.commits >= stats.grant_groups);
		assert_true(stats.wal_frames > 0 && stats.wal_bytes > stats.wal_frames * 512);
	}
	/* Each request is found again under its transaction, with the id it was given. */
	for (int t = 0; t < GRANTERS; t++)
		for (int i = 0; i < GRANTS_PER_THREAD; i += 37) {
			if (g[t].ids[i] == 0)
				continue;
			char txid[32];
			store_request got;
			snprintf(txid, sizeof(txid), "g%d-%d", t, i);
			assert_int_equal(store_request_find(f->st, txid, "fp", &got, &err), 0);
			assert_int_equal(got.id, g[t].ids[i]);
			store_request_free(&got);
		}
	free(g);
}

/* A grant made while other requests are announced as under way: the commit's leader waits for
 * them, but never past its bound; one that ends releases it. */
typedef struct announced {
	ec_store *st;
	const char *txid;
	int rc;
} announced;

static void *grant_one(void *arg)
{
	announced *a = arg;
	char serial[STORE_SERIAL_MAX];
	ec_err err = {""};
	a->rc = store_reserve_serial(a->st, serial, &err);
	if (a->rc != 0)
		return NULL;
	store_request r = make_request(a->txid, "fp", 100, 1000);
	r.state = STORE_REQ_GRANTED;
	snprintf(r.cert_serial, sizeof(r.cert_serial), "%s", serial);
	store_cert c = make_cert(serial, "CA1", NULL, 0);
	a->rc = store_record_granted(a->st, &r, &c, NULL, &err);
	return NULL;
}

static void test_group_wait_announced(void **state)
{
	fixture *f = *state;
	ec_err err = {""};
	store_request got;
	/* Three requests announced that never queue a grant, and a serial handed out and never
	 * recorded (an issuance that failed): the grant is still committed. */
	unsigned tokens[3];
	for (int i = 0; i < 3; i++)
		tokens[i] = store_grant_expect_begin(f->st);
	char abandoned[STORE_SERIAL_MAX];
	reserve(f->st, abandoned);
	announced a = {f->st, "waits-bounded", -1};
	grant_one(&a);
	assert_int_equal(a.rc, 0);
	assert_int_equal(store_request_find(f->st, "waits-bounded", "fp", &got, &err), 0);
	store_request_free(&got);
	for (int i = 0; i < 3; i++)
		store_grant_expect_end(f->st, tokens[i]);
	/* Grants from two threads while a third request is announced and then ends without one. */
	unsigned token = store_grant_expect_begin(f->st);
	announced b[2] = {{f->st, "waits-1", -1}, {f->st, "waits-2", -1}};
	pthread_t th[2];
	for (int t = 0; t < 2; t++)
		assert_int_equal(pthread_create(&th[t], NULL, grant_one, &b[t]), 0);
	store_grant_expect_end(f->st, token);
	for (int t = 0; t < 2; t++) {
		assert_int_equal(pthread_join(th[t], NULL), 0);
		assert_int_equal(b[t].rc, 0);
		assert_int_equal(store_request_find(f->st, b[t].txid, "fp", &got, &err), 0);
		store_request_free(&got);
	}
}

/* Two connections (as two processes would have) wait for each other through busy_timeout. */
static void test_threads_two_connections(void **state)
{
	fixture *f = *state;
	ec_err err = {""};
	char last[STORE_SERIAL_MAX];
	ec_store *other = NULL;
	reserver *r = calloc(2, sizeof(*r));
	assert_non_null(r);
	if (open_path(f->url, &other, &err) != 0)
		fail_msg("second open: %s", err.msg);
	r[0].st = f->st;
	r[1].st = other;
	run_reservers(r, 2);
	assert_int_equal(store_last_serial(other, last, &err), 0);
	assert_true(strtol(last, NULL, 16) > 0);
	store_close(other);
	free(r);
}

/* ---- the next expiry ---- */

/* The earliest expiry of the requests in a state comes from the index by state and expiry, and
 * follows inserts and state changes; with none in the state there is none. */
static void test_next_expiry(void **state)
{
	fixture *f = *state;
	ec_err err = {""};
	ec_time at = -1;
	store_request a = make_request("tx-a", "fp", 100, 5000);
	store_request b = make_request("tx-b", "fp", 100, 3000);
	store_request c = make_request("tx-c", "fp", 100, 1000);

	assert_int_equal(store_request_next_expiry(f->st, STORE_REQ_PENDING, &at, &err), 1);
	insert_request(f->st, &a);
	insert_request(f->st, &b);
	c.state = STORE_REQ_REJECTED;   /* an earlier expiry in another state does not count */
	insert_request(f->st, &c);
	assert_int_equal(store_request_next_expiry(f->st, STORE_REQ_PENDING, &at, &err), 0);
	assert_int_equal(at, 3000);
	assert_int_equal(store_request_next_expiry(f->st, STORE_REQ_REJECTED, &at, &err), 0);
	assert_int_equal(at, 1000);
	assert_int_equal(store_request_set_state(f->st, b.id, STORE_REQ_APPROVED, 0, &err), 0);
	assert_int_equal(store_request_next_expiry(f->st, STORE_REQ_PENDING, &at, &err), 0);
	assert_int_equal(at, 5000);
	assert_int_equal(store_request_expire(f->st, 6000, &err), 2);
	assert_int_equal(store_request_next_expiry(f->st, STORE_REQ_PENDING, &at, &err), 1);
	if (f->pg)
		assert_int_equal(pg_number(f, "SELECT count(*) FROM pg_indexes WHERE indexname = 'requests_state_expires'"),
		                 1);
	else
		assert_int_equal(tu_sql_number(f->path, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND"
		                               " name = 'requests_state_expires'"), 1);
}

/* A pending request expiring at 4000 in a database made older by sql (ending with its
 * user_version), reopened: it opens as the current version, the request found by its expiry. */
static void reopen_older(fixture *f, const char *sql)
{
	ec_err err = {""};
	ec_time at = 0;
	store_request r = make_request("tx-old", "fp", 100, 4000);
	insert_request(f->st, &r);
	store_close(f->st);
	f->st = NULL;
	tu_sql(f->path, sql);
	reopen(f);
	assert_int_equal(tu_sql_number(f->path, "PRAGMA user_version"), 5);
	assert_int_equal(store_request_next_expiry(f->st, STORE_REQ_PENDING, &at, &err), 0);
	assert_int_equal(at, 4000);
}

/* A version 3 database (requests indexed by state alone): the index by state and expiry in place
 * of the old one. */
static void test_schema_v3_upgrade(void **state)
{
	fixture *f = *state;
	reopen_older(f, "DROP INDEX requests_state_expires; CREATE INDEX requests_state ON requests (state);"
	             " PRAGMA user_version = 3");
	assert_int_equal(tu_sql_number(f->path, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND"
	                               " name = 'requests_state'"), 0);
	assert_int_equal(tu_sql_number(f->path, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND"
	                               " name = 'requests_state_expires'"), 1);
}

/* A version 4 database (its indexes over every certificate and request): the indexes made again
 * without the granted requests and with the revoked certificates alone. */
static void test_schema_v4_upgrade(void **state)
{
	fixture *f = *state;
	reopen_older(f, "DROP INDEX certs_revoked; CREATE INDEX certs_status ON certs (status, serial_num);"
	             " DROP INDEX requests_state_expires; CREATE INDEX requests_state_expires ON requests (state, expires);"
	             " DROP INDEX requests_source; CREATE INDEX requests_source ON requests (source, state);"
	             " PRAGMA user_version = 4");
	assert_int_equal(tu_sql_number(f->path, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND"
	                               " name = 'certs_status'"), 0);
	assert_int_equal(tu_sql_number(f->path, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND"
	                               " name IN ('certs_revoked', 'requests_state_expires', 'requests_source')"
	                               " AND sql LIKE '% WHERE %'"), 3);
}

/* ---- opening by URL ---- */

/* An in-memory store through the interface: the whole API works on it, nothing outlives it, and
 * no file is made for it. */
static void test_open_memory(void **state)
{
	fixture *f = *state;
	const char *urls[] = {":memory:", "sqlite::memory:"};
	for (size_t i = 0; i < 2; i++) {
		ec_store *mem = NULL;
		ec_err err = {""};
		char serial[STORE_SERIAL_MAX], value[16];
		store_request r = make_request("tx-mem", "fp", 1000, 2000);
		int64_t n = -1;
		assert_int_equal(store_open(&(store_config){.url = urls[i]}, &mem, &err), 0);
		reserve(mem, serial);
		assert_string_equal(serial, "1");
		record(mem, "1", "1");
		insert_request(mem, &r);
		assert_int_equal(store_request_count(mem, STORE_REQ_PENDING, &n, &err), 0);
		assert_int_equal(n, 1);
		assert_int_equal(store_meta_set(mem, "k", "v", &err), 0);
		assert_int_equal(store_meta_get(mem, "k", value, sizeof(value), &err), 0);
		assert_string_equal(value, "v");
		store_close(mem);
		/* A second in-memory store is a new, empty one. */
		assert_int_equal(store_open(&(store_config){.url = urls[i]}, &mem, &err), 0);
		assert_int_equal(store_cert_count(mem, &n, &err), 0);
		assert_int_equal(n, 0);
		store_close(mem);
		assert_int_equal(access(urls[i], F_OK), -1);
	}
	(void)f;
}

/* sqlite:PATH and the plain PATH are the same database; another scheme or no path is refused
 * with a clear error and creates nothing. */
static void test_open_url_forms(void **state)
{
	fixture *f = *state;
	ec_store *st = NULL;
	ec_err err = {""};
	char url[4400], path[4200];
	int64_t n = -1;

	record(f->st, "5", "1");
	store_close(f->st);
	f->st = NULL;
	snprintf(url, sizeof(url), "sqlite:%s", f->path);
	assert_int_equal(store_open(&(store_config){.url = url}, &f->st, &err), 0);
	assert_int_equal(store_cert_count(f->st, &n, &err), 0);
	assert_int_equal(n, 1);

	snprintf(path, sizeof(path), "%s/pg.db", f->dir);
	snprintf(url, sizeof(url), "mysql://%s", path);
	assert_int_equal(store_open(&(store_config){.url = url}, &st, &err), -1);
	assert_null(st);
	assert_non_null(strstr(err.msg, "no backend for 'mysql:'"));
	assert_int_equal(access(path, F_OK), -1);
	/* A PostgreSQL URL goes to libpq whole: no server there is a clear failure, and no file. */
	snprintf(url, sizeof(url), "postgresql:///evercert?host=%s&connect_timeout=5", path);
	assert_int_equal(store_open(&(store_config){.url = url}, &st, &err), -1);
	assert_null(st);
	assert_non_null(strstr(err.msg, "database unavailable"));
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(store_open(&(store_config){.url = "sqlite:"}, &st, &err), -1);
	assert_null(st);
	assert_int_equal(store_open(&(store_config){.url = ""}, &st, &err), -1);
	assert_null(st);
	store_close(NULL);
}

/* The tests of the interface, run on each backend. */
#define STORE_INTERFACE_TESTS(setup_fn, teardown_fn) \
	cmocka_unit_test_setup_teardown(test_serial_sequence, setup_fn, teardown_fn), \
	cmocka_unit_test_setup_teardown(test_serial_no_reuse_after_reopen, setup_fn, teardown_fn), \
	cmocka_unit_test_setup_teardown(test_record_issued_and_get, setup_fn, teardown_fn), \
	cmocka_unit_test_setup_teardown(test_record_issued_unknown_request_rolls_back, setup_fn, teardown_fn), \
	cmocka_unit_test_setup_teardown(test_revoke_and_each_revoked, setup_fn, teardown_fn), \
	cmocka_unit_test_setup_teardown(test_each_revoked_pages, setup_fn, teardown_fn), \
	cmocka_unit_test_setup_teardown(test_request_insert_find, setup_fn, teardown_fn), \
	cmocka_unit_test_setup_teardown(test_request_state_expire_count, setup_fn, teardown_fn), \
	cmocka_unit_test_setup_teardown(test_ca_generations, setup_fn, teardown_fn), \
	cmocka_unit_test_setup_teardown(test_otp, setup_fn, teardown_fn), \
	cmocka_unit_test_setup_teardown(test_meta, setup_fn, teardown_fn), \
	cmocka_unit_test_setup_teardown(test_ca_links, setup_fn, teardown_fn), \
	cmocka_unit_test_setup_teardown(test_otp_with_grant, setup_fn, teardown_fn), \
	cmocka_unit_test_setup_teardown(test_kept_and_purged, setup_fn, teardown_fn), \
	cmocka_unit_test_setup_teardown(test_group_commit, setup_fn, teardown_fn), \
	cmocka_unit_test_setup_teardown(test_group_wait_announced, setup_fn, teardown_fn), \
	cmocka_unit_test_setup_teardown(test_threads_share_one_store, setup_fn, teardown_fn), \
	cmocka_unit_test_setup_teardown(test_threads_two_connections, setup_fn, teardown_fn), \
	cmocka_unit_test_setup_teardown(test_next_expiry, setup_fn, teardown_fn)

int main(void)
{
	const struct CMUnitTest sqlite_tests[] = {
		STORE_INTERFACE_TESTS(setup, teardown),
		/* The SQLite backend's file, schema versions and URL forms. */
		cmocka_unit_test_setup_teardown(test_file_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_robust_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_v4_upgrade, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_v3_upgrade, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_url_forms, setup, teardown),
	};
	const struct CMUnitTest pg_tests[] = {
		STORE_INTERFACE_TESTS(setup_pg, teardown_pg),
	};
	int failed = cmocka_run_group_tests_name("sqlite", sqlite_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("postgresql", pg_tests, pgtest_group_start, pgtest_group_stop);
	return failed;
}
