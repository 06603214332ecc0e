/*
 * test_batch_writer.c - the agent's batches (lib/wire/batch_writer.c).
 *
 * Every batch is inflated again with zlib and every line parsed: the
 * header, records (the same object as the --events line), hits, summaries
 * (rows turned into arrays in column order).  The size limit holds for
 * incompressible data too, batches come out close to it, and a line that
 * fits no batch is said so (-EFBIG), not silently dropped.
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
#include <jansson.h>
#include <zlib.h>

#include "base/strbuf.h"
#include "model/record.h"
#include "wire/batch_writer.h"
#include "wire/wire.h"

#define DEVICE "0123456789abcdef0123456789abcdef01234567"
#define SENT_TICKS 17648928000000000LL /* 2025-12-05T00:00:00Z */

/* Inflate a gzip body into text (malloc'd, NUL-terminated). */
static char *gunzip(const unsigned char *body, size_t length, size_t *out_length)
{
	z_stream stream = {0};
	size_t capacity = length * 8 + 4096, used = 0;
	char *text = malloc(capacity);
	int code;

	assert_non_null(text);
	assert_int_equal(inflateInit2(&stream, 15 + 16), Z_OK);
	stream.next_in = (Bytef *)(uintptr_t)body;
	stream.avail_in = (uInt)length;
	do {
		if (capacity - used < 4096) {
			capacity *= 2;
			text = realloc(text, capacity);
			assert_non_null(text);
		}
		stream.next_out = (Bytef *)text + used;
		stream.avail_out = (uInt)(capacity - used - 1);
		code = inflate(&stream, Z_NO_FLUSH);
		used = capacity - 1 - stream.avail_out;
	} while (code == Z_OK);
	assert_int_equal(code, Z_STREAM_END);
	assert_int_equal(stream.avail_in, 0);
	inflateEnd(&stream);
	text[used] = '\0';
	*out_length = used;
	return text;
}

static void fill_record(struct record *record, int index, const char *command)
{
	record_reset(record);
	record_set_datetime(record, DPE_TIMESTAMP, SENT_TICKS + index);
	record_set_cstring(record, DPE_DEVICE_ID, DEVICE);
	record_set_cstring(record, DPE_DEVICE_NAME, "host.example");
	record_set_cstring(record, DPE_FILE_NAME, "true");
	record_set_cstring(record, DPE_PROCESS_COMMAND_LINE, command);
	record_set_long(record, DPE_REPORT_ID, index + 1);
	record_set_bool(record, DPE_IS_PROCESS_REMOTE_SESSION, false);
}

static void begin(struct batch_writer *writer, size_t limit)
{
	char id[160];
	struct batch_header header = {id, DEVICE, "host.example", SENT_TICKS};

	batch_writer_format_id(id, sizeof(id), DEVICE, 10, 2, 0);
	batch_writer_init(writer, limit);
	assert_int_equal(batch_writer_begin(writer, &header), 0);
}

static json_t *line_at(char *text, int index)
{
	char *line = text;

	for (int i = 0; i < index; i++) {
		line = strchr(line, '\n');
		assert_non_null(line);
		line++;
	}
	size_t length = strcspn(line, "\n");
	json_t *parsed = json_loadb(line, length, 0, NULL);

	assert_non_null(parsed);
	return parsed;
}

static void test_lines_round_trip(void **state)
{
	static const struct batch_rule_text rule = {"rule-1", "Rule one", "CommandAndControl",
						    "T1219"};
	struct batch_writer writer;
	struct record record;
	struct strbuf expected;
	const unsigned char *body;
	size_t length, text_length;
	json_t *line, *wanted;

	(void)state;
	record_init(&record);
	strbuf_init(&expected);
	fill_record(&record, 0, "/bin/true \"quoted\" \\ back");
	record_append_json_line(&record, &expected);
	begin(&writer, WIRE_BATCH_MAX_COMPRESSED);
	assert_int_equal(batch_writer_add_record(&writer, &record), 0);
	assert_int_equal(batch_writer_add_hit(&writer, &rule, &record), 0);
	assert_int_equal(batch_writer_add_summary(
				 &writer, &rule, SENT_TICKS,
				 "[{\"name\":\"DeviceId\",\"type\":\"string\"},"
				 "{\"name\":\"Report\",\"type\":\"dynamic\"},"
				 "{\"name\":\"Count\",\"type\":\"long\"}]",
				 "[{\"Count\":2,\"DeviceId\":\"" DEVICE "\",\"Report\":[1,2]}]"),
			 0);
	assert_int_equal(batch_writer_lines(&writer), 3);
	assert_int_equal(batch_writer_finish(&writer, &body, &length), 0);
	assert_true(length <= WIRE_BATCH_MAX_COMPRESSED);
	char *text = gunzip(body, length, &text_length);

	line = line_at(text, 0);
	assert_int_equal(json_integer_value(json_object_get(line, "schema")), WIRE_SCHEMA_VERSION);
	assert_string_equal(json_string_value(json_object_get(line, "batch")),
			    DEVICE "-E10-H2-S0");
	assert_string_equal(json_string_value(json_object_get(line, "device_id")), DEVICE);
	assert_string_equal(json_string_value(json_object_get(line, "sent")),
			    "2025-12-05T00:00:00.0000000Z");
	json_decref(line);

	wanted = json_loads(strbuf_text(&expected), 0, NULL);
	line = line_at(text, 1);
	assert_string_equal(json_string_value(json_object_get(line, "kind")), "record");
	assert_true(json_equal(json_object_get(line, "row"), wanted));
	json_decref(line);

	line = line_at(text, 2);
	assert_string_equal(json_string_value(json_object_get(line, "kind")), "hit");
	assert_string_equal(json_string_value(json_object_get(json_object_get(line, "rule"),
							      "techniques")),
			    "T1219");
	assert_true(json_equal(json_object_get(line, "row"), wanted));
	json_decref(line);

	line = line_at(text, 3);
	assert_string_equal(json_string_value(json_object_get(line, "kind")), "summary");
	assert_string_equal(json_string_value(json_object_get(line, "updated")),
			    "2025-12-05T00:00:00.0000000Z");
	json_t *rows = json_loads("[[\"" DEVICE "\",[1,2],2]]", 0, NULL);
	assert_true(json_equal(json_object_get(line, "rows"), rows));
	assert_int_equal(json_array_size(json_object_get(line, "columns")), 3);
	json_decref(rows);
	json_decref(line);
	/* four lines, each ended */
	size_t lines = 0;

	for (size_t i = 0; i < text_length; i++)
		lines += text[i] == '\n';
	assert_int_equal(lines, 4);
	assert_int_equal(text[text_length - 1], '\n');
	json_decref(wanted);
	free(text);
	strbuf_free(&expected);
	record_free(&record);
	batch_writer_free(&writer);
}

/* Random printable text: deflate cannot shrink it much. */
static void random_text(char *out, size_t length, uint64_t *seed)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	for (size_t i = 0; i < length; i++) {
		*seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
		out[i] = alphabet[(*seed >> 33) % 64];
	}
	out[length] = '\0';
}

/* Fill batches until full; every one within the limit, and near it. */
static void fill_to_limit(size_t limit, size_t noise)
{
	struct batch_writer writer;
	struct record record;
	char *command = malloc(noise + 1);
	uint64_t seed = 42;
	const unsigned char *body;
	size_t length, text_length, added = 0;
	int result;

	assert_non_null(command);
	record_init(&record);
	begin(&writer, limit);
	for (;;) {
		random_text(command, noise, &seed);
		fill_record(&record, (int)added, command);
		result = batch_writer_add_record(&writer, &record);
		if (result)
			break;
		added++;
	}
	assert_int_equal(result, -ENOSPC);
	assert_int_equal(batch_writer_lines(&writer), added);
	assert_int_equal(batch_writer_finish(&writer, &body, &length), 0);
	assert_true(length <= limit);
	/* full means full: less than two lines' worth of room is left */
	assert_true(length + 2 * (noise + 2000) > limit);
	char *text = gunzip(body, length, &text_length);
	size_t lines = 0;

	for (size_t i = 0; i < text_length; i++)
		lines += text[i] == '\n';
	assert_int_equal(lines, added + 1);
	free(text);
	free(command);
	record_free(&record);
	batch_writer_free(&writer);
}

static void test_limit_holds(void **state)
{
	(void)state;
	fill_to_limit(WIRE_BATCH_MAX_COMPRESSED, 3000); /* incompressible */
	fill_to_limit(64 * 1024, 3000);
	fill_to_limit(64 * 1024, 20); /* compressible: many lines */
	fill_to_limit(8 * 1024, 500);
}

static void test_too_large_for_any_batch(void **state)
{
	struct batch_writer writer;
	struct record record;
	char command[9000];
	uint64_t seed = 7;

	(void)state;
	record_init(&record);
	random_text(command, sizeof(command) - 1, &seed);
	fill_record(&record, 0, command);
	begin(&writer, 4096);
	assert_int_equal(batch_writer_add_record(&writer, &record), -EFBIG);
	assert_int_equal(batch_writer_lines(&writer), 0);
	/* a small one still fits after the refusal */
	fill_record(&record, 1, "/bin/true");
	assert_int_equal(batch_writer_add_record(&writer, &record), 0);
	record_free(&record);
	batch_writer_free(&writer);
}

static void test_bad_summaries(void **state)
{
	static const struct batch_rule_text rule = {"rule-1", "Rule one", "", ""};
	struct batch_writer writer;

	(void)state;
	begin(&writer, WIRE_BATCH_MAX_COMPRESSED);
	assert_int_equal(batch_writer_add_summary(&writer, &rule, 0, "not json", "[]"), -EINVAL);
	assert_int_equal(batch_writer_add_summary(&writer, &rule, 0, "[{\"name\":1}]", "[]"),
			 -EINVAL);
	assert_int_equal(batch_writer_add_summary(&writer, &rule, 0, "[]", "{}"), -EINVAL);
	assert_int_equal(batch_writer_add_summary(&writer, &rule, 0,
						  "[{\"name\":\"A\",\"type\":\"long\"}]", "[1]"),
			 -EINVAL);
	assert_int_equal(batch_writer_lines(&writer), 0);
	/* a missing value is null in its column */
	assert_int_equal(batch_writer_add_summary(&writer, &rule, 0,
						  "[{\"name\":\"A\",\"type\":\"long\"}]", "[{}]"),
			 0);
	batch_writer_free(&writer);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_round_trip),
		cmocka_unit_test(test_limit_holds),
		cmocka_unit_test(test_too_large_for_any_batch),
		cmocka_unit_test(test_bad_summaries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
