/*
 * cache_sqlite.h - SQLite result codes as errno values, shared by the
 * cache's writer (cache.c) and reader (cache_source.c), so both report a
 * failure the same way (-EACCES, -ENOENT, -EILSEQ for a corrupt file, ...).
 */
#ifndef RMMHUNT_CACHE_SQLITE_H
#define RMMHUNT_CACHE_SQLITE_H

/* 0 for SQLITE_OK/ROW/DONE, else a negative errno (extended codes too). */
int cache_sqlite_errno(int code);

#endif
