/* One CA on several nodes: certificate server engines (ca_open with the same configuration, each
 * with its own state directory) on one PostgreSQL database (pgtest.h). They make one first
 * generation when they start at once, one of them holds the lease on the timed events, what the
 * holder makes every node serves after its next check, another node takes over once a silent
 * holder's lease has run out, serials never repeat across nodes issuing at once, and a request
 * that meets a lost connection is answered "try again later". Times are the engines' `now`,
 * never the machine's clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>
#include <openssl/x509.h>

#include "ca/ca.h"
#include "ca/ca_internal.h"
#include "config/config.h"
#include "scep/scep.h"
#include "store/store.h"
#include "pgtest.h"
#include "testutil.h"

static ec_time T0; /* 2015-10-09T13:14:16Z */

/* lifetime ca-certificate 730, auto-rollover 90: the successor is made at day 640. */
#define SHADOW_AT (T0 + 640 * EC_MS_PER_DAY)
#define NODES 3

typedef struct node {
	char *dir;
	cfg_config *cfg;
	ca_engine *ca;
	ec_err err;
	int rc;
} node;

typedef struct cluster {
	char url[1400];
	node n[NODES];
	pthread_barrier_t start;
} cluster;

static void new_database(cluster *c)
{
	char why[512];
	memset(c, 0, sizeof(*c));
	if (pgtest_group_db(c->url, sizeof(c->url), why, sizeof(why)) != 0)
		fail_msg("%s", why);
}

static void parse_config(cluster *c, node *n)
{
	char text[2048];
	ec_err err;
	snprintf(text, sizeof(text), "crypto pki server ROOTCA\n  issuance rsa-modulus 1024\n  grant auto\n"
	         "  lifetime ca-certificate 730\n  auto-rollover 90\n  database url %s\n"
	         "  database archive pkcs12 password 0 cluster-test-pass\n", c->url);
	if (cfg_parse((const uint8_t *)text, strlen(text), &n->cfg, &err) != 0)
		fail_msg("config: %s", err.msg);
	n->dir = tu_tmpdir("ca_cluster");
}

/* Opens a node; 0 or -1 with n->err (no cmocka call: it may run on another thread). */
static int start_node(node *n, ec_time now)
{
	ca_env env = {.state_dir = n->dir, .default_key_bits = 1024, .rollover_key_bits = 1024};
	n->rc = ca_open(&n->cfg->servers[0], &env, now, &n->ca, &n->err);
	return n->rc;
}

static void open_node(cluster *c, int i, ec_time now)
{
	parse_config(c, &c->n[i]);
	if (start_node(&c->n[i], now) != 0)
		fail_msg("node %d: %s", i, c->n[i].err.msg);
}

/* A fresh database and nodes 0 and 1 on it, opened at T0. */
static void open_two(cluster *c)
{
	new_database(c);
	open_node(c, 0, T0);
	open_node(c, 1, T0);
}

static void close_node(node *n)
{
	ca_close(n->ca);
	cfg_config_free(n->cfg);
	free(n->dir);
	memset(n, 0, sizeof(*n));
}

static void close_all(cluster *c)
{
	for (int i = 0; i < NODES; i++)
		if (c->n[i].cfg != NULL)
			close_node(&c->n[i]);
}

static void run(node *n, ec_time now)
{
	ec_err err;
	if (ca_run_timers(n->ca, now, &err) != 0)
		fail_msg("timers at %lld: %s", (long long)now, err.msg);
}

/* A store of its own on the cluster's database, to look at what the nodes share. */
static ec_store *look(cluster *c)
{
	ec_store *st = NULL;
	ec_err err;
	if (store_open(&(store_config){.url = c->url}, &st, &err) != 0)
		fail_msg("store: %s", err.msg);
	return st;
}

static int count_row(void *ctx, const store_ca_cert *row)
{
	(void)row;
	(*(int *)ctx)++;
	return 0;
}

static int generations(cluster *c)
{
	ec_store *st = look(c);
	ec_err err;
	int n = 0;
	assert_int_equal(store_ca_each(st, count_row, &n, &err), 0);
	store_close(st);
	return n;
}

/* A reply body as text of its bytes, for comparing two nodes' answers. */
static void assert_same_reply(const ca_reply *a, const ca_reply *b)
{
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->body_len, b->body_len);
	assert_memory_equal(a->body, b->body, a->body_len);
}

static void assert_same_ca_cert(node *a, node *b)
{
	ca_reply ra, rb;
	ec_err err;
	assert_int_equal(ca_get_ca_cert(a->ca, &ra, &err), 0);
	assert_int_equal(ca_get_ca_cert(b->ca, &rb, &err), 0);
	assert_same_reply(&ra, &rb);
	ca_reply_free(&ra);
	ca_reply_free(&rb);
}

static int count_leaders(cluster *c)
{
	int leaders = 0;
	for (int i = 0; i < NODES; i++)
		if (c->n[i].ca != NULL && c->n[i].ca->lead)
			leaders++;
	return leaders;
}

typedef struct starter {
	cluster *c;
	int i;
} starter;

static void *start_thread(void *arg)
{
	starter *s = arg;
	pthread_barrier_wait(&s->c->start);
	(void)start_node(&s->c->n[s->i], T0);
	return NULL;
}

/* Nodes starting at once on an empty database make one generation 0 and serve it alike. */
static void simultaneous_start_one_generation(void **state)
{
	(void)state;
	cluster c;
	new_database(&c);
	pthread_t th[NODES];
	starter s[NODES];
	pthread_barrier_init(&c.start, NULL, NODES);
	for (int i = 0; i < NODES; i++) {
		parse_config(&c, &c.n[i]);
		s[i] = (starter){&c, i};
		assert_int_equal(pthread_create(&th[i], NULL, start_thread, &s[i]), 0);
	}
	for (int i = 0; i < NODES; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	pthread_barrier_destroy(&c.start);
	for (int i = 0; i < NODES; i++)
		if (c.n[i].rc != 0)
			fail_msg("node %d: %s", i, c.n[i].err.msg);
	assert_int_equal(generations(&c), 1);
	for (int i = 1; i < NODES; i++)
		assert_same_ca_cert(&c.n[0], &c.n[i]);
	close_all(&c);
}

/* A shared CA needs the archive password: the keys in the store decrypt under it on every node. */
static void shared_store_needs_archive_password(void **state)
{
	(void)state;
	cluster c;
	new_database(&c);
	char text[2048];
	ec_err err;
	cfg_config *cfg = NULL;
	ca_engine *ca = NULL;
	snprintf(text, sizeof(text), "crypto pki server ROOTCA\n  database url %s\n", c.url);
	if (cfg_parse((const uint8_t *)text, strlen(text), &cfg, &err) != 0)
		fail_msg("config: %s", err.msg);
	char *dir = tu_tmpdir("ca_cluster");
	ca_env env = {.state_dir = dir, .default_key_bits = 1024};
	assert_int_equal(ca_open(&cfg->servers[0], &env, T0, &ca, &err), -1);
	assert_non_null(strstr(err.msg, "database archive pkcs12|pem password"));
	cfg_config_free(cfg);
	free(dir);
	assert_int_equal(generations(&c), 0);
}

/* One node holds the lease; the others check every second and take no timed event. */
static void one_lease_holder(void **state)
{
	(void)state;
	cluster c;
	new_database(&c);
	for (int i = 0; i < NODES; i++)
		open_node(&c, i, T0);
	for (int round = 0; round < 3; round++) {
		ec_time now = T0 + round * CA_CHECK_INTERVAL;
		for (int i = 0; i < NODES; i++)
			run(&c.n[i], now);
		assert_int_equal(count_leaders(&c), 1);
		assert_true(c.n[0].ca->lead); /* the first to ask, and it renews */
		for (int i = 0; i < NODES; i++)
			assert_int_equal(ca_next_timer(c.n[i].ca), now + CA_CHECK_INTERVAL);
	}
	close_all(&c);
}

/* The shadow generation made by the holder is served by the others after their next check:
 * the same rollover CA certificate, GetNextCACert answered by all, one generation 1. */
static void shadow_served_by_all(void **state)
{
	(void)state;
	cluster c;
	open_two(&c);
	run(&c.n[0], T0);
	run(&c.n[1], T0);
	run(&c.n[0], SHADOW_AT);
	run(&c.n[1], SHADOW_AT);
	assert_int_equal(count_leaders(&c), 1);
	run(&c.n[0], SHADOW_AT + CA_CHECK_INTERVAL);
	run(&c.n[1], SHADOW_AT + CA_CHECK_INTERVAL);
	assert_int_equal(generations(&c), 2);
	ec_err err;
	ca_reply ra, rb;
	assert_int_equal(ca_get_ca_pem(c.n[0].ca, true, &ra, &err), 0);
	assert_int_equal(ca_get_ca_pem(c.n[1].ca, true, &rb, &err), 0);
	assert_int_equal(ra.kind, CA_REPLY_CA_PEM);
	assert_same_reply(&ra, &rb);
	ca_reply_free(&ra);
	ca_reply_free(&rb);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(ca_get_next_ca_cert(c.n[i].ca, SHADOW_AT + CA_CHECK_INTERVAL, "10.0.0.1", &ra, &err), 0);
		assert_int_equal(ra.kind, CA_REPLY_NEXT_CA);
		ca_reply_free(&ra);
	}
	/* The one that did not make it has its key from the store, not from a file. */
	int follower = c.n[0].ca->lead ? 1 : 0;
	assert_true(c.n[follower].ca->rollover >= 0);
	assert_non_null(c.n[follower].ca->gens[c.n[follower].ca->rollover].key);
	close_all(&c);
}

static int64_t stored_crl_number(cluster *c)
{
	ec_store *st = look(c);
	store_crl crl;
	ec_err err;
	assert_int_equal(store_crl_get(st, &crl, &err), 0);
	int64_t n = crl.number;
	store_crl_free(&crl);
	store_close(st);
	return n;
}

/* A holder that stops renewing (dead) is replaced once its lease ran out, not before; the new
 * holder makes the due CRL update once, and every node serves that CRL. */
static void holder_dies_another_takes_over(void **state)
{
	(void)state;
	cluster c;
	open_two(&c);
	run(&c.n[0], T0);
	run(&c.n[1], T0);
	assert_true(c.n[0].ca->lead);
	/* Node 0 runs no more timers from here. */
	run(&c.n[1], T0 + CA_LEASE_TTL / 2);
	assert_false(c.n[1].ca->lead);
	run(&c.n[1], T0 + CA_LEASE_TTL + 1);
	assert_true(c.n[1].ca->lead);

	int64_t before = stored_crl_number(&c);
	ec_time due = c.n[1].ca->crl_next_update;
	assert_int_equal(ca_next_timer(c.n[1].ca), T0 + CA_LEASE_TTL + 1 + CA_CHECK_INTERVAL);
	run(&c.n[1], due);
	run(&c.n[1], due);
	assert_int_equal(stored_crl_number(&c), before + 1);
	assert_true(c.n[1].ca->crl_next_update > due);
	/* The dead node, back, serves the new CRL after its next check and does not lead. */
	run(&c.n[0], due + 1);
	assert_false(c.n[0].ca->lead);
	ec_err err;
	ca_reply ra, rb;
	assert_int_equal(ca_get_crl_der(c.n[0].ca, &ra, &err), 0);
	assert_int_equal(ca_get_crl_der(c.n[1].ca, &rb, &err), 0);
	assert_same_reply(&ra, &rb);
	ca_reply_free(&ra);
	ca_reply_free(&rb);
	close_all(&c);
}

/* ---- enrollment ---- */

typedef struct enroller {
	node *n;
	int count;
	long serials[16];
	int failed;
	pthread_barrier_t *start;
} enroller;

/* One PKCSReq of a fresh client to n's engine; the issued certificate's serial, or -1. */
static long enroll_once(node *n, const char *txid, ca_reply_kind *kind)
{
	EVP_PKEY *key = tu_rsa_key_new(1024);
	X509 *self = tu_self_signed(key, "client.example", 1, (time_t)(T0 / 1000) - 86400, 3650, 0);
	X509_REQ *req = tu_csr(key, "client.example", NULL);
	unsigned char *csr = NULL;
	int csr_len = tu_csr_der(req, &csr);
	uint8_t nonce[SCEP_NONCE_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	scep_request_params p = {SCEP_MSG_PKCSREQ, txid, nonce, self, key, ca_active_cert(n->ca),
	                         EVP_aes_128_cbc(), EVP_sha256(), csr, (size_t)csr_len};
	uint8_t *der = NULL, *p7 = NULL;
	size_t der_len = 0, p7_len = 0;
	ec_err err;
	ca_reply rep = {0};
	scep_msg *m = NULL;
	STACK_OF(X509) *certs = NULL;
	long serial = -1;
	*kind = CA_REPLY_KIND_COUNT;
	if (scep_build_request(&p, &der, &der_len, &err) == 0 &&
	    ca_pki_operation(n->ca, der, der_len, "test", T0, &rep, &err) == 0) {
		*kind = rep.kind;
		if (rep.kind == CA_REPLY_PKI_MESSAGE && scep_msg_parse(rep.body, rep.body_len, &m, &err) == 0 &&
		    m->status == SCEP_STATUS_SUCCESS && scep_msg_decrypt(m, self, key, &p7, &p7_len, NULL, &err) == 0 &&
		    scep_degenerate_parse(p7, p7_len, &certs, NULL, &err) == 0 && sk_X509_num(certs) == 1)
			serial = ASN1_INTEGER_get(X509_get0_serialNumber(sk_X509_value(certs, 0)));
	}
	sk_X509_pop_free(certs, X509_free);
	free(p7);
	scep_msg_free(m);
	ca_reply_free(&rep);
	free(der);
	OPENSSL_free(csr);
	X509_REQ_free(req);
	X509_free(self);
	EVP_PKEY_free(key);
	return serial;
}

static void *enroll_thread(void *arg)
{
	enroller *e = arg;
	char txid[64];
	ca_reply_kind kind;
	pthread_barrier_wait(e->start);
	for (int i = 0; i < e->count; i++) {
		snprintf(txid, sizeof(txid), "tx-%p-%d", (void *)e, i);
		e->serials[i] = enroll_once(e->n, txid, &kind);
		if (e->serials[i] < 0)
			e->failed++;
	}
	return NULL;
}

/* Two nodes issuing at once: every certificate has its own serial. */
static void serials_unique_across_nodes(void **state)
{
	(void)state;
	cluster c;
	open_two(&c);
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, 2);
	enroller e[2] = {{&c.n[0], 12, {0}, 0, &start}, {&c.n[1], 12, {0}, 0, &start}};
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, enroll_thread, &e[i]), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	pthread_barrier_destroy(&start);
	long all[24];
	int n = 0;
	for (int i = 0; i < 2; i++) {
		assert_int_equal(e[i].failed, 0);
		for (int j = 0; j < e[i].count; j++)
			all[n++] = e[i].serials[j];
	}
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (all[i] == all[j])
				fail_msg("serial %lx issued twice", all[i]);
	ec_store *st = look(&c);
	int64_t count = 0;
	ec_err err;
	assert_int_equal(store_cert_count(st, &count, &err), 0);
	assert_int_equal(count, 24);
	store_close(st);
	close_all(&c);
}

/* A request that meets the cut connection is answered "try again later" (HTTP 503), never with
 * a certificate; the next one reconnects and is issued. Last: it restarts the server. */
static void lost_connection_try_again_later(void **state)
{
	(void)state;
	cluster c;
	char why[512];
	ca_reply_kind kind;
	new_database(&c);
	open_node(&c, 0, T0);
	assert_true(enroll_once(&c.n[0], "tx-before", &kind) > 0);
	if (pgtest_restart(pgtest_group_server(), why, sizeof(why)) != 0)
		fail_msg("%s", why);
	assert_int_equal(enroll_once(&c.n[0], "tx-cut", &kind), -1);
	assert_int_equal(kind, CA_REPLY_UNAVAILABLE);
	assert_true(enroll_once(&c.n[0], "tx-after", &kind) > 0);
	close_all(&c);
}

int main(void)
{
	if (ec_time_parse_iso("2015-10-09T13:14:16Z", &T0) != 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(simultaneous_start_one_generation),
		cmocka_unit_test(shared_store_needs_archive_password),
		cmocka_unit_test(one_lease_holder),
		cmocka_unit_test(shadow_served_by_all),
		cmocka_unit_test(holder_dies_another_takes_over),
		cmocka_unit_test(serials_unique_across_nodes),
		cmocka_unit_test(lost_connection_try_again_later),
	};
	return cmocka_run_group_tests_name("one CA, several nodes", tests, pgtest_group_start, pgtest_group_stop);
}
