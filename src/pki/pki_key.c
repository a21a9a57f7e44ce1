/*
 * pki_key.c - RSA key pairs: generation, encrypted storage at rest, fingerprints.
 *
 * Keys are stored as PKCS#8 PEM encrypted with AES-256-CBC (PBES2/PBKDF2), mode 0600, written
 * atomically. Loading refuses a file that other users can read, and an unencrypted key. No
 * function here ever prompts on a terminal.
 */
#include "pki/pki.h"
#include "pki/pki_internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "util/encoding.h"
#include "util/fsutil.h"

#define PKI_KEY_BITS_MIN 1024
#define PKI_KEY_BITS_MAX 16384
#define PKI_KEY_FILE_MAX ((size_t)64 * 1024)

int pki_pem_password_cb(char *buf, int size, int rwflag, void *u)
{
	const char *password = u;
	if (password == NULL || size <= 0)
		return -1;
	size_t len = strlen(password);
	if (len > (size_t)size)
		return -1;
	memcpy(buf, password, len);
	return (int)len;
}

int pki_key_generate(int bits, EVP_PKEY **out, ec_err *err)
{
	int rc = -1;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *key = NULL;

	*out = NULL;
	if (bits < PKI_KEY_BITS_MIN || bits > PKI_KEY_BITS_MAX) {
		ec_err_set(err, "RSA key size %d out of range (%d to %d bits)", bits, PKI_KEY_BITS_MIN,
		           PKI_KEY_BITS_MAX);
		goto out;
	}
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (ctx == NULL || EVP_PKEY_keygen_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, bits) <= 0 || EVP_PKEY_generate(ctx, &key) <= 0) {
		ec_err_ssl(err, "cannot generate a %d-bit RSA key", bits);
		goto out;
	}
	*out = key;
	key = NULL;
	rc = 0;
out:
	EVP_PKEY_free(key);
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

/* Appends key as encrypted PKCS#8 PEM to bio. */
static int write_encrypted_key(BIO *bio, EVP_PKEY *key, const char *password, ec_err *err)
{
	if (password == NULL || password[0] == '\0')
		return ec_err_set(err, "a key must be saved under a non-empty password");
	size_t len = strlen(password);
	if (len > 1024)
		return ec_err_set(err, "password longer than 1024 characters");
	if (!PEM_write_bio_PKCS8PrivateKey(bio, key, EVP_aes_256_cbc(), password, (int)len, NULL, NULL))
		return ec_err_ssl(err, "cannot encrypt the private key");
	return 0;
}

int pki_key_save(const char *path, EVP_PKEY *key, const char *password, ec_err *err)
{
	return pki_key_save_at(NULL, path, key, password, err);
}

int pki_key_save_at(const ec_dir *dir, const char *path, EVP_PKEY *key, const char *password, ec_err *err)
{
	BIO *bio = BIO_new(BIO_s_mem());
	if (bio == NULL)
		return ec_err_ssl(err, "out of memory");
	int rc = write_encrypted_key(bio, key, password, err);
	if (rc == 0)
		rc = pki_bio_write_file(bio, dir, path, 0600, err);
	BIO_free(bio);
	return rc == 0 ? 0 : ec_err_wrap(err, "cannot save key %s", path);
}

/* Decrypts the PEM text of a key file. */
static int decrypt_key(const char *path, const uint8_t *pem, size_t len, const char *password,
                       EVP_PKEY **out, ec_err *err)
{
	if (strstr((const char *)pem, "-----BEGIN ENCRYPTED PRIVATE KEY-----") == NULL)
		return ec_err_set(err, "%s is not an encrypted PKCS#8 private key", path);
	if (password == NULL || password[0] == '\0')
		return ec_err_set(err, "cannot decrypt key %s: no password given", path);
	BIO *bio = pki_mem_bio(pem, len, err);
	if (bio == NULL)
		return -1;
	*out = PEM_read_bio_PrivateKey(bio, NULL, pki_pem_password_cb, (void *)password);
	BIO_free(bio);
	if (*out == NULL) {
		ERR_clear_error();
		return ec_err_set(err, "cannot decrypt key %s: wrong password or corrupt file", path);
	}
	return 0;
}

int pki_key_load(const char *path, const char *password, EVP_PKEY **out, ec_err *err)
{
	return pki_key_load_at(NULL, path, password, out, err);
}

int pki_key_load_at(const ec_dir *dir, const char *path, const char *password, EVP_PKEY **out, ec_err *err)
{
	int rc = -1;
	uint8_t *pem = NULL;
	size_t len = 0;

	*out = NULL;
	if (ec_read_private_at(dir, path, PKI_KEY_FILE_MAX, &pem, &len, err) != 0)
		goto out;
	if (decrypt_key(path, pem, len, password, out, err) != 0)
		goto out;
	rc = 0;
out:
	if (pem != NULL) {
		OPENSSL_cleanse(pem, len);
		free(pem);
	}
	return rc;
}

int pki_spki_fingerprint(const X509_PUBKEY *spki, char out[65])
{
	unsigned char *der = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	out[0] = '\0';
	int n = spki != NULL ? i2d_X509_PUBKEY(spki, &der) : -1;
	int rc = n > 0 && EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL) && mdlen == 32 ? 0 : -1;
	if (rc == 0)
		ec_hex_encode(md, mdlen, out);
	else
		ERR_clear_error();
	OPENSSL_free(der);
	return rc;
}

int pki_pubkey_fingerprint(EVP_PKEY *key, char out[65])
{
	int rc = -1;
	unsigned char *der = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	out[0] = '\0';
	int n = i2d_PUBKEY(key, &der);
	if (n <= 0 || !EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) {
		ERR_clear_error();
		goto out;
	}
	ec_hex_encode(md, mdlen, out);
	rc = 0;
out:
	OPENSSL_free(der);
	return rc;
}
