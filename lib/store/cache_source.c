/*
 * cache_source.c - KQL row sources over the cache file (see cache_source.h).
 *
 * A scan is one prepared SELECT of the columns the query uses, run once per
 * chunk: each run is an autocommit statement, so its read transaction ends
 * when the chunk's last row has been handed out.  Chunks follow a key:
 *
 *   no Timestamp bound:  rowid > ?last ORDER BY rowid LIMIT n   (table order)
 *   a Timestamp range:   (Timestamp, rowid) > (?last_time, ?last_rowid)
 *                        AND Timestamp <= ?high ... ORDER BY Timestamp, rowid
 *                        through the Timestamp index, which holds the rowid,
 *                        so no chunk sorts
 *
 * Values are handed to the KQL engine in place (strings point into SQLite's
 * row, valid until the next step), converted by the schema's Kusto types.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "store/cache_schema.h"
#include "store/cache_source.h"
#include "store/cache_sqlite.h"
#include "base/strbuf.h"

#define CACHE_BUSY_TIMEOUT_MS 5000
#define CACHE_READ_MMAP_BYTES "1073741824"

struct cache_reader {
	sqlite3 *db;
	char *path;
};

struct cache_scan {
	struct kql_source source;
	struct cache_reader *reader;
	sqlite3_stmt *statement;
	struct value *row; /* schema->column_count values */
	int *selected; /* result column (after the keys) -> schema column */
	size_t selected_count;
	int key_count; /* leading key columns: rowid [, Timestamp] */
	bool by_time; /* chunks follow the Timestamp index */
	bool time_filter; /* a Timestamp range checked in a table-order scan */
	int64_t high, max_rowid;
	int64_t last_rowid, last_time;
	size_t chunk_rows, rows_in_chunk;
	bool chunk_open, finished;
	uint64_t rows_read;
	struct cache_scan_options options;
	json_t **dynamics; /* references held for the current row */
	char message[512];
};

void cache_tables(const struct table_schema *tables[CACHE_TABLE_COUNT])
{
	tables[0] = &dpe_schema;
	tables[1] = cache_hits_schema();
}

/* ---- opening ----------------------------------------------------------- */

static bool readable(const char *path)
{
	return access(path, R_OK) == 0 || errno == ENOENT;
}

/* Which of the file, its -wal and its -shm this user may not read. */
static void explain_permission(const char *path, char *message, size_t message_size)
{
	static const char *const suffixes[] = {"", "-wal", "-shm"};
	char file[4096];

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(file, sizeof(file), "%s%s", path, suffixes[i]);
		if (!readable(file)) {
			snprintf(message, message_size,
				 "permission denied: cannot read %s (the cache is readable by"
				 " root only, since command lines can hold secrets: run as root)",
				 file);
			return;
		}
	}
	snprintf(message, message_size,
		 "permission denied: cannot open %s read-only (a reader of a WAL"
		 " database also needs %s-shm)", path, path);
}

/* Before SQLite: a missing or unreadable file gets a precise message. */
static int check_file(const char *path, char *message, size_t message_size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	int error = errno;

	if (error == ENOENT)
		snprintf(message, message_size,
			 "no cache at %s (rmmhunt-agent creates cache.db in its --state-dir;"
			 " is this the agent's state directory?)", path);
	else if (error == EACCES || error == EPERM)
		explain_permission(path, message, message_size);
	else
		snprintf(message, message_size, "cannot open %s: %s", path, strerror(error));
	return -error;
}

/* A failed statement on the cache as a sentence naming the file. */
static int describe_failure(const struct cache_reader *reader, int code, char *message,
			    size_t message_size)
{
	int result = cache_sqlite_errno(code);

	if (result == -EACCES || result == -ENOENT) {
		explain_permission(reader->path, message, message_size);
		return -EACCES;
	}
	if ((code & 0xff) == SQLITE_NOTADB) {
		snprintf(message, message_size, "%s is not an rmmhunt cache: %s", reader->path,
			 sqlite3_errmsg(reader->db));
		return -EILSEQ;
	}
	snprintf(message, message_size, "cannot read the cache %s: %s", reader->path,
		 sqlite3_errmsg(reader->db));
	return result;
}

static int check_schema_version(struct cache_reader *reader, char *message,
				size_t message_size)
{
	sqlite3_stmt *statement = NULL;
	int code = sqlite3_prepare_v2(reader->db,
				      "SELECT Value FROM CacheMeta WHERE Key = 'schema_version'",
				      -1, &statement, NULL);

	if (code != SQLITE_OK) {
		int result = describe_failure(reader, code, message, message_size);

		if ((code & 0xff) == SQLITE_ERROR) {
			snprintf(message, message_size,
				 "%s is not an rmmhunt cache (%s)", reader->path,
				 sqlite3_errmsg(reader->db));
			result = -EILSEQ;
		}
		sqlite3_finalize(statement);
		return result;
	}
	code = sqlite3_step(statement);
	int64_t version = code == SQLITE_ROW ? sqlite3_column_int64(statement, 0) : 0;
	int result = code == SQLITE_ROW || code == SQLITE_DONE
			     ? 0
			     : describe_failure(reader, code, message, message_size);

	sqlite3_finalize(statement);
	if (result == 0 && version != CACHE_SCHEMA_VERSION) {
		snprintf(message, message_size,
			 "%s has cache schema version %lld; this rmmhunt reads version %d",
			 reader->path, (long long)version, CACHE_SCHEMA_VERSION);
		result = -EILSEQ;
	}
	return result;
}

/* Every column of the table must be there, by name. */
static int check_table(struct cache_reader *reader, const struct table_schema *schema,
		       char *message, size_t message_size)
{
	struct strbuf sql;
	sqlite3_stmt *statement = NULL;

	strbuf_init(&sql);
	strbuf_append_string(&sql, "SELECT rowid");
	for (size_t i = 0; i < schema->column_count; i++)
		strbuf_appendf(&sql, ", [%s]", schema->columns[i].name);
	strbuf_appendf(&sql, " FROM [%s] LIMIT 0", schema->name);
	if (sql.failed) {
		strbuf_free(&sql);
		return -ENOMEM;
	}
	int code = sqlite3_prepare_v2(reader->db, strbuf_text(&sql), -1, &statement, NULL);
	int result = 0;

	strbuf_free(&sql);
	if (code != SQLITE_OK) {
		snprintf(message, message_size, "%s is not an rmmhunt cache: table %s: %s",
			 reader->path, schema->name, sqlite3_errmsg(reader->db));
		result = (code & 0xff) == SQLITE_ERROR ? -EILSEQ : cache_sqlite_errno(code);
	}
	sqlite3_finalize(statement);
	return result;
}

int cache_reader_open(const char *path, struct cache_reader **out, char *message,
		      size_t message_size)
{
	const struct table_schema *tables[CACHE_TABLE_COUNT];
	struct cache_reader *reader;
	int result = check_file(path, message, message_size);

	if (result)
		return result;
	reader = calloc(1, sizeof(*reader));
	if (!reader || !(reader->path = strdup(path))) {
		free(reader);
		snprintf(message, message_size, "out of memory");
		return -ENOMEM;
	}
	int code = sqlite3_open_v2(path, &reader->db,
				   SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);

	if (code != SQLITE_OK) {
		result = reader->db ? describe_failure(reader, code, message, message_size)
				    : -ENOMEM;
		cache_reader_close(reader);
		return result;
	}
	sqlite3_busy_timeout(reader->db, CACHE_BUSY_TIMEOUT_MS);
	/* Read pages through a mapping, not a copy per page (bench_query.sh). */
	sqlite3_exec(reader->db, "PRAGMA mmap_size = " CACHE_READ_MMAP_BYTES, NULL, NULL, NULL);
	cache_tables(tables);
	result = check_schema_version(reader, message, message_size);
	for (size_t i = 0; i < CACHE_TABLE_COUNT && result == 0; i++)
		result = check_table(reader, tables[i], message, message_size);
	if (result) {
		cache_reader_close(reader);
		return result;
	}
	*out = reader;
	return 0;
}

void cache_reader_close(struct cache_reader *reader)
{
	if (!reader)
		return;
	sqlite3_close(reader->db);
	free(reader->path);
	free(reader);
}

/* ---- a scan -------------------------------------------------------------- */

static const char *index_name(const struct table_schema *schema)
{
	return strcmp(schema->name, CACHE_HITS_TABLE) == 0 ? CACHE_HITS_TABLE "_time"
							     : CACHE_EVENTS_TABLE "_time";
}

static void build_select(const struct cache_scan *scan, const struct table_schema *schema,
			 struct strbuf *sql)
{
	strbuf_append_string(sql, scan->by_time ? "SELECT rowid, Timestamp" : "SELECT rowid");
	for (size_t i = 0; i < scan->selected_count; i++)
		strbuf_appendf(sql, ", [%s]", schema->columns[scan->selected[i]].name);
	if (scan->by_time)
		strbuf_appendf(sql,
			       " FROM [%s] INDEXED BY [%s]"
			       " WHERE (Timestamp, rowid) > (?1, ?2) AND Timestamp <= ?3"
			       " AND rowid <= ?4 ORDER BY Timestamp, rowid LIMIT ?5",
			       schema->name, index_name(schema));
	else
		strbuf_appendf(sql,
			       " FROM [%s] NOT INDEXED WHERE rowid > ?2 AND rowid <= ?4%s"
			       " ORDER BY rowid LIMIT ?5",
			       schema->name,
			       scan->time_filter ? " AND Timestamp BETWEEN ?1 AND ?3" : "");
}

/*
 * The rows committed now are the scan's rows (rowid <= the largest).  A
 * Timestamp range goes through the index when it is selective: when it
 * covers less than half of the table's time span (assumed uniform), else a
 * table-order scan checks the range in SQLite, which reads the pages in
 * order instead of jumping between index and table for most rows.
 */
static int plan_scan(struct cache_scan *scan, const struct table_schema *schema,
		     int64_t low, int64_t high)
{
	char sql[200];
	int64_t bounds[2] = {0, -1};
	int code;

	snprintf(sql, sizeof(sql), "SELECT max(rowid) FROM [%s]", schema->name);
	code = cache_sqlite_read_numbers(scan->reader->db, sql, &scan->max_rowid, 1);
	if (code == SQLITE_OK && scan->time_filter) {
		snprintf(sql, sizeof(sql), "SELECT min(Timestamp), max(Timestamp) FROM [%s]",
			 schema->name);
		code = cache_sqlite_read_numbers(scan->reader->db, sql, bounds, 2);
	}
	if (code != SQLITE_OK)
		return describe_failure(scan->reader, code, scan->message, sizeof(scan->message));
	if (scan->time_filter && bounds[1] >= bounds[0]) {
		double span = (double)bounds[1] - (double)bounds[0] + 1;
		double covered = (double)(high < bounds[1] ? high : bounds[1]) -
				 (double)(low > bounds[0] ? low : bounds[0]) + 1;

		scan->by_time = covered < span / 2;
	}
	scan->key_count = scan->by_time ? 2 : 1;
	return 0;
}

static void release_dynamics(struct cache_scan *scan)
{
	for (size_t i = 0; scan->dynamics && i < scan->selected_count; i++) {
		json_decref(scan->dynamics[i]);
		scan->dynamics[i] = NULL;
	}
}

static void convert(struct cache_scan *scan, size_t selected, int result_column)
{
	sqlite3_stmt *statement = scan->statement;
	struct value *value = &scan->row[scan->selected[selected]];

	if (cache_sqlite_read_value(statement, result_column, value))
		return;
	/* dynamic: parsed, the reference held until the next row */
	if (sqlite3_column_type(statement, result_column) == SQLITE_NULL) {
		value->is_null = true;
		return;
	}
	const void *text = sqlite3_column_text(statement, result_column);

	value->dyn = json_loadb(text, (size_t)sqlite3_column_bytes(statement, result_column),
				JSON_DECODE_ANY, NULL);
	value->is_null = value->dyn == NULL;
	scan->dynamics[selected] = value->dyn;
}

static int start_chunk(struct cache_scan *scan)
{
	sqlite3_stmt *statement = scan->statement;

	sqlite3_bind_int64(statement, 1, scan->last_time);
	sqlite3_bind_int64(statement, 2, scan->last_rowid);
	sqlite3_bind_int64(statement, 3, scan->high);
	sqlite3_bind_int64(statement, 4, scan->max_rowid);
	sqlite3_bind_int64(statement, 5, (sqlite3_int64)scan->chunk_rows);
	scan->chunk_open = true;
	scan->rows_in_chunk = 0;
	return 0;
}

static void take_row(struct cache_scan *scan)
{
	sqlite3_stmt *statement = scan->statement;

	scan->rows_in_chunk++;
	scan->last_rowid = sqlite3_column_int64(statement, 0);
	if (scan->by_time)
		scan->last_time = sqlite3_column_int64(statement, 1);
	release_dynamics(scan);
	for (size_t i = 0; i < scan->selected_count; i++)
		convert(scan, i, scan->key_count + (int)i);
}

/* The chunk ended (code is what the last step said). */
static int end_chunk(struct cache_scan *scan, int code)
{
	sqlite3_reset(scan->statement); /* ends the read transaction */
	scan->chunk_open = false;
	if (code != SQLITE_DONE) {
		scan->finished = true;
		return describe_failure(scan->reader, code, scan->message, sizeof(scan->message));
	}
	scan->rows_read += scan->rows_in_chunk;
	if (scan->options.progress)
		scan->options.progress(scan->options.progress_context, scan->rows_in_chunk);
	if (scan->rows_in_chunk < scan->chunk_rows)
		scan->finished = true;
	return 0;
}

static int scan_next(void *context, const struct value **row)
{
	struct cache_scan *scan = context;

	for (;;) {
		if (scan->finished)
			return 0;
		if (!scan->chunk_open)
			start_chunk(scan);
		int code = sqlite3_step(scan->statement);

		if (code == SQLITE_ROW) {
			take_row(scan);
			*row = scan->row;
			return 1;
		}
		int result = end_chunk(scan, code);

		if (result)
			return result;
	}
}

static const char *scan_error_message(void *context)
{
	struct cache_scan *scan = context;

	return scan->message[0] ? scan->message : NULL;
}

/* Empty strings and nulls for every column; the used ones are selected. */
static int select_columns(struct cache_scan *scan, const struct kql_query *query,
			  const struct table_schema *schema)
{
	bool *used = calloc(schema->column_count, sizeof(*used));
	int result;

	scan->row = calloc(schema->column_count, sizeof(*scan->row));
	scan->selected = calloc(schema->column_count, sizeof(*scan->selected));
	scan->dynamics = calloc(schema->column_count, sizeof(*scan->dynamics));
	if (!used || !scan->row || !scan->selected || !scan->dynamics) {
		free(used);
		return -ENOMEM;
	}
	result = kql_query_columns_used(query, schema->name, used, schema->column_count);
	for (size_t i = 0; i < schema->column_count; i++) {
		scan->row[i].type = schema->columns[i].type;
		scan->row[i].is_null = schema->columns[i].type != VALUE_STRING;
		if (schema->columns[i].type == VALUE_STRING)
			scan->row[i].str = "";
		if (result == 0 && used[i])
			scan->selected[scan->selected_count++] = (int)i;
	}
	free(used);
	return 0;
}

static int prepare_scan(struct cache_scan *scan, const struct table_schema *schema)
{
	struct strbuf sql;

	strbuf_init(&sql);
	build_select(scan, schema, &sql);
	if (sql.failed) {
		strbuf_free(&sql);
		return -ENOMEM;
	}
	int code = sqlite3_prepare_v3(scan->reader->db, strbuf_text(&sql), -1,
				      SQLITE_PREPARE_PERSISTENT, &scan->statement, NULL);

	strbuf_free(&sql);
	if (code != SQLITE_OK)
		return describe_failure(scan->reader, code, scan->message, sizeof(scan->message));
	return 0;
}

int cache_scan_open(struct cache_reader *reader, const struct kql_query *query,
		    const struct table_schema *table, int64_t now,
		    const struct cache_scan_options *options, struct cache_scan **out,
		    char *message, size_t message_size)
{
	struct cache_scan *scan = calloc(1, sizeof(*scan));
	int64_t low = INT64_MIN, high = INT64_MAX;
	int result;

	if (!scan) {
		snprintf(message, message_size, "out of memory");
		return -ENOMEM;
	}
	scan->reader = reader;
	if (options)
		scan->options = *options;
	scan->chunk_rows = scan->options.chunk_rows ? scan->options.chunk_rows
						    : CACHE_SCAN_CHUNK_ROWS;
	if (kql_query_time_range(query, "Timestamp", now, &low, &high) == 0 &&
	    (low != INT64_MIN || high != INT64_MAX))
		scan->time_filter = true;
	scan->last_time = low;
	scan->last_rowid = INT64_MIN;
	scan->high = high;
	/* An empty range (low > high) reads nothing. */
	scan->finished = low > high;
	result = select_columns(scan, query, table);
	if (result == 0)
		result = plan_scan(scan, table, low, high);
	if (result == 0)
		result = prepare_scan(scan, table);
	if (result) {
		snprintf(message, message_size, "%s",
			 scan->message[0] ? scan->message : strerror(-result));
		cache_scan_close(scan);
		return result;
	}
	scan->source.schema = table;
	scan->source.next = scan_next;
	scan->source.error_message = scan_error_message;
	scan->source.context = scan;
	*out = scan;
	return 0;
}

const struct kql_source *cache_scan_source(struct cache_scan *scan)
{
	return &scan->source;
}

uint64_t cache_scan_rows_read(const struct cache_scan *scan)
{
	return scan->rows_read;
}

bool cache_scan_uses_time_index(const struct cache_scan *scan)
{
	return scan->by_time;
}

void cache_scan_close(struct cache_scan *scan)
{
	if (!scan)
		return;
	release_dynamics(scan);
	sqlite3_finalize(scan->statement);
	free(scan->row);
	free(scan->selected);
	free(scan->dynamics);
	free(scan);
}

/* ---- running a query ---------------------------------------------------- */

int cache_execute(struct cache_reader *reader, struct kql_query *query, int64_t now,
		  const struct cache_scan_options *options, struct kql_table **result,
		  struct kql_error *error)
{
	const struct table_schema *tables[CACHE_TABLE_COUNT];
	struct cache_scan *scans[CACHE_TABLE_COUNT] = {NULL};
	struct kql_source sources[CACHE_TABLE_COUNT];
	size_t source_count = 0;
	int status = 0;

	memset(error, 0, sizeof(*error));
	cache_tables(tables);
	for (size_t i = 0; i < CACHE_TABLE_COUNT && status == 0; i++) {
		bool used[CACHE_HIT_COLUMN_COUNT + DPE_COLUMN_COUNT];

		/* -ENOENT: the query does not read this table. */
		if (kql_query_columns_used(query, tables[i]->name, used,
					   tables[i]->column_count) != 0)
			continue;
		status = cache_scan_open(reader, query, tables[i], now, options,
					 &scans[source_count], error->message,
					 sizeof(error->message));
		if (status == 0) {
			sources[source_count] = *cache_scan_source(scans[source_count]);
			source_count++;
		}
	}
	if (status == 0)
		status = kql_execute(query, sources, source_count, now, result, error);
	else
		error->kind = status == -ENOMEM ? KQL_ERROR_NOMEM : KQL_ERROR_RUNTIME;
	for (size_t i = 0; i < source_count; i++)
		cache_scan_close(scans[i]);
	return status;
}
