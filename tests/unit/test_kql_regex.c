/*
 * test_kql_regex.c - Kusto regular expressions (RE2 syntax): characters not
 * bytes, `.` and newlines, ASCII \d \w \s \b as in RE2, Unicode (?i), flags
 * inside a pattern, classes with a '-' after a range, the anchors, what RE2
 * refuses (back-references, look-around, possessive repeats...), and
 * patterns that would backtrack for ever, answered exactly and quickly.
 */
#include <time.h>

#include "kql_test.h"

struct regex_case {
	const char *expression;
	const char *expected;
};

static const struct regex_case cases[] = {
	/* characters, not bytes */
	{"'ä.exe' matches regex @'^.\\.exe$'", "true"},
	{"'äb' matches regex @'^..$'", "true"},
	{"'äb' matches regex @'^...$'", "false"},
	{"'日本' matches regex @'^.{2}$'", "true"},
	/* . and newlines; the s flag */
	{"'a\\nb' matches regex 'a.b'", "false"},
	{"'a\\nb' matches regex '(?s)a.b'", "true"},
	{"'a\\rb' matches regex 'a.b'", "true"},
	/* $ at the very end unless m; ^ $ per line with m */
	{"'abc\\n' matches regex 'abc$'", "false"},
	{"'line1\\nline2' matches regex '^line2$'", "false"},
	{"'line1\\nline2' matches regex '(?m)^line2$'", "true"},
	{"'abc' matches regex @'\\Aabc\\z'", "true"},
	/* RE2's ASCII classes */
	{"'123' matches regex @'^\\d+$'", "true"},
	{"'١٢٣' matches regex @'^\\d+$'", "false"},
	{"'ä' matches regex @'^\\w$'", "false"},
	{"'a_1' matches regex @'^\\w+$'", "true"},
	{"'\\u00a0' matches regex @'\\s'", "false"},
	{"'\\t\\n\\u000c\\r ' matches regex @'^\\s+$'", "true"},
	{"'word' matches regex @'\\bword\\b'", "true"},
	{"'swordfish' matches regex @'\\bword\\b'", "false"},
	{"'ä' matches regex @'\\pL'", "true"},
	{"'1' matches regex @'\\p{L}'", "false"},
	{"'a1' matches regex '[[:alpha:]][[:digit:]]'", "true"},
	/* \\v is the vertical tab, as in RE2 */
	{"'\\u000b' matches regex @'^\\v$'", "true"},
	{"'\\n' matches regex @'^\\v$'", "false"},
	/* case folding, flags anywhere */
	{"'Krämer' matches regex '(?i)KRÄMER'", "true"},
	{"'Krämer' matches regex 'KRÄMER'", "false"},
	{"'xABC' matches regex 'x(?i)abc'", "true"},
	{"'XABC' matches regex 'x(?i)abc'", "false"},
	{"'xABCd' matches regex 'x(?i:abc)d'", "true"},
	{"'xABCD' matches regex 'x(?i:abc)d'", "false"},
	{"'ABC' matches regex '(?i)a(?-i)BC'", "true"},
	{"'Abc' matches regex '(?i)a(?-i)BC'", "false"},
	/* classes: a '-' after a range or at an end is literal */
	{"'x-y_z 1' matches regex @'^[a-zA-Z0-9-_ ]+$'", "true"},
	{"'x;y' matches regex @'^[a-zA-Z0-9-_ ]+$'", "false"},
	{"'a-b' matches regex @'[\\w-]+'", "true"},
	{"']' matches regex @'[]a]'", "true"},
	{"'^' matches regex @'[\\^]'", "true"},
	/* groups, alternation, lazy repeats, counted repeats */
	{"'key=value' matches regex @'(?:key|name)=\\w+'", "true"},
	{"'v42' matches regex @'(?P<n>\\d+)'", "true"},
	{"'aaa' matches regex 'a+?'", "true"},
	{"'aaaa' matches regex '^a{2,3}$'", "false"},
	{"'aaa' matches regex '^a{2,3}$'", "true"},
	{"'a{x}' matches regex 'a{x}'", "true"},
	{"'a{,3}' matches regex 'a{,3}'", "true"},
	/* escapes */
	{"'a.b' matches regex @'a\\.b'", "true"},
	{"'axb' matches regex @'a\\.b'", "false"},
	{"'\\t' matches regex @'\\x09'", "true"},
	{"'A' matches regex @'\\x{41}'", "true"},
	{"'a+b' matches regex @'\\Qa+b\\E'", "true"},
	{"'\\n' matches regex @'\\012'", "true"},
	/* extract on characters and groups */
	{"extract(@'v(\\d+)', 1, 'rport v42')", "\"42\""},
	{"extract(@'v(\\d+)', 0, 'rport v42')", "\"v42\""},
	{"extract(@'v(\\d+)', 1, 'none')", "\"\""},
	{"extract(@'(x)|(y)', 2, 'y')", "\"y\""},
	{"extract(@'(x)|(y)', 1, 'y')", "\"\""},
	{"extract(@'^(.)', 1, 'äbc')", "\"ä\""},
	{"extract('(?i)(KRÄMER)', 1, 'x krämer y')", "\"krämer\""},
	{"trim_start(@'\\s+', '  x')", "\"x\""},
};

static void conformance(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		test_scalar(cases[i].expression, cases[i].expected);
}

/* What RE2 refuses is a compile error here too, with the reason. */
static void refused(void **state)
{
	static const struct {
		const char *pattern;
		const char *message;
	} refusals[] = {
		{"'(a)\\\\1'", "back-references"},
		{"'(?=a)'", "look-around"},
		{"'(?!a)'", "look-around"},
		{"'(?<=a)b'", "look-around"},
		{"'(?<!a)b'", "look-around"},
		{"'(?>a)'", "'(?' groups"},
		{"'a*+'", "possessive"},
		{"'a++'", "possessive"},
		{"'a{2}+'", "possessive"},
		{"'a**'", "bad repetition"},
		{"'a{1001}'", "repeat count above 1000"},
		{"'(a{2}){1001}'", "repeat count above 1000"},
		{"'(?x)a b'", "'(?' groups"},
		{"'(*UTF)a'", "'(*' verbs"},
		{"'a\\\\Kb'", "'\\K'"},
		{"'\\\\h'", "'\\h'"},
		{"'\\\\Z'", "'\\Z'"},
		{"'(unclosed'", "bad regular expression"},
		{"'[a-'", "missing ']'"},
		{"'a\\\\'", "trailing backslash"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		char text[256];

		snprintf(text, sizeof(text), "DeviceProcessEvents | where FileName matches regex %s",
			 refusals[i].pattern);
		struct kql_error error = test_compile_error(text);

		if (!strstr(error.message, refusals[i].message))
			print_error("%s: %s\n", refusals[i].pattern, error.message);
		assert_int_equal(error.kind, KQL_ERROR_TYPE);
		assert_non_null(strstr(error.message, refusals[i].message));
		assert_int_equal(error.column, 52);
	}
}

static double seconds(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/*
 * Patterns that make a backtracking matcher run for ever on a near miss:
 * the answer is exact (the DFA matcher takes over at the match limit).  No
 * timing is asserted; the test would simply not finish without the limit.
 */
static void catastrophic_patterns(void **state)
{
	char expression[512], subject[80];

	(void)state;
	memset(subject, 'a', 40);
	subject[40] = '\0';
	snprintf(expression, sizeof(expression), "'%s!' matches regex '^(a+)+$'", subject);
	double started = seconds();

	test_scalar(expression, "false");
	snprintf(expression, sizeof(expression), "'%s' matches regex '^(a+)+$'", subject);
	test_scalar(expression, "true");
	snprintf(expression, sizeof(expression), "'%sb' matches regex '(a|aa)+b'", subject);
	test_scalar(expression, "true");
	snprintf(expression, sizeof(expression), "'%sc' matches regex '(a|aa)+b'", subject);
	test_scalar(expression, "false");
	snprintf(expression, sizeof(expression), "'%s' matches regex '(x+x+)+y'", subject);
	test_scalar(expression, "false");
	memset(subject, 'a', 60);
	subject[60] = '\0';
	snprintf(expression, sizeof(expression), "'%s!' matches regex @'^(\\w+\\s?)*$'", subject);
	test_scalar(expression, "false");
	snprintf(expression, sizeof(expression), "'%s' matches regex @'^(\\w+\\s?)*$'", subject);
	test_scalar(expression, "true");
	print_message("catastrophic patterns answered in %.3f s\n", seconds() - started);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(conformance),
		cmocka_unit_test(refused),
		cmocka_unit_test(catastrophic_patterns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
