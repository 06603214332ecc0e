/*
 * fuzz_json_member.c - libFuzzer target: parse_json(X).Name read from the
 * text (lib/kql/json_member.c) against jansson's tree.
 *
 * Input: the first byte picks the member's name, the rest (up to a NUL) is
 * the AdditionalFields text of one record (valid UTF-8, as every record
 * the collector and the agent hold).  The query projects
 * parse_json(AdditionalFields).Name (the strict scanner's fast path, taken
 * for a column) and parse_json(AdditionalFields)['Name'] (always the tree);
 * the two must be the same JSON value, or the target aborts.  Texts from a
 * hostile agent reach this path in the collector.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/text.h"
#include "kql/kql.h"
#include "kql/kql_format.h"
#include "model/record.h"
#include "model/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW (1795881600LL * TICKS_PER_SECOND)

static const char *const member_names[] = {"k", "GoMainPackage", "uid", "a"};

/* A source of one row: the record, once. */
struct one_row {
	const struct value *row;
	int given;
};

static int one_row_next(void *context, const struct value **row)
{
	struct one_row *source = context;

	if (source->given)
		return 0;
	source->given = 1;
	*row = source->row;
	return 1;
}

static const char *one_row_error(void *context)
{
	(void)context;
	return "";
}

/* The JSON text of member name of the one JSON line in text. */
static char *member_text(const char *text, const char *name)
{
	json_t *line = json_loads(text, JSON_ALLOW_NUL | JSON_DECODE_ANY, NULL);
	char *member;

	if (!line)
		abort(); /* the JSON format printed something that is not JSON */
	member = json_dumps(json_object_get(line, name), JSON_ENCODE_ANY | JSON_SORT_KEYS);
	json_decref(line);
	return member;
}

static void compare_paths(struct kql_query *query, const struct value *row)
{
	struct one_row rows = {row, 0};
	struct kql_source source = {&dpe_schema, one_row_next, one_row_error, &rows};
	struct kql_table *table;
	struct kql_error error;
	char *printed = NULL;
	size_t printed_size = 0;
	FILE *out;

	if (kql_execute(query, &source, 1, NOW, &table, &error) != 0)
		return;
	out = open_memstream(&printed, &printed_size);
	if (out) {
		kql_table_print(out, table, KQL_FORMAT_JSON, 0);
		fclose(out);
		char *fast = member_text(printed, "fast"), *tree = member_text(printed, "tree");

		if ((fast == NULL) != (tree == NULL) || (fast && strcmp(fast, tree) != 0)) {
			fprintf(stderr, "fast path %s, tree %s\n", fast ? fast : "(none)",
				tree ? tree : "(none)");
			abort();
		}
		free(fast);
		free(tree);
	}
	free(printed);
	kql_table_free(table);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct table_schema *tables[] = {&dpe_schema};
	char query_text[256];
	struct kql_query *query;
	struct kql_error error;
	struct record record;
	char *text;

	if (size < 1)
		return 0;
	const char *name = member_names[data[0] % (sizeof(member_names) / sizeof(member_names[0]))];

	snprintf(query_text, sizeof(query_text),
		 "DeviceProcessEvents | project fast = parse_json(AdditionalFields).%s, "
		 "tree = parse_json(AdditionalFields)['%s']",
		 name, name);
	if (kql_compile(query_text, strlen(query_text), tables, 1, &query, &error) < 0)
		abort(); /* the query is ours: it must compile */
	text = strndup((const char *)data + 1, size - 1);
	record_init(&record);
	if (text && utf8_is_valid(text, strlen(text)) &&
	    record_set_cstring(&record, DPE_ADDITIONAL_FIELDS, text) == 0)
		compare_paths(query, record.values);
	record_free(&record);
	free(text);
	kql_query_free(query);
	return 0;
}
