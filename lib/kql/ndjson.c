/*
 * ndjson.c - recorded records as a row source: one JSON object per line,
 * keys = column names of a table schema, values converted to the schema's
 * types (kql_format.h tells the rules).  `rmmhunt rules test --events FILE`
 * and the tests read events with it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kql/internal.h"
#include "kql/kql_format.h"

struct kql_ndjson_source {
	FILE *in;
	const struct table_schema *schema;
	struct kql_source source;
	char *line;
	size_t line_capacity;
	unsigned long line_number;
	json_t *object;	    /* the current record; values point into it */
	struct value *row;
	char **texts;	    /* JSON text of objects kept in string columns */
	char error[320];
};

static void release_row(struct kql_ndjson_source *source)
{
	for (size_t i = 0; i < source->schema->column_count; i++) {
		free(source->texts[i]);
		source->texts[i] = NULL;
	}
	json_decref(source->object);
	source->object = NULL;
}

static int fail(struct kql_ndjson_source *source, const char *column, const char *what)
{
	if (column)
		snprintf(source->error, sizeof(source->error), "line %lu: column %s: %s",
			 source->line_number, column, what);
	else
		snprintf(source->error, sizeof(source->error), "line %lu: %s", source->line_number,
			 what);
	return -EINVAL;
}

static int convert(struct kql_ndjson_source *source, size_t index, json_t *json)
{
	const struct column_def *column = &source->schema->columns[index];
	const char *expected = NULL;
	int status = kql_json_to_value(json, column->type, true, &source->row[index],
				       &source->texts[index], &expected);

	return status == -EINVAL ? fail(source, column->name, expected) : status;
}

static bool is_blank(const char *line, size_t length)
{
	for (size_t i = 0; i < length; i++) {
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r' && line[i] != '\n')
			return false;
	}
	return true;
}

static int next_row(void *context, const struct value **row)
{
	struct kql_ndjson_source *source = context;
	ssize_t length;

	release_row(source);
	do {
		errno = 0;
		length = getline(&source->line, &source->line_capacity, source->in);
		if (length < 0) {
			if (errno == ENOMEM)
				return -ENOMEM;
			if (ferror(source->in)) {
				snprintf(source->error, sizeof(source->error), "read error after line %lu",
					 source->line_number);
				return -EIO;
			}
			return 0;
		}
		source->line_number++;
	} while (is_blank(source->line, (size_t)length));
	json_error_t error;

	source->object = json_loadb(source->line, (size_t)length, 0, &error);
	if (!source->object || !json_is_object(source->object)) {
		char message[256];

		snprintf(message, sizeof(message), "not a JSON object (%s)",
			 source->object ? "another JSON value" : error.text);
		return fail(source, NULL, message);
	}
	for (size_t i = 0; i < source->schema->column_count; i++) {
		int status = convert(source, i,
				     json_object_get(source->object, source->schema->columns[i].name));

		if (status < 0)
			return status;
	}
	*row = source->row;
	return 1;
}

static const char *error_message(void *context)
{
	const struct kql_ndjson_source *source = context;

	return source->error[0] ? source->error : NULL;
}

int kql_ndjson_open(FILE *in, const struct table_schema *schema,
		    struct kql_ndjson_source **out)
{
	struct kql_ndjson_source *source = calloc(1, sizeof(*source));

	*out = NULL;
	if (!source)
		return -ENOMEM;
	source->in = in;
	source->schema = schema;
	source->row = calloc(schema->column_count + 1, sizeof(*source->row));
	source->texts = calloc(schema->column_count + 1, sizeof(*source->texts));
	if (!source->row || !source->texts) {
		kql_ndjson_close(source);
		return -ENOMEM;
	}
	source->source = (struct kql_source){schema, next_row, error_message, source};
	*out = source;
	return 0;
}

const struct kql_source *kql_ndjson_source(struct kql_ndjson_source *source)
{
	return &source->source;
}

void kql_ndjson_close(struct kql_ndjson_source *source)
{
	if (!source)
		return;
	if (source->texts)
		release_row(source);
	free(source->texts);
	free(source->row);
	free(source->line);
	free(source);
}
