/*
 * The SCEP HTTP client against the project's own HTTP server, started in-process on a loopback
 * port, and against a raw socket server for what that server cannot send (a Retry-After date, a
 * body without Content-Length, an interim 1xx response) and to count connections. GetCACaps parsing
 * and the choice of digest and cipher, which need no network, are in test_scep_caps.c.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "http_server/http_server.h"
#include "scep/scep_caps.h"
#include "scep_client/scep_client.h"
#include "scep_client/scep_http.h"
#include "util/encoding.h"
#include "testutil.h"

#define BIG_BODY (2 * 1024 * 1024)
#define SLOW_SECONDS 2
#define DEFAULT_PATH "/cgi-bin/pkiclient.exe"

/* Stand-ins for certificates: the client returns bodies raw, so any bytes do. */
static const uint8_t CA_DER[] = {0x30, 0x82, 0x01, 0x0a, 0x00, 0x0d, 0x0a, 0xff, 0x2b, 0x2f};
static const uint8_t CHAIN_DER[] = {0x30, 0x80, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d};
static const char CAPS_TEXT[] = "POSTPKIOperation\nRenewal\nSHA-256\nAES\nGetNextCACert\n";

/* What the handler saw last: written on a worker thread, read once the reply has arrived. */
static struct {
	pthread_mutex_t lock;
	char method[8], path[256], operation[64], message[512];
	bool has_message;
	int requests;
} seen = {.lock = PTHREAD_MUTEX_INITIALIZER};

static http_server *server;
static int server_port;
/* The suite runs twice: over in-process libcurl, and over the evercert-http program. */
static bool in_process;

/* ---- the HTTP server's handler ---- */

static void reply_bytes(http_response *resp, int status, const char *type, const void *data, size_t len)
{
	resp->status = status;
	resp->content_type = type;
	resp->body = malloc(len > 0 ? len : 1);
	resp->body_len = resp->body != NULL ? len : 0;
	if (resp->body != NULL && len > 0)
		memcpy(resp->body, data, len);
}

static void record(const http_request *req)
{
	pthread_mutex_lock(&seen.lock);
	snprintf(seen.method, sizeof(seen.method), "%s", req->method);
	snprintf(seen.path, sizeof(seen.path), "%s", req->path);
	snprintf(seen.operation, sizeof(seen.operation), "%s", req->operation ? req->operation : "");
	snprintf(seen.message, sizeof(seen.message), "%s", req->message ? req->message : "");
	seen.has_message = req->message != NULL;
	seen.requests++;
	pthread_mutex_unlock(&seen.lock);
}

static void big_reply(http_response *resp)
{
	resp->status = 200;
	resp->content_type = "application/x-x509-ca-cert";
	resp->body = calloc(1, BIG_BODY);
	resp->body_len = resp->body != NULL ? BIG_BODY : 0;
}

/* GetCACert: the CA identifier (message) picks the behaviour under test. */
static void ca_cert_reply(const char *m, http_response *resp)
{
	static const char *const CA = "application/x-x509-ca-cert";
	char text[400];
	if (m == NULL || strcmp(m, "ROOTCA") == 0) {
		reply_bytes(resp, 200, CA, CA_DER, sizeof(CA_DER));
	} else if (strcmp(m, "chain") == 0) {
		reply_bytes(resp, 200, "application/x-x509-ca-ra-cert", CHAIN_DER, sizeof(CHAIN_DER));
	} else if (strcmp(m, "params") == 0) {
		reply_bytes(resp, 200, "Application/X-X509-CA-Cert; charset=binary", CA_DER, sizeof(CA_DER));
	} else if (strcmp(m, "wrongtype") == 0) {
		reply_bytes(resp, 200, "text/html", "<html>", 6);
	} else if (strcmp(m, "notype") == 0) {
		reply_bytes(resp, 200, NULL, CA_DER, sizeof(CA_DER));
	} else if (strcmp(m, "empty") == 0) {
		reply_bytes(resp, 200, CA, "", 0);
	} else if (strcmp(m, "unavailable") == 0) {
		http_response_text(resp, 500, "database locked");
	} else if (strcmp(m, "longline") == 0) {
		memset(text, 'x', 300);
		text[300] = '\0';
		http_response_text(resp, 400, text);
	} else if (strcmp(m, "big") == 0) {
		big_reply(resp);
	} else if (strcmp(m, "slow") == 0) {
		sleep(SLOW_SECONDS);
		reply_bytes(resp, 200, CA, CA_DER, sizeof(CA_DER));
	} else {
		snprintf(text, sizeof(text), "unknown CA identifier '%s'\nsecond line", m);
		http_response_text(resp, 400, text);
	}
}

/* PKIOperation: echoes the message, POST body or base64-decoded GET argument. */
static void pki_reply(const http_request *req, http_response *resp)
{
	if (strcmp(req->path, "/wrongpki") == 0) {
		reply_bytes(resp, 200, "text/plain", "x", 1);
		return;
	}
	if (strcmp(req->method, "POST") == 0) {
		reply_bytes(resp, 200, "application/x-pki-message", req->body, req->body_len);
		return;
	}
	uint8_t *der = NULL;
	size_t len = 0;
	ec_err err;
	if (req->message == NULL || ec_b64_decode(req->message, strlen(req->message), &der, &len, &err) != 0) {
		http_response_text(resp, 400, "bad base64");
		return;
	}
	reply_bytes(resp, 200, "application/x-pki-message", der, len);
	free(der);
}

/* GetCARolloverChain: a PEM chain, or at /chain-big one over the client's bound, or at
 * /chain-type one with another content type. */
static void chain_reply(const http_request *req, http_response *resp)
{
	static const char pem[] = "-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n";
	if (strcmp(req->path, "/chain-big") == 0) {
		static char big[SCEP_CLIENT_CHAIN_MAX + 1];
		memset(big, 'A', sizeof(big));
		reply_bytes(resp, 200, "application/pem-certificate-chain", big, sizeof(big));
	} else {
		const char *type = strcmp(req->path, "/chain-type") == 0 ? "application/x-x509-ca-cert"
		                                                          : "application/pem-certificate-chain";
		reply_bytes(resp, 200, type, pem, strlen(pem));
	}
}

static void handler(void *ctx, const http_request *req, http_response *resp)
{
	record(req);
	const char *op = req->operation ? req->operation : "";
	if (strcmp(op, "GetCACaps") == 0) {
		const char *type = strcmp(req->path, "/lenient") == 0 ? "text/html"
		                   : strcmp(req->path, "/lenient-none") == 0 ? NULL : "text/plain";
		reply_bytes(resp, 200, type, CAPS_TEXT, strlen(CAPS_TEXT));
	} else if (strcmp(op, "GetCACert") == 0) {
		ca_cert_reply(req->message, resp);
	} else if (strcmp(op, "GetNextCACert") == 0) {
		http_response_text(resp, 503, "no rollover certificate yet");
		resp->retry_after = 120;
	} else if (strcmp(op, "PKIOperation") == 0) {
		pki_reply(req, resp);
	} else if (strcmp(op, "GetCARolloverChain") == 0) {
		chain_reply(req, resp);
	} else {
		http_response_text(resp, 400, "unknown operation");
	}
}

static int start_server(void **state)
{
	ec_err err;
	/* Loopback only: a proxy from the environment must not take these requests. */
	setenv("no_proxy", "*", 1);
	setenv("NO_PROXY", "*", 1);
	http_server_opts o = {
		.bind_address = "127.0.0.1",
		.port = 0,
		.max_body = 1024 * 1024,
		.connection_memory = 256 * 1024,
		.header_timeout = 10,
		.request_timeout = 30,
		.idle_timeout = 30,
		.capacity = 64,
	};
	if (http_server_start(&o, handler, NULL, &server, &err) != 0) {
		fprintf(stderr, "http_server_start: %s\n", err.msg);
		return -1;
	}
	server_port = http_server_port(server);
	return 0;
}

static int stop_server(void **state)
{
	http_server_stop(server);
	server = NULL;
	return 0;
}

static int start_in_process(void **state)
{
	ec_err err;
	if (scep_http_curl_global_init(&err) != 0)
		return -1;
	in_process = true;
	scep_client_use_transport(&scep_http_curl_transport);
	return start_server(state);
}

static int start_with_helper(void **state)
{
	if (getenv("EVERCERT_HTTP_HELPER") == NULL) {
		fprintf(stderr, "EVERCERT_HTTP_HELPER must name the evercert-http program (ctest sets it)\n");
		return -1;
	}
	in_process = false;
	scep_client_use_transport(&scep_http_helper_transport);
	return start_server(state);
}

/* ---- helpers ---- */

static scep_client *client_at(const char *url, long total_ms, bool get)
{
	scep_client_opts o = {.connect_timeout_ms = 2000, .total_timeout_ms = total_ms, .use_get_for_pkioperation = get};
	scep_client *c = NULL;
	ec_err err;
	int rc = scep_client_new(url, &o, &c, &err);
	if (rc != 0)
		fprintf(stderr, "scep_client_new(%s): %s\n", url, err.msg);
	assert_int_equal(rc, 0);
	assert_non_null(c);
	return c;
}

static scep_client *client(const char *path, long total_ms, bool get)
{
	char url[256];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", server_port, path);
	return client_at(url, total_ms, get);
}

static void snapshot(char *method, char *path, char *op, char *msg, bool *has_msg, int *requests)
{
	pthread_mutex_lock(&seen.lock);
	if (method)
		memcpy(method, seen.method, sizeof(seen.method));
	if (path)
		memcpy(path, seen.path, sizeof(seen.path));
	if (op)
		memcpy(op, seen.operation, sizeof(seen.operation));
	if (msg)
		memcpy(msg, seen.message, sizeof(seen.message));
	if (has_msg)
		*has_msg = seen.has_message;
	if (requests)
		*requests = seen.requests;
	pthread_mutex_unlock(&seen.lock);
}

static void assert_ca_cert(scep_client *c, const char *message, int outcome)
{
	scep_client_reply r;
	bool chain = true;
	int rc = scep_client_get_ca_cert(c, message, &r, &chain);
	assert_int_equal(r.outcome, outcome);
	assert_int_equal(rc, outcome == SCEP_CLIENT_OK ? 0 : -1);
	if (outcome == SCEP_CLIENT_OK) {
		assert_false(chain);
		assert_int_equal(r.body_len, sizeof(CA_DER));
		assert_memory_equal(r.body, CA_DER, sizeof(CA_DER));
	} else {
		assert_null(r.body);
		assert_true(strlen(r.reason) > 0);
	}
	scep_client_reply_free(&r);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A message whose base64 has '+', '/' and '=' in it, followed by every byte value. */
static size_t tricky_message(uint8_t *out, size_t sz)
{
	static const uint8_t head[] = {0xfb, 0xef, 0xbe, 0xff, 0xff, 0xff, 0x30, 0x82};
	size_t n = 0;
	for (size_t i = 0; i < sizeof(head) && n < sz; i++)
		out[n++] = head[i];
	for (int v = 0; v < 256 && n < sz; v++)
		out[n++] = (uint8_t)v;
	if (n < sz)
		out[n++] = 0x00; /* 265 bytes: not a multiple of 3, so base64 ends in '=' */
	return n;
}

static void assert_echo(scep_client *c, const uint8_t *msg, size_t len, const char *method)
{
	scep_client_reply r;
	assert_int_equal(scep_client_pki_operation(c, msg, len, &r), 0);
	assert_int_equal(r.outcome, SCEP_CLIENT_OK);
	assert_string_equal(r.content_type, "application/x-pki-message");
	assert_int_equal(r.body_len, len);
	assert_memory_equal(r.body, msg, len);
	scep_client_reply_free(&r);
	char m[8], op[64];
	bool has_msg;
	snapshot(m, NULL, op, NULL, &has_msg, NULL);
	assert_string_equal(m, method);
	assert_string_equal(op, "PKIOperation");
	assert_int_equal(has_msg, strcmp(method, "GET") == 0);
}

/* ---- URLs ---- */

static void bad_urls_refused(void **state)
{
	static const char *const bad[] = {"ftp://10.1.1.1/DB/", "not a url", "", "http://", "file:///etc/passwd",
	                                  "gopher://host/", "//host/path", "http://host name/"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		static int dummy;
		scep_client *c = (scep_client *)&dummy; /* must come back NULL */
		ec_err err = {{0}};
		assert_int_equal(scep_client_new(bad[i], NULL, &c, &err), -1);
		assert_null(c);
		assert_true(strlen(err.msg) > 0);
	}
	scep_client *c = NULL;
	ec_err err = {{0}};
	assert_int_equal(scep_client_new("ftp://10.1.1.1/DB/", NULL, &c, &err), -1);
	assert_non_null(strstr(err.msg, "only http:// and https://"));
	/* Accepted without touching the network. */
	assert_int_equal(scep_client_new("HTTPS://ca.example.com:8443/scep", NULL, &c, &err), 0);
	scep_client_free(c);
	assert_int_equal(scep_client_new("http://[::1]:8080", NULL, &c, &err), 0);
	scep_client_free(c);
	scep_client_free(NULL);
}

static void assert_path(const char *suffix, const char *want_path)
{
	scep_client *c = client(suffix, 0, false);
	scep_client_reply r;
	assert_int_equal(scep_client_get_ca_caps(c, &r), 0);
	scep_client_reply_free(&r);
	char method[8], path[256], op[64];
	bool has_msg;
	snapshot(method, path, op, NULL, &has_msg, NULL);
	assert_string_equal(method, "GET");
	assert_string_equal(path, want_path);
	assert_string_equal(op, "GetCACaps");
	assert_false(has_msg);
	scep_client_free(c);
}

static void default_path(void **state)
{
	assert_path("", DEFAULT_PATH);
	assert_path("/", DEFAULT_PATH);
	assert_path("/scep/other", "/scep/other");
	/* A query or fragment in the configured URL is dropped, not sent twice. */
	assert_path("/scep?operation=GetCACert&message=x#frag", "/scep");
}

/* ---- exchanges with the project's server ---- */

static void get_ca_cert_ok(void **state)
{
	scep_client *c = client("", 0, false);
	assert_ca_cert(c, "ROOTCA", SCEP_CLIENT_OK);
	char msg[512];
	bool has_msg;
	snapshot(NULL, NULL, NULL, msg, &has_msg, NULL);
	assert_true(has_msg);
	assert_string_equal(msg, "ROOTCA");
	assert_ca_cert(c, NULL, SCEP_CLIENT_OK);
	snapshot(NULL, NULL, NULL, NULL, &has_msg, NULL);
	assert_false(has_msg);
	assert_ca_cert(c, "params", SCEP_CLIENT_OK); /* case and parameters ignored */

	scep_client_reply r;
	bool chain = false;
	assert_int_equal(scep_client_get_ca_cert(c, "chain", &r, &chain), 0);
	assert_true(chain);
	assert_int_equal(r.http_status, 200);
	assert_string_equal(r.content_type, "application/x-x509-ca-ra-cert");
	assert_memory_equal(r.body, CHAIN_DER, sizeof(CHAIN_DER));
	assert_int_equal(r.retry_after_seconds, -1);
	assert_int_equal(r.retry_after_epoch, -1);
	scep_client_reply_free(&r);
	scep_client_reply_free(&r); /* idempotent */
	scep_client_free(c);
}

static void message_escaped_and_refused(void **state)
{
	static const char name[] = "My CA&x=1 +/=%?#";
	scep_client *c = client("", 0, false);
	scep_client_reply r;
	bool chain = true;
	assert_int_equal(scep_client_get_ca_cert(c, name, &r, &chain), -1);
	assert_false(chain);
	char msg[512];
	snapshot(NULL, NULL, NULL, msg, NULL, NULL);
	assert_string_equal(msg, name);
	assert_int_equal(r.outcome, SCEP_CLIENT_REFUSED);
	assert_int_equal(r.http_status, 400);
	assert_string_equal(r.reason, "HTTP 400: unknown CA identifier 'My CA&x=1 +/=%?#'");
	assert_null(r.body);
	scep_client_reply_free(&r);

	assert_int_equal(scep_client_get_ca_cert(c, "longline", &r, &chain), -1);
	assert_int_equal(r.outcome, SCEP_CLIENT_REFUSED);
	assert_int_equal(strlen(r.reason), strlen("HTTP 400: ") + 200);
	assert_int_equal(strncmp(r.reason, "HTTP 400: xxxx", 14), 0);
	scep_client_reply_free(&r);
	scep_client_free(c);
}

static void caps_ok_and_lenient(void **state)
{
	static const char *const paths[] = {"", "/lenient", "/lenient-none"};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		scep_client *c = client(paths[i], 0, false);
		scep_client_reply r;
		assert_int_equal(scep_client_get_ca_caps(c, &r), 0);
		assert_int_equal(r.body_len, strlen(CAPS_TEXT));
		scep_caps caps;
		scep_caps_parse(r.body, r.body_len, &caps);
		assert_true(caps.post_pkioperation && caps.renewal && caps.get_next_ca_cert);
		assert_string_equal(scep_caps_best_digest(&caps), "SHA-256");
		assert_string_equal(scep_caps_best_cipher(&caps), "AES");
		scep_client_reply_free(&r);
		scep_client_free(c);
	}
}

static void unavailable_with_retry_after(void **state)
{
	scep_client *c = client("", 0, false);
	scep_client_reply r;
	assert_int_equal(scep_client_get_next_ca_cert(c, &r), -1);
	assert_int_equal(r.outcome, SCEP_CLIENT_UNAVAILABLE);
	assert_int_equal(r.http_status, 503);
	assert_int_equal(r.retry_after_seconds, 120);
	assert_int_equal(r.retry_after_epoch, -1);
	assert_string_equal(r.reason, "HTTP 503: no rollover certificate yet");
	assert_null(r.body);
	scep_client_reply_free(&r);

	bool chain;
	assert_int_equal(scep_client_get_ca_cert(c, "unavailable", &r, &chain), -1);
	assert_int_equal(r.outcome, SCEP_CLIENT_UNAVAILABLE);
	assert_int_equal(r.http_status, 500);
	assert_int_equal(r.retry_after_seconds, -1);
	assert_string_equal(r.reason, "HTTP 500: database locked");
	scep_client_reply_free(&r);
	scep_client_free(c);
}

static void bad_replies(void **state)
{
	scep_client *c = client("", 0, false);
	scep_client_reply r;
	bool chain;
	assert_int_equal(scep_client_get_ca_cert(c, "wrongtype", &r, &chain), -1);
	assert_int_equal(r.outcome, SCEP_CLIENT_BAD_REPLY);
	assert_int_equal(r.http_status, 200);
	assert_non_null(strstr(r.reason, "'text/html'"));
	assert_null(r.body);
	scep_client_reply_free(&r);
	assert_ca_cert(c, "notype", SCEP_CLIENT_BAD_REPLY);
	assert_int_equal(scep_client_get_ca_cert(c, "empty", &r, &chain), -1);
	assert_int_equal(r.outcome, SCEP_CLIENT_BAD_REPLY);
	assert_string_equal(r.reason, "empty reply");
	scep_client_reply_free(&r);
	scep_client_free(c);

	c = client("/wrongpki", 0, false);
	assert_int_equal(scep_client_pki_operation(c, (const uint8_t *)"m", 1, &r), -1);
	assert_int_equal(r.outcome, SCEP_CLIENT_BAD_REPLY);
	assert_non_null(strstr(r.reason, "text/plain"));
	scep_client_reply_free(&r);
	scep_client_free(c);
}

static void rollover_chain(void **state)
{
	static const char *const paths[] = {"", "/chain-type", "/chain-big"};
	static const int outcomes[] = {SCEP_CLIENT_OK, SCEP_CLIENT_BAD_REPLY, SCEP_CLIENT_BAD_REPLY};
	for (size_t i = 0; i < 3; i++) {
		scep_client *c = client(paths[i], 0, false);
		scep_client_reply r;
		int rc = scep_client_get_ca_rollover_chain(c, &r);
		assert_int_equal(r.outcome, outcomes[i]);
		assert_int_equal(rc, outcomes[i] == SCEP_CLIENT_OK ? 0 : -1);
		if (rc == 0)
			assert_memory_equal(r.body, "-----BEGIN CERTIFICATE-----", 27);
		else
			assert_null(r.body);
		if (i == 2)
			assert_non_null(strstr(r.reason, "chain larger than"));
		char op[64];
		snapshot(NULL, NULL, op, NULL, NULL, NULL);
		assert_string_equal(op, "GetCARolloverChain");
		scep_client_reply_free(&r);
		scep_client_free(c);
	}
}

static void oversized_reply(void **state)
{
	scep_client *c = client("", 0, false);
	scep_client_reply r;
	bool chain;
	assert_int_equal(scep_client_get_ca_cert(c, "big", &r, &chain), -1);
	assert_int_equal(r.outcome, SCEP_CLIENT_BAD_REPLY);
	assert_string_equal(r.reason, "reply larger than 1048576 bytes");
	assert_null(r.body);
	scep_client_reply_free(&r);
	/* The aborted transfer leaves the handle usable. */
	assert_ca_cert(c, "ROOTCA", SCEP_CLIENT_OK);
	scep_client_free(c);
}

static void slow_server_times_out(void **state)
{
	scep_client *c = client("", 500, false);
	scep_client_reply r;
	bool chain;
	int64_t start = now_ms();
	assert_int_equal(scep_client_get_ca_cert(c, "slow", &r, &chain), -1);
	int64_t took = now_ms() - start;
	assert_int_equal(r.outcome, SCEP_CLIENT_UNREACHABLE);
	assert_true(took >= 400 && took < SLOW_SECONDS * 1000 - 200);
	assert_non_null(strstr(r.reason, "imeout"));
	scep_client_reply_free(&r);
	assert_ca_cert(c, "ROOTCA", SCEP_CLIENT_OK);
	scep_client_free(c);
}

static void connection_refused(void **state)
{
	/* A port bound but not listening: nothing can answer on it while we hold it. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t alen = sizeof(a);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(a.sin_port));
	scep_client *c = client_at(url, 0, false);
	scep_client_reply r;
	assert_int_equal(scep_client_get_ca_caps(c, &r), -1);
	assert_int_equal(r.outcome, SCEP_CLIENT_UNREACHABLE);
	assert_int_equal(r.http_status, 0);
	assert_true(strlen(r.reason) > 0);
	assert_null(r.body);
	scep_client_reply_free(&r);
	scep_client_free(c);
	close(fd);
}

static void pki_operation_both_transports(void **state)
{
	uint8_t msg[300];
	size_t len = tricky_message(msg, sizeof(msg));
	char *b64 = ec_b64_encode(msg, len);
	assert_non_null(b64);
	assert_non_null(strchr(b64, '+'));
	assert_non_null(strchr(b64, '/'));
	assert_non_null(strchr(b64, '='));
	free(b64);

	size_t big_len = 6000; /* a GET URL of several kilobytes, as routers send */
	uint8_t *big = malloc(big_len);
	assert_non_null(big);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (uint8_t)((i * 131u + 7u) ^ (i >> 3));

	scep_client *post = client("", 0, false);
	assert_echo(post, msg, len, "POST");
	assert_echo(post, big, big_len, "POST");
	scep_client *get = client("", 0, true);
	assert_echo(get, msg, len, "GET");
	assert_echo(get, big, big_len, "GET");

	int before, after;
	scep_client_reply r;
	snapshot(NULL, NULL, NULL, NULL, NULL, &before);
	assert_int_equal(scep_client_pki_operation(post, NULL, 0, &r), -1);
	assert_int_equal(r.outcome, SCEP_CLIENT_REFUSED);
	scep_client_reply_free(&r);
	snapshot(NULL, NULL, NULL, NULL, NULL, &after);
	assert_int_equal(before, after); /* nothing sent */
	free(big);
	scep_client_free(post);
	scep_client_free(get);
}

/* One client, one handle: every kind of exchange and failure in turn, several times over. */
static void sequential_calls_on_one_handle(void **state)
{
	scep_client *c = client("", 0, false);
	uint8_t msg[300];
	size_t len = tricky_message(msg, sizeof(msg));
	for (int round = 0; round < 5; round++) {
		scep_client_reply r;
		assert_int_equal(scep_client_get_ca_caps(c, &r), 0);
		scep_client_reply_free(&r);
		assert_ca_cert(c, "ROOTCA", SCEP_CLIENT_OK);
		assert_echo(c, msg, len, "POST");
		assert_ca_cert(c, "someone else", SCEP_CLIENT_REFUSED);
		assert_int_equal(scep_client_get_next_ca_cert(c, &r), -1);
		assert_int_equal(r.outcome, SCEP_CLIENT_UNAVAILABLE);
		scep_client_reply_free(&r);
		assert_ca_cert(c, "wrongtype", SCEP_CLIENT_BAD_REPLY);
		/* A GET after a POST on the same handle is a GET again. */
		assert_ca_cert(c, "ROOTCA", SCEP_CLIENT_OK);
		char method[8];
		snapshot(method, NULL, NULL, NULL, NULL, NULL);
		assert_string_equal(method, "GET");
	}
	scep_client_free(c);
}

/* ---- a raw server: canned replies, one per request, in order ---- */

typedef struct raw_server {
	int fd;
	int port;
	pthread_t thread;
	const char *const *replies; /* NULL-terminated; "STREAM <headers>" streams BIG_BODY bytes and closes */
	int accepts;
} raw_server;

/* Reads one request's header block; false on EOF or error. */
static bool raw_read_request(int fd)
{
	char buf[16384];
	size_t len = 0;
	while (len < sizeof(buf) - 1) {
		ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (n <= 0)
			return false;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL)
			return true;
	}
	return false;
}

static bool raw_send(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static void raw_stream(int fd, const char *headers)
{
	static char chunk[65536];
	if (!raw_send(fd, headers, strlen(headers)))
		return;
	for (size_t sent = 0; sent < BIG_BODY; sent += sizeof(chunk))
		if (!raw_send(fd, chunk, sizeof(chunk)))
			return;
}

static void *raw_main(void *arg)
{
	raw_server *s = arg;
	const char *const *next = s->replies;
	while (*next != NULL) {
		int conn = accept(s->fd, NULL, NULL);
		if (conn < 0)
			break;
		s->accepts++;
		while (*next != NULL && raw_read_request(conn)) {
			const char *reply = *next++;
			if (strncmp(reply, "STREAM ", 7) == 0) {
				raw_stream(conn, reply + 7);
				break;
			}
			if (!raw_send(conn, reply, strlen(reply)))
				break;
		}
		close(conn);
	}
	return NULL;
}

static void raw_start(raw_server *s, const char *const *replies)
{
	memset(s, 0, sizeof(*s));
	s->replies = replies;
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->fd, 8), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &alen), 0);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->thread, NULL, raw_main, s), 0);
}

/* Waits for the script to end (every reply sent); then accepts is stable. */
static void raw_stop(raw_server *s)
{
	pthread_join(s->thread, NULL);
	close(s->fd);
}

static scep_client *raw_client(const raw_server *s)
{
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", s->port);
	return client_at(url, 5000, false);
}

#define CAPS_200 "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nAES\n"

/* A client over libcurl keeps its connection alive from one call to the next; the helper makes
 * each exchange in a new process, so on a new connection. */
static void connections_per_transport(void **state)
{
	static const char *const replies[] = {CAPS_200, CAPS_200, CAPS_200, CAPS_200, NULL};
	raw_server s;
	raw_start(&s, replies);
	scep_client *c = raw_client(&s);
	for (int i = 0; i < 4; i++) {
		scep_client_reply r;
		assert_int_equal(scep_client_get_ca_caps(c, &r), 0);
		assert_int_equal(r.body_len, 4);
		assert_memory_equal(r.body, "AES\n", 4);
		scep_client_reply_free(&r);
	}
	raw_stop(&s);
	assert_int_equal(s.accepts, in_process ? 1 : 4);
	scep_client_free(c);
}

static void retry_after_forms(void **state)
{
	static const char *const replies[] = {
		"HTTP/1.1 503 Service Unavailable\r\nRetry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n"
		"Content-Length: 0\r\n\r\n",
		"HTTP/1.1 503 Service Unavailable\r\nretry-after:   45  \r\nContent-Length: 5\r\n\r\nbusy\n",
		"HTTP/1.1 503 Service Unavailable\r\nRetry-After: soon\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 503 Service Unavailable\r\nRetry-After: -5\r\nContent-Length: 0\r\n\r\n",
		NULL};
	static const int64_t want_seconds[] = {-1, 45, -1, -1};
	static const int64_t want_epoch[] = {1445412480, -1, -1, -1};
	raw_server s;
	raw_start(&s, replies);
	scep_client *c = raw_client(&s);
	for (int i = 0; i < 4; i++) {
		scep_client_reply r;
		assert_int_equal(scep_client_get_next_ca_cert(c, &r), -1);
		assert_int_equal(r.outcome, SCEP_CLIENT_UNAVAILABLE);
		assert_int_equal(r.retry_after_seconds, want_seconds[i]);
		assert_int_equal(r.retry_after_epoch, want_epoch[i]);
		scep_client_reply_free(&r);
	}
	raw_stop(&s);
	scep_client_free(c);
}

static void streamed_oversize_and_interim(void **state)
{
	static const char *const replies[] = {
		"STREAM HTTP/1.1 200 OK\r\nContent-Type: application/x-x509-next-ca-cert\r\nConnection: close\r\n\r\n",
		"HTTP/1.1 103 Early Hints\r\nRetry-After: 9\r\nContent-Type: text/html\r\n\r\n"
		"HTTP/1.1 200 OK\r\nContent-Type: application/x-x509-next-ca-cert\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 103 Early Hints\r\nContent-Type: text/html\r\n\r\n"
		"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nAES\n",
		NULL};
	raw_server s;
	raw_start(&s, replies);
	scep_client *c = raw_client(&s);
	scep_client_reply r;
	assert_int_equal(scep_client_get_next_ca_cert(c, &r), -1);
	assert_int_equal(r.outcome, SCEP_CLIENT_BAD_REPLY);
	assert_string_equal(r.reason, "reply larger than 1048576 bytes");
	scep_client_reply_free(&r);
	/* The 103's headers describe nothing of the final reply. */
	assert_int_equal(scep_client_get_next_ca_cert(c, &r), 0);
	assert_string_equal(r.content_type, "application/x-x509-next-ca-cert");
	assert_int_equal(r.retry_after_seconds, -1);
	assert_int_equal(r.body_len, 3);
	scep_client_reply_free(&r);
	assert_int_equal(scep_client_get_ca_caps(c, &r), 0);
	assert_string_equal(r.content_type, "");
	scep_client_reply_free(&r);
	raw_stop(&s);
	assert_int_equal(s.accepts, in_process ? 2 : 3);
	scep_client_free(c);
}

/* ---- the helper program missing or misbehaving ---- */

static void with_helper(const char *path)
{
	static char saved[4096];
	if (path == NULL) {
		setenv("EVERCERT_HTTP_HELPER", saved, 1);
		return;
	}
	snprintf(saved, sizeof(saved), "%s", getenv("EVERCERT_HTTP_HELPER"));
	setenv("EVERCERT_HTTP_HELPER", path, 1);
}

static void helper_missing(void **state)
{
	scep_client *c = NULL;
	ec_err err = {{0}};
	with_helper("/nonexistent/evercert-http");
	assert_int_equal(scep_client_new("http://127.0.0.1:1/", NULL, &c, &err), -1);
	with_helper(NULL);
	assert_null(c);
	assert_non_null(strstr(err.msg, "cannot run the HTTP client program /nonexistent/evercert-http"));

	/* Gone after the client was made: that exchange is unreachable, the next one works. */
	c = client("", 0, false);
	scep_client_reply r;
	with_helper("/nonexistent/evercert-http");
	assert_int_equal(scep_client_get_ca_caps(c, &r), -1);
	with_helper(NULL);
	assert_int_equal(r.outcome, SCEP_CLIENT_UNREACHABLE);
	assert_non_null(strstr(r.reason, "HTTP client program: cannot run"));
	scep_client_reply_free(&r);
	assert_int_equal(scep_client_get_ca_caps(c, &r), 0);
	scep_client_reply_free(&r);
	scep_client_free(c);
}

static void helper_misbehaves(void **state)
{
	/* Programs that are not evercert-http: one that ends without a word (before or after the
	 * request reached it), one that fails, one that writes text without end whatever it is
	 * asked (yes(1) itself refuses evercert-http's options). */
	char *dir = tu_tmpdir("impostor"), chatter[512];
	snprintf(chatter, sizeof(chatter), "%s/chatter", dir);
	FILE *f = fopen(chatter, "w");
	assert_non_null(f);
	fputs("#!/bin/sh\nexec yes\n", f);
	fclose(f);
	assert_int_equal(chmod(chatter, 0700), 0);
	const char *const impostors[] = {"/bin/true", "/bin/false", chatter, NULL};
	static const char *const said[] = {"did not read its request", "exited with status 1", "wrote more than", NULL};
	scep_client *c = client("", 0, false);
	for (int i = 0; impostors[i] != NULL; i++) {
		scep_client_reply r;
		with_helper(impostors[i]);
		assert_int_equal(scep_client_get_ca_caps(c, &r), -1);
		with_helper(NULL);
		assert_int_equal(r.outcome, SCEP_CLIENT_UNREACHABLE);
		assert_int_equal(r.http_status, 0);
		assert_null(r.body);
		if (strstr(r.reason, said[i]) == NULL)
			fail_msg("%s: reason '%s' lacks '%s'", impostors[i], r.reason, said[i]);
		scep_client_reply_free(&r);
	}
	scep_client *none = NULL;
	ec_err err = {{0}};
	with_helper("/bin/false");
	assert_int_equal(scep_client_new("http://127.0.0.1:1/", NULL, &none, &err), -1);
	with_helper(NULL);
	assert_non_null(strstr(err.msg, "--base failed"));
	scep_client_free(c);
	unlink(chatter);
	rmdir(dir);
	free(dir);
}

static const struct CMUnitTest helper_failures[] = {
	cmocka_unit_test(helper_missing),
	cmocka_unit_test(helper_misbehaves),
};

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bad_urls_refused),
		cmocka_unit_test(default_path),
		cmocka_unit_test(get_ca_cert_ok),
		cmocka_unit_test(message_escaped_and_refused),
		cmocka_unit_test(caps_ok_and_lenient),
		cmocka_unit_test(unavailable_with_retry_after),
		cmocka_unit_test(bad_replies),
		cmocka_unit_test(oversized_reply),
		cmocka_unit_test(rollover_chain),
		cmocka_unit_test(slow_server_times_out),
		cmocka_unit_test(connection_refused),
		cmocka_unit_test(pki_operation_both_transports),
		cmocka_unit_test(sequential_calls_on_one_handle),
		cmocka_unit_test(connections_per_transport),
		cmocka_unit_test(retry_after_forms),
		cmocka_unit_test(streamed_oversize_and_interim),
	};
	int failed = cmocka_run_group_tests_name("libcurl in-process", tests, start_in_process, stop_server);
	failed += cmocka_run_group_tests_name("evercert-http", tests, start_with_helper, stop_server);
	failed += cmocka_run_group_tests_name("evercert-http failures", helper_failures, start_with_helper, stop_server);
	return failed;
}
