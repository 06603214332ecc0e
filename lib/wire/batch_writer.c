/*
 * batch_writer.c - gzip'd NDJSON batches under a size limit (see
 * batch_writer.h).
 */
/* zlib takes input from a const buffer */
#define ZLIB_CONST

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/json_writer.h"
#include "base/timefmt.h"
#include "wire/batch_writer.h"
#include "wire/wire.h"

/* Room kept for ending the stream: the last block's bits, a sync flush's
 * empty block, the gzip trailer (8 bytes). */
#define FINISH_MARGIN 32
#define OUTPUT_STEP ((size_t)64 * 1024)
/* zlib: 15 window bits, + 16 for the gzip wrapper */
#define GZIP_WINDOW_BITS (15 + 16)
#define DEFAULT_MEMORY_LEVEL 8

void batch_writer_init(struct batch_writer *writer, size_t max_compressed)
{
	memset(writer, 0, sizeof(*writer));
	writer->max_compressed = max_compressed;
	strbuf_init(&writer->line);
}

static void close_stream(struct batch_writer *writer)
{
	if (writer->stream_open)
		deflateEnd(&writer->stream);
	writer->stream_open = false;
}

void batch_writer_free(struct batch_writer *writer)
{
	close_stream(writer);
	free(writer->output);
	strbuf_free(&writer->line);
	memset(writer, 0, sizeof(*writer));
}

size_t batch_writer_lines(const struct batch_writer *writer)
{
	return writer->lines;
}

static int grow_output(struct batch_writer *writer)
{
	size_t wanted = writer->output_capacity + OUTPUT_STEP;
	unsigned char *bigger = realloc(writer->output, wanted);

	if (!bigger)
		return -ENOMEM;
	writer->output = bigger;
	writer->output_capacity = wanted;
	return 0;
}

/* Feed input to deflate with flush; all of it is consumed. */
static int deflate_into(struct batch_writer *writer, const char *data, size_t length, int flush)
{
	z_stream *stream = &writer->stream;
	int code;

	stream->next_in = (const Bytef *)data;
	stream->avail_in = (uInt)length;
	do {
		if (writer->output_capacity - writer->output_length < 64 && grow_output(writer))
			return -ENOMEM;
		stream->next_out = writer->output + writer->output_length;
		stream->avail_out = (uInt)(writer->output_capacity - writer->output_length);
		code = deflate(stream, flush);
		writer->output_length = writer->output_capacity - stream->avail_out;
		if (code == Z_STREAM_ERROR)
			return -EIO;
		/* Z_BUF_ERROR: no progress possible, which only means done here */
	} while (stream->avail_in > 0 || stream->avail_out == 0 ||
		 (flush == Z_FINISH && code != Z_STREAM_END));
	return 0;
}

/* The compressed size the batch could reach with more bytes of input. */
static bool fits(struct batch_writer *writer, size_t more)
{
	uLong bound = deflateBound(&writer->stream, (uLong)(writer->unflushed + more));

	return writer->output_length + bound + FINISH_MARGIN <= writer->max_compressed;
}

/* Take the line in writer->line (with its '\n') if it fits. */
static int take_line(struct batch_writer *writer, bool header)
{
	size_t length = writer->line.length;
	int result;

	if (writer->line.failed)
		return -ENOMEM;
	if (!fits(writer, length)) {
		if (writer->unflushed) {
			result = deflate_into(writer, NULL, 0, Z_SYNC_FLUSH);
			if (result)
				return result;
			writer->unflushed = 0;
		}
		if (!fits(writer, length))
			return header || writer->lines == 0 ? -EFBIG : -ENOSPC;
	}
	result = deflate_into(writer, writer->line.data, length, Z_NO_FLUSH);
	if (result)
		return result;
	writer->unflushed += length;
	writer->input_bytes += length;
	if (!header)
		writer->lines++;
	return 0;
}

int batch_writer_begin(struct batch_writer *writer, const struct batch_header *header)
{
	struct json_writer json;
	char sent[TIMEFMT_ISO_SIZE];

	close_stream(writer);
	writer->output_length = 0;
	writer->unflushed = 0;
	writer->lines = 0;
	writer->input_bytes = 0;
	if (deflateInit2(&writer->stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, GZIP_WINDOW_BITS,
			 DEFAULT_MEMORY_LEVEL, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	writer->stream_open = true;
	strbuf_clear(&writer->line);
	json_writer_init(&json, &writer->line);
	json_write_object_begin(&json);
	json_write_key(&json, "schema");
	json_write_integer(&json, WIRE_SCHEMA_VERSION);
	json_write_key(&json, "batch");
	json_write_cstring(&json, header->batch_id);
	json_write_key(&json, "device_id");
	json_write_cstring(&json, header->device_id);
	json_write_key(&json, "device_name");
	json_write_cstring(&json, header->device_name);
	json_write_key(&json, "sent");
	json_write_cstring(&json, timefmt_iso(header->sent_ticks, sent));
	json_write_object_end(&json);
	strbuf_append_char(&writer->line, '\n');
	return take_line(writer, true);
}

static void write_rule(struct json_writer *json, const struct batch_rule_text *rule, bool tags)
{
	json_write_key(json, "rule");
	json_write_object_begin(json);
	json_write_key(json, "id");
	json_write_cstring(json, rule->id);
	json_write_key(json, "name");
	json_write_cstring(json, rule->name);
	if (tags) {
		json_write_key(json, "tactics");
		json_write_cstring(json, rule->tactics ? rule->tactics : "");
		json_write_key(json, "techniques");
		json_write_cstring(json, rule->techniques ? rule->techniques : "");
	}
	json_write_object_end(json);
}

static void write_row(struct json_writer *json, const struct record *record)
{
	json_write_key(json, "row");
	json_write_object_begin(json);
	record_write_json_members(record, json);
	json_write_object_end(json);
}

/* A line of kind: {"kind": ..., then the caller's members. */
static void begin_line(struct batch_writer *writer, struct json_writer *json, const char *kind)
{
	strbuf_clear(&writer->line);
	json_writer_init(json, &writer->line);
	json_write_object_begin(json);
	json_write_key(json, "kind");
	json_write_cstring(json, kind);
}

/* ...} and the newline; then the line goes in if it fits. */
static int end_line(struct batch_writer *writer, struct json_writer *json)
{
	json_write_object_end(json);
	strbuf_append_char(&writer->line, '\n');
	return take_line(writer, false);
}

int batch_writer_add_record(struct batch_writer *writer, const struct record *record)
{
	struct json_writer json;

	begin_line(writer, &json, WIRE_KIND_RECORD);
	write_row(&json, record);
	return end_line(writer, &json);
}

int batch_writer_add_hit(struct batch_writer *writer, const struct batch_rule_text *rule,
			 const struct record *record)
{
	struct json_writer json;

	begin_line(writer, &json, WIRE_KIND_HIT);
	write_rule(&json, rule, true);
	write_row(&json, record);
	return end_line(writer, &json);
}

/* One JSON value as compact text into the line. */
static int write_json_value(struct json_writer *json, const json_t *value)
{
	char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);

	if (!text)
		return -ENOMEM;
	json_write_raw(json, text);
	free(text);
	return 0;
}

/* The summary's rows, objects in the cache, as arrays in column order. */
static int write_summary_rows(struct json_writer *json, const json_t *columns, const json_t *rows)
{
	size_t row_index, column_index;
	json_t *row, *column;
	int result = 0;

	json_write_key(json, "rows");
	json_write_array_begin(json);
	json_array_foreach(rows, row_index, row) {
		if (!json_is_object(row))
			return -EINVAL;
		json_write_array_begin(json);
		json_array_foreach(columns, column_index, column) {
			json_t *value = json_object_get(
				row, json_string_value(json_object_get(column, "name")));

			result = write_json_value(json, value ? value : json_null());
			if (result)
				return result;
		}
		json_write_array_end(json);
	}
	json_write_array_end(json);
	return 0;
}

static bool valid_columns(const json_t *columns)
{
	size_t index;
	json_t *column;

	if (!json_is_array(columns))
		return false;
	json_array_foreach(columns, index, column) {
		if (!json_is_string(json_object_get(column, "name")) ||
		    !json_is_string(json_object_get(column, "type")))
			return false;
	}
	return true;
}

int batch_writer_add_summary(struct batch_writer *writer, const struct batch_rule_text *rule,
			     int64_t updated_ticks, const char *columns_json,
			     const char *rows_json)
{
	json_t *columns = json_loads(columns_json, 0, NULL);
	json_t *rows = json_loads(rows_json, 0, NULL);
	struct json_writer json;
	char updated[TIMEFMT_ISO_SIZE];
	int result = -EINVAL;

	if (valid_columns(columns) && json_is_array(rows)) {
		begin_line(writer, &json, WIRE_KIND_SUMMARY);
		write_rule(&json, rule, false);
		json_write_key(&json, "updated");
		json_write_cstring(&json, timefmt_iso(updated_ticks, updated));
		json_write_key(&json, "columns");
		result = write_json_value(&json, columns);
		if (result == 0)
			result = write_summary_rows(&json, columns, rows);
		if (result == 0)
			result = end_line(writer, &json);
	}
	json_decref(columns);
	json_decref(rows);
	return result;
}

int batch_writer_finish(struct batch_writer *writer, const unsigned char **body,
			size_t *length)
{
	int result;

	if (!writer->stream_open)
		return -EIO;
	result = deflate_into(writer, NULL, 0, Z_FINISH);
	close_stream(writer);
	if (result)
		return result;
	*body = writer->output;
	*length = writer->output_length;
	return 0;
}

void batch_writer_format_id(char *out, size_t size, const char *device_id, int64_t after_record,
			    int64_t after_hit, int64_t after_summary)
{
	snprintf(out, size, "%s-E%" PRId64 "-H%" PRId64 "-S%" PRId64, device_id, after_record,
		 after_hit, after_summary);
}
