/*
 * clock.h - the one clock of the daemon, and time arithmetic and display.
 *
 * Every "now" in evercert comes from an ec_clock passed down from the daemon; no other module
 * reads the wall clock. Times are ec_time: milliseconds since the Unix epoch, UTC.
 *
 * A clock is either the system clock or a simulated clock (a start time and a rate; rate 0 freezes
 * it so that only ec_clock_advance moves it). The simulated clock is what makes years of rollover
 * testable in seconds. The clock also answers whether it is authoritative (SPEC §2): a simulated
 * clock always is; the system clock is when `clock calendar-valid` is configured or the kernel
 * reports it synchronised.
 *
 * An ec_clock may be read from several threads; advancing it is serialised by its own lock.
 */
#ifndef EVERCERT_CLOCK_CLOCK_H
#define EVERCERT_CLOCK_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef int64_t ec_time;

#define EC_MS_PER_SECOND ((ec_time)1000)
#define EC_MS_PER_MINUTE ((ec_time)60 * 1000)
#define EC_MS_PER_HOUR ((ec_time)3600 * 1000)
#define EC_MS_PER_DAY ((ec_time)86400 * 1000)

typedef struct ec_clock ec_clock;

/* The system clock. calendar_valid forces it authoritative (`clock calendar-valid`). */
ec_clock *ec_clock_new_system(bool calendar_valid);

/* A simulated clock starting at start, moving at rate simulated seconds per real second. */
ec_clock *ec_clock_new_simulated(ec_time start, double rate);

void ec_clock_free(ec_clock *clk);

/* The current time. */
ec_time ec_clock_now(ec_clock *clk);

bool ec_clock_is_simulated(ec_clock *clk);

/* Milliseconds on the machine's monotonic clock, for I/O deadlines only (how long a child
 * process or a socket may take): never a date, never simulated. */
ec_time ec_elapsed_ms(void);

/* Whether PKI timers may run (SPEC §2). */
bool ec_clock_is_authoritative(ec_clock *clk);

/* Moves a simulated clock forward by delta ms; -1 for the system clock or a negative delta. */
int ec_clock_advance(ec_clock *clk, ec_time delta, ec_err *err) EC_MUST_USE;

/* Sets a simulated clock to t (forward only); -1 otherwise. */
int ec_clock_set(ec_clock *clk, ec_time t, ec_err *err) EC_MUST_USE;

/* ---- display and parsing (pure) ---- */

#define EC_TIME_TEXT_MAX 64

/* A countdown in the router's form: [<D>d]H:MM:SS.mmm, leading zero fields dropped
 * ("5:54:17.977", "639d23:54:17.977", "7:49.003", "0.500"). Negative values print as 0.000. */
void ec_time_format_countdown(ec_time ms, char out[EC_TIME_TEXT_MAX]);

/* A date in the router's form, in the display zone: "13:14:16 UTC Oct 9 2015",
 * "14:14:16 CET Oct 9 2015". */
void ec_time_format_router(ec_time t, char out[EC_TIME_TEXT_MAX]);

/* The display zone of ec_time_format_router (`clock timezone NAME HOURS [MINUTES]`): its name
 * (NULL or "": UTC, offset ignored) and its offset in minutes east of UTC. Process-wide, as the
 * router's is; any thread may call it and the formatter at any time. */
void ec_time_set_display_zone(const char *name, int offset_minutes);

/* ISO 8601 in UTC with milliseconds: "2015-10-09T13:14:16.000Z". */
void ec_time_format_iso(ec_time t, char out[EC_TIME_TEXT_MAX]);

/* Parses "2015-10-09T13:14:16Z", with optional ".mmm" and an optional "Z" (always UTC). */
int ec_time_parse_iso(const char *text, ec_time *out) EC_MUST_USE;

/* Parses a duration: "90d", "5m42.946s", "1d2h3m", "639d23:54:18", "23:54:18.5", "1500ms". */
int ec_duration_parse(const char *text, ec_time *out) EC_MUST_USE;

/* Days/hours/minutes to ms, as used by `lifetime` and `auto-rollover` lines. */
ec_time ec_time_dhm(int64_t days, int64_t hours, int64_t minutes);

#endif
