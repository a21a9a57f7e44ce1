/*
 * libFuzzer target: a CRL as a trustpoint receives it (from a distribution point or in a GetCRL
 * reply): parsed, its times read, judged for acceptance against a CA certificate, a certificate
 * looked up in it, and a trust snapshot built on it and asked about that certificate; the same
 * bytes read as a certificate give its CRL distribution point.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "pki/pki.h"
#include "pki/trust.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static X509 *ca;       /* CN=Other CA,O=Evercert, the issuer name of the seeds */
static X509 *listed;   /* a certificate of that issuer with serial 0A (revoked in a seed) */

static void setup(void)
{
	EVP_PKEY *key = NULL;
	X509_NAME *name = NULL;
	ec_err err;
	if (pki_key_generate(1024, &key, &err) != 0 || pki_name_parse("CN=Other CA,O=Evercert", &name, &err) != 0)
		abort();
	pki_ca_params p = {name, key, "1", 0, (ec_time)4102444800000, EVP_sha256()};
	if (pki_make_ca_cert(&p, &ca, &err) != 0)
		abort();
	listed = X509_dup(ca);
	ASN1_INTEGER *serial = NULL;
	if (listed == NULL || pki_serial_from_hex("0A", &serial, &err) != 0 || !X509_set_serialNumber(listed, serial))
		abort();
	ASN1_INTEGER_free(serial);
	X509_NAME_free(name);
	EVP_PKEY_free(key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (ca == NULL)
		setup();
	ec_err err;
	char why[PKI_TRUST_WHY_MAX];
	X509_CRL *crl = NULL;
	if (pki_crl_from_der(data, size, &crl, &err) == 0) {
		ec_time this_update = 0, next_update = 0;
		ec_time now = pki_crl_times(crl, &this_update, &next_update) == 0 ? this_update + 3600000 : 0;
		STACK_OF(X509) *cas = sk_X509_new_null();
		if (cas == NULL || !sk_X509_push(cas, ca))
			abort();
		int outcome = pki_crl_accept(crl, cas, NULL, now, &err);
		outcome += pki_crl_accept(crl, cas, crl, now, &err);
		outcome += pki_crl_current(crl, now, why, sizeof(why));
		outcome += pki_crl_status(crl, listed, now, why, sizeof(why));
		pki_trust *t = pki_trust_new("FUZZ", cas, crl, PKI_REVOCATION_CRL, "fuzzed");
		if (t != NULL) {
			outcome += pki_trust_check(t, listed, now, why, sizeof(why));
			pki_trust_release(t);
		}
		sk_X509_free(cas);
		X509_CRL_free(crl);
		if (outcome < -3)
			abort(); /* accept and current return 0 or -1, status a verdict */
	}
	X509 *cert = NULL;
	if (pki_cert_from_der(data, size, &cert, &err) == 0) {
		char url[1024];
		if (pki_cert_crl_url(cert, url, sizeof(url)) == 0 && url[0] != 'h' && url[0] != 'H')
			abort(); /* only http(s) URLs are handed out */
		X509_free(cert);
	}
	return 0;
}
