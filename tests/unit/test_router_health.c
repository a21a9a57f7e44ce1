/* GET /health through the SCEP router: 200 "ok" while every server's store answers and its
 * active key is loaded, 503 with the reason when the store is cut off, and only for that exact
 * request (an SCEP request on the same path is not a health check). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ca/ca.h"
#include "ca/ca_health.h"
#include "config/config.h"
#include "http_server/scep_router.h"
#include "pgtest.h"
#include "testutil.h"

typedef struct node {
	char *dir;
	cfg_config *cfg;
	ca_engine *ca;
	scep_router router;
} node;

static void open_node(node *n, const char *server_lines)
{
	char text[2048];
	ec_err err;
	snprintf(text, sizeof(text), "crypto pki server ROOTCA\n%s", server_lines);
	if (cfg_parse((const uint8_t *)text, strlen(text), &n->cfg, &err) != 0)
		fail_msg("config: %s", err.msg);
	n->dir = tu_tmpdir("health");
	ca_env env = {.state_dir = n->dir, .default_key_bits = 1024, .rollover_key_bits = 1024};
	if (ca_open(&n->cfg->servers[0], &env, 1444396456000, &n->ca, &err) != 0)
		fail_msg("ca_open: %s", err.msg);
	n->router = (scep_router){.cas = &n->ca, .n_cas = 1, .clock = NULL};
}

static void close_node(node *n)
{
	ca_close(n->ca);
	cfg_config_free(n->cfg);
	free(n->dir);
}

/* The router's answer to METHOD PATH [operation]; *body gets a copy of the body as text. */
static int ask(node *n, const char *method, const char *path, const char *operation, char *body, size_t size)
{
	http_request req = {.method = method, .path = path, .operation = operation, .peer = "127.0.0.1",
	                    .http_version = "HTTP/1.1"};
	http_response resp = {.retry_after = -1};
	scep_router_handle(&n->router, &req, &resp);
	size_t len = resp.body_len < size - 1 ? resp.body_len : size - 1;
	memcpy(body, resp.body != NULL ? (const char *)resp.body : "", resp.body != NULL ? len : 0);
	body[resp.body != NULL ? len : 0] = '\0';
	free(resp.body);
	return resp.status;
}

static void healthy_sqlite_node(void **state)
{
	(void)state;
	node n;
	char body[1024];
	ec_err err;
	open_node(&n, "  grant auto\n");
	assert_int_equal(ca_health(n.ca, &err), 0);
	assert_int_equal(ask(&n, "GET", "/health", NULL, body, sizeof(body)), 200);
	assert_string_equal(body, "ok\n");
	close_node(&n);
}

static void only_the_exact_request(void **state)
{
	(void)state;
	node n;
	char body[1024];
	open_node(&n, "  grant auto\n");
	/* An SCEP operation on that path is answered as SCEP. */
	assert_int_equal(ask(&n, "GET", "/health", "GetCACaps", body, sizeof(body)), 200);
	assert_non_null(strstr(body, "SHA-256"));
	/* Another method, another path: not the health check. */
	assert_int_equal(ask(&n, "POST", "/health", NULL, body, sizeof(body)), 400);
	assert_int_equal(ask(&n, "GET", "/health/x", NULL, body, sizeof(body)), 400);
	close_node(&n);
}

/* PostgreSQL restarted: the store's connection is cut, the check says so (503, why), and a later
 * check, reconnecting, says ok again. */
static void store_cut_off_then_back(void **state)
{
	(void)state;
	node n;
	char url[1400], why[512], body[1024], server[1600];
	if (pgtest_group_db(url, sizeof(url), why, sizeof(why)) != 0)
		fail_msg("%s", why);
	snprintf(server, sizeof(server), "  database url %s\n  database archive pem password 0 health-test\n", url);
	open_node(&n, server);
	assert_int_equal(ask(&n, "GET", "/health", NULL, body, sizeof(body)), 200);
	if (pgtest_restart(pgtest_group_server(), why, sizeof(why)) != 0)
		fail_msg("%s", why);
	assert_int_equal(ask(&n, "GET", "/health", NULL, body, sizeof(body)), 503);
	assert_non_null(strstr(body, "ROOTCA: "));
	assert_non_null(strstr(body, "database unavailable"));
	int status = 503;
	for (int i = 0; i < 3 && status != 200; i++)
		status = ask(&n, "GET", "/health", NULL, body, sizeof(body));
	assert_int_equal(status, 200);
	close_node(&n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(healthy_sqlite_node),
		cmocka_unit_test(only_the_exact_request),
		cmocka_unit_test(store_cut_off_then_back),
	};
	return cmocka_run_group_tests_name("GET /health", tests, pgtest_group_start, pgtest_group_stop);
}
