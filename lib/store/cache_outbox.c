/*
 * cache_outbox.c - reading the cache after the shipper's cursors (see
 * cache_outbox.h).
 *
 * Every call is one statement (or, for the state, one explicit read
 * transaction), reset before it returns: no snapshot outlives a call.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "base/strbuf.h"
#include "store/cache_outbox.h"
#include "store/cache_schema.h"
#include "store/cache_sqlite.h"

#define OUTBOX_BUSY_TIMEOUT_MS 5000

/* The leading columns of each kind's SELECT, before the record's. */
#define HIT_LEADING_COLUMNS (1 + CACHE_HIT_COLUMN_COUNT)

enum outbox_statement {
	READ_RECORDS,
	READ_HITS,
	READ_SUMMARIES,
	FIRST_RECORD,
	FIRST_HIT,
	FIRST_SUMMARY,
	COUNT_RECORDS,
	COUNT_HITS,
	COUNT_SUMMARIES,
	OUTBOX_STATEMENT_COUNT
};

struct cache_outbox {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *statements[OUTBOX_STATEMENT_COUNT];
	struct cache_outbox_row row;
	char message[512];
};

static void append_record_columns(struct strbuf *sql)
{
	for (int i = 0; i < DPE_COLUMN_COUNT; i++)
		strbuf_appendf(sql, ", \"%s\"", dpe_columns[i].name);
}

static void build_reads(struct strbuf sql[3])
{
	strbuf_append_string(&sql[0], "SELECT rowid");
	append_record_columns(&sql[0]);
	strbuf_append_string(&sql[0], " FROM " CACHE_EVENTS_TABLE
				      " WHERE rowid > ?1 ORDER BY rowid LIMIT ?2");
	strbuf_append_string(&sql[1], "SELECT HitId, RuleId, RuleName, Tactics, Techniques");
	append_record_columns(&sql[1]);
	strbuf_append_string(&sql[1], " FROM " CACHE_HITS_TABLE
				      " WHERE HitId > ?1 ORDER BY HitId LIMIT ?2");
	strbuf_append_string(&sql[2], "SELECT Sequence, RuleId, RuleName, UpdatedTicks, Columns,"
				      " SummaryJson FROM " CACHE_SUMMARIES_TABLE
				      " WHERE Sequence > ?1 ORDER BY Sequence LIMIT ?2");
}

static int prepare(struct cache_outbox *outbox)
{
	static const char *const fixed[OUTBOX_STATEMENT_COUNT] = {
		[FIRST_RECORD] = "SELECT rowid, Timestamp FROM " CACHE_EVENTS_TABLE
				 " WHERE rowid > ? ORDER BY rowid LIMIT 1",
		[FIRST_HIT] = "SELECT HitId, Timestamp FROM " CACHE_HITS_TABLE
			      " WHERE HitId > ? ORDER BY HitId LIMIT 1",
		[FIRST_SUMMARY] = "SELECT Sequence, UpdatedTicks FROM " CACHE_SUMMARIES_TABLE
				  " WHERE Sequence > ? ORDER BY Sequence LIMIT 1",
		[COUNT_RECORDS] = "SELECT count(*) FROM " CACHE_EVENTS_TABLE " WHERE rowid > ?",
		[COUNT_HITS] = "SELECT count(*) FROM " CACHE_HITS_TABLE " WHERE HitId > ?",
		[COUNT_SUMMARIES] = "SELECT count(*) FROM " CACHE_SUMMARIES_TABLE
				    " WHERE Sequence > ?",
	};
	struct strbuf reads[3];
	int code = SQLITE_OK;

	for (int i = 0; i < 3; i++)
		strbuf_init(&reads[i]);
	build_reads(reads);
	for (int i = 0; i < OUTBOX_STATEMENT_COUNT && code == SQLITE_OK; i++) {
		const char *sql = i <= READ_SUMMARIES ? strbuf_text(&reads[i]) : fixed[i];

		code = sqlite3_prepare_v3(outbox->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
					  &outbox->statements[i], NULL);
	}
	for (int i = 0; i < 3; i++) {
		if (reads[i].failed)
			code = SQLITE_NOMEM;
		strbuf_free(&reads[i]);
	}
	return code;
}

static int fail(struct cache_outbox *outbox, int code)
{
	snprintf(outbox->message, sizeof(outbox->message), "cannot read the cache %s: %s",
		 outbox->path, sqlite3_errmsg(outbox->db));
	return cache_sqlite_errno(code) ? cache_sqlite_errno(code) : -EIO;
}

int cache_outbox_open(const char *path, struct cache_outbox **out, char *message,
		      size_t message_size)
{
	struct cache_outbox *outbox = calloc(1, sizeof(*outbox));
	int code;

	if (!outbox || !(outbox->path = strdup(path))) {
		free(outbox);
		snprintf(message, message_size, "out of memory");
		return -ENOMEM;
	}
	record_init(&outbox->row.record);
	code = sqlite3_open_v2(path, &outbox->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
			       NULL);
	if (code == SQLITE_OK) {
		sqlite3_busy_timeout(outbox->db, OUTBOX_BUSY_TIMEOUT_MS);
		code = prepare(outbox);
	}
	if (code != SQLITE_OK) {
		int result = outbox->db ? fail(outbox, code) : -ENOMEM;

		snprintf(message, message_size, "%s", outbox->message[0] ? outbox->message
									 : "out of memory");
		cache_outbox_close(outbox);
		return result;
	}
	*out = outbox;
	return 0;
}

void cache_outbox_close(struct cache_outbox *outbox)
{
	if (!outbox)
		return;
	for (int i = 0; i < OUTBOX_STATEMENT_COUNT; i++)
		sqlite3_finalize(outbox->statements[i]);
	sqlite3_close(outbox->db);
	record_free(&outbox->row.record);
	free(outbox->path);
	free(outbox);
}

const char *cache_outbox_error(const struct cache_outbox *outbox)
{
	return outbox->message;
}

/* One number from a one-row query; *value stays when it is NULL. */
static int read_number(struct cache_outbox *outbox, const char *sql, int64_t *value)
{
	int code = cache_sqlite_read_numbers(outbox->db, sql, value, 1);

	return code == SQLITE_OK ? 0 : fail(outbox, code);
}

static int64_t larger(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

int cache_outbox_read_state(struct cache_outbox *outbox, struct cache_outbox_state *state)
{
	static const char *const meta_sql =
		"SELECT Value FROM CacheMeta WHERE Key = '%s'";
	static const char *const keys[3] = {CACHE_META_RECORD_SEQUENCE, CACHE_META_HIT_SEQUENCE,
					    CACHE_META_SUMMARY_SEQUENCE};
	static const char *const largest[3] = {
		"SELECT max(rowid) FROM " CACHE_EVENTS_TABLE,
		"SELECT max(HitId) FROM " CACHE_HITS_TABLE,
		"SELECT max(Sequence) FROM " CACHE_SUMMARIES_TABLE,
	};
	int64_t marks[3] = {0, 0, 0};
	char sql[128];
	int result;

	memset(state, 0, sizeof(*state));
	result = cache_sqlite_errno(sqlite3_exec(outbox->db, "BEGIN", NULL, NULL, NULL));
	if (result)
		return fail(outbox, SQLITE_ERROR);
	snprintf(sql, sizeof(sql), meta_sql, CACHE_META_CACHE_ID);
	result = read_number(outbox, sql, &state->cache_id);
	for (int i = 0; i < 3 && result == 0; i++) {
		int64_t meta = 0, table = 0;

		snprintf(sql, sizeof(sql), meta_sql, keys[i]);
		result = read_number(outbox, sql, &meta);
		if (result == 0)
			result = read_number(outbox, largest[i], &table);
		marks[i] = larger(meta, table);
	}
	sqlite3_exec(outbox->db, "COMMIT", NULL, NULL, NULL);
	state->high_water.records = marks[0];
	state->high_water.hits = marks[1];
	state->high_water.summaries = marks[2];
	return result;
}

static void take_record_columns(struct cache_outbox *outbox, sqlite3_stmt *statement, int first)
{
	for (int i = 0; i < DPE_COLUMN_COUNT; i++)
		cache_sqlite_read_value(statement, first + i, &outbox->row.record.values[i]);
}

static const char *text_column(sqlite3_stmt *statement, int column)
{
	const unsigned char *text = sqlite3_column_text(statement, column);

	return text ? (const char *)text : "";
}

static void take_row(struct cache_outbox *outbox, enum cache_outbox_kind kind,
		     sqlite3_stmt *statement)
{
	struct cache_outbox_row *row = &outbox->row;

	row->sequence = sqlite3_column_int64(statement, 0);
	switch (kind) {
	case CACHE_OUTBOX_RECORDS:
		take_record_columns(outbox, statement, 1);
		break;
	case CACHE_OUTBOX_HITS:
		row->rule_id = text_column(statement, 1);
		row->rule_name = text_column(statement, 2);
		row->tactics = text_column(statement, 3);
		row->techniques = text_column(statement, 4);
		take_record_columns(outbox, statement, HIT_LEADING_COLUMNS);
		break;
	default:
		row->rule_id = text_column(statement, 1);
		row->rule_name = text_column(statement, 2);
		row->updated_ticks = sqlite3_column_int64(statement, 3);
		row->columns_json = text_column(statement, 4);
		row->rows_json = text_column(statement, 5);
		break;
	}
}

int cache_outbox_read(struct cache_outbox *outbox, enum cache_outbox_kind kind, int64_t after,
		      size_t limit, cache_outbox_visit visit, void *context)
{
	sqlite3_stmt *statement = outbox->statements[READ_RECORDS + kind];
	int code, result = 0;

	sqlite3_bind_int64(statement, 1, after);
	sqlite3_bind_int64(statement, 2, (sqlite3_int64)limit);
	while ((code = sqlite3_step(statement)) == SQLITE_ROW) {
		take_row(outbox, kind, statement);
		result = visit(context, &outbox->row);
		if (result)
			break;
	}
	if (result == 0 && code != SQLITE_DONE)
		result = fail(outbox, code);
	sqlite3_reset(statement);
	return result < 0 ? result : 0;
}

int cache_outbox_first_after(struct cache_outbox *outbox, enum cache_outbox_kind kind,
			     int64_t after, int64_t *sequence, int64_t *timestamp)
{
	sqlite3_stmt *statement = outbox->statements[FIRST_RECORD + kind];
	int code;

	*sequence = 0;
	*timestamp = 0;
	sqlite3_bind_int64(statement, 1, after);
	code = sqlite3_step(statement);
	if (code == SQLITE_ROW) {
		*sequence = sqlite3_column_int64(statement, 0);
		*timestamp = sqlite3_column_int64(statement, 1);
	}
	sqlite3_reset(statement);
	return code == SQLITE_ROW || code == SQLITE_DONE ? 0 : fail(outbox, code);
}

int cache_outbox_count_after(struct cache_outbox *outbox, enum cache_outbox_kind kind,
			     int64_t after, int64_t *count)
{
	sqlite3_stmt *statement = outbox->statements[COUNT_RECORDS + kind];
	int code;

	*count = 0;
	sqlite3_bind_int64(statement, 1, after);
	code = sqlite3_step(statement);
	if (code == SQLITE_ROW)
		*count = sqlite3_column_int64(statement, 0);
	sqlite3_reset(statement);
	return code == SQLITE_ROW ? 0 : fail(outbox, code);
}

int cache_outbox_cache_facts(struct cache_outbox *outbox, int64_t *records,
			     int64_t *oldest_ticks)
{
	int result;

	*records = 0;
	*oldest_ticks = 0;
	result = read_number(outbox, "SELECT count(*) FROM " CACHE_EVENTS_TABLE, records);
	if (result == 0)
		result = read_number(outbox, "SELECT min(Timestamp) FROM " CACHE_EVENTS_TABLE,
				     oldest_ticks);
	return result;
}
