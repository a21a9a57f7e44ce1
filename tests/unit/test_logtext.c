/* Log text escaping: nothing a client sends can end a log line or fake an escape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/logtext.h"

static void escapes_controls_backslash_and_high_bytes(void **state)
{
	char out[256];
	const char in[] = "GET /a\nb\rc\td\x1b[31m\x7f\\x0a \xc3\xa9\xe2\x80\xa8 ok";
	size_t n = ec_log_escape(in, sizeof(in) - 1, out, sizeof(out));
	assert_string_equal(out, "GET /a\\x0ab\\x0dc\\x09d\\x1b[31m\\x7f\\x5cx0a \\xc3\\xa9\\xe2\\x80\\xa8 ok");
	assert_int_equal(n, strlen(out));
	for (size_t i = 0; i < n; i++)
		assert_true(out[i] >= 0x20 && out[i] < 0x7f);
}

static void keeps_printable_ascii(void **state)
{
	char out[128];
	const char in[] = "request 7 from 10.0.0.1 for 'CN=a,O=b' (transaction x-1): granted {}~!";
	ec_log_escape(in, strlen(in), out, sizeof(out));
	assert_string_equal(out, in);
}

/* Bytes after a NUL are escaped too (the length, not the NUL, ends the text). */
static void embedded_nul(void **state)
{
	char out[64];
	ec_log_escape("a\0b", 3, out, sizeof(out));
	assert_string_equal(out, "a\\x00b");
}

/* A full buffer never holds half an escape, and is always terminated. */
static void truncates_on_whole_escapes(void **state)
{
	char out[8];
	size_t n = ec_log_escape("ab\n\ncd", 6, out, sizeof(out));
	assert_string_equal(out, "ab\\x0a");
	assert_int_equal(n, 6);
	n = ec_log_escape("abcdefghij", 10, out, sizeof(out));
	assert_string_equal(out, "abcdefg");
	assert_int_equal(n, 7);
	char one[1];
	assert_int_equal(ec_log_escape("x", 1, one, sizeof(one)), 0);
	assert_int_equal(one[0], '\0');
	assert_int_equal(ec_log_escape("x", 1, one, 0), 0);
}

/* The CA's decisions are audit lines at notice; failures warnings; the rest, requests included,
 * info. */
static void classifies_module_lines(void **state)
{
	static const struct {
		const char *line;
		int level;
		bool audit;
	} cases[] = {
		{"CA ROOTCA: request 3 from 127.0.0.1 for 'CN=a' (enrollment, transaction t): granted: certificate 05 "
		 "issued by CA 01", EC_LOG_NOTICE, true},
		{"CA ROOTCA: PKCSReq from 127.0.0.1 (transaction t) refused: badRequest: key too small", EC_LOG_NOTICE,
		 true},
		{"CA ROOTCA: certificate 05 revoked by the operator", EC_LOG_NOTICE, true},
		{"CA ROOTCA: request 4 granted by the operator", EC_LOG_NOTICE, true},
		{"CA ROOTCA: shadow CA successfully created, serial 09", EC_LOG_NOTICE, true},
		{"CA ROOTCA: CA certificate 01 expired; rollover CA certificate 09 is now active", EC_LOG_NOTICE, true},
		{"CA ROOTCA: request from 1.2.3.4 for 'CN=x' could not be issued: disk full", EC_LOG_WARNING, false},
		{"CA ROOTCA: cannot write /x: denied", EC_LOG_WARNING, false},
		{"CA ROOTCA: shared store: this node is n1", EC_LOG_INFO, false},
		{"http 127.0.0.1 GET /cgi-bin/pkiclient.exe operation=GetCACert -> 200 (900 bytes)", EC_LOG_INFO, false},
		/* A client's name that reads like a decision does not make a trustpoint's line one. */
		{"trustpoint TP: certificate 'CN=x revoked by the operator' installed", EC_LOG_INFO, false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ec_log_class c = ec_log_classify(cases[i].line);
		if (c.level != cases[i].level || c.audit != cases[i].audit)
			fail_msg("%s: level %d audit %d", cases[i].line, c.level, c.audit);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(escapes_controls_backslash_and_high_bytes),
		cmocka_unit_test(keeps_printable_ascii),
		cmocka_unit_test(embedded_nul),
		cmocka_unit_test(truncates_on_whole_escapes),
		cmocka_unit_test(classifies_module_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
