/*
 * test_batch_reader.c - lib/wire/batch_reader.c: a good batch decodes with
 * every value typed; each kind of bad line is refused with its line and
 * field named, never echoing more than 64 bytes of what was sent and never
 * a record's value; DeviceId mismatches are 403; gunzip stops at its cap.
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
#include "model/record.h"
#include "wire/batch_reader.h"

#define DEVICE "0123456789abcdef0123456789abcdef01234567"
#define HEADER                                                                              \
	"{\"schema\":1,\"batch\":\"" DEVICE "-E1-2-H0-0\",\"device_id\":\"" DEVICE "\","     \
	"\"device_name\":\"a.example\",\"sent\":\"2026-12-05T10:00:00.0000000Z\"}\n"

/* A record line: the 68 columns, FileName and ReportId as given. */
static void record_line(struct strbuf *out, const char *device, const char *file_name,
			long report, const char *kind)
{
	struct record record;

	record_init(&record);
	record_set_datetime(&record, DPE_TIMESTAMP, 17648316000000000LL);
	record_set_cstring(&record, DPE_DEVICE_ID, device);
	record_set_cstring(&record, DPE_FILE_NAME, file_name);
	record_set_cstring(&record, DPE_PROCESS_COMMAND_LINE, "curl -H 'token: hunter2'");
	record_set_long(&record, DPE_REPORT_ID, report);
	record_set_bool(&record, DPE_IS_PROCESS_REMOTE_SESSION, true);
	strbuf_appendf(out, "{\"kind\":\"%s\",%s\"row\":", kind,
		       strcmp(kind, "hit") == 0 ? "\"rule\":{\"id\":\"r1\",\"name\":\"R\"}," : "");
	record_append_json_line(&record, out);
	out->length--;
	strbuf_append_string(out, "}\n");
	record_free(&record);
}

static void test_good_batch(void **state)
{
	struct strbuf text;
	struct batch batch;
	struct batch_error error;

	(void)state;
	strbuf_init(&text);
	strbuf_append_string(&text, HEADER);
	record_line(&text, DEVICE, "bash", 1, "record");
	record_line(&text, DEVICE, "curl", 2, "record");
	record_line(&text, DEVICE, "curl", 2, "hit");
	strbuf_append_string(&text, "\n");
	assert_int_equal(batch_decode(text.data, text.length, &batch, &error), 0);
	assert_string_equal(batch.device_id, DEVICE);
	assert_string_equal(batch.device_name, "a.example");
	assert_int_equal(batch.record_count, 2);
	assert_int_equal(batch.hit_count, 1);
	assert_string_equal(batch.records[1].values[DPE_FILE_NAME].str, "curl");
	assert_int_equal(batch.records[1].values[DPE_REPORT_ID].l, 2);
	assert_true(batch.records[0].values[DPE_IS_PROCESS_REMOTE_SESSION].b);
	assert_true(batch.records[0].values[DPE_PROCESS_ID].is_null);
	assert_string_equal(batch.hits[0].rule.id, "r1");
	assert_string_equal(batch.hits[0].rule.tactics, "");
	batch_free(&batch);
	strbuf_free(&text);
}

struct bad_case {
	const char *line; /* after the header and one good record */
	int status;
	const char *words;
};

static void expect_error(const char *text, int status, const char *words)
{
	struct batch batch;
	struct batch_error error;
	int result = batch_decode(text, strlen(text), &batch, &error);

	batch_free(&batch);
	if (result == 0 || error.status != status || !strstr(error.message, words))
		print_error("want %d %s -> %d %s\n", status, words, error.status, error.message);
	assert_int_equal(result, -EINVAL);
	assert_int_equal(error.status, status);
	assert_non_null(strstr(error.message, words));
	assert_null(strstr(error.message, "hunter2"));
}

static void test_bad_lines(void **state)
{
	static const struct bad_case cases[] = {
		{"not json", 400, "line 3: not JSON"},
		{"[1]", 400, "line 3: expected a JSON object"},
		{"{\"kind\":1}", 400, "line 3: kind: expected a string"},
		{"{\"other\":{}}", 400, "line 3: kind: missing"},
		{"{\"kind\":\"record\"}", 400, "line 3: row: missing"},
		{"{\"kind\":\"record\",\"row\":[]}", 400, "line 3: row: expected an object"},
		{"{\"kind\":\"record\",\"row\":{}}", 400, "line 3: row.Timestamp: missing"},
		{"{\"kind\":\"hit\",\"rule\":5}", 400, "line 3: rule: expected an object"},
		{"{\"kind\":\"hit\",\"rule\":{\"id\":\"a b\",\"name\":\"x\"},\"row\":{}}", 400,
		 "rule.id: expected 1 to"},
		{"{\"kind\":\"summary\",\"rule\":{\"id\":\"a\",\"name\":\"x\"},\"updated\":5}", 400,
		 "updated: expected a datetime"},
		{"{\"kind\":\"summary\",\"rule\":{\"id\":\"a\",\"name\":\"x\"},\"updated\":"
		 "\"2026-01-01\",\"columns\":[{\"name\":\"Count\",\"type\":\"long\"}],\"rows\":[[\"x\"]]}",
		 400, "rows[0].Count: expected an integer"},
		{"{\"kind\":\"summary\",\"rule\":{\"id\":\"a\",\"name\":\"x\"},\"updated\":"
		 "\"2026-01-01\",\"columns\":[{\"name\":\"DeviceId\",\"type\":\"string\"}],"
		 "\"rows\":[[\"other\"]]}",
		 403, "rows[0].DeviceId"},
		{"{\"kind\":\"record\",\"kind\":\"hit\"}", 400, "duplicate"},
		{"{\"kind\":\"sprocket\"}", 400, "unknown kind 'sprocket'"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct strbuf text;

		strbuf_init(&text);
		strbuf_append_string(&text, HEADER);
		record_line(&text, DEVICE, "bash", 1, "record");
		strbuf_append_string(&text, cases[i].line);
		strbuf_append_char(&text, '\n');
		expect_error(text.data, cases[i].status, cases[i].words);
		strbuf_free(&text);
	}
}

static void test_record_errors_name_the_field(void **state)
{
	struct strbuf good, text;
	char *swapped;

	(void)state;
	strbuf_init(&good);
	record_line(&good, DEVICE, "bash", 1, "record");
	/* wrong type, unknown column with a long name, another device */
	swapped = strdup(good.data);
	*strstr(swapped, "\"ProcessId\":null") = '\0';
	strbuf_init(&text);
	strbuf_appendf(&text, "%s%s\"ProcessId\":\"12\"%s", HEADER, swapped,
		       strstr(good.data, "\"ProcessId\":null") + strlen("\"ProcessId\":null"));
	expect_error(text.data, 400, "line 2: row.ProcessId: expected an integer");
	strbuf_clear(&text);
	strbuf_appendf(&text, "%s%s\"%0200d\":1,\"ProcessId\":null%s", HEADER, swapped, 0,
		       strstr(good.data, "\"ProcessId\":null") + strlen("\"ProcessId\":null"));
	{
		struct batch batch;
		struct batch_error error;

		assert_int_equal(batch_decode(text.data, text.length, &batch, &error), -EINVAL);
		batch_free(&batch);
		assert_non_null(strstr(error.message, "unknown column '0000"));
		/* at most 64 bytes of the name */
		assert_null(strstr(error.message,
				   "00000000000000000000000000000000000000000000000000000000000000000"));
	}
	free(swapped);
	strbuf_clear(&text);
	strbuf_append_string(&text, HEADER);
	record_line(&text, "ffffffffffffffffffffffffffffffffffffffff", "bash", 1, "record");
	expect_error(text.data, 403, "line 2: row.DeviceId: not the batch's device_id");
	strbuf_free(&text);
	strbuf_free(&good);
}

static void test_headers(void **state)
{
	(void)state;
	expect_error("", 400, "header line is missing");
	expect_error("{\"schema\":2}\n", 400, "unknown schema version 2");
	expect_error("{\"schema\":\"1\"}\n", 400, "schema: expected an integer");
	expect_error("{\"schema\":1,\"batch\":\"b\",\"device_id\":\"x y\"}\n", 400,
		     "device_id: expected 1 to");
	expect_error("{\"schema\":1,\"batch\":\"b\",\"device_id\":\"x\",\"device_name\":\"n\","
		     "\"sent\":\"soon\"}\n", 400, "sent: expected a datetime");
}

static size_t deflate_gzip(const void *data, size_t length, unsigned char *out, size_t room)
{
	z_stream stream = {0};

	assert_int_equal(deflateInit2(&stream, 9, Z_DEFLATED, 16 + MAX_WBITS, 8,
				      Z_DEFAULT_STRATEGY), Z_OK);
	stream.next_in = (Bytef *)data;
	stream.avail_in = (uInt)length;
	stream.next_out = out;
	stream.avail_out = (uInt)room;
	assert_int_equal(deflate(&stream, Z_FINISH), Z_STREAM_END);
	deflateEnd(&stream);
	return room - stream.avail_out;
}

static void test_gunzip_cap(void **state)
{
	size_t size = 4 << 20;
	char *zeros = calloc(1, size);
	unsigned char *packed = malloc(size);
	struct strbuf out;
	struct batch_error error;
	size_t packed_size;

	(void)state;
	assert_non_null(zeros);
	assert_non_null(packed);
	strbuf_init(&out);
	packed_size = deflate_gzip(zeros, size, packed, size);
	assert_true(packed_size < 16384);
	assert_int_equal(batch_gunzip(packed, packed_size, size, &out, &error), 0);
	assert_int_equal(out.length, size);
	assert_int_equal(batch_gunzip(packed, packed_size, size - 1, &out, &error), -EFBIG);
	assert_int_equal(error.status, 413);
	assert_true(out.length <= size);
	assert_int_equal(batch_gunzip(packed, packed_size / 2, size, &out, &error), -EINVAL);
	assert_non_null(strstr(error.message, "truncated"));
	packed[packed_size / 2] ^= 0x55;
	assert_int_equal(batch_gunzip(packed, packed_size, size, &out, &error), -EINVAL);
	assert_int_equal(batch_gunzip("plain", 5, size, &out, &error), -EINVAL);
	assert_int_equal(error.status, 400);
	strbuf_free(&out);
	free(zeros);
	free(packed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_batch),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_record_errors_name_the_field),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_gunzip_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
