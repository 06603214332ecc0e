/*
 * unicode.c - UTF-8 decoding and the Unicode character facts of unicode.h,
 * looked up in the generated two-stage tables of unicode_data.c.
 */
#include "base/unicode.h"
#include "base/unicode_data.h"
#include "base/text.h"

size_t unicode_decode(const unsigned char *text, size_t length, uint32_t *code)
{
	unsigned char lead = text[0];

	if (lead < 0x80) {
		*code = lead;
		return 1;
	}
	size_t size = utf8_sequence_length(text, length);

	if (size == 0) {
		*code = UNICODE_INVALID_BYTE + lead;
		return 1;
	}
	uint32_t value = lead & (0xff >> (size + 1));

	for (size_t i = 1; i < size; i++)
		value = (value << 6) | (text[i] & 0x3f);
	*code = value;
	return size;
}

size_t unicode_decode_before(const unsigned char *text, size_t end, uint32_t *code)
{
	size_t start = end - 1;

	/* back over at most three continuation bytes to a lead byte */
	while (start > 0 && end - start < 4 && (text[start] & 0xc0) == 0x80)
		start--;
	if (unicode_decode(text + start, end - start, code) == end - start)
		return end - start;
	*code = UNICODE_INVALID_BYTE + text[end - 1];
	return 1;
}

size_t unicode_encode(uint32_t code, char *out)
{
	if (code >= UNICODE_INVALID_BYTE) {
		out[0] = (char)(code - UNICODE_INVALID_BYTE);
		return 1;
	}
	if (code < 0x80) {
		out[0] = (char)code;
		return 1;
	}
	if (code < 0x800) {
		out[0] = (char)(0xc0 | (code >> 6));
		out[1] = (char)(0x80 | (code & 0x3f));
		return 2;
	}
	if (code < 0x10000) {
		out[0] = (char)(0xe0 | (code >> 12));
		out[1] = (char)(0x80 | ((code >> 6) & 0x3f));
		out[2] = (char)(0x80 | (code & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (code >> 18));
	out[1] = (char)(0x80 | ((code >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((code >> 6) & 0x3f));
	out[3] = (char)(0x80 | (code & 0x3f));
	return 4;
}

static const struct unicode_record *record_of(uint32_t code)
{
	if (code >= UNICODE_TABLE_LIMIT)
		return &unicode_records[0]; /* not alphanumeric, maps to itself */
	uint16_t block = unicode_stage1[code >> UNICODE_BLOCK_SHIFT];

	return &unicode_records[unicode_stage2[block][code & ((1u << UNICODE_BLOCK_SHIFT) - 1)]];
}

bool unicode_is_alnum(uint32_t code)
{
	return record_of(code)->alnum != 0;
}

uint32_t unicode_fold(uint32_t code)
{
	return (uint32_t)((int32_t)code + record_of(code)->fold_delta);
}

uint32_t unicode_lower(uint32_t code)
{
	return (uint32_t)((int32_t)code + record_of(code)->lower_delta);
}

uint32_t unicode_upper(uint32_t code)
{
	return (uint32_t)((int32_t)code + record_of(code)->upper_delta);
}

static size_t map_text(const char *text, size_t length, char *out, uint32_t (*map)(uint32_t))
{
	const unsigned char *bytes = (const unsigned char *)text;
	size_t used = 0;

	for (size_t i = 0; i < length;) {
		uint32_t code;

		i += unicode_decode(bytes + i, length - i, &code);
		used += unicode_encode(map(code), out + used);
	}
	out[used] = '\0';
	return used;
}

size_t unicode_fold_text(const char *text, size_t length, char *out)
{
	return map_text(text, length, out, unicode_fold);
}

size_t unicode_lower_text(const char *text, size_t length, char *out)
{
	return map_text(text, length, out, unicode_lower);
}

size_t unicode_upper_text(const char *text, size_t length, char *out)
{
	return map_text(text, length, out, unicode_upper);
}
