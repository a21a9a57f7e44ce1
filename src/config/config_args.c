/* Argument readers shared by the global, server and trustpoint lines: each checks one value fully
 * and names the line and the value in its error. */
#include "config/config_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Words quoted in errors are cut to this many characters. */
#define QUOTE_MAX 60

int cfg_fail(const cfg_parser *p, const cfg_line *ln, const char *fmt, ...)
{
	char what[EC_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return ec_err_set(p->err, "line %d: %s", ln->no, what);
}

bool cfg_is(const cfg_line *ln, size_t i, const char *kw)
{
	return i < ln->n && strcasecmp(ln->w[i], kw) == 0;
}

bool cfg_lookup(const cfg_line *ln, size_t i, const cfg_word *words, size_t n, int *out)
{
	for (size_t j = 0; j < n; j++) {
		if (cfg_is(ln, i, words[j].word)) {
			*out = words[j].value;
			return true;
		}
	}
	return false;
}

int cfg_int_setting(const cfg_parser *p, const cfg_line *ln, size_t i, long min, long max, const char *syntax,
                    const char *what, int *out)
{
	long v = 0;
	if (cfg_want(p, ln, i + 1, i + 1, syntax) != 0 || cfg_int(p, ln, i, min, max, what, &v) != 0)
		return -1;
	*out = (int)v;
	return 0;
}

int cfg_dn(const cfg_parser *p, const cfg_line *ln, const char *keyword, const char *example, char *dst,
           size_t dstsz)
{
	char syntax[64];
	snprintf(syntax, sizeof(syntax), "%s DN", keyword);
	if (cfg_want(p, ln, 2, CFG_WORDS_MAX, syntax) != 0)
		return -1;
	const char *dn = cfg_rest(ln, 1);
	if (strchr(dn, '=') == NULL)
		return cfg_fail(p, ln, "%s '%.60s' is not a distinguished name (e.g. %s)", keyword, dn, example);
	return cfg_text(p, ln, dn, dst, dstsz, keyword);
}

int cfg_choice(const cfg_parser *p, const cfg_line *ln, const cfg_choices *c)
{
	int value = -1;
	if (cfg_want(p, ln, c->word + 1, c->word + 1, c->syntax) != 0)
		return -1;
	if (!cfg_lookup(ln, c->word, c->words, c->n, &value))
		return cfg_fail(p, ln, "unknown %s '%.60s' (%s)", c->what, ln->w[c->word], c->hint);
	return value;
}

const void *cfg_command_find(const void *table, size_t n, size_t size, const char *word)
{
	const char *entry = table;
	for (size_t i = 0; i < n; i++, entry += size) {
		const char *keyword = *(const char *const *)(const void *)entry;
		if (strcasecmp(word, keyword) == 0)
			return entry;
	}
	return NULL;
}

/* Edit distance between a and b ignoring case, with a swap of two neighbours as one edit
 * ("isuer" and "issuer": 1; "isseur" and "issuer": 1); stops counting at CAP. */
#define DISTANCE_CAP 9
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 40 || lb > 40)
		return DISTANCE_CAP;
	size_t d[41][41];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
			size_t best = d[i - 1][j - 1] + cost;
			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == tolower((unsigned char)b[j - 1]) && d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[la][lb] < DISTANCE_CAP ? d[la][lb] : DISTANCE_CAP;
}

const char *cfg_command_nearest(const void *table, size_t n, size_t size, const char *word)
{
	const char *entry = table, *prefix_of = NULL, *nearest = NULL;
	size_t prefixes = 0, best = DISTANCE_CAP, len = strlen(word);
	/* A third of the word's letters may be wrong, at least one and at most three. */
	size_t allowed = len / 3 < 1 ? 1 : len / 3 > 3 ? 3 : len / 3;
	for (size_t i = 0; i < n; i++, entry += size) {
		const char *keyword = *(const char *const *)(const void *)entry;
		if (len > 0 && strncasecmp(word, keyword, len) == 0) {
			prefixes++;
			prefix_of = keyword;
		}
		size_t d = distance(word, keyword);
		if (d < best) {
			best = d;
			nearest = keyword;
		}
	}
	if (prefixes == 1)
		return prefix_of;
	return best <= allowed ? nearest : NULL;
}

int cfg_block_unknown(const cfg_parser *p, const cfg_line *ln, const char *block, const char *nearest)
{
	if (cfg_global_keyword(ln->w[0]))
		return cfg_fail(p, ln, "unknown command '%.60s' in crypto pki %s block (global commands start at "
		                "column 0)", ln->w[0], block);
	if (nearest != NULL)
		return cfg_fail(p, ln, "unknown command '%.60s' in crypto pki %s block (did you mean '%s'?)",
		                ln->w[0], block, nearest);
	return cfg_fail(p, ln, "unknown command '%.60s' in crypto pki %s block", ln->w[0], block);
}

void cfg_notice(const cfg_parser *p, const cfg_line *ln, const char *fmt, ...)
{
	cfg_config *cfg = p->cfg;
	if (cfg->n_notices == CFG_NOTICES_MAX) {
		snprintf(cfg->notices[CFG_NOTICES_MAX - 1], CFG_NOTICE_MAX, "and more lines like those above");
		return;
	}
	char what[CFG_NOTICE_MAX - 16]; /* room for "line N: " */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(cfg->notices[cfg->n_notices++], CFG_NOTICE_MAX, "line %d: %s", ln->no, what);
}

const char *cfg_rest(const cfg_line *ln, size_t i)
{
	return i < ln->n ? ln->raw + ln->off[i] : "";
}

int cfg_want(const cfg_parser *p, const cfg_line *ln, size_t min, size_t max, const char *syntax)
{
	if (ln->n < min)
		return cfg_fail(p, ln, "incomplete command (syntax: %s)", syntax);
	/* A line never has more than CFG_WORDS_MAX words: only a smaller max can be exceeded. */
	if (max < CFG_WORDS_MAX && ln->n > max)
		return cfg_fail(p, ln, "unexpected argument '%.*s' (syntax: %s)", QUOTE_MAX, ln->w[max], syntax);
	return 0;
}

int cfg_int(const cfg_parser *p, const cfg_line *ln, size_t i, long min, long max, const char *what,
            long *out)
{
	if (i >= ln->n)
		return cfg_fail(p, ln, "missing %s", what);
	const char *s = ln->w[i];
	for (const char *c = s; *c; c++) {
		if (!isdigit((unsigned char)*c))
			return cfg_fail(p, ln, "%s: '%.*s' is not a number", what, QUOTE_MAX, s);
	}
	errno = 0;
	char *end = NULL;
	long long v = strtoll(s, &end, 10);
	if (end == s || *end != '\0')
		return cfg_fail(p, ln, "%s: '%.*s' is not a number", what, QUOTE_MAX, s);
	if (errno == ERANGE || v < min || v > max)
		return cfg_fail(p, ln, "%s %.*s out of range %ld..%ld", what, QUOTE_MAX, s, min, max);
	*out = (long)v;
	return 0;
}

int cfg_text(const cfg_parser *p, const cfg_line *ln, const char *text, char *dst, size_t dstsz,
             const char *what)
{
	size_t len = strlen(text);
	if (len == 0)
		return cfg_fail(p, ln, "missing %s", what);
	if (len >= dstsz)
		return cfg_fail(p, ln, "%s is too long (at most %zu characters)", what, dstsz - 1);
	memcpy(dst, text, len + 1);
	return 0;
}

int cfg_name(const cfg_parser *p, const cfg_line *ln, size_t i, bool label, char *dst, const char *what)
{
	if (i >= ln->n)
		return cfg_fail(p, ln, "missing %s", what);
	const char *s = ln->w[i];
	if (s[0] == '.' || s[0] == '-' || s[0] == '#')
		return cfg_fail(p, ln, "%s '%.*s' must start with a letter, a digit or '_'", what, QUOTE_MAX, s);
	for (const char *c = s; *c; c++) {
		if (!isalnum((unsigned char)*c) && *c != '.' && *c != '_' && *c != '-' && !(label && *c == '#'))
			return cfg_fail(p, ln, "%s '%.*s' may only hold letters, digits, '.', '_' and '-'%s", what,
			                QUOTE_MAX, s, label ? " (and '#')" : "");
	}
	return cfg_text(p, ln, s, dst, CFG_NAME_MAX, what);
}

int cfg_secret(const cfg_parser *p, const cfg_line *ln, size_t i, char *dst, size_t dstsz,
               const char *syntax)
{
	if (cfg_want(p, ln, i + 1, i + 2, syntax) != 0)
		return -1;
	if (ln->n == i + 1)
		return cfg_text(p, ln, ln->w[i], dst, dstsz, "password");
	if (strcmp(ln->w[i], "0") == 0)
		return cfg_text(p, ln, ln->w[i + 1], dst, dstsz, "password");
	if (strcmp(ln->w[i], "7") != 0)
		return cfg_fail(p, ln, "password type '%.*s' is not 0 (clear text) or 7 (syntax: %s)", QUOTE_MAX,
		                ln->w[i], syntax);
	char clear[CFG_SECRET_MAX];
	if (cfg_type7_decode(ln->w[i + 1], clear, sizeof(clear)) != 0)
		return cfg_fail(p, ln, "'%.*s' is not a valid type 7 password", QUOTE_MAX, ln->w[i + 1]);
	return cfg_text(p, ln, clear, dst, dstsz, "password");
}

int cfg_dhm(const cfg_parser *p, const cfg_line *ln, size_t i, long max_days, ec_time *out)
{
	long days = 0, hours = 0, minutes = 0;
	if (cfg_int(p, ln, i, 0, max_days, "days", &days) != 0 ||
	    (i + 1 < ln->n && cfg_int(p, ln, i + 1, 0, 23, "hours", &hours) != 0) ||
	    (i + 2 < ln->n && cfg_int(p, ln, i + 2, 0, 59, "minutes", &minutes) != 0))
		return -1;
	if (days == 0 && hours == 0 && minutes == 0)
		return cfg_fail(p, ln, "the period must be longer than zero");
	*out = ec_time_dhm(days, hours, minutes);
	return 0;
}

int cfg_address(const cfg_parser *p, const cfg_line *ln, size_t i, char *dst, size_t dstsz,
                const char *what)
{
	unsigned char bin[16];
	if (i >= ln->n)
		return cfg_fail(p, ln, "missing %s", what);
	if (inet_pton(AF_INET, ln->w[i], bin) != 1 && inet_pton(AF_INET6, ln->w[i], bin) != 1)
		return cfg_fail(p, ln, "%s '%.*s' is not a numeric IPv4 or IPv6 address", what, QUOTE_MAX, ln->w[i]);
	return cfg_text(p, ln, ln->w[i], dst, dstsz, what);
}

size_t cfg_scheme_len(const char *text)
{
	if (!isalpha((unsigned char)text[0]))
		return 0;
	size_t i = 1;
	while (isalnum((unsigned char)text[i]) || text[i] == '+' || text[i] == '-' || text[i] == '.')
		i++;
	return text[i] == ':' ? i : 0;
}
