/*
 * kql_test.h - helpers shared by the KQL unit tests: compile a query, run
 * it over NDJSON records held in a string, look at cells by column name.
 * Header-only (static inline) because each test file is its own program.
 */
#ifndef RMMHUNT_TEST_KQL_TEST_H
#define RMMHUNT_TEST_KQL_TEST_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "kql/kql.h"
#include "kql/kql_format.h"
#include "model/schema.h"

/* 2026-11-28T16:00:00Z */
#define TEST_NOW (1795881600LL * TICKS_PER_SECOND)

static inline struct kql_query *test_compile(const char *text)
{
	const struct table_schema *tables[] = {&dpe_schema};
	struct kql_query *query = NULL;
	struct kql_error error;
	int status = kql_compile(text, strlen(text), tables, 1, &query, &error);

	if (status < 0) {
		char *message = kql_error_format(&error, text, strlen(text), "test");

		print_error("%s", message ? message : "compile failed\n");
		free(message);
	}
	assert_int_equal(status, 0);
	return query;
}

/* Compiles text, expecting an error; returns it. */
static inline struct kql_error test_compile_error(const char *text)
{
	const struct table_schema *tables[] = {&dpe_schema};
	struct kql_query *query = NULL;
	struct kql_error error;
	int status = kql_compile(text, strlen(text), tables, 1, &query, &error);

	if (status == 0)
		print_error("compiled, expected an error: %s\n", text);
	assert_int_equal(status, -EINVAL);
	assert_null(query);
	return error;
}

/* Runs query over NDJSON records (DeviceProcessEvents) at now. */
static inline struct kql_table *test_run_query(struct kql_query *query, const char *records,
					       int64_t now)
{
	FILE *in = fmemopen((void *)records, strlen(records), "r");
	struct kql_ndjson_source *source;
	struct kql_table *table = NULL;
	struct kql_error error;

	assert_non_null(in);
	assert_int_equal(kql_ndjson_open(in, &dpe_schema, &source), 0);
	int status = kql_execute(query, kql_ndjson_source(source), 1, now, &table, &error);

	if (status < 0)
		print_error("execute: %s\n", error.message);
	assert_int_equal(status, 0);
	kql_ndjson_close(source);
	fclose(in);
	return table;
}

static inline struct kql_table *test_run(const char *text, const char *records, int64_t now)
{
	struct kql_query *query = test_compile(text);
	struct kql_table *table = test_run_query(query, records, now);

	kql_query_free(query);
	return table;
}

static inline size_t test_column(const struct kql_table *table, const char *name)
{
	for (size_t i = 0; i < kql_table_column_count(table); i++) {
		if (strcmp(kql_table_column_name(table, i), name) == 0)
			return i;
	}
	print_error("no column %s\n", name);
	fail();
	return 0;
}

static inline const struct value *test_cell(const struct kql_table *table, size_t row,
					    const char *column)
{
	assert_true(row < kql_table_row_count(table));
	return &kql_table_row(table, row)[test_column(table, column)];
}

/* The table as JSON lines, for whole-table comparisons (malloc'd). */
static inline char *test_table_json(const struct kql_table *table)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);

	assert_non_null(out);
	assert_int_equal(kql_table_print(out, table, KQL_FORMAT_JSON, 0), 0);
	fclose(out);
	return text;
}

/*
 * Value of one scalar expression, computed by a one-row query:
 *   datatable(x:long)[1] | project r = EXPR
 * Returns the JSON text of the row, e.g. {"r":true}.
 */
static inline char *test_scalar_json(const char *expression)
{
	char text[4096];
	const struct table_schema *tables[] = {&dpe_schema};
	struct kql_query *query = NULL;
	struct kql_error error;
	struct kql_table *table = NULL;

	snprintf(text, sizeof(text), "datatable(x:long)[1] | project r = %s", expression);
	if (kql_compile(text, strlen(text), tables, 1, &query, &error) < 0) {
		print_error("%s: %s\n", expression, error.message);
		fail();
	}
	assert_int_equal(kql_execute(query, NULL, 0, TEST_NOW, &table, &error), 0);
	char *json = test_table_json(table);

	kql_table_free(table);
	kql_query_free(query);
	return json;
}

/* assert that EXPR evaluates to the JSON value expected ("true", "\"a\"", ...) */
static inline void test_scalar(const char *expression, const char *expected)
{
	char wanted[4096];
	char *json = test_scalar_json(expression);

	snprintf(wanted, sizeof(wanted), "{\"r\":%s}\n", expected);
	if (strcmp(json, wanted) != 0)
		print_error("%s\n  got      %s  expected %s", expression, json, wanted);
	assert_string_equal(json, wanted);
	free(json);
}

#endif
