/* The `logging` lines: where the daemon's log goes and from which level on.
 *
 *   logging console [LEVEL]       standard error
 *   logging file PATH [LEVEL]     an absolute path, or a file name in the state directory
 *   logging syslog [LEVEL]        syslog(3), daemon facility (journald reads it under systemd)
 *
 * LEVEL is error, warning, notice, info (the default) or debug; the router's plural words
 * (errors, warnings, notifications, informational, debugging) are accepted too, so that a line
 * copied from a router's configuration reads the same. */
#include "config/config_internal.h"

#include <string.h>
#include <strings.h>

#define LOGGING_SYNTAX "logging console [LEVEL] | logging file PATH [LEVEL] | logging syslog [LEVEL] " \
                       "(LEVEL: error, warning, notice, info, debug)"

typedef struct level_word {
	const char *word, *router;
	int level;
} level_word;

static const level_word levels[] = {
	{"error", "errors", CFG_LOG_ERROR},    {"warning", "warnings", CFG_LOG_WARNING},
	{"notice", "notifications", CFG_LOG_NOTICE}, {"info", "informational", CFG_LOG_INFO},
	{"debug", "debugging", CFG_LOG_DEBUG},
};

const char *cfg_log_level_name(int level)
{
	for (size_t i = 0; i < CFG_COUNT(levels); i++)
		if (levels[i].level == level)
			return levels[i].word;
	return "off";
}

/* Word i as a level; the default when the line has no word i. */
static int level_at(const cfg_parser *p, const cfg_line *ln, size_t i, int *out)
{
	*out = CFG_LOG_INFO;
	if (i >= ln->n)
		return 0;
	for (size_t k = 0; k < CFG_COUNT(levels); k++)
		if (strcasecmp(ln->w[i], levels[k].word) == 0 || strcasecmp(ln->w[i], levels[k].router) == 0) {
			*out = levels[k].level;
			return 0;
		}
	return cfg_fail(p, ln, "unknown logging level '%.60s' (error, warning, notice, info or debug)", ln->w[i]);
}

static int file_line(cfg_parser *p, const cfg_line *ln, cfg_logging *l)
{
	if (cfg_want(p, ln, 3, 4, "logging file PATH [LEVEL]") != 0 || level_at(p, ln, 3, &l->file) != 0)
		return -1;
	const char *path = ln->w[2];
	/* A relative name is a file of the state directory, opened through it: no way out of it. */
	if (path[0] != '/' && (strchr(path, '/') != NULL || strcmp(path, ".") == 0 || strcmp(path, "..") == 0))
		return cfg_fail(p, ln, "logging file '%.60s': give an absolute path or a file name in the state "
		                "directory", path);
	return cfg_text(p, ln, path, l->file_path, sizeof(l->file_path), "logging file");
}

int cfg_cmd_logging(cfg_parser *p, const cfg_line *ln)
{
	cfg_logging *l = &p->cfg->logging;
	if (ln->n < 2)
		return cfg_fail(p, ln, "incomplete command (syntax: %s)", LOGGING_SYNTAX);
	int rc;
	if (cfg_is(ln, 1, "console"))
		rc = cfg_want(p, ln, 2, 3, "logging console [LEVEL]") != 0 ? -1 : level_at(p, ln, 2, &l->console);
	else if (cfg_is(ln, 1, "syslog"))
		rc = cfg_want(p, ln, 2, 3, "logging syslog [LEVEL]") != 0 ? -1 : level_at(p, ln, 2, &l->syslog);
	else if (cfg_is(ln, 1, "file"))
		rc = file_line(p, ln, l);
	else
		return cfg_fail(p, ln, "unknown logging destination '%.60s' (syntax: %s)", ln->w[1], LOGGING_SYNTAX);
	if (rc != 0)
		return -1;
	if (!l->set)
		l->line = ln->no;
	l->set = true;
	return 0;
}
