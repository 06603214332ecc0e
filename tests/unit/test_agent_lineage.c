/*
 * test_agent_lineage.c - the assembler on hand-made probe records.
 *
 * No BPF here: records are built byte by byte as the probe writes them, so
 * the decoding, the process table's lineage rules and the row builder are
 * checked exactly, including the cases a live system makes hard to hit
 * (exec without fork, a creator that exited before its child exec'd).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "assembler.h"
#include "exec_facts.h"
#include "strbuf.h"

#define SECOND 1000000000ULL

struct harness {
	char state_dir[64];
	struct device_identity identity;
	struct boot_clock clock;
	struct report_ids ids;
	struct file_cache *files;
	struct process_table *processes;
	struct accounts *accounts;
	struct assembler *assembler;
	json_t *rows; /* every row written, parsed */
};

static void collect(void *context, const struct record *record)
{
	struct harness *harness = context;
	json_t *row = record_to_json(record);

	json_array_append_new(harness->rows, row);
}

static int setup(void **state)
{
	struct harness *harness = calloc(1, sizeof(*harness));
	struct file_cache_options cache = {.max_hash_bytes = 1 << 30,
					   .inline_hash_bytes = 1 << 30,
					   .max_entries = 64};
	struct assembler_context context;

	strcpy(harness->state_dir, "/tmp/rmmhunt-lineage-XXXXXX");
	assert_non_null(mkdtemp(harness->state_dir));
	strcpy(harness->identity.device_id, "0123456789012345678901234567890123456789");
	strcpy(harness->identity.device_name, "host.example");
	strcpy(harness->identity.host_name, "host");
	strcpy(harness->identity.boot_id, "boot");
	assert_int_equal(report_ids_open(&harness->ids, harness->state_dir, 16), 0);
	assert_int_equal(file_cache_create(&harness->files, &cache), 0);
	assert_int_equal(process_table_create(&harness->processes, harness->files, 64,
					      30 * SECOND), 0);
	assert_int_equal(accounts_create(&harness->accounts, 16), 0);
	context = (struct assembler_context){&harness->identity, &harness->clock,
					     harness->files, harness->processes,
					     harness->accounts, &harness->ids};
	assert_int_equal(assembler_create(&harness->assembler, &context), 0);
	harness->rows = json_array();
	assembler_add_sink(harness->assembler,
			   (struct record_sink){.write = collect, .context = harness});
	*state = harness;
	return 0;
}

static int teardown(void **state)
{
	struct harness *harness = *state;
	char path[128];

	assembler_destroy(harness->assembler);
	process_table_destroy(harness->processes);
	file_cache_destroy(harness->files);
	accounts_destroy(harness->accounts);
	report_ids_close(&harness->ids);
	json_decref(harness->rows);
	snprintf(path, sizeof(path), "%s/reportid", harness->state_dir);
	unlink(path);
	rmdir(harness->state_dir);
	free(harness);
	return 0;
}

/* Components of an absolute path, leaf first, as the probe writes them. */
static void append_components(struct strbuf *data, const char *path, __u16 *length)
{
	char copy[256];
	char *parts[32];
	int count = 0;
	size_t before = data->length;

	snprintf(copy, sizeof(copy), "%s", path);
	for (char *part = strtok(copy, "/"); part; part = strtok(NULL, "/"))
		parts[count++] = part;
	while (count > 0) {
		count--;
		strbuf_append(data, parts[count], strlen(parts[count]) + 1);
	}
	*length = (__u16)(data->length - before);
}

struct exec_spec {
	__u32 type, pid;
	__u64 start, time;
	__u32 parent_pid;
	__u64 parent_start;
	const char *exe; /* a real file: its inode facts are used */
	const char *argv; /* NUL-separated, with its final NUL */
	size_t argv_length;
};

static void feed_exec(struct harness *harness, const struct exec_spec *spec)
{
	struct exec_event *event = calloc(1, sizeof(*event));
	struct strbuf data;
	struct stat status;

	assert_int_equal(stat(spec->exe, &status), 0);
	strbuf_init(&data);
	event->header.type = spec->type;
	event->header.pid = event->header.tid = spec->pid;
	event->header.start_boot_ns = spec->start;
	event->header.time_boot_ns = spec->time;
	event->info.parent_pid = spec->parent_pid;
	event->info.parent_start_boot_ns = spec->parent_start;
	event->info.loginuid = event->info.sessionid = UINT32_MAX;
	event->info.exe_dev_major = major(status.st_dev);
	event->info.exe_dev_minor = minor(status.st_dev);
	event->info.exe_ino = status.st_ino;
	event->info.exe_size = status.st_size;
	event->info.exe_ctime_sec = status.st_ctim.tv_sec;
	event->info.exe_ctime_nsec = (__u32)status.st_ctim.tv_nsec;
	event->info.exe_nlink = (__u32)status.st_nlink;
	if (spec->type == EVENT_EXEC) {
		strbuf_append(&data, spec->exe, strlen(spec->exe) + 1);
		event->info.filename_len = (__u16)(strlen(spec->exe) + 1);
		strbuf_append(&data, spec->exe, strlen(spec->exe) + 1);
		event->info.interp_len = event->info.filename_len;
	}
	append_components(&data, spec->exe, &event->info.exe_path_len);
	append_components(&data, "/tmp", &event->info.cwd_path_len);
	strbuf_append(&data, spec->argv, spec->argv_length);
	event->info.args_len = event->info.args_total = (__u32)spec->argv_length;
	memcpy(event->data, data.data, data.length);
	event->header.size = (__u32)(offsetof(struct exec_event, data) + data.length);
	assembler_handle(harness->assembler, event, event->header.size);
	strbuf_free(&data);
	free(event);
}

static void feed_fork(struct harness *harness, __u32 pid, __u64 start,
		      __u32 parent_pid, __u64 parent_start)
{
	struct fork_event event = {
		.header = {.type = EVENT_FORK, .size = sizeof(event), .pid = pid,
			   .tid = pid, .start_boot_ns = start, .time_boot_ns = start},
		.parent_pid = parent_pid,
		.parent_start_boot_ns = parent_start,
	};

	assembler_handle(harness->assembler, &event, sizeof(event));
}

static void feed_exit(struct harness *harness, __u32 pid, __u64 start, __u64 time)
{
	struct exit_event event = {
		.header = {.type = EVENT_EXIT, .size = sizeof(event), .pid = pid,
			   .tid = pid, .start_boot_ns = start, .time_boot_ns = time},
	};

	assembler_handle(harness->assembler, &event, sizeof(event));
}

static const char *text(json_t *row, const char *column)
{
	return json_string_value(json_object_get(row, column));
}

static json_int_t number(json_t *row, const char *column)
{
	return json_integer_value(json_object_get(row, column));
}

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
