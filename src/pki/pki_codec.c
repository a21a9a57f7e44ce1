/*
 * pki_codec.c - DER and PEM encodings of certificates, CRLs and requests, and certificate files.
 *
 * Encoders return malloc'd buffers (free with free()); PEM text is NUL-terminated and the
 * length excludes the NUL. Decoders refuse trailing bytes after the DER object.
 */
#include "pki/pki.h"
#include "pki/pki_internal.h"

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

/* Moves n bytes of OpenSSL-allocated DER (freed here) into a malloc'd buffer. */
static int der_take(unsigned char *tmp, int n, uint8_t **der, size_t *len, const char *what, ec_err *err)
{
	int rc = -1;
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

/* Checks a DER decoder's result: an object, and all len bytes consumed. */
static int der_check(const void *obj, const uint8_t *end, const uint8_t *p, const char *what, ec_err *err)
{
	if (obj == NULL)
		return ec_err_ssl(err, "cannot decode the %s", what);
	if (p != end)
		return ec_err_set(err, "%zu bytes after the %s", (size_t)(end - p), what);
	return 0;
}

static int der_len_ok(size_t len, const char *what, ec_err *err)
{
	if (len == 0 || len > PKI_FILE_MAX)
		return ec_err_set(err, "bad %s length %zu", what, len);
	return 0;
}

int pki_cert_to_der(X509 *cert, uint8_t **der, size_t *len, ec_err *err)
{
	unsigned char *tmp = NULL;
	int n = i2d_X509(cert, &tmp);
	return der_take(tmp, n, der, len, "certificate", err);
}

int pki_cert_from_der(const uint8_t *der, size_t len, X509 **out, ec_err *err)
{
	*out = NULL;
	if (der_len_ok(len, "certificate", err) != 0)
		return -1;
	const unsigned char *p = der;
	X509 *cert = d2i_X509(NULL, &p, (long)len);
	if (der_check(cert, der + len, p, "certificate", err) != 0) {
		X509_free(cert);
		return -1;
	}
	*out = cert;
	return 0;
}

int pki_crl_to_der(X509_CRL *crl, uint8_t **der, size_t *len, ec_err *err)
{
	unsigned char *tmp = NULL;
	int n = i2d_X509_CRL(crl, &tmp);
	return der_take(tmp, n, der, len, "CRL", err);
}

int pki_crl_from_der(const uint8_t *der, size_t len, X509_CRL **out, ec_err *err)
{
	*out = NULL;
	if (der_len_ok(len, "CRL", err) != 0)
		return -1;
	const unsigned char *p = der;
	X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
	if (der_check(crl, der + len, p, "CRL", err) != 0) {
		X509_CRL_free(crl);
		return -1;
	}
	*out = crl;
	return 0;
}

int pki_csr_to_der(X509_REQ *req, uint8_t **der, size_t *len, ec_err *err)
{
	unsigned char *tmp = NULL;
	int n = i2d_X509_REQ(req, &tmp);
	return der_take(tmp, n, der, len, "certificate request", err);
}

int pki_csr_from_der(const uint8_t *der, size_t len, X509_REQ **out, ec_err *err)
{
	*out = NULL;
	if (der_len_ok(len, "certificate request", err) != 0)
		return -1;
	const unsigned char *p = der;
	X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)len);
	if (der_check(req, der + len, p, "certificate request", err) != 0) {
		X509_REQ_free(req);
		return -1;
	}
	*out = req;
	return 0;
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

int pki_cert_from_bytes(const uint8_t *data, size_t len, X509 **out, ec_err *err)
{
	int rc = -1;
	BIO *bio = NULL;

	*out = NULL;
	if (!looks_like_pem(data, len))
		return pki_cert_from_der(data, len, out, err);
	if (len > PKI_FILE_MAX) {
		ec_err_set(err, "certificate PEM longer than %zu bytes", PKI_FILE_MAX);
		goto out;
	}
	bio = BIO_new_mem_buf(data, (int)len);
	if (bio == NULL) {
		ec_err_ssl(err, "out of memory");
		goto out;
	}
	*out = PEM_read_bio_X509(bio, NULL, pki_pem_password_cb, NULL);
	if (*out == NULL) {
		ec_err_ssl(err, "cannot decode the certificate PEM");
		goto out;
	}
	rc = 0;
out:
	BIO_free(bio);
	return rc;
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
	int rc = -1;
	BIO *bio = cert_pem_bio(cert, err);

	if (bio == NULL || pki_bio_write_file(bio, dir, path, (mode_t)mode, err) != 0) {
		ec_err_wrap(err, "cannot save certificate %s", path);
		goto out;
	}
	rc = 0;
out:
	BIO_free(bio);
	return rc;
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
