/* show_timeline.h - the CLI's side of `show timeline [--html FILE]`: the words the daemon gets
 * (the terminal's width, colour only on a terminal, html for a file) and the file written.
 * Single-threaded, like the rest of the CLI. */
#ifndef EVERCERT_CLI_SHOW_TIMELINE_H
#define EVERCERT_CLI_SHOW_TIMELINE_H

#include <stddef.h>

#include "util/buf.h"

/* When words[0..*n) are `show timeline ...`: takes `--html FILE` out (*html = FILE, the daemon
 * asked for `html`), or on a terminal adds `width COLUMNS` (text kept in width_text) and, unless
 * NO_COLOR is set, `colour`. max: the capacity of words. 0, or -1 with the reason printed. */
int cli_timeline_words(char **words, int *n, int max, const char **html, char *width_text, size_t width_sz);

/* Writes the page (reply text from offset text) to file; prints where. The exit status. */
int cli_timeline_save(const ec_buf *reply, size_t text, const char *file);

#endif
