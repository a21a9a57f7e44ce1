/* The trustpoint state file: round trip, strictness, bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "client/tp_record.h"

static void round_trip(void **state)
{
	tp_record r;
	tp_record_init(&r);
	r.m.phase = TP_PHASE_POLLING;
	r.m.authenticated = true;
	r.m.renew_at = INT64_C(1444396456000);
	r.m.poll_interval = 120000;
	r.m.cert_ca_not_after = INT64_C(1507554856000);
	r.key_slot = 'b';
	r.caps = 0x8123;
	snprintf(r.txid, sizeof(r.txid), "ABCDEF0123");
	snprintf(r.request_subject, sizeof(r.request_subject), "CN=spoke-1,O=Example Org");
	snprintf(r.last_result, sizeof(r.last_result), "request pending at the CA (poll 2)");
	static const uint8_t der[] = {0x30, 0x03, 0x02, 0x01, 0x2b};
	assert_int_equal(tp_record_set_blob(&r, TP_BLOB_CA, der, sizeof(der)), 0);
	ec_buf b;
	ec_buf_init(&b, TP_RECORD_MAX);
	assert_int_equal(tp_record_format(&r, &b), 0);
	tp_record back;
	ec_err err;
	assert_int_equal(tp_record_parse(b.data, b.len, &back, &err), 0);
	assert_int_equal(back.m.phase, TP_PHASE_POLLING);
	assert_true(back.m.authenticated);
	assert_false(back.m.enrolled);
	assert_int_equal(back.m.renew_at, INT64_C(1444396456000));
	assert_int_equal(back.m.poll_at, TP_NEVER);
	assert_int_equal(back.m.poll_interval, 120000);
	assert_int_equal(back.m.cert_ca_not_after, INT64_C(1507554856000));
	assert_int_equal(back.key_slot, 'b');
	assert_int_equal(back.caps, 0x8123);
	assert_string_equal(back.txid, "ABCDEF0123");
	assert_string_equal(back.request_subject, "CN=spoke-1,O=Example Org");
	assert_string_equal(back.last_result, "request pending at the CA (poll 2)");
	assert_int_equal(back.blob_len[TP_BLOB_CA], sizeof(der));
	assert_memory_equal(back.blob[TP_BLOB_CA], der, sizeof(der));
	assert_null(back.blob[TP_BLOB_CERT]);
	tp_record_free(&back);
	tp_record_free(&r);
	ec_buf_free(&b);
}

static void refuses_what_it_did_not_write(void **state)
{
	static const char *const bad[] = {
		"",
		"not a state file\n",
		"evercert-trustpoint 1\nphase two\n",
		"evercert-trustpoint 1\nfrobnicate 1\n",
		"evercert-trustpoint 1\nkey-slot c\n",
		"evercert-trustpoint 1\nca-cert %%%%\n",
		"evercert-trustpoint 1\nrenew-at 99999999999999999999999\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tp_record r;
		ec_err err;
		if (tp_record_parse((const uint8_t *)bad[i], strlen(bad[i]), &r, &err) == 0)
			fail_msg("accepted: %s", bad[i]);
		assert_true(strlen(err.msg) > 0);
	}
	tp_record r;
	ec_err err;
	static const char with_nul[] = "evercert-trustpoint 1\nphase 0\0\n";
	assert_int_not_equal(tp_record_parse((const uint8_t *)with_nul, sizeof(with_nul) - 1, &r, &err), 0);
	/* An error names its line. */
	static const char late[] = "evercert-trustpoint 1\nphase 1\nbogus 2\n";
	assert_int_not_equal(tp_record_parse((const uint8_t *)late, strlen(late), &r, &err), 0);
	assert_non_null(strstr(err.msg, "line 3"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(round_trip), cmocka_unit_test(refuses_what_it_did_not_write)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
