/*
 * timerlist.h - the display of PKI timers (`show crypto pki timers`), in the router's format.
 *
 * Pure: takes a list of named absolute fire-at times and the current time, and writes
 *   <Title>
 *   |        5:54:17.054
 *   |        5:54:17.054  CS CRL UPDATE
 *   |  639d23:54:17.054  CS SHADOW CERT GENERATION
 * sorted soonest first, the first line giving the soonest countdown alone.
 */
#ifndef EVERCERT_CLOCK_TIMERLIST_H
#define EVERCERT_CLOCK_TIMERLIST_H

#include <stddef.h>

#include "clock/clock.h"
#include "util/buf.h"

#define EC_TIMER_NAME_MAX 96

typedef struct ec_timer_entry {
	char name[EC_TIMER_NAME_MAX];
	ec_time fire_at;
} ec_timer_entry;

/* Sorts entries by fire_at (stable for equal times). */
void ec_timers_sort(ec_timer_entry *t, size_t n);

/* Appends one section; an empty list writes the title and "|  (none)". */
int ec_timers_format(ec_buf *out, const char *title, ec_timer_entry *t, size_t n, ec_time now) EC_MUST_USE;

/* Appends a JSON array of {"name","fire_at","remaining_ms"} objects. */
int ec_timers_format_json(ec_buf *out, ec_timer_entry *t, size_t n, ec_time now) EC_MUST_USE;

#endif
