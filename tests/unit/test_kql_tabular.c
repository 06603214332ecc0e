/*
 * test_kql_tabular.c - tabular operators and statements over recorded rows:
 * the RPort rule end to end, summarize's output shape and empty input,
 * every aggregation function, make_set distinctness and its cap, distinct,
 * sort/order/top/take/count, the project family, extend, lets (scalar and
 * tabular), datatable, in/has_any over subqueries, one now() per query.
 */
#include <errno.h>

#include "kql_test.h"

#define RPORT_RULE                                                                        \
	"let Time_start = now(-5d);\r\nlet Time_end = now();\r\n//\r\nDeviceProcessEvents \r\n" \
	"| where Timestamp between (Time_start..Time_end)\r\n"                                  \
	"| where ProcessVersionInfoCompanyName has 'RealVNC'\r\n"                               \
	"    and ProcessVersionInfoProductName has 'rport'\r\n"                                 \
	"| summarize FirstSeen=min(Timestamp), LastSeen=max(Timestamp), \r\n"                   \
	"    Report=make_set(ReportId), Count=count() by DeviceId, DeviceName"

/* One DeviceProcessEvents record as NDJSON. */
static void record(char *buffer, size_t size, const char *time, const char *device,
		   const char *company, const char *product, long report)
{
	size_t used = strlen(buffer);

	snprintf(buffer + used, size - used,
		 "{\"Timestamp\":\"%s\",\"DeviceId\":\"%s\",\"DeviceName\":\"%s.example\","
		 "\"ProcessVersionInfoCompanyName\":\"%s\",\"ProcessVersionInfoProductName\":\"%s\","
		 "\"ReportId\":%ld,\"FileName\":\"f%ld\",\"FileSize\":%ld}\n",
		 time, device, device, company, product, report, report % 3, report * 10);
}

static void rport_rule(void **state)
{
	char rows[4096] = "";

	(void)state;
	record(rows, sizeof(rows), "2026-11-28T15:00:00.1234567Z", "dev1", "RealVNC Ltd", "rport", 7);
	record(rows, sizeof(rows), "2026-11-28T15:30:00Z", "dev1", "RealVNC Ltd", "rport", 7);
	record(rows, sizeof(rows), "2026-11-28T15:31:00Z", "dev1", "RealVNC Ltd", "rport", 8);
	record(rows, sizeof(rows), "2026-11-28T15:40:00Z", "dev1", "RealVNC Ltd", "vncviewer", 9);
	record(rows, sizeof(rows), "2026-11-20T15:40:00Z", "dev1", "RealVNC Ltd", "rport", 10); /* old */
	record(rows, sizeof(rows), "2026-11-28T16:00:00.0000001Z", "dev1", "RealVNC Ltd", "rport", 11);
	record(rows, sizeof(rows), "2026-11-27T00:00:00Z", "dev2", "RealVNC", "RPort", 12);
	struct kql_table *table = test_run(RPORT_RULE, rows, TEST_NOW);
	char *json = test_table_json(table);

	assert_string_equal(json,
			    "{\"DeviceId\":\"dev1\",\"DeviceName\":\"dev1.example\","
			    "\"FirstSeen\":\"2026-11-28T15:00:00.1234567Z\","
			    "\"LastSeen\":\"2026-11-28T15:31:00.0000000Z\",\"Report\":[7,8],\"Count\":3}\n"
			    "{\"DeviceId\":\"dev2\",\"DeviceName\":\"dev2.example\","
			    "\"FirstSeen\":\"2026-11-27T00:00:00.0000000Z\","
			    "\"LastSeen\":\"2026-11-27T00:00:00.0000000Z\",\"Report\":[12],\"Count\":1}\n");
	assert_int_equal(kql_table_column_type(table, 2), VALUE_DATETIME);
	assert_int_equal(kql_table_column_type(table, 4), VALUE_DYNAMIC);
	assert_int_equal(kql_table_column_type(table, 5), VALUE_LONG);
	free(json);
	kql_table_free(table);
}

static void summarize_empty_input(void **state)
{
	(void)state;
	struct kql_table *table = test_run(RPORT_RULE, "", TEST_NOW);

	assert_int_equal(kql_table_row_count(table), 0);
	assert_int_equal(kql_table_column_count(table), 6);
	kql_table_free(table);
	table = test_run("DeviceProcessEvents | summarize Count=count(), First=min(Timestamp), "
			 "S=make_set(ReportId), T=sum(FileSize)",
			 "", TEST_NOW);
	char *json = test_table_json(table);

	assert_string_equal(json, "{\"Count\":0,\"First\":null,\"S\":[],\"T\":null}\n");
	free(json);
	kql_table_free(table);
	table = test_run("DeviceProcessEvents | where FileName == 'none' | count",
			 "{\"FileName\":\"x\"}\n", TEST_NOW);
	json = test_table_json(table);
	assert_string_equal(json, "{\"Count\":0}\n");
	free(json);
	kql_table_free(table);
}

#define SIX_ROWS                                                                               \
	"{\"DeviceId\":\"a\",\"FileName\":\"x\",\"FileSize\":5,\"ReportId\":1,"                  \
	"\"Timestamp\":\"2026-11-28T10:00:00Z\",\"ProcessCommandLine\":\"\"}\n"                    \
	"{\"DeviceId\":\"b\",\"FileName\":\"y\",\"FileSize\":7,\"ReportId\":2,"                  \
	"\"Timestamp\":\"2026-11-28T11:30:00Z\",\"ProcessCommandLine\":\"run\"}\n"                 \
	"{\"DeviceId\":\"a\",\"FileName\":\"x\",\"FileSize\":1,\"ReportId\":3,"                  \
	"\"Timestamp\":\"2026-11-28T09:00:00Z\",\"ProcessCommandLine\":\"go\"}\n"                  \
	"{\"DeviceId\":\"a\",\"FileName\":\"z\",\"ReportId\":1,"                                   \
	"\"Timestamp\":\"2026-11-28T10:15:00Z\",\"ProcessCommandLine\":\"\"}\n"                    \
	"{\"DeviceId\":\"c\",\"FileName\":\"x\",\"FileSize\":9,\"ReportId\":4,"                  \
	"\"Timestamp\":\"2026-11-28T12:00:00Z\",\"ProcessCommandLine\":\"c\"}\n"                   \
	"{\"DeviceId\":\"b\",\"FileName\":\"x\",\"FileSize\":3,\"ReportId\":2,"                  \
	"\"Timestamp\":\"2026-11-28T11:00:00Z\",\"ProcessCommandLine\":\"b\"}\n"

static void expect_json(const char *query, const char *expected)
{
	struct kql_table *table = test_run(query, SIX_ROWS, TEST_NOW);
	char *json = test_table_json(table);

	if (strcmp(json, expected) != 0)
		print_error("%s\n  got:\n%s  expected:\n%s", query, json, expected);
	assert_string_equal(json, expected);
	free(json);
	kql_table_free(table);
}

static void aggregations(void **state)
{
	(void)state;
	expect_json("DeviceProcessEvents | summarize count(), countif(FileName == 'x'), "
		    "dcount(FileName), sum(FileSize), avg(FileSize), min(FileSize), max(FileSize) "
		    "by DeviceId",
		    "{\"DeviceId\":\"a\",\"count_\":3,\"countif_\":2,\"dcount_FileName\":2,"
		    "\"sum_FileSize\":6,\"avg_FileSize\":3,\"min_FileSize\":1,\"max_FileSize\":5}\n"
		    "{\"DeviceId\":\"b\",\"count_\":2,\"countif_\":1,\"dcount_FileName\":2,"
		    "\"sum_FileSize\":10,\"avg_FileSize\":5,\"min_FileSize\":3,\"max_FileSize\":7}\n"
		    "{\"DeviceId\":\"c\",\"count_\":1,\"countif_\":1,\"dcount_FileName\":1,"
		    "\"sum_FileSize\":9,\"avg_FileSize\":9,\"min_FileSize\":9,\"max_FileSize\":9}\n");
	expect_json("DeviceProcessEvents | summarize make_set(FileName), make_list(ReportId), "
		    "make_set(ReportId, 2) by DeviceId | where DeviceId == 'a'",
		    "{\"DeviceId\":\"a\",\"set_FileName\":[\"x\",\"z\"],\"list_ReportId\":[1,3,1],"
		    "\"set_ReportId\":[1,3]}\n");
	expect_json("DeviceProcessEvents | summarize S = make_set(FileName, 1), L = make_list(FileName, 2)",
		    "{\"S\":[\"x\"],\"L\":[\"x\",\"y\"]}\n");
	expect_json("DeviceProcessEvents | summarize arg_max(Timestamp, FileName, ReportId) by DeviceId",
		    "{\"DeviceId\":\"a\",\"Timestamp\":\"2026-11-28T10:15:00.0000000Z\","
		    "\"FileName\":\"z\",\"ReportId\":1}\n"
		    "{\"DeviceId\":\"b\",\"Timestamp\":\"2026-11-28T11:30:00.0000000Z\","
		    "\"FileName\":\"y\",\"ReportId\":2}\n"
		    "{\"DeviceId\":\"c\",\"Timestamp\":\"2026-11-28T12:00:00.0000000Z\","
		    "\"FileName\":\"x\",\"ReportId\":4}\n");
	expect_json("DeviceProcessEvents | project DeviceId, FileSize, ReportId "
		    "| summarize arg_min(FileSize, *) by DeviceId",
		    "{\"DeviceId\":\"a\",\"FileSize\":1,\"ReportId\":3}\n"
		    "{\"DeviceId\":\"b\",\"FileSize\":3,\"ReportId\":2}\n"
		    "{\"DeviceId\":\"c\",\"FileSize\":9,\"ReportId\":4}\n");
	expect_json("DeviceProcessEvents | summarize take_any(ProcessCommandLine), "
		    "any(FileName) by DeviceId",
		    "{\"DeviceId\":\"a\",\"ProcessCommandLine\":\"go\",\"any_FileName\":\"x\"}\n"
		    "{\"DeviceId\":\"b\",\"ProcessCommandLine\":\"run\",\"any_FileName\":\"y\"}\n"
		    "{\"DeviceId\":\"c\",\"ProcessCommandLine\":\"c\",\"any_FileName\":\"x\"}\n");
	expect_json("DeviceProcessEvents | summarize count() by bin(Timestamp, 1h)",
		    "{\"Timestamp\":\"2026-11-28T10:00:00.0000000Z\",\"count_\":2}\n"
		    "{\"Timestamp\":\"2026-11-28T11:00:00.0000000Z\",\"count_\":2}\n"
		    "{\"Timestamp\":\"2026-11-28T09:00:00.0000000Z\",\"count_\":1}\n"
		    "{\"Timestamp\":\"2026-11-28T12:00:00.0000000Z\",\"count_\":1}\n");
	expect_json("DeviceProcessEvents | summarize n = count(), n2 = count() by K = strcat(DeviceId, '!') "
		    "| where n > 1",
		    "{\"K\":\"a!\",\"n\":3,\"n2\":3}\n{\"K\":\"b!\",\"n\":2,\"n2\":2}\n");
	expect_json("DeviceProcessEvents | summarize by DeviceId",
		    "{\"DeviceId\":\"a\"}\n{\"DeviceId\":\"b\"}\n{\"DeviceId\":\"c\"}\n");
}

static void make_set_distinct(void **state)
{
	char rows[16384] = "";

	(void)state;
	for (int i = 0; i < 40; i++)
		record(rows, sizeof(rows), "2026-11-28T15:00:00Z", "dev1", "RealVNC", "rport", i % 4);
	struct kql_table *table = test_run(RPORT_RULE, rows, TEST_NOW);
	char *json = test_table_json(table);

	assert_non_null(strstr(json, "\"Report\":[0,1,2,3],\"Count\":40"));
	free(json);
	kql_table_free(table);
}

static void distinct_sort_top_take(void **state)
{
	(void)state;
	expect_json("DeviceProcessEvents | distinct DeviceId, FileName",
		    "{\"DeviceId\":\"a\",\"FileName\":\"x\"}\n{\"DeviceId\":\"b\",\"FileName\":\"y\"}\n"
		    "{\"DeviceId\":\"a\",\"FileName\":\"z\"}\n{\"DeviceId\":\"c\",\"FileName\":\"x\"}\n"
		    "{\"DeviceId\":\"b\",\"FileName\":\"x\"}\n");
	expect_json("DeviceProcessEvents | project ReportId, FileSize | sort by FileSize",
		    "{\"ReportId\":4,\"FileSize\":9}\n{\"ReportId\":2,\"FileSize\":7}\n"
		    "{\"ReportId\":1,\"FileSize\":5}\n{\"ReportId\":2,\"FileSize\":3}\n"
		    "{\"ReportId\":3,\"FileSize\":1}\n{\"ReportId\":1,\"FileSize\":null}\n");
	expect_json("DeviceProcessEvents | project ReportId, FileSize | order by FileSize asc",
		    "{\"ReportId\":1,\"FileSize\":null}\n{\"ReportId\":3,\"FileSize\":1}\n"
		    "{\"ReportId\":2,\"FileSize\":3}\n{\"ReportId\":1,\"FileSize\":5}\n"
		    "{\"ReportId\":2,\"FileSize\":7}\n{\"ReportId\":4,\"FileSize\":9}\n");
	expect_json("DeviceProcessEvents | project ReportId, FileSize "
		    "| sort by FileSize asc nulls last | take 2",
		    "{\"ReportId\":3,\"FileSize\":1}\n{\"ReportId\":2,\"FileSize\":3}\n");
	expect_json("DeviceProcessEvents | project DeviceId, ReportId | sort by DeviceId asc, ReportId desc",
		    "{\"DeviceId\":\"a\",\"ReportId\":3}\n{\"DeviceId\":\"a\",\"ReportId\":1}\n"
		    "{\"DeviceId\":\"a\",\"ReportId\":1}\n{\"DeviceId\":\"b\",\"ReportId\":2}\n"
		    "{\"DeviceId\":\"b\",\"ReportId\":2}\n{\"DeviceId\":\"c\",\"ReportId\":4}\n");
	expect_json("DeviceProcessEvents | top 2 by FileSize | project FileSize",
		    "{\"FileSize\":9}\n{\"FileSize\":7}\n");
	expect_json("DeviceProcessEvents | top 1 by Timestamp asc | project ReportId",
		    "{\"ReportId\":3}\n");
	expect_json("DeviceProcessEvents | take 2 | project ReportId",
		    "{\"ReportId\":1}\n{\"ReportId\":2}\n");
	expect_json("DeviceProcessEvents | limit 0 | count", "{\"Count\":0}\n");
	expect_json("DeviceProcessEvents | where FileName == 'x' | count", "{\"Count\":4}\n");
}

static void projections(void **state)
{
	(void)state;
	expect_json("DeviceProcessEvents | take 1 | project DeviceId, Size = FileSize * 2, "
		    "Upper = toupper(FileName)",
		    "{\"DeviceId\":\"a\",\"Size\":10,\"Upper\":\"X\"}\n");
	expect_json("DeviceProcessEvents | take 1 | extend FileSize = FileSize + 1, Extra = 'e' "
		    "| project DeviceId, FileSize, Extra",
		    "{\"DeviceId\":\"a\",\"FileSize\":6,\"Extra\":\"e\"}\n");
	expect_json("DeviceProcessEvents | take 1 | extend a = 1, b = a + 1 | project a, b",
		    "{\"a\":1,\"b\":2}\n");
	expect_json("DeviceProcessEvents | take 1 | project DeviceId, FileName, ReportId "
		    "| project-away FileName",
		    "{\"DeviceId\":\"a\",\"ReportId\":1}\n");
	expect_json("DeviceProcessEvents | take 1 | project DeviceId, FileName, FileSize "
		    "| project-away File*",
		    "{\"DeviceId\":\"a\"}\n");
	expect_json("DeviceProcessEvents | take 1 | project DeviceId, FileName, ReportId "
		    "| project-reorder ReportId, FileName",
		    "{\"ReportId\":1,\"FileName\":\"x\",\"DeviceId\":\"a\"}\n");
	expect_json("DeviceProcessEvents | take 1 | project DeviceId, FileName "
		    "| project-rename Device = DeviceId",
		    "{\"Device\":\"a\",\"FileName\":\"x\"}\n");
	expect_json("DeviceProcessEvents | take 1 | project DeviceId, FileName, ReportId "
		    "| project-keep Report*, DeviceId",
		    "{\"DeviceId\":\"a\",\"ReportId\":1}\n");
	expect_json("DeviceProcessEvents | take 1 | project strlen(FileName), ['File Name'] = FileName",
		    "{\"Column1\":1,\"File Name\":\"x\"}\n");
}

static void lets_and_subqueries(void **state)
{
	(void)state;
	expect_json("let big = 6; let names = dynamic(['y', 'z']); DeviceProcessEvents "
		    "| where FileSize > big or FileName in (names) | project ReportId",
		    "{\"ReportId\":2}\n{\"ReportId\":1}\n{\"ReportId\":4}\n");
	expect_json("let sizes = DeviceProcessEvents | where FileSize > 6 | project DeviceId;\n"
		    "DeviceProcessEvents | where DeviceId in (sizes) | summarize count() by DeviceId",
		    "{\"DeviceId\":\"b\",\"count_\":2}\n{\"DeviceId\":\"c\",\"count_\":1}\n");
	expect_json("let names = datatable(Name:string, Tool:string)['x', 'one', 'Z', 'two'];\n"
		    "DeviceProcessEvents | where FileName has_any ((names | distinct Name)) "
		    "| summarize count()",
		    "{\"count_\":5}\n");
	expect_json("let names = datatable(Name:string)['X'];\n"
		    "DeviceProcessEvents | where FileName in~ (names) | count",
		    "{\"Count\":4}\n");
	expect_json("let recent = DeviceProcessEvents | where Timestamp > datetime(2026-11-28 11:00);\n"
		    "recent | project ReportId",
		    "{\"ReportId\":2}\n{\"ReportId\":4}\n");
	expect_json("datatable(a:long, b:string)[1, 'x', 2, 'y', -3, 'z'] | where a < 2 | project b",
		    "{\"b\":\"x\"}\n{\"b\":\"z\"}\n");
	expect_json("DeviceProcessEvents | where FileName !in ('x') | project FileName",
		    "{\"FileName\":\"y\"}\n{\"FileName\":\"z\"}\n");
}

/* now() is one instant for the whole query. */
static void now_is_stable(void **state)
{
	static const char record[] = "{\"FileName\":\"x\"}\n";
	char rows[2000 * (sizeof(record) - 1) + 1];

	(void)state;
	for (int i = 0; i < 2000; i++)
		memcpy(rows + i * (sizeof(record) - 1), record, sizeof(record));
	struct kql_table *table =
		test_run("let a = now(); DeviceProcessEvents | extend b = now(), c = ago(0s) "
			 "| where a == b and b == c and now() == a | summarize count(), dcount(b)",
			 rows, TEST_NOW);
	char *json = test_table_json(table);

	assert_string_equal(json, "{\"count_\":2000,\"dcount_b\":1}\n");
	free(json);
	kql_table_free(table);
}

static void additional_fields(void **state)
{
	(void)state;
	struct kql_table *table = test_run(
		"DeviceProcessEvents | extend uid = tolong(parse_json(AdditionalFields).uid), "
		"exe = tostring(AdditionalFields.exe) | project uid, exe, "
		"root = parse_json(AdditionalFields).uid == 0",
		"{\"AdditionalFields\":\"{\\\"uid\\\":0,\\\"exe\\\":\\\"/usr/bin/rport\\\"}\"}\n"
		"{\"AdditionalFields\":{\"uid\":1000}}\n{}\n",
		TEST_NOW);
	char *json = test_table_json(table);

	assert_string_equal(json, "{\"uid\":0,\"exe\":\"/usr/bin/rport\",\"root\":true}\n"
				  "{\"uid\":1000,\"exe\":\"\",\"root\":false}\n"
				  "{\"uid\":null,\"exe\":\"\",\"root\":null}\n");
	free(json);
	kql_table_free(table);
}

/* Strings are never null: a missing string column is "". */
static void strings_never_null(void **state)
{
	(void)state;
	struct kql_table *table = test_run(
		"DeviceProcessEvents | project isempty(ProcessVersionInfoCompanyName), "
		"isnull(ProcessVersionInfoCompanyName), isnull(FileSize), FileSize",
		"{\"ProcessVersionInfoCompanyName\":null}\n", TEST_NOW);
	char *json = test_table_json(table);

	assert_string_equal(json, "{\"Column1\":true,\"Column2\":false,\"Column3\":true,"
				  "\"FileSize\":null}\n");
	free(json);
	kql_table_free(table);
}

static void real_sums_exact(void **state)
{
	(void)state;
	struct kql_table *table = test_run(
		"datatable(x:real)[0.1, 0.2, 0.3, 1e100, -1e100] | summarize sum(x), avg(x)", "",
		TEST_NOW);
	char *json = test_table_json(table);

	/* the exact sum 0.6000000000000000055511151231257827 rounds to 0.6 */
	assert_string_equal(json, "{\"sum_x\":0.6,\"avg_x\":0.12}\n");
	free(json);
	kql_table_free(table);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rport_rule),	      cmocka_unit_test(summarize_empty_input),
		cmocka_unit_test(aggregations),	      cmocka_unit_test(make_set_distinct),
		cmocka_unit_test(distinct_sort_top_take), cmocka_unit_test(projections),
		cmocka_unit_test(lets_and_subqueries), cmocka_unit_test(now_is_stable),
		cmocka_unit_test(additional_fields),  cmocka_unit_test(strings_never_null),
		cmocka_unit_test(real_sums_exact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
