#include "util/encoding.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

char *ec_b64_encode(const uint8_t *data, size_t len)
{
	if (len > (SIZE_MAX / 4) * 3 - 3 || len > INT32_MAX / 2)
		return NULL;
	size_t outlen = 4 * ((len + 2) / 3) + 1;
	char *out = malloc(outlen);
	if (out == NULL)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

int ec_b64_decode(const char *text, size_t textlen, uint8_t **out, size_t *outlen, ec_err *err)
{
	if (textlen > INT32_MAX / 2)
		return ec_err_set(err, "base64 text too long");
	char *clean = malloc(textlen + 4);
	if (clean == NULL)
		return ec_err_set(err, "out of memory");
	size_t n = 0;
	for (size_t i = 0; i < textlen; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c == ' ')
			clean[n++] = '+';
		else if (c == '-') /* base64url, as some clients send */
			clean[n++] = '+';
		else if (c == '_')
			clean[n++] = '/';
		else if (isspace(c))
			continue;
		else
			clean[n++] = (char)c;
	}
	while (n % 4 != 0)
		clean[n++] = '=';
	if (n == 0) {
		free(clean);
		return ec_err_set(err, "empty base64 message");
	}
	uint8_t *dec = malloc(n / 4 * 3 + 1);
	if (dec == NULL) {
		free(clean);
		return ec_err_set(err, "out of memory");
	}
	int got = EVP_DecodeBlock(dec, (const unsigned char *)clean, (int)n);
	if (got < 0) {
		free(clean);
		free(dec);
		return ec_err_set(err, "message is not valid base64");
	}
	/* EVP_DecodeBlock counts padding as zero bytes: remove them. */
	size_t pad = 0;
	if (clean[n - 1] == '=')
		pad++;
	if (clean[n - 2] == '=')
		pad++;
	free(clean);
	*out = dec;
	*outlen = (size_t)got - pad;
	return 0;
}

void ec_hex_encode(const uint8_t *data, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[data[i] >> 4];
		out[2 * i + 1] = digits[data[i] & 15];
	}
	out[2 * len] = '\0';
}

int ec_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ec_hex_decode(const char *text, uint8_t *out, size_t outsz, size_t *outlen)
{
	size_t n = 0;
	int hi = -1;
	for (const char *p = text; *p; p++) {
		if (*p == ' ' || *p == ':')
			continue;
		int v = ec_hex_digit((unsigned char)*p);
		if (v < 0)
			return -1;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n >= outsz)
			return -1;
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	if (hi >= 0)
		return -1;
	*outlen = n;
	return 0;
}

int ec_cert_fingerprint(X509 *cert, const EVP_MD *md, char *out, size_t outsz)
{
	unsigned char dig[EVP_MAX_MD_SIZE];
	unsigned int diglen = 0;
	if (X509_digest(cert, md, dig, &diglen) != 1)
		return -1;
	size_t need = diglen * 2 + diglen / 4 + 1;
	if (outsz < need)
		return -1;
	static const char digits[] = "0123456789ABCDEF";
	size_t o = 0;
	for (unsigned int i = 0; i < diglen; i++) {
		if (i > 0 && i % 4 == 0)
			out[o++] = ' ';
		out[o++] = digits[dig[i] >> 4];
		out[o++] = digits[dig[i] & 15];
	}
	out[o] = '\0';
	return 0;
}
