/*
 * query.c - `rmmhunt query`: KQL over the host's local cache.
 *
 *   rmmhunt query [--state-dir DIR] [--format table|json|csv] 'KQL'
 *   rmmhunt query [--state-dir DIR] [--format F] -f FILE
 *   rmmhunt query --collector URL --token-file F [--ca-file F] [--format F] 'KQL' | -f FILE
 *
 * Text from the hosts is hostile: tables and CSV show control characters
 * escaped (base/text.h), CSV cells that would run as formulas get a quote
 * first; --raw gives CSV exactly as stored.
 *
 * The responder on a suspected host asks the cache the agent keeps
 * (STATE_DIR/cache.db) in the SOC's language, while the agent keeps
 * writing.  FILE holds a query, or is a Sentinel rule (*.yaml, *.yml) whose
 * query is run; errors then point at the rule file's own line and column.
 * The query is compiled first (a syntax error needs no cache), then run by
 * lib/store/cache_source.c with now() fixed once for the whole query.
 * With --collector the same query runs over the whole fleet: the collector
 * compiles and runs it with the same engine; its answer is printed by the
 * same formatter, and its errors the same way.
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "store/cache.h"
#include "store/cache_source.h"
#include "commands.h"
#include "fleet_client.h"
#include "kql/kql.h"
#include "kql/kql_format.h"
#include "rules/rulefile.h"

#define DEFAULT_STATE_DIR "/var/lib/rmmhunt"
#define QUERY_FILE_MAX_BYTES (1 << 20)
#define PROGRESS_AFTER_SECONDS 1.0
#define PROGRESS_EVERY_SECONDS 0.25

/* The query text and where it came from (for error positions). */
struct query_text {
	char *text;
	size_t length;
	const char *origin; /* NULL: the command line */
	unsigned line_offset, column_offset; /* where a rule file's query starts */
	struct rule_file rule;
	bool from_rule;
};

struct progress {
	bool enabled;
	bool shown;
	double started, last_shown;
	uint64_t rows;
};

static void query_usage(FILE *out)
{
	fprintf(out,
		"usage: rmmhunt query [--state-dir DIR] [--format table|json|csv] 'KQL'\n"
		"       rmmhunt query [--state-dir DIR] [--format F] -f FILE\n"
		"       rmmhunt query --collector URL --token-file F [--ca-file F] [--format F]\n"
		"                     'KQL' | -f FILE\n"
		"\n"
		"Runs a KQL query over the agent's local cache (STATE_DIR/cache.db) while\n"
		"the agent keeps writing.  Tables: DeviceProcessEvents (every exec) and\n"
		"RuleHits (RuleId, RuleName, Tactics, Techniques, then the record's columns).\n"
		"\n"
		"  --state-dir DIR   the agent's state directory (default %s)\n"
		"  --collector URL   ask the fleet's collector instead (https://HOST:PORT);\n"
		"                    tables: DeviceProcessEvents, RuleHits, RuleSummaries,\n"
		"                    DeviceInfo\n"
		"  --token-file F    the analyst token for --collector (first line)\n"
		"  --ca-file F       CA certificate(s) to verify the collector (default: system)\n"
		"  --format FORMAT   table (aligned, long values cut with an ellipsis),\n"
		"                    json (one object per row) or csv (RFC 4180); default table\n"
		"  --raw             csv: values exactly as stored (otherwise control\n"
		"                    characters are escaped and cells starting with = + - @\n"
		"                    get a ' first, so a spreadsheet does not run them)\n"
		"  --stats           after the result, print on standard error (JSON) where\n"
		"                    the query ran: with --collector the collector's plan\n"
		"                    (per table: what its store ran, e.g. PostgreSQL's SQL,\n"
		"                    and the rows it handed to the collector's KQL engine)\n"
		"  -f, --file FILE   read the query from FILE ('-': standard input); a\n"
		"                    Sentinel rule file (*.yaml, *.yml) runs its query\n"
		"\n"
		"examples:\n"
		"  rmmhunt query 'DeviceProcessEvents | where Timestamp > ago(1d)\n"
		"      | summarize count() by FileName | top 10 by count_'\n"
		"  rmmhunt query --format json -f rules/rmm_rport_createproc.yaml\n"
		"\n"
		"exit status: 0 ok, 1 query or cache error, 2 usage error\n",
		DEFAULT_STATE_DIR);
}

static double monotonic_seconds(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static int64_t now_ticks(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return (int64_t)now.tv_sec * TICKS_PER_SECOND + now.tv_nsec / 100;
}

static bool has_suffix(const char *name, const char *suffix)
{
	size_t length = strlen(name), suffix_length = strlen(suffix);

	return length >= suffix_length && strcmp(name + length - suffix_length, suffix) == 0;
}

/* The query in fd (name says which file in messages). */
static int read_query(int fd, const char *name, struct query_text *query)
{
	struct strbuf text;
	int result;

	strbuf_init(&text);
	result = strbuf_read_fd(&text, fd, QUERY_FILE_MAX_BYTES);
	if (result == -EFBIG)
		log_error("%s: larger than %d bytes", name,
			  QUERY_FILE_MAX_BYTES);
	else if (result == -ENOMEM)
		log_error("out of memory");
	else if (result)
		log_error("cannot read %s: %s", name, strerror(-result));
	if (result) {
		strbuf_free(&text);
		return result;
	}
	query->text = text.data;
	query->length = text.length;
	return 0;
}

static int load_rule(const char *path, struct query_text *query)
{
	struct rule_file_error error;
	int result = rule_file_load(path, &query->rule, &error);

	if (result) {
		char text[PATH_MAX + sizeof(error.message) + 32];

		log_error("%s", rule_file_error_text(&error, path, text, sizeof(text)));
		return result;
	}
	query->from_rule = true;
	query->text = query->rule.query;
	query->length = query->rule.query_length;
	query->line_offset = query->rule.query_line - 1;
	query->column_offset = query->rule.query_column - 1;
	return 0;
}

/* -f FILE: a rule file, a query file, or '-' for standard input. */
static int load_query_file(const char *path, struct query_text *query)
{
	query->origin = path;
	if (strcmp(path, "-") == 0) {
		query->origin = "<stdin>";
		return read_query(STDIN_FILENO, "standard input", query);
	}
	if (has_suffix(path, ".yaml") || has_suffix(path, ".yml"))
		return load_rule(path, query);
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		int error = errno;

		log_error("cannot open %s: %s", path, strerror(error));
		return -error;
	}
	int result = read_query(fd, path, query);

	close(fd);
	return result;
}

static void free_query_text(struct query_text *query)
{
	if (query->from_rule)
		rule_file_free(&query->rule);
	else
		free(query->text);
}

static void print_kql_error(struct kql_error *error, const struct query_text *query)
{
	if (error->line) {
		/* A rule's query is a block inside its file, every line indented
		 * the same: report the file's line and column. */
		error->column += query->column_offset;
		error->line += query->line_offset;
	}
	char *message = kql_error_format(error, query->text, query->length, query->origin);

	log_lines(LOG_LEVEL_ERROR, "%s", message ? message : error->message);
	free(message);
}

/* A collector's query error as the local one: same text, same positions. */
static void print_fleet_error(json_t *answer, const struct query_text *query)
{
	json_t *error = json_object_get(answer, "error");
	const char *kind = json_string_value(json_object_get(error, "kind"));
	struct kql_error local = {0};

	if (!kind) {
		log_error("%s", fleet_error_message(answer));
		return;
	}
	for (int i = KQL_ERROR_NONE; i <= KQL_ERROR_NOMEM; i++) {
		if (strcmp(kql_error_kind_name((enum kql_error_kind)i), kind) == 0)
			local.kind = (enum kql_error_kind)i;
	}
	local.line = (unsigned)json_integer_value(json_object_get(error, "line"));
	local.column = (unsigned)json_integer_value(json_object_get(error, "column"));
	local.offset = (size_t)json_integer_value(json_object_get(error, "offset"));
	snprintf(local.message, sizeof(local.message), "%s", fleet_error_message(answer));
	if (local.offset > query->length)
		local.offset = query->length;
	if (local.kind == KQL_ERROR_RUNTIME || local.kind == KQL_ERROR_NOMEM) {
		log_error("%s: %s", kind, local.message);
		return;
	}
	print_kql_error(&local, query);
}

/* --stats: the statistics as indented JSON on standard error. */
static void print_stats(const json_t *stats)
{
	char *text = stats ? json_dumps(stats, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;

	fprintf(stderr, "%s\n", text ? text : "{}");
	free(text);
}

/* --collector: the query runs there; the answer prints here. */
static int run_fleet_query(const struct fleet_client *client, enum kql_format format,
			   struct query_text *text, bool stats)
{
	json_t *body = json_pack("{s:s%,s:s}", "query", text->text, text->length, "format", "rows");
	json_t *answer = NULL;
	struct kql_table *table = NULL;
	char message[1024];
	int status = fleet_request(client, "POST", "/v1/query", body, &answer, message,
				   sizeof(message));

	json_decref(body);
	if (status < 0) {
		log_error("%s", message);
		return 1;
	}
	if (status == 400 && json_object_get(json_object_get(answer, "error"), "kind")) {
		print_fleet_error(answer, text);
		json_decref(answer);
		return 1;
	}
	if (status != 200) {
		log_error("%s answered %d: %s", client->url, status,
			fleet_error_message(answer));
		json_decref(answer);
		return 1;
	}
	if (kql_table_from_json(json_object_get(answer, "columns"), json_object_get(answer, "rows"),
				&table, message, sizeof(message)) != 0) {
		log_error("%s sent a malformed result: %s", client->url,
			message);
		json_decref(answer);
		return 1;
	}
	status = kql_table_print(stdout, table, format, 0);
	kql_table_free(table);
	if (stats)
		print_stats(json_object_get(answer, "stats"));
	json_decref(answer);
	if (status != 0) {
		log_error("cannot write the result: %s", strerror(errno));
		return 1;
	}
	return 0;
}

/* On a terminal only: a progress line rewritten in place (not a diagnostic,
 * so not through the log, whose lines are whole). */
static void show_progress(void *context, uint64_t rows)
{
	struct progress *progress = context;
	double now;

	progress->rows += rows;
	if (!progress->enabled)
		return;
	now = monotonic_seconds();
	if (now - progress->started < PROGRESS_AFTER_SECONDS ||
	    now - progress->last_shown < PROGRESS_EVERY_SECONDS)
		return;
	progress->last_shown = now;
	progress->shown = true;
	fprintf(stderr, "\rrmmhunt query: %llu rows read, %.1f s",
		(unsigned long long)progress->rows, now - progress->started);
	fflush(stderr);
}

static void clear_progress(const struct progress *progress)
{
	if (progress->shown)
		fputs("\r\033[K", stderr);
}

/* Compile, open the cache, run, print.  Returns the exit status. */
static int run_query(const char *state_dir, enum kql_format format, struct query_text *text,
		     bool stats)
{
	const struct table_schema *tables[CACHE_TABLE_COUNT];
	struct kql_query *query = NULL;
	struct cache_reader *reader = NULL;
	struct kql_table *table = NULL;
	struct kql_error error;
	char path[4096], message[1024];
	struct progress progress = {.enabled = isatty(STDERR_FILENO) == 1,
				    .started = monotonic_seconds()};
	struct cache_scan_options options = {.progress = show_progress,
					     .progress_context = &progress};

	cache_tables(tables);
	if (kql_compile(text->text, text->length, tables, CACHE_TABLE_COUNT, &query, &error)) {
		print_kql_error(&error, text);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/%s", state_dir, CACHE_FILE_NAME);
	if (cache_reader_open(path, &reader, message, sizeof(message))) {
		log_error("%s", message);
		kql_query_free(query);
		return 1;
	}
	int status = cache_execute(reader, query, now_ticks(), &options, &table, &error);

	clear_progress(&progress);
	if (status == 0 && kql_table_print(stdout, table, format, 0) != 0) {
		log_error("cannot write the result: %s", strerror(errno));
		status = -EIO;
	} else if (status) {
		log_error("%s: %s", kql_error_kind_name(error.kind),
			  error.message);
	}
	if (stats && status == 0) {
		json_t *summary = json_pack(
			"{s:I,s:f,s:[{s:s,s:s,s:I}]}", "rows", (json_int_t)kql_table_row_count(table),
			"seconds", monotonic_seconds() - progress.started, "plan", "backend",
			"local cache", "note",
			"rows read from the cache (time range and required terms checked by SQLite),"
			" the query run here",
			"rows_read", (json_int_t)progress.rows);

		print_stats(summary);
		json_decref(summary);
	}
	kql_table_free(table);
	cache_reader_close(reader);
	kql_query_free(query);
	return status == 0 ? 0 : 1;
}

int command_query(int argc, char **argv)
{
	static const struct option options[] = {
		{"state-dir", required_argument, NULL, 's'},
		{"format", required_argument, NULL, 'F'},
		{"file", required_argument, NULL, 'f'},
		FLEET_CLIENT_OPTIONS,
		{"raw", no_argument, NULL, 'r'},
		{"stats", no_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *state_dir = DEFAULT_STATE_DIR, *file = NULL;
	struct fleet_client fleet = {NULL, NULL, NULL};
	bool state_dir_given = false;
	enum kql_format format = KQL_FORMAT_TABLE;
	struct query_text text = {0};
	bool raw = false, stats = false;
	int option;

	while ((option = getopt_long(argc, argv, "s:F:f:h", options, NULL)) != -1) {
		if (fleet_client_option(&fleet, option, optarg))
			continue;
		switch (option) {
		case 's':
			state_dir = optarg;
			state_dir_given = true;
			break;
		case 'F':
			if (kql_format_parse(optarg, &format) != 0) {
				log_error("unknown format '%s' (table, json or csv)", optarg);
				return 2;
			}
			break;
		case 'f':
			file = optarg;
			break;
		case 'r':
			raw = true;
			break;
		case 'S':
			stats = true;
			break;
		case 'h':
			query_usage(stdout);
			return 0;
		default:
			query_usage(stderr);
			return 2;
		}
	}
	if (fleet.url && (state_dir_given || !fleet.token_file)) {
		log_error("--collector needs --token-file, and takes no --state-dir");
		return 2;
	}
	if (!fleet.url && (fleet.token_file || fleet.ca_file)) {
		log_error("--token-file and --ca-file go with --collector");
		return 2;
	}
	if (raw && format == KQL_FORMAT_CSV)
		format = KQL_FORMAT_CSV_RAW;
	if ((file && optind != argc) || (!file && optind + 1 != argc)) {
		log_error("give one query, or -f FILE");
		query_usage(stderr);
		return 2;
	}
	if (file) {
		if (load_query_file(file, &text) != 0) {
			free_query_text(&text);
			return 1;
		}
	} else {
		text.text = strdup(argv[optind]);
		text.length = text.text ? strlen(text.text) : 0;
		if (!text.text) {
			log_error("out of memory");
			return 1;
		}
	}
	int status = fleet.url ? run_fleet_query(&fleet, format, &text, stats)
			       : run_query(state_dir, format, &text, stats);

	free_query_text(&text);
	return status;
}
