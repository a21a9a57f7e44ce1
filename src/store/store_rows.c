/*
 * store_rows.c - the row fields, walks and argument checks both store backends share
 * (store_rows.h).
 */
#include "store/store_rows.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

/* ---- reading rows ---- */

static int read_cert(const store_cols *c, void *out, ec_err *err)
{
	store_cert *cert = out;
	memset(cert, 0, sizeof(*cert));
	c->text(c, 0, cert->serial, sizeof(cert->serial));
	c->text(c, 1, cert->issuer_serial, sizeof(cert->issuer_serial));
	c->text(c, 2, cert->subject, sizeof(cert->subject));
	cert->not_before = c->integer(c, 3);
	cert->not_after = c->integer(c, 4);
	cert->status = (enum store_cert_status)c->integer(c, 5);
	cert->revoked_at = c->integer(c, 6);
	if (c->blob(c, 7, &cert->der, &cert->der_len) != 0)
		return ec_err_set(err, "reading certificate %s: out of memory", cert->serial);
	return 0;
}

static int read_request(const store_cols *c, void *out, ec_err *err)
{
	store_request *r = out;
	memset(r, 0, sizeof(*r));
	r->id = c->integer(c, 0);
	c->text(c, 1, r->txid, sizeof(r->txid));
	r->state = (enum store_req_state)c->integer(c, 2);
	r->msg_type = (int)c->integer(c, 3);
	r->fail_info = (int)c->integer(c, 4);
	r->renewal = c->integer(c, 5) != 0;
	c->text(c, 6, r->subject, sizeof(r->subject));
	c->text(c, 7, r->signer_fp, sizeof(r->signer_fp));
	c->text(c, 8, r->pubkey_fp, sizeof(r->pubkey_fp));
	c->text(c, 9, r->ca_serial, sizeof(r->ca_serial));
	c->text(c, 10, r->source, sizeof(r->source));
	r->created = c->integer(c, 11);
	r->expires = c->integer(c, 12);
	c->text(c, 13, r->cert_serial, sizeof(r->cert_serial));
	c->text(c, 17, r->reason, sizeof(r->reason));
	if (c->blob(c, 14, &r->csr_der, &r->csr_der_len) != 0 ||
	    c->blob(c, 15, &r->signer_der, &r->signer_der_len) != 0 ||
	    c->blob(c, 16, &r->cert_der, &r->cert_der_len) != 0) {
		store_request_free(r);
		return ec_err_set(err, "reading request %" PRId64 ": out of memory", r->id);
	}
	return 0;
}

static int read_ca(const store_cols *c, void *out, ec_err *err)
{
	store_ca_cert *ca = out;
	memset(ca, 0, sizeof(*ca));
	ca->generation = (int)c->integer(c, 0);
	ca->role = (enum store_ca_role)c->integer(c, 1);
	c->text(c, 2, ca->serial, sizeof(ca->serial));
	ca->not_before = c->integer(c, 3);
	ca->not_after = c->integer(c, 4);
	if (c->blob(c, 5, &ca->der, &ca->der_len) != 0 || c->blob(c, 6, &ca->link_der, &ca->link_der_len) != 0) {
		store_ca_cert_free(ca);
		return ec_err_set(err, "reading CA generation %d: out of memory", ca->generation);
	}
	return 0;
}

const store_row_type store_cert_rows = { STORE_ROW_CERT, sizeof(store_cert), STORE_CERT_NCOLS, read_cert };
const store_row_type store_request_rows = { STORE_ROW_REQUEST, sizeof(store_request), 0, read_request };
const store_row_type store_ca_rows = { STORE_ROW_CA, sizeof(store_ca_cert), 0, read_ca };

/* ---- writing rows ---- */

void store_params_cert(store_params *p, const store_cert *cert, const char *serial, int64_t num)
{
	p->text(p, serial, STORE_SERIAL_MAX);
	p->integer(p, num);
	p->text(p, cert->issuer_serial, sizeof(cert->issuer_serial));
	p->text(p, cert->subject, sizeof(cert->subject));
	p->integer(p, cert->not_before);
	p->integer(p, cert->not_after);
	p->integer(p, cert->status);
	p->integer(p, cert->revoked_at);
	p->blob(p, cert->der, cert->der_len);
}

void store_params_request(store_params *p, const store_request *r)
{
	p->text(p, r->txid, sizeof(r->txid));
	p->integer(p, r->state);
	p->integer(p, r->msg_type);
	p->integer(p, r->fail_info);
	p->integer(p, r->renewal ? 1 : 0);
	p->text(p, r->subject, sizeof(r->subject));
	p->text(p, r->signer_fp, sizeof(r->signer_fp));
	p->text(p, r->pubkey_fp, sizeof(r->pubkey_fp));
	p->text(p, r->ca_serial, sizeof(r->ca_serial));
	p->text(p, r->source, sizeof(r->source));
	p->integer(p, r->created);
	p->integer(p, r->expires);
	p->text(p, r->cert_serial, sizeof(r->cert_serial));
	p->blob(p, r->csr_der, r->csr_der_len);
	p->blob(p, r->signer_der, r->signer_der_len);
	p->blob(p, r->cert_der, r->cert_der_len);
	p->text(p, r->reason, sizeof(r->reason));
}

/* ---- walks ---- */

int store_walk_pages(const store_walk *w, size_t page, store_page_read read, void *conn, const void *query,
                     ec_err *err)
{
	const store_row_type *type = w->type;
	char *rows = calloc(page, type->size);
	int64_t after = INT64_MIN;
	size_t n = 0;
	int rc = 0;

	if (rows == NULL)
		return ec_err_set(err, "%s: out of memory", w->what);
	do {
		if (read(conn, query, w, &after, rows, &n, err) != 0)
			rc = ec_err_wrap(err, "%s", w->what);
		for (size_t i = 0; i < n; i++)
			rc = store_row_visit(type->kind, w->fn, w->ctx, rows + i * type->size, rc);
	} while (rc == 0 && n == page);
	free(rows);
	return rc;
}

/* ---- arguments ---- */

int store_cert_serial(const store_cert *cert, char serial[STORE_SERIAL_MAX], int64_t *num, ec_err *err)
{
	if (store_serial_canon(cert->serial, sizeof(cert->serial), serial, num) == 0)
		return 0;
	return ec_err_set(err, "recording a certificate: bad serial '%.*s'", (int)sizeof(cert->serial), cert->serial);
}

int store_serial_arg(const char *serial, char canon[STORE_SERIAL_MAX], const char *doing, ec_err *err)
{
	int64_t num;
	if (serial == NULL)
		return ec_err_set(err, "%s: no serial given", doing);
	return store_serial_canon(serial, SIZE_MAX, canon, &num) != 0 ? 1 : 0;
}

int store_grant_args(const store_cert *cert, const char *otp, char serial[STORE_SERIAL_MAX], int64_t *num,
                     char hash[STORE_OTP_HASH_MAX], ec_err *err)
{
	if (store_cert_serial(cert, serial, num, err) != 0)
		return -1;
	if (otp != NULL && store_otp_hash(otp, hash, err) != 0)
		return -1;
	return 0;
}

/* ---- one-time passwords ---- */

static int otp_run(const char *password, store_otp_fn fn, store_backend *b, ec_time when, const char *doing,
                   ec_err *err)
{
	char hash[STORE_OTP_HASH_MAX];
	if (store_otp_hash(password, hash, err) != 0)
		return ec_err_wrap(err, "%s", doing);
	int rc = fn(b, hash, when, err);
	OPENSSL_cleanse(hash, sizeof(hash));
	if (rc < 0)
		return ec_err_wrap(err, "%s", doing);
	return rc;
}

int store_otp_call(const char *password, store_otp_fn fn, store_backend *b, ec_time when, ec_err *err)
{
	if (password == NULL || password[0] == '\0')
		return 1;
	return otp_run(password, fn, b, when, "checking a one-time password", err);
}

int store_otp_add_hash(const char *password, store_otp_fn fn, store_backend *b, ec_time expires, ec_err *err)
{
	if (password == NULL || password[0] == '\0')
		return ec_err_set(err, "adding a one-time password: the password is empty");
	return otp_run(password, fn, b, expires, "adding a one-time password", err) < 0 ? -1 : 0;
}

/* ---- serials and issuance ---- */

int store_serial_next(const store_tx *tx, store_backend *b, store_serials *block,
                      int (*reserve)(store_backend *b, ec_err *err), char serial[STORE_SERIAL_MAX], ec_err *err)
{
	int rc = 0;
	serial[0] = '\0';
	tx->lock(b);
	if (block->next >= block->end)
		rc = reserve(b, err);
	if (rc == 0)
		store_serial_format(block->next++, serial);
	tx->unlock(b);
	if (rc != 0)
		ec_err_wrap(err, "reserving a serial");
	return rc;
}

int store_serial_last(const store_tx *tx, store_backend *b, const store_serials *block,
                      int (*read_counter)(store_backend *b, int64_t *last, ec_err *err), char serial[STORE_SERIAL_MAX],
                      ec_err *err)
{
	int64_t last = 0;
	serial[0] = '\0';
	tx->lock(b);
	int rc = read_counter(b, &last, err);
	if (rc == 0 && block->end > 0)
		last = block->next - 1; /* the last handed out, not the end of the reserved block */
	tx->unlock(b);
	if (rc != 0)
		return ec_err_wrap(err, "reading the last serial");
	store_serial_format(last, serial);
	return 0;
}

int store_record_issued_tx(const store_tx *tx, store_backend *b, const store_cert *cert, int64_t request_id,
                           const uint8_t *cert_der, size_t cert_der_len, ec_err *err)
{
	char serial[STORE_SERIAL_MAX];
	int64_t num = 0;
	int rc = -1;

	if (store_cert_serial(cert, serial, &num, err) != 0)
		return -1;
	tx->lock(b);
	if (tx->begin(b, err) != 0 || tx->cert_insert(b, cert, serial, num, err) != 0)
		goto out;
	if (request_id > 0 && tx->request_grant(b, request_id, serial, cert_der, cert_der_len, err) != 0)
		goto out;
	if (tx->commit(b, err) != 0)
		goto out;
	rc = 0;
out:
	tx->rollback(b);
	tx->unlock(b);
	if (rc != 0)
		ec_err_wrap(err, "recording certificate %s", serial);
	return rc;
}
