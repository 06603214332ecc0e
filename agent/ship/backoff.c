/*
 * backoff.c - full jitter, Retry-After, reconnect spread (see backoff.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "backoff.h"

#define RETRY_AFTER_MAX_SECONDS (24LL * 3600)
#define RETRY_AFTER_MAX_TEXT 64

uint64_t backoff_ceiling_ms(unsigned failures)
{
	uint64_t ceiling = BACKOFF_BASE_MS;

	for (unsigned i = 1; i < failures && ceiling < BACKOFF_CAP_MS; i++)
		ceiling *= 2;
	return ceiling < BACKOFF_CAP_MS ? ceiling : BACKOFF_CAP_MS;
}

uint64_t backoff_delay_ms(unsigned failures, int64_t retry_after_ms, uint64_t random)
{
	uint64_t jitter = random % backoff_ceiling_ms(failures ? failures : 1);

	return retry_after_ms >= 0 ? (uint64_t)retry_after_ms + jitter : jitter;
}

uint64_t backoff_spread_ms(uint64_t spread_ms, uint64_t random)
{
	return random % (spread_ms + 1);
}

static int parse_seconds(const char *text, int64_t *seconds)
{
	int64_t value = 0;

	if (!*text)
		return -EINVAL;
	for (; *text; text++) {
		if (!isdigit((unsigned char)*text))
			return -EINVAL;
		if (value <= RETRY_AFTER_MAX_SECONDS)
			value = value * 10 + (*text - '0');
	}
	*seconds = value < RETRY_AFTER_MAX_SECONDS ? value : RETRY_AFTER_MAX_SECONDS;
	return 0;
}

int backoff_parse_retry_after(const char *value, int64_t now_seconds, int64_t *seconds)
{
	char text[RETRY_AFTER_MAX_TEXT + 1];
	size_t length;
	time_t when;

	while (*value == ' ' || *value == '\t')
		value++;
	length = strlen(value);
	while (length > 0 && (value[length - 1] == ' ' || value[length - 1] == '\t' ||
			      value[length - 1] == '\r' || value[length - 1] == '\n'))
		length--;
	if (length == 0 || length > RETRY_AFTER_MAX_TEXT)
		return -EINVAL;
	memcpy(text, value, length);
	text[length] = '\0';
	if (isdigit((unsigned char)text[0]))
		return parse_seconds(text, seconds);
	/* an HTTP-date: only a real date with a weekday name */
	if (!isalpha((unsigned char)text[0]))
		return -EINVAL;
	when = curl_getdate(text, NULL);
	if (when == (time_t)-1)
		return -EINVAL;
	if (when <= now_seconds)
		*seconds = 0;
	else if (when - now_seconds > RETRY_AFTER_MAX_SECONDS)
		*seconds = RETRY_AFTER_MAX_SECONDS;
	else
		*seconds = when - now_seconds;
	return 0;
}

uint64_t backoff_random_next(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9E3779B97F4A7C15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}
