#include "util/logtext.h"

#include <stdio.h>
#include <string.h>

size_t ec_log_escape(const char *text, size_t len, char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	if (outsz == 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= outsz)
				break;
			out[o++] = (char)c;
			continue;
		}
		if (o + 4 >= outsz)
			break;
		out[o++] = '\\';
		out[o++] = 'x';
		out[o++] = hex[c >> 4];
		out[o++] = hex[c & 0xf];
	}
	out[o] = '\0';
	return o;
}

void ec_log_vline(ec_log_sink sink, void *ctx, const char *what, const char *name, const char *fmt, va_list ap)
{
	char line[EC_LOG_LINE_MAX];
	int n = snprintf(line, sizeof(line), "%s %s: ", what, name);
	if (n > 0 && (size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	sink(ctx, line);
}

/* The phrases of a CA's lines that record a decision (src/ca: ca_scep.c, ca_issue.c, ca_cmd.c,
 * ca_rollover.c). */
static const char *const decisions[] = {
	"by the operator", " issued by CA ", " issued to '", ") refused: ", "shadow CA successfully created",
	"rollover CA certificate", "enrollment password generated",
};
static const char *const failures[] = {"cannot ", "could not ", " failed", "unreadable"};

static bool has_any(const char *line, const char *const *words, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strstr(line, words[i]) != NULL)
			return true;
	return false;
}

ec_log_class ec_log_classify(const char *line)
{
	ec_log_class c = {EC_LOG_INFO, false};
	if (has_any(line, failures, sizeof(failures) / sizeof(failures[0]))) {
		c.level = EC_LOG_WARNING;
		return c;
	}
	if (strncmp(line, "CA ", 3) == 0 && has_any(line, decisions, sizeof(decisions) / sizeof(decisions[0]))) {
		c.level = EC_LOG_NOTICE;
		c.audit = true;
	}
	return c;
}
