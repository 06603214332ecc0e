/*
 * cache_compact.h - the cache writer's side of the compact layout
 * (cache_layout.h): a record in, an Events row and the dictionary rows it
 * needs out.
 *
 * A dictionary row is found again through a bounded in-memory map from
 * its content to its Id, so a repeated file version, parent snapshot,
 * command line... costs a hash and a compare, not a query.  The map is a
 * cache: a miss (after a restart, or when it overflowed and was emptied)
 * adds a second row of the same content, which is wasteful but correct.
 *
 * Reference counts: a new row gets its Id at once but is inserted at
 * commit (cache_compact_flush), with every reference the transaction made
 * to it counted; the further references to older rows are remembered and
 * their Refs raised in one UPDATE per row at commit; removed events give their references back
 * (cache_compact_collect_event / cache_compact_release), and a row whose
 * count reaches 0 is deleted, and forgotten by the map.  All of it happens
 * inside the writer's transaction: a rollback or a kill leaves counts and
 * rows as they were (cache_compact_forget empties the map then).
 */
#ifndef RMMHUNT_CACHE_COMPACT_H
#define RMMHUNT_CACHE_COMPACT_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "model/record.h"
#include "store/cache_layout.h"

struct cache_compact;

int cache_compact_open(struct cache_compact **out, sqlite3 *db);
void cache_compact_close(struct cache_compact *compact);

/* Stores record as Events row id (in the caller's transaction). */
int cache_compact_add(struct cache_compact *compact, int64_t id, const struct record *record);
/* The same from the 68 values alone (a decoded batch's record). */
int cache_compact_add_values(struct cache_compact *compact, int64_t id,
			     const struct value values[DPE_COLUMN_COUNT]);
/* The same with AdditionalFields already split (cache_layout_split, done
 * by the caller outside the writer's lock: the collector's decode threads). */
int cache_compact_add_split(struct cache_compact *compact, int64_t id,
			    const struct value values[DPE_COLUMN_COUNT],
			    const struct layout_split *split);

/* Before COMMIT: the Refs of the rows this transaction referenced. */
int cache_compact_flush(struct cache_compact *compact);

/* The transaction rolled back: nothing it did is known any more. */
void cache_compact_forget(struct cache_compact *compact);

/*
 * Retention: a statement deleting Events rows and RETURNING their
 * reference columns (cache_layout_append_event_references order) and Id
 * (cache_layout_events_delete_sql) is run to its end here, each row's
 * references kept for cache_compact_release, which lowers the counts and
 * deletes the rows no one refers to any more; no new Processes row links
 * to a deleted record (the ones that do were made whole by the trigger on
 * Events, CACHE_LAYOUT_LINK_TRIGGER_NAME, as the rows went).
 * Returns the Events rows deleted, or a negative errno.
 */
int cache_compact_delete_events(struct cache_compact *compact, sqlite3_stmt *statement);
int cache_compact_release(struct cache_compact *compact);

/* Dictionary rows deleted by releases, ever (this process). */
uint64_t cache_compact_dictionary_rows_removed(const struct cache_compact *compact);

/*
 * An older cache becomes schema 6, in the caller's transaction.  Schema 1
 * (a DeviceProcessEvents table): every record moves to Events with its
 * rowid, then the table goes and the view takes its name.  Schemas 2 to 4
 * (set aside first, below): every record is read through the file's view
 * and written again with its rowid; the old Events, view, dictionary rows
 * and dictionary columns go.
 */
int cache_compact_convert(struct cache_compact *compact);

/*
 * work(context) in a transaction of its own (BEGIN IMMEDIATE ... COMMIT):
 * on any failure the transaction is rolled back and the map forgotten, as
 * the rows it names are gone.  For conversions that run on open.
 */
int cache_compact_transaction(struct cache_compact *compact, int (*work)(void *context),
			      void *context);

/*
 * Before the tables of the schema are made, in that transaction: a
 * schema-2, -3 or -4 file's Events is renamed out of the way (its view
 * follows it) and its dictionaries get the fields added since, for
 * cache_compact_convert.
 */
int cache_compact_set_aside(sqlite3 *db);

/* The same steps for a store with its own bookkeeping (the collector's):
 * was an older Events set aside; its records converted (as above). */
bool cache_compact_is_set_aside(struct cache_compact *compact);
int cache_compact_convert_set_aside(struct cache_compact *compact);

/*
 * Schema 1's step alone, for a store with its own bookkeeping (the
 * collector's SQLite store): does db have the flat table; its records to
 * Events with their rowids (and their block summary), the flat table
 * dropped, the view made, in the caller's transaction.
 */
bool cache_compact_has_flat_table(struct cache_compact *compact);
int cache_compact_convert_records(struct cache_compact *compact);

#endif
