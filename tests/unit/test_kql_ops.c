/*
 * test_kql_ops.c - conformance of KQL's string operators (kql_ops.h), both as
 * plain C functions and inside queries: term-based has with ASCII folding and
 * the boundary rule, phrases with punctuation, short terms, Unicode terms
 * (letters and digits) and Unicode case folding, '_' as a separator, and the
 * contains/startswith/endswith/=~ family.
 */
#include <errno.h>

#include "base/unicode.h"
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
	{"KRÄMER IT SOLUTIONS GMBH", "Krämer IT Solutions GmbH", true}, /* Unicode folding */
	{"KRÄMER IT SOLUTIONS GMBH", "krämer", true},
	{"DWSNET OÜ", "DWSNET OÜ", true},
	{"DWSNET OÜ", "dwsnet OÜ", true},
	{"DWSNET OÜ", "dwsnet oü", true},
	{"DWSNET OÜX", "DWSNET OÜ", false},
	{"Splashtop® Streamer", "Splashtop", true}, /* '®' is a symbol, not a letter */
	{"Splashtop® Streamer", "splashtop streamer", false},
	{"Splashtop®", "Splashtop®", true},
	{"Level\u00a0Software", "level", true}, /* a no-break space separates */
	{"Level\u00a0Software", "software", true},
	{"«rport»", "rport", true},
	{"rport…", "RPORT", true},
	{"ΣΊΣΥΦΟΣ", "σίσυφος", true}, /* final sigma folds like sigma */
	{"Σίσυφος AE", "ΣΊΣΥΦΟ", false},
	{"\u212aelvin", "kelvin", true}, /* the Kelvin sign folds to k */
	{"kelvin", "\u212aELVIN", true},
	{"ſystem", "SYSTEM", true}, /* the long s folds to s */
	{"versão 2", "VERSÃO", true},
	{"x١٢٣ y", "x", false}, /* Arabic-Indic digits continue a term */
	{"日本語テキスト", "日本語", false}, /* CJK letters form one term */
	{"日本語 テキスト", "テキスト", true},
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
		char folded[KQL_NEEDLE_FOLDED_SIZE(128)];

		assert_true(strlen(c->needle) <= 128);
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
	test_scalar("'Ü' =~ 'ü'", "true"); /* Unicode simple case folding */
	test_scalar("'KRÄMER' =~ 'krämer'", "true");
	test_scalar("'KRÄMER' !~ 'kramer'", "true");
	test_scalar("'\u212a' =~ 'k'", "true");
	test_scalar("'Straße' =~ 'STRASSE'", "false"); /* simple folding: ß stays ß */
	test_scalar("'VERSÃO' contains 'são'", "true");
	test_scalar("'VERSÃO' startswith 'versã'", "true");
	test_scalar("'x VERSÃO' endswith 'são'", "true");
	test_scalar("'xⱥ' endswith 'Ⱥ'", "true"); /* folding grows 2 bytes to 3 */
	test_scalar("'Ⱥb' startswith 'ⱥB'", "true");
	test_scalar("'Ü' in~ ('ü', 'x')", "true");
	test_scalar("'Ü' !in~ ('ü', 'x')", "false");
	test_scalar("tolower('KRÄMER ΣΊΣΥΦΟΣ')", "\"krämer σίσυφοσ\"");
	test_scalar("toupper('krämer straße')", "\"KRÄMER STRAßE\"");
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

/* One character of the reference: its folded code and where it lies. */
struct reference_char {
	uint32_t folded;
	bool term;
	size_t start;
	size_t end;
};

static size_t reference_split(const char *text, size_t length, bool fold,
			      struct reference_char *out)
{
	size_t count = 0;

	for (size_t i = 0; i < length;) {
		uint32_t code;
		size_t size = unicode_decode((const unsigned char *)text + i, length - i, &code);

		out[count++] = (struct reference_char){fold ? unicode_fold(code) : code,
						       kql_is_term_char(code), i, i + size};
		i += size;
	}
	return count;
}

/* An obviously correct has/contains: try every character position. */
static bool reference_match(enum kql_match match, bool fold, const char *hay, size_t hay_length,
			    const char *needle, size_t needle_length)
{
	struct reference_char h[64], n[16];
	size_t hay_count = reference_split(hay, hay_length, fold, h);
	size_t needle_count = reference_split(needle, needle_length, fold, n);

	if (needle_count == 0)
		return true;
	for (size_t i = 0; i + needle_count <= hay_count; i++) {
		bool equal = true;

		for (size_t j = 0; j < needle_count && equal; j++)
			equal = h[i + j].folded == n[j].folded;
		if (!equal)
			continue;
		if (match == KQL_MATCH_CONTAINS)
			return true;
		if (n[0].term && i > 0 && h[i - 1].term)
			continue;
		if (n[needle_count - 1].term && i + needle_count < hay_count && h[i + needle_count].term)
			continue;
		return true;
	}
	return false;
}

/* Random strings over a small alphabet of characters (both cases, ASCII and
 * not, separators, a stray invalid byte), long enough to cross the 8-byte
 * scanning steps. */
static void matches_reference(void **state)
{
	static const char *const alphabet[] = {"a", "A", "b", "B", "k", "K", "s", "_", ".", " ",
					       "-", "0", "@", "[", "\xc3\xa4", "\xc3\x84",
					       "\xe2\x84\xaa", "\xc5\xbf", "\xc2\xae",
					       "\xc2\xa0", "\xc8\xba", "\xe2\xb1\xa5", "\xc3",
					       "\xa4"};
	size_t letters = sizeof(alphabet) / sizeof(alphabet[0]);
	uint64_t random = 88172645463325252ULL;

	(void)state;
	for (int round = 0; round < 200000; round++) {
		char hay[64 * 3], needle[5 * 3];
		size_t hay_length = 0, needle_length = 0;

		random ^= random << 13;
		random ^= random >> 7;
		random ^= random << 17;
		size_t hay_chars = random % 40, needle_chars = (random >> 8) % 5;

		for (size_t i = 0; i < hay_chars; i++) {
			const char *c = alphabet[((random >> (i % 50)) ^ (i * 7 % 5)) % letters];

			memcpy(hay + hay_length, c, strlen(c));
			hay_length += strlen(c);
		}
		for (size_t i = 0; i < needle_chars; i++) {
			const char *c = alphabet[((random >> (3 * i + 11)) ^ (uint64_t)round) % letters];

			memcpy(needle + needle_length, c, strlen(c));
			needle_length += strlen(c);
		}
		for (int kind = 0; kind < 4; kind++) {
			enum kql_match match = kind & 1 ? KQL_MATCH_CONTAINS : KQL_MATCH_HAS;
			bool sensitive = kind & 2;
			bool expected = reference_match(match, !sensitive, hay, hay_length, needle,
							needle_length);
			struct kql_needle prepared;
			char folded[KQL_NEEDLE_FOLDED_SIZE(sizeof(needle))];
			bool got = kql_string_match(match, sensitive, hay, hay_length, needle,
						    needle_length);

			if (got != expected)
				print_error("'%.*s' %s%s '%.*s': expected %d\n", (int)hay_length, hay,
					    kind & 1 ? "contains" : "has", sensitive ? "_cs" : "",
					    (int)needle_length, needle, expected);
			assert_int_equal(got, expected);
			kql_needle_init(&prepared, match, sensitive, needle, needle_length, folded);
			assert_int_equal(kql_needle_match(&prepared, hay, hay_length), expected);
		}
	}
}

static void term_chars(void **state)
{
	(void)state;
	assert_true(kql_is_term_char('a'));
	assert_true(kql_is_term_char('Z'));
	assert_true(kql_is_term_char('7'));
	assert_true(kql_is_term_char(0xe4));   /* ä */
	assert_true(kql_is_term_char(0x3a3));  /* Σ */
	assert_true(kql_is_term_char(0x661));  /* Arabic-Indic one */
	assert_true(kql_is_term_char(0x65e5)); /* 日 */
	assert_false(kql_is_term_char('_'));
	assert_false(kql_is_term_char('-'));
	assert_false(kql_is_term_char(' '));
	assert_false(kql_is_term_char('.'));
	assert_false(kql_is_term_char(0xae));	/* ® */
	assert_false(kql_is_term_char(0xa0));	/* no-break space */
	assert_false(kql_is_term_char(0x2026)); /* … */
	assert_false(kql_is_term_char(0x301));	/* a combining accent is a mark */
	assert_false(kql_is_term_char(UNICODE_INVALID_BYTE + 0xc3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(has_function),	      cmocka_unit_test(has_prepared_needle),
		cmocka_unit_test(has_in_queries),     cmocka_unit_test(case_sensitive_has),
		cmocka_unit_test(substring_family),   cmocka_unit_test(has_any_and_all),
		cmocka_unit_test(term_chars),	      cmocka_unit_test(matches_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
