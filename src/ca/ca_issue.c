/* Issuing one certificate for a stored enrollment request. */
#include "ca/ca_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fsutil.h"

static void validity(const ca_engine *ca, const ca_gen *gen, ec_time now, ec_time *nb, ec_time *na)
{
	/* A SHADOW request is answered by a CA that is not valid yet: its certificate starts with
	 * that CA, so the client can switch both at the same instant. */
	*nb = gen->not_before > now ? gen->not_before : now;
	*nb -= *nb % 1000;
	*na = *nb + ca->cfg.lifetime_certificate;
	if (*na > gen->not_after)
		*na = gen->not_after;
}

static int export_cer(ca_engine *ca, const char *serial, const uint8_t *der, size_t len, ec_err *err)
{
	char path[EC_PATH_MAX];
	if (ca_file(ca, path, sizeof(path), "%s.cer", serial) != 0)
		return ec_err_set(err, "bad certificate file name for serial %s", serial);
	return ec_write_atomic_at(&ca->dir, path, der, len, 0644, err);
}

int ca_issue_build(ca_engine *ca, const store_request *req, X509_REQ *parsed, ca_gen *gen, ec_time now,
                   store_cert *row, uint8_t **der_out, size_t *der_len_out, X509 **cert_out, ec_err *err)
{
	int rc = -1;
	X509_REQ *csr = NULL;
	X509 *cert = NULL;
	uint8_t *der = NULL;
	size_t der_len = 0;
	memset(row, 0, sizeof(*row));

	ec_time nb, na;
	validity(ca, gen, now, &nb, &na);
	if (gen->key == NULL || na <= nb) {
		ec_err_set(err, "CA certificate %s has expired: nothing can be issued with it", gen->serial);
		goto out;
	}
	if ((parsed == NULL && pki_csr_from_der(req->csr_der, req->csr_der_len, &csr, err) != 0) ||
	    store_reserve_serial(ca->store, row->serial, err) != 0)
		goto out;
	/* A request parsed on arrival has had its self-signature verified by scep_csr_parse. */
	pki_issue_params p = {.csr = parsed ? parsed : csr,
	                      .ca_cert = gen->cert,
	                      .ca_key = gen->key,
	                      .serial_hex = row->serial,
	                      .not_before = nb,
	                      .not_after = na,
	                      .digest = ca->digest,
	                      .cdp_url = ca->cfg.cdp_url,
	                      .csr_verified = parsed != NULL,
	                      .rules = &ca->rules};
	if (pki_issue_cert(&p, &cert, err) != 0 || pki_cert_to_der(cert, &der, &der_len, err) != 0)
		goto out;
	snprintf(row->issuer_serial, sizeof(row->issuer_serial), "%s", gen->serial);
	if (ca->cfg.database_level >= CFG_DB_NAMES)
		snprintf(row->subject, sizeof(row->subject), "%s", req->subject);
	row->not_before = nb;
	row->not_after = na;
	row->status = STORE_CERT_VALID;
	if (ca->cfg.database_level == CFG_DB_COMPLETE) {
		row->der = der; /* borrowed from *der_out */
		row->der_len = der_len;
		if (export_cer(ca, row->serial, der, der_len, err) != 0)
			goto out;
	}
	*der_out = der;
	*der_len_out = der_len;
	der = NULL;
	if (cert_out != NULL) {
		*cert_out = cert;
		cert = NULL;
	}
	rc = 0;
out:
	X509_REQ_free(csr);
	X509_free(cert);
	free(der);
	return rc;
}

int ca_issue_for_request(ca_engine *ca, const store_request *req, ca_gen *gen, ec_time now,
                         uint8_t **der_out, size_t *der_len_out, ec_err *err)
{
	store_cert row;
	uint8_t *der = NULL;
	size_t der_len = 0;
	if (ca_issue_build(ca, req, NULL, gen, now, &row, &der, &der_len, NULL, err) != 0)
		return -1;
	if (store_record_issued(ca->store, &row, req->id, der, der_len, err) != 0) {
		free(der);
		return -1;
	}
	ca_audit(ca, "certificate %s issued to '%s' by CA %s (request %lld, transaction %s)",
	         row.serial, req->subject, gen->serial, (long long)req->id, req->txid);
	*der_out = der;
	*der_len_out = der_len;
	return 0;
}
