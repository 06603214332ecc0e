/*
 * rules.c - compile hunting rules; errors in the rule file's coordinates.
 */
#include <errno.h>
#include <stdlib.h>

#include "rules/rules.h"
#include "model/schema.h"

static const struct table_schema *const tables[] = {&dpe_schema};

const struct table_schema *const *rule_tables(size_t *count)
{
	*count = sizeof(tables) / sizeof(tables[0]);
	return tables;
}

/* A query inside a YAML block keeps its lines; they start query_column in. */
static void shift_to_file(const struct rule_file *rule, struct kql_error *error)
{
	if (error->line == 0)
		return;
	error->line += rule->query_line - 1;
	error->column += rule->query_column - 1;
}

enum rule_outcome rule_compile(const struct rule_file *rule, struct kql_query **query,
			       struct kql_error *error)
{
	size_t count;
	const struct table_schema *const *known = rule_tables(&count);

	*query = NULL;
	if (kql_compile(rule->query, rule->query_length, known, count, query, error) == 0)
		return RULE_OK;
	shift_to_file(rule, error);
	return error->kind == KQL_ERROR_UNSUPPORTED_TABLE ? RULE_UNSUPPORTED_TABLE
							  : RULE_INVALID;
}

char *rule_error_text(const struct rule_file *rule, const struct kql_error *error)
{
	return kql_error_format(error, rule->query, rule->query_length, rule->path);
}
