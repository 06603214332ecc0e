/*
 * store_sqlite.c - the collector's store in one SQLite file (WAL): the
 * embedded default backend of store.h.
 *
 * Tables (column names are the Kusto names, values stored as the local
 * cache stores them, so lib/store's row source reads both):
 *
 *   Events, Files, ...   the records in the local cache's compact layout
 *                        (lib/store/cache_layout.h, written through
 *                        cache_compact.h): one set of dictionaries for the
 *                        whole fleet, so a file version seen on 1000 hosts
 *                        is stored once; DeviceProcessEvents is its view;
 *                        EventBlocks, the Timestamps per block of Ids (no
 *                        Timestamp index: time ranges and retention by age
 *                        go by Id, the order records arrived in)
 *   DeviceNumbers        a small number per DeviceId
 *   Reports              Events.Id -> (device number, ReportId), unique:
 *                        a record stored again is a duplicate; a trigger
 *                        deletes the row with its Events row
 *   RuleHits             rowid, RuleId, RuleName, Tactics, Techniques, the
 *                        68 columns; unique (DeviceId, RuleId, ReportId)
 *   RuleSummaries        rowid, DeviceId, DeviceName, RuleId, RuleName,
 *                        FirstSeen, LastSeen, Report (JSON), Count
 *   SummaryVersions      (DeviceId, RuleId) -> Updated of the rows kept
 *   Devices              one row per device: key hash, revoked, contact,
 *                        the latest heartbeat
 *   CollectorMeta        schema version, retention counters
 *
 * One writer connection behind a mutex: a batch is one transaction
 * (BEGIN IMMEDIATE ... COMMIT, ROLLBACK on any error).  Readers: a pool of
 * read-only connections; a query holds one for its run, reading in short
 * chunks (cache_source.c), so checkpoints are never held back for long.
 * The file is 0600: command lines can hold secrets.
 *
 * Schema 1 (a flat 68-column DeviceProcessEvents table) is converted to
 * schema 4 when the store opens, in one transaction: every record keeps its
 * rowid as its Events Id, and its (DeviceId, ReportId) in Reports.  Schemas
 * 2 and 3 (the layouts of cache schemas 4 and 5) are converted the cache's
 * way: their Events and Processes set aside, every record written again
 * with its Id, Reports untouched.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "base/array.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "store/cache_compact.h"
#include "store/cache_layout.h"
#include "store/cache_schema.h"
#include "store/cache_source.h"
#include "store/cache_sqlite.h"
#include "pool.h"
#include "store_backend.h"

#define SCHEMA_VERSION 4 /* the layout of cache schema 6 */
#define FACTS_SCHEMA_VERSION 3 /* the layout of cache schema 5: converted */
#define SESSIONS_SCHEMA_VERSION 2 /* the layout of cache schema 4: converted */
#define FLAT_SCHEMA_VERSION 1
/* Deletes a record's Reports row with its Events row. */
#define REPORTS_TRIGGER                                                                    \
	"CREATE TRIGGER IF NOT EXISTS Events_reports AFTER DELETE ON Events"               \
	" BEGIN DELETE FROM Reports WHERE Id = old.Id; END;\n"
#define BUSY_TIMEOUT_MS 5000
#define SIZE_STEP_BYTES 4096
#define READ_MMAP_BYTES "8589934592" /* SQLite caps it at its build's maximum */

enum statement {
	STATEMENT_BEGIN,
	STATEMENT_COMMIT,
	STATEMENT_ROLLBACK,
	STATEMENT_SAVEPOINT,
	STATEMENT_RELEASE,
	STATEMENT_ROLLBACK_TO,
	STATEMENT_INSERT_REPORT,
	STATEMENT_ADD_DEVICE_NUMBER,
	STATEMENT_DEVICE_NUMBER,
	STATEMENT_INSERT_HIT,
	STATEMENT_SUMMARY_VERSION,
	STATEMENT_SUMMARY_SET_VERSION,
	STATEMENT_SUMMARY_DELETE,
	STATEMENT_SUMMARY_INSERT,
	STATEMENT_DEVICE_TOUCH,
	STATEMENT_DEVICE_REVOKED,
	STATEMENT_ENROLL,
	STATEMENT_REGISTER,
	STATEMENT_SET_REVOKED,
	STATEMENT_HEARTBEAT,
	STATEMENT_DELETE_OLD_RECORDS,
	STATEMENT_DELETE_OLDEST_RECORDS,
	STATEMENT_DELETE_OLD_HITS,
	STATEMENT_DELETE_OLD_SUMMARIES,
	STATEMENT_DELETE_OLD_VERSIONS,
	STATEMENT_ADD_META,
	STATEMENT_COUNT
};

struct reader {
	struct pool_item item; /* first: the pool hands out items */
	sqlite3 *db;
	sqlite3_stmt *lookup_key;
};

struct sqlite_store {
	char *path;
	struct store_options options;
	pthread_mutex_t write_lock;
	sqlite3 *writer;
	sqlite3_stmt *statements[STATEMENT_COUNT];
	struct cache_compact *compact;
	bool compact_written; /* the open transaction added records */
	char last_device[BATCH_ID_MAX + 1]; /* the last device number looked up */
	int64_t last_device_number;
	struct pool pool;
	struct reader *readers;
	uint64_t retention_records, retention_hits; /* under write_lock */
};

/* ---- schema -------------------------------------------------------------- */

static void schema_sql(struct strbuf *sql)
{
	/* the view is not made while a schema-1 table has its name */
	cache_layout_schema_sql(sql);
	strbuf_append_string(
		sql,
		"CREATE TABLE IF NOT EXISTS DeviceNumbers (Number INTEGER PRIMARY KEY,"
		" DeviceId TEXT NOT NULL UNIQUE);\n"
		"CREATE TABLE IF NOT EXISTS Reports (Id INTEGER PRIMARY KEY,"
		 " Device INTEGER NOT NULL, ReportId INTEGER);\n"
		"CREATE UNIQUE INDEX IF NOT EXISTS Reports_key ON Reports(Device, ReportId);\n"
		REPORTS_TRIGGER
		"CREATE TABLE IF NOT EXISTS RuleHits (\n  rowid INTEGER PRIMARY KEY");
	cache_schema_append_columns(sql, cache_hit_columns, CACHE_HIT_COLUMN_COUNT);
	cache_schema_append_columns(sql, dpe_columns, DPE_COLUMN_COUNT);
	strbuf_append_string(sql, ");\n"
				  "CREATE UNIQUE INDEX IF NOT EXISTS RuleHits_report"
				  " ON RuleHits(DeviceId, RuleId, ReportId);\n"
				  "CREATE INDEX IF NOT EXISTS RuleHits_time ON RuleHits(Timestamp);\n"
				  "CREATE TABLE IF NOT EXISTS RuleSummaries (\n"
				  "  rowid INTEGER PRIMARY KEY");
	cache_schema_append_columns(sql, store_summaries_schema()->columns,
		       store_summaries_schema()->column_count);
	strbuf_append_string(
		sql,
		");\n"
		"CREATE INDEX IF NOT EXISTS RuleSummaries_rule ON RuleSummaries(DeviceId, RuleId);\n"
		"CREATE TABLE IF NOT EXISTS SummaryVersions (DeviceId TEXT NOT NULL,"
		" RuleId TEXT NOT NULL, Updated INTEGER NOT NULL, PRIMARY KEY (DeviceId, RuleId));\n"
		"CREATE TABLE IF NOT EXISTS Devices (\n"
		"  DeviceId TEXT PRIMARY KEY, DeviceName TEXT NOT NULL DEFAULT '',\n"
		"  KeyHash BLOB UNIQUE, Revoked INTEGER NOT NULL DEFAULT 0,\n"
		"  Enrolled INTEGER NOT NULL DEFAULT 0, EnrolledAt INTEGER NOT NULL DEFAULT 0,\n"
		"  LastContact INTEGER NOT NULL DEFAULT 0, LastHeartbeat INTEGER NOT NULL DEFAULT 0,\n"
		"  IntervalSeconds INTEGER NOT NULL DEFAULT 0,\n"
		"  AgentVersion TEXT NOT NULL DEFAULT '', PeerAddress TEXT NOT NULL DEFAULT '',\n"
		"  Heartbeat TEXT NOT NULL DEFAULT '', Records INTEGER NOT NULL DEFAULT 0,\n"
		"  Hits INTEGER NOT NULL DEFAULT 0);\n"
		"CREATE TABLE IF NOT EXISTS CollectorMeta (Key TEXT PRIMARY KEY,"
		" Value INTEGER NOT NULL);\n");
}

static int execute(sqlite3 *db, const char *sql)
{
	return cache_sqlite_execute(db, sql);
}

static int set_version(sqlite3 *db)
{
	char sql[96];

	snprintf(sql, sizeof(sql), "UPDATE CollectorMeta SET Value = %d WHERE Key = 'schema_version'",
		 SCHEMA_VERSION);
	return execute(db, sql);
}

/*
 * Schema 1 -> 3, in the open transaction: device numbers and Reports from
 * the flat rows, then the records into the compact layout (same rowids).
 */
static int convert_flat_records(void *context)
{
	struct sqlite_store *store = context;
	int result = execute(store->writer,
			     "INSERT OR IGNORE INTO DeviceNumbers (DeviceId)"
			     " SELECT DISTINCT DeviceId FROM DeviceProcessEvents ORDER BY DeviceId");

	if (result == 0)
		result = execute(store->writer,
				 "INSERT INTO Reports (Id, Device, ReportId) SELECT d.rowid,"
				 " n.Number, d.ReportId FROM DeviceProcessEvents AS d"
				 " JOIN DeviceNumbers AS n ON n.DeviceId = d.DeviceId ORDER BY d.rowid");
	if (result == 0)
		result = cache_compact_convert_records(store->compact);
	if (result == 0)
		result = set_version(store->writer);
	return result;
}

/*
 * Schema 2 -> 3, in the open transaction: the records of the Events set
 * aside (its trigger went with it) into the layout of now, the trigger made
 * again on the new Events.
 */
static int convert_set_aside_records(void *context)
{
	struct sqlite_store *store = context;
	int result = cache_compact_convert_set_aside(store->compact);

	if (result == 0)
		result = execute(store->writer, REPORTS_TRIGGER);
	if (result == 0)
		result = set_version(store->writer);
	return result;
}

static int convert_if_older(struct sqlite_store *store)
{
	int (*convert)(void *context) = NULL;

	if (cache_compact_has_flat_table(store->compact))
		convert = convert_flat_records;
	else if (cache_compact_is_set_aside(store->compact))
		convert = convert_set_aside_records;
	if (!convert)
		return 0;
	log_info("%s: converting the records to the compact layout (schema %d)", store->path,
		 SCHEMA_VERSION);
	return cache_compact_transaction(store->compact, convert, store);
}

/* The tables, in one transaction with the setting aside of a schema-2
 * file's Events (cache_compact_set_aside). */
static int create_tables(struct sqlite_store *store)
{
	struct strbuf sql;
	char version[96];
	int result;

	strbuf_init(&sql);
	schema_sql(&sql);
	result = sql.failed ? -ENOMEM : execute(store->writer, "PRAGMA auto_vacuum = INCREMENTAL");
	if (result == 0)
		result = execute(store->writer, "BEGIN IMMEDIATE");
	/* a new file starts at the current schema; a flat one says 1 until converted */
	if (result == 0 && cache_sqlite_number(store->writer,
					       "SELECT count(*) FROM sqlite_master WHERE name ="
					       " 'DeviceProcessEvents' AND type = 'table'") > 0)
		result = execute(store->writer, "CREATE TABLE IF NOT EXISTS CollectorMeta (Key TEXT"
						" PRIMARY KEY, Value INTEGER NOT NULL);"
						" INSERT OR IGNORE INTO CollectorMeta (Key, Value)"
						" VALUES ('schema_version', 1)");
	if (result == 0)
		result = cache_compact_set_aside(store->writer);
	if (result == 0)
		result = execute(store->writer, strbuf_text(&sql));
	strbuf_free(&sql);
	snprintf(version, sizeof(version), "INSERT OR IGNORE INTO CollectorMeta (Key, Value)"
		 " VALUES ('schema_version', %d)", SCHEMA_VERSION);
	if (result == 0)
		result = execute(store->writer, version);
	if (result == 0)
		result = execute(store->writer, "COMMIT");
	return result;
}

static int create_schema(struct sqlite_store *store, char *message, size_t message_size)
{
	int result = create_tables(store);

	if (result == 0) {
		int64_t version = cache_sqlite_number(store->writer, "SELECT Value FROM CollectorMeta"
							      " WHERE Key = 'schema_version'");

		if (version != SCHEMA_VERSION && version != FACTS_SCHEMA_VERSION &&
		    version != SESSIONS_SCHEMA_VERSION && version != FLAT_SCHEMA_VERSION) {
			snprintf(message, message_size,
				 "%s has collector schema version %lld; this collector reads %d to %d",
				 store->path, (long long)version, FLAT_SCHEMA_VERSION, SCHEMA_VERSION);
			return -EILSEQ;
		}
	}
	if (result)
		snprintf(message, message_size, "cannot create the tables in %s: %s", store->path,
			 sqlite3_errmsg(store->writer));
	if (result && !sqlite3_get_autocommit(store->writer))
		execute(store->writer, "ROLLBACK");
	return result;
}

/* ---- opening ------------------------------------------------------------- */

static int prepare_statements(struct sqlite_store *store)
{
	static const enum statement record_deletes[2] = {STATEMENT_DELETE_OLD_RECORDS,
							 STATEMENT_DELETE_OLDEST_RECORDS};
	struct strbuf deletes[2], hit_insert;
	const char *sql[STATEMENT_COUNT] = {
		[STATEMENT_BEGIN] = "BEGIN IMMEDIATE",
		[STATEMENT_COMMIT] = "COMMIT",
		[STATEMENT_ROLLBACK] = "ROLLBACK",
		[STATEMENT_SAVEPOINT] = "SAVEPOINT batch",
		[STATEMENT_RELEASE] = "RELEASE batch",
		[STATEMENT_ROLLBACK_TO] = "ROLLBACK TO batch",
		[STATEMENT_INSERT_REPORT] = "INSERT INTO Reports (Device, ReportId) VALUES (?,?)"
					    " ON CONFLICT DO NOTHING",
		[STATEMENT_ADD_DEVICE_NUMBER] =
			"INSERT INTO DeviceNumbers (DeviceId) VALUES (?) ON CONFLICT DO NOTHING",
		[STATEMENT_DEVICE_NUMBER] = "SELECT Number FROM DeviceNumbers WHERE DeviceId = ?",
		[STATEMENT_SUMMARY_VERSION] =
			"SELECT Updated FROM SummaryVersions WHERE DeviceId = ? AND RuleId = ?",
		[STATEMENT_SUMMARY_SET_VERSION] =
			"INSERT INTO SummaryVersions (DeviceId, RuleId, Updated) VALUES (?,?,?)"
			" ON CONFLICT(DeviceId, RuleId) DO UPDATE SET Updated = excluded.Updated",
		[STATEMENT_SUMMARY_DELETE] =
			"DELETE FROM RuleSummaries WHERE DeviceId = ? AND RuleId = ?",
		[STATEMENT_SUMMARY_INSERT] =
			"INSERT INTO RuleSummaries (DeviceId, DeviceName, RuleId, RuleName,"
			" FirstSeen, LastSeen, Report, Count) VALUES (?,?,?,?,?,?,?,?)",
		[STATEMENT_DEVICE_TOUCH] =
			"UPDATE Devices SET DeviceName = ?2, LastContact = ?3, PeerAddress = ?4,"
			" Records = Records + ?5, Hits = Hits + ?6 WHERE DeviceId = ?1",
		[STATEMENT_DEVICE_REVOKED] = "SELECT Revoked FROM Devices WHERE DeviceId = ?",
		[STATEMENT_ENROLL] =
			"INSERT INTO Devices (DeviceId, DeviceName, AgentVersion, KeyHash, Enrolled,"
			" EnrolledAt, LastContact) VALUES (?1,?2,?3,?4,1,?5,?5)"
			" ON CONFLICT(DeviceId) DO UPDATE SET DeviceName = excluded.DeviceName,"
			" AgentVersion = excluded.AgentVersion, KeyHash = excluded.KeyHash,"
			" Enrolled = 1, EnrolledAt = excluded.EnrolledAt,"
			" LastContact = excluded.LastContact",
		[STATEMENT_REGISTER] =
			"INSERT INTO Devices (DeviceId, EnrolledAt, LastContact) VALUES (?1,?2,?2)"
			" ON CONFLICT(DeviceId) DO NOTHING",
		[STATEMENT_SET_REVOKED] =
			"UPDATE Devices SET Revoked = ?2,"
			" KeyHash = CASE WHEN ?2 THEN KeyHash ELSE NULL END,"
			" Enrolled = CASE WHEN ?2 THEN Enrolled ELSE 0 END WHERE DeviceId = ?1",
		[STATEMENT_HEARTBEAT] =
			"UPDATE Devices SET DeviceName = ?2, AgentVersion = ?3, PeerAddress = ?4,"
			" IntervalSeconds = ?5, Heartbeat = ?6, LastHeartbeat = ?7,"
			" LastContact = ?7 WHERE DeviceId = ?1",
		/* by Id, the order records arrived in (schema 3's retention) */
		[STATEMENT_DELETE_OLD_RECORDS] = CACHE_LAYOUT_EVENTS_DELETE_BEFORE,
		[STATEMENT_DELETE_OLDEST_RECORDS] =
			"DELETE FROM Events WHERE Id IN (SELECT Id FROM"
			" Events ORDER BY Id LIMIT ?2)",
		[STATEMENT_DELETE_OLD_HITS] =
			"DELETE FROM RuleHits WHERE rowid IN (SELECT rowid FROM RuleHits"
			" WHERE Timestamp < ? ORDER BY Timestamp LIMIT ?)",
		[STATEMENT_DELETE_OLD_SUMMARIES] =
			"DELETE FROM RuleSummaries WHERE rowid IN (SELECT s.rowid FROM"
			" RuleSummaries s JOIN SummaryVersions v ON v.DeviceId = s.DeviceId AND"
			" v.RuleId = s.RuleId WHERE v.Updated < ? LIMIT ?)",
		[STATEMENT_DELETE_OLD_VERSIONS] = "DELETE FROM SummaryVersions WHERE Updated < ?",
		[STATEMENT_ADD_META] =
			"INSERT INTO CollectorMeta (Key, Value) VALUES (?, ?) ON CONFLICT(Key)"
			" DO UPDATE SET Value = Value + excluded.Value",
	};
	int result = 0;

	strbuf_init(&hit_insert);
	cache_sqlite_build_insert(&hit_insert, "RuleHits", "RuleId,RuleName,Tactics,Techniques",
				  CACHE_HIT_COLUMN_COUNT, " ON CONFLICT DO NOTHING");
	sql[STATEMENT_INSERT_HIT] = strbuf_text(&hit_insert);
	/* deleted records give their dictionary references back */
	for (int i = 0; i < 2; i++) {
		strbuf_init(&deletes[i]);
		cache_layout_events_delete_sql(&deletes[i], sql[record_deletes[i]]);
		sql[record_deletes[i]] = strbuf_text(&deletes[i]);
	}
	for (int i = 0; i < STATEMENT_COUNT && result == 0; i++)
		result = cache_sqlite_errno(sqlite3_prepare_v3(store->writer, sql[i], -1,
							       SQLITE_PREPARE_PERSISTENT,
							       &store->statements[i], NULL));
	for (int i = 0; i < 2; i++)
		strbuf_free(&deletes[i]);
	strbuf_free(&hit_insert);
	return result;
}

static int configure_writer(sqlite3 *db)
{
	/* records are 2-4 KiB: big pages hold several (as the local cache) */
	int result = execute(db, "PRAGMA page_size = 65536");

	if (result == 0)
		result = execute(db, "PRAGMA journal_mode = WAL");

	if (result == 0)
		result = execute(db, "PRAGMA synchronous = NORMAL");
	if (result == 0)
		result = execute(db, "PRAGMA journal_size_limit = 67108864");
	if (result == 0)
		result = execute(db, "PRAGMA cache_size = -65536");
	sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
	return result;
}

static int open_reader(struct sqlite_store *store, struct reader *reader)
{
	int code = sqlite3_open_v2(store->path, &reader->db,
				   SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);

	if (code == SQLITE_OK) {
		sqlite3_busy_timeout(reader->db, BUSY_TIMEOUT_MS);
		sqlite3_exec(reader->db, "PRAGMA mmap_size = " READ_MMAP_BYTES, NULL, NULL, NULL);
		code = sqlite3_prepare_v3(reader->db,
					  "SELECT DeviceId, Revoked FROM Devices WHERE KeyHash = ?",
					  -1, SQLITE_PREPARE_PERSISTENT, &reader->lookup_key, NULL);
	}
	return cache_sqlite_errno(code);
}

static void sqlite_close(void *state)
{
	struct sqlite_store *store = state;

	if (!store)
		return;
	for (int i = 0; store->readers && i < store->options.readers; i++) {
		sqlite3_finalize(store->readers[i].lookup_key);
		sqlite3_close(store->readers[i].db);
	}
	free(store->readers);
	for (int i = 0; i < STATEMENT_COUNT; i++)
		sqlite3_finalize(store->statements[i]);
	cache_compact_close(store->compact);
	if (store->writer) {
		sqlite3_wal_checkpoint_v2(store->writer, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL,
					  NULL);
		sqlite3_close(store->writer);
	}
	pthread_mutex_destroy(&store->write_lock);
	pool_destroy(&store->pool);
	free(store->path);
	free(store);
}

static int open_readers(struct sqlite_store *store)
{
	store->readers = calloc((size_t)store->options.readers, sizeof(*store->readers));
	if (!store->readers)
		return -ENOMEM;
	for (int i = 0; i < store->options.readers; i++) {
		int result = open_reader(store, &store->readers[i]);

		if (result)
			return result;
		pool_give(&store->pool, &store->readers[i].item);
	}
	return 0;
}

static int sqlite_open(const char *location, const struct store_options *options, void **state,
		       char *message, size_t message_size)
{
	struct sqlite_store *store = calloc(1, sizeof(*store));
	int result;

	if (!store)
		return -ENOMEM;
	store->options = *options;
	if (store->options.readers < 1)
		store->options.readers = 1;
	pthread_mutex_init(&store->write_lock, NULL);
	pool_init(&store->pool);
	store->path = strdup(location);
	result = store->path ? cache_sqlite_create_private(location) : -ENOMEM;
	if (result) {
		snprintf(message, message_size, "cannot create %s: %s", location, strerror(-result));
		sqlite_close(store);
		return result;
	}
	result = cache_sqlite_errno(sqlite3_open_v2(location, &store->writer,
						    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
						    NULL));
	if (result == 0)
		result = configure_writer(store->writer);
	if (result == 0)
		result = execute(store->writer, "PRAGMA quick_check");
	if (result) {
		snprintf(message, message_size, "cannot open %s: %s", location,
			 store->writer ? sqlite3_errmsg(store->writer) : strerror(-result));
		sqlite_close(store);
		return result;
	}
	result = create_schema(store, message, message_size);
	if (result == 0 && (result = prepare_statements(store)) != 0)
		snprintf(message, message_size, "cannot prepare statements on %s: %s", location,
			 sqlite3_errmsg(store->writer));
	if (result == 0 && (result = cache_compact_open(&store->compact, store->writer)) != 0)
		snprintf(message, message_size, "cannot prepare the compact layout on %s: %s",
			 location, sqlite3_errmsg(store->writer));
	if (result == 0 && (result = convert_if_older(store)) != 0)
		snprintf(message, message_size, "cannot convert %s to the compact layout: %s",
			 location, sqlite3_errmsg(store->writer));
	if (result == 0 && (result = open_readers(store)) != 0)
		snprintf(message, message_size, "cannot open %s for reading: %s", location,
			 strerror(-result));
	if (result) {
		sqlite_close(store);
		return result;
	}
	*state = store;
	return 0;
}

/* ---- the pool of readers ------------------------------------------------- */

static struct reader *take_reader(struct sqlite_store *store)
{
	return (struct reader *)pool_take(&store->pool);
}

static void give_reader(struct sqlite_store *store, struct reader *reader)
{
	pool_give(&store->pool, &reader->item);
}

/* ---- writing ----------------------------------------------------------------- */

static int run(sqlite3_stmt *statement)
{
	return cache_sqlite_run(statement);
}

static sqlite3_stmt *statement(struct sqlite_store *store, enum statement which)
{
	return store->statements[which];
}

static int begin(struct sqlite_store *store)
{
	pthread_mutex_lock(&store->write_lock);
	int result = run(statement(store, STATEMENT_BEGIN));

	if (result)
		pthread_mutex_unlock(&store->write_lock);
	return result;
}

/* Records were rolled back: the map and the device number must not name
 * rows that are gone. */
static void forget_written(struct sqlite_store *store)
{
	if (store->compact_written)
		cache_compact_forget(store->compact);
	store->last_device_number = 0;
}

/* Commits when result is 0, else rolls back; releases the writer. */
static int finish(struct sqlite_store *store, int result)
{
	if (result == 0)
		result = run(statement(store, STATEMENT_COMMIT));
	if (result) {
		run(statement(store, STATEMENT_ROLLBACK));
		forget_written(store);
	}
	store->compact_written = false;
	pthread_mutex_unlock(&store->write_lock);
	return result;
}

static void bind_text(sqlite3_stmt *statement, int index, const char *text)
{
	sqlite3_bind_text(statement, index, text, -1, SQLITE_STATIC);
}

/* Runs an insert that may conflict: 1 stored, 0 already there. */
static int insert(struct sqlite_store *store, sqlite3_stmt *statement)
{
	int result = run(statement);

	return result ? result : sqlite3_changes(store->writer) > 0;
}

/*
 * A batch's records prepared without the writer (prepare_batch, on the
 * decoding thread): AdditionalFields of each split as the compact layout
 * stores it, the largest share of a record's work that needs no database.
 */
struct prepared_records {
	size_t count;
	struct layout_split splits[];
};

static void sqlite_free_prepared(void *state)
{
	struct prepared_records *prepared = state;

	for (size_t i = 0; prepared && i < prepared->count; i++)
		strbuf_free(&prepared->splits[i].shape);
	free(prepared);
}

static int sqlite_prepare_batch(void *state, const struct batch *batch, void **out)
{
	struct prepared_records *prepared;

	(void)state;
	*out = NULL;
	if (batch->record_count == 0)
		return 0;
	prepared = calloc(1, sizeof(*prepared) + batch->record_count * sizeof(prepared->splits[0]));
	if (!prepared)
		return -ENOMEM;
	for (size_t i = 0; i < batch->record_count; i++) {
		const struct value *fields = &batch->records[i].values[DPE_ADDITIONAL_FIELDS];

		strbuf_init(&prepared->splits[i].shape);
		prepared->count++;
		/* as the writer would (no memory for the shape: kept whole) */
		cache_layout_split(fields->str, fields->len, &prepared->splits[i]);
	}
	*out = prepared;
	return 0;
}

/* The number of a DeviceId (made on first use): >= 1, or a negative errno. */
static int64_t device_number(struct sqlite_store *store, const struct value *device_id)
{
	const char *id = device_id->str ? device_id->str : "";
	size_t length = device_id->str ? device_id->len : 0;
	sqlite3_stmt *add = statement(store, STATEMENT_ADD_DEVICE_NUMBER);
	sqlite3_stmt *find = statement(store, STATEMENT_DEVICE_NUMBER);
	int64_t number;
	int code;

	if (store->last_device_number > 0 && strlen(store->last_device) == length &&
	    memcmp(store->last_device, id, length) == 0)
		return store->last_device_number;
	sqlite3_bind_text(add, 1, id, (int)length, SQLITE_STATIC);
	int result = run(add);

	if (result)
		return result;
	sqlite3_bind_text(find, 1, id, (int)length, SQLITE_STATIC);
	code = sqlite3_step(find);
	number = code == SQLITE_ROW ? sqlite3_column_int64(find, 0)
				    : code == SQLITE_DONE ? -ENOENT : cache_sqlite_errno(code);
	sqlite3_reset(find);
	sqlite3_clear_bindings(find);
	/* forgotten on a rollback (finish, put_group_job) */
	if (number > 0 && length <= BATCH_ID_MAX && !memchr(id, 0, length)) {
		memcpy(store->last_device, id, length);
		store->last_device[length] = 0;
		store->last_device_number = number;
	}
	return number;
}

/* One record (its AdditionalFields split, or NULL): 1 stored, 0 already
 * there (same device and ReportId). */
static int put_record(struct sqlite_store *store, const struct value *values,
		      const struct layout_split *split)
{
	sqlite3_stmt *report = statement(store, STATEMENT_INSERT_REPORT);
	int64_t device = device_number(store, &values[DPE_DEVICE_ID]);

	if (device < 0)
		return (int)device;
	sqlite3_bind_int64(report, 1, device);
	cache_sqlite_bind_value(report, 2, &values[DPE_REPORT_ID]);
	int stored = insert(store, report);

	if (stored != 1)
		return stored;
	store->compact_written = true;
	stored = split ? cache_compact_add_split(store->compact,
						 sqlite3_last_insert_rowid(store->writer), values, split)
		       : cache_compact_add_values(store->compact,
						  sqlite3_last_insert_rowid(store->writer), values);
	return stored ? stored : 1;
}

static int put_records(struct sqlite_store *store, const struct batch *batch,
			const struct prepared_records *prepared, struct store_batch_result *counts)
{
	sqlite3_stmt *hits = statement(store, STATEMENT_INSERT_HIT);

	for (size_t i = 0; i < batch->record_count; i++) {
		int stored = put_record(store, batch->records[i].values,
					prepared ? &prepared->splits[i] : NULL);

		if (stored < 0)
			return stored;
		counts->records += (uint64_t)stored;
		counts->duplicates += (uint64_t)!stored;
	}
	if (batch->record_count > 0) {
		/* the dictionaries' counts, before the savepoint or transaction ends */
		int result = cache_compact_flush(store->compact);

		if (result)
			return result;
	}
	for (size_t i = 0; i < batch->hit_count; i++) {
		const struct batch_hit *hit = &batch->hits[i];

		bind_text(hits, 1, hit->rule.id);
		bind_text(hits, 2, hit->rule.name);
		bind_text(hits, 3, hit->rule.tactics);
		bind_text(hits, 4, hit->rule.techniques);
		cache_sqlite_bind_row(hits, 1 + CACHE_HIT_COLUMN_COUNT, hit->values);
		int stored = insert(store, hits);

		if (stored < 0)
			return stored;
		counts->hits += (uint64_t)stored;
		counts->duplicates += (uint64_t)!stored;
	}
	return 0;
}

/* Is the stored summary of (device, rule) older than updated? */
static int summary_is_newer(struct sqlite_store *store, const char *device_id,
			    const struct batch_summary *summary)
{
	sqlite3_stmt *version = statement(store, STATEMENT_SUMMARY_VERSION);
	int code, newer = 1;

	bind_text(version, 1, device_id);
	bind_text(version, 2, summary->rule.id);
	code = sqlite3_step(version);
	if (code == SQLITE_ROW)
		newer = sqlite3_column_int64(version, 0) < summary->updated;
	else if (code != SQLITE_DONE)
		newer = cache_sqlite_errno(code);
	sqlite3_reset(version);
	sqlite3_clear_bindings(version);
	return newer;
}

static int put_summary(struct sqlite_store *store, const struct batch *batch,
		       const struct batch_summary *summary)
{
	sqlite3_stmt *remove = statement(store, STATEMENT_SUMMARY_DELETE);
	sqlite3_stmt *add = statement(store, STATEMENT_SUMMARY_INSERT);
	sqlite3_stmt *version = statement(store, STATEMENT_SUMMARY_SET_VERSION);
	int result;

	bind_text(remove, 1, batch->device_id);
	bind_text(remove, 2, summary->rule.id);
	result = run(remove);
	for (size_t i = 0; i < summary->row_count && result == 0; i++) {
		bind_text(add, 1, batch->device_id);
		bind_text(add, 2, batch->device_name);
		bind_text(add, 3, summary->rule.id);
		bind_text(add, 4, summary->rule.name);
		for (int column = 0; column < BATCH_SUMMARY_COLUMN_COUNT; column++)
			cache_sqlite_bind_value(add, 5 + column, &summary->rows[i][column]);
		result = run(add);
	}
	if (result == 0) {
		bind_text(version, 1, batch->device_id);
		bind_text(version, 2, summary->rule.id);
		sqlite3_bind_int64(version, 3, summary->updated);
		result = run(version);
	}
	return result;
}

static int put_summaries(struct sqlite_store *store, const struct batch *batch,
			 struct store_batch_result *counts)
{
	for (size_t i = 0; i < batch->summary_count; i++) {
		int newer = summary_is_newer(store, batch->device_id, &batch->summaries[i]);

		if (newer < 0)
			return newer;
		if (!newer) {
			counts->duplicates++;
			continue;
		}
		int result = put_summary(store, batch, &batch->summaries[i]);

		if (result)
			return result;
		counts->summaries++;
	}
	return 0;
}

static int touch_device(struct sqlite_store *store, const struct batch *batch,
			const char *peer_address, int64_t now,
			const struct store_batch_result *counts)
{
	sqlite3_stmt *touch = statement(store, STATEMENT_DEVICE_TOUCH);

	bind_text(touch, 1, batch->device_id);
	bind_text(touch, 2, batch->device_name);
	sqlite3_bind_int64(touch, 3, now);
	bind_text(touch, 4, peer_address);
	sqlite3_bind_int64(touch, 5, (int64_t)counts->records);
	sqlite3_bind_int64(touch, 6, (int64_t)counts->hits);
	return run(touch);
}

/* A batch's rows, in the open transaction. */
static int put_batch_rows(struct sqlite_store *store, const struct batch *batch,
			  const struct prepared_records *prepared, const char *peer_address,
			  int64_t now, struct store_batch_result *counts)
{
	int status = put_records(store, batch, prepared, counts);

	if (status == 0)
		status = put_summaries(store, batch, counts);
	if (status == 0)
		status = touch_device(store, batch, peer_address, now, counts);
	return status;
}

static int sqlite_put_batch(void *state, const struct batch *batch, const char *peer_address,
			    int64_t now, struct store_batch_result *result)
{
	struct sqlite_store *store = state;
	struct store_batch_result counts = {0};
	int status = begin(store);

	if (status)
		return status;
	status = finish(store, put_batch_rows(store, batch, NULL, peer_address, now, &counts));
	if (status == 0)
		*result = counts;
	return status;
}

/*
 * One job of a group, in a savepoint of the open transaction: kept, or
 * undone alone.  Returns the job's status, or 1 when the failure ended the
 * whole transaction (SQLite rolls it all back on some errors: I/O, full).
 */
static int put_group_job(struct sqlite_store *store, struct store_group_job *job, int64_t now)
{
	struct store_batch_result counts = {0};
	int status = run(statement(store, STATEMENT_SAVEPOINT));

	if (status == 0)
		status = put_batch_rows(store, job->batch, job->prepared, job->peer_address, now,
					&counts);
	if (status == 0)
		status = run(statement(store, STATEMENT_RELEASE));
	job->status = status;
	if (status == 0) {
		job->result = counts;
		return 0;
	}
	if (sqlite3_get_autocommit(store->writer))
		return 1;
	forget_written(store); /* the job's rows are undone */
	if (run(statement(store, STATEMENT_ROLLBACK_TO)) != 0 ||
	    run(statement(store, STATEMENT_RELEASE)) != 0)
		return 1;
	return status;
}

static void fail_jobs(struct store_group_job *jobs, size_t count, int status)
{
	for (size_t i = 0; i < count; i++)
		jobs[i].status = status;
}

static void sqlite_put_batches(void *state, struct store_group_job *jobs, size_t count, int64_t now)
{
	struct sqlite_store *store = state;
	int status = begin(store);

	if (status) {
		fail_jobs(jobs, count, status);
		return;
	}
	for (size_t i = 0; i < count && status == 0; i++) {
		if (put_group_job(store, &jobs[i], now) == 1)
			status = jobs[i].status; /* the transaction is gone */
	}
	/* commits what the savepoints kept; a failed commit stores nothing */
	status = finish(store, status);
	if (status)
		fail_jobs(jobs, count, status);
}

static int sqlite_put_heartbeat(void *state, const struct store_heartbeat *heartbeat, int64_t now)
{
	struct sqlite_store *store = state;
	sqlite3_stmt *update = statement(store, STATEMENT_HEARTBEAT);
	int result = begin(store);

	if (result)
		return result;
	bind_text(update, 1, heartbeat->device_id);
	bind_text(update, 2, heartbeat->device_name);
	bind_text(update, 3, heartbeat->agent_version);
	bind_text(update, 4, heartbeat->peer_address);
	sqlite3_bind_int64(update, 5, heartbeat->interval_seconds);
	bind_text(update, 6, heartbeat->json);
	sqlite3_bind_int64(update, 7, now);
	result = run(update);
	return finish(store, result);
}

/* ---- identity ------------------------------------------------------------- */

/* 1 revoked, 0 not (or unknown: *known false), negative errno. */
static int device_revoked(struct sqlite_store *store, const char *device_id, bool *known)
{
	sqlite3_stmt *query = statement(store, STATEMENT_DEVICE_REVOKED);
	int code, result = 0;

	bind_text(query, 1, device_id);
	code = sqlite3_step(query);
	*known = code == SQLITE_ROW;
	if (code == SQLITE_ROW)
		result = sqlite3_column_int64(query, 0) != 0;
	else if (code != SQLITE_DONE)
		result = cache_sqlite_errno(code);
	sqlite3_reset(query);
	sqlite3_clear_bindings(query);
	return result;
}

/*
 * Opens the write transaction for device_id's identity: 0 (open; *known
 * says whether the device exists), -EPERM when it is revoked, or another
 * negative errno (not open).
 */
static int begin_for_device(struct sqlite_store *store, const char *device_id, bool *known)
{
	int result = begin(store);

	if (result)
		return result;
	result = device_revoked(store, device_id, known);
	if (result == 1)
		result = -EPERM;
	return result ? finish(store, result) : 0;
}

static int sqlite_enroll(void *state, const char *device_id, const char *device_name,
			 const char *agent_version,
			 const unsigned char key_hash[STORE_KEY_HASH_BYTES], int64_t now)
{
	struct sqlite_store *store = state;
	sqlite3_stmt *enroll = statement(store, STATEMENT_ENROLL);
	bool known;
	int result = begin_for_device(store, device_id, &known);

	if (result)
		return result;
	bind_text(enroll, 1, device_id);
	bind_text(enroll, 2, device_name);
	bind_text(enroll, 3, agent_version);
	sqlite3_bind_blob(enroll, 4, key_hash, STORE_KEY_HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(enroll, 5, now);
	return finish(store, run(enroll));
}

static int sqlite_lookup_key(void *state, const unsigned char key_hash[STORE_KEY_HASH_BYTES],
			     char device_id[BATCH_ID_MAX + 1], bool *revoked)
{
	struct sqlite_store *store = state;
	struct reader *reader = take_reader(store);
	sqlite3_stmt *lookup = reader->lookup_key;
	int code, result = -ENOENT;

	sqlite3_bind_blob(lookup, 1, key_hash, STORE_KEY_HASH_BYTES, SQLITE_STATIC);
	code = sqlite3_step(lookup);
	if (code == SQLITE_ROW) {
		const unsigned char *id = sqlite3_column_text(lookup, 0);

		snprintf(device_id, BATCH_ID_MAX + 1, "%s", id ? (const char *)id : "");
		*revoked = sqlite3_column_int64(lookup, 1) != 0;
		result = 0;
	} else if (code != SQLITE_DONE) {
		result = cache_sqlite_errno(code);
	}
	sqlite3_reset(lookup);
	give_reader(store, reader);
	return result;
}

static int sqlite_check_certificate_device(void *state, const char *device_id, int64_t now)
{
	struct sqlite_store *store = state;
	sqlite3_stmt *add = statement(store, STATEMENT_REGISTER);
	bool known;
	int result = begin_for_device(store, device_id, &known);

	if (result)
		return result;
	if (!known) {
		bind_text(add, 1, device_id);
		sqlite3_bind_int64(add, 2, now);
		result = run(add);
	}
	return finish(store, result);
}

static int sqlite_set_revoked(void *state, const char *device_id, bool revoked, int64_t now)
{
	struct sqlite_store *store = state;
	sqlite3_stmt *update = statement(store, STATEMENT_SET_REVOKED);
	int result = begin(store);

	(void)now;
	if (result)
		return result;
	bind_text(update, 1, device_id);
	sqlite3_bind_int(update, 2, revoked ? 1 : 0);
	result = run(update);
	if (result == 0 && sqlite3_changes(store->writer) == 0)
		result = -ENOENT;
	return finish(store, result);
}

/* ---- reading ------------------------------------------------------------- */

struct query_context {
	struct sqlite_store *store;
	struct reader *reader;
};

static int open_table(void *context, const struct kql_query *query,
		      const struct table_schema *schema, int64_t now, struct kql_source *source,
		      void **handle, char *message, size_t message_size)
{
	struct query_context *query_context = context;
	struct cache_scan *scan = NULL;
	int result = cache_scan_open_db(query_context->reader->db, query_context->store->path,
					query, schema, now, NULL, &scan, message, message_size);

	if (result == 0) {
		*source = *cache_scan_source(scan);
		*handle = scan;
	}
	return result;
}

static void close_table(void *handle)
{
	cache_scan_close(handle);
}

static int sqlite_run_query(void *state, struct kql_query *query, const struct store_table *extra,
			    size_t extra_count, int64_t now, struct kql_table **result,
			    struct kql_error *error)
{
	struct sqlite_store *store = state;
	struct query_context context = {store, NULL};
	struct store_table tables[STORE_MAX_TABLES];
	size_t count = store_backend_tables(
		tables, (struct store_table){NULL, open_table, close_table, &context}, extra,
		extra_count);
	int status;

	context.reader = take_reader(store);
	status = store_execute(tables, count, query, now, result, error);
	give_reader(store, context.reader);
	return status;
}

static char *column_copy(sqlite3_stmt *statement, int column)
{
	const unsigned char *text = sqlite3_column_text(statement, column);

	return strdup(text ? (const char *)text : "");
}

static int read_device(sqlite3_stmt *rows, struct store_device *device)
{
	const unsigned char *id = sqlite3_column_text(rows, 0);

	memset(device, 0, sizeof(*device));
	snprintf(device->device_id, sizeof(device->device_id), "%s", id ? (const char *)id : "");
	device->device_name = column_copy(rows, 1);
	device->revoked = sqlite3_column_int64(rows, 2) != 0;
	device->enrolled = sqlite3_column_int64(rows, 3) != 0;
	device->enrolled_at = sqlite3_column_int64(rows, 4);
	device->last_contact = sqlite3_column_int64(rows, 5);
	device->last_heartbeat = sqlite3_column_int64(rows, 6);
	device->interval_seconds = sqlite3_column_int64(rows, 7);
	device->agent_version = column_copy(rows, 8);
	device->peer_address = column_copy(rows, 9);
	device->heartbeat_json = column_copy(rows, 10);
	device->records = sqlite3_column_int64(rows, 11);
	device->hits = sqlite3_column_int64(rows, 12);
	return device->device_name && device->agent_version && device->peer_address &&
			       device->heartbeat_json
		       ? 0
		       : -ENOMEM;
}

static int sqlite_list_devices(void *state, struct store_device **out, size_t *out_count)
{
	struct sqlite_store *store = state;
	struct reader *reader = take_reader(store);
	struct store_device *devices = NULL;
	size_t count = 0, capacity = 0;
	sqlite3_stmt *rows = NULL;
	int code = sqlite3_prepare_v2(reader->db,
				      "SELECT DeviceId, DeviceName, Revoked, Enrolled, EnrolledAt,"
				      " LastContact, LastHeartbeat, IntervalSeconds, AgentVersion,"
				      " PeerAddress, Heartbeat, Records, Hits FROM Devices"
				      " ORDER BY DeviceId",
				      -1, &rows, NULL);
	int result = cache_sqlite_errno(code);

	while (result == 0 && (code = sqlite3_step(rows)) == SQLITE_ROW) {
		struct store_device *room = array_reserve(devices, &capacity, count + 1, 64,
							  sizeof(*devices));

		if (!room) {
			result = -ENOMEM;
			break;
		}
		devices = room;
		result = read_device(rows, &devices[count++]);
	}
	if (result == 0 && code != SQLITE_DONE)
		result = cache_sqlite_errno(code);
	sqlite3_finalize(rows);
	give_reader(store, reader);
	if (result) {
		store_free_devices(devices, count);
		return result;
	}
	*out = devices;
	*out_count = count;
	return 0;
}

/* ---- upkeep ------------------------------------------------------------------ */

static int add_meta(struct sqlite_store *store, const char *key, int64_t amount)
{
	sqlite3_stmt *add = statement(store, STATEMENT_ADD_META);

	bind_text(add, 1, key);
	sqlite3_bind_int64(add, 2, amount);
	return run(add);
}

static int delete_chunk(struct sqlite_store *store, enum statement which, int64_t before,
			int limit)
{
	sqlite3_stmt *remove = statement(store, which);
	int result;

	sqlite3_bind_int64(remove, 1, before);
	if (which != STATEMENT_DELETE_OLD_VERSIONS)
		sqlite3_bind_int(remove, 2, limit);
	if (which == STATEMENT_DELETE_OLD_RECORDS || which == STATEMENT_DELETE_OLDEST_RECORDS) {
		/* the events' dictionary rows no one refers to any more go too */
		int removed = cache_compact_delete_events(store->compact, remove);

		result = removed > 0 ? cache_compact_release(store->compact) : 0;
		return result ? result : removed;
	}
	result = run(remove);
	return result ? result : sqlite3_changes(store->writer);
}

static int retention_records(struct sqlite_store *store, int64_t now)
{
	const int chunk = store->options.retention_chunk;
	int removed = delete_chunk(store, STATEMENT_DELETE_OLD_RECORDS,
				   now - store->options.max_age_ticks, chunk);

	if (removed == 0 && store->options.max_bytes > 0) {
		int64_t excess = cache_sqlite_data_bytes(store->writer) - store->options.max_bytes;

		if (excess > 0)
			removed = delete_chunk(store, STATEMENT_DELETE_OLDEST_RECORDS, 0,
					       (int)(excess / SIZE_STEP_BYTES < chunk
							     ? excess / SIZE_STEP_BYTES + 1
							     : chunk));
	}
	if (removed > 0) {
		store->retention_records += (uint64_t)removed;
		add_meta(store, "retention_records", removed);
	}
	return removed;
}

static int retention_hits(struct sqlite_store *store, int64_t now)
{
	int64_t before = now - store->options.hits_max_age_ticks;
	int removed = delete_chunk(store, STATEMENT_DELETE_OLD_HITS, before,
				   store->options.retention_chunk);

	if (removed > 0) {
		store->retention_hits += (uint64_t)removed;
		add_meta(store, "retention_hits", removed);
		return removed;
	}
	if (removed == 0)
		removed = delete_chunk(store, STATEMENT_DELETE_OLD_SUMMARIES, before,
				       store->options.retention_chunk);
	if (removed == 0)
		removed = delete_chunk(store, STATEMENT_DELETE_OLD_VERSIONS, before, 0);
	return removed;
}

static int sqlite_retention_step(void *state, int64_t now)
{
	struct sqlite_store *store = state;
	int removed, result = begin(store);

	if (result)
		return result;
	removed = retention_records(store, now);
	if (removed == 0)
		removed = retention_hits(store, now);
	result = finish(store, removed < 0 ? removed : 0);
	if (result == 0 && removed > 0) {
		pthread_mutex_lock(&store->write_lock);
		execute(store->writer, "PRAGMA incremental_vacuum(2000)");
		pthread_mutex_unlock(&store->write_lock);
	}
	return result ? result : removed;
}

static int sqlite_read_stats(void *state, struct store_stats *stats)
{
	struct sqlite_store *store = state;
	struct reader *reader = take_reader(store);

	memset(stats, 0, sizeof(*stats));
	stats->data_bytes = cache_sqlite_data_bytes(reader->db);
	stats->devices = cache_sqlite_number(reader->db, "SELECT count(*) FROM Devices");
	stats->revoked = cache_sqlite_number(reader->db, "SELECT count(*) FROM Devices WHERE Revoked");
	stats->retention_records = (uint64_t)cache_sqlite_number(
		reader->db, "SELECT Value FROM CollectorMeta WHERE Key = 'retention_records'");
	stats->retention_hits = (uint64_t)cache_sqlite_number(
		reader->db, "SELECT Value FROM CollectorMeta WHERE Key = 'retention_hits'");
	give_reader(store, reader);
	stats->wal_bytes = cache_sqlite_wal_bytes(store->path);
	return 0;
}

static int sqlite_check_writable(void *state)
{
	struct sqlite_store *store = state;
	int result = begin(store);

	return result ? result : finish(store, 0);
}

const struct store_backend store_sqlite_backend = {
	.name = "sqlite",
	.open = sqlite_open,
	.close = sqlite_close,
	.enroll = sqlite_enroll,
	.lookup_key = sqlite_lookup_key,
	.check_certificate_device = sqlite_check_certificate_device,
	.set_revoked = sqlite_set_revoked,
	.put_batch = sqlite_put_batch,
	.put_heartbeat = sqlite_put_heartbeat,
	.run_query = sqlite_run_query,
	.list_devices = sqlite_list_devices,
	.retention_step = sqlite_retention_step,
	.read_stats = sqlite_read_stats,
	.check_writable = sqlite_check_writable,
	.put_batches = sqlite_put_batches,
	.prepare_batch = sqlite_prepare_batch,
	.free_prepared = sqlite_free_prepared,
};
