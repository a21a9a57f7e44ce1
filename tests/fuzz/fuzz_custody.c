/*
 * libFuzzer target: a GetCARolloverChain body as a client receives it: parsed as PEM
 * certificates, then walked from a pinned CA certificate to the last certificate of the body
 * taken as the CA's active one (pki_custody_walk must refuse, never trust, what it cannot chain).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "pki/pki.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static X509 *pin; /* CN=RootCA,OU=TAC,O=Cisco, a key no input can sign with */

static void setup(void)
{
	EVP_PKEY *key = NULL;
	X509_NAME *name = NULL;
	ec_err err;
	if (pki_key_generate(1024, &key, &err) != 0 || pki_name_parse("CN=RootCA,OU=TAC,O=Cisco", &name, &err) != 0)
		abort();
	pki_ca_params p = {name, key, "1", 0, (ec_time)4102444800000, EVP_sha256()};
	if (pki_make_ca_cert(&p, &pin, &err) != 0)
		abort();
	X509_NAME_free(name);
	EVP_PKEY_free(key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (pin == NULL)
		setup();
	STACK_OF(X509) *certs = NULL;
	ec_err err;
	if (pki_custody_parse_pem(data, size, &certs, &err) != 0)
		return 0;
	pki_custody_result r;
	X509 *active = sk_X509_value(certs, sk_X509_num(certs) - 1);
	if (pki_custody_walk(pin, certs, active, &r, &err) == 0) {
		/* Only the pin itself can be reached from it without its key. */
		if (X509_cmp(r.current, pin) != 0)
			abort();
		pki_custody_result_free(&r);
	}
	/* From the body's own first certificate, as a pin that the body does chain from. */
	if (pki_custody_walk(sk_X509_value(certs, 0), certs, active, &r, &err) == 0)
		pki_custody_result_free(&r);
	sk_X509_pop_free(certs, X509_free);
	return 0;
}
