/* The fleet's load model: request counts of a simple fleet, the early clients' return before and
 * after the Retry-After spread, and both renderings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "picture/forecast.h"

#define DAY EC_MS_PER_DAY

static forecast_input fleet(int64_t clients, int percent, ec_time spread, bool spread_retry)
{
	forecast_input in = {730 * DAY, 365 * DAY, true, 90 * DAY, {percent}, 1, clients, spread, spread_retry};
	return in;
}

/* The hour holding the shadow generation's busiest second. */
static uint32_t second_peak_near(const forecast_result *r, ec_time at)
{
	uint32_t peak = 0;
	for (size_t h = (size_t)(at / FORECAST_HOUR); h < r->n_hours && h < (size_t)((at + 2 * DAY) / FORECAST_HOUR); h++)
		if (r->second_per_hour[h] > peak)
			peak = r->second_per_hour[h];
	return peak;
}

/* All at once at 80%: enroll (day 0), RENEW at 292 and 584 (certificate capped at 730), SHADOW at
 * 584 + 0.8 x 146 = 700.8 (after the shadow generation at 640: no 503), GetNextCACert and request;
 * after the switch the same: 1 + 1 + 1 + 2 + 1 + 1 + 2 = 9 requests per client. */
static void all_at_once_counts(void **state)
{
	(void)state;
	forecast_input in = fleet(1000, 80, 0, true);
	forecast_result r;
	ec_err err;
	assert_int_equal(forecast_run(&in, &r, &err), 0);
	assert_int_equal(r.total, 9000);
	assert_int_equal(r.early, 0);
	assert_int_equal(r.peak_second, 2000); /* the fleet's SHADOW, all at the same instant */
	assert_int_equal(r.shadow_at[0], 640 * DAY);
	assert_int_equal(r.switch_at[1], 1460 * DAY);
	forecast_result_free(&r);
}

/* 70% over a year: the clients installed between E-365d and E-300d ask before the shadow
 * generation. Before the spread they all come back in its first second; after, a handful a second. */
static void early_clients_before_and_after(void **state)
{
	(void)state;
	forecast_result before, after;
	ec_err err;
	forecast_input in = fleet(100000, 70, 365 * DAY, false);
	assert_int_equal(forecast_run(&in, &before, &err), 0);
	in.spread_retry = true;
	assert_int_equal(forecast_run(&in, &after, &err), 0);
	assert_true(before.early > 10000);
	assert_int_equal(before.early, after.early);
	assert_int_equal(before.total, after.total);
	assert_true(second_peak_near(&before, 640 * DAY) >= (uint32_t)before.early);
	assert_true(second_peak_near(&after, 640 * DAY) <= 12);
	forecast_result_free(&before);
	forecast_result_free(&after);
}

static void renderings(void **state)
{
	(void)state;
	forecast_input in = fleet(2000, 70, 365 * DAY, true);
	forecast_result r;
	ec_err err;
	assert_int_equal(forecast_run(&in, &r, &err), 0);
	ec_buf text, html;
	ec_buf_init(&text, 1 << 20);
	ec_buf_init(&html, 1 << 22);
	assert_int_equal(forecast_format_text(&in, &r, "ROOTCA", &text), 0);
	assert_int_equal(forecast_format_html(&in, &r, "ROOTCA", &html), 0);
	assert_int_equal(ec_buf_append(&text, "", 1), 0);
	assert_int_equal(ec_buf_append(&html, "", 1), 0);
	assert_non_null(strstr((char *)text.data, "shadow generation 1"));
	assert_non_null(strstr((char *)text.data, "Peak: "));
	assert_non_null(strstr((char *)html.data, "<svg"));
	assert_non_null(strstr((char *)html.data, "class=\"load\""));
	assert_null(strstr((char *)html.data, "<script"));
	assert_null(strstr((char *)html.data, "http://www.w3.org/2000/svg\" href"));
	ec_buf_free(&text);
	ec_buf_free(&html);
	forecast_result_free(&r);
}

static void refuses_nonsense(void **state)
{
	(void)state;
	forecast_result r;
	ec_err err;
	forecast_input in = fleet(0, 70, 0, true);
	assert_int_equal(forecast_run(&in, &r, &err), -1);
	in = fleet(10, 0, 0, true);
	assert_int_equal(forecast_run(&in, &r, &err), -1);
	in = fleet(10, 70, 800 * DAY, true);
	assert_int_equal(forecast_run(&in, &r, &err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(all_at_once_counts),
		cmocka_unit_test(early_clients_before_and_after),
		cmocka_unit_test(renderings),
		cmocka_unit_test(refuses_nonsense),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
