/*
 * scep_tool: plays the part of various real SCEP clients for the shell tests, one step per
 * invocation, files in and out, so that a test can send each message with curl in whatever way a
 * client does (GET with raw base64, POST without a Content-Type, HTTP/1.0...).
 *
 * It is a test tool: keys are written unencrypted, and self-signed certificates read the real
 * clock (the daemon under test runs on calendar time too). It never talks to the network.
 * Exit status: 0 done (for `reply`: the CertRep was parsed and is the CA's, whatever its
 * status), 1 failure (reason on stderr), 2 bad usage.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "cms_request.h"
#include "pki/pki.h"
#include "scep/scep.h"
#include "util/encoding.h"
#include "util/fsutil.h"

#define KEY_FILE_MAX (64 * 1024)
#define CERT_VALIDITY_SECONDS (30L * 86400)

static const char USAGE[] =
	"usage:\n"
	"  scep_tool keygen --out KEY.pem [--bits N]\n"
	"  scep_tool selfsign --key KEY.pem --cn CN --out CERT.pem [--v1]\n"
	"  scep_tool request --type pkcsreq|renewalreq|certpoll|getcert|getcrl --ca CA.pem\n"
	"            --key KEY.pem --signer CERT.pem --txid TXID --out MSG.der [--cn CN]\n"
	"            [--challenge PW] [--cipher DES|DES3|AES|AES-256|OPENSSL-NAME]\n"
	"            [--digest SHA-1|SHA-256|SHA-512|OPENSSL-NAME] [--pss] [--oaep]\n"
	"            [--serial HEX] [--nonce HEX] [--ext NAME=VALUE] [--csr-key KEY.pem] [--pad BYTES]\n"
	"  scep_tool reply --in REPLY.der --key KEY.pem --signer CERT.pem --ca CA.pem\n"
	"            [--out CERT.pem] [--crl-out CRL.der] [--nonce HEX]\n"
	"\n"
	"request: the CSR (pkcsreq, renewalreq) is made from KEY with subject CN=CN (default: the\n"
	"  signer's subject); certpoll asks for CN (same default); getcert needs --serial; getcrl\n"
	"  names --serial or the signer's serial. --nonce sets the senderNonce (16 bytes, hex).\n"
	"  --csr-key puts another key in the PKCS#10 than the one signing the message; --pad adds an\n"
	"  attribute of that many bytes to it. --cipher and --digest also take any name OpenSSL knows\n"
	"  (RC2-CBC, CAMELLIA-128-CBC, MD5, SHA224...), as clients may send. --pss signs with\n"
	"  RSASSA-PSS and --oaep transports the key with RSAES-OAEP (SHA-256); these, AEAD ciphers\n"
	"  and a --ca with another key than RSA (key agreement) are built with OpenSSL's CMS API.\n"
	"reply: checks the CertRep is signed by CA.pem (and, with --nonce, that it answers that\n"
	"  senderNonce), prints 'status=S failinfo=F txid=T' and 'cipher=C digest=D' on SUCCESS,\n"
	"  'digest=D' otherwise (D: the digest the reply is signed with),\n"
	"  writes the first certificate (PEM) and the CRL (DER) of a SUCCESS reply.\n"
	"exit: 0 done, 1 failure, 2 bad usage\n";

/* Every option of every command; a command lists which ones it takes. */
typedef struct tool_args {
	const char *out, *bits, *key, *cn, *type, *ca, *signer, *txid, *challenge, *cipher, *digest;
	const char *serial, *nonce, *in, *crl_out, *ext, *csr_key, *pad;
	int v1, pss, oaep;
} tool_args;

typedef struct opt_def {
	const char *name;
	size_t offset;    /* of a const char * in tool_args, or of the int flag */
	int is_flag;
} opt_def;

static const opt_def OPTS[] = {
	{"--out", offsetof(tool_args, out), 0},         {"--bits", offsetof(tool_args, bits), 0},
	{"--key", offsetof(tool_args, key), 0},         {"--cn", offsetof(tool_args, cn), 0},
	{"--type", offsetof(tool_args, type), 0},       {"--ca", offsetof(tool_args, ca), 0},
	{"--signer", offsetof(tool_args, signer), 0},   {"--txid", offsetof(tool_args, txid), 0},
	{"--challenge", offsetof(tool_args, challenge), 0},
	{"--cipher", offsetof(tool_args, cipher), 0},   {"--digest", offsetof(tool_args, digest), 0},
	{"--serial", offsetof(tool_args, serial), 0},   {"--nonce", offsetof(tool_args, nonce), 0},
	{"--in", offsetof(tool_args, in), 0},           {"--crl-out", offsetof(tool_args, crl_out), 0},
	{"--ext", offsetof(tool_args, ext), 0},
	{"--csr-key", offsetof(tool_args, csr_key), 0}, {"--pad", offsetof(tool_args, pad), 0},
	{"--v1", offsetof(tool_args, v1), 1},
	{"--pss", offsetof(tool_args, pss), 1},         {"--oaep", offsetof(tool_args, oaep), 1},
};

static int fail(const char *what, const ec_err *err)
{
	fprintf(stderr, "scep_tool: %s%s%s\n", what, err != NULL ? ": " : "", err != NULL ? err->msg : "");
	return 1;
}

/* Bad usage: the reason and a hint, or the whole usage text when there is no reason. */
static int usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "scep_tool: %s (scep_tool --help for usage)\n", why);
	else
		fputs(USAGE, stderr);
	return 2;
}

/* Whether word is one of the space-separated words of list. */
static int word_in(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; *p != '\0'; p += strcspn(p, " "), p += strspn(p, " "))
		if (strncmp(p, word, n) == 0 && (p[n] == ' ' || p[n] == '\0'))
			return 1;
	return 0;
}

/* Reads "--name value" pairs and flags; `allowed` is a space-separated list of the option names
 * this command takes. Returns 0, or -1 after printing what is wrong. */
static int parse_args(int argc, char **argv, const char *allowed, tool_args *a)
{
	memset(a, 0, sizeof(*a));
	for (int i = 0; i < argc; i++) {
		const opt_def *d = NULL;
		for (size_t j = 0; j < sizeof(OPTS) / sizeof(OPTS[0]); j++)
			if (strcmp(argv[i], OPTS[j].name) == 0)
				d = &OPTS[j];
		if (d == NULL || !word_in(allowed, d->name)) {
			fprintf(stderr, "scep_tool: unknown option '%s' for this command\n", argv[i]);
			return -1;
		}
		if (d->is_flag) {
			*(int *)(void *)((char *)a + d->offset) = 1;
			continue;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "scep_tool: %s needs a value\n", argv[i]);
			return -1;
		}
		*(const char **)(void *)((char *)a + d->offset) = argv[++i];
	}
	return 0;
}

/* ---- files ---- */

static int load_key(const char *path, EVP_PKEY **out, ec_err *err)
{
	uint8_t *pem = NULL;
	size_t len = 0;
	if (ec_read_file(path, KEY_FILE_MAX, &pem, &len, err) != 0)
		return -1;
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	*out = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	free(pem);
	if (*out == NULL)
		return ec_err_ssl(err, "%s holds no unencrypted PEM private key", path);
	return 0;
}

static int save_key(const char *path, EVP_PKEY *key, ec_err *err)
{
	int rc = -1;
	char *data = NULL; /* owned by bio */
	BIO *bio = BIO_new(BIO_s_mem());
	if (bio == NULL || !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)) {
		ec_err_ssl(err, "encoding the key");
		goto out;
	}
	long n = BIO_get_mem_data(bio, &data);
	rc = ec_write_atomic(path, data, (size_t)n, 0600, err);
out:
	BIO_free(bio);
	return rc;
}

static int save_der(const char *path, const uint8_t *der, size_t len, ec_err *err)
{
	return ec_write_atomic(path, der, len, 0644, err);
}

/* ---- keygen, selfsign ---- */

static int cmd_keygen(int argc, char **argv)
{
	tool_args a;
	ec_err err;
	EVP_PKEY *key = NULL;
	if (parse_args(argc, argv, "--out --bits", &a) != 0 || a.out == NULL)
		return usage("keygen needs --out");
	char *end = NULL;
	long bits = a.bits != NULL ? strtol(a.bits, &end, 10) : 2048;
	if (a.bits != NULL && (*end != '\0' || bits < 512 || bits > 16384))
		return usage("--bits must be a number of bits between 512 and 16384");
	if (pki_key_generate((int)bits, &key, &err) != 0 || save_key(a.out, key, &err) != 0) {
		EVP_PKEY_free(key);
		return fail("keygen", &err);
	}
	EVP_PKEY_free(key);
	return 0;
}

static X509_NAME *name_cn(const char *cn)
{
	X509_NAME *n = X509_NAME_new();
	if (n != NULL &&
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0)) {
		X509_NAME_free(n);
		return NULL;
	}
	return n;
}

static int add_ext(X509 *cert, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	int ok = ext != NULL && X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* A self-signed certificate as clients make for their first request: v3 with basicConstraints
 * and keyUsage, or (v1) a version-1 certificate without extensions, as old clients make. */
static int make_self_signed(EVP_PKEY *key, const char *cn, int v1, X509 **out, ec_err *err)
{
	int rc = -1;
	X509 *c = X509_new();
	X509_NAME *n = name_cn(cn);
	if (c == NULL || n == NULL || !X509_set_version(c, v1 ? X509_VERSION_1 : X509_VERSION_3) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(c), 0x4242) || !X509_set_subject_name(c, n) ||
	    !X509_set_issuer_name(c, n) || !X509_set_pubkey(c, key) ||
	    X509_gmtime_adj(X509_getm_notBefore(c), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(c), CERT_VALIDITY_SECONDS) == NULL) {
		ec_err_ssl(err, "building the certificate (is the CN at most 64 characters?)");
		goto out;
	}
	if (!v1 && (add_ext(c, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
	            add_ext(c, NID_key_usage, "critical,digitalSignature,keyEncipherment") != 0)) {
		ec_err_ssl(err, "adding extensions");
		goto out;
	}
	if (X509_sign(c, key, EVP_sha256()) <= 0) {
		ec_err_ssl(err, "signing the certificate");
		goto out;
	}
	*out = c;
	c = NULL;
	rc = 0;
out:
	X509_NAME_free(n);
	X509_free(c);
	return rc;
}

static int cmd_selfsign(int argc, char **argv)
{
	tool_args a;
	ec_err err;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	int rc = 1;
	if (parse_args(argc, argv, "--key --cn --out --v1", &a) != 0 || a.key == NULL || a.cn == NULL ||
	    a.out == NULL)
		return usage("selfsign needs --key, --cn and --out");
	if (load_key(a.key, &key, &err) != 0 || make_self_signed(key, a.cn, a.v1, &cert, &err) != 0 ||
	    pki_cert_save_pem(a.out, cert, 0644, &err) != 0)
		rc = fail("selfsign", &err);
	else
		rc = 0;
	X509_free(cert);
	EVP_PKEY_free(key);
	return rc;
}

/* ---- request ---- */

static int type_by_name(const char *name)
{
	static const struct {
		const char *name;
		int type;
	} types[] = {
		{"pkcsreq", SCEP_MSG_PKCSREQ}, {"renewalreq", SCEP_MSG_RENEWALREQ},
		{"certpoll", SCEP_MSG_CERTPOLL}, {"getcertinitial", SCEP_MSG_CERTPOLL},
		{"getcert", SCEP_MSG_GETCERT}, {"getcrl", SCEP_MSG_GETCRL},
	};
	for (size_t i = 0; name != NULL && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(name, types[i].name) == 0)
			return types[i].type;
	return -1;
}

/* The requested subject: CN=cn, or a copy of the signer's subject. */
static X509_NAME *subject_of(const tool_args *a, X509 *signer)
{
	return a->cn != NULL ? name_cn(a->cn) : X509_NAME_dup(X509_get_subject_name(signer));
}

/* --ext NAME=VALUE: one extension request in OpenSSL's configuration syntax, e.g.
 * basicConstraints=critical,CA:TRUE or subjectAltName=DNS:a.example,dirName:sect. */
static int add_requested_ext(X509_REQ *req, const char *spec, ec_err *err)
{
	char name[64];
	const char *eq = strchr(spec, '=');
	if (eq == NULL || (size_t)(eq - spec) >= sizeof(name))
		return ec_err_set(err, "--ext takes NAME=VALUE");
	memcpy(name, spec, (size_t)(eq - spec));
	name[eq - spec] = '\0';
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, NULL, NULL, req, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_nconf(NULL, &ctx, name, eq + 1);
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	int ok = ext != NULL && exts != NULL && sk_X509_EXTENSION_push(exts, ext) && X509_REQ_add_extensions(req, exts);
	if (!ok && ext != NULL && sk_X509_EXTENSION_num(exts) == 0)
		X509_EXTENSION_free(ext);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return ok ? 0 : ec_err_ssl(err, "cannot make the extension request %s", spec);
}

/* --pad N: an attribute of N bytes under a private OID, to make a request as large as wanted. */
static int add_padding(X509_REQ *req, const char *bytes, ec_err *err)
{
	long n = strtol(bytes, NULL, 10);
	if (n <= 0 || n > 1024 * 1024)
		return ec_err_set(err, "--pad takes a number of bytes up to 1 MiB");
	unsigned char *fill = malloc((size_t)n);
	ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.4.1.55555.1", 1);
	int ok = fill != NULL && oid != NULL;
	if (ok) {
		memset(fill, 'p', (size_t)n);
		ok = X509_REQ_add1_attr_by_OBJ(req, oid, V_ASN1_OCTET_STRING, fill, (int)n);
	}
	free(fill);
	ASN1_OBJECT_free(oid);
	return ok ? 0 : ec_err_ssl(err, "adding %ld bytes of padding", n);
}

static int make_csr(const tool_args *a, X509 *signer, EVP_PKEY *key, const EVP_MD *md, uint8_t **der,
                    size_t *len, ec_err *err)
{
	int rc = -1;
	X509_REQ *req = X509_REQ_new();
	X509_NAME *n = subject_of(a, signer);
	if (req == NULL || n == NULL || !X509_REQ_set_version(req, X509_REQ_VERSION_1) ||
	    !X509_REQ_set_subject_name(req, n) || !X509_REQ_set_pubkey(req, key)) {
		ec_err_ssl(err, "building the PKCS#10 request (is the CN at most 64 characters?)");
		goto out;
	}
	if (a->challenge != NULL &&
	    !X509_REQ_add1_attr_by_NID(req, NID_pkcs9_challengePassword, MBSTRING_UTF8,
	                               (const unsigned char *)a->challenge, -1)) {
		ec_err_ssl(err, "adding the challenge password");
		goto out;
	}
	if (a->ext != NULL && add_requested_ext(req, a->ext, err) != 0)
		goto out;
	if (a->pad != NULL && add_padding(req, a->pad, err) != 0)
		goto out;
	if (X509_REQ_sign(req, key, md) <= 0) {
		ec_err_ssl(err, "signing the PKCS#10 request");
		goto out;
	}
	rc = pki_csr_to_der(req, der, len, err);
out:
	X509_NAME_free(n);
	X509_REQ_free(req);
	return rc;
}

/* IssuerAndSerialNumber for GetCert (--serial) and GetCRL (--serial or the signer's). */
static int make_ias(const tool_args *a, int type, X509 *ca, X509 *signer, uint8_t **der, size_t *len,
                    ec_err *err)
{
	if (a->serial == NULL && type == SCEP_MSG_GETCERT)
		return ec_err_set(err, "getcert needs --serial");
	if (a->serial == NULL)
		return scep_issuer_and_serial_build(X509_get_issuer_name(signer), X509_get0_serialNumber(signer),
		                                    der, len, err);
	ASN1_INTEGER *serial = NULL;
	if (pki_serial_from_hex(a->serial, &serial, err) != 0)
		return -1;
	int rc = scep_issuer_and_serial_build(X509_get_subject_name(ca), serial, der, len, err);
	ASN1_INTEGER_free(serial);
	return rc;
}

static int make_payload(const tool_args *a, int type, X509 *ca, X509 *signer, EVP_PKEY *key,
                        const EVP_MD *md, uint8_t **der, size_t *len, ec_err *err)
{
	if (type == SCEP_MSG_PKCSREQ || type == SCEP_MSG_RENEWALREQ)
		return make_csr(a, signer, key, md, der, len, err);
	if (type == SCEP_MSG_CERTPOLL) {
		X509_NAME *subject = subject_of(a, signer);
		int rc = subject == NULL ? ec_err_ssl(err, "building the subject name")
		                         : scep_issuer_and_subject_build(X509_get_subject_name(ca), subject,
		                                                         der, len, err);
		X509_NAME_free(subject);
		return rc;
	}
	return make_ias(a, type, ca, signer, der, len, err);
}

static int read_nonce(const char *hex, uint8_t nonce[SCEP_NONCE_LEN], ec_err *err)
{
	size_t n = 0;
	if (ec_hex_decode(hex, nonce, SCEP_NONCE_LEN, &n) != 0 || n != SCEP_NONCE_LEN)
		return ec_err_set(err, "--nonce must be %d bytes of hex", SCEP_NONCE_LEN);
	return 0;
}

typedef struct request_inputs {
	X509 *ca, *signer;
	EVP_PKEY *key;
	EVP_PKEY *csr_key;              /* --csr-key, or NULL: the request's key is --key */
} request_inputs;

static int load_inputs(const tool_args *a, request_inputs *in, ec_err *err)
{
	if (pki_cert_load(a->ca, &in->ca, err) != 0)
		return ec_err_wrap(err, "--ca");
	if (pki_cert_load(a->signer, &in->signer, err) != 0)
		return ec_err_wrap(err, "--signer");
	if (load_key(a->key, &in->key, err) != 0)
		return ec_err_wrap(err, "--key");
	if (X509_check_private_key(in->signer, in->key) != 1)
		return ec_err_ssl(err, "--signer does not hold the public key of --key");
	if (a->csr_key != NULL && load_key(a->csr_key, &in->csr_key, err) != 0)
		return ec_err_wrap(err, "--csr-key");
	return 0;
}

static void free_inputs(request_inputs *in)
{
	X509_free(in->ca);
	X509_free(in->signer);
	EVP_PKEY_free(in->key);
	EVP_PKEY_free(in->csr_key);
}

/* By SCEP capability name, else by any name OpenSSL knows: a test client sends what it is told. */
static const EVP_CIPHER *cipher_named(const char *name)
{
	const EVP_CIPHER *c = scep_cipher_by_name(name);
	return c != NULL ? c : EVP_get_cipherbyname(name);
}

static const EVP_MD *digest_named(const char *name)
{
	const EVP_MD *md = scep_digest_by_name(name);
	return md != NULL ? md : EVP_get_digestbyname(name);
}

static int cmd_request(int argc, char **argv)
{
	tool_args a;
	ec_err err;
	request_inputs in = {NULL, NULL, NULL, NULL};
	scep_request_params p;
	uint8_t nonce[SCEP_NONCE_LEN];
	uint8_t *payload = NULL, *msg = NULL;
	size_t payload_len = 0, msg_len = 0;
	int rc = 1;
	if (parse_args(argc, argv, "--type --ca --key --signer --txid --cn --challenge --cipher "
	               "--digest --serial --nonce --out --ext --csr-key --pad --pss --oaep", &a) != 0 ||
	    a.ca == NULL || a.key == NULL || a.signer == NULL || a.txid == NULL || a.out == NULL)
		return usage("request needs --type, --ca, --key, --signer, --txid and --out");
	int type = type_by_name(a.type);
	const EVP_CIPHER *cipher = cipher_named(a.cipher != NULL ? a.cipher : "AES");
	const EVP_MD *md = digest_named(a.digest != NULL ? a.digest : "SHA-256");
	if (type < 0 || cipher == NULL || md == NULL)
		return usage("unknown --type, --cipher or --digest");
	if ((a.nonce != NULL ? read_nonce(a.nonce, nonce, &err) : scep_random(nonce, sizeof(nonce))) != 0) {
		rc = fail("senderNonce", a.nonce != NULL ? &err : NULL);
		goto out;
	}
	if (load_inputs(&a, &in, &err) != 0 ||
	    make_payload(&a, type, in.ca, in.signer, in.csr_key != NULL ? in.csr_key : in.key,
	                 scep_digest_allowed(md) ? md : EVP_sha256(), &payload, &payload_len, &err) != 0) {
		rc = fail("request", &err);
		goto out;
	}
	if (a.pss || a.oaep || (EVP_CIPHER_get_flags(cipher) & EVP_CIPH_FLAG_AEAD_CIPHER) != 0 ||
	    EVP_PKEY_get_base_id(X509_get0_pubkey(in.ca)) != EVP_PKEY_RSA) {
		cms_request r = {type, a.txid, nonce, in.signer, in.key, in.ca, cipher, md, a.pss != 0, NULL,
		                 a.oaep != 0, NULL, payload, payload_len};
		if (cms_request_build(&r, &msg, &msg_len) != 0) {
			rc = fail("pkiMessage (CMS)", NULL);
			goto out;
		}
	} else {
		p = (scep_request_params){type, a.txid, nonce, in.signer, in.key, in.ca, cipher, md, payload, payload_len};
		if (scep_build_request(&p, &msg, &msg_len, &err) != 0) {
			rc = fail("pkiMessage", &err);
			goto out;
		}
	}
	if (save_der(a.out, msg, msg_len, &err) != 0) {
		rc = fail("pkiMessage", &err);
		goto out;
	}
	rc = 0;
out:
	free(payload);
	free(msg);
	free_inputs(&in);
	return rc;
}

/* ---- reply ---- */

/* The reply must be a CertRep signed by the CA certificate, answering our senderNonce. */
static int check_reply(const tool_args *a, const scep_msg *m, X509 *ca, ec_err *err)
{
	uint8_t nonce[SCEP_NONCE_LEN];
	if (m->type != SCEP_MSG_CERTREP)
		return ec_err_set(err, "messageType %d is not CertRep", m->type);
	if (m->bad_alg[0] != '\0')
		return ec_err_set(err, "the reply uses an algorithm off the allow-list: %s", m->bad_alg);
	if (!m->signature_ok)
		return ec_err_set(err, "the signature does not verify with the certificate in the reply");
	if (X509_cmp(m->signer, ca) != 0)
		return ec_err_set(err, "the reply is signed by another certificate than --ca");
	if (m->status != SCEP_STATUS_SUCCESS && m->status != SCEP_STATUS_PENDING &&
	    m->status != SCEP_STATUS_FAILURE)
		return ec_err_set(err, "unknown pkiStatus %d", m->status);
	if (a->nonce == NULL)
		return 0;
	if (read_nonce(a->nonce, nonce, err) != 0)
		return -1;
	if (m->recipient_nonce_len != SCEP_NONCE_LEN || memcmp(m->recipient_nonce, nonce, SCEP_NONCE_LEN) != 0)
		return ec_err_set(err, "recipientNonce is not our senderNonce");
	return 0;
}

/* A digest by its SCEP capability name ("SHA-256"), as the options spell it. */
static const char *digest_name(const EVP_MD *md)
{
	static const char *const names[] = {"SHA-1", "SHA-256", "SHA-384", "SHA-512"};
	for (size_t i = 0; md != NULL && i < sizeof(names) / sizeof(names[0]); i++)
		if (EVP_MD_get_type(scep_digest_by_name(names[i])) == EVP_MD_get_type(md))
			return names[i];
	return md != NULL ? EVP_MD_get0_name(md) : "?";
}

/* Opens a SUCCESS reply and writes what was asked for. */
static int save_contents(const tool_args *a, const scep_msg *m, request_inputs *in,
                         const EVP_CIPHER **cipher, ec_err *err)
{
	int rc = -1;
	uint8_t *p7 = NULL, *crl_der = NULL;
	size_t p7_len = 0, crl_len = 0;
	STACK_OF(X509) *certs = NULL;
	STACK_OF(X509_CRL) *crls = NULL;
	if (scep_msg_decrypt(m, in->signer, in->key, &p7, &p7_len, cipher, err) != 0 ||
	    scep_degenerate_parse(p7, p7_len, &certs, &crls, err) != 0)
		goto out;
	if (a->out != NULL && sk_X509_num(certs) < 1) {
		ec_err_set(err, "the reply holds no certificate");
		goto out;
	}
	if (a->out != NULL && pki_cert_save_pem(a->out, sk_X509_value(certs, 0), 0644, err) != 0)
		goto out;
	if (a->crl_out != NULL && sk_X509_CRL_num(crls) < 1) {
		ec_err_set(err, "the reply holds no CRL");
		goto out;
	}
	if (a->crl_out != NULL && (pki_crl_to_der(sk_X509_CRL_value(crls, 0), &crl_der, &crl_len, err) != 0 ||
	                           save_der(a->crl_out, crl_der, crl_len, err) != 0))
		goto out;
	rc = 0;
out:
	sk_X509_pop_free(certs, X509_free);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	free(p7);
	free(crl_der);
	return rc;
}

static int cmd_reply(int argc, char **argv)
{
	tool_args a;
	ec_err err;
	request_inputs in = {NULL, NULL, NULL, NULL};
	uint8_t *der = NULL;
	size_t len = 0;
	scep_msg *m = NULL;
	const EVP_CIPHER *cipher = NULL;
	int rc = 1;
	if (parse_args(argc, argv, "--in --key --signer --ca --out --crl-out --nonce", &a) != 0 ||
	    a.in == NULL || a.key == NULL || a.signer == NULL || a.ca == NULL)
		return usage("reply needs --in, --key, --signer and --ca");
	if (load_inputs(&a, &in, &err) != 0) {
		rc = fail("reply", &err);
		goto out;
	}
	if (ec_read_file(a.in, SCEP_MESSAGE_MAX, &der, &len, &err) != 0 ||
	    scep_msg_parse(der, len, &m, &err) != 0 || check_reply(&a, m, in.ca, &err) != 0) {
		rc = fail("not a CertRep from this CA", &err);
		goto out;
	}
	if (m->status == SCEP_STATUS_SUCCESS && save_contents(&a, m, &in, &cipher, &err) != 0) {
		rc = fail("SUCCESS reply", &err);
		goto out;
	}
	printf("status=%s failinfo=%s txid=%s", scep_status_name(m->status), scep_fail_name(m->fail_info), m->txid);
	if (cipher != NULL)
		printf(" cipher=%s", EVP_CIPHER_get0_name(cipher));
	printf(" digest=%s\n", digest_name(m->digest));
	rc = 0;
out:
	scep_msg_free(m);
	free(der);
	free_inputs(&in);
	return rc;
}

int main(int argc, char **argv)
{
	ec_err err;
	if (argc < 2)
		return usage(NULL);
	if (scep_init(&err) != 0)
		return fail("initialising OpenSSL", &err);
	const char *cmd = argv[1];
	if (strcmp(cmd, "keygen") == 0)
		return cmd_keygen(argc - 2, argv + 2);
	if (strcmp(cmd, "selfsign") == 0)
		return cmd_selfsign(argc - 2, argv + 2);
	if (strcmp(cmd, "request") == 0)
		return cmd_request(argc - 2, argv + 2);
	if (strcmp(cmd, "reply") == 0)
		return cmd_reply(argc - 2, argv + 2);
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
		fputs(USAGE, stdout);
		return 0;
	}
	return usage("unknown command");
}
