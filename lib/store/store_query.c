/*
 * store_query.c - a compiled query over a store's tables (store_query.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_query.h"

/* Does the query read this table?  (-ENOENT from the engine: no.) */
static int reads_table(const struct kql_query *query, const struct table_schema *schema)
{
	bool *used = calloc(schema->column_count + 1, sizeof(*used));
	int result;

	if (!used)
		return -ENOMEM;
	result = kql_query_columns_used(query, schema->name, used, schema->column_count);
	free(used);
	return result == 0 ? 1 : result == -ENOENT ? 0 : result;
}

int store_execute(const struct store_table *tables, size_t table_count, struct kql_query *query,
		  int64_t now, struct kql_table **result, struct kql_error *error)
{
	struct kql_source sources[STORE_MAX_TABLES];
	void *handles[STORE_MAX_TABLES];
	const struct store_table *opened[STORE_MAX_TABLES];
	size_t source_count = 0;
	int status = table_count > STORE_MAX_TABLES ? -EINVAL : 0;

	memset(error, 0, sizeof(*error));
	*result = NULL;
	for (size_t i = 0; i < table_count && status == 0; i++) {
		status = reads_table(query, tables[i].schema);
		if (status <= 0)
			continue;
		status = tables[i].open(tables[i].context, query, tables[i].schema, now,
					&sources[source_count], &handles[source_count],
					error->message, sizeof(error->message));
		if (status == 0)
			opened[source_count++] = &tables[i];
	}
	if (status == 0)
		status = kql_execute(query, sources, source_count, now, result, error);
	else
		error->kind = status == -ENOMEM ? KQL_ERROR_NOMEM : KQL_ERROR_RUNTIME;
	for (size_t i = 0; i < source_count; i++)
		opened[i]->close(handles[i]);
	return status;
}
