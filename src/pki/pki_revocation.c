/*
 * pki_revocation.c - a CRL read for a decision: its times, whether it may replace the one held,
 * whether it lists a certificate, and where a certificate says its CRL is published. The time is
 * given, never read from the clock.
 */
#include "pki/trust.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "pki/pki.h"

static void say(char *why, size_t whysz, const char *fmt, ...) EC_PRINTF(3, 4);

static void say(char *why, size_t whysz, const char *fmt, ...)
{
	if (why == NULL || whysz == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, whysz, fmt, ap);
	va_end(ap);
}

int pki_crl_times(X509_CRL *crl, ec_time *this_update, ec_time *next_update)
{
	const ASN1_TIME *last = X509_CRL_get0_lastUpdate(crl);
	const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
	*this_update = last != NULL ? pki_asn1_time_ms(last) : -1;
	*next_update = next != NULL ? pki_asn1_time_ms(next) : INT64_MAX;
	return *this_update < 0 || *next_update < 0 ? -1 : 0;
}

/* Whether crl's issuer is ca and ca's key signed it. */
static bool signed_by(X509_CRL *crl, X509 *ca)
{
	EVP_PKEY *pub = X509_get0_pubkey(ca);
	bool ok = pub != NULL && X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca)) == 0 &&
	          X509_CRL_verify(crl, pub) == 1;
	ERR_clear_error();
	return ok;
}

bool pki_crl_signed_by(X509_CRL *crl, STACK_OF(X509) *cas)
{
	for (int i = 0; i < sk_X509_num(cas); i++)
		if (signed_by(crl, sk_X509_value(cas, i)))
			return true;
	return false;
}

int pki_crl_current(X509_CRL *crl, ec_time now, char *why, size_t whysz)
{
	ec_time this_update, next_update;
	char when[EC_TIME_TEXT_MAX];
	if (pki_crl_times(crl, &this_update, &next_update) != 0) {
		say(why, whysz, "the CRL's update times are malformed");
		return -1;
	}
	if (next_update == INT64_MAX) {
		say(why, whysz, "the CRL has no nextUpdate, so it cannot be known to be current");
		return -1;
	}
	if (now >= next_update) {
		ec_time_format_iso(next_update, when);
		say(why, whysz, "the CRL expired at %s (its nextUpdate)", when);
		return -1;
	}
	if (this_update > now + PKI_CRL_SKEW) {
		ec_time_format_iso(this_update, when);
		say(why, whysz, "the CRL starts at %s, in our future", when);
		return -1;
	}
	return 0;
}

int pki_crl_accept(X509_CRL *crl, STACK_OF(X509) *cas, X509_CRL *held, ec_time now, ec_err *err)
{
	if (!pki_crl_signed_by(crl, cas))
		return ec_err_set(err, "the CRL is not signed by the CA certificate");
	char why[PKI_TRUST_WHY_MAX];
	if (pki_crl_current(crl, now, why, sizeof(why)) != 0)
		return ec_err_set(err, "%s", why);
	ec_time this_update, next_update, held_this, held_next;
	if (held != NULL && pki_crl_times(crl, &this_update, &next_update) == 0 &&
	    pki_crl_times(held, &held_this, &held_next) == 0 && this_update < held_this) {
		char a[EC_TIME_TEXT_MAX], b[EC_TIME_TEXT_MAX];
		ec_time_format_iso(this_update, a);
		ec_time_format_iso(held_this, b);
		return ec_err_set(err, "the CRL (thisUpdate %s) is older than the one held (thisUpdate %s)", a, b);
	}
	return 0;
}

int pki_crl_status(X509_CRL *crl, X509 *cert, ec_time now, char *why, size_t whysz)
{
	if (crl == NULL) {
		say(why, whysz, "no CRL is held");
		return PKI_CRL_UNKNOWN;
	}
	if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_issuer_name(cert)) != 0) {
		say(why, whysz, "the CRL held is another CA's");
		return PKI_CRL_UNKNOWN;
	}
	/* A certificate listed stays revoked whatever the CRL's age: it is never taken back by a
	 * CRL going stale. */
	X509_REVOKED *entry = NULL;
	char serial[PKI_SERIAL_MAX] = "?";
	if (X509_CRL_get0_by_serial(crl, &entry, X509_get0_serialNumber(cert)) == 1) {
		char when[EC_TIME_TEXT_MAX] = "?";
		ec_time at = pki_asn1_time_ms(X509_REVOKED_get0_revocationDate(entry));
		if (at >= 0)
			ec_time_format_iso(at, when);
		if (pki_cert_serial_hex(cert, serial) != 0)
			snprintf(serial, sizeof(serial), "?");
		say(why, whysz, "certificate %s was revoked by its CA at %s", serial, when);
		return PKI_CRL_REVOKED;
	}
	if (pki_crl_current(crl, now, why, whysz) != 0)
		return PKI_CRL_UNKNOWN;
	say(why, whysz, "not revoked");
	return PKI_CRL_GOOD;
}

/* The URI of one general name when it is an http(s) URL of printable characters. */
static bool http_uri(const GENERAL_NAME *gn, char *out, size_t outsz)
{
	if (gn->type != GEN_URI)
		return false;
	const ASN1_IA5STRING *s = gn->d.uniformResourceIdentifier;
	int len = ASN1_STRING_length(s);
	const unsigned char *p = ASN1_STRING_get0_data(s);
	if (len <= 0 || (size_t)len >= outsz)
		return false;
	for (int i = 0; i < len; i++)
		if (p[i] <= 0x20 || p[i] >= 0x7f)
			return false;
	if (!((len > 7 && strncasecmp((const char *)p, "http://", 7) == 0) ||
	      (len > 8 && strncasecmp((const char *)p, "https://", 8) == 0)))
		return false;
	memcpy(out, p, (size_t)len);
	out[len] = '\0';
	return true;
}

int pki_cert_crl_url(X509 *cert, char *out, size_t outsz)
{
	CRL_DIST_POINTS *dps = X509_get_ext_d2i(cert, NID_crl_distribution_points, NULL, NULL);
	ERR_clear_error();
	int rc = 1;
	for (int i = 0; i < sk_DIST_POINT_num(dps) && rc != 0; i++) {
		const DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
		if (dp->distpoint == NULL || dp->distpoint->type != 0)
			continue;
		GENERAL_NAMES *names = dp->distpoint->name.fullname;
		for (int j = 0; j < sk_GENERAL_NAME_num(names) && rc != 0; j++)
			if (http_uri(sk_GENERAL_NAME_value(names, j), out, outsz))
				rc = 0;
	}
	CRL_DIST_POINTS_free(dps);
	return rc;
}
