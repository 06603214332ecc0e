/*
 * text.c - UTF-8 validation, byte escaping and command lines.
 */
#include <stdint.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "base/text.h"

size_t utf8_sequence_length(const unsigned char *data, size_t length)
{
	unsigned char first = data[0];
	size_t need;
	unsigned int code;

	if (first < 0x80)
		return 1;
	if (first >= 0xc2 && first <= 0xdf) {
		need = 2;
		code = first & 0x1f;
	} else if (first >= 0xe0 && first <= 0xef) {
		need = 3;
		code = first & 0x0f;
	} else if (first >= 0xf0 && first <= 0xf4) {
		need = 4;
		code = first & 0x07;
	} else {
		return 0;
	}
	if (length < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((data[i] & 0xc0) != 0x80)
			return 0;
		code = (code << 6) | (data[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((need == 3 && code < 0x800) || (need == 4 && code < 0x10000) ||
	    (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff)
		return 0;
	return need;
}

bool utf8_is_valid(const char *data, size_t length)
{
	const unsigned char *bytes = (const unsigned char *)data;
	size_t position = 0;

	while (position < length) {
		size_t step = utf8_sequence_length(bytes + position,
						   length - position);
		if (step == 0)
			return false;
		position += step;
	}
	return true;
}

static void append_escaped_byte(struct strbuf *out, unsigned char byte)
{
	static const char digits[] = "0123456789abcdef";
	char escape[4] = {'\\', 'x', digits[byte >> 4], digits[byte & 15]};

	strbuf_append(out, escape, sizeof(escape));
}

void text_append_escaped(struct strbuf *out, const char *data, size_t length)
{
	const unsigned char *bytes = (const unsigned char *)data;
	size_t position = 0, run_start = 0;

	while (position < length) {
		size_t step = utf8_sequence_length(bytes + position,
						   length - position);
		if (step) {
			position += step;
			continue;
		}
		strbuf_append(out, data + run_start, position - run_start);
		append_escaped_byte(out, bytes[position]);
		position++;
		run_start = position;
	}
	strbuf_append(out, data + run_start, position - run_start);
}

static bool argument_needs_quotes(const char *data, size_t length)
{
	if (length == 0)
		return true;
	for (size_t i = 0; i < length; i++) {
		if (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' ||
		    data[i] == '"')
			return true;
	}
	/* \xHH escapes are only unambiguous inside quotes */
	return !utf8_is_valid(data, length);
}

void text_append_argument(struct strbuf *out, const char *data, size_t length)
{
	size_t run_start = 0;

	if (!argument_needs_quotes(data, length)) {
		text_append_escaped(out, data, length);
		return;
	}
	strbuf_append_char(out, '"');
	for (size_t i = 0; i < length; i++) {
		if (data[i] != '"' && data[i] != '\\')
			continue;
		text_append_escaped(out, data + run_start, i - run_start);
		strbuf_append_char(out, '\\');
		run_start = i;
	}
	text_append_escaped(out, data + run_start, length - run_start);
	strbuf_append_char(out, '"');
}

size_t text_command_line(struct strbuf *out, const char *argv, size_t length)
{
	size_t position = 0, count = 0;

	while (position < length) {
		const char *end = memchr(argv + position, '\0', length - position);
		size_t argument_length = end ? (size_t)(end - (argv + position))
					     : length - position;

		if (count)
			strbuf_append_char(out, ' ');
		text_append_argument(out, argv + position, argument_length);
		count++;
		position += argument_length + 1;
	}
	return count;
}

const char *text_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

void text_hex(const unsigned char *bytes, size_t count, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < count; i++) {
		*out++ = digits[bytes[i] >> 4];
		*out++ = digits[bytes[i] & 15];
	}
	*out = '\0';
}

int text_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void text_append_lossy(struct strbuf *out, const char *data, size_t length)
{
	static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */
	const unsigned char *bytes = (const unsigned char *)data;
	size_t position = 0, run_start = 0;

	while (position < length) {
		size_t step = utf8_sequence_length(bytes + position, length - position);

		if (step) {
			position += step;
			continue;
		}
		strbuf_append(out, data + run_start, position - run_start);
		strbuf_append(out, replacement, 3);
		position++;
		run_start = position;
	}
	strbuf_append(out, data + run_start, position - run_start);
}

/* --- text for people's eyes (text.h) ---------------------------------------- */

/* The code point of a valid sequence of step bytes at bytes. */
static unsigned int code_point(const unsigned char *bytes, size_t step)
{
	static const unsigned char lead_mask[5] = {0, 0x7f, 0x1f, 0x0f, 0x07};
	unsigned int code = bytes[0] & lead_mask[step];

	for (size_t i = 1; i < step; i++)
		code = (code << 6) | (bytes[i] & 0x3f);
	return code;
}

/* Invisible characters that change how the text around them is laid out. */
static bool is_layout_control(unsigned int code)
{
	return code == 0x061c || code == 0x200e || code == 0x200f || code == 0x2028 ||
	       code == 0x2029 || (code >= 0x202a && code <= 0x202e) ||
	       (code >= 0x2066 && code <= 0x2069);
}

static size_t escape_hex(char *escape, char kind, unsigned int code, size_t digits)
{
	static const char hex[] = "0123456789abcdef";

	escape[0] = '\\';
	escape[1] = kind;
	for (size_t i = 0; i < digits; i++)
		escape[2 + i] = hex[(code >> (4 * (digits - 1 - i))) & 15];
	return 2 + digits;
}

static size_t escape_letter(char *escape, char letter)
{
	escape[0] = '\\';
	escape[1] = letter;
	return 2;
}

/* An ASCII character (code < 0x80) in style: 0 when shown as it is. */
static size_t escape_ascii(unsigned char c, enum text_escape_style style, char *escape)
{
	if (style == TEXT_ESCAPE_DISPLAY) {
		if (c >= 0x20 && c != 0x7f)
			return 0;
		if (c == '\n' || c == '\t')
			return escape_letter(escape, c == '\n' ? 'n' : 't');
		if (c == 0x1b)
			return escape_letter(escape, 'e');
		return escape_hex(escape, 'x', c, 2);
	}
	if (c >= 0x20 && c != 0x7f && c != '"' && c != '\\')
		return 0;
	if (style == TEXT_ESCAPE_JSON_TEXT) /* its writer escaped the rest */
		return c == 0x7f ? escape_hex(escape, 'u', c, 4) : 0;
	switch (c) {
	case '"':
	case '\\':
		return escape_letter(escape, (char)c);
	case '\n':
		return escape_letter(escape, 'n');
	case '\r':
		return escape_letter(escape, 'r');
	case '\t':
		return escape_letter(escape, 't');
	case '\b':
		return escape_letter(escape, 'b');
	case '\f':
		return escape_letter(escape, 'f');
	default:
		return escape_hex(escape, 'u', c, 4);
	}
}

size_t text_escape_step(const char *data, size_t length, enum text_escape_style style,
			size_t *consumed, char escape[TEXT_ESCAPE_MAX])
{
	const unsigned char *bytes = (const unsigned char *)data;
	size_t step;
	unsigned int code;

	*consumed = 1;
	if (bytes[0] < 0x80)
		return escape_ascii(bytes[0], style, escape);
	step = utf8_sequence_length(bytes, length);
	if (step == 0) /* not UTF-8 */
		return style == TEXT_ESCAPE_DISPLAY ? escape_hex(escape, 'x', bytes[0], 2)
						    : escape_hex(escape, 'u', 0xfffd, 4);
	*consumed = step;
	code = code_point(bytes, step);
	if (code <= 0x9f) /* C1 */
		return style == TEXT_ESCAPE_DISPLAY ? escape_hex(escape, 'x', code, 2)
						    : escape_hex(escape, 'u', code, 4);
	if (is_layout_control(code))
		return escape_hex(escape, 'u', code, 4);
	return 0;
}

/* Bytes that are safe in style without a closer look. */
static inline bool plain_ascii(unsigned char c, enum text_escape_style style)
{
	if (style == TEXT_ESCAPE_JSON_TEXT)
		return c < 0x7f;
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

#define BYTES_ONES 0x0101010101010101ULL
#define BYTES_HIGHS 0x8080808080808080ULL

/* Non-zero when some byte of word is zero (exact; bit-twiddling hacks). */
static inline uint64_t zero_byte_in(uint64_t word)
{
	return (word - BYTES_ONES) & ~word & BYTES_HIGHS;
}

/* Bytes below 0x20, flagged as zero_byte_in() flags (the lowest exact). */
static inline uint64_t control_bytes(uint64_t word)
{
	return (word - BYTES_ONES * 0x20) & ~word & BYTES_HIGHS;
}

/*
 * The bytes of word that are not plain_ascii() in style, each flagged by its
 * high bit.  A flag above the first special byte may be false (a borrow),
 * the lowest one never is: it marks the first special byte.
 */
static inline uint64_t special_bytes(uint64_t word, enum text_escape_style style)
{
	uint64_t special = (word & BYTES_HIGHS) | zero_byte_in(word ^ (BYTES_ONES * 0x7f));

	if (style != TEXT_ESCAPE_JSON_TEXT)
		special |= control_bytes(word) |
			   zero_byte_in(word ^ (BYTES_ONES * '"')) |
			   zero_byte_in(word ^ (BYTES_ONES * '\\'));
	return special;
}

/* How many bytes of data (at least 8 left) are plain before the first
 * special one, at most 8. */
static inline size_t plain_prefix8(const char *data, enum text_escape_style style)
{
	uint64_t word, special;

	memcpy(&word, data, sizeof(word));
	special = special_bytes(word, style);
	if (special == 0)
		return sizeof(word);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (size_t)__builtin_ctzll(special) / 8; /* the first byte is the lowest */
#else
	return 0; /* one by one from here */
#endif
}

#ifdef __SSE2__
/* The same for 16 bytes (at least 16 left), with SSE2 (every x86-64). */
static inline size_t plain_prefix16(const char *data, enum text_escape_style style)
{
	__m128i bytes = _mm_loadu_si128((const __m128i *)(const void *)data);
	/* 0x7f and, as signed bytes, everything from 0x80 up */
	__m128i special = _mm_cmpeq_epi8(bytes, _mm_set1_epi8(0x7f));
	unsigned mask;

	if (style == TEXT_ESCAPE_JSON_TEXT) {
		special = _mm_or_si128(special, _mm_cmplt_epi8(bytes, _mm_setzero_si128()));
	} else {
		special = _mm_or_si128(special, _mm_cmplt_epi8(bytes, _mm_set1_epi8(0x20)));
		special = _mm_or_si128(special, _mm_cmpeq_epi8(bytes, _mm_set1_epi8('"')));
		special = _mm_or_si128(special, _mm_cmpeq_epi8(bytes, _mm_set1_epi8('\\')));
	}
	mask = (unsigned)_mm_movemask_epi8(special);
	return mask == 0 ? 16 : (size_t)__builtin_ctz(mask);
}
#endif

/*
 * How many of the bytes at data (at least 8 left) are plain before the
 * first special one; *chunk: how many were looked at (16 or 8), which the
 * caller may copy at once.
 */
static inline size_t plain_prefix(const char *data, size_t left, enum text_escape_style style,
				  size_t *chunk)
{
#ifdef __SSE2__
	if (left >= 16) {
		*chunk = 16;
		return plain_prefix16(data, style);
	}
#else
	(void)left;
#endif
	*chunk = 8;
	return plain_prefix8(data, style);
}

/*
 * The offset of the first flagged byte in data (flags: the word's
 * special-byte function), or length.  Eight bytes at a time on
 * little-endian machines; the rest, and other machines, byte by byte.
 */
static size_t first_flagged(const char *data, size_t length, uint64_t (*flags)(uint64_t),
			    bool (*flagged)(unsigned char))
{
	size_t at = 0;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	for (; at + sizeof(uint64_t) <= length; at += sizeof(uint64_t)) {
		uint64_t word, found;

		memcpy(&word, data + at, sizeof(word));
		found = flags(word);
		if (found)
			return at + (size_t)__builtin_ctzll(found) / 8;
	}
#endif
	for (; at < length; at++)
		if (flagged((unsigned char)data[at]))
			return at;
	return length;
}

static inline bool is_control(unsigned char c)
{
	return c < 0x20;
}

static inline uint64_t json_string_stops(uint64_t word)
{
	return control_bytes(word) | zero_byte_in(word ^ (BYTES_ONES * '"')) |
	       zero_byte_in(word ^ (BYTES_ONES * '\\'));
}

static inline bool is_json_string_stop(unsigned char c)
{
	return c < 0x20 || c == '"' || c == '\\';
}

size_t text_find_control(const char *data, size_t length)
{
	return first_flagged(data, length, control_bytes, is_control);
}

size_t text_find_json_string_stop(const char *data, size_t length)
{
	return first_flagged(data, length, json_string_stops, is_json_string_stop);
}

/* Written straight into the buffer, room for the worst case reserved once:
 * this runs for every byte of every record the agent writes.  Plain bytes
 * are copied eight at a time, up to the first special one, which
 * text_escape_step() writes. */
void text_append_safe(struct strbuf *out, const char *data, size_t length,
		      enum text_escape_style style)
{
	size_t position = 0;
	char *cursor;

	if (length > (SIZE_MAX - 1) / TEXT_ESCAPE_MAX ||
	    !strbuf_reserve(out, TEXT_ESCAPE_MAX * length))
		return;
	cursor = out->data + out->length;
	while (position < length) {
		unsigned char c;
		size_t consumed, escape_length;

		if (length - position >= 8) {
			size_t chunk;
			size_t plain = plain_prefix(data + position, length - position, style, &chunk);

			/* chunk bytes written, plain of them kept: room for 6 a
			 * byte of the chunk or more left was reserved */
			memcpy(cursor, data + position, chunk);
			cursor += plain;
			position += plain;
			if (plain == chunk)
				continue;
			/* the byte at position is the first special one: on with
			 * it at once, not with another look at the word */
		}
		c = (unsigned char)data[position];
		if (plain_ascii(c, style)) {
			*cursor++ = (char)c;
			position++;
			continue;
		}
		/* the quotes of JSON inside a JSON string (AdditionalFields) */
		if (style == TEXT_ESCAPE_JSON && (c == '"' || c == '\\')) {
			*cursor++ = '\\';
			*cursor++ = (char)c;
			position++;
			continue;
		}
		escape_length = text_escape_step(data + position, length - position, style,
						 &consumed, cursor);
		if (escape_length == 0) {
			memcpy(cursor, data + position, consumed);
			cursor += consumed;
		} else {
			cursor += escape_length;
		}
		position += consumed;
	}
	*cursor = '\0';
	out->length = (size_t)(cursor - out->data);
}

const char *text_display(struct strbuf *scratch, const char *text)
{
	strbuf_clear(scratch);
	if (text)
		text_append_safe(scratch, text, strlen(text), TEXT_ESCAPE_DISPLAY);
	return strbuf_text(scratch);
}

size_t text_put_unsigned(char *out, uint64_t number, unsigned base)
{
	char digits[TEXT_UNSIGNED_MAX], *start = digits + sizeof(digits);
	size_t length;

	do {
		*--start = (char)('0' + number % base);
		number /= base;
	} while (number);
	length = (size_t)(digits + sizeof(digits) - start);
	memcpy(out, start, length);
	out[length] = '\0';
	return length;
}

size_t text_cut_length(const char *text, size_t length, size_t max)
{
	size_t cut = max;

	if (length <= max)
		return length;
	/* back to the start of a character */
	while (cut > 0 && ((unsigned char)text[cut] & 0xc0) == 0x80)
		cut--;
	/* an escape "\xHH" begun in the last three bytes is left out whole */
	for (size_t back = 1; back <= 3 && back <= cut; back++) {
		if (text[cut - back] == '\\' && text[cut - back + 1] == 'x') {
			cut -= back;
			break;
		}
	}
	return cut;
}
