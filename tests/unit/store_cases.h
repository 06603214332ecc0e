/*
 * store_cases.h - the KQL conformance cases every store must pass
 * (tests/conformance/store_queries.kql) and the records they run over:
 * test_cache_source.c runs them on the local cache, test_collector_store.c
 * on the collector's store, each against the KQL engine over the same
 * records as NDJSON.  Header-only: each test is its own program.
 */
#ifndef RMMHUNT_TEST_STORE_CASES_H
#define RMMHUNT_TEST_STORE_CASES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json_writer.h"
#include "base/strbuf.h"
#include "kql_test.h"
#include "model/record.h"
#include "store/cache_schema.h"

#define STORE_CASES_FILE "tests/conformance/store_queries.kql"
#define STORE_CASES_MAX 64
#define STORE_CASE_RECORDS 500

/* Record index of the fixture (timestamps repeat, out of insertion order). */
static inline void store_case_record(struct record *record, int index, const char *device_id)
{
	static const char *const names[] = {"bash", "curl", "true", "ssh", "python3"};
	char text[64];

	record_reset(record);
	record_set_datetime(record, DPE_TIMESTAMP,
			    TEST_NOW - (int64_t)((index * 37) % 150) * TICKS_PER_MINUTE);
	record_set_cstring(record, DPE_DEVICE_ID, device_id);
	record_set_cstring(record, DPE_FILE_NAME, names[index % 5]);
	/* every 7th with the Kelvin sign and the long s, which Unicode folding
	 * makes 'k' and 's': a store's pre-filter must not lose them */
	snprintf(text, sizeof(text), "/usr/bin/%s --run %d%s", names[index % 5], index,
		 index % 7 == 0 ? " \u212Aelvin \u017Ftop" : index % 7 == 3 ? " KELVIN Stop" : "");
	record_set_cstring(record, DPE_PROCESS_COMMAND_LINE, text);
	if (index % 11)
		record_set_long(record, DPE_PROCESS_ID, 1000 + index);
	record_set_bool(record, DPE_IS_PROCESS_REMOTE_SESSION, index % 3 == 0);
	record_set_long(record, DPE_REPORT_ID, index + 1);
}

/* Is record index also a hit of rule-1? */
static inline int store_case_is_hit(int index)
{
	return index % 50 == 0;
}

/* The hit of record as a RuleHits NDJSON line (rule columns, then the record's). */
static inline void store_case_hit_line(const struct record *record, struct strbuf *out)
{
	struct json_writer writer;

	json_writer_init(&writer, out);
	json_write_object_begin(&writer);
	json_write_key(&writer, "RuleId");
	json_write_cstring(&writer, "rule-1");
	json_write_key(&writer, "RuleName");
	json_write_cstring(&writer, "Rule one");
	json_write_key(&writer, "Tactics");
	json_write_cstring(&writer, "Execution");
	json_write_key(&writer, "Techniques");
	json_write_cstring(&writer, "T1059");
	record_write_json_members(record, &writer);
	json_write_object_end(&writer);
	strbuf_append_char(out, '\n');
}

/* The tables the cases read, and the engine's answer over NDJSON (JSON lines). */
static inline char *store_case_reference(const char *text, const char *events, const char *hits)
{
	const struct table_schema *tables[] = {&dpe_schema, cache_hits_schema()};
	FILE *inputs[2] = {fmemopen((void *)events, strlen(events), "r"),
			   fmemopen((void *)hits, strlen(hits), "r")};
	struct kql_ndjson_source *sources[2];
	struct kql_source views[2];
	struct kql_query *query = NULL;
	struct kql_table *table = NULL;
	struct kql_error error;
	char *json;

	if (kql_compile(text, strlen(text), tables, 2, &query, &error) != 0)
		print_error("%s: %s\n", text, error.message);
	assert_non_null(query);
	for (int i = 0; i < 2; i++) {
		assert_non_null(inputs[i]);
		assert_int_equal(kql_ndjson_open(inputs[i], tables[i], &sources[i]), 0);
		views[i] = *kql_ndjson_source(sources[i]);
	}
	assert_int_equal(kql_execute(query, views, 2, TEST_NOW, &table, &error), 0);
	json = test_table_json(table);
	for (int i = 0; i < 2; i++) {
		kql_ndjson_close(sources[i]);
		fclose(inputs[i]);
	}
	kql_table_free(table);
	kql_query_free(query);
	return json;
}

/* The queries of the cases file (malloc'd strings); returns the count. */
static inline size_t store_case_queries(char *queries[STORE_CASES_MAX])
{
	FILE *in = fopen(STORE_CASES_FILE, "r");
	char line[4096];
	size_t count = 0;

	if (!in) {
		print_error("cannot open %s (run the tests from the repository root)\n",
			    STORE_CASES_FILE);
		fail();
	}
	while (fgets(line, sizeof(line), in) && count < STORE_CASES_MAX) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0' || strncmp(line, "//", 2) == 0)
			continue;
		queries[count] = strdup(line);
		assert_non_null(queries[count]);
		count++;
	}
	fclose(in);
	assert_true(count > 10);
	return count;
}

#endif
