/*
 * record.c - DeviceProcessEvents rows: setting values, writing JSON.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/record.h"
#include "base/json_writer.h"
#include "base/strbuf.h"
#include "base/timefmt.h"

static void record_clear_values(struct record *record)
{
	record->fragment_count = 0;
	for (int i = 0; i < DPE_COLUMN_COUNT; i++) {
		struct value *value = &record->values[i];

		memset(value, 0, sizeof(*value));
		value->type = dpe_columns[i].type;
		if (value->type == VALUE_STRING) {
			value->str = "";
			value->len = 0;
		} else {
			value->is_null = true;
		}
	}
}

void record_init(struct record *record)
{
	arena_init(&record->arena, SIZE_MAX);
	record_clear_values(record);
}

void record_reset(struct record *record)
{
	arena_reset(&record->arena);
	record_clear_values(record);
}

void record_free(struct record *record)
{
	arena_release(&record->arena);
	record_clear_values(record);
}

/* A column set after a fragment took it: the fragment no longer says it. */
static void drop_fragments_of(struct record *record, enum dpe_column column)
{
	int kept = 0;

	for (int i = 0; i < record->fragment_count; i++) {
		const struct record_fragment *fragment = record->fragments[i];

		if (column < fragment->first || column > fragment->last)
			record->fragments[kept++] = fragment;
	}
	record->fragment_count = kept;
}

int record_set_string(struct record *record, enum dpe_column column,
		      const char *text, size_t length)
{
	struct value *value = &record->values[column];
	char *copy;

	if (record->fragment_count)
		drop_fragments_of(record, column);
	copy = arena_strndup(&record->arena, text, length);
	if (!copy)
		return -ENOMEM;
	value->str = copy;
	value->len = length;
	return 0;
}

int record_set_cstring(struct record *record, enum dpe_column column,
		       const char *text)
{
	return record_set_string(record, column, text, strlen(text));
}

void record_set_long(struct record *record, enum dpe_column column,
		     int64_t number)
{
	if (record->fragment_count)
		drop_fragments_of(record, column);
	record->values[column].is_null = false;
	record->values[column].l = number;
}

void record_set_datetime(struct record *record, enum dpe_column column,
			 int64_t ticks)
{
	if (record->fragment_count)
		drop_fragments_of(record, column);
	record->values[column].is_null = false;
	record->values[column].ticks = ticks;
}

void record_set_bool(struct record *record, enum dpe_column column, bool flag)
{
	if (record->fragment_count)
		drop_fragments_of(record, column);
	record->values[column].is_null = false;
	record->values[column].b = flag;
}

void record_set_null(struct record *record, enum dpe_column column)
{
	if (record->fragment_count)
		drop_fragments_of(record, column);
	if (record->values[column].type == VALUE_STRING) {
		record->values[column].str = "";
		record->values[column].len = 0;
		return;
	}
	record->values[column].is_null = true;
}

int record_set_value(struct record *record, enum dpe_column column,
		     const struct value *value)
{
	if (value->type == VALUE_STRING)
		return record_set_string(record, column, value->str, value->len);
	if (value->is_null) {
		record_set_null(record, column);
		return 0;
	}
	switch (value->type) {
	case VALUE_BOOL:
		record_set_bool(record, column, value->b);
		break;
	case VALUE_DATETIME:
		record_set_datetime(record, column, value->ticks);
		break;
	default:
		record_set_long(record, column, value->l);
		break;
	}
	return 0;
}

static json_t *value_to_json(const struct value *value)
{
	char iso[TIMEFMT_ISO_SIZE];

	if (value->type != VALUE_STRING && value->is_null)
		return json_null();
	switch (value->type) {
	case VALUE_STRING:
		return json_stringn_nocheck(value->str, value->len);
	case VALUE_LONG:
		return json_integer(value->l);
	case VALUE_REAL:
		return json_real(value->r);
	case VALUE_BOOL:
		return json_boolean(value->b);
	case VALUE_DATETIME:
		return json_string(timefmt_iso(value->ticks, iso));
	case VALUE_TIMESPAN:
		return json_integer(value->ticks);
	case VALUE_DYNAMIC:
		return json_incref(value->dyn);
	}
	return json_null();
}

json_t *record_to_json(const struct record *record)
{
	json_t *object = json_object();

	if (!object)
		return NULL;
	for (int i = 0; i < DPE_COLUMN_COUNT; i++) {
		json_t *member = value_to_json(&record->values[i]);

		if (!member || json_object_set_new_nocheck(
				       object, dpe_columns[i].name, member)) {
			json_decref(object);
			return NULL;
		}
	}
	return object;
}

static void write_value(struct json_writer *writer, const struct value *value)
{
	char text[TIMEFMT_ISO_SIZE];

	if (value->type != VALUE_STRING && value->is_null) {
		json_write_null(writer);
		return;
	}
	switch (value->type) {
	case VALUE_STRING:
		json_write_string(writer, value->str, value->len);
		return;
	case VALUE_LONG:
	case VALUE_TIMESPAN:
		json_write_integer(writer, value->l);
		return;
	case VALUE_BOOL:
		json_write_boolean(writer, value->b);
		return;
	case VALUE_DATETIME:
		json_write_string(writer, timefmt_iso(value->ticks, text), TIMEFMT_ISO_SIZE - 1);
		return;
	case VALUE_REAL:
	case VALUE_DYNAMIC: {
		/* not in DeviceProcessEvents; jansson keeps them exact */
		json_t *member = value_to_json(value);
		char *dumped = json_dumps(member, JSON_ENCODE_ANY | JSON_COMPACT);

		json_write_raw(writer, dumped ? dumped : "null");
		free(dumped);
		json_decref(member);
		return;
	}
	}
	json_write_null(writer);
}

/* The fragment that starts at column, or NULL. */
static const struct record_fragment *fragment_at(const struct record *record, int column)
{
	for (int i = 0; i < record->fragment_count; i++) {
		if ((int)record->fragments[i]->first == column)
			return record->fragments[i];
	}
	return NULL;
}

static void write_members(const struct record *record, struct json_writer *writer,
			  int first, int last)
{
	for (int i = first; i <= last; i++) {
		json_write_key(writer, dpe_columns[i].name);
		write_value(writer, &record->values[i]);
	}
}

void record_write_json_members(const struct record *record, struct json_writer *writer)
{
	for (int i = 0; i < DPE_COLUMN_COUNT; i++) {
		const struct record_fragment *fragment =
			record->fragment_count ? fragment_at(record, i) : NULL;

		if (fragment) {
			json_write_members(writer, fragment->json.data, fragment->json.length);
			i = (int)fragment->last;
			continue;
		}
		write_members(record, writer, i, i);
	}
}

/* --- fragments --------------------------------------------------------- */

/* What a value is, as bytes to compare (a string's bytes follow it). */
struct value_key {
	int64_t number; /* l, ticks, b; a string's length */
	int64_t is_null; /* -1: a type DeviceProcessEvents has not (never kept) */
};

static void value_key_of(const struct value *value, struct value_key *key)
{
	memset(key, 0, sizeof(*key));
	key->is_null = value->type != VALUE_STRING && value->is_null;
	if (key->is_null)
		return;
	switch (value->type) {
	case VALUE_STRING:
		key->number = (int64_t)value->len;
		return;
	case VALUE_LONG:
	case VALUE_TIMESPAN:
		key->number = value->l;
		return;
	case VALUE_DATETIME:
		key->number = value->ticks;
		return;
	case VALUE_BOOL:
		key->number = value->b;
		return;
	case VALUE_REAL:
	case VALUE_DYNAMIC:
		key->is_null = -1;
		return;
	}
}

void record_fragment_init(struct record_fragment *fragment, enum dpe_column first,
			  enum dpe_column last)
{
	fragment->first = first;
	fragment->last = last;
	fragment->made = false;
	strbuf_init(&fragment->values);
	strbuf_init(&fragment->json);
}

void record_fragment_free(struct record_fragment *fragment)
{
	strbuf_free(&fragment->values);
	strbuf_free(&fragment->json);
	strbuf_init(&fragment->values);
	strbuf_init(&fragment->json);
	fragment->made = false;
}

/* Are record's values of the fragment's columns those it was made from? */
static bool fragment_matches(const struct record *record,
			     const struct record_fragment *fragment)
{
	const char *cursor, *end;

	if (!fragment->made || !fragment->values.data)
		return false;
	cursor = fragment->values.data;
	end = cursor + fragment->values.length;
	for (int i = (int)fragment->first; i <= (int)fragment->last; i++) {
		const struct value *value = &record->values[i];
		struct value_key key;

		value_key_of(value, &key);
		if (key.is_null < 0 || (size_t)(end - cursor) < sizeof(key) ||
		    memcmp(cursor, &key, sizeof(key)) != 0)
			return false;
		cursor += sizeof(key);
		if (value->type != VALUE_STRING)
			continue;
		if ((size_t)(end - cursor) < value->len ||
		    memcmp(cursor, value->str, value->len) != 0)
			return false;
		cursor += value->len;
	}
	return cursor == end;
}

/* The fragment made again from record's values of its columns. */
static int make_fragment(const struct record *record, struct record_fragment *fragment)
{
	struct json_writer writer;

	fragment->made = false;
	strbuf_clear(&fragment->values);
	strbuf_clear(&fragment->json);
	for (int i = (int)fragment->first; i <= (int)fragment->last; i++) {
		const struct value *value = &record->values[i];
		struct value_key key;

		value_key_of(value, &key);
		if (key.is_null < 0)
			return -EINVAL;
		strbuf_append(&fragment->values, (const char *)&key, sizeof(key));
		if (value->type == VALUE_STRING)
			strbuf_append(&fragment->values, value->str, value->len);
	}
	json_writer_init(&writer, &fragment->json);
	write_members(record, &writer, (int)fragment->first, (int)fragment->last);
	if (fragment->values.failed || fragment->json.failed)
		return -ENOMEM;
	fragment->made = true;
	return 0;
}

int record_use_fragment(struct record *record, struct record_fragment *fragment,
			size_t max_json)
{
	int result = 1;

	if (record->fragment_count == RECORD_FRAGMENTS_MAX)
		return -ENOSPC;
	if (!fragment_matches(record, fragment)) {
		result = make_fragment(record, fragment);
		if (result == 0 && fragment->json.length > max_json)
			result = -E2BIG;
		if (result) {
			record_fragment_free(fragment);
			return result;
		}
	}
	drop_fragments_of(record, fragment->first); /* one run per column */
	record->fragments[record->fragment_count++] = fragment;
	return result;
}

int record_append_json_line(const struct record *record, struct strbuf *out)
{
	struct json_writer writer;

	json_writer_init(&writer, out);
	json_write_object_begin(&writer);
	record_write_json_members(record, &writer);
	json_write_object_end(&writer);
	strbuf_append_char(out, '\n');
	return out->failed ? -ENOMEM : 0;
}
