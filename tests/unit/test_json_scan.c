/*
 * test_json_scan.c - the in-place JSON scanner's strings: the eight-bytes-at-
 * a-time skip must stop at every byte that needs a look, wherever it sits
 * in a word (every offset of a long string, every kind of byte).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/json_scan.h"

#define PLAIN_LENGTH 40

/* Scans text as one value: 0 or -EINVAL. */
static int scan_text(const char *text, size_t length, struct json_scan_value *value,
		     struct json_scan *scan)
{
	json_scan_init(scan, text, length);
	if (json_scan_value(scan, value) != 0)
		return -1;
	return json_scan_finish(scan);
}

/* A JSON string of PLAIN_LENGTH plain bytes with special put at offset. */
static size_t build(char *out, size_t offset, const char *special, size_t special_length)
{
	size_t length = 0;

	out[length++] = '"';
	for (size_t i = 0; i < PLAIN_LENGTH; i++) {
		if (i == offset) {
			memcpy(out + length, special, special_length);
			length += special_length;
		}
		out[length++] = (char)('a' + i % 26);
	}
	out[length++] = '"';
	out[length] = '\0';
	return length;
}

static void test_accepted_specials_at_every_offset(void **state)
{
	static const struct {
		const char *raw, *decoded;
	} cases[] = {
		{"\\\"", "\""},	       {"\\\\", "\\"},	      {"\\n", "\n"},
		{"\\u00e9", "\xc3\xa9"}, {"\xc3\xa9", "\xc3\xa9"}, {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"},
		{"\x7f", "\x7f"},	       {" ", " "},	      {"~", "~"},
	};
	char text[128], expected[128], decoded[128];

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		for (size_t offset = 0; offset < PLAIN_LENGTH; offset++) {
			struct json_scan scan;
			struct json_scan_value value;
			size_t length = build(text, offset, cases[c].raw, strlen(cases[c].raw));

			assert_int_equal(scan_text(text, length, &value, &scan), 0);
			assert_int_equal(value.kind, JSON_SCAN_STRING);
			assert_int_equal(value.raw_length, length - 2);
			build(expected, offset, cases[c].decoded, strlen(cases[c].decoded));
			expected[strlen(expected) - 1] = '\0';
			json_scan_decode(&value, decoded);
			assert_string_equal(decoded, expected + 1);
		}
	}
}

static void test_refused_specials_at_every_offset(void **state)
{
	static const struct {
		const char *raw;
		size_t length;
		const char *message;
	} cases[] = {
		{"\x01", 1, "control character in a string"},
		{"\x1f", 1, "control character in a string"},
		{"\n", 1, "control character in a string"},
		{"\0", 1, "control character in a string"},
		{"\x80", 1, "invalid UTF-8"},
		{"\xff", 1, "invalid UTF-8"},
		{"\xc3(", 2, "invalid UTF-8"},
		{"\xed\xa0\x80", 3, "invalid UTF-8"}, /* a surrogate */
		{"\\x", 2, "bad escape"},
		{"\\u0000", 6, "\\u0000 in a string"},
	};
	char text[128];

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		for (size_t offset = 0; offset < PLAIN_LENGTH; offset++) {
			struct json_scan scan;
			struct json_scan_value value;
			size_t length = build(text, offset, cases[c].raw, cases[c].length);

			assert_int_not_equal(scan_text(text, length, &value, &scan), 0);
			assert_string_equal(scan.message, cases[c].message);
			assert_int_equal(scan.error_offset, 1 + offset);
		}
	}
}

static void test_string_ends_at_the_first_quote(void **state)
{
	char text[128];

	(void)state;
	for (size_t offset = 0; offset < PLAIN_LENGTH; offset++) {
		struct json_scan scan;
		struct json_scan_value value;
		size_t length = build(text, offset, "\"", 1);

		json_scan_init(&scan, text, length);
		assert_int_equal(json_scan_value(&scan, &value), 0);
		assert_int_equal(value.raw_length, offset);
		assert_int_not_equal(json_scan_finish(&scan), 0);
	}
}

static void test_unterminated_at_every_length(void **state)
{
	char text[PLAIN_LENGTH + 1];

	(void)state;
	text[0] = '"';
	for (size_t length = 1; length < sizeof(text); length++) {
		struct json_scan scan;
		struct json_scan_value value;

		text[length] = 'x';
		json_scan_init(&scan, text, length);
		assert_int_not_equal(json_scan_value(&scan, &value), 0);
		assert_string_equal(scan.message, "unterminated string");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted_specials_at_every_offset),
		cmocka_unit_test(test_refused_specials_at_every_offset),
		cmocka_unit_test(test_string_ends_at_the_first_quote),
		cmocka_unit_test(test_unterminated_at_every_length),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
