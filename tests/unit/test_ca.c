/* The certificate server engine, driven with real pkiMessages and explicit times (no HTTP). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ca/ca.h"
#include "config/config.h"
#include "pki/pki.h"
#include "scep/scep.h"
#include "testutil.h"

static ec_time T0; /* 2015-10-09T13:14:16Z, the source's CA creation time */

typedef struct fixture {
	char *dir;
	cfg_config *cfg;
	ca_engine *ca;
} fixture;

static void open_ca(fixture *f, const char *server_lines, ec_time now)
{
	char text[2048];
	/* Clients here use 1024-bit keys (quick to make); the policy's defaults are tested apart. */
	snprintf(text, sizeof(text), "crypto pki server ROOTCA\n  issuance rsa-modulus 1024\n%s", server_lines);
	ec_err err;
	if (cfg_parse((const uint8_t *)text, strlen(text), &f->cfg, &err) != 0)
		fail_msg("config: %s", err.msg);
	f->dir = tu_tmpdir("ca");
	ca_env env = {.state_dir = f->dir, .default_key_bits = 1024, .rollover_key_bits = 1024};
	if (ca_open(&f->cfg->servers[0], &env, now, &f->ca, &err) != 0)
		fail_msg("ca_open: %s", err.msg);
}

static void close_ca(fixture *f)
{
	ca_close(f->ca);
	cfg_config_free(f->cfg);
	free(f->dir);
}

/* A client: key, self-signed certificate, and its current identity certificate. */
typedef struct client {
	EVP_PKEY *key;
	X509 *self;
	X509 *issued;
} client;

static void client_new(client *c, const char *cn)
{
	c->key = tu_rsa_key_new(1024);
	c->self = tu_self_signed(c->key, cn, 1, (time_t)(T0 / 1000) - 86400, 3650, 0);
	c->issued = NULL;
}

static void client_free(client *c)
{
	EVP_PKEY_free(c->key);
	X509_free(c->self);
	X509_free(c->issued);
}

/* Sends one request; returns the parsed reply (caller frees) or NULL when the engine said 400. */
static scep_msg *send_req(fixture *f, ec_time now, int type, const char *txid, X509 *signer,
                          EVP_PKEY *key, X509 *recipient, const uint8_t *payload, size_t len)
{
	uint8_t nonce[SCEP_NONCE_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	scep_request_params p = {type, txid, nonce, signer, key, recipient ? recipient : ca_active_cert(f->ca),
	                         EVP_aes_128_cbc(), EVP_sha256(), payload, len};
	uint8_t *der = NULL;
	size_t der_len = 0;
	ec_err err;
	if (scep_build_request(&p, &der, &der_len, &err) != 0)
		fail_msg("build: %s", err.msg);
	ca_reply rep;
	int rc = ca_pki_operation(f->ca, der, der_len, "test", now, &rep, &err);
	free(der);
	if (rc == -1)
		return NULL;
	if (rc != 0)
		fail_msg("pki operation: %s", err.msg);
	assert_int_equal(rep.kind, CA_REPLY_PKI_MESSAGE);
	scep_msg *m = NULL;
	if (scep_msg_parse(rep.body, rep.body_len, &m, &err) != 0)
		fail_msg("reply: %s", err.msg);
	ca_reply_free(&rep);
	assert_true(m->signature_ok);
	assert_int_equal(m->type, SCEP_MSG_CERTREP);
	assert_string_equal(m->txid, txid);
	assert_int_equal(m->recipient_nonce_len, SCEP_NONCE_LEN);
	assert_memory_equal(m->recipient_nonce, nonce, SCEP_NONCE_LEN);
	return m;
}

static scep_msg *enroll(fixture *f, client *c, ec_time now, const char *txid, bool renew,
                        const char *challenge, X509 *recipient)
{
	X509_REQ *req = tu_csr(c->key, "client.example", challenge);
	unsigned char *der = NULL;
	int len = tu_csr_der(req, &der);
	X509 *signer = renew ? c->issued : c->self;
	scep_msg *m = send_req(f, now, renew ? SCEP_MSG_RENEWALREQ : SCEP_MSG_PKCSREQ, txid, signer, c->key,
	                       recipient, der, (size_t)len);
	OPENSSL_free(der);
	X509_REQ_free(req);
	return m;
}

static scep_msg *poll_req(fixture *f, client *c, ec_time now, const char *txid)
{
	uint8_t *der = NULL;
	size_t len = 0;
	ec_err err;
	X509_NAME *subject = X509_NAME_new();
	X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, (const unsigned char *)"client.example", -1, -1, 0);
	assert_int_equal(scep_issuer_and_subject_build(X509_get_subject_name(ca_active_cert(f->ca)), subject,
	                                               &der, &len, &err), 0);
	scep_msg *m = send_req(f, now, SCEP_MSG_CERTPOLL, txid, c->self, c->key, NULL, der, len);
	X509_NAME_free(subject);
	free(der);
	return m;
}

/* The certificate in a SUCCESS reply (new reference). */
static X509 *reply_cert(scep_msg *m, client *c, X509 *signer)
{
	assert_int_equal(m->status, SCEP_STATUS_SUCCESS);
	uint8_t *p7 = NULL;
	size_t len = 0;
	ec_err err;
	STACK_OF(X509) *certs = NULL;
	if (scep_msg_decrypt(m, signer, c->key, &p7, &len, NULL, &err) != 0)
		fail_msg("decrypt reply: %s", err.msg);
	assert_int_equal(scep_degenerate_parse(p7, len, &certs, NULL, &err), 0);
	free(p7);
	assert_int_equal(sk_X509_num(certs), 1);
	X509 *cert = sk_X509_shift(certs);
	sk_X509_pop_free(certs, X509_free);
	return cert;
}

static void assert_chains(fixture *f, X509 *cert, ec_time at)
{
	STACK_OF(X509) *trusted = sk_X509_new_null();
	sk_X509_push(trusted, ca_active_cert(f->ca));
	ec_err err;
	if (pki_verify_cert(cert, trusted, NULL, at, &err) != 0)
		fail_msg("issued certificate does not verify: %s", err.msg);
	sk_X509_free(trusted);
}

static void worked_example_timers(void **state)
{
	fixture f;
	open_ca(&f, "  issuer-name CN=RootCA,OU=TAC,O=Cisco\n  grant auto\n  lifetime ca-certificate 730\n"
	            "  auto-rollover 90\n", T0);
	ec_timer_entry t[16];
	ec_time now = T0 + 5 * EC_MS_PER_MINUTE + 42946;
	size_t n = ca_timers(f.ca, t, 16);
	ec_buf b;
	ec_buf_init(&b, 1 << 16);
	assert_int_equal(ec_timers_format(&b, "CS Timers", t, n, now), 0);
	const char *text = (const char *)b.data;
	assert_non_null(strstr(text, "5:54:17.054  CS CRL UPDATE\n"));
	assert_non_null(strstr(text, "639d23:54:17.054  CS SHADOW CERT GENERATION\n"));
	assert_non_null(strstr(text, "729d23:54:17.054  CS CERT EXPIRE\n"));

	/* The shadow generation timer fires at 13:14:16 Jul 10 2017. */
	ec_time shadow = 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].name, "CS SHADOW CERT GENERATION") == 0)
			shadow = t[i].fire_at;
	ec_err err;
	char iso[EC_TIME_TEXT_MAX];
	ec_time_format_iso(shadow, iso);
	assert_string_equal(iso, "2017-07-10T13:14:16.000Z");
	/* Nothing happens a millisecond before (but the overdue CRL update). */
	assert_int_equal(ca_run_timers(f.ca, shadow - 1, &err), 0);
	ec_buf_reset(&b);
	assert_int_equal(ca_show_server(f.ca, shadow - 1, 0, &b, &err), 0);
	assert_non_null(strstr((const char *)b.data, "Rollover status: not available"));
	assert_int_equal(ca_run_timers(f.ca, shadow, &err), 0);
	ec_buf_reset(&b);
	assert_int_equal(ca_show_certificates(f.ca, shadow, 0, &b, &err), 0);
	text = (const char *)b.data;
	assert_non_null(strstr(text, "CA Certificate (Rollover)"));
	assert_non_null(strstr(text, "start date: 13:14:16 UTC Oct 8 2017"));
	assert_non_null(strstr(text, "end   date: 13:14:16 UTC Oct 8 2019"));
	ec_buf_reset(&b);
	assert_int_equal(ca_show_server(f.ca, shadow, 0, &b, &err), 0);
	assert_non_null(strstr((const char *)b.data, "Rollover status: available for rollover"));
	assert_non_null(strstr((const char *)b.data, "Auto-Rollover configured, overlap period 90 days"));

	/* GetCACert returns the rollover certificate once the first CA has expired. */
	ca_reply rep;
	assert_int_equal(ca_get_ca_cert(f.ca, &rep, &err), 0);
	X509 *first = NULL;
	assert_int_equal(pki_cert_from_der(rep.body, rep.body_len, &first, &err), 0);
	ca_reply_free(&rep);
	assert_int_equal(ca_run_timers(f.ca, T0 + 730 * EC_MS_PER_DAY, &err), 0);
	assert_int_equal(ca_get_ca_cert(f.ca, &rep, &err), 0);
	X509 *second = NULL;
	assert_int_equal(pki_cert_from_der(rep.body, rep.body_len, &second, &err), 0);
	ca_reply_free(&rep);
	char s1[PKI_SERIAL_MAX], s2[PKI_SERIAL_MAX];
	assert_int_equal(pki_cert_serial_hex(first, s1), 0);
	assert_int_equal(pki_cert_serial_hex(second, s2), 0);
	assert_string_equal(s1, "1");
	assert_string_equal(s2, "2");
	assert_int_equal(pki_cert_not_before(second), T0 + 730 * EC_MS_PER_DAY);
	X509_free(first);
	X509_free(second);
	ec_buf_free(&b);
	close_ca(&f);
}

static void auto_grant_resend_and_renewal(void **state)
{
	fixture f;
	open_ca(&f, "  grant auto\n", T0);
	client c;
	client_new(&c, "client");
	scep_msg *m = enroll(&f, &c, T0 + 1000, "tx-1", false, NULL, NULL);
	X509 *cert = reply_cert(m, &c, c.self);
	scep_msg_free(m);
	assert_chains(&f, cert, T0 + 2000);
	assert_int_equal(pki_cert_not_after(cert) - pki_cert_not_before(cert), 365 * EC_MS_PER_DAY);

	/* The same request again: the same certificate, not a second one. */
	m = enroll(&f, &c, T0 + 5000, "tx-1", false, NULL, NULL);
	X509 *again = reply_cert(m, &c, c.self);
	scep_msg_free(m);
	assert_int_equal(X509_cmp(cert, again), 0);
	X509_free(again);

	/* A renewal signed by the issued certificate, reusing the transactionID (same key). */
	c.issued = cert;
	m = enroll(&f, &c, T0 + 200 * EC_MS_PER_DAY, "tx-1", true, NULL, NULL);
	X509 *renewed = reply_cert(m, &c, c.issued);
	scep_msg_free(m);
	assert_int_not_equal(X509_cmp(cert, renewed), 0);
	assert_chains(&f, renewed, T0 + 201 * EC_MS_PER_DAY);
	X509_free(renewed);

	/* The transactionID with another public key is refused. */
	client other;
	client_new(&other, "other");
	m = enroll(&f, &other, T0 + 10000, "tx-1", false, NULL, NULL);
	assert_int_equal(m->status, SCEP_STATUS_FAILURE);
	assert_int_equal(m->fail_info, SCEP_FAIL_BADREQUEST);
	scep_msg_free(m);
	client_free(&other);
	client_free(&c);
	close_ca(&f);
}

static void manual_queue_grant_and_reject(void **state)
{
	fixture f;
	open_ca(&f, "  lifetime enrollment-request 2\n", T0);
	client a, b;
	client_new(&a, "a");
	client_new(&b, "b");
	scep_msg *m = enroll(&f, &a, T0, "tx-a", false, NULL, NULL);
	assert_int_equal(m->status, SCEP_STATUS_PENDING);
	scep_msg_free(m);
	m = poll_req(&f, &a, T0 + 60000, "tx-a");
	assert_int_equal(m->status, SCEP_STATUS_PENDING);
	scep_msg_free(m);

	ec_buf out;
	ec_buf_init(&out, 1 << 16);
	ec_err err;
	assert_int_equal(ca_cmd_info_requests(f.ca, T0, &out, &err), 0);
	/* The router's row: ReqID, State, the MD5 of the request (PKCS#10 DER, the same bytes again:
	 * RSA PKCS#1 v1.5 signatures are deterministic) and the subject in the router's form. */
	X509_REQ *req = tu_csr(a.key, "client.example", NULL);
	unsigned char *der = NULL, md5[EVP_MAX_MD_SIZE];
	unsigned int md5_len = 0;
	int der_len = tu_csr_der(req, &der);
	assert_int_equal(EVP_Digest(der, (size_t)der_len, md5, &md5_len, EVP_md5(), NULL), 1);
	char row[128] = "1      pending    ";
	for (unsigned int i = 0; i < md5_len; i++)
		snprintf(row + strlen(row), sizeof(row) - strlen(row), "%02X", md5[i]);
	snprintf(row + strlen(row), sizeof(row) - strlen(row), " cn=client.example\n       Type: PKCSReq (initial)\n");
	assert_non_null(strstr((const char *)out.data, row));
	OPENSSL_free(der);
	X509_REQ_free(req);
	assert_int_equal(ca_cmd_grant(f.ca, 1, T0 + 120000, &out, &err), 0);
	m = poll_req(&f, &a, T0 + 180000, "tx-a");
	X509 *cert = reply_cert(m, &a, a.self);
	scep_msg_free(m);
	assert_chains(&f, cert, T0 + 200000);
	X509_free(cert);
	/* Granting it twice is an error that names the state. */
	assert_int_not_equal(ca_cmd_grant(f.ca, 1, T0, &out, &err), 0);
	assert_non_null(strstr(err.msg, "granted"));

	m = enroll(&f, &b, T0, "tx-b", false, NULL, NULL);
	assert_int_equal(m->status, SCEP_STATUS_PENDING);
	scep_msg_free(m);
	assert_int_equal(ca_cmd_reject(f.ca, -1, T0, &out, &err), 0);
	m = poll_req(&f, &b, T0 + 1000, "tx-b");
	assert_int_equal(m->status, SCEP_STATUS_FAILURE);
	scep_msg_free(m);

	/* A pending request expires after `lifetime enrollment-request`. */
	client e;
	client_new(&e, "e");
	m = enroll(&f, &e, T0, "tx-e", false, NULL, NULL);
	scep_msg_free(m);
	assert_true(ca_next_timer(f.ca) <= T0 + 2 * EC_MS_PER_HOUR);
	assert_int_equal(ca_run_timers(f.ca, T0 + 2 * EC_MS_PER_HOUR, &err), 0);
	m = poll_req(&f, &e, T0 + 3 * EC_MS_PER_HOUR, "tx-e");
	assert_int_equal(m->status, SCEP_STATUS_FAILURE);
	scep_msg_free(m);
	client_free(&e);
	ec_buf_free(&out);
	client_free(&a);
	client_free(&b);
	close_ca(&f);
}

/* The operator's queue listing (`evercert server NAME info requests`) into out (caller frees). */
static void queue_listing(fixture *f, ec_buf *out)
{
	ec_buf_init(out, 1 << 16);
	ec_err err;
	assert_int_equal(ca_cmd_info_requests(f->ca, T0, out, &err), 0);
}

/* Some request in the queue shows this reason. */
static void assert_queue_reason(fixture *f, const char *reason)
{
	ec_buf out;
	queue_listing(f, &out);
	char line[160];
	snprintf(line, sizeof(line), "Reason: %s\n", reason);
	if (strstr((const char *)out.data, line) == NULL)
		fail_msg("no '%s' in:\n%s", reason, (const char *)out.data);
	ec_buf_free(&out);
}

/* A signer that names itself as its issuer is an initial enrollment's, whether or not its
 * self-signature verifies (it vouches for nothing); one named after the CA is still checked
 * against the CA's key, so it never passes for a certificate of ours. */
static void signer_naming_itself(void **state)
{
	fixture f;
	open_ca(&f, "", T0);
	client a;
	client_new(&a, "a");
	const ASN1_BIT_STRING *sig = NULL;
	X509_get0_signature(&sig, NULL, a.self);
	((ASN1_BIT_STRING *)sig)->data[10] ^= 0x5a; /* the self-signature no longer verifies */
	scep_msg *m = enroll(&f, &a, T0, "tx-broken-self", false, NULL, NULL);
	assert_int_equal(m->status, SCEP_STATUS_PENDING);
	scep_msg_free(m);
	assert_queue_reason(&f, "waiting for the operator");

	/* Named CN=ROOTCA, issuer and subject alike, made with the client's own key: a renewal
	 * signed by it is not one of ours. */
	client b;
	client_new(&b, "b");
	b.issued = tu_self_signed(b.key, "ROOTCA", 7, (time_t)(T0 / 1000) - 86400, 3650, 0);
	m = enroll(&f, &b, T0, "tx-named-like-ca", true, NULL, NULL);
	assert_int_equal(m->status, SCEP_STATUS_PENDING);
	scep_msg_free(m);
	ec_buf out;
	queue_listing(&f, &out);
	assert_null(strstr((const char *)out.data, "renewal waiting"));
	ec_buf_free(&out);
	client_free(&a);
	client_free(&b);
	close_ca(&f);
}

static void one_time_password(void **state)
{
	fixture f;
	open_ca(&f, "", T0);
	ec_buf out;
	ec_buf_init(&out, 4096);
	ec_err err;
	assert_int_equal(ca_cmd_password_generate(f.ca, 10, T0, &out, &err), 0);
	const char *p = strstr((const char *)out.data, "password: ");
	assert_non_null(p);
	char pw[64];
	assert_int_equal(sscanf(p + 10, "%63s", pw), 1);
	client a, b;
	client_new(&a, "a");
	client_new(&b, "b");
	scep_msg *m = enroll(&f, &a, T0 + 1000, "tx-otp-a", false, pw, NULL);
	X509 *cert = reply_cert(m, &a, a.self);
	X509_free(cert);
	scep_msg_free(m);
	m = enroll(&f, &b, T0 + 2000, "tx-otp-b", false, pw, NULL); /* used up */
	assert_int_equal(m->status, SCEP_STATUS_FAILURE);
	scep_msg_free(m);
	ec_buf_free(&out);
	client_free(&a);
	client_free(&b);
	close_ca(&f);
}

static void refusals_change_nothing(void **state)
{
	fixture f;
	open_ca(&f, "  grant none\n", T0);
	client c;
	client_new(&c, "c");
	scep_msg *m = enroll(&f, &c, T0, "tx-none", false, NULL, NULL);
	assert_int_equal(m->status, SCEP_STATUS_FAILURE);
	assert_int_equal(m->fail_info, SCEP_FAIL_BADREQUEST);
	scep_msg_free(m);

	/* Garbage is not a pkiMessage: HTTP 400 territory. */
	ca_reply rep;
	ec_err err;
	static const uint8_t junk[] = {0x30, 0x82, 0x01, 0x00, 0x02, 0x01};
	assert_int_equal(ca_pki_operation(f.ca, junk, sizeof(junk), "test", T0, &rep, &err), -1);
	assert_true(strlen(err.msg) > 0);

	/* A signature that does not verify with the certificate inside: badMessageCheck. The
	 * encrypted digest is the last field of the DER, so flipping the last byte breaks it. */
	EVP_PKEY *wrong = tu_rsa_key_new(1024);
	X509_REQ *req = tu_csr(c.key, "c", NULL);
	unsigned char *der = NULL;
	int len = tu_csr_der(req, &der);
	uint8_t nonce[SCEP_NONCE_LEN] = {0};
	scep_request_params p = {SCEP_MSG_PKCSREQ, "tx-badsig", nonce, c.self, c.key, ca_active_cert(f.ca),
	                         EVP_aes_128_cbc(), EVP_sha256(), der, (size_t)len};
	uint8_t *msg = NULL;
	size_t msg_len = 0;
	assert_int_equal(scep_build_request(&p, &msg, &msg_len, &err), 0);
	msg[msg_len - 1] ^= 0x5a;
	assert_int_equal(ca_pki_operation(f.ca, msg, msg_len, "test", T0, &rep, &err), 0);
	free(msg);
	assert_int_equal(scep_msg_parse(rep.body, rep.body_len, &m, &err), 0);
	ca_reply_free(&rep);
	assert_int_equal(m->status, SCEP_STATUS_FAILURE);
	assert_int_equal(m->fail_info, SCEP_FAIL_BADMESSAGECHECK);
	scep_msg_free(m);

	/* Encrypted to a CA certificate that is not this server's. */
	X509 *stranger = tu_self_signed(wrong, "Stranger CA", 9, (time_t)(T0 / 1000), 100, 1);
	m = send_req(&f, T0, SCEP_MSG_PKCSREQ, "tx-stranger", c.self, c.key, stranger, der, (size_t)len);
	assert_int_equal(m->status, SCEP_STATUS_FAILURE);
	scep_msg_free(m);

	/* None of it reached the store: the server's last serial is still the CA's own. */
	ec_buf out;
	ec_buf_init(&out, 1 << 16);
	assert_int_equal(ca_show_server(f.ca, T0, 0, &out, &err), 0);
	assert_non_null(strstr((const char *)out.data, "Last certificate issued serial number (hex): 1\n"));
	ec_buf_reset(&out);
	assert_int_equal(ca_cmd_info_requests(f.ca, T0, &out, &err), 0);
	assert_non_null(strstr((const char *)out.data, "no pending requests"));
	ec_buf_free(&out);
	X509_free(stranger);
	EVP_PKEY_free(wrong);
	OPENSSL_free(der);
	X509_REQ_free(req);
	client_free(&c);
	close_ca(&f);
}

static void lifetime_capped_and_revocation(void **state)
{
	fixture f;
	open_ca(&f, "  grant auto\n  lifetime ca-certificate 100\n  database level complete\n", T0);
	client c;
	client_new(&c, "c");
	scep_msg *m = enroll(&f, &c, T0 + 10 * EC_MS_PER_DAY, "tx-cap", false, NULL, NULL);
	X509 *cert = reply_cert(m, &c, c.self);
	scep_msg_free(m);
	assert_int_equal(pki_cert_not_after(cert), pki_cert_not_after(ca_active_cert(f.ca)));

	char serial[PKI_SERIAL_MAX];
	assert_int_equal(pki_cert_serial_hex(cert, serial), 0);
	ec_buf out;
	ec_buf_init(&out, 4096);
	ec_err err;
	assert_int_equal(ca_cmd_revoke(f.ca, serial, true, T0 + 11 * EC_MS_PER_DAY, &out, &err), 0);
	assert_int_not_equal(ca_cmd_revoke(f.ca, "ABCDEF", true, T0, &out, &err), 0);
	ca_reply rep;
	assert_int_equal(ca_get_crl_der(f.ca, &rep, &err), 0);
	X509_CRL *crl = NULL;
	assert_int_equal(pki_crl_from_der(rep.body, rep.body_len, &crl, &err), 0);
	X509_REVOKED *entry = NULL;
	assert_int_equal(X509_CRL_get0_by_cert(crl, &entry, cert), 1);
	X509_CRL_free(crl);
	ca_reply_free(&rep);
	/* The certificate file exists at level complete. */
	char path[4096];
	snprintf(path, sizeof(path), "%s/ROOTCA/%s.cer", f.dir, serial);
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	fclose(fp);
	/* A renewal signed by the revoked certificate is refused. */
	c.issued = cert;
	m = enroll(&f, &c, T0 + 12 * EC_MS_PER_DAY, "tx-cap-2", true, NULL, NULL);
	assert_int_equal(m->status, SCEP_STATUS_FAILURE);
	scep_msg_free(m);
	ec_buf_free(&out);
	client_free(&c);
	close_ca(&f);
}

static void restart_keeps_everything(void **state)
{
	fixture f;
	open_ca(&f, "  grant auto\n", T0);
	client c;
	client_new(&c, "c");
	scep_msg *m = enroll(&f, &c, T0, "tx-r", false, NULL, NULL);
	X509 *cert = reply_cert(m, &c, c.self);
	scep_msg_free(m);
	X509 *ca_before = X509_dup(ca_active_cert(f.ca));
	ca_close(f.ca);
	ca_env env = {.state_dir = f.dir, .default_key_bits = 1024};
	ec_err err;
	if (ca_open(&f.cfg->servers[0], &env, T0 + 1000, &f.ca, &err) != 0)
		fail_msg("reopen: %s", err.msg);
	assert_int_equal(X509_cmp(ca_before, ca_active_cert(f.ca)), 0);
	m = enroll(&f, &c, T0 + 2000, "tx-r", false, NULL, NULL);
	X509 *again = reply_cert(m, &c, c.self);
	scep_msg_free(m);
	assert_int_equal(X509_cmp(cert, again), 0);
	X509_free(again);
	X509_free(cert);
	X509_free(ca_before);
	client_free(&c);
	close_ca(&f);
}

int main(void)
{
	if (ec_time_parse_iso("2015-10-09T13:14:16Z", &T0) != 0)
		return 1;
	ec_err err;
	if (scep_init(&err) != 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(worked_example_timers),
		cmocka_unit_test(auto_grant_resend_and_renewal),
		cmocka_unit_test(manual_queue_grant_and_reject),
		cmocka_unit_test(signer_naming_itself),
		cmocka_unit_test(one_time_password),
		cmocka_unit_test(refusals_change_nothing),
		cmocka_unit_test(lifetime_capped_and_revocation),
		cmocka_unit_test(restart_keeps_everything),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
