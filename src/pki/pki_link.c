/*
 * pki_link.c - the link certificate by which an outgoing CA key endorses its successor
 * ("NewWithOld", RFC 4210 §4.4): the successor's subject and public key, issued and signed by
 * the outgoing CA. A relying party that trusts the outgoing CA can adopt the successor from
 * signatures alone. Nothing here reads the clock.
 */
#include "pki/pki.h"
#include "pki/pki_internal.h"

#include <openssl/x509v3.h>

/* The successor's own subject key identifier, so that the link names its key exactly as the
 * successor's certificate does (a hash recomputed by another method could differ). */
static int copy_subject_key_id(X509 *link, X509 *successor, ec_err *err)
{
	int at = X509_get_ext_by_NID(successor, NID_subject_key_identifier, -1);
	if (at < 0)
		return pki_add_ext(link, successor, NID_subject_key_identifier, "hash", err);
	if (!X509_add_ext(link, X509_get_ext(successor, at), -1))
		return ec_err_ssl(err, "cannot copy the successor's subject key identifier");
	return 0;
}

static int check_link_params(const pki_link_params *p, ec_err *err)
{
	if (p->outgoing_cert == NULL || p->outgoing_key == NULL || p->successor == NULL ||
	    p->serial_hex == NULL || p->digest == NULL)
		return ec_err_set(err, "outgoing CA certificate and key, successor, serial and digest are required");
	if (X509_get0_pubkey(p->successor) == NULL)
		return ec_err_ssl(err, "the successor CA certificate has no usable public key");
	if (X509_check_private_key(p->outgoing_cert, p->outgoing_key) != 1)
		return ec_err_ssl(err, "the outgoing CA key does not match its certificate");
	if (pki_time_t(pki_cert_not_after(p->successor)) <= pki_time_t(p->not_before))
		return ec_err_set(err, "the successor CA certificate ends before the link would start");
	return 0;
}

/* Serial, names, key and validity: the link's body before its extensions. */
static int link_body(X509 *link, const pki_link_params *p, ec_err *err)
{
	ASN1_INTEGER *serial = NULL;
	if (pki_serial_from_hex(p->serial_hex, &serial, err) != 0)
		return -1;
	int ok = X509_set_version(link, X509_VERSION_3) && X509_set_serialNumber(link, serial) &&
	         X509_set_subject_name(link, X509_get_subject_name(p->successor)) &&
	         X509_set_issuer_name(link, X509_get_subject_name(p->outgoing_cert)) &&
	         X509_set_pubkey(link, X509_get0_pubkey(p->successor));
	ASN1_INTEGER_free(serial);
	if (!ok)
		return ec_err_ssl(err, "cannot build the link certificate");
	if (pki_time_set(X509_getm_notBefore(link), p->not_before, err) != 0 ||
	    pki_time_set(X509_getm_notAfter(link), pki_cert_not_after(p->successor), err) != 0)
		return -1;
	return 0;
}

int pki_make_link_cert(const pki_link_params *p, X509 **out, ec_err *err)
{
	*out = NULL;
	if (check_link_params(p, err) != 0)
		return ec_err_wrap(err, "link certificate");
	X509 *link = X509_new();
	if (link == NULL) {
		ec_err_set(err, "out of memory");
		goto fail;
	}
	if (link_body(link, p, err) != 0 ||
	    pki_add_ext(link, p->outgoing_cert, NID_basic_constraints, "critical,CA:TRUE", err) != 0 ||
	    pki_add_ext(link, p->outgoing_cert, NID_key_usage, "critical,keyCertSign,cRLSign", err) != 0 ||
	    copy_subject_key_id(link, p->successor, err) != 0 ||
	    pki_add_ext(link, p->outgoing_cert, NID_authority_key_identifier, "keyid:always", err) != 0)
		goto fail;
	if (X509_sign(link, p->outgoing_key, p->digest) <= 0) {
		ec_err_ssl(err, "cannot sign the link certificate with %s", EVP_MD_get0_name(p->digest));
		goto fail;
	}
	*out = link;
	return 0;
fail:
	X509_free(link);
	return ec_err_wrap(err, "link certificate");
}
