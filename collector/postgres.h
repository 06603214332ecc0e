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

#include "store_backend.h"

/* The schema version this collector writes (postgres_schema.c). */
#define POSTGRES_SCHEMA_VERSION 2

struct postgres_connection {
	PGconn *connection;
	bool staging_ready; /* the session's COPY staging tables exist */
	struct postgres_connection *next_free;
};

struct postgres_store {
	char *location; /* the conninfo URL, for reconnecting */
	char *display;	/* the URL without its password, for messages */
	struct store_options options;
	pthread_mutex_t pool_lock;
	pthread_cond_t pool_wait;
	struct postgres_connection *connections;
	size_t connection_count;
	struct postgres_connection *free_connections;
	pthread_mutex_t partitions_lock;
	int64_t *partition_days; /* day partitions known to exist (sorted) */
	size_t partition_day_count, partition_day_capacity;
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
/* The day (since the epoch) a time in ticks falls on: its partition. */
int64_t postgres_day_of(int64_t ticks);

/* Fleet KQL over the store's tables (postgres_query.c). */
int postgres_run_query(void *state, struct kql_query *query, const struct store_table *extra,
		       size_t extra_count, int64_t now, struct kql_table **result,
		       struct kql_error *error, json_t *plan);

#endif
