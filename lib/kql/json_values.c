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

static const char *expectation(enum value_type type)
{
	switch (type) {
	case VALUE_STRING:
		return "expected a string";
	case VALUE_LONG:
		return "expected an integer";
	case VALUE_REAL:
		return "expected a number";
	case VALUE_BOOL:
		return "expected true or false";
	case VALUE_DATETIME:
		return "expected an ISO 8601 datetime such as 2026-11-28T16:14:40.1234567Z";
	case VALUE_TIMESPAN:
		return "expected a timespan such as 1.02:03:04.5 or ticks (integer)";
	case VALUE_DYNAMIC:
		return "expected JSON";
	}
	return "expected another type";
}

/* The one set of rules: a scalar as a value of type (0, or -EINVAL). */
static int convert_scalar(const struct kql_json_scalar *scalar, enum value_type type,
			  struct value *out)
{
	*out = kql_value_null(type);
	if (scalar->kind == KQL_JSON_NULL)
		return 0;
	switch (type) {
	case VALUE_STRING:
		if (scalar->kind != KQL_JSON_STRING)
			return -EINVAL;
		*out = kql_value_string(scalar->text, scalar->length);
		return 0;
	case VALUE_LONG:
		if (scalar->kind != KQL_JSON_INTEGER)
			return -EINVAL;
		*out = kql_value_long(scalar->integer);
		return 0;
	case VALUE_REAL:
		if (scalar->kind != KQL_JSON_INTEGER && scalar->kind != KQL_JSON_REAL)
			return -EINVAL;
		out->is_null = false;
		out->r = scalar->kind == KQL_JSON_REAL ? scalar->real : (double)scalar->integer;
		return 0;
	case VALUE_BOOL:
		if (scalar->kind != KQL_JSON_BOOL)
			return -EINVAL;
		*out = kql_value_bool(scalar->boolean);
		return 0;
	case VALUE_DATETIME:
		if (scalar->kind != KQL_JSON_STRING ||
		    kql_parse_datetime_text(scalar->text, scalar->length, &out->ticks) < 0)
			return -EINVAL;
		out->is_null = false;
		return 0;
	case VALUE_TIMESPAN:
		if (scalar->kind == KQL_JSON_INTEGER)
			out->ticks = scalar->integer;
		else if (scalar->kind != KQL_JSON_STRING ||
			 kql_parse_timespan_text(scalar->text, scalar->length, &out->ticks) < 0)
			return -EINVAL;
		out->is_null = false;
		return 0;
	case VALUE_DYNAMIC:
		return -EINVAL;
	}
	return -EINVAL;
}

int kql_json_scalar_to_value(const struct kql_json_scalar *scalar, enum value_type type,
			     struct value *out, const char **expected)
{
	int result = convert_scalar(scalar, type, out);

	if (result) {
		*out = kql_value_null(type);
		*expected = expectation(type);
	}
	return result;
}

static void scalar_of(json_t *json, struct kql_json_scalar *scalar)
{
	memset(scalar, 0, sizeof(*scalar));
	if (json_is_boolean(json)) {
		scalar->kind = KQL_JSON_BOOL;
		scalar->boolean = json_is_true(json);
	} else if (json_is_integer(json)) {
		scalar->kind = KQL_JSON_INTEGER;
		scalar->integer = (int64_t)json_integer_value(json);
	} else if (json_is_real(json)) {
		scalar->kind = KQL_JSON_REAL;
		scalar->real = json_real_value(json);
	} else if (json_is_string(json)) {
		scalar->kind = KQL_JSON_STRING;
		scalar->text = json_string_value(json);
		scalar->length = json_string_length(json);
	} else {
		scalar->kind = KQL_JSON_CONTAINER;
	}
}

int kql_json_to_value(json_t *json, enum value_type type, bool lenient_strings,
		      struct value *out, char **owned, const char **expected)
{
	struct kql_json_scalar scalar;

	*out = kql_value_null(type);
	if (!json || json_is_null(json))
		return 0;
	if (type == VALUE_DYNAMIC) {
		out->is_null = false;
		out->dyn = json;
		return 0;
	}
	if (type == VALUE_STRING && lenient_strings &&
	    (json_is_object(json) || json_is_array(json))) {
		*owned = json_dumps(json, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (!*owned)
			return -ENOMEM;
		*out = kql_value_string(*owned, strlen(*owned));
		return 0;
	}
	scalar_of(json, &scalar);
	return kql_json_scalar_to_value(&scalar, type, out, expected);
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
