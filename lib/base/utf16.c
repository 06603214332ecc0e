/*
 * utf16.c - UTF-16LE decoding for PE resources (see utf16.h).
 */
#include <stdint.h>

#include "binident/bytesource.h"
#include "base/utf16.h"

#define REPLACEMENT_CHARACTER 0xFFFDu

size_t utf16le_length(const unsigned char *data, size_t max_units, bool *terminated)
{
	for (size_t i = 0; i < max_units; i++) {
		if (data[2 * i] == 0 && data[2 * i + 1] == 0) {
			*terminated = true;
			return i;
		}
	}
	*terminated = false;
	return max_units;
}

static size_t utf8_encode(uint32_t code_point, char *out)
{
	if (code_point < 0x80) {
		out[0] = (char)code_point;
		return 1;
	}
	if (code_point < 0x800) {
		out[0] = (char)(0xC0 | code_point >> 6);
		out[1] = (char)(0x80 | (code_point & 0x3F));
		return 2;
	}
	if (code_point < 0x10000) {
		out[0] = (char)(0xE0 | code_point >> 12);
		out[1] = (char)(0x80 | ((code_point >> 6) & 0x3F));
		out[2] = (char)(0x80 | (code_point & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | code_point >> 18);
	out[1] = (char)(0x80 | ((code_point >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((code_point >> 6) & 0x3F));
	out[3] = (char)(0x80 | (code_point & 0x3F));
	return 4;
}

static bool is_high_surrogate(uint32_t unit)
{
	return unit >= 0xD800 && unit <= 0xDBFF;
}

static bool is_low_surrogate(uint32_t unit)
{
	return unit >= 0xDC00 && unit <= 0xDFFF;
}

size_t utf16le_to_utf8(const unsigned char *data, size_t units, char *out,
		       size_t *replaced)
{
	size_t written = 0;
	size_t replacements = 0;

	for (size_t i = 0; i < units; i++) {
		uint32_t code_point = load_le16(data + 2 * i);

		if (is_high_surrogate(code_point) && i + 1 < units &&
		    is_low_surrogate(load_le16(data + 2 * i + 2))) {
			uint32_t low = load_le16(data + 2 * i + 2);

			code_point = 0x10000 + ((code_point - 0xD800) << 10) + (low - 0xDC00);
			i++;
		} else if (is_high_surrogate(code_point) || is_low_surrogate(code_point)) {
			code_point = REPLACEMENT_CHARACTER;
			replacements++;
		}
		written += utf8_encode(code_point, out + written);
	}
	out[written] = '\0';
	if (replaced)
		*replaced = replacements;
	return written;
}
