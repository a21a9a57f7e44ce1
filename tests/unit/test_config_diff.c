/* The reload's comparison of two configurations (config/config_diff.h) and the `logging` lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "config/config_diff.h"

#define BASE \
	"hostname ca\n" \
	"ip http server 8080\n" \
	"crypto pki server ROOTCA\n" \
	"  issuer-name CN=Root\n" \
	"  lifetime crl 6\n" \
	"crypto pki trustpoint A\n" \
	"  enrollment url http://127.0.0.1:8080\n" \
	"crypto pki trustpoint B\n" \
	"  enrollment url http://127.0.0.1:8080\n"

static cfg_config *parse(const char *text)
{
	cfg_config *cfg = NULL;
	ec_err err;
	if (cfg_parse((const uint8_t *)text, strlen(text), &cfg, &err) != 0)
		fail_msg("%s", err.msg);
	return cfg;
}

/* The diff of BASE against text (BASE with some lines changed). */
static void diff_of(const char *text, cfg_diff *d)
{
	cfg_config *a = parse(BASE), *b = parse(text);
	cfg_diff_compute(a, b, d);
	cfg_config_free(a);
	cfg_config_free(b);
}

static bool has_change(const cfg_diff *d, bool refused, const char *text)
{
	for (size_t i = 0; i < d->n_changes; i++)
		if (d->changes[i].refused == refused && strstr(d->changes[i].text, text) != NULL)
			return true;
	for (size_t i = 0; i < d->n_changes; i++)
		print_message("  change: %s%s\n", d->changes[i].refused ? "(refused) " : "", d->changes[i].text);
	return false;
}

static cfg_diff *new_diff(void)
{
	cfg_diff *d = calloc(1, sizeof(*d));
	assert_non_null(d);
	return d;
}

/* The same file, its comments and block positions moved, changes nothing. */
static void same_configuration(void **state)
{
	cfg_diff *d = new_diff();
	diff_of("! a comment\n" BASE "!\n", d);
	assert_int_equal(d->n_changes, 0);
	assert_int_equal(d->n_tp_added + d->n_tp_removed, 0);
	free(d);
}

static void grant_and_crl_lifetime_apply_live(void **state)
{
	cfg_diff *d = new_diff();
	diff_of("hostname ca\nip http server 8080\ncrypto pki server ROOTCA\n  issuer-name CN=Root\n"
	        "  lifetime crl 1\n  grant auto\n"
	        "crypto pki trustpoint A\n  enrollment url http://127.0.0.1:8080\n"
	        "crypto pki trustpoint B\n  enrollment url http://127.0.0.1:8080\n", d);
	assert_int_equal(d->n_refused, 0);
	assert_true(d->server_changed[0]);
	assert_true(has_change(d, false, "certificate server ROOTCA: grant: manual -> auto"));
	assert_true(has_change(d, false, "lifetime crl: 6:00:00.000 -> 1:00:00.000"));
	free(d);
}

/* What the CA generations and the store were made from is refused, each change named. */
static void key_size_issuer_and_database_are_refused(void **state)
{
	cfg_diff *d = new_diff();
	diff_of("hostname ca\nip http server 8080\ncrypto key generate rsa label ROOTCA modulus 3072\n"
	        "crypto pki server ROOTCA\n  issuer-name CN=Other\n  lifetime crl 6\n  database level names\n"
	        "crypto pki trustpoint A\n  enrollment url http://127.0.0.1:8080\n"
	        "crypto pki trustpoint B\n  enrollment url http://127.0.0.1:8080\n", d);
	/* The rollover key follows the CA key's size: its size changes too. */
	assert_int_equal(d->n_refused, 4);
	assert_true(has_change(d, true, "ROOTCA: key size (crypto key generate rsa label ROOTCA): 2048 -> 3072 bits"));
	assert_true(has_change(d, true, "ROOTCA: rollover key size (label ROOTCA#): 2048 -> 3072 bits"));
	assert_true(has_change(d, true, "certificate server ROOTCA: issuer-name cannot change"));
	assert_true(has_change(d, true, "certificate server ROOTCA: database level cannot change"));
	free(d);
}

static void servers_added_or_removed_listener_and_clock_are_refused(void **state)
{
	cfg_diff *d = new_diff();
	diff_of("hostname ca\nip http server 8081\nclock timezone CET 1\n"
	        "crypto pki server SUB\n  issuer-name CN=Sub\n"
	        "crypto pki trustpoint A\n  enrollment url http://127.0.0.1:8080\n"
	        "crypto pki trustpoint B\n  enrollment url http://127.0.0.1:8080\n", d);
	assert_int_equal(d->n_refused, 4);
	assert_true(has_change(d, true, "clock: the daemon's clock and time zone"));
	assert_true(has_change(d, true, "certificate server ROOTCA removed"));
	assert_true(has_change(d, true, "certificate server SUB added"));
	assert_true(has_change(d, true, "listener's address"));
	free(d);
}

/* Removed, changed and added trustpoints: indices into the running and the new configuration. */
static void trustpoints_added_removed_changed(void **state)
{
	cfg_diff *d = new_diff();
	diff_of("hostname ca\nip http server 8080\ncrypto pki server ROOTCA\n  issuer-name CN=Root\n"
	        "  lifetime crl 6\n"
	        "crypto pki trustpoint C\n  enrollment url http://127.0.0.1:8080\n"
	        "crypto pki trustpoint B\n  enrollment url http://127.0.0.1:8080\n  subject-name CN=b\n", d);
	assert_int_equal(d->n_refused, 0);
	assert_int_equal(d->n_tp_removed, 2);
	assert_int_equal(d->tp_removed[0], 0); /* A */
	assert_int_equal(d->tp_removed[1], 1); /* B, to open again */
	assert_int_equal(d->n_tp_added, 2);
	assert_int_equal(d->tp_added[0], 1);   /* B in the new file */
	assert_int_equal(d->tp_added[1], 0);   /* C */
	assert_true(has_change(d, false, "trustpoint A removed"));
	assert_true(has_change(d, false, "trustpoint B changed (subject-name)"));
	assert_true(has_change(d, false, "trustpoint C added"));
	free(d);
}

/* A grant line naming a trustpoint changes the revocation check in force there. */
static void grant_trustpoint_changes_revocation_in_force(void **state)
{
	cfg_diff *d = new_diff();
	diff_of("hostname ca\nip http server 8080\ncrypto pki server ROOTCA\n  issuer-name CN=Root\n"
	        "  lifetime crl 6\n  grant auto trustpoint A\n"
	        "crypto pki trustpoint A\n  enrollment url http://127.0.0.1:8080\n"
	        "crypto pki trustpoint B\n  enrollment url http://127.0.0.1:8080\n", d);
	assert_int_equal(d->n_refused, 0);
	assert_true(has_change(d, false, "grant: manual -> auto trustpoint A"));
	assert_true(has_change(d, false, "trustpoint A changed (revocation check in force"));
	assert_int_equal(d->n_tp_removed, 1);
	free(d);
}

static void logging_and_http_limits_apply_live(void **state)
{
	cfg_diff *d = new_diff();
	diff_of(BASE "logging file /var/log/evercertd.log debug\nlogging syslog warning\n"
	             "ip http max-connections 512\n", d);
	assert_int_equal(d->n_refused, 0);
	assert_true(d->logging_changed);
	assert_true(d->http_limits_changed);
	assert_true(has_change(d, false, "logging: console off, file debug /var/log/evercertd.log, syslog warning"));
	assert_true(has_change(d, false, "ip http max-connections: 1024 -> 512"));
	free(d);
}

static void logging_lines(void **state)
{
	cfg_config *cfg = parse("logging console debugging\nlogging file evercertd.log\nlogging syslog notice\n");
	assert_true(cfg->logging.set);
	assert_int_equal(cfg->logging.console, CFG_LOG_DEBUG);
	assert_int_equal(cfg->logging.file, CFG_LOG_INFO);
	assert_string_equal(cfg->logging.file_path, "evercertd.log");
	assert_int_equal(cfg->logging.syslog, CFG_LOG_NOTICE);
	assert_string_equal(cfg_log_level_name(CFG_LOG_WARNING), "warning");
	cfg_config_free(cfg);
	cfg = parse("hostname x\n");
	assert_false(cfg->logging.set);
	cfg_config_free(cfg);
	static const struct {
		const char *text, *error;
	} bad[] = {
		{"logging console loud\n", "line 1: unknown logging level 'loud'"},
		{"hostname x\nlogging file logs/d.log\n", "line 2: logging file 'logs/d.log': give an absolute path"},
		{"logging file\n", "line 1:"},
		{"logging printer\n", "line 1: unknown logging destination 'printer'"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ec_err err;
		cfg = NULL;
		assert_int_not_equal(cfg_parse((const uint8_t *)bad[i].text, strlen(bad[i].text), &cfg, &err), 0);
		assert_null(cfg);
		if (strstr(err.msg, bad[i].error) == NULL)
			fail_msg("%s: got '%s'", bad[i].text, err.msg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(same_configuration),
		cmocka_unit_test(grant_and_crl_lifetime_apply_live),
		cmocka_unit_test(key_size_issuer_and_database_are_refused),
		cmocka_unit_test(servers_added_or_removed_listener_and_clock_are_refused),
		cmocka_unit_test(trustpoints_added_removed_changed),
		cmocka_unit_test(grant_trustpoint_changes_revocation_in_force),
		cmocka_unit_test(logging_and_http_limits_apply_live),
		cmocka_unit_test(logging_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
