/*
 * pki_archive.c - password-protected archives of a key and its certificate (SPEC §4,
 * `database archive pkcs12|pem`): PKCS#12 with PBES2/AES-256-CBC for both bags and an
 * HMAC-SHA-256 MAC, or a PEM file holding the certificate then the encrypted PKCS#8 key.
 * Both are written atomically with mode 0600.
 */
#include "pki/pki.h"
#include "pki/pki_internal.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>

#define PKI_ARCHIVE_PASSWORD_MAX 1024

static int check_password(const char *password, ec_err *err)
{
	if (password == NULL || password[0] == '\0')
		return ec_err_set(err, "an archive needs a non-empty password");
	if (strlen(password) > PKI_ARCHIVE_PASSWORD_MAX)
		return ec_err_set(err, "password longer than %d characters", PKI_ARCHIVE_PASSWORD_MAX);
	return 0;
}

/* A PKCS#12 of key and cert: AES-256-CBC (PBES2, PBKDF2) for the key and certificate bags,
 * MAC with SHA-256 (PKCS12_create's own MAC would be SHA-1). */
static PKCS12 *make_pkcs12(const char *friendly_name, EVP_PKEY *key, X509 *cert, const char *password,
                           ec_err *err)
{
	PKCS12 *p12 = PKCS12_create_ex(password, friendly_name, key, cert, NULL, NID_aes_256_cbc,
	                               NID_aes_256_cbc, PKCS12_DEFAULT_ITER, -1, 0, NULL, NULL);
	if (p12 == NULL) {
		ec_err_ssl(err, "cannot build the PKCS#12");
		return NULL;
	}
	if (!PKCS12_set_mac(p12, password, -1, NULL, 0, PKCS12_DEFAULT_ITER, EVP_sha256())) {
		ec_err_ssl(err, "cannot add the PKCS#12 MAC");
		PKCS12_free(p12);
		return NULL;
	}
	return p12;
}

/* The archive of key and cert, encoded into a new memory BIO; NULL with the reason in err. */
typedef BIO *(*archive_encoder)(const char *friendly_name, EVP_PKEY *key, X509 *cert, const char *password,
                                ec_err *err);

static BIO *encode_pkcs12(const char *friendly_name, EVP_PKEY *key, X509 *cert, const char *password, ec_err *err)
{
	PKCS12 *p12 = make_pkcs12(friendly_name, key, cert, password, err);
	if (p12 == NULL)
		return NULL;
	BIO *bio = BIO_new(BIO_s_mem());
	if (bio == NULL || i2d_PKCS12_bio(bio, p12) != 1) {
		ec_err_ssl(err, "cannot encode the PKCS#12");
		BIO_free(bio);
		bio = NULL;
	}
	PKCS12_free(p12);
	return bio;
}

/* The certificate, then the key as encrypted PKCS#8 (a PEM archive has no friendly name). */
static BIO *encode_pem(const char *friendly_name, EVP_PKEY *key, X509 *cert, const char *password, ec_err *err)
{
	(void)friendly_name;
	BIO *bio = BIO_new(BIO_s_mem());
	if (bio == NULL || !PEM_write_bio_X509(bio, cert) ||
	    !PEM_write_bio_PKCS8PrivateKey(bio, key, EVP_aes_256_cbc(), password, (int)strlen(password),
	                                   NULL, NULL)) {
		ec_err_ssl(err, "cannot encode the PEM archive");
		BIO_free(bio);
		return NULL;
	}
	return bio;
}

/* What both formats check and do: a usable password, a key that matches the certificate, and
 * the encoded archive written atomically with mode 0600. */
static int export_archive(const ec_dir *dir, const char *path, const char *friendly_name, EVP_PKEY *key,
                          X509 *cert, const char *password, archive_encoder encode, ec_err *err)
{
	int rc = -1;
	BIO *bio = NULL;

	if (check_password(password, err) != 0)
		goto out;
	if (X509_check_private_key(cert, key) != 1) {
		ec_err_ssl(err, "the key does not match the certificate");
		goto out;
	}
	bio = encode(friendly_name, key, cert, password, err);
	if (bio == NULL || pki_bio_write_file(bio, dir, path, 0600, err) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		ec_err_wrap(err, "cannot export %s", path);
	BIO_free(bio);
	return rc;
}

int pki_export_pkcs12(const char *path, const char *friendly_name, EVP_PKEY *key, X509 *cert,
                      const char *password, ec_err *err)
{
	return export_archive(NULL, path, friendly_name, key, cert, password, encode_pkcs12, err);
}

int pki_export_pkcs12_at(const ec_dir *dir, const char *path, const char *friendly_name, EVP_PKEY *key,
                         X509 *cert, const char *password, ec_err *err)
{
	return export_archive(dir, path, friendly_name, key, cert, password, encode_pkcs12, err);
}

int pki_export_pem(const char *path, EVP_PKEY *key, X509 *cert, const char *password, ec_err *err)
{
	return export_archive(NULL, path, NULL, key, cert, password, encode_pem, err);
}

int pki_export_pem_at(const ec_dir *dir, const char *path, EVP_PKEY *key, X509 *cert, const char *password,
                      ec_err *err)
{
	return export_archive(dir, path, NULL, key, cert, password, encode_pem, err);
}
