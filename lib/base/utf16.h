/*
 * utf16.h - UTF-16LE to UTF-8, as Windows resources need it.
 *
 * PE version resources store keys and values as NUL-terminated UTF-16LE.
 * The decoder is faithful: BMP characters and surrogate pairs become their
 * UTF-8 encoding; an unpaired surrogate (a high one not followed by a low
 * one, or a lone low one) becomes U+FFFD and is counted, so the caller can
 * flag it.  The output never contains a NUL byte, so it is valid UTF-8 for
 * jansson and for Kusto strings.
 */
#ifndef RMMHUNT_UTF16_H
#define RMMHUNT_UTF16_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes utf16le_to_utf8() may write for units code units, NUL included. */
#define UTF16_UTF8_CAPACITY(units) (3 * (units) + 1)

/*
 * Count the code units at data before the first NUL unit, looking at no more
 * than max_units.  *terminated says whether a NUL was found.
 */
size_t utf16le_length(const unsigned char *data, size_t max_units, bool *terminated);

/*
 * Decode units code units (none of them NUL) into out, which has room for
 * UTF16_UTF8_CAPACITY(units) bytes; NUL-terminates.  Returns the bytes
 * written before the NUL.  *replaced (may be NULL) gets the number of
 * unpaired surrogates turned into U+FFFD.
 */
size_t utf16le_to_utf8(const unsigned char *data, size_t units, char *out,
		       size_t *replaced);

#endif
