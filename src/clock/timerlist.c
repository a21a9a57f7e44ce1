#include "clock/timerlist.h"

#include <stdlib.h>
#include <string.h>

#include "util/json.h"

void ec_timers_sort(ec_timer_entry *t, size_t n)
{
	/* Insertion sort: lists are short and the order of equal times must be kept. */
	for (size_t i = 1; i < n; i++) {
		ec_timer_entry cur = t[i];
		size_t j = i;
		while (j > 0 && t[j - 1].fire_at > cur.fire_at) {
			t[j] = t[j - 1];
			j--;
		}
		t[j] = cur;
	}
}

int ec_timers_format(ec_buf *out, const char *title, ec_timer_entry *t, size_t n, ec_time now)
{
	char cd[EC_TIME_TEXT_MAX];
	ec_timers_sort(t, n);
	if (ec_buf_printf(out, "%s\n", title) != 0)
		return -1;
	if (n == 0)
		return ec_buf_printf(out, "|  (none)\n");
	/* The router's column holds "729d23:54:17.971" after one space; a countdown of 1 000 days or
	 * more widens the column for every line, so that the names stay aligned and apart. */
	int width = 17;
	for (size_t i = 0; i < n; i++) {
		ec_time_format_countdown(t[i].fire_at - now, cd);
		if ((int)strlen(cd) + 1 > width)
			width = (int)strlen(cd) + 1;
	}
	ec_time_format_countdown(t[0].fire_at - now, cd);
	if (ec_buf_printf(out, "|%*s\n", width, cd) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		ec_time_format_countdown(t[i].fire_at - now, cd);
		if (ec_buf_printf(out, "|%*s  %s\n", width, cd, t[i].name) != 0)
			return -1;
	}
	return 0;
}

int ec_timers_format_json(ec_buf *out, ec_timer_entry *t, size_t n, ec_time now)
{
	char iso[EC_TIME_TEXT_MAX];
	ec_timers_sort(t, n);
	if (ec_buf_printf(out, "[") != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		ec_time_format_iso(t[i].fire_at, iso);
		if (ec_buf_printf(out, "%s{", i ? "," : "") != 0 ||
		    ec_json_kv_str(out, true, "name", t[i].name) != 0 ||
		    ec_json_kv_str(out, false, "fire_at", iso) != 0 ||
		    ec_json_kv_int(out, false, "remaining_ms", (long long)(t[i].fire_at - now)) != 0 ||
		    ec_buf_printf(out, "}") != 0)
			return -1;
	}
	return ec_buf_printf(out, "]");
}
