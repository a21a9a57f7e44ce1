/*
 * scep_alg.c - the algorithms a pkiMessage may use: an allow-list, checked on the algorithm
 * identifiers as they arrive, before any signature is checked or any envelope opened, so that
 * a refusal says which algorithm and never depends on what OpenSSL happens to implement.
 */
#include "scep/scep.h"
#include "scep/scep_int.h"

#include <stdio.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

static const int DIGESTS[] = {NID_sha1, NID_sha224, NID_sha256, NID_sha384, NID_sha512};
static const int CIPHERS[] = {NID_des_cbc, NID_des_ede3_cbc, NID_aes_128_cbc, NID_aes_192_cbc, NID_aes_256_cbc};

static bool nid_in(int nid, const int *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == nid)
			return true;
	return false;
}

static bool digest_nid_ok(int nid)
{
	return nid != NID_undef && nid_in(nid, DIGESTS, sizeof(DIGESTS) / sizeof(DIGESTS[0]));
}

bool scep_digest_allowed(const EVP_MD *md)
{
	return md != NULL && digest_nid_ok(EVP_MD_get_type(md));
}

bool scep_cipher_allowed(const EVP_CIPHER *cipher)
{
	return cipher != NULL && nid_in(EVP_CIPHER_get_nid(cipher), CIPHERS, sizeof(CIPHERS) / sizeof(CIPHERS[0]));
}

const EVP_MD *scep_reply_digest(const scep_msg *msg)
{
	return msg != NULL && scep_digest_allowed(msg->digest) ? msg->digest : EVP_sha256();
}

/* "what NAME is not accepted" into why; returns -1. */
static int refuse(char *why, size_t whysz, const char *what, const ASN1_OBJECT *obj)
{
	char name[80] = "?";
	if (obj != NULL)
		OBJ_obj2txt(name, sizeof(name), obj, 0);
	snprintf(why, whysz, "%s %s is not accepted", what, name);
	return -1;
}

/* A hash named by an AlgorithmIdentifier inside RSASSA-PSS or RSAES-OAEP parameters; absent
 * means SHA-1, their default. */
static int param_hash_ok(const X509_ALGOR *alg, const char *what, char *why, size_t whysz)
{
	if (alg == NULL || digest_nid_ok(OBJ_obj2nid(alg->algorithm)))
		return 0;
	return refuse(why, whysz, what, alg->algorithm);
}

/* The mask generation function: MGF1 (the only one defined) with a hash from the list; absent
 * means MGF1 with SHA-1. */
static int mgf_ok(const X509_ALGOR *mgf, const char *what, char *why, size_t whysz)
{
	if (mgf == NULL)
		return 0;
	if (OBJ_obj2nid(mgf->algorithm) != NID_mgf1)
		return refuse(why, whysz, what, mgf->algorithm);
	X509_ALGOR *hash = mgf->parameter != NULL ? ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(X509_ALGOR), mgf->parameter)
	                                          : NULL;
	ERR_clear_error();
	if (hash == NULL) {
		snprintf(why, whysz, "%s MGF1 without a readable hash is not accepted", what);
		return -1;
	}
	int rc = param_hash_ok(hash, "MGF1 hash", why, whysz);
	X509_ALGOR_free(hash);
	return rc;
}

/* RSASSA-PSS (oaep false) or RSAES-OAEP parameters: absent means SHA-1 and MGF1 with SHA-1;
 * present, their hash and mask generation hash must be on the accepted list. */
static int rsa_params_ok(const X509_ALGOR *alg, bool oaep, char *why, size_t whysz)
{
	const char *scheme = oaep ? "RSAES-OAEP" : "RSASSA-PSS";
	const ASN1_ITEM *it = oaep ? ASN1_ITEM_rptr(RSA_OAEP_PARAMS) : ASN1_ITEM_rptr(RSA_PSS_PARAMS);
	if (alg->parameter == NULL || alg->parameter->type == V_ASN1_NULL)
		return 0;
	void *params = ASN1_TYPE_unpack_sequence(it, alg->parameter);
	ERR_clear_error();
	if (params == NULL) {
		snprintf(why, whysz, "%s with unreadable parameters is not accepted", scheme);
		return -1;
	}
	const RSA_OAEP_PARAMS *op = params;
	const RSA_PSS_PARAMS *pp = params;
	char what[64];
	snprintf(what, sizeof(what), "%s hash", scheme);
	int rc = param_hash_ok(oaep ? op->hashFunc : pp->hashAlgorithm, what, why, whysz);
	snprintf(what, sizeof(what), "%s mask generation", scheme);
	if (rc == 0)
		rc = mgf_ok(oaep ? op->maskGenFunc : pp->maskGenAlgorithm, what, why, whysz);
	ASN1_item_free(params, it);
	return rc;
}

int scep_alg_check_signer(const PKCS7_SIGNER_INFO *si, const EVP_MD **md, bool *pss, char *why, size_t whysz)
{
	*pss = false;
	*md = NULL;
	const ASN1_OBJECT *dobj = si->digest_alg != NULL ? si->digest_alg->algorithm : NULL;
	/* By name, as OpenSSL reads it: some clients put sha256WithRSAEncryption here. */
	const EVP_MD *digest = dobj != NULL ? EVP_get_digestbyobj(dobj) : NULL;
	if (!scep_digest_allowed(digest))
		return refuse(why, whysz, "digest", dobj);
	*md = digest;
	const X509_ALGOR *sig = si->digest_enc_alg;
	int nid = sig != NULL ? OBJ_obj2nid(sig->algorithm) : NID_undef;
	int hash = NID_undef, pkey = NID_undef;
	if (nid == NID_rsaEncryption)
		return 0;
	if (nid == NID_rsassaPss) {
		*pss = true;
		return rsa_params_ok(sig, false, why, whysz);
	}
	if (OBJ_find_sigid_algs(nid, &hash, &pkey) && (pkey == NID_rsaEncryption || pkey == NID_X9_62_id_ecPublicKey) &&
	    digest_nid_ok(hash))
		return 0;
	return refuse(why, whysz, "signature algorithm", sig != NULL ? sig->algorithm : NULL);
}

bool scep_alg_is_oaep(const PKCS7_RECIP_INFO *ri)
{
	return ri != NULL && ri->key_enc_algor != NULL && OBJ_obj2nid(ri->key_enc_algor->algorithm) == NID_rsaesOaep;
}

static int key_transport_ok(const PKCS7_RECIP_INFO *ri, char *why, size_t whysz)
{
	const X509_ALGOR *alg = ri->key_enc_algor;
	int nid = alg != NULL ? OBJ_obj2nid(alg->algorithm) : NID_undef;
	if (nid == NID_rsaEncryption)
		return 0;
	if (nid == NID_rsaesOaep)
		return rsa_params_ok(alg, true, why, whysz);
	return refuse(why, whysz, "key transport", alg != NULL ? alg->algorithm : NULL);
}

int scep_alg_check_envelope(const PKCS7 *env, const EVP_CIPHER **cipher, char *why, size_t whysz)
{
	*cipher = NULL;
	const PKCS7_ENC_CONTENT *ec = env->d.enveloped->enc_data;
	const ASN1_OBJECT *cobj = ec != NULL && ec->algorithm != NULL ? ec->algorithm->algorithm : NULL;
	const EVP_CIPHER *c = cobj != NULL ? EVP_get_cipherbyobj(cobj) : NULL;
	if (!scep_cipher_allowed(c))
		return refuse(why, whysz, "content encryption", cobj);
	STACK_OF(PKCS7_RECIP_INFO) *ris = env->d.enveloped->recipientinfo;
	for (int i = 0; i < sk_PKCS7_RECIP_INFO_num(ris); i++)
		if (key_transport_ok(sk_PKCS7_RECIP_INFO_value(ris, i), why, whysz) != 0)
			return -1;
	*cipher = c;
	return 0;
}
