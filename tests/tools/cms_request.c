/* A SCEP request built with OpenSSL's CMS API (see cms_request.h). */
#include "cms_request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "scep/scep.h"
#include "scep/scep_int.h"

static int fail(const char *what)
{
	fprintf(stderr, "cms_request: %s\n", what);
	ERR_print_errors_fp(stderr);
	return -1;
}

/* The DER of a CMS object into a malloc'd buffer. */
static int cms_der(CMS_ContentInfo *cms, uint8_t **der, size_t *len)
{
	unsigned char *buf = NULL;
	int n = i2d_CMS_ContentInfo(cms, &buf);
	if (n <= 0)
		return fail("encoding");
	*der = malloc((size_t)n);
	if (*der != NULL)
		memcpy(*der, buf, (size_t)n);
	OPENSSL_free(buf);
	*len = (size_t)n;
	return *der != NULL ? 0 : fail("out of memory");
}

static int set_oaep(CMS_RecipientInfo *ri, const EVP_MD *md)
{
	EVP_PKEY_CTX *pctx = CMS_RecipientInfo_get0_pkey_ctx(ri);
	return pctx != NULL && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) > 0 &&
	       EVP_PKEY_CTX_set_rsa_oaep_md(pctx, md) > 0 && EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) > 0;
}

static int envelope(const cms_request *r, uint8_t **der, size_t *len)
{
	int rc = -1;
	BIO *in = BIO_new_mem_buf(r->payload, (int)r->payload_len);
	CMS_ContentInfo *env = CMS_encrypt(NULL, NULL, r->cipher, CMS_BINARY | CMS_PARTIAL);
	CMS_RecipientInfo *ri = env != NULL ? CMS_add1_recipient_cert(env, r->recipient, CMS_KEY_PARAM) : NULL;
	if (in == NULL || ri == NULL) {
		fail("creating the envelope");
		goto out;
	}
	if (r->oaep && !set_oaep(ri, r->oaep_md != NULL ? r->oaep_md : EVP_sha256())) {
		fail("setting RSAES-OAEP");
		goto out;
	}
	if (CMS_final(env, in, NULL, CMS_BINARY) != 1) {
		fail("encrypting");
		goto out;
	}
	rc = cms_der(env, der, len);
out:
	CMS_ContentInfo_free(env);
	BIO_free(in);
	return rc;
}

static int set_pss(CMS_SignerInfo *si, const EVP_MD *mgf1)
{
	EVP_PKEY_CTX *pctx = CMS_SignerInfo_get0_pkey_ctx(si);
	return pctx != NULL && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
	       EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, mgf1) > 0 &&
	       EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0;
}

static int add_attrs(CMS_SignerInfo *si, const cms_request *r)
{
	char type[8];
	snprintf(type, sizeof(type), "%d", r->type);
	return CMS_signed_add1_attr_by_NID(si, scep_attr_nid(SCEP_ATTR_TXID), V_ASN1_PRINTABLESTRING, r->txid,
	                                   (int)strlen(r->txid)) &&
	       CMS_signed_add1_attr_by_NID(si, scep_attr_nid(SCEP_ATTR_MSGTYPE), V_ASN1_PRINTABLESTRING, type,
	                                   (int)strlen(type)) &&
	       CMS_signed_add1_attr_by_NID(si, scep_attr_nid(SCEP_ATTR_SENDER_NONCE), V_ASN1_OCTET_STRING, r->nonce,
	                                   SCEP_NONCE_LEN);
}

int cms_request_build(const cms_request *r, uint8_t **der, size_t *len)
{
	int rc = -1;
	uint8_t *env = NULL;
	size_t env_len = 0;
	BIO *data = NULL;
	unsigned flags = CMS_BINARY | CMS_PARTIAL | CMS_NOSMIMECAP;
	CMS_ContentInfo *cms = NULL;
	CMS_SignerInfo *si = NULL;
	if (envelope(r, &env, &env_len) != 0)
		goto out;
	data = BIO_new_mem_buf(env, (int)env_len);
	cms = CMS_sign(NULL, NULL, NULL, NULL, flags);
	si = cms != NULL ? CMS_add1_signer(cms, r->signer, r->key, r->md, flags | (r->pss ? CMS_KEY_PARAM : 0)) : NULL;
	if (data == NULL || si == NULL) {
		fail("creating the signedData");
		goto out;
	}
	if (r->pss && !set_pss(si, r->mgf1_md != NULL ? r->mgf1_md : r->md)) {
		fail("setting RSASSA-PSS");
		goto out;
	}
	if (!add_attrs(si, r) || CMS_final(cms, data, NULL, CMS_BINARY) != 1) {
		fail("signing");
		goto out;
	}
	rc = cms_der(cms, der, len);
out:
	CMS_ContentInfo_free(cms);
	BIO_free(data);
	free(env);
	return rc;
}
