/*
 * scep_init.c - one-time set-up (providers, attribute OIDs), names, algorithm look-ups, nonces.
 */
#include "scep/scep.h"
#include "scep/scep_int.h"

#include <limits.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/provider.h>
#include <openssl/rand.h>

static const struct {
	const char *oid;
	const char *sn;
	const char *ln;
} attr_oids[SCEP_ATTR_COUNT] = {
	[SCEP_ATTR_TXID] = {"2.16.840.1.113733.1.9.7", "transactionID", "SCEP transactionID"},
	[SCEP_ATTR_MSGTYPE] = {"2.16.840.1.113733.1.9.2", "messageType", "SCEP messageType"},
	[SCEP_ATTR_STATUS] = {"2.16.840.1.113733.1.9.3", "pkiStatus", "SCEP pkiStatus"},
	[SCEP_ATTR_FAILINFO] = {"2.16.840.1.113733.1.9.4", "failInfo", "SCEP failInfo"},
	[SCEP_ATTR_SENDER_NONCE] = {"2.16.840.1.113733.1.9.5", "senderNonce", "SCEP senderNonce"},
	[SCEP_ATTR_RECIPIENT_NONCE] = {"2.16.840.1.113733.1.9.6", "recipientNonce", "SCEP recipientNonce"},
};

/* Written once under init_once, read-only afterwards. */
static CRYPTO_ONCE init_once = CRYPTO_ONCE_STATIC_INIT;
static int attr_nids[SCEP_ATTR_COUNT];
static const char *init_failure; /* NULL when the set-up succeeded */
static bool des_available;
/* Held for the life of the process: providers are never unloaded. volatile because nothing reads
 * them back: an optimised build would otherwise drop the stores, and LeakSanitizer would report
 * the providers (still referenced, never freed) as lost. */
static OSSL_PROVIDER *volatile prov_default;
static OSSL_PROVIDER *volatile prov_legacy;

/* The NID of an OID, registering it when OpenSSL does not know it yet. */
static int register_oid(const char *oid, const char *sn, const char *ln)
{
	int nid = OBJ_txt2nid(oid);
	if (nid != NID_undef)
		return nid;
	if (OBJ_sn2nid(sn) != NID_undef || OBJ_ln2nid(ln) != NID_undef)
		return NID_undef; /* the name is taken by another OID */
	return OBJ_create(oid, sn, ln);
}

static void init_run(void)
{
	/* Loading any provider explicitly stops the implicit default one: load both. */
	prov_default = OSSL_PROVIDER_load(NULL, "default");
	if (prov_default == NULL) {
		init_failure = "cannot load the OpenSSL default provider";
		return;
	}
	prov_legacy = OSSL_PROVIDER_load(NULL, "legacy");
	if (prov_legacy == NULL)
		ERR_clear_error(); /* single DES stays unavailable; the rest works */
	EVP_CIPHER *des = EVP_CIPHER_fetch(NULL, "DES-CBC", NULL);
	des_available = des != NULL;
	EVP_CIPHER_free(des);
	ERR_clear_error();
	for (int i = 0; i < SCEP_ATTR_COUNT; i++) {
		attr_nids[i] = register_oid(attr_oids[i].oid, attr_oids[i].sn, attr_oids[i].ln);
		if (attr_nids[i] == NID_undef) {
			init_failure = "cannot register the SCEP attribute OIDs";
			ERR_clear_error();
			return;
		}
	}
}

int scep_ensure_init(ec_err *err)
{
	if (!CRYPTO_THREAD_run_once(&init_once, init_run))
		return ec_err_set(err, "SCEP set-up did not run");
	if (init_failure != NULL)
		return ec_err_set(err, "%s", init_failure);
	return 0;
}

int scep_init(ec_err *err)
{
	return scep_ensure_init(err);
}

int scep_attr_nid(enum scep_attr which)
{
	if (which < 0 || which >= SCEP_ATTR_COUNT || scep_ensure_init(NULL) != 0)
		return NID_undef;
	return attr_nids[which];
}

const char *scep_msg_type_name(int type)
{
	switch (type) {
	case SCEP_MSG_CERTREP: return "CertRep";
	case SCEP_MSG_RENEWALREQ: return "RenewalReq";
	case SCEP_MSG_PKCSREQ: return "PKCSReq";
	case SCEP_MSG_CERTPOLL: return "CertPoll";
	case SCEP_MSG_GETCERT: return "GetCert";
	case SCEP_MSG_GETCRL: return "GetCRL";
	default: return "unknown";
	}
}

const char *scep_status_name(int status)
{
	switch (status) {
	case SCEP_STATUS_SUCCESS: return "SUCCESS";
	case SCEP_STATUS_FAILURE: return "FAILURE";
	case SCEP_STATUS_PENDING: return "PENDING";
	default: return "unknown";
	}
}

const char *scep_fail_name(int fail_info)
{
	switch (fail_info) {
	case SCEP_FAIL_NONE: return "none";
	case SCEP_FAIL_BADALG: return "badAlg";
	case SCEP_FAIL_BADMESSAGECHECK: return "badMessageCheck";
	case SCEP_FAIL_BADREQUEST: return "badRequest";
	case SCEP_FAIL_BADTIME: return "badTime";
	case SCEP_FAIL_BADCERTID: return "badCertId";
	default: return "unknown";
	}
}

const EVP_MD *scep_digest_by_name(const char *name)
{
	if (name == NULL)
		return NULL;
	if (strcasecmp(name, "SHA-1") == 0 || strcasecmp(name, "SHA1") == 0)
		return EVP_sha1();
	if (strcasecmp(name, "SHA-256") == 0 || strcasecmp(name, "SHA256") == 0)
		return EVP_sha256();
	if (strcasecmp(name, "SHA-384") == 0 || strcasecmp(name, "SHA384") == 0)
		return EVP_sha384();
	if (strcasecmp(name, "SHA-512") == 0 || strcasecmp(name, "SHA512") == 0)
		return EVP_sha512();
	return NULL;
}

/* "DES" is only returned when a provider (legacy) implements it. */
const EVP_CIPHER *scep_cipher_by_name(const char *name)
{
	if (name == NULL)
		return NULL;
	if (strcasecmp(name, "AES") == 0 || strcasecmp(name, "AES-128") == 0 ||
	    strcasecmp(name, "AES-128-CBC") == 0)
		return EVP_aes_128_cbc();
	if (strcasecmp(name, "AES-256") == 0 || strcasecmp(name, "AES-256-CBC") == 0)
		return EVP_aes_256_cbc();
	if (strcasecmp(name, "DES3") == 0 || strcasecmp(name, "DES-EDE3-CBC") == 0)
		return EVP_des_ede3_cbc();
	if (strcasecmp(name, "DES") == 0 || strcasecmp(name, "DES-CBC") == 0) {
		if (scep_ensure_init(NULL) != 0 || !des_available)
			return NULL;
		return EVP_des_cbc();
	}
	return NULL;
}

int scep_random(uint8_t *buf, size_t n)
{
	if (n > INT_MAX)
		return -1;
	if (n == 0)
		return 0;
	return RAND_bytes(buf, (int)n) == 1 ? 0 : -1;
}
