/*
 * cache_sqlite.c - SQLite helpers shared by the stores (see cache_sqlite.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "model/schema.h"
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

int cache_sqlite_execute(sqlite3 *db, const char *sql)
{
	return cache_sqlite_errno(sqlite3_exec(db, sql, NULL, NULL, NULL));
}

int cache_sqlite_create_private(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0600) != 0) {
		int error = errno;

		close(fd);
		return -error;
	}
	close(fd);
	return 0;
}

void cache_sqlite_build_insert(struct strbuf *sql, const char *table, const char *extra_columns,
			       int extra_count, const char *suffix)
{
	strbuf_appendf(sql, "INSERT INTO %s (%s", table, extra_columns);
	for (int i = 0; i < DPE_COLUMN_COUNT; i++)
		strbuf_appendf(sql, "%s\"%s\"", (i || extra_count) ? "," : "", dpe_columns[i].name);
	strbuf_append_string(sql, ") VALUES (");
	for (int i = 0; i < extra_count + DPE_COLUMN_COUNT; i++)
		strbuf_append_string(sql, i ? ",?" : "?");
	strbuf_append_char(sql, ')');
	strbuf_append_string(sql, suffix);
}

void cache_sqlite_bind_value(sqlite3_stmt *statement, int index, const struct value *value)
{
	if (value->type == VALUE_STRING) {
		sqlite3_bind_text(statement, index, value->str, (int)value->len, SQLITE_STATIC);
		return;
	}
	if (value->is_null) {
		sqlite3_bind_null(statement, index);
		return;
	}
	switch (value->type) {
	case VALUE_BOOL:
		sqlite3_bind_int64(statement, index, value->b ? 1 : 0);
		break;
	case VALUE_REAL:
		sqlite3_bind_double(statement, index, value->r);
		break;
	default:
		sqlite3_bind_int64(statement, index, value->l);
		break;
	}
}

void cache_sqlite_bind_row(sqlite3_stmt *statement, int first, const struct value *values)
{
	for (int i = 0; i < DPE_COLUMN_COUNT; i++)
		cache_sqlite_bind_value(statement, first + i, &values[i]);
}

int cache_sqlite_run(sqlite3_stmt *statement)
{
	int code = sqlite3_step(statement);

	sqlite3_reset(statement);
	return code == SQLITE_DONE || code == SQLITE_ROW ? 0 : cache_sqlite_errno(code);
}

int64_t cache_sqlite_number(sqlite3 *db, const char *sql)
{
	int64_t value = 0;

	cache_sqlite_read_numbers(db, sql, &value, 1);
	return value;
}

int64_t cache_sqlite_data_bytes(sqlite3 *db)
{
	return cache_sqlite_number(db, CACHE_SQLITE_DATA_BYTES_SQL);
}

int64_t cache_sqlite_data_bytes_of(sqlite3_stmt *statement)
{
	int64_t bytes = sqlite3_step(statement) == SQLITE_ROW ? sqlite3_column_int64(statement, 0) : 0;

	sqlite3_reset(statement);
	return bytes;
}

int64_t cache_sqlite_wal_bytes(const char *database_path)
{
	char wal_path[4096];
	struct stat wal;

	snprintf(wal_path, sizeof(wal_path), "%s-wal", database_path);
	return stat(wal_path, &wal) == 0 ? wal.st_size : 0;
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
