/*
 * json_writer.c - escaping and comma placement for direct JSON output.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "json_writer.h"

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
	separate(writer);
	strbuf_append_char(writer->out, '"');
	strbuf_append_string(writer->out, key);
	strbuf_append(writer->out, "\":", 2);
	writer->after_key = true;
}

void json_append_quoted(struct strbuf *out, const char *text, size_t length)
{
	static const char digits[] = "0123456789abcdef";
	size_t run_start = 0;

	strbuf_append_char(out, '"');
	for (size_t i = 0; i < length; i++) {
		unsigned char c = (unsigned char)text[i];
		char escape[6] = {'\\', 'u', '0', '0', 0, 0};
		size_t escape_length = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		strbuf_append(out, text + run_start, i - run_start);
		run_start = i + 1;
		switch (c) {
		case '"':
			escape[1] = '"';
			break;
		case '\\':
			escape[1] = '\\';
			break;
		case '\n':
			escape[1] = 'n';
			break;
		case '\r':
			escape[1] = 'r';
			break;
		case '\t':
			escape[1] = 't';
			break;
		case '\b':
			escape[1] = 'b';
			break;
		case '\f':
			escape[1] = 'f';
			break;
		default:
			escape[4] = digits[c >> 4];
			escape[5] = digits[c & 15];
			escape_length = 6;
		}
		strbuf_append(out, escape, escape_length);
	}
	strbuf_append(out, text + run_start, length - run_start);
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

void json_write_integer(struct json_writer *writer, int64_t number)
{
	char text[24];
	int length = snprintf(text, sizeof(text), "%" PRId64, number);

	separate(writer);
	strbuf_append(writer->out, text, (size_t)length);
}

void json_write_unsigned(struct json_writer *writer, uint64_t number)
{
	char text[24];
	int length = snprintf(text, sizeof(text), "%" PRIu64, number);

	separate(writer);
	strbuf_append(writer->out, text, (size_t)length);
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

void json_write_raw(struct json_writer *writer, const char *json_text)
{
	separate(writer);
	strbuf_append_string(writer->out, json_text);
}
