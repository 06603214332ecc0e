/*
 * json_writer.c - escaping and comma placement for direct JSON output.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/json_writer.h"
#include "base/text.h"

void json_writer_init(struct json_writer *writer, struct strbuf *out)
{
	writer->out = out;
	writer->depth = 0;
	writer->first[0] = true;
	writer->after_key = false;
}

/* Before any value or key: the comma, unless first or right after a key. */
static void separate(struct json_writer *writer)
{
	if (writer->after_key) {
		writer->after_key = false;
		return;
	}
	if (!writer->first[writer->depth])
		strbuf_append_char(writer->out, ',');
	writer->first[writer->depth] = false;
}

static void open_container(struct json_writer *writer, char bracket)
{
	separate(writer);
	strbuf_append_char(writer->out, bracket);
	if (writer->depth + 1 < JSON_WRITER_MAX_DEPTH)
		writer->depth++;
	writer->first[writer->depth] = true;
}

static void close_container(struct json_writer *writer, char bracket)
{
	strbuf_append_char(writer->out, bracket);
	if (writer->depth > 0)
		writer->depth--;
}

void json_write_object_begin(struct json_writer *writer)
{
	open_container(writer, '{');
}

void json_write_object_end(struct json_writer *writer)
{
	close_container(writer, '}');
}

void json_write_array_begin(struct json_writer *writer)
{
	open_container(writer, '[');
}

void json_write_array_end(struct json_writer *writer)
{
	close_container(writer, ']');
}

void json_write_key(struct json_writer *writer, const char *key)
{
	struct strbuf *out = writer->out;
	size_t length = strlen(key);

	separate(writer);
	writer->after_key = true;
	/* "key": in one go: a record has some hundred keys */
	if (!strbuf_reserve(out, length + 3))
		return;
	out->data[out->length] = '"';
	memcpy(out->data + out->length + 1, key, length);
	memcpy(out->data + out->length + 1 + length, "\":", 3); /* with the NUL */
	out->length += length + 3;
}

void json_append_quoted(struct strbuf *out, const char *text, size_t length)
{
	strbuf_append_char(out, '"');
	text_append_safe(out, text, length, TEXT_ESCAPE_JSON);
	strbuf_append_char(out, '"');
}

void json_write_string(struct json_writer *writer, const char *text, size_t length)
{
	separate(writer);
	json_append_quoted(writer->out, text, length);
}

void json_write_cstring(struct json_writer *writer, const char *text)
{
	json_write_string(writer, text, strlen(text));
}

/* Decimal digits of number, written backwards from end; returns the start. */
static char *format_unsigned(uint64_t number, char *end)
{
	do {
		*--end = (char)('0' + number % 10);
		number /= 10;
	} while (number);
	return end;
}

void json_write_integer(struct json_writer *writer, int64_t number)
{
	char text[24], *end = text + sizeof(text);
	/* magnitude without overflow for INT64_MIN */
	uint64_t magnitude = number < 0 ? 0 - (uint64_t)number : (uint64_t)number;
	char *start = format_unsigned(magnitude, end);

	if (number < 0)
		*--start = '-';
	separate(writer);
	strbuf_append(writer->out, start, (size_t)(end - start));
}

void json_write_unsigned(struct json_writer *writer, uint64_t number)
{
	char text[24], *end = text + sizeof(text);
	char *start = format_unsigned(number, end);

	separate(writer);
	strbuf_append(writer->out, start, (size_t)(end - start));
}

void json_write_boolean(struct json_writer *writer, bool flag)
{
	separate(writer);
	strbuf_append_string(writer->out, flag ? "true" : "false");
}

void json_write_null(struct json_writer *writer)
{
	separate(writer);
	strbuf_append(writer->out, "null", 4);
}

void json_write_members(struct json_writer *writer, const char *members, size_t length)
{
	separate(writer);
	strbuf_append(writer->out, members, length);
}

void json_write_raw(struct json_writer *writer, const char *json_text)
{
	separate(writer);
	strbuf_append_string(writer->out, json_text);
}
