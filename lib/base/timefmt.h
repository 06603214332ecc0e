/*
 * timefmt.h - Kusto datetimes as text.
 *
 * A datetime is a count of 100 ns ticks since 1970-01-01T00:00:00Z (see
 * value.h).  Records and query results write it the way Defender does:
 * ISO 8601, UTC, seven fractional digits: 2026-11-28T16:14:40.1234567Z.
 */
#ifndef RMMHUNT_TIMEFMT_H
#define RMMHUNT_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* "YYYY-MM-DDTHH:MM:SS.fffffffZ" plus NUL */
#define TIMEFMT_ISO_SIZE 29

/* Write ticks as ISO 8601 into out (TIMEFMT_ISO_SIZE bytes). Returns out. */
char *timefmt_iso(int64_t ticks, char out[TIMEFMT_ISO_SIZE]);

/*
 * Parse an ISO 8601 UTC datetime: "YYYY-MM-DD", optionally followed by 'T'
 * or ' ' and "HH:MM", ":SS", ".f" (1 to 7 digits; more are cut), and an
 * optional 'Z'.  Returns 0 and sets *ticks, or -EINVAL.
 */
int timefmt_parse_iso(const char *text, size_t length, int64_t *ticks);

/* Ticks of a (seconds, nanoseconds) instant, saturating instead of
 * overflowing for values no real clock has. */
int64_t timefmt_ticks_from_seconds(int64_t seconds, int64_t nanoseconds);

/* Wall-clock now, in ticks. */
int64_t timefmt_now_ticks(void);

#endif
