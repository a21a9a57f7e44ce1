/* GetCACaps parsing and formatting, and the choice of digest and cipher within what a trustpoint
 * allows (the client's exchanges over HTTP are in test_scep_client.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "scep/scep_caps.h"

static scep_caps parse(const char *text)
{
	scep_caps c;
	memset(&c, 0xff, sizeof(c)); /* parse must clear what it does not set */
	scep_caps_parse((const uint8_t *)text, strlen(text), &c);
	return c;
}

/* What a trustpoint allows by default: neither MD5 nor single DES. */
static const scep_allowed DEFAULTS = {.sha1 = true, .sha256 = true, .sha384 = true, .sha512 = true,
                                      .des3 = true, .aes = true};

static void expect_choice(const scep_caps *c, const scep_allowed *allowed, const char *md, const char *cipher)
{
	const char *got_md = NULL, *got_cipher = NULL;
	ec_err err = {""};
	if (scep_caps_choose(c, allowed, &got_md, &got_cipher, &err) != 0)
		fail_msg("no choice: %s", err.msg);
	assert_string_equal(got_md, md);
	assert_string_equal(got_cipher, cipher);
}

static void expect_no_choice(const scep_caps *c, const scep_allowed *allowed, const char *mention)
{
	const char *md = NULL, *cipher = NULL;
	ec_err err = {""};
	assert_int_equal(scep_caps_choose(c, allowed, &md, &cipher, &err), -1);
	if (strstr(err.msg, mention) == NULL)
		fail_msg("reason \"%s\" does not mention \"%s\"", err.msg, mention);
}

static void ours(void **state)
{
	scep_caps c = parse("GetNextCACert\nRenewal\nSHA-1\nSHA-256\nSHA-512\nSHA-384\nAES\nDES3\nPOSTPKIOperation\nSCEPStandard\n");
	assert_true(c.get_next_ca_cert && c.renewal && c.post_pkioperation && c.scep_standard);
	expect_choice(&c, &DEFAULTS, "SHA-512", "AES");
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
	expect_choice(&c, &DEFAULTS, "SHA-256", "DES3");
}

/* A CA that advertises nothing (or no GetCACaps at all): RFC 8894's mandatory algorithms, not
 * the MD5 and single DES older drafts assumed. */
static void old_and_standard(void **state)
{
	scep_caps none = parse("");
	expect_choice(&none, &DEFAULTS, "SHA-256", "AES");
	scep_caps std = parse("SCEPStandard");
	assert_true(std.aes && std.sha256 && std.post_pkioperation);
	expect_choice(&std, &DEFAULTS, "SHA-256", "AES");
	scep_caps old = parse("DES3\nSHA-1\n");
	expect_choice(&old, &DEFAULTS, "SHA-1", "DES3");
}

/* Whatever an unauthenticated GetCACaps answer claims, a trustpoint that does not name MD5 or
 * single DES never uses them. */
static void never_des_or_md5_by_default(void **state)
{
	static const char *const claims[] = {"DES\nMD5\n", "DES\n", "MD5\n", "GetNextCACert\nRenewal\nDES\nMD5",
	                                     "", "MD4\nRC2\nDES-ECB\n", "SHA-1\nDES\n", "DES3\nMD5\n"};
	for (size_t i = 0; i < sizeof(claims) / sizeof(claims[0]); i++) {
		scep_caps c = parse(claims[i]);
		const char *md = NULL, *cipher = NULL;
		ec_err err = {""};
		assert_int_equal(scep_caps_choose(&c, &DEFAULTS, &md, &cipher, &err), 0);
		assert_string_not_equal(md, "MD5");
		assert_string_not_equal(cipher, "DES");
	}
	scep_caps legacy = parse("DES\nMD5\n");
	expect_choice(&legacy, &DEFAULTS, "SHA-256", "AES");
	assert_string_equal(scep_caps_best_digest(&legacy), "SHA-256");
	assert_string_equal(scep_caps_best_cipher(&legacy), "AES");
	scep_caps sha1_des = parse("SHA-1\nDES\n");
	expect_choice(&sha1_des, &DEFAULTS, "SHA-1", "AES");
}

/* The trustpoint's own lists: the strongest of them the CA advertises; else RFC 8894's
 * mandatory ones if listed; else, for a CA naming no algorithm at all, the old MD5 and DES if
 * listed; else a clear error. */
static void trustpoint_lists(void **state)
{
	scep_caps none = parse("");
	scep_caps sha256_aes = parse("SHA-256\nAES\n");
	scep_caps des3 = parse("DES3\nSHA-1\n");

	scep_allowed sha1_only = DEFAULTS;
	sha1_only.sha256 = sha1_only.sha384 = sha1_only.sha512 = false;
	expect_choice(&des3, &sha1_only, "SHA-1", "DES3");
	expect_no_choice(&sha256_aes, &sha1_only, "no digest this trustpoint may use (hash sha1)");
	expect_no_choice(&none, &sha1_only, "SHA-256");

	scep_allowed legacy = {.md5 = true, .des = true};
	expect_choice(&none, &legacy, "MD5", "DES");
	expect_no_choice(&sha256_aes, &legacy, "(hash md5)"); /* it names better ones: not a legacy CA */
	scep_allowed with_des = DEFAULTS;
	with_des.des = with_des.md5 = true;
	expect_choice(&des3, &with_des, "SHA-1", "DES3"); /* the strongest advertised, never DES */
	expect_choice(&none, &with_des, "SHA-256", "AES"); /* RFC 8894's before the old defaults */
	scep_caps des_claimed = parse("DES\nMD5\n");
	expect_choice(&des_claimed, &with_des, "SHA-256", "AES");

	scep_allowed only_3des = DEFAULTS;
	only_3des.aes = false;
	expect_choice(&des3, &only_3des, "SHA-1", "DES3");
	expect_no_choice(&sha256_aes, &only_3des, "no cipher this trustpoint may use (encryption 3des), and AES");
	expect_no_choice(&none, &only_3des, "encryption 3des");
}

static void caps_parse_cases(void **state)
{
	scep_caps c = parse("POSTPKIOperation\nGetNextCACert\nRenewal\nSHA-1\nSHA-256\nSHA-384\nSHA-512\nAES\nDES3\n");
	assert_true(c.post_pkioperation && c.get_next_ca_cert && c.renewal && c.sha1 && c.sha256);
	assert_true(c.sha384 && c.sha512 && c.aes && c.des3);
	assert_false(c.scep_standard);

	c = parse("  sha-512 \r\rdes3\r\nrenewal\t\r\n");
	assert_true(c.sha512 && c.des3 && c.renewal);
	assert_false(c.sha1 || c.sha256 || c.sha384 || c.aes || c.post_pkioperation || c.get_next_ca_cert);

	c = parse("SHA-2560\nAESX\nSHA\nRenewal2\nGetNextCACert extra\nDES\nMD5\n");
	assert_false(c.sha256 || c.aes || c.renewal || c.get_next_ca_cert || c.sha1 || c.des3);

	c = parse("");
	assert_false(c.sha1 || c.sha256 || c.aes || c.des3 || c.renewal || c.scep_standard);

	c = parse("SCEPStandard");
	assert_true(c.scep_standard && c.aes && c.sha256 && c.post_pkioperation);
	assert_false(c.sha512 || c.des3 || c.renewal || c.get_next_ca_cert);

	/* Only the given length is read. */
	scep_caps d;
	scep_caps_parse((const uint8_t *)"AES\nSHA-512", 4, &d);
	assert_true(d.aes);
	assert_false(d.sha512);
}

static void caps_best_choices(void **state)
{
	scep_caps c;
	memset(&c, 0, sizeof(c));
	/* RFC 8894's mandatory ones: never MD5 or single DES. */
	assert_string_equal(scep_caps_best_digest(&c), "SHA-256");
	assert_string_equal(scep_caps_best_cipher(&c), "AES");
	c.sha1 = true;
	assert_string_equal(scep_caps_best_digest(&c), "SHA-1");
	c.sha256 = true;
	assert_string_equal(scep_caps_best_digest(&c), "SHA-256");
	c.sha384 = true;
	assert_string_equal(scep_caps_best_digest(&c), "SHA-384");
	c.sha512 = true;
	assert_string_equal(scep_caps_best_digest(&c), "SHA-512");
	c.des3 = true;
	assert_string_equal(scep_caps_best_cipher(&c), "DES3");
	c.aes = true;
	assert_string_equal(scep_caps_best_cipher(&c), "AES");
	c.des3 = false;
	assert_string_equal(scep_caps_best_cipher(&c), "AES");

	scep_caps std = parse("SCEPStandard\n");
	assert_string_equal(scep_caps_best_digest(&std), "SHA-256");
	assert_string_equal(scep_caps_best_cipher(&std), "AES");
	scep_caps old = parse("DES3\nSHA-1\n");
	assert_string_equal(scep_caps_best_digest(&old), "SHA-1");
	assert_string_equal(scep_caps_best_cipher(&old), "DES3");
}

static void caps_format(void **state)
{
	char text[512];
	scep_caps all = parse("GetNextCACert\nRenewal\nSHA-1\nSHA-256\nSHA-384\nSHA-512\nAES\nDES3\n"
	                      "POSTPKIOperation\nSCEPStandard\n");
	scep_caps_format(&all, text, sizeof(text));
	assert_string_equal(text, "CA_CAP_GET_NEXT_CA_CERT CA_CAP_RENEWAL CA_CAP_SHA_1 CA_CAP_SHA_256 CA_CAP_SHA_384 "
	                          "CA_CAP_SHA_512 CA_CAP_AES CA_CAP_DES3 CA_CAP_POST_PKIOPERATION CA_CAP_SCEP_STANDARD");
	scep_caps some = parse("Renewal\nSHA-256\n");
	scep_caps_format(&some, text, sizeof(text));
	assert_string_equal(text, "CA_CAP_RENEWAL CA_CAP_SHA_256");
	scep_caps none = parse("");
	scep_caps_format(&none, text, sizeof(text));
	assert_string_equal(text, "");
	char small[10];
	scep_caps_format(&all, small, sizeof(small));
	assert_true(strlen(small) < sizeof(small));
	assert_int_equal(strncmp(small, "CA_CAP_GE", strlen(small)), 0);
}

/* The stored bits keep their values (state files hold them) and give back what was parsed. */
static void caps_bits(void **state)
{
	(void)state;
	static const char text[] = "GetNextCACert\nRenewal\nSHA-256\nAES\n";
	scep_caps caps;
	scep_caps_parse((const uint8_t *)text, sizeof(text) - 1, &caps);
	unsigned bits = scep_caps_to_bits(&caps);
	assert_int_equal(bits, 1u | 2u | 16u | 128u | 0x8000u);
	scep_caps back = scep_caps_from_bits(bits);
	assert_memory_equal(&back, &caps, sizeof(caps));
	assert_int_equal(scep_caps_to_bits(&back), bits);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(caps_parse_cases),   cmocka_unit_test(caps_best_choices),
		cmocka_unit_test(caps_format),        cmocka_unit_test(ours),
		cmocka_unit_test(tolerant_reading),   cmocka_unit_test(old_and_standard),
		cmocka_unit_test(never_des_or_md5_by_default), cmocka_unit_test(trustpoint_lists),
		cmocka_unit_test(caps_bits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
