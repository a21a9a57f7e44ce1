/* The Retry-After of an early GetNextCACert: a fleet comes back spread over the window, never in
 * one second. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ca/retry_spread.h"

#define DAY EC_MS_PER_DAY
#define FLEET 100000
#define SHADOW_AT (640 * DAY)
/* The peak stated in docs/ROLLOVER.md for 100 000 early clients and a one-day window: the mean
 * is 1.16 per second, hashing adds a few. */
#define STATED_PEAK_PER_SECOND 12

/* Counts the clients' return instants per second after shadow_at; returns the largest count and
 * checks that each lies within the window. */
static int peak_per_second(const ec_time *asked, char (*sources)[32], int n, ec_time shadow_at, ec_time window)
{
	int64_t slots = window / 1000 + 2;
	int *per = calloc((size_t)slots, sizeof(int));
	assert_non_null(per);
	int peak = 0;
	for (int i = 0; i < n; i++) {
		int64_t secs = retry_spread_seconds(asked[i], shadow_at, window, retry_spread_key(sources[i], asked[i]));
		ec_time back = asked[i] + secs * 1000;
		assert_true(back >= shadow_at);
		assert_true(back <= shadow_at + window + 1000);
		int64_t slot = (back - shadow_at) / 1000;
		if (++per[slot] > peak)
			peak = per[slot];
	}
	free(per);
	return peak;
}

/* FLEET clients, the i-th asking at first + i x step from its own address or from one. */
static int fleet_peak(ec_time first, ec_time step, bool one_address)
{
	static ec_time asked[FLEET];
	static char sources[FLEET][32];
	for (int i = 0; i < FLEET; i++) {
		asked[i] = first + (ec_time)i * step;
		if (one_address)
			snprintf(sources[i], sizeof(sources[i]), "192.0.2.1");
		else
			snprintf(sources[i], sizeof(sources[i]), "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
	}
	return peak_per_second(asked, sources, FLEET, SHADOW_AT, retry_spread_window(90 * DAY));
}

/* 100 000 clients at as many addresses, all asking in the same millisecond (a fleet enrolled at
 * once, or back after an outage), 30 days before the shadow generation. */
static void one_instant_many_addresses(void **state)
{
	(void)state;
	int peak = fleet_peak(SHADOW_AT - 30 * DAY, 0, false);
	printf("100000 clients, one instant, distinct addresses: peak %d per second\n", peak);
	assert_true(peak <= STATED_PEAK_PER_SECOND);
}

/* 100 000 clients behind one address (a NAT, a proxy), asking over the ten days before the
 * shadow generation. */
static void one_address_many_instants(void **state)
{
	(void)state;
	int peak = fleet_peak(SHADOW_AT - 10 * DAY, 10 * DAY / FLEET, true);
	printf("100000 clients, one address, over ten days: peak %d per second\n", peak);
	assert_true(peak <= STATED_PEAK_PER_SECOND);
}

static void window_is_a_quarter_within_bounds(void **state)
{
	(void)state;
	assert_int_equal(retry_spread_window(90 * DAY), DAY);
	assert_int_equal(retry_spread_window(2 * DAY), DAY / 2);
	assert_int_equal(retry_spread_window(2000), 1000);
	assert_int_equal(retry_spread_window(0), 1000);
}

static void same_request_same_answer_never_below_one(void **state)
{
	(void)state;
	uint64_t k = retry_spread_key("198.51.100.7", 12345);
	assert_int_equal(k, retry_spread_key("198.51.100.7", 12345));
	assert_true(k != retry_spread_key("198.51.100.7", 12346));
	assert_true(k != retry_spread_key("198.51.100.8", 12345));
	assert_int_equal(retry_spread_key(NULL, 5), retry_spread_key("", 5));
	/* Past the window (a shadow generation that is late): come back in a second. */
	assert_int_equal(retry_spread_seconds(10 * DAY, DAY, DAY, k), 1);
	/* Within it: ceil to the second, at least one. */
	assert_int_equal(retry_spread_seconds(0, 10000, 1, 0), 10);
	assert_int_equal(retry_spread_seconds(0, 10001, 1, 0), 11);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_instant_many_addresses),
		cmocka_unit_test(one_address_many_instants),
		cmocka_unit_test(window_is_a_quarter_within_bounds),
		cmocka_unit_test(same_request_same_answer_never_below_one),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
