/*
 * json_writer.h - write JSON text straight into a strbuf.
 *
 * The agent writes a JSON record and an AdditionalFields object for every
 * exec.  Building jansson objects for that took about a third of the agent's
 * CPU (perf, bench/bench_exec.sh), so the hot path writes text directly;
 * jansson stays the parser everywhere and the builder of cold-path objects.
 *
 * Commas are placed by the writer: callers only say begin/end, key and
 * value.  Strings must be valid UTF-8 (the record builder guarantees it);
 * control characters, '"' and '\' are escaped as RFC 8259 says, and C1
 * controls and bidi overrides as \uXXXX too (text.h: the same string once
 * parsed, but `tail -f events.ndjson` cannot act on them).
 */
#ifndef RMMHUNT_JSON_WRITER_H
#define RMMHUNT_JSON_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/strbuf.h"

#define JSON_WRITER_MAX_DEPTH 16

struct json_writer {
	struct strbuf *out;
	int depth;
	bool first[JSON_WRITER_MAX_DEPTH]; /* no member written yet at depth */
	bool after_key;
};

void json_writer_init(struct json_writer *writer, struct strbuf *out);
void json_write_object_begin(struct json_writer *writer);
void json_write_object_end(struct json_writer *writer);
void json_write_array_begin(struct json_writer *writer);
void json_write_array_end(struct json_writer *writer);
/* key: plain ASCII without characters needing escapes */
void json_write_key(struct json_writer *writer, const char *key);
void json_write_string(struct json_writer *writer, const char *text, size_t length);
void json_write_cstring(struct json_writer *writer, const char *text);
void json_write_integer(struct json_writer *writer, int64_t number);
void json_write_unsigned(struct json_writer *writer, uint64_t number);
void json_write_boolean(struct json_writer *writer, bool flag);
void json_write_null(struct json_writer *writer);

/* A value already in JSON text (from jansson, say). */
void json_write_raw(struct json_writer *writer, const char *json_text);
/* Members already written ("Key":value,... without braces) into the object
 * open: the comma before them as before a key. */
void json_write_members(struct json_writer *writer, const char *members, size_t length);

/* Append text as a quoted, escaped JSON string. */
void json_append_quoted(struct strbuf *out, const char *text, size_t length);

#endif
