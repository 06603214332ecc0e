/*
 * store_query.h - run a compiled KQL query over the tables a store offers.
 *
 * The local cache (cache_source.c) and the collector's store offer their
 * tables the same way: a schema and a function that opens a row source for
 * it.  store_execute() opens one source per table the query reads (and none
 * for the others), runs the KQL engine over them, and closes them: one
 * place decides how a store's tables meet the engine, wherever it runs.
 */
#ifndef RMMHUNT_STORE_QUERY_H
#define RMMHUNT_STORE_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "kql/kql.h"
#include "model/schema.h"

struct store_table {
	const struct table_schema *schema;
	/*
	 * Opens a source of schema's rows for query at now: fills *source and
	 * *handle (passed to close), or returns a negative errno with a
	 * sentence in message.
	 */
	int (*open)(void *context, const struct kql_query *query,
		    const struct table_schema *schema, int64_t now, struct kql_source *source,
		    void **handle, char *message, size_t message_size);
	void (*close)(void *handle);
	void *context;
};

/* At most this many tables per store. */
#define STORE_MAX_TABLES 8

/*
 * Runs query at now() = now.  Returns 0 with *result, or a negative errno
 * with *error (KQL_ERROR_RUNTIME when a source could not be opened).
 */
int store_execute(const struct store_table *tables, size_t table_count, struct kql_query *query,
		  int64_t now, struct kql_table **result, struct kql_error *error);

#endif
