/*
 * fuzz_layout_split.c - libFuzzer target for cache_layout_split()
 * (lib/store/cache_layout.c): the cache and the collector's SQLite store cut
 * every record's AdditionalFields into a shape and parts, and the collector
 * gets that text from agents it does not trust.  Whatever is split must come
 * back byte for byte when each marker of the shape is replaced by its part
 * (what the view does in SQL), each marker must follow its own member's key
 * ("Key" then ':'), a string part must end at its first unescaped quote,
 * and a text with a control byte is never split.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "store/cache_layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The shape with its markers replaced by the parts' text. */
static void join(const struct layout_split *split, struct strbuf *out)
{
	const char *shape = strbuf_text(&split->shape);

	for (size_t i = 0; i < split->shape.length; i++) {
		unsigned char byte = (unsigned char)shape[i];

		if (byte >= 1 && byte <= LAYOUT_PART_COUNT) {
			if (!split->part[byte - 1])
				abort(); /* a marker without its part */
			strbuf_append(out, split->part[byte - 1], split->part_length[byte - 1]);
		} else {
			strbuf_append_char(out, (char)byte);
		}
	}
}

/* The shape before offset at ends with "key" and a colon (spaces allowed). */
static void check_key_before(const char *shape, size_t at, const char *key)
{
	size_t length = strlen(key);

	while (at > 0 && shape[at - 1] == ' ')
		at--;
	if (at == 0 || shape[at - 1] != ':')
		abort();
	at--;
	while (at > 0 && shape[at - 1] == ' ')
		at--;
	if (at < length + 2 || shape[at - 1] != '"' ||
	    memcmp(shape + at - 1 - length, key, length) != 0 || shape[at - 2 - length] != '"')
		abort();
}

/* A string part ends at its first unescaped quote: its closing one. */
static void check_string_part(const char *part, size_t length)
{
	size_t at = 1;

	while (at < length && part[at] != '"')
		at += part[at] == '\\' ? 2 : 1;
	if (at != length - 1)
		abort();
}

static void check_markers(const struct layout_split *split)
{
	const char *shape = strbuf_text(&split->shape);

	for (size_t i = 0; i < split->shape.length; i++) {
		unsigned char byte = (unsigned char)shape[i];

		if (byte >= 1 && byte <= LAYOUT_PART_COUNT) {
			check_key_before(shape, i, layout_parts[byte - 1].key);
			if (split->part[byte - 1][0] == '"')
				check_string_part(split->part[byte - 1],
						  split->part_length[byte - 1]);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct layout_split split = {0};
	struct strbuf joined;

	strbuf_init(&split.shape);
	strbuf_init(&joined);
	cache_layout_split(text, size, &split);
	if (split.split) {
		if (memchr(text, '\n', size) || memchr(text, '\0', size))
			abort(); /* control bytes are never split */
		check_markers(&split);
		join(&split, &joined);
		if (joined.failed || joined.length != size || memcmp(joined.data, text, size) != 0)
			abort();
	}
	strbuf_free(&joined);
	strbuf_free(&split.shape);
	return 0;
}
