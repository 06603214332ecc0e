/*
 * fuzz_kql.c - libFuzzer target for the KQL engine and the NDJSON source.
 *
 * Input: query text, optionally followed by a NUL byte and NDJSON records.
 * The query is compiled against DeviceProcessEvents; on error the error is
 * formatted with its caret.  A compiled query is executed over the records
 * (or two fixed ones), its result printed in all three formats, and when it
 * is row-only its rows are also matched one by one and fed to the
 * incremental aggregator; the pushdown helpers run too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kql/kql.h"
#include "kql/kql_format.h"
#include "model/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fixed_records[] =
	"{\"Timestamp\":\"2026-11-28T15:00:00.1234567Z\",\"DeviceId\":\"d1\",\"DeviceName\":\"h\","
	"\"ProcessVersionInfoCompanyName\":\"RealVNC Ltd\",\"ProcessVersionInfoProductName\":\"rport\","
	"\"ReportId\":7,\"FileName\":\"rport.exe\",\"FileSize\":1,\"AdditionalFields\":{\"uid\":0}}\n"
	"{\"Timestamp\":\"2026-11-20T15:00:00Z\",\"DeviceId\":\"d2\",\"ProcessCommandLine\":\"a, \\\"b\\\"\"}\n";

#define NOW (1795881600LL * TICKS_PER_SECOND)

static void print_all(const struct kql_table *table)
{
	FILE *out = fopen("/dev/null", "w");

	if (!out)
		return;
	kql_table_print(out, table, KQL_FORMAT_TABLE, 12);
	kql_table_print(out, table, KQL_FORMAT_JSON, 0);
	kql_table_print(out, table, KQL_FORMAT_CSV, 0);
	fclose(out);
}

static void run_rows(struct kql_query *query, const char *records, size_t length)
{
	FILE *in = fmemopen((void *)records, length, "r");
	struct kql_ndjson_source *source;
	struct kql_aggregator *aggregator = NULL;
	const struct value *row;
	int64_t now = NOW;

	if (!in)
		return;
	if (kql_ndjson_open(in, &dpe_schema, &source) == 0) {
		const struct kql_source *view = kql_ndjson_source(source);

		kql_aggregator_new(query, 1 << 16, &aggregator, NULL);
		while (view->next(view->context, &row) == 1) {
			bool matched;

			kql_query_row_matches(query, row, now);
			if (aggregator)
				kql_aggregator_add(aggregator, row, now, &matched);
			now += TICKS_PER_HOUR;
		}
		if (aggregator) {
			struct kql_table *table;

			if (kql_aggregator_result(aggregator, now, &table, NULL) == 0) {
				print_all(table);
				kql_table_free(table);
			}
			kql_aggregator_free(aggregator);
		}
		kql_ndjson_close(source);
	}
	fclose(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *separator = memchr(data, '\0', size);
	size_t query_length = separator ? (size_t)(separator - text) : size;
	const char *records = separator ? separator + 1 : fixed_records;
	size_t records_length = separator ? size - query_length - 1 : strlen(fixed_records);
	const struct table_schema *tables[] = {&dpe_schema};
	struct kql_query *query;
	struct kql_error error;

	if (kql_compile(text, query_length, tables, 1, &query, &error) < 0) {
		free(kql_error_format(&error, text, query_length, "fuzz"));
		return 0;
	}
	FILE *in = fmemopen((void *)records, records_length ? records_length : 1, "r");

	if (in) {
		struct kql_ndjson_source *source;

		if (kql_ndjson_open(in, &dpe_schema, &source) == 0) {
			struct kql_table *table;

			if (kql_execute(query, kql_ndjson_source(source), 1, NOW, &table, &error) == 0) {
				print_all(table);
				kql_table_free(table);
			}
			kql_ndjson_close(source);
		}
		fclose(in);
	}
	if (records_length)
		run_rows(query, records, records_length);
	int64_t low, high;
	bool used[DPE_COLUMN_COUNT];

	kql_query_time_range(query, "Timestamp", NOW, &low, &high);
	kql_query_columns_used(query, "DeviceProcessEvents", used, DPE_COLUMN_COUNT);
	kql_query_free(query);
	return 0;
}
