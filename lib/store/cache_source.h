/*
 * cache_source.h - the local cache as KQL row sources (rmmhunt query).
 *
 * A reader opens STATE_DIR/cache.db read-only next to the running agent
 * (one writer, any number of readers in WAL mode).  For a compiled query it
 * opens one row source per table the query reads (DeviceProcessEvents,
 * RuleHits) and runs the query with the KQL engine, so every operator has
 * exactly the semantics it has in the agent's rule evaluator.
 *
 * A source reads only the columns the query uses (the others are "" or
 * null in the row), pushes the query's Timestamp range down to the
 * Timestamp index, and reads in chunks, each chunk its own short read
 * transaction: a long query never pins an old WAL snapshot, so the agent's
 * checkpoints keep the WAL small while it runs.  A scan reads the rows
 * committed when it started (rowid <= the largest rowid then); rows that
 * retention removes meanwhile are not read.
 */
#ifndef RMMHUNT_CACHE_SOURCE_H
#define RMMHUNT_CACHE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kql/kql.h"
#include "model/schema.h"

#define CACHE_TABLE_COUNT 2
#define CACHE_SCAN_CHUNK_ROWS 4096

struct cache_reader;
struct sqlite3;

/*
 * Opens the cache file at path read-only and checks that it is an rmmhunt
 * cache this version can read.  Returns 0, or a negative errno with a
 * sentence in message naming the file: -ENOENT no file there, -EACCES not
 * readable by this user (the file, its -wal or its -shm), -EILSEQ not a
 * SQLite database or not an rmmhunt cache.
 */
int cache_reader_open(const char *path, struct cache_reader **out, char *message,
		      size_t message_size);
void cache_reader_close(struct cache_reader *reader);

/* The tables a cache holds, as KQL sees them (for kql_compile). */
void cache_tables(const struct table_schema *tables[CACHE_TABLE_COUNT]);

struct cache_scan_options {
	size_t chunk_rows; /* rows per read transaction; 0: CACHE_SCAN_CHUNK_ROWS */
	/* Called after every chunk with the rows it read (may be NULL). */
	void (*progress)(void *context, uint64_t rows);
	void *progress_context;
};

/*
 * Runs query at now() = now over the cache: one source per table the query
 * reads, then kql_execute().  Returns 0 with *result, or a negative errno
 * with *error (kind KQL_ERROR_RUNTIME when the cache could not be read).
 */
int cache_execute(struct cache_reader *reader, struct kql_query *query, int64_t now,
		  const struct cache_scan_options *options, struct kql_table **result,
		  struct kql_error *error);

/* One table's source, for callers that combine sources themselves. */
struct cache_scan;

int cache_scan_open(struct cache_reader *reader, const struct kql_query *query,
		    const struct table_schema *table, int64_t now,
		    const struct cache_scan_options *options, struct cache_scan **out,
		    char *message, size_t message_size);
/*
 * The same over any SQLite connection (the collector's store): table's
 * schema name is the SQL table, with rowid as its key, columns of the same
 * names and types stored as the cache stores them, and, when the table has
 * a Timestamp column, an index named TABLE_time on it; or, when
 * DeviceProcessEvents is a view there, the compact layout (cache_layout.h),
 * times from its block summary when db has EventBlocks.
 * path names the file in messages.  db must outlive the scan.
 */
int cache_scan_open_db(struct sqlite3 *db, const char *path, const struct kql_query *query,
		       const struct table_schema *table, int64_t now,
		       const struct cache_scan_options *options, struct cache_scan **out,
		       char *message, size_t message_size);
const struct kql_source *cache_scan_source(struct cache_scan *scan);
/* Rows read so far, and whether the Timestamp index was used. */
uint64_t cache_scan_rows_read(const struct cache_scan *scan);
bool cache_scan_uses_time_index(const struct cache_scan *scan);
void cache_scan_close(struct cache_scan *scan);

#endif
