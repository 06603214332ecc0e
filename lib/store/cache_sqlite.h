/*
 * cache_sqlite.h - SQLite result codes as errno values, shared by the
 * cache's writer (cache.c) and readers (cache_source.c, cache_outbox.c), so
 * all report a failure the same way (-EACCES, -ENOENT, -EILSEQ for a corrupt
 * file, ...); and a column read back as the typed value it was stored from.
 */
#ifndef RMMHUNT_CACHE_SQLITE_H
#define RMMHUNT_CACHE_SQLITE_H

#include <stdbool.h>

/* 0 for SQLITE_OK/ROW/DONE, else a negative errno (extended codes too). */
int cache_sqlite_errno(int code);

struct sqlite3_stmt;
struct value;

/*
 * Column column of the statement's current row as value (whose type says
 * what it is): strings point into SQLite's row (valid until the next step;
 * NULL reads as ""), datetimes and timespans are INTEGER ticks, bools 0/1.
 * Dynamic values are the caller's (they need a parse): returns false for
 * them and leaves value alone.
 */
bool cache_sqlite_read_value(struct sqlite3_stmt *statement, int column, struct value *value);

#endif
