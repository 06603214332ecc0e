/*
 * test_agent_records.c - the bounds of a record (issue 9; docs/records.md,
 * "Sizes"), through the assembler on hand-made probe records.
 *
 * 60 KB of argv that is not UTF-8 is 240 KB once escaped: the column is
 * cut at its cap, at an escape's boundary, and AdditionalFields.Truncated
 * says what it was.  The process table keeps no more of it either, so a
 * child's InitiatingProcessCommandLine says the same.
 *
 * JSON fragments (agent/record_fragments.h): a file version's and the
 * initiating process's columns are serialised once and reused while they
 * stay the same; a changed file (a new version) gets new ones.  Every row
 * of every test_agent_* test is also checked byte for byte against the line
 * written without fragments (agent_harness.h).
 */
#include "agent_harness.h"

#define ARGV_BYTES 60000
#define COMMAND_LINE_CAP (96 * 1024)

static void test_command_lines_are_capped_and_said_so(void **state)
{
	struct harness *harness = *state;
	char *argv = malloc(ARGV_BYTES);
	json_t *row, *fields, *truncated;
	const char *line;
	size_t length;

	assert_non_null(argv);
	memcpy(argv, "true\0", 5);
	memset(argv + 5, 0xff, ARGV_BYTES - 6);
	argv[ARGV_BYTES - 1] = '\0';
	feed_exec(harness, &(struct exec_spec){EVENT_SCAN, 100, SECOND, 2 * SECOND, 1, 0,
					       "/usr/bin/sleep", "sleep\0" "9\0", 8});
	assembler_scan_done(harness->assembler);
	feed_fork(harness, 200, 3 * SECOND, 100, SECOND);
	feed_exec(harness, &(struct exec_spec){EVENT_EXEC, 200, 3 * SECOND, 4 * SECOND, 100,
					       SECOND, "/usr/bin/true", argv, ARGV_BYTES});
	feed_fork(harness, 300, 5 * SECOND, 200, 3 * SECOND);
	feed_exec(harness, &(struct exec_spec){EVENT_EXEC, 300, 5 * SECOND, 6 * SECOND, 200,
					       3 * SECOND, "/usr/bin/true", "true\0", 5});
	assert_int_equal(json_array_size(harness->rows), 2);

	row = json_array_get(harness->rows, 0);
	line = text(row, "ProcessCommandLine");
	length = strlen(line);
	assert_true(length <= COMMAND_LINE_CAP && length > COMMAND_LINE_CAP - 8);
	assert_int_equal(strncmp(line, "true \"\\xff\\xff", 14), 0);
	/* the cut is at an escape's boundary */
	assert_int_equal(strcmp(line + length - 4, "\\xff"), 0);
	fields = json_loads(text(row, "AdditionalFields"), 0, NULL);
	truncated = json_object_get(fields, "Truncated");
	/* "true " + quotes + 59994 bytes as \xHH */
	assert_int_equal(json_integer_value(json_object_get(truncated, "ProcessCommandLine")),
			 5 + 2 + 4 * (ARGV_BYTES - 6));
	json_decref(fields);

	/* the child's initiating command line: what the table kept, and said */
	row = json_array_get(harness->rows, 1);
	assert_string_equal(text(row, "InitiatingProcessCommandLine"), line);
	fields = json_loads(text(row, "AdditionalFields"), 0, NULL);
	truncated = json_object_get(fields, "Truncated");
	assert_int_equal(json_integer_value(json_object_get(truncated,
							     "InitiatingProcessCommandLine")),
			 5 + 2 + 4 * (ARGV_BYTES - 6));
	assert_null(json_object_get(truncated, "ProcessCommandLine"));
	json_decref(fields);
	free(argv);
}

#define FRAGMENT_EXECS 50

static void copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	char buffer[65536];
	size_t got;

	assert_non_null(in);
	assert_non_null(out);
	while ((got = fread(buffer, 1, sizeof(buffer), in)) > 0)
		assert_int_equal(fwrite(buffer, 1, got, out), got);
	fclose(in);
	assert_int_equal(fclose(out), 0);
	assert_int_equal(chmod(to, 0755), 0);
}

static void exec_child(struct harness *harness, __u32 pid, __u64 start, const char *exe)
{
	feed_fork(harness, pid, start, 100, SECOND);
	feed_exec(harness, &(struct exec_spec){EVENT_EXEC, pid, start, start + 1000, 100,
					       SECOND, exe, "program\0" "x\0", 10});
	feed_exit(harness, pid, start, start + 2000);
}

/* A copy of /usr/bin/true in the state directory (path), and the process
 * (pid 100, a sleep found by the start-up scan) whose children run it. */
static void start_program_and_parent(struct harness *harness, char *path, size_t size)
{
	snprintf(path, size, "%s/program", harness->state_dir);
	copy_file("/usr/bin/true", path);
	feed_exec(harness, &(struct exec_spec){EVENT_SCAN, 100, SECOND, 2 * SECOND, 1, 0,
					       "/usr/bin/sleep", "sleep\0" "9\0", 8});
	assembler_scan_done(harness->assembler);
}

/* Append to the file at path: a new version (size, ctime, hashes). */
static void change_file(const char *path)
{
	FILE *file = fopen(path, "ab");

	assert_non_null(file);
	fputs("a new version", file);
	assert_int_equal(fclose(file), 0);
}

static void test_fragments_follow_the_file_version(void **state)
{
	struct harness *harness = *state;
	struct assembler_stats before, after;
	char path[128];
	json_t *first, *last;

	start_program_and_parent(harness, path, sizeof(path));
	for (__u32 i = 0; i < FRAGMENT_EXECS; i++)
		exec_child(harness, 200 + i, (3 + i) * SECOND, path);
	assert_int_equal(json_array_size(harness->rows), FRAGMENT_EXECS);
	assert_int_equal(harness->rows_with_fragments, FRAGMENT_EXECS);
	assembler_read_stats(harness->assembler, &before);
	/* one file version and one shell: each run made once, then reused */
	assert_int_equal(before.fragments.made, 2);
	assert_int_equal(before.fragments.reused, 2 * (FRAGMENT_EXECS - 1));

	/* the file changes: a new version (size, mtime, hashes) */
	change_file(path);
	exec_child(harness, 400, 100 * SECOND, path);
	exec_child(harness, 401, 101 * SECOND, path);
	assembler_read_stats(harness->assembler, &after);
	assert_int_equal(after.fragments.made, before.fragments.made + 1);
	assert_int_equal(after.fragments.reused, before.fragments.reused + 3);
	first = json_array_get(harness->rows, 0);
	last = json_array_get(harness->rows, FRAGMENT_EXECS + 1);
	assert_string_not_equal(text(first, "SHA256"), text(last, "SHA256"));
	assert_int_equal(number(last, "FileSize"), number(first, "FileSize") + 13);
	assert_string_equal(text(first, "InitiatingProcessFolderPath"),
			    text(last, "InitiatingProcessFolderPath"));
	/* the line shows the new version's hash, from the new fragment */
	assert_non_null(strstr(harness->lines.data + harness->lines.length / 2,
			       text(last, "SHA256")));
	unlink(path);
}

/* The probe is told of a file version once its hash is in, and only once:
 * later execs of it need not wake the agent (exec_event.h: known_file). */
static void test_probe_is_told_of_each_hashed_file_once(void **state)
{
	struct harness *harness = *state;
	struct stat status;
	char path[128];

	start_program_and_parent(harness, path, sizeof(path));
	for (__u32 i = 0; i < 3; i++)
		exec_child(harness, 200 + i, (3 + i) * SECOND, path);
	assert_int_equal(stat(path, &status), 0);
	assert_int_equal(harness->known_count, 1);
	assert_int_equal(harness->known_inodes[0], status.st_ino);

	/* a new version of the file (new ctime, size): told again, once */
	change_file(path);
	exec_child(harness, 300, 10 * SECOND, path);
	exec_child(harness, 301, 11 * SECOND, path);
	assert_int_equal(harness->known_count, 2);
	assert_int_equal(json_array_size(harness->rows), 5);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_command_lines_are_capped_and_said_so, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fragments_follow_the_file_version, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_probe_is_told_of_each_hashed_file_once,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
