#include "clock/clock.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

ec_time ec_time_dhm(int64_t days, int64_t hours, int64_t minutes)
{
	return days * EC_MS_PER_DAY + hours * EC_MS_PER_HOUR + minutes * EC_MS_PER_MINUTE;
}

void ec_time_format_countdown(ec_time ms, char out[EC_TIME_TEXT_MAX])
{
	if (ms < 0)
		ms = 0;
	int64_t days = ms / EC_MS_PER_DAY;
	int64_t hours = ms / EC_MS_PER_HOUR % 24;
	int64_t mins = ms / EC_MS_PER_MINUTE % 60;
	int64_t secs = ms / 1000 % 60;
	int64_t milli = ms % 1000;
	if (days > 0)
		snprintf(out, EC_TIME_TEXT_MAX, "%lldd%lld:%02lld:%02lld.%03lld", (long long)days,
		         (long long)hours, (long long)mins, (long long)secs, (long long)milli);
	else if (hours > 0)
		snprintf(out, EC_TIME_TEXT_MAX, "%lld:%02lld:%02lld.%03lld", (long long)hours,
		         (long long)mins, (long long)secs, (long long)milli);
	else if (mins > 0)
		snprintf(out, EC_TIME_TEXT_MAX, "%lld:%02lld.%03lld", (long long)mins, (long long)secs,
		         (long long)milli);
	else
		snprintf(out, EC_TIME_TEXT_MAX, "%lld.%03lld", (long long)secs, (long long)milli);
}

static void to_tm(ec_time t, struct tm *tm)
{
	time_t secs = (time_t)(t >= 0 ? t / 1000 : (t - 999) / 1000);
	gmtime_r(&secs, tm);
}

/* The display zone: set at start and at reload, read by every show and log line. */
static pthread_mutex_t zone_lock = PTHREAD_MUTEX_INITIALIZER;
static char zone_name[8] = "UTC";
static int zone_offset_minutes;

void ec_time_set_display_zone(const char *name, int offset_minutes)
{
	pthread_mutex_lock(&zone_lock);
	bool utc = name == NULL || name[0] == '\0';
	snprintf(zone_name, sizeof(zone_name), "%s", utc ? "UTC" : name);
	zone_offset_minutes = utc ? 0 : offset_minutes;
	pthread_mutex_unlock(&zone_lock);
}

void ec_time_format_router(ec_time t, char out[EC_TIME_TEXT_MAX])
{
	static const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	char name[sizeof(zone_name)];
	pthread_mutex_lock(&zone_lock);
	memcpy(name, zone_name, sizeof(name));
	ec_time offset = (ec_time)zone_offset_minutes * EC_MS_PER_MINUTE;
	pthread_mutex_unlock(&zone_lock);
	struct tm tm;
	bool fits = offset >= 0 ? t <= INT64_MAX - offset : t >= INT64_MIN - offset;
	to_tm(fits ? t + offset : t, &tm);
	snprintf(out, EC_TIME_TEXT_MAX, "%02d:%02d:%02d %s %s %d %d", tm.tm_hour, tm.tm_min, tm.tm_sec, name,
	         months[tm.tm_mon], tm.tm_mday, tm.tm_year + 1900);
}

void ec_time_format_iso(ec_time t, char out[EC_TIME_TEXT_MAX])
{
	struct tm tm;
	to_tm(t, &tm);
	int milli = (int)(((t % 1000) + 1000) % 1000);
	snprintf(out, EC_TIME_TEXT_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, milli);
}

/* Reads exactly `width` digits. */
static int read_digits(const char **p, int width, int *out)
{
	int v = 0;
	for (int i = 0; i < width; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += width;
	*out = v;
	return 0;
}

int ec_time_parse_iso(const char *text, ec_time *out)
{
	const char *p = text;
	int y, mo, d, h, mi, s, ms = 0;
	if (read_digits(&p, 4, &y) || *p++ != '-' || read_digits(&p, 2, &mo) || *p++ != '-' ||
	    read_digits(&p, 2, &d) || (*p != 'T' && *p != ' ') || !*p++ || read_digits(&p, 2, &h) ||
	    *p++ != ':' || read_digits(&p, 2, &mi) || *p++ != ':' || read_digits(&p, 2, &s))
		return -1;
	if (*p == '.') {
		p++;
		int digits = 0, frac = 0;
		while (isdigit((unsigned char)*p)) {
			if (digits < 3) {
				frac = frac * 10 + (*p - '0');
				digits++;
			}
			p++;
		}
		if (digits == 0)
			return -1;
		while (digits++ < 3)
			frac *= 10;
		ms = frac;
	}
	if (*p == 'Z')
		p++;
	if (*p != '\0')
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
		return -1;
	struct tm tm = {0};
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	time_t secs = timegm(&tm);
	*out = (ec_time)secs * 1000 + ms;
	return 0;
}

/* A decimal number with an optional fraction, in thousandths. */
static int read_number(const char **p, int64_t *milli_units)
{
	const char *s = *p;
	int64_t whole = 0;
	int n = 0;
	while (isdigit((unsigned char)*s)) {
		if (whole > INT64_C(1) << 40)
			return -1;
		whole = whole * 10 + (*s++ - '0');
		n++;
	}
	int64_t frac = 0;
	if (*s == '.') {
		s++;
		int digits = 0;
		while (isdigit((unsigned char)*s)) {
			if (digits < 3) {
				frac = frac * 10 + (*s - '0');
				digits++;
			}
			s++;
			n++;
		}
		while (digits++ < 3)
			frac *= 10;
	}
	if (n == 0)
		return -1;
	*milli_units = whole * 1000 + frac;
	*p = s;
	return 0;
}

/* "[Dd]H:MM:SS[.mmm]" or "MM:SS[.mmm]" after an optional day count. */
static int parse_clock_form(const char *p, ec_time days_ms, ec_time *out)
{
	int64_t parts[3];
	int count = 0;
	for (;;) {
		if (count == 3 || read_number(&p, &parts[count]) != 0)
			return -1;
		count++;
		if (*p == ':') {
			p++;
			continue;
		}
		break;
	}
	if (*p != '\0' || count < 2)
		return -1;
	for (int i = 0; i < count - 1; i++)
		if (parts[i] % 1000 != 0)
			return -1;
	ec_time ms = 0;
	if (count == 3)
		ms = parts[0] / 1000 * EC_MS_PER_HOUR + parts[1] / 1000 * EC_MS_PER_MINUTE + parts[2];
	else
		ms = parts[0] / 1000 * EC_MS_PER_MINUTE + parts[1];
	*out = days_ms + ms;
	return 0;
}

int ec_duration_parse(const char *text, ec_time *out)
{
	const char *p = text;
	ec_time total = 0;
	if (*p == '\0')
		return -1;
	if (strchr(p, ':') != NULL) {
		const char *d = strchr(p, 'd');
		ec_time days_ms = 0;
		if (d != NULL) {
			int64_t days;
			if (read_number(&p, &days) != 0 || p != d || days % 1000 != 0)
				return -1;
			days_ms = days / 1000 * EC_MS_PER_DAY;
			p = d + 1;
		}
		return parse_clock_form(p, days_ms, out);
	}
	int last_rank = 100;
	while (*p != '\0') {
		int64_t v;
		if (read_number(&p, &v) != 0)
			return -1;
		ec_time unit;
		int rank;
		if (strncmp(p, "ms", 2) == 0) {
			unit = 1;
			rank = 0;
			p += 2;
			v /= 1000; /* v is in thousandths of a millisecond here */
			total += v * unit;
			if (rank >= last_rank)
				return -1;
			last_rank = rank;
			continue;
		}
		switch (*p) {
		case 'd': unit = EC_MS_PER_DAY; rank = 4; break;
		case 'h': unit = EC_MS_PER_HOUR; rank = 3; break;
		case 'm': unit = EC_MS_PER_MINUTE; rank = 2; break;
		case 's': unit = EC_MS_PER_SECOND; rank = 1; break;
		default: return -1;
		}
		p++;
		if (rank >= last_rank)
			return -1;
		last_rank = rank;
		total += v * unit / 1000;
	}
	*out = total;
	return 0;
}
