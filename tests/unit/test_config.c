/* The configuration language (SPEC §4, §5): the examples, every default, every line, every error
 * with its line number, type 7 passwords and file loading. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "testutil.h"

#define DAY EC_MS_PER_DAY
#define HOUR EC_MS_PER_HOUR
#define MINUTE EC_MS_PER_MINUTE

/* A one-server configuration: "crypto pki server CA" then the given (indented) lines. */
static cfg_config *server_ok(const char *lines, const cfg_server **s)
{
	char text[8192];
	snprintf(text, sizeof(text), "crypto pki server CA\n%s", lines);
	cfg_config *cfg = tu_parse_ok(text);
	assert_int_equal(cfg->n_servers, 1);
	*s = &cfg->servers[0];
	return cfg;
}

static void server_fails(const char *lines, const char *want)
{
	char text[8192];
	snprintf(text, sizeof(text), "crypto pki server CA\n%s", lines);
	tu_parse_fails(text, 2, want);
}

static cfg_config *tp_ok(const char *lines, const cfg_trustpoint **tp)
{
	char text[8192];
	snprintf(text, sizeof(text), "crypto pki trustpoint TP\n%s", lines);
	cfg_config *cfg = tu_parse_ok(text);
	assert_int_equal(cfg->n_trustpoints, 1);
	*tp = &cfg->trustpoints[0];
	return cfg;
}

static void tp_fails(const char *lines, const char *want)
{
	char text[8192];
	snprintf(text, sizeof(text), "crypto pki trustpoint TP\n%s", lines);
	tu_parse_fails(text, 2, want);
}

/* ---- the SPEC examples ---- */

static const char spec_server[] = "crypto pki server ROOTCA\n"
                                  "  database level complete\n"
                                  "  database archive pkcs12 password 7 01100F175804575D72\n"
                                  "  issuer-name CN=RootCA,OU=TAC,O=Cisco\n"
                                  "  grant auto\n"
                                  "  lifetime certificate 365\n"
                                  "  lifetime ca-certificate 730\n"
                                  "  database url ftp://10.1.1.1/DB/ROOTCA/\n"
                                  "  auto-rollover 90\n";

static void spec_server_example(void **state)
{
	/* As printed, the example keeps its database on an FTP server, which is refused. */
	tu_parse_fails(spec_server, 8, "only local paths are supported");
	tu_parse_fails(spec_server, 8, "ftp://10.1.1.1/DB/ROOTCA/");

	char text[1024];
	snprintf(text, sizeof(text), "%s", spec_server);
	char *ftp = strstr(text, "ftp://10.1.1.1/DB/ROOTCA/");
	memcpy(ftp, "unix:/var/lib/ROOTCA/    ", strlen("ftp://10.1.1.1/DB/ROOTCA/"));
	cfg_config *cfg = tu_parse_ok(text);
	assert_int_equal(cfg->n_servers, 1);
	const cfg_server *s = cfg_find_server(cfg, "ROOTCA");
	assert_non_null(s);
	assert_int_equal(s->line, 1);
	assert_int_equal(s->database_level, CFG_DB_COMPLETE);
	assert_true(s->archive_set);
	assert_int_equal(s->archive_format, CFG_ARCHIVE_PKCS12);
	assert_string_equal(s->archive_password, "cisco123");
	assert_string_equal(s->issuer_name, "CN=RootCA,OU=TAC,O=Cisco");
	assert_int_equal(s->grant, CFG_GRANT_AUTO);
	assert_int_equal(s->lifetime_certificate, 365 * DAY);
	assert_int_equal(s->lifetime_ca_certificate, 730 * DAY);
	assert_string_equal(s->database_path, "/var/lib/ROOTCA/");
	assert_true(s->auto_rollover);
	assert_int_equal(s->auto_rollover_period, 90 * DAY);
	/* Lines not given keep their defaults. */
	assert_int_equal(s->lifetime_crl, 6 * HOUR);
	assert_int_equal(s->hash, CFG_HASH_SHA256);
	cfg_config_free(cfg);
}

static void spec_trustpoint_example(void **state)
{
	cfg_config *cfg = tu_parse_ok("crypto pki trustpoint Root-CA\n"
	                           "  enrollment url http://172.16.1.1:80\n"
	                           "  serial-number\n"
	                           "  ip-address none\n"
	                           "  password 0 Rev0cati0n$Passw0rd\n"
	                           "  subject-name CN=spoke-1.cisco.com,OU=CVO\n"
	                           "  revocation-check crl\n"
	                           "  rsakeypair spoke-1-RSA\n"
	                           "  auto-enroll 80\n");
	assert_int_equal(cfg->n_trustpoints, 1);
	assert_null(cfg_find_trustpoint(cfg, "root-ca")); /* names are case-sensitive */
	const cfg_trustpoint *tp = cfg_find_trustpoint(cfg, "Root-CA");
	assert_non_null(tp);
	assert_int_equal(tp->line, 1);
	assert_string_equal(tp->enrollment_url, "http://172.16.1.1:80");
	assert_true(tp->serial_number);
	assert_string_equal(tp->ip_address, "");
	assert_string_equal(tp->password, "Rev0cati0n$Passw0rd");
	assert_string_equal(tp->subject_name, "CN=spoke-1.cisco.com,OU=CVO");
	assert_int_equal(tp->revocation_check, CFG_REVOCATION_CRL);
	assert_string_equal(tp->rsakeypair, "spoke-1-RSA");
	assert_int_equal(tp->rsakeypair_bits, 2048);
	assert_true(tp->auto_enroll);
	assert_int_equal(tp->auto_enroll_percent, 80);
	assert_false(tp->auto_enroll_regenerate);
	cfg_config_free(cfg);
}

/* The shipped configuration parses (skipped when the source tree is not next to the test). */
static void shipped_config(void **state)
{
	char path[4096];
	const char *file = __FILE__;
	const char *cut = strstr(file, "tests/unit/test_config.c");
	if (cut == NULL)
		skip();
	snprintf(path, sizeof(path), "%.*setc/evercert.conf", (int)(cut - file), file);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		skip();
	fclose(f);
	cfg_config *cfg = NULL;
	ec_err err = {{0}};
	if (cfg_load_file(path, &cfg, &err) != 0)
		fail_msg("%s", err.msg);
	assert_non_null(cfg_find_server(cfg, "ROOTCA"));
	cfg_config_free(cfg);
}

/* ---- defaults ---- */

static void global_defaults(void **state)
{
	cfg_config *cfg = tu_parse_ok("");
	assert_string_equal(cfg->hostname, "");
	assert_false(cfg->http_server);
	assert_int_equal(cfg->http_port, 80);
	assert_string_equal(cfg->http_bind, "");
	assert_false(cfg->calendar_valid);
	assert_false(cfg->clock_simulated);
	assert_true(cfg->clock_simulate_rate == 1.0);
	assert_int_equal(cfg->n_keys, 0);
	assert_int_equal(cfg->n_servers, 0);
	assert_int_equal(cfg->n_trustpoints, 0);
	assert_int_equal(cfg_key_bits(cfg, "ROOTCA", 2048), 2048);
	assert_int_equal(cfg_key_bits(cfg, "ROOTCA", 3072), 3072);
	assert_null(cfg_find_server(cfg, "ROOTCA"));
	assert_null(cfg_find_trustpoint(cfg, "ROOTCA"));
	cfg_config_free(cfg);
	cfg_config_free(NULL);
}

static void server_defaults(void **state)
{
	const cfg_server *s;
	cfg_config *cfg = server_ok("", &s);
	assert_string_equal(s->name, "CA");
	assert_string_equal(s->issuer_name, "");
	assert_int_equal(s->grant, CFG_GRANT_MANUAL);
	assert_int_equal(s->n_grant_trustpoints, 0);
	assert_false(s->grant_auto_rollover_ca);
	assert_int_equal(s->renewal_grace, 30 * DAY);
	assert_int_equal(s->lifetime_certificate, 365 * DAY);
	assert_int_equal(s->lifetime_ca_certificate, 1095 * DAY);
	assert_int_equal(s->lifetime_crl, 6 * HOUR);
	assert_int_equal(s->lifetime_enrollment_request, 168 * HOUR);
	assert_int_equal(s->database_level, CFG_DB_MINIMUM);
	assert_string_equal(s->database_path, "");
	assert_false(s->archive_set);
	assert_int_equal(s->archive_format, CFG_ARCHIVE_PKCS12);
	assert_string_equal(s->archive_password, "");
	assert_false(s->auto_rollover);
	assert_int_equal(s->auto_rollover_period, 0);
	assert_int_equal(s->hash, CFG_HASH_SHA256);
	assert_string_equal(s->cdp_url, "");
	assert_false(s->shutdown);
	assert_int_equal(s->mode, CFG_MODE_ROOT);
	assert_string_equal(s->parent_url, "");
	cfg_config_free(cfg);
}

static void trustpoint_defaults(void **state)
{
	const cfg_trustpoint *tp;
	cfg_config *cfg = tp_ok("", &tp);
	assert_string_equal(tp->name, "TP");
	assert_string_equal(tp->enrollment_url, "");
	assert_string_equal(tp->subject_name, "");
	assert_false(tp->serial_number);
	assert_string_equal(tp->ip_address, "");
	assert_string_equal(tp->password, "");
	assert_string_equal(tp->rsakeypair, "");
	assert_int_equal(tp->rsakeypair_bits, 2048);
	assert_false(tp->auto_enroll);
	assert_false(tp->auto_enroll_regenerate);
	assert_int_equal(tp->retry_count, 999);
	assert_int_equal(tp->retry_period_minutes, 1);
	assert_int_equal(tp->revocation_check, CFG_REVOCATION_NONE);
	assert_string_equal(tp->fingerprint, "");
	assert_string_equal(tp->certificate_file, "");
	assert_string_equal(tp->key_file, "");
	assert_string_equal(tp->chain_file, "");
	assert_string_equal(tp->post_install, "");
	assert_int_equal(tp->post_install_timeout_seconds, 60);
	cfg_config_free(cfg);
}

/* ---- global lines ---- */

static void globals(void **state)
{
	cfg_config *cfg = tu_parse_ok("hostname spoke-1.example.com\n"
	                           "ip http server 8080\n"
	                           "ip http bind 127.0.0.1\n"
	                           "clock calendar-valid\n"
	                           "crypto key generate rsa general-keys label ROOTCA modulus 4096\n"
	                           "crypto key generate rsa label ROOTCA# modulus 3072\n"
	                           "crypto key generate rsa modulus 1024 label small\n"
	                           "crypto key generate rsa label plain\n"
	                           "exit\n"
	                           "end\n");
	assert_string_equal(cfg->hostname, "spoke-1.example.com");
	assert_true(cfg->http_server);
	assert_int_equal(cfg->http_port, 8080);
	assert_string_equal(cfg->http_bind, "127.0.0.1");
	assert_true(cfg->calendar_valid);
	assert_int_equal(cfg->n_keys, 4);
	assert_int_equal(cfg_key_bits(cfg, "ROOTCA", 2048), 4096);
	assert_int_equal(cfg_key_bits(cfg, "ROOTCA#", 2048), 3072);
	assert_int_equal(cfg_key_bits(cfg, "small", 2048), 1024);
	assert_int_equal(cfg_key_bits(cfg, "plain", 4096), 2048);
	assert_int_equal(cfg_key_bits(cfg, "rootca", 7), 7);
	cfg_config_free(cfg);

	cfg = tu_parse_ok("ip http server\nip http port 8443\nip http bind ::1\n"
	               "crypto key generate rsa label K modulus 2048\n"
	               "crypto key generate rsa label K modulus 8192\n");
	assert_true(cfg->http_server);
	assert_int_equal(cfg->http_port, 8443);
	assert_string_equal(cfg->http_bind, "::1");
	assert_int_equal(cfg->n_keys, 1); /* the second line for K replaces the first */
	assert_int_equal(cfg_key_bits(cfg, "K", 0), 8192);
	cfg_config_free(cfg);

	cfg = tu_parse_ok("ip http server 8080\nno ip http server\n");
	assert_false(cfg->http_server);
	assert_int_equal(cfg->http_port, 8080);
	cfg_config_free(cfg);

	/* The line that set the port is kept, for the error when it is in use. */
	cfg = tu_parse_ok("hostname h\nip http server\nip http max-connections 4096\n");
	assert_int_equal(cfg->http_port, 80);
	assert_int_equal(cfg->http_port_line, 2);
	assert_int_equal(cfg->http_max_connections, 4096);
	cfg_config_free(cfg);
	cfg = tu_parse_ok("ip http server\nip http bind ::1\nip http port 8443\n");
	assert_int_equal(cfg->http_port_line, 3);
	assert_int_equal(cfg->http_max_connections, CFG_HTTP_MAX_CONNECTIONS);
	cfg_config_free(cfg);
}

static void clock_lines(void **state)
{
	cfg_config *cfg = tu_parse_ok("clock simulate start 2015-10-09T13:14:16Z rate 0\n");
	assert_true(cfg->clock_simulated);
	assert_int_equal(cfg->clock_simulate_start, INT64_C(1444396456000));
	assert_true(cfg->clock_simulate_rate == 0.0);
	assert_false(cfg->calendar_valid);
	cfg_config_free(cfg);

	cfg = tu_parse_ok("clock simulate start 2015-10-09T13:14:16.250Z\n");
	assert_true(cfg->clock_simulated);
	assert_int_equal(cfg->clock_simulate_start, INT64_C(1444396456250));
	assert_true(cfg->clock_simulate_rate == 1.0);
	cfg_config_free(cfg);

	cfg = tu_parse_ok("CLOCK Simulate START 2015-10-09T13:14:16Z RATE 2.5\n");
	assert_true(cfg->clock_simulate_rate == 2.5);
	cfg_config_free(cfg);

	cfg = tu_parse_ok("clock simulate start 2015-10-09T13:14:16Z rate 86400\n");
	assert_true(cfg->clock_simulate_rate == 86400.0);
	cfg_config_free(cfg);

	tu_parse_fails("clock simulate start 2015-10-09\n", 1, "is not an ISO 8601 UTC time");
	tu_parse_fails("clock simulate start yesterday\n", 1, "'yesterday' is not an ISO 8601");
	tu_parse_fails("clock simulate start 2015-10-09T13:14:16Z rate -1\n", 1, "rate '-1' is not a decimal number");
	tu_parse_fails("clock simulate start 2015-10-09T13:14:16Z rate fast\n", 1, "is not a decimal number");
	tu_parse_fails("clock simulate start 2015-10-09T13:14:16Z rate 1.2.3\n", 1, "is not a decimal number");
	tu_parse_fails("clock simulate start 2015-10-09T13:14:16Z rate nan\n", 1, "is not a decimal number");
	tu_parse_fails("clock simulate start 2015-10-09T13:14:16Z rate inf\n", 1, "is not a decimal number");
	tu_parse_fails("clock simulate start 2015-10-09T13:14:16Z rate 1e3\n", 1, "is not a decimal number");
	tu_parse_fails("clock simulate start 2015-10-09T13:14:16Z rate .\n", 1, "is not a decimal number");
	tu_parse_fails("clock simulate start 2015-10-09T13:14:16Z rate 2000000\n", 1, "out of range");
	tu_parse_fails("clock simulate start 2015-10-09T13:14:16Z rate\n", 1, "malformed command");
	tu_parse_fails("clock simulate start 2015-10-09T13:14:16Z speed 2\n", 1, "malformed command");
	tu_parse_fails("clock simulate begin 2015-10-09T13:14:16Z\n", 1, "malformed command");
	tu_parse_fails("clock simulate\n", 1, "incomplete command");
	tu_parse_fails("clock calendar-valid now\n", 1, "unexpected argument 'now'");
	tu_parse_fails("clock set 10:00\n", 1, "unknown command 'clock set 10:00'");
}

static void global_errors(void **state)
{
	tu_parse_fails("hostname\n", 1, "incomplete command (syntax: hostname NAME)");
	tu_parse_fails("hostname a b\n", 1, "unexpected argument 'b'");
	tu_parse_fails("hostname a,b\n", 1, "hostname 'a,b' may only hold");
	tu_parse_fails("ip http server 0\n", 1, "port 0 out of range 1..65535");
	tu_parse_fails("ip http server 65536\n", 1, "port 65536 out of range 1..65535");
	tu_parse_fails("ip http server eighty\n", 1, "port: 'eighty' is not a number");
	tu_parse_fails("ip http server 99999999999999999999999\n", 1, "out of range");
	tu_parse_fails("ip http port\n", 1, "incomplete command (syntax: ip http port PORT)");
	tu_parse_fails("ip http bind localhost\n", 1, "address 'localhost' is not a numeric IPv4 or IPv6 address");
	tu_parse_fails("ip http max-connections 15\n", 1, "connections 15 out of range 16..65536");
	tu_parse_fails("ip http max-connections 65537\n", 1, "out of range 16..65536");
	tu_parse_fails("ip http max-connections\n", 1, "incomplete command (syntax: ip http max-connections N)");
	tu_parse_fails("ip http secure-server\n", 1, "unknown command 'ip http secure-server'");
	tu_parse_fails("ip route 0.0.0.0 0.0.0.0 10.0.0.1\n", 1, "unknown command 'ip route");
	tu_parse_fails("crypto key generate rsa modulus 2048\n", 1, "missing 'label NAME'");
	tu_parse_fails("crypto key generate rsa label\n", 1, "missing key label");
	tu_parse_fails("crypto key generate rsa label K modulus 512\n", 1, "modulus 512 out of range 1024..8192");
	tu_parse_fails("crypto key generate rsa label K modulus\n", 1, "missing modulus");
	tu_parse_fails("crypto key generate rsa label K exportable\n", 1, "unexpected argument 'exportable'");
	tu_parse_fails("crypto key generate rsa label K label L\n", 1, "unexpected argument 'label'");
	tu_parse_fails("crypto key generate ec label K\n", 1, "unknown command 'crypto key generate ec label K'");
	tu_parse_fails("crypto key generate rsa label ../x\n", 1, "key label '../x' must start with");
	tu_parse_fails("crypto key generate rsa label a/b\n", 1, "key label 'a/b' may only hold");
	tu_parse_fails("crypto pki server\n", 1, "incomplete command (syntax: crypto pki server NAME)");
	tu_parse_fails("crypto pki server A B\n", 1, "unexpected argument 'B'");
	tu_parse_fails("crypto pki server CA#\n", 1, "server name 'CA#' may only hold");
	tu_parse_fails("crypto pki trustpoint ..\n", 1, "trustpoint name '..' must start with");
	tu_parse_fails("crypto pki certificate chain TP\n", 1, "unknown command 'crypto pki certificate chain TP'");
	tu_parse_fails("crypto isakmp policy 10\n", 1, "unknown command 'crypto isakmp");
	tu_parse_fails("end now\n", 1, "unexpected argument 'now'");
	tu_parse_fails("exit 1\n", 1, "unexpected argument '1'");
	tu_parse_fails("no\n", 1, "unknown command 'no'");
	tu_parse_fails("no ip routing\n", 1, "unknown command 'no ip'");
	tu_parse_fails("! fine\ninterface Ethernet0\n", 2, "unknown command 'interface'");
	char name[CFG_NAME_MAX + 40];
	snprintf(name, sizeof(name), "hostname %0*d\n", CFG_NAME_MAX, 7);
	tu_parse_fails(name, 1, "hostname is too long (at most 63 characters)");
}

/* ---- server lines ---- */

static void server_issuance(void **state)
{
	(void)state;
	const cfg_server *s;
	cfg_config *cfg = server_ok("", &s);
	assert_int_equal(s->issuance_rsa_min_bits, 2048);
	assert_int_equal(s->issuance_rsa_max_bits, 8192);
	assert_false(s->issuance_allow_uri);
	cfg_config_free(cfg);
	cfg = server_ok("  issuance rsa-modulus 3072\n  issuance subject-alt-name uri\n", &s);
	assert_int_equal(s->issuance_rsa_min_bits, 3072);
	assert_int_equal(s->issuance_rsa_max_bits, 8192);
	assert_true(s->issuance_allow_uri);
	cfg_config_free(cfg);
	cfg = server_ok("  issuance rsa-modulus 1024 4096\n", &s);
	assert_int_equal(s->issuance_rsa_min_bits, 1024);
	assert_int_equal(s->issuance_rsa_max_bits, 4096);
	cfg_config_free(cfg);
	server_fails("  issuance rsa-modulus 512\n", "out of range 1024..16384");
	server_fails("  issuance rsa-modulus 4096 2048\n", "the maximum 2048 is below the minimum 4096");
	server_fails("  issuance rsa-modulus\n", "incomplete command");
	server_fails("  issuance subject-alt-name otherName\n", "only uri can be allowed");
	server_fails("  issuance ecdsa\n", "unknown issuance setting");
}

static void server_database(void **state)
{
	static const struct {
		const char *url, *path;
	} ok[] = {
		{"unix:/var/lib/ca", "/var/lib/ca"},   {"file:/srv/ca/", "/srv/ca/"},
		{"file:///srv/ca", "/srv/ca"},         {"file://localhost/srv/ca", "/srv/ca"},
		{"/abs/path", "/abs/path"},            {"relative/dir", "relative/dir"},
		{"UNIX:/x", "/x"},                     {"unix:rel", "rel"},
		{"./db", "./db"},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char line[256];
		const cfg_server *s;
		snprintf(line, sizeof(line), "  database url %s\n", ok[i].url);
		cfg_config *cfg = server_ok(line, &s);
		assert_string_equal(s->database_path, ok[i].path);
		cfg_config_free(cfg);
	}
	/* A PostgreSQL URL is the store's, kept whole; the CA's files stay in the state directory. */
	const char *pg_urls[] = {"postgresql://ca@db.example/evercert?sslmode=verify-full&passfile=/etc/pgpass",
	                         "postgres:///evercert?host=/run/postgresql"};
	for (size_t i = 0; i < sizeof(pg_urls) / sizeof(pg_urls[0]); i++) {
		char line[256];
		const cfg_server *s;
		snprintf(line, sizeof(line), "  database url %s\n", pg_urls[i]);
		cfg_config *cfg = server_ok(line, &s);
		assert_string_equal(s->database_store_url, pg_urls[i]);
		assert_string_equal(s->database_path, "");
		cfg_config_free(cfg);
	}
	server_fails("  database url ftp://10.1.1.1/DB/ROOTCA/\n",
	             "database url 'ftp://10.1.1.1/DB/ROOTCA/': only local paths are supported (unix:/path, "
	             "file:/path or a plain path), not ftp: URLs");
	server_fails("  database url http://10.1.1.1/db\n", "only local paths are supported");
	server_fails("  database url tftp://10.1.1.1/db\n", "not tftp: URLs");
	server_fails("  database url nvram:\n", "not nvram: URLs");
	server_fails("  database url file://otherhost/db\n", "a file URL must name a local path");
	server_fails("  database url unix:\n", "names no path");
	server_fails("  database url\n", "incomplete command (syntax: database url PATH)");
	server_fails("  database url crt unix:/x\n", "unexpected argument 'unix:/x'");

	const cfg_server *s;
	cfg_config *cfg = server_ok("  database level minimal\n", &s);
	assert_int_equal(s->database_level, CFG_DB_MINIMUM);
	cfg_config_free(cfg);
	cfg = server_ok("  database level names\n", &s);
	assert_int_equal(s->database_level, CFG_DB_NAMES);
	cfg_config_free(cfg);
	cfg = server_ok("  database level COMPLETE\n  database level minimum\n", &s);
	assert_int_equal(s->database_level, CFG_DB_MINIMUM); /* the later line wins */
	cfg_config_free(cfg);
	server_fails("  database level all\n", "unknown database level 'all'");
	server_fails("  database level\n", "incomplete command");
	server_fails("  database\n", "incomplete command");
	server_fails("  database mirror x\n", "unknown database option 'mirror'");
}

static void server_archive(void **state)
{
	const cfg_server *s;
	cfg_config *cfg = server_ok("  database archive pem\n", &s);
	assert_true(s->archive_set);
	assert_int_equal(s->archive_format, CFG_ARCHIVE_PEM);
	assert_string_equal(s->archive_password, "");
	cfg_config_free(cfg);
	cfg = server_ok("  database archive pkcs12 password S3cret!\n", &s);
	assert_int_equal(s->archive_format, CFG_ARCHIVE_PKCS12);
	assert_string_equal(s->archive_password, "S3cret!");
	cfg_config_free(cfg);
	cfg = server_ok("  database archive pem password 0 Clear\n", &s);
	assert_string_equal(s->archive_password, "Clear");
	cfg_config_free(cfg);
	cfg = server_ok("  database archive pkcs12 password 7 01100F175804575D72\n", &s);
	assert_string_equal(s->archive_password, "cisco123");
	cfg_config_free(cfg);
	cfg = server_ok("  database archive pkcs12 password 7\n", &s); /* one word: the password itself */
	assert_string_equal(s->archive_password, "7");
	cfg_config_free(cfg);

	server_fails("  database archive zip\n", "unknown archive format 'zip'");
	server_fails("  database archive\n", "incomplete command");
	server_fails("  database archive pem secret x\n", "unexpected argument 'secret'");
	server_fails("  database archive pem password\n", "incomplete command");
	server_fails("  database archive pem password 5 x\n", "password type '5' is not 0 (clear text) or 7");
	server_fails("  database archive pem password 7 0110ZZ\n", "'0110ZZ' is not a valid type 7 password");
	server_fails("  database archive pem password 7 011\n", "is not a valid type 7 password");
	server_fails("  database archive pem password 7 01\n", "missing password");
	server_fails("  database archive pem password 0 a b\n", "unexpected argument 'b'");
}

static void server_grant(void **state)
{
	const cfg_server *s;
	cfg_config *cfg = server_ok("  grant none\n", &s);
	assert_int_equal(s->grant, CFG_GRANT_NONE);
	cfg_config_free(cfg);
	cfg = server_ok("  grant auto\n  no grant\n", &s);
	assert_int_equal(s->grant, CFG_GRANT_MANUAL);
	cfg_config_free(cfg);

	cfg = tu_parse_ok("crypto pki trustpoint TP1\ncrypto pki server CA\n  grant auto trustpoint TP1\n");
	s = &cfg->servers[0];
	assert_int_equal(s->grant, CFG_GRANT_AUTO_TRUSTPOINT);
	assert_int_equal(s->n_grant_trustpoints, 1);
	assert_string_equal(s->grant_trustpoints[0], "TP1");
	cfg_config_free(cfg);

	/* A trustpoint named later in the file and a server name both count. */
	cfg = tu_parse_ok("crypto pki server CA\n  grant auto tp-list CA TP2 TP3\n  grant auto rollover ca-cert\n"
	               "crypto pki trustpoint TP2\ncrypto pki trustpoint TP3\n");
	s = &cfg->servers[0];
	assert_int_equal(s->grant, CFG_GRANT_AUTO_TRUSTPOINT);
	assert_int_equal(s->n_grant_trustpoints, 3);
	assert_string_equal(s->grant_trustpoints[0], "CA");
	assert_string_equal(s->grant_trustpoints[2], "TP3");
	assert_true(s->grant_auto_rollover_ca);
	cfg_config_free(cfg);

	cfg = server_ok("  grant auto rollover ca-cert\n  no grant auto rollover ca-cert\n  grant auto\n", &s);
	assert_false(s->grant_auto_rollover_ca);
	assert_int_equal(s->grant, CFG_GRANT_AUTO);
	cfg_config_free(cfg);

	cfg = server_ok("  grant auto trustpoint CA\n  grant auto\n", &s);
	assert_int_equal(s->grant, CFG_GRANT_AUTO);
	assert_int_equal(s->n_grant_trustpoints, 0);
	cfg_config_free(cfg);

	server_fails("  grant\n", "incomplete command (syntax: grant auto | grant none");
	server_fails("  grant manual\n", "unknown grant mode 'manual'");
	server_fails("  grant auto everything\n", "unknown grant mode 'auto everything'");
	server_fails("  grant none now\n", "unknown grant mode 'none now'");
	server_fails("  grant auto trustpoint\n", "incomplete command (syntax: grant auto trustpoint TP)");
	server_fails("  grant auto trustpoint A B\n", "unexpected argument 'B'");
	server_fails("  grant auto tp-list\n", "incomplete command");
	server_fails("  grant auto tp-list A B C D E F G H I\n", "too many trustpoints in grant (at most 8)");
	server_fails("  grant auto tp-list A B A\n", "trustpoint A is listed twice");
	server_fails("  grant auto rollover ra-cert\n", "unknown rollover grant 'ra-cert'");
	server_fails("  grant auto rollover\n", "incomplete command");
	server_fails("  no grant auto\n", "unknown command 'no grant auto' in crypto pki server block");
}

/* `grant renewal-grace` sets the grace alone: the granting mode is left as it was. */
static void server_renewal_grace(void **state)
{
	const cfg_server *s;
	cfg_config *cfg = server_ok("  grant auto trustpoint CA\n  grant renewal-grace 7\n", &s);
	assert_int_equal(s->renewal_grace, 7 * DAY);
	assert_int_equal(s->grant, CFG_GRANT_AUTO_TRUSTPOINT);
	assert_int_equal(s->n_grant_trustpoints, 1);
	cfg_config_free(cfg);
	cfg = server_ok("  GRANT Renewal-Grace 0 2 30\n", &s);
	assert_int_equal(s->renewal_grace, 2 * HOUR + 30 * MINUTE);
	assert_int_equal(s->grant, CFG_GRANT_MANUAL);
	cfg_config_free(cfg);
	cfg = server_ok("  grant renewal-grace 7\n  no grant renewal-grace\n  no grant\n", &s);
	assert_int_equal(s->renewal_grace, 0);
	cfg_config_free(cfg);
	cfg = server_ok("  no grant renewal-grace\n  grant renewal-grace 1\n", &s);
	assert_int_equal(s->renewal_grace, DAY);
	cfg_config_free(cfg);

	server_fails("  grant renewal-grace\n", "incomplete command (syntax: grant renewal-grace DAYS [HOURS [MINUTES]])");
	server_fails("  grant renewal-grace 0\n", "the period must be longer than zero");
	server_fails("  grant renewal-grace 3651\n", "days");
	server_fails("  grant renewal-grace 1 24\n", "hours");
	server_fails("  grant renewal-grace 1 2 3 4\n", "unexpected argument '4'");
	server_fails("  grant renewal-grace soon\n", "days");
}

static void grant_unknown_trustpoint(void **state)
{
	tu_parse_fails("crypto pki server CA\n  lifetime crl 6\n  grant auto trustpoint NOPE\n", 3,
	            "grant auto trustpoint NOPE: no crypto pki trustpoint or server named NOPE");
	tu_parse_fails("crypto pki trustpoint A\n!\ncrypto pki server CA\n  grant auto tp-list A B\n  hash sha1\n", 4,
	            "no crypto pki trustpoint or server named B");
	/* Names are case-sensitive. */
	tu_parse_fails("crypto pki trustpoint tp\ncrypto pki server CA\n  grant auto trustpoint TP\n", 3,
	            "named TP");
	/* The last grant line counts. */
	tu_parse_fails("crypto pki server CA\n  grant auto trustpoint X\n  grant auto trustpoint Y\n", 3, "named Y");
	cfg_config *cfg = tu_parse_ok("crypto pki server CA\n  grant auto trustpoint X\n  grant auto\n");
	cfg_config_free(cfg);
}

static void server_lifetimes(void **state)
{
	const cfg_server *s;
	cfg_config *cfg = server_ok("  lifetime certificate 365 12 30\n"
	                            "  lifetime ca-certificate 730\n"
	                            "  lifetime crl 24 30\n"
	                            "  lifetime enrollment-request 48\n",
	                            &s);
	assert_int_equal(s->lifetime_certificate, 365 * DAY + 12 * HOUR + 30 * MINUTE);
	assert_int_equal(s->lifetime_ca_certificate, 730 * DAY);
	assert_int_equal(s->lifetime_crl, 24 * HOUR + 30 * MINUTE);
	assert_int_equal(s->lifetime_enrollment_request, 48 * HOUR);
	cfg_config_free(cfg);

	cfg = server_ok("  lifetime certificate 0 1\n  lifetime ca-certificate 0 0 5\n  lifetime crl 0 10\n"
	                "  LIFETIME CERTIFICATE 10000\n",
	                &s);
	assert_int_equal(s->lifetime_ca_certificate, 5 * MINUTE);
	assert_int_equal(s->lifetime_crl, 10 * MINUTE);
	assert_int_equal(s->lifetime_certificate, 10000 * DAY);
	cfg_config_free(cfg);

	server_fails("  lifetime certificate 10001\n", "days 10001 out of range 0..10000");
	server_fails("  lifetime certificate 1 24\n", "hours 24 out of range 0..23");
	server_fails("  lifetime certificate 1 2 60\n", "minutes 60 out of range 0..59");
	server_fails("  lifetime certificate 0\n", "the period must be longer than zero");
	server_fails("  lifetime certificate 0 0 0\n", "the period must be longer than zero");
	server_fails("  lifetime certificate -1\n", "days: '-1' is not a number");
	server_fails("  lifetime certificate +1\n", "days: '+1' is not a number");
	server_fails("  lifetime certificate 1year\n", "days: '1year' is not a number");
	server_fails("  lifetime certificate\n", "incomplete command (syntax: lifetime certificate DAYS [HOURS [MINUTES]])");
	server_fails("  lifetime certificate 1 2 3 4\n", "unexpected argument '4'");
	server_fails("  lifetime ca-certificate 99999999999999999999\n", "out of range");
	server_fails("  lifetime crl 0\n", "the period must be longer than zero");
	server_fails("  lifetime crl 8761\n", "hours 8761 out of range 0..8760");
	server_fails("  lifetime crl 6 60\n", "minutes 60 out of range");
	server_fails("  lifetime crl 6 0 0\n", "unexpected argument '0'");
	server_fails("  lifetime enrollment-request 0\n", "hours 0 out of range 1..1000");
	server_fails("  lifetime enrollment-request 1 30\n", "unexpected argument '30'");
	server_fails("  lifetime forever 1\n", "unknown lifetime 'forever'");
	server_fails("  lifetime\n", "incomplete command");
}

static void server_auto_rollover(void **state)
{
	const cfg_server *s;
	cfg_config *cfg = server_ok("  auto-rollover\n", &s);
	assert_true(s->auto_rollover);
	assert_int_equal(s->auto_rollover_period, 30 * DAY);
	cfg_config_free(cfg);
	cfg = server_ok("  auto-rollover 90 1 2\n", &s);
	assert_int_equal(s->auto_rollover_period, 90 * DAY + HOUR + 2 * MINUTE);
	cfg_config_free(cfg);
	cfg = server_ok("  auto-rollover 90\n  no auto-rollover\n", &s);
	assert_false(s->auto_rollover);
	assert_int_equal(s->auto_rollover_period, 0);
	cfg_config_free(cfg);
	server_fails("  auto-rollover 0\n", "the period must be longer than zero");
	server_fails("  auto-rollover 1 2 3 4\n", "unexpected argument '4'");
	server_fails("  auto-rollover x\n", "days: 'x' is not a number");
	server_fails("  no auto-rollover 90\n", "unknown command 'no auto-rollover 90'");
}

static void server_hash(void **state)
{
	static const struct {
		const char *name;
		int hash;
	} ok[] = {{"sha256", CFG_HASH_SHA256}, {"SHA384", CFG_HASH_SHA384},
	          {"sha512", CFG_HASH_SHA512}, {"sha1", CFG_HASH_SHA1}};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char line[64];
		const cfg_server *s;
		snprintf(line, sizeof(line), "  hash %s\n", ok[i].name);
		cfg_config *cfg = server_ok(line, &s);
		assert_int_equal(s->hash, ok[i].hash);
		cfg_config_free(cfg);
	}
	cfg_config *cfg = NULL;
	ec_err err = {{0}};
	const char *text = "crypto pki server CA\n  hash md5\n";
	assert_int_equal(cfg_parse((const uint8_t *)text, strlen(text), &cfg, &err), -1);
	assert_string_equal(err.msg, "line 2: hash md5 is refused as insecure (use sha256, the default, sha384 or sha512)");
	server_fails("  hash MD5\n", "md5 is refused as insecure");
	server_fails("  hash sha3\n", "unknown hash 'sha3'");
	server_fails("  hash\n", "incomplete command");
}

static void server_misc(void **state)
{
	const cfg_server *s;
	cfg_config *cfg = server_ok("  issuer-name CN=Root CA, OU=Lab Team, O=Example\n"
	                            "  cdp-url http://ca.example.com/ROOTCA.crl\n"
	                            "  shutdown\n"
	                            "  mode sub-cs\n",
	                            &s);
	assert_string_equal(s->issuer_name, "CN=Root CA, OU=Lab Team, O=Example");
	assert_string_equal(s->cdp_url, "http://ca.example.com/ROOTCA.crl");
	assert_true(s->shutdown);
	assert_int_equal(s->mode, CFG_MODE_SUB_CS);
	cfg_config_free(cfg);
	cfg = server_ok("  shutdown\n  no shutdown\n  mode RA\n", &s);
	assert_false(s->shutdown);
	assert_int_equal(s->mode, CFG_MODE_RA);
	cfg_config_free(cfg);

	server_fails("  issuer-name\n", "incomplete command (syntax: issuer-name DN)");
	server_fails("  issuer-name RootCA\n", "issuer-name 'RootCA' is not a distinguished name");
	server_fails("  cdp-url\n", "incomplete command");
	server_fails("  cdp-url ca.example.com/crl\n", "is not a URL");
	server_fails("  cdp-url http://a http://b\n", "unexpected argument 'http://b'");
	server_fails("  shutdown now\n", "unexpected argument 'now'");
	server_fails("  no shutdown now\n", "unknown command 'no shutdown now'");
	server_fails("  mode sub-cs http://parent\n", "unexpected argument 'http://parent'");
	server_fails("  mode root\n", "unknown mode 'root'");
	server_fails("  mode\n", "incomplete command");
	server_fails("  no\n", "unknown command 'no'");
	server_fails("  enrollment url http://x\n", "unknown command 'enrollment' in crypto pki server block");
	server_fails("  hostname x\n", "unknown command 'hostname' in crypto pki server block (global commands "
	                               "start at column 0)");
	server_fails("  frobnicate\n", "unknown command 'frobnicate' in crypto pki server block");

	char text[CFG_TEXT_MAX + 64];
	snprintf(text, sizeof(text), "  issuer-name CN=%0*d\n", CFG_TEXT_MAX, 1);
	server_fails(text, "issuer-name is too long (at most 1023 characters)");
}

/* ---- trustpoint lines ---- */

static void trustpoint_lines(void **state)
{
	const cfg_trustpoint *tp;
	cfg_config *cfg = tp_ok("  enrollment url http://ca.example.com/cgi-bin/pkiclient.exe\n"
	                        "  enrollment retry count 0\n"
	                        "  enrollment retry period 5\n"
	                        "  subject-name CN=host one, O=Example\n"
	                        "  serial-number\n"
	                        "  serial-number none\n"
	                        "  ip-address 10.0.0.1\n"
	                        "  password 7 01100F175804575D72\n"
	                        "  rsakeypair host-key 4096\n"
	                        "  auto-enroll 70 regenerate\n"
	                        "  revocation-check none\n"
	                        "  output certificate /etc/ssl/host.pem\n"
	                        "  output key /etc/ssl/private/host.key\n"
	                        "  output chain /etc/ssl/chain.pem\n"
	                        "  output post-install systemctl reload  nginx.service\n",
	                        &tp);
	assert_string_equal(tp->enrollment_url, "http://ca.example.com/cgi-bin/pkiclient.exe");
	assert_int_equal(tp->retry_count, 0);
	assert_int_equal(tp->retry_period_minutes, 5);
	assert_string_equal(tp->subject_name, "CN=host one, O=Example");
	assert_false(tp->serial_number);
	assert_string_equal(tp->ip_address, "10.0.0.1");
	assert_string_equal(tp->password, "cisco123");
	assert_string_equal(tp->rsakeypair, "host-key");
	assert_int_equal(tp->rsakeypair_bits, 4096);
	assert_true(tp->auto_enroll);
	assert_int_equal(tp->auto_enroll_percent, 70);
	assert_true(tp->auto_enroll_regenerate);
	assert_int_equal(tp->revocation_check, CFG_REVOCATION_NONE);
	assert_string_equal(tp->certificate_file, "/etc/ssl/host.pem");
	assert_string_equal(tp->key_file, "/etc/ssl/private/host.key");
	assert_string_equal(tp->chain_file, "/etc/ssl/chain.pem");
	assert_string_equal(tp->post_install, "systemctl reload  nginx.service");
	cfg_config_free(cfg);

	cfg = tp_ok("  output post-install-timeout 86400\n", &tp);
	assert_int_equal(tp->post_install_timeout_seconds, 86400);
	cfg_config_free(cfg);

	cfg = tp_ok("  auto-enroll\n  ip-address 2001:db8::1\n  password plain\n", &tp);
	assert_true(tp->auto_enroll);
	assert_int_equal(tp->auto_enroll_percent, 100);
	assert_false(tp->auto_enroll_regenerate);
	assert_string_equal(tp->ip_address, "2001:db8::1");
	assert_string_equal(tp->password, "plain");
	cfg_config_free(cfg);

	cfg = tp_ok("  auto-enroll regenerate\n  ip-address 10.0.0.1\n  ip-address none\n", &tp);
	assert_int_equal(tp->auto_enroll_percent, 100);
	assert_true(tp->auto_enroll_regenerate);
	assert_string_equal(tp->ip_address, "");
	cfg_config_free(cfg);

	cfg = tp_ok("  auto-enroll 80\n  no auto-enroll\n  serial-number\n  no serial-number\n"
	            "  rsakeypair big 8192\n  rsakeypair small\n",
	            &tp);
	assert_false(tp->auto_enroll);
	assert_false(tp->serial_number);
	assert_string_equal(tp->rsakeypair, "small");
	assert_int_equal(tp->rsakeypair_bits, 2048);
	cfg_config_free(cfg);
}

static void trustpoint_errors(void **state)
{
	tp_fails("  enrollment url ftp://ca/\n", "enrollment url 'ftp://ca/' is not an http:// URL with a host");
	tp_fails("  enrollment url http://\n", "is not an http:// URL");
	tp_fails("  enrollment url\n", "incomplete command (syntax: enrollment url URL)");
	tp_fails("  enrollment mode ra\n", "unknown enrollment option 'mode ra'");
	tp_fails("  enrollment profile P\n", "unknown enrollment option 'profile P'");
	tp_fails("  enrollment\n", "incomplete command");
	tp_fails("  enrollment retry\n", "incomplete command");
	tp_fails("  enrollment retry count\n", "incomplete command (syntax: enrollment retry count N)");
	tp_fails("  enrollment retry count 100001\n", "retry count 100001 out of range 0..100000");
	tp_fails("  enrollment retry period 0\n", "retry period 0 out of range 1..60");
	tp_fails("  output post-install-timeout 0\n", "post-install timeout 0 out of range 1..86400");
	tp_fails("  output post-install-timeout 86401\n", "post-install timeout 86401 out of range 1..86400");
	tp_fails("  output post-install-timeout 2s\n", "post-install timeout");
	tp_fails("  output post-install-timeout\n", "syntax: output post-install-timeout SECONDS");
	tp_fails("  output post-install-timeout 5 6\n", "syntax: output post-install-timeout SECONDS");
	tp_fails("  enrollment retry period 61\n", "retry period 61 out of range 1..60");
	tp_fails("  subject-name spoke\n", "subject-name 'spoke' is not a distinguished name");
	tp_fails("  subject-name\n", "incomplete command");
	tp_fails("  serial-number all\n", "unexpected argument 'all'");
	tp_fails("  ip-address 10.0.0.300\n", "ip-address '10.0.0.300' is neither a numeric IPv4 or IPv6 address nor "
	         "an interface name");
	tp_fails("  ip-address eth0 eth1\n", "unexpected argument 'eth1'");
	tp_fails("  ip-address\n", "incomplete command");
	tp_fails("  password\n", "incomplete command (syntax: password [0|7] SECRET)");
	tp_fails("  password 7 XX1234\n", "'XX1234' is not a valid type 7 password");
	tp_fails("  rsakeypair\n", "incomplete command");
	tp_fails("  rsakeypair k 512\n", "key size 512 out of range 1024..8192");
	tp_fails("  rsakeypair k 2048 1024\n", "unexpected argument '1024'");
	tp_fails("  rsakeypair k#\n", "key pair name 'k#' may only hold");
	tp_fails("  auto-enroll 0\n", "percentage 0 out of range 1..100");
	tp_fails("  auto-enroll 101\n", "percentage 101 out of range 1..100");
	tp_fails("  auto-enroll 8O\n", "percentage: '8O' is not a number");
	tp_fails("  auto-enroll soon\n", "unexpected argument 'soon'");
	tp_fails("  auto-enroll 80 now\n", "unexpected argument 'now'");
	tp_fails("  auto-enroll regenerate 80\n", "unexpected argument '80'");
	tp_fails("  auto-enroll 80 regenerate x\n", "unexpected argument 'x'");
	tp_fails("  revocation-check ocsp\n", "unknown revocation check 'ocsp'");
	tp_fails("  revocation-check crl none now\n", "unexpected argument 'now'");
	tp_fails("  output certificate\n", "incomplete command");
	tp_fails("  output certificate a b\n", "unexpected argument 'b'");
	tp_fails("  output post-install\n", "incomplete command");
	tp_fails("  output pkcs12 /x\n", "unknown output 'pkcs12'");
	tp_fails("  output\n", "incomplete command");
	tp_fails("  no password\n", "unknown command 'no password' in crypto pki trustpoint block");
	tp_fails("  grant auto\n", "unknown command 'grant' in crypto pki trustpoint block");
	tp_fails("  crypto pki server X\n", "(global commands start at column 0)");
}

/* subject-alt-name, fqdn, ip-address INTERFACE and output ca-bundle. */
static void trustpoint_names(void **state)
{
	const cfg_trustpoint *tp;
	cfg_config *cfg = tp_ok("  subject-alt-name host.example.net\n"
	                        "  subject-alt-name 192.0.2.1 admin@example.net 2001:db8::7\n"
	                        "  subject-alt-name dns dns\n"
	                        "  subject-alt-name IP 198.51.100.1\n"
	                        "  subject-alt-name email ops@example.net\n"
	                        "  subject-alt-name HOST.example.net\n"
	                        "  fqdn spoke-1.example.net\n"
	                        "  ip-address eth0\n"
	                        "  output ca-bundle /etc/ssl/ca-bundle.pem\n",
	                        &tp);
	assert_int_equal(tp->n_alt_names, 7);
	static const struct { int type; const char *value; } want[] = {
		{CFG_ALT_DNS, "host.example.net"}, {CFG_ALT_IP, "192.0.2.1"}, {CFG_ALT_EMAIL, "admin@example.net"},
		{CFG_ALT_IP, "2001:db8::7"}, {CFG_ALT_DNS, "dns"}, {CFG_ALT_IP, "198.51.100.1"},
		{CFG_ALT_EMAIL, "ops@example.net"},
	};
	for (size_t i = 0; i < 7; i++) {
		assert_int_equal(tp->alt_names[i].type, want[i].type);
		assert_string_equal(tp->alt_names[i].value, want[i].value);
	}
	assert_string_equal(tp->fqdn, "spoke-1.example.net");
	assert_string_equal(tp->ip_interface, "eth0");
	assert_string_equal(tp->ip_address, "");
	assert_string_equal(tp->ca_bundle_file, "/etc/ssl/ca-bundle.pem");
	cfg_config_free(cfg);

	/* The e-mail line's wildcard is refused (the explicit type applies to every value). */
	tp_fails("  subject-alt-name email ops@example.net *.web.example.net\n",
	         "subject-alt-name '*.web.example.net' is not a valid e-mail address");
	cfg = tp_ok("  subject-alt-name *.web.example.net\n  ip-address eth0\n  ip-address 10.1.1.1\n"
	            "  fqdn a.example.net\n  fqdn none\n", &tp);
	assert_int_equal(tp->n_alt_names, 1);
	assert_string_equal(tp->alt_names[0].value, "*.web.example.net");
	assert_string_equal(tp->ip_interface, "");
	assert_string_equal(tp->ip_address, "10.1.1.1");
	assert_string_equal(tp->fqdn, "");
	cfg_config_free(cfg);

	cfg = tp_ok("  subject-alt-name a.example.net\n  fqdn b.example.net\n  ip-address 10.1.1.1\n"
	            "  no subject-alt-name\n  no fqdn\n  no ip-address\n", &tp);
	assert_int_equal(tp->n_alt_names, 0);
	assert_string_equal(tp->fqdn, "");
	assert_string_equal(tp->ip_address, "");
	cfg_config_free(cfg);

	/* Errors name the line of the bad value. */
	tu_parse_fails("crypto pki trustpoint TP\n  subject-alt-name ok.example.net\n  subject-alt-name bad_name.example\n",
	            3, "subject-alt-name 'bad_name.example' is not a valid DNS name");
	tu_parse_fails("crypto pki trustpoint TP\n  fqdn a.example.net\n  auto-enroll\n  subject-alt-name 10.0.0.256\n",
	            4, "subject-alt-name '10.0.0.256' is not a valid IP address");
	tp_fails("  subject-alt-name\n", "incomplete command (syntax: subject-alt-name [dns|ip|email] NAME...)");
	tp_fails("  subject-alt-name ip host.example.net\n", "'host.example.net' is not a valid IP address");
	tp_fails("  subject-alt-name 0.0.0.0\n", "'0.0.0.0' is not a valid IP address");
	tp_fails("  subject-alt-name -a.example.net\n", "is not a valid DNS name");
	tp_fails("  subject-alt-name *.net\n", "'*.net' is not a valid DNS name");
	tp_fails("  subject-alt-name a..example.net\n", "is not a valid DNS name");
	tp_fails("  subject-alt-name @example.net\n", "'@example.net' is not a valid e-mail address");
	tp_fails("  subject-alt-name a@b@example.net\n", "is not a valid e-mail address");
	tp_fails("  subject-alt-name dns a@example.net\n", "'a@example.net' is not a valid DNS name");
	tp_fails("  fqdn\n", "incomplete command (syntax: fqdn NAME|none)");
	tp_fails("  fqdn *.example.net\n", "fqdn '*.example.net' is not a host name");
	tp_fails("  fqdn a.example.net b\n", "unexpected argument 'b'");
	tp_fails("  ip-address 0.0.0.0\n", "ip-address '0.0.0.0' is the unspecified address");
	tp_fails("  ip-address 1eth\n", "is neither a numeric IPv4 or IPv6 address nor an interface name");
	tp_fails("  ip-address averyverylongifname\n", "nor an interface name");
	tp_fails("  no subject-alt-name a.example.net\n", "unknown command 'no subject-alt-name a.example.net'");
	tp_fails("  output ca-bundle\n", "incomplete command");

	char text[1024] = "crypto pki trustpoint TP\n";
	for (int i = 0; i <= CFG_MAX_ALT_NAMES; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "  subject-alt-name h%d.example.net\n", i);
	tu_parse_fails(text, CFG_MAX_ALT_NAMES + 2, "too many subject-alt-name values (at most 16)");
}

static void trustpoint_fingerprint(void **state)
{
	static const char *ok[] = {
		"0123456789abcdef0123456789ABCDEF",                                 /* MD5 */
		"CC748544 A0AB7832 12345678 9ABCDEF0",                              /* MD5, router groups */
		"01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67",      /* SHA-1 */
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", /* SHA-256 */
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char line[256];
		const cfg_trustpoint *tp;
		snprintf(line, sizeof(line), "  fingerprint %s\n", ok[i]);
		cfg_config *cfg = tp_ok(line, &tp);
		assert_string_equal(tp->fingerprint, ok[i]);
		cfg_config_free(cfg);
	}
	tp_fails("  fingerprint 0123456789abcdef0123456789abcd\n",
	         "fingerprint has 15 bytes; expected 16 (MD5), 20 (SHA-1) or 32 (SHA-256)");
	tp_fails("  fingerprint 0123456789abcdef0123456789abcdef01\n", "fingerprint has 17 bytes");
	tp_fails("  fingerprint 0123456789abcdef0123456789abcdef0\n", "odd number of hex digits (33)");
	tp_fails("  fingerprint 0123456789abcdefg123456789abcdef\n", "fingerprint: 'g' is not a hex digit");
	tp_fails("  fingerprint 0123456789abcdef-0123456789abcdef\n", "'-' is not a hex digit");
	tp_fails("  fingerprint\n", "incomplete command (syntax: fingerprint HEX)");
}

/* ---- structure: blocks, comments, line endings ---- */

static void blocks_and_comments(void **state)
{
	cfg_config *cfg = tu_parse_ok("! a comment\n"
	                           "!another\n"
	                           "\n"
	                           "hostname ca1\n"
	                           "crypto pki server ROOTCA\n"
	                           "  grant auto\n"
	                           "  ! an indented comment keeps the block open\n"
	                           "\n"
	                           "\tlifetime crl 12\n"
	                           " \t hash sha512\n"
	                           "!\n"
	                           "crypto pki trustpoint ROOTCA\n"
	                           "  enrollment url http://127.0.0.1:8080\n"
	                           "  exit\n"
	                           "crypto pki trustpoint B\n"
	                           "  auto-enroll 80\n"
	                           "ip http server\n"
	                           "crypto pki server SUB\n"
	                           "  mode sub-cs\n"
	                           "end\n"
	                           "! trailing comment\n"
	                           "\n");
	assert_string_equal(cfg->hostname, "ca1");
	assert_int_equal(cfg->n_servers, 2);
	assert_int_equal(cfg->n_trustpoints, 2);
	const cfg_server *s = cfg_find_server(cfg, "ROOTCA");
	assert_int_equal(s->line, 5);
	assert_int_equal(s->grant, CFG_GRANT_AUTO);
	assert_int_equal(s->lifetime_crl, 12 * HOUR);
	assert_int_equal(s->hash, CFG_HASH_SHA512);
	/* A server and a trustpoint may share a name (the CA's own trustpoint). */
	const cfg_trustpoint *tp = cfg_find_trustpoint(cfg, "ROOTCA");
	assert_int_equal(tp->line, 12);
	assert_string_equal(tp->enrollment_url, "http://127.0.0.1:8080");
	assert_int_equal(cfg_find_trustpoint(cfg, "B")->auto_enroll_percent, 80);
	assert_true(cfg->http_server);
	assert_int_equal(cfg_find_server(cfg, "SUB")->mode, CFG_MODE_SUB_CS);
	cfg_config_free(cfg);
}

static void block_closing(void **state)
{
	/* `!` at column 0, `exit` and an unindented line each close the block. */
	tu_parse_fails("crypto pki server CA\n  grant auto\n!\n  hash sha1\n", 4,
	            "'hash sha1' is only valid inside a crypto pki server or trustpoint block (no block is open here)");
	tu_parse_fails("crypto pki server CA\n  exit\n  grant auto\n", 3, "only valid inside a crypto pki server block");
	tu_parse_fails("crypto pki server CA\nhostname x\n  grant auto\n", 3, "only valid inside");
	tu_parse_fails("crypto pki server CA\n  exit now\n", 2, "unexpected argument 'now'");
	/* A line of the other kind of block, at column 0 after a block (the open block's own lines
	 * stay in it: test_config_router). */
	tu_parse_fails("crypto pki server CA\n  grant auto\nauto-enroll 80\n", 3,
	            "'auto-enroll 80' is only valid inside a crypto pki trustpoint block (not a line of the crypto pki "
	            "server block open here)");
	tu_parse_fails("no shutdown\n", 1, "'no shutdown' is only valid inside a crypto pki server block (no block is open here)");
	tu_parse_fails("crypto pki server CA\n  grant auto\n!\ngrant none\n", 4, "(no block is open here)");
	tu_parse_fails("no auto-enroll\n", 1, "only valid inside a crypto pki trustpoint block");
	/* Stray server line at top level. */
	tu_parse_fails("hostname x\n  lifetime certificate 30\n", 2,
	            "'lifetime certificate 30' is only valid inside a crypto pki server block");
	/* `end` ends the configuration. */
	tu_parse_fails("end\nhostname x\n", 2, "text after 'end' (line 1)");
	tu_parse_fails("crypto pki server CA\n  grant auto\nend\n\n! ok\n  grant none\n", 6, "text after 'end' (line 3)");
}

static void case_and_line_endings(void **state)
{
	cfg_config *cfg = tu_parse_ok("HOSTNAME MixedCase\r\n"
	                           "Crypto PKI Server MyCA\r\n"
	                           "  Grant Auto\r\n"
	                           "  ISSUER-NAME CN=Keep Case,O=Ex\r\n"
	                           "  Database Archive PEM Password 0 CaSe\r\n"
	                           "  HASH SHA384   \r\n"
	                           "\r\n"
	                           "crypto pki trustpoint Tp\r\n"
	                           "  Revocation-Check CRL\r\n"
	                           "  enrollment url http://CA.example.com");
	assert_string_equal(cfg->hostname, "MixedCase");
	const cfg_server *s = cfg_find_server(cfg, "MyCA");
	assert_non_null(s);
	assert_int_equal(s->grant, CFG_GRANT_AUTO);
	assert_string_equal(s->issuer_name, "CN=Keep Case,O=Ex");
	assert_int_equal(s->archive_format, CFG_ARCHIVE_PEM);
	assert_string_equal(s->archive_password, "CaSe");
	assert_int_equal(s->hash, CFG_HASH_SHA384);
	const cfg_trustpoint *tp = cfg_find_trustpoint(cfg, "Tp");
	assert_int_equal(tp->revocation_check, CFG_REVOCATION_CRL);
	assert_string_equal(tp->enrollment_url, "http://CA.example.com");
	cfg_config_free(cfg);

	/* A UTF-8 byte order mark is skipped; line numbers count CRLF lines. */
	cfg = tu_parse_ok("\xef\xbb\xbfhostname bom\n");
	assert_string_equal(cfg->hostname, "bom");
	cfg_config_free(cfg);
	tu_parse_fails("! x\r\n! y\r\nbogus\r\n", 3, "unknown command 'bogus'");
	tu_parse_fails("hostname a\rhostname b\n", 1, "control character 0x0d");
}

static void bad_bytes_and_sizes(void **state)
{
	cfg_config *cfg = NULL;
	ec_err err = {{0}};
	static const uint8_t nul[] = "hostname a\nhost\0name b\n";
	assert_int_equal(cfg_parse(nul, sizeof(nul) - 1, &cfg, &err), -1);
	assert_null(cfg);
	assert_string_equal(err.msg, "line 2: NUL byte in the configuration");
	tu_parse_fails("hostname \x01x\n", 1, "control character 0x01");
	tu_parse_fails("\n\nhostname x\x7f\n", 3, "control character 0x7f");

	/* 4096 characters are accepted, 4097 refused. */
	size_t big = CFG_FILE_MAX + 16;
	char *text = malloc(big);
	assert_non_null(text);
	memset(text, ' ', 4096);
	memcpy(text, "! ", 2);
	text[4096] = '\n';
	memcpy(text + 4097, "! x", 4);
	cfg = tu_parse_ok(text);
	cfg_config_free(cfg);
	memset(text, ' ', 4097);
	memcpy(text, "! ", 2);
	text[4097] = '\0';
	tu_parse_fails(text, 1, "line longer than 4096 characters");

	/* Too many words. */
	size_t n = 0;
	n += (size_t)snprintf(text + n, big - n, "crypto pki trustpoint T\n  output post-install");
	for (int i = 0; i < 130; i++)
		n += (size_t)snprintf(text + n, big - n, " w");
	tu_parse_fails(text, 2, "too many words on one line (at most 128)");

	/* Larger than CFG_FILE_MAX. */
	memset(text, '\n', big);
	cfg = (cfg_config *)(uintptr_t)1;
	assert_int_equal(cfg_parse((const uint8_t *)text, CFG_FILE_MAX + 1, &cfg, &err), -1);
	assert_null(cfg);
	assert_non_null(strstr(err.msg, "larger than"));
	assert_int_equal(cfg_parse((const uint8_t *)text, CFG_FILE_MAX, &cfg, &err), 0);
	cfg_config_free(cfg);
	free(text);

	/* A NULL error buffer is allowed. */
	assert_int_equal(cfg_parse((const uint8_t *)"bogus\n", 6, &cfg, NULL), -1);
	assert_null(cfg);
}

static void duplicates_and_limits(void **state)
{
	tu_parse_fails("crypto pki server A\n  grant auto\ncrypto pki server A\n", 3,
	            "duplicate crypto pki server A (already defined at line 1)");
	tu_parse_fails("crypto pki trustpoint T\n!\ncrypto pki trustpoint T\n", 3,
	            "duplicate crypto pki trustpoint T (already defined at line 1)");

	char *text = malloc(65536);
	assert_non_null(text);
	size_t n = 0;
	for (int i = 0; i <= CFG_MAX_SERVERS; i++)
		n += (size_t)snprintf(text + n, 65536 - n, "crypto pki server S%d\n", i);
	tu_parse_fails(text, CFG_MAX_SERVERS + 1, "too many crypto pki server blocks (at most 8)");

	n = 0;
	for (int i = 0; i <= CFG_MAX_TRUSTPOINTS; i++)
		n += (size_t)snprintf(text + n, 65536 - n, "crypto pki trustpoint T%d\n", i);
	tu_parse_fails(text, CFG_MAX_TRUSTPOINTS + 1, "too many crypto pki trustpoint blocks (at most 64)");

	n = 0;
	for (int i = 0; i <= CFG_MAX_KEYS; i++)
		n += (size_t)snprintf(text + n, 65536 - n, "crypto key generate rsa label K%d\n", i);
	tu_parse_fails(text, CFG_MAX_KEYS + 1, "too many crypto key generate rsa lines (at most 64)");

	/* Exactly at every limit is fine. */
	n = 0;
	for (int i = 0; i < CFG_MAX_SERVERS; i++)
		n += (size_t)snprintf(text + n, 65536 - n, "crypto pki server S%d\n", i);
	for (int i = 0; i < CFG_MAX_TRUSTPOINTS; i++)
		n += (size_t)snprintf(text + n, 65536 - n, "crypto pki trustpoint T%d\n", i);
	for (int i = 0; i < CFG_MAX_KEYS; i++)
		n += (size_t)snprintf(text + n, 65536 - n, "crypto key generate rsa label K%d\n", i);
	size_t at_limit = n;
	n += (size_t)snprintf(text + n, 65536 - n, "crypto pki server LAST\n ");
	cfg_config *cfg = NULL;
	ec_err err = {{0}};
	assert_int_equal(cfg_parse((const uint8_t *)text, n, &cfg, &err), -1);
	assert_string_equal(err.msg, "line 137: too many crypto pki server blocks (at most 8)");
	text[at_limit] = '\0';
	cfg = tu_parse_ok(text);
	free(text);
	assert_int_equal(cfg->n_servers, CFG_MAX_SERVERS);
	cfg_config_free(cfg);
}

/* ---- type 7 ---- */

/* Algorithms: the server's single-DES switch, a trustpoint's `hash` and `encryption` lists. */
static void algorithm_lines(void **state)
{
	const cfg_server *s = NULL;
	cfg_config *cfg = server_ok("  grant auto\n", &s);
	assert_true(s->encryption_des);
	cfg_config_free(cfg);
	cfg = server_ok("  no encryption des\n", &s);
	assert_false(s->encryption_des);
	cfg_config_free(cfg);
	cfg = server_ok("  no encryption des\n  encryption des\n", &s);
	assert_true(s->encryption_des);
	cfg_config_free(cfg);
	server_fails("  encryption aes\n", "only single DES can be turned off or on");
	server_fails("  encryption\n", "encryption des");
	server_fails("  no encryption 3des\n", "no encryption des");

	const cfg_trustpoint *tp = NULL;
	cfg = tp_ok("  enrollment url http://ca.example:80\n", &tp);
	assert_int_equal(tp->algorithms, CFG_ALG_TRUSTPOINT_DEFAULT);
	assert_int_equal(tp->algorithms & (CFG_ALG_MD5 | CFG_ALG_DES), 0);
	cfg_config_free(cfg);
	cfg = tp_ok("  hash sha256\n", &tp);
	assert_int_equal(tp->algorithms, CFG_ALG_SHA256 | CFG_ALG_AES | CFG_ALG_3DES);
	cfg_config_free(cfg);
	cfg = tp_ok("  hash MD5 sha1\n  encryption des 3des aes\n", &tp);
	assert_int_equal(tp->algorithms, CFG_ALG_MD5 | CFG_ALG_SHA1 | CFG_ALG_DES | CFG_ALG_3DES | CFG_ALG_AES);
	cfg_config_free(cfg);
	cfg = tp_ok("  encryption aes 3des des\n  no encryption des\n  no hash sha1\n", &tp);
	assert_int_equal(tp->algorithms, CFG_ALG_SHA512 | CFG_ALG_SHA384 | CFG_ALG_SHA256 | CFG_ALG_AES | CFG_ALG_3DES);
	cfg_config_free(cfg);
	tp_fails("  hash md4\n", "unknown hash 'md4'");
	tp_fails("  hash\n", "expected 1 to 5 algorithms");
	tp_fails("  encryption rc2\n", "unknown encryption 'rc2'");
	tp_fails("  encryption aes 3des des aes\n", "expected 1 to 3 algorithms");
	tp_fails("  no encryption aes 3des\n", "no encryption to use");
	tp_fails("  no hash sha512 sha384 sha256 sha1\n", "no hash to use");
}

static void type7(void **state)
{
	char out[CFG_SECRET_MAX];
	assert_int_equal(cfg_type7_decode("01100F175804575D72", out, sizeof(out)), 0);
	assert_string_equal(out, "cisco123");
	assert_int_equal(cfg_type7_decode("01100f175804575d72", out, sizeof(out)), 0); /* lower case hex */
	assert_string_equal(out, "cisco123");
	assert_int_equal(cfg_type7_decode("01", out, sizeof(out)), 0);
	assert_string_equal(out, "");

	char enc[2 * CFG_SECRET_MAX + 3];
	assert_int_equal(cfg_type7_encode("cisco123", 1, enc, sizeof(enc)), 0);
	assert_string_equal(enc, "01100F175804575D72");

	static const char *words[] = {"a", "cisco123", "Rev0cati0n$Passw0rd",
	                              "a much longer password that wraps around the fifty-three character key!"};
	for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
		for (int salt = 0; salt <= 15; salt++) {
			assert_int_equal(cfg_type7_encode(words[w], salt, enc, sizeof(enc)), 0);
			assert_int_equal(enc[0] - '0', salt / 10);
			assert_int_equal(enc[1] - '0', salt % 10);
			assert_int_equal(strlen(enc), 2 + 2 * strlen(words[w]));
			assert_int_equal(cfg_type7_decode(enc, out, sizeof(out)), 0);
			assert_string_equal(out, words[w]);
		}
	}
	/* Salts above 15 decode (other routers write them) up to 52. */
	assert_int_equal(cfg_type7_decode("52", out, sizeof(out)), 0);
	assert_int_equal(cfg_type7_decode("5200", out, sizeof(out)), 0);

	assert_int_equal(cfg_type7_decode("", out, sizeof(out)), -1);
	assert_int_equal(cfg_type7_decode("0", out, sizeof(out)), -1);
	assert_int_equal(cfg_type7_decode("01100F175804575D7", out, sizeof(out)), -1);  /* odd length */
	assert_int_equal(cfg_type7_decode("01100F175804575DXY", out, sizeof(out)), -1); /* not hex */
	assert_int_equal(cfg_type7_decode("0110 F175804575D72", out, sizeof(out)), -1);
	assert_int_equal(cfg_type7_decode("53100F", out, sizeof(out)), -1);             /* salt > 52 */
	assert_int_equal(cfg_type7_decode("99100F", out, sizeof(out)), -1);
	assert_int_equal(cfg_type7_decode("A1100F", out, sizeof(out)), -1);             /* salt not decimal */
	assert_int_equal(cfg_type7_decode("0173", out, sizeof(out)), -1);               /* decodes to NUL */
	assert_int_equal(cfg_type7_decode("01100F175804575D72", out, 8), -1);           /* no room */
	assert_int_equal(cfg_type7_decode("01100F175804575D72", out, 9), 0);
	assert_int_equal(cfg_type7_decode("01100F", out, 0), -1);

	assert_int_equal(cfg_type7_encode("x", 16, enc, sizeof(enc)), -1);
	assert_int_equal(cfg_type7_encode("x", -1, enc, sizeof(enc)), -1);
	assert_int_equal(cfg_type7_encode("cisco123", 1, enc, 18), -1); /* needs 19 */
	assert_int_equal(cfg_type7_encode("cisco123", 1, enc, 19), 0);
	assert_int_equal(cfg_type7_encode("", 5, enc, 3), 0);
	assert_string_equal(enc, "05");
}

/* ---- files ---- */

static void write_text(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void load_file(void **state)
{
	char *dir = tu_tmpdir("config");
	char path[4096];
	cfg_config *cfg = NULL;
	ec_err err = {{0}};

	snprintf(path, sizeof(path), "%s/good.conf", dir);
	const char *good = "hostname filed\ncrypto pki server CA\n  grant none\n";
	write_text(path, good, strlen(good));
	assert_int_equal(cfg_load_file(path, &cfg, &err), 0);
	assert_string_equal(cfg->hostname, "filed");
	assert_int_equal(cfg->servers[0].grant, CFG_GRANT_NONE);
	cfg_config_free(cfg);

	snprintf(path, sizeof(path), "%s/bad.conf", dir);
	const char *bad = "hostname x\n\ncrypto pki server CA\n  hash md5\n";
	write_text(path, bad, strlen(bad));
	assert_int_equal(cfg_load_file(path, &cfg, &err), -1);
	assert_null(cfg);
	char want[4200];
	snprintf(want, sizeof(want), "%s: line 4: hash md5 is refused as insecure", path);
	if (strncmp(err.msg, want, strlen(want)) != 0)
		fail_msg("error '%s' is not '%s...'", err.msg, want);

	snprintf(path, sizeof(path), "%s/missing.conf", dir);
	cfg = (cfg_config *)(uintptr_t)1;
	assert_int_equal(cfg_load_file(path, &cfg, &err), -1);
	assert_null(cfg);
	assert_non_null(strstr(err.msg, "missing.conf"));

	snprintf(path, sizeof(path), "%s/huge.conf", dir);
	char *huge = malloc(CFG_FILE_MAX + 1);
	assert_non_null(huge);
	memset(huge, '\n', CFG_FILE_MAX + 1);
	write_text(path, huge, CFG_FILE_MAX + 1);
	free(huge);
	assert_int_equal(cfg_load_file(path, &cfg, &err), -1);
	assert_null(cfg);
	assert_non_null(strstr(err.msg, "larger than"));
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(spec_server_example),
		cmocka_unit_test(spec_trustpoint_example),
		cmocka_unit_test(shipped_config),
		cmocka_unit_test(global_defaults),
		cmocka_unit_test(server_defaults),
		cmocka_unit_test(trustpoint_defaults),
		cmocka_unit_test(globals),
		cmocka_unit_test(clock_lines),
		cmocka_unit_test(global_errors),
		cmocka_unit_test(server_database),
		cmocka_unit_test(server_issuance),
		cmocka_unit_test(server_archive),
		cmocka_unit_test(server_grant),
		cmocka_unit_test(server_renewal_grace),
		cmocka_unit_test(grant_unknown_trustpoint),
		cmocka_unit_test(server_lifetimes),
		cmocka_unit_test(server_auto_rollover),
		cmocka_unit_test(server_hash),
		cmocka_unit_test(server_misc),
		cmocka_unit_test(trustpoint_lines),
		cmocka_unit_test(trustpoint_errors),
		cmocka_unit_test(trustpoint_fingerprint),
		cmocka_unit_test(trustpoint_names),
		cmocka_unit_test(algorithm_lines),
		cmocka_unit_test(blocks_and_comments),
		cmocka_unit_test(block_closing),
		cmocka_unit_test(case_and_line_endings),
		cmocka_unit_test(bad_bytes_and_sizes),
		cmocka_unit_test(duplicates_and_limits),
		cmocka_unit_test(type7),
		cmocka_unit_test(load_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
