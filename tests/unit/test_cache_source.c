/*
 * test_cache_source.c - the cache as KQL row sources (lib/store/cache_source.c).
 *
 * The same records are written to a real cache file (lib/store's writer) and
 * kept as NDJSON; every query must give the same table over the cache (small
 * chunks, so rows cross many chunk boundaries, timestamps out of rowid order
 * and repeated) as over the NDJSON source.  Also: which scans use the
 * Timestamp index, unused columns left empty, hits, and clear errors for a
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
#include "model/record.h"
#include "base/strbuf.h"

#define RECORD_COUNT 500
#define SMALL_CHUNK 7

struct fixture {
	char directory[64];
	char path[128];
	struct strbuf ndjson;
};

static void fill_record(struct record *record, int index)
{
	static const char *const names[] = {"bash", "curl", "true", "ssh", "python3"};
	char text[64];

	record_reset(record);
	/* minutes before TEST_NOW, repeating and out of insertion order */
	record_set_datetime(record, DPE_TIMESTAMP,
			    TEST_NOW - (int64_t)((index * 37) % 150) * TICKS_PER_MINUTE);
	record_set_cstring(record, DPE_FILE_NAME, names[index % 5]);
	snprintf(text, sizeof(text), "/usr/bin/%s --run %d", names[index % 5], index);
	record_set_cstring(record, DPE_PROCESS_COMMAND_LINE, text);
	if (index % 11)
		record_set_long(record, DPE_PROCESS_ID, 1000 + index);
	record_set_bool(record, DPE_IS_PROCESS_REMOTE_SESSION, index % 3 == 0);
	record_set_long(record, DPE_REPORT_ID, index + 1);
}

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
	record_init(&record);
	for (int i = 0; i < RECORD_COUNT; i++) {
		fill_record(&record, i);
		assert_int_equal(cache_add_record(cache, &record), 0);
		assert_int_equal(record_append_json_line(&record, &fixture->ndjson), 0);
		if (i % 50 == 0)
			assert_int_equal(cache_add_hit(cache, "rule-1", "Rule one", "Execution",
						       "T1059", &record), 0);
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
	static const char *const queries[] = {
		"DeviceProcessEvents | summarize n=count(), p=sum(ProcessId) by FileName"
		" | sort by FileName asc",
		"DeviceProcessEvents | where Timestamp between (ago(90m) .. ago(30m))"
		" | project ReportId, Timestamp, FileName, ProcessId | sort by ReportId asc",
		"DeviceProcessEvents | where Timestamp > ago(1h) | count",
		"DeviceProcessEvents | where Timestamp >= ago(3h) and Timestamp < ago(100m)"
		" | summarize count() by FileName | sort by FileName asc",
		"DeviceProcessEvents | where Timestamp > now() | count",
		"DeviceProcessEvents | where Timestamp == ago(37m) | project ReportId"
		" | sort by ReportId asc",
		"DeviceProcessEvents | where ProcessCommandLine has 'curl' and isnull(ProcessId)"
		" | project ReportId, FileName, IsProcessRemoteSession, ProcessCommandLine"
		" | sort by ReportId asc",
		"DeviceProcessEvents | take 1000 | count",
	};

	for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		struct kql_query *query = test_compile(queries[i]);
		struct kql_table *table = test_run_query(query, strbuf_text(&fixture->ndjson),
							 TEST_NOW);
		char *want = test_table_json(table);
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
		kql_table_free(table);
		kql_query_free(query);
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
	assert_true(cache_scan_uses_time_index(scan));
	const struct kql_source *source = cache_scan_source(scan);

	while (source->next(source->context, &row) == 1) {
		ranged_rows++;
		assert_true(row[DPE_TIMESTAMP].ticks > TEST_NOW - 10 * TICKS_PER_MINUTE);
		assert_true(row[DPE_FILE_NAME].len > 0);
		assert_string_equal(row[DPE_PROCESS_COMMAND_LINE].str, ""); /* not used */
		assert_true(row[DPE_PROCESS_ID].is_null);
	}
	/* the index returned only the range: (10 of 150 minutes) */
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
		cmocka_unit_test(test_rule_hits),
		cmocka_unit_test(test_errors_name_the_file),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
