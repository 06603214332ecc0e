/*
 * ops.c - KQL's string operators: has, contains, startswith, endswith, =~
 * and their case-sensitive forms, as one search routine.
 *
 * Kusto's terms are maximal runs of alphanumeric characters: here Unicode
 * letters and decimal digits (general categories L* and Nd), so '_', '®',
 * a no-break space separate terms and 'ä' continues one.  Case-insensitive
 * operators compare by Unicode simple case folding ('Krämer' =~ 'KRÄMER').
 * `has` matches a needle at a place where, if the needle starts with a term
 * character, the character before is not one, and if it ends with one, the
 * character after is not one; so phrases ('North America', 'Servably,
 * Inc.') and punctuation-only needles work the same way.
 *
 * ASCII stays on byte tables and an eight-bytes-at-a-time scan for the
 * needle's first byte; only non-ASCII characters are decoded and looked up
 * in the Unicode tables (base/unicode.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"
#include "base/unicode.h"
#include "kql/internal.h"

const unsigned char kql_fold_table[256] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
	0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
	0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
	0x40, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f,
	0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f,
	0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f,
	0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f,
	0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f,
	0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f,
	0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
	0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf,
	0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf,
	0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
	0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef,
	0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff,
};

const unsigned char kql_term_table[256] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
};

bool kql_is_term_char(uint32_t code)
{
	return code < 0x80 ? kql_term_table[code] != 0 : unicode_is_alnum(code);
}

/* Is the character that ends at haystack[end - 1] a term character? */
static inline bool term_before(const unsigned char *haystack, size_t end)
{
	uint32_t code;

	if (haystack[end - 1] < 0x80)
		return kql_term_table[haystack[end - 1]] != 0;
	unicode_decode_before(haystack, end, &code);
	return unicode_is_alnum(code);
}

/* Is the character that starts at haystack[start] a term character? */
static inline bool term_at(const unsigned char *haystack, size_t length, size_t start)
{
	uint32_t code;

	if (haystack[start] < 0x80)
		return kql_term_table[haystack[start]] != 0;
	unicode_decode(haystack + start, length - start, &code);
	return unicode_is_alnum(code);
}

#define NO_MATCH ((size_t)-1)

/*
 * Does the needle match the haystack's characters from start, character by
 * character (folding the haystack's when fold: the needle is folded
 * already)?  Returns where the match ends in the haystack, or NO_MATCH.  A
 * folded character may be shorter or longer than the haystack's (the
 * Kelvin sign, three bytes, folds to 'k').
 */
static inline size_t chars_match(const unsigned char *haystack, size_t length, size_t start,
				 const unsigned char *needle, size_t needle_length, bool fold)
{
	size_t h = start, n = 0;

	while (n < needle_length) {
		if (h >= length)
			return NO_MATCH;
		unsigned char a = haystack[h], b = needle[n];

		if ((a | b) < 0x80) {
			if ((fold ? kql_fold_table[a] : a) != b)
				return NO_MATCH;
			h++;
			n++;
			continue;
		}
		uint32_t x, y;

		h += unicode_decode(haystack + h, length - h, &x);
		n += unicode_decode(needle + n, needle_length - n, &y);
		if ((fold ? unicode_fold(x) : x) != y)
			return NO_MATCH;
	}
	return h;
}

/* Is haystack[i], a continuation byte, inside a valid character that starts before it? */
static bool inside_character(const unsigned char *haystack, size_t length, size_t i)
{
	for (size_t back = 1; back <= 3 && back <= i; back++) {
		if ((haystack[i - back] & 0xc0) != 0x80)
			return haystack[i - back] >= 0xc0 &&
			       utf8_sequence_length(haystack + i - back, length - i + back) > back;
	}
	return false;
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Is every byte below 0x80? */
static inline bool is_ascii(const unsigned char *text, size_t length)
{
	size_t i = 0;

	for (; i + 8 <= length; i += 8) {
		uint64_t word;

		memcpy(&word, text + i, sizeof(word));
		if (word & HIGHS)
			return false;
	}
	for (; i < length; i++) {
		if (text[i] >= 0x80)
			return false;
	}
	return true;
}

/*
 * The one search routine.  fold: the needle is folded and the haystack is
 * folded as it is read.  chars: compare character by character (always when
 * folding; for a case-sensitive needle that is not valid UTF-8, so that its
 * stray bytes never match inside a character).  Inlined into its callers
 * with constant flags, so each caller gets its own loop.
 */
static inline bool search(const unsigned char *haystack, size_t haystack_length,
			  const unsigned char *needle, size_t needle_length, enum kql_match match,
			  bool left_term, bool right_term, bool fold, bool chars)
{
	if (needle_length == 0)
		return match != KQL_MATCH_EQUALS || haystack_length == 0;
	if (haystack_length == 0)
		return false;
	/* a folded match of needle_length bytes spans at most 3 * needle_length
	 * haystack bytes, and at least needle_length / 2 */
	if (!fold && needle_length > haystack_length)
		return false;
	size_t first = 0;
	size_t last = fold ? haystack_length - 1 : haystack_length - needle_length;

	switch (match) {
	case KQL_MATCH_EQUALS:
		if (!fold && needle_length != haystack_length)
			return false;
		last = 0;
		break;
	case KQL_MATCH_STARTSWITH:
		last = 0;
		break;
	case KQL_MATCH_ENDSWITH:
		if (!fold) {
			first = last;
			break;
		}
		if (haystack_length > 3 * needle_length)
			first = haystack_length - 3 * needle_length;
		/* an ASCII needle against an ASCII tail can only end-match one way */
		if (is_ascii(needle, needle_length) &&
		    is_ascii(haystack + first, haystack_length - first)) {
			if (needle_length > haystack_length)
				return false;
			first = last = haystack_length - needle_length;
		}
		break;
	default:
		break;
	}
	unsigned char lead = needle[0];
	/* with folding, a lower-case ASCII letter also matches its upper case:
	 * both are lead with bit 5 set */
	uint64_t set_bits = fold && lead >= 'a' && lead <= 'z' ? 0x2020202020202020ULL : 0;
	/* stop at every non-ASCII byte too when a non-ASCII character can fold
	 * to the lead: any, for a non-ASCII lead; the Kelvin sign for 'k', the
	 * long s for 's' */
	bool high = fold && (lead >= 0x80 || lead == 'k' || lead == 's');

	for (size_t i = first; i <= last; i++) {
		if (i + 8 <= last + 1) {
			/* eight candidate starts at once: which bytes may start a match? */
			uint64_t raw;

			memcpy(&raw, haystack + i, sizeof(raw));
			uint64_t word = (raw | set_bits) ^ (ONES * lead);
			uint64_t hits = (word - ONES) & ~word & HIGHS;

			if (high)
				hits |= raw & HIGHS;
			if (!hits) {
				i += 7;
				continue;
			}
			i += (size_t)__builtin_ctzll(hits) / 8;
		}
		unsigned char c = haystack[i];
		size_t end;

		if (!chars) {
			if (c != lead || memcmp(haystack + i + 1, needle + 1, needle_length - 1) != 0)
				continue;
			end = i + needle_length;
		} else {
			if (c < 0x80 && (fold ? kql_fold_table[c] : c) != lead)
				continue;
			if ((c & 0xc0) == 0x80 && inside_character(haystack, haystack_length, i))
				continue;
			end = chars_match(haystack, haystack_length, i, needle, needle_length, fold);
			if (end == NO_MATCH)
				continue;
			if ((match == KQL_MATCH_EQUALS || match == KQL_MATCH_ENDSWITH) &&
			    end != haystack_length)
				continue;
		}
		if (left_term && i > 0 && term_before(haystack, i))
			continue;
		if (right_term && end < haystack_length && term_at(haystack, haystack_length, end))
			continue;
		return true;
	}
	return false;
}

/* Which sides of a needle must fall on term boundaries. */
static void term_sides(enum kql_match match, const unsigned char *needle, size_t length,
		       bool *left, bool *right)
{
	uint32_t code;

	*left = false;
	*right = false;
	if (length == 0)
		return;
	if (match == KQL_MATCH_HAS || match == KQL_MATCH_HASPREFIX) {
		unicode_decode(needle, length, &code);
		*left = kql_is_term_char(code);
	}
	if (match == KQL_MATCH_HAS || match == KQL_MATCH_HASSUFFIX) {
		unicode_decode_before(needle, length, &code);
		*right = kql_is_term_char(code);
	}
}

void kql_needle_init(struct kql_needle *needle, enum kql_match match, bool case_sensitive,
		     const char *text, size_t length, char *folded)
{
	needle->match = match;
	needle->valid = utf8_is_valid(text, length);
	needle->case_sensitive = case_sensitive;
	term_sides(match, (const unsigned char *)text, length, &needle->left_term,
		   &needle->right_term);
	if (case_sensitive) {
		needle->text = text;
		needle->length = length;
	} else {
		needle->length = unicode_fold_text(text, length, folded);
		needle->text = folded;
	}
}

bool kql_needle_match(const struct kql_needle *needle, const char *haystack, size_t length)
{
	const unsigned char *h = (const unsigned char *)haystack;
	const unsigned char *n = (const unsigned char *)needle->text;

	if (needle->case_sensitive && needle->valid)
		return search(h, length, n, needle->length, needle->match, needle->left_term,
			      needle->right_term, false, false);
	if (needle->case_sensitive)
		return search(h, length, n, needle->length, needle->match, needle->left_term,
			      needle->right_term, false, true);
	return search(h, length, n, needle->length, needle->match, needle->left_term,
		      needle->right_term, true, true);
}

bool kql_string_match(enum kql_match match, bool case_sensitive, const char *haystack,
		      size_t haystack_length, const char *needle, size_t needle_length)
{
	struct kql_needle prepared;
	char small[256];
	char *folded = small;

	if (!case_sensitive && KQL_NEEDLE_FOLDED_SIZE(needle_length) > sizeof(small)) {
		folded = malloc(KQL_NEEDLE_FOLDED_SIZE(needle_length));
		if (!folded)
			return false;
	}
	kql_needle_init(&prepared, match, case_sensitive, needle, needle_length, folded);
	bool matched = kql_needle_match(&prepared, haystack, haystack_length);

	if (folded != small)
		free(folded);
	return matched;
}

bool kql_has(const char *haystack, size_t haystack_length, const char *needle,
	     size_t needle_length)
{
	return kql_string_match(KQL_MATCH_HAS, false, haystack, haystack_length, needle,
				needle_length);
}

bool kql_has_cs(const char *haystack, size_t haystack_length, const char *needle,
		size_t needle_length)
{
	return kql_string_match(KQL_MATCH_HAS, true, haystack, haystack_length, needle,
				needle_length);
}

bool kql_contains(const char *haystack, size_t haystack_length, const char *needle,
		  size_t needle_length)
{
	return kql_string_match(KQL_MATCH_CONTAINS, false, haystack, haystack_length, needle,
				needle_length);
}

bool kql_startswith(const char *haystack, size_t haystack_length, const char *needle,
		    size_t needle_length)
{
	return kql_string_match(KQL_MATCH_STARTSWITH, false, haystack, haystack_length, needle,
				needle_length);
}

bool kql_endswith(const char *haystack, size_t haystack_length, const char *needle,
		  size_t needle_length)
{
	return kql_string_match(KQL_MATCH_ENDSWITH, false, haystack, haystack_length, needle,
				needle_length);
}

bool kql_equals_ci(const char *a, size_t a_length, const char *b, size_t b_length)
{
	return kql_string_match(KQL_MATCH_EQUALS, false, a, a_length, b, b_length);
}
