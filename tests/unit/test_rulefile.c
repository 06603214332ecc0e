/*
 * test_rulefile.c - Sentinel YAML rule files: fields, lists, CRLF, where the
 * query sits in the file.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rules/rulefile.h"

static void test_block_query_with_crlf_and_no_final_newline(void **state)
{
	static const char text[] =
		"id: c9f414d3-beeb-4837-a5a1-cb5da313e37f\r\n"
		"name: RPort - Create Process\r\n"
		"tactics: CommandAndControl\r\n"
		"relevantTechniques: T1219\r\n"
		"query: |\r\n"
		"  let Time_start = now(-5d);\r\n"
		"  DeviceProcessEvents \r\n"
		"  | where ProcessVersionInfoCompanyName has 'RealVNC'";
	struct rule_file rule;
	struct rule_file_error error;

	(void)state;
	assert_int_equal(rule_file_parse(text, sizeof(text) - 1, "t.yaml", &rule, &error), 0);
	assert_string_equal(rule.id, "c9f414d3-beeb-4837-a5a1-cb5da313e37f");
	assert_string_equal(rule.name, "RPort - Create Process");
	assert_string_equal(rule.tactics, "CommandAndControl");
	assert_string_equal(rule.techniques, "T1219");
	assert_non_null(strstr(rule.query, "has 'RealVNC'"));
	assert_int_equal(strncmp(rule.query, "let Time_start", 14), 0);
	assert_int_equal(rule.query_line, 6);
	assert_int_equal(rule.query_column, 3);
	rule_file_free(&rule);
}

static void test_lists_are_joined(void **state)
{
	static const char text[] =
		"id: x\n"
		"tactics:\n"
		"  - CommandAndControl\n"
		"  - Persistence\n"
		"relevantTechniques: [T1219, T1133]\n"
		"requiredDataConnectors:\n"
		"- connectorId: MicrosoftThreatProtection\n"
		"  dataTypes:\n"
		"  - DeviceProcessEvents\n"
		"query: \"DeviceProcessEvents | take 1\"\n";
	struct rule_file rule;
	struct rule_file_error error;

	(void)state;
	assert_int_equal(rule_file_parse(text, sizeof(text) - 1, "t.yaml", &rule, &error), 0);
	assert_string_equal(rule.tactics, "CommandAndControl, Persistence");
	assert_string_equal(rule.techniques, "T1219, T1133");
	assert_string_equal(rule.query, "DeviceProcessEvents | take 1");
	assert_string_equal(rule.description, "");
	assert_int_equal(rule.query_line, 10);
	assert_int_equal(rule.query_column, 9);
	rule_file_free(&rule);
}

static void test_bad_files_say_why(void **state)
{
	static const char no_query[] = "id: x\nname: y\n";
	static const char not_mapping[] = "- a\n- b\n";
	static const char broken[] = "id: x\nquery: [unclosed\n";
	struct rule_file rule;
	struct rule_file_error error;

	(void)state;
	assert_int_equal(rule_file_parse(no_query, sizeof(no_query) - 1, "a", &rule, &error), -EINVAL);
	assert_non_null(strstr(error.message, "no query"));
	assert_int_equal(rule_file_parse(not_mapping, sizeof(not_mapping) - 1, "b", &rule, &error),
			 -EINVAL);
	assert_non_null(strstr(error.message, "mapping"));
	assert_int_equal(rule_file_parse(broken, sizeof(broken) - 1, "c", &rule, &error), -EINVAL);
	assert_true(error.line >= 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_block_query_with_crlf_and_no_final_newline),
		cmocka_unit_test(test_lists_are_joined),
		cmocka_unit_test(test_bad_files_say_why),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
