/* GetCACaps: the capability list, and the digest and cipher a trustpoint chooses from it. */
#include "scep/scep_caps.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Each capability: its name in a GetCACaps answer, its field, its stored bit. */
static const struct {
	const char *name;
	size_t offset;
	unsigned bit;
} cap_names[] = {
	{"GetNextCACert", offsetof(scep_caps, get_next_ca_cert), SCEP_CAP_GET_NEXT_CA_CERT},
	{"Renewal", offsetof(scep_caps, renewal), SCEP_CAP_RENEWAL},
	{"POSTPKIOperation", offsetof(scep_caps, post_pkioperation), SCEP_CAP_POST_PKIOPERATION},
	{"SCEPStandard", offsetof(scep_caps, scep_standard), SCEP_CAP_SCEP_STANDARD},
	{"SHA-1", offsetof(scep_caps, sha1), SCEP_CAP_SHA1},
	{"SHA-256", offsetof(scep_caps, sha256), SCEP_CAP_SHA256},
	{"SHA-384", offsetof(scep_caps, sha384), SCEP_CAP_SHA384},
	{"SHA-512", offsetof(scep_caps, sha512), SCEP_CAP_SHA512},
	{"AES", offsetof(scep_caps, aes), SCEP_CAP_AES},
	{"DES3", offsetof(scep_caps, des3), SCEP_CAP_DES3},
};
#define CAP_COUNT (sizeof(cap_names) / sizeof(cap_names[0]))

static bool *cap_field(scep_caps *c, size_t i)
{
	return (bool *)((char *)c + cap_names[i].offset);
}

static void set_cap(scep_caps *c, const char *name, size_t n)
{
	for (size_t i = 0; i < CAP_COUNT; i++)
		if (strlen(cap_names[i].name) == n && strncasecmp(name, cap_names[i].name, n) == 0)
			*cap_field(c, i) = true;
}

unsigned scep_caps_to_bits(const scep_caps *caps)
{
	unsigned bits = SCEP_CAPS_FETCHED;
	scep_caps copy = *caps;
	for (size_t i = 0; i < CAP_COUNT; i++)
		if (*cap_field(&copy, i))
			bits |= cap_names[i].bit;
	return bits;
}

scep_caps scep_caps_from_bits(unsigned bits)
{
	scep_caps caps;
	memset(&caps, 0, sizeof(caps));
	for (size_t i = 0; i < CAP_COUNT; i++)
		*cap_field(&caps, i) = (bits & cap_names[i].bit) != 0;
	return caps;
}

void scep_caps_parse(const uint8_t *text, size_t len, scep_caps *out)
{
	memset(out, 0, sizeof(*out));
	size_t i = 0;
	while (i < len) {
		while (i < len && (text[i] == '\r' || text[i] == '\n' || text[i] == ' ' || text[i] == '\t'))
			i++;
		size_t start = i;
		while (i < len && text[i] != '\r' && text[i] != '\n')
			i++;
		size_t end = i;
		while (end > start && (text[end - 1] == ' ' || text[end - 1] == '\t'))
			end--;
		if (end > start)
			set_cap(out, (const char *)text + start, end - start);
	}
	/* RFC 8894: SCEPStandard means AES, SHA-256 and POST are supported. */
	if (out->scep_standard)
		out->aes = out->sha256 = out->post_pkioperation = true;
}

/* One kind of algorithm (digests or ciphers), strongest first. */
struct alg_kind {
	const char *what;               /* "digest", "cipher" */
	const char *line;               /* the trustpoint line that allows them */
	size_t n;
	struct {
		const char *name;       /* as scep_digest_by_name / scep_cipher_by_name take it */
		const char *word;       /* in the trustpoint line */
		bool advertised, allowed;
	} alg[5];
	size_t mandatory;               /* RFC 8894's mandatory-to-implement one */
	size_t legacy;                  /* what CAs older than RFC 8894 default to */
};

/* The trustpoint's list, as the line would read ("sha256 sha1"). */
static void allowed_words(const struct alg_kind *k, char *out, size_t outsz)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < k->n && used < outsz; i++)
		if (k->alg[i].allowed)
			used += (size_t)snprintf(out + used, outsz - used, "%s%s", used ? " " : "", k->alg[i].word);
	if (out[0] == '\0')
		snprintf(out, outsz, "nothing");
}

static int choose(const struct alg_kind *k, const char **out, ec_err *err)
{
	bool any_advertised = false;
	for (size_t i = 0; i < k->n; i++) {
		any_advertised = any_advertised || k->alg[i].advertised;
		if (k->alg[i].advertised && k->alg[i].allowed) {
			*out = k->alg[i].name;
			return 0;
		}
	}
	if (k->alg[k->mandatory].allowed) {
		*out = k->alg[k->mandatory].name;
		return 0;
	}
	if (!any_advertised && k->alg[k->legacy].allowed) {
		*out = k->alg[k->legacy].name;
		return 0;
	}
	char words[64];
	allowed_words(k, words, sizeof(words));
	return ec_err_set(err, "the CA advertises no %s this trustpoint may use (%s %s), and %s, the one RFC 8894 "
	                  "makes mandatory, is not on that list", k->what, k->line, words, k->alg[k->mandatory].name);
}

int scep_caps_choose(const scep_caps *caps, const scep_allowed *allowed, const char **digest,
                     const char **cipher, ec_err *err)
{
	const struct alg_kind digests = {"digest", "hash", 5, {
		{"SHA-512", "sha512", caps->sha512, allowed->sha512},
		{"SHA-384", "sha384", caps->sha384, allowed->sha384},
		{"SHA-256", "sha256", caps->sha256, allowed->sha256},
		{"SHA-1", "sha1", caps->sha1, allowed->sha1},
		{"MD5", "md5", false, allowed->md5},
	}, 2, 4};
	const struct alg_kind ciphers = {"cipher", "encryption", 3, {
		{"AES", "aes", caps->aes, allowed->aes},
		{"DES3", "3des", caps->des3, allowed->des3},
		{"DES", "des", false, allowed->des},
	}, 0, 2};
	return choose(&digests, digest, err) == 0 && choose(&ciphers, cipher, err) == 0 ? 0 : -1;
}

static const scep_allowed DEFAULT_ALLOWED = {.sha1 = true, .sha256 = true, .sha384 = true, .sha512 = true,
                                             .des3 = true, .aes = true};

/* The digest and cipher chosen from caps under the default lists. The mandatory ones are on
 * those lists, so the choice never fails; SHA-256 and AES would stand if it did. */
static void best_defaults(const scep_caps *caps, const char **digest, const char **cipher)
{
	ec_err err;
	*digest = "SHA-256";
	*cipher = "AES";
	if (scep_caps_choose(caps, &DEFAULT_ALLOWED, digest, cipher, &err) != 0) {
		*digest = "SHA-256";
		*cipher = "AES";
	}
}

const char *scep_caps_best_digest(const scep_caps *caps)
{
	const char *digest, *cipher;
	best_defaults(caps, &digest, &cipher);
	return digest;
}

const char *scep_caps_best_cipher(const scep_caps *caps)
{
	const char *digest, *cipher;
	best_defaults(caps, &digest, &cipher);
	return cipher;
}

void scep_caps_format(const scep_caps *c, char *out, size_t sz)
{
	snprintf(out, sz, "%s%s%s%s%s%s%s%s%s%s", c->get_next_ca_cert ? "CA_CAP_GET_NEXT_CA_CERT " : "",
	         c->renewal ? "CA_CAP_RENEWAL " : "", c->sha1 ? "CA_CAP_SHA_1 " : "", c->sha256 ? "CA_CAP_SHA_256 " : "",
	         c->sha384 ? "CA_CAP_SHA_384 " : "", c->sha512 ? "CA_CAP_SHA_512 " : "", c->aes ? "CA_CAP_AES " : "",
	         c->des3 ? "CA_CAP_DES3 " : "", c->post_pkioperation ? "CA_CAP_POST_PKIOPERATION " : "",
	         c->scep_standard ? "CA_CAP_SCEP_STANDARD " : "");
	size_t n = strlen(out);
	if (n > 0 && out[n - 1] == ' ')
		out[n - 1] = '\0';
}
