/*
 * json_scan.c - strict in-place JSON scanning (json_scan.h).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json_scan.h"
#include "base/text.h"

static int fail(struct json_scan *scan, const char *what)
{
	if (!scan->message[0]) {
		snprintf(scan->message, sizeof(scan->message), "%s", what);
		scan->error_offset = (size_t)(scan->position - scan->text);
	}
	return -EINVAL;
}

void json_scan_init(struct json_scan *scan, const char *text, size_t length)
{
	memset(scan, 0, sizeof(*scan));
	scan->text = scan->position = text;
	scan->end = text + length;
}

static void skip_space(struct json_scan *scan)
{
	while (scan->position < scan->end &&
	       (*scan->position == ' ' || *scan->position == '\t' || *scan->position == '\n' ||
		*scan->position == '\r'))
		scan->position++;
}

static int hex4(const char *text, unsigned *code)
{
	*code = 0;
	for (int i = 0; i < 4; i++) {
		int digit = text_hex_digit((unsigned char)text[i]);

		if (digit < 0)
			return -1;
		*code = *code << 4 | (unsigned)digit;
	}
	return 0;
}

/* A \u escape at p (after the 'u'): checks pairs; returns its length. */
static int check_unicode(struct json_scan *scan, const char *p)
{
	unsigned code, low;

	if (scan->end - p < 4 || hex4(p, &code) != 0)
		return fail(scan, "bad \\u escape");
	if (code == 0)
		return fail(scan, "\\u0000 in a string");
	if (code >= 0xdc00 && code <= 0xdfff)
		return fail(scan, "lone low surrogate");
	if (code < 0xd800 || code > 0xdbff)
		return 4;
	if (scan->end - p < 10 || p[4] != '\\' || p[5] != 'u' || hex4(p + 6, &low) != 0 ||
	    low < 0xdc00 || low > 0xdfff)
		return fail(scan, "lone high surrogate");
	return 10;
}

/* The letter after a backslash of a two-character escape? */
static bool is_simple_escape(char letter)
{
	switch (letter) {
	case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
		return true;
	default:
		return false;
	}
}

/* A word with byte in each of its eight bytes. */
static uint64_t every_byte(unsigned char byte)
{
	return 0x0101010101010101ULL * byte;
}

/* Does the word hold a zero byte?  Exact (only which byte may be wrong). */
static uint64_t has_zero_byte(uint64_t word)
{
	return (word - every_byte(0x01)) & ~word & every_byte(0x80);
}

/* Which byte of a word loaded from memory holds the lowest flag. */
static int first_flagged_byte(uint64_t flags)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return __builtin_ctzll(flags) / 8;
#else
	(void)flags;
	return 0; /* the first byte in memory is the most significant: look byte by byte */
#endif
}

/*
 * The first byte at or after p that needs a look (a quote, a backslash, a
 * control character, a byte of a multi-byte UTF-8 sequence), eight bytes at
 * a time: strings are nearly all plain bytes, and a byte at a time was a
 * third of the collector's ingestion.  In each test the lowest flagged byte
 * is a true one (a borrow only flags bytes above it), so the lowest flag of
 * all is the first byte to look at.
 */
static const char *skip_plain_ascii(const char *p, const char *end)
{
	while (end - p >= 8) {
		uint64_t word, flags;

		memcpy(&word, p, sizeof(word));
		flags = (word & every_byte(0x80)) |			    /* >= 0x80 */
			((word - every_byte(0x20)) & ~word & every_byte(0x80)) | /* < 0x20 */
			has_zero_byte(word ^ every_byte('"')) | has_zero_byte(word ^ every_byte('\\'));
		if (flags)
			return p + first_flagged_byte(flags);
		p += 8;
	}
	return p;
}

static int scan_string(struct json_scan *scan, struct json_scan_value *value)
{
	const char *p = ++scan->position; /* after the quote */

	value->kind = JSON_SCAN_STRING;
	value->raw = p;
	value->escaped = false;
	while ((p = skip_plain_ascii(p, scan->end)) < scan->end) {
		unsigned char c = (unsigned char)*p;

		if (c == '"') {
			value->raw_length = (size_t)(p - value->raw);
			scan->position = p + 1;
			return 0;
		}
		if (c < 0x20) {
			scan->position = p;
			return fail(scan, "control character in a string");
		}
		if (c == '\\') {
			value->escaped = true;
			if (p + 1 >= scan->end)
				break;
			if (is_simple_escape(p[1])) {
				p += 2;
				continue;
			}
			if (p[1] != 'u') {
				scan->position = p;
				return fail(scan, "bad escape");
			}
			scan->position = p; /* where an error is reported */
			int length = check_unicode(scan, p + 2);

			if (length < 0)
				return length;
			p += 2 + length;
			continue;
		}
		if (c < 0x80) {
			p++;
			continue;
		}
		size_t length = utf8_sequence_length((const unsigned char *)p, (size_t)(scan->end - p));

		if (length == 0) {
			scan->position = p;
			return fail(scan, "invalid UTF-8");
		}
		p += length;
	}
	scan->position = scan->end;
	return fail(scan, "unterminated string");
}

static bool digit(char c)
{
	return c >= '0' && c <= '9';
}

static int scan_number(struct json_scan *scan, struct json_scan_value *value)
{
	const char *p = scan->position, *start = p;
	bool real = false;
	char buffer[64];

	if (p < scan->end && *p == '-')
		p++;
	if (p >= scan->end || !digit(*p))
		return fail(scan, "bad number");
	if (*p == '0')
		p++;
	else
		while (p < scan->end && digit(*p))
			p++;
	if (p < scan->end && *p == '.') {
		real = true;
		if (++p >= scan->end || !digit(*p))
			return fail(scan, "bad number");
		while (p < scan->end && digit(*p))
			p++;
	}
	if (p < scan->end && (*p == 'e' || *p == 'E')) {
		real = true;
		p++;
		if (p < scan->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= scan->end || !digit(*p))
			return fail(scan, "bad number");
		while (p < scan->end && digit(*p))
			p++;
	}
	if ((size_t)(p - start) >= sizeof(buffer))
		return fail(scan, "number too long");
	memcpy(buffer, start, (size_t)(p - start));
	buffer[p - start] = '\0';
	errno = 0;
	if (real) {
		value->kind = JSON_SCAN_REAL;
		value->real = strtod(buffer, NULL);
		if (!isfinite(value->real))
			return fail(scan, "number out of range");
	} else {
		value->kind = JSON_SCAN_INTEGER;
		value->integer = strtoll(buffer, NULL, 10);
		if (errno == ERANGE)
			return fail(scan, "integer out of range");
	}
	scan->position = p;
	return 0;
}

static int literal(struct json_scan *scan, const char *word, enum json_scan_kind kind,
		   struct json_scan_value *value)
{
	size_t length = strlen(word);

	if ((size_t)(scan->end - scan->position) < length ||
	    memcmp(scan->position, word, length) != 0)
		return fail(scan, "unexpected character");
	scan->position += length;
	value->kind = kind;
	return 0;
}

static int open_container(struct json_scan *scan, enum json_scan_kind kind,
			  struct json_scan_value *value)
{
	if (scan->depth + 1 >= JSON_SCAN_MAX_DEPTH)
		return fail(scan, "nested too deep");
	scan->position++;
	scan->members[++scan->depth] = 0;
	value->kind = kind;
	return 0;
}

int json_scan_value(struct json_scan *scan, struct json_scan_value *value)
{
	skip_space(scan);
	if (scan->position >= scan->end)
		return fail(scan, "a value is missing");
	switch (*scan->position) {
	case '"':
		return scan_string(scan, value);
	case '{':
		return open_container(scan, JSON_SCAN_OBJECT, value);
	case '[':
		return open_container(scan, JSON_SCAN_ARRAY, value);
	case 't':
		return literal(scan, "true", JSON_SCAN_TRUE, value);
	case 'f':
		return literal(scan, "false", JSON_SCAN_FALSE, value);
	case 'n':
		return literal(scan, "null", JSON_SCAN_NULL, value);
	default:
		return scan_number(scan, value);
	}
}

/* Before the next member or element: ',' unless first; 0 at the closer. */
static int next_item(struct json_scan *scan, char closer)
{
	skip_space(scan);
	if (scan->position >= scan->end)
		return fail(scan, "unterminated object or array");
	if (*scan->position == closer) {
		scan->position++;
		scan->depth--;
		return 0;
	}
	if (scan->members[scan->depth]++ > 0) {
		if (*scan->position != ',')
			return fail(scan, "expected ',' or the end of the object or array");
		scan->position++;
		skip_space(scan);
	}
	return 1;
}

int json_scan_member(struct json_scan *scan, struct json_scan_value *key)
{
	int more = next_item(scan, '}');

	if (more <= 0)
		return more;
	if (scan->position >= scan->end || *scan->position != '"')
		return fail(scan, "expected a member name");
	if (scan_string(scan, key) != 0)
		return -EINVAL;
	skip_space(scan);
	if (scan->position >= scan->end || *scan->position != ':')
		return fail(scan, "expected ':'");
	scan->position++;
	return 1;
}

int json_scan_element(struct json_scan *scan)
{
	return next_item(scan, ']');
}

int json_scan_skip(struct json_scan *scan, enum json_scan_kind kind)
{
	struct json_scan_value item = {0};
	int more;

	for (;;) {
		if (kind == JSON_SCAN_OBJECT)
			more = json_scan_member(scan, &item);
		else
			more = json_scan_element(scan);
		if (more <= 0)
			return more;
		if (json_scan_value(scan, &item) != 0)
			return -EINVAL;
		if ((item.kind == JSON_SCAN_OBJECT || item.kind == JSON_SCAN_ARRAY) &&
		    json_scan_skip(scan, item.kind) != 0)
			return -EINVAL;
	}
}

int json_scan_finish(struct json_scan *scan)
{
	skip_space(scan);
	return scan->position == scan->end ? 0 : fail(scan, "text after the value");
}

static size_t put_utf8(unsigned code, char *out)
{
	if (code < 0x80) {
		out[0] = (char)code;
		return 1;
	}
	if (code < 0x800) {
		out[0] = (char)(0xc0 | code >> 6);
		out[1] = (char)(0x80 | (code & 0x3f));
		return 2;
	}
	if (code < 0x10000) {
		out[0] = (char)(0xe0 | code >> 12);
		out[1] = (char)(0x80 | ((code >> 6) & 0x3f));
		out[2] = (char)(0x80 | (code & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | code >> 18);
	out[1] = (char)(0x80 | ((code >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((code >> 6) & 0x3f));
	out[3] = (char)(0x80 | (code & 0x3f));
	return 4;
}

size_t json_scan_decode(const struct json_scan_value *value, char *out)
{
	const char *p = value->raw, *end = value->raw + value->raw_length;
	size_t length = 0;

	if (!value->escaped) {
		memcpy(out, p, value->raw_length);
		out[value->raw_length] = '\0';
		return value->raw_length;
	}
	while (p < end) {
		const char *slash = memchr(p, '\\', (size_t)(end - p));
		size_t plain = slash ? (size_t)(slash - p) : (size_t)(end - p);
		unsigned code, low;

		memcpy(out + length, p, plain);
		length += plain;
		p += plain;
		if (!slash)
			break;
		switch (p[1]) {
		case 'b': out[length++] = '\b'; break;
		case 'f': out[length++] = '\f'; break;
		case 'n': out[length++] = '\n'; break;
		case 'r': out[length++] = '\r'; break;
		case 't': out[length++] = '\t'; break;
		case 'u':
			hex4(p + 2, &code);
			if (code >= 0xd800 && code <= 0xdbff) {
				hex4(p + 8, &low);
				code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
				p += 6;
			}
			length += put_utf8(code, out + length);
			p += 4;
			break;
		default: out[length++] = p[1]; break;
		}
		p += 2;
	}
	out[length] = '\0';
	return length;
}
