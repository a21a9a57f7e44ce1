/* The lines of a `crypto pki trustpoint NAME` block (SPEC §5). A later line of the same kind
 * replaces an earlier one, as on the router, except `subject-alt-name`, whose names add up. */
#include "config/config_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#define ENROLLMENT_SYNTAX "enrollment url URL | enrollment retry count N | enrollment retry period MINUTES"
#define AUTO_ENROLL_SYNTAX "auto-enroll [PERCENT] [regenerate]"
#define ALT_NAME_SYNTAX "subject-alt-name [dns|ip|email] NAME..."

/* A trustpoint block command: its first word and the handler of its line. */
typedef struct trustpoint_cmd {
	const char *keyword;
	int (*fn)(cfg_parser *p, const cfg_line *ln, cfg_trustpoint *tp);
} trustpoint_cmd;

/* The CA issues an iPAddress only when it is not all zeroes. */
static bool address_usable(const unsigned char *bin, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (bin[i] != 0)
			return true;
	return false;
}

/* A DNS name as the CA issues it (pki_csr_check_policy): letter-digit-hyphen labels of 1..63
 * bytes, not starting or ending with '-', at most 253 bytes, with at most a leading "*." over
 * two labels or more. */
static bool dns_name(const char *name)
{
	bool wildcard = name[0] == '*' && name[1] == '.';
	const char *host = wildcard ? name + 2 : name;
	size_t n = strlen(host), labels = 0, start = 0;
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && host[i] != '.') {
			if (!isalnum((unsigned char)host[i]) && host[i] != '-')
				return false;
			continue;
		}
		size_t len = i - start;
		if (len == 0 || len > 63 || host[start] == '-' || host[i - 1] == '-')
			return false;
		labels++;
		start = i + 1;
	}
	return !wildcard || labels >= 2;
}

void cfg_trustpoint_defaults(cfg_trustpoint *tp)
{
	memset(tp, 0, sizeof(*tp));
	tp->rsakeypair_bits = CFG_RSA_BITS_DEFAULT;
	tp->auto_enroll_percent = 100;
	tp->retry_count = 999;
	tp->retry_period_minutes = 1;
	tp->post_install_timeout_seconds = CFG_POST_INSTALL_TIMEOUT_DEFAULT;
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
	if (cfg_is(ln, 1, "url"))
		return cfg_want(p, ln, 3, 3, "enrollment url URL") != 0 ? -1 : enrollment_url(p, ln, tp);
	if (cfg_is(ln, 1, "retry") && cfg_is(ln, 2, "count"))
		return cfg_int_setting(p, ln, 3, 0, 100000, "enrollment retry count N", "retry count", &tp->retry_count);
	if (cfg_is(ln, 1, "retry") && cfg_is(ln, 2, "period"))
		return cfg_int_setting(p, ln, 3, 1, 60, "enrollment retry period MINUTES", "retry period",
		                       &tp->retry_period_minutes);
	if (ln->n < 2 || (cfg_is(ln, 1, "retry") && ln->n < 3))
		return cfg_fail(p, ln, "incomplete command (syntax: %s)", ENROLLMENT_SYNTAX);
	return cfg_fail(p, ln, "unknown enrollment option '%.60s' (syntax: %s)", cfg_rest(ln, 1), ENROLLMENT_SYNTAX);
}

static int cmd_subject_name(cfg_parser *p, const cfg_line *ln, cfg_trustpoint *tp)
{
	return cfg_dn(p, ln, "subject-name", "CN=host.example.com", tp->subject_name, sizeof(tp->subject_name));
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

/* An interface name as Linux allows it: a letter, then letters, digits, '.', '_' or '-', at
 * most 15 bytes (IFNAMSIZ). A word starting with a digit or holding ':' is an address. */
static bool interface_name(const char *w)
{
	size_t n = strlen(w);
	if (n == 0 || n > 15 || !isalpha((unsigned char)w[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)w[i]) && strchr("._-", w[i]) == NULL)
			return false;
	return true;
}

/* `ip-address ADDRESS|none|INTERFACE`: the address goes into the request's subject
 * (unstructuredAddress) and subjectAltName (iPAddress); an interface is read at each request. */
static int cmd_ip_address(cfg_parser *p, const cfg_line *ln, cfg_trustpoint *tp)
{
	if (cfg_want(p, ln, 2, 2, "ip-address ADDRESS|none|INTERFACE") != 0)
		return -1;
	tp->ip_address[0] = '\0';
	tp->ip_interface[0] = '\0';
	if (cfg_is(ln, 1, "none"))
		return 0;
	unsigned char bin[16];
	const char *w = ln->w[1];
	bool numeric = inet_pton(AF_INET, w, bin) == 1 || inet_pton(AF_INET6, w, bin) == 1;
	if (!numeric && interface_name(w))
		return cfg_text(p, ln, w, tp->ip_interface, sizeof(tp->ip_interface), "interface");
	if (!numeric)
		return cfg_fail(p, ln, "ip-address '%.60s' is neither a numeric IPv4 or IPv6 address nor an "
		                "interface name (syntax: ip-address ADDRESS|none|INTERFACE)", w);
	if (!address_usable(bin, strchr(w, ':') != NULL ? 16 : 4))
		return cfg_fail(p, ln, "ip-address '%.60s' is the unspecified address", w);
	return cfg_address(p, ln, 1, tp->ip_address, sizeof(tp->ip_address), "ip-address");
}

/* A host name must not read as a mistyped address: its last label is not all digits. */
static bool host_name(const char *name)
{
	const char *last = strrchr(name, '.');
	last = last != NULL ? last + 1 : name;
	return dns_name(name) && strspn(last, "0123456789") != strlen(last);
}

/* local@domain: the local part in printable ASCII without blanks or the characters that need
 * quoting (at most 64 bytes), the domain a host name. */
static bool email_address(const char *v)
{
	const char *at = strchr(v, '@');
	if (at == NULL || at == v || at - v > 64 || strchr(at + 1, '@') != NULL)
		return false;
	for (const char *c = v; c < at; c++)
		if (*c <= 0x20 || *c >= 0x7f || strchr("()<>[]:;,\\\"", *c) != NULL)
			return false;
	return at[1] != '*' && host_name(at + 1);
}

/* The type of a value written without dns|ip|email: an IPv4 or IPv6 literal (or digits and
 * dots, a mistyped one) is an iPAddress, a value holding '@' an rfc822Name (e-mail), anything
 * else a dNSName. */
static int alt_name_type(const char *v)
{
	unsigned char bin[16];
	if (inet_pton(AF_INET, v, bin) == 1 || inet_pton(AF_INET6, v, bin) == 1 || strspn(v, "0123456789.") == strlen(v))
		return CFG_ALT_IP;
	return strchr(v, '@') != NULL ? CFG_ALT_EMAIL : CFG_ALT_DNS;
}

static const char *const ALT_TYPE_NAMES[] = {"DNS name", "IP address", "e-mail address"};

/* Checks one value of the given type and adds it, once, to the trustpoint's names. */
static int add_alt_name(cfg_parser *p, const cfg_line *ln, cfg_trustpoint *tp, enum cfg_alt_type type,
                        const char *v)
{
	unsigned char bin[16];
	int family = strchr(v, ':') != NULL ? AF_INET6 : AF_INET;
	bool ok = type == CFG_ALT_DNS ? host_name(v)
	          : type == CFG_ALT_EMAIL ? email_address(v)
	          : inet_pton(family, v, bin) == 1 && address_usable(bin, family == AF_INET6 ? 16 : 4);
	if (!ok)
		return cfg_fail(p, ln, "subject-alt-name '%.60s' is not a valid %s%s", v, ALT_TYPE_NAMES[type],
		                type == CFG_ALT_DNS ? " (letter-digit-hyphen labels, at most a leading \"*.\")" : "");
	for (size_t i = 0; i < tp->n_alt_names; i++)
		if (tp->alt_names[i].type == type && strcasecmp(tp->alt_names[i].value, v) == 0)
			return 0;
	if (tp->n_alt_names == CFG_MAX_ALT_NAMES)
		return cfg_fail(p, ln, "too many subject-alt-name values (at most %d)", CFG_MAX_ALT_NAMES);
	cfg_alt_name *n = &tp->alt_names[tp->n_alt_names];
	if (cfg_text(p, ln, v, n->value, sizeof(n->value), "subject-alt-name") != 0)
		return -1;
	n->type = type;
	tp->n_alt_names++;
	return 0;
}

/* `subject-alt-name [dns|ip|email] NAME...`: names the certificate is requested for, added to
 * those of earlier lines. A first word dns, ip or email (followed by a value) sets the type of
 * every value on the line; otherwise each value's type is read from its form (alt_name_type). */
static int cmd_subject_alt_name(cfg_parser *p, const cfg_line *ln, cfg_trustpoint *tp)
{
	static const char *const kinds[] = {"dns", "ip", "email"};
	if (cfg_want(p, ln, 2, CFG_WORDS_MAX, ALT_NAME_SYNTAX) != 0)
		return -1;
	int type = -1;
	size_t first = 1;
	for (int k = 0; k < 3 && ln->n > 2; k++)
		if (cfg_is(ln, 1, kinds[k])) {
			type = k;
			first = 2;
		}
	for (size_t i = first; i < ln->n; i++)
		if (add_alt_name(p, ln, tp, type >= 0 ? type : alt_name_type(ln->w[i]), ln->w[i]) != 0)
			return -1;
	return 0;
}

/* `fqdn NAME|none`: the host's fully qualified name, requested as a dNSName and, as the router
 * does, as the subject's unstructuredName. */
static int cmd_fqdn(cfg_parser *p, const cfg_line *ln, cfg_trustpoint *tp)
{
	if (cfg_want(p, ln, 2, 2, "fqdn NAME|none") != 0)
		return -1;
	tp->fqdn[0] = '\0';
	if (cfg_is(ln, 1, "none"))
		return 0;
	if (ln->w[1][0] == '*' || !host_name(ln->w[1]))
		return cfg_fail(p, ln, "fqdn '%.60s' is not a host name (letter-digit-hyphen labels, e.g. "
		                "host.example.net)", ln->w[1]);
	return cfg_text(p, ln, ln->w[1], tp->fqdn, sizeof(tp->fqdn), "fqdn");
}

static int cmd_password(cfg_parser *p, const cfg_line *ln, cfg_trustpoint *tp)
{
	return cfg_secret(p, ln, 1, tp->password, sizeof(tp->password), "password [0|7] SECRET");
}

static int cmd_rsakeypair(cfg_parser *p, const cfg_line *ln, cfg_trustpoint *tp)
{
	long bits = CFG_RSA_BITS_DEFAULT;
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

static const cfg_choices REVOCATION_CHECKS = {
	"revocation-check crl [none] | none", 1, "revocation check", "expected crl, crl none or none", 2,
	{{"crl", CFG_REVOCATION_CRL}, {"none", CFG_REVOCATION_NONE}},
};

/* `crl none` is the router's list of methods tried in order: the CRL, and when none can be had,
 * no check. */
static int cmd_revocation_check(cfg_parser *p, const cfg_line *ln, cfg_trustpoint *tp)
{
	bool crl_none = ln->n >= 3 && cfg_is(ln, 1, "crl") && cfg_is(ln, 2, "none");
	if (crl_none && cfg_want(p, ln, 3, 3, REVOCATION_CHECKS.syntax) != 0)
		return -1;
	int check = crl_none ? CFG_REVOCATION_CRL_NONE : cfg_choice(p, ln, &REVOCATION_CHECKS);
	if (check < 0)
		return -1;
	tp->revocation_check = check;
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
	static const char syntax[] = "output certificate|key|chain|ca-bundle PATH | output post-install COMMAND... | "
	                             "output post-install-timeout SECONDS";
	char *dst = NULL;
	if (cfg_is(ln, 1, "post-install-timeout"))
		return cfg_int_setting(p, ln, 2, 1, CFG_POST_INSTALL_TIMEOUT_MAX, "output post-install-timeout SECONDS",
		                       "post-install timeout", &tp->post_install_timeout_seconds);
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
	else if (cfg_is(ln, 1, "ca-bundle"))
		dst = tp->ca_bundle_file;
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

static const cfg_word HASH_WORDS[] = {{"sha512", CFG_ALG_SHA512}, {"sha384", CFG_ALG_SHA384},
                                      {"sha256", CFG_ALG_SHA256}, {"sha1", CFG_ALG_SHA1},
                                      {"md5", CFG_ALG_MD5}};
static const cfg_word CIPHER_WORDS[] = {{"aes", CFG_ALG_AES}, {"3des", CFG_ALG_3DES}, {"des", CFG_ALG_DES}};

/* The algorithms named by words first.. of a `hash` or `encryption` line. */
static int alg_words(cfg_parser *p, const cfg_line *ln, size_t first, bool hash, unsigned *out)
{
	const cfg_word *words = hash ? HASH_WORDS : CIPHER_WORDS;
	size_t n = hash ? CFG_COUNT(HASH_WORDS) : CFG_COUNT(CIPHER_WORDS);
	*out = 0;
	if (ln->n <= first || ln->n > first + n)
		return cfg_fail(p, ln, "expected 1 to %zu algorithms (syntax: %s)", n, hash ? HASH_SYNTAX : ENCRYPTION_SYNTAX);
	for (size_t i = first; i < ln->n; i++) {
		int bit = 0;
		if (!cfg_lookup(ln, i, words, n, &bit))
			return cfg_fail(p, ln, "unknown %s '%.60s' (syntax: %s)", hash ? "hash" : "encryption", ln->w[i],
			                hash ? HASH_SYNTAX : ENCRYPTION_SYNTAX);
		*out |= (unsigned)bit;
	}
	return 0;
}

/* `hash ...`, `encryption ...` (algorithm words from word 1): what this trustpoint's requests may
 * use, replacing the default list (sha512 sha384 sha256 sha1, aes 3des); the client picks from it
 * what the CA advertises. MD5 and single DES are only ever used when named here.
 * `no hash ...`, `no encryption ...` (words from 2): takes algorithms off the list, leaving at
 * least one of the kind. */
static int set_algorithms(cfg_parser *p, const cfg_line *ln, cfg_trustpoint *tp, size_t first)
{
	bool hash = cfg_is(ln, first - 1, "hash");
	unsigned kind = hash ? CFG_ALG_DIGESTS : CFG_ALG_CIPHERS;
	unsigned bits = 0;
	if (alg_words(p, ln, first, hash, &bits) != 0)
		return -1;
	unsigned list = first == 2 ? tp->algorithms & ~bits : (tp->algorithms & ~kind) | bits;
	if ((list & kind) == 0)
		return cfg_fail(p, ln, "this would leave the trustpoint no %s to use", hash ? "hash" : "encryption");
	tp->algorithms = list;
	return 0;
}

static int cmd_algorithms(cfg_parser *p, const cfg_line *ln, cfg_trustpoint *tp)
{
	return set_algorithms(p, ln, tp, 1);
}

/* `no auto-enroll`, `no serial-number`, `no subject-alt-name` (all of them), `no fqdn`,
 * `no ip-address`, `no hash ...`, `no encryption ...`. */
static int cmd_no(cfg_parser *p, const cfg_line *ln, cfg_trustpoint *tp)
{
	if (cfg_is(ln, 1, "hash") || cfg_is(ln, 1, "encryption"))
		return set_algorithms(p, ln, tp, 2);
	if (cfg_is(ln, 1, "auto-enroll") && ln->n == 2) {
		tp->auto_enroll = false;
		tp->auto_enroll_percent = 100;
		tp->auto_enroll_regenerate = false;
	} else if (cfg_is(ln, 1, "serial-number") && ln->n == 2) {
		tp->serial_number = false;
	} else if (cfg_is(ln, 1, "subject-alt-name") && ln->n == 2) {
		tp->n_alt_names = 0;
	} else if (cfg_is(ln, 1, "fqdn") && ln->n == 2) {
		tp->fqdn[0] = '\0';
	} else if (cfg_is(ln, 1, "ip-address") && ln->n == 2) {
		tp->ip_address[0] = tp->ip_interface[0] = '\0';
	} else {
		return cfg_fail(p, ln, "unknown command '%.60s' in crypto pki trustpoint block (the trustpoint "
		                "accepts no auto-enroll, no serial-number, no subject-alt-name, no fqdn, no ip-address, "
		                "no hash and no encryption)", ln->raw + ln->off[0]);
	}
	return 0;
}

static const trustpoint_cmd trustpoint_cmds[] = {
	{"enrollment", cmd_enrollment},
	{"subject-name", cmd_subject_name},
	{"serial-number", cmd_serial_number},
	{"ip-address", cmd_ip_address},
	{"subject-alt-name", cmd_subject_alt_name},
	{"fqdn", cmd_fqdn},
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
	return CFG_COMMAND_FIND(trustpoint_cmds, word) != NULL;
}

const char *cfg_trustpoint_nearest(const char *word)
{
	return CFG_COMMAND_NEAREST(trustpoint_cmds, word);
}

int cfg_trustpoint_line(cfg_parser *p, const cfg_line *ln, cfg_trustpoint *tp)
{
	const trustpoint_cmd *cmd = ln->n > 0 ? CFG_COMMAND_FIND(trustpoint_cmds, ln->w[0]) : NULL;
	return cmd != NULL ? cmd->fn(p, ln, tp) : cfg_block_unknown(p, ln, "trustpoint", CFG_COMMAND_NEAREST(trustpoint_cmds, ln->w[0]));
}
