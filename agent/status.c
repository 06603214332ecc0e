/*
 * status.c - the agent's counters: STATE_DIR/status.json and the stats line.
 *
 * `rmmhunt status` reads the file.  Every loss counter of the probe is
 * there, in total and per CPU, with the records written, so a loss is never
 * silent.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "agent.h"
#include "privileges.h"
#include "base/log.h"
#include "base/state_file.h"
#include "base/timefmt.h"
#include "ship/ship_status.h"

static const char *const counter_names[COUNTER_COUNT] = {
	[COUNTER_EXEC_SEEN] = "exec_seen",
	[COUNTER_FORK_SEEN] = "fork_seen",
	[COUNTER_EXIT_SEEN] = "exit_seen",
	[COUNTER_EXEC_LOST] = "exec_lost",
	[COUNTER_FORK_LOST] = "fork_lost",
	[COUNTER_EXIT_LOST] = "exit_lost",
	[COUNTER_SCAN_LOST] = "scan_lost",
	[COUNTER_ARGS_READ_FAILED] = "args_read_failed",
	[COUNTER_SCRATCH_MISSING] = "scratch_missing",
};

static json_t *probe_json(const struct sensor *sensor)
{
	static const enum probe_counter lost[] = {
		COUNTER_EXEC_LOST, COUNTER_FORK_LOST, COUNTER_EXIT_LOST,
		COUNTER_SCAN_LOST};
	uint64_t totals[COUNTER_COUNT];
	int cpus = sensor_cpu_count(sensor);
	uint64_t per_cpu[cpus];
	json_t *probe = json_object(), *by_cpu = json_object();

	sensor_read_counters(sensor, totals);
	for (int i = 0; i < COUNTER_COUNT; i++)
		json_object_set_new(probe, counter_names[i], json_integer((json_int_t)totals[i]));
	for (size_t i = 0; i < sizeof(lost) / sizeof(lost[0]); i++) {
		json_t *values = json_array();

		sensor_read_counter_per_cpu(sensor, lost[i], per_cpu);
		for (int cpu = 0; cpu < cpus; cpu++)
			json_array_append_new(values, json_integer((json_int_t)per_cpu[cpu]));
		json_object_set_new(by_cpu, counter_names[lost[i]], values);
	}
	json_object_set_new(probe, "lost_per_cpu", by_cpu);
	return probe;
}

static json_t *kernel_time_json(const struct sensor *sensor)
{
	static const char *const names[SENSOR_PROGRAM_COUNT] = {"exec", "fork", "exit"};
	struct sensor_program_stats stats[SENSOR_PROGRAM_COUNT];
	json_t *object = json_object();

	if (sensor_read_program_stats(sensor, stats) != 0)
		return object;
	for (int i = 0; i < SENSOR_PROGRAM_COUNT; i++) {
		json_t *program = json_object();

		json_object_set_new(program, "runs", json_integer((json_int_t)stats[i].run_count));
		json_object_set_new(program, "run_time_ns",
				    json_integer((json_int_t)stats[i].run_time_ns));
		json_object_set_new(object, names[i], program);
	}
	return object;
}

static void add_rule(void *context, const char *id, const char *name, uint64_t hits)
{
	json_t *rule = json_object();

	json_object_set_new(rule, "id", json_string(id));
	json_object_set_new(rule, "name", json_string(name));
	json_object_set_new(rule, "hits", json_integer((json_int_t)hits));
	json_array_append_new(context, rule);
}

static json_t *rules_json(const struct rule_engine *rules)
{
	struct rule_engine_stats stats;
	json_t *section = json_object(), *each = json_array();

	rule_engine_read_stats(rules, &stats);
	json_object_set_new(section, "loaded", json_integer(stats.loaded));
	json_object_set_new(section, "skipped", json_integer(stats.skipped));
	json_object_set_new(section, "without_summary", json_integer(stats.without_summary));
	json_object_set_new(section, "records", json_integer((json_int_t)stats.records));
	json_object_set_new(section, "hits", json_integer((json_int_t)stats.hits));
	json_object_set_new(section, "evaluation_errors",
			    json_integer((json_int_t)stats.evaluation_errors));
	rule_engine_each_rule(rules, add_rule, each);
	json_object_set_new(section, "each", each);
	return section;
}

static json_t *cache_json(const struct agent *agent)
{
	struct cache_stats stats;
	json_t *section = json_object();

	cache_read_stats(agent->cache, &stats);
	json_object_set_new(section, "records_written", json_integer((json_int_t)stats.records_written));
	json_object_set_new(section, "hits_written", json_integer((json_int_t)stats.hits_written));
	json_object_set_new(section, "commits", json_integer((json_int_t)stats.commits));
	json_object_set_new(section, "write_errors", json_integer((json_int_t)stats.write_errors));
	json_object_set_new(section, "retention_removed_records",
			    json_integer((json_int_t)stats.retention_records));
	json_object_set_new(section, "retention_removed_hits",
			    json_integer((json_int_t)stats.retention_hits));
	json_object_set_new(section, "retention_errors",
			    json_integer((json_int_t)agent->cache_retention_errors));
	json_object_set_new(section, "data_bytes", json_integer(stats.data_bytes));
	json_object_set_new(section, "wal_bytes", json_integer(stats.wal_bytes));
	json_object_set_new(section, "checkpoints", json_integer((json_int_t)stats.checkpoints));
	return section;
}

/*
 * Every counter of status.json that says something was lost, by its dotted
 * name: the "losses" object, which heartbeats carry to the collector.
 */
static json_t *losses_json(json_t *status)
{
	static const char *const counters[] = {
		"probe.exec_lost", "probe.fork_lost", "probe.exit_lost", "probe.scan_lost",
		"probe.args_read_failed", "probe.scratch_missing", "events.malformed",
		"records.build_errors", "records.report_id_errors", "records.ndjson_errors",
		"wine.errors", "wine.held_overflow", "process_table.evicted_live",
		"cache.write_errors", "cache.retention_errors", "rules.evaluation_errors",
		"outbox.dropped_records", "outbox.dropped_hits", "outbox.rejected_records",
		"outbox.rejected_hits", "outbox.rejected_summaries",
	};
	json_t *losses = json_object();

	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		char section[32];
		const char *dot = strchr(counters[i], '.');

		snprintf(section, sizeof(section), "%.*s", (int)(dot - counters[i]), counters[i]);
		json_object_set_new(losses, counters[i],
				    json_integer(json_integer_value(json_object_get(
					    json_object_get(status, section), dot + 1))));
	}
	return losses;
}

static json_t *agent_json(const struct agent *agent)
{
	struct assembler_stats assembled;
	struct file_cache_stats files;
	struct process_table_stats processes;
	char now[TIMEFMT_ISO_SIZE];
	json_t *status = json_object(), *section;

	assembler_read_stats(agent->assembler, &assembled);
	file_cache_read_stats(agent->files, &files);
	process_table_read_stats(agent->processes, &processes);
	json_object_set_new(status, "pid", json_integer(getpid()));
	/* rmmhunt status calls the agent stalled when this file is older
	 * than three of these */
	json_object_set_new(status, "stats_interval_seconds",
			    json_integer(agent->options.stats_interval_seconds));
	json_object_set_new(status, "written", json_string(timefmt_iso(timefmt_now_ticks(), now)));
	json_object_set_new(status, "uptime_seconds",
			    json_integer((json_int_t)((boot_clock_now_ns() - agent->started_boot_ns) / 1000000000ULL)));
	json_object_set_new(status, "device_id", json_string(agent->identity.device_id));
	json_object_set_new(status, "device_name", json_string(agent->identity.device_name));

	section = json_object();
	json_object_set_new(section, "exec", json_integer((json_int_t)assembled.events[EVENT_EXEC]));
	json_object_set_new(section, "fork", json_integer((json_int_t)assembled.events[EVENT_FORK]));
	json_object_set_new(section, "exit", json_integer((json_int_t)assembled.events[EVENT_EXIT]));
	json_object_set_new(section, "scan", json_integer((json_int_t)assembled.events[EVENT_SCAN]));
	json_object_set_new(section, "malformed", json_integer((json_int_t)assembled.malformed));
	json_object_set_new(status, "events", section);

	section = json_object();
	json_object_set_new(section, "written", json_integer((json_int_t)assembled.records));
	json_object_set_new(section, "pending_hash", json_integer(assembled.pending));
	json_object_set_new(section, "hash_wait_timeouts",
			    json_integer((json_int_t)assembled.hash_wait_timeouts));
	json_object_set_new(section, "pending_overflow",
			    json_integer((json_int_t)assembled.pending_overflow));
	json_object_set_new(section, "build_errors", json_integer((json_int_t)assembled.record_errors));
	json_object_set_new(section, "report_id_errors", json_integer((json_int_t)assembled.report_id_errors));
	json_object_set_new(section, "json_fragments_reused",
			    json_integer((json_int_t)assembled.fragments.reused));
	json_object_set_new(section, "json_fragments_made",
			    json_integer((json_int_t)assembled.fragments.made));
	json_object_set_new(section, "exec_of_unknown_process",
			    json_integer((json_int_t)assembled.exec_without_known_process));
	json_object_set_new(section, "ndjson_written", json_integer((json_int_t)agent->events.written));
	json_object_set_new(section, "ndjson_errors", json_integer((json_int_t)agent->events.errors));
	json_object_set_new(status, "records", section);

	section = json_object();
	json_object_set_new(section, "programs", json_integer((json_int_t)assembled.wine_programs));
	json_object_set_new(section, "confirmed", json_integer((json_int_t)assembled.wine_confirmed));
	json_object_set_new(section, "not_wine_loaders",
			    json_integer((json_int_t)assembled.wine_not_wine_loaders));
	json_object_set_new(section, "jobs_refused",
			    json_integer((json_int_t)assembled.wine_jobs_refused));
	json_object_set_new(section, "budget_exceeded",
			    json_integer((json_int_t)assembled.wine_budget_exceeded));
	json_object_set_new(section, "queued", json_integer(assembled.wine_queued));
	json_object_set_new(section, "steps_folded", json_integer((json_int_t)assembled.wine_steps_folded));
	json_object_set_new(section, "adopted_from_maps", json_integer((json_int_t)assembled.wine_adopted));
	json_object_set_new(section, "errors", json_integer((json_int_t)assembled.wine_errors));
	json_object_set_new(section, "held", json_integer(assembled.wine_held));
	json_object_set_new(section, "held_overflow",
			    json_integer((json_int_t)assembled.wine_held_overflow));
	json_object_set_new(status, "wine", section);

	section = json_object();
	json_object_set_new(section, "entries", json_integer(files.entries));
	json_object_set_new(section, "lookups", json_integer((json_int_t)files.lookups));
	json_object_set_new(section, "hits", json_integer((json_int_t)files.hits));
	json_object_set_new(section, "hashed_inline", json_integer((json_int_t)files.hashed_inline));
	json_object_set_new(section, "hashed_worker", json_integer((json_int_t)files.hashed_worker));
	json_object_set_new(section, "pending", json_integer(files.pending));
	json_object_set_new(section, "raced", json_integer((json_int_t)files.raced));
	json_object_set_new(section, "too_large", json_integer((json_int_t)files.too_large));
	json_object_set_new(section, "unreadable", json_integer((json_int_t)files.unreadable));
	json_object_set_new(section, "unavailable", json_integer((json_int_t)files.unavailable));
	json_object_set_new(section, "queue_full", json_integer((json_int_t)files.queue_full));
	json_object_set_new(section, "abandoned", json_integer((json_int_t)files.abandoned));
	json_object_set_new(section, "hashed_large", json_integer((json_int_t)files.hashed_large));
	json_object_set_new(section, "quick_queued", json_integer(files.quick_queued));
	json_object_set_new(section, "large_queued", json_integer(files.large_queued));
	json_object_set_new(section, "quick_busy_ms", json_integer((json_int_t)files.quick_busy_ms));
	json_object_set_new(section, "large_busy_ms", json_integer((json_int_t)files.large_busy_ms));
	json_object_set_new(section, "evicted", json_integer((json_int_t)files.evicted));
	json_object_set_new(section, "text_bytes", json_integer((json_int_t)files.text_bytes));
	json_object_set_new(status, "hash_cache", section);

	section = json_object();
	json_object_set_new(section, "entries", json_integer(processes.processes));
	json_object_set_new(section, "exited_waiting", json_integer(processes.exited_waiting));
	json_object_set_new(section, "evicted_live", json_integer((json_int_t)processes.evicted_live));
	json_object_set_new(section, "evicted_exited", json_integer((json_int_t)processes.evicted_exited));
	json_object_set_new(section, "pid_reused", json_integer((json_int_t)processes.replaced));
	json_object_set_new(section, "text_bytes", json_integer((json_int_t)processes.text_bytes));
	json_object_set_new(section, "command_lines_cut",
			    json_integer((json_int_t)processes.command_lines_cut));
	json_object_set_new(status, "process_table", section);

	section = json_object();
	json_object_set_new(section, "capabilities", json_string(privileges_kept_names()));
	json_object_set_new(section, "effective",
			    json_integer((json_int_t)privileges_effective()));
	json_object_set_new(status, "privileges", section);

	section = json_object();
	json_object_set_new(section, "turns", json_integer((json_int_t)agent->loop_turns));
	json_object_set_new(section, "long_sleeps", json_integer((json_int_t)agent->long_sleeps));
	json_object_set_new(section, "known_files_errors",
			    json_integer((json_int_t)agent->known_files_errors));
	json_object_set_new(status, "loop", section);

	json_object_set_new(status, "cache", cache_json(agent));
	json_object_set_new(status, "rules", rules_json(agent->rules));
	json_object_set_new(status, "probe", probe_json(agent->sensor));
	json_object_set_new(status, "kernel_time", kernel_time_json(agent->sensor));
	json_object_set_new(status, "outbox", ship_status_json(agent->shipper));
	json_object_set_new(status, "losses", losses_json(status));
	return status;
}

static void print_stats_line(json_t *status)
{
	json_t *probe = json_object_get(status, "probe");
	json_t *records = json_object_get(status, "records");
	json_t *cache = json_object_get(status, "hash_cache");
	json_t *exec_time = json_object_get(json_object_get(status, "kernel_time"), "exec");
	json_int_t runs = json_integer_value(json_object_get(exec_time, "runs"));
	json_int_t lookups = json_integer_value(json_object_get(cache, "lookups"));
	double kernel_us = runs ? (double)json_integer_value(json_object_get(exec_time, "run_time_ns")) /
					  1000.0 / (double)runs
				: 0.0;
	double hit_rate = lookups ? 100.0 * (double)json_integer_value(json_object_get(cache, "hits")) /
					    (double)lookups
				  : 0.0;

	log_info("stats: execs %lld records %lld pending %lld | lost exec %lld fork %lld exit %lld"
		 " scan %lld | hash hits %.1f%% | processes %lld | kernel %.2f us/exec",
		 json_integer_value(json_object_get(probe, "exec_seen")),
		 json_integer_value(json_object_get(records, "written")),
		 json_integer_value(json_object_get(records, "pending_hash")),
		 json_integer_value(json_object_get(probe, "exec_lost")),
		 json_integer_value(json_object_get(probe, "fork_lost")),
		 json_integer_value(json_object_get(probe, "exit_lost")),
		 json_integer_value(json_object_get(probe, "scan_lost")), hit_rate,
		 json_integer_value(json_object_get(json_object_get(status, "process_table"), "entries")),
		 kernel_us);
}

int agent_write_status(const struct agent *agent, bool print_line)
{
	char path[4096];
	json_t *status = agent_json(agent);
	int result;

	if (!status)
		return -ENOMEM;
	if (print_line)
		print_stats_line(status);
	if (agent->shipper) {
		char *text = json_dumps(status, JSON_COMPACT);

		if (text)
			shipper_publish_status(agent->shipper, text);
		free(text);
	}
	snprintf(path, sizeof(path), "%s/status.json", agent->options.state_dir);
	char *text = json_dumps(status, JSON_INDENT(1) | JSON_PRESERVE_ORDER);

	result = text ? state_file_publish(path, text, strlen(text)) : -ENOMEM;
	free(text);
	json_decref(status);
	return result;
}
