/*
 * fuzz_timefmt.c - the ISO 8601 datetime parser and formatter.
 *
 * Whatever parses must format back to a string that parses to the same
 * ticks (round trip), and nothing may crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/timefmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[TIMEFMT_ISO_SIZE];
	int64_t ticks, again;

	if (timefmt_parse_iso((const char *)data, size, &ticks) != 0)
		return 0;
	timefmt_iso(ticks, text);
	if (strcmp(text, "0001-01-01T00:00:00.0000000Z") == 0)
		return 0; /* out of the representable years */
	if (timefmt_parse_iso(text, strlen(text), &again) != 0 || again != ticks)
		abort();
	return 0;
}
