/*
 * test_state_file.c - state_file_publish(), the status.json writer: each
 * version is read back whole, a shorter one leaves nothing of a longer one,
 * the previous version's file is reused (no inode made each time), and a
 * link planted at NAME.tmp, symbolic or hard, is never written through.
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

#include "base/state_file.h"

struct fixture {
	char directory[64];
	char path[128];	     /* DIRECTORY/status.json */
	char temporary[140]; /* DIRECTORY/status.json.tmp */
	char outside[128];   /* DIRECTORY/outside: what a planted link points at */
};

static int setup(void **state)
{
	struct fixture *fixture = calloc(1, sizeof(*fixture));

	if (!fixture)
		return -1;
	snprintf(fixture->directory, sizeof(fixture->directory), "/tmp/rmmhunt-state-XXXXXX");
	if (!mkdtemp(fixture->directory))
		return -1;
	snprintf(fixture->path, sizeof(fixture->path), "%s/status.json", fixture->directory);
	snprintf(fixture->temporary, sizeof(fixture->temporary), "%s.tmp", fixture->path);
	snprintf(fixture->outside, sizeof(fixture->outside), "%s/outside", fixture->directory);
	*state = fixture;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fixture = *state;

	unlink(fixture->path);
	unlink(fixture->temporary);
	unlink(fixture->outside);
	rmdir(fixture->directory);
	free(fixture);
	return 0;
}

static void expect_file(const char *path, const char *text)
{
	char *read = NULL;
	size_t length = 0;

	assert_int_equal(state_file_read(path, 4096, &read, &length), 0);
	assert_int_equal(length, strlen(text));
	assert_string_equal(read, text);
	free(read);
}

static void publish(const struct fixture *fixture, const char *text)
{
	assert_int_equal(state_file_publish(fixture->path, text, strlen(text)), 0);
}

static void test_versions_come_back_whole(void **state)
{
	struct fixture *fixture = *state;

	publish(fixture, "{\"first\": 1, \"a long member\": \"xxxxxxxxxxxxxxxx\"}\n");
	expect_file(fixture->path, "{\"first\": 1, \"a long member\": \"xxxxxxxxxxxxxxxx\"}\n");
	publish(fixture, "{\"second\": 2}\n"); /* shorter: nothing of the first is left */
	expect_file(fixture->path, "{\"second\": 2}\n");
	publish(fixture, "{\"third\": 3, \"longer again\": true}\n");
	expect_file(fixture->path, "{\"third\": 3, \"longer again\": true}\n");

	struct stat status;

	assert_int_equal(stat(fixture->path, &status), 0);
	assert_int_equal(status.st_mode & 0777, 0600);
}

/* Two files take turns: the version before the last is overwritten in
 * place, so the third version is in the first version's inode. */
static void test_the_previous_file_is_reused(void **state)
{
	struct fixture *fixture = *state;
	struct stat first, second, third;

	publish(fixture, "one\n");
	assert_int_equal(stat(fixture->path, &first), 0);
	publish(fixture, "two\n");
	assert_int_equal(stat(fixture->path, &second), 0);
	publish(fixture, "three\n");
	assert_int_equal(stat(fixture->path, &third), 0);
	assert_true(first.st_ino != second.st_ino);
	assert_true(third.st_ino == first.st_ino);
	expect_file(fixture->path, "three\n");
}

static void test_a_planted_symbolic_link_is_not_followed(void **state)
{
	struct fixture *fixture = *state;
	struct stat status;

	publish(fixture, "one\n");
	publish(fixture, "two\n");
	unlink(fixture->temporary);
	assert_int_equal(state_file_write(fixture->outside, "untouched\n", 10), 0);
	assert_int_equal(symlink(fixture->outside, fixture->temporary), 0);
	publish(fixture, "three\n");
	expect_file(fixture->outside, "untouched\n");
	expect_file(fixture->path, "three\n");
	assert_int_equal(lstat(fixture->path, &status), 0);
	assert_true(S_ISREG(status.st_mode));
}

static void test_a_planted_hard_link_is_not_written_through(void **state)
{
	struct fixture *fixture = *state;

	publish(fixture, "one\n");
	publish(fixture, "two\n");
	unlink(fixture->temporary);
	assert_int_equal(state_file_write(fixture->outside, "untouched\n", 10), 0);
	assert_int_equal(chmod(fixture->outside, 0600), 0);
	assert_int_equal(link(fixture->outside, fixture->temporary), 0);
	publish(fixture, "three\n");
	expect_file(fixture->outside, "untouched\n");
	expect_file(fixture->path, "three\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_versions_come_back_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(test_the_previous_file_is_reused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_planted_symbolic_link_is_not_followed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_a_planted_hard_link_is_not_written_through,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
