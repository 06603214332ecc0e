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

int record_set_string(struct record *record, enum dpe_column column,
		      const char *text, size_t length)
{
	struct value *value = &record->values[column];
	char *copy = arena_strndup(&record->arena, text, length);

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
	record->values[column].is_null = false;
	record->values[column].l = number;
}

void record_set_datetime(struct record *record, enum dpe_column column,
			 int64_t ticks)
{
	record->values[column].is_null = false;
	record->values[column].ticks = ticks;
}

void record_set_bool(struct record *record, enum dpe_column column, bool flag)
{
	record->values[column].is_null = false;
	record->values[column].b = flag;
}

void record_set_null(struct record *record, enum dpe_column column)
{
	if (record->values[column].type == VALUE_STRING) {
		record->values[column].str = "";
		record->values[column].len = 0;
		return;
	}
	record->values[column].is_null = true;
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

void record_write_json_members(const struct record *record, struct json_writer *writer)
{
	for (int i = 0; i < DPE_COLUMN_COUNT; i++) {
		json_write_key(writer, dpe_columns[i].name);
		write_value(writer, &record->values[i]);
	}
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
