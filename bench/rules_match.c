/*
 * rules_match.c - the cost of running the rule pack on every record.
 *
 *   rules_match RULES_DIR RECORDS.ndjson
 *
 * Loads every create-process rule (rules/rmm_*_createproc.yaml) and the
 * records (NDJSON, as the agent writes them) into memory, then times, in one
 * run and interleaved three times:
 *   - the floor: for every record and rule, a plain strcasestr() of the
 *     rule's first two string literals in the two columns the catalog rules
 *     test (ProcessVersionInfoCompanyName, ProcessVersionInfoProductName);
 *   - rmmhunt: kql_query_row_matches() of every rule on every record (the
 *     exact KQL semantics: terms, boundaries, the time window, and/or).
 * Prints ns per record per rule for both and the ratio (target: within 3x).
 */
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
		strcpy(rule->needle[1], rule->needle[0]);
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

/* Every row of the NDJSON file, copied out of the source. */
static struct value **load_records(const char *path, size_t *count)
{
	struct kql_ndjson_source *source;
	const struct kql_source *view;
	const struct value *row;
	struct value **rows = NULL;
	size_t capacity = 0;
	FILE *file = fopen(path, "re");

	*count = 0;
	if (!file || kql_ndjson_open(file, &dpe_schema, &source) != 0)
		return NULL;
	view = kql_ndjson_source(source);
	while (view->next(view->context, &row) == 1) {
		struct value *copy = malloc(sizeof(*copy) * DPE_COLUMN_COUNT);

		if (*count == capacity) {
			capacity = capacity ? capacity * 2 : 1024;
			rows = realloc(rows, capacity * sizeof(*rows));
		}
		for (int column = 0; column < DPE_COLUMN_COUNT; column++) {
			copy[column] = row[column];
			if (row[column].type == VALUE_STRING)
				copy[column].str = strndup(row[column].str, row[column].len);
		}
		rows[(*count)++] = copy;
	}
	kql_ndjson_close(source);
	fclose(file);
	return rows;
}

static double run_floor(struct value **rows, size_t count, struct bench_rule *rules,
			size_t rule_count, size_t *matches)
{
	double start = now_seconds();

	*matches = 0;
	for (size_t r = 0; r < count; r++) {
		const char *company = rows[r][DPE_PROCESS_VERSION_INFO_COMPANY_NAME].str;
		const char *product = rows[r][DPE_PROCESS_VERSION_INFO_PRODUCT_NAME].str;

		for (size_t i = 0; i < rule_count; i++)
			*matches += strcasestr(company, rules[i].needle[0]) &&
				    strcasestr(product, rules[i].needle[1]);
	}
	return now_seconds() - start;
}

static double run_rules(struct value **rows, size_t count, struct bench_rule *rules,
			size_t rule_count, int64_t now, size_t *matches)
{
	double start = now_seconds();

	*matches = 0;
	for (size_t r = 0; r < count; r++) {
		for (size_t i = 0; i < rule_count; i++)
			*matches += kql_query_row_matches(rules[i].query, rows[r], now) == 1;
	}
	return now_seconds() - start;
}

int main(int argc, char **argv)
{
	static struct bench_rule rules[MAX_RULES];
	double floor_best = 1e30, rules_best = 1e30;
	size_t rule_count, count, floor_matches = 0, rule_matches = 0;
	struct value **rows;
	int64_t now = timefmt_now_ticks();

	if (argc != 3) {
		fprintf(stderr, "usage: rules_match RULES_DIR RECORDS.ndjson\n");
		return 2;
	}
	rule_count = load_rules(argv[1], rules);
	rows = load_records(argv[2], &count);
	if (!rows || rule_count == 0) {
		fprintf(stderr, "rules_match: no records or no rules\n");
		return 1;
	}
	for (int round = 0; round < 3; round++) {
		double floor_time = run_floor(rows, count, rules, rule_count, &floor_matches);
		double rules_time = run_rules(rows, count, rules, rule_count, now, &rule_matches);

		floor_best = floor_time < floor_best ? floor_time : floor_best;
		rules_best = rules_time < rules_best ? rules_time : rules_best;
	}
	double per_floor = floor_best * 1e9 / (double)count / (double)rule_count;
	double per_rules = rules_best * 1e9 / (double)count / (double)rule_count;
	printf("records %zu, create-process rules %zu (best of 3, interleaved)\n", count,
	       rule_count);
	printf("  floor: strcasestr on two columns  %7.1f ns per record per rule (%zu matches)\n",
	       per_floor, floor_matches);
	printf("  rmmhunt: kql_query_row_matches    %7.1f ns per record per rule (%zu matches)\n",
	       per_rules, rule_matches);
	printf("  ratio rmmhunt/floor               %7.2f   (target: within 3x)\n",
	       per_rules / per_floor);
	return 0;
}
