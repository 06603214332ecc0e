/*
 * agent_harness.h - the assembler fed with hand-made probe records, for the
 * test_agent_* tests.
 *
 * setup() builds an assembler with every part (file cache, process table,
 * accounts, ReportIds in a temporary state directory) and a sink that keeps
 * every row as JSON in harness->rows, after checking that its NDJSON line
 * with the JSON fragments it took (agent/record_fragments.h) is byte for
 * byte the line written column by column; feed_exec/feed_fork/feed_exit write
 * records byte by byte as the probe does.  No BPF: the tests choose pids,
 * times and files, so cases a live system makes hard to hit are exact.
 */
#ifndef RMMHUNT_TESTS_AGENT_HARNESS_H
#define RMMHUNT_TESTS_AGENT_HARNESS_H

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
#include "base/strbuf.h"

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
	struct strbuf lines; /* their NDJSON lines, as the agent writes them */
	size_t rows_with_fragments;
	/* the inodes the probe was told need no prompt look (file_known) */
	__u64 known_inodes[16];
	uint32_t known_count;
};

static inline void note_file_known(void *context, const struct exec_info *info)
{
	struct harness *harness = context;

	assert_true(harness->known_count < 16);
	harness->known_inodes[harness->known_count++] = info->exe_ino;
}

/* The record's NDJSON line is the same with its fragments as without. */
static inline void check_fragments(struct harness *harness, const struct record *record)
{
	struct record plain = *record; /* the same values, no fragments */
	struct strbuf without;
	size_t start = harness->lines.length;

	plain.fragment_count = 0;
	strbuf_init(&without);
	assert_int_equal(record_append_json_line(record, &harness->lines), 0);
	assert_int_equal(record_append_json_line(&plain, &without), 0);
	assert_int_equal(harness->lines.length - start, without.length);
	assert_memory_equal(harness->lines.data + start, without.data, without.length);
	strbuf_free(&without);
	harness->rows_with_fragments += record->fragment_count > 0;
}

static inline void collect(void *context, const struct record *record)
{
	struct harness *harness = context;
	json_t *row = record_to_json(record);

	check_fragments(harness, record);
	json_array_append_new(harness->rows, row);
}

static inline int setup(void **state)
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
	context = (struct assembler_context){.identity = &harness->identity,
					     .clock = &harness->clock,
					     .files = harness->files,
					     .processes = harness->processes,
					     .accounts = harness->accounts,
					     .report_ids = &harness->ids,
					     .file_known = note_file_known,
					     .file_known_context = harness};
	assert_int_equal(assembler_create(&harness->assembler, &context), 0);
	harness->rows = json_array();
	assembler_add_sink(harness->assembler,
			   (struct record_sink){.write = collect, .context = harness});
	*state = harness;
	return 0;
}

static inline int teardown(void **state)
{
	struct harness *harness = *state;
	char path[128];

	assembler_destroy(harness->assembler);
	process_table_destroy(harness->processes);
	file_cache_destroy(harness->files);
	accounts_destroy(harness->accounts);
	report_ids_close(&harness->ids);
	json_decref(harness->rows);
	strbuf_free(&harness->lines);
	snprintf(path, sizeof(path), "%s/reportid", harness->state_dir);
	unlink(path);
	rmdir(harness->state_dir);
	free(harness);
	return 0;
}

/* Components of an absolute path, leaf first, as the probe writes them. */
static inline void append_components(struct strbuf *data, const char *path, __u16 *length)
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

/* What an exec asked for, where it ran (NULL: exe, no script, "/tmp"). */
struct exec_names {
	const char *filename, *interp, *cwd;
};

static inline void feed_exec_as(struct harness *harness, const struct exec_spec *spec,
				const struct exec_names *names)
{
	static const struct exec_names plain = {NULL, NULL, NULL};
	struct exec_event *event = calloc(1, sizeof(*event));
	struct strbuf data;
	struct stat status;

	if (!names)
		names = &plain;
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
		const char *filename = names->filename ? names->filename : spec->exe;
		const char *interp = names->interp ? names->interp : filename;

		strbuf_append(&data, filename, strlen(filename) + 1);
		event->info.filename_len = (__u16)(strlen(filename) + 1);
		strbuf_append(&data, interp, strlen(interp) + 1);
		event->info.interp_len = (__u16)(strlen(interp) + 1);
	}
	append_components(&data, spec->exe, &event->info.exe_path_len);
	append_components(&data, names->cwd ? names->cwd : "/tmp",
			  &event->info.cwd_path_len);
	strbuf_append(&data, spec->argv, spec->argv_length);
	event->info.args_len = event->info.args_total = (__u32)spec->argv_length;
	memcpy(event->data, data.data, data.length);
	event->header.size = (__u32)(offsetof(struct exec_event, data) + data.length);
	assembler_handle(harness->assembler, event, event->header.size);
	strbuf_free(&data);
	free(event);
}

static inline void feed_exec(struct harness *harness, const struct exec_spec *spec)
{
	feed_exec_as(harness, spec, NULL);
}

static inline void feed_fork(struct harness *harness, __u32 pid, __u64 start,
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

static inline void feed_exit(struct harness *harness, __u32 pid, __u64 start,
			     __u64 time)
{
	struct exit_event event = {
		.header = {.type = EVENT_EXIT, .size = sizeof(event), .pid = pid,
			   .tid = pid, .start_boot_ns = start, .time_boot_ns = time},
	};

	assembler_handle(harness->assembler, &event, sizeof(event));
}

static inline const char *text(json_t *row, const char *column)
{
	return json_string_value(json_object_get(row, column));
}

static inline json_int_t number(json_t *row, const char *column)
{
	return json_integer_value(json_object_get(row, column));
}

#endif
