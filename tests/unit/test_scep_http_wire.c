/*
 * The wire between evercertd and evercert-http: round trips of calls and results, and every way
 * a reader must refuse (each truncation, a trailing byte, another version, a NUL inside text,
 * fields over their limits) without handing anything back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scep_client/scep_client.h"
#include "scep_client/scep_http.h"

static const uint8_t POST[] = {0x30, 0x82, 0x00, 0x00, 0x0d, 0x0a, 0xff};

static ec_buf encode_call(const scep_http_call *call)
{
	ec_buf b;
	ec_buf_init(&b, SCEP_HTTP_WIRE_CALL_MAX * 2);
	assert_int_equal(scep_http_wire_put_call(&b, call), 0);
	return b;
}

static ec_buf encode_result(const scep_http_result *res)
{
	ec_buf b;
	ec_buf_init(&b, SCEP_CLIENT_REPLY_MAX * 2);
	assert_int_equal(scep_http_wire_put_result(&b, res), 0);
	return b;
}

static void call_round_trip(void **state)
{
	scep_http_call calls[] = {
		{.base = "http://ca.example:8080/cgi-bin/pkiclient.exe", .operation = "GetCACert", .message = "My CA&x=1",
		 .connect_timeout_ms = 5000, .total_timeout_ms = 20000},
		{.base = "https://ca.example/scep", .operation = "PKIOperation", .post = POST, .post_len = sizeof(POST),
		 .connect_timeout_ms = 1, .total_timeout_ms = 3600000},
		{.base = "", .operation = "GetCACaps", .message = "", .post = (const uint8_t *)"", .post_len = 0,
		 .connect_timeout_ms = 2, .total_timeout_ms = 3},
	};
	/* PKIOperation by GET: message= is a whole base64 pkiMessage, tens of kilobytes with a big key. */
	static char big_message[40000];
	memset(big_message, 'A', sizeof(big_message) - 1);
	calls[1].message = big_message;
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		ec_buf b = encode_call(&calls[i]);
		scep_http_call got;
		ec_err err;
		assert_int_equal(scep_http_wire_get_call(b.data, b.len, &got, &err), 0);
		assert_string_equal(got.base, calls[i].base);
		assert_string_equal(got.operation, calls[i].operation);
		if (calls[i].message == NULL)
			assert_null(got.message);
		else
			assert_string_equal(got.message, calls[i].message);
		assert_int_equal(got.post == NULL, calls[i].post == NULL);
		assert_int_equal(got.post_len, calls[i].post_len);
		if (got.post_len > 0)
			assert_memory_equal(got.post, calls[i].post, got.post_len);
		assert_int_equal(got.connect_timeout_ms, calls[i].connect_timeout_ms);
		assert_int_equal(got.total_timeout_ms, calls[i].total_timeout_ms);
		free((void *)got.base);
		ec_buf_free(&b);
	}
}

static void result_round_trip(void **state)
{
	scep_http_result res;
	scep_http_result_init(&res);
	res.transferred = true;
	res.http_status = 503;
	res.retry_after_seconds = 120;
	snprintf(res.content_type, sizeof(res.content_type), "text/plain");
	res.body = (uint8_t *)strdup("no rollover certificate yet\n");
	res.body_len = strlen((char *)res.body);
	ec_buf b = encode_result(&res);
	scep_http_result got;
	ec_err err;
	assert_int_equal(scep_http_wire_get_result(b.data, b.len, &got, &err), 0);
	assert_true(got.transferred);
	assert_false(got.too_large);
	assert_int_equal(got.http_status, 503);
	assert_int_equal(got.retry_after_seconds, 120);
	assert_int_equal(got.retry_after_epoch, -1);
	assert_string_equal(got.content_type, "text/plain");
	assert_string_equal(got.error, "");
	assert_int_equal(got.body_len, res.body_len);
	assert_memory_equal(got.body, res.body, res.body_len);
	assert_int_equal(got.body[got.body_len], '\0'); /* error bodies are read as text */
	scep_http_result_free(&got);
	scep_http_result_free(&res);
	ec_buf_free(&b);

	/* No HTTP answer: no body, the reason in error. */
	scep_http_result_init(&res);
	snprintf(res.error, sizeof(res.error), "Couldn't connect to server");
	b = encode_result(&res);
	assert_int_equal(scep_http_wire_get_result(b.data, b.len, &got, &err), 0);
	assert_false(got.transferred);
	assert_null(got.body);
	assert_string_equal(got.error, "Couldn't connect to server");
	ec_buf_free(&b);
}

/* Every proper prefix, and the whole with one more byte, are refused. */
static void truncations_and_trailing_bytes(void **state)
{
	scep_http_call call = {.base = "http://ca", .operation = "PKIOperation", .message = "m", .post = POST,
	                       .post_len = sizeof(POST), .connect_timeout_ms = 5, .total_timeout_ms = 5};
	ec_buf b = encode_call(&call);
	scep_http_call got;
	ec_err err;
	for (size_t n = 0; n < b.len; n++)
		assert_int_equal(scep_http_wire_get_call(b.data, n, &got, &err), -1);
	assert_int_equal(ec_buf_append(&b, "x", 1), 0);
	assert_int_equal(scep_http_wire_get_call(b.data, b.len, &got, &err), -1);
	assert_non_null(strstr(err.msg, "after the call"));
	ec_buf_free(&b);

	scep_http_result res;
	scep_http_result_init(&res);
	res.transferred = true;
	res.http_status = 200;
	res.body = (uint8_t *)strdup("abc");
	res.body_len = 3;
	b = encode_result(&res);
	scep_http_result r;
	for (size_t n = 0; n < b.len; n++)
		assert_int_equal(scep_http_wire_get_result(b.data, n, &r, &err), -1);
	assert_int_equal(ec_buf_append(&b, "x", 1), 0);
	assert_int_equal(scep_http_wire_get_result(b.data, b.len, &r, &err), -1);
	scep_http_result_free(&res);
	ec_buf_free(&b);
}

static void malformed_fields_refused(void **state)
{
	ec_err err;
	scep_http_call got;
	/* Another version of the format. */
	scep_http_call call = {.base = "http://ca", .operation = "GetCACaps", .connect_timeout_ms = 5, .total_timeout_ms = 5};
	ec_buf b = encode_call(&call);
	b.data[3] = '2';
	assert_int_equal(scep_http_wire_get_call(b.data, b.len, &got, &err), -1);
	assert_non_null(strstr(err.msg, "version"));
	ec_buf_free(&b);
	/* A NUL inside the base URL. */
	b = encode_call(&call);
	uint8_t *at = memchr(b.data, 'h', b.len);
	*at = '\0';
	assert_int_equal(scep_http_wire_get_call(b.data, b.len, &got, &err), -1);
	ec_buf_free(&b);
	/* Timeouts out of range. */
	call.total_timeout_ms = 0;
	b = encode_call(&call);
	assert_int_equal(scep_http_wire_get_call(b.data, b.len, &got, &err), -1);
	ec_buf_free(&b);
	/* No operation. */
	call.total_timeout_ms = 5;
	call.operation = NULL;
	b = encode_call(&call);
	assert_int_equal(scep_http_wire_get_call(b.data, b.len, &got, &err), -1);
	ec_buf_free(&b);

	scep_http_result res, r;
	scep_http_result_init(&res);
	res.http_status = 1000; /* not an HTTP status */
	b = encode_result(&res);
	assert_int_equal(scep_http_wire_get_result(b.data, b.len, &r, &err), -1);
	ec_buf_free(&b);
	res.http_status = 200;
	b = encode_result(&res);
	b.data[4] = 2; /* a flag that is neither 0 nor 1 */
	assert_int_equal(scep_http_wire_get_result(b.data, b.len, &r, &err), -1);
	ec_buf_free(&b);
	/* A body over the client's cap. */
	res.body = calloc(1, SCEP_CLIENT_REPLY_MAX + 1);
	assert_non_null(res.body);
	res.body_len = SCEP_CLIENT_REPLY_MAX + 1;
	b = encode_result(&res);
	assert_int_equal(scep_http_wire_get_result(b.data, b.len, &r, &err), -1);
	ec_buf_free(&b);
	scep_http_result_free(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(call_round_trip),
		cmocka_unit_test(result_round_trip),
		cmocka_unit_test(truncations_and_trailing_bytes),
		cmocka_unit_test(malformed_fields_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
