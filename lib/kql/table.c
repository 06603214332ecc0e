/*
 * table.c - result tables: column names and types, rows of struct value.
 *
 * A table owns its strings (in an arena) and one reference of each dynamic
 * value, so rows outlive the sources and scratch space they came from.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kql/internal.h"

struct kql_table *kql_table_new(const struct relation *relation)
{
	struct kql_table *table = calloc(1, sizeof(*table));
	size_t count = relation->count;

	if (!table)
		return NULL;
	table->column_count = count;
	table->names = arena_alloc(&table->strings, (count ? count : 1) * sizeof(char *));
	table->types = arena_alloc(&table->strings, (count ? count : 1) * sizeof(enum value_type));
	if (!table->names || !table->types) {
		kql_table_free(table);
		return NULL;
	}
	for (size_t i = 0; i < count; i++) {
		const char *name = relation->columns[i].name;

		table->names[i] = arena_strndup(&table->strings, name, strlen(name));
		if (!table->names[i]) {
			kql_table_free(table);
			return NULL;
		}
		table->types[i] = relation->columns[i].type;
	}
	return table;
}

int kql_table_append(struct kql_table *table, const struct value *row)
{
	size_t columns = table->column_count ? table->column_count : 1;
	struct value *grown;

	if (columns > SIZE_MAX / sizeof(*grown))
		return -ENOMEM;
	/* an array of rows, each row column_count cells */
	grown = array_reserve(table->cells, &table->row_capacity, table->row_count + 1, 16,
			      columns * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	table->cells = grown;
	struct value *cells = &table->cells[table->row_count * table->column_count];

	for (size_t i = 0; i < table->column_count; i++) {
		if (kql_value_copy_arena(&cells[i], &row[i], &table->strings) < 0) {
			while (i-- > 0) {
				if (cells[i].type == VALUE_DYNAMIC && !cells[i].is_null)
					json_decref(cells[i].dyn);
			}
			return -ENOMEM;
		}
	}
	table->row_count++;
	return 0;
}

void kql_table_free(struct kql_table *table)
{
	if (!table)
		return;
	for (size_t i = 0; i < table->row_count * table->column_count; i++) {
		if (table->cells[i].type == VALUE_DYNAMIC && !table->cells[i].is_null)
			json_decref(table->cells[i].dyn);
	}
	free(table->cells);
	arena_release(&table->strings);
	free(table);
}

size_t kql_table_column_count(const struct kql_table *table)
{
	return table->column_count;
}

const char *kql_table_column_name(const struct kql_table *table, size_t column)
{
	return column < table->column_count ? table->names[column] : NULL;
}

enum value_type kql_table_column_type(const struct kql_table *table, size_t column)
{
	return column < table->column_count ? table->types[column] : VALUE_STRING;
}

size_t kql_table_row_count(const struct kql_table *table)
{
	return table->row_count;
}

const struct value *kql_table_row(const struct kql_table *table, size_t row)
{
	return row < table->row_count ? &table->cells[row * table->column_count] : NULL;
}
