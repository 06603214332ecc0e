/*
 * test_config_file.c - the `key = value` config parser: comments, blanks,
 * quotes, inline comments, CRLF; and each malformed line reported with its
 * line number and the key (no key, bad key, unclosed quote, text after a
 * quote, a NUL byte); a missing file.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/config_file.h"

static void parse_ok(const char *text, struct config_file *config)
{
	struct config_error error;

	assert_int_equal(config_file_parse(text, strlen(text), config, &error), 0);
}

static void test_entries(void **state)
{
	static const char text[] = "# the agent\n"
				   "\n"
				   "  ; an old-style comment\n"
				   "state-dir = /var/lib/rmmhunt\n"
				   "max_body=4M   # four MiB\n"
				   "url = https://host/#fragment\r\n"
				   "quoted = \"  a # b \"  # after\n"
				   "empty =\n"
				   "last = no newline";
	struct config_file config;

	(void)state;
	parse_ok(text, &config);
	assert_int_equal(config.count, 6);
	assert_string_equal(config.entries[0].key, "state-dir");
	assert_string_equal(config.entries[0].value, "/var/lib/rmmhunt");
	assert_int_equal(config.entries[0].line, 4);
	assert_string_equal(config.entries[1].key, "max_body");
	assert_string_equal(config.entries[1].value, "4M");
	assert_string_equal(config.entries[2].value, "https://host/#fragment");
	assert_string_equal(config.entries[3].value, "  a # b ");
	assert_string_equal(config.entries[4].value, "");
	assert_string_equal(config.entries[5].value, "no newline");
	assert_int_equal(config.entries[5].line, 9);
	config_file_free(&config);
}

static void expect_error(const char *text, size_t length, unsigned line, const char *words)
{
	struct config_file config;
	struct config_error error;

	assert_int_equal(config_file_parse(text, length, &config, &error), -EINVAL);
	assert_int_equal(config.count, 0);
	assert_int_equal(error.line, line);
	if (!strstr(error.message, words))
		fail_msg("'%s' does not say '%s'", error.message, words);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("a = 1\nno equals sign\n", 16, 2, "expected 'key = value'");
	expect_error("a = 1\n\n= value\n", 15, 3, "without a key");
	expect_error("Max-Body = 4M\n", 14, 1, "key 'Max-Body'");
	expect_error("x = \"open\n", 10, 1, "key 'x': the value's quote is not closed");
	expect_error("x = \"a\" b\n", 10, 1, "text after the closing quote");
	expect_error("a = 1\nb = 2\0\n", 13, 2, "NUL");
}

static void test_missing_file(void **state)
{
	struct config_file config;
	struct config_error error;

	(void)state;
	assert_int_equal(config_file_load("/nonexistent/agent.conf", &config, &error), -ENOENT);
	assert_int_equal(error.line, 0);
	assert_non_null(strstr(error.message, "No such file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entries),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_missing_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
