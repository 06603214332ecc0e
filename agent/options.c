/*
 * options.c - rmmhunt-agent's options: its config file and command line
 * through one table (lib/base/config_options.h: every option is a key of
 * the file by the same name).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/config_options.h"
#include "exec_event.h"
#include "model/value.h"
#include "options.h"

#define MIN_ARGS_CAPTURE (32LL * 1024)
#define MIN_CACHE_BYTES (1LL << 20)

static void usage(FILE *out)
{
	fprintf(out,
		"usage: rmmhunt-agent [OPTIONS]\n"
		"\n"
		"Watches every exec on this host (eBPF, tracepoints only) and turns it\n"
		"into a Microsoft Defender DeviceProcessEvents record.\n"
		"\n"
		"  --config FILE          read options from FILE (key = value; a flag overrides\n"
		"                         it); the packaged unit reads /etc/rmmhunt/agent.conf\n"
		"  --check-config         check the options and the config file, then exit\n"
		"  --state-dir DIR        state: ReportId counter, status (default /var/lib/rmmhunt)\n"
		"  --rules DIR            KQL rule files (Sentinel YAML)\n"
		"  --local-rules DIR      more rule files; one with the id of a rule of --rules\n"
		"                         replaces it (the package: /etc/rmmhunt/rules.d)\n"
		"  --events FILE|-        write one JSON record per line (- = stdout)\n"
		"  --hits FILE|-          write every rule hit as one JSON line (- = stdout)\n"
		"  --print                one short line per exec on stdout\n"
		"  --ring-buffer-mb N     BPF ring buffer size in MiB, power of two (default 16)\n"
		"  --args-max BYTES       argv bytes captured per exec, %lld..%d (default %d)\n"
		"  --hash-max-mb N        do not hash executables larger than this (default 512)\n"
		"  --hash-wait-ms MS      a record waits this long for hashes at most (default 5000)\n"
		"  --max-pending N        records waiting for hashes at once (default 256)\n"
		"  --max-lineage-mb N     paths and command lines kept of running processes,\n"
		"                         past it command lines are kept in part (default 64)\n"
		"  --wine-loader PATH     also trust this file as Wine's loader (a Wine not\n"
		"                         installed by a package; up to 8 times)\n"
		"  --max-processes N      process table bound (default 65536)\n"
		"  --max-cached-files N   hash cache bound (default 16384)\n"
		"  --stats-interval SEC   status/stats period (default 5)\n"
		"  --cache-max-age AGE    keep records this long (default 7d; units s m h d)\n"
		"  --cache-max-size SIZE  keep at most this much (default 512M; units K M G)\n"
		"  --hits-max-age AGE     keep rule hits and summaries this long (default 90d)\n"
		"  --no-bpf-stats         do not enable the kernel's BPF run-time statistics\n"
		"  --btf PATH             kernel BTF to use (default /sys/kernel/btf/vmlinux)\n"
		"  --machine-id PATH      machine id file for DeviceId (default /etc/machine-id)\n"
		"  --log-level LEVEL      error, warning, notice, info (default) or debug\n"
		"%s"
		"  --help                 this text\n"
		"\n"
		"Runs as root.  SIGINT/SIGTERM stop it cleanly; SIGHUP reloads the rules.\n",
		MIN_ARGS_CAPTURE, EXEC_ARGS_MAX, EXEC_ARGS_MAX, ship_options_usage);
}

static int parse_number(const char *name, const char *text, long long minimum,
			long long maximum, long long *out)
{
	char *end;
	long long value;

	errno = 0;
	value = strtoll(text, &end, 10);
	if (errno || end == text || *end || value < minimum || value > maximum) {
		log_error("--%s wants a number from %lld to %lld, not '%s'", name, minimum,
			  maximum, text);
		return -EINVAL;
	}
	*out = value;
	return 0;
}

/* "90", "30s", "15m", "12h", "7d" -> ticks; "512", "64K", "512M", "2G" -> bytes */
static int parse_scaled(const char *name, const char *text, const char *units,
			const long long *scales, long long *out)
{
	char *end;
	long long value;

	errno = 0;
	value = strtoll(text, &end, 10);
	if (errno || end == text || value <= 0)
		goto invalid;
	if (*end) {
		const char *unit = strchr(units, *end);

		if (!unit || end[1])
			goto invalid;
		long long scale = scales[unit - units];
		if (value > INT64_MAX / scale)
			goto invalid;
		value *= scale;
	} else {
		value *= scales[0];
	}
	*out = value;
	return 0;
invalid:
	log_error("--%s: '%s' is not a positive number with an optional unit (%s)", name,
		  text, units);
	return -EINVAL;
}

static int parse_age(const char *name, const char *text, int64_t *ticks)
{
	static const long long scales[] = {TICKS_PER_SECOND, TICKS_PER_SECOND,
					   TICKS_PER_MINUTE, TICKS_PER_HOUR,
					   TICKS_PER_DAY};
	long long value = 0;
	/* a bare number is seconds; the first unit repeats that */
	int result = parse_scaled(name, text, "ssmhd", scales, &value);

	if (result == 0)
		*ticks = value;
	return result;
}

static int parse_size(const char *name, const char *text, int64_t *bytes)
{
	static const long long scales[] = {1, 1LL << 10, 1LL << 20, 1LL << 30};
	long long value = 0;
	int result = parse_scaled(name, text, "bKMG", scales, &value);

	if (result == 0)
		*bytes = value;
	return result;
}

static void set_defaults(struct agent_options *options)
{
	memset(options, 0, sizeof(*options));
	options->state_dir = "/var/lib/rmmhunt";
	options->ring_buffer_mib = 16;
	options->args_capture_max = EXEC_ARGS_MAX;
	options->max_hash_bytes = 512LL << 20;
	options->hash_wait_ms = 5000;
	options->max_pending = 256;
	options->max_lineage_mib = 64;
	options->max_processes = 65536;
	options->max_cached_files = 16384;
	options->stats_interval_seconds = 5;
	options->bpf_run_stats = true;
	options->cache_max_age_ticks = 7 * TICKS_PER_DAY;
	options->cache_max_bytes = 512LL << 20;
	options->hits_max_age_ticks = 90 * TICKS_PER_DAY;
	options->log_level = LOG_LEVEL_INFO;
	ship_options_defaults(&options->ship);
}

enum option_id {
	OPTION_STATE_DIR = 256,
	OPTION_RULES,
	OPTION_LOCAL_RULES,
	OPTION_EVENTS,
	OPTION_HITS,
	OPTION_PRINT,
	OPTION_RING_BUFFER_MB,
	OPTION_ARGS_MAX,
	OPTION_HASH_MAX_MB,
	OPTION_HASH_WAIT_MS,
	OPTION_MAX_PENDING,
	OPTION_MAX_LINEAGE_MB,
	OPTION_WINE_LOADER,
	OPTION_MAX_PROCESSES,
	OPTION_MAX_CACHED_FILES,
	OPTION_STATS_INTERVAL,
	OPTION_NO_BPF_STATS,
	OPTION_BTF,
	OPTION_MACHINE_ID,
	OPTION_CACHE_MAX_AGE,
	OPTION_CACHE_MAX_SIZE,
	OPTION_HITS_MAX_AGE,
	OPTION_LOG_LEVEL,
	OPTION_HELP,
	OPTION_CONFIG,
	OPTION_CHECK_CONFIG,
	OPTION_SHIP_FIRST = 512, /* + enum ship_option */
};

static int apply_number(struct agent_options *options, int id, const char *text)
{
	long long value;

	switch (id) {
	case OPTION_RING_BUFFER_MB:
		if (parse_number("ring-buffer-mb", text, 1, 1024, &value))
			return -EINVAL;
		if (value & (value - 1)) {
			log_error("--ring-buffer-mb must be a power of two");
			return -EINVAL;
		}
		options->ring_buffer_mib = (uint32_t)value;
		return 0;
	case OPTION_ARGS_MAX:
		if (parse_number("args-max", text, MIN_ARGS_CAPTURE, (long long)EXEC_ARGS_MAX, &value))
			return -EINVAL;
		options->args_capture_max = (uint32_t)value;
		return 0;
	case OPTION_HASH_MAX_MB:
		if (parse_number("hash-max-mb", text, 1, 1 << 20, &value))
			return -EINVAL;
		options->max_hash_bytes = value << 20;
		return 0;
	case OPTION_HASH_WAIT_MS:
		if (parse_number("hash-wait-ms", text, 10, 600000, &value))
			return -EINVAL;
		options->hash_wait_ms = (uint32_t)value;
		return 0;
	case OPTION_MAX_PENDING:
		if (parse_number("max-pending", text, 16, 1 << 20, &value))
			return -EINVAL;
		options->max_pending = (uint32_t)value;
		return 0;
	case OPTION_MAX_LINEAGE_MB:
		if (parse_number("max-lineage-mb", text, 1, 1 << 16, &value))
			return -EINVAL;
		options->max_lineage_mib = (uint32_t)value;
		return 0;
	case OPTION_MAX_PROCESSES:
		if (parse_number("max-processes", text, 64, 1 << 24, &value))
			return -EINVAL;
		options->max_processes = (uint32_t)value;
		return 0;
	case OPTION_MAX_CACHED_FILES:
		if (parse_number("max-cached-files", text, 16, 1 << 24, &value))
			return -EINVAL;
		options->max_cached_files = (uint32_t)value;
		return 0;
	case OPTION_CACHE_MAX_AGE:
		return parse_age("cache-max-age", text, &options->cache_max_age_ticks);
	case OPTION_CACHE_MAX_SIZE:
		if (parse_size("cache-max-size", text, &options->cache_max_bytes))
			return -EINVAL;
		if (options->cache_max_bytes < MIN_CACHE_BYTES) {
			log_error("--cache-max-size must be at least 1M: the cache's tables and "
				  "indexes alone take about half of that");
			return -EINVAL;
		}
		return 0;
	case OPTION_HITS_MAX_AGE:
		return parse_age("hits-max-age", text, &options->hits_max_age_ticks);
	case OPTION_STATS_INTERVAL:
		if (parse_number("stats-interval", text, 1, 3600, &value))
			return -EINVAL;
		options->stats_interval_seconds = (uint32_t)value;
		return 0;
	}
	return -EINVAL;
}

static const struct option option_table[] = {
	{"config", required_argument, NULL, OPTION_CONFIG},
	{"check-config", no_argument, NULL, OPTION_CHECK_CONFIG},
	{"state-dir", required_argument, NULL, OPTION_STATE_DIR},
	{"rules", required_argument, NULL, OPTION_RULES},
	{"local-rules", required_argument, NULL, OPTION_LOCAL_RULES},
	{"events", required_argument, NULL, OPTION_EVENTS},
	{"hits", required_argument, NULL, OPTION_HITS},
	{"print", no_argument, NULL, OPTION_PRINT},
	{"ring-buffer-mb", required_argument, NULL, OPTION_RING_BUFFER_MB},
	{"args-max", required_argument, NULL, OPTION_ARGS_MAX},
	{"hash-max-mb", required_argument, NULL, OPTION_HASH_MAX_MB},
	{"hash-wait-ms", required_argument, NULL, OPTION_HASH_WAIT_MS},
	{"max-pending", required_argument, NULL, OPTION_MAX_PENDING},
	{"max-lineage-mb", required_argument, NULL, OPTION_MAX_LINEAGE_MB},
	{"wine-loader", required_argument, NULL, OPTION_WINE_LOADER},
	{"max-processes", required_argument, NULL, OPTION_MAX_PROCESSES},
	{"max-cached-files", required_argument, NULL, OPTION_MAX_CACHED_FILES},
	{"stats-interval", required_argument, NULL, OPTION_STATS_INTERVAL},
	{"no-bpf-stats", no_argument, NULL, OPTION_NO_BPF_STATS},
	{"btf", required_argument, NULL, OPTION_BTF},
	{"machine-id", required_argument, NULL, OPTION_MACHINE_ID},
	{"cache-max-age", required_argument, NULL, OPTION_CACHE_MAX_AGE},
	{"cache-max-size", required_argument, NULL, OPTION_CACHE_MAX_SIZE},
	{"hits-max-age", required_argument, NULL, OPTION_HITS_MAX_AGE},
	{"log-level", required_argument, NULL, OPTION_LOG_LEVEL},
	{"help", no_argument, NULL, OPTION_HELP},
	{"collector", required_argument, NULL, OPTION_SHIP_FIRST + SHIP_OPTION_COLLECTOR},
	{"enroll-secret-file", required_argument, NULL,
	 OPTION_SHIP_FIRST + SHIP_OPTION_ENROLL_SECRET_FILE},
	{"ca-file", required_argument, NULL, OPTION_SHIP_FIRST + SHIP_OPTION_CA_FILE},
	{"client-cert", required_argument, NULL, OPTION_SHIP_FIRST + SHIP_OPTION_CLIENT_CERT},
	{"client-key", required_argument, NULL, OPTION_SHIP_FIRST + SHIP_OPTION_CLIENT_KEY},
	{"ship", required_argument, NULL, OPTION_SHIP_FIRST + SHIP_OPTION_SHIP},
	{"heartbeat-interval", required_argument, NULL,
	 OPTION_SHIP_FIRST + SHIP_OPTION_HEARTBEAT_INTERVAL},
	{"reconnect-spread", required_argument, NULL,
	 OPTION_SHIP_FIRST + SHIP_OPTION_RECONNECT_SPREAD},
	{NULL, 0, NULL, 0},
};

/* While parsing: has the command line begun to replace a list of the file? */
struct parse_state {
	struct agent_options *options;
	bool loaders_from_flags, collectors_from_flags;
};

/* A repeatable option's first value on the command line replaces the file's. */
static void replace_file_list(struct parse_state *state, int id, enum config_origin origin)
{
	struct agent_options *options = state->options;

	if (origin != CONFIG_ORIGIN_COMMAND_LINE)
		return;
	if (id == OPTION_WINE_LOADER && !state->loaders_from_flags) {
		state->loaders_from_flags = true;
		options->wine_loader_count = 0;
	} else if (id == OPTION_SHIP_FIRST + SHIP_OPTION_COLLECTOR &&
		   !state->collectors_from_flags) {
		state->collectors_from_flags = true;
		options->ship.collector_count = 0;
	}
}

static int append(const char *name, const char **list, uint32_t *count, uint32_t capacity,
		  const char *value)
{
	if (*count == capacity) {
		log_error("--%s: at most %u", name, capacity);
		return -EINVAL;
	}
	list[(*count)++] = value;
	return 0;
}

static int apply_option(void *context, int id, const char *value, enum config_origin origin)
{
	struct parse_state *state = context;
	struct agent_options *options = state->options;

	replace_file_list(state, id, origin);
	switch (id) {
	case OPTION_CHECK_CONFIG:
		options->check_config = true;
		return 0;
	case OPTION_STATE_DIR:
		options->state_dir = value;
		return 0;
	case OPTION_RULES:
		options->rules_dir = value;
		return 0;
	case OPTION_LOCAL_RULES:
		options->local_rules_dir = value;
		return 0;
	case OPTION_EVENTS:
		options->events_path = value;
		return 0;
	case OPTION_HITS:
		options->hits_path = value;
		return 0;
	case OPTION_PRINT:
		options->print = true;
		return 0;
	case OPTION_NO_BPF_STATS:
		options->bpf_run_stats = false;
		return 0;
	case OPTION_BTF:
		options->btf_path = value;
		return 0;
	case OPTION_MACHINE_ID:
		options->machine_id_path = value;
		return 0;
	case OPTION_WINE_LOADER:
		return append("wine-loader", options->wine_loaders, &options->wine_loader_count,
			      AGENT_MAX_WINE_LOADERS, value);
	case OPTION_LOG_LEVEL:
		if (log_level_parse(value, &options->log_level) != 0) {
			log_error("--log-level: '%s' is not error, warning, notice, info "
				  "or debug", value);
			return -EINVAL;
		}
		return 0;
	case OPTION_HELP:
		usage(stdout);
		return 1;
	case '?':
		usage(stderr);
		return -EINVAL;
	default:
		if (id >= OPTION_SHIP_FIRST)
			return ship_option_set(&options->ship,
					       (enum ship_option)(id - OPTION_SHIP_FIRST), value)
				       ? -EINVAL
				       : 0;
		return apply_number(options, id, value);
	}
}

int agent_options_parse(struct agent_options *options, int argc, char **argv)
{
	static const int not_keys[] = {OPTION_CONFIG, OPTION_CHECK_CONFIG, OPTION_HELP, 0};
	static const int repeatable[] = {OPTION_WINE_LOADER,
					 OPTION_SHIP_FIRST + SHIP_OPTION_COLLECTOR, 0};
	struct parse_state state = {.options = options};
	const struct config_options spec = {
		.table = option_table,
		.short_options = "",
		.config_id = OPTION_CONFIG,
		.not_keys = not_keys,
		.repeatable = repeatable,
		.apply = apply_option,
		.context = &state,
	};
	int result;

	set_defaults(options);
	result = config_options_parse(&spec, argc, argv, &options->config_file,
				      &options->config_path);
	if (result)
		return result;
	return ship_options_check(&options->ship);
}

void agent_options_free(struct agent_options *options)
{
	config_file_free(&options->config_file);
}
