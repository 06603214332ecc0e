/*
 * test_kql_ops.c - conformance of KQL's string operators (kql_ops.h), both as
 * plain C functions and inside queries: term-based has with ASCII folding and
 * the boundary rule, phrases with punctuation, short terms, non-ASCII text,
 * '_' as a separator, and the contains/startswith/endswith/=~ family.
 */
#include <errno.h>

#include "kql/kql_ops.h"
#include "kql_test.h"

struct has_case {
	const char *haystack;
	const char *needle;
	bool expected;
};

/* The cases of the mission notes, then phrases, short terms, non-ASCII. */
static const struct has_case has_cases[] = {
	{"KustoExplorerQueryRun", "Explorer", false},
	{"North America", "north america", true},
	{"North America", "america", true},
	{"RealVNC Ltd", "RealVNC", true},
	{"RealVNC Ltd.", "realvnc ltd", true},
	{"rport.exe", "rport", true},
	{"rportd", "rport", false},
	{"rportd rport", "rport", true}, /* a failed boundary does not stop the search */
	{"Kusto: ad67d136-c1db-4f9f-88ef-d94f3b6b0b5a;KustoExplorerQueryRun", "c1db", true},
	{"Kusto: ad67d136-c1db-4f9f-88ef-d94f3b6b0b5a;KustoExplorerQueryRun", "c1d", false},
	{"Servably, Inc.", "Servably, Inc.", true},
	{"servably, inc.", "Servably, Inc.", true},
	{"Servably, Inc.com", "Servably, Inc.", true}, /* ends with '.': no right boundary */
	{"XServably, Inc.", "Servably, Inc.", false},
	{"Servably Inc.", "Servably, Inc.", false},
	{"getscreen.me", "getscreen.me", true},
	{"www.getscreen.me", "getscreen.me", true},
	{"getscreen.media", "getscreen.me", false},
	{"C:\\Program Files\\Level\\level.exe", "\\Program Files\\Level\\", true},
	{"C:\\PROGRAM FILES\\LEVEL\\level.exe", "\\Program Files\\Level\\", true},
	{"C:\\Program Files\\Level2\\level.exe", "\\Program Files\\Level\\", false},
	{"C:\\Program Files (x86)\\Level\\x", "\\Program Files (x86)\\Level\\", true},
	{"a b c", "b", true},		/* one-letter terms */
	{"abc", "b", false},
	{"a", "a", true},
	{"x IT Solutions", "it", true},	/* two-letter terms */
	{"Kit", "it", false},
	{"MSP360 RM", "RM", true},
	{"RMM", "RM", false},
	{"Krämer IT Solutions GmbH", "Krämer IT Solutions GmbH", true}, /* non-ASCII */
	{"Krämer IT Solutions GmbH", "kräMER it", true},
	{"Krämer IT Solutions GmbH", "Kr", false}, /* 'ä' continues the term */
	{"Krämer IT Solutions GmbH", "mer", false},
	{"DWSNET OÜ", "DWSNET OÜ", true},
	{"DWSNET OÜ", "dwsnet OÜ", true},
	{"DWSNET OÜ", "dwsnet oü", false}, /* ASCII folding only */
	{"DWSNET OÜX", "DWSNET OÜ", false},
	{"rport_client", "rport", true}, /* '_' separates terms */
	{"my_tool", "tool", true},
	{"my_tool", "my_tool", true},
	{"anything", "", true},
	{"", "", true},
	{"", "a", false},
	{"ab", "abc", false},
	{"one.two", ".", true}, /* no term characters: a plain search */
};

static void has_function(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(has_cases) / sizeof(has_cases[0]); i++) {
		const struct has_case *c = &has_cases[i];
		bool got = kql_has(c->haystack, strlen(c->haystack), c->needle, strlen(c->needle));

		if (got != c->expected)
			print_error("'%s' has '%s': got %d\n", c->haystack, c->needle, got);
		assert_int_equal(got, c->expected);
	}
}

static void has_prepared_needle(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(has_cases) / sizeof(has_cases[0]); i++) {
		const struct has_case *c = &has_cases[i];
		struct kql_needle needle;
		char folded[128];

		kql_needle_init(&needle, KQL_MATCH_HAS, false, c->needle, strlen(c->needle), folded);
		assert_int_equal(kql_needle_match(&needle, c->haystack, strlen(c->haystack)),
				 c->expected);
	}
}

/* The same cases through the query language: a literal needle (prepared)
 * and a computed one (generic path) must agree. */
static void has_in_queries(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(has_cases) / sizeof(has_cases[0]); i++) {
		const struct has_case *c = &has_cases[i];
		char expression[512];
		json_t *hay = json_string(c->haystack), *needle = json_string(c->needle);
		char *hay_text = json_dumps(hay, JSON_ENCODE_ANY);
		char *needle_text = json_dumps(needle, JSON_ENCODE_ANY);

		snprintf(expression, sizeof(expression), "%s has %s", hay_text, needle_text);
		test_scalar(expression, c->expected ? "true" : "false");
		snprintf(expression, sizeof(expression), "%s !has %s", hay_text, needle_text);
		test_scalar(expression, c->expected ? "false" : "true");
		snprintf(expression, sizeof(expression), "%s has strcat(%s)", hay_text, needle_text);
		test_scalar(expression, c->expected ? "true" : "false");
		free(hay_text);
		free(needle_text);
		json_decref(hay);
		json_decref(needle);
	}
}

static void case_sensitive_has(void **state)
{
	(void)state;
	assert_true(kql_has_cs("RealVNC Ltd", 11, "RealVNC", 7));
	assert_false(kql_has_cs("RealVNC Ltd", 11, "realvnc", 7));
	test_scalar("'RealVNC Ltd' has_cs 'RealVNC'", "true");
	test_scalar("'RealVNC Ltd' has_cs 'realvnc'", "false");
	test_scalar("'RealVNC Ltd' !has_cs 'realvnc'", "true");
	test_scalar("'North America' hasprefix 'amer'", "true");
	test_scalar("'North America' hasprefix 'meri'", "false");
	test_scalar("'North America' hassuffix 'rica'", "true");
	test_scalar("'North America' hassuffix 'Ame'", "false");
	test_scalar("'North America' hasprefix_cs 'amer'", "false");
}

static void substring_family(void **state)
{
	(void)state;
	assert_true(kql_contains("FabriKam", 8, "BRik", 4));
	assert_false(kql_contains("Fabrikam", 8, "xyz", 3));
	assert_true(kql_startswith("level.exe", 9, "LEVEL", 5));
	assert_true(kql_endswith("level.EXE", 9, ".exe", 4));
	assert_true(kql_equals_ci("aBc", 3, "ABC", 3));
	assert_false(kql_equals_ci("aBc", 3, "ABCD", 4));
	test_scalar("'FabriKam' contains 'BRik'", "true");
	test_scalar("'Fabrikam' !contains 'xyz'", "true");
	test_scalar("'FabriKam' contains_cs 'Kam'", "true");
	test_scalar("'FabriKam' contains_cs 'kam'", "false");
	test_scalar("'Fabrikam' !contains_cs 'Kam'", "true");
	test_scalar("'level.exe' startswith 'LEVEL'", "true");
	test_scalar("'level.exe' !startswith 'evel'", "true");
	test_scalar("'level.exe' startswith_cs 'LEVEL'", "false");
	test_scalar("'Fabrikam' endswith 'Kam'", "true");
	test_scalar("'Fabrikam' !endswith 'brik'", "true");
	test_scalar("'Fabrikam' endswith_cs 'Kam'", "false");
	test_scalar("'abc' =~ 'ABC'", "true");
	test_scalar("'aBc' !~ 'xyz'", "true");
	test_scalar("'aBc' == 'aBc'", "true");
	test_scalar("'abc' == 'ABC'", "false");
	test_scalar("'abc' != 'ABC'", "true");
	test_scalar("'pdq-connect-agent.exe' =~ 'PDQ-Connect-Agent.EXE'", "true");
	test_scalar("'Ü' =~ 'ü'", "false"); /* ASCII folding only */
	test_scalar("'' contains ''", "true");
	test_scalar("'' startswith ''", "true");
}

static void has_any_and_all(void **state)
{
	(void)state;
	test_scalar("'Barracuda MSP agent' has_any ('Barracuda MSP', 'LPI Level Platforms')", "true");
	test_scalar("'LPI Level Platforms Inc' has_any ('Barracuda MSP',\n\t'LPI Level Platforms' // c\n)",
		    "true");
	test_scalar("'Barracuda' has_any ('Barracuda MSP', 'LPI')", "false");
	test_scalar("'ISL Light client' has_all ('ISL', 'light')", "true");
	test_scalar("'ISL client' has_all ('ISL', 'light')", "false");
	test_scalar("'a b' has_any (dynamic(['x', 'b']))", "true");
	test_scalar("'a b' has_any (dynamic(['x', 'y']))", "false");
	test_scalar("'a b' has_any (split('x,a', ','))", "true");
	test_scalar("'a b' has_all (split('b,a', ','))", "true");
	test_scalar("'a b' has_all (split('b,c', ','))", "false");
}

/* An obviously correct has/contains: try every position. */
static bool reference_match(enum kql_match match, const char *hay, size_t hay_length,
			    const char *needle, size_t needle_length)
{
	bool starts_term = needle_length && kql_is_term_byte((unsigned char)needle[0]);
	bool ends_term = needle_length && kql_is_term_byte((unsigned char)needle[needle_length - 1]);

	if (needle_length > hay_length)
		return false;
	for (size_t i = 0; i + needle_length <= hay_length; i++) {
		bool equal = true;

		for (size_t j = 0; j < needle_length && equal; j++) {
			unsigned char a = (unsigned char)hay[i + j], b = (unsigned char)needle[j];

			if (a >= 'A' && a <= 'Z')
				a = (unsigned char)(a + 32);
			if (b >= 'A' && b <= 'Z')
				b = (unsigned char)(b + 32);
			equal = a == b;
		}
		if (!equal)
			continue;
		if (match == KQL_MATCH_CONTAINS)
			return true;
		if (starts_term && i > 0 && kql_is_term_byte((unsigned char)hay[i - 1]))
			continue;
		if (ends_term && i + needle_length < hay_length &&
		    kql_is_term_byte((unsigned char)hay[i + needle_length]))
			continue;
		return true;
	}
	return false;
}

/* Random strings over a small alphabet (both cases, separators, UTF-8
 * bytes), long enough to cross the 8-byte scanning steps. */
static void matches_reference(void **state)
{
	static const char alphabet[] = "aAbB_. -\xc3\xa4" "0@`[{";
	uint64_t random = 88172645463325252ULL;

	(void)state;
	for (int round = 0; round < 200000; round++) {
		char hay[48], needle[6];
		size_t hay_length, needle_length;

		random ^= random << 13;
		random ^= random >> 7;
		random ^= random << 17;
		hay_length = random % sizeof(hay);
		needle_length = (random >> 8) % sizeof(needle);
		for (size_t i = 0; i < hay_length; i++)
			hay[i] = alphabet[(random >> (i % 50)) % (sizeof(alphabet) - 1) ^ (i * 7 % 5)];
		for (size_t i = 0; i < needle_length; i++)
			needle[i] = alphabet[((random >> (3 * i + 11)) ^ round) % (sizeof(alphabet) - 1)];
		for (int kind = 0; kind < 2; kind++) {
			enum kql_match match = kind ? KQL_MATCH_CONTAINS : KQL_MATCH_HAS;
			bool expected = reference_match(match, hay, hay_length, needle, needle_length);
			struct kql_needle prepared;
			char folded[8];

			assert_int_equal(kql_string_match(match, false, hay, hay_length, needle, needle_length),
					 expected);
			kql_needle_init(&prepared, match, false, needle, needle_length, folded);
			assert_int_equal(kql_needle_match(&prepared, hay, hay_length), expected);
		}
	}
}

static void term_bytes(void **state)
{
	(void)state;
	assert_true(kql_is_term_byte('a'));
	assert_true(kql_is_term_byte('Z'));
	assert_true(kql_is_term_byte('7'));
	assert_true(kql_is_term_byte(0xc3));
	assert_false(kql_is_term_byte('_'));
	assert_false(kql_is_term_byte('-'));
	assert_false(kql_is_term_byte(' '));
	assert_false(kql_is_term_byte('.'));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(has_function),	      cmocka_unit_test(has_prepared_needle),
		cmocka_unit_test(has_in_queries),     cmocka_unit_test(case_sensitive_has),
		cmocka_unit_test(substring_family),   cmocka_unit_test(has_any_and_all),
		cmocka_unit_test(term_bytes),	      cmocka_unit_test(matches_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
