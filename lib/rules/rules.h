/*
 * rules.h - hunting rules compiled for the tables the sensor fills.
 *
 * Glue between a rule file (rulefile.h) and the KQL engine (kql/kql.h),
 * shared by the agent and `rmmhunt rules`: compile a rule's query against
 * DeviceProcessEvents, and report a failure at the rule file's own line and
 * column, with the source line and a caret.
 */
#ifndef RMMHUNT_RULES_H
#define RMMHUNT_RULES_H

#include "kql/kql.h"
#include "rules/rulefile.h"

enum rule_outcome {
	RULE_OK,
	RULE_UNSUPPORTED_TABLE, /* valid, but on a table the sensor does not fill */
	RULE_INVALID, /* not a rule file, or its query does not compile */
};

/*
 * Compile rule's query against the tables rmmhunt fills.  On failure the
 * error's line and column are those of the rule file.  Returns the outcome
 * and sets *query only for RULE_OK.
 */
enum rule_outcome rule_compile(const struct rule_file *rule, struct kql_query **query,
			       struct kql_error *error);

/* "path:line:column: kind: message" + source line + caret (malloc'd). */
char *rule_error_text(const struct rule_file *rule, const struct kql_error *error);

/* The tables rules may read, for kql_compile (count in *count). */
const struct table_schema *const *rule_tables(size_t *count);

#endif
