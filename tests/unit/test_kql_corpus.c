/*
 * test_kql_corpus.c - the 165 Sentinel RMM hunting rules of
 * ../shared/corpus/sentinel-rmm against the compiler.
 *
 * Every *_createproc.yaml query compiles against DeviceProcessEvents except
 * rmm_DWService_createproc.yaml, rejected with a syntax error on its
 * `| Sha1 in` line; every netconn/filesig query is reported as an
 * unsupported table.  With test schemas for DeviceNetworkEvents and
 * DeviceFileCertificateInfo in the catalog, those rules compile and run too
 * (datatable, has_any over a subquery, trim_start/split/tostring/[i]).
 * The query text is read with libyaml, as the rule loader will.  Without the
 * corpus the test skips, unless CI=true.
 */
#include <dirent.h>
#include <errno.h>
#include <yaml.h>

#include "kql_test.h"

#define CORPUS "../shared/corpus/sentinel-rmm"

struct rule {
	char *query;
	unsigned query_line; /* file line of the query's first line */
};

/* The `query:` scalar of a rule file, and where it starts. */
static bool read_rule(const char *path, struct rule *rule)
{
	FILE *file = fopen(path, "rb");
	yaml_parser_t parser;
	yaml_event_t event;
	int depth = 0;
	bool expecting_key = true, is_query = false, done = false;

	rule->query = NULL;
	if (!file)
		return false;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, file);
	while (!done && yaml_parser_parse(&parser, &event)) {
		switch (event.type) {
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			depth++;
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			/* back at the top: a collection value ended */
			if (--depth == 1)
				expecting_key = true;
			break;
		case YAML_SCALAR_EVENT:
			if (depth != 1)
				break;
			if (expecting_key) {
				is_query = strcmp((const char *)event.data.scalar.value, "query") == 0;
				expecting_key = false;
				break;
			}
			if (is_query) {
				rule->query = strndup((const char *)event.data.scalar.value,
						      event.data.scalar.length);
				/* a block scalar starts on the line after 'query: |' */
				rule->query_line = (unsigned)event.start_mark.line + 2;
				done = true;
			}
			expecting_key = true;
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		yaml_event_delete(&event);
	}
	yaml_parser_delete(&parser);
	fclose(file);
	return rule->query != NULL;
}

static bool corpus_present(void)
{
	DIR *dir = opendir(CORPUS);

	if (dir) {
		closedir(dir);
		return true;
	}
	const char *ci = getenv("CI");

	if (ci && strcmp(ci, "true") == 0) {
		print_error("corpus %s is missing and CI=true\n", CORPUS);
		fail();
	}
	print_message("skipping: corpus %s is absent (set CI=true to make this a failure)\n", CORPUS);
	skip();
	return false;
}

static bool ends_with(const char *name, const char *suffix)
{
	size_t length = strlen(name), suffix_length = strlen(suffix);

	return length >= suffix_length && strcmp(name + length - suffix_length, suffix) == 0;
}

/* Line number (1-based) in text of the first line containing needle. */
static unsigned line_of(const char *text, const char *needle)
{
	const char *found = strstr(text, needle);
	unsigned line = 1;

	assert_non_null(found);
	for (const char *c = text; c < found; c++)
		line += *c == '\n';
	return line;
}

/* The nth line (1-based) of a file. */
static char *file_line(const char *path, unsigned number)
{
	FILE *file = fopen(path, "rb");
	char *line = NULL;
	size_t size = 0;

	assert_non_null(file);
	for (unsigned i = 0; i < number; i++)
		assert_true(getline(&line, &size, file) > 0);
	fclose(file);
	return line;
}

static const struct column_def network_columns[] = {
	{"Timestamp", VALUE_DATETIME},
	{"DeviceId", VALUE_STRING},
	{"DeviceName", VALUE_STRING},
	{"RemoteUrl", VALUE_STRING},
	{"ReportId", VALUE_LONG},
	{"InitiatingProcessFileName", VALUE_STRING},
	{"InitiatingProcessSHA1", VALUE_STRING},
	{"InitiatingProcessVersionInfoCompanyName", VALUE_STRING},
	{"InitiatingProcessVersionInfoProductName", VALUE_STRING},
	{"InitiatingProcessVersionInfoFileDescription", VALUE_STRING},
	{"InitiatingProcessVersionInfoOriginalFileName", VALUE_STRING},
};

static const struct column_def certificate_columns[] = {
	{"Timestamp", VALUE_DATETIME}, {"DeviceId", VALUE_STRING}, {"DeviceName", VALUE_STRING},
	{"SHA1", VALUE_STRING},	       {"Signer", VALUE_STRING},   {"ReportId", VALUE_LONG},
};

static const struct table_schema network_schema = {
	"DeviceNetworkEvents", sizeof(network_columns) / sizeof(network_columns[0]), network_columns};
static const struct table_schema certificate_schema = {
	"DeviceFileCertificateInfo", sizeof(certificate_columns) / sizeof(certificate_columns[0]),
	certificate_columns};

static void createproc_rules(void **state)
{
	(void)state;
	if (!corpus_present())
		return;
	DIR *dir = opendir(CORPUS);
	struct dirent *entry;
	unsigned compiled = 0, rejected = 0;

	while ((entry = readdir(dir))) {
		char path[512];
		struct rule rule;

		if (!ends_with(entry->d_name, "_createproc.yaml"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", CORPUS, entry->d_name);
		assert_true(read_rule(path, &rule));
		const struct table_schema *tables[] = {&dpe_schema};
		struct kql_query *query;
		struct kql_error error;
		int status = kql_compile(rule.query, strlen(rule.query), tables, 1, &query, &error);

		if (strcmp(entry->d_name, "rmm_DWService_createproc.yaml") == 0) {
			assert_int_equal(status, -EINVAL);
			assert_int_equal(error.kind, KQL_ERROR_SYNTAX);
			assert_int_equal(error.line, line_of(rule.query, "| Sha1 in"));
			assert_int_equal(error.column, 3);
			/* in the file: the loader adds the query's first line */
			char *line = file_line(path, rule.query_line + error.line - 1);

			assert_non_null(strstr(line, "| Sha1 in (rmmInitialFileSet)"));
			free(line);
			char *message = kql_error_format(&error, rule.query, strlen(rule.query), path);

			assert_non_null(strstr(message, "    | Sha1 in (rmmInitialFileSet)\n      ^\n"));
			free(message);
			rejected++;
		} else {
			if (status < 0)
				print_error("%s: %s\n", entry->d_name, error.message);
			assert_int_equal(status, 0);
			assert_string_equal(kql_query_table(query), "DeviceProcessEvents");
			assert_true(kql_query_row_only(query));
			assert_int_equal(kql_query_column_count(query), 6);
			assert_string_equal(kql_query_column_name(query, 0), "DeviceId");
			assert_string_equal(kql_query_column_name(query, 5), "Count");
			/* each rule's summarize can be kept incrementally */
			struct kql_aggregator *aggregator;

			assert_int_equal(kql_aggregator_new(query, 0, &aggregator, &error), 0);
			kql_aggregator_free(aggregator);
			kql_query_free(query);
			compiled++;
		}
		free(rule.query);
	}
	closedir(dir);
	assert_int_equal(compiled, 54);
	assert_int_equal(rejected, 1);
}

static const char network_rows[] =
	"{\"Timestamp\":\"2026-11-28T10:00:00Z\",\"DeviceId\":\"d\",\"DeviceName\":\"h\","
	"\"RemoteUrl\":\"https://agent.centrastage.net:443/x\",\"ReportId\":1,"
	"\"InitiatingProcessVersionInfoCompanyName\":\"\"}\n"
	"{\"Timestamp\":\"2026-11-28T11:00:00Z\",\"DeviceId\":\"d\",\"DeviceName\":\"h\","
	"\"RemoteUrl\":\"rustdesk.com\",\"ReportId\":2}\n";

static void other_rules(void **state)
{
	(void)state;
	if (!corpus_present())
		return;
	DIR *dir = opendir(CORPUS);
	struct dirent *entry;
	unsigned unsupported = 0, compiled_with_schemas = 0;

	while ((entry = readdir(dir))) {
		char path[512];
		struct rule rule;

		if (!ends_with(entry->d_name, "_netconn.yaml") && !ends_with(entry->d_name, "_filesig.yaml"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", CORPUS, entry->d_name);
		assert_true(read_rule(path, &rule));
		const struct table_schema *tables[] = {&dpe_schema};
		struct kql_query *query = NULL;
		struct kql_error error;

		const char *text = rule.query ? rule.query : "";

		assert_int_equal(kql_compile(text, strlen(text), tables, 1, &query, &error), -EINVAL);
		assert_int_equal(error.kind, KQL_ERROR_UNSUPPORTED_TABLE);
		assert_true(error.line > 0);
		unsupported++;

		/* with schemas for their tables they compile and run */
		const struct table_schema *all[] = {&dpe_schema, &network_schema, &certificate_schema};
		int status = kql_compile(text, strlen(text), all, 3, &query, &error);

		if (strcmp(entry->d_name, "rmm_DWService_netconn.yaml") == 0) {
			/* `distinct Sha1`: the column is SHA1 */
			assert_int_equal(status, -EINVAL);
			assert_int_equal(error.kind, KQL_ERROR_NAME);
			assert_non_null(strstr(error.message, "did you mean 'SHA1'"));
			free(rule.query);
			continue;
		}
		if (status < 0)
			print_error("%s: %s\n", entry->d_name, error.message);
		assert_int_equal(status, 0);
		FILE *in = fmemopen((void *)network_rows, strlen(network_rows), "r");
		struct kql_ndjson_source *source;
		struct kql_table *table;

		assert_int_equal(kql_ndjson_open(in, &network_schema, &source), 0);
		status = kql_execute(query, kql_ndjson_source(source), 1, TEST_NOW, &table, &error);
		if (strcmp(kql_query_table(query), "DeviceNetworkEvents") == 0) {
			assert_int_equal(status, 0);
			if (strcmp(entry->d_name, "rmm_DattoRMM_netconn.yaml") == 0) {
				assert_int_equal(kql_table_row_count(table), 1);
				assert_string_equal(test_cell(table, 0, "RemoteUrl")->str,
						    "https://agent.centrastage.net:443/x");
			}
			if (strcmp(entry->d_name, "rmm__all_netconn.yaml") == 0) {
				/* the URL is cut down by trim_start, split and [0] */
				assert_int_equal(kql_table_row_count(table), 2);
				assert_string_equal(test_cell(table, 0, "RemoteUrl")->str,
						    "agent.centrastage.net");
				assert_string_equal(test_cell(table, 1, "RemoteUrl")->str, "rustdesk.com");
			}
			kql_table_free(table);
		} else {
			/* no certificate rows given: a clear runtime error */
			assert_int_equal(status, -EINVAL);
			assert_int_equal(error.kind, KQL_ERROR_RUNTIME);
		}
		kql_ndjson_close(source);
		fclose(in);
		kql_query_free(query);
		compiled_with_schemas++;
		free(rule.query);
	}
	closedir(dir);
	assert_int_equal(unsupported, 110);
	assert_int_equal(compiled_with_schemas, 109);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(createproc_rules),
		cmocka_unit_test(other_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
