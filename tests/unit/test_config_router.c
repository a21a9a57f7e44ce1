/* The configuration as a network engineer pastes it: the guide's blocks without their indentation
 * or indented with no-break spaces, the retry snippet, a mistyped word with a suggestion, the
 * router's time zone, `revocation-check crl none`, and an exec command in a file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "clock/clock.h"
#include "config/config.h"
#include "testutil.h"

static bool has_notice(const cfg_config *cfg, const char *want)
{
	for (size_t i = 0; i < cfg->n_notices; i++)
		if (strstr(cfg->notices[i], want) != NULL)
			return true;
	return false;
}

/* The server block as one copy of the guide prints it: no indentation at all. */
static const char GUIDE_SERVER_UNINDENTED[] = "crypto pki server ROOTCA\n"
                                              "database level complete\n"
                                              "database archive pkcs12 password 7 01100F175804575D72\n"
                                              "issuer-name CN=RootCA,OU=TAC,O=Cisco\n"
                                              "grant auto\n"
                                              "lifetime certificate 365\n"
                                              "lifetime ca-certificate 730\n"
                                              "database url ftp://10.1.1.1/DB/ROOTCA/\n"
                                              "auto-rollover 90\n";

/* The same blocks as another copy prints them: indented with a no-break space (U+00A0), a blank
 * line between lines, one line with a space before its no-break space. */
static const char GUIDE_BLOCKS_NBSP[] = "crypto pki server ROOTCA\n\n"
                                        "\xc2\xa0" "database level complete\n\n"
                                        "\xc2\xa0" "database archive pkcs12 password 7 01100F175804575D72\n\n"
                                        "\xc2\xa0issuer-name CN=RootCA,OU=TAC,O=Cisco\n\n"
                                        "\xc2\xa0grant auto\n\n"
                                        "\xc2\xa0lifetime certificate 365\n\n"
                                        "\xc2\xa0lifetime ca-certificate 730\n\n"
                                        "\xc2\xa0" "database url ftp://10.1.1.1/DB/ROOTCA/\n\n"
                                        "\xc2\xa0" "auto-rollover 90\n\n"
                                        "crypto pki trustpoint Root-CA\n\n"
                                        "\xc2\xa0 enrollment url http://172.16.1.1:80\n\n"
                                        "\xc2\xa0 serial-number\n\n"
                                        "\xc2\xa0 ip-address none\n\n"
                                        "\xc2\xa0 password 0 Rev0cati0n$Passw0rd\n\n"
                                        "\xc2\xa0 subject-name CN=spoke-1.cisco.com,OU=CVO\n\n"
                                        "\xc2\xa0 revocation-check crl\n\n"
                                        "\xc2\xa0 rsakeypair spoke-1-RSA\n\n"
                                        " \xc2\xa0 auto-enroll 80\n";

static void check_guide_server(const cfg_server *s)
{
	assert_string_equal(s->name, "ROOTCA");
	assert_string_equal(s->issuer_name, "CN=RootCA,OU=TAC,O=Cisco");
	assert_int_equal(s->grant, CFG_GRANT_AUTO);
	assert_int_equal(s->lifetime_certificate, 365 * EC_MS_PER_DAY);
	assert_int_equal(s->lifetime_ca_certificate, 730 * EC_MS_PER_DAY);
	assert_true(s->auto_rollover);
	assert_int_equal(s->auto_rollover_period, 90 * EC_MS_PER_DAY);
}

/* The guide's text with its remote database (refused: evercert's database is local or
 * PostgreSQL) replaced by a local one. */
static char *local_database(const char *guide)
{
	static const char remote[] = "database url ftp://10.1.1.1/DB/ROOTCA/";
	static const char local[] = "database url unix:/var/lib/ROOTCA/    ";
	_Static_assert(sizeof(remote) == sizeof(local), "the same length: the text around stays");
	char *text = strdup(guide);
	assert_non_null(text);
	char *at = strstr(text, remote);
	assert_non_null(at);
	memcpy(at, local, strlen(remote));
	return text;
}

static void guide_block_unindented(void **state)
{
	(void)state;
	/* Verbatim, every line is taken as the block's until the remote database, refused as it is
	 * when indented. */
	cfg_config *cfg = NULL;
	ec_err err = {{0}};
	assert_int_equal(cfg_parse((const uint8_t *)GUIDE_SERVER_UNINDENTED, strlen(GUIDE_SERVER_UNINDENTED), &cfg, &err), -1);
	assert_non_null(strstr(err.msg, "line 8: database url 'ftp://10.1.1.1/DB/ROOTCA/': only local paths"));
	char *text = local_database(GUIDE_SERVER_UNINDENTED);
	cfg = tu_parse_ok(text);
	free(text);
	assert_int_equal(cfg->n_servers, 1);
	check_guide_server(&cfg->servers[0]);
	/* One notice for the block, naming its first line at column 0. */
	assert_int_equal(cfg->n_notices, 1);
	assert_non_null(strstr(cfg->notices[0], "line 2: 'database level complete' at column 0 taken as a line of "
	                                        "crypto pki server ROOTCA"));
	cfg_config_free(cfg);
}

static void guide_blocks_nbsp(void **state)
{
	(void)state;
	char *text = local_database(GUIDE_BLOCKS_NBSP);
	cfg_config *cfg = tu_parse_ok(text);
	free(text);
	assert_int_equal(cfg->n_servers, 1);
	check_guide_server(&cfg->servers[0]);
	assert_int_equal(cfg->n_trustpoints, 1);
	const cfg_trustpoint *tp = &cfg->trustpoints[0];
	assert_string_equal(tp->enrollment_url, "http://172.16.1.1:80");
	assert_string_equal(tp->subject_name, "CN=spoke-1.cisco.com,OU=CVO");
	assert_string_equal(tp->rsakeypair, "spoke-1-RSA");
	assert_int_equal(tp->revocation_check, CFG_REVOCATION_CRL);
	assert_true(tp->auto_enroll);
	assert_int_equal(tp->auto_enroll_percent, 80);
	assert_true(has_notice(cfg, "no-break spaces (U+00A0) read as spaces"));
	cfg_config_free(cfg);
}

/* The retry snippet every copy prints: its second line lost its indentation. */
static void retry_snippet(void **state)
{
	(void)state;
	cfg_config *cfg = tu_parse_ok("crypto pki trustpoint TP\n"
	                           "    enrollment retry count 10\n"
	                           "enrollment retry period 2\n");
	assert_int_equal(cfg->trustpoints[0].retry_count, 10);
	assert_int_equal(cfg->trustpoints[0].retry_period_minutes, 2);
	assert_true(has_notice(cfg, "line 3: 'enrollment retry period 2' at column 0 taken as a line of crypto pki "
	                            "trustpoint TP"));
	cfg_config_free(cfg);
}

/* The first line at column 0 that is not the block's closes it, as on the router. */
static void block_ends_at_a_line_not_its_own(void **state)
{
	(void)state;
	cfg_config *cfg = tu_parse_ok("crypto pki server CA\ngrant auto\nno shutdown\nhostname R1\n");
	assert_string_equal(cfg->hostname, "R1");
	assert_int_equal(cfg->servers[0].grant, CFG_GRANT_AUTO);
	cfg_config_free(cfg);
	tu_parse_fails("crypto pki server CA\ngrant auto\nhostname R1\ngrant none\n", 4,
	            "'grant none' is only valid inside a crypto pki server block (no block is open here)");
	tu_parse_fails("crypto pki server CA\ngrant auto\nsubject-name CN=x\n", 3,
	            "'subject-name CN=x' is only valid inside a crypto pki trustpoint block (not a line of the crypto "
	            "pki server block open here)");
	/* `!` at column 0 and `exit` still close a block. */
	tu_parse_fails("crypto pki server CA\ngrant auto\n!\ngrant none\n", 4, "(no block is open here)");
	tu_parse_fails("crypto pki server CA\ngrant auto\nexit\ngrant none\n", 4, "(no block is open here)");
}

static void did_you_mean(void **state)
{
	(void)state;
	tu_parse_fails("crypto pki server CA\n  isuer-name CN=x\n", 2,
	            "unknown command 'isuer-name' in crypto pki server block (did you mean 'issuer-name'?)");
	tu_parse_fails("crypto pki server CA\n  lifetme certificate 30\n", 2, "(did you mean 'lifetime'?)");
	tu_parse_fails("crypto pki trustpoint TP\n  enrolment url http://x\n", 2, "(did you mean 'enrollment'?)");
	tu_parse_fails("crypto pki trustpoint TP\n  subjetc-name CN=x\n", 2, "(did you mean 'subject-name'?)");
	tu_parse_fails("hostnme R1\n", 1, "unknown command 'hostnme' (did you mean 'hostname'?)");
	/* At column 0 after a block: the open block's words are suggested first. */
	tu_parse_fails("crypto pki server CA\nissuer-nam CN=x\n", 2, "(did you mean 'issuer-name'?)");
	/* Nothing close: no guess. */
	tu_parse_fails("crypto pki server CA\n  frobnicate\n", 2, "unknown command 'frobnicate' in crypto pki server block");
	tu_parse_fails("xyzzy\n", 1, "unknown command 'xyzzy'");
	cfg_config *cfg = NULL;
	ec_err err = {{0}};
	assert_int_equal(cfg_parse((const uint8_t *)"xyzzy\n", 6, &cfg, &err), -1);
	assert_null(strstr(err.msg, "did you mean"));
}

static void clock_timezone(void **state)
{
	(void)state;
	cfg_config *cfg = tu_parse_ok("clock timezone CET 1\n");
	assert_string_equal(cfg->timezone_name, "CET");
	assert_int_equal(cfg->timezone_offset_minutes, 60);
	cfg_config_free(cfg);
	cfg = tu_parse_ok("clock timezone IST 5 30\n");
	assert_int_equal(cfg->timezone_offset_minutes, 330);
	cfg_config_free(cfg);
	cfg = tu_parse_ok("clock timezone NST -3 30\n");
	assert_int_equal(cfg->timezone_offset_minutes, -210);
	cfg_config_free(cfg);
	cfg = tu_parse_ok("hostname R1\n");
	assert_string_equal(cfg->timezone_name, "");
	cfg_config_free(cfg);
	tu_parse_fails("clock timezone CET\n", 1, "clock timezone NAME HOURS [MINUTES]");
	tu_parse_fails("clock timezone C3T 1\n", 1, "time zone name 'C3T' must be 1 to 7 letters");
	tu_parse_fails("clock timezone CET 24\n", 1, "hours offset");
	tu_parse_fails("clock timezone CET 1 60\n", 1, "minutes offset");
}

static void router_dates_in_the_zone(void **state)
{
	(void)state;
	char out[EC_TIME_TEXT_MAX];
	ec_time t = 1444396456000; /* 2015-10-09T13:14:16Z */
	ec_time_format_router(t, out);
	assert_string_equal(out, "13:14:16 UTC Oct 9 2015");
	ec_time_set_display_zone("CET", 60);
	ec_time_format_router(t, out);
	assert_string_equal(out, "14:14:16 CET Oct 9 2015");
	ec_time_set_display_zone("NST", -210);
	ec_time_format_router(t, out);
	assert_string_equal(out, "09:44:16 NST Oct 9 2015");
	/* ISO 8601 stays UTC whatever the zone: it is for programs. */
	ec_time_format_iso(t, out);
	assert_string_equal(out, "2015-10-09T13:14:16.000Z");
	ec_time_set_display_zone(NULL, 0);
	ec_time_format_router(t, out);
	assert_string_equal(out, "13:14:16 UTC Oct 9 2015");
}

static void revocation_check_crl_none(void **state)
{
	(void)state;
	cfg_config *cfg = tu_parse_ok("crypto pki trustpoint TP\n  revocation-check crl none\n");
	assert_int_equal(cfg->trustpoints[0].revocation_check, CFG_REVOCATION_CRL_NONE);
	assert_int_equal(cfg_trustpoint_revocation(cfg, &cfg->trustpoints[0]), CFG_REVOCATION_CRL_NONE);
	cfg_config_free(cfg);
	tu_parse_fails("crypto pki trustpoint TP\n  revocation-check crl ocsp\n", 2, "revocation-check crl [none] | none");
	tu_parse_fails("crypto pki trustpoint TP\n  revocation-check ocsp\n", 2, "expected crl, crl none or none");
}

static void exec_command_in_a_file(void **state)
{
	(void)state;
	tu_parse_fails("crypto pki server ROOTCA rollover\n", 1,
	            "'crypto pki server ROOTCA rollover' is an operator command, not configuration: run `evercert "
	            "server ROOTCA rollover` against the running daemon");
	tu_parse_fails("crypto pki server ROOTCA grant all\n", 1, "run `evercert server ROOTCA grant all`");
	tu_parse_fails("crypto pki server ROOTCA extra\n", 1, "crypto pki server NAME");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(guide_block_unindented),
		cmocka_unit_test(guide_blocks_nbsp),
		cmocka_unit_test(retry_snippet),
		cmocka_unit_test(block_ends_at_a_line_not_its_own),
		cmocka_unit_test(did_you_mean),
		cmocka_unit_test(clock_timezone),
		cmocka_unit_test(router_dates_in_the_zone),
		cmocka_unit_test(revocation_check_crl_none),
		cmocka_unit_test(exec_command_in_a_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
