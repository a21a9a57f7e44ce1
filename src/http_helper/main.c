/*
 * evercert-http: the HTTP client of evercertd, one SCEP exchange per run.
 *
 * evercertd starts it for its exchanges with CAs and reads their results, so that the daemon
 * holding the keys never maps libcurl nor reads HTTP from the network itself. Standard input
 * carries one call and standard output one result, in the wire format of
 * scep_client/scep_http.h; with --serve, one framed call after another on the same standard
 * input and output (each its own connection), until the input ends or stays silent for
 * SCEP_HTTP_SERVE_IDLE_MS; with --base it only checks an enrollment URL. Not meant to be run by
 * hand.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scep_client/scep_client.h"
#include "scep_client/scep_http.h"
#include "util/buf.h"
#include "util/fsutil.h"
#include "util/task.h"

#define EXIT_BAD_URL 2
#define EXIT_USAGE 64

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: evercert-http\n"
	        "       evercert-http --serve\n"
	        "       evercert-http --base URL\n"
	        "\n"
	        "The HTTP client of evercertd, which runs it once per SCEP exchange with a CA: it reads\n"
	        "one request on standard input, makes it with libcurl and writes the result on standard\n"
	        "output, both in evercertd's own binary format; with --serve, one request after another,\n"
	        "each preceded by its length, until its input ends. With --base, it prints the URL the\n"
	        "exchanges with an `enrollment url` will use (exit 0), or why that URL cannot be used\n"
	        "(exit 2). Not meant to be run by hand.\n");
}

static int check_base(const char *url)
{
	ec_err err = {{0}};
	char base[2048];
	if (scep_http_curl_global_init(&err) != 0 ||
	    scep_http_curl_transport.base(url, base, sizeof(base), &err) != 0) {
		printf("%s", err.msg);
		return EXIT_BAD_URL;
	}
	printf("%s", base);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* Makes one call over its own connection; -1 (err set) when no result could be written. */
static int exchange(const scep_http_call *call, ec_buf *out, ec_err *err)
{
	void *state = NULL;
	scep_http_result res;
	scep_http_result_init(&res);
	int rc = -1;
	if (scep_http_curl_global_init(err) != 0 || scep_http_curl_transport.open(&state, err) != 0)
		goto out;
	scep_http_curl_transport.exchange(state, call, &res);
	if (scep_http_wire_put_result(out, &res) != 0)
		ec_err_set(err, "result too large");
	else
		rc = 0;
out:
	if (state != NULL)
		scep_http_curl_transport.close(state);
	scep_http_result_free(&res);
	return rc;
}

/* Reads exactly len bytes; 1 when the input ended before the first, -1 on failure or an end
 * within them or silence for idle_ms (-1: none) before the first. */
static int read_exactly(void *buf, size_t len, int idle_ms)
{
	size_t got = 0;
	while (got < len) {
		if (got == 0 && idle_ms >= 0 && ec_wait_fd(STDIN_FILENO, POLLIN, idle_ms) == 0)
			return 1; /* silent too long: as good as an end */
		ssize_t r = read(STDIN_FILENO, (uint8_t *)buf + got, len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0 && got == 0)
			return 1;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* Appends exactly len bytes of input to b; -1 on failure or an early end. */
static int read_into(ec_buf *b, size_t len)
{
	uint8_t chunk[16384];
	while (len > 0) {
		size_t want = len < sizeof(chunk) ? len : sizeof(chunk);
		if (read_exactly(chunk, want, -1) != 0 || ec_buf_append(b, chunk, want) != 0)
			return -1;
		len -= want;
	}
	return 0;
}

/* --serve: framed calls until the input ends. */
static int serve(void)
{
	ec_buf in, out;
	ec_buf_init(&in, SCEP_HTTP_WIRE_CALL_MAX);
	ec_buf_init(&out, SCEP_CLIENT_REPLY_MAX + 4096);
	int rc = 1;
	for (;;) {
		uint32_t len;
		int r = read_exactly(&len, sizeof(len), SCEP_HTTP_SERVE_IDLE_MS);
		if (r == 1) {
			rc = 0;
			break;
		}
		ec_err err = {{0}};
		scep_http_call call = {0};
		ec_buf_reset(&in);
		ec_buf_reset(&out);
		if (r != 0 || len > SCEP_HTTP_WIRE_CALL_MAX || read_into(&in, len) != 0) {
			fprintf(stderr, "evercert-http: cannot read the request\n");
			break;
		}
		if (scep_http_wire_get_call(in.data, in.len, &call, &err) != 0 || exchange(&call, &out, &err) != 0) {
			fprintf(stderr, "evercert-http: %s\n", err.msg);
			free((void *)call.base);
			break;
		}
		free((void *)call.base);
		uint32_t n = (uint32_t)out.len;
		if (ec_write_all(STDOUT_FILENO, &n, sizeof(n)) != 0 || ec_write_all(STDOUT_FILENO, out.data, out.len) != 0)
			break;
	}
	ec_buf_free(&in);
	ec_buf_free(&out);
	return rc;
}

static int one_exchange(void)
{
	ec_err err = {{0}};
	ec_buf in, out;
	ec_buf_init(&in, SCEP_HTTP_WIRE_CALL_MAX + 4096);
	ec_buf_init(&out, SCEP_CLIENT_REPLY_MAX + 4096);
	scep_http_call call = {0};
	scep_http_result res;
	scep_http_result_init(&res);
	void *state = NULL;
	int rc = 1;
	for (;;) {
		uint8_t chunk[16384];
		ssize_t r = read(STDIN_FILENO, chunk, sizeof(chunk));
		if (r == 0)
			break;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || ec_buf_append(&in, chunk, (size_t)r) != 0) {
			fprintf(stderr, "evercert-http: cannot read the request: %s\n", r < 0 ? strerror(errno) : "too large");
			goto out;
		}
	}
	if (scep_http_wire_get_call(in.data, in.len, &call, &err) != 0) {
		fprintf(stderr, "evercert-http: bad request: %s\n", err.msg);
		goto out;
	}
	if (scep_http_curl_global_init(&err) != 0 || scep_http_curl_transport.open(&state, &err) != 0) {
		fprintf(stderr, "evercert-http: %s\n", err.msg);
		goto out;
	}
	scep_http_curl_transport.exchange(state, &call, &res);
	if (scep_http_wire_put_result(&out, &res) != 0 || ec_write_all(STDOUT_FILENO, out.data, out.len) != 0) {
		fprintf(stderr, "evercert-http: cannot write the result: %s\n", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (state != NULL)
		scep_http_curl_transport.close(state);
	free((void *)call.base);
	scep_http_result_free(&res);
	ec_buf_free(&in);
	ec_buf_free(&out);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "--base") == 0)
		return check_base(argv[2]);
	if (argc == 2 && strcmp(argv[1], "--serve") == 0)
		return serve();
	if (argc != 1 || isatty(STDIN_FILENO)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	return one_exchange();
}
