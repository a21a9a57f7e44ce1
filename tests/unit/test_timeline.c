/* The timer-dependency rule of SPEC §8 on the specification's own figures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ca/timeline.h"

#define DAY EC_MS_PER_DAY

static timeline_result run(int percent, ec_time rollover, bool auto_rollover, ec_buf *out)
{
	timeline_input in = {730 * DAY, 365 * DAY, auto_rollover, rollover, percent, "ROOTCA", "spoke"};
	return timeline_check(&in, out);
}

static void eighty_percent_is_safe(void **state)
{
	ec_buf b;
	ec_buf_init(&b, 1 << 16);
	timeline_result r = run(80, 90 * DAY, true, &b);
	assert_true(r.safe);
	assert_int_equal(r.earliest_shadow, 73 * DAY);
	assert_non_null(strstr((const char *)b.data, "73.0 days <= 90.0 days: safe"));
	assert_non_null(strstr((const char *)b.data, "E-90d"));
	ec_buf_free(&b);
}

static void seventy_percent_is_unsafe(void **state)
{
	ec_buf b;
	ec_buf_init(&b, 1 << 16);
	timeline_result r = run(70, 90 * DAY, true, &b);
	assert_false(r.safe);
	assert_int_equal(r.earliest_shadow, 109 * DAY + DAY / 2);
	const char *text = (const char *)b.data;
	assert_non_null(strstr(text, "109.5 days > 90.0 days: UNSAFE"));
	assert_non_null(strstr(text, "auto-rollover to at least 109.5 days or auto-enroll to at least 76%"));
	ec_buf_free(&b);
}

static void edge_cases(void **state)
{
	ec_buf b;
	ec_buf_init(&b, 1 << 16);
	assert_false(run(80, 0, false, &b).safe);
	assert_non_null(strstr((const char *)b.data, "without auto-rollover"));
	ec_buf_reset(&b);
	assert_false(run(100, 90 * DAY, true, &b).safe);
	assert_non_null(strstr((const char *)b.data, "auto-enroll 100"));
	/* A certificate lifetime longer than the CA's is capped by it. */
	timeline_input in = {100 * DAY, 365 * DAY, true, 30 * DAY, 80, "A", "b"};
	ec_buf_reset(&b);
	timeline_result r = timeline_check(&in, &b);
	assert_int_equal(r.earliest_shadow, 20 * DAY);
	assert_true(r.safe);
	ec_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(eighty_percent_is_safe),
	                                   cmocka_unit_test(seventy_percent_is_unsafe), cmocka_unit_test(edge_cases)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
