/*
 * fuzz_batch_reader.c - libFuzzer target for lib/wire/batch_reader.c: the
 * collector's first look at what an agent (or anyone holding a device key)
 * sends.  Gzip input goes through batch_gunzip() with a small cap first;
 * the text through batch_decode().  Errors must name a line (or none) and
 * never echo more than 64 bytes of one piece of input.  Whatever the
 * reader's own scanner accepts must be JSON to jansson too (a differential
 * check of lib/base/json_scan.c).  Decoding in two parts (header, then the
 * rest cut at a line, as the collector does on two threads) must give the
 * same result, counts and error as decoding in one go.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/strbuf.h"
#include "wire/batch_reader.h"

#define FUZZ_MAX_DECOMPRESSED (1 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every line of an accepted batch is JSON to jansson as well. */
static void check_lines(const char *text, size_t length)
{
	const char *end = text + length;

	while (text < end) {
		const char *newline = memchr(text, '\n', (size_t)(end - text));
		size_t line = newline ? (size_t)(newline - text) : (size_t)(end - text);
		size_t blank = 0;

		while (blank < line && (text[blank] == ' ' || text[blank] == '\t' || text[blank] == '\r'))
			blank++;

		if (blank < line) {
			json_t *json = json_loadb(text, line, 0, NULL);

			if (!json)
				abort();
			json_decref(json);
		}
		text += line + 1;
	}
}

/* The batch decoded in two parts: the same outcome as batch_decode's. */
static void check_two_parts(const char *text, size_t length, int result, const struct batch *whole,
			    const struct batch_error *whole_error)
{
	struct batch batch = {0}, second = {0};
	struct batch_error error = {0}, second_error = {0};
	struct batch_part rest, first, later;
	int parts_result = batch_decode_header(text, length, &batch, &error, &rest);

	if (parts_result == 0) {
		batch_split(&rest, &first, &later);
		parts_result = batch_decode_part(&batch, &first, &batch, &error);
		int later_result = batch_decode_part(&batch, &later, &second, &second_error);

		if (parts_result == 0 && later_result != 0) {
			parts_result = later_result;
			error = second_error;
		}
		if (parts_result == 0)
			parts_result = batch_join(&batch, &second);
	}
	if (parts_result != result || error.status != whole_error->status ||
	    error.line != whole_error->line || strcmp(error.message, whole_error->message) != 0)
		abort();
	if (result == 0 && (batch.record_count != whole->record_count ||
			    batch.hit_count != whole->hit_count ||
			    batch.summary_count != whole->summary_count))
		abort();
	batch_free(&second);
	batch_free(&batch);
}

static void decode(const char *text, size_t length)
{
	struct batch batch = {0};
	struct batch_error error = {0};
	int result = batch_decode(text, length, &batch, &error);

	if (result == 0) {
		check_lines(text, length);
		for (size_t i = 0; i < batch.record_count; i++) {
			if (strcmp(batch.records[i].values[DPE_DEVICE_ID].str, batch.device_id) != 0)
				abort(); /* a record of another device got through */
		}
	} else if (error.status != 400 && error.status != 403 && error.status != 0) {
		abort();
	}
	if (strlen(error.message) >= sizeof(error.message))
		abort();
	if (result != -ENOMEM)
		check_two_parts(text, length, result, &batch, &error);
	batch_free(&batch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strbuf text;
	struct batch_error error = {0};

	if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
		strbuf_init(&text);
		if (batch_gunzip(data, size, FUZZ_MAX_DECOMPRESSED, &text, &error) == 0) {
			if (text.length > FUZZ_MAX_DECOMPRESSED)
				abort();
			decode(text.data ? text.data : "", text.length);
		}
		strbuf_free(&text);
		return 0;
	}
	decode((const char *)data, size);
	return 0;
}
