/* The global lines: hostname, ip http, clock, crypto key generate rsa, and the two lines that open
 * a block (`crypto pki server NAME`, `crypto pki trustpoint NAME`). */
#include "config/config_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KEY_SYNTAX "crypto key generate rsa [general-keys] label NAME [modulus BITS]"
#define SIMULATE_SYNTAX "clock simulate start ISO-8601-TIME [rate FACTOR]"
#define RATE_MAX 1000000.0

static int cmd_hostname(cfg_parser *p, const cfg_line *ln)
{
	if (cfg_want(p, ln, 2, 2, "hostname NAME") != 0)
		return -1;
	return cfg_name(p, ln, 1, false, p->cfg->hostname, "hostname");
}

static int cmd_ip(cfg_parser *p, const cfg_line *ln)
{
	static const char syntax[] = "ip http server [PORT] | ip http port PORT | ip http bind ADDRESS | "
	                             "ip http max-connections N | ip http metrics ADDRESS PORT";
	long port = 0;
	if (!cfg_is(ln, 1, "http") || ln->n < 3)
		return cfg_fail(p, ln, "unknown command '%.60s' (syntax: %s)", cfg_rest(ln, 0), syntax);
	if (cfg_is(ln, 2, "server")) {
		if (cfg_want(p, ln, 3, 4, "ip http server [PORT]") != 0 ||
		    (ln->n == 4 && cfg_int(p, ln, 3, 1, 65535, "port", &port) != 0))
			return -1;
		p->cfg->http_server = true;
		if (port != 0)
			p->cfg->http_port = (int)port;
		if (port != 0 || p->cfg->http_port_line == 0)
			p->cfg->http_port_line = ln->no;
		return 0;
	}
	if (cfg_is(ln, 2, "port")) {
		if (cfg_want(p, ln, 4, 4, "ip http port PORT") != 0 || cfg_int(p, ln, 3, 1, 65535, "port", &port) != 0)
			return -1;
		p->cfg->http_port = (int)port;
		p->cfg->http_port_line = ln->no;
		return 0;
	}
	if (cfg_is(ln, 2, "max-connections")) {
		long n = 0;
		if (cfg_want(p, ln, 4, 4, "ip http max-connections N") != 0 ||
		    cfg_int(p, ln, 3, 16, 65536, "connections", &n) != 0)
			return -1;
		p->cfg->http_max_connections = (int)n;
		return 0;
	}
	if (cfg_is(ln, 2, "metrics")) {
		if (cfg_want(p, ln, 5, 5, "ip http metrics ADDRESS PORT") != 0 ||
		    cfg_address(p, ln, 3, p->cfg->metrics_bind, sizeof(p->cfg->metrics_bind), "address") != 0 ||
		    cfg_int(p, ln, 4, 1, 65535, "port", &port) != 0)
			return -1;
		p->cfg->metrics = true;
		p->cfg->metrics_port = (int)port;
		return 0;
	}
	if (cfg_is(ln, 2, "bind"))
		return cfg_want(p, ln, 4, 4, "ip http bind ADDRESS") != 0
		       ? -1 : cfg_address(p, ln, 3, p->cfg->http_bind, sizeof(p->cfg->http_bind), "address");
	return cfg_fail(p, ln, "unknown command '%.60s' (syntax: %s)", cfg_rest(ln, 0), syntax);
}

/* A rate: digits with an optional fraction ("1", "0", "86400", "0.5"), 0..RATE_MAX. */
static int parse_rate(cfg_parser *p, const cfg_line *ln, size_t i, double *out)
{
	const char *s = ln->w[i];
	size_t digits = 0, dots = 0;
	for (const char *c = s; *c; c++) {
		if (isdigit((unsigned char)*c))
			digits++;
		else if (*c == '.')
			dots++;
		else
			return cfg_fail(p, ln, "rate '%.60s' is not a decimal number", s);
	}
	if (digits == 0 || dots > 1)
		return cfg_fail(p, ln, "rate '%.60s' is not a decimal number", s);
	errno = 0;
	char *end = NULL;
	double v = strtod(s, &end);
	if (end == s || *end != '\0')
		return cfg_fail(p, ln, "rate '%.60s' is not a decimal number", s);
	if (errno == ERANGE || v > RATE_MAX)
		return cfg_fail(p, ln, "rate %.60s out of range 0..%.0f", s, RATE_MAX);
	*out = v;
	return 0;
}

#define TIMEZONE_SYNTAX "clock timezone NAME HOURS [MINUTES]"

/* `clock timezone CET 1`, `clock timezone IST 5 30`, `clock timezone NST -3 30`: the zone the
 * show commands print times in, as the router does; the clock itself stays UTC. */
static int clock_timezone(cfg_parser *p, const cfg_line *ln)
{
	long hours = 0, minutes = 0;
	if (cfg_want(p, ln, 4, 5, TIMEZONE_SYNTAX) != 0)
		return -1;
	const char *name = ln->w[2];
	size_t len = strlen(name);
	bool letters = len > 0;
	for (size_t i = 0; i < len; i++)
		letters = letters && isalpha((unsigned char)name[i]);
	if (!letters || len >= CFG_TIMEZONE_NAME_MAX)
		return cfg_fail(p, ln, "time zone name '%.60s' must be 1 to %d letters (e.g. CET)", name,
		                CFG_TIMEZONE_NAME_MAX - 1);
	const char *h = ln->w[3];
	bool west = h[0] == '-';
	char *end = NULL;
	errno = 0;
	hours = strtol(west ? h + 1 : h, &end, 10);
	if (!isdigit((unsigned char)(west ? h[1] : h[0])) || *end != '\0' || errno != 0 || hours > 23)
		return cfg_fail(p, ln, "hours offset '%.60s' is not a number from -23 to 23", h);
	if (ln->n == 5 && cfg_int(p, ln, 4, 0, 59, "minutes offset", &minutes) != 0)
		return -1;
	memcpy(p->cfg->timezone_name, name, len + 1);
	/* The minutes go the way of the hours: `-3 30` is three and a half hours west. */
	p->cfg->timezone_offset_minutes = (int)((hours * 60 + minutes) * (west ? -1 : 1));
	return 0;
}

static int cmd_clock(cfg_parser *p, const cfg_line *ln)
{
	if (cfg_is(ln, 1, "calendar-valid")) {
		if (cfg_want(p, ln, 2, 2, "clock calendar-valid") != 0)
			return -1;
		p->cfg->calendar_valid = true;
		return 0;
	}
	if (cfg_is(ln, 1, "timezone"))
		return clock_timezone(p, ln);
	if (!cfg_is(ln, 1, "simulate"))
		return cfg_fail(p, ln, "unknown command '%.60s' (syntax: clock calendar-valid | %s | %s)",
		                cfg_rest(ln, 0), TIMEZONE_SYNTAX, SIMULATE_SYNTAX);
	if (cfg_want(p, ln, 4, 6, SIMULATE_SYNTAX) != 0)
		return -1;
	if (!cfg_is(ln, 2, "start") || ln->n == 5 || (ln->n == 6 && !cfg_is(ln, 4, "rate")))
		return cfg_fail(p, ln, "malformed command (syntax: %s)", SIMULATE_SYNTAX);
	ec_time start = 0;
	double rate = 1.0;
	if (ec_time_parse_iso(ln->w[3], &start) != 0)
		return cfg_fail(p, ln, "'%.60s' is not an ISO 8601 UTC time (e.g. 2015-10-09T13:14:16Z)", ln->w[3]);
	if (ln->n == 6 && parse_rate(p, ln, 5, &rate) != 0)
		return -1;
	p->cfg->clock_simulated = true;
	p->cfg->clock_simulate_start = start;
	p->cfg->clock_simulate_rate = rate;
	return 0;
}

/* Reads the options of `crypto key generate rsa` from word 4 on into *k. */
static int key_options(cfg_parser *p, const cfg_line *ln, cfg_key *k)
{
	bool general = false, modulus = false;
	long bits = CFG_RSA_BITS_DEFAULT;
	for (size_t i = 4; i < ln->n; i++) {
		if (cfg_is(ln, i, "general-keys") && !general) {
			general = true;
		} else if (cfg_is(ln, i, "label") && k->label[0] == '\0') {
			if (cfg_name(p, ln, ++i, true, k->label, "key label") != 0)
				return -1;
		} else if (cfg_is(ln, i, "modulus") && !modulus) {
			modulus = true;
			if (cfg_int(p, ln, ++i, 1024, 8192, "modulus", &bits) != 0)
				return -1;
		} else {
			return cfg_fail(p, ln, "unexpected argument '%.60s' (syntax: %s)", ln->w[i], KEY_SYNTAX);
		}
	}
	if (k->label[0] == '\0')
		return cfg_fail(p, ln, "missing 'label NAME' (syntax: %s)", KEY_SYNTAX);
	k->bits = (int)bits;
	return 0;
}

/* `crypto key generate rsa ...`: a second line for the same label replaces the first. */
static int key_generate(cfg_parser *p, const cfg_line *ln)
{
	cfg_config *cfg = p->cfg;
	cfg_key k = {{0}, 0};
	if (!cfg_is(ln, 2, "generate") || !cfg_is(ln, 3, "rsa"))
		return cfg_fail(p, ln, "unknown command '%.60s' (syntax: %s)", cfg_rest(ln, 0), KEY_SYNTAX);
	if (key_options(p, ln, &k) != 0)
		return -1;
	for (size_t i = 0; i < cfg->n_keys; i++) {
		if (strcmp(cfg->keys[i].label, k.label) == 0) {
			cfg->keys[i] = k;
			return 0;
		}
	}
	if (cfg->n_keys >= CFG_MAX_KEYS)
		return cfg_fail(p, ln, "too many crypto key generate rsa lines (at most %d)", CFG_MAX_KEYS);
	cfg->keys[cfg->n_keys++] = k;
	return 0;
}

/* Whether word is what `crypto pki server NAME WORD ...` takes at the router's exec prompt. */
static bool operator_word(const char *word)
{
	static const char *const words[] = {"rollover", "grant", "reject", "revoke", "unrevoke",
	                                    "info", "password", "remove"};
	for (size_t i = 0; i < CFG_COUNT(words); i++)
		if (strcasecmp(word, words[i]) == 0)
			return true;
	return false;
}

/* `crypto pki server NAME`, `crypto pki trustpoint NAME`: a new block of that kind, with its
 * defaults, filled by the indented lines that follow. Names are unique within a kind. */
static int open_block(cfg_parser *p, const cfg_line *ln, enum cfg_block kind)
{
	cfg_config *cfg = p->cfg;
	bool server = kind == CFG_BLOCK_SERVER;
	const char *word = server ? "server" : "trustpoint";
	size_t n = server ? cfg->n_servers : cfg->n_trustpoints;
	size_t max = server ? CFG_MAX_SERVERS : CFG_MAX_TRUSTPOINTS;
	char name[CFG_NAME_MAX], syntax[40], what[40];
	/* The router's exec commands share the words of the block that opens a server. */
	if (server && ln->n > 4 && operator_word(ln->w[4]))
		return cfg_fail(p, ln, "'%.60s' is an operator command, not configuration: run `evercert server %.60s "
		                "%.60s` against the running daemon", cfg_rest(ln, 0), ln->w[3], cfg_rest(ln, 4));
	snprintf(syntax, sizeof(syntax), "crypto pki %s NAME", word);
	snprintf(what, sizeof(what), "%s name", word);
	if (cfg_want(p, ln, 4, 4, syntax) != 0 || cfg_name(p, ln, 3, false, name, what) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *other = server ? cfg->servers[i].name : cfg->trustpoints[i].name;
		if (strcmp(other, name) == 0)
			return cfg_fail(p, ln, "duplicate crypto pki %s %s (already defined at line %d)", word, name,
			                server ? cfg->servers[i].line : cfg->trustpoints[i].line);
	}
	if (n >= max)
		return cfg_fail(p, ln, "too many crypto pki %s blocks (at most %zu)", word, max);
	if (server) {
		cfg_server_defaults(&cfg->servers[n]);
		memcpy(cfg->servers[n].name, name, sizeof(name));
		cfg->servers[n].line = ln->no;
		cfg->n_servers++;
	} else {
		cfg_trustpoint_defaults(&cfg->trustpoints[n]);
		memcpy(cfg->trustpoints[n].name, name, sizeof(name));
		cfg->trustpoints[n].line = ln->no;
		cfg->n_trustpoints++;
	}
	p->block = kind;
	p->index = n;
	return 0;
}

static int cmd_crypto(cfg_parser *p, const cfg_line *ln)
{
	if (cfg_is(ln, 1, "key"))
		return key_generate(p, ln);
	if (cfg_is(ln, 1, "pki") && cfg_is(ln, 2, "server"))
		return open_block(p, ln, CFG_BLOCK_SERVER);
	if (cfg_is(ln, 1, "pki") && cfg_is(ln, 2, "trustpoint"))
		return open_block(p, ln, CFG_BLOCK_TRUSTPOINT);
	return cfg_fail(p, ln, "unknown command '%.60s' (expected crypto pki server NAME, crypto pki trustpoint "
	                "NAME or %s)", cfg_rest(ln, 0), KEY_SYNTAX);
}

/* `no ip http server`. */
static int cmd_no(cfg_parser *p, const cfg_line *ln)
{
	if (ln->n == 4 && cfg_is(ln, 1, "ip") && cfg_is(ln, 2, "http") && cfg_is(ln, 3, "server")) {
		p->cfg->http_server = false;
		return 0;
	}
	return -2; /* not a global `no` line */
}

static int cmd_end(cfg_parser *p, const cfg_line *ln)
{
	if (cfg_want(p, ln, 1, 1, "end") != 0)
		return -1;
	p->end_line = ln->no;
	return 0;
}

static int cmd_exit(cfg_parser *p, const cfg_line *ln)
{
	return cfg_want(p, ln, 1, 1, "exit");
}

/* A global command: its first word and the handler of its line. */
typedef struct global_cmd {
	const char *keyword;
	int (*fn)(cfg_parser *p, const cfg_line *ln);
} global_cmd;

static const global_cmd global_cmds[] = {
	{"hostname", cmd_hostname}, {"ip", cmd_ip},   {"clock", cmd_clock}, {"crypto", cmd_crypto},
	{"no", cmd_no},             {"end", cmd_end}, {"exit", cmd_exit},
	{"logging", cfg_cmd_logging},
};

/* `no` alone is not a global command: most `no` lines belong to a block. */
bool cfg_global_keyword(const char *word)
{
	return strcasecmp(word, "no") != 0 && CFG_COMMAND_FIND(global_cmds, word) != NULL;
}

/* The error for a line that is not a global command: a block command out of its block, or unknown. */
static int not_global(cfg_parser *p, const cfg_line *ln)
{
	const char *word = cfg_is(ln, 0, "no") && ln->n > 1 ? ln->w[1] : ln->w[0];
	bool no_alone = strcasecmp(word, "no") == 0;
	bool server = !no_alone && cfg_server_keyword(word);
	bool trustpoint = !no_alone && cfg_trustpoint_keyword(word);
	const char *hint = !p->was_open ? "no block is open here"
	                   : p->block_was == CFG_BLOCK_SERVER ? "not a line of the crypto pki server block open here"
	                                                      : "not a line of the crypto pki trustpoint block open here";
	if (server && trustpoint)
		return cfg_fail(p, ln, "'%.60s' is only valid inside a crypto pki server or trustpoint block (%s)",
		                cfg_rest(ln, 0), hint);
	if (server || trustpoint)
		return cfg_fail(p, ln, "'%.60s' is only valid inside a crypto pki %s block (%s)", cfg_rest(ln, 0),
		                server ? "server" : "trustpoint", hint);
	/* A mistyped word: the closest of the commands valid here (the open block's first). */
	const char *nearest = NULL;
	if (p->was_open)
		nearest = p->block_was == CFG_BLOCK_SERVER ? cfg_server_nearest(word) : cfg_trustpoint_nearest(word);
	if (nearest == NULL)
		nearest = cfg_global_nearest(word);
	char guess[96] = "";
	if (nearest != NULL)
		snprintf(guess, sizeof(guess), " (did you mean '%s'?)", nearest);
	if (word != ln->w[0])
		return cfg_fail(p, ln, "unknown command 'no %.60s'%s", word, guess);
	return cfg_fail(p, ln, "unknown command '%.60s'%s", ln->w[0], guess);
}

const char *cfg_global_nearest(const char *word)
{
	return CFG_COMMAND_NEAREST(global_cmds, word);
}

int cfg_global_line(cfg_parser *p, const cfg_line *ln)
{
	const global_cmd *cmd = ln->n > 0 ? CFG_COMMAND_FIND(global_cmds, ln->w[0]) : NULL;
	int rc = cmd != NULL ? cmd->fn(p, ln) : -2; /* -2: not a global line */
	return rc == -2 ? not_global(p, ln) : rc;
}
