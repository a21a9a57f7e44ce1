/* GetCACaps parsing and the choice of digest and cipher. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "net/scep_client.h"

static scep_caps parse(const char *text)
{
	scep_caps c;
	scep_caps_parse((const uint8_t *)text, strlen(text), &c);
	return c;
}

static void ours(void **state)
{
	scep_caps c = parse("GetNextCACert\nRenewal\nSHA-1\nSHA-256\nSHA-512\nSHA-384\nAES\nDES3\nPOSTPKIOperation\nSCEPStandard\n");
	assert_true(c.get_next_ca_cert && c.renewal && c.post_pkioperation && c.scep_standard);
	assert_string_equal(scep_caps_best_digest(&c), "SHA-512");
	assert_string_equal(scep_caps_best_cipher(&c), "AES");
	char text[512];
	scep_caps_format(&c, text, sizeof(text));
	assert_non_null(strstr(text, "CA_CAP_GET_NEXT_CA_CERT CA_CAP_RENEWAL CA_CAP_SHA_1 CA_CAP_SHA_256"));
}

static void tolerant_reading(void **state)
{
	scep_caps c = parse("  renewal\r\nsha-256  \r\n\r\nDES3\r\nUnknownThing\n");
	assert_true(c.renewal);
	assert_true(c.sha256);
	assert_false(c.get_next_ca_cert);
	assert_string_equal(scep_caps_best_digest(&c), "SHA-256");
	assert_string_equal(scep_caps_best_cipher(&c), "DES3");
}

static void old_and_standard(void **state)
{
	scep_caps none = parse("");
	assert_string_equal(scep_caps_best_digest(&none), "SHA-1");
	assert_string_equal(scep_caps_best_cipher(&none), "DES");
	scep_caps std = parse("SCEPStandard");
	assert_true(std.aes && std.sha256 && std.post_pkioperation);
	assert_string_equal(scep_caps_best_cipher(&std), "AES");
}

static void urls(void **state)
{
	scep_client *c = NULL;
	ec_err err;
	assert_int_not_equal(scep_client_new("ftp://10.1.1.1/DB/", NULL, &c, &err), 0);
	assert_non_null(strstr(err.msg, "http"));
	assert_int_not_equal(scep_client_new("not a url", NULL, &c, &err), 0);
	assert_int_equal(scep_client_new("http://127.0.0.1:9", NULL, &c, &err), 0);
	/* Nothing listens on port 9 here: unreachable, retry later. */
	scep_client_reply r;
	assert_int_not_equal(scep_client_get_ca_caps(c, &r), 0);
	assert_int_equal(r.outcome, SCEP_CLIENT_UNREACHABLE);
	assert_true(strlen(r.reason) > 0);
	scep_client_reply_free(&r);
	scep_client_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(ours), cmocka_unit_test(tolerant_reading),
	                                   cmocka_unit_test(old_and_standard), cmocka_unit_test(urls)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
