/*
 * datetime.c - Kusto datetimes and timespans as text.
 *
 * A datetime is a count of 100 ns ticks since 1970-01-01 UTC (value.h); Kusto
 * allows years 0001 to 9999.  Text is ISO 8601 in UTC with seven fractional
 * digits, "2026-11-28T16:14:40.1234567Z"; a timespan prints the way Kusto
 * prints it, "[-][d.]hh:mm:ss[.fffffff]".
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kql/internal.h"
#include "kql/kql_format.h"

#define SECONDS_PER_DAY 86400LL
/* 0001-01-01 and 9999-12-31T23:59:59.9999999 in ticks since 1970 */
#define MIN_TICKS (-62135596800LL * TICKS_PER_SECOND)
#define MAX_TICKS (253402300800LL * TICKS_PER_SECOND - 1)

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant). */
static int64_t days_from_civil(int64_t year, unsigned month, unsigned day)
{
	year -= month <= 2;
	int64_t era = (year >= 0 ? year : year - 399) / 400;
	unsigned year_of_era = (unsigned)(year - era * 400);
	unsigned day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
	unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;

	return era * 146097 + (int64_t)day_of_era - 719468;
}

static void civil_from_days(int64_t days, int64_t *year, unsigned *month, unsigned *day)
{
	days += 719468;
	int64_t era = (days >= 0 ? days : days - 146096) / 146097;
	unsigned day_of_era = (unsigned)(days - era * 146097);
	unsigned year_of_era =
		(day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
	unsigned day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
	unsigned mp = (5 * day_of_year + 2) / 153;

	*day = day_of_year - (153 * mp + 2) / 5 + 1;
	*month = mp < 10 ? mp + 3 : mp - 9;
	*year = (int64_t)year_of_era + era * 400 + (*month <= 2);
}

static int64_t floor_divide(int64_t a, int64_t b)
{
	int64_t quotient = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		quotient--;
	return quotient;
}

size_t kql_format_datetime(int64_t ticks, char *buffer, size_t size)
{
	int64_t days = floor_divide(ticks, TICKS_PER_DAY);
	int64_t rest = ticks - days * TICKS_PER_DAY;
	int64_t year;
	unsigned month, day;

	civil_from_days(days, &year, &month, &day);
	int length = snprintf(buffer, size, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%07lldZ",
			      (long long)year, month, day, (long long)(rest / TICKS_PER_HOUR),
			      (long long)(rest / TICKS_PER_MINUTE % 60),
			      (long long)(rest / TICKS_PER_SECOND % 60),
			      (long long)(rest % TICKS_PER_SECOND));

	return length < 0 ? 0 : (size_t)length;
}

size_t kql_datetime_format(int64_t ticks, char buffer[KQL_DATETIME_TEXT])
{
	return kql_format_datetime(ticks, buffer, KQL_DATETIME_TEXT);
}

size_t kql_format_timespan(int64_t ticks, char *buffer, size_t size)
{
	unsigned long long magnitude =
		ticks < 0 ? 0ULL - (unsigned long long)ticks : (unsigned long long)ticks;
	unsigned long long days = magnitude / TICKS_PER_DAY;
	unsigned long long rest = magnitude % TICKS_PER_DAY;
	char day_part[32] = "";
	char fraction[16] = "";

	if (days)
		snprintf(day_part, sizeof(day_part), "%llu.", days);
	if (rest % TICKS_PER_SECOND)
		snprintf(fraction, sizeof(fraction), ".%07llu", rest % TICKS_PER_SECOND);
	int length = snprintf(buffer, size, "%s%s%02llu:%02llu:%02llu%s", ticks < 0 ? "-" : "",
			      day_part, rest / TICKS_PER_HOUR, rest / TICKS_PER_MINUTE % 60,
			      rest / TICKS_PER_SECOND % 60, fraction);

	return length < 0 ? 0 : (size_t)length;
}

/* Reads exactly count digits at *position. */
static bool read_digits(const char *text, size_t length, size_t *position, unsigned count,
			unsigned *value)
{
	*value = 0;
	for (unsigned i = 0; i < count; i++) {
		if (*position >= length || text[*position] < '0' || text[*position] > '9')
			return false;
		*value = *value * 10 + (unsigned)(text[(*position)++] - '0');
	}
	return true;
}

static bool expect_char(const char *text, size_t length, size_t *position, char c)
{
	if (*position < length && text[*position] == c) {
		(*position)++;
		return true;
	}
	return false;
}

static int days_in_month(unsigned year, unsigned month)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (month == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
		return 29;
	return days[month - 1];
}

/* [.fraction] -> ticks, digits past the seventh are dropped. */
static int64_t read_fraction(const char *text, size_t length, size_t *position)
{
	int64_t ticks = 0;
	int digits = 0;

	if (!expect_char(text, length, position, '.'))
		return 0;
	while (*position < length && text[*position] >= '0' && text[*position] <= '9') {
		if (digits < 7) {
			ticks = ticks * 10 + (text[*position] - '0');
			digits++;
		}
		(*position)++;
	}
	while (digits++ < 7)
		ticks *= 10;
	return ticks;
}

/* Z, +hh:mm, -hh:mm, +hhmm or nothing (UTC): offset in ticks to subtract. */
static bool read_zone(const char *text, size_t length, size_t *position, int64_t *offset)
{
	unsigned hours, minutes = 0;

	*offset = 0;
	if (*position == length)
		return true;
	if (text[*position] == 'Z' || text[*position] == 'z') {
		(*position)++;
		return true;
	}
	if (text[*position] != '+' && text[*position] != '-')
		return false;
	int sign = text[(*position)++] == '-' ? -1 : 1;

	if (!read_digits(text, length, position, 2, &hours))
		return false;
	expect_char(text, length, position, ':');
	if (*position < length && !read_digits(text, length, position, 2, &minutes))
		return false;
	if (hours > 14 || minutes > 59)
		return false;
	*offset = sign * ((int64_t)hours * TICKS_PER_HOUR + (int64_t)minutes * TICKS_PER_MINUTE);
	return true;
}

int kql_parse_datetime_text(const char *text, size_t length, int64_t *ticks)
{
	size_t position = 0;
	unsigned year, month, day, hour = 0, minute = 0, second = 0;
	int64_t fraction = 0, zone = 0;

	while (length > 0 && (text[length - 1] == ' ' || text[length - 1] == '\t'))
		length--;
	while (position < length && (text[position] == ' ' || text[position] == '\t'))
		position++;
	if (!read_digits(text, length, &position, 4, &year) ||
	    !(expect_char(text, length, &position, '-') || expect_char(text, length, &position, '/')) ||
	    !read_digits(text, length, &position, 2, &month) ||
	    !(expect_char(text, length, &position, '-') || expect_char(text, length, &position, '/')) ||
	    !read_digits(text, length, &position, 2, &day))
		return -EINVAL;
	if (year < 1 || month < 1 || month > 12 || day < 1 || (int)day > days_in_month(year, month))
		return -EINVAL;
	if (position < length && (text[position] == 'T' || text[position] == 't' || text[position] == ' ')) {
		position++;
		if (!read_digits(text, length, &position, 2, &hour) ||
		    !expect_char(text, length, &position, ':') ||
		    !read_digits(text, length, &position, 2, &minute))
			return -EINVAL;
		if (expect_char(text, length, &position, ':')) {
			if (!read_digits(text, length, &position, 2, &second))
				return -EINVAL;
			fraction = read_fraction(text, length, &position);
		}
		if (hour > 23 || minute > 59 || second > 59)
			return -EINVAL;
	}
	if (!read_zone(text, length, &position, &zone) || position != length)
		return -EINVAL;
	int64_t days = days_from_civil(year, month, day);
	int64_t result = days * TICKS_PER_DAY + (int64_t)hour * TICKS_PER_HOUR +
			 (int64_t)minute * TICKS_PER_MINUTE + (int64_t)second * TICKS_PER_SECOND +
			 fraction - zone;

	if (result < MIN_TICKS || result > MAX_TICKS)
		return -ERANGE;
	*ticks = result;
	return 0;
}

/* [-][d.]hh:mm[:ss[.fffffff]], the way timespans print. */
int kql_parse_timespan_text(const char *text, size_t length, int64_t *ticks)
{
	size_t position = 0;
	bool negative = expect_char(text, length, &position, '-');
	uint64_t days = 0;
	unsigned hours, minutes, seconds = 0;
	size_t start = position;

	while (position < length && text[position] >= '0' && text[position] <= '9' &&
	       position - start < 9)
		days = days * 10 + (uint64_t)(text[position++] - '0');
	if (expect_char(text, length, &position, '.')) {
		if (position - 1 == start)
			return -EINVAL;
	} else {
		position = start;
		days = 0;
	}
	if (!read_digits(text, length, &position, 2, &hours) ||
	    !expect_char(text, length, &position, ':') ||
	    !read_digits(text, length, &position, 2, &minutes))
		return -EINVAL;
	int64_t fraction = 0;

	if (expect_char(text, length, &position, ':')) {
		if (!read_digits(text, length, &position, 2, &seconds))
			return -EINVAL;
		fraction = read_fraction(text, length, &position);
	}
	if (position != length || hours > 23 || minutes > 59 || seconds > 59)
		return -EINVAL;
	int64_t value = (int64_t)days * TICKS_PER_DAY + (int64_t)hours * TICKS_PER_HOUR +
			(int64_t)minutes * TICKS_PER_MINUTE + (int64_t)seconds * TICKS_PER_SECOND +
			fraction;

	*ticks = negative ? -value : value;
	return 0;
}

int kql_datetime_parse(const char *text, size_t length, int64_t *ticks)
{
	return kql_parse_datetime_text(text, length, ticks);
}
