/*
 * postgres.h - what the PostgreSQL backend's files share (store_postgres.c:
 * the store operations; postgres_schema.c: the versioned migrations;
 * postgres_query.c: fleet KQL pushed down to SQL).
 *
 * The backend keeps a pool of libpq connections; each operation takes one
 * for its run (a batch is one transaction on one connection), so a
 * collector writes and reads over several connections at once and several
 * collectors share one database: every write that two of them may make for
 * the same device is an upsert or an update under the row's lock, never a
 * read-modify-write in the collector.
 */
#ifndef RMMHUNT_COLLECTOR_POSTGRES_H
#define RMMHUNT_COLLECTOR_POSTGRES_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "base/strbuf.h"
#include "kql/kql.h"
#include "pool.h"
#include "store_backend.h"

/* The schema version this collector writes (postgres_schema.c). */
#define POSTGRES_SCHEMA_VERSION 3

struct postgres_connection {
	struct pool_item item; /* first: the pool hands out items */
	PGconn *connection;
	bool staging_ready; /* the session's COPY staging tables exist */
};

struct postgres_store {
	char *location; /* the conninfo URL, for reconnecting */
	char *display;	/* the URL without its password, for messages */
	struct store_options options;
	struct pool pool;
	struct postgres_connection *connections;
	size_t connection_count;
	pthread_mutex_t partitions_lock;
	int64_t *partition_days; /* day partitions known to exist (sorted) */
	size_t partition_day_count, partition_day_capacity;
	/* filters can be translated exactly (summarize pushdown): the
	 * database's rmmhunt_term_class() is the engine's and its ILIKE folds
	 * ASCII letters as KQL does (postgres_open) */
	bool exact_filters;
};

/* A connection of the pool (reconnected when it was lost); never NULL. */
struct postgres_connection *postgres_take(struct postgres_store *store);
void postgres_give(struct postgres_store *store, struct postgres_connection *connection);

/*
 * Runs sql (no parameters, any number of statements): 0, or a negative
 * errno (-EBUSY when the server is unreachable or a lock or serialisation
 * conflict says "try again") with the server's message logged.
 */
int postgres_execute(PGconn *connection, const char *sql);
/* A finished PGresult as 0 or a negative errno (logs the message); clears it. */
int postgres_check(PGconn *connection, PGresult *result, const char *what);
/* The errno a failed result stands for (-EBUSY for "try again" states). */
int postgres_result_errno(PGconn *connection, const PGresult *result);

/* Brings the schema to POSTGRES_SCHEMA_VERSION (postgres_schema.c). */
int postgres_migrate(PGconn *connection, char *message, size_t message_size);
/* The engine's term characters as the inside of a bracket expression. */
void postgres_term_class(struct strbuf *out);
/* The day (since the epoch) a time in ticks falls on: its partition. */
int64_t postgres_day_of(int64_t ticks);

/* Fleet KQL over the store's tables (postgres_query.c). */
int postgres_run_query(void *state, struct kql_query *query, const struct store_table *extra,
		       size_t extra_count, int64_t now, struct kql_table **result,
		       struct kql_error *error, json_t *plan);

/*
 * The SQL of the filter tree nodes[index] (postgres_query.c): exact, or
 * (exact false) a necessary condition, which may leave parts out.  False
 * (and sql as it was) when it cannot be written.
 */
bool postgres_append_filter(struct strbuf *sql, const struct table_schema *schema,
			    const struct kql_filter *nodes, size_t index, bool exact);
/*
 * Replaces *chunk by the next rows (at most rows) of a cursor, *chunk_rows
 * of them (*finished: the cursor has no more): 0, or a negative errno with
 * the server's message in message.
 */
int postgres_fetch(PGconn *connection, const char *cursor, int rows, PGresult **chunk,
		   int *chunk_rows, bool *finished, char *message, size_t message_size);
/* Does the SQLite store read the range [low, high] in Timestamp order? */
int postgres_time_ordered(PGconn *connection, const struct table_schema *schema, int64_t low,
			  int64_t high, bool *by_time);
/*
 * The query's summarize computed in PostgreSQL, the rest of the query in the
 * engine over the groups (postgres_grouped.c): 0 with *result, -EOPNOTSUPP
 * when the query cannot be run so (nothing done), another negative errno
 * with *error.  plan (may be NULL) gets the table's entry.
 */
int postgres_run_grouped(struct postgres_store *store, PGconn *connection, struct kql_query *query,
			 int64_t now, struct kql_table **result, struct kql_error *error,
			 json_t *plan);

#endif
