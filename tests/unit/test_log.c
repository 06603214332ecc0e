/*
 * test_log.c - leveled diagnostics (lib/base/log.h): the line format per
 * level, the threshold, the journal's "<N>" prefix when JOURNAL_STREAM names
 * stderr (and not otherwise), control characters escaped, long messages cut,
 * messages of several lines, level names.
 *
 * stderr is pointed at a temporary file for each test and read back.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/log.h"

struct capture {
	char path[64];
	int saved_stderr;
	int fd;
};

static int capture_start(void **state)
{
	struct capture *capture = calloc(1, sizeof(*capture));

	snprintf(capture->path, sizeof(capture->path), "/tmp/rmmhunt-log-XXXXXX");
	capture->fd = mkstemp(capture->path);
	assert_true(capture->fd >= 0);
	capture->saved_stderr = dup(STDERR_FILENO);
	assert_true(dup2(capture->fd, STDERR_FILENO) >= 0);
	unsetenv("JOURNAL_STREAM");
	*state = capture;
	return 0;
}

static char *captured(struct capture *capture);

/* Anything not read back (cmocka's report of a failed check) goes out. */
static int capture_stop(void **state)
{
	struct capture *capture = *state;
	char *rest = captured(capture);

	dup2(capture->saved_stderr, STDERR_FILENO);
	if (rest[0] && write(STDERR_FILENO, rest, strlen(rest)) < 0)
		perror("test_log");
	free(rest);
	close(capture->saved_stderr);
	close(capture->fd);
	unlink(capture->path);
	unsetenv("JOURNAL_STREAM");
	free(capture);
	return 0;
}

/* What was written to stderr since the last call (heap string). */
static char *captured(struct capture *capture)
{
	struct stat status;
	char *text;

	assert_int_equal(fstat(capture->fd, &status), 0);
	text = calloc(1, (size_t)status.st_size + 1);
	assert_int_equal(pread(capture->fd, text, (size_t)status.st_size, 0), status.st_size);
	assert_int_equal(ftruncate(capture->fd, 0), 0);
	assert_int_equal(lseek(STDERR_FILENO, 0, SEEK_SET), 0);
	return text;
}

static void expect_captured(struct capture *capture, const char *expected)
{
	char *text = captured(capture);

	assert_string_equal(text, expected);
	free(text);
}

static void test_format_per_level(void **state)
{
	struct capture *capture = *state;

	log_configure("prog", LOG_LEVEL_DEBUG);
	log_error("cannot open %s: %s", "/x", "No such file or directory");
	log_warning("rule skipped: %d", 3);
	log_notice("watching execs");
	log_info("stats: %u", 7u);
	log_debug("detail");
	log_message(LOG_LEVEL_WARNING, "through %s", "log_message");
	expect_captured(capture, "prog: cannot open /x: No such file or directory\n"
				 "prog: warning: rule skipped: 3\n"
				 "prog: watching execs\n"
				 "prog: stats: 7\n"
				 "prog: debug: detail\n"
				 "prog: warning: through log_message\n");
	log_set_program("prog sub");
	log_error("x");
	expect_captured(capture, "prog sub: x\n");
}

static void test_threshold(void **state)
{
	struct capture *capture = *state;

	log_configure("prog", LOG_LEVEL_WARNING);
	assert_true(log_enabled(LOG_LEVEL_ERROR));
	assert_true(log_enabled(LOG_LEVEL_WARNING));
	assert_false(log_enabled(LOG_LEVEL_NOTICE));
	log_error("e");
	log_warning("w");
	log_notice("n");
	log_info("i");
	log_debug("d");
	log_lines(LOG_LEVEL_INFO, "several\nlines");
	expect_captured(capture, "prog: e\nprog: warning: w\n");
	log_configure("prog", LOG_LEVEL_ERROR);
	log_warning("w");
	expect_captured(capture, "");
	log_configure("prog", LOG_LEVEL_INFO);
	log_debug("d");
	log_info("i");
	expect_captured(capture, "prog: i\n");
}

static void test_journal_prefix(void **state)
{
	struct capture *capture = *state;
	struct stat status;
	char stream[64];

	assert_int_equal(fstat(STDERR_FILENO, &status), 0);
	snprintf(stream, sizeof(stream), "%llu:%llu", (unsigned long long)status.st_dev,
		 (unsigned long long)status.st_ino);
	setenv("JOURNAL_STREAM", stream, 1);
	log_configure("prog", LOG_LEVEL_DEBUG);
	log_error("e");
	log_warning("w");
	log_notice("n");
	log_info("i");
	log_debug("d");
	expect_captured(capture, "<3>e\n<4>w\n<5>n\n<6>i\n<7>d\n");
	log_lines(LOG_LEVEL_WARNING, "first\n  source\n  ^\n");
	expect_captured(capture, "<4>first\n<4>  source\n<4>  ^\n");

	/* another inode (stderr was redirected after systemd set it): plain */
	snprintf(stream, sizeof(stream), "%llu:%llu", (unsigned long long)status.st_dev,
		 (unsigned long long)status.st_ino + 1);
	setenv("JOURNAL_STREAM", stream, 1);
	log_configure("prog", LOG_LEVEL_DEBUG);
	log_error("e");
	expect_captured(capture, "prog: e\n");
	setenv("JOURNAL_STREAM", "garbage", 1);
	log_configure("prog", LOG_LEVEL_DEBUG);
	log_error("e");
	expect_captured(capture, "prog: e\n");
}

static void test_controls_escaped(void **state)
{
	struct capture *capture = *state;

	log_configure("prog", LOG_LEVEL_INFO);
	/* a file name cannot forge a second line or drive the terminal */
	log_error("file %s", "a\nprog: forged\x1b[31m\x01\x7f\tend\r");
	expect_captured(capture, "prog: file a\\nprog: forged\\e[31m\\x01\\x7f\tend\\x0d\n");
	/* bytes of UTF-8 are text, not controls */
	log_error("caf\xc3\xa9");
	expect_captured(capture, "prog: caf\xc3\xa9\n");
}

static void test_long_message_cut(void **state)
{
	struct capture *capture = *state;
	char *long_text = malloc(10000);
	char *text;

	memset(long_text, 'x', 9999);
	long_text[9999] = '\0';
	log_configure("prog", LOG_LEVEL_INFO);
	log_error("%s", long_text);
	text = captured(capture);
	assert_int_equal(strncmp(text, "prog: xxx", 9), 0);
	assert_int_equal(strlen(text), strlen("prog: ") + 4096 + 1);
	assert_string_equal(text + strlen(text) - 5, "x...\n");
	free(text);
	/* escapes do not overflow: every byte a control */
	memset(long_text, 1, 9999);
	log_error("%s", long_text);
	text = captured(capture);
	assert_int_equal(strlen(text), strlen("prog: ") + 4 * 4093 + 3 + 1);
	assert_string_equal(text + strlen(text) - 8, "\\x01...\n");
	free(text);
	free(long_text);
}

static void test_several_lines(void **state)
{
	struct capture *capture = *state;

	log_configure("prog", LOG_LEVEL_INFO);
	log_lines(LOG_LEVEL_ERROR, "%s:2:21: syntax error\n    | where x ==\n%*s^\n", "query",
		  20, "");
	expect_captured(capture, "prog: query:2:21: syntax error\n"
				 "    | where x ==\n"
				 "                    ^\n");
	/* no final line break, an empty line inside, a control inside */
	log_lines(LOG_LEVEL_WARNING, "a\n\nb\x1b");
	expect_captured(capture, "prog: warning: a\n\nb\\e\n");
	log_lines(LOG_LEVEL_ERROR, "%s", "");
	expect_captured(capture, "prog: \n");
}

static void test_level_names(void **state)
{
	(void)state;
	enum log_level level = LOG_LEVEL_ERROR;

	assert_int_equal(log_level_parse("debug", &level), 0);
	assert_int_equal(level, LOG_LEVEL_DEBUG);
	assert_int_equal(log_level_parse("warning", &level), 0);
	assert_int_equal(level, LOG_LEVEL_WARNING);
	assert_int_equal(log_level_parse("notice", &level), 0);
	assert_int_equal(level, LOG_LEVEL_NOTICE);
	assert_int_equal(log_level_parse("info", &level), 0);
	assert_int_equal(log_level_parse("error", &level), 0);
	assert_int_equal(level, LOG_LEVEL_ERROR);
	assert_int_equal(log_level_parse("verbose", &level), -EINVAL);
	assert_int_equal(log_level_parse("", &level), -EINVAL);
	assert_int_equal(level, LOG_LEVEL_ERROR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_format_per_level, capture_start, capture_stop),
		cmocka_unit_test_setup_teardown(test_threshold, capture_start, capture_stop),
		cmocka_unit_test_setup_teardown(test_journal_prefix, capture_start, capture_stop),
		cmocka_unit_test_setup_teardown(test_controls_escaped, capture_start, capture_stop),
		cmocka_unit_test_setup_teardown(test_long_message_cut, capture_start, capture_stop),
		cmocka_unit_test_setup_teardown(test_several_lines, capture_start, capture_stop),
		cmocka_unit_test(test_level_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
