/*
 * test_agent_lineage.c - the assembler on hand-made probe records.
 *
 * No BPF here: records are built byte by byte as the probe writes them, so
 * the decoding, the process table's lineage rules and the row builder are
 * checked exactly, including the cases a live system makes hard to hit
 * (exec without fork, a creator that exited before its child exec'd).
 */
#include "agent_harness.h"

static void test_lineage_across_fork_exec_and_exec_without_fork(void **state)
{
	struct harness *harness = *state;
	json_t *row;

	/* 100 existed before the agent (scan), runs /usr/bin/sleep */
	feed_exec(harness, &(struct exec_spec){EVENT_SCAN, 100, 5 * SECOND, 6 * SECOND,
					       1, 1 * SECOND, "/usr/bin/sleep",
					       "sleep\0infinity\0", 15});
	assembler_scan_done(harness->assembler);
	/* 100 forks 200, which execs true, then execs env without a fork */
	feed_fork(harness, 200, 7 * SECOND, 100, 5 * SECOND);
	feed_exec(harness, &(struct exec_spec){EVENT_EXEC, 200, 7 * SECOND, 8 * SECOND,
					       100, 5 * SECOND, "/usr/bin/true",
					       "true\0", 5});
	feed_exec(harness, &(struct exec_spec){EVENT_EXEC, 200, 7 * SECOND, 9 * SECOND,
					       100, 5 * SECOND, "/usr/bin/env",
					       "env\0-i\0", 7});
	/* 100 exits; later 200 forks 300, which execs cat */
	feed_exit(harness, 100, 5 * SECOND, 10 * SECOND);
	feed_fork(harness, 300, 11 * SECOND, 200, 7 * SECOND);
	feed_exec(harness, &(struct exec_spec){EVENT_EXEC, 300, 11 * SECOND, 12 * SECOND,
					       1, 1 * SECOND, "/usr/bin/cat",
					       "cat\0", 4});
	assert_int_equal(json_array_size(harness->rows), 3);

	row = json_array_get(harness->rows, 0); /* 200: true */
	assert_int_equal(number(row, "ProcessId"), 200);
	assert_string_equal(text(row, "FolderPath"), "/usr/bin/true");
	assert_int_equal(number(row, "InitiatingProcessId"), 100);
	assert_string_equal(text(row, "InitiatingProcessFileName"), "sleep");
	assert_string_equal(text(row, "InitiatingProcessCommandLine"), "sleep infinity");
	assert_int_equal(number(row, "InitiatingProcessParentId"), 1);

	row = json_array_get(harness->rows, 1); /* 200: env, exec without fork */
	assert_string_equal(text(row, "ProcessCommandLine"), "env -i");
	assert_int_equal(number(row, "InitiatingProcessId"), 200);
	assert_string_equal(text(row, "InitiatingProcessFileName"), "true");
	assert_string_equal(text(row, "InitiatingProcessUniqueId"),
			    text(row, "ProcessUniqueId"));
	assert_int_equal(number(row, "InitiatingProcessParentId"), 100);
	assert_string_equal(text(row, "InitiatingProcessParentFileName"), "sleep");
	assert_non_null(strstr(text(row, "AdditionalFields"), "\"ExecWithoutFork\":true"));

	row = json_array_get(harness->rows, 2); /* 300: cat, creator 200 */
	assert_int_equal(number(row, "InitiatingProcessId"), 200);
	assert_string_equal(text(row, "InitiatingProcessFileName"), "env");
	assert_string_equal(text(row, "InitiatingProcessCommandLine"), "env -i");
	/* the creator's creator had exited: known from the snapshot */
	assert_int_equal(number(row, "InitiatingProcessParentId"), 100);
	assert_string_equal(text(row, "InitiatingProcessParentFileName"), "sleep");
	assert_true(number(row, "ReportId") > number(json_array_get(harness->rows, 1), "ReportId"));
}

static void test_hashes_come_from_the_path_when_the_process_is_gone(void **state)
{
	struct harness *harness = *state;
	json_t *row;

	/* pid 4000000 does not exist: /proc/PID/exe fails, the path works */
	feed_exec(harness, &(struct exec_spec){EVENT_EXEC, 4000000, SECOND, SECOND,
					       1, 1, "/usr/bin/true", "true\0", 5});
	assert_int_equal(json_array_size(harness->rows), 1);
	row = json_array_get(harness->rows, 0);
	assert_int_equal(strlen(text(row, "SHA256")), 64);
	assert_non_null(strstr(text(row, "AdditionalFields"), "\"HashStatus\":\"ok\""));
	/* the parent was never seen: said so, not guessed */
	assert_non_null(strstr(text(row, "AdditionalFields"), "\"InitiatingProcessUnknown\":true"));
	assert_int_equal(number(row, "InitiatingProcessId"), 1);
}

static void test_malformed_records_are_counted(void **state)
{
	struct harness *harness = *state;
	struct assembler_stats stats;
	struct exec_event *event = calloc(1, sizeof(*event));

	event->header.type = EVENT_EXEC;
	event->info.args_len = 60000; /* more than the record holds */
	event->header.size = offsetof(struct exec_event, data) + 10;
	assembler_handle(harness->assembler, event, event->header.size);
	event->header.type = 99;
	assembler_handle(harness->assembler, event, event->header.size);
	assembler_handle(harness->assembler, event, 3);
	assembler_read_stats(harness->assembler, &stats);
	assert_int_equal(stats.malformed, 3);
	assert_int_equal(json_array_size(harness->rows), 0);
	free(event);
}

static void test_path_from_components(void **state)
{
	char *path;

	(void)state;
	path = exec_path_from_components("true\0bin\0usr\0", 13);
	assert_string_equal(path, "/usr/bin/true");
	free(path);
	path = exec_path_from_components("", 0);
	assert_string_equal(path, "/");
	free(path);
	path = exec_path_from_components("memfd:x\0", 8);
	assert_string_equal(path, "/memfd:x");
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lineage_across_fork_exec_and_exec_without_fork,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_hashes_come_from_the_path_when_the_process_is_gone,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_records_are_counted, setup, teardown),
		cmocka_unit_test(test_path_from_components),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
