/*
 * fuzz_http_wire.c - libFuzzer target for the wire between evercertd and evercert-http: the
 * first byte chooses the reader (even: a call, as evercert-http reads it from its standard input;
 * odd: a result, as evercertd reads it from the helper), the rest is its input. What is read is
 * written again and must read back the same. Seeds: tests/fuzz/corpus/http_wire/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scep_client/scep_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_text(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void call_round_trip(const uint8_t *data, size_t size)
{
	scep_http_call call, again;
	ec_err err;
	if (scep_http_wire_get_call(data, size, &call, &err) != 0)
		return;
	ec_buf b;
	ec_buf_init(&b, SCEP_HTTP_WIRE_CALL_MAX * 2);
	if (scep_http_wire_put_call(&b, &call) != 0 || scep_http_wire_get_call(b.data, b.len, &again, &err) != 0)
		abort();
	if (!same_text(call.base, again.base) || !same_text(call.operation, again.operation) ||
	    !same_text(call.message, again.message) || (call.post == NULL) != (again.post == NULL) ||
	    call.post_len != again.post_len || (call.post_len > 0 && memcmp(call.post, again.post, call.post_len) != 0) ||
	    call.connect_timeout_ms != again.connect_timeout_ms || call.total_timeout_ms != again.total_timeout_ms)
		abort();
	free((void *)again.base);
	free((void *)call.base);
	ec_buf_free(&b);
}

static void result_round_trip(const uint8_t *data, size_t size)
{
	scep_http_result res, again;
	ec_err err;
	if (scep_http_wire_get_result(data, size, &res, &err) != 0)
		return;
	ec_buf b;
	ec_buf_init(&b, 4 * 1024 * 1024);
	if (scep_http_wire_put_result(&b, &res) != 0 || scep_http_wire_get_result(b.data, b.len, &again, &err) != 0)
		abort();
	if (res.transferred != again.transferred || res.too_large != again.too_large ||
	    res.http_status != again.http_status || res.retry_after_seconds != again.retry_after_seconds ||
	    res.retry_after_epoch != again.retry_after_epoch || strcmp(res.content_type, again.content_type) != 0 ||
	    strcmp(res.error, again.error) != 0 || res.body_len != again.body_len ||
	    (res.body_len > 0 && memcmp(res.body, again.body, res.body_len) != 0))
		abort();
	scep_http_result_free(&again);
	scep_http_result_free(&res);
	ec_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] % 2 == 0)
		call_round_trip(data + 1, size - 1);
	else
		result_round_trip(data + 1, size - 1);
	return 0;
}
