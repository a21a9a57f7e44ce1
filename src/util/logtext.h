/*
 * logtext.h - text as it may appear in a log line.
 *
 * A log line must say only what the daemon means: a URL path, a subject name, a transactionID,
 * a header value or a peer's error text, all chosen by whoever talks to the daemon, must not be
 * able to end the line and start a forged one, or to pass for the daemon's own words. Every
 * byte outside printable ASCII (0x20-0x7e) is therefore written as \xNN: the control characters
 * (LF, CR, ESC ...), DEL, and every byte >= 0x80. UTF-8 is escaped too, byte by byte: some
 * viewers take U+0085, U+2028 or U+2029 for line breaks, and bidirectional controls can reorder
 * what a reader sees; a log in plain ASCII has neither problem. The backslash itself is written
 * \x5c, so that every backslash in a log starts an escape and an escape cannot be faked.
 *
 * Purity and threads: pure; any thread.
 */
#ifndef EVERCERT_UTIL_LOGTEXT_H
#define EVERCERT_UTIL_LOGTEXT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/err.h" /* EC_PRINTF */

/* The longest line ec_log_vline hands on (longer ones are cut). */
#define EC_LOG_LINE_MAX 1024

/* Where a library's log or audit lines go: one call per line, without its line ending. */
typedef void (*ec_log_sink)(void *ctx, const char *line);

/* Writes len bytes of text, escaped as above, into out (size outsz >= 1, always NUL-terminated);
 * stops at the last whole character or escape that fits. Returns the length written. */
size_t ec_log_escape(const char *text, size_t len, char *out, size_t outsz);

/* Formats "WHAT NAME: <fmt...>" (a CA's or a trustpoint's line: "CA ROOTCA: ...") as one line and
 * hands it to sink. The text is used as given: escape what came from outside before. */
void ec_log_vline(ec_log_sink sink, void *ctx, const char *what, const char *name, const char *fmt, va_list ap)
	EC_PRINTF(5, 0);

/* Levels of a line, as syslog(3)'s priorities (the configuration's `logging` levels). */
enum ec_log_level { EC_LOG_ERROR = 3, EC_LOG_WARNING = 4, EC_LOG_NOTICE = 5, EC_LOG_INFO = 6, EC_LOG_DEBUG = 7 };

/* What a module's line is: its level, and whether it records a decision (a certificate issued,
 * a request refused, granted or rejected, a certificate revoked, a CA rolled over or switched,
 * an operator's action), which the daemon writes to the audit trail. The modules hand over
 * plain lines (ec_log_sink); their wording says which is which: a CA's line naming such a
 * decision is audit at notice, a line telling of a failure ("cannot", "could not", "failed")
 * a warning, a line of each HTTP request info, every other line info. Names a client chose
 * are part of some lines, so only the daemon's own phrases are looked for, whole. */
typedef struct ec_log_class {
	int level;
	bool audit;
} ec_log_class;
ec_log_class ec_log_classify(const char *line);

#endif
