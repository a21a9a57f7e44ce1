/* GetCACaps: the capability list, and the strongest digest and cipher it allows. */
#include "net/scep_client.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static void set_cap(scep_caps *c, const char *name, size_t n)
{
	static const struct { const char *name; size_t offset; } names[] = {
		{"GetNextCACert", offsetof(scep_caps, get_next_ca_cert)},
		{"Renewal", offsetof(scep_caps, renewal)},
		{"POSTPKIOperation", offsetof(scep_caps, post_pkioperation)},
		{"SCEPStandard", offsetof(scep_caps, scep_standard)},
		{"SHA-1", offsetof(scep_caps, sha1)},
		{"SHA-256", offsetof(scep_caps, sha256)},
		{"SHA-384", offsetof(scep_caps, sha384)},
		{"SHA-512", offsetof(scep_caps, sha512)},
		{"AES", offsetof(scep_caps, aes)},
		{"DES3", offsetof(scep_caps, des3)},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i].name) == n && strncasecmp(name, names[i].name, n) == 0)
			*(bool *)((char *)c + names[i].offset) = true;
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

const char *scep_caps_best_digest(const scep_caps *c)
{
	if (c->sha512)
		return "SHA-512";
	if (c->sha384)
		return "SHA-384";
	if (c->sha256)
		return "SHA-256";
	return "SHA-1";
}

const char *scep_caps_best_cipher(const scep_caps *c)
{
	if (c->aes)
		return "AES";
	if (c->des3)
		return "DES3";
	return "DES";
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
