/*
 * timefmt.c - formatting and parsing of 100 ns datetimes.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <time.h>

#include "base/timefmt.h"
#include "model/value.h"

static char *put_digits(char *out, long long value, int count)
{
	for (int i = count - 1; i >= 0; i--) {
		out[i] = (char)('0' + value % 10);
		value /= 10;
	}
	return out + count;
}

/* "YYYY-MM-DDTHH:MM:SS" of a second into prefix (20 bytes); false when the
 * year is outside 0..9999.  Records come in bursts within one second, so the
 * last answer is remembered (per thread). */
static bool format_second(int64_t seconds, char prefix[20])
{
	static __thread int64_t last_seconds = INT64_MIN;
	static __thread char last_prefix[20];
	time_t whole = (time_t)seconds;
	struct tm tm;
	char *cursor = prefix;

	if (seconds == last_seconds) {
		memcpy(prefix, last_prefix, sizeof(last_prefix));
		return true;
	}
	if (!gmtime_r(&whole, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
		return false;
	cursor = put_digits(cursor, tm.tm_year + 1900, 4);
	*cursor++ = '-';
	cursor = put_digits(cursor, tm.tm_mon + 1, 2);
	*cursor++ = '-';
	cursor = put_digits(cursor, tm.tm_mday, 2);
	*cursor++ = 'T';
	cursor = put_digits(cursor, tm.tm_hour, 2);
	*cursor++ = ':';
	cursor = put_digits(cursor, tm.tm_min, 2);
	*cursor++ = ':';
	cursor = put_digits(cursor, tm.tm_sec, 2);
	*cursor = '\0';
	memcpy(last_prefix, prefix, sizeof(last_prefix));
	last_seconds = seconds;
	return true;
}

char *timefmt_iso(int64_t ticks, char out[TIMEFMT_ISO_SIZE])
{
	int64_t seconds = ticks / TICKS_PER_SECOND;
	int64_t fraction = ticks % TICKS_PER_SECOND;
	char *cursor;

	if (fraction < 0) {
		fraction += TICKS_PER_SECOND;
		seconds -= 1;
	}
	if (!format_second(seconds, out)) {
		memcpy(out, "0001-01-01T00:00:00.0000000Z", TIMEFMT_ISO_SIZE);
		return out;
	}
	cursor = out + 19;
	*cursor++ = '.';
	cursor = put_digits(cursor, fraction, 7);
	*cursor++ = 'Z';
	*cursor = '\0';
	return out;
}

static int read_digits(const char *text, size_t length, size_t *position,
		       size_t count, int *value)
{
	int result = 0;

	for (size_t i = 0; i < count; i++) {
		if (*position >= length || text[*position] < '0' ||
		    text[*position] > '9')
			return -EINVAL;
		result = result * 10 + (text[*position] - '0');
		(*position)++;
	}
	*value = result;
	return 0;
}

static int expect_char(const char *text, size_t length, size_t *position,
		       char wanted)
{
	if (*position >= length || text[*position] != wanted)
		return -EINVAL;
	(*position)++;
	return 0;
}

static int parse_fraction(const char *text, size_t length, size_t *position,
			  int64_t *fraction_ticks)
{
	int64_t scale = TICKS_PER_SECOND / 10;
	size_t digits = 0;

	*fraction_ticks = 0;
	while (*position < length && text[*position] >= '0' &&
	       text[*position] <= '9') {
		*fraction_ticks += (text[*position] - '0') * scale;
		scale /= 10;
		(*position)++;
		digits++;
	}
	return digits ? 0 : -EINVAL;
}

static int parse_clock(const char *text, size_t length, size_t *position,
		       struct tm *tm, int64_t *fraction_ticks)
{
	if (read_digits(text, length, position, 2, &tm->tm_hour) ||
	    expect_char(text, length, position, ':') ||
	    read_digits(text, length, position, 2, &tm->tm_min))
		return -EINVAL;
	if (*position < length && text[*position] == ':') {
		(*position)++;
		if (read_digits(text, length, position, 2, &tm->tm_sec))
			return -EINVAL;
		if (*position < length && text[*position] == '.') {
			(*position)++;
			if (parse_fraction(text, length, position, fraction_ticks))
				return -EINVAL;
		}
	}
	if (tm->tm_hour > 23 || tm->tm_min > 59 || tm->tm_sec > 59)
		return -EINVAL;
	return 0;
}

int timefmt_parse_iso(const char *text, size_t length, int64_t *ticks)
{
	struct tm tm;
	int64_t fraction_ticks = 0;
	size_t position = 0;
	int year, month;

	memset(&tm, 0, sizeof(tm));
	if (read_digits(text, length, &position, 4, &year) ||
	    expect_char(text, length, &position, '-') ||
	    read_digits(text, length, &position, 2, &month) ||
	    expect_char(text, length, &position, '-') ||
	    read_digits(text, length, &position, 2, &tm.tm_mday))
		return -EINVAL;
	if (month < 1 || month > 12 || tm.tm_mday < 1 || tm.tm_mday > 31)
		return -EINVAL;
	tm.tm_year = year - 1900;
	tm.tm_mon = month - 1;
	if (position < length && (text[position] == 'T' || text[position] == ' ')) {
		position++;
		if (parse_clock(text, length, &position, &tm, &fraction_ticks))
			return -EINVAL;
	}
	if (position < length && text[position] == 'Z')
		position++;
	if (position != length)
		return -EINVAL;
	int wanted_day = tm.tm_mday;
	time_t seconds = timegm(&tm);
	if (tm.tm_mday != wanted_day) /* 2026-02-30 rolled over */
		return -EINVAL;
	*ticks = (int64_t)seconds * TICKS_PER_SECOND + fraction_ticks;
	return 0;
}

int64_t timefmt_ticks_from_seconds(int64_t seconds, int64_t nanoseconds)
{
	const int64_t limit = INT64_MAX / TICKS_PER_SECOND - 1;

	if (seconds > limit)
		return limit * TICKS_PER_SECOND;
	if (seconds < -limit)
		return -limit * TICKS_PER_SECOND;
	return seconds * TICKS_PER_SECOND + nanoseconds / 100;
}

int64_t timefmt_now_ticks(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return (int64_t)now.tv_sec * TICKS_PER_SECOND +
	       now.tv_nsec / (1000000000 / TICKS_PER_SECOND);
}
