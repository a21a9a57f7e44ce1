/*
 * pki_codec.c - DER and PEM encodings of certificates, CRLs and requests, and certificate files.
 *
 * Encoders return malloc'd buffers (free with free()); PEM text is NUL-terminated and the
 * length excludes the NUL. Decoders refuse trailing bytes after the DER object.
 */
#include "pki/pki.h"
#include "pki/pki_internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "util/encoding.h"
#include "util/fsutil.h"

int pki_bio_take(BIO *bio, uint8_t **out, size_t *len, ec_err *err)
{
	char *data = NULL;
	long n = BIO_get_mem_data(bio, &data);
	if (n < 0 || data == NULL)
		return ec_err_set(err, "nothing was encoded");
	uint8_t *buf = malloc((size_t)n + 1);
	if (buf == NULL)
		return ec_err_set(err, "out of memory");
	memcpy(buf, data, (size_t)n);
	buf[n] = '\0';
	*out = buf;
	*len = (size_t)n;
	return 0;
}

int pki_bio_write_file(BIO *bio, const ec_dir *dir, const char *name, mode_t mode, ec_err *err)
{
	char *data = NULL;
	long n = BIO_get_mem_data(bio, &data);
	if (n <= 0 || data == NULL)
		return ec_err_set(err, "nothing to write to %s", name);
	return ec_write_atomic_at(dir, name, data, (size_t)n, mode, err);
}

/* Encodes obj (of ASN.1 type it) as DER into a malloc'd buffer. */
static int der_encode(const void *obj, const ASN1_ITEM *it, const char *what, uint8_t **der, size_t *len,
                      ec_err *err)
{
	int rc = -1;
	unsigned char *tmp = NULL;
	int n = ASN1_item_i2d((const ASN1_VALUE *)obj, &tmp, it);
	*der = NULL;
	*len = 0;
	if (n <= 0) {
		ec_err_ssl(err, "cannot encode the %s", what);
		goto out;
	}
	*der = malloc((size_t)n);
	if (*der == NULL) {
		ec_err_set(err, "out of memory");
		goto out;
	}
	memcpy(*der, tmp, (size_t)n);
	*len = (size_t)n;
	rc = 0;
out:
	OPENSSL_free(tmp);
	return rc;
}

/* Decodes exactly len bytes of DER of ASN.1 type it: the object, or NULL with the reason in err
 * (a bad length, undecodable bytes, or bytes left after the object). */
static void *der_decode(const uint8_t *der, size_t len, const ASN1_ITEM *it, const char *what, ec_err *err)
{
	if (len == 0 || len > PKI_FILE_MAX) {
		ec_err_set(err, "bad %s length %zu", what, len);
		return NULL;
	}
	const unsigned char *p = der;
	ASN1_VALUE *obj = ASN1_item_d2i(NULL, &p, (long)len, it);
	if (obj == NULL) {
		ec_err_ssl(err, "cannot decode the %s", what);
		return NULL;
	}
	if (p != der + len) {
		ec_err_set(err, "%zu bytes after the %s", (size_t)(der + len - p), what);
		ASN1_item_free(obj, it);
		return NULL;
	}
	return obj;
}

int pki_cert_to_der(X509 *cert, uint8_t **der, size_t *len, ec_err *err)
{
	return der_encode(cert, ASN1_ITEM_rptr(X509), "certificate", der, len, err);
}

int pki_cert_from_der(const uint8_t *der, size_t len, X509 **out, ec_err *err)
{
	*out = der_decode(der, len, ASN1_ITEM_rptr(X509), "certificate", err);
	return *out != NULL ? 0 : -1;
}

int pki_crl_to_der(X509_CRL *crl, uint8_t **der, size_t *len, ec_err *err)
{
	return der_encode(crl, ASN1_ITEM_rptr(X509_CRL), "CRL", der, len, err);
}

int pki_crl_from_der(const uint8_t *der, size_t len, X509_CRL **out, ec_err *err)
{
	*out = der_decode(der, len, ASN1_ITEM_rptr(X509_CRL), "CRL", err);
	return *out != NULL ? 0 : -1;
}

int pki_csr_to_der(X509_REQ *req, uint8_t **der, size_t *len, ec_err *err)
{
	return der_encode(req, ASN1_ITEM_rptr(X509_REQ), "certificate request", der, len, err);
}

int pki_csr_from_der(const uint8_t *der, size_t len, X509_REQ **out, ec_err *err)
{
	*out = der_decode(der, len, ASN1_ITEM_rptr(X509_REQ), "certificate request", err);
	return *out != NULL ? 0 : -1;
}

/* Whether data starts, after white space, with a PEM header. */
static bool looks_like_pem(const uint8_t *data, size_t len)
{
	static const char header[] = "-----BEGIN ";
	size_t i = 0;
	while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n'))
		i++;
	return len - i >= sizeof(header) - 1 && memcmp(data + i, header, sizeof(header) - 1) == 0;
}

BIO *pki_mem_bio(const uint8_t *data, size_t len, ec_err *err)
{
	BIO *bio = len <= INT_MAX ? BIO_new_mem_buf(data, (int)len) : NULL;
	if (bio == NULL)
		ec_err_ssl(err, "out of memory");
	return bio;
}

int pki_cert_from_bytes(const uint8_t *data, size_t len, X509 **out, ec_err *err)
{
	*out = NULL;
	if (!looks_like_pem(data, len))
		return pki_cert_from_der(data, len, out, err);
	if (len > PKI_FILE_MAX)
		return ec_err_set(err, "certificate PEM longer than %zu bytes", PKI_FILE_MAX);
	BIO *bio = pki_mem_bio(data, len, err);
	if (bio == NULL)
		return -1;
	*out = PEM_read_bio_X509(bio, NULL, pki_pem_password_cb, NULL);
	BIO_free(bio);
	return *out != NULL ? 0 : ec_err_ssl(err, "cannot decode the certificate PEM");
}

/* A memory BIO holding cert as PEM. */
static BIO *cert_pem_bio(X509 *cert, ec_err *err)
{
	BIO *bio = BIO_new(BIO_s_mem());
	if (bio == NULL || !PEM_write_bio_X509(bio, cert)) {
		ec_err_ssl(err, "cannot encode the certificate as PEM");
		BIO_free(bio);
		return NULL;
	}
	return bio;
}

int pki_cert_to_pem(X509 *cert, char **pem, size_t *len, ec_err *err)
{
	int rc = -1;
	uint8_t *buf = NULL;
	BIO *bio = cert_pem_bio(cert, err);

	*pem = NULL;
	*len = 0;
	if (bio == NULL || pki_bio_take(bio, &buf, len, err) != 0)
		goto out;
	*pem = (char *)buf;
	rc = 0;
out:
	BIO_free(bio);
	return rc;
}

int pki_cert_save_pem(const char *path, X509 *cert, int mode, ec_err *err)
{
	return pki_cert_save_pem_at(NULL, path, cert, mode, err);
}

int pki_cert_save_pem_at(const ec_dir *dir, const char *path, X509 *cert, int mode, ec_err *err)
{
	BIO *bio = cert_pem_bio(cert, err);
	int rc = bio != NULL ? pki_bio_write_file(bio, dir, path, (mode_t)mode, err) : -1;
	BIO_free(bio);
	return rc == 0 ? 0 : ec_err_wrap(err, "cannot save certificate %s", path);
}

int pki_cert_load(const char *path, X509 **out, ec_err *err)
{
	int rc = -1;
	uint8_t *data = NULL;
	size_t len = 0;

	*out = NULL;
	if (ec_read_file(path, PKI_FILE_MAX, &data, &len, err) != 0)
		goto out;
	if (pki_cert_from_bytes(data, len, out, err) != 0) {
		ec_err_wrap(err, "cannot load certificate %s", path);
		goto out;
	}
	rc = 0;
out:
	free(data);
	return rc;
}

int pki_cert_fingerprint_hex(X509 *cert, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	out[0] = '\0';
	if (!X509_digest(cert, EVP_sha256(), md, &mdlen) || mdlen != 32) {
		ERR_clear_error();
		return -1;
	}
	ec_hex_encode(md, mdlen, out);
	return 0;
}
