/*
 * cache_sqlite.h - SQLite result codes as errno values, shared by the
 * cache's writer (cache.c) and readers (cache_source.c, cache_outbox.c), so
 * all report a failure the same way (-EACCES, -ENOENT, -EILSEQ for a corrupt
 * file, ...); and a column read back as the typed value it was stored from.
 */
#ifndef RMMHUNT_CACHE_SQLITE_H
#define RMMHUNT_CACHE_SQLITE_H

#include <stdbool.h>
#include <stdint.h>

/* 0 for SQLITE_OK/ROW/DONE, else a negative errno (extended codes too). */
int cache_sqlite_errno(int code);

struct sqlite3;
struct sqlite3_stmt;
struct value;

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
