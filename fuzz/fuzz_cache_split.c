/*
 * fuzz_cache_split.c - the cache's split of AdditionalFields into a shape,
 * per-exec parts and runs of file and container facts (cache_layout_split,
 * lib/store/cache_layout.c).
 *
 * A text that splits must come back byte for byte when each marker of the
 * shape is replaced by its part or run, as the view does; each part's marker
 * must follow its own member's key ("Key" then ':'); a string part must end
 * at its first unescaped quote; a text with a control byte never splits; a
 * text that does not split leaves nothing behind; nothing may crash.  The
 * collector splits what agents send: this is hostile input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "store/cache_layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The text again: every marker byte of the shape replaced by what it marks. */
static void join(const struct layout_split *split, struct strbuf *out)
{
	const char *shape = strbuf_text(&split->shape);

	for (size_t i = 0; i < split->shape.length; i++) {
		int marker = (unsigned char)shape[i];

		if (marker >= 1 && marker <= LAYOUT_PART_COUNT) {
			if (!split->part[marker - 1])
				abort(); /* a marker with nothing to put back */
			strbuf_append(out, split->part[marker - 1], split->part_length[marker - 1]);
		} else if (marker > LAYOUT_PART_COUNT && marker <= LAYOUT_PART_COUNT + LAYOUT_FACT_RUNS) {
			int run = marker - LAYOUT_PART_COUNT - 1;

			if (!split->fact[run])
				abort();
			strbuf_append(out, split->fact[run], split->fact_length[run]);
		} else {
			strbuf_append_char(out, shape[i]);
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

static void check_parts(const struct layout_split *split)
{
	const char *shape = strbuf_text(&split->shape);

	for (size_t i = 0; i < split->shape.length; i++) {
		int marker = (unsigned char)shape[i];

		if (marker < 1 || marker > LAYOUT_PART_COUNT)
			continue;
		check_key_before(shape, i, layout_parts[marker - 1].key);
		if (split->part[marker - 1][0] == '"')
			check_string_part(split->part[marker - 1], split->part_length[marker - 1]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct layout_split split;
	struct strbuf joined;

	strbuf_init(&split.shape);
	strbuf_init(&joined);
	cache_layout_split((const char *)data, size, &split);
	if (split.split) {
		if (memchr(data, '\n', size) || memchr(data, '\0', size))
			abort(); /* control bytes are never split */
		check_parts(&split);
		join(&split, &joined);
		if (joined.failed || joined.length != size ||
		    (size && memcmp(strbuf_text(&joined), data, size) != 0))
			abort();
	} else {
		for (int i = 0; i < LAYOUT_PART_COUNT; i++)
			if (split.part[i])
				abort();
		for (int i = 0; i < LAYOUT_FACT_RUNS; i++)
			if (split.fact[i])
				abort();
	}
	strbuf_free(&joined);
	strbuf_free(&split.shape);
	return 0;
}
