/*
 * fuzz_cache_split.c - the cache's split of AdditionalFields into a shape,
 * per-exec parts and runs of file and container facts (cache_layout_split,
 * lib/store/cache_layout.c).
 *
 * A text that splits must come back byte for byte when each marker of the
 * shape is replaced by its part or run, as the view does; a text that does
 * not split leaves nothing behind; nothing may crash.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct layout_split split;
	struct strbuf joined;

	strbuf_init(&split.shape);
	strbuf_init(&joined);
	cache_layout_split((const char *)data, size, &split);
	if (split.split) {
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
