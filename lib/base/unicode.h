/*
 * unicode.h - the few Unicode facts text matching needs: decoding UTF-8,
 * letters and digits, case folding and case mapping, one code point at a
 * time.
 *
 * The KQL engine uses them for its term operators (a term is a run of
 * letters and digits), its case-insensitive operators (simple case
 * folding) and tolower/toupper.  The tables come from the Unicode Character
 * Database (Debian's unicode-data package) through
 * packaging/gen_unicode_data.py; ASCII never needs them.
 */
#ifndef RMMHUNT_UNICODE_H
#define RMMHUNT_UNICODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A byte that does not start a valid UTF-8 sequence decodes as
 * UNICODE_INVALID_BYTE + byte, one byte long: it is no letter, folds to
 * itself and equals only the same byte.
 */
#define UNICODE_INVALID_BYTE 0x110000u

/* Decodes the character at text[0..length) (length > 0); returns its bytes. */
size_t unicode_decode(const unsigned char *text, size_t length, uint32_t *code);
/* Decodes the character that ends at text[end - 1] (end > 0); returns its bytes. */
size_t unicode_decode_before(const unsigned char *text, size_t end, uint32_t *code);
/* Writes code as UTF-8 (an invalid-byte code as that byte); returns 1 to 4. */
size_t unicode_encode(uint32_t code, char *out);

/* General category L* (letters) or Nd (decimal digits). */
bool unicode_is_alnum(uint32_t code);
/* Simple case folding (CaseFolding.txt, statuses C and S). */
uint32_t unicode_fold(uint32_t code);
/* Simple lower- and upper-case mappings (UnicodeData.txt). */
uint32_t unicode_lower(uint32_t code);
uint32_t unicode_upper(uint32_t code);

/*
 * Maps text (UTF-8, invalid bytes kept) character by character into out,
 * which needs 2 * length + 1 bytes (a mapping can grow a character from two
 * bytes to three); NUL-terminates and returns the length written.
 */
size_t unicode_fold_text(const char *text, size_t length, char *out);
size_t unicode_lower_text(const char *text, size_t length, char *out);
size_t unicode_upper_text(const char *text, size_t length, char *out);

#endif
