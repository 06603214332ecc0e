/*
 * test_kql_conformance.c - one table per KQL function and operator added
 * for Microsoft's own hunting queries, with the examples of Kusto's
 * documentation as cases (expected values as documented), then cases of
 * our own for edges the documentation leaves open (docs/rules.md says what
 * was chosen).
 */
#include "kql_test.h"

struct conformance_case {
	const char *expression;
	const char *expected;
};

#define RUN(table)                                                                 \
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)              \
	test_scalar(table[i].expression, table[i].expected)

/* indexof(): the nine documented examples, then Unicode positions. */
static const struct conformance_case indexof_cases[] = {
	{"indexof('abcdefg', 'cde')", "2"},
	{"indexof('abcdefg', 'cde', 1, 4)", "2"},
	{"indexof('abcdefg', 'cde', 1, 2)", "-1"},
	{"indexof('abcdefg', 'cde', 3, 4)", "-1"},
	{"indexof('abcdefg', 'cde', -5)", "2"},
	{"indexof(1234567, 5, 1, 4)", "4"},
	{"indexof('abcdefg', 'cde', 2, -1)", "2"},
	{"indexof('abcdefgabcdefg', 'cde', 1, 10, 2)", "9"},
	{"indexof('abcdefgabcdefg', 'cde', 1, -1, 3)", "-1"},
	{"indexof('Hello, world!', 'lo')", "3"},
	{"indexof('Hello, world, hello!', 'lo', 5)", "17"},
	{"indexof('äöü-x', 'x')", "4"}, /* characters, not bytes */
	{"indexof('abc', 'C')", "-1"},	/* case-sensitive */
	{"indexof('abc', 'b', 0, -2)", "null"},
	{"indexof('abc', 'b', 0, -1, -1)", "null"},
	{"indexof('abc', '')", "0"},
};

/* countof(): the documented examples. */
static const struct conformance_case countof_cases[] = {
	{"countof('The cat sat on the mat', 'at')", "3"},
	{"countof('aaa', 'a')", "3"},
	{"countof('aaaa', 'aa')", "3"}, /* normal: overlapping */
	{"countof('ababa', 'ab', 'normal')", "2"},
	{"countof('ababa', 'aba')", "2"},
	{"countof('ababa', 'aba', 'regex')", "1"}, /* regex: one after the other */
	{"countof('abcabc', 'a.c', 'regex')", "2"},
	{"countof('a b  c', @'\\s+', 'regex')", "2"},
	{"countof('abc', '')", "0"},
};

/* base64: the documented examples and the PowerShell -EncodedCommand case. */
static const struct conformance_case base64_cases[] = {
	{"base64_decode_tostring('S3VzdG8=')", "\"Kusto\""},
	{"base64_decode_tostring('S3VzdG8')", "\"Kusto\""}, /* padding optional */
	{"base64_decodestring('S3VzdG8=')", "\"Kusto\""},
	{"base64_encode_tostring('Kusto')", "\"S3VzdG8=\""},
	{"base64_encode_tostring('Kusto1')", "\"S3VzdG8x\""},
	{"base64_encode_tostring('Kusto12')", "\"S3VzdG8xMg==\""},
	{"base64_decode_tostring('U3RyaW5n0KHRgtGA0L7Rh9C60LA=')", "\"StringСтрочка\""},
	{"base64_decode_tostring('U3RyaW5n0KHR0tGA0L7Rh9C60LA=')", "\"\""}, /* not UTF-8 */
	{"base64_decode_tostring('not base64!')", "\"\""},
	{"base64_decode_tostring('/w==')", "\"\""}, /* the byte 0xff is not UTF-8 */
	{"base64_decode_toarray('S3VzdG8=')", "[75,117,115,116,111]"},
	{"base64_decode_tostring('ZABpAHIA')", "\"d\\u0000i\\u0000r\\u0000\""},
};

/* replace_regex() and the legacy replace(): documented examples. */
static const struct conformance_case replace_cases[] = {
	{"replace_regex('A magic trick can turn a cat into a dog', 'cat', 'hamster')",
	 "\"A magic trick can turn a hamster into a dog\""},
	{"replace_regex('Number is 5', @'is (\\d+)', @'was: \\1')", "\"Number was: 5\""},
	{"replace(@'is (\\d+)', @'was: \\1', 'Number is 5')", "\"Number was: 5\""},
	{"replace_regex('aaa', 'a', 'b')", "\"bbb\""},
	{"replace_regex('abc', 'x*', '-')", "\"-a-b-c-\""},
	{"replace_regex('äöü', '.', '<\\\\0>')", "\"<ä><ö><ü>\""},
	{"replace_string('A magic trick can turn a cat into a dog', 'cat', 'hamster')",
	 "\"A magic trick can turn a hamster into a dog\""},
};

static void indexof_conformance(void **state)
{
	(void)state;
	RUN(indexof_cases);
}

static void countof_conformance(void **state)
{
	(void)state;
	RUN(countof_cases);
}

static void base64_conformance(void **state)
{
	(void)state;
	RUN(base64_cases);
}

static void replace_conformance(void **state)
{
	(void)state;
	RUN(replace_cases);
}

static const char one_row[] =
	"{\"Timestamp\":\"2026-11-28T10:00:00Z\",\"DeviceName\":\"host\",\"FileName\":\"a.exe\"}\n";

/* column_ifexists(): the column when it exists, else the default. */
static void column_ifexists_conformance(void **state)
{
	(void)state;
	struct kql_table *table = test_run(
		"DeviceProcessEvents | project a = column_ifexists('FileName', 'none'), "
		"b = column_ifexists('NoSuchColumn', 'none'), "
		"c = column_ifexists('TimeGenerated', datetime(null))",
		one_row, TEST_NOW);
	char *json = test_table_json(table);

	assert_string_equal(json, "{\"a\":\"a.exe\",\"b\":\"none\",\"c\":\"2026-11-28T10:00:00.0000000Z\"}\n");
	free(json);
	kql_table_free(table);
}

/* TimeGenerated: Sentinel's name of Timestamp. */
static void time_generated_alias(void **state)
{
	(void)state;
	struct kql_table *table = test_run(
		"DeviceProcessEvents | where TimeGenerated > ago(1d) | project TimeGenerated, "
		"DeviceName | project-away TimeGenerated",
		one_row, TEST_NOW);

	assert_int_equal(kql_table_row_count(table), 1);
	assert_int_equal(kql_table_column_count(table), 1);
	kql_table_free(table);
	table = test_run("DeviceProcessEvents | summarize arg_max(TimeGenerated, *) by DeviceName",
			 one_row, TEST_NOW);
	assert_string_equal(kql_table_column_name(table, 1), "TimeGenerated");
	kql_table_free(table);
	/* the alias bounds time like Timestamp: the agent's window and the cache's range */
	struct kql_query *query = test_compile(
		"DeviceProcessEvents | where TimeGenerated between (ago(1d) .. now())");
	int64_t low, high;

	assert_int_equal(kql_query_time_range(query, "Timestamp", TEST_NOW, &low, &high), 0);
	assert_true(low == TEST_NOW - TICKS_PER_DAY && high == TEST_NOW);
	kql_query_free(query);
}

static const char three_rows[] =
	"{\"Timestamp\":\"2026-11-28T10:00:00Z\",\"DeviceName\":\"h1\",\"FileName\":\"a.exe\",\"FileSize\":10}\n"
	"{\"Timestamp\":\"2026-11-28T11:00:00Z\",\"DeviceName\":\"h1\",\"FileName\":\"b.exe\",\"FileSize\":20}\n"
	"{\"Timestamp\":\"2026-11-28T12:00:00Z\",\"DeviceName\":\"h2\",\"FileName\":\"a.exe\",\"FileSize\":30}\n";

static void expect_json(const char *query, const char *rows, const char *expected)
{
	struct kql_table *table = test_run(query, rows, TEST_NOW);
	char *json = test_table_json(table);

	if (strcmp(json, expected) != 0)
		print_error("%s\n  got\n%s  expected\n%s", query, json, expected);
	assert_string_equal(json, expected);
	free(json);
	kql_table_free(table);
}

/* summarize items that are expressions around aggregations. */
static void summarize_expressions(void **state)
{
	(void)state;
	expect_json("DeviceProcessEvents | summarize x = toint(count()) by DeviceName",
		    three_rows, "{\"DeviceName\":\"h1\",\"x\":2}\n{\"DeviceName\":\"h2\",\"x\":1}\n");
	expect_json("DeviceProcessEvents | summarize n = count(), ratio = todouble(sum(FileSize)) / "
		    "count(), Files = strcat(tostring(dcount(FileName)), ' files'), "
		    "Last = max(Timestamp) by DeviceName",
		    three_rows,
		    "{\"DeviceName\":\"h1\",\"n\":2,\"ratio\":15,\"Files\":\"2 files\","
		    "\"Last\":\"2026-11-28T11:00:00.0000000Z\"}\n"
		    "{\"DeviceName\":\"h2\",\"n\":1,\"ratio\":30,\"Files\":\"1 files\","
		    "\"Last\":\"2026-11-28T12:00:00.0000000Z\"}\n");
	expect_json("DeviceProcessEvents | summarize many = count() > 2, arg_max(Timestamp, FileName)",
		    three_rows,
		    "{\"many\":true,\"Timestamp\":\"2026-11-28T12:00:00.0000000Z\",\"FileName\":\"a.exe\"}\n");
	expect_json("DeviceProcessEvents | where FileName == 'none' | summarize n = count() + 1",
		    three_rows, "{\"n\":1}\n");
	/* the agent keeps such a summarize incrementally too */
	struct kql_query *query = test_compile(
		"DeviceProcessEvents | where Timestamp > ago(1d) | summarize x = toint(count()) by "
		"DeviceName");
	struct kql_aggregator *aggregator;
	struct kql_error error;

	assert_int_equal(kql_aggregator_new(query, 0, &aggregator, &error), 0);
	kql_aggregator_free(aggregator);
	kql_query_free(query);
	struct kql_error failure =
		test_compile_error("DeviceProcessEvents | summarize x = tolower(FileName)");

	assert_non_null(strstr(failure.message, "expected an aggregation function"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(indexof_conformance),
		cmocka_unit_test(countof_conformance),
		cmocka_unit_test(base64_conformance),
		cmocka_unit_test(replace_conformance),
		cmocka_unit_test(column_ifexists_conformance),
		cmocka_unit_test(time_generated_alias),
		cmocka_unit_test(summarize_expressions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
