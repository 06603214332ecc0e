/*
 * test_text.c - UTF-8 validation, escaping, command lines, path normalising.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/pathname.h"
#include "base/strbuf.h"
#include "base/text.h"

static void assert_command_line(const char *argv, size_t length,
				const char *expected, size_t expected_count)
{
	struct strbuf line;
	size_t count;

	strbuf_init(&line);
	count = text_command_line(&line, argv, length);
	assert_string_equal(strbuf_text(&line), expected);
	assert_int_equal(count, expected_count);
	strbuf_free(&line);
}

static void test_plain_arguments(void **state)
{
	(void)state;
	assert_command_line("ls\0-l\0/tmp\0", 11, "ls -l /tmp", 3);
}

static void test_quoted_arguments(void **state)
{
	(void)state;
	assert_command_line("a\0b c\0\0", 7, "a \"b c\" \"\"", 3);
	assert_command_line("x\0say \"hi\"\\\0", 12, "x \"say \\\"hi\\\"\\\\\"", 2);
	assert_command_line("x\0tab\there\0", 11, "x \"tab\there\"", 2);
}

static void test_backslash_outside_quotes_is_literal(void **state)
{
	(void)state;
	assert_command_line("C:\\x\0", 5, "C:\\x", 1);
}

static void test_invalid_utf8_is_escaped_in_quotes(void **state)
{
	(void)state;
	assert_command_line("a\xff\xfe" "b\0", 5, "\"a\\xff\\xfeb\"", 1);
	/* overlong '/' and a lone surrogate are invalid too */
	assert_command_line("\xc0\xaf\0", 3, "\"\\xc0\\xaf\"", 1);
	assert_command_line("\xed\xa0\x80\0", 4, "\"\\xed\\xa0\\x80\"", 1);
}

static void test_valid_multibyte_is_kept(void **state)
{
	(void)state;
	assert_command_line("DWSNET O\xc3\x9c\0", 10, "\"DWSNET O\xc3\x9c\"", 1);
	assert_command_line("\xf0\x9f\x98\x80\0", 5, "\xf0\x9f\x98\x80", 1);
}

static void test_truncated_block_keeps_partial_argument(void **state)
{
	(void)state;
	assert_command_line("run\0abc", 7, "run abc", 2);
	assert_command_line("", 0, "", 0);
}

static void test_escape_outside_arguments(void **state)
{
	struct strbuf out;

	(void)state;
	strbuf_init(&out);
	text_append_escaped(&out, "ok\x80", 3);
	assert_string_equal(strbuf_text(&out), "ok\\x80");
	strbuf_free(&out);
	assert_true(utf8_is_valid("abc\xc3\xa4", 5));
	assert_false(utf8_is_valid("\xf5\x80\x80\x80", 4));
	assert_false(utf8_is_valid("\xe2\x82", 2));
}

static void test_basename(void **state)
{
	(void)state;
	assert_string_equal(text_basename("/usr/bin/true"), "true");
	assert_string_equal(text_basename("true"), "true");
	assert_string_equal(text_basename("/memfd:x"), "memfd:x");
}

static void assert_absolute(const char *cwd, const char *path, const char *expected)
{
	char *result = pathname_absolute(cwd, path);

	assert_non_null(result);
	assert_string_equal(result, expected);
	free(result);
}

static void test_pathname(void **state)
{
	(void)state;
	assert_absolute("/tmp/dir", "./hello.sh", "/tmp/dir/hello.sh");
	assert_absolute("/tmp/dir", "../x//y/./z", "/tmp/x/y/z");
	assert_absolute("/tmp", "/abs/../../etc", "/etc");
	assert_absolute("/", ".", "/");
	assert_absolute("/a", "..", "/");
}

static void assert_safe(const char *data, size_t length, enum text_escape_style style,
			const char *expected)
{
	struct strbuf out;

	strbuf_init(&out);
	text_append_safe(&out, data, length, style);
	assert_string_equal(strbuf_text(&out), expected);
	strbuf_free(&out);
}

/* literal: a string literal (its length includes any NUL inside) */
#define ASSERT_SAFE(literal, style, expected) \
	assert_safe(literal, sizeof(literal) - 1, style, expected)

/* What a terminal would act on is shown, never sent: C0, DEL, C1 (by code
 * point), layout controls; a backslash and ordinary text stay. */
static void test_display_escapes(void **state)
{
	(void)state;
	ASSERT_SAFE("a\x1b]0;title\x07" "b", TEXT_ESCAPE_DISPLAY, "a\\e]0;title\\x07b");
	ASSERT_SAFE("l1\nl2\tx\r\x7f", TEXT_ESCAPE_DISPLAY, "l1\\nl2\\tx\\x0d\\x7f");
	ASSERT_SAFE("\xc2\x9b" "2J", TEXT_ESCAPE_DISPLAY, "\\x9b2J");
	ASSERT_SAFE("evil\xe2\x80\xaetxt.exe", TEXT_ESCAPE_DISPLAY, "evil\\u202etxt.exe");
	ASSERT_SAFE("\xe2\x81\xa6\xe2\x80\x8f\xd8\x9c\xe2\x80\xa8", TEXT_ESCAPE_DISPLAY,
		    "\\u2066\\u200f\\u061c\\u2028");
	ASSERT_SAFE("C:\\x \"q\" Kr\xc3\xa4mer \xe2\x82\xac", TEXT_ESCAPE_DISPLAY,
		    "C:\\x \"q\" Kr\xc3\xa4mer \xe2\x82\xac");
	ASSERT_SAFE("bad\xff\xc2", TEXT_ESCAPE_DISPLAY, "bad\\xff\\xc2");
	ASSERT_SAFE("nul\0end", TEXT_ESCAPE_DISPLAY, "nul\\x00end");
}

/* JSON: the same string once parsed, but nothing raw a viewer acts on. */
static void test_json_escapes(void **state)
{
	(void)state;
	ASSERT_SAFE("q\"b\\n\n\x01\xc2\x85\xe2\x80\xae\xc3\xa4", TEXT_ESCAPE_JSON,
		    "q\\\"b\\\\n\\n\\u0001\\u0085\\u202e\xc3\xa4");
	ASSERT_SAFE("\xff\x7f", TEXT_ESCAPE_JSON, "\\ufffd\\u007f");
	/* a JSON text jansson wrote: only C1 and layout controls change */
	ASSERT_SAFE("{\"a\":\"\\n\xc2\x9b\xe2\x81\xa7\x7f\"}", TEXT_ESCAPE_JSON_TEXT,
		    "{\"a\":\"\\n\\u009b\\u2067\\u007f\"}");
}

/* Cuts keep whole characters and whole \xHH escapes. */
/* One byte or sequence at a time through text_escape_step(): what
 * text_append_safe() writes eight plain bytes at a time. */
static void append_stepwise(struct strbuf *out, const char *data, size_t length,
			    enum text_escape_style style)
{
	size_t position = 0;

	while (position < length) {
		char escape[TEXT_ESCAPE_MAX];
		size_t consumed;
		size_t escape_length = text_escape_step(data + position, length - position, style,
							&consumed, escape);

		if (escape_length)
			strbuf_append(out, escape, escape_length);
		else
			strbuf_append(out, data + position, consumed);
		position += consumed;
	}
}

/* Random texts of every kind of byte, plain runs of every length between
 * them, at every offset: the word-at-a-time copy equals the stepwise one. */
static void test_safe_equals_stepwise(void **state)
{
	static const char pieces[][5] = {"a", "Z", "0", " ", "\"", "\\", "\n", "\x1b", "\x7f",
					 "\xc3\xa4", "\xc2\x85", "\xe2\x80\xae", "\xf0\x9f\x98\x80",
					 "\xc3", "\xff", "/", "\t"};
	const enum text_escape_style styles[] = {TEXT_ESCAPE_DISPLAY, TEXT_ESCAPE_JSON,
						 TEXT_ESCAPE_JSON_TEXT};
	uint64_t random_state = 88172645463325252ULL;
	struct strbuf fast, slow, text;
	size_t escapes = 0;

	(void)state;
	strbuf_init(&fast);
	strbuf_init(&slow);
	strbuf_init(&text);
	for (int round = 0; round < 3000; round++) {
		strbuf_clear(&text);
		for (int piece = 0; piece < round % 40; piece++) {
			random_state ^= random_state << 13;
			random_state ^= random_state >> 7;
			random_state ^= random_state << 17;
			/* mostly plain runs, as in records */
			if (random_state % 3)
				strbuf_append(&text, "plain-text/run", (random_state >> 8) % 15);
			else
				strbuf_append_string(&text, pieces[(random_state >> 8) %
								  (sizeof(pieces) / sizeof(pieces[0]))]);
		}
		for (size_t s = 0; s < sizeof(styles) / sizeof(styles[0]); s++) {
			strbuf_clear(&fast);
			strbuf_clear(&slow);
			text_append_safe(&fast, text.data ? text.data : "", text.length, styles[s]);
			append_stepwise(&slow, text.data ? text.data : "", text.length, styles[s]);
			assert_false(fast.failed || slow.failed);
			assert_int_equal(fast.length, slow.length);
			assert_memory_equal(strbuf_text(&fast), strbuf_text(&slow), fast.length);
			escapes += fast.length != text.length;
		}
	}
	assert_true(escapes > 1000);
	strbuf_free(&fast);
	strbuf_free(&slow);
	strbuf_free(&text);
}

/* Each byte value at every offset of texts of every length up to 40: the
 * finders agree with a byte-by-byte look (the word-at-a-time path, its
 * tail, high bytes that must not count). */
static void test_finders_equal_bytewise(void **state)
{
	char text[41];

	(void)state;
	for (int value = 0; value < 256; value++) {
		bool control = value < 0x20, stop = control || value == '"' || value == '\\';

		for (size_t length = 1; length <= sizeof(text); length++) {
			for (size_t at = 0; at < length; at++) {
				memset(text, value == 0xe9 ? 'a' : 0xe9, length); /* plain but high */
				text[at] = (char)value;
				assert_int_equal(text_find_control(text, length),
						 control ? at : length);
				assert_int_equal(text_find_json_string_stop(text, length),
						 stop ? at : length);
			}
		}
	}
	assert_int_equal(text_find_control("", 0), 0);
	assert_int_equal(text_find_json_string_stop("abc\"\n", 5), 3);
}

static void test_cut_length(void **state)
{
	(void)state;
	assert_int_equal(text_cut_length("abcdef", 6, 10), 6);
	assert_int_equal(text_cut_length("abcdef", 6, 4), 4);
	/* "ä" is two bytes: not cut in its middle */
	assert_int_equal(text_cut_length("ab\xc3\xa4" "cd", 6, 3), 2);
	assert_int_equal(text_cut_length("ab\xc3\xa4" "cd", 6, 4), 4);
	/* "\xff" escapes: cut before one begun */
	assert_int_equal(text_cut_length("a\\xffb", 6, 3), 1);
	assert_int_equal(text_cut_length("a\\xffb", 6, 4), 1);
	assert_int_equal(text_cut_length("a\\xffb", 6, 5), 5);
	assert_int_equal(text_cut_length("\xe2\x82\xac", 3, 2), 0);
}

static void test_display_for_printf(void **state)
{
	struct strbuf scratch;

	(void)state;
	strbuf_init(&scratch);
	assert_string_equal(text_display(&scratch, "x\ny"), "x\\ny");
	assert_string_equal(text_display(&scratch, NULL), "");
	strbuf_free(&scratch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_arguments),
		cmocka_unit_test(test_quoted_arguments),
		cmocka_unit_test(test_backslash_outside_quotes_is_literal),
		cmocka_unit_test(test_invalid_utf8_is_escaped_in_quotes),
		cmocka_unit_test(test_valid_multibyte_is_kept),
		cmocka_unit_test(test_truncated_block_keeps_partial_argument),
		cmocka_unit_test(test_escape_outside_arguments),
		cmocka_unit_test(test_basename),
		cmocka_unit_test(test_pathname),
		cmocka_unit_test(test_display_escapes),
		cmocka_unit_test(test_json_escapes),
		cmocka_unit_test(test_display_for_printf),
		cmocka_unit_test(test_cut_length),
		cmocka_unit_test(test_safe_equals_stepwise),
		cmocka_unit_test(test_finders_equal_bytewise),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
