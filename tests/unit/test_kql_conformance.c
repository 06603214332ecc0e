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
	{"pack_array(1, 'a', 2.5, bool(null))", "[1,\"a\",2.5,null]"},
	{"replace_string('A magic trick can turn a cat into a dog', 'cat', 'hamster')",
	 "\"A magic trick can turn a hamster into a dog\""},
};

/* case(): the documented example, and null conditions. */
static const struct conformance_case case_cases[] = {
	{"case(3 <= 5, 'Small', 3 <= 10, 'Medium', 'Large')", "\"Small\""},
	{"case(7 <= 5, 'Small', 7 <= 10, 'Medium', 'Large')", "\"Medium\""},
	{"case(15 <= 5, 'Small', 15 <= 10, 'Medium', 'Large')", "\"Large\""},
	{"case(bool(null), 1, 2)", "2"},
	{"case(false, 1, true, 2.5, 3)", "2.5"},
};

static void case_conformance(void **state)
{
	(void)state;
	RUN(case_cases);
	struct kql_error error = test_compile_error("datatable(x:long)[1] | extend c = case(true, 1)");

	assert_non_null(strstr(error.message, "odd number of arguments"));
}

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

#define JOIN_TABLES                                                                          \
	"let X = datatable(Key:string, Value1:long) ['a',1, 'b',2, 'b',3, 'c',4];\n"          \
	"let Y = datatable(Key:string, Value2:long) ['b',10, 'c',20, 'c',30, 'd',40];\n"

/* join: the documented example tables X and Y, every kind. */
static void join_conformance(void **state)
{
	static const struct {
		const char *kind;
		const char *rows;
	} kinds[] = {
		{"", /* innerunique, the default: the first left row of each key */
		 "{\"Key\":\"b\",\"Value1\":2,\"Key1\":\"b\",\"Value2\":10}\n"
		 "{\"Key\":\"c\",\"Value1\":4,\"Key1\":\"c\",\"Value2\":20}\n"
		 "{\"Key\":\"c\",\"Value1\":4,\"Key1\":\"c\",\"Value2\":30}\n"},
		{"kind=inner",
		 "{\"Key\":\"b\",\"Value1\":2,\"Key1\":\"b\",\"Value2\":10}\n"
		 "{\"Key\":\"b\",\"Value1\":3,\"Key1\":\"b\",\"Value2\":10}\n"
		 "{\"Key\":\"c\",\"Value1\":4,\"Key1\":\"c\",\"Value2\":20}\n"
		 "{\"Key\":\"c\",\"Value1\":4,\"Key1\":\"c\",\"Value2\":30}\n"},
		{"kind=leftouter",
		 "{\"Key\":\"a\",\"Value1\":1,\"Key1\":\"\",\"Value2\":null}\n"
		 "{\"Key\":\"b\",\"Value1\":2,\"Key1\":\"b\",\"Value2\":10}\n"
		 "{\"Key\":\"b\",\"Value1\":3,\"Key1\":\"b\",\"Value2\":10}\n"
		 "{\"Key\":\"c\",\"Value1\":4,\"Key1\":\"c\",\"Value2\":20}\n"
		 "{\"Key\":\"c\",\"Value1\":4,\"Key1\":\"c\",\"Value2\":30}\n"},
		{"kind=rightouter",
		 "{\"Key\":\"b\",\"Value1\":2,\"Key1\":\"b\",\"Value2\":10}\n"
		 "{\"Key\":\"b\",\"Value1\":3,\"Key1\":\"b\",\"Value2\":10}\n"
		 "{\"Key\":\"c\",\"Value1\":4,\"Key1\":\"c\",\"Value2\":20}\n"
		 "{\"Key\":\"c\",\"Value1\":4,\"Key1\":\"c\",\"Value2\":30}\n"
		 "{\"Key\":\"\",\"Value1\":null,\"Key1\":\"d\",\"Value2\":40}\n"},
		{"kind=fullouter",
		 "{\"Key\":\"a\",\"Value1\":1,\"Key1\":\"\",\"Value2\":null}\n"
		 "{\"Key\":\"b\",\"Value1\":2,\"Key1\":\"b\",\"Value2\":10}\n"
		 "{\"Key\":\"b\",\"Value1\":3,\"Key1\":\"b\",\"Value2\":10}\n"
		 "{\"Key\":\"c\",\"Value1\":4,\"Key1\":\"c\",\"Value2\":20}\n"
		 "{\"Key\":\"c\",\"Value1\":4,\"Key1\":\"c\",\"Value2\":30}\n"
		 "{\"Key\":\"\",\"Value1\":null,\"Key1\":\"d\",\"Value2\":40}\n"},
		{"kind=leftanti", "{\"Key\":\"a\",\"Value1\":1}\n"},
		{"kind=anti", "{\"Key\":\"a\",\"Value1\":1}\n"},
		{"kind=leftantisemi", "{\"Key\":\"a\",\"Value1\":1}\n"},
		{"kind=rightanti", "{\"Key\":\"d\",\"Value2\":40}\n"},
		{"kind=rightantisemi", "{\"Key\":\"d\",\"Value2\":40}\n"},
		{"kind=leftsemi",
		 "{\"Key\":\"b\",\"Value1\":2}\n{\"Key\":\"b\",\"Value1\":3}\n"
		 "{\"Key\":\"c\",\"Value1\":4}\n"},
		{"kind=rightsemi",
		 "{\"Key\":\"b\",\"Value2\":10}\n{\"Key\":\"c\",\"Value2\":20}\n"
		 "{\"Key\":\"c\",\"Value2\":30}\n"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		char query[512];

		snprintf(query, sizeof(query), JOIN_TABLES "X | join %s Y on Key", kinds[i].kind);
		expect_json(query, "", kinds[i].rows);
	}
	/* $left/$right, hints, several keys, a parenthesized right side */
	expect_json(JOIN_TABLES "X | join kind=inner hint.strategy=broadcast (Y | where Value2 > 15) "
		    "on $left.Key == $right.Key",
		    "",
		    "{\"Key\":\"c\",\"Value1\":4,\"Key1\":\"c\",\"Value2\":20}\n"
		    "{\"Key\":\"c\",\"Value1\":4,\"Key1\":\"c\",\"Value2\":30}\n");
	expect_json(JOIN_TABLES "X | extend V = Value1 * 10 | join kind=inner Y on "
		    "$left.V == $right.Value2",
		    "",
		    "{\"Key\":\"a\",\"Value1\":1,\"V\":10,\"Key1\":\"b\",\"Value2\":10}\n"
		    "{\"Key\":\"b\",\"Value1\":2,\"V\":20,\"Key1\":\"c\",\"Value2\":20}\n"
		    "{\"Key\":\"b\",\"Value1\":3,\"V\":30,\"Key1\":\"c\",\"Value2\":30}\n"
		    "{\"Key\":\"c\",\"Value1\":4,\"V\":40,\"Key1\":\"d\",\"Value2\":40}\n");
	expect_json(JOIN_TABLES "X | extend V = Value1 * 10 | join kind=inner Y on Key, "
		    "$left.V == $right.Value2",
		    "", "");
}

/* join within DeviceProcessEvents: a parent and the child it started. */
static void join_process_tree(void **state)
{
	static const char rows[] =
		"{\"Timestamp\":\"2026-11-28T10:00:00Z\",\"DeviceId\":\"d\",\"ProcessId\":10,"
		"\"FileName\":\"cmd.exe\",\"InitiatingProcessId\":1}\n"
		"{\"Timestamp\":\"2026-11-28T10:00:01Z\",\"DeviceId\":\"d\",\"ProcessId\":11,"
		"\"FileName\":\"rport.exe\",\"InitiatingProcessId\":10}\n"
		"{\"Timestamp\":\"2026-11-28T10:00:02Z\",\"DeviceId\":\"e\",\"ProcessId\":12,"
		"\"FileName\":\"rport.exe\",\"InitiatingProcessId\":10}\n";

	(void)state;
	expect_json("DeviceProcessEvents | where FileName == 'cmd.exe' | project DeviceId, "
		    "ParentId = ProcessId | join kind=inner (DeviceProcessEvents | where FileName "
		    "has 'rport' | project DeviceId, InitiatingProcessId, Child = FileName) on "
		    "DeviceId, $left.ParentId == $right.InitiatingProcessId | project DeviceId, Child",
		    rows, "{\"DeviceId\":\"d\",\"Child\":\"rport.exe\"}\n");
}

/* union: outer (all columns), inner, withsource, as a source and an operator. */
static void union_conformance(void **state)
{
	(void)state;
	expect_json("let T = datatable(a:long, b:string)[1, 'x'];\n"
		    "let U = datatable(a:long, c:real)[2, 2.5];\n"
		    "union T, U",
		    "", "{\"a\":1,\"b\":\"x\",\"c\":null}\n{\"a\":2,\"b\":\"\",\"c\":2.5}\n");
	expect_json("let T = datatable(a:long, b:string)[1, 'x'];\n"
		    "let U = datatable(a:long, c:real)[2, 2.5];\n"
		    "union kind=inner withsource=Source T, U",
		    "", "{\"Source\":\"T\",\"a\":1}\n{\"Source\":\"U\",\"a\":2}\n");
	expect_json("let T = datatable(a:long)[1];\n"
		    "T | union (T | extend a = a + 1), (datatable(a:long)[3]) | summarize sum(a)",
		    "", "{\"sum_a\":6}\n");
	expect_json("union DeviceProcessEvents, (DeviceProcessEvents | where DeviceName == 'h1') "
		    "| summarize count() by DeviceName",
		    three_rows, "{\"DeviceName\":\"h1\",\"count_\":4}\n"
				"{\"DeviceName\":\"h2\",\"count_\":1}\n");
}

/* mv-expand: the documented examples (arrays, bags zipped, index, typeof). */
static void expand_conformance(void **state)
{
	(void)state;
	expect_json("datatable(a:int, b:dynamic)[1, dynamic([10, 20]), 2, dynamic(['a', 'b'])] "
		    "| mv-expand b",
		    "", "{\"a\":1,\"b\":10}\n{\"a\":1,\"b\":20}\n{\"a\":2,\"b\":\"a\"}\n"
			"{\"a\":2,\"b\":\"b\"}\n");
	expect_json("datatable(a:int, b:dynamic, c:dynamic)[1, dynamic({'prop1': 'a1', 'prop2': "
		    "'b1'}), dynamic([5, 4, 3])] | mv-expand b, c",
		    "",
		    "{\"a\":1,\"b\":{\"prop1\":\"a1\"},\"c\":5}\n"
		    "{\"a\":1,\"b\":{\"prop2\":\"b1\"},\"c\":4}\n"
		    "{\"a\":1,\"b\":null,\"c\":3}\n");
	expect_json("datatable(x:dynamic)[dynamic([1, 2, 3, 4])] | mv-expand with_itemindex=Index x",
		    "", "{\"x\":1,\"Index\":0}\n{\"x\":2,\"Index\":1}\n{\"x\":3,\"Index\":2}\n"
			"{\"x\":4,\"Index\":3}\n");
	expect_json("datatable(a:string, b:dynamic, c:dynamic)['Constant', dynamic([1, 2]), "
		    "dynamic([6, 'x'])] | mv-expand b, c to typeof(int)",
		    "", "{\"a\":\"Constant\",\"b\":1,\"c\":6}\n"
			"{\"a\":\"Constant\",\"b\":2,\"c\":null}\n");
	expect_json("datatable(b:dynamic)[dynamic({'k': 1})] | mv-expand kind=array b",
		    "", "{\"b\":[\"k\",1]}\n");
	/* null: one row; an empty array: none; limit; the legacy mvexpand */
	expect_json("datatable(a:long, b:dynamic)[1, dynamic(null), 2, dynamic([]), 3, dynamic([7, 8, 9])] "
		    "| mv-expand b limit 2",
		    "", "{\"a\":1,\"b\":null}\n{\"a\":3,\"b\":7}\n{\"a\":3,\"b\":8}\n");
	expect_json("datatable(a:long)[1] | extend s = split('x,y', ',') | mvexpand s to typeof(string)",
		    "", "{\"a\":1,\"s\":\"x\"}\n{\"a\":1,\"s\":\"y\"}\n");
	expect_json("datatable(a:long)[1] | mv-expand Part = split('x,y', ',')",
		    "", "{\"a\":1,\"Part\":\"x\"}\n{\"a\":1,\"Part\":\"y\"}\n");
}

/* parse: simple, regex and relaxed kinds, parse-where. */
static void parse_conformance(void **state)
{
	static const char events[] =
		"let Traces = datatable(EventText:string) [\n"
		"'Event: NotifySliceRelease (resourceName=PipelineScheduler, totalSlices=27, "
		"sliceNumber=23, lockTime=02/17/2016 08:40:01)',\n"
		"'Event: NotifySliceRelease (resourceName=PipelineScheduler, totalSlices=x, "
		"sliceNumber=16, lockTime=02/17/2016 08:40:00)',\n"
		"'nothing here'];\n";
	char query[1024];

	(void)state;
	snprintf(query, sizeof(query), "%s%s", events,
		 "Traces | parse EventText with * 'resourceName=' resourceName ', totalSlices=' "
		 "totalSlices:long * 'sliceNumber=' sliceNumber:long * 'lockTime=' lockTime ')' * "
		 "| project resourceName, totalSlices, sliceNumber, lockTime");
	expect_json(query, "",
		    "{\"resourceName\":\"PipelineScheduler\",\"totalSlices\":27,\"sliceNumber\":23,"
		    "\"lockTime\":\"02/17/2016 08:40:01\"}\n"
		    "{\"resourceName\":\"\",\"totalSlices\":null,\"sliceNumber\":null,\"lockTime\":\"\"}\n"
		    "{\"resourceName\":\"\",\"totalSlices\":null,\"sliceNumber\":null,\"lockTime\":\"\"}\n");
	snprintf(query, sizeof(query), "%s%s", events,
		 "Traces | parse kind=relaxed EventText with * 'resourceName=' resourceName "
		 "', totalSlices=' totalSlices:long * 'sliceNumber=' sliceNumber:long * | project "
		 "resourceName, totalSlices, sliceNumber");
	expect_json(query, "",
		    "{\"resourceName\":\"PipelineScheduler\",\"totalSlices\":27,\"sliceNumber\":23}\n"
		    "{\"resourceName\":\"PipelineScheduler\",\"totalSlices\":null,\"sliceNumber\":16}\n"
		    "{\"resourceName\":\"\",\"totalSlices\":null,\"sliceNumber\":null}\n");
	snprintf(query, sizeof(query), "%s%s", events,
		 "Traces | parse kind=regex EventText with \"[a-zA-Z]*=\" resourceName @', "
		 "totalSlices=\\s*\\d+\\s*.*sliceNumber=' sliceNumber:long \".*\" | project "
		 "resourceName, sliceNumber");
	expect_json(query, "",
		    "{\"resourceName\":\"\",\"sliceNumber\":null}\n"
		    "{\"resourceName\":\"\",\"sliceNumber\":null}\n"
		    "{\"resourceName\":\"\",\"sliceNumber\":null}\n");
	snprintf(query, sizeof(query), "%s%s", events,
		 "Traces | parse kind=regex EventText with \".*resourceName=\" resourceName @', "
		 "totalSlices=\\s*\\d+\\s*.*sliceNumber=' sliceNumber:long \".*\" | project "
		 "resourceName, sliceNumber");
	expect_json(query, "",
		    "{\"resourceName\":\"PipelineScheduler\",\"sliceNumber\":23}\n"
		    "{\"resourceName\":\"\",\"sliceNumber\":null}\n"
		    "{\"resourceName\":\"\",\"sliceNumber\":null}\n");
	snprintf(query, sizeof(query), "%s%s", events,
		 "Traces | parse-where EventText with * 'totalSlices=' totalSlices:long * "
		 "| project totalSlices");
	expect_json(query, "", "{\"totalSlices\":27}\n");
	/* a hunting query's shape: a column at the end takes the rest */
	expect_json("datatable(c:string)['powershell -ep bypass -enc ZABpAHIA'] | parse c with * "
		    "'-enc ' Encoded | extend Decoded = base64_decode_tostring(Encoded) | project "
		    "Encoded, Decoded",
		    "", "{\"Encoded\":\"ZABpAHIA\",\"Decoded\":\"d\\u0000i\\u0000r\\u0000\"}\n");
}

/* materialize(): the same rows, read once. */
static void materialize_conformance(void **state)
{
	(void)state;
	expect_json("let t = materialize(datatable(a:long)[1, 2]);\nt | union t | count", "",
		    "{\"Count\":4}\n");
	expect_json("let t = materialize (DeviceProcessEvents | where DeviceName == 'h1');\n"
		    "t | join kind=inner t on FileName | count",
		    three_rows, "{\"Count\":2}\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(indexof_conformance),
		cmocka_unit_test(case_conformance),
		cmocka_unit_test(materialize_conformance),
		cmocka_unit_test(countof_conformance),
		cmocka_unit_test(base64_conformance),
		cmocka_unit_test(replace_conformance),
		cmocka_unit_test(column_ifexists_conformance),
		cmocka_unit_test(time_generated_alias),
		cmocka_unit_test(summarize_expressions),
		cmocka_unit_test(join_conformance),
		cmocka_unit_test(join_process_tree),
		cmocka_unit_test(union_conformance),
		cmocka_unit_test(expand_conformance),
		cmocka_unit_test(parse_conformance),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
