/*
 * pki_keyless.c - reading certificates and requests that arrive in every enrollment without
 * paying OpenSSL 3.0's decoder machinery for their public keys.
 *
 * OpenSSL 3.0 decodes the SubjectPublicKeyInfo of every certificate and request as it parses it,
 * and builds a fresh decoder chain to do so: about 150 us of enumerating every decoder and key
 * manager of the loaded providers under the library's global locks, against about 2 us for the
 * key itself. A CA pays this twice per enrollment (the signer certificate and the PKCS#10).
 *
 * So such DER is parsed in a library context holding only the null provider, where the eager
 * decode finds nothing and gives up at once; then the key an RSA certificate or request needs
 * is decoded by the type-specific route (d2i_PublicKey on the key bits) and attached. The object
 * is accepted only if its encoding is then byte for byte what arrived, so that its signature
 * reads the same bytes. Any other key type, and any object whose encoding would change, is
 * parsed again the ordinary way: the result is the same object either way, only its cost differs.
 */
#include "pki/pki.h"
#include "pki/pki_internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/provider.h>

/* Set once under keyless_once; freed at exit (before OpenSSL's own clean-up, registered earlier). */
static CRYPTO_ONCE keyless_once = CRYPTO_ONCE_STATIC_INIT;
static OSSL_LIB_CTX *keyless_ctx;
static OSSL_PROVIDER *keyless_null;

static void keyless_free(void)
{
	OSSL_PROVIDER_unload(keyless_null);
	OSSL_LIB_CTX_free(keyless_ctx);
	keyless_null = NULL;
	keyless_ctx = NULL;
}

static void keyless_init(void)
{
	OSSL_LIB_CTX *ctx = OSSL_LIB_CTX_new();
	/* An explicitly loaded provider keeps the default one from being loaded as a fallback. */
	OSSL_PROVIDER *null = ctx != NULL ? OSSL_PROVIDER_load(ctx, "null") : NULL;
	if (null == NULL) {
		OSSL_LIB_CTX_free(ctx);
		ERR_clear_error();
		return;
	}
	keyless_ctx = ctx;
	keyless_null = null;
	atexit(keyless_free);
}

OSSL_LIB_CTX *pki_keyless_libctx(void)
{
	if (!CRYPTO_THREAD_run_once(&keyless_once, keyless_init))
		return NULL;
	return keyless_ctx;
}

/* The DER of an object, as i2d gives it now (OpenSSL allocates; NULL on failure). */
static unsigned char *encode(const void *obj, const ASN1_ITEM *it, int *len)
{
	unsigned char *der = NULL;
	*len = ASN1_item_i2d((const ASN1_VALUE *)obj, &der, it);
	if (*len <= 0) {
		OPENSSL_free(der);
		return NULL;
	}
	return der;
}

/* The RSA key of a SubjectPublicKeyInfo, decoded by the type-specific route; NULL for other
 * key types or bad bits. */
static EVP_PKEY *rsa_key_of(const X509_PUBKEY *spki)
{
	ASN1_OBJECT *alg = NULL;
	const unsigned char *bits = NULL;
	int bits_len = 0;
	if (spki == NULL || !X509_PUBKEY_get0_param(&alg, &bits, &bits_len, NULL, spki) ||
	    OBJ_obj2nid(alg) != NID_rsaEncryption || bits == NULL || bits_len <= 0)
		return NULL;
	const unsigned char *p = bits;
	EVP_PKEY *key = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, bits_len);
	if (key != NULL && p != bits + bits_len) {
		EVP_PKEY_free(key);
		key = NULL;
	}
	return key;
}

/* How keyed() reaches into a certificate or a request. */
typedef struct keyed_ops {
	const ASN1_ITEM *it;
	X509_PUBKEY *(*spki)(void *obj);
	int (*set_pubkey)(void *obj, EVP_PKEY *key);
	EVP_PKEY *(*get0_pubkey)(void *obj); /* NULL when the key cannot be decoded */
} keyed_ops;

static bool same_bytes(const unsigned char *a, int a_len, const unsigned char *b, int b_len)
{
	return a != NULL && b != NULL && a_len == b_len && memcmp(a, b, (size_t)a_len) == 0;
}

/*
 * Completes a keyless object: attaches its RSA key and keeps the object if both its encoding
 * and its key's encoding are unchanged (X509_set_pubkey leaves a certificate's cached encoding
 * in place, so the key is compared on its own too); otherwise parses its original encoding
 * again the ordinary way. An object whose key decodes already is kept as it is. Returns obj
 * itself (*same true), a new object (*same false), or NULL (obj NULL, or no memory).
 */
static void *keyed(void *obj, const keyed_ops *ops, bool *same)
{
	*same = false;
	if (obj == NULL)
		return NULL;
	if (ops->get0_pubkey(obj) != NULL) {
		ERR_clear_error();
		*same = true;
		return obj;
	}
	ERR_clear_error();
	void *result = NULL;
	int before_len = 0, spki_len = 0;
	unsigned char *before = encode(obj, ops->it, &before_len);
	unsigned char *spki = encode(ops->spki(obj), ASN1_ITEM_rptr(X509_PUBKEY), &spki_len);
	if (before == NULL || spki == NULL)
		goto out;
	EVP_PKEY *key = rsa_key_of(ops->spki(obj));
	if (key != NULL && ops->set_pubkey(obj, key)) {
		int after_len = 0, spki_after_len = 0;
		unsigned char *after = encode(obj, ops->it, &after_len);
		unsigned char *spki_after = encode(ops->spki(obj), ASN1_ITEM_rptr(X509_PUBKEY), &spki_after_len);
		if (same_bytes(after, after_len, before, before_len) && same_bytes(spki_after, spki_after_len, spki, spki_len))
			result = obj;
		OPENSSL_free(after);
		OPENSSL_free(spki_after);
	}
	EVP_PKEY_free(key);
	*same = result != NULL;
	if (result == NULL) {
		const unsigned char *p = before;
		result = ASN1_item_d2i(NULL, &p, before_len, ops->it);
	}
out:
	OPENSSL_free(before);
	OPENSSL_free(spki);
	ERR_clear_error();
	return result;
}

static X509_PUBKEY *cert_spki(void *cert)
{
	return X509_get_X509_PUBKEY(cert);
}

static int set_cert_pubkey(void *cert, EVP_PKEY *key)
{
	return X509_set_pubkey(cert, key);
}

static X509_PUBKEY *req_spki(void *req)
{
	return X509_REQ_get_X509_PUBKEY(req);
}

static int set_req_pubkey(void *req, EVP_PKEY *key)
{
	return X509_REQ_set_pubkey(req, key);
}

static EVP_PKEY *cert_pubkey(void *cert)
{
	return X509_get0_pubkey(cert);
}

static EVP_PKEY *req_pubkey(void *req)
{
	return X509_REQ_get0_pubkey(req);
}

/* A new reference: the certificate itself, or its keyed copy. */
X509 *pki_cert_keyed(X509 *cert)
{
	bool same = false;
	const keyed_ops ops = {ASN1_ITEM_rptr(X509), cert_spki, set_cert_pubkey, cert_pubkey};
	X509 *result = keyed(cert, &ops, &same);
	if (same && !X509_up_ref(cert))
		return NULL;
	return result;
}

/* Takes req: returns it, or frees it and returns its keyed copy. */
X509_REQ *pki_csr_keyed(X509_REQ *req)
{
	bool same = false;
	const keyed_ops ops = {ASN1_ITEM_rptr(X509_REQ), req_spki, set_req_pubkey, req_pubkey};
	X509_REQ *result = keyed(req, &ops, &same);
	if (!same)
		X509_REQ_free(req);
	return result;
}
