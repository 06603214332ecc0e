/*
 * test_collector_store.c - the collector's store (collector/store.h, SQLite
 * backend) with real files: the KQL conformance cases give exactly the
 * engine's answer over the same records as NDJSON (the local cache passes
 * the same cases); a replayed batch changes nothing; a summary is replaced
 * only by a newer one; keys bind to one device, revocation and allowing
 * again; retention by age leaves no unreferenced dictionary row of the
 * compact layout; devices share the dictionaries; a store written by the
 * flat layout (schema 1, tests/fixtures/collector-v1) or by the compact
 * layout of cache schema 4 (collector schema 2, tests/fixtures/collector-v2)
 * is converted on open and gives the same answers.
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
#include <zlib.h>

#include "store.h"
#include "store/cache_layout.h"
#include "layout_checks.h"
#include "store_cases.h"
#include "wire/batch_reader.h"

#define DEVICE "0123456789abcdef0123456789abcdef01234567"
#define OTHER_DEVICE "fedcba9876543210fedcba9876543210fedcba98"
#define FLAT_FIXTURE "tests/fixtures/collector-v1/collector.db.gz"
#define V2_FIXTURE "tests/fixtures/collector-v2/collector.db.gz"
#define V3_FIXTURE "tests/fixtures/collector-v3/collector.db.gz"
/* collector/store_sqlite.c's schema (the layout of cache schema 6) */
#define COLLECTOR_SCHEMA 4

struct fixture {
	char directory[64];
	char path[128];
	struct store *store;
	struct strbuf events, hits, batch;
};

static void add_line(struct strbuf *batch, const char *kind, const struct record *record)
{
	strbuf_appendf(batch, "{\"kind\":\"%s\",", kind);
	if (strcmp(kind, "hit") == 0)
		strbuf_append_string(batch, "\"rule\":{\"id\":\"rule-1\",\"name\":\"Rule one\","
					    "\"tactics\":\"Execution\",\"techniques\":\"T1059\"},");
	strbuf_append_string(batch, "\"row\":");
	record_append_json_line(record, batch);
	batch->length--; /* the newline */
	strbuf_append_string(batch, "}\n");
}

static int decode_and_put(struct fixture *fixture, const char *text,
			  struct store_batch_result *result)
{
	struct batch batch = {0};
	struct batch_error error = {0};
	int status = batch_decode(text, strlen(text), &batch, &error);

	if (status)
		print_error("batch: %s\n", error.message);
	assert_int_equal(status, 0);
	status = store_put_batch(fixture->store, &batch, "127.0.0.1", TEST_NOW, result);
	batch_free(&batch);
	return status;
}

static int setup(void **state)
{
	struct fixture *fixture = calloc(1, sizeof(*fixture));
	struct store_options options;
	struct store_batch_result result;
	unsigned char hash[STORE_KEY_HASH_BYTES] = {1};
	struct record record;
	char message[256];

	assert_non_null(fixture);
	snprintf(fixture->directory, sizeof(fixture->directory), "/tmp/rmmhunt-cstore-XXXXXX");
	assert_non_null(mkdtemp(fixture->directory));
	snprintf(fixture->path, sizeof(fixture->path), "%s/collector.db", fixture->directory);
	store_default_options(&options);
	options.max_age_ticks = 100LL * 365 * TICKS_PER_DAY;
	assert_int_equal(store_open(fixture->path, &options, &fixture->store, message,
				    sizeof(message)), 0);
	assert_int_equal(store_enroll(fixture->store, DEVICE, "a.example", "1", hash, TEST_NOW), 0);
	strbuf_init(&fixture->events);
	strbuf_init(&fixture->hits);
	strbuf_init(&fixture->batch);
	strbuf_appendf(&fixture->batch, "{\"schema\":1,\"batch\":\"b1\",\"device_id\":\"%s\","
					"\"device_name\":\"a.example\",\"sent\":\"2026-11-28T16:00:00Z\"}\n",
		       DEVICE);
	record_init(&record);
	for (int i = 0; i < STORE_CASE_RECORDS; i++) {
		store_case_record(&record, i, DEVICE);
		record_append_json_line(&record, &fixture->events);
		add_line(&fixture->batch, "record", &record);
		if (store_case_is_hit(i)) {
			store_case_hit_line(&record, &fixture->hits);
			add_line(&fixture->batch, "hit", &record);
		}
	}
	record_free(&record);
	assert_int_equal(decode_and_put(fixture, strbuf_text(&fixture->batch), &result), 0);
	assert_int_equal(result.records, STORE_CASE_RECORDS);
	assert_int_equal(result.hits, STORE_CASE_RECORDS / 50);
	*state = fixture;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fixture = *state;
	char path[160];

	store_close(fixture->store);
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s", fixture->path,
			 (const char *[]){"", "-wal", "-shm"}[i]);
		unlink(path);
	}
	rmdir(fixture->directory);
	strbuf_free(&fixture->events);
	strbuf_free(&fixture->hits);
	strbuf_free(&fixture->batch);
	free(fixture);
	return 0;
}

static char *run(struct fixture *fixture, const char *text)
{
	const struct table_schema *tables[STORE_TABLE_COUNT];
	struct kql_query *query = NULL;
	struct kql_table *table = NULL;
	struct kql_error error;
	char *json;

	store_tables(tables);
	if (kql_compile(text, strlen(text), tables, STORE_TABLE_COUNT, &query, &error) != 0)
		print_error("%s: %s\n", text, error.message);
	assert_non_null(query);
	if (store_run_query(fixture->store, query, TEST_NOW, &table, &error) != 0)
		print_error("%s: %s\n", text, error.message);
	assert_non_null(table);
	json = test_table_json(table);
	kql_table_free(table);
	kql_query_free(query);
	return json;
}

static void test_conformance_cases(void **state)
{
	struct fixture *fixture = *state;
	char *queries[STORE_CASES_MAX];
	size_t count = store_case_queries(queries);

	for (size_t i = 0; i < count; i++) {
		char *want = store_case_reference(queries[i], strbuf_text(&fixture->events),
						  strbuf_text(&fixture->hits));
		char *got = run(fixture, queries[i]);

		if (strcmp(want, got) != 0)
			print_error("%s:\nwant %s\ngot  %s\n", queries[i], want, got);
		assert_string_equal(want, got);
		assert_true(strlen(want) > 2);
		free(want);
		free(got);
		free(queries[i]);
	}
}

static void test_replay_changes_nothing(void **state)
{
	struct fixture *fixture = *state;
	struct store_batch_result result;
	char *before = run(fixture, "DeviceProcessEvents | summarize count(), sum(ReportId)");

	assert_int_equal(decode_and_put(fixture, strbuf_text(&fixture->batch), &result), 0);
	assert_int_equal(result.records, 0);
	assert_int_equal(result.hits, 0);
	assert_int_equal(result.duplicates, STORE_CASE_RECORDS + STORE_CASE_RECORDS / 50);
	char *after = run(fixture, "DeviceProcessEvents | summarize count(), sum(ReportId)");

	assert_string_equal(before, after);
	free(before);
	free(after);
}

static void put_summary(struct fixture *fixture, const char *updated, int count,
			uint64_t expect_stored)
{
	struct store_batch_result result;
	char text[1024];

	snprintf(text, sizeof(text),
		 "{\"schema\":1,\"batch\":\"s\",\"device_id\":\"%s\",\"device_name\":\"a.example\","
		 "\"sent\":\"2026-11-28T16:00:00Z\"}\n"
		 "{\"kind\":\"summary\",\"rule\":{\"id\":\"rport\",\"name\":\"RPort\"},"
		 "\"updated\":\"%s\",\"columns\":[{\"name\":\"DeviceId\",\"type\":\"string\"},"
		 "{\"name\":\"FirstSeen\",\"type\":\"datetime\"},{\"name\":\"Report\",\"type\":"
		 "\"dynamic\"},{\"name\":\"Count\",\"type\":\"long\"},{\"name\":\"Other\",\"type\":"
		 "\"real\"}],\"rows\":[[\"%s\",\"2026-11-28T10:00:00Z\",[1,2],%d,1.5]]}\n",
		 DEVICE, updated, DEVICE, count);
	assert_int_equal(decode_and_put(fixture, text, &result), 0);
	assert_int_equal(result.summaries, expect_stored);
}

static void test_summaries_newer_replace(void **state)
{
	struct fixture *fixture = *state;
	char *json;

	put_summary(fixture, "2026-11-28T12:00:00Z", 3, 1);
	put_summary(fixture, "2026-11-28T11:00:00Z", 1, 0);
	put_summary(fixture, "2026-11-28T12:00:00Z", 2, 0);
	json = run(fixture, "RuleSummaries");
	assert_string_equal(json, "{\"DeviceId\":\"" DEVICE "\",\"DeviceName\":\"a.example\","
				  "\"RuleId\":\"rport\",\"RuleName\":\"RPort\","
				  "\"FirstSeen\":\"2026-11-28T10:00:00.0000000Z\",\"LastSeen\":null,"
				  "\"Report\":[1,2],\"Count\":3}\n");
	free(json);
	put_summary(fixture, "2026-11-28T13:00:00Z", 9, 1);
	json = run(fixture, "RuleSummaries | project Count");
	assert_string_equal(json, "{\"Count\":9}\n");
	free(json);
}

static void test_keys_and_revocation(void **state)
{
	struct fixture *fixture = *state;
	unsigned char first[STORE_KEY_HASH_BYTES] = {7}, second[STORE_KEY_HASH_BYTES] = {8};
	char device_id[BATCH_ID_MAX + 1];
	bool revoked = true;

	assert_int_equal(store_enroll(fixture->store, "dev-b", "b", "1", first, TEST_NOW), 0);
	assert_int_equal(store_lookup_key(fixture->store, first, device_id, &revoked), 0);
	assert_string_equal(device_id, "dev-b");
	assert_false(revoked);
	/* enrolling again replaces the key */
	assert_int_equal(store_enroll(fixture->store, "dev-b", "b", "1", second, TEST_NOW), 0);
	assert_int_equal(store_lookup_key(fixture->store, first, device_id, &revoked), -ENOENT);
	assert_int_equal(store_lookup_key(fixture->store, second, device_id, &revoked), 0);
	assert_int_equal(store_set_revoked(fixture->store, "dev-b", true, TEST_NOW), 0);
	assert_int_equal(store_lookup_key(fixture->store, second, device_id, &revoked), 0);
	assert_true(revoked);
	assert_int_equal(store_enroll(fixture->store, "dev-b", "b", "1", first, TEST_NOW), -EPERM);
	assert_int_equal(store_check_certificate_device(fixture->store, "dev-b", TEST_NOW), -EPERM);
	assert_int_equal(store_set_revoked(fixture->store, "dev-b", false, TEST_NOW), 0);
	assert_int_equal(store_lookup_key(fixture->store, second, device_id, &revoked), -ENOENT);
	assert_int_equal(store_enroll(fixture->store, "dev-b", "b", "1", first, TEST_NOW), 0);
	assert_int_equal(store_set_revoked(fixture->store, "nobody", true, TEST_NOW), -ENOENT);
	assert_int_equal(store_check_certificate_device(fixture->store, "dev-cert", TEST_NOW), 0);
	char *json = run(fixture, "DeviceInfo | where DeviceId startswith 'dev-' | project DeviceId,"
				  " OnboardingStatus | sort by DeviceId asc");

	assert_string_equal(json, "{\"DeviceId\":\"dev-b\",\"OnboardingStatus\":\"Onboarded\"}\n"
				  "{\"DeviceId\":\"dev-cert\",\"OnboardingStatus\":\"Onboarded\"}\n");
	free(json);
}

/* No dictionary row unreferenced, every Refs right, every Events row has
 * its Reports row and the other way round, every record's Timestamp inside
 * its block's summary (schema 3: no Timestamp index), no block before the
 * first record. */
static void assert_sound(const char *path)
{
	assert_int_equal(layout_check_count(path, cache_layout_orphans_sql), 0);
	assert_int_equal(layout_check_count(path, cache_layout_bad_refs_sql), 0);
	assert_int_equal(layout_check_number(path, "SELECT count(*) FROM Events WHERE Id NOT IN"
					   " (SELECT Id FROM Reports)"), 0);
	assert_int_equal(layout_check_number(path, "SELECT count(*) FROM Reports WHERE Id NOT IN"
					   " (SELECT Id FROM Events)"), 0);
	assert_int_equal(layout_check_number(path, "SELECT count(*) FROM Events AS e LEFT JOIN"
					   " EventBlocks AS b ON b.Block = e.Id >> 8 WHERE"
					   " e.Timestamp IS NOT NULL AND (b.Block IS NULL OR"
					   " e.Timestamp < b.Low OR e.Timestamp > b.High)"), 0);
	assert_int_equal(layout_check_number(path, "SELECT count(*) FROM EventBlocks WHERE Block <"
					   " (SELECT coalesce(min(Id), 1 << 62) FROM Events) >> 8"), 0);
	assert_int_equal(layout_check_number(path, "SELECT count(*) FROM sqlite_master"
					   " WHERE name = 'Events_time'"), 0);
	assert_int_equal(layout_check_number(path, "SELECT count(*) FROM pragma_integrity_check"
					   " WHERE integrity_check <> 'ok'"), 0);
}

static void remove_store_files(const char *database)
{
	char path[200];

	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s", database, (const char *[]){"", "-wal", "-shm"}[i]);
		unlink(path);
	}
}

/*
 * The same records from another device, into a store of their own: new
 * events, no new file version (the dictionaries are the fleet's).
 */
static void test_devices_share_dictionaries(void **state)
{
	struct fixture *fixture = *state;
	struct fixture shared = *fixture;
	struct store_batch_result result;
	struct strbuf batch;
	struct record record;
	struct store_options options;
	char message[256];

	snprintf(shared.path, sizeof(shared.path), "%s/shared.db", fixture->directory);
	store_default_options(&options);
	options.max_age_ticks = 100LL * 365 * TICKS_PER_DAY;
	assert_int_equal(store_open(shared.path, &options, &shared.store, message,
				    sizeof(message)), 0);
	assert_int_equal(decode_and_put(&shared, strbuf_text(&fixture->batch), &result), 0);
	int64_t files = layout_check_number(shared.path, "SELECT count(*) FROM Files");
	int64_t events = layout_check_number(shared.path, "SELECT count(*) FROM Events");

	strbuf_init(&batch);
	strbuf_appendf(&batch, "{\"schema\":1,\"batch\":\"b2\",\"device_id\":\"%s\","
			       "\"device_name\":\"b.example\",\"sent\":\"2026-11-28T16:00:00Z\"}\n",
		       OTHER_DEVICE);
	record_init(&record);
	for (int i = 0; i < STORE_CASE_RECORDS; i++) {
		store_case_record(&record, i, OTHER_DEVICE);
		add_line(&batch, "record", &record);
	}
	record_free(&record);
	assert_int_equal(decode_and_put(&shared, strbuf_text(&batch), &result), 0);
	assert_int_equal(result.records, STORE_CASE_RECORDS);
	/* a retry of the same batch stores nothing */
	assert_int_equal(decode_and_put(&shared, strbuf_text(&batch), &result), 0);
	assert_int_equal(result.records, 0);
	assert_int_equal(result.duplicates, STORE_CASE_RECORDS);
	strbuf_free(&batch);
	assert_true(files > 0);
	assert_int_equal(layout_check_number(shared.path, "SELECT count(*) FROM Files"), files);
	assert_int_equal(layout_check_number(shared.path, "SELECT count(*) FROM Events"),
			 events + STORE_CASE_RECORDS);
	char *json = run(&shared, "DeviceProcessEvents | summarize count() by DeviceId"
				  " | sort by DeviceId asc");
	char want[512];

	snprintf(want, sizeof(want), "{\"DeviceId\":\"%s\",\"count_\":%d}\n"
				     "{\"DeviceId\":\"%s\",\"count_\":%d}\n",
		 DEVICE, STORE_CASE_RECORDS, OTHER_DEVICE, STORE_CASE_RECORDS);
	assert_string_equal(json, want);
	free(json);
	store_close(shared.store);
	assert_sound(shared.path);
	remove_store_files(shared.path);
}

static void test_retention_by_age(void **state)
{
	struct fixture *fixture = *state;
	struct store_options options;
	struct store *store;
	char message[256], path[160];
	int removed, total = 0;

	/* the same file, opened with a 1 h limit: records of the last 150 min */
	snprintf(path, sizeof(path), "%s", fixture->path);
	store_default_options(&options);
	options.max_age_ticks = TICKS_PER_HOUR;
	options.retention_chunk = 64;
	assert_int_equal(store_open(path, &options, &store, message, sizeof(message)), 0);
	while ((removed = store_retention_step(store, TEST_NOW)) > 0)
		total += removed;
	assert_int_equal(removed, 0);
	assert_true(total > 0 && total < STORE_CASE_RECORDS);
	store_close(store);
	char *json = run(fixture, "DeviceProcessEvents | where Timestamp < ago(1h) | count");

	assert_string_equal(json, "{\"Count\":0}\n");
	free(json);
	json = run(fixture, "DeviceProcessEvents | where Timestamp >= ago(1h) | count");
	assert_string_not_equal(json, "{\"Count\":0}\n");
	free(json);
	assert_sound(path);
}

/* Every record too old: the dictionaries are empty, the hits stay. */
static void test_retention_empties_dictionaries(void **state)
{
	struct fixture *fixture = *state;
	struct store_options options;
	struct store *store;
	char message[256];
	int removed;

	store_default_options(&options);
	options.max_age_ticks = 1;
	options.hits_max_age_ticks = 100LL * 365 * TICKS_PER_DAY;
	options.retention_chunk = 100;
	assert_int_equal(store_open(fixture->path, &options, &store, message, sizeof(message)), 0);
	while ((removed = store_retention_step(store, TEST_NOW + TICKS_PER_DAY)) > 0)
		;
	assert_int_equal(removed, 0);
	store_close(store);
	assert_sound(fixture->path);
	assert_int_equal(layout_check_number(fixture->path, "SELECT count(*) FROM Events"), 0);
	for (int d = 0; d < LAYOUT_DICTIONARY_COUNT; d++) {
		char sql[128];

		snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", layout_dictionaries[d].table);
		assert_int_equal(layout_check_number(fixture->path, sql), 0);
	}
	assert_int_equal(layout_check_number(fixture->path, "SELECT count(*) FROM Reports"), 0);
	assert_int_equal(layout_check_number(fixture->path, "SELECT count(*) FROM RuleHits"),
			 STORE_CASE_RECORDS / 50);
}

/*
 * An older store (tests/fixtures/collector-vN: the setup's batch and one
 * summary stored by main's store of that schema, see its README), opened
 * now, is converted and answers every conformance case as the engine does
 * over the same records; the batch again is all duplicates.
 */
static void check_store_converts(struct fixture *fixture, const char *gz, int64_t version)
{
	struct fixture old = *fixture;
	struct store_options options;
	struct store_batch_result result;
	char message[256];
	char *queries[STORE_CASES_MAX];
	size_t count = store_case_queries(queries);

	snprintf(old.path, sizeof(old.path), "%s/old.db", fixture->directory);
	layout_check_gunzip(gz, old.path);
	assert_int_equal(layout_check_number(old.path, "SELECT Value FROM CollectorMeta"
					       " WHERE Key = 'schema_version'"), version);
	store_default_options(&options);
	options.max_age_ticks = 100LL * 365 * TICKS_PER_DAY;
	assert_int_equal(store_open(old.path, &options, &old.store, message, sizeof(message)), 0);
	for (size_t i = 0; i < count; i++) {
		char *want = store_case_reference(queries[i], strbuf_text(&fixture->events),
						  strbuf_text(&fixture->hits));
		char *got = run(&old, queries[i]);

		if (strcmp(want, got) != 0)
			print_error("%s:\nwant %s\ngot  %s\n", queries[i], want, got);
		assert_string_equal(want, got);
		free(want);
		free(got);
		free(queries[i]);
	}
	char *json = run(&old, "RuleSummaries | project RuleId, Count");

	assert_string_equal(json, "{\"RuleId\":\"rport\",\"Count\":7}\n");
	free(json);
	assert_int_equal(decode_and_put(&old, strbuf_text(&fixture->batch), &result), 0);
	assert_int_equal(result.records, 0);
	assert_int_equal(result.duplicates, STORE_CASE_RECORDS + STORE_CASE_RECORDS / 50);
	store_close(old.store);
	assert_int_equal(layout_check_number(old.path, "SELECT Value FROM CollectorMeta"
					       " WHERE Key = 'schema_version'"), COLLECTOR_SCHEMA);
	assert_int_equal(layout_check_number(old.path, "SELECT type = 'view' FROM sqlite_master"
					       " WHERE name = 'DeviceProcessEvents'"), 1);
	assert_int_equal(layout_check_number(old.path, "SELECT count(*) FROM Events"), STORE_CASE_RECORDS);
	assert_int_equal(layout_check_number(old.path, "SELECT count(*) FROM Reports"), STORE_CASE_RECORDS);
	assert_int_equal(layout_check_number(old.path, "SELECT count(*) FROM EventBlocks"),
			 layout_check_number(old.path, "SELECT count(DISTINCT Id >> 8) FROM Events"));
	assert_sound(old.path);
	remove_store_files(old.path);
}

/* The flat layout (collector schema 1). */
static void test_flat_store_converts(void **state)
{
	check_store_converts(*state, FLAT_FIXTURE, 1);
}

/* The compact layout of cache schema 4 (collector schema 2). */
static void test_v2_store_converts(void **state)
{
	check_store_converts(*state, V2_FIXTURE, 2);
}

/* The compact layout of cache schema 5 (collector schema 3). */
static void test_v3_store_converts(void **state)
{
	check_store_converts(*state, V3_FIXTURE, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conformance_cases),
		cmocka_unit_test(test_replay_changes_nothing),
		cmocka_unit_test(test_summaries_newer_replace),
		cmocka_unit_test(test_keys_and_revocation),
		cmocka_unit_test(test_flat_store_converts),
		cmocka_unit_test(test_v2_store_converts),
		cmocka_unit_test(test_v3_store_converts),
		cmocka_unit_test(test_retention_by_age),
		cmocka_unit_test(test_devices_share_dictionaries),
		cmocka_unit_test(test_retention_empties_dictionaries),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
