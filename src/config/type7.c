/* Router type 7 passwords: a reversible obfuscation, not encryption. The text is two decimal
 * digits (the salt, an index into a fixed 53-character key) followed by one pair of hex digits per
 * character: character i is XOR'ed with key[(salt + i) % 53]. */
#include "config/config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "util/encoding.h"

static const char type7_key[] = "dsfd;kfoA,.iyewrkldJKDHSUBsgvca69834ncxv9873254k;fg87";
#define TYPE7_KEY_LEN (sizeof(type7_key) - 1)

int cfg_type7_decode(const char *encoded, char *out, size_t outsz)
{
	size_t len = strlen(encoded);
	if (len < 2 || len % 2 != 0 || outsz == 0)
		return -1;
	if (!isdigit((unsigned char)encoded[0]) || !isdigit((unsigned char)encoded[1]))
		return -1;
	size_t salt = (size_t)(encoded[0] - '0') * 10 + (size_t)(encoded[1] - '0');
	if (salt >= TYPE7_KEY_LEN)
		return -1;
	size_t n = (len - 2) / 2;
	if (n >= outsz)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi = ec_hex_digit((unsigned char)encoded[2 + 2 * i]);
		int lo = ec_hex_digit((unsigned char)encoded[3 + 2 * i]);
		if (hi < 0 || lo < 0)
			return -1;
		int c = (hi << 4 | lo) ^ (unsigned char)type7_key[(salt + i) % TYPE7_KEY_LEN];
		if (c == 0)
			return -1;
		out[i] = (char)c;
	}
	out[n] = '\0';
	return 0;
}

int cfg_type7_encode(const char *clear, int salt, char *out, size_t outsz)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len = strlen(clear);
	if (salt < 0 || salt > 15 || outsz < 3 || len > (outsz - 3) / 2)
		return -1;
	snprintf(out, outsz, "%02d", salt);
	for (size_t i = 0; i < len; i++) {
		unsigned c = (unsigned char)clear[i] ^ (unsigned char)type7_key[((size_t)salt + i) % TYPE7_KEY_LEN];
		out[2 + 2 * i] = hex[c >> 4];
		out[3 + 2 * i] = hex[c & 0xf];
	}
	out[2 + 2 * len] = '\0';
	return 0;
}
