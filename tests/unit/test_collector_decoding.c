/*
 * test_collector_decoding.c - collector/batch_decoding.c: a batch decoded on
 * two threads gives exactly what batch_decode() gives: the same records,
 * hits and summaries in the same order, and for a bad batch the same first
 * error (line number, status, message) wherever the bad lines sit, in the
 * first half, the second or both.
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
	assert_int_equal(batch_decoding_run(text.data, text.length, 0, &two, &two_error), 0);
	assert_int_equal(one.record_count + one.hit_count + one.summary_count, LINES);
	assert_true(one.summary_count > 0 && one.hit_count > 0);
	assert_same_batch(&one, &two);
	batch_free(&one);
	batch_free(&two);
	strbuf_free(&text);
}

static void expect_same_error(const int *bad, size_t bad_count, unsigned long line)
{
	struct strbuf text;
	struct batch one, two;
	struct batch_error one_error, two_error;

	build(&text, bad, bad_count);
	assert_int_equal(batch_decode(text.data, text.length, &one, &one_error), -EINVAL);
	assert_int_equal(batch_decoding_run(text.data, text.length, 0, &two, &two_error), -EINVAL);
	assert_int_equal(one_error.line, line);
	assert_int_equal(two_error.line, line);
	assert_int_equal(two_error.status, one_error.status);
	assert_string_equal(two_error.message, one_error.message);
	batch_free(&one);
	batch_free(&two);
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
		struct batch one, two;
		struct batch_error one_error, two_error;
		int one_result = batch_decode(texts[i], strlen(texts[i]), &one, &one_error);
		int two_result = batch_decoding_run(texts[i], strlen(texts[i]), 0, &two, &two_error);

		assert_int_equal(two_result, one_result);
		if (one_result)
			assert_string_equal(two_error.message, one_error.message);
		else
			assert_same_batch(&one, &two);
		batch_free(&one);
		batch_free(&two);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_batch_as_one_thread),
		cmocka_unit_test(test_first_error_wherever_it_is),
		cmocka_unit_test(test_bad_header_and_tiny_batches),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
