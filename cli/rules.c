/*
 * rules.c - `rmmhunt rules`: check rule files, test a rule on recorded
 * records.
 *
 *   rmmhunt rules check PATH...          per file: ok / unsupported table /
 *                                        error with line, column and caret
 *   rmmhunt rules test RULE --events FILE [--format F] [--now DATETIME]
 *                                        run the rule's query over NDJSON
 *                                        records, print its result table
 */
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "base/log.h"
#include "kql/kql_format.h"
#include "rules/rules.h"
#include "base/timefmt.h"

static void rules_usage(FILE *out)
{
	fprintf(out,
		"usage: rmmhunt rules check PATH...\n"
		"       rmmhunt rules test RULE --events FILE|- [--format table|json|csv]\n"
		"                          [--now DATETIME]\n"
		"\n"
		"check: for every rule file (a file, or the *.yaml of a directory) say\n"
		"       ok, unsupported table (a valid rule on a table the sensor does not\n"
		"       fill: the agent skips it), or the error with its line and column.\n"
		"       Exit status 1 when any file has an error.\n"
		"test:  run RULE's query over recorded records (one JSON record per line,\n"
		"       as rmmhunt-agent --events writes them) and print its result.\n"
		"       --now sets now() (default: the current time), for old recordings.\n");
}

/* Returns 0 ok, 1 unsupported, 2 invalid. */
static int check_one(const char *path)
{
	struct rule_file rule;
	struct rule_file_error file_error;
	struct kql_error error;
	struct kql_query *query;
	enum rule_outcome outcome;
	char *text;

	if (rule_file_load(path, &rule, &file_error) != 0) {
		char reason[PATH_MAX + sizeof(file_error.message) + 32];

		printf("error  %s\n",
		       rule_file_error_text(&file_error, path, reason, sizeof(reason)));
		return 2;
	}
	outcome = rule_compile(&rule, &query, &error);
	if (outcome == RULE_OK) {
		printf("ok     %s  %s\n", path, rule.name);
		kql_query_free(query);
		rule_file_free(&rule);
		return 0;
	}
	text = rule_error_text(&rule, &error);
	printf("%s %s", outcome == RULE_UNSUPPORTED_TABLE ? "unsupported table" : "error ",
	       text ? text : error.message);
	if (text && text[strlen(text) - 1] != '\n')
		putchar('\n');
	free(text);
	rule_file_free(&rule);
	return outcome == RULE_UNSUPPORTED_TABLE ? 1 : 2;
}

static int rules_check(int argc, char **argv)
{
	int counts[3] = {0, 0, 0};

	if (argc < 2) {
		rules_usage(stderr);
		return 2;
	}
	int first = 1;

	/* options before the paths: --help; "--" ends them (a path may start with '-') */
	for (; first < argc && argv[first][0] == '-' && argv[first][1] != '\0'; first++) {
		if (strcmp(argv[first], "--") == 0) {
			first++;
			break;
		}
		if (strcmp(argv[first], "--help") == 0 || strcmp(argv[first], "-h") == 0) {
			rules_usage(stdout);
			return 0;
		}
		fprintf(stderr, "rmmhunt rules check: unknown option '%s'\n", argv[first]);
		rules_usage(stderr);
		return 2;
	}
	if (first >= argc) {
		rules_usage(stderr);
		return 2;
	}
	for (int i = first; i < argc; i++) {
		char **paths;
		int result = rule_file_list(argv[i], &paths);

		if (result) {
			printf("error  %s: %s\n", argv[i], strerror(-result));
			counts[2]++;
			continue;
		}
		for (char **path = paths; *path; path++)
			counts[check_one(*path)]++;
		rule_file_list_free(paths);
	}
	printf("%d ok, %d unsupported table, %d with errors\n", counts[0], counts[1],
	       counts[2]);
	return counts[2] ? 1 : 0;
}

struct test_options {
	const char *events;
	const char *now_text;
	enum kql_format format;
};

static int parse_test_options(int argc, char **argv, struct test_options *options)
{
	static const struct option table[] = {
		{"events", required_argument, NULL, 'e'},
		{"format", required_argument, NULL, 'f'},
		{"now", required_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int option;

	memset(options, 0, sizeof(*options));
	options->format = KQL_FORMAT_TABLE;
	optind = 1;
	while ((option = getopt_long(argc, argv, "e:f:n:h", table, NULL)) != -1) {
		switch (option) {
		case 'e':
			options->events = optarg;
			break;
		case 'f':
			if (kql_format_parse(optarg, &options->format) != 0) {
				log_error("unknown format '%s'", optarg);
				return 2;
			}
			break;
		case 'n':
			options->now_text = optarg;
			break;
		case 'h':
			rules_usage(stdout);
			return 1;
		default:
			rules_usage(stderr);
			return 2;
		}
	}
	if (!options->events || optind != argc - 1) {
		rules_usage(stderr);
		return 2;
	}
	return 0;
}

/* Compile the rule; on failure say why (with the caret). */
static int load_rule(const char *path, struct rule_file *rule, struct kql_query **query)
{
	struct rule_file_error file_error;
	struct kql_error error;

	if (rule_file_load(path, rule, &file_error) != 0) {
		char reason[PATH_MAX + sizeof(file_error.message) + 32];

		log_error("%s", rule_file_error_text(&file_error, path, reason, sizeof(reason)));
		return 1;
	}
	if (rule_compile(rule, query, &error) != RULE_OK) {
		char *text = rule_error_text(rule, &error);

		log_lines(LOG_LEVEL_ERROR, "%s", text ? text : error.message);
		free(text);
		rule_file_free(rule);
		return 1;
	}
	return 0;
}

static int run_rule(struct kql_query *query, FILE *events, int64_t now,
		    enum kql_format format)
{
	struct kql_ndjson_source *source;
	struct kql_table *result;
	struct kql_error error;
	int status = 0;

	if (kql_ndjson_open(events, &dpe_schema, &source) != 0) {
		log_error("out of memory");
		return 1;
	}
	if (kql_execute(query, kql_ndjson_source(source), 1, now, &result, &error) != 0) {
		log_error("%s", error.message);
		status = 1;
	} else {
		kql_table_print(stdout, result, format, 0);
		kql_table_free(result);
	}
	kql_ndjson_close(source);
	return status;
}

static int rules_test(int argc, char **argv)
{
	struct test_options options;
	struct rule_file rule;
	struct kql_query *query;
	int64_t now = timefmt_now_ticks();
	FILE *events;
	int status = parse_test_options(argc, argv, &options);

	if (status)
		return status == 1 ? 0 : status;
	if (options.now_text &&
	    timefmt_parse_iso(options.now_text, strlen(options.now_text), &now) != 0) {
		log_error("--now '%s' is not an ISO 8601 datetime",
			  options.now_text);
		return 2;
	}
	if (load_rule(argv[optind], &rule, &query))
		return 1;
	events = strcmp(options.events, "-") == 0 ? stdin : fopen(options.events, "re");
	if (!events) {
		log_error("cannot open %s: %s", options.events,
			  strerror(errno));
		status = 1;
	} else {
		status = run_rule(query, events, now, options.format);
		if (events != stdin)
			fclose(events);
	}
	kql_query_free(query);
	rule_file_free(&rule);
	return status;
}

int command_rules(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		rules_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "check") == 0)
		return rules_check(argc - 1, argv + 1);
	if (strcmp(argv[1], "test") == 0) {
		log_set_program("rmmhunt rules test");
		return rules_test(argc - 1, argv + 1);
	}
	log_error("unknown subcommand '%s'", argv[1]);
	rules_usage(stderr);
	return 2;
}
