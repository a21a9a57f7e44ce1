/* The clock: simulated time, countdown and date display, ISO and duration parsing, timer lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "clock/clock.h"
#include "clock/timerlist.h"

static void countdown_formats(void **state)
{
	char out[EC_TIME_TEXT_MAX];
	ec_time_format_countdown(ec_time_dhm(0, 5, 54) + 17054, out);
	assert_string_equal(out, "5:54:17.054");
	ec_time_format_countdown(ec_time_dhm(639, 23, 54) + 17054, out);
	assert_string_equal(out, "639d23:54:17.054");
	ec_time_format_countdown(7 * EC_MS_PER_MINUTE + 49003, out);
	assert_string_equal(out, "7:49.003");
	ec_time_format_countdown(500, out);
	assert_string_equal(out, "0.500");
	ec_time_format_countdown(-5, out);
	assert_string_equal(out, "0.000");
	ec_time_format_countdown(3 * EC_MS_PER_DAY + ec_time_dhm(0, 7, 5) + 24003, out);
	assert_string_equal(out, "3d7:05:24.003");
}

static void iso_round_trip(void **state)
{
	ec_time t;
	char out[EC_TIME_TEXT_MAX];
	assert_int_equal(ec_time_parse_iso("2015-10-09T13:14:16Z", &t), 0);
	assert_int_equal(t, INT64_C(1444396456000));
	ec_time_format_iso(t, out);
	assert_string_equal(out, "2015-10-09T13:14:16.000Z");
	ec_time_format_router(t, out);
	assert_string_equal(out, "13:14:16 UTC Oct 9 2015");
	assert_int_equal(ec_time_parse_iso("2015-10-09T13:14:16.5", &t), 0);
	assert_int_equal(t % 1000, 500);
	assert_int_not_equal(ec_time_parse_iso("2015-13-09T13:14:16Z", &t), 0);
	assert_int_not_equal(ec_time_parse_iso("2015-10-09", &t), 0);
	assert_int_not_equal(ec_time_parse_iso("2015-10-09T13:14:16Zjunk", &t), 0);
	assert_int_not_equal(ec_time_parse_iso("", &t), 0);
}

static void durations(void **state)
{
	ec_time t;
	assert_int_equal(ec_duration_parse("90d", &t), 0);
	assert_int_equal(t, 90 * EC_MS_PER_DAY);
	assert_int_equal(ec_duration_parse("5m42.946s", &t), 0);
	assert_int_equal(t, 5 * EC_MS_PER_MINUTE + 42946);
	assert_int_equal(ec_duration_parse("1d2h3m", &t), 0);
	assert_int_equal(t, ec_time_dhm(1, 2, 3));
	assert_int_equal(ec_duration_parse("639d23:54:18", &t), 0);
	assert_int_equal(t, ec_time_dhm(639, 23, 54) + 18000);
	assert_int_equal(ec_duration_parse("23:54:18.5", &t), 0);
	assert_int_equal(t, ec_time_dhm(0, 23, 54) + 18500);
	assert_int_equal(ec_duration_parse("1500ms", &t), 0);
	assert_int_equal(t, 1500);
	assert_int_not_equal(ec_duration_parse("", &t), 0);
	assert_int_not_equal(ec_duration_parse("5x", &t), 0);
	assert_int_not_equal(ec_duration_parse("3m2d", &t), 0); /* units out of order */
	assert_int_not_equal(ec_duration_parse("1:2:3:4", &t), 0);
	assert_int_not_equal(ec_duration_parse("d", &t), 0);
}

static void simulated_clock(void **state)
{
	ec_err err;
	ec_clock *clk = ec_clock_new_simulated(1000, 0);
	assert_true(ec_clock_is_simulated(clk));
	assert_true(ec_clock_is_authoritative(clk));
	assert_int_equal(ec_clock_now(clk), 1000);
	assert_int_equal(ec_clock_advance(clk, 500, &err), 0);
	assert_int_equal(ec_clock_now(clk), 1500);
	assert_int_not_equal(ec_clock_advance(clk, -1, &err), 0);
	assert_int_not_equal(ec_clock_set(clk, 10, &err), 0);
	assert_int_equal(ec_clock_set(clk, 90000, &err), 0);
	assert_int_equal(ec_clock_now(clk), 90000);
	ec_clock_free(clk);

	ec_clock *sys = ec_clock_new_system(true);
	assert_true(ec_clock_is_authoritative(sys));
	assert_int_not_equal(ec_clock_advance(sys, 5, &err), 0);
	assert_true(ec_clock_now(sys) > INT64_C(1700000000000));
	ec_clock_free(sys);
}

static void timer_list_format(void **state)
{
	ec_timer_entry t[3] = {
		{"CS CERT EXPIRE", 3000000},
		{"CS CRL UPDATE", 1000},
		{"CS SHADOW CERT GENERATION", 2000000},
	};
	ec_buf b;
	ec_buf_init(&b, 4096);
	assert_int_equal(ec_timers_format(&b, "CS Timers", t, 3, 0), 0);
	const char *text = (const char *)b.data;
	assert_non_null(strstr(text, "CS Timers\n|            1.000\n"));
	assert_true(strstr(text, "1.000  CS CRL UPDATE") < strstr(text, "33:20.000  CS SHADOW CERT GENERATION"));
	assert_non_null(strstr(text, "50:00.000  CS CERT EXPIRE"));
	/* 1 000 days and more: the column widens for every line, one space after the bar. */
	ec_buf_reset(&b);
	ec_timer_entry far[2] = {{"CS CRL UPDATE", 1000}, {"CS CERT EXPIRE", 1004 * EC_MS_PER_DAY + 86378136}};
	assert_int_equal(ec_timers_format(&b, "CS Timers", far, 2, 0), 0);
	assert_string_equal((const char *)b.data, "CS Timers\n"
	                                          "|             1.000\n"
	                                          "|             1.000  CS CRL UPDATE\n"
	                                          "| 1004d23:59:38.136  CS CERT EXPIRE\n");
	ec_buf_reset(&b);
	assert_int_equal(ec_timers_format_json(&b, t, 3, 0), 0);
	assert_non_null(strstr((const char *)b.data, "\"name\":\"CS CRL UPDATE\""));
	ec_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(countdown_formats), cmocka_unit_test(iso_round_trip),
		cmocka_unit_test(durations),         cmocka_unit_test(simulated_clock),
		cmocka_unit_test(timer_list_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
