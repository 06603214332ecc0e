/*
 * cache_sqlite.c - SQLite result codes as errno values, columns as values
 * (see cache_sqlite.h).
 */
#include <errno.h>

#include <sqlite3.h>

#include "model/value.h"
#include "store/cache_sqlite.h"

int cache_sqlite_errno(int code)
{
	switch (code & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_PERM:
	case SQLITE_AUTH:
	case SQLITE_READONLY:
		return -EACCES;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EILSEQ;
	default:
		return -EIO;
	}
}

bool cache_sqlite_read_value(sqlite3_stmt *statement, int column, struct value *value)
{
	if (value->type == VALUE_STRING) {
		const unsigned char *text = sqlite3_column_text(statement, column);

		value->str = text ? (const char *)text : "";
		value->len = text ? (size_t)sqlite3_column_bytes(statement, column) : 0;
		return true;
	}
	if (value->type == VALUE_DYNAMIC)
		return false;
	value->is_null = sqlite3_column_type(statement, column) == SQLITE_NULL;
	if (value->is_null)
		return true;
	switch (value->type) {
	case VALUE_BOOL:
		value->b = sqlite3_column_int64(statement, column) != 0;
		break;
	case VALUE_REAL:
		value->r = sqlite3_column_double(statement, column);
		break;
	default: /* long, datetime, timespan */
		value->l = sqlite3_column_int64(statement, column);
		break;
	}
	return true;
}

int cache_sqlite_read_numbers(sqlite3 *db, const char *sql, int64_t *numbers, int count)
{
	sqlite3_stmt *statement = NULL;
	int code = sqlite3_prepare_v2(db, sql, -1, &statement, NULL);

	if (code == SQLITE_OK)
		code = sqlite3_step(statement);
	if (code == SQLITE_ROW) {
		for (int i = 0; i < count; i++)
			if (sqlite3_column_type(statement, i) != SQLITE_NULL)
				numbers[i] = sqlite3_column_int64(statement, i);
	}
	sqlite3_finalize(statement);
	return code == SQLITE_ROW || code == SQLITE_DONE ? SQLITE_OK : code;
}
