/*
 * test_strbuf.c - strbuf's growth (overflow refused, failure remembered)
 * and reading a file whole: empty files, exactly max bytes, one byte more
 * (-EFBIG, the first max bytes kept), long files read in several chunks,
 * a directory and a missing file.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/strbuf.h"

/* A temporary file holding length bytes ('a' + i % 26); its path in path. */
static void make_file(char *path, size_t size, size_t length)
{
	int fd;

	snprintf(path, size, "/tmp/rmmhunt-strbuf-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	for (size_t i = 0; i < length; i++) {
		char c = (char)('a' + i % 26);

		assert_int_equal(write(fd, &c, 1), 1);
	}
	close(fd);
}

static void expect_content(const struct strbuf *text, size_t length)
{
	assert_non_null(text->data);
	assert_int_equal(text->length, length);
	assert_int_equal(text->data[length], '\0');
	for (size_t i = 0; i < length; i++)
		assert_int_equal(text->data[i], 'a' + i % 26);
}

static void test_read_empty_file(void **state)
{
	(void)state;
	char path[64];
	struct strbuf text;

	make_file(path, sizeof(path), 0);
	strbuf_init(&text);
	assert_int_equal(strbuf_read_file(&text, path, 100), 0);
	expect_content(&text, 0);
	strbuf_free(&text);
	unlink(path);
}

static void test_read_limit(void **state)
{
	(void)state;
	char path[64];
	struct strbuf text;

	make_file(path, sizeof(path), 100);
	strbuf_init(&text);
	assert_int_equal(strbuf_read_file(&text, path, 100), 0);
	expect_content(&text, 100);
	strbuf_free(&text);
	/* one byte short of the file: -EFBIG with the first max bytes */
	strbuf_init(&text);
	assert_int_equal(strbuf_read_file(&text, path, 99), -EFBIG);
	expect_content(&text, 99);
	strbuf_free(&text);
	strbuf_init(&text);
	assert_int_equal(strbuf_read_file(&text, path, 0), -EFBIG);
	expect_content(&text, 0);
	strbuf_free(&text);
	unlink(path);
}

static void test_read_long_file(void **state)
{
	(void)state;
	char path[64];
	struct strbuf text;
	size_t length = 300 * 1000 + 7; /* several read chunks */

	make_file(path, sizeof(path), length);
	strbuf_init(&text);
	assert_int_equal(strbuf_read_file(&text, path, SIZE_MAX), 0);
	expect_content(&text, length);
	strbuf_free(&text);
	/* a limit in the middle of a chunk */
	strbuf_init(&text);
	assert_int_equal(strbuf_read_file(&text, path, 70000), -EFBIG);
	expect_content(&text, 70000);
	strbuf_free(&text);
	unlink(path);
}

static void test_read_errors(void **state)
{
	(void)state;
	struct strbuf text;

	strbuf_init(&text);
	assert_int_equal(strbuf_read_file(&text, "/nonexistent/rmmhunt", 10), -ENOENT);
	assert_int_equal(strbuf_read_file(&text, "/tmp", 10), -EISDIR);
	strbuf_free(&text);
}

static void test_reserve_overflow(void **state)
{
	(void)state;
	struct strbuf text;

	strbuf_init(&text);
	strbuf_append_string(&text, "abc");
	assert_false(strbuf_reserve(&text, SIZE_MAX - 3));
	assert_true(text.failed);
	/* failed stays: appends do nothing, the text is what it was */
	strbuf_append_string(&text, "def");
	assert_string_equal(strbuf_text(&text), "abc");
	strbuf_free(&text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_empty_file),
		cmocka_unit_test(test_read_limit),
		cmocka_unit_test(test_read_long_file),
		cmocka_unit_test(test_read_errors),
		cmocka_unit_test(test_reserve_overflow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
