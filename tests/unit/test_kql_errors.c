/*
 * test_kql_errors.c - compile errors: kind, line, column, the expected-what
 * message, and the formatted source line with its caret; unknown columns and
 * functions fail at compile time; unsupported tables are their own kind.
 */
#include <errno.h>

#include "kql_test.h"

static void expect_error(const char *text, enum kql_error_kind kind, unsigned line,
			 unsigned column, const char *fragment)
{
	struct kql_error error = test_compile_error(text);

	if (error.kind != kind || error.line != line || error.column != column ||
	    !strstr(error.message, fragment))
		print_error("%s\n  got %s at %u:%u: %s\n", text, kql_error_kind_name(error.kind),
			    error.line, error.column, error.message);
	assert_int_equal(error.kind, kind);
	assert_int_equal(error.line, line);
	assert_int_equal(error.column, column);
	assert_non_null(strstr(error.message, fragment));
}

static void syntax_errors(void **state)
{
	(void)state;
	expect_error("DeviceProcessEvents\n| Sha1 in (x)", KQL_ERROR_SYNTAX, 2, 3,
		     "expected a tabular operator after '|'");
	expect_error("DeviceProcessEvents | where", KQL_ERROR_SYNTAX, 1, 28,
		     "expected an expression, found the end of the query");
	expect_error("DeviceProcessEvents | where FileName has 'x", KQL_ERROR_SYNTAX, 1, 42,
		     "unterminated string");
	expect_error("DeviceProcessEvents | where Timestamp > ago(5w)", KQL_ERROR_SYNTAX, 1, 46,
		     "unknown timespan unit 'w'");
	expect_error("DeviceProcessEvents | where Timestamp between (now(-1d) now())",
		     KQL_ERROR_SYNTAX, 1, 57, "expected '..'");
	expect_error("let x = 1\nDeviceProcessEvents", KQL_ERROR_SYNTAX, 2, 1,
		     "expected ';' to end the let statement");
	expect_error("let x = 1;", KQL_ERROR_SYNTAX, 1, 11, "expected a tabular expression");
	expect_error("DeviceProcessEvents | where FileName in ('a' 'b' c)", KQL_ERROR_SYNTAX, 1,
		     50, "expected ',' or ')' in the list of 'in'");
	expect_error("DeviceProcessEvents | where x == 'a\\q'", KQL_ERROR_SYNTAX, 1, 36,
		     "unknown escape sequence");
	expect_error("DeviceProcessEvents | where Timestamp > datetime(2026-13-01)",
		     KQL_ERROR_SYNTAX, 1, 41, "expected a datetime");
	expect_error("DeviceProcessEvents | summarize count() by", KQL_ERROR_SYNTAX, 1, 43,
		     "expected an expression");
	expect_error("DeviceProcessEvents | where 'a' in (dynamic([1,]))", KQL_ERROR_SYNTAX, 1, 48,
		     "expected a value after ','");
	expect_error("DeviceProcessEvents | where 'a' in (dynamic({'k' 1}))", KQL_ERROR_SYNTAX, 1, 50,
		     "expected ':' after a property name");
	expect_error("DeviceProcessEvents | where a # b", KQL_ERROR_SYNTAX, 1, 31,
		     "unexpected character '#'");
	expect_error("DeviceProcessEvents | lookup (x) on y", KQL_ERROR_UNSUPPORTED, 1, 23,
		     "'lookup' operator is not supported");
	expect_error("DeviceProcessEvents | make-series count() on Timestamp step 1h",
		     KQL_ERROR_UNSUPPORTED, 1, 23, "'make-series' operator is not supported");
	expect_error("DeviceProcessEvents | join kind=sideways (x) on y", KQL_ERROR_SYNTAX, 1, 33,
		     "unknown join kind");
	expect_error("DeviceProcessEvents | join (DeviceProcessEvents) on $left.A = $right.B",
		     KQL_ERROR_SYNTAX, 1, 53, "expected a join condition");
	expect_error("DeviceProcessEvents | join (DeviceProcessEvents) FileName", KQL_ERROR_SYNTAX, 1,
		     50, "expected 'on'");
	expect_error("union Device*", KQL_ERROR_UNSUPPORTED, 1, 7, "wildcards");
	expect_error("print x = 1", KQL_ERROR_UNSUPPORTED, 1, 1, "'print' operator is not supported");
	expect_error("search \"rport\"", KQL_ERROR_UNSUPPORTED, 1, 1, "'search' operator");
	expect_error("DeviceProcessEvents | where FileSize == toscalar(DeviceProcessEvents | count)",
		     KQL_ERROR_UNSUPPORTED, 1, 41, "the Kusto function 'toscalar' is not supported");
	expect_error("DeviceProcessEvents | summarize percentile(FileSize, 95)", KQL_ERROR_UNSUPPORTED,
		     1, 33, "the Kusto aggregation 'percentile' is not supported");
	expect_error("DeviceProcessEvents | parse FileName with", KQL_ERROR_SYNTAX, 1, 42,
		     "expected a pattern after 'with'");
	expect_error("DeviceProcessEvents | mv-expand x to string", KQL_ERROR_SYNTAX, 1, 38,
		     "typeof(type) after 'to'");
	expect_error("DeviceProcessEvents; DeviceProcessEvents", KQL_ERROR_UNSUPPORTED, 1, 22,
		     "one tabular expression");
}

static void name_errors(void **state)
{
	(void)state;
	expect_error("DeviceProcessEvents | where Sha1 == 'x'", KQL_ERROR_NAME, 1, 29,
		     "unknown column or name 'Sha1' (did you mean 'SHA1'?");
	expect_error("DeviceProcessEvents | where NoSuchColumn == 'x'", KQL_ERROR_NAME, 1, 29,
		     "unknown column or name 'NoSuchColumn'");
	expect_error("DeviceProcessEvents | where nosuchfunction(FileName)", KQL_ERROR_NAME, 1, 29,
		     "unknown function 'nosuchfunction'");
	expect_error("NoSuchTable | take 1", KQL_ERROR_NAME, 1, 1, "unknown table 'NoSuchTable'");
	expect_error("DeviceProcessEvents | project FileName | where FolderPath has 'x'",
		     KQL_ERROR_NAME, 1, 48, "unknown column or name 'FolderPath'");
	expect_error("DeviceProcessEvents | project-away Nope", KQL_ERROR_NAME, 1, 36,
		     "unknown column 'Nope'");
	expect_error("let t = now(); DeviceProcessEvents | where T > 1", KQL_ERROR_NAME, 1, 44,
		     "did you mean 't'?");
}

/* join, union, mv-expand and parse check their names and types. */
static void tabular_errors(void **state)
{
	(void)state;
	expect_error("DeviceProcessEvents | join (DeviceProcessEvents) on Nope", KQL_ERROR_NAME, 1,
		     53, "unknown column 'Nope' on the left side of the join");
	expect_error("DeviceProcessEvents | join (DeviceProcessEvents | project A = 1) on "
		     "$left.FileName == $right.B",
		     KQL_ERROR_NAME, 1, 87, "unknown column 'B' on the right side");
	expect_error("DeviceProcessEvents | join (DeviceProcessEvents) on $left.FileName == "
		     "$right.FileSize",
		     KQL_ERROR_TYPE, 1, 53, "differ in type");
	expect_error("DeviceProcessEvents | join (DeviceNetworkEvents) on DeviceId",
		     KQL_ERROR_UNSUPPORTED_TABLE, 1, 29, "DeviceNetworkEvents");
	expect_error("union DeviceProcessEvents, (datatable(FileName:long)[1])", KQL_ERROR_UNSUPPORTED,
		     1, 1, "column 'FileName' is a string in one table and a long");
	expect_error("DeviceProcessEvents | parse kind=regex FileName with '(' x", KQL_ERROR_TYPE, 1,
		     54, "missing closing parenthesis");
}

static void type_errors(void **state)
{
	(void)state;
	expect_error("DeviceProcessEvents | where FileSize == 'x'", KQL_ERROR_TYPE, 1, 38,
		     "cannot compare a long with a string");
	expect_error("DeviceProcessEvents | where count() > 1", KQL_ERROR_TYPE, 1, 29,
		     "aggregation function 'count' can only be used in summarize");
	expect_error("DeviceProcessEvents | summarize tolower(FileName)", KQL_ERROR_TYPE, 1, 33,
		     "expected an aggregation function");
	expect_error("DeviceProcessEvents | where FileName matches regex FolderPath",
		     KQL_ERROR_TYPE, 1, 52, "constant string");
	expect_error("DeviceProcessEvents | where FileName matches regex '(unclosed'",
		     KQL_ERROR_TYPE, 1, 52, "bad regular expression");
	expect_error("DeviceProcessEvents | summarize sum(FileName)", KQL_ERROR_TYPE, 1, 33,
		     "sum() needs a number");
	expect_error("DeviceProcessEvents | where Timestamp + 1", KQL_ERROR_TYPE, 1, 39,
		     "operator '+' does not apply to a datetime and a long");
	expect_error("DeviceProcessEvents | take FileSize", KQL_ERROR_NAME, 1, 28,
		     "unknown name 'FileSize'");
	expect_error("DeviceProcessEvents | where strlen('a', 'b') > 1", KQL_ERROR_TYPE, 1, 29,
		     "strlen() takes 1 argument, found 2");
	expect_error("DeviceProcessEvents | summarize make_set(FileName, FileSize)", KQL_ERROR_TYPE,
		     1, 52, "the maximum must be a constant");
}

static void unsupported_tables(void **state)
{
	(void)state;
	expect_error("DeviceNetworkEvents | where RemoteUrl has 'x'", KQL_ERROR_UNSUPPORTED_TABLE, 1,
		     1, "table 'DeviceNetworkEvents' is not filled by rmmhunt");
	expect_error("let s = DeviceFileCertificateInfo | distinct SHA1;\n"
		     "DeviceProcessEvents | where SHA1 in (s)",
		     KQL_ERROR_UNSUPPORTED_TABLE, 1, 9, "DeviceFileCertificateInfo");
	expect_error("DeviceProcessEvents | where SHA1 in (DeviceFileCertificateInfo | project SHA1)",
		     KQL_ERROR_UNSUPPORTED_TABLE, 1, 38, "DeviceFileCertificateInfo");
	assert_true(kql_known_table("DeviceRegistryEvents"));
	assert_true(kql_known_table("DeviceProcessEvents"));
	assert_false(kql_known_table("deviceprocessevents"));
}

/* Syntax errors come first, whatever else is wrong earlier in the text. */
static void syntax_before_tables(void **state)
{
	(void)state;
	expect_error("let s = DeviceFileCertificateInfo | where Signer has 'DWSNET OÜ' | distinct Sha1;\n"
		     "DeviceProcessEvents\n| Sha1 in (s)",
		     KQL_ERROR_SYNTAX, 3, 3, "found 'Sha1'");
	expect_error("DeviceProcessEvents | where Nope == 1 | where (", KQL_ERROR_SYNTAX, 1, 48,
		     "expected an expression");
}

/* Another error first: the tables rmmhunt does not fill are still named. */
static void unsupported_tables_named(void **state)
{
	(void)state;
	expect_error("let s = DeviceFileCertificateInfo | distinct SHA1;\n"
		     "DeviceProcessEvents | where (",
		     KQL_ERROR_SYNTAX, 2, 30,
		     "(the query also reads DeviceFileCertificateInfo, not filled by rmmhunt)");
	expect_error("DeviceProcessEvents | where Nope == 1 | join (DeviceNetworkEvents | take 1) "
		     "on DeviceId",
		     KQL_ERROR_NAME, 1, 29, "also reads DeviceNetworkEvents");
}

/* A very long line is cut around the spot, never printed whole. */
static void long_lines(void **state)
{
	char text[4096];
	size_t used = (size_t)snprintf(text, sizeof(text), "DeviceProcessEvents | where ");

	(void)state;
	for (int i = 0; i < 300; i++)
		text[used++] = '(';
	text[used] = '\0';
	struct kql_error error = test_compile_error(text);
	char *formatted = kql_error_format(&error, text, strlen(text), "q");

	assert_non_null(strstr(error.message, "nested too deep"));
	assert_true(strlen(formatted) < 500);
	assert_non_null(strstr(formatted, "\n    …((((("));
	/* the caret stays under the spot */
	const char *source = strstr(formatted, "\n    ") + 5;
	const char *caret = strrchr(formatted, '^');
	const char *caret_line = strchr(source, '\n') + 1;

	assert_true(caret - caret_line > 90);
	free(formatted);
}

static void caret_format(void **state)
{
	(void)state;
	const char *text = "let a = 1;\r\nDeviceProcessEvents\r\n|\twhere Signer has 'DWSNET OÜ' and Sha1 == 'x'";
	struct kql_error error = test_compile_error(text);
	char *formatted = kql_error_format(&error, text, strlen(text), "rules/x.yaml");

	assert_non_null(formatted);
	assert_string_equal(formatted,
			    "rules/x.yaml:3:9: unknown name: unknown column or name 'Signer'\n"
			    "    |\twhere Signer has 'DWSNET OÜ' and Sha1 == 'x'\n"
			    "     \t      ^\n");
	free(formatted);
	/* the column counts characters: the caret lines up after 'OÜ' */
	text = "DeviceProcessEvents | where FileName has 'OÜ' and Sha1 == 'x'";
	error = test_compile_error(text);
	assert_int_equal(error.column, 51);
	formatted = kql_error_format(&error, text, strlen(text), NULL);
	assert_non_null(strstr(formatted, "query:1:51: "));
	assert_non_null(strstr(formatted, "\n                                                      ^\n"));
	free(formatted);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(syntax_errors),	cmocka_unit_test(name_errors),
		cmocka_unit_test(type_errors),		cmocka_unit_test(unsupported_tables),
		cmocka_unit_test(syntax_before_tables), cmocka_unit_test(caret_format),
		cmocka_unit_test(tabular_errors),	cmocka_unit_test(unsupported_tables_named),
		cmocka_unit_test(long_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
