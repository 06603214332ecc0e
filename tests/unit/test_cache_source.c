/*
 * test_cache_source.c - the cache as KQL row sources (lib/store/cache_source.c).
 *
 * The same records are written to a real cache file (lib/store's writer) and
 * kept as NDJSON; every query must give the same table over the cache (small
 * chunks, so rows cross many chunk boundaries, timestamps out of rowid order
 * and repeated) as over the NDJSON source.  Also: which scans a time range
 * narrows (the block summary of schema 3), unused columns left empty, hits, and clear errors for a
 * missing, garbage or foreign file.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/cache.h"
#include "store/cache_source.h"
#include "kql_test.h"
#include "store_cases.h"
#include "model/record.h"
#include "base/strbuf.h"

#define RECORD_COUNT STORE_CASE_RECORDS
#define SMALL_CHUNK 7

struct fixture {
	char directory[64];
	char path[128];
	struct strbuf ndjson;
	struct strbuf hits;
};

static int setup(void **state)
{
	struct fixture *fixture = calloc(1, sizeof(*fixture));
	struct cache_options options;
	struct cache *cache;
	struct record record;
	char message[256];

	assert_non_null(fixture);
	snprintf(fixture->directory, sizeof(fixture->directory), "/tmp/rmmhunt-cs-XXXXXX");
	assert_non_null(mkdtemp(fixture->directory));
	snprintf(fixture->path, sizeof(fixture->path), "%s/cache.db", fixture->directory);
	cache_default_options(&options);
	assert_int_equal(cache_open_writer(&cache, fixture->path, &options, message,
					   sizeof(message)), 0);
	strbuf_init(&fixture->ndjson);
	strbuf_init(&fixture->hits);
	record_init(&record);
	for (int i = 0; i < RECORD_COUNT; i++) {
		store_case_record(&record, i, "");
		assert_int_equal(cache_add_record(cache, &record), 0);
		assert_int_equal(record_append_json_line(&record, &fixture->ndjson), 0);
		if (store_case_is_hit(i)) {
			assert_int_equal(cache_add_hit(cache, "rule-1", "Rule one", "Execution",
						       "T1059", &record), 0);
			store_case_hit_line(&record, &fixture->hits);
		}
	}
	record_free(&record);
	cache_close(cache);
	*state = fixture;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fixture = *state;
	char path[160];

	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s", fixture->path,
			 (const char *[]){"", "-wal", "-shm"}[i]);
		unlink(path);
	}
	rmdir(fixture->directory);
	strbuf_free(&fixture->ndjson);
	strbuf_free(&fixture->hits);
	free(fixture);
	return 0;
}

static struct kql_query *compile_for_cache(const char *text)
{
	const struct table_schema *tables[CACHE_TABLE_COUNT];
	struct kql_query *query = NULL;
	struct kql_error error;

	cache_tables(tables);
	if (kql_compile(text, strlen(text), tables, CACHE_TABLE_COUNT, &query, &error) != 0)
		print_error("%s: %s\n", text, error.message);
	assert_non_null(query);
	return query;
}

static char *run_on_cache(struct fixture *fixture, const char *text, size_t chunk_rows)
{
	struct cache_scan_options options = {.chunk_rows = chunk_rows};
	struct cache_reader *reader;
	struct kql_table *table = NULL;
	struct kql_error error;
	char message[512];
	struct kql_query *query = compile_for_cache(text);

	assert_int_equal(cache_reader_open(fixture->path, &reader, message, sizeof(message)), 0);
	if (cache_execute(reader, query, TEST_NOW, &options, &table, &error) != 0)
		print_error("%s: %s\n", text, error.message);
	assert_non_null(table);
	char *json = test_table_json(table);

	kql_table_free(table);
	kql_query_free(query);
	cache_reader_close(reader);
	return json;
}

static void test_cache_agrees_with_ndjson(void **state)
{
	struct fixture *fixture = *state;
	char *queries[STORE_CASES_MAX];
	size_t count = store_case_queries(queries);

	for (size_t i = 0; i < count; i++) {
		char *want = store_case_reference(queries[i], strbuf_text(&fixture->ndjson),
						  strbuf_text(&fixture->hits));
		char *small = run_on_cache(fixture, queries[i], SMALL_CHUNK);
		char *large = run_on_cache(fixture, queries[i], 0);

		if (strcmp(want, small) != 0)
			print_error("%s:\nwant %s\ngot  %s\n", queries[i], want, small);
		assert_string_equal(want, small);
		assert_string_equal(want, large);
		assert_true(strlen(want) > 2);
		free(want);
		free(small);
		free(large);
		free(queries[i]);
	}
}

static void test_time_index_and_unused_columns(void **state)
{
	struct fixture *fixture = *state;
	struct cache_reader *reader;
	struct cache_scan *scan;
	const struct value *row;
	char message[512];
	struct kql_query *ranged = compile_for_cache(
		"DeviceProcessEvents | where Timestamp > ago(10m) | project FileName");
	struct kql_query *full = compile_for_cache("DeviceProcessEvents | project FileName");
	uint64_t ranged_rows = 0;

	assert_int_equal(cache_reader_open(fixture->path, &reader, message, sizeof(message)), 0);
	assert_int_equal(cache_scan_open(reader, ranged, &dpe_schema, TEST_NOW, NULL, &scan,
					 message, sizeof(message)), 0);
	/* the fixture's timestamps are scattered over the whole file: no
	 * block of Ids can be skipped (test_time_range_reads_its_blocks) */
	assert_false(cache_scan_uses_time_index(scan));
	const struct kql_source *source = cache_scan_source(scan);

	while (source->next(source->context, &row) == 1) {
		ranged_rows++;
		assert_true(row[DPE_TIMESTAMP].ticks > TEST_NOW - 10 * TICKS_PER_MINUTE);
		assert_true(row[DPE_FILE_NAME].len > 0);
		assert_string_equal(row[DPE_PROCESS_COMMAND_LINE].str, ""); /* not used */
		assert_true(row[DPE_PROCESS_ID].is_null);
	}
	/* only the range was handed out (10 of 150 minutes) */
	assert_int_equal(cache_scan_rows_read(scan), ranged_rows);
	assert_true(ranged_rows > 0 && ranged_rows < RECORD_COUNT / 10);
	cache_scan_close(scan);

	assert_int_equal(cache_scan_open(reader, full, &dpe_schema, TEST_NOW, NULL, &scan,
					 message, sizeof(message)), 0);
	assert_false(cache_scan_uses_time_index(scan));
	source = cache_scan_source(scan);
	while (source->next(source->context, &row) == 1)
		;
	assert_int_equal(cache_scan_rows_read(scan), RECORD_COUNT);
	cache_scan_close(scan);
	cache_reader_close(reader);
	kql_query_free(ranged);
	kql_query_free(full);
}

/* Records in time order (as an agent writes them): a recent range reads
 * only the last blocks of Ids, and gives what a full scan gives. */
static void test_time_range_reads_its_blocks(void **state)
{
	struct fixture *fixture = *state;
	char path[192];
	struct cache_options options;
	struct cache *cache;
	struct cache_reader *reader;
	struct cache_scan *scan;
	struct record record;
	const struct value *row;
	char message[512];
	const int count = 3000;
	uint64_t rows = 0;
	struct kql_query *ranged = compile_for_cache(
		"DeviceProcessEvents | where Timestamp > ago(5m) | project FileName");

	snprintf(path, sizeof(path), "%s/ordered.db", fixture->directory);
	cache_default_options(&options);
	assert_int_equal(cache_open_writer(&cache, path, &options, message, sizeof(message)), 0);
	record_init(&record);
	for (int i = 0; i < count; i++) {
		store_case_record(&record, i, "");
		/* one a second, the newest now */
		record_set_datetime(&record, DPE_TIMESTAMP,
				    TEST_NOW - (int64_t)(count - 1 - i) * TICKS_PER_SECOND);
		assert_int_equal(cache_add_record(cache, &record), 0);
	}
	record_free(&record);
	cache_close(cache);
	assert_int_equal(cache_reader_open(path, &reader, message, sizeof(message)), 0);
	assert_int_equal(cache_scan_open(reader, ranged, &dpe_schema, TEST_NOW, NULL, &scan,
					 message, sizeof(message)), 0);
	assert_true(cache_scan_uses_time_index(scan));
	const struct kql_source *source = cache_scan_source(scan);

	while (source->next(source->context, &row) == 1) {
		rows++;
		assert_true(row[DPE_TIMESTAMP].ticks > TEST_NOW - 5 * TICKS_PER_MINUTE);
	}
	assert_int_equal(rows, 300); /* 0..299 seconds before now */
	assert_int_equal(cache_scan_rows_read(scan), rows);
	cache_scan_close(scan);
	cache_reader_close(reader);
	kql_query_free(ranged);
	for (size_t i = 0; i < 3; i++) {
		static const char *const suffixes[] = {"", "-wal", "-shm"};
		char file[224];

		snprintf(file, sizeof(file), "%s%s", path, suffixes[i]);
		unlink(file);
	}
}

static void test_rule_hits(void **state)
{
	char *json = run_on_cache(*state,
				  "RuleHits | summarize n=count(), r=min(ReportId)"
				  " by RuleId, RuleName, Tactics, Techniques", SMALL_CHUNK);

	assert_string_equal(json, "{\"RuleId\":\"rule-1\",\"RuleName\":\"Rule one\","
				  "\"Tactics\":\"Execution\",\"Techniques\":\"T1059\","
				  "\"n\":10,\"r\":1}\n");
	free(json);
}

static void expect_open_error(const char *path, int code, const char *words)
{
	struct cache_reader *reader = NULL;
	char message[512] = "";

	assert_int_equal(cache_reader_open(path, &reader, message, sizeof(message)), code);
	assert_null(reader);
	if (!strstr(message, words) || !strstr(message, path))
		print_error("message: %s\n", message);
	assert_non_null(strstr(message, words));
	assert_non_null(strstr(message, path));
}

static void test_errors_name_the_file(void **state)
{
	struct fixture *fixture = *state;
	char path[160];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/missing.db", fixture->directory);
	expect_open_error(path, -ENOENT, "no cache at");

	snprintf(path, sizeof(path), "%s/garbage.db", fixture->directory);
	FILE *out = fopen(path, "wb");

	assert_non_null(out);
	for (int i = 0; i < 8192; i++)
		fputc((i * 7919) & 0xff, out);
	fclose(out);
	expect_open_error(path, -EILSEQ, "is not an rmmhunt cache");
	unlink(path);

	snprintf(path, sizeof(path), "%s/foreign.db", fixture->directory);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE CacheMeta (Key TEXT, Value INTEGER);"
				      "INSERT INTO CacheMeta VALUES ('schema_version', 1);"
				      "CREATE TABLE DeviceProcessEvents (Timestamp INTEGER)",
				      NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	expect_open_error(path, -EILSEQ, "no such column");
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cache_agrees_with_ndjson),
		cmocka_unit_test(test_time_index_and_unused_columns),
		cmocka_unit_test(test_time_range_reads_its_blocks),
		cmocka_unit_test(test_rule_hits),
		cmocka_unit_test(test_errors_name_the_file),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
