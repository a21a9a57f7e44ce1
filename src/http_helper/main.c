/*
 * evercert-http: the HTTP client of evercertd, one SCEP exchange per run.
 *
 * evercertd starts it for every exchange with a CA and reads its result, so that the daemon
 * holding the keys never maps libcurl nor reads HTTP from the network itself. Standard input
 * carries one call and standard output one result, in the wire format of
 * scep_client/scep_http.h; with --base it only checks an enrollment URL. Not meant to be run by
 * hand.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scep_client/scep_client.h"
#include "scep_client/scep_http.h"
#include "util/buf.h"
#include "util/fsutil.h"

#define EXIT_BAD_URL 2
#define EXIT_USAGE 64

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: evercert-http\n"
	        "       evercert-http --base URL\n"
	        "\n"
	        "The HTTP client of evercertd, which runs it once per SCEP exchange with a CA: it reads\n"
	        "one request on standard input, makes it with libcurl and writes the result on standard\n"
	        "output, both in evercertd's own binary format. With --base, it prints the URL the\n"
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
	if (argc != 1 || isatty(STDIN_FILENO)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	return one_exchange();
}
