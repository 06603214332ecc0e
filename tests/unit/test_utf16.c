/*
 * test_utf16.c - the UTF-16LE decoder: every UTF-8 length, surrogate pairs,
 * unpaired surrogates (U+FFFD, counted), NUL search bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/utf16.h"

/* Decode units given as numbers; returns the UTF-8 text in out. */
static size_t decode_units(const uint16_t *units, size_t count, char *out, size_t *replaced)
{
	unsigned char bytes[64];

	for (size_t i = 0; i < count; i++) {
		bytes[2 * i] = (unsigned char)(units[i] & 0xff);
		bytes[2 * i + 1] = (unsigned char)(units[i] >> 8);
	}
	return utf16le_to_utf8(bytes, count, out, replaced);
}

static void test_ascii_and_bmp(void **state)
{
	(void)state;
	const uint16_t units[] = {'R', 0x00e9, 0x0648, 0x30a6, 0xfffd, 0x7f, 0x80, 0x7ff, 0x800};
	char out[UTF16_UTF8_CAPACITY(9)];
	size_t replaced = 99;
	size_t written = decode_units(units, 9, out, &replaced);

	assert_string_equal(out, "R\xc3\xa9\xd9\x88\xe3\x82\xa6\xef\xbf\xbd\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80");
	assert_int_equal(written, strlen(out));
	assert_int_equal(replaced, 0);
}

/* Decode units and compare with the expected UTF-8 and replacement count. */
static void check_decoding(const uint16_t *units, size_t count, const char *expected,
			   size_t expected_replaced)
{
	char out[UTF16_UTF8_CAPACITY(16)];
	size_t replaced = 99;

	assert_true(count <= 16);
	decode_units(units, count, out, &replaced);
	assert_string_equal(out, expected);
	assert_int_equal(replaced, expected_replaced);
}

static void test_surrogate_pairs(void **state)
{
	(void)state;
	/* U+1F680 ROCKET, U+10FFFF (the highest code point), U+10000 */
	const uint16_t units[] = {0xd83d, 0xde80, 0xdbff, 0xdfff, 0xd800, 0xdc00};

	check_decoding(units, 6, "\xf0\x9f\x9a\x80\xf4\x8f\xbf\xbf\xf0\x90\x80\x80", 0);
}

static void test_unpaired_surrogates_become_replacement(void **state)
{
	(void)state;
	/* lone low; high followed by a letter; high at the very end */
	const uint16_t units[] = {0xdc00, 'a', 0xd83d, 'b', 0xd83d};
	/* a high surrogate followed by another high one, then a pair */
	const uint16_t doubled[] = {0xd83d, 0xd83d, 0xde80};

	check_decoding(units, 5, "\xef\xbf\xbd" "a" "\xef\xbf\xbd" "b" "\xef\xbf\xbd", 3);
	check_decoding(doubled, 3, "\xef\xbf\xbd\xf0\x9f\x9a\x80", 1);
}

static void test_capacity_is_enough_for_worst_case(void **state)
{
	(void)state;
	uint16_t units[32];
	char out[UTF16_UTF8_CAPACITY(32)];

	for (size_t i = 0; i < 32; i++)
		units[i] = 0xdc00;  /* every unit becomes 3 bytes */
	assert_int_equal(decode_units(units, 32, out, NULL), 96);
	assert_int_equal(out[96], '\0');
}

static void test_length_stops_at_nul_within_bounds(void **state)
{
	(void)state;
	const unsigned char text[] = {'a', 0, 'b', 0, 0, 0, 'c', 0};
	const unsigned char odd[] = {0, 'a', 'b', 0, 0, 0};
	bool terminated = false;

	assert_int_equal(utf16le_length(text, 4, &terminated), 2);
	assert_true(terminated);
	assert_int_equal(utf16le_length(text, 2, &terminated), 2);
	assert_false(terminated);
	assert_int_equal(utf16le_length(text, 0, &terminated), 0);
	assert_false(terminated);
	/* 0x6100 and 0x0062 are not NUL: a NUL unit needs both bytes zero. */
	assert_int_equal(utf16le_length(odd, 3, &terminated), 2);
	assert_true(terminated);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ascii_and_bmp),
		cmocka_unit_test(test_surrogate_pairs),
		cmocka_unit_test(test_unpaired_surrogates_become_replacement),
		cmocka_unit_test(test_capacity_is_enough_for_worst_case),
		cmocka_unit_test(test_length_stops_at_nul_within_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
