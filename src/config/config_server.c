/* The lines of a `crypto pki server NAME` block (SPEC §4). A later line of the same kind replaces
 * an earlier one, as on the router. */
#include "config/config_internal.h"

#include <string.h>
#include <strings.h>

#define GRANT_SYNTAX                                                                               \
	"grant auto | grant none | grant auto trustpoint TP | grant auto tp-list TP... | "          \
	"grant auto rollover ca-cert | grant renewal-grace DAYS [HOURS [MINUTES]]"
#define ARCHIVE_SYNTAX "database archive pkcs12|pem [password [0|7] SECRET]"

/* A server block command: its first word and the handler of its line. */
typedef struct server_cmd {
	const char *keyword;
	int (*fn)(cfg_parser *p, const cfg_line *ln, cfg_server *s);
} server_cmd;

void cfg_server_defaults(cfg_server *s)
{
	memset(s, 0, sizeof(*s));
	s->grant = CFG_GRANT_MANUAL;
	s->renewal_grace = ec_time_dhm(30, 0, 0);
	s->lifetime_certificate = ec_time_dhm(365, 0, 0);
	s->lifetime_ca_certificate = ec_time_dhm(1095, 0, 0);
	s->lifetime_crl = ec_time_dhm(0, 6, 0);
	s->lifetime_enrollment_request = ec_time_dhm(0, 168, 0);
	s->encryption_des = true;
	s->database_level = CFG_DB_MINIMUM;
	s->archive_format = CFG_ARCHIVE_PKCS12;
	s->hash = CFG_HASH_SHA256;
	s->mode = CFG_MODE_ROOT;
	s->issuance_rsa_min_bits = CFG_RSA_BITS_DEFAULT;
	s->issuance_rsa_max_bits = 8192;
}

/* `database url URL`: a local path (the scheme unix:, file: or file:// is removed), or a
 * PostgreSQL connection URI kept as it is for the store (libpq parses it). */
static int database_url(cfg_parser *p, const cfg_line *ln, cfg_server *s)
{
	const char *url = ln->w[2];
	const char *path = url;
	size_t scheme = cfg_scheme_len(url);
	if ((scheme == 10 && strncmp(url, "postgresql://", 13) == 0) ||
	    (scheme == 8 && strncmp(url, "postgres://", 11) == 0)) {
		s->database_path[0] = '\0';
		return cfg_text(p, ln, url, s->database_store_url, sizeof(s->database_store_url), "database url");
	}
	if (scheme == 4 && strncasecmp(url, "unix", 4) == 0) {
		path = url + 5;
	} else if (scheme == 4 && strncasecmp(url, "file", 4) == 0) {
		path = url + 5;
		if (strncmp(path, "//", 2) == 0) {
			path += 2;
			if (strncasecmp(path, "localhost", 9) == 0)
				path += 9;
			if (*path != '/')
				return cfg_fail(p, ln, "database url '%s': a file URL must name a local path "
				                "(file:///path)", url);
		}
	} else if (scheme > 0) {
		return cfg_fail(p, ln, "database url '%s': only local paths are supported "
		                "(unix:/path, file:/path or a plain path), not %.*s: URLs (a shared database is a "
		                "postgresql:// URL)", url, (int)scheme, url);
	}
	if (*path == '\0')
		return cfg_fail(p, ln, "database url '%s' names no path", url);
	s->database_store_url[0] = '\0';
	return cfg_text(p, ln, path, s->database_path, sizeof(s->database_path), "database url");
}

static int database_archive(cfg_parser *p, const cfg_line *ln, cfg_server *s)
{
	static const cfg_word formats[] = {{"pkcs12", CFG_ARCHIVE_PKCS12}, {"pem", CFG_ARCHIVE_PEM}};
	int format = 0;
	if (cfg_want(p, ln, 3, 6, ARCHIVE_SYNTAX) != 0)
		return -1;
	if (!cfg_lookup(ln, 2, formats, CFG_COUNT(formats), &format))
		return cfg_fail(p, ln, "unknown archive format '%s' (syntax: %s)", ln->w[2], ARCHIVE_SYNTAX);
	s->archive_format = format;
	s->archive_set = true;
	s->archive_password[0] = '\0';
	if (ln->n == 3)
		return 0;
	if (!cfg_is(ln, 3, "password"))
		return cfg_fail(p, ln, "unexpected argument '%.60s' (syntax: %s)", ln->w[3], ARCHIVE_SYNTAX);
	return cfg_secret(p, ln, 4, s->archive_password, sizeof(s->archive_password), ARCHIVE_SYNTAX);
}

static const cfg_choices DATABASE_LEVELS = {
	"database level minimum|names|complete", 2, "database level", "expected minimum, names or complete", 4,
	{{"minimum", CFG_DB_MINIMUM}, {"minimal", CFG_DB_MINIMUM}, {"names", CFG_DB_NAMES}, {"complete", CFG_DB_COMPLETE}},
};

static int cmd_database(cfg_parser *p, const cfg_line *ln, cfg_server *s)
{
	if (cfg_is(ln, 1, "level")) {
		int level = cfg_choice(p, ln, &DATABASE_LEVELS);
		if (level >= 0)
			s->database_level = level;
		return level < 0 ? -1 : 0;
	}
	if (cfg_is(ln, 1, "url"))
		return cfg_want(p, ln, 3, 3, "database url PATH") != 0 ? -1 : database_url(p, ln, s);
	if (cfg_is(ln, 1, "archive"))
		return database_archive(p, ln, s);
	if (ln->n < 2)
		return cfg_fail(p, ln, "incomplete command (syntax: database level|url|archive ...)");
	return cfg_fail(p, ln, "unknown database option '%.60s' (expected level, url or archive)", ln->w[1]);
}

static int cmd_issuer_name(cfg_parser *p, const cfg_line *ln, cfg_server *s)
{
	return cfg_dn(p, ln, "issuer-name", "CN=RootCA,O=Example", s->issuer_name, sizeof(s->issuer_name));
}

/* The trustpoint names of `grant auto trustpoint TP` / `grant auto tp-list TP...`, from word 3. */
static int grant_trustpoints(cfg_parser *p, const cfg_line *ln, cfg_server *s)
{
	if (ln->n - 3 > CFG_MAX_GRANT_TPS)
		return cfg_fail(p, ln, "too many trustpoints in grant (at most %d)", CFG_MAX_GRANT_TPS);
	for (size_t i = 3; i < ln->n; i++) {
		char *dst = s->grant_trustpoints[i - 3];
		if (cfg_name(p, ln, i, false, dst, "trustpoint name") != 0)
			return -1;
		for (size_t j = 0; j < i - 3; j++) {
			if (strcmp(s->grant_trustpoints[j], dst) == 0)
				return cfg_fail(p, ln, "trustpoint %s is listed twice", dst);
		}
	}
	s->grant = CFG_GRANT_AUTO_TRUSTPOINT;
	s->n_grant_trustpoints = ln->n - 3;
	p->grant_line[p->index] = ln->no;
	return 0;
}

static int cmd_grant(cfg_parser *p, const cfg_line *ln, cfg_server *s)
{
	if (ln->n < 2)
		return cfg_fail(p, ln, "incomplete command (syntax: %s)", GRANT_SYNTAX);
	if (ln->n == 2 && (cfg_is(ln, 1, "auto") || cfg_is(ln, 1, "none"))) {
		s->grant = cfg_is(ln, 1, "auto") ? CFG_GRANT_AUTO : CFG_GRANT_NONE;
		s->n_grant_trustpoints = 0;
		return 0;
	}
	/* How long after its CA generation's end a certificate that ended with it still renews; it
	 * does not change the granting mode. */
	if (cfg_is(ln, 1, "renewal-grace"))
		return cfg_want(p, ln, 3, 5, "grant renewal-grace DAYS [HOURS [MINUTES]]") != 0 ? -1
		       : cfg_dhm(p, ln, 2, 3650, &s->renewal_grace);
	if (!cfg_is(ln, 1, "auto") || ln->n < 3)
		return cfg_fail(p, ln, "unknown grant mode '%.60s' (syntax: %s)", cfg_rest(ln, 1), GRANT_SYNTAX);
	if (cfg_is(ln, 2, "trustpoint"))
		return cfg_want(p, ln, 4, 4, "grant auto trustpoint TP") != 0 ? -1 : grant_trustpoints(p, ln, s);
	if (cfg_is(ln, 2, "tp-list"))
		return cfg_want(p, ln, 4, CFG_WORDS_MAX, "grant auto tp-list TP...") != 0 ? -1
		                                                                         : grant_trustpoints(p, ln, s);
	if (cfg_is(ln, 2, "rollover")) {
		if (cfg_want(p, ln, 4, 4, "grant auto rollover ca-cert") != 0)
			return -1;
		if (!cfg_is(ln, 3, "ca-cert"))
			return cfg_fail(p, ln, "unknown rollover grant '%.60s' (syntax: grant auto rollover ca-cert)",
			                ln->w[3]);
		s->grant_auto_rollover_ca = true;
		return 0;
	}
	return cfg_fail(p, ln, "unknown grant mode '%.60s' (syntax: %s)", cfg_rest(ln, 1), GRANT_SYNTAX);
}

static int cmd_lifetime(cfg_parser *p, const cfg_line *ln, cfg_server *s)
{
	long hours = 0, minutes = 0;
	if (cfg_is(ln, 1, "certificate"))
		return cfg_want(p, ln, 3, 5, "lifetime certificate DAYS [HOURS [MINUTES]]") != 0 ? -1
		       : cfg_dhm(p, ln, 2, 10000, &s->lifetime_certificate);
	if (cfg_is(ln, 1, "ca-certificate"))
		return cfg_want(p, ln, 3, 5, "lifetime ca-certificate DAYS [HOURS [MINUTES]]") != 0 ? -1
		       : cfg_dhm(p, ln, 2, 10000, &s->lifetime_ca_certificate);
	if (cfg_is(ln, 1, "crl")) {
		if (cfg_want(p, ln, 3, 4, "lifetime crl HOURS [MINUTES]") != 0 ||
		    cfg_int(p, ln, 2, 0, 8760, "hours", &hours) != 0 ||
		    (ln->n > 3 && cfg_int(p, ln, 3, 0, 59, "minutes", &minutes) != 0))
			return -1;
		if (hours == 0 && minutes == 0)
			return cfg_fail(p, ln, "the period must be longer than zero");
		s->lifetime_crl = ec_time_dhm(0, hours, minutes);
		return 0;
	}
	if (cfg_is(ln, 1, "enrollment-request")) {
		if (cfg_want(p, ln, 3, 3, "lifetime enrollment-request HOURS") != 0 ||
		    cfg_int(p, ln, 2, 1, 1000, "hours", &hours) != 0)
			return -1;
		s->lifetime_enrollment_request = ec_time_dhm(0, hours, 0);
		return 0;
	}
	if (ln->n < 2)
		return cfg_fail(p, ln, "incomplete command (syntax: lifetime certificate|ca-certificate|crl|"
		                "enrollment-request ...)");
	return cfg_fail(p, ln, "unknown lifetime '%.60s' (expected certificate, ca-certificate, crl or "
	                "enrollment-request)", ln->w[1]);
}

static int cmd_auto_rollover(cfg_parser *p, const cfg_line *ln, cfg_server *s)
{
	if (cfg_want(p, ln, 1, 4, "auto-rollover [DAYS [HOURS [MINUTES]]]") != 0)
		return -1;
	ec_time period = ec_time_dhm(30, 0, 0);
	if (ln->n > 1 && cfg_dhm(p, ln, 1, 10000, &period) != 0)
		return -1;
	s->auto_rollover = true;
	s->auto_rollover_period = period;
	return 0;
}

static const cfg_choices HASHES = {
	"hash sha256|sha384|sha512|sha1", 1, "hash", "expected sha256, sha384, sha512 or sha1", 4,
	{{"sha256", CFG_HASH_SHA256}, {"sha384", CFG_HASH_SHA384}, {"sha512", CFG_HASH_SHA512}, {"sha1", CFG_HASH_SHA1}},
};

static int cmd_hash(cfg_parser *p, const cfg_line *ln, cfg_server *s)
{
	if (ln->n == 2 && cfg_is(ln, 1, "md5"))
		return cfg_fail(p, ln, "hash md5 is refused as insecure (use sha256, the default, sha384 or sha512)");
	int hash = cfg_choice(p, ln, &HASHES);
	if (hash >= 0)
		s->hash = hash;
	return hash < 0 ? -1 : 0;
}

/* `encryption des`: single DES envelopes from legacy clients are accepted (the default);
 * `no encryption des` refuses them. AES and 3DES are always accepted, and nothing else ever. */
static int cmd_encryption(cfg_parser *p, const cfg_line *ln, cfg_server *s)
{
	if (ln->n == 2 && cfg_is(ln, 1, "des")) {
		s->encryption_des = true;
		return 0;
	}
	if (cfg_want(p, ln, 2, 2, "encryption des") != 0)
		return -1;
	return cfg_fail(p, ln, "encryption '%.60s': the server always accepts aes and 3des and only single "
	                "DES can be turned off or on (no encryption des, encryption des)", ln->w[1]);
}

static int cmd_cdp_url(cfg_parser *p, const cfg_line *ln, cfg_server *s)
{
	if (cfg_want(p, ln, 2, 2, "cdp-url URL") != 0)
		return -1;
	if (cfg_scheme_len(ln->w[1]) == 0)
		return cfg_fail(p, ln, "cdp-url '%.60s' is not a URL (e.g. http://ca.example.com/ROOTCA.crl)", ln->w[1]);
	return cfg_text(p, ln, ln->w[1], s->cdp_url, sizeof(s->cdp_url), "cdp-url");
}

static int cmd_shutdown(cfg_parser *p, const cfg_line *ln, cfg_server *s)
{
	if (cfg_want(p, ln, 1, 1, "shutdown") != 0)
		return -1;
	s->shutdown = true;
	return 0;
}

static const cfg_choices MODES = {
	"mode sub-cs|ra", 1, "mode", "expected sub-cs or ra", 2, {{"sub-cs", CFG_MODE_SUB_CS}, {"ra", CFG_MODE_RA}},
};

static int cmd_mode(cfg_parser *p, const cfg_line *ln, cfg_server *s)
{
	int mode = cfg_choice(p, ln, &MODES);
	if (mode >= 0)
		s->mode = mode;
	return mode < 0 ? -1 : 0;
}

#define ISSUANCE_SYNTAX "issuance rsa-modulus MIN [MAX] | issuance subject-alt-name uri"
#define ISSUANCE_RSA_LOW 1024
#define ISSUANCE_RSA_HIGH 16384

/* `issuance rsa-modulus MIN [MAX]` (RSA key sizes the CA certifies) and `issuance
 * subject-alt-name uri` (URI alternative names, refused unless written). */
static int cmd_issuance(cfg_parser *p, const cfg_line *ln, cfg_server *s)
{
	if (cfg_is(ln, 1, "subject-alt-name")) {
		if (cfg_want(p, ln, 3, 3, ISSUANCE_SYNTAX) != 0)
			return -1;
		if (!cfg_is(ln, 2, "uri"))
			return cfg_fail(p, ln, "issuance subject-alt-name: only uri can be allowed (DNS, IP and "
			                "email names are always issued), not '%.60s'", ln->w[2]);
		s->issuance_allow_uri = true;
		return 0;
	}
	if (!cfg_is(ln, 1, "rsa-modulus"))
		return cfg_fail(p, ln, "unknown issuance setting (syntax: %s)", ISSUANCE_SYNTAX);
	if (cfg_want(p, ln, 3, 4, ISSUANCE_SYNTAX) != 0)
		return -1;
	long min = 0, max = s->issuance_rsa_max_bits;
	if (cfg_int(p, ln, 2, ISSUANCE_RSA_LOW, ISSUANCE_RSA_HIGH, "rsa-modulus", &min) != 0 ||
	    (ln->n == 4 && cfg_int(p, ln, 3, ISSUANCE_RSA_LOW, ISSUANCE_RSA_HIGH, "rsa-modulus", &max) != 0))
		return -1;
	if (max < min)
		return cfg_fail(p, ln, "issuance rsa-modulus: the maximum %ld is below the minimum %ld", max, min);
	s->issuance_rsa_min_bits = (int)min;
	s->issuance_rsa_max_bits = (int)max;
	return 0;
}

/* `no shutdown`, `no grant`, `no grant auto rollover ca-cert`, `no grant renewal-grace`,
 * `no auto-rollover`, `no encryption des`. */
static int cmd_no(cfg_parser *p, const cfg_line *ln, cfg_server *s)
{
	if (cfg_is(ln, 1, "shutdown") && ln->n == 2) {
		s->shutdown = false;
	} else if (cfg_is(ln, 1, "auto-rollover") && ln->n == 2) {
		s->auto_rollover = false;
		s->auto_rollover_period = 0;
	} else if (cfg_is(ln, 1, "encryption") && cfg_is(ln, 2, "des") && ln->n == 3) {
		s->encryption_des = false;
	} else if (cfg_is(ln, 1, "grant") && ln->n == 2) {
		s->grant = CFG_GRANT_MANUAL;
		s->n_grant_trustpoints = 0;
	} else if (cfg_is(ln, 1, "grant") && ln->n == 3 && cfg_is(ln, 2, "renewal-grace")) {
		s->renewal_grace = 0;
	} else if (cfg_is(ln, 1, "grant") && ln->n == 5 && cfg_is(ln, 2, "auto") && cfg_is(ln, 3, "rollover") &&
	           cfg_is(ln, 4, "ca-cert")) {
		s->grant_auto_rollover_ca = false;
	} else {
		return cfg_fail(p, ln, "unknown command '%.60s' in crypto pki server block (the server accepts "
		                "no shutdown, no grant, no grant auto rollover ca-cert, no grant renewal-grace, "
		                "no auto-rollover and no encryption des)",
		                ln->raw + ln->off[0]);
	}
	return 0;
}

static const server_cmd server_cmds[] = {
	{"database", cmd_database},   {"issuer-name", cmd_issuer_name},     {"grant", cmd_grant},
	{"encryption", cmd_encryption},
	{"lifetime", cmd_lifetime},   {"auto-rollover", cmd_auto_rollover}, {"hash", cmd_hash},
	{"cdp-url", cmd_cdp_url},     {"shutdown", cmd_shutdown},           {"mode", cmd_mode},
	{"issuance", cmd_issuance},   {"no", cmd_no},
};

bool cfg_server_keyword(const char *word)
{
	return CFG_COMMAND_FIND(server_cmds, word) != NULL;
}

const char *cfg_server_nearest(const char *word)
{
	return CFG_COMMAND_NEAREST(server_cmds, word);
}

int cfg_server_line(cfg_parser *p, const cfg_line *ln, cfg_server *s)
{
	const server_cmd *cmd = ln->n > 0 ? CFG_COMMAND_FIND(server_cmds, ln->w[0]) : NULL;
	return cmd != NULL ? cmd->fn(p, ln, s) : cfg_block_unknown(p, ln, "server", CFG_COMMAND_NEAREST(server_cmds, ln->w[0]));
}
