/*
 * test_kql_incremental.c - the agent's incremental summarize equals running
 * the whole query again: random records are fed one by one at a moving now,
 * and at several moments T the aggregator's table is compared with
 * kql_execute() over every record fed so far at now() = T (property test,
 * fixed seeds).  Also: the matched flag equals kql_query_row_matches(),
 * expiry and the memory cap are counted, and queries the aggregator cannot
 * keep are refused with a reason.
 */
#include <errno.h>

#include "kql_test.h"

static uint64_t random_state;

static uint64_t next_random(void)
{
	random_state ^= random_state << 13;
	random_state ^= random_state >> 7;
	random_state ^= random_state << 17;
	return random_state;
}

static const char *pick(const char *const *choices, size_t count)
{
	return choices[next_random() % count];
}

#define PICK(choices) pick(choices, sizeof(choices) / sizeof(choices[0]))

/* A random DeviceProcessEvents record around time base, as NDJSON. */
static void random_record(char *out, size_t size, int64_t base)
{
	static const char *const devices[] = {"d1", "d2", "d3"};
	static const char *const names[] = {"h1", "h2"};
	static const char *const companies[] = {"RealVNC Ltd", "RealVNC", "Other Inc", ""};
	static const char *const products[] = {"rport", "rportd", "vncviewer", "RPort client"};
	static const char *const files[] = {"x", "y", "z", "rport.exe", ""};
	char time[KQL_DATETIME_TEXT];
	char size_text[32] = "null";
	/* within [base - 7d, base + 1d], some on the same tick */
	int64_t offset = (int64_t)(next_random() % (8 * 24)) * TICKS_PER_HOUR;

	if (next_random() % 4 == 0)
		offset = (int64_t)(next_random() % 3) * TICKS_PER_DAY;
	kql_datetime_format(base - 7 * TICKS_PER_DAY + offset, time);
	if (next_random() % 5)
		snprintf(size_text, sizeof(size_text), "%d", (int)(next_random() % 1000));
	snprintf(out, size,
		 "{\"Timestamp\":\"%s\",\"DeviceId\":\"%s\",\"DeviceName\":\"%s\","
		 "\"ProcessVersionInfoCompanyName\":\"%s\",\"ProcessVersionInfoProductName\":\"%s\","
		 "\"FileName\":\"%s\",\"ReportId\":%d,\"FileSize\":%s,\"ProcessId\":%d}\n",
		 time, PICK(devices), PICK(names), PICK(companies), PICK(products), PICK(files),
		 (int)(next_random() % 12), size_text, (int)(next_random() % 100));
}

static const char *const queries[] = {
	/* the RPort rule */
	"let Time_start = now(-5d);\nlet Time_end = now();\nDeviceProcessEvents\n"
	"| where Timestamp between (Time_start..Time_end)\n"
	"| where ProcessVersionInfoCompanyName has 'RealVNC' and ProcessVersionInfoProductName has 'rport'\n"
	"| summarize FirstSeen=min(Timestamp), LastSeen=max(Timestamp), Report=make_set(ReportId), "
	"Count=count() by DeviceId, DeviceName",
	/* every aggregation, a bin() key, operators after the summarize */
	"let s = now(-2d); DeviceProcessEvents | where Timestamp >= s and Timestamp < now(1h)\n"
	"| where FileName != 'z' | extend Size = toreal(ProcessId) / 7.0\n"
	"| summarize c = count(), total = sum(Size), mean = avg(Size), mn = min(FileName), "
	"mx = max(Timestamp), d = dcount(ReportId), ms = make_set(ReportId, 4), "
	"ml = make_list(FileName, 3), arg_max(Size, ReportId, FileName), t = take_any(FileName), "
	"ci = countif(ProcessId > 50), il = sum(ProcessId) by DeviceId, Day = bin(Timestamp, 1d)\n"
	"| where c > 0 | sort by DeviceId asc, Day asc",
	/* no time window: never expires */
	"DeviceProcessEvents | where ProcessVersionInfoCompanyName has 'realvnc' "
	"| summarize count(), Products = make_set(ProcessVersionInfoProductName) by DeviceId",
	/* rows kept as they are, then sorted and cut */
	"DeviceProcessEvents | where Timestamp > ago(3d) | where FileName has_any ('x', 'rport')\n"
	"| project DeviceId, ReportId, Timestamp, FileName | top 7 by ReportId asc",
	/* distinct and count after a window */
	"DeviceProcessEvents | where ago(36h) <= Timestamp | distinct DeviceId, FileName "
	"| count",
	/* keyless: one row even when the window is empty */
	"DeviceProcessEvents | where Timestamp between (ago(2h) .. now()) | summarize n = count(), "
	"first = min(Timestamp)",
};

static char *full_run_json(struct kql_query *query, const char *records, int64_t now)
{
	struct kql_table *table = test_run_query(query, records, now);
	char *json = test_table_json(table);

	kql_table_free(table);
	return json;
}

static char *aggregator_json(struct kql_aggregator *aggregator, int64_t now)
{
	struct kql_table *table;
	struct kql_error error;

	assert_int_equal(kql_aggregator_result(aggregator, now, &table, &error), 0);
	char *json = test_table_json(table);

	kql_table_free(table);
	return json;
}

/* Result lines seen by the checks, and rows that matched, so a vacuous
 * comparison is noticed. */
static size_t lines_compared, rows_matched;

static void check_equal(struct kql_query *query, struct kql_aggregator *aggregator,
			const char *records, int64_t now, const char *text)
{
	char *full = full_run_json(query, records, now);
	char *incremental = aggregator_json(aggregator, now);

	for (const char *c = full; *c; c++)
		lines_compared += *c == '\n';
	if (strcmp(full, incremental) != 0)
		print_error("query:\n%s\nat %lld\nfull:\n%s\nincremental:\n%s", text, (long long)now,
			    full, incremental);
	assert_string_equal(full, incremental);
	free(full);
	free(incremental);
}

static void run_property(const char *text, uint64_t seed, int rows)
{
	struct kql_query *query = test_compile(text);
	struct kql_query *matcher = test_compile(text);
	struct kql_aggregator *aggregator;
	struct kql_error error;
	size_t capacity = (size_t)rows * 400 + 1;
	char *records = calloc(1, capacity);
	size_t used = 0;
	int64_t now = TEST_NOW;

	random_state = seed;
	assert_int_equal(kql_aggregator_new(query, 0, &aggregator, &error), 0);
	for (int i = 0; i < rows; i++) {
		char line[400];
		struct kql_ndjson_source *source;
		const struct value *row;
		bool matched;

		random_record(line, sizeof(line), now);
		FILE *in = fmemopen(line, strlen(line), "r");

		assert_int_equal(kql_ndjson_open(in, &dpe_schema, &source), 0);
		assert_int_equal(kql_ndjson_source(source)->next(source, &row), 1);
		/* now moves on with every row (the agent's way), and now and then
		 * the clock steps back */
		int64_t at = i % 10 == 9 ? now - 3 * TICKS_PER_HOUR : now;
		struct kql_query *fresh = test_compile(text);

		assert_int_equal(kql_aggregator_add(aggregator, row, at, &matched), 0);
		assert_int_equal(matched, kql_query_row_matches(matcher, row, at));
		/* a query that never matched before evaluates everything at at:
		 * what the matcher and the aggregator, which compute the time
		 * bounds only for rows that pass the other filters, must equal */
		assert_int_equal(matched, kql_query_row_matches(fresh, row, at));
		rows_matched += matched;
		kql_query_free(fresh);
		kql_ndjson_close(source);
		fclose(in);
		memcpy(records + used, line, strlen(line) + 1);
		used += strlen(line);
		if (i % 25 == 24) {
			check_equal(query, aggregator, records, now, text);
			check_equal(query, aggregator, records, now + 6 * TICKS_PER_HOUR, text);
			now += 6 * TICKS_PER_HOUR; /* time moves on */
		}
		now += 7 * TICKS_PER_MINUTE;
	}
	check_equal(query, aggregator, records, now, text);
	check_equal(query, aggregator, records, now + 3 * TICKS_PER_DAY, text);
	check_equal(query, aggregator, records, now + 30 * TICKS_PER_DAY, text);
	struct kql_aggregator_stats stats;

	kql_aggregator_stats(aggregator, &stats);
	assert_int_equal(stats.rows_dropped, 0);
	kql_aggregator_free(aggregator);
	kql_query_free(query);
	kql_query_free(matcher);
	free(records);
}

static void equals_full_execution(void **state)
{
	(void)state;
	for (size_t q = 0; q < sizeof(queries) / sizeof(queries[0]); q++) {
		lines_compared = rows_matched = 0;
		for (uint64_t seed = 1; seed <= 3; seed++)
			run_property(queries[q], seed * 7919 + q, 200);
		print_message("query %zu: %zu result lines compared, %zu rows matched\n", q,
			      lines_compared, rows_matched);
		assert_true(lines_compared > 20);
		assert_true(rows_matched > 0);
	}
}

static void expiry_and_cap(void **state)
{
	(void)state;
	struct kql_query *query = test_compile(queries[0]);
	struct kql_aggregator *aggregator, *small;
	struct kql_aggregator_stats stats;
	struct kql_error error;
	int64_t now = TEST_NOW;

	assert_int_equal(kql_aggregator_new(query, 0, &aggregator, &error), 0);
	assert_int_equal(kql_aggregator_new(query, 4096, &small, &error), 0);
	random_state = 42;
	for (int i = 0; i < 2000; i++) {
		char line[400];
		struct kql_ndjson_source *source;
		const struct value *row;

		random_record(line, sizeof(line), now);
		FILE *in = fmemopen(line, strlen(line), "r");

		assert_int_equal(kql_ndjson_open(in, &dpe_schema, &source), 0);
		assert_int_equal(kql_ndjson_source(source)->next(source, &row), 1);
		assert_int_equal(kql_aggregator_add(aggregator, row, now, NULL), 0);
		assert_int_equal(kql_aggregator_add(small, row, now, NULL), 0);
		kql_ndjson_close(source);
		fclose(in);
		now += TICKS_PER_HOUR;
	}
	kql_aggregator_stats(aggregator, &stats);
	assert_true(stats.rows_expired > 0);
	assert_int_equal(stats.rows_dropped, 0);
	/* only partials of the last five days (+1 of future rows) remain */
	assert_true(stats.partials <= 6 * 24 * 2 * 3 * 2);
	kql_aggregator_stats(small, &stats);
	assert_true(stats.rows_dropped > 0);
	assert_true(stats.bytes <= 4096);
	kql_aggregator_free(small);
	kql_aggregator_free(aggregator);
	kql_query_free(query);
}

static void refuse(const char *text, const char *fragment)
{
	struct kql_query *query = test_compile(text);
	struct kql_aggregator *aggregator = NULL;
	struct kql_error error;

	assert_int_equal(kql_aggregator_new(query, 0, &aggregator, &error), -EINVAL);
	assert_null(aggregator);
	assert_int_equal(error.kind, KQL_ERROR_UNSUPPORTED);
	if (!strstr(error.message, fragment))
		print_error("%s\n  message: %s\n", text, error.message);
	assert_non_null(strstr(error.message, fragment));
	kql_query_free(query);
}

static void refused_queries(void **state)
{
	(void)state;
	refuse("DeviceProcessEvents | extend age = now() - Timestamp | summarize count() by age",
	       "computed from now()");
	refuse("DeviceProcessEvents | where Timestamp > ago(1d) or FileName == 'x' | count",
	       "bound one datetime column");
	refuse("DeviceProcessEvents | where Timestamp > ago(1d) and ProcessCreationTime > ago(2d) "
	       "| count",
	       "one datetime column");
	refuse("let a = DeviceProcessEvents | where FileName == 'x' | project SHA1;\n"
	       "DeviceProcessEvents | where SHA1 in (a) | count",
	       "another table");
	refuse("datatable(Timestamp:datetime)[datetime(2026-01-01)] | count", "another table");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(equals_full_execution),
		cmocka_unit_test(expiry_and_cap),
		cmocka_unit_test(refused_queries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
