/*
 * rules_match.c - the cost of running the rule pack on every record.
 *
 *   rules_match [--rounds N] [--min-seconds S] [--passes N] [--only floor|rules]
 *               RULES_DIR RECORDS.ndjson
 *
 * Loads every create-process rule (rules/rmm_*_createproc.yaml) and the
 * records (NDJSON, as the agent writes them) into memory, then times, in one
 * process, N rounds (default 3), each round both of:
 *   - the floor: for every record and rule, a plain strcasestr() of the
 *     rule's first two string literals in the two columns the catalog rules
 *     test (ProcessVersionInfoCompanyName, ProcessVersionInfoProductName);
 *   - rmmhunt: kql_query_row_matches() of every rule on every record (the
 *     exact KQL semantics: terms, boundaries, the time window, and/or).
 * Which runs first alternates from round to round.  A timed run makes
 * --passes passes over all records; without --passes, as many as make the
 * floor last --min-seconds (default 1.5), found by one untimed pass.
 * --only runs one side once (one round, one pass unless --passes): for
 * counting its instructions under callgrind (--toggle-collect=run_floor* or
 * run_rules*: the compiler may clone them under a suffixed name).  Prints JSON lines: first {"records", "rules", "passes"},
 * then per round {"round", "floor_seconds", "rules_seconds", "floor_matches",
 * "rule_matches"} (matches per pass); bench/bench_rules.py summarises them.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kql/kql.h"
#include "kql/kql_format.h"
#include "rules/rules.h"
#include "base/timefmt.h"

#define MAX_RULES 128

struct bench_rule {
	struct rule_file file;
	struct kql_query *query;
	char needle[2][128];
};

static double now_seconds(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/* The first two '...' literals after "| where" (the floor's needles). */
static void take_needles(struct bench_rule *rule)
{
	const char *cursor = strstr(rule->file.query, "has");

	for (int i = 0; i < 2; i++) {
		const char *open = cursor ? strchr(cursor, '\'') : NULL;
		const char *close = open ? strchr(open + 1, '\'') : NULL;
		size_t length = close ? (size_t)(close - open - 1) : 0;

		if (length >= sizeof(rule->needle[i]))
			length = sizeof(rule->needle[i]) - 1;
		if (open)
			memcpy(rule->needle[i], open + 1, length);
		rule->needle[i][length] = '\0';
		cursor = close ? close + 1 : NULL;
	}
	if (!rule->needle[1][0])
		memcpy(rule->needle[1], rule->needle[0], sizeof(rule->needle[1]));
}

static size_t load_rules(const char *directory, struct bench_rule *rules)
{
	char **paths = NULL;
	size_t count = 0;

	if (rule_file_list(directory, &paths) != 0)
		return 0;
	for (char **path = paths; path && *path && count < MAX_RULES; path++) {
		struct rule_file_error file_error;
		struct kql_error error;

		if (!strstr(*path, "_createproc.yaml"))
			continue;
		if (rule_file_load(*path, &rules[count].file, &file_error) != 0)
			continue;
		if (rule_compile(&rules[count].file, &rules[count].query, &error) != RULE_OK) {
			rule_file_free(&rules[count].file);
			continue;
		}
		take_needles(&rules[count]);
		count++;
	}
	rule_file_list_free(paths);
	return count;
}

static void free_rows(struct value **rows, size_t count)
{
	for (size_t r = 0; r < count; r++) {
		for (int column = 0; column < DPE_COLUMN_COUNT; column++)
			if (rows[r][column].type == VALUE_STRING)
				free((char *)rows[r][column].str);
		free(rows[r]);
	}
	free(rows);
}

/* Every row of the NDJSON file, copied out of the source (NULL if none or
 * out of memory). */
static struct value **load_records(const char *path, size_t *count)
{
	struct kql_ndjson_source *source;
	const struct kql_source *view;
	const struct value *row;
	struct value **rows = NULL;
	size_t capacity = 0;
	bool failed = false;
	FILE *file = fopen(path, "re");

	*count = 0;
	if (!file)
		return NULL;
	if (kql_ndjson_open(file, &dpe_schema, &source) != 0) {
		fclose(file);
		return NULL;
	}
	view = kql_ndjson_source(source);
	while (view->next(view->context, &row) == 1) {
		struct value *copy = malloc(sizeof(*copy) * DPE_COLUMN_COUNT);

		if (*count == capacity) {
			size_t grown = capacity ? capacity * 2 : 1024;
			struct value **larger = realloc(rows, grown * sizeof(*rows));

			if (!larger) {
				free(copy);
				copy = NULL;
			} else {
				rows = larger;
				capacity = grown;
			}
		}
		if (!copy) {
			fprintf(stderr, "rules_match: out of memory at record %zu\n", *count + 1);
			failed = true;
			break;
		}
		rows[(*count)++] = copy;
		for (int column = 0; column < DPE_COLUMN_COUNT; column++) {
			copy[column] = row[column];
			if (row[column].type != VALUE_STRING)
				continue;
			copy[column].str = strndup(row[column].str, row[column].len);
			failed = failed || !copy[column].str;
		}
		if (failed) {
			fprintf(stderr, "rules_match: out of memory at record %zu\n", *count);
			break;
		}
	}
	kql_ndjson_close(source);
	fclose(file);
	if (failed || *count == 0) {
		free_rows(rows, *count);
		*count = 0;
		return NULL;
	}
	return rows;
}

struct bench_options {
	size_t rounds;
	size_t passes; /* 0: calibrate */
	double min_seconds;
	const char *only; /* NULL, "floor" or "rules" */
	const char *rules_directory;
	const char *records_path;
};

struct bench_data {
	struct value **rows;
	size_t count;
	struct bench_rule *rules;
	size_t rule_count;
	int64_t now;
};

/* Seconds for passes passes of the floor; *matches: those of one pass. */
__attribute__((noinline)) static double run_floor(const struct bench_data *data,
						  size_t passes, size_t *matches)
{
	double start = now_seconds();

	for (size_t pass = 0; pass < passes; pass++) {
		*matches = 0;
		for (size_t r = 0; r < data->count; r++) {
			const char *company =
				data->rows[r][DPE_PROCESS_VERSION_INFO_COMPANY_NAME].str;
			const char *product =
				data->rows[r][DPE_PROCESS_VERSION_INFO_PRODUCT_NAME].str;

			for (size_t i = 0; i < data->rule_count; i++)
				*matches += strcasestr(company, data->rules[i].needle[0]) &&
					    strcasestr(product, data->rules[i].needle[1]);
		}
	}
	return now_seconds() - start;
}

/* Seconds for passes passes of the rule pack; *matches: those of one pass. */
__attribute__((noinline)) static double run_rules(const struct bench_data *data,
						  size_t passes, size_t *matches)
{
	double start = now_seconds();

	for (size_t pass = 0; pass < passes; pass++) {
		*matches = 0;
		for (size_t r = 0; r < data->count; r++)
			for (size_t i = 0; i < data->rule_count; i++)
				*matches += kql_query_row_matches(data->rules[i].query,
								  data->rows[r], data->now) == 1;
	}
	return now_seconds() - start;
}

static int parse_options(int argc, char **argv, struct bench_options *options)
{
	int i = 1;

	*options = (struct bench_options){.rounds = 3, .min_seconds = 1.5};
	for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		if (strcmp(argv[i], "--rounds") == 0)
			options->rounds = strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--passes") == 0)
			options->passes = strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--min-seconds") == 0)
			options->min_seconds = atof(argv[i + 1]);
		else if (strcmp(argv[i], "--only") == 0)
			options->only = argv[i + 1];
		else
			return -1;
	}
	if (argc - i != 2 || options->rounds == 0)
		return -1;
	if (options->only && strcmp(options->only, "floor") != 0 &&
	    strcmp(options->only, "rules") != 0)
		return -1;
	options->rules_directory = argv[i];
	options->records_path = argv[i + 1];
	return 0;
}

/* Passes that make the floor last min_seconds (one untimed pass to see). */
static size_t calibrate(const struct bench_data *data, double min_seconds)
{
	size_t matches;
	double once = run_floor(data, 1, &matches);

	if (once <= 0)
		return 1;
	return (size_t)(min_seconds / once) + 1;
}

static void run_only(const struct bench_data *data, const struct bench_options *options)
{
	size_t passes = options->passes ? options->passes : 1, matches = 0;
	double seconds = strcmp(options->only, "floor") == 0
				 ? run_floor(data, passes, &matches)
				 : run_rules(data, passes, &matches);

	printf("{\"only\": \"%s\", \"passes\": %zu, \"seconds\": %.6f, \"matches\": %zu}\n",
	       options->only, passes, seconds, matches);
}

static void run_rounds(const struct bench_data *data, const struct bench_options *options)
{
	size_t passes = options->passes ? options->passes
					: calibrate(data, options->min_seconds);

	printf("{\"records\": %zu, \"rules\": %zu, \"passes\": %zu}\n", data->count,
	       data->rule_count, passes);
	fflush(stdout);
	for (size_t round = 0; round < options->rounds; round++) {
		size_t floor_matches = 0, rule_matches = 0;
		double floor_seconds, rules_seconds;

		if (round % 2 == 0) {
			floor_seconds = run_floor(data, passes, &floor_matches);
			rules_seconds = run_rules(data, passes, &rule_matches);
		} else {
			rules_seconds = run_rules(data, passes, &rule_matches);
			floor_seconds = run_floor(data, passes, &floor_matches);
		}
		printf("{\"round\": %zu, \"floor_seconds\": %.6f, \"rules_seconds\": %.6f, "
		       "\"floor_matches\": %zu, \"rule_matches\": %zu}\n",
		       round, floor_seconds, rules_seconds, floor_matches, rule_matches);
		fflush(stdout);
	}
}

int main(int argc, char **argv)
{
	static struct bench_rule rules[MAX_RULES];
	struct bench_options options;
	struct bench_data data = {.rules = rules, .now = timefmt_now_ticks()};

	if (parse_options(argc, argv, &options) != 0) {
		fprintf(stderr, "usage: rules_match [--rounds N] [--min-seconds S] [--passes N] "
				"[--only floor|rules] RULES_DIR RECORDS.ndjson\n");
		return 2;
	}
	data.rule_count = load_rules(options.rules_directory, rules);
	data.rows = load_records(options.records_path, &data.count);
	if (!data.rows || data.rule_count == 0) {
		fprintf(stderr, "rules_match: no records or no rules\n");
		return 1;
	}
	if (options.only)
		run_only(&data, &options);
	else
		run_rounds(&data, &options);
	return 0;
}
