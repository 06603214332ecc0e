/*
 * test_agent_records.c - the bounds of a record (issue 9; docs/records.md,
 * "Sizes"), through the assembler on hand-made probe records.
 *
 * 60 KB of argv that is not UTF-8 is 240 KB once escaped: the column is
 * cut at its cap, at an escape's boundary, and AdditionalFields.Truncated
 * says what it was.  The process table keeps no more of it either, so a
 * child's InitiatingProcessCommandLine says the same.
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_command_lines_are_capped_and_said_so, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
