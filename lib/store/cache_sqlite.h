/*
 * cache_sqlite.h - SQLite helpers shared by the stores: the local cache's
 * writer (cache.c) and reader (cache_source.c), and the collector's SQLite
 * store (collector/store_sqlite.c), so each does these things one way:
 * result codes as errno values, a private file, record columns bound and
 * inserted, statements run, sizes read, and a column read back as the
 * typed value it was stored from (cache_outbox.c).  Every failure is
 * reported the same way (-EACCES, -ENOENT, -EILSEQ for a corrupt file, ...).
 */
#ifndef RMMHUNT_CACHE_SQLITE_H
#define RMMHUNT_CACHE_SQLITE_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "base/strbuf.h"
#include "model/value.h"

/* 0 for SQLITE_OK/ROW/DONE, else a negative errno (extended codes too). */
int cache_sqlite_errno(int code);

/* sqlite3_exec as an errno. */
int cache_sqlite_execute(sqlite3 *db, const char *sql);

/* Creates path 0600 (before SQLite creates it with its default mode). */
int cache_sqlite_create_private(const char *path);

/*
 * "INSERT INTO table (extra_columns, <the 68 record columns>) VALUES
 * (?, ...)" then suffix (such as " ON CONFLICT DO NOTHING"); extra_count
 * is how many names extra_columns holds ("" and 0 for none).
 */
void cache_sqlite_build_insert(struct strbuf *sql, const char *table, const char *extra_columns,
			       int extra_count, const char *suffix);

/* One value bound as the stores keep it (strings SQLITE_STATIC). */
void cache_sqlite_bind_value(sqlite3_stmt *statement, int index, const struct value *value);
/* The 68 record values bound from parameter first on. */
void cache_sqlite_bind_row(sqlite3_stmt *statement, int first, const struct value *values);

/* Steps a statement once and resets it: 0 or a negative errno. */
int cache_sqlite_run(sqlite3_stmt *statement);

/* The first column of the first row of sql (0 when none or on error). */
int64_t cache_sqlite_number(sqlite3 *db, const char *sql);
/* Bytes of pages in use, and of the file's -wal. */
#define CACHE_SQLITE_DATA_BYTES_SQL                                                      \
	"SELECT (p.page_count - f.freelist_count) * s.page_size FROM pragma_page_count() AS p," \
	" pragma_freelist_count() AS f, pragma_page_size() AS s"
int64_t cache_sqlite_data_bytes(sqlite3 *db);
/* The same with CACHE_SQLITE_DATA_BYTES_SQL prepared (kept by a writer
 * that asks often). */
int64_t cache_sqlite_data_bytes_of(sqlite3_stmt *statement);
int64_t cache_sqlite_wal_bytes(const char *database_path);

/*
 * The first row of a query as count numbers (a NULL leaves its number as
 * it was).  Returns the SQLite result code: SQLITE_OK also when there is
 * no row.
 */
int cache_sqlite_read_numbers(struct sqlite3 *db, const char *sql, int64_t *numbers, int count);

/*
 * Column column of the statement's current row as value (whose type says
 * what it is): strings point into SQLite's row (valid until the next step;
 * NULL reads as ""), datetimes and timespans are INTEGER ticks, bools 0/1.
 * Dynamic values are the caller's (they need a parse): returns false for
 * them and leaves value alone.
 */
bool cache_sqlite_read_value(struct sqlite3_stmt *statement, int column, struct value *value);

#endif
