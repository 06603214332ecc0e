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
 * A schema-6 cache keeps DeviceProcessEvents in the compact layout
 * (cache_layout.h): the SELECT reads Events and joins only the
 * dictionaries the used columns live in, and a term on a column of a small
 * dictionary is decided once per dictionary row (a semi-join, evaluated
 * once per chunk) instead of once per record.
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

#include "store/cache_layout.h"
#include "store/cache_schema.h"
#include "store/cache_source.h"
#include "store/cache_sqlite.h"
#include "store/store_query.h"
#include "base/strbuf.h"

#define CACHE_BUSY_TIMEOUT_MS 5000
#define CACHE_SCAN_MAX_TERMS 8
#define CACHE_READ_MMAP_BYTES "1073741824"
/*
 * A term becomes a semi-join on a dictionary of at most chunk / this rows:
 * the IN list costs one pass over the dictionary a chunk, the check per
 * row a join and a match a record.  Half (a quarter until schema 5, whose
 * Files has about twice the rows: the process's with the file's facts, the
 * initiating process's without): the RPort rule over 200,000 gen_records
 * records took 1.89x main's instructions with a quarter, 1.01x with half.
 */
#define SEMI_JOIN_CHUNK_SHARE 2

struct cache_reader {
	sqlite3 *db;
	char *path;
	bool compact; /* schema 6: the layout of cache_layout.h, read directly */
	bool blocks; /* schema 6: times from EventBlocks, no Timestamp index */
	bool view; /* schema 2 to 4: DeviceProcessEvents is the file's own view */
};

struct cache_scan {
	struct kql_source source;
	sqlite3 *db;
	const char *path; /* for messages */
	sqlite3_stmt *statement;
	struct value *row; /* schema->column_count values */
	int *selected; /* result column (after the keys) -> schema column */
	size_t selected_count;
	int key_count; /* leading key columns: rowid [, Timestamp] */
	bool by_time; /* chunks follow the Timestamp index */
	bool time_filter; /* a Timestamp range checked in a table-order scan */
	/* terms every row must contain, checked by SQLite (?6...) */
	char *term_sql[CACHE_SCAN_MAX_TERMS]; /* a pattern or a text to bind */
	const char *term_column[CACHE_SCAN_MAX_TERMS];
	bool term_exact[CACHE_SCAN_MAX_TERMS]; /* instr() rather than LIKE */
	int term_column_index[CACHE_SCAN_MAX_TERMS];
	int term_semi_join[CACHE_SCAN_MAX_TERMS]; /* compact: a use, or -1 */
	size_t term_count;
	bool compact; /* the table is the compact layout's view */
	bool blocks; /* compact, a time range read from the Ids of its blocks */
	bool view; /* the table is an older compact file's view: no index */
	bool narrowed; /* the block summary narrowed the Ids read */
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
static int describe_failure(sqlite3 *db, const char *path, int code, char *message,
			    size_t message_size)
{
	int result = cache_sqlite_errno(code);

	if (result == -EACCES || result == -ENOENT) {
		explain_permission(path, message, message_size);
		return -EACCES;
	}
	if ((code & 0xff) == SQLITE_NOTADB) {
		snprintf(message, message_size, "%s is not an rmmhunt cache: %s", path,
			 sqlite3_errmsg(db));
		return -EILSEQ;
	}
	snprintf(message, message_size, "cannot read %s: %s", path, sqlite3_errmsg(db));
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
		int result = describe_failure(reader->db, reader->path, code, message, message_size);

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
			     : describe_failure(reader->db, reader->path, code, message, message_size);

	sqlite3_finalize(statement);
	if (result == 0 && (version < CACHE_SCHEMA_FLAT_VERSION || version > CACHE_SCHEMA_VERSION)) {
		snprintf(message, message_size,
			 "%s has cache schema version %lld; this rmmhunt reads versions %d to %d",
			 reader->path, (long long)version, CACHE_SCHEMA_FLAT_VERSION,
			 CACHE_SCHEMA_VERSION);
		result = -EILSEQ;
	}
	/* an older compact file is read through its own view, which gives
	 * the 68 columns as the file's layout stores them */
	reader->compact = version == CACHE_SCHEMA_VERSION;
	reader->blocks = version == CACHE_SCHEMA_VERSION;
	reader->view = version >= CACHE_SCHEMA_INDEXED_VERSION && version < CACHE_SCHEMA_VERSION;
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
		result = reader->db ? describe_failure(reader->db, reader->path, code, message, message_size)
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

/* A term on the compact layout: over the column's expression, or as
 * "e.Ref IN (SELECT Id FROM Dictionary WHERE field LIKE ...)". */
static void append_compact_term(const struct cache_scan *scan, size_t i, struct strbuf *sql)
{
	int use = scan->term_semi_join[i];
	struct strbuf operand;

	strbuf_init(&operand);
	if (use >= 0) {
		int found = -1;
		const char *field = NULL;

		cache_layout_semi_join(scan->term_column_index[i], &found, &field);
		strbuf_appendf(sql, " AND e.%s IN (SELECT Id FROM %s WHERE ", layout_uses[use].reference,
			       layout_dictionaries[layout_uses[use].dictionary].table);
		strbuf_append_string(&operand, field);
	} else {
		strbuf_append_string(sql, " AND ");
		cache_layout_append_column(&operand, scan->term_column_index[i]);
	}
	if (scan->term_exact[i])
		strbuf_appendf(sql, "instr(%s, ?%zu) > 0", strbuf_text(&operand), 6 + i);
	else
		strbuf_appendf(sql, "%s LIKE ?%zu ESCAPE '\\'", strbuf_text(&operand), 6 + i);
	if (use >= 0)
		strbuf_append_char(sql, ')');
	if (operand.failed)
		sql->failed = true;
	strbuf_free(&operand);
}

/* " AND [column] LIKE ?6 ESCAPE '\\' AND instr([column], ?7) > 0 ..." */
static void append_terms(const struct cache_scan *scan, struct strbuf *sql)
{
	for (size_t i = 0; i < scan->term_count; i++) {
		if (scan->compact) {
			append_compact_term(scan, i, sql);
			continue;
		}
		if (scan->term_exact[i])
			strbuf_appendf(sql, " AND instr([%s], ?%zu) > 0", scan->term_column[i], 6 + i);
		else
			strbuf_appendf(sql, " AND [%s] LIKE ?%zu ESCAPE '\\'", scan->term_column[i],
				       6 + i);
	}
}

/* The compact layout: Events and the dictionaries the query needs. */
static void build_compact_select(const struct cache_scan *scan, struct strbuf *sql)
{
	uint32_t uses = 0;

	strbuf_append_string(sql, scan->by_time ? "SELECT e.Id, e.Timestamp" : "SELECT e.Id");
	for (size_t i = 0; i < scan->selected_count; i++) {
		strbuf_append_string(sql, ", ");
		cache_layout_append_column(sql, scan->selected[i]);
		uses |= cache_layout_column_uses(scan->selected[i]);
	}
	for (size_t i = 0; i < scan->term_count; i++)
		if (scan->term_semi_join[i] < 0)
			uses |= cache_layout_column_uses(scan->term_column_index[i]);
	strbuf_append_string(sql, " FROM " CACHE_LAYOUT_EVENTS_TABLE " AS e");
	strbuf_append_string(sql, scan->by_time ? " INDEXED BY Events_time" : " NOT INDEXED");
	cache_layout_append_joins(sql, uses);
	if (scan->by_time)
		strbuf_append_string(sql, " WHERE (e.Timestamp, e.Id) > (?1, ?2) AND e.Timestamp <= ?3"
					  " AND e.Id <= ?4");
	else
		strbuf_appendf(sql, " WHERE e.Id > ?2 AND e.Id <= ?4%s",
			       scan->time_filter ? " AND e.Timestamp BETWEEN ?1 AND ?3" : "");
	append_terms(scan, sql);
	strbuf_append_string(sql, scan->by_time ? " ORDER BY e.Timestamp, e.Id LIMIT ?5"
						: " ORDER BY e.Id LIMIT ?5");
}

static void build_select(const struct cache_scan *scan, const struct table_schema *schema,
			 struct strbuf *sql)
{
	if (scan->compact) {
		build_compact_select(scan, sql);
		return;
	}
	strbuf_append_string(sql, scan->by_time ? "SELECT rowid, Timestamp" : "SELECT rowid");
	for (size_t i = 0; i < scan->selected_count; i++)
		strbuf_appendf(sql, ", [%s]", schema->columns[scan->selected[i]].name);
	if (scan->by_time)
		strbuf_appendf(sql,
			       " FROM [%s] INDEXED BY [%s_time]"
			       " WHERE (Timestamp, rowid) > (?1, ?2) AND Timestamp <= ?3"
			       " AND rowid <= ?4",
			       schema->name, schema->name);
	else
		strbuf_appendf(sql, " FROM [%s]%s WHERE rowid > ?2 AND rowid <= ?4%s",
			       schema->name, scan->view ? "" : " NOT INDEXED",
			       scan->time_filter ? " AND Timestamp BETWEEN ?1 AND ?3" : "");
	append_terms(scan, sql);
	strbuf_append_string(sql, scan->by_time ? " ORDER BY Timestamp, rowid LIMIT ?5"
						: " ORDER BY rowid LIMIT ?5");
}

/*
 * A case-insensitive term as a LIKE pattern that every value the engine
 * would match also matches: SQLite's LIKE folds ASCII letters only, the
 * engine folds by Unicode, where the Kelvin sign folds to 'k' and the long
 * s to 's', so those two letters become '_' (any one character).  A term
 * with other characters than ASCII is not pushed down (NULL, *skipped).
 */
static char *like_pattern(const char *text, size_t length, bool *skipped)
{
	char *pattern = malloc(2 * length + 3), *out = pattern;

	*skipped = false;
	if (!pattern)
		return NULL;
	*out++ = '%';
	for (size_t i = 0; i < length; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c >= 0x80 || c == 0) {
			free(pattern);
			*skipped = true;
			return NULL;
		}
		if (c == 'k' || c == 'K' || c == 's' || c == 'S') {
			*out++ = '_';
			continue;
		}
		if (c == '%' || c == '_' || c == '\\')
			*out++ = '\\';
		*out++ = (char)c;
	}
	*out++ = '%';
	*out = '\0';
	return pattern;
}

/*
 * The dictionary use a term on column is decided in (compact layout), when
 * the dictionary is small against a chunk: its IN list is made once per
 * chunk.  -1: the term is checked per record.
 */
static int semi_join_use(const struct cache_scan *scan, int column)
{
	const char *field = NULL;
	int64_t rows = 0;
	char sql[160];
	int use = -1;

	if (!scan->compact || !cache_layout_semi_join(column, &use, &field))
		return -1;
	snprintf(sql, sizeof(sql), "SELECT max(Id) FROM %s",
		 layout_dictionaries[layout_uses[use].dictionary].table);
	if (cache_sqlite_read_numbers(scan->db, sql, &rows, 1) != SQLITE_OK)
		return -1;
	return rows <= (int64_t)(scan->chunk_rows / SEMI_JOIN_CHUNK_SHARE) ? use : -1;
}

/*
 * The query's required terms (kql_query_required_terms) on string columns,
 * as conditions SQLite checks before a row is handed out: rows that cannot
 * match never reach the engine, which still decides on the others.
 */
static int plan_terms(struct cache_scan *scan, const struct kql_query *query,
		      const struct table_schema *schema)
{
	struct kql_required_term terms[CACHE_SCAN_MAX_TERMS];
	int count = kql_query_required_terms(query, terms, CACHE_SCAN_MAX_TERMS);

	for (int i = 0; i < count; i++) {
		size_t n = scan->term_count;
		bool skipped = false;

		if (terms[i].column >= schema->column_count ||
		    schema->columns[terms[i].column].type != VALUE_STRING ||
		    memchr(terms[i].text, '\0', terms[i].length))
			continue;
		scan->term_exact[n] = terms[i].case_sensitive;
		scan->term_sql[n] = terms[i].case_sensitive
					    ? strndup(terms[i].text, terms[i].length)
					    : like_pattern(terms[i].text, terms[i].length, &skipped);
		if (skipped)
			continue;
		if (!scan->term_sql[n])
			return -ENOMEM;
		scan->term_column[n] = schema->columns[terms[i].column].name;
		scan->term_column_index[n] = (int)terms[i].column;
		scan->term_semi_join[n] = semi_join_use(scan, (int)terms[i].column);
		scan->term_count++;
	}
	return 0;
}

/*
 * Schemas 3 to 5: the Ids of the blocks whose Timestamps overlap [low, high]
 * bound the table-order scan (which checks the range per row); no block:
 * nothing to read.
 */
static int plan_blocks(struct cache_scan *scan, int64_t low, int64_t high)
{
	sqlite3_stmt *statement = NULL;
	int64_t first_id = 0, smallest = 0;
	int code = cache_sqlite_read_numbers(scan->db, "SELECT min(Id) FROM " CACHE_LAYOUT_EVENTS_TABLE,
					     &smallest, 1);

	if (code == SQLITE_OK)
		code = sqlite3_prepare_v2(scan->db, CACHE_LAYOUT_BLOCKS_RANGE, -1, &statement, NULL);
	if (code == SQLITE_OK) {
		sqlite3_bind_int64(statement, 1, low);
		sqlite3_bind_int64(statement, 2, high);
		code = sqlite3_step(statement);
	}
	if (code == SQLITE_ROW && sqlite3_column_type(statement, 0) == SQLITE_NULL) {
		scan->finished = true;
		scan->narrowed = true;
	} else if (code == SQLITE_ROW) {
		int64_t last_id = sqlite3_column_int64(statement, 1);

		first_id = sqlite3_column_int64(statement, 0);
		scan->narrowed = first_id > smallest || last_id < scan->max_rowid;
		if (first_id > scan->last_rowid)
			scan->last_rowid = first_id - 1;
		if (last_id < scan->max_rowid)
			scan->max_rowid = last_id;
	}
	sqlite3_finalize(statement);
	if (code != SQLITE_ROW && code != SQLITE_OK)
		return describe_failure(scan->db, scan->path, code, scan->message, sizeof(scan->message));
	return 0;
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

	const char *table = scan->compact ? CACHE_LAYOUT_EVENTS_TABLE : schema->name;

	snprintf(sql, sizeof(sql), "SELECT max(rowid) FROM [%s]", table);
	code = cache_sqlite_read_numbers(scan->db, sql, &scan->max_rowid, 1);
	if (code == SQLITE_OK && scan->time_filter && scan->blocks) {
		scan->key_count = 1;
		return plan_blocks(scan, low, high);
	}
	if (code == SQLITE_OK && scan->time_filter && !scan->view) {
		snprintf(sql, sizeof(sql), "SELECT min(Timestamp), max(Timestamp) FROM [%s]", table);
		code = cache_sqlite_read_numbers(scan->db, sql, bounds, 2);
	}
	if (code != SQLITE_OK)
		return describe_failure(scan->db, scan->path, code, scan->message, sizeof(scan->message));
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
		return describe_failure(scan->db, scan->path, code, scan->message, sizeof(scan->message));
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
	int code = sqlite3_prepare_v3(scan->db, strbuf_text(&sql), -1,
				      SQLITE_PREPARE_PERSISTENT, &scan->statement, NULL);

	strbuf_free(&sql);
	if (code != SQLITE_OK)
		return describe_failure(scan->db, scan->path, code, scan->message, sizeof(scan->message));
	/* bindings outlive sqlite3_reset: the terms are bound once */
	for (size_t i = 0; i < scan->term_count; i++)
		sqlite3_bind_text(scan->statement, (int)(6 + i), scan->term_sql[i], -1,
				  SQLITE_STATIC);
	return 0;
}

static int open_scan(sqlite3 *db, const char *path, const struct cache_reader *layout,
		     const struct kql_query *query, const struct table_schema *table, int64_t now,
		     const struct cache_scan_options *options, struct cache_scan **out,
		     char *message, size_t message_size);

int cache_scan_open(struct cache_reader *reader, const struct kql_query *query,
		    const struct table_schema *table, int64_t now,
		    const struct cache_scan_options *options, struct cache_scan **out,
		    char *message, size_t message_size)
{
	return open_scan(reader->db, reader->path, table == &dpe_schema ? reader : NULL, query,
			 table, now, options, out, message, message_size);
}

/*
 * The layout of db's DeviceProcessEvents, from its schema: a view is the
 * compact layout, with the block summary when EventBlocks is there.
 */
static void detect_layout(sqlite3 *db, struct cache_reader *layout)
{
	int64_t found[2] = {0, 0};

	if (cache_sqlite_read_numbers(db,
				      "SELECT (SELECT count(*) FROM sqlite_master WHERE type = 'view'"
				      " AND name = '" CACHE_EVENTS_TABLE "'), (SELECT count(*) FROM"
				      " sqlite_master WHERE type = 'table' AND name = '"
				      CACHE_LAYOUT_BLOCKS_TABLE "')",
				      found, 2) != SQLITE_OK)
		found[0] = found[1] = 0;
	layout->db = db;
	layout->compact = found[0] > 0;
	layout->blocks = layout->compact && found[1] > 0;
}

int cache_scan_open_db(sqlite3 *db, const char *path, const struct kql_query *query,
		       const struct table_schema *table, int64_t now,
		       const struct cache_scan_options *options, struct cache_scan **out,
		       char *message, size_t message_size)
{
	struct cache_reader layout = {0};

	if (table == &dpe_schema)
		detect_layout(db, &layout);
	return open_scan(db, path, table == &dpe_schema ? &layout : NULL, query, table, now,
			 options, out, message, message_size);
}

static int open_scan(sqlite3 *db, const char *path, const struct cache_reader *layout,
		     const struct kql_query *query, const struct table_schema *table, int64_t now,
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
	scan->db = db;
	scan->path = path;
	scan->compact = layout && layout->compact;
	scan->blocks = layout && layout->blocks;
	scan->view = layout && layout->view;
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
		result = plan_terms(scan, query, table);
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
	return scan->by_time || scan->narrowed;
}

void cache_scan_close(struct cache_scan *scan)
{
	if (!scan)
		return;
	release_dynamics(scan);
	sqlite3_finalize(scan->statement);
	for (size_t i = 0; i < scan->term_count; i++)
		free(scan->term_sql[i]);
	free(scan->row);
	free(scan->selected);
	free(scan->dynamics);
	free(scan);
}

/* ---- running a query ---------------------------------------------------- */

struct cache_table_context {
	struct cache_reader *reader;
	const struct cache_scan_options *options;
};

static int open_cache_table(void *context, const struct kql_query *query,
			    const struct table_schema *table, int64_t now,
			    struct kql_source *source, void **handle, char *message,
			    size_t message_size)
{
	struct cache_table_context *cache = context;
	struct cache_scan *scan = NULL;
	int result = cache_scan_open(cache->reader, query, table, now, cache->options, &scan,
				     message, message_size);

	if (result == 0) {
		*source = *cache_scan_source(scan);
		*handle = scan;
	}
	return result;
}

static void close_cache_table(void *handle)
{
	cache_scan_close(handle);
}

int cache_execute(struct cache_reader *reader, struct kql_query *query, int64_t now,
		  const struct cache_scan_options *options, struct kql_table **result,
		  struct kql_error *error)
{
	const struct table_schema *schemas[CACHE_TABLE_COUNT];
	struct cache_table_context context = {reader, options};
	struct store_table tables[CACHE_TABLE_COUNT];

	cache_tables(schemas);
	for (size_t i = 0; i < CACHE_TABLE_COUNT; i++)
		tables[i] = (struct store_table){schemas[i], open_cache_table, close_cache_table,
						 &context};
	return store_execute(tables, CACHE_TABLE_COUNT, query, now, result, error);
}
