/* The certificate server's show output in the router's words: State and the lock line, the
 * issuer name in effect, the MD5 of the rollover CA certificate, certificate entries with Name:
 * and Storage:, and key entries with the time each key pair was made. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/pem.h>

#include "ca/ca.h"
#include "config/config.h"
#include "pki/cert_show.h"
#include "pki/pki.h"
#include "testutil.h"
#include "util/encoding.h"

/* 2015-10-09T13:14:16Z, the guide's CA creation time. */
#define T0 ((ec_time)1444396456000)
#define DAY ((ec_time)86400 * 1000)

typedef struct fixture {
	char *dir;
	cfg_config *cfg;
	ca_engine *ca;
	ec_buf out;
} fixture;

static void open_ca(fixture *f, const char *server_lines)
{
	char text[1024];
	snprintf(text, sizeof(text), "crypto pki server ROOTCA\n%s", server_lines);
	ec_err err;
	if (cfg_parse((const uint8_t *)text, strlen(text), &f->cfg, &err) != 0)
		fail_msg("config: %s", err.msg);
	f->dir = tu_tmpdir("cashow");
	ca_env env = {.state_dir = f->dir, .default_key_bits = 1024, .rollover_key_bits = 1024};
	if (ca_open(&f->cfg->servers[0], &env, T0, &f->ca, &err) != 0)
		fail_msg("ca_open: %s", err.msg);
	ec_buf_init(&f->out, 1 << 16);
}

static void close_ca(fixture *f)
{
	ec_buf_free(&f->out);
	ca_close(f->ca);
	cfg_config_free(f->cfg);
	free(f->dir);
}

static const char *show(fixture *f, int (*fn)(ca_engine *, ec_time, unsigned, ec_buf *, ec_err *), ec_time now,
                        unsigned flags)
{
	ec_err err;
	ec_buf_reset(&f->out);
	assert_int_equal(fn(f->ca, now, flags, &f->out, &err), 0);
	assert_int_equal(ec_buf_printf(&f->out, "%c", '\0'), 0);
	return (const char *)f->out.data;
}

static const char *show_keys(fixture *f)
{
	ec_err err;
	ec_buf_reset(&f->out);
	assert_int_equal(ca_show_mypubkey(f->ca, 0, &f->out, &err), 0);
	assert_int_equal(ec_buf_printf(&f->out, "%c", '\0'), 0);
	return (const char *)f->out.data;
}

static void state_lock_and_issuer(void **state)
{
	(void)state;
	fixture f = {0};
	open_ca(&f, "  grant auto\n");
	const char *text = show(&f, ca_show_server, T0, 0);
	assert_non_null(strstr(text, "    Status: enabled\n    State: enabled\n"
	                             "    Server's configuration is locked (enter \"shut\" to unlock it)\n"
	                             "    Issuer name: CN=ROOTCA\n"));
	/* The daemon's clock is not authoritative: requests are answered, no timer runs. */
	text = show(&f, ca_show_server, T0, CA_SHOW_CLOCK_UNSET);
	assert_non_null(strstr(text, "    Status: enabled\n    State: enabled - clock not authoritative\n"));
	text = show(&f, ca_show_server, T0, CA_SHOW_JSON | CA_SHOW_CLOCK_UNSET);
	assert_non_null(strstr(text, "\"issuer_name\":\"\",\"issuer_name_effective\":\"CN=ROOTCA\""));
	assert_non_null(strstr(text, "\"clock_authoritative\":false"));

	ec_buf out;
	ec_err err;
	ec_buf_init(&out, 4096);
	assert_int_equal(ca_cmd_shutdown(f.ca, true, &out, &err), 0);
	ec_buf_free(&out);
	text = show(&f, ca_show_server, T0, CA_SHOW_CLOCK_UNSET);
	assert_non_null(strstr(text, "    Status: disabled\n    State: disabled - clock not authoritative\n"
	                             "    Server's configuration is unlocked (enter \"no shut\" to lock it)\n"));
	assert_null(strstr(text, "is locked"));
	close_ca(&f);
}

/* "AB:CD:..." from OpenSSL as the router groups it: "ABCD.... ...." 8 hex digits a group. */
static void md5_text(const char *pem_path, char *out, size_t sz)
{
	FILE *fp = fopen(pem_path, "r");
	assert_non_null(fp);
	X509 *c = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(c);
	assert_int_equal(ec_cert_fingerprint(c, EVP_md5(), out, sz), 0);
	X509_free(c);
}

static void rollover_md5_and_entries(void **state)
{
	(void)state;
	fixture f = {0};
	open_ca(&f, "  issuer-name CN=RootCA,OU=TAC,O=Cisco\n  lifetime ca-certificate 730\n  auto-rollover 90\n");
	ec_err err;
	ec_time shadow = T0 + 640 * DAY;
	assert_int_equal(ca_run_timers(f.ca, shadow, &err), 0);
	char path[1024], md5[160], want[1536];
	snprintf(path, sizeof(path), "%s/ROOTCA/ROOTCA-rollover.pem", f.dir);
	md5_text(path, md5, sizeof(md5));
	snprintf(want, sizeof(want), "    Rollover CA certificate fingerprint (MD5): %s\n"
	         "    Rollover CA certificate expiration time: 13:14:16 UTC Oct 8 2019\n", md5);
	const char *text = show(&f, ca_show_server, shadow, CA_SHOW_MD5);
	assert_non_null(strstr(text, want));
	assert_null(strstr(show(&f, ca_show_server, shadow, 0), "(MD5)"));

	text = show(&f, ca_show_certificates, shadow, 0);
	snprintf(want, sizeof(want), "CA Certificate (Rollover)\n  Status: Available\n");
	assert_non_null(strstr(text, want));
	assert_non_null(strstr(text, "  Subject:\n    Name: RootCA\n    cn=RootCA\n    ou=TAC\n    o=Cisco\n"));
	snprintf(want, sizeof(want), "  Associated Trustpoints: ROOTCA\n  Storage: %s\n\n", path);
	assert_non_null(strstr(text, want));
	/* --json keeps the status that says the certificate has not started, and adds storage. */
	text = show(&f, ca_show_certificates, shadow, CA_SHOW_JSON);
	assert_non_null(strstr(text, "\"status\":\"Available (not yet valid)\""));
	assert_non_null(strstr(text, "\"storage\":"));
	close_ca(&f);
}

static void key_times(void **state)
{
	(void)state;
	fixture f = {0};
	open_ca(&f, "  lifetime ca-certificate 730\n  auto-rollover 90\n");
	ec_err err;
	assert_int_equal(ca_run_timers(f.ca, T0 + 640 * DAY, &err), 0);
	const char *text = show_keys(&f);
	assert_non_null(strstr(text, "% Key pair was generated at: 13:14:16 UTC Oct 9 2015\nKey name: ROOTCA\n"
	                             "Key type: RSA KEYS\n Key size: 1024 bits\n Storage Device: "));
	assert_non_null(strstr(text, "% Key pair was generated at: 13:14:16 UTC Jul 10 2017\nKey name: ROOTCA#\n"));
	assert_non_null(strstr(text, " Usage: General Purpose Key\n Key is not exportable.\n Key Data:\n  30"));

	/* Without the record (a key from before it), the file's time, called so. */
	char path[1024];
	snprintf(path, sizeof(path), "%s/ROOTCA/ROOTCA.0.key.made", f.dir);
	assert_int_equal(unlink(path), 0);
	text = show_keys(&f);
	assert_non_null(strstr(text, "% Key pair file was written at: "));
	assert_non_null(strstr(text, "% Key pair was generated at: 13:14:16 UTC Jul 10 2017\nKey name: ROOTCA#\n"));

	/* A cancelled rollover takes the record with its key. */
	snprintf(path, sizeof(path), "%s/ROOTCA/ROOTCA.1.key.made", f.dir);
	assert_int_equal(access(path, F_OK), 0);
	ec_buf out;
	ec_buf_init(&out, 4096);
	assert_int_equal(ca_cmd_rollover_cancel(f.ca, true, T0 + 641 * DAY, &out, &err), 0);
	ec_buf_free(&out);
	assert_int_not_equal(access(path, F_OK), 0);
	assert_null(strstr(show_keys(&f), "ROOTCA#"));
	close_ca(&f);
}

/* The shared entry: a certificate without a CN has no Name: line; control bytes never pass. */
static void entry_without_cn(void **state)
{
	(void)state;
	EVP_PKEY *key = tu_rsa_key(1024);
	X509 *c = tu_self_signed(key, "x", 5, 1444396456, 30, 0);
	X509_NAME *name = X509_NAME_new();
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"Ex\001ample", -1, -1, 0), 1);
	assert_int_equal(X509_set_subject_name(c, name), 1);
	ec_buf b;
	ec_buf_init(&b, 8192);
	pki_cert_entry e = {.cert = c, .ca = false};
	assert_int_equal(pki_cert_entry_head(&b, &e, T0) || ec_buf_printf(&b, " TP") || pki_cert_entry_tail(&b, NULL), 0);
	assert_int_equal(ec_buf_printf(&b, "%c", '\0'), 0);
	const char *text = (const char *)b.data;
	assert_non_null(strstr(text, "Certificate\n  Status: Available\n  Certificate Serial Number (hex): 05\n"
	                             "  Certificate Usage: General Purpose\n"));
	assert_non_null(strstr(text, "  Subject:\n    o=Ex\\01ample\n  Validity Date:\n"));
	assert_non_null(strstr(text, "  Associated Trustpoints: TP\n\n"));
	assert_null(strstr(text, "Storage:"));
	ec_buf_free(&b);
	X509_NAME_free(name);
	X509_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(state_lock_and_issuer),
		cmocka_unit_test(rollover_md5_and_entries),
		cmocka_unit_test(key_times),
		cmocka_unit_test(entry_without_cn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
