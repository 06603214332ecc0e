/*
 * test_kql_api.c - the parts of kql.h and kql_format.h that the agent, the
 * CLI and the cache use besides compile/execute: per-row matching, row-only
 * detection, pushdown (time range, columns used), tables read twice, result
 * formats (table, json, csv), datetime text, and the NDJSON source's errors.
 */
#include <errno.h>

#include "kql_test.h"
#include "kql/kql_ops.h"

#define RPORT_RULE                                                                        \
	"let Time_start = now(-5d);\nlet Time_end = now();\nDeviceProcessEvents\n"            \
	"| where Timestamp between (Time_start..Time_end)\n"                                  \
	"| where ProcessVersionInfoCompanyName has 'RealVNC'\n"                               \
	"    and ProcessVersionInfoProductName has 'rport'\n"                                 \
	"| summarize FirstSeen=min(Timestamp), LastSeen=max(Timestamp), \n"                   \
	"    Report=make_set(ReportId), Count=count() by DeviceId, DeviceName"

static struct value row[DPE_COLUMN_COUNT];

static void clear_row(void)
{
	for (size_t i = 0; i < DPE_COLUMN_COUNT; i++) {
		memset(&row[i], 0, sizeof(row[i]));
		row[i].type = dpe_columns[i].type;
		row[i].is_null = row[i].type != VALUE_STRING;
		row[i].str = row[i].type == VALUE_STRING ? "" : NULL;
	}
}

static void set_string(enum dpe_column column, const char *text)
{
	row[column].str = text;
	row[column].len = strlen(text);
}

static void set_time(int64_t ticks)
{
	row[DPE_TIMESTAMP].is_null = false;
	row[DPE_TIMESTAMP].ticks = ticks;
}

static void row_matching(void **state)
{
	(void)state;
	struct kql_query *query = test_compile(RPORT_RULE);

	assert_true(kql_query_row_only(query));
	clear_row();
	set_string(DPE_PROCESS_VERSION_INFO_COMPANY_NAME, "RealVNC Ltd");
	set_string(DPE_PROCESS_VERSION_INFO_PRODUCT_NAME, "rport");
	set_time(TEST_NOW - TICKS_PER_HOUR);
	assert_int_equal(kql_query_row_matches(query, row, TEST_NOW), 1);
	set_time(TEST_NOW - 5 * TICKS_PER_DAY); /* the window's first tick */
	assert_int_equal(kql_query_row_matches(query, row, TEST_NOW), 1);
	set_time(TEST_NOW - 5 * TICKS_PER_DAY - 1);
	assert_int_equal(kql_query_row_matches(query, row, TEST_NOW), 0);
	assert_int_equal(kql_query_row_matches(query, row, TEST_NOW - 1), 1); /* now moves */
	set_time(TEST_NOW + 1);
	assert_int_equal(kql_query_row_matches(query, row, TEST_NOW), 0);
	row[DPE_TIMESTAMP].is_null = true;
	assert_int_equal(kql_query_row_matches(query, row, TEST_NOW), 0);
	set_time(TEST_NOW);
	set_string(DPE_PROCESS_VERSION_INFO_PRODUCT_NAME, "vncviewer");
	assert_int_equal(kql_query_row_matches(query, row, TEST_NOW), 0);
	kql_query_free(query);

	/* extend before where: the prefix runs map stages too */
	query = test_compile("DeviceProcessEvents | extend Name = tolower(FileName) "
			     "| where Name == 'rport' | summarize count()");
	clear_row();
	set_string(DPE_FILE_NAME, "RPort");
	assert_int_equal(kql_query_row_matches(query, row, TEST_NOW), 1);
	set_string(DPE_FILE_NAME, "rportd");
	assert_int_equal(kql_query_row_matches(query, row, TEST_NOW), 0);
	kql_query_free(query);

	/* reads another table: not row-only */
	query = test_compile("let a = DeviceProcessEvents | where FileName == 'x' | project SHA1;\n"
			     "DeviceProcessEvents | where SHA1 in (a)");
	assert_false(kql_query_row_only(query));
	assert_int_equal(kql_query_row_matches(query, row, TEST_NOW), -EINVAL);
	kql_query_free(query);
	/* a constant list from a datatable is fine */
	query = test_compile("let a = datatable(n:string)['x'];\n"
			     "DeviceProcessEvents | where FileName in (a)");
	assert_true(kql_query_row_only(query));
	set_string(DPE_FILE_NAME, "x");
	assert_int_equal(kql_query_row_matches(query, row, TEST_NOW), 1);
	kql_query_free(query);
}

/*
 * mv-expand right after the filters (Microsoft's Base64 detector): a record
 * matches only when one of its expanded values passes the where after it,
 * both for single rows and for the aggregator's hits.
 */
static void row_matching_through_mv_expand(void **state)
{
	static const char text[] =
		"DeviceProcessEvents | where Timestamp > ago(1d)\n"
		"| extend Part = split(ProcessCommandLine, ' ')\n"
		"| mvexpand Part\n"
		"| where Part matches regex '^[A-Za-z0-9+/]{20,}[=]{0,2}$'\n"
		"| extend Decoded = base64_decode_tostring(tostring(Part))\n"
		"| where isnotempty(Decoded)";
	struct kql_query *query = test_compile(text);
	struct kql_aggregator *aggregator;
	struct kql_error error;
	bool matched;

	(void)state;
	assert_true(kql_query_row_only(query));
	clear_row();
	set_time(TEST_NOW - TICKS_PER_HOUR);
	set_string(DPE_PROCESS_COMMAND_LINE, "powershell -enc V3JpdGUtSG9zdCAnaGVsbG8gd29ybGQn");
	assert_int_equal(kql_query_row_matches(query, row, TEST_NOW), 1);
	set_string(DPE_PROCESS_COMMAND_LINE, "powershell -File C:\\scripts\\x.ps1");
	assert_int_equal(kql_query_row_matches(query, row, TEST_NOW), 0);
	assert_int_equal(kql_aggregator_new(query, 0, &aggregator, &error), 0);
	assert_int_equal(kql_aggregator_add(aggregator, row, TEST_NOW, &matched), 0);
	assert_false(matched);
	set_string(DPE_PROCESS_COMMAND_LINE, "powershell -enc V3JpdGUtSG9zdCAnaGVsbG8gd29ybGQn");
	assert_int_equal(kql_aggregator_add(aggregator, row, TEST_NOW, &matched), 0);
	assert_true(matched);
	struct kql_table *result;

	assert_int_equal(kql_aggregator_result(aggregator, TEST_NOW, &result, &error), 0);
	assert_int_equal(kql_table_row_count(result), 1);
	assert_string_equal(test_cell(result, 0, "Decoded")->str, "Write-Host 'hello world'");
	kql_table_free(result);
	kql_aggregator_free(aggregator);
	kql_query_free(query);
}

static void time_ranges(void **state)
{
	(void)state;
	int64_t low, high;
	struct kql_query *query = test_compile(RPORT_RULE);

	assert_int_equal(kql_query_time_range(query, "Timestamp", TEST_NOW, &low, &high), 0);
	assert_int_equal(low, TEST_NOW - 5 * TICKS_PER_DAY);
	assert_int_equal(high, TEST_NOW);
	assert_int_equal(kql_query_time_range(query, "ProcessCreationTime", TEST_NOW, &low, &high),
			 -ENOENT);
	kql_query_free(query);

	query = test_compile("DeviceProcessEvents | where ago(1h) < Timestamp and FileName has 'x' "
			     "| where Timestamp <= datetime(2026-11-28 15:30) | where ProcessCreationTime "
			     "== datetime(2026-11-28)");
	assert_int_equal(kql_query_time_range(query, "Timestamp", TEST_NOW, &low, &high), 0);
	assert_int_equal(low, TEST_NOW - TICKS_PER_HOUR + 1);
	assert_int_equal(high, TEST_NOW - 30 * TICKS_PER_MINUTE);
	assert_int_equal(kql_query_time_range(query, "ProcessCreationTime", TEST_NOW, &low, &high), 0);
	assert_int_equal(low, high);
	kql_query_free(query);

	/* bounds after a summarize or under an or do not count */
	query = test_compile("DeviceProcessEvents | where Timestamp > ago(1h) or FileName == 'x' "
			     "| summarize Timestamp = max(Timestamp) | where Timestamp > ago(1d)");
	assert_int_equal(kql_query_time_range(query, "Timestamp", TEST_NOW, &low, &high), -ENOENT);
	kql_query_free(query);
}

static void columns_used(void **state)
{
	(void)state;
	bool used[DPE_COLUMN_COUNT];
	struct kql_query *query = test_compile(RPORT_RULE);

	assert_int_equal(kql_query_columns_used(query, "DeviceProcessEvents", used, DPE_COLUMN_COUNT), 0);
	for (size_t i = 0; i < DPE_COLUMN_COUNT; i++) {
		bool expected = i == DPE_TIMESTAMP || i == DPE_DEVICE_ID || i == DPE_DEVICE_NAME ||
				i == DPE_PROCESS_VERSION_INFO_COMPANY_NAME ||
				i == DPE_PROCESS_VERSION_INFO_PRODUCT_NAME || i == DPE_REPORT_ID;

		if (used[i] != expected)
			print_error("column %s\n", dpe_columns[i].name);
		assert_int_equal(used[i], expected);
	}
	assert_int_equal(kql_query_columns_used(query, "DeviceNetworkEvents", used, 3), -ENOENT);
	kql_query_free(query);

	query = test_compile("DeviceProcessEvents | where FileName has 'x' | take 3");
	assert_int_equal(kql_query_columns_used(query, "DeviceProcessEvents", used, DPE_COLUMN_COUNT), 0);
	for (size_t i = 0; i < DPE_COLUMN_COUNT; i++)
		assert_true(used[i]);
	kql_query_free(query);

	query = test_compile("DeviceProcessEvents | project FileName, S = FileSize + 1 "
			     "| project-rename F = FileName | where S > 2 | project F");
	assert_int_equal(kql_query_columns_used(query, "DeviceProcessEvents", used, DPE_COLUMN_COUNT), 0);
	for (size_t i = 0; i < DPE_COLUMN_COUNT; i++)
		assert_int_equal(used[i], i == DPE_FILE_NAME || i == DPE_FILE_SIZE);
	kql_query_free(query);
}

static void table_read_twice(void **state)
{
	(void)state;
	struct kql_table *table = test_run(
		"let big = DeviceProcessEvents | where FileSize > 5 | project DeviceId;\n"
		"DeviceProcessEvents | where DeviceId in (big) | summarize count() by DeviceId",
		"{\"DeviceId\":\"a\",\"FileSize\":1}\n{\"DeviceId\":\"b\",\"FileSize\":9}\n"
		"{\"DeviceId\":\"b\",\"FileSize\":2}\n",
		TEST_NOW);
	char *json = test_table_json(table);

	assert_string_equal(json, "{\"DeviceId\":\"b\",\"count_\":2}\n");
	free(json);
	kql_table_free(table);
}

static char *printed(const struct kql_table *table, enum kql_format format, size_t width)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);

	assert_int_equal(kql_table_print(out, table, format, width), 0);
	fclose(out);
	return text;
}

static void formats(void **state)
{
	(void)state;
	struct kql_table *table = test_run(
		"DeviceProcessEvents | project DeviceName, FileSize, Timestamp, "
		"Line = ProcessCommandLine, Set = dynamic(['a', 1]), Span = 90m, R = 0.1, B = true",
		"{\"DeviceName\":\"host.example\",\"FileSize\":12,\"Timestamp\":\"2026-11-28T16:14:40.1234567Z\","
		"\"ProcessCommandLine\":\"rport -c \\\"x, y\\\"\\nnext\"}\n"
		"{\"DeviceName\":\"Krämer-laptop\",\"ProcessCommandLine\":\"a\\u0001\\u00e4\"}\n",
		TEST_NOW);
	char *json = printed(table, KQL_FORMAT_JSON, 0);

	assert_string_equal(json,
			    "{\"DeviceName\":\"host.example\",\"FileSize\":12,"
			    "\"Timestamp\":\"2026-11-28T16:14:40.1234567Z\","
			    "\"Line\":\"rport -c \\\"x, y\\\"\\nnext\",\"Set\":[\"a\",1],"
			    "\"Span\":\"01:30:00\",\"R\":0.1,\"B\":true}\n"
			    "{\"DeviceName\":\"Krämer-laptop\",\"FileSize\":null,\"Timestamp\":null,"
			    "\"Line\":\"a\\u0001ä\",\"Set\":[\"a\",1],\"Span\":\"01:30:00\",\"R\":0.1,"
			    "\"B\":true}\n");
	free(json);
	char *csv = printed(table, KQL_FORMAT_CSV, 0);

	assert_string_equal(csv, "DeviceName,FileSize,Timestamp,Line,Set,Span,R,B\r\n"
				 "host.example,12,2026-11-28T16:14:40.1234567Z,"
				 "\"rport -c \"\"x, y\"\"\\nnext\",\"[\"\"a\"\",1]\",01:30:00,0.1,true\r\n"
				 "Krämer-laptop,,,a\\x01ä,\"[\"\"a\"\",1]\",01:30:00,0.1,true\r\n");
	free(csv);
	char *text = printed(table, KQL_FORMAT_TABLE, 10);

	assert_string_equal(text,
			    "DeviceName  FileSize  Timestamp   Line        Set      Span      R    B\n"
			    "----------  --------  ----------  ----------  -------  --------  ---  ----\n"
			    "host.exam\xe2\x80\xa6        12  2026-11-2\xe2\x80\xa6  rport -c \xe2\x80\xa6  "
			    "[\"a\",1]  01:30:00  0.1  true\n"
			    "Kr\xc3\xa4mer-la\xe2\x80\xa6                        a\\x01\xc3\xa4      "
			    "[\"a\",1]  01:30:00  0.1  true\n");
	free(text);
	kql_table_free(table);

	enum kql_format format;

	assert_int_equal(kql_format_parse("csv", &format), 0);
	assert_int_equal(format, KQL_FORMAT_CSV);
	assert_int_equal(kql_format_parse("xml", &format), -EINVAL);
}

/* Text from hosts is hostile: CSV defuses formulas and controls unless raw. */
static void csv_injection(void **state)
{
	(void)state;
	struct kql_table *table = test_run(
		"DeviceProcessEvents | project ProcessCommandLine, FileSize, D = -1d",
		"{\"ProcessCommandLine\":\"=HYPERLINK(\\\"http://x\\\")\",\"FileSize\":-5}\n"
		"{\"ProcessCommandLine\":\"@SUM(1)\\u001b[2J\\u0085\\u202e\",\"FileSize\":1}\n"
		"{\"ProcessCommandLine\":\"+1\",\"FileSize\":2}\n"
		"{\"ProcessCommandLine\":\"-c x\",\"FileSize\":3}\n",
		TEST_NOW);
	char *csv = printed(table, KQL_FORMAT_CSV, 0);

	assert_string_equal(csv, "ProcessCommandLine,FileSize,D\r\n"
				 "\"'=HYPERLINK(\"\"http://x\"\")\",-5,-1.00:00:00\r\n"
				 "'@SUM(1)\\e[2J\\x85\\u202e,1,-1.00:00:00\r\n"
				 "'+1,2,-1.00:00:00\r\n"
				 "'-c x,3,-1.00:00:00\r\n");
	free(csv);
	csv = printed(table, KQL_FORMAT_CSV_RAW, 0);
	assert_string_equal(csv, "ProcessCommandLine,FileSize,D\r\n"
				 "\"=HYPERLINK(\"\"http://x\"\")\",-5,-1.00:00:00\r\n"
				 "@SUM(1)\x1b[2J\xc2\x85\xe2\x80\xae,1,-1.00:00:00\r\n"
				 "+1,2,-1.00:00:00\r\n"
				 "-c x,3,-1.00:00:00\r\n");
	free(csv);
	kql_table_free(table);
}

static void invalid_utf8_json(void **state)
{
	(void)state;
	struct kql_table *table = test_run("datatable(x:long)[1] | project s = strcat('a', "
					   "tostring(parse_json('\"\\u00e4\"')))",
					   "", TEST_NOW);
	char *json = printed(table, KQL_FORMAT_JSON, 0);

	assert_string_equal(json, "{\"s\":\"aä\"}\n");
	free(json);
	kql_table_free(table);
}

static void datetime_text(void **state)
{
	(void)state;
	char text[KQL_DATETIME_TEXT];
	int64_t ticks;

	assert_int_equal(kql_datetime_parse("2026-11-28T16:14:40.1234567Z", 28, &ticks), 0);
	kql_datetime_format(ticks, text);
	assert_string_equal(text, "2026-11-28T16:14:40.1234567Z");
	assert_int_equal(kql_datetime_parse("1970-01-01", 10, &ticks), 0);
	assert_int_equal(ticks, 0);
	assert_int_equal(kql_datetime_parse("1969-12-31T23:59:59.9999999Z", 28, &ticks), 0);
	assert_int_equal(ticks, -1);
	kql_datetime_format(-1, text);
	assert_string_equal(text, "1969-12-31T23:59:59.9999999Z");
	assert_int_equal(kql_datetime_parse("2026-02-29", 10, &ticks), -EINVAL);
	assert_int_equal(kql_datetime_parse("2026-11-28T25:00:00Z", 20, &ticks), -EINVAL);
	assert_int_equal(kql_datetime_parse("2026-11-28T10:00:00Zjunk", 24, &ticks), -EINVAL);
	assert_int_equal(kql_datetime_parse("", 0, &ticks), -EINVAL);
}

static void ndjson_errors(void **state)
{
	(void)state;
	static const struct {
		const char *records;
		const char *message;
	} cases[] = {
		{"{\"FileName\":\"x\"}\n\n{nope}\n", "line 3: not a JSON object"},
		{"[1]\n", "line 1: not a JSON object (another JSON value)"},
		{"{\"FileSize\":\"12\"}\n", "line 1: column FileSize: expected an integer"},
		{"{\"Timestamp\":\"yesterday\"}\n", "line 1: column Timestamp: expected an ISO 8601"},
		{"{\"FileName\":12}\n", "line 1: column FileName: expected a string"},
		{"{\"IsProcessRemoteSession\":1}\n", "expected true or false"},
	};
	const struct table_schema *tables[] = {&dpe_schema};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kql_query *query;
		struct kql_error error;
		struct kql_table *table = NULL;
		const char *text = "DeviceProcessEvents | count";
		FILE *in = fmemopen((void *)cases[i].records, strlen(cases[i].records), "r");
		struct kql_ndjson_source *source;

		assert_int_equal(kql_compile(text, strlen(text), tables, 1, &query, &error), 0);
		assert_int_equal(kql_ndjson_open(in, &dpe_schema, &source), 0);
		assert_int_equal(kql_execute(query, kql_ndjson_source(source), 1, TEST_NOW, &table, &error),
				 -EINVAL);
		assert_null(table);
		assert_int_equal(error.kind, KQL_ERROR_RUNTIME);
		if (!strstr(error.message, cases[i].message))
			print_error("got: %s\n", error.message);
		assert_non_null(strstr(error.message, cases[i].message));
		kql_ndjson_close(source);
		fclose(in);
		kql_query_free(query);
	}
	/* unknown keys are ignored, objects kept as JSON text in string columns */
	struct kql_table *table =
		test_run("DeviceProcessEvents | project AdditionalFields, FileName",
			 "{\"Future\":1,\"AdditionalFields\":{\"uid\":0},\"FileName\":\"x\"}\r\n", TEST_NOW);

	assert_string_equal(test_cell(table, 0, "AdditionalFields")->str, "{\"uid\":0}");
	kql_table_free(table);
}

static void result_columns(void **state)
{
	(void)state;
	struct kql_query *query = test_compile(RPORT_RULE);

	assert_int_equal(kql_query_column_count(query), 6);
	assert_string_equal(kql_query_column_name(query, 2), "FirstSeen");
	assert_int_equal(kql_query_column_type(query, 4), VALUE_DYNAMIC);
	assert_null(kql_query_column_name(query, 6));
	kql_query_free(query);
	query = test_compile("datatable(a:long)[1]");
	assert_null(kql_query_table(query));
	kql_query_free(query);
}

/* The where filters as a tree for a store: what is kept, what is left out. */
static void filter_tree(void **state)
{
	(void)state;
	struct kql_filter nodes[16];
	struct kql_query *query = test_compile(
		"DeviceProcessEvents | where FileName has 'curl' and isnull(ProcessId)"
		" | where (FolderPath =~ '/usr/bin' or FileName in~ ('BASH', 'sh'))"
		" and (FileName !has 'x' or FileName == 'y') | extend F = FileName"
		" | where F startswith_cs 'cu' and ProcessId == 5 | summarize count() by F");
	int count = kql_query_filter(query, nodes, 16);

	assert_true(count > 0);
	/* root: ((has and (=~ or in~)) and (startswith_cs and == 5)) */
	assert_int_equal(nodes[0].kind, KQL_FILTER_AND);
	const struct kql_filter *left = &nodes[nodes[0].left], *right = &nodes[nodes[0].right];

	assert_int_equal(left->kind, KQL_FILTER_AND);
	assert_int_equal(nodes[left->left].kind, KQL_FILTER_MATCH);
	assert_int_equal(nodes[left->left].match, KQL_MATCH_HAS);
	assert_int_equal(nodes[left->left].column, DPE_FILE_NAME);
	assert_false(nodes[left->left].case_sensitive);
	const struct kql_filter *either = &nodes[left->right];

	assert_int_equal(either->kind, KQL_FILTER_OR);
	assert_int_equal(nodes[either->left].match, KQL_MATCH_EQUALS);
	assert_int_equal(nodes[either->right].kind, KQL_FILTER_IN);
	assert_int_equal(nodes[either->right].value_count, 2);
	assert_string_equal(nodes[either->right].values[0].str, "bash"); /* folded */
	assert_int_equal(right->kind, KQL_FILTER_AND);
	assert_int_equal(nodes[right->left].kind, KQL_FILTER_MATCH);
	assert_true(nodes[right->left].case_sensitive);
	assert_int_equal(nodes[right->left].column, DPE_FILE_NAME); /* F is FileName */
	assert_int_equal(nodes[right->right].kind, KQL_FILTER_EQUALS);
	assert_int_equal(nodes[right->right].values[0].l, 5);
	kql_query_free(query);

	query = test_compile("DeviceProcessEvents | where FileName !has 'x' | count");
	assert_int_equal(kql_query_filter(query, nodes, 16), 0);
	kql_query_free(query);
	query = test_compile("datatable(a:long)[1] | where a == 1");
	assert_int_equal(kql_query_filter(query, nodes, 16), -ENOENT);
	kql_query_free(query);
}

/* The summarize a store may compute (kql_query_summarize_pushdown). */
static void summarize_pushdown(void **state)
{
	(void)state;
	struct kql_filter nodes[16];
	struct kql_summarize_pushdown pushdown;
	struct kql_query *query = test_compile(
		"DeviceProcessEvents | where Timestamp between (now(-5d) .. now())"
		" | where ProcessVersionInfoCompanyName has 'RealVNC'"
		" and ProcessVersionInfoProductName has 'rport'"
		" | summarize FirstSeen=min(Timestamp), LastSeen=max(Timestamp),"
		" Report=make_set(ReportId), Count=count() by DeviceId, DeviceName");

	assert_int_equal(kql_query_summarize_pushdown(query, "Timestamp", nodes, 16, &pushdown), 0);
	assert_int_equal(pushdown.key_count, 2);
	assert_int_equal(pushdown.keys[0], DPE_DEVICE_ID);
	assert_int_equal(pushdown.keys[1], DPE_DEVICE_NAME);
	assert_int_equal(pushdown.aggregate_count, 4);
	assert_int_equal(pushdown.aggregates[0].kind, KQL_GROUPED_MIN);
	assert_int_equal(pushdown.aggregates[0].column, DPE_TIMESTAMP);
	assert_int_equal(pushdown.aggregates[1].kind, KQL_GROUPED_MAX);
	assert_int_equal(pushdown.aggregates[2].kind, KQL_GROUPED_MAKE_SET);
	assert_int_equal(pushdown.aggregates[2].column, DPE_REPORT_ID);
	assert_int_equal(pushdown.aggregates[2].cap, 1048576);
	assert_int_equal(pushdown.aggregates[3].kind, KQL_GROUPED_COUNT);
	/* the filter: both has, nothing left out; the time bound is the range's
	 * (nodes: the root, the and it copies, the two has) */
	assert_int_equal(pushdown.filter_count, 4);
	assert_int_equal(nodes[0].kind, KQL_FILTER_AND);
	assert_int_equal(nodes[nodes[0].left].column, DPE_PROCESS_VERSION_INFO_COMPANY_NAME);
	assert_int_equal(nodes[nodes[0].right].match, KQL_MATCH_HAS);
	/* a bound on Timestamp is not a filter of some other time column */
	assert_int_equal(kql_query_summarize_pushdown(query, "ProcessCreationTime", nodes, 16,
						      &pushdown), -EOPNOTSUPP);
	kql_query_free(query);

	query = test_compile("DeviceProcessEvents | summarize make_list(FileName, 3), dcount(SHA256),"
			     " sum(ProcessId)");
	assert_int_equal(kql_query_summarize_pushdown(query, "Timestamp", nodes, 16, &pushdown), 0);
	assert_int_equal(pushdown.key_count, 0);
	assert_int_equal(pushdown.filter_count, 0);
	assert_int_equal(pushdown.aggregates[0].kind, KQL_GROUPED_MAKE_LIST);
	assert_int_equal(pushdown.aggregates[0].cap, 3);
	assert_int_equal(pushdown.aggregates[1].kind, KQL_GROUPED_DCOUNT);
	assert_int_equal(pushdown.aggregates[2].kind, KQL_GROUPED_SUM);
	kql_query_free(query);

	/* the count operator: summarize count() */
	query = test_compile("DeviceProcessEvents | where FileName =~ 'curl' | count | extend n = Count");
	assert_int_equal(kql_query_summarize_pushdown(query, "Timestamp", nodes, 16, &pushdown), 0);
	assert_int_equal(pushdown.key_count, 0);
	assert_int_equal(pushdown.aggregate_count, 1);
	assert_int_equal(pushdown.aggregates[0].kind, KQL_GROUPED_COUNT);
	assert_int_equal(pushdown.filter_count, 2); /* the root, the =~ */
	kql_query_free(query);

	/* what a store cannot do exactly, or the engine must see row by row */
	const char *refused[] = {
		"DeviceProcessEvents | extend F = FileName | summarize count() by F",
		"DeviceProcessEvents | summarize count() by bin(Timestamp, 1h)",
		"DeviceProcessEvents | where FileName matches regex 'cu' | summarize count()",
		"DeviceProcessEvents | where FileName !has 'cu' | summarize count()",
		"DeviceProcessEvents | where FileName has 'cu' and ProcessId > 5 | summarize count()",
		"DeviceProcessEvents | where ProcessCreationTime > ago(1h) | summarize count()",
		"DeviceProcessEvents | summarize avg(ProcessId)",
		"DeviceProcessEvents | summarize arg_max(Timestamp, FileName)",
		"DeviceProcessEvents | summarize make_set(Timestamp)",
		"DeviceProcessEvents | summarize count(), sum(strlen(FileName))",
		"DeviceProcessEvents | take 5 | summarize count()",
		"DeviceProcessEvents | where FileName in ((DeviceProcessEvents | distinct FileName))"
		" | summarize count()",
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		query = test_compile(refused[i]);
		if (kql_query_summarize_pushdown(query, "Timestamp", nodes, 16, &pushdown) !=
		    -EOPNOTSUPP)
			fail_msg("pushed down: %s", refused[i]);
		kql_query_free(query);
	}
}

struct groups_source {
	const struct value (*rows)[2];
	size_t count, position;
};

static int next_group(void *context, const struct value **group)
{
	struct groups_source *groups = context;

	if (groups->position == groups->count)
		return 0;
	*group = groups->rows[groups->position++];
	return 1;
}

/* The rest of the query over groups a store computed. */
static void execute_grouped(void **state)
{
	(void)state;
	const struct value rows[][2] = {
		{{.type = VALUE_STRING, .str = "a", .len = 1}, {.type = VALUE_LONG, .l = 1}},
		{{.type = VALUE_STRING, .str = "b", .len = 1}, {.type = VALUE_LONG, .l = 5}},
		{{.type = VALUE_STRING, .str = "c", .len = 1}, {.type = VALUE_LONG, .l = 3}},
	};
	struct groups_source groups = {rows, 3, 0};
	struct kql_source source = {&dpe_schema, next_group, NULL, &groups};
	struct kql_table *result = NULL;
	struct kql_error error;
	struct kql_query *query = test_compile(
		"DeviceProcessEvents | where FileName == 'x' | summarize n=count() by DeviceId"
		" | where n > 1 | sort by n desc | project DeviceId, twice=n * 2");

	assert_int_equal(kql_query_execute_grouped(query, &source, TEST_NOW, &result, &error), 0);
	char *json = test_table_json(result);

	assert_string_equal(json, "{\"DeviceId\":\"b\",\"twice\":10}\n{\"DeviceId\":\"c\",\"twice\":6}\n");
	free(json);
	kql_table_free(result);
	kql_query_free(query);

	/* groups as the last stage's rows; none at all */
	groups = (struct groups_source){rows, 0, 0};
	query = test_compile("DeviceProcessEvents | summarize n=count() by DeviceId");
	assert_int_equal(kql_query_execute_grouped(query, &source, TEST_NOW, &result, &error), 0);
	assert_int_equal(kql_table_row_count(result), 0);
	assert_int_equal(kql_table_column_count(result), 2);
	kql_table_free(result);
	kql_query_free(query);

	query = test_compile("DeviceProcessEvents | where FileName == 'x' | take 5");
	assert_int_equal(kql_query_execute_grouped(query, &source, TEST_NOW, &result, &error),
			 -EINVAL);
	assert_int_equal(error.kind, KQL_ERROR_RUNTIME);
	assert_null(result);
	kql_query_free(query);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(row_matching),
		cmocka_unit_test(row_matching_through_mv_expand),	    cmocka_unit_test(time_ranges),
		cmocka_unit_test(columns_used),	    cmocka_unit_test(table_read_twice),
		cmocka_unit_test(formats),	    cmocka_unit_test(csv_injection),
		cmocka_unit_test(invalid_utf8_json),
		cmocka_unit_test(datetime_text),    cmocka_unit_test(ndjson_errors),
		cmocka_unit_test(result_columns),   cmocka_unit_test(filter_tree),
		cmocka_unit_test(summarize_pushdown), cmocka_unit_test(execute_grouped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
