#include "testutil.h"

#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "testutil: %s failed\n", what);
	abort();
}

char *tu_tmpdir(const char *tag)
{
	const char *base = getenv("EVERCERT_TEST_TMP");
	if (base == NULL || *base == '\0')
		base = "/tmp";
	mkdir(base, 0700);
	char tmpl[4096];
	snprintf(tmpl, sizeof(tmpl), "%s/%s.XXXXXX", base, tag);
	if (mkdtemp(tmpl) == NULL)
		die("mkdtemp");
	return strdup(tmpl);
}

EVP_PKEY *tu_rsa_key_new(int bits)
{
	EVP_PKEY *k = EVP_RSA_gen((unsigned)bits);
	if (k == NULL)
		die("EVP_RSA_gen");
	return k;
}

EVP_PKEY *tu_rsa_key(int bits)
{
	static EVP_PKEY *k1024, *k2048;
	EVP_PKEY **slot = bits <= 1024 ? &k1024 : &k2048;
	if (*slot == NULL)
		*slot = tu_rsa_key_new(bits <= 1024 ? 1024 : 2048);
	return *slot;
}

static void set_name(X509_NAME *name, const char *cn)
{
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0))
		die("X509_NAME_add_entry");
}

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL || !X509_add_ext(cert, ext, -1))
		die("add extension");
	X509_EXTENSION_free(ext);
}

static X509 *make_cert(X509 *issuer, EVP_PKEY *issuer_key, EVP_PKEY *key, const char *cn,
                       long serial, time_t not_before, int days, int ca)
{
	X509 *c = X509_new();
	if (c == NULL)
		die("X509_new");
	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), serial);
	X509_time_adj_ex(X509_getm_notBefore(c), 0, 0, &not_before);
	X509_time_adj_ex(X509_getm_notAfter(c), days, 0, &not_before);
	set_name(X509_get_subject_name(c), cn);
	X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : X509_get_subject_name(c));
	X509_set_pubkey(c, key);
	X509 *iss = issuer ? issuer : c;
	add_ext(c, iss, NID_subject_key_identifier, "hash");
	if (ca) {
		add_ext(c, iss, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(c, iss, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
	} else {
		add_ext(c, iss, NID_key_usage, "critical,digitalSignature,keyEncipherment");
	}
	if (!X509_sign(c, issuer_key ? issuer_key : key, EVP_sha256()))
		die("X509_sign");
	return c;
}

X509 *tu_self_signed(EVP_PKEY *key, const char *cn, long serial, time_t not_before, int days, int ca)
{
	return make_cert(NULL, NULL, key, cn, serial, not_before, days, ca);
}

X509 *tu_issue(X509 *issuer, EVP_PKEY *issuer_key, EVP_PKEY *subject_key, const char *cn,
               long serial, time_t not_before, int days)
{
	return make_cert(issuer, issuer_key, subject_key, cn, serial, not_before, days, 0);
}

X509_REQ *tu_csr(EVP_PKEY *key, const char *cn, const char *challenge)
{
	X509_REQ *req = X509_REQ_new();
	if (req == NULL)
		die("X509_REQ_new");
	X509_REQ_set_version(req, 0);
	set_name(X509_REQ_get_subject_name(req), cn);
	X509_REQ_set_pubkey(req, key);
	if (challenge != NULL &&
	    !X509_REQ_add1_attr_by_NID(req, NID_pkcs9_challengePassword, MBSTRING_UTF8,
	                               (const unsigned char *)challenge, -1))
		die("challenge attribute");
	if (!X509_REQ_sign(req, key, EVP_sha256()))
		die("X509_REQ_sign");
	return req;
}

int tu_csr_der(X509_REQ *req, unsigned char **der)
{
	*der = NULL;
	int n = i2d_X509_REQ(req, der);
	if (n <= 0)
		die("i2d_X509_REQ");
	return n;
}

/* One connection per call: the database may be closed or open in the code under test. */
static sqlite3 *open_db(const char *path)
{
	sqlite3 *db = NULL;
	if (sqlite3_open(path, &db) != SQLITE_OK)
		die(path);
	return db;
}

void tu_sql(const char *path, const char *sql)
{
	sqlite3 *db = open_db(path);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
		die("tu_sql");
	}
	sqlite3_close(db);
}

long long tu_sql_number(const char *path, const char *sql)
{
	sqlite3 *db = open_db(path);
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW) {
		fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
		die("tu_sql_number");
	}
	long long n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return n;
}

cfg_config *tu_parse_ok(const char *text)
{
	cfg_config *cfg = NULL;
	ec_err err = {{0}};
	if (cfg_parse((const uint8_t *)text, strlen(text), &cfg, &err) != 0 || cfg == NULL) {
		fprintf(stderr, "unexpected error: %s\n--- in:\n%s\n", err.msg, text);
		abort();
	}
	return cfg;
}

void tu_parse_fails(const char *text, int line, const char *want)
{
	cfg_config *cfg = (cfg_config *)(uintptr_t)1;
	ec_err err = {{0}};
	char prefix[32];
	snprintf(prefix, sizeof(prefix), "line %d: ", line);
	if (cfg_parse((const uint8_t *)text, strlen(text), &cfg, &err) != -1 || cfg != NULL ||
	    strncmp(err.msg, prefix, strlen(prefix)) != 0 || strstr(err.msg, want) == NULL) {
		fprintf(stderr, "error '%s' is not '%s...%s'\n--- in:\n%s\n", err.msg, prefix, want, text);
		abort();
	}
}
