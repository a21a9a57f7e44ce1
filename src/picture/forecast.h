/*
 * forecast.h - the CA's request load from a fleet of auto-enrolling clients, modelled.
 *
 * N clients enroll first over a spread after the CA's start (evenly, the i-th at spread x i / N),
 * split evenly among the auto-enroll percentages given. Each then follows the trustpoint's
 * machine: a certificate installed at T ending at X (the certificate lifetime, capped by its CA's
 * end E) fires at T + P x (X - T) (tp_renewal_time); RENEW when X < E (one enrollment request), SHADOW otherwise
 * (GetNextCACert, then a request to the successor, whose certificate starts at E). A GetNextCACert
 * before the shadow generation (E - R) is answered 503 and comes back at the Retry-After: at
 * E - R exactly (the CA's behaviour before retry_spread.h) or spread as the CA spreads it now.
 * Every request counts: GetNextCACert (503 or not) and enrollment requests alike. The model runs
 * from the CA's start across its first two rollovers (to the end of the second generation).
 *
 * Ownership: forecast_run fills a forecast_result whose arrays forecast_result_free releases.
 * Purity and threads: pure (no clock, no I/O); any thread (the CLI calls it).
 */
#ifndef EVERCERT_PICTURE_FORECAST_H
#define EVERCERT_PICTURE_FORECAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock/clock.h"
#include "util/buf.h"
#include "util/err.h"

#define FORECAST_CLIENTS_MAX 10000000
#define FORECAST_PERCENTS_MAX 16
#define FORECAST_HOUR ((ec_time)3600 * 1000)

typedef struct forecast_input {
	ec_time ca_lifetime;        /* C */
	ec_time cert_lifetime;      /* L */
	bool auto_rollover;
	ec_time rollover_period;    /* R */
	int percents[FORECAST_PERCENTS_MAX]; /* the clients' auto-enroll percentages (1..100) */
	size_t n_percents;
	int64_t clients;            /* N */
	ec_time spread;             /* first enrollments over [0, spread) after the CA's start */
	bool spread_retry;          /* early GetNextCACert: spread (true) or all at E - R */
} forecast_input;

typedef struct forecast_result {
	ec_time horizon;            /* the model covers [0, horizon), times from the CA's start */
	size_t n_hours;
	uint32_t *per_hour;         /* requests in each hour */
	uint32_t *early_per_hour;   /* of which GetNextCACert answered 503 */
	uint32_t *second_per_hour;  /* the busiest second within each hour */
	int64_t total, early;
	uint32_t peak_hour;         /* the busiest hour's requests, and its start */
	ec_time peak_hour_at;
	uint32_t peak_second;       /* the busiest second's requests, and its start */
	ec_time peak_second_at;
	ec_time shadow_at[2];       /* the two shadow generations (E - R) and switches (E) */
	ec_time switch_at[2];
} forecast_result;

int forecast_run(const forecast_input *in, forecast_result *out, ec_err *err) EC_MUST_USE;
void forecast_result_free(forecast_result *r);

/* Renderers (forecast_render.c): a table of 30-day periods (requests, the busiest hour and
 * second, 503s)
 * with the peaks, and the same as an HTML page with a chart of each day's busiest hour. server
 * names the CA in the heading. Append to out; -1 when out's cap is reached. */
int forecast_format_text(const forecast_input *in, const forecast_result *r, const char *server,
                         ec_buf *out) EC_MUST_USE;
int forecast_format_html(const forecast_input *in, const forecast_result *r, const char *server,
                         ec_buf *out) EC_MUST_USE;

#endif
