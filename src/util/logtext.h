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

#endif
