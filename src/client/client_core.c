/* A trustpoint's files: state, keys, the application's copies; and its timers. */
#include "client/client_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "pki/key_time.h"
#include "pki/pki.h"
#include "scep/scep.h"
#include "util/crashpoint.h"
#include "util/encoding.h"
#include "util/fsutil.h"
#include "util/task.h"

void client_log(tp_runtime *tp, const char *fmt, ...)
{
	if (tp->env.log == NULL)
		return;
	char line[1024];
	int n = snprintf(line, sizeof(line), "trustpoint %s: ", tp->cfg.name);
	va_list ap;
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	tp->env.log(tp->env.log_ctx, line);
}

ec_time client_retry_after(const scep_client_reply *r, ec_time now)
{
	if (r->retry_after_seconds >= 0)
		return r->retry_after_seconds * EC_MS_PER_SECOND;
	if (r->retry_after_epoch >= 0) {
		ec_time wait = r->retry_after_epoch * EC_MS_PER_SECOND - now;
		return wait > 0 ? wait : 0;
	}
	return -1;
}

const char *client_name(const tp_runtime *tp)
{
	return tp->cfg.name;
}

const char *client_key_label(const tp_runtime *tp)
{
	return tp->cfg.rsakeypair[0] ? tp->cfg.rsakeypair : tp->cfg.name;
}

int client_key_file(tp_runtime *tp, char slot, char *out, size_t sz)
{
	int n = snprintf(out, sz, "%s.%c.key", client_key_label(tp), slot);
	return (n < 0 || (size_t)n >= sz || strchr(out, '/') != NULL) ? -1 : 0;
}

static int state_path(tp_runtime *tp, char *out, size_t sz)
{
	int n = snprintf(out, sz, "%s.state", tp->cfg.name);
	return (n < 0 || (size_t)n >= sz || strchr(out, '/') != NULL) ? -1 : 0;
}

/* An atomic write's fsyncs take milliseconds, tens on a busy disk: the loop runs beside them (the
 * bytes are the caller's own copy, the file the trustpoint's alone, and no lock is held). dir NULL:
 * path as given. */
static int write_beside_loop(const ec_dir *dir, const char *path, const void *data, size_t len, mode_t mode,
                             ec_err *err)
{
	ec_task_detach(EC_DETACH_DISK);
	int rc = dir != NULL ? ec_write_atomic_at(dir, path, data, len, mode, err)
	                     : ec_write_atomic(path, data, len, mode, err);
	ec_task_attach();
	return rc;
}

int client_save(tp_runtime *tp, ec_err *err)
{
	char path[EC_PATH_MAX];
	ec_buf b;
	ec_buf_init(&b, TP_RECORD_MAX);
	int rc = -1;
	if (state_path(tp, path, sizeof(path)) != 0)
		ec_err_set(err, "state path too long");
	else if (tp_record_format(&tp->rec, &b) != 0)
		ec_err_set(err, "state too large");
	else
		rc = write_beside_loop(&tp->dir, path, b.data, b.len, 0600, err);
	ec_buf_free(&b);
	return rc;
}

void client_commit_install(tp_runtime *tp, const char *stage, const char *old_key, const char *fmt, ...)
{
	ec_err err;
	char point[64];
	snprintf(point, sizeof(point), "client-%s-before-commit", stage);
	ec_crash_point(point);
	if (client_save(tp, &err) != 0) {
		client_log(tp, "cannot save state: %s", err.msg);
		return;
	}
	snprintf(point, sizeof(point), "client-%s-after-commit", stage);
	ec_crash_point(point);
	if (old_key[0] != '\0') {
		ec_unlink_at(&tp->keys, old_key);
		pki_key_time_forget_at(&tp->keys, old_key);
	}
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	client_log(tp, "%s", line);
	if (client_write_outputs(tp, &err) != 0)
		client_log(tp, "cannot write the output files: %s", err.msg);
	client_run_post_install(tp);
}

int client_key_load_or_create(tp_runtime *tp, char slot, bool create, EVP_PKEY **out, ec_err *err)
{
	char path[EC_PATH_MAX];
	*out = NULL;
	if (client_key_file(tp, slot, path, sizeof(path)) != 0)
		return ec_err_set(err, "key name too long");
	if (!create || ec_file_exists_at(&tp->keys, path))
		return ec_file_exists_at(&tp->keys, path) ? pki_key_load_at(&tp->keys, path, tp->key_password, out, err) : 0;
	int bits = tp->cfg.rsakeypair_bits > 0 ? tp->cfg.rsakeypair_bits : CFG_RSA_BITS_DEFAULT;
	/* Seconds of arithmetic on the pair and its encryption, touching only this trustpoint's key
	 * file and a local: the daemon's loop runs beside it, and its show commands read *out (often
	 * tp->key), which is set only once the turn is back. */
	EVP_PKEY *made = NULL;
	ec_task_detach(EC_DETACH_COMPUTE);
	int rc = pki_key_generate(bits, &made, err);
	if (rc == 0)
		rc = pki_key_save_at(&tp->keys, path, made, tp->key_password, err);
	ec_task_attach();
	if (rc != 0) {
		EVP_PKEY_free(made);
		return -1;
	}
	*out = made;
	client_log(tp, "key '%s%s' does not exist; generated automatically (%d bits)", client_key_label(tp),
	           slot == tp->rec.key_slot ? "" : "#", bits);
	/* For show crypto key mypubkey rsa; without it the show says the file's time instead. */
	ec_err record_err;
	if (tp->env.now != NULL && pki_key_time_record_at(&tp->keys, path, tp->env.now(tp->env.now_ctx), &record_err) != 0)
		client_log(tp, "the making time of key '%s' is not recorded: %s", path, record_err.msg);
	return 0;
}

int client_set_cert(tp_runtime *tp, int which, X509 *cert, ec_err *err)
{
	uint8_t *der = NULL;
	size_t len = 0;
	if (cert != NULL && pki_cert_to_der(cert, &der, &len, err) != 0)
		return -1;
	int rc = tp_record_set_blob(&tp->rec, which, der, len);
	free(der);
	return rc == 0 ? 0 : ec_err_set(err, "out of memory");
}

/* The key as the output file holds it: unencrypted PEM, for the application that uses it. */
static int key_pem(EVP_PKEY *key, char **pem, size_t *len, ec_err *err)
{
	*pem = NULL;
	BIO *mem = BIO_new(BIO_s_mem());
	char *data = NULL;
	long n = 0;
	if (mem == NULL || PEM_write_bio_PrivateKey(mem, key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    (n = BIO_get_mem_data(mem, &data)) <= 0 || (*pem = malloc((size_t)n)) == NULL) {
		BIO_free_all(mem);
		return ec_err_ssl(err, "cannot encode the key");
	}
	memcpy(*pem, data, (size_t)n);
	*len = (size_t)n;
	OPENSSL_cleanse(data, (size_t)n);
	BIO_free_all(mem);
	return 0;
}

/* The bytes each configured output file must hold; NULL data when there is nothing to write. */
typedef struct {
	const char *what;           /* the configuration word: certificate, key, chain, ca-bundle */
	const char *path;
	char *data;
	size_t len;
	mode_t mode;
} output_file;

enum { OUTPUT_CERT, OUTPUT_KEY, OUTPUT_CHAIN, OUTPUT_BUNDLE, OUTPUT_COUNT };

static void outputs_free(output_file out[OUTPUT_COUNT])
{
	for (int i = 0; i < OUTPUT_COUNT; i++) {
		if (out[i].data != NULL)
			OPENSSL_cleanse(out[i].data, out[i].len);
		free(out[i].data);
	}
}

/* The active CA certificate, then the rollover CA certificate while the trustpoint holds one. */
static int ca_certs_pem(tp_runtime *tp, char **pem, size_t *len, ec_err *err)
{
	char *next = NULL, *both = NULL;
	size_t next_len = 0;
	if (pki_cert_to_pem(tp->ca, pem, len, err) != 0)
		return -1;
	if (tp->rollover_ca == NULL)
		return 0;
	if (pki_cert_to_pem(tp->rollover_ca, &next, &next_len, err) != 0 ||
	    (both = realloc(*pem, *len + next_len)) == NULL) {
		int rc = next == NULL ? -1 : ec_err_set(err, "out of memory");
		free(next);
		free(*pem);
		*pem = NULL;
		return rc;
	}
	memcpy(both + *len, next, next_len);
	*pem = both;
	*len += next_len;
	free(next);
	return 0;
}

/* The chain goes with an identity certificate; the CA bundle is there as soon as the
 * trustpoint is authenticated, for the relying parties of a host that may have no certificate. */
static int outputs_expected(tp_runtime *tp, output_file out[OUTPUT_COUNT], ec_err *err)
{
	memset(out, 0, OUTPUT_COUNT * sizeof(*out));
	out[OUTPUT_CERT] = (output_file){.what = "certificate", .path = tp->cfg.certificate_file, .mode = 0644};
	out[OUTPUT_KEY] = (output_file){.what = "key", .path = tp->cfg.key_file, .mode = 0600};
	out[OUTPUT_CHAIN] = (output_file){.what = "chain", .path = tp->cfg.chain_file, .mode = 0644};
	out[OUTPUT_BUNDLE] = (output_file){.what = "ca-bundle", .path = tp->cfg.ca_bundle_file, .mode = 0644};
	bool enrolled = tp->cert != NULL && tp->key != NULL && tp->ca != NULL;
	output_file *o = out;
	if ((enrolled && o[OUTPUT_CERT].path[0] &&
	     pki_cert_to_pem(tp->cert, &o[OUTPUT_CERT].data, &o[OUTPUT_CERT].len, err) != 0) ||
	    (enrolled && o[OUTPUT_KEY].path[0] && key_pem(tp->key, &o[OUTPUT_KEY].data, &o[OUTPUT_KEY].len, err) != 0) ||
	    (enrolled && o[OUTPUT_CHAIN].path[0] &&
	     ca_certs_pem(tp, &o[OUTPUT_CHAIN].data, &o[OUTPUT_CHAIN].len, err) != 0) ||
	    (tp->ca != NULL && o[OUTPUT_BUNDLE].path[0] &&
	     ca_certs_pem(tp, &o[OUTPUT_BUNDLE].data, &o[OUTPUT_BUNDLE].len, err) != 0)) {
		outputs_free(out);
		return -1;
	}
	return 0;
}

int client_write_outputs(tp_runtime *tp, ec_err *err)
{
	output_file out[OUTPUT_COUNT];
	if (outputs_expected(tp, out, err) != 0)
		return -1;
	int rc = 0;
	for (int i = 0; i < OUTPUT_COUNT && rc == 0; i++) {
		if (out[i].data == NULL)
			continue;
		if (write_beside_loop(NULL, out[i].path, out[i].data, out[i].len, out[i].mode, err) != 0)
			rc = ec_err_wrap(err, "output %s %s", out[i].what, out[i].path);
		else if (i == 0)
			ec_crash_point("client-outputs-partial");
	}
	outputs_free(out);
	return rc;
}

/* Whether an output file holds exactly the expected bytes. A symbolic link at an output's name
 * is not read through: it counts as different, and the atomic write replaces the link itself. */
static bool output_current(const output_file *o)
{
	uint8_t *have = NULL;
	size_t len = 0;
	ec_err err;
	bool same = ec_read_file_at(NULL, o->path, o->len + 1, &have, &len, &err) == 0 && len == o->len &&
	            memcmp(have, o->data, len) == 0;
	if (have != NULL)
		OPENSSL_cleanse(have, len);
	free(have);
	return same;
}

void client_sync_outputs(tp_runtime *tp)
{
	output_file out[OUTPUT_COUNT];
	ec_err err;
	if (outputs_expected(tp, out, &err) != 0) {
		client_log(tp, "cannot check the output files: %s", err.msg);
		return;
	}
	/* The state file is the commit point: a stop between it and the copies, a copy changed or
	 * removed by another hand, or CA certificates that changed (a rollover CA fetched) leave a
	 * file behind; it is written again and the application told by post-install. */
	int written = 0, failed = 0;
	for (int i = 0; i < OUTPUT_COUNT; i++) {
		if (out[i].data == NULL || output_current(&out[i]))
			continue;
		if (ec_write_atomic(out[i].path, out[i].data, out[i].len, out[i].mode, &err) != 0) {
			client_log(tp, "cannot write output %s %s: %s", out[i].what, out[i].path, err.msg);
			failed++;
			continue;
		}
		client_log(tp, "output %s %s did not hold what the trustpoint holds (changed, removed or "
		           "out of date); written again", out[i].what, out[i].path);
		written++;
	}
	outputs_free(out);
	if (written > 0 && failed == 0)
		client_run_post_install(tp);
}

static int load_key_password(tp_runtime *tp, ec_err *err)
{
	const char *path = "client.keypass";
	if (!ec_file_exists_at(&tp->dir, path)) {
		uint8_t rnd[32];
		if (scep_random(rnd, sizeof(rnd)) != 0)
			return ec_err_set(err, "no randomness");
		ec_hex_encode(rnd, sizeof(rnd), tp->key_password);
		OPENSSL_cleanse(rnd, sizeof(rnd));
		/* Created only once: O_EXCL semantics through a temp file would race with a second
		 * trustpoint of the same daemon, which runs on the same thread. */
		return ec_write_atomic_at(&tp->dir, path, tp->key_password, strlen(tp->key_password), 0600, err);
	}
	uint8_t *data = NULL;
	size_t len = 0;
	if (ec_read_private_at(&tp->dir, path, sizeof(tp->key_password) - 1, &data, &len, err) != 0)
		return -1;
	memcpy(tp->key_password, data, len);
	tp->key_password[len] = '\0';
	OPENSSL_cleanse(data, len);
	free(data);
	return len > 0 ? 0 : ec_err_set(err, "%s/%s is empty", tp->dir.path, path);
}

static tp_policy policy_of(const cfg_trustpoint *c)
{
	tp_policy p = {
		.auto_enroll = c->auto_enroll,
		.percent = c->auto_enroll_percent > 0 ? c->auto_enroll_percent : 100,
		.has_url = c->enrollment_url[0] != '\0',
		.retry_count = c->retry_count,
		.retry_period = (ec_time)(c->retry_period_minutes > 0 ? c->retry_period_minutes : 1) * EC_MS_PER_MINUTE,
	};
	return p;
}

/* Loads the state file if there is one; else starts fresh. */
static int load_state(tp_runtime *tp, ec_time now, ec_err *err)
{
	char path[EC_PATH_MAX];
	if (state_path(tp, path, sizeof(path)) != 0)
		return ec_err_set(err, "state path too long");
	if (!ec_file_exists_at(&tp->dir, path)) {
		tp_record_init(&tp->rec);
		tp_init(&tp->rec.m, &tp->policy, now);
		return client_save(tp, err);
	}
	uint8_t *text = NULL;
	size_t len = 0;
	int rc = ec_read_file_at(&tp->dir, path, TP_RECORD_MAX, &text, &len, err);
	if (rc == 0 && tp_record_parse(text, len, &tp->rec, err) != 0)
		rc = ec_err_wrap(err, "%s", path);
	free(text);
	if (rc != 0)
		return -1;
	const struct { int blob; X509 **cert; const char *what; } certs[] = {
		{TP_BLOB_CA, &tp->ca, "CA certificate"},
		{TP_BLOB_CERT, &tp->cert, "certificate"},
		{TP_BLOB_ROLLOVER_CA, &tp->rollover_ca, "rollover CA certificate"},
		{TP_BLOB_ROLLOVER_CERT, &tp->rollover_cert, "rollover certificate"},
	};
	for (size_t i = 0; i < sizeof(certs) / sizeof(certs[0]); i++)
		if (tp->rec.blob[certs[i].blob] != NULL &&
		    pki_cert_from_der(tp->rec.blob[certs[i].blob], tp->rec.blob_len[certs[i].blob], certs[i].cert, err) != 0)
			return ec_err_wrap(err, "%s: %s", path, certs[i].what);
	/* A configuration that turned auto-enroll on since the last run starts it now. */
	if (tp->policy.auto_enroll && tp->policy.has_url && tp_next_wakeup(&tp->rec.m) == TP_NEVER &&
	    tp->rec.m.phase == TP_PHASE_IDLE)
		tp->rec.m.renew_at = tp->rec.m.enrolled
		                         ? tp_renewal_time(now, tp->rec.m.cert_not_after, tp->policy.percent)
		                         : now;
	return 0;
}

/* <state-dir>/trustpoints and its keys, opened once (see util/fsutil.h). */
static int open_dirs(tp_runtime *tp, ec_err *err)
{
	bool others_enter = false;
	ec_dir own = {.fd = -1};
	const ec_dir *state = tp->env.state;
	if (state == NULL) {
		if (ec_dir_open(&own, tp->env.state_dir, 0700, &others_enter, err) != 0)
			return -1;
		state = &own;
	}
	int rc = ec_dir_open_sub(&tp->dir, state, "trustpoints", 0700, err) != 0 ||
	                 ec_dir_open_sub(&tp->keys, &tp->dir, "keys", 0700, err) != 0
	             ? -1
	             : 0;
	ec_dir_close(&own);
	return rc;
}

int client_open(const cfg_trustpoint *cfg, const client_env *env, ec_time now, tp_runtime **out, ec_err *err)
{
	*out = NULL;
	tp_runtime *tp = calloc(1, sizeof(*tp));
	if (tp == NULL)
		return ec_err_set(err, "out of memory");
	tp->cfg = *cfg;
	tp->env = *env;
	snprintf(tp->hostname, sizeof(tp->hostname), "%s", env->hostname ? env->hostname : "");
	tp->env.hostname = tp->hostname;
	tp->policy = policy_of(cfg);
	tp_record_init(&tp->rec);
	pki_trust_slot_init(&tp->trust);
	tp->crl_fetch_at = TP_NEVER;
	tp->caps_at = TP_NEVER;
	tp->dir.fd = tp->keys.fd = -1;
	if (open_dirs(tp, err) != 0 || load_key_password(tp, err) != 0 || load_state(tp, now, err) != 0 ||
	    client_key_load_or_create(tp, tp->rec.key_slot, false, &tp->key, err) != 0 ||
	    (tp->rec.request_key_shadow &&
	     client_key_load_or_create(tp, tp->rec.key_slot == 'a' ? 'b' : 'a', false, &tp->shadow_key, err) != 0))
		goto fail;
	if (cfg->enrollment_url[0] != '\0' && scep_client_new(cfg->enrollment_url, NULL, &tp->http, err) != 0)
		goto fail;
	client_sync_outputs(tp);
	client_crl_open(tp, now);
	client_recover_at_start(tp, now);
	*out = tp;
	return 0;
fail:
	ec_err_wrap(err, "trustpoint %s", cfg->name);
	client_close(tp);
	return -1;
}

void client_close(tp_runtime *tp)
{
	if (tp == NULL)
		return;
	client_post_install_stop(tp);
	X509_free(tp->ca);
	X509_free(tp->cert);
	X509_free(tp->candidate_ca);
	X509_free(tp->rollover_ca);
	X509_free(tp->rollover_cert);
	EVP_PKEY_free(tp->key);
	EVP_PKEY_free(tp->shadow_key);
	client_crl_close(tp);
	scep_client_free(tp->http);
	tp_record_free(&tp->rec);
	ec_dir_close(&tp->dir);
	ec_dir_close(&tp->keys);
	OPENSSL_cleanse(tp->key_password, sizeof(tp->key_password));
	free(tp);
}

size_t client_timers(tp_runtime *tp, ec_timer_entry *out, size_t max)
{
	size_t n = 0;
	const tp_state *s = &tp->rec.m;
	struct { const char *name; ec_time at; } t[5] = {
		{s->renewal_kind == TP_REQ_SHADOW ? "SHADOW" : "RENEW", s->renew_at},
		{"POLL", s->poll_at},
		{"CONNECT RETRY", s->retry_at},
		{"SHADOW SWITCH", s->switch_at},
		{"CRL UPDATE", client_crl_next(tp)},
	};
	for (size_t i = 0; i < 5 && n < max; i++) {
		if (t[i].at == TP_NEVER)
			continue;
		snprintf(out[n].name, sizeof(out[n].name), "%s %s", t[i].name, tp->cfg.name);
		out[n].fire_at = t[i].at;
		n++;
	}
	return n;
}

ec_time client_next_timer(tp_runtime *tp)
{
	ec_time t = tp_next_wakeup(&tp->rec.m), crl = client_crl_next(tp);
	return crl < t ? crl : t;
}

void client_run_timers(tp_runtime *tp, ec_time now)
{
	/* The CRL first: a certificate installed at this instant is checked against a fresh one. */
	if (client_crl_next(tp) <= now)
		client_crl_refresh(tp, now);
	/* Bounded: each action re-arms its timers in the future or clears them. */
	for (int i = 0; i < 8; i++) {
		int action = tp_due(&tp->rec.m, &tp->policy, now);
		if (action == TP_ACT_NONE)
			break;
		if (action == TP_ACT_POLL)
			client_poll(tp, now);
		else if (action == TP_ACT_SWITCH)
			client_switch(tp, now);
		else
			client_enroll(tp, now);
	}
	ec_err err;
	if (client_save(tp, &err) != 0)
		client_log(tp, "cannot save state: %s", err.msg);
	/* Each firing also repairs the application's copies, cheaply: a comparison of bytes. */
	client_sync_outputs(tp);
}
