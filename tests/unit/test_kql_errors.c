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
	expect_error("DeviceProcessEvents | join (x) on y", KQL_ERROR_UNSUPPORTED, 1, 23,
		     "'join' operator is not supported");
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
