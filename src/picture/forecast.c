/* The fleet's request load, client by client (see forecast.h). */
#include "picture/forecast.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/retry_spread.h"
#include "client/tp_machine.h"

/* The requests of the whole run, their times collected for the per-second peak. */
typedef struct load {
	const forecast_input *in;
	forecast_result *r;
	ec_time *times;
	size_t n, cap;
	bool full;
} load;

static void count(load *l, ec_time at, bool early)
{
	if (at < 0 || at >= l->r->horizon)
		return;
	size_t h = (size_t)(at / FORECAST_HOUR);
	l->r->per_hour[h]++;
	l->r->total++;
	if (early) {
		l->r->early_per_hour[h]++;
		l->r->early++;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4096;
		ec_time *t = realloc(l->times, cap * sizeof(*t));
		if (t == NULL) {
			l->full = true;
			return;
		}
		l->times = t;
		l->cap = cap;
	}
	l->times[l->n++] = at;
}

/* A SHADOW at fire for a certificate ending with its CA at ca_end: returns when the request to
 * the successor goes out, after any 503s. */
static ec_time shadow_request(load *l, int64_t client, ec_time fire, ec_time ca_end)
{
	const forecast_input *in = l->in;
	ec_time shadow_at = in->auto_rollover ? ca_end - in->rollover_period : INT64_MAX;
	ec_time at = fire;
	while (at < shadow_at && at < ca_end) {
		count(l, at, true);
		int64_t secs;
		if (!in->auto_rollover)
			secs = 86400; /* the CA's default: no successor will come by itself */
		else if (in->spread_retry) {
			char source[32];
			snprintf(source, sizeof(source), "client-%lld", (long long)client);
			secs = retry_spread_seconds(at, shadow_at, retry_spread_window(in->rollover_period),
			                            retry_spread_key(source, at));
		} else
			secs = (shadow_at - at + 999) / 1000;
		at += (secs < 1 ? 1 : secs) * 1000;
	}
	if (at >= ca_end)
		return INT64_MAX; /* no successor in time: the model stops following this client */
	count(l, at, false);  /* GetNextCACert answered */
	count(l, at, false);  /* the request to the successor */
	return at;
}

/* One client from its first enrollment at t to the horizon. */
static void client_run(load *l, int64_t client, int percent, ec_time t)
{
	const forecast_input *in = l->in;
	ec_time c = in->ca_lifetime;
	count(l, t, false);
	ec_time installed = t;
	while (installed < l->r->horizon) {
		ec_time ca_end = (installed / c + 1) * c;
		ec_time end = installed + in->cert_lifetime < ca_end ? installed + in->cert_lifetime : ca_end;
		ec_time fire = tp_renewal_time(installed, end, percent);
		if (end < ca_end) {
			count(l, fire, false);
			installed = fire;
			continue;
		}
		if (shadow_request(l, client, fire, ca_end) == INT64_MAX)
			return;
		installed = ca_end;
	}
}

static int cmp_time(const void *a, const void *b)
{
	ec_time x = *(const ec_time *)a, y = *(const ec_time *)b;
	return x < y ? -1 : x > y;
}

/* The busiest hour, and the busiest second from the sorted request times. */
static void peaks(load *l)
{
	forecast_result *r = l->r;
	for (size_t h = 0; h < r->n_hours; h++)
		if (r->per_hour[h] > r->peak_hour) {
			r->peak_hour = r->per_hour[h];
			r->peak_hour_at = (ec_time)h * FORECAST_HOUR;
		}
	qsort(l->times, l->n, sizeof(ec_time), cmp_time);
	for (size_t i = 0, j = 0; i < l->n; i = j) {
		ec_time sec = l->times[i] / 1000;
		for (j = i; j < l->n && l->times[j] / 1000 == sec; j++)
			;
		size_t h = (size_t)(l->times[i] / FORECAST_HOUR);
		if (j - i > r->second_per_hour[h])
			r->second_per_hour[h] = (uint32_t)(j - i);
		if (j - i > r->peak_second) {
			r->peak_second = (uint32_t)(j - i);
			r->peak_second_at = sec * 1000;
		}
	}
}

static int check_input(const forecast_input *in, ec_err *err)
{
	if (in->clients < 1 || in->clients > FORECAST_CLIENTS_MAX)
		return ec_err_set(err, "the number of clients must be from 1 to %d", FORECAST_CLIENTS_MAX);
	if (in->n_percents < 1 || in->n_percents > FORECAST_PERCENTS_MAX)
		return ec_err_set(err, "no auto-enroll percentage for the clients");
	for (size_t i = 0; i < in->n_percents; i++)
		if (in->percents[i] < 1 || in->percents[i] > 100)
			return ec_err_set(err, "auto-enroll percentage %d is not from 1 to 100", in->percents[i]);
	if (in->ca_lifetime < FORECAST_HOUR || in->cert_lifetime < FORECAST_HOUR)
		return ec_err_set(err, "lifetimes under an hour cannot be forecast per hour");
	if (in->spread < 0 || in->spread > in->ca_lifetime)
		return ec_err_set(err, "the enrollment spread must be within the CA certificate's lifetime");
	return 0;
}

int forecast_run(const forecast_input *in, forecast_result *out, ec_err *err)
{
	memset(out, 0, sizeof(*out));
	if (check_input(in, err) != 0)
		return -1;
	out->horizon = 2 * in->ca_lifetime;
	out->n_hours = (size_t)((out->horizon + FORECAST_HOUR - 1) / FORECAST_HOUR);
	out->per_hour = calloc(out->n_hours, sizeof(uint32_t));
	out->early_per_hour = calloc(out->n_hours, sizeof(uint32_t));
	out->second_per_hour = calloc(out->n_hours, sizeof(uint32_t));
	for (int g = 0; g < 2; g++) {
		out->switch_at[g] = (ec_time)(g + 1) * in->ca_lifetime;
		out->shadow_at[g] = in->auto_rollover ? out->switch_at[g] - in->rollover_period : INT64_MAX;
	}
	load l = {in, out, NULL, 0, 0, false};
	for (int64_t i = 0; out->per_hour && out->early_per_hour && out->second_per_hour && i < in->clients; i++) {
		ec_time first = (ec_time)((double)in->spread * (double)i / (double)in->clients);
		client_run(&l, i, in->percents[i % (int64_t)in->n_percents], first);
	}
	if (!out->per_hour || !out->early_per_hour || !out->second_per_hour || l.full) {
		free(l.times);
		forecast_result_free(out);
		return ec_err_set(err, "out of memory");
	}
	peaks(&l);
	free(l.times);
	return 0;
}

void forecast_result_free(forecast_result *r)
{
	free(r->per_hour);
	free(r->early_per_hour);
	free(r->second_per_hour);
	r->per_hour = r->early_per_hour = r->second_per_hour = NULL;
}
