/* The configuration parser's driver: splits the text into lines, routes each line to the open
 * block or to the globals, then checks what only the whole configuration can tell (references
 * between blocks). */
#include "config/config_internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/fsutil.h"

/* Reads the line starting at *pos into ln (without its LF or CRLF) and moves *pos past it. Refuses
 * over-long lines, NUL bytes and control characters other than tab. */
static int read_line(cfg_parser *p, const uint8_t *text, size_t len, size_t *pos, cfg_line *ln)
{
	const uint8_t *start = text + *pos;
	const uint8_t *nl = memchr(start, '\n', len - *pos);
	size_t n = nl != NULL ? (size_t)(nl - start) : len - *pos;
	*pos += nl != NULL ? n + 1 : n;
	if (n > 0 && start[n - 1] == '\r')
		n--;
	if (n > CFG_LINE_MAX)
		return cfg_fail(p, ln, "line longer than %d characters", CFG_LINE_MAX);
	for (size_t i = 0; i < n; i++) {
		if (start[i] == '\0')
			return cfg_fail(p, ln, "NUL byte in the configuration");
		if ((start[i] < 0x20 && start[i] != '\t') || start[i] == 0x7f)
			return cfg_fail(p, ln, "control character 0x%02x in the configuration", start[i]);
	}
	memcpy(ln->raw, start, n);
	ln->raw[n] = '\0';
	/* A no-break space (U+00A0), as text copied from a web page may have, is a space. */
	bool nbsp = false;
	for (char *c = ln->raw; (c = strstr(c, "\xc2\xa0")) != NULL; c += 2) {
		c[0] = c[1] = ' ';
		nbsp = true;
	}
	if (nbsp)
		cfg_notice(p, ln, "no-break spaces (U+00A0) read as spaces");
	while (n > 0 && (ln->raw[n - 1] == ' ' || ln->raw[n - 1] == '\t'))
		n--;
	ln->raw[n] = '\0';
	ln->indented = n > 0 && (ln->raw[0] == ' ' || ln->raw[0] == '\t');
	return 0;
}

/* Splits ln->raw into words at spaces and tabs. */
static int split_words(cfg_parser *p, cfg_line *ln)
{
	size_t len = strlen(ln->raw);
	memcpy(ln->words, ln->raw, len + 1);
	ln->n = 0;
	size_t i = 0;
	for (;;) {
		while (ln->words[i] == ' ' || ln->words[i] == '\t')
			i++;
		if (ln->words[i] == '\0')
			return 0;
		if (ln->n == CFG_WORDS_MAX)
			return cfg_fail(p, ln, "too many words on one line (at most %d)", CFG_WORDS_MAX);
		ln->off[ln->n] = i;
		ln->w[ln->n++] = ln->words + i;
		while (ln->words[i] != '\0' && ln->words[i] != ' ' && ln->words[i] != '\t')
			i++;
		if (ln->words[i] != '\0')
			ln->words[i++] = '\0';
	}
}

/* Whether an unindented line stays in the open block: as a router in configuration mode does,
 * a line valid in the block belongs to it (text pasted from a web page loses its indentation),
 * and the first line that is not, closes it. A notice names the first such line of each block. */
static bool stays_in_block(cfg_parser *p, const cfg_line *ln)
{
	const char *word = cfg_is(ln, 0, "no") && ln->n > 1 ? ln->w[1] : ln->w[0];
	bool server = p->block == CFG_BLOCK_SERVER;
	if (cfg_global_keyword(ln->w[0]) || !(server ? cfg_server_keyword(word) : cfg_trustpoint_keyword(word)))
		return false;
	if (p->noted_block != p->block || p->noted_index != p->index) {
		p->noted_block = p->block;
		p->noted_index = p->index;
		cfg_notice(p, ln, "'%.60s' at column 0 taken as a line of crypto pki %s %s, as a router does "
		           "(indent the lines of a block to make it plain)", cfg_rest(ln, 0), server ? "server" : "trustpoint",
		           server ? p->cfg->servers[p->index].name : p->cfg->trustpoints[p->index].name);
	}
	return true;
}

/* One line: a comment or blank line, a line of the open block, or a global line. `!` at column 0,
 * `exit` and any unindented line that is not the block's close the open block; an indented `!` is a
 * comment inside it. */
static int handle_line(cfg_parser *p, const cfg_line *ln)
{
	if (ln->n == 0)
		return 0;
	if (ln->w[0][0] == '!') {
		if (!ln->indented)
			p->block = CFG_BLOCK_NONE;
		return 0;
	}
	if (p->end_line != 0)
		return cfg_fail(p, ln, "text after 'end' (line %d)", p->end_line);
	p->was_open = p->block != CFG_BLOCK_NONE;
	p->block_was = p->block;
	if (p->block != CFG_BLOCK_NONE && (ln->indented || stays_in_block(p, ln))) {
		if (cfg_is(ln, 0, "exit")) {
			p->block = CFG_BLOCK_NONE;
			return cfg_want(p, ln, 1, 1, "exit");
		}
		if (p->block == CFG_BLOCK_SERVER)
			return cfg_server_line(p, ln, &p->cfg->servers[p->index]);
		return cfg_trustpoint_line(p, ln, &p->cfg->trustpoints[p->index]);
	}
	p->block = CFG_BLOCK_NONE;
	return cfg_global_line(p, ln);
}

/* Every `grant auto trustpoint`/`tp-list` name must be a trustpoint or a server (whose own
 * certificates a server trusts). */
static int check_grant_names(cfg_parser *p, size_t si, cfg_line *ln)
{
	const cfg_server *s = &p->cfg->servers[si];
	if (s->grant != CFG_GRANT_AUTO_TRUSTPOINT)
		return 0;
	ln->no = p->grant_line[si];
	for (size_t i = 0; i < s->n_grant_trustpoints; i++) {
		const char *tp = s->grant_trustpoints[i];
		if (cfg_find_trustpoint(p->cfg, tp) == NULL && cfg_find_server(p->cfg, tp) == NULL)
			return cfg_fail(p, ln, "grant auto trustpoint %s: no crypto pki trustpoint or server named %s",
			                tp, tp);
	}
	return 0;
}

/* Checks across blocks, after the whole text is read. */
static int validate(cfg_parser *p, cfg_line *ln)
{
	const cfg_config *cfg = p->cfg;
	for (size_t i = 0; i < cfg->n_servers; i++) {
		for (size_t j = 0; j < i; j++) {
			if (strcmp(cfg->servers[i].name, cfg->servers[j].name) == 0) {
				ln->no = cfg->servers[i].line;
				return cfg_fail(p, ln, "duplicate crypto pki server %s (already defined at line %d)",
				                cfg->servers[i].name, cfg->servers[j].line);
			}
		}
		if (check_grant_names(p, i, ln) != 0)
			return -1;
	}
	return 0;
}

static void config_defaults(cfg_config *cfg)
{
	cfg->http_port = 80;
	cfg->http_max_connections = CFG_HTTP_MAX_CONNECTIONS;
	cfg->clock_simulate_rate = 1.0;
}

int cfg_parse(const uint8_t *text, size_t len, cfg_config **out, ec_err *err)
{
	int rc = -1;
	cfg_config *cfg = NULL;
	cfg_line *ln = NULL;
	cfg_parser p = {.err = err, .block = CFG_BLOCK_NONE};
	*out = NULL;
	if (len > CFG_FILE_MAX) {
		ec_err_set(err, "configuration larger than %d bytes", CFG_FILE_MAX);
		goto out;
	}
	cfg = calloc(1, sizeof(*cfg));
	ln = calloc(1, sizeof(*ln));
	if (cfg == NULL || ln == NULL) {
		ec_err_set(err, "out of memory reading the configuration");
		goto out;
	}
	config_defaults(cfg);
	p.cfg = cfg;
	size_t pos = 0;
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		pos = 3; /* a UTF-8 byte order mark, as some editors write */
	while (pos < len) {
		ln->no++;
		if (read_line(&p, text, len, &pos, ln) != 0 || split_words(&p, ln) != 0 || handle_line(&p, ln) != 0)
			goto out;
	}
	if (validate(&p, ln) != 0)
		goto out;
	*out = cfg;
	cfg = NULL;
	rc = 0;
out:
	free(cfg);
	free(ln);
	return rc;
}

int cfg_load_file(const char *path, cfg_config **out, ec_err *err)
{
	uint8_t *text = NULL;
	size_t len = 0;
	*out = NULL;
	if (ec_read_file(path, CFG_FILE_MAX, &text, &len, err) != 0)
		return -1;
	int rc = cfg_parse(text, len, out, err);
	if (rc != 0)
		ec_err_wrap(err, "%s", path);
	free(text);
	return rc;
}

void cfg_config_free(cfg_config *cfg)
{
	free(cfg);
}

int cfg_key_bits(const cfg_config *cfg, const char *label, int def)
{
	for (size_t i = 0; i < cfg->n_keys; i++) {
		if (strcmp(cfg->keys[i].label, label) == 0)
			return cfg->keys[i].bits;
	}
	return def;
}

const cfg_server *cfg_find_server(const cfg_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_servers; i++) {
		if (strcmp(cfg->servers[i].name, name) == 0)
			return &cfg->servers[i];
	}
	return NULL;
}

const cfg_trustpoint *cfg_find_trustpoint(const cfg_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_trustpoints; i++) {
		if (strcmp(cfg->trustpoints[i].name, name) == 0)
			return &cfg->trustpoints[i];
	}
	return NULL;
}
