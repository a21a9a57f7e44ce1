/* The lines of a `crypto pki trustpoint NAME` block (SPEC §5). A later line of the same kind
 * replaces an earlier one, as on the router. */
#include "config/config_internal.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#define ENROLLMENT_SYNTAX "enrollment url URL | enrollment retry count N | enrollment retry period MINUTES"
#define AUTO_ENROLL_SYNTAX "auto-enroll [PERCENT] [regenerate]"

void cfg_trustpoint_defaults(cfg_trustpoint *tp)
{
	memset(tp, 0, sizeof(*tp));
	tp->rsakeypair_bits = 2048;
	tp->auto_enroll_percent = 100;
	tp->retry_count = 999;
	tp->retry_period_minutes = 1;
	tp->revocation_check = CFG_REVOCATION_NONE;
	tp->algorithms = CFG_ALG_TRUSTPOINT_DEFAULT;
}

static int enrollment_url(cfg_parser *p, const cfg_line *ln, cfg_trustpoint *tp)
{
	const char *url = ln->w[2];
	if (strncasecmp(url, "http://", 7) != 0 || url[7] == '\0' || url[7] == '/')
		return cfg_fail(p, ln, "enrollment url '%.60s' is not an http:// URL with a host "
		                "(e.g. http://172.16.1.1:80)", url);
	return cfg_text(p, ln, url, tp->enrollment_url, sizeof(tp->enrollment_url), "enrollment url");
}

static int cmd_enrollment(cfg_parser *p, const cfg_line *ln, cfg_trustpoint *tp)
{
	long v = 0;
	if (cfg_is(ln, 1, "url"))
		return cfg_want(p, ln, 3, 3, "enrollment url URL") != 0 ? -1 : enrollment_url(p, ln, tp);
	if (cfg_is(ln, 1, "retry") && cfg_is(ln, 2, "count")) {
		if (cfg_want(p, ln, 4, 4, "enrollment retry count N") != 0 ||
		    cfg_int(p, ln, 3, 0, 100000, "retry count", &v) != 0)
			return -1;
		tp->retry_count = (int)v;
		return 0;
	}
	if (cfg_is(ln, 1, "retry") && cfg_is(ln, 2, "period")) {
		if (cfg_want(p, ln, 4, 4, "enrollment retry period MINUTES") != 0 ||
		    cfg_int(p, ln, 3, 1, 60, "retry period", &v) != 0)
			return -1;
		tp->retry_period_minutes = (int)v;
		return 0;
	}
	if (ln->n < 2 || (cfg_is(ln, 1, "retry") && ln->n < 3))
		return cfg_fail(p, ln, "incomplete command (syntax: %s)", ENROLLMENT_SYNTAX);
	return cfg_fail(p, ln, "unknown enrollment option '%.60s' (syntax: %s)", cfg_rest(ln, 1), ENROLLMENT_SYNTAX);
}

static int cmd_subject_name(cfg_parser *p, const cfg_line *ln, cfg_trustpoint *tp)
{
	if (cfg_want(p, ln, 2, CFG_WORDS_MAX, "subject-name DN") != 0)
		return -1;
	const char *dn = cfg_rest(ln, 1);
	if (strchr(dn, '=') == NULL)
		return cfg_fail(p, ln, "subject-name '%.60s' is not a distinguished name (e.g. CN=host.example.com)", dn);
	return cfg_text(p, ln, dn, tp->subject_name, sizeof(tp->subject_name), "subject-name");
}

static int cmd_serial_number(cfg_parser *p, const cfg_line *ln, cfg_trustpoint *tp)
{
	if (cfg_want(p, ln, 1, 2, "serial-number [none]") != 0)
		return -1;
	if (ln->n == 2 && !cfg_is(ln, 1, "none"))
		return cfg_fail(p, ln, "unexpected argument '%.60s' (syntax: serial-number [none])", ln->w[1]);
	tp->serial_number = ln->n == 1;
	return 0;
}

static int cmd_ip_address(cfg_parser *p, const cfg_line *ln, cfg_trustpoint *tp)
{
	if (cfg_want(p, ln, 2, 2, "ip-address ADDRESS|none") != 0)
		return -1;
	if (cfg_is(ln, 1, "none")) {
		tp->ip_address[0] = '\0';
		return 0;
	}
	return cfg_address(p, ln, 1, tp->ip_address, sizeof(tp->ip_address), "ip-address");
}

static int cmd_password(cfg_parser *p, const cfg_line *ln, cfg_trustpoint *tp)
{
	return cfg_secret(p, ln, 1, tp->password, sizeof(tp->password), "password [0|7] SECRET");
}

static int cmd_rsakeypair(cfg_parser *p, const cfg_line *ln, cfg_trustpoint *tp)
{
	long bits = 2048;
	if (cfg_want(p, ln, 2, 3, "rsakeypair NAME [BITS]") != 0 ||
	    cfg_name(p, ln, 1, false, tp->rsakeypair, "key pair name") != 0 ||
	    (ln->n == 3 && cfg_int(p, ln, 2, 1024, 8192, "key size", &bits) != 0))
		return -1;
	tp->rsakeypair_bits = (int)bits;
	return 0;
}

static int cmd_auto_enroll(cfg_parser *p, const cfg_line *ln, cfg_trustpoint *tp)
{
	long percent = 100;
	size_t i = 1;
	if (cfg_want(p, ln, 1, 3, AUTO_ENROLL_SYNTAX) != 0)
		return -1;
	if (i < ln->n && isdigit((unsigned char)ln->w[i][0])) {
		if (cfg_int(p, ln, i, 1, 100, "percentage", &percent) != 0)
			return -1;
		i++;
	}
	bool regenerate = false;
	if (i < ln->n) {
		if (!cfg_is(ln, i, "regenerate"))
			return cfg_fail(p, ln, "unexpected argument '%.60s' (syntax: %s)", ln->w[i], AUTO_ENROLL_SYNTAX);
		regenerate = true;
		i++;
	}
	if (i < ln->n)
		return cfg_fail(p, ln, "unexpected argument '%.60s' (syntax: %s)", ln->w[i], AUTO_ENROLL_SYNTAX);
	tp->auto_enroll = true;
	tp->auto_enroll_percent = (int)percent;
	tp->auto_enroll_regenerate = regenerate;
	return 0;
}

static int cmd_revocation_check(cfg_parser *p, const cfg_line *ln, cfg_trustpoint *tp)
{
	if (cfg_want(p, ln, 2, 2, "revocation-check crl|none") != 0)
		return -1;
	if (cfg_is(ln, 1, "crl"))
		tp->revocation_check = CFG_REVOCATION_CRL;
	else if (cfg_is(ln, 1, "none"))
		tp->revocation_check = CFG_REVOCATION_NONE;
	else
		return cfg_fail(p, ln, "unknown revocation check '%.60s' (expected crl or none)", ln->w[1]);
	tp->revocation_check_set = true;
	return 0;
}

int cfg_trustpoint_revocation(const cfg_config *cfg, const cfg_trustpoint *tp)
{
	if (tp->revocation_check_set)
		return tp->revocation_check;
	for (size_t i = 0; i < cfg->n_servers; i++) {
		const cfg_server *s = &cfg->servers[i];
		if (s->grant != CFG_GRANT_AUTO_TRUSTPOINT)
			continue;
		for (size_t j = 0; j < s->n_grant_trustpoints; j++)
			if (strcmp(s->grant_trustpoints[j], tp->name) == 0)
				return CFG_REVOCATION_CRL;
	}
	return CFG_REVOCATION_NONE;
}

/* `fingerprint HEX`: hex digits, optionally grouped by spaces, tabs or colons, making 16, 20 or 32
 * bytes (MD5, SHA-1, SHA-256). */
static int cmd_fingerprint(cfg_parser *p, const cfg_line *ln, cfg_trustpoint *tp)
{
	if (cfg_want(p, ln, 2, CFG_WORDS_MAX, "fingerprint HEX") != 0)
		return -1;
	const char *hex = cfg_rest(ln, 1);
	size_t digits = 0;
	for (const char *c = hex; *c; c++) {
		if (*c == ' ' || *c == '\t' || *c == ':')
			continue;
		if (!isxdigit((unsigned char)*c) && isprint((unsigned char)*c))
			return cfg_fail(p, ln, "fingerprint: '%c' is not a hex digit", *c);
		if (!isxdigit((unsigned char)*c))
			return cfg_fail(p, ln, "fingerprint: byte 0x%02x is not a hex digit", (unsigned char)*c);
		digits++;
	}
	if (digits % 2 != 0)
		return cfg_fail(p, ln, "fingerprint has an odd number of hex digits (%zu)", digits);
	if (digits != 32 && digits != 40 && digits != 64)
		return cfg_fail(p, ln, "fingerprint has %zu bytes; expected 16 (MD5), 20 (SHA-1) or 32 (SHA-256)",
		                digits / 2);
	return cfg_text(p, ln, hex, tp->fingerprint, sizeof(tp->fingerprint), "fingerprint");
}

static int cmd_output(cfg_parser *p, const cfg_line *ln, cfg_trustpoint *tp)
{
	static const char syntax[] = "output certificate|key|chain PATH | output post-install COMMAND...";
	char *dst = NULL;
	if (cfg_is(ln, 1, "post-install")) {
		if (cfg_want(p, ln, 3, CFG_WORDS_MAX, "output post-install COMMAND...") != 0)
			return -1;
		return cfg_text(p, ln, cfg_rest(ln, 2), tp->post_install, sizeof(tp->post_install), "command");
	}
	if (cfg_is(ln, 1, "certificate"))
		dst = tp->certificate_file;
	else if (cfg_is(ln, 1, "key"))
		dst = tp->key_file;
	else if (cfg_is(ln, 1, "chain"))
		dst = tp->chain_file;
	else if (ln->n < 2)
		return cfg_fail(p, ln, "incomplete command (syntax: %s)", syntax);
	else
		return cfg_fail(p, ln, "unknown output '%.60s' (syntax: %s)", ln->w[1], syntax);
	if (cfg_want(p, ln, 3, 3, syntax) != 0)
		return -1;
	return cfg_text(p, ln, ln->w[2], dst, CFG_TEXT_MAX, "path");
}

#define HASH_SYNTAX "hash sha512|sha384|sha256|sha1|md5 ..."
#define ENCRYPTION_SYNTAX "encryption aes|3des|des ..."

struct alg_word {
	const char *word;
	unsigned bit;
};

static const struct alg_word HASH_WORDS[] = {{"sha512", CFG_ALG_SHA512}, {"sha384", CFG_ALG_SHA384},
                                             {"sha256", CFG_ALG_SHA256}, {"sha1", CFG_ALG_SHA1},
                                             {"md5", CFG_ALG_MD5}};
static const struct alg_word CIPHER_WORDS[] = {{"aes", CFG_ALG_AES}, {"3des", CFG_ALG_3DES}, {"des", CFG_ALG_DES}};

/* The algorithms named by words first.. of a `hash` or `encryption` line. */
static int alg_words(cfg_parser *p, const cfg_line *ln, size_t first, bool hash, unsigned *out)
{
	const struct alg_word *words = hash ? HASH_WORDS : CIPHER_WORDS;
	size_t n = hash ? sizeof(HASH_WORDS) / sizeof(HASH_WORDS[0]) : sizeof(CIPHER_WORDS) / sizeof(CIPHER_WORDS[0]);
	*out = 0;
	if (ln->n <= first || ln->n > first + n)
		return cfg_fail(p, ln, "expected 1 to %zu algorithms (syntax: %s)", n, hash ? HASH_SYNTAX : ENCRYPTION_SYNTAX);
	for (size_t i = first; i < ln->n; i++) {
		size_t j = 0;
		while (j < n && !cfg_is(ln, i, words[j].word))
			j++;
		if (j == n)
			return cfg_fail(p, ln, "unknown %s '%.60s' (syntax: %s)", hash ? "hash" : "encryption", ln->w[i],
			                hash ? HASH_SYNTAX : ENCRYPTION_SYNTAX);
		*out |= words[j].bit;
	}
	return 0;
}

/* `hash ...`, `encryption ...`: what this trustpoint's requests may use, replacing the default
 * list (sha512 sha384 sha256 sha1, aes 3des); the client picks from it what the CA advertises.
 * MD5 and single DES are only ever used when named here. */
static int cmd_algorithms(cfg_parser *p, const cfg_line *ln, cfg_trustpoint *tp)
{
	bool hash = cfg_is(ln, 0, "hash");
	unsigned bits = 0;
	if (alg_words(p, ln, 1, hash, &bits) != 0)
		return -1;
	tp->algorithms = (tp->algorithms & ~(hash ? CFG_ALG_DIGESTS : CFG_ALG_CIPHERS)) | bits;
	return 0;
}

/* `no hash ...`, `no encryption ...`: takes algorithms off the list, leaving at least one. */
static int no_algorithms(cfg_parser *p, const cfg_line *ln, cfg_trustpoint *tp)
{
	bool hash = cfg_is(ln, 1, "hash");
	unsigned bits = 0;
	if (alg_words(p, ln, 2, hash, &bits) != 0)
		return -1;
	unsigned left = tp->algorithms & ~bits;
	if ((left & (hash ? CFG_ALG_DIGESTS : CFG_ALG_CIPHERS)) == 0)
		return cfg_fail(p, ln, "this would leave the trustpoint no %s to use", hash ? "hash" : "encryption");
	tp->algorithms = left;
	return 0;
}

/* `no auto-enroll`, `no serial-number`, `no hash ...`, `no encryption ...`. */
static int cmd_no(cfg_parser *p, const cfg_line *ln, cfg_trustpoint *tp)
{
	if (cfg_is(ln, 1, "hash") || cfg_is(ln, 1, "encryption"))
		return no_algorithms(p, ln, tp);
	if (cfg_is(ln, 1, "auto-enroll") && ln->n == 2) {
		tp->auto_enroll = false;
		tp->auto_enroll_percent = 100;
		tp->auto_enroll_regenerate = false;
	} else if (cfg_is(ln, 1, "serial-number") && ln->n == 2) {
		tp->serial_number = false;
	} else {
		return cfg_fail(p, ln, "unknown command '%.60s' in crypto pki trustpoint block (the trustpoint "
		                "accepts no auto-enroll, no serial-number, no hash and no encryption)", ln->raw + ln->off[0]);
	}
	return 0;
}

typedef int (*trustpoint_fn)(cfg_parser *p, const cfg_line *ln, cfg_trustpoint *tp);

static const struct {
	const char *keyword;
	trustpoint_fn fn;
} trustpoint_cmds[] = {
	{"enrollment", cmd_enrollment},
	{"subject-name", cmd_subject_name},
	{"serial-number", cmd_serial_number},
	{"ip-address", cmd_ip_address},
	{"password", cmd_password},
	{"rsakeypair", cmd_rsakeypair},
	{"auto-enroll", cmd_auto_enroll},
	{"revocation-check", cmd_revocation_check},
	{"fingerprint", cmd_fingerprint},
	{"output", cmd_output},
	{"hash", cmd_algorithms},
	{"encryption", cmd_algorithms},
	{"no", cmd_no},
};

bool cfg_trustpoint_keyword(const char *word)
{
	for (size_t i = 0; i < sizeof(trustpoint_cmds) / sizeof(trustpoint_cmds[0]); i++) {
		if (strcasecmp(word, trustpoint_cmds[i].keyword) == 0)
			return true;
	}
	return false;
}

int cfg_trustpoint_line(cfg_parser *p, const cfg_line *ln, cfg_trustpoint *tp)
{
	for (size_t i = 0; i < sizeof(trustpoint_cmds) / sizeof(trustpoint_cmds[0]); i++) {
		if (cfg_is(ln, 0, trustpoint_cmds[i].keyword))
			return trustpoint_cmds[i].fn(p, ln, tp);
	}
	return cfg_fail(p, ln, "unknown command '%.60s' in crypto pki trustpoint block%s", ln->w[0],
	                cfg_global_keyword(ln->w[0]) ? " (global commands start at column 0)" : "");
}
