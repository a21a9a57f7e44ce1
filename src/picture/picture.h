/*
 * picture.h - what the pictures share: a self-contained HTML page (its own style, inline SVG, no
 * script, no external font or file), escaping, and time labels relative to a start.
 *
 * Every function appends to a caller-owned ec_buf and returns 0, or -1 when the buffer's cap is
 * reached (the page is then incomplete and must not be written out).
 * Purity and threads: pure (no clock, no I/O); any thread.
 */
#ifndef EVERCERT_PICTURE_PICTURE_H
#define EVERCERT_PICTURE_PICTURE_H

#include "clock/clock.h"
#include "util/buf.h"
#include "util/err.h"

/* The page up to the opening of its body, with title as <title> and <h1>. */
int picture_html_begin(ec_buf *out, const char *title) EC_MUST_USE;
/* Closes the body and the page. */
int picture_html_end(ec_buf *out) EC_MUST_USE;
/* text with &, <, > and " escaped. */
int picture_html_escape(ec_buf *out, const char *text) EC_MUST_USE;
/* "day 640 12:00": t (milliseconds after a start) as days and hours. */
void picture_day_label(ec_time t, char out[EC_TIME_TEXT_MAX]);

/* The colours of the marks, the same in both pictures and in the legend (CSS colour names). */
#define PICTURE_COLOUR_CA "#4a6fa5"
#define PICTURE_COLOUR_CERT "#6aa84f"
#define PICTURE_COLOUR_SHADOW "#b4a7d6"
#define PICTURE_COLOUR_EARLY "#cc0000"
#define PICTURE_COLOUR_EVENT "#e69138"

#endif
