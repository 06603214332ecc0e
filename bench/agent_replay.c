/*
 * agent_replay.c - the agent's per-exec work without the probe, for
 * instruction counts under callgrind (docs/performance.md):
 *   valgrind --tool=callgrind build/bench/agent_replay N rules /dev/null
 * run for N and 2N records.
 *
 * A shell (/usr/bin/bash, pid 4100000, found by the start-up scan) forks COUNT
 * children; each execs /bin/true with its own argument and exits.  Every
 * record goes through the assembler as the ring buffer's would (process
 * table, file cache, accounts, ReportIds, row building), then through the
 * same sinks as the agent's: the rules of RULES_DIR (each record matched,
 * hits as NDJSON lines) and the NDJSON stream, written to OUTPUT.  The
 * local cache (lib/store) is left out unless CACHE_FILE is given: then every
 * record is also stored there as the agent stores it (a fresh file; commits
 * every commit_max_records records, by count, so that callgrind's slowness
 * does not change the batches).  Callgrind's count of a run of 2*COUNT minus
 * that of COUNT, divided by COUNT, is the cost per record, start-up excluded.
 *
 * Usage: agent_replay COUNT RULES_DIR OUTPUT [CACHE_FILE]
 */
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "assembler.h"
#include "outputs.h"
#include "rule_engine.h"
#include "base/timefmt.h"
#include "store/cache.h"

#define SHELL_PID 4100000u /* above pid_max on most hosts: no /proc entry */
#define SHELL_START 1000000000ull
#define STEP_NS 1000000ull

struct replay {
	struct assembler *assembler;
	struct rule_engine *rules;
	struct strbuf hit_lines;
	struct ndjson_output events;
	struct cache *cache; /* NULL: no cache */
};

static void match_rules(void *context, const struct record *record)
{
	struct replay *replay = context;

	rule_engine_match(replay->rules, record, timefmt_now_ticks(), &replay->hit_lines);
}

static void store_record(void *context, const struct record *record)
{
	struct replay *replay = context;

	cache_add_record(replay->cache, record);
	cache_commit_if_due(replay->cache, 0);
}

/* A fresh cache at path committing by count only (see the top). */
static int open_cache(struct replay *replay, const char *path)
{
	struct cache_options options;
	char message[4200];
	int result;

	unlink(path);
	cache_default_options(&options);
	options.commit_interval_ms = INT_MAX;
	result = cache_open_writer(&replay->cache, path, &options, message, sizeof(message));
	if (result)
		fprintf(stderr, "agent_replay: %s\n", message);
	return result;
}

/* Leaf first, each with its NUL, as the probe writes a path. */
static size_t put_components(char *data, const char *path)
{
	const char *end = path + strlen(path);
	size_t length = 0;

	while (end > path) {
		const char *start = end;

		while (start > path && start[-1] != '/')
			start--;
		if (start < end) {
			memcpy(data + length, start, (size_t)(end - start));
			length += (size_t)(end - start);
			data[length++] = '\0';
		}
		end = start > path ? start - 1 : path;
	}
	return length;
}

static size_t put_string(char *data, const char *text)
{
	size_t length = strlen(text) + 1;

	memcpy(data, text, length);
	return length;
}

/* One exec (or scan) record of exe with argv (NUL-separated, final NUL). */
static int send_exec(struct replay *replay, struct exec_event *event, __u32 type,
		     __u32 pid, __u64 start, __u64 time, const char *exe,
		     const char *argv, size_t argv_length)
{
	struct stat status;
	size_t length = 0;

	if (stat(exe, &status) != 0)
		return -1;
	memset(event, 0, offsetof(struct exec_event, data));
	event->header = (struct event_header){.type = type, .pid = pid, .tid = pid,
					      .start_boot_ns = start, .time_boot_ns = time};
	event->info.parent_pid = type == EVENT_SCAN ? 1 : SHELL_PID;
	event->info.parent_start_boot_ns = type == EVENT_SCAN ? 1 : SHELL_START;
	event->info.loginuid = event->info.sessionid = UINT32_MAX;
	event->info.exe_dev_major = major(status.st_dev);
	event->info.exe_dev_minor = minor(status.st_dev);
	event->info.exe_ino = status.st_ino;
	event->info.exe_size = status.st_size;
	event->info.exe_mode = status.st_mode;
	event->info.exe_ctime_sec = status.st_ctim.tv_sec;
	event->info.exe_ctime_nsec = (__u32)status.st_ctim.tv_nsec;
	event->info.exe_mtime_sec = status.st_mtim.tv_sec;
	event->info.exe_mtime_nsec = (__u32)status.st_mtim.tv_nsec;
	event->info.exe_nlink = (__u32)status.st_nlink;
	snprintf(event->info.comm, sizeof(event->info.comm), "%s", strrchr(exe, '/') + 1);
	snprintf(event->info.tty, sizeof(event->info.tty), "pts0");
	event->info.filename_len = (__u16)put_string(event->data, exe);
	length += event->info.filename_len;
	event->info.interp_len = (__u16)put_string(event->data + length, exe);
	length += event->info.interp_len;
	event->info.exe_path_len = (__u16)put_components(event->data + length, exe);
	length += event->info.exe_path_len;
	event->info.cwd_path_len = (__u16)put_components(event->data + length, "/root/work");
	length += event->info.cwd_path_len;
	event->info.cgroup_name_len = (__u16)put_string(event->data + length, "session-1.scope");
	length += event->info.cgroup_name_len;
	memcpy(event->data + length, argv, argv_length);
	length += argv_length;
	event->info.args_len = event->info.args_total = (__u32)argv_length;
	event->header.size = (__u32)(offsetof(struct exec_event, data) + length);
	assembler_handle(replay->assembler, event, event->header.size);
	return 0;
}

static void send_fork(struct replay *replay, __u32 pid, __u64 start)
{
	struct fork_event event = {
		.header = {.type = EVENT_FORK, .size = sizeof(event), .pid = pid, .tid = pid,
			   .start_boot_ns = start, .time_boot_ns = start},
		.parent_pid = SHELL_PID,
		.parent_start_boot_ns = SHELL_START,
	};

	assembler_handle(replay->assembler, &event, sizeof(event));
}

static void send_exit(struct replay *replay, __u32 pid, __u64 start, __u64 time)
{
	struct exit_event event = {
		.header = {.type = EVENT_EXIT, .size = sizeof(event), .pid = pid, .tid = pid,
			   .start_boot_ns = start, .time_boot_ns = time},
	};

	assembler_handle(replay->assembler, &event, sizeof(event));
}

static int run(struct replay *replay, long count)
{
	static const char shell_argv[] = "-bash\0";
	struct exec_event *event = malloc(sizeof(*event));
	int result = 0;

	if (!event)
		return -1;
	result = send_exec(replay, event, EVENT_SCAN, SHELL_PID, SHELL_START, SHELL_START,
			   "/usr/bin/bash", shell_argv, sizeof(shell_argv));
	assembler_scan_done(replay->assembler);
	for (long i = 0; i < count && result == 0; i++) {
		__u32 pid = SHELL_PID + 1 + (__u32)(i % 30000);
		__u64 start = SHELL_START + (__u64)(i + 1) * STEP_NS;
		char argv[64];
		int length = snprintf(argv, sizeof(argv), "/usr/bin/true%cround-%ld", '\0', i);

		send_fork(replay, pid, start);
		result = send_exec(replay, event, EVENT_EXEC, pid, start, start + 1000,
				   "/usr/bin/true", argv, (size_t)length + 1);
		send_exit(replay, pid, start, start + 2000);
		assembler_poll(replay->assembler, start + 3000);
		if (i % 64 == 63) {
			ndjson_output_flush(&replay->events);
			strbuf_clear(&replay->hit_lines);
		}
	}
	free(event);
	return result;
}

int main(int argc, char **argv)
{
	struct file_cache_options cache = {.max_hash_bytes = 1 << 30,
					   .inline_hash_bytes = 1 << 30,
					   .max_entries = 4096};
	struct device_identity identity = {.device_id = "0123456789012345678901234567890123456789",
					   .device_name = "host.example",
					   .host_name = "host", .boot_id = "boot"};
	char state_dir[] = "/tmp/rmmhunt-replay-XXXXXX", path[64];
	struct boot_clock clock = {0};
	struct report_ids ids;
	struct file_cache *files = NULL;
	struct process_table *processes = NULL;
	struct accounts *accounts = NULL;
	struct assembler_context context;
	struct replay replay = {0};
	int result;

	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: %s COUNT RULES_DIR OUTPUT [CACHE_FILE]\n", argv[0]);
		return 2;
	}
	if (!mkdtemp(state_dir) || report_ids_open(&ids, state_dir, 1 << 20) != 0) {
		fprintf(stderr, "agent_replay: cannot make a state directory\n");
		return 1;
	}
	strbuf_init(&replay.hit_lines);
	result = file_cache_create(&files, &cache);
	if (result == 0)
		result = process_table_create(&processes, files, 32768, 30 * 1000000000ull);
	if (result == 0)
		result = accounts_create(&accounts, 64);
	context = (struct assembler_context){.identity = &identity,
					     .clock = &clock,
					     .files = files,
					     .processes = processes,
					     .accounts = accounts,
					     .report_ids = &ids};
	if (result == 0)
		result = assembler_create(&replay.assembler, &context);
	if (result == 0)
		result = rule_engine_create(&replay.rules, (const char *const[]){argv[2]}, 1, NULL);
	if (result == 0)
		result = rule_engine_load(replay.rules);
	if (result == 0)
		result = ndjson_output_open(&replay.events, argv[3]);
	if (result == 0 && argc == 5)
		result = open_cache(&replay, argv[4]);
	if (result == 0) {
		assembler_add_sink(replay.assembler,
				   (struct record_sink){.write = match_rules, .context = &replay});
		assembler_add_sink(replay.assembler, ndjson_output_sink(&replay.events));
		if (replay.cache)
			assembler_add_sink(replay.assembler, (struct record_sink){
							     .write = store_record, .context = &replay});
		result = run(&replay, atol(argv[1]));
		assembler_destroy(replay.assembler);
		ndjson_output_close(&replay.events);
	}
	if (result != 0)
		fprintf(stderr, "agent_replay: failed (%d)\n", result);
	if (replay.cache)
		cache_close(replay.cache);
	rule_engine_destroy(replay.rules);
	process_table_destroy(processes);
	file_cache_destroy(files);
	accounts_destroy(accounts);
	report_ids_close(&ids);
	strbuf_free(&replay.hit_lines);
	snprintf(path, sizeof(path), "%s/reportid", state_dir);
	unlink(path);
	rmdir(state_dir);
	return result == 0 ? 0 : 1;
}
