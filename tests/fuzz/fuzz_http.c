/*
 * fuzz_http.c - libFuzzer target for what the CA reads from an HTTP request once
 * libmicrohttpd has split it: method, path, the operation= and message= query values and the
 * body, routed through scep_router into a real certificate server (its own key and store in a
 * temporary directory, `grant none` so that nothing is issued). Input: "METHOD\nPATH\nOPERATION
 * \nMESSAGE\nBODY"; a missing line is an absent value. Seeds: tests/fuzz/corpus/http/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ca/ca.h"
#include "clock/clock.h"
#include "config/config.h"
#include "http_server/scep_router.h"
#include "scep/scep.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static cfg_config *fuzz_cfg;
static ca_engine *fuzz_ca;
static ec_clock *fuzz_clock;
static scep_router fuzz_router;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	static const char text[] = "crypto pki server ROOTCA\n grant none\n lifetime crl 24\n";
	char dir[] = "/tmp/evercert-fuzz-http.XXXXXX";
	ec_err err;
	if (scep_init(&err) != 0 || mkdtemp(dir) == NULL ||
	    cfg_parse((const uint8_t *)text, sizeof(text) - 1, &fuzz_cfg, &err) != 0)
		abort();
	fuzz_clock = ec_clock_new_simulated(1700000000000LL, 0);
	ca_env env = {.state_dir = dir, .default_key_bits = 1024, .rollover_key_bits = 1024};
	if (fuzz_clock == NULL || ca_open(&fuzz_cfg->servers[0], &env, ec_clock_now(fuzz_clock), &fuzz_ca, &err) != 0)
		abort();
	fuzz_router = (scep_router){&fuzz_ca, 1, fuzz_clock, NULL, NULL};
	return 0;
}

/* The next line of [*p, end) as a NUL-terminated copy in out (NULL when the input ended). */
static const char *next_line(const uint8_t **p, const uint8_t *end, char *out, size_t outsz)
{
	if (*p >= end)
		return NULL;
	const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n = (size_t)((nl ? nl : end) - *p);
	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, *p, n);
	out[n] = '\0';
	*p = nl ? nl + 1 : end;
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char method[16], path[1024], operation[256], message[16384];
	const uint8_t *p = data, *end = data + size;
	const char *m = next_line(&p, end, method, sizeof(method));
	const char *pa = next_line(&p, end, path, sizeof(path));
	const char *op = next_line(&p, end, operation, sizeof(operation));
	const char *msg = next_line(&p, end, message, sizeof(message));
	http_request req = {
		.method = m ? m : "GET",
		.path = pa ? pa : "/",
		.operation = op,
		.message = msg,
		.body = p,
		.body_len = (size_t)(end - p),
		.peer = "192.0.2.1",
		.http_version = "HTTP/1.1",
	};
	http_response resp = {.status = 0, .retry_after = -1};
	scep_router_handle(&fuzz_router, &req, &resp);
	if (resp.status < 200 || resp.status > 599)
		__builtin_trap(); /* every request gets a real status */
	free(resp.body);
	return 0;
}
