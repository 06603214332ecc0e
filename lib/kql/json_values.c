/*
 * json_values.c - JSON values as typed KQL values, and result tables from
 * their JSON form (kql_format.h).  One conversion serves the NDJSON row
 * source, the collector's batch reader (lib/wire/batch_reader.c) and the
 * CLI reading a collector's answer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kql/internal.h"
#include "kql/kql_format.h"

static int convert_string(json_t *json, bool lenient, struct value *out, char **owned,
			  const char **expected)
{
	if (json_is_string(json)) {
		*out = kql_value_string(json_string_value(json), json_string_length(json));
		return 0;
	}
	if (lenient && (json_is_object(json) || json_is_array(json))) {
		*owned = json_dumps(json, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (!*owned)
			return -ENOMEM;
		*out = kql_value_string(*owned, strlen(*owned));
		return 0;
	}
	*expected = "expected a string";
	return -EINVAL;
}

int kql_json_to_value(json_t *json, enum value_type type, bool lenient_strings,
		      struct value *out, char **owned, const char **expected)
{
	*out = kql_value_null(type);
	if (!json || json_is_null(json))
		return 0;
	switch (type) {
	case VALUE_STRING:
		return convert_string(json, lenient_strings, out, owned, expected);
	case VALUE_LONG:
		if (!json_is_integer(json))
			break;
		*out = kql_value_long((int64_t)json_integer_value(json));
		return 0;
	case VALUE_REAL:
		if (!json_is_number(json))
			break;
		out->is_null = false;
		out->r = json_number_value(json);
		return 0;
	case VALUE_BOOL:
		if (!json_is_boolean(json))
			break;
		*out = kql_value_bool(json_is_true(json));
		return 0;
	case VALUE_DATETIME:
		if (!json_is_string(json) ||
		    kql_parse_datetime_text(json_string_value(json), json_string_length(json),
					    &out->ticks) < 0)
			break;
		out->is_null = false;
		return 0;
	case VALUE_TIMESPAN:
		if (json_is_integer(json))
			out->ticks = (int64_t)json_integer_value(json);
		else if (!json_is_string(json) ||
			 kql_parse_timespan_text(json_string_value(json), json_string_length(json),
						 &out->ticks) < 0)
			break;
		out->is_null = false;
		return 0;
	case VALUE_DYNAMIC:
		out->is_null = false;
		out->dyn = json;
		return 0;
	}
	switch (type) {
	case VALUE_LONG:
		*expected = "expected an integer";
		break;
	case VALUE_REAL:
		*expected = "expected a number";
		break;
	case VALUE_BOOL:
		*expected = "expected true or false";
		break;
	case VALUE_DATETIME:
		*expected = "expected an ISO 8601 datetime such as 2026-11-28T16:14:40.1234567Z";
		break;
	default:
		*expected = "expected a timespan such as 1.02:03:04.5 or ticks (integer)";
		break;
	}
	*out = kql_value_null(type);
	return -EINVAL;
}

/* ---- result tables ---------------------------------------------------------- */

static int read_columns(json_t *columns, struct relation *relation, char *message,
			size_t message_size)
{
	size_t index;
	json_t *column;

	if (!json_is_array(columns)) {
		snprintf(message, message_size, "columns: expected an array");
		return -EINVAL;
	}
	relation->count = json_array_size(columns);
	relation->columns = calloc(relation->count ? relation->count : 1,
				   sizeof(*relation->columns));
	if (!relation->columns)
		return -ENOMEM;
	json_array_foreach(columns, index, column) {
		const char *name = json_string_value(json_object_get(column, "name"));
		const char *type = json_string_value(json_object_get(column, "type"));

		if (!name || !type ||
		    value_type_parse(type, &relation->columns[index].type) != 0) {
			snprintf(message, message_size,
				 "column %zu: expected {\"name\": string, \"type\": a Kusto type}",
				 index + 1);
			return -EINVAL;
		}
		relation->columns[index].name = name;
		relation->columns[index].source = -1;
	}
	return 0;
}

static int append_row(struct kql_table *table, const struct relation *relation, json_t *row,
		      size_t row_index, struct value *values, char **owned, char *message,
		      size_t message_size)
{
	int result = 0;

	if (!json_is_array(row) || json_array_size(row) != relation->count) {
		snprintf(message, message_size, "row %zu: expected an array of %zu values",
			 row_index + 1, relation->count);
		return -EINVAL;
	}
	for (size_t i = 0; i < relation->count && result == 0; i++) {
		const char *expected = NULL;

		result = kql_json_to_value(json_array_get(row, i), relation->columns[i].type, true,
					   &values[i], &owned[i], &expected);
		if (result == -EINVAL)
			snprintf(message, message_size, "row %zu: column %s: %s", row_index + 1,
				 relation->columns[i].name, expected);
	}
	if (result == 0)
		result = kql_table_append(table, values);
	for (size_t i = 0; i < relation->count; i++) {
		free(owned[i]);
		owned[i] = NULL;
	}
	return result;
}

int kql_table_from_json(json_t *columns, json_t *rows, struct kql_table **out, char *message,
			size_t message_size)
{
	struct relation relation = {NULL, 0};
	struct kql_table *table = NULL;
	struct value *values = NULL;
	char **owned = NULL;
	size_t index;
	json_t *row;
	int result = read_columns(columns, &relation, message, message_size);

	*out = NULL;
	if (result == 0 && !json_is_array(rows)) {
		snprintf(message, message_size, "rows: expected an array");
		result = -EINVAL;
	}
	if (result == 0) {
		table = kql_table_new(&relation);
		values = calloc(relation.count + 1, sizeof(*values));
		owned = calloc(relation.count + 1, sizeof(*owned));
		if (!table || !values || !owned)
			result = -ENOMEM;
	}
	json_array_foreach(rows, index, row) {
		if (result != 0)
			break;
		result = append_row(table, &relation, row, index, values, owned, message,
				    message_size);
	}
	free(values);
	free(owned);
	free(relation.columns);
	if (result != 0) {
		if (result == -ENOMEM)
			snprintf(message, message_size, "out of memory");
		kql_table_free(table);
		return result;
	}
	*out = table;
	return 0;
}
