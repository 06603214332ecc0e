/*
 * layout_checks.h - what the unit tests of the compact layout's two writers
 * (the local cache, test_cache_compact.c; the collector's SQLite store,
 * test_collector_*.c) read from a file they wrote: one number from SQL,
 * the layout's soundness counts (cache_layout.h), and a gzipped fixture
 * unpacked.  Header-only: each test is its own program.
 */
#ifndef RMMHUNT_TEST_LAYOUT_CHECKS_H
#define RMMHUNT_TEST_LAYOUT_CHECKS_H

#include <stdint.h>
#include <stdio.h>

#include <sqlite3.h>
#include <zlib.h>

#include "base/strbuf.h"
#include "store/cache_layout.h"

/* The first column of the first row of sql over the file at path (-1: no row). */
static inline int64_t layout_check_number(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *statement = NULL;
	int64_t value = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	if (sqlite3_prepare_v2(db, sql, -1, &statement, NULL) != SQLITE_OK)
		print_error("%s: %s\n", sql, sqlite3_errmsg(db));
	assert_non_null(statement);
	if (sqlite3_step(statement) == SQLITE_ROW)
		value = sqlite3_column_int64(statement, 0);
	sqlite3_finalize(statement);
	sqlite3_close(db);
	return value;
}

/* The count a layout query counts over the file (cache_layout_orphans_sql:
 * unreferenced dictionary rows; cache_layout_bad_refs_sql: wrong Refs). */
static inline int64_t layout_check_count(const char *path, void (*build)(struct strbuf *sql))
{
	struct strbuf sql;
	int64_t count;

	strbuf_init(&sql);
	build(&sql);
	assert_false(sql.failed);
	count = layout_check_number(path, strbuf_text(&sql));
	strbuf_free(&sql);
	return count;
}

/* The gzipped fixture from, unpacked to the file to. */
static inline void layout_check_gunzip(const char *from, const char *to)
{
	gzFile in = gzopen(from, "rb");
	FILE *out = fopen(to, "wb");
	char buffer[65536];
	int length;

	if (!in)
		fail_msg("cannot open %s (run from the repository root)", from);
	assert_non_null(out);
	while ((length = gzread(in, buffer, sizeof(buffer))) > 0)
		assert_int_equal(fwrite(buffer, 1, (size_t)length, out), (size_t)length);
	assert_int_equal(length, 0);
	gzclose(in);
	assert_int_equal(fclose(out), 0);
}

#endif
