/* The forecast as a table and as an HTML page (see forecast.h). */
#include "picture/forecast.h"

#include <stdio.h>
#include <string.h>

#include "ca/retry_spread.h"
#include "picture/picture.h"

#define PERIOD_DAYS 30
#define CHART_W 960
#define CHART_H 240
#define CHART_LEFT 60
#define CHART_TOP 10
#define CHART_BOTTOM 30

/* What the heading says of the model. */
static int describe(const forecast_input *in, ec_buf *out)
{
	char pct[FORECAST_PERCENTS_MAX * 6] = "";
	for (size_t i = 0; i < in->n_percents; i++) {
		size_t n = strlen(pct);
		snprintf(pct + n, sizeof(pct) - n, "%s%d%%", i ? ", " : "", in->percents[i]);
	}
	char window[96] = "at the shadow generation, all in its second";
	if (in->spread_retry)
		snprintf(window, sizeof(window), "spread over %.1f hours after the shadow generation",
		         (double)retry_spread_window(in->rollover_period) / FORECAST_HOUR);
	return ec_buf_printf(out, "%lld clients (auto-enroll %s), first enrollments over %.1f days; lifetime "
	                     "certificate %.1f days, ca-certificate %.1f days, auto-rollover %s%.1f days; an early "
	                     "GetNextCACert comes back %s",
	                     (long long)in->clients, pct, (double)in->spread / EC_MS_PER_DAY,
	                     (double)in->cert_lifetime / EC_MS_PER_DAY, (double)in->ca_lifetime / EC_MS_PER_DAY,
	                     in->auto_rollover ? "" : "off, ", (double)in->rollover_period / EC_MS_PER_DAY, window);
}

/* One period's figures: requests, 503s, the busiest hour and its start. */
typedef struct period {
	ec_time from, to;
	int64_t requests, early;
	uint32_t busiest, second;
	ec_time busiest_at;
} period;

static period period_of(const forecast_result *r, ec_time from, ec_time to)
{
	period p = {from, to, 0, 0, 0, 0, from};
	for (size_t h = (size_t)(from / FORECAST_HOUR); h < r->n_hours && (ec_time)h * FORECAST_HOUR < to; h++) {
		p.requests += r->per_hour[h];
		p.early += r->early_per_hour[h];
		if (r->second_per_hour[h] > p.second)
			p.second = r->second_per_hour[h];
		if (r->per_hour[h] > p.busiest) {
			p.busiest = r->per_hour[h];
			p.busiest_at = (ec_time)h * FORECAST_HOUR;
		}
	}
	return p;
}

/* What happens in [from, to): the shadow generations and switches. */
static void events_in(const forecast_result *r, ec_time from, ec_time to, char *out, size_t sz)
{
	out[0] = '\0';
	for (int g = 0; g < 2; g++) {
		size_t n = strlen(out);
		if (r->shadow_at[g] >= from && r->shadow_at[g] < to)
			snprintf(out + n, sz - n, " shadow generation %d", g + 1);
		n = strlen(out);
		if (r->switch_at[g] >= from && r->switch_at[g] < to)
			snprintf(out + n, sz - n, " switch %d", g + 1);
	}
}

static int peaks_text(const forecast_result *r, ec_buf *out)
{
	char h[EC_TIME_TEXT_MAX], s[EC_TIME_TEXT_MAX];
	picture_day_label(r->peak_hour_at, h);
	picture_day_label(r->peak_second_at, s);
	return ec_buf_printf(out, "Peak: %u requests in the hour from %s; %u in one second at %s:%02lld.\n"
	                     "Total: %lld requests over %.0f days, %lld of them early GetNextCACert answered 503.\n",
	                     r->peak_hour, h, r->peak_second, s, (long long)(r->peak_second_at / 1000 % 60),
	                     (long long)r->total, (double)r->horizon / EC_MS_PER_DAY, (long long)r->early);
}

int forecast_format_text(const forecast_input *in, const forecast_result *r, const char *server, ec_buf *out)
{
	if (ec_buf_printf(out, "Forecast for certificate server %s: ", server) != 0 || describe(in, out) != 0 ||
	    ec_buf_printf(out, ".\nTimes are days after the CA certificate's start; periods without requests are "
	                  "left out.\n\n%-11s %9s %12s %-15s %7s %7s  %s\n", "days", "requests", "busiest hour",
	                  "(from)", "second", "503s", "events") != 0)
		return -1;
	ec_time step = PERIOD_DAYS * EC_MS_PER_DAY;
	for (ec_time from = 0; from < r->horizon; from += step) {
		period p = period_of(r, from, from + step < r->horizon ? from + step : r->horizon);
		char at[EC_TIME_TEXT_MAX], days[32], ev[96];
		picture_day_label(p.busiest_at, at);
		snprintf(days, sizeof(days), "%lld-%lld", (long long)(from / EC_MS_PER_DAY),
		         (long long)((p.to - 1) / EC_MS_PER_DAY));
		events_in(r, p.from, p.to, ev, sizeof(ev));
		if (p.requests == 0 && ev[0] == '\0')
			continue; /* a quiet period says nothing */
		if (ec_buf_printf(out, "%-11s %9lld %12u %-15s %7u %7lld %s\n", days, (long long)p.requests, p.busiest,
		                  p.busiest ? at : "-", p.second, (long long)p.early, ev) != 0)
			return -1;
	}
	return ec_buf_printf(out, "\n") == 0 ? peaks_text(r, out) : -1;
}

/* log10 for v >= 1, linear within each decade: enough for a chart, and no libm to link. */
static double decades(double v)
{
	int k = 0;
	while (v >= 10) {
		v /= 10;
		k++;
	}
	return k + (v - 1) / 9;
}

/* The y position of v on a scale of decades whose top is top_value. */
static double chart_y(double v, double top_value)
{
	double h = CHART_H - CHART_TOP - CHART_BOTTOM;
	double f = v <= 1 ? 0 : decades(v) / decades(top_value < 10 ? 10 : top_value);
	return CHART_TOP + h * (1 - f);
}

/* The axes: decades of requests per hour, a tick every 100 days, the shadow generations and the
 * switches as vertical lines. */
static int chart_axes(const forecast_result *r, double top, ec_buf *out)
{
	double w = CHART_W - CHART_LEFT - 10;
	for (double v = 1; v <= top * 1.0001; v *= 10) {
		double y = chart_y(v, top);
		if (ec_buf_printf(out, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
		                  "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%.0f</text>\n",
		                  CHART_LEFT, CHART_W - 10, y, y, CHART_LEFT - 4, y + 4, v) != 0)
			return -1;
	}
	for (ec_time d = 0; d * EC_MS_PER_DAY <= r->horizon; d += 100) {
		double x = CHART_LEFT + w * (double)(d * EC_MS_PER_DAY) / (double)r->horizon;
		if (ec_buf_printf(out, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">day %lld</text>\n",
		                  x, CHART_H - 8, (long long)d) != 0)
			return -1;
	}
	for (int g = 0; g < 4; g++) {
		ec_time t = g < 2 ? r->shadow_at[g] : r->switch_at[g - 2];
		if (t < 0 || t > r->horizon)
			continue;
		double x = CHART_LEFT + w * (double)t / (double)r->horizon;
		if (ec_buf_printf(out, "<line class=\"event\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"%s\" "
		                  "stroke-dasharray=\"4 3\"><title>%s %d</title></line>\n", x, x, CHART_TOP,
		                  CHART_H - CHART_BOTTOM, g < 2 ? PICTURE_COLOUR_EARLY : PICTURE_COLOUR_CA,
		                  g < 2 ? "shadow generation" : "switch", g % 2 + 1) != 0)
			return -1;
	}
	return 0;
}

/* One bar a day, as high as the day's busiest hour; red where 503s were among them. */
static int chart(const forecast_result *r, ec_buf *out)
{
	double top = r->peak_hour < 10 ? 10 : r->peak_hour;
	double w = CHART_W - CHART_LEFT - 10;
	size_t days = (size_t)(r->horizon / EC_MS_PER_DAY);
	if (ec_buf_printf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
	                  "viewBox=\"0 0 %d %d\" role=\"img\">\n", CHART_W, CHART_H, CHART_W, CHART_H) != 0 ||
	    chart_axes(r, top, out) != 0)
		return -1;
	for (size_t d = 0; d < days; d++) {
		period p = period_of(r, (ec_time)d * EC_MS_PER_DAY, (ec_time)(d + 1) * EC_MS_PER_DAY);
		if (p.busiest == 0)
			continue;
		double y = chart_y(p.busiest < 2 ? 2 : p.busiest, top);
		double x = CHART_LEFT + w * (double)d / (double)days;
		if (ec_buf_printf(out, "<rect class=\"load\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"%s\">"
		                  "<title>day %zu: busiest hour %u requests</title></rect>\n", x, y, w / (double)days + 0.3,
		                  CHART_H - CHART_BOTTOM - y, p.early ? PICTURE_COLOUR_EARLY : PICTURE_COLOUR_CERT, d,
		                  p.busiest) != 0)
			return -1;
	}
	return ec_buf_printf(out, "</svg>\n");
}

int forecast_format_html(const forecast_input *in, const forecast_result *r, const char *server, ec_buf *out)
{
	char title[160];
	snprintf(title, sizeof(title), "Request load forecast for certificate server %s", server);
	if (picture_html_begin(out, title) != 0 || ec_buf_printf(out, "<p class=\"note\">") != 0 ||
	    describe(in, out) != 0 ||
	    ec_buf_printf(out, ".</p>\n<p class=\"legend\"><span><i class=\"sw\" style=\"background:%s\"></i>busiest "
	                  "hour of each day (requests, log scale)</span><span><i class=\"sw\" style=\"background:%s\">"
	                  "</i>days with early GetNextCACert (503)</span><span>dashed: shadow generation (red), switch "
	                  "(blue)</span></p>\n", PICTURE_COLOUR_CERT, PICTURE_COLOUR_EARLY) != 0 ||
	    chart(r, out) != 0 || ec_buf_printf(out, "<pre>\n") != 0)
		return -1;
	ec_buf table;
	ec_buf_init(&table, out->cap);
	int rc = forecast_format_text(in, r, server, &table) == 0 && ec_buf_append(&table, "", 1) == 0 &&
	                 picture_html_escape(out, (const char *)table.data) == 0 && ec_buf_printf(out, "</pre>\n") == 0
	             ? picture_html_end(out)
	             : -1;
	ec_buf_free(&table);
	return rc;
}
