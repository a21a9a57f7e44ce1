/*
 * pki_serial.c - serial numbers as hex text, and ASN.1 times as ec_time.
 *
 * Serials: upper-case hex without leading zeros, at most PKI_SERIAL_MAX - 1 significant digits
 * so that every serial we make also prints. Times: whole seconds (X.509 has no finer unit);
 * an ec_time is truncated towards the earlier second. No function here reads the clock.
 */
#include "pki/pki.h"
#include "pki/pki_internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>

int pki_serial_from_hex(const char *hex, ASN1_INTEGER **out, ec_err *err)
{
	*out = NULL;
	if (hex == NULL)
		return ec_err_set(err, "no serial number given");
	size_t len = strlen(hex);
	if (len == 0 || strspn(hex, "0123456789abcdefABCDEF") != len)
		return ec_err_set(err, "bad serial number '%.64s': not hexadecimal", hex);
	size_t lead = 0;
	while (lead + 1 < len && hex[lead] == '0')
		lead++;
	if (len - lead > PKI_SERIAL_MAX - 1)
		return ec_err_set(err, "serial number '%.64s' has more than %d hex digits", hex, PKI_SERIAL_MAX - 1);
	BIGNUM *bn = NULL;
	if (BN_hex2bn(&bn, hex + lead) != (int)(len - lead)) {
		ec_err_ssl(err, "cannot read serial number '%s'", hex);
		BN_free(bn);
		return -1;
	}
	*out = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	return *out != NULL ? 0 : ec_err_ssl(err, "cannot convert serial number '%s'", hex);
}

int pki_serial_to_hex(const ASN1_INTEGER *serial, char out[PKI_SERIAL_MAX])
{
	int rc = -1;
	BIGNUM *bn = NULL;
	char *hex = NULL;

	out[0] = '\0';
	if (serial == NULL)
		goto out;
	bn = ASN1_INTEGER_to_BN(serial, NULL);
	if (bn == NULL)
		goto out;
	hex = BN_bn2hex(bn);
	if (hex == NULL)
		goto out;
	const char *digits = hex[0] == '-' ? hex + 1 : hex;
	while (digits[0] == '0' && digits[1] != '\0')
		digits++;
	int n = snprintf(out, PKI_SERIAL_MAX, "%s%s", hex[0] == '-' ? "-" : "", digits);
	if (n < 0 || n >= PKI_SERIAL_MAX) {
		out[0] = '\0';
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		ERR_clear_error();
	OPENSSL_free(hex);
	BN_free(bn);
	return rc;
}

int pki_cert_serial_hex(X509 *cert, char out[PKI_SERIAL_MAX])
{
	return pki_serial_to_hex(X509_get0_serialNumber(cert), out);
}

time_t pki_time_t(ec_time ms)
{
	if (ms >= 0)
		return (time_t)(ms / EC_MS_PER_SECOND);
	return (time_t)-((-ms + EC_MS_PER_SECOND - 1) / EC_MS_PER_SECOND);
}

int pki_time_set(ASN1_TIME *t, ec_time ms, ec_err *err)
{
	if (ASN1_TIME_set(t, pki_time_t(ms)) == NULL)
		return ec_err_ssl(err, "cannot encode time %lld ms", (long long)ms);
	return 0;
}

ec_time pki_asn1_time_ms(const ASN1_TIME *t)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	/* ASN1_TIME_to_tm reads the current time when given NULL: never let it. */
	if (t == NULL || !ASN1_TIME_check(t) || !ASN1_TIME_to_tm(t, &tm)) {
		ERR_clear_error();
		return -1;
	}
	return (ec_time)timegm(&tm) * EC_MS_PER_SECOND;
}

ec_time pki_cert_not_before(X509 *cert)
{
	return pki_asn1_time_ms(X509_get0_notBefore(cert));
}

ec_time pki_cert_not_after(X509 *cert)
{
	return pki_asn1_time_ms(X509_get0_notAfter(cert));
}
