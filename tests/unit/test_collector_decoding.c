/*
 * test_collector_decoding.c - collector/batch_decoding.c: a batch decoded on
 * two threads, from its text or while it is gunzipped, gives exactly what
 * batch_gunzip() and batch_decode() give: the same records,
 * hits and summaries in the same order, and for a bad batch the same first
 * error (line number, status, message) wherever the bad lines sit, in the
 * first half, the second or both; a gunzip error before any line's.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "base/strbuf.h"
#include "batch_decoding.h"
#include "model/record.h"
#include "model/value.h"

#define DEVICE "0123456789abcdef0123456789abcdef01234567"
#define LINES 200

static void header(struct strbuf *out)
{
	strbuf_append_string(out, "{\"schema\":1,\"batch\":\"b1\",\"device_id\":\"" DEVICE "\","
				  "\"device_name\":\"d.example\",\"sent\":\"2026-12-05T10:00:00Z\"}\n");
}

/* Line number (1 = the header) of item i. */
static void item(struct strbuf *out, int i)
{
	struct record record;

	if (i % 50 == 7) {
		strbuf_appendf(out, "{\"kind\":\"summary\",\"rule\":{\"id\":\"r%d\",\"name\":\"R\"},"
				    "\"updated\":\"2026-12-05T10:00:00Z\",\"columns\":[{\"name\":"
				    "\"Count\",\"type\":\"long\"}],\"rows\":[[%d]]}\n",
			       i, i);
		return;
	}
	record_init(&record);
	record_set_datetime(&record, DPE_TIMESTAMP, 17648316000000000LL + i);
	record_set_cstring(&record, DPE_DEVICE_ID, DEVICE);
	record_set_cstring(&record, DPE_PROCESS_COMMAND_LINE, "sh -c \"echo \\\\ été\"");
	record_set_long(&record, DPE_REPORT_ID, i);
	strbuf_appendf(out, "{\"kind\":\"%s\",%s\"row\":", i % 3 ? "record" : "hit",
		       i % 3 ? "" : "\"rule\":{\"id\":\"r1\",\"name\":\"R\",\"tactics\":\"T\"},");
	record_append_json_line(&record, out);
	out->length--;
	strbuf_append_string(out, "}\n");
	record_free(&record);
}

/* A batch of LINES items; items listed in bad are replaced by a bad line. */
static void build(struct strbuf *out, const int *bad, size_t bad_count)
{
	strbuf_init(out);
	header(out);
	for (int i = 0; i < LINES; i++) {
		bool replaced = false;

		for (size_t b = 0; b < bad_count; b++)
			replaced |= bad[b] == i;
		if (replaced)
			strbuf_appendf(out, "{\"kind\":\"record\",\"row\":{\"Nope%d\":1}}\n", i);
		else
			item(out, i);
	}
}

static void gzip_text(const struct strbuf *text, struct strbuf *out)
{
	z_stream stream = {0};
	size_t room = compressBound((uLong)text->length) + 64;

	strbuf_init(out);
	assert_true(strbuf_reserve(out, room));
	assert_int_equal(deflateInit2(&stream, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
			 Z_OK);
	stream.next_in = (Bytef *)text->data;
	stream.avail_in = (uInt)text->length;
	stream.next_out = (Bytef *)out->data;
	stream.avail_out = (uInt)room;
	assert_int_equal(deflate(&stream, Z_FINISH), Z_STREAM_END);
	out->length = room - stream.avail_out;
	deflateEnd(&stream);
}

/* The ways to decode text on two threads, each must match batch_decode(). */
enum way { WAY_TEXT, WAY_GUNZIP_SPLIT, WAY_GUNZIP_FRONT_ONLY, WAY_COUNT };

static int decode_way(enum way way, const struct strbuf *text, struct batch *batch,
		      struct batch_error *error)
{
	struct strbuf gzip, scratch;
	int result;

	if (way == WAY_TEXT)
		return batch_decoding_run(text->data ? text->data : "", text->length, 0, batch, error);
	gzip_text(text, &gzip);
	strbuf_init(&scratch);
	result = batch_decoding_gunzip(gzip.data, gzip.length, 1 << 24,
				       way == WAY_GUNZIP_SPLIT ? 0 : SIZE_MAX, &scratch, batch, error);
	strbuf_free(&scratch);
	strbuf_free(&gzip);
	return result;
}

static void assert_same_values(const struct value *a, const struct value *b)
{
	for (int c = 0; c < DPE_COLUMN_COUNT; c++) {
		assert_int_equal(a[c].type, b[c].type);
		assert_int_equal(a[c].is_null, b[c].is_null);
		if (a[c].type == VALUE_STRING)
			assert_string_equal(a[c].str, b[c].str);
		else if (!a[c].is_null)
			assert_int_equal(a[c].l, b[c].l);
	}
}

static void assert_same_batch(const struct batch *a, const struct batch *b)
{
	assert_string_equal(a->id, b->id);
	assert_string_equal(a->device_id, b->device_id);
	assert_int_equal(a->record_count, b->record_count);
	assert_int_equal(a->hit_count, b->hit_count);
	assert_int_equal(a->summary_count, b->summary_count);
	for (size_t i = 0; i < a->record_count; i++)
		assert_same_values(a->records[i].values, b->records[i].values);
	for (size_t i = 0; i < a->hit_count; i++) {
		assert_string_equal(a->hits[i].rule.id, b->hits[i].rule.id);
		assert_string_equal(a->hits[i].rule.tactics, b->hits[i].rule.tactics);
		assert_same_values(a->hits[i].values, b->hits[i].values);
	}
	for (size_t i = 0; i < a->summary_count; i++) {
		assert_string_equal(a->summaries[i].rule.id, b->summaries[i].rule.id);
		assert_int_equal(a->summaries[i].row_count, b->summaries[i].row_count);
		assert_int_equal(a->summaries[i].rows[0][BATCH_SUMMARY_COUNT].l,
				 b->summaries[i].rows[0][BATCH_SUMMARY_COUNT].l);
	}
}

static void test_same_batch_as_one_thread(void **state)
{
	struct strbuf text;
	struct batch one, two;
	struct batch_error one_error, two_error;

	(void)state;
	build(&text, NULL, 0);
	assert_int_equal(batch_decode(text.data, text.length, &one, &one_error), 0);
	assert_int_equal(one.record_count + one.hit_count + one.summary_count, LINES);
	assert_true(one.summary_count > 0 && one.hit_count > 0);
	for (int way = 0; way < WAY_COUNT; way++) {
		assert_int_equal(decode_way(way, &text, &two, &two_error), 0);
		assert_same_batch(&one, &two);
		batch_free(&two);
	}
	batch_free(&one);
	strbuf_free(&text);
}

static void expect_same_error(const int *bad, size_t bad_count, unsigned long line)
{
	struct strbuf text;
	struct batch one, two;
	struct batch_error one_error, two_error;

	build(&text, bad, bad_count);
	assert_int_equal(batch_decode(text.data, text.length, &one, &one_error), -EINVAL);
	assert_int_equal(one_error.line, line);
	for (int way = 0; way < WAY_COUNT; way++) {
		assert_int_equal(decode_way(way, &text, &two, &two_error), -EINVAL);
		assert_int_equal(two_error.line, line);
		assert_int_equal(two_error.status, one_error.status);
		assert_string_equal(two_error.message, one_error.message);
		batch_free(&two);
	}
	batch_free(&one);
	strbuf_free(&text);
}

static void test_first_error_wherever_it_is(void **state)
{
	static const int first[] = {10}, second[] = {180}, both[] = {20, 190};
	static const int last[] = {LINES - 1}, very_first[] = {0};

	(void)state;
	/* item i is on line i + 2 */
	expect_same_error(first, 1, 12);
	expect_same_error(second, 1, 182);
	expect_same_error(both, 2, 22);
	expect_same_error(last, 1, LINES + 1);
	expect_same_error(very_first, 1, 2);
}

static void test_bad_header_and_tiny_batches(void **state)
{
	static const char *const texts[] = {
		"", "\n\n", "{\"schema\":2}\n", "not json\n{}\n",
		"{\"schema\":1,\"batch\":\"b\",\"device_id\":\"d\",\"device_name\":\"n\","
		"\"sent\":\"2026-12-05T10:00:00Z\"}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct batch one;
		struct batch_error one_error;
		struct strbuf text;
		int one_result = batch_decode(texts[i], strlen(texts[i]), &one, &one_error);

		strbuf_init(&text);
		strbuf_append_string(&text, texts[i]);
		for (int way = 0; way < WAY_COUNT; way++) {
			struct batch two;
			struct batch_error two_error;

			assert_int_equal(decode_way(way, &text, &two, &two_error), one_result);
			if (one_result)
				assert_string_equal(two_error.message, one_error.message);
			else
				assert_same_batch(&one, &two);
			batch_free(&two);
		}
		batch_free(&one);
		strbuf_free(&text);
	}
}

/* A gunzip error wins over bad lines before it: the batch is not read;
 * a trailer that lies about the size is not believed. */
static void test_gunzip_errors_first(void **state)
{
	static const int bad[] = {3};
	struct strbuf text, gzip, scratch;
	struct batch batch;
	struct batch_error error;

	(void)state;
	build(&text, bad, 1);
	gzip_text(&text, &gzip);
	strbuf_init(&scratch);
	/* truncated: the last bytes (the trailer and some data) are missing */
	assert_int_equal(batch_decoding_gunzip(gzip.data, gzip.length - 12, 1 << 24, 0, &scratch,
					       &batch, &error),
			 -EINVAL);
	assert_int_equal(error.status, 400);
	assert_non_null(strstr(error.message, "not valid gzip"));
	batch_free(&batch);
	/* over the cap */
	assert_int_equal(batch_decoding_gunzip(gzip.data, gzip.length, text.length / 2, 0, &scratch,
					       &batch, &error),
			 -EFBIG);
	assert_int_equal(error.status, 413);
	batch_free(&batch);
	/* a trailer that lies about the size (less, more): corrupt, as batch_gunzip says */
	for (int lie = -1; lie <= 1; lie += 2) {
		struct batch_error plain;
		struct strbuf plain_text;

		gzip.data[gzip.length - 3] = (char)(gzip.data[gzip.length - 3] + lie);
		strbuf_init(&plain_text);
		assert_int_equal(batch_gunzip(gzip.data, gzip.length, 1 << 24, &plain_text, &plain),
				 -EINVAL);
		assert_int_equal(batch_decoding_gunzip(gzip.data, gzip.length, 1 << 24, 0, &scratch,
						       &batch, &error),
				 -EINVAL);
		assert_string_equal(error.message, plain.message);
		gzip.data[gzip.length - 3] = (char)(gzip.data[gzip.length - 3] - lie);
		batch_free(&batch);
		strbuf_free(&plain_text);
	}
	strbuf_free(&scratch);
	strbuf_free(&gzip);
	strbuf_free(&text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_batch_as_one_thread),
		cmocka_unit_test(test_first_error_wherever_it_is),
		cmocka_unit_test(test_bad_header_and_tiny_batches),
		cmocka_unit_test(test_gunzip_errors_first),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
