/*
 * test_kql_scalar.c - conformance tables for KQL scalar expressions: literals,
 * timespans and datetimes (100 ns), now()/ago(), between, comparisons,
 * arithmetic, in/in~ and their negations, matches regex, three-valued logic,
 * and every scalar function rmmhunt implements.  Each row evaluates one
 * expression through a real query and compares its JSON value.
 */
#include <errno.h>

#include "kql_test.h"
#include "base/strbuf.h"
#include "model/record.h"

struct scalar_case {
	const char *expression;
	const char *expected; /* JSON */
};

static void run_cases(const struct scalar_case *cases, size_t count)
{
	for (size_t i = 0; i < count; i++)
		test_scalar(cases[i].expression, cases[i].expected);
}

#define RUN(cases) run_cases(cases, sizeof(cases) / sizeof(cases[0]))

static const struct scalar_case literals[] = {
	{"'single'", "\"single\""},
	{"\"double\"", "\"double\""},
	{"'a\\tb\\n'", "\"a\\tb\\n\""},
	{"'it\\'s'", "\"it's\""},
	{"\"say \\\"hi\\\"\"", "\"say \\\"hi\\\"\""},
	{"@'C:\\Program Files\\'", "\"C:\\\\Program Files\\\\\""},
	{"@'it''s'", "\"it's\""},
	{"'ab' 'cd' \"ef\"", "\"abcdef\""}, /* adjacent literals concatenate */
	{"'\\u00e4'", "\"\xc3\xa4\""},
	{"h'hidden'", "\"hidden\""},
	{"42", "42"},
	{"-42", "-42"},
	{"0x1F", "31"},
	{"1.5", "1.5"},
	{"1e3", "1000"},
	{"true", "true"},
	{"false", "false"},
	{"long(null)", "null"},
	{"real(null)", "null"},
	{"bool(null)", "null"},
	{"datetime(null)", "null"},
	{"timespan(null)", "null"},
	{"int(7)", "7"},
	{"real(2)", "2"},
	{"dynamic([1, 'a', \"b\", null, true, {\"k\": [2]}])", "[1,\"a\",\"b\",null,true,{\"k\":[2]}]"},
	{"dynamic({'a': -1.5})", "{\"a\":-1.5}"},
	{"dynamic(null)", "null"},
};

static const struct scalar_case timespans[] = {
	{"1d", "\"1.00:00:00\""},
	{"2days", "\"2.00:00:00\""},
	{"3h", "\"03:00:00\""},
	{"1.5h", "\"01:30:00\""},
	{"0.5d", "\"12:00:00\""},
	{"30m", "\"00:30:00\""},
	{"2min", "\"00:02:00\""},
	{"10s", "\"00:00:10\""},
	{"100ms", "\"00:00:00.1000000\""},
	{"5microsecond", "\"00:00:00.0000050\""},
	{"7tick", "\"00:00:00.0000007\""},
	{"1.25s", "\"00:00:01.2500000\""},
	{"-5d", "\"-5.00:00:00\""},
	{"1d / 1h", "24"},
	{"2 * 1h", "\"02:00:00\""},
	{"1h * 2", "\"02:00:00\""},
	{"1h / 2", "\"00:30:00\""},
	{"1d - 1h", "\"23:00:00\""},
	{"1d > 23h", "true"},
	{"totimespan('01:30:00')", "\"01:30:00\""},
	{"totimespan('1.02:03:04.5')", "\"1.02:03:04.5000000\""},
	{"totimespan('-00:00:01')", "\"-00:00:01\""},
	{"totimespan(tostring(5d + 1tick))", "\"5.00:00:00.0000001\""},
	{"totimespan('1:00')", "null"},
	{"totimespan('x')", "null"},
	{"totimespan(36000000000)", "\"01:00:00\""},
};

static const struct scalar_case datetimes[] = {
	{"datetime(2026-11-28)", "\"2026-11-28T00:00:00.0000000Z\""},
	{"datetime(2026-11-28 16:14:40)", "\"2026-11-28T16:14:40.0000000Z\""},
	{"datetime(2026-11-28T16:14:40.1234567Z)", "\"2026-11-28T16:14:40.1234567Z\""},
	{"datetime(2026-11-28T16:14:40.123456789Z)", "\"2026-11-28T16:14:40.1234567Z\""},
	{"datetime(2026-11-28T18:14:40+02:00)", "\"2026-11-28T16:14:40.0000000Z\""},
	{"datetime(1969-12-31 23:59:59.9999999)", "\"1969-12-31T23:59:59.9999999Z\""},
	{"datetime(0001-01-01)", "\"0001-01-01T00:00:00.0000000Z\""},
	{"datetime(2026-11-28T16:14:40.1234567Z) + 1tick", "\"2026-11-28T16:14:40.1234568Z\""},
	{"datetime(2026-03-01) - 1d", "\"2026-02-28T00:00:00.0000000Z\""},
	{"datetime(2024-03-01) - 1d", "\"2024-02-29T00:00:00.0000000Z\""},
	{"datetime(2026-11-28) - datetime(2026-11-27 12:00)", "\"12:00:00\""},
	{"1h + datetime(2026-11-28)", "\"2026-11-28T01:00:00.0000000Z\""},
	{"datetime(2026-11-28) > datetime(2026-11-27)", "true"},
	{"datetime(9999-12-31) + 1d", "null"}, /* out of range */
	{"now()", "\"2026-11-28T16:00:00.0000000Z\""},
	{"now(-5d)", "\"2026-11-23T16:00:00.0000000Z\""},
	{"now(1h)", "\"2026-11-28T17:00:00.0000000Z\""},
	{"ago(1h)", "\"2026-11-28T15:00:00.0000000Z\""},
	{"ago(-1d)", "\"2026-11-29T16:00:00.0000000Z\""},
	{"now() == now()", "true"},
	{"now() - now()", "\"00:00:00\""},
	{"ago(0s) == now()", "true"},
	{"bin(datetime(2026-11-28 16:14:40), 1h)", "\"2026-11-28T16:00:00.0000000Z\""},
	{"bin(datetime(2026-11-28 16:14:40), 1d)", "\"2026-11-28T00:00:00.0000000Z\""},
	{"bin(datetime(2026-11-28 16:14:40), 7d)", "\"2026-11-23T00:00:00.0000000Z\""}, /* Mondays, as Kusto */
	{"startofday(datetime(2026-11-28 16:14:40))", "\"2026-11-28T00:00:00.0000000Z\""},
	{"todatetime('2026-11-28T16:14:40Z')", "\"2026-11-28T16:14:40.0000000Z\""},
	{"todatetime('nonsense')", "null"},
};

static const struct scalar_case between[] = {
	{"1 between (1 .. 5)", "true"},
	{"5 between (1 .. 5)", "true"},
	{"0 between (1 .. 5)", "false"},
	{"6 between (1 .. 5)", "false"},
	{"6 !between (1 .. 5)", "true"},
	{"3 !between (1 .. 5)", "false"},
	{"2.5 between (1 .. 5)", "true"},
	{"5 between (1.0 .. 4.9)", "false"},
	{"datetime(2026-11-23 16:00) between (now(-5d) .. now())", "true"},
	{"datetime(2026-11-23 15:59:59.9999999) between (now(-5d)..now())", "false"},
	{"now() between (now(-5d)..now())", "true"},
	{"now(1tick) between (now(-5d)..now())", "false"},
	{"datetime(2026-01-01 12:00) between (datetime(2026-01-01) .. 1d)", "true"},
	{"long(null) between (1 .. 5)", "null"},
	{"2h between (1h .. 3h)", "true"},
};

static const struct scalar_case comparisons[] = {
	{"1 == 1", "true"},
	{"1 == 1.0", "true"},
	{"1 != 2", "true"},
	{"1 <> 2", "true"},
	{"1 < 2", "true"},
	{"2 <= 2", "true"},
	{"3 > 2.5", "true"},
	{"2 >= 3", "false"},
	{"'a' < 'b'", "true"},
	{"'B' < 'a'", "true"}, /* ordinal */
	{"true == true", "true"},
	{"long(null) == long(null)", "null"},
	{"long(null) == 1", "null"},
	{"parse_json('{\"a\":1}').a == 1", "true"},
	{"parse_json('{\"a\":\"x\"}').a == 'x'", "true"},
	{"dynamic([1,2]) == dynamic([1,2])", "true"},
};

static const struct scalar_case arithmetic[] = {
	{"7 / 2", "3"},
	{"7.0 / 2", "3.5"},
	{"7 % 3", "1"},
	{"-7 % 3", "-1"},
	{"2 + 3 * 4", "14"},
	{"(2 + 3) * 4", "20"},
	{"1 / 0", "null"},
	{"1.0 / 0", "\"Infinity\""},
	{"9223372036854775807 + 1", "null"},
	{"0.1 + 0.2", "0.30000000000000004"},
	{"-(3)", "-3"},
	{"-1.5", "-1.5"},
};

static const struct scalar_case sets[] = {
	{"'a' in ('a', 'b')", "true"},
	{"'A' in ('a', 'b')", "false"},
	{"'A' in~ ('a', 'b')", "true"},
	{"'A' !in ('a', 'b')", "true"},
	{"'A' !in~ ('a', 'b')", "false"},
	{"'c' !in~ ('a', 'b')", "true"},
	{"2 in (1, 2, 3)", "true"},
	{"2 in (1.0, 2.0)", "true"},
	{"2.5 in (1, 2, 3)", "false"},
	{"2 in (dynamic([1, 2]))", "true"},
	{"'b' in (dynamic(['a', 'b']))", "true"},
	{"'b' in (split('a,b', ','))", "true"},
	{"'c' in (split('a,b', ','))", "false"},
	{"long(null) in (1, 2)", "false"},
	{"long(null) !in (1, 2)", "true"},
	{"'x' in (strcat('x', ''), 'y')", "true"},
};

static const struct scalar_case logic[] = {
	{"true and false", "false"},
	{"true or false", "true"},
	{"not(true)", "false"},
	{"not(false)", "true"},
	{"bool(null) and false", "false"},
	{"bool(null) and true", "null"},
	{"bool(null) or true", "true"},
	{"bool(null) or false", "null"},
	{"not(bool(null))", "null"},
	{"1 == 1 and 'a' has 'a' or false", "true"},
	{"true == 1", "true"}, /* a bool compares with a number as 1 or 0 */
	{"false == 0", "true"},
	{"(1 > 2) == 0", "true"},
	{"true > 0.5", "true"},
	{"false or true and false", "false"}, /* and binds tighter */
	{"iff(true, 'yes', 'no')", "\"yes\""},
	{"iif(1 > 2, 'yes', 'no')", "\"no\""},
	{"iff(bool(null), 1, 2)", "2"},
	{"iff(true, 1, 2.5)", "1"},
};

static const struct scalar_case regexes[] = {
	{"'abc123' matches regex @'\\d+'", "true"},
	{"'abcdef' matches regex @'\\d+'", "false"},
	{"'ABC' matches regex '(?i)abc'", "true"},
	{"'ABC' matches regex 'abc'", "false"},
	{"'/usr/bin/rport' matches regex @'^/usr/(local/)?bin/rport$'", "true"},
	{"'a.b' matches regex @'a\\.b'", "true"},
	{"'axb' matches regex @'a\\.b'", "false"},
	{"'key=value' matches regex @'(?:key|name)=\\w+'", "true"},
	{"'aaa' matches regex 'a+?'", "true"},
	{"'x y' matches regex @'x\\sy'", "true"},
	{"'a-b' matches regex @'[\\w-]+'", "true"},
};

static const struct scalar_case functions[] = {
	{"isempty('')", "true"},
	{"isempty('a')", "false"},
	{"isempty(long(null))", "true"},
	{"isnotempty('a')", "true"},
	{"isnotempty('')", "false"},
	{"isnull('')", "false"}, /* strings are never null */
	{"isnull(long(null))", "true"},
	{"isnotnull(1)", "true"},
	{"isnull(parse_json('{}').missing)", "true"},
	{"tolower('RealVNC Ltd')", "\"realvnc ltd\""},
	{"toupper('RealVNC ä')", "\"REALVNC Ä\""},
	{"strlen('Krämer')", "6"},
	{"strlen('')", "0"},
	{"tostring(12)", "\"12\""},
	{"tostring(1.5)", "\"1.5\""},
	{"tostring(true)", "\"true\""},
	{"tostring(long(null))", "\"\""},
	{"tostring(dynamic({'a':1}))", "\"{\\\"a\\\":1}\""},
	{"tostring(parse_json('\"s\"'))", "\"s\""},
	{"tostring(datetime(2026-11-28))", "\"2026-11-28T00:00:00.0000000Z\""},
	{"tolong('42')", "42"},
	{"tolong(' 42 ')", "42"},
	{"tolong('4.7')", "4"},
	{"tolong('x')", "null"},
	{"tolong(4.7)", "4"},
	{"toint('7')", "7"},
	{"toreal('2.5')", "2.5"},
	{"todouble(3)", "3"},
	{"tobool('true')", "true"},
	{"tobool('nope')", "null"},
	{"split('a,b,c', ',')", "[\"a\",\"b\",\"c\"]"},
	{"split('a,b,c', ',')[0]", "\"a\""},
	{"split('a,b,c', ',')[-1]", "\"c\""},
	{"split('a,b,c', ',')[5]", "null"},
	{"split('a,b,c', ',', 1)", "[\"b\"]"},
	{"split('', ',')", "[\"\"]"},
	{"split('abc', '')", "[\"abc\"]"},
	{"tostring(split('host:443', ':')[0])", "\"host\""},
	{"trim_start(@'http[s]?://', 'https://x.example/a')", "\"x.example/a\""},
	{"trim_start(@'http[s]?://', 'x.example')", "\"x.example\""},
	{"trim_end(@'/+', 'path///')", "\"path\""},
	{"trim(@'-+', '--x--')", "\"x\""},
	{"parse_json('{\"uid\": 0, \"cgroup\": \"/a\"}').uid", "0"},
	{"parse_json('{\"a\": {\"b\": [1, 2]}}').a.b[1]", "2"},
	{"parse_json('{\"a b\": 1}')['a b']", "1"},
	{"parse_json('not json')", "\"not json\""},
	{"todynamic('[1]')", "[1]"},
	{"array_length(dynamic([1, 2, 3]))", "3"},
	{"array_length(dynamic({}))", "null"},
	{"strcat('a', 1, 2.5, true)", "\"a12.5true\""},
	{"substring('Krämer', 2)", "\"ämer\""},
	{"substring('abcdef', 1, 3)", "\"bcd\""},
	{"substring('abc', 5)", "\"\""},
	{"replace_string('a.b.c', '.', '::')", "\"a::b::c\""},
	{"extract(@'v(\\d+)', 1, 'rport v42')", "\"42\""},
	{"extract(@'v(\\d+)', 1, 'none')", "\"\""},
	{"coalesce(long(null), 2, 3)", "2"},
	{"coalesce('', 'b')", "\"b\""},
	{"bin(7, 5)", "5"},
	{"bin(-1, 5)", "-5"},
	{"bin(7.5, 2)", "6"},
	{"floor(7, 5)", "5"},
	{"bin(90m, 1h)", "\"01:00:00\""},
};

static void scalar_literals(void **state)
{
	(void)state;
	RUN(literals);
}

static void scalar_timespans(void **state)
{
	(void)state;
	RUN(timespans);
}

static void scalar_datetimes(void **state)
{
	(void)state;
	RUN(datetimes);
}

static void scalar_between(void **state)
{
	(void)state;
	RUN(between);
}

static void scalar_comparisons(void **state)
{
	(void)state;
	RUN(comparisons);
}

static void scalar_arithmetic(void **state)
{
	(void)state;
	RUN(arithmetic);
}

static void scalar_sets(void **state)
{
	(void)state;
	RUN(sets);
}

static void scalar_logic(void **state)
{
	(void)state;
	RUN(logic);
}

static void scalar_regexes(void **state)
{
	(void)state;
	RUN(regexes);
}

static void scalar_functions(void **state)
{
	(void)state;
	RUN(functions);
}

/*
 * parse_json(X).Name is read from X's text when the strict scanner accepts
 * it (kql/json_member.c); X['Name'] always walks jansson's tree.  Both must
 * give the same answer on every text, accepted or not.  A constant X is
 * folded when the query is compiled, so these tests read X from a column
 * (AdditionalFields), as the rules do.
 */
static const char *const member_texts[] = {
	"{\"k\":\"v\",\"other\":1}",
	"{\"a\":1,\"k\":{\"x\":[1,2,{\"k\":3}]},\"z\":null}",
	"{\"k\":1,\"k\":2}",				 /* the last wins */
	"{\"\\u006b\":\"escaped name\"}",		 /* k, escaped */
	"{\"k\\u0000\":1,\"k\":2}",			 /* NUL in a name */
	"{\"k\":\"a\\u0000b\"}",			 /* NUL in a value */
	"{\"k\":99999999999999999999}",			 /* too big an integer */
	"{\"k\":1e999}",				 /* too big a real */
	"{\"k\":1e-999}",
	"{\"k\":-0,\"j\":0.5e+3}",
	"{\"k\":true,\"t\":false}",
	"{\"k\":1,}",					 /* not JSON */
	"{\"k\":1} x",
	"{\"k\" : [ ] , \"m\" : { } }",
	" \t\n{\"k\":\"\\ud83d\\ude00\"}\r\n",
	"{\"k\":\"\\ud83d\"}",				 /* lone surrogate */
	"{\"k\":\"\xc3\xa4\"}",
	"{\"k\":\"\xc3\"}",				 /* bad UTF-8 */
	"{\"k\":\"\xed\xa0\x80\"}",			 /* a surrogate in UTF-8 */
	"[{\"k\":1}]",
	"\"k\"",
	"42",
	"",
	"{}",
	"{\"K\":1}",
	"{\"k\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", /* deep */
	"{\"Uid\":0,\"Tty\":\"pts0\",\"Cwd\":\"/root\",\"k\":\"x/cmd/rport\",\"Memfd\":false}",
	/* without k at all: decided without a parse when there is no backslash */
	"{\"Uid\":0,\"Tty\":\"pts0\"}",
	"{\"Uid\":0,\"Tty\":\"pts\\\\0\"}",
	"{\"Uid\":0,",
	"[1,2]",
	"\"x\"",
	"{\"a\":{\"b\":[]}} trailing",
};

#define MEMBER_TEXT_COUNT (sizeof(member_texts) / sizeof(member_texts[0]))

/* Rows of DeviceProcessEvents, one per text: AdditionalFields = the text,
 * ReportId = its index. */
struct text_rows {
	struct record records[MEMBER_TEXT_COUNT];
	size_t next;
};

static int text_rows_next(void *context, const struct value **row)
{
	struct text_rows *rows = context;

	if (rows->next == MEMBER_TEXT_COUNT)
		return 0;
	*row = rows->records[rows->next++].values;
	return 1;
}

static void text_rows_fill(struct text_rows *rows, const char *const *texts, size_t count)
{
	rows->next = 0;
	for (size_t i = 0; i < count; i++) {
		record_init(&rows->records[i]);
		assert_int_equal(record_set_cstring(&rows->records[i], DPE_ADDITIONAL_FIELDS,
						    texts[i]), 0);
		record_set_long(&rows->records[i], DPE_REPORT_ID, (int64_t)i);
	}
}

static void text_rows_free(struct text_rows *rows, size_t count)
{
	for (size_t i = 0; i < count; i++)
		record_free(&rows->records[i]);
}

/* The JSON text of member name of a result line (malloc'd). */
static char *member_text(json_t *line, const char *name)
{
	json_t *member = json_object_get(line, name);

	assert_non_null(member);
	return json_dumps(member, JSON_ENCODE_ANY | JSON_COMPACT);
}

static void member_of_parsed_text(void **state)
{
	const char *query_text = "DeviceProcessEvents | project ReportId, "
				 "fast = parse_json(AdditionalFields).k, "
				 "tree = parse_json(AdditionalFields)['k']";
	struct text_rows *rows = calloc(1, sizeof(*rows));
	struct kql_source source = {&dpe_schema, text_rows_next, NULL, rows};
	struct kql_query *query = test_compile(query_text);
	struct kql_table *table = NULL;
	struct kql_error error;
	size_t found = 0;

	(void)state;
	/* constants, folded at compile time */
	test_scalar("parse_json('{\"k\":1,\"k\":2}').k", "2");
	test_scalar("tostring(parse_json('{\"a\":1,\"k\":\"x/cmd/rport\"}').k)", "\"x/cmd/rport\"");
	test_scalar("parse_json('{\"k\":{\"x\":[1,2]}}').k", "{\"x\":[1,2]}");
	test_scalar("isnull(parse_json('{\"a\":1}').k)", "true");
	test_scalar("isnull(parse_json('not json').k)", "true");
	test_scalar("todynamic('{\"\\\\u006b\":5}').k", "5");
	/* a column: the fast path, against the tree on the same text */
	assert_non_null(rows);
	text_rows_fill(rows, member_texts, MEMBER_TEXT_COUNT);
	assert_int_equal(kql_execute(query, &source, 1, TEST_NOW, &table, &error), 0);
	assert_int_equal(kql_table_row_count(table), MEMBER_TEXT_COUNT);
	char *lines = test_table_json(table);
	char *cursor = lines;

	for (size_t i = 0; i < MEMBER_TEXT_COUNT; i++) {
		char *end = strchr(cursor, '\n');
		json_t *line;

		assert_non_null(end);
		*end = '\0';
		line = json_loads(cursor, JSON_ALLOW_NUL, NULL);
		if (!line)
			print_error("not JSON: %s\n", cursor);
		assert_non_null(line);
		char *fast = member_text(line, "fast"), *tree = member_text(line, "tree");
		size_t report = (size_t)json_integer_value(json_object_get(line, "ReportId"));

		if (strcmp(fast, tree) != 0)
			print_error("%s: %s, the tree gives %s\n", member_texts[report], fast, tree);
		assert_string_equal(fast, tree);
		found += strcmp(fast, "null") != 0;
		free(fast);
		free(tree);
		json_decref(line);
		cursor = end + 1;
	}
	assert_true(found >= 10); /* not only nulls compared */
	free(lines);
	kql_table_free(table);
	kql_query_free(query);
	text_rows_free(rows, MEMBER_TEXT_COUNT);
	free(rows);
}

/* jansson's allocations, counted while counting is on. */
static size_t json_allocations;

static void *counting_malloc(size_t size)
{
	json_allocations++;
	return malloc(size);
}

/* Allocations of jansson for one match of query_text against row, after a
 * first match that warms the query up; the match must succeed. */
static size_t allocations_of_match(const char *query_text, const struct value *row)
{
	struct kql_query *query = test_compile(query_text);
	size_t count;

	assert_int_equal(kql_query_row_matches(query, row, TEST_NOW), 1);
	json_allocations = 0;
	json_set_alloc_funcs(counting_malloc, free);
	for (int i = 0; i < 10; i++)
		assert_int_equal(kql_query_row_matches(query, row, TEST_NOW), 1);
	json_set_alloc_funcs(malloc, free);
	count = json_allocations;
	kql_query_free(query);
	return count;
}

/*
 * The fast path is the one taken when a rule reads a member of a column:
 * matching parse_json(AdditionalFields).k builds no tree of the object (a
 * value for the member, no more), where X['k'] builds one (an allocation
 * per member at least).
 */
static void member_of_column_builds_no_tree(void **state)
{
	struct strbuf text;
	struct record record;
	size_t fast, tree;

	(void)state;
	strbuf_init(&text);
	strbuf_append_char(&text, '{');
	for (int i = 0; i < 64; i++)
		strbuf_appendf(&text, "\"member%d\":\"value %d\",", i, i);
	strbuf_append_string(&text, "\"k\":\"x/cmd/rport\"}");
	assert_false(text.failed);
	record_init(&record);
	assert_int_equal(record_set_cstring(&record, DPE_ADDITIONAL_FIELDS, strbuf_text(&text)), 0);
	fast = allocations_of_match("DeviceProcessEvents | where tostring(parse_json("
				    "AdditionalFields).k) endswith '/cmd/rport'", record.values);
	tree = allocations_of_match("DeviceProcessEvents | where tostring(parse_json("
				    "AdditionalFields)['k']) endswith '/cmd/rport'", record.values);
	print_message("jansson allocations for 10 matches: %zu member, %zu tree\n", fast, tree);
	assert_true(tree >= 10 * 64);
	assert_true(fast <= 10 * 4);
	record_free(&record);
	strbuf_free(&text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(scalar_literals),    cmocka_unit_test(scalar_timespans),
		cmocka_unit_test(scalar_datetimes),   cmocka_unit_test(scalar_between),
		cmocka_unit_test(scalar_comparisons), cmocka_unit_test(scalar_arithmetic),
		cmocka_unit_test(scalar_sets),	      cmocka_unit_test(scalar_logic),
		cmocka_unit_test(scalar_regexes),     cmocka_unit_test(scalar_functions),
		cmocka_unit_test(member_of_parsed_text),
		cmocka_unit_test(member_of_column_builds_no_tree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
